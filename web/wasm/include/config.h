/* gnulib's configuration for its regex (glibc's) in the WebAssembly build
   (build.sh): the few macros its sources expect from configure. */
#define _GNU_SOURCE 1
#define HAVE_LANGINFO_CODESET 1
#define HAVE_ISBLANK 1
#define HAVE_ISWCTYPE 1
#define _REGEX_INCLUDE_LIMITS_H 1
#define _REGEX_LARGE_OFFSETS 0
#define __STDC_WANT_IEC_60559_BFP_EXT__ 1
#include <stdbool.h>
#include <limits.h>
#define _GL_ATTRIBUTE_PURE __attribute__((pure))
#define _GL_ATTRIBUTE_CONST __attribute__((const))
#define _GL_UNUSED __attribute__((unused))
#define _GL_ATTRIBUTE_MALLOC __attribute__((malloc))
#define _GL_ATTRIBUTE_NODISCARD
#define _GL_ATTRIBUTE_MAYBE_UNUSED __attribute__((unused))
#define _GL_ATTRIBUTE_DEALLOC(f, i)
#define _GL_ATTRIBUTE_DEALLOC_FREE
#define _GL_ATTRIBUTE_FALLTHROUGH __attribute__((fallthrough))
#define _GL_ATTRIBUTE_RETURNS_NONNULL
#define _GL_INLINE_HEADER_BEGIN
#define _GL_INLINE_HEADER_END


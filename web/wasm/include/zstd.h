/*
 * The two zstd calls the forms core makes, for the WebAssembly build
 * (build.sh): form.c keeps a definition's text compressed to spare a
 * board's memory; on the phone the text is kept as is, which saves the
 * whole of zstd (some 100 KiB) in the page.
 */
#ifndef RW_ZSTD_H
#define RW_ZSTD_H
#include <stddef.h>
#include <string.h>

static inline size_t ZSTD_compressBound(size_t n) { return n; }
static inline unsigned ZSTD_isError(size_t n) { return n == (size_t)-1; }
static inline size_t
ZSTD_compress(void *dst, size_t cap, const void *src, size_t n, int level)
{
	(void)level;
	if (n > cap)
		return (size_t)-1;
	memcpy(dst, src, n);
	return n;
}
static inline size_t
ZSTD_decompress(void *dst, size_t cap, const void *src, size_t n)
{
	return ZSTD_compress(dst, cap, src, n, 0);
}
#endif

/* jansson's private configuration for the WebAssembly build (build.sh). */
#define HAVE_STDINT_H 1
#define HAVE_UNISTD_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_GETTIMEOFDAY 1
#define HAVE_LOCALE_H 1
#define INITIAL_HASHTABLE_ORDER 3
#define USE_URANDOM 0
#define USE_WINDOWS_CRYPTOAPI 0

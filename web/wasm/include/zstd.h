/*
 * The zstd calls the forms core makes, for the WebAssembly build
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

/* The streaming calls form.c writes a large definition's text with:
   copied as it comes, as much as the output has room for. */
typedef struct { int unused; } ZSTD_CCtx;
typedef enum { ZSTD_e_continue, ZSTD_e_flush, ZSTD_e_end } ZSTD_EndDirective;
typedef enum { ZSTD_c_compressionLevel, ZSTD_c_windowLog,
    ZSTD_c_hashLog } ZSTD_cParameter;
typedef struct { const void *src; size_t size, pos; } ZSTD_inBuffer;
typedef struct { void *dst; size_t size, pos; } ZSTD_outBuffer;

static inline ZSTD_CCtx *
ZSTD_createCCtx(void)
{
	static ZSTD_CCtx one;
	return &one;
}
static inline size_t ZSTD_freeCCtx(ZSTD_CCtx *c) { (void)c; return 0; }
static inline size_t
ZSTD_CCtx_setParameter(ZSTD_CCtx *c, ZSTD_cParameter p, int v)
{
	(void)c; (void)p; (void)v;
	return 0;
}
static inline size_t
ZSTD_compressStream2(ZSTD_CCtx *c, ZSTD_outBuffer *out, ZSTD_inBuffer *in,
    ZSTD_EndDirective end)
{
	size_t n = in->size - in->pos, room = out->size - out->pos;

	(void)c; (void)end;
	if (n > room)
		n = room;
	memcpy((char *)out->dst + out->pos, (const char *)in->src + in->pos, n);
	out->pos += n;
	in->pos += n;
	return in->size - in->pos;	/* 0: all of it is out */
}
#endif

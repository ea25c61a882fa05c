/*
 * util.h: small helpers every program shares: bounded file reading,
 * atomic file writing, time, UUID syntax, base64.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a whole file of at most max bytes into a new NUL-terminated buffer
 * (caller frees).  Returns NULL with errno set; EFBIG when over max.
 */
char *util_read_file(const char *path, size_t max, size_t *len);

/*
 * Writes len bytes to path atomically (temporary file in the same folder,
 * fsync, rename, fsync of the folder) with the given mode.  0 or -1/errno.
 */
int util_write_file(const char *path, const void *data, size_t len, int mode);

/* Writes the message into err (when err and errlen allow) and returns
   -1: the error path of every function that reports into a buffer. */
int util_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fsync of a folder, so a rename or a new entry in it is durable.  0 or
   -1/errno. */
int util_sync_dir(const char *dir);

/* mkdir -p with mode for every folder created.  0 or -1/errno. */
int util_mkdirs(const char *path, int mode);

/* Wall clock in Unix milliseconds. */
int64_t util_now_ms(void);

/* Monotonic clock in milliseconds. */
uint64_t util_mono_ms(void);

/* Today's date in UTC at the given Unix time, as YYYY-MM-DD into out[11]. */
void util_date(int64_t unix_ms, char out[11]);

/* unix_ms as 2026-12-06T03:14:15Z (UTC), or "N ms" when out of range. */
void util_time_iso(int64_t unix_ms, char *out, size_t len);

/* 1 when s is a UUID in canonical 8-4-4-4-12 hex form (either case). */
int util_is_uuid(const char *s);

/* Lower-cases a UUID in place. */
void util_lower(char *s);

/* A UUID as its 16 bytes and back (lower-case hex).  Packing returns -1
   for anything that would not come back byte for byte. */
int util_uuid_pack(const char *s, unsigned char out[16]);
void util_uuid_unpack(const unsigned char in[16], char out[37]);

/*
 * Base64 (standard alphabet, padded) of len bytes into out (outlen bytes,
 * NUL-terminated).  Returns the length written or -1 when out is too small.
 */
int util_b64_encode(const void *in, size_t len, char *out, size_t outlen);

/* Decodes exactly-sized base64: -1 unless it decodes to exactly want bytes. */
int util_b64_decode(const char *in, void *out, size_t want);

/* Base64url without padding (RFC 4648 section 5) of len bytes into out,
   which must hold (len * 4 + 2) / 3 + 1 bytes. */
void util_b64url(const void *in, size_t len, char *out);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void util_hex(const void *in, size_t len, char *out);

/* 1 when a and b (n bytes each) are equal, in time that does not depend
   on where they differ (secrets). */
int util_ct_eq(const void *a, const void *b, size_t n);

#endif

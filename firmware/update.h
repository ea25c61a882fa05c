/*
 * update.h: signed update bundles for boards -- the file format, its
 * reader and writer, the release key, versions and architectures.  What
 * `fieldctl update` does with a verified bundle on a board (install,
 * health check, rollback) is firmware/update_cmd.h.
 *
 * A bundle is a fixed-size header, then the payload.  Integers are
 * big-endian; text fields are ASCII padded with NUL bytes to their size.
 *
 *   offset size  field
 *        0    8  magic "FLDUPDT1"
 *        8    2  format version (1)
 *       10   32  release version X.Y.Z (UPDATE_VERSION_MAX bytes at most)
 *       42    8  target architecture: amd64, arm64 or armhf
 *       50    8  payload length (at most UPDATE_PAYLOAD_MAX)
 *       58   32  SHA-256 of the payload
 *       90    1  signature length, 8..72
 *       91   72  the release key's signature (ECDSA P-256, SHA-256, DER)
 *                over bytes 0..89, padded with zero bytes
 *      163       the payload: exactly `payload length` bytes, to the end
 *
 *   payload := count(1)  file{count}
 *   file    := name_len(1) name mode(2) size(4) bytes{size}
 *
 * The payload holds exactly the files UPDATE_NAMES (fieldd, fieldctl,
 * VERSION), each once, in any order; a name is 1..UPDATE_NAME_MAX bytes
 * from that allow-list only, so no '/', "..", or any other path reaches
 * the file system; a mode is 0755 or 0644; VERSION holds the header's
 * version and one newline, so the two cannot disagree.
 *
 * Reading trusts nothing before it is verified, in this order: the size
 * (at least a header, at most UPDATE_HEADER_LEN + UPDATE_PAYLOAD_MAX);
 * the magic; the format version; the signature's length and padding; the
 * signature over bytes 0..89 with the release key; only then the fields
 * (version syntax, architecture, payload length equal to what follows
 * the header); the payload's SHA-256; the payload's files, every length
 * checked against what is left before it is used.  No byte of a bundle
 * goes unchecked (padding included) and nothing may follow the payload.
 * Error messages name the field or the byte offset at fault.  Whether a
 * bundle is newer than the running release is the caller's question
 * (update_version_cmp), asked after verification.
 *
 * Ownership: a struct update_bundle from update_read borrows the caller's
 * bytes, which must outlive it; one from update_read_file owns its copy.
 * Either is released with update_free (also after a failure).  Buffers
 * returned through unsigned char ** are the caller's to free().  Keys are
 * borrowed for the call.  Nothing here logs.
 */
#ifndef UPDATE_H
#define UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#define UPDATE_MAGIC "FLDUPDT1"
#define UPDATE_MAGIC_LEN 8
#define UPDATE_FORMAT 1

#define UPDATE_OFF_FORMAT 8
#define UPDATE_OFF_VERSION 10
#define UPDATE_VERSION_FIELD 32
#define UPDATE_VERSION_MAX 31		/* leaves a NUL in the field */
#define UPDATE_OFF_ARCH 42
#define UPDATE_ARCH_FIELD 8
#define UPDATE_OFF_PAYLOAD_LEN 50
#define UPDATE_OFF_PAYLOAD_SHA 58
#define UPDATE_SIGNED_LEN 90		/* bytes 0..89 are signed */
#define UPDATE_OFF_SIG_LEN 90
#define UPDATE_OFF_SIG 91
#define UPDATE_SIG_FIELD 72		/* PKI_SIG_MAX */
#define UPDATE_HEADER_LEN 163

/* Bounds: a release's binaries are a few MiB (a sanitizer build ~4). */
#define UPDATE_FILE_MAX (48u * 1024 * 1024)
#define UPDATE_PAYLOAD_MAX (64u * 1024 * 1024)
#define UPDATE_NAME_MAX 16
#define UPDATE_FILES 3

/* The allow-list, in the order of struct update_bundle's files. */
#define UPDATE_FILE_FIELDD 0
#define UPDATE_FILE_FIELDCTL 1
#define UPDATE_FILE_VERSION 2
extern const char *const UPDATE_NAMES[UPDATE_FILES];

struct update_file {
	const char *name;		/* one of UPDATE_NAMES */
	unsigned mode;			/* 0755 or 0644 */
	const unsigned char *data;	/* borrowed (see Ownership) */
	size_t len;
};

/* A verified bundle. */
struct update_bundle {
	char version[UPDATE_VERSION_MAX + 1];
	char arch[UPDATE_ARCH_FIELD + 1];
	unsigned char payload_sha256[32];
	struct update_file files[UPDATE_FILES];	/* by UPDATE_FILE_* */
	/* Private to update.c. */
	unsigned char *owned;
	size_t owned_len;
};

/*
 * Reads a whole regular file of at most max bytes, not through a symlink
 * (O_NOFOLLOW on the last component), into a new NUL-terminated buffer
 * (caller frees).  NULL with errno set: EFBIG over max, EINVAL when not a
 * regular file, ELOOP when a symlink.
 */
char *update_slurp(const char *path, size_t max, size_t *len);

/* The architecture this program was built for (Debian's name: amd64,
   arm64, armhf), or "unknown". */
const char *update_arch(void);

/* 1 when arch is one a bundle may name. */
int update_arch_ok(const char *arch);

/*
 * Parses a release version "X.Y.Z": three decimal numbers 0..999999 with
 * no sign, no leading zero (but "0") and nothing else, at most
 * UPDATE_VERSION_MAX bytes.  0 and v[], or -1.
 */
int update_version_parse(const char *s, uint32_t v[3]);

/* <0, 0, >0 as a is older than, the same as, newer than b; both must
   parse (an unparsable one sorts first). */
int update_version_cmp(const char *a, const char *b);

/*
 * Reads a release public key (PEM or DER, ECDSA P-256) from path.  On
 * success the caller frees it with mbedtls_pk_free; on failure it is
 * freed already.  0, or -1 with err.
 */
int update_key_read_public(mbedtls_pk_context *pub, const char *path,
    char *err, size_t errlen);

/*
 * Verifies len bytes as a bundle signed by pub for the architecture arch
 * (see the order above) and fills *b, whose files point into data.  0, or
 * -1 with err.
 */
int update_read(const unsigned char *data, size_t len, mbedtls_pk_context *pub,
    const char *arch, struct update_bundle *b, char *err, size_t errlen);

/* The same for a file (regular, not followed through a symlink). */
int update_read_file(const char *path, mbedtls_pk_context *pub,
    const char *arch, struct update_bundle *b, char *err, size_t errlen);

void update_free(struct update_bundle *b);

/*
 * Writes a bundle of version for arch holding files[0..n) (each name in
 * UPDATE_NAMES, each once, all of them) signed with key: 0 and a new
 * buffer *out of *len bytes, or -1 with err.  The same checks as the
 * reader's apply, so a bundle it writes reads back.
 */
int update_write(mbedtls_pk_context *key, const char *version,
    const char *arch, const struct update_file *files, size_t n,
    unsigned char **out, size_t *len, char *err, size_t errlen);

#endif

/*
 * multipart.h: a strict reader of multipart/form-data bodies (RFC 7578 on
 * RFC 2046 section 5.1), enough for OpenRosa submissions: ODK Collect and
 * curl -F send the instance as the part "xml_submission_file".
 *
 * The whole body is in memory already (http.h bounds it); parts point
 * into it, nothing is copied but their names.  What is accepted:
 *
 *   body     := "--" boundary CRLF part *(CRLF "--" boundary CRLF part)
 *               CRLF "--" boundary "--" [CRLF]
 *   part     := *(header CRLF) CRLF data
 *
 * No preamble, no epilogue but one CRLF, no transport padding after a
 * boundary, no bare CR or LF in a header block, no folded header lines.
 * Every header block holds a Content-Disposition "form-data" with a
 * name; filename and Content-Type are kept, Content-Transfer-Encoding
 * may only say 7bit, 8bit or binary, other headers are ignored.  Data
 * ends at the first CRLF "--" boundary, which must then be followed by
 * CRLF or "--": a boundary string inside data is an error, not data.
 *
 * Limits: MULTIPART_MAX_PARTS parts, MULTIPART_MAX_HEADER bytes in one
 * part's header block, names and file names of MULTIPART_NAME_MAX bytes.
 * Errors name the byte offset in the body and the rule, never the bytes.
 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_PARTS 16
#define MULTIPART_MAX_HEADER 1024
#define MULTIPART_NAME_MAX 128
#define MULTIPART_BOUNDARY_MAX 70	/* RFC 2046 */

struct multipart_part {
	char name[MULTIPART_NAME_MAX + 1];	/* form field name */
	char filename[MULTIPART_NAME_MAX + 1];	/* "" when none given */
	char content_type[128];			/* "" when none given */
	const char *data;			/* borrowed from the body */
	size_t len;
	size_t offset;				/* of data in the body */
};

struct multipart {
	size_t n;
	struct multipart_part part[MULTIPART_MAX_PARTS];
};

/*
 * The boundary of a Content-Type "multipart/form-data; boundary=B" (B
 * quoted or not, 1 to 70 of RFC 2046's bchars, not ending in a space).
 * 0 and out, or -1 and a message in err.
 */
int multipart_boundary(const char *content_type,
    char out[MULTIPART_BOUNDARY_MAX + 1], char *err, size_t errlen);

/*
 * Parses body (len bytes) into mp.  0, or -1 with err naming the byte
 * offset at fault.  mp's parts borrow body.
 */
int multipart_parse(const char *body, size_t len, const char *boundary,
    struct multipart *mp, char *err, size_t errlen);

/* The first part called name, or NULL. */
const struct multipart_part *multipart_find(const struct multipart *mp,
    const char *name);

#endif

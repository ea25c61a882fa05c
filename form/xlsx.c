/*
 * xlsx.c: see xlsx.h.
 *
 * The workbook bytes are kept (a copy) behind a libzip archive opened on
 * them, so a sheet is read only when asked for: a big sheet the caller
 * does not want (a README, a lookup table) costs nothing and cannot fail
 * the others.  Opening reads xl/workbook.xml (the sheets, in order), its
 * relationships (which part each sheet is) and the shared strings.
 *
 * Every part goes through xp_run: libzip inflates it 64 KiB at a time,
 * each piece is counted against the bounds (the part's, the workbook's
 * total, the compression ratio) before expat sees it, so neither a lying
 * header nor a bomb gets further than one piece past a bound.  Expat
 * runs without namespaces (elements are matched by their local name, so
 * "x:row" from the OpenXML SDK is a row too) and refuses any DOCTYPE, as
 * daemon/xmlinst.c does: no DTD, no entity, nothing loaded.
 *
 * Strings live in arenas (blocks of 64 KiB and more, freed together): the
 * workbook's for sheet names and shared strings, each sheet's for its
 * own texts; a cell holding a shared string points into the workbook's.
 */
#include "form/xlsx.h"

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "common/util.h"

#define MIB(n) ((unsigned)((n) >> 20))

struct blk {
	struct blk *next;
	size_t used, cap;
	char data[];
};

enum sheet_kind { SK_WORKSHEET, SK_OTHER };

struct sheet {
	char *name;			/* in the workbook's arena */
	char *rid;			/* r:id, until the rels are read */
	char part[256];			/* a worksheet's zip entry */
	enum sheet_kind kind;
	int state;			/* 0 unread, 1 read, -1 failed */
	char err[512];			/* why it failed, for later */
	struct xlsx_row *rows;
	size_t n_rows;
	struct xlsx_cell *cells;
	size_t n_cells;
	struct blk *arena;
};

struct xlsx {
	char *buf;			/* the workbook's bytes, ours */
	size_t len;
	zip_t *za;
	size_t inflated;		/* over every part read */
	struct sheet *sheets;
	size_t n_sheets;
	const char **sst;		/* the shared strings */
	size_t n_sst, cap_sst;
	struct blk *arena;
};

/* --- arenas --- */

static char *
arena_dup(struct blk **a, const char *s, size_t n)
{
	struct blk *b = *a;
	char *p;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > 65536 ? n + 1 : 65536;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = *a;
		*a = b;
	}
	p = b->data + b->used;
	memcpy(p, s, n);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

static void
arena_free(struct blk *b)
{
	while (b) {
		struct blk *next = b->next;

		free(b);
		b = next;
	}
}

/* --- text helpers --- */

/* Hostile text fit for a one-line message: at most 20 bytes, printable
   ASCII only. */
static const char *
shown(const char *s, char out[24])
{
	size_t i;

	for (i = 0; s[i] && i < 20; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	if (s[i])
		memcpy(out + 17, "...", 4);
	return out;
}

char *
xlsx_col_name(unsigned col, char buf[XLSX_COL_NAME_MAX])
{
	char tmp[XLSX_COL_NAME_MAX];
	unsigned n = col + 1;
	size_t i = 0, j;

	if (col >= XLSX_MAX_COLS) {
		memcpy(buf, "?", 2);
		return buf;
	}
	while (n > 0) {
		n--;
		tmp[i++] = (char)('A' + n % 26);
		n /= 26;
	}
	for (j = 0; j < i; j++)
		buf[j] = tmp[i - 1 - j];
	buf[i] = '\0';
	return buf;
}

/* "AB12" into column 27 and row 12; -1 for anything Excel would not
   write (lower case, '$', a row 0, past XFD or row 1,048,576). */
static int
parse_ref(const char *s, unsigned *col, unsigned long *row)
{
	unsigned c = 0;
	unsigned long r = 0;
	size_t i = 0, d;

	while (s[i] >= 'A' && s[i] <= 'Z' && i < 3)
		c = c * 26 + (unsigned)(s[i++] - 'A' + 1);
	if (i == 0 || c > XLSX_MAX_COLS)
		return -1;
	if (s[i] < '1' || s[i] > '9')
		return -1;
	for (d = 0; s[i] >= '0' && s[i] <= '9' && d < 8; i++, d++)
		r = r * 10 + (unsigned long)(s[i] - '0');
	if (s[i] != '\0' || r > XLSX_MAX_ROW_NUM)
		return -1;
	*col = c - 1;
	*row = r;
	return 0;
}

/* A row number: 1 to 1,048,576, digits only. */
static int
parse_rownum(const char *s, unsigned long *row)
{
	unsigned long r = 0;
	size_t i;

	if (s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 8; i++)
		r = r * 10 + (unsigned long)(s[i] - '0');
	if (s[i] != '\0' || r > XLSX_MAX_ROW_NUM)
		return -1;
	*row = r;
	return 0;
}

static int
hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* An escape _xHHHH_ at s (n bytes left): its code unit, or -1. */
static int
escape_at(const char *s, size_t n, unsigned *v)
{
	return n >= 7 && s[0] == '_' && s[1] == 'x' && s[6] == '_' &&
	    hex4(s + 2, v) == 0 ? 0 : -1;
}

/*
 * Decodes Excel's escapes in place (ECMA-376 ST_Xstring: a character XML
 * cannot carry, and "_x" itself as _x005F_x, is written _xHHHH_, a UTF-16
 * code unit; Excel writes a carriage return as _x000D_).  A NUL or a lone
 * surrogate stays as written.  Never lengthens the text.  Returns the
 * new length.
 */
static size_t
unescape(char *s, size_t n)
{
	size_t i = 0, o = 0;
	unsigned u, lo;

	while (i < n) {
		if (escape_at(s + i, n - i, &u) != 0 || u == 0) {
			s[o++] = s[i++];
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (escape_at(s + i + 7, n - i - 7, &lo) != 0 ||
			    lo < 0xDC00 || lo > 0xDFFF) {
				s[o++] = s[i++];
				continue;
			}
			u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
			i += 14;
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			s[o++] = s[i++];
			continue;
		} else {
			i += 7;
		}
		if (u < 0x80) {
			s[o++] = (char)u;
		} else if (u < 0x800) {
			s[o++] = (char)(0xC0 | (u >> 6));
			s[o++] = (char)(0x80 | (u & 0x3F));
		} else if (u < 0x10000) {
			s[o++] = (char)(0xE0 | (u >> 12));
			s[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (u & 0x3F));
		} else {
			s[o++] = (char)(0xF0 | (u >> 18));
			s[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
			s[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (u & 0x3F));
		}
	}
	s[o] = '\0';
	return o;
}

/* "1.000" -> "1", "-0.0" -> "0": a decimal with an all-zero fraction, as
   pyxform prints an integral float.  Anything else stays. */
static size_t
trim_zero_fraction(char *s, size_t n)
{
	size_t i = s[0] == '-' ? 1 : 0, dot;

	if (i >= n || s[i] < '0' || s[i] > '9')
		return n;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == n || s[i] != '.')
		return n;
	dot = i++;
	while (i < n && s[i] == '0')
		i++;
	if (i != n)
		return n;
	s[dot] = '\0';
	if (strspn(s, "-0") == dot && s[0] == '-') {
		memmove(s, s + 1, dot);		/* "-0" and "-00" */
		dot--;
	}
	return dot;
}

/* --- streaming a part through expat --- */

struct xp {
	XML_Parser p;
	struct xlsx *x;
	const char *where;		/* "sheet 'survey'", a part name */
	const char *entry;		/* the zip entry */
	char *err;
	size_t errlen;
	int failed;			/* our own stop: err says why */
	unsigned depth;
	void (*start)(struct xp *, const char *, const XML_Char **);
	void (*end)(struct xp *, const char *);
	void *ctx;
	int collect;			/* character data goes to text */
	char *text;
	size_t tlen, tcap;
	const char *what;		/* whose text, for messages */
};

static void
xp_fail(struct xp *xp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
xp_fail(struct xp *xp, const char *fmt, ...)
{
	va_list ap;

	if (xp->failed)
		return;
	xp->failed = 1;
	if (xp->err && xp->errlen) {
		va_start(ap, fmt);
		vsnprintf(xp->err, xp->errlen, fmt, ap);
		va_end(ap);
	}
	XML_StopParser(xp->p, XML_FALSE);
}

static const char *
local(const char *name)
{
	const char *c = strrchr(name, ':');

	return c ? c + 1 : name;
}

/* An attribute by its local name (prefixed: 1 to want a prefix, as r:id
   has, 0 to want none). */
static const char *
attr(const XML_Char **atts, const char *name, int prefixed)
{
	for (size_t i = 0; atts[i] && atts[i + 1]; i += 2) {
		const char *l = local(atts[i]);

		if (strcmp(l, name) == 0 && (l != atts[i]) == prefixed)
			return atts[i + 1];
	}
	return NULL;
}

static void XMLCALL
xp_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct xp *xp = arg;

	if (xp->failed)
		return;
	if (++xp->depth > XLSX_MAX_DEPTH) {
		xp_fail(xp, "%s: XML nested more than %d levels deep",
		    xp->where, XLSX_MAX_DEPTH);
		return;
	}
	xp->start(xp, local(name), atts);
}

static void XMLCALL
xp_end(void *arg, const XML_Char *name)
{
	struct xp *xp = arg;

	if (xp->failed)
		return;
	xp->end(xp, local(name));
	xp->depth--;
}

static void XMLCALL
xp_chars(void *arg, const XML_Char *s, int len)
{
	struct xp *xp = arg;
	size_t n = (size_t)len;

	if (xp->failed || !xp->collect || len <= 0)
		return;
	if (n > XLSX_MAX_TEXT - xp->tlen) {
		xp_fail(xp, "%s: %s has more than %u KiB of text", xp->where,
		    xp->what ? xp->what : "a text", XLSX_MAX_TEXT >> 10);
		return;
	}
	if (xp->tlen + n + 1 > xp->tcap) {
		size_t cap = xp->tcap ? xp->tcap : 256;
		char *t;

		while (cap < xp->tlen + n + 1)
			cap *= 2;
		if ((t = realloc(xp->text, cap)) == NULL) {
			xp_fail(xp, "out of memory");
			return;
		}
		xp->text = t;
		xp->tcap = cap;
	}
	memcpy(xp->text + xp->tlen, s, n);
	xp->tlen += n;
	xp->text[xp->tlen] = '\0';
}

static void XMLCALL
xp_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct xp *xp = arg;

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xp_fail(xp, "%s: a DOCTYPE is not accepted (no DTDs, no entities); "
	    "Excel never writes one", xp->where);
}

/* Not reached while every DOCTYPE is refused: a second lock. */
static void XMLCALL
xp_entity(void *arg, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xp_fail(arg, "%s: entity declarations are not accepted",
	    ((struct xp *)arg)->where);
}

static int XMLCALL
xp_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid)
{
	(void)p;
	(void)context;
	(void)base;
	(void)sysid;
	(void)pubid;
	return XML_STATUS_ERROR;	/* nothing is ever loaded */
}

static void
xp_xml_error(struct xp *xp)
{
	if (xp->failed)
		return;
	xp->failed = 1;
	util_fail(xp->err, xp->errlen, "%s: XML error at line %lu: %s",
	    xp->where, (unsigned long)XML_GetCurrentLineNumber(xp->p),
	    XML_ErrorString(XML_GetErrorCode(xp->p)));
}

/*
 * Streams zip entry idx through a new parser with xp's handlers.  0, or
 * -1 with err set.  The bounds are checked on what libzip actually
 * inflates, piece by piece; the declared size only refuses early.
 */
static int
xp_run(struct xp *xp, zip_int64_t idx)
{
	struct xlsx *x = xp->x;
	zip_stat_t st;
	zip_file_t *zf;
	zip_uint64_t comp = 0, got = 0;
	char *piece;
	int rc = -1;

	zip_stat_init(&st);
	if (zip_stat_index(x->za, (zip_uint64_t)idx, 0, &st) != 0) {
		util_fail(xp->err, xp->errlen, "the zip entry %s cannot be "
		    "read: %s", xp->entry, zip_strerror(x->za));
		return -1;
	}
	if ((st.valid & ZIP_STAT_SIZE) && st.size > XLSX_MAX_PART) {
		util_fail(xp->err, xp->errlen, "the zip entry %s expands to "
		    "more than %u MiB", xp->entry, MIB(XLSX_MAX_PART));
		return -1;
	}
	/* Excel, LibreOffice and openpyxl store or deflate: no other
	   decompressor (bzip2, xz, zstd) needs to see hostile bytes. */
	if ((st.valid & ZIP_STAT_COMP_METHOD) &&
	    st.comp_method != ZIP_CM_STORE &&
	    st.comp_method != ZIP_CM_DEFLATE) {
		util_fail(xp->err, xp->errlen, "the zip entry %s is compressed "
		    "with method %u; a workbook uses deflate", xp->entry,
		    (unsigned)st.comp_method);
		return -1;
	}
	if (st.valid & ZIP_STAT_COMP_SIZE)
		comp = st.comp_size;
	if ((zf = zip_fopen_index(x->za, (zip_uint64_t)idx, 0)) == NULL) {
		util_fail(xp->err, xp->errlen, "the zip entry %s cannot be "
		    "read: %s", xp->entry, zip_strerror(x->za));
		return -1;
	}
	if ((piece = malloc(65536)) == NULL ||
	    (xp->p = XML_ParserCreate(NULL)) == NULL) {
		free(piece);
		zip_fclose(zf);
		util_fail(xp->err, xp->errlen, "out of memory");
		return -1;
	}
	XML_SetUserData(xp->p, xp);
	XML_SetElementHandler(xp->p, xp_start, xp_end);
	XML_SetCharacterDataHandler(xp->p, xp_chars);
	XML_SetStartDoctypeDeclHandler(xp->p, xp_doctype);
	XML_SetEntityDeclHandler(xp->p, xp_entity);
	XML_SetExternalEntityRefHandler(xp->p, xp_external);
	XML_SetParamEntityParsing(xp->p, XML_PARAM_ENTITY_PARSING_NEVER);
	for (;;) {
		zip_int64_t n = zip_fread(zf, piece, 65536);

		if (n < 0) {
			util_fail(xp->err, xp->errlen, "the zip entry %s is "
			    "damaged (%s)", xp->entry, zip_file_strerror(zf));
			goto out;
		}
		if (n == 0)
			break;
		got += (zip_uint64_t)n;
		x->inflated += (size_t)n;
		if (got > XLSX_MAX_PART) {
			util_fail(xp->err, xp->errlen, "the zip entry %s "
			    "expands to more than %u MiB", xp->entry,
			    MIB(XLSX_MAX_PART));
			goto out;
		}
		if (x->inflated > XLSX_MAX_TOTAL) {
			util_fail(xp->err, xp->errlen, "the workbook expands "
			    "to more than %u MiB of XML in all (at the zip "
			    "entry %s)", MIB(XLSX_MAX_TOTAL), xp->entry);
			goto out;
		}
		if (got > XLSX_RATIO_GRACE && got / XLSX_MAX_RATIO > comp) {
			util_fail(xp->err, xp->errlen, "the zip entry %s "
			    "expands more than %d times its compressed size: "
			    "a zip bomb, not a workbook", xp->entry,
			    XLSX_MAX_RATIO);
			goto out;
		}
		if (XML_Parse(xp->p, piece, (int)n, XML_FALSE) !=
		    XML_STATUS_OK) {
			xp_xml_error(xp);
			goto out;
		}
	}
	if (XML_Parse(xp->p, "", 0, XML_TRUE) != XML_STATUS_OK) {
		xp_xml_error(xp);
		goto out;
	}
	rc = xp->failed ? -1 : 0;
out:
	XML_ParserFree(xp->p);
	xp->p = NULL;
	free(piece);
	free(xp->text);
	xp->text = NULL;
	xp->tlen = xp->tcap = 0;
	zip_fclose(zf);
	return rc;
}

static void
xp_text_begin(struct xp *xp)
{
	xp->collect = 1;
	xp->tlen = 0;
	if (xp->text == NULL) {
		if ((xp->text = malloc(256)) == NULL) {
			xp_fail(xp, "out of memory");
			return;
		}
		xp->tcap = 256;
	}
	xp->text[0] = '\0';
}

/* --- xl/workbook.xml --- */

static void
wb_start(struct xp *xp, const char *name, const XML_Char **atts)
{
	struct xlsx *x = xp->x;
	const char *n, *rid;
	struct sheet *s;

	if (xp->depth != 3 || strcmp(name, "sheet") != 0)
		return;
	n = attr(atts, "name", 0);
	rid = attr(atts, "id", 1);
	if (n == NULL || n[0] == '\0') {
		xp_fail(xp, "xl/workbook.xml: sheet %zu has no name",
		    x->n_sheets + 1);
		return;
	}
	if (strlen(n) > XLSX_MAX_SHEET_NAME) {
		xp_fail(xp, "xl/workbook.xml: sheet %zu has a name of more "
		    "than %d bytes", x->n_sheets + 1, XLSX_MAX_SHEET_NAME);
		return;
	}
	for (const char *c = n; *c; c++)
		if ((unsigned char)*c < 0x20) {
			xp_fail(xp, "xl/workbook.xml: sheet %zu has a control "
			    "character in its name", x->n_sheets + 1);
			return;
		}
	for (size_t i = 0; i < x->n_sheets; i++)
		if (strcasecmp(x->sheets[i].name, n) == 0) {
			xp_fail(xp, "xl/workbook.xml: two sheets are named "
			    "'%s'", n);
			return;
		}
	if (rid == NULL || rid[0] == '\0') {
		xp_fail(xp, "xl/workbook.xml: sheet '%s' has no r:id", n);
		return;
	}
	if (x->n_sheets == XLSX_MAX_SHEETS) {
		xp_fail(xp, "xl/workbook.xml: more than %d sheets",
		    XLSX_MAX_SHEETS);
		return;
	}
	s = &x->sheets[x->n_sheets];
	memset(s, 0, sizeof(*s));
	if ((s->name = arena_dup(&x->arena, n, strlen(n))) == NULL ||
	    (s->rid = arena_dup(&x->arena, rid, strlen(rid))) == NULL) {
		xp_fail(xp, "out of memory");
		return;
	}
	x->n_sheets++;
}

static void
nothing_end(struct xp *xp, const char *name)
{
	(void)xp;
	(void)name;
}

/* --- xl/_rels/workbook.xml.rels --- */

struct rels {
	size_t count;
	char sst[256];			/* the shared strings, or "" */
};

/*
 * A relationship's target as a zip entry name: relative to xl/ (the
 * workbook's folder) unless it starts with '/', "." and ".." resolved.
 * -1 when it leaves xl/, names a folder or is too long.
 */
static int
resolve(const char *target, char *out, size_t outlen)
{
	size_t o = 0;
	const char *s = target, *e;

	if (target[0] == '\0')
		return -1;
	if (target[0] != '/') {
		memcpy(out, "xl", 3);
		o = 2;
	} else {
		out[0] = '\0';
	}
	for (; *s; s = *e ? e + 1 : e) {
		size_t n;

		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *slash;

			if (o == 0)
				return -1;
			slash = memrchr(out, '/', o);
			o = slash ? (size_t)(slash - out) : 0;
			out[o] = '\0';
			continue;
		}
		if (memchr(s, '\\', n) || o + 1 + n + 1 > outlen)
			return -1;
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)s[k] < 0x20)
				return -1;	/* it goes into messages */
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		out[o] = '\0';
	}
	if (o == 0 || target[strlen(target) - 1] == '/')
		return -1;
	return strncasecmp(out, "xl/", 3) == 0 ? 0 : -1;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static void
rels_start(struct xp *xp, const char *name, const XML_Char **atts)
{
	struct xlsx *x = xp->x;
	struct rels *r = xp->ctx;
	const char *id, *type, *target, *mode;
	char part[256];

	if (xp->depth != 2 || strcmp(name, "Relationship") != 0)
		return;
	if (++r->count > XLSX_MAX_ENTRIES) {
		xp_fail(xp, "%s: more than %d relationships", xp->where,
		    XLSX_MAX_ENTRIES);
		return;
	}
	id = attr(atts, "Id", 0);
	type = attr(atts, "Type", 0);
	target = attr(atts, "Target", 0);
	mode = attr(atts, "TargetMode", 0);
	if (id == NULL || type == NULL || target == NULL)
		return;
	if (ends_with(type, "/sharedStrings") && r->sst[0] == '\0' &&
	    (mode == NULL || strcmp(mode, "External") != 0) &&
	    resolve(target, part, sizeof(part)) == 0)
		memcpy(r->sst, part, sizeof(part));
	for (size_t i = 0; i < x->n_sheets; i++) {
		struct sheet *s = &x->sheets[i];
		char sh[24];

		if (s->rid == NULL || strcmp(s->rid, id) != 0)
			continue;
		s->rid = NULL;		/* found: the first one counts */
		if ((mode && strcmp(mode, "External") == 0) ||
		    resolve(target, s->part, sizeof(s->part)) != 0) {
			xp_fail(xp, "sheet '%s': its part \"%s\" is outside "
			    "the workbook's xl/ folder", s->name,
			    shown(target, sh));
			return;
		}
		s->kind = ends_with(type, "/worksheet") ? SK_WORKSHEET :
		    SK_OTHER;
		if (s->kind == SK_WORKSHEET &&
		    zip_name_locate(x->za, s->part, ZIP_FL_NOCASE) < 0) {
			xp_fail(xp, "sheet '%s': its part %s is missing from "
			    "the zip", s->name, s->part);
			return;
		}
	}
}

/* --- shared strings --- */

struct sst_state {
	int in_si, in_r;
};

static void
sst_start(struct xp *xp, const char *name, const XML_Char **atts)
{
	struct sst_state *ss = xp->ctx;

	(void)atts;
	if (xp->depth == 2 && strcmp(name, "si") == 0) {
		ss->in_si = 1;
		xp_text_begin(xp);
		xp->collect = 0;
	} else if (ss->in_si && xp->depth == 3 && strcmp(name, "r") == 0) {
		ss->in_r = 1;
	} else if (ss->in_si && strcmp(name, "t") == 0 &&
	    (xp->depth == 3 || (xp->depth == 4 && ss->in_r))) {
		xp->collect = 1;	/* appends: runs are concatenated */
	}
	/* <rPh> (phonetic guides) and the rest are not text of the cell */
}

static void
sst_end(struct xp *xp, const char *name)
{
	struct sst_state *ss = xp->ctx;
	struct xlsx *x = xp->x;
	size_t n;
	char *t;

	if (xp->collect && strcmp(name, "t") == 0) {
		xp->collect = 0;
	} else if (ss->in_r && xp->depth == 3) {
		ss->in_r = 0;
	} else if (ss->in_si && xp->depth == 2) {
		ss->in_si = 0;
		if (x->n_sst == XLSX_MAX_SHARED) {
			xp_fail(xp, "%s: more than %u shared strings",
			    xp->where, XLSX_MAX_SHARED);
			return;
		}
		if (x->n_sst == x->cap_sst) {
			size_t cap = x->cap_sst ? x->cap_sst * 2 : 256;
			const char **a = realloc(x->sst, cap * sizeof(*a));

			if (a == NULL) {
				xp_fail(xp, "out of memory");
				return;
			}
			x->sst = a;
			x->cap_sst = cap;
		}
		t = xp->text;
		n = unescape(t, xp->tlen);
		if ((x->sst[x->n_sst] = arena_dup(&x->arena, t, n)) == NULL) {
			xp_fail(xp, "out of memory");
			return;
		}
		x->n_sst++;
	}
}

/* --- a worksheet --- */

enum ctype { CT_N, CT_S, CT_STR, CT_INLINE, CT_B, CT_E, CT_D };

struct ws {
	struct sheet *s;
	size_t cap_rows, cap_cells;
	int in_data, in_row, in_c, in_is, in_isr;
	unsigned long row;		/* the row open */
	unsigned long prev_row;		/* the last row seen, 0 before */
	char cell[32];			/* "cell B3", for xp->what */
	size_t row_first;		/* its first cell's index */
	long col;			/* the cell open, or the last */
	enum ctype type;
	int want_v;			/* the cell's value is <v>'s text */
};

static void
ws_where(struct ws *w, char *buf, size_t len)
{
	char c[XLSX_COL_NAME_MAX];

	snprintf(buf, len, "sheet '%s', cell %s%lu", w->s->name,
	    xlsx_col_name((unsigned)w->col, c), w->row);
}

static void
ws_row_start(struct xp *xp, struct ws *w, const XML_Char **atts)
{
	const char *r = attr(atts, "r", 0);
	unsigned long num;
	char sh[24];

	if (r == NULL) {
		num = w->prev_row + 1;
		if (num > XLSX_MAX_ROW_NUM) {
			xp_fail(xp, "sheet '%s': more than %d rows",
			    w->s->name, XLSX_MAX_ROW_NUM);
			return;
		}
	} else if (parse_rownum(r, &num) != 0) {
		xp_fail(xp, "sheet '%s': the row number \"%s\" is not one "
		    "Excel writes (1 to %d)", w->s->name, shown(r, sh),
		    XLSX_MAX_ROW_NUM);
		return;
	} else if (num <= w->prev_row) {
		xp_fail(xp, "sheet '%s': row %lu comes after row %lu (rows "
		    "must be in order)", w->s->name, num, w->prev_row);
		return;
	}
	w->in_row = 1;
	w->row = w->prev_row = num;
	w->row_first = w->s->n_cells;
	w->col = -1;
}

static void
ws_c_start(struct xp *xp, struct ws *w, const XML_Char **atts)
{
	const char *r = attr(atts, "r", 0), *t = attr(atts, "t", 0);
	unsigned long row;
	unsigned col;
	char sh[24], where[200];

	if (r == NULL) {
		if (w->col + 1 >= XLSX_MAX_COLS) {
			xp_fail(xp, "sheet '%s', row %lu: more than %d "
			    "columns", w->s->name, w->row, XLSX_MAX_COLS);
			return;
		}
		col = (unsigned)(w->col + 1);
	} else if (parse_ref(r, &col, &row) != 0) {
		xp_fail(xp, "sheet '%s', row %lu: the cell reference \"%s\" "
		    "is not one Excel writes (A1 to XFD%d)", w->s->name,
		    w->row, shown(r, sh), XLSX_MAX_ROW_NUM);
		return;
	} else if (row != w->row) {
		xp_fail(xp, "sheet '%s', row %lu: the cell %s is not in this "
		    "row", w->s->name, w->row, shown(r, sh));
		return;
	} else if ((long)col <= w->col) {
		xp_fail(xp, "sheet '%s', row %lu: the cell %s comes after "
		    "a cell to its right (cells must be in order)",
		    w->s->name, w->row, shown(r, sh));
		return;
	}
	w->col = col;
	w->in_c = 1;
	if (t == NULL || strcmp(t, "n") == 0)
		w->type = CT_N;
	else if (strcmp(t, "s") == 0)
		w->type = CT_S;
	else if (strcmp(t, "str") == 0)
		w->type = CT_STR;
	else if (strcmp(t, "inlineStr") == 0)
		w->type = CT_INLINE;
	else if (strcmp(t, "b") == 0)
		w->type = CT_B;
	else if (strcmp(t, "e") == 0)
		w->type = CT_E;
	else if (strcmp(t, "d") == 0)
		w->type = CT_D;
	else {
		ws_where(w, where, sizeof(where));
		xp_fail(xp, "%s: unknown cell type \"%s\"", where,
		    shown(t, sh));
		return;
	}
	w->want_v = w->type != CT_INLINE;
	snprintf(w->cell, sizeof(w->cell), "cell %s%lu",
	    xlsx_col_name(col, sh), w->row);
	xp->what = w->cell;
	xp_text_begin(xp);
	xp->collect = 0;
}

static void
ws_start(struct xp *xp, const char *name, const XML_Char **atts)
{
	struct ws *w = xp->ctx;

	if (xp->depth == 2 && strcmp(name, "sheetData") == 0)
		w->in_data = 1;
	else if (w->in_data && xp->depth == 3 && strcmp(name, "row") == 0)
		ws_row_start(xp, w, atts);
	else if (w->in_row && xp->depth == 4 && strcmp(name, "c") == 0)
		ws_c_start(xp, w, atts);
	else if (w->in_c && xp->depth == 5 && strcmp(name, "v") == 0 &&
	    w->want_v)
		xp->collect = 1;
	else if (w->in_c && xp->depth == 5 && strcmp(name, "is") == 0 &&
	    !w->want_v)
		w->in_is = 1;
	else if (w->in_is && xp->depth == 6 && strcmp(name, "r") == 0)
		w->in_isr = 1;
	else if (strcmp(name, "t") == 0 && ((w->in_is && xp->depth == 6) ||
	    (w->in_isr && xp->depth == 7)))
		xp->collect = 1;
}

static int
ws_grow(struct xp *xp, void **a, size_t *cap, size_t n, size_t size,
    size_t max)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if (c > max)
		c = max;
	if ((p = realloc(*a, c * size)) == NULL) {
		xp_fail(xp, "out of memory");
		return -1;
	}
	*a = p;
	*cap = c;
	return 0;
}

/* The cell just closed: its value, if any, into the sheet. */
static void
ws_c_end(struct xp *xp, struct ws *w)
{
	struct sheet *s = w->s;
	struct xlsx *x = xp->x;
	char *t = xp->text, where[200];
	const char *v = NULL;
	size_t n = xp->tlen;

	w->in_c = 0;
	xp->collect = 0;
	if (n == 0)
		return;			/* empty: left out */
	switch (w->type) {
	case CT_S: {
		unsigned long i = 0;
		size_t k;

		for (k = 0; k < n && t[k] >= '0' && t[k] <= '9' && k < 10; k++)
			i = i * 10 + (unsigned long)(t[k] - '0');
		if (k != n) {
			ws_where(w, where, sizeof(where));
			xp_fail(xp, "%s: a shared string index that is not a "
			    "number", where);
			return;
		}
		if (i >= x->n_sst) {
			ws_where(w, where, sizeof(where));
			xp_fail(xp, "%s: shared string %lu does not exist "
			    "(the workbook has %zu)", where, i, x->n_sst);
			return;
		}
		v = x->sst[i];
		if (v[0] == '\0')
			return;
		break;
	}
	case CT_B:
		if (strcmp(t, "1") == 0 || strcasecmp(t, "true") == 0) {
			v = "TRUE";
		} else if (strcmp(t, "0") == 0 || strcasecmp(t, "false") == 0) {
			v = "FALSE";
		} else {
			ws_where(w, where, sizeof(where));
			xp_fail(xp, "%s: a boolean that is neither 0 nor 1",
			    where);
			return;
		}
		break;
	case CT_N:
		n = trim_zero_fraction(t, n);
		break;
	case CT_STR:
	case CT_INLINE:
		n = unescape(t, n);
		break;
	case CT_E:
	case CT_D:
		break;
	}
	if (v == NULL) {
		if (n == 0)
			return;
		if ((v = arena_dup(&s->arena, t, n)) == NULL) {
			xp_fail(xp, "out of memory");
			return;
		}
	}
	if (s->n_cells == XLSX_MAX_CELLS) {
		xp_fail(xp, "sheet '%s': more than %d cells with a value",
		    s->name, XLSX_MAX_CELLS);
		return;
	}
	if (ws_grow(xp, (void **)&s->cells, &w->cap_cells, s->n_cells,
	    sizeof(*s->cells), XLSX_MAX_CELLS) != 0)
		return;
	s->cells[s->n_cells].col = (unsigned)w->col;
	s->cells[s->n_cells].text = v;
	s->n_cells++;
}

static void
ws_end(struct xp *xp, const char *name)
{
	struct ws *w = xp->ctx;
	struct sheet *s = w->s;

	if (w->in_c && xp->depth == 4) {
		ws_c_end(xp, w);
	} else if (w->in_row && xp->depth == 3) {
		w->in_row = 0;
		if (s->n_cells == w->row_first)
			return;		/* no value: left out */
		if (s->n_rows == XLSX_MAX_ROWS) {
			xp_fail(xp, "sheet '%s': more than %d rows",
			    s->name, XLSX_MAX_ROWS);
			return;
		}
		if (ws_grow(xp, (void **)&s->rows, &w->cap_rows, s->n_rows,
		    sizeof(*s->rows), XLSX_MAX_ROWS) != 0)
			return;
		s->rows[s->n_rows].num = w->row;
		s->rows[s->n_rows].n_cells = s->n_cells - w->row_first;
		/* an index until the cells stop moving (xlsx_sheet_read) */
		s->rows[s->n_rows].cells = (const struct xlsx_cell *)
		    (uintptr_t)w->row_first;
		s->n_rows++;
	} else if (w->in_data && xp->depth == 2) {
		w->in_data = 0;
	} else if (w->in_isr && xp->depth == 6) {
		w->in_isr = 0;
	} else if (w->in_is && xp->depth == 5) {
		w->in_is = 0;
	} else if (xp->collect && (strcmp(name, "v") == 0 ||
	    strcmp(name, "t") == 0)) {
		xp->collect = 0;
	}
	(void)name;
}

int
xlsx_sheet_read(struct xlsx *x, size_t i, char *err, size_t errlen)
{
	struct sheet *s;
	struct ws w;
	struct xp xp;
	char where[400];
	zip_int64_t idx;

	if (i >= x->n_sheets) {
		util_fail(err, errlen, "no sheet %zu (the workbook has %zu)",
		    i + 1, x->n_sheets);
		return -1;
	}
	s = &x->sheets[i];
	if (s->state == 1)
		return 0;
	if (s->state == -1) {
		util_fail(err, errlen, "%s", s->err);
		return -1;
	}
	if (s->kind != SK_WORKSHEET) {
		s->state = 1;		/* a chart sheet: no cells */
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.s = s;
	memset(&xp, 0, sizeof(xp));
	snprintf(where, sizeof(where), "sheet '%s' (%s)", s->name, s->part);
	xp.x = x;
	xp.where = where;
	xp.entry = s->part;
	xp.err = s->err;
	xp.errlen = sizeof(s->err);
	xp.start = ws_start;
	xp.end = ws_end;
	xp.ctx = &w;
	idx = zip_name_locate(x->za, s->part, ZIP_FL_NOCASE);
	if (idx < 0) {
		snprintf(s->err, sizeof(s->err), "sheet '%s': its part %s is "
		    "missing from the zip", s->name, s->part);
	} else if (xp_run(&xp, idx) == 0) {
		for (size_t r = 0; r < s->n_rows; r++)
			s->rows[r].cells = s->cells +
			    (uintptr_t)s->rows[r].cells;
		s->state = 1;
		return 0;
	}
	/* failed: nothing half-read stays */
	free(s->rows);
	free(s->cells);
	arena_free(s->arena);
	s->rows = NULL;
	s->cells = NULL;
	s->arena = NULL;
	s->n_rows = s->n_cells = 0;
	s->state = -1;
	util_fail(err, errlen, "%s", s->err);
	return -1;
}

/* --- opening --- */

static int
read_part(struct xlsx *x, const char *entry, struct xp *xp, char *err,
    size_t errlen)
{
	zip_int64_t idx = zip_name_locate(x->za, entry, ZIP_FL_NOCASE);

	if (idx < 0) {
		util_fail(err, errlen, "not an .xlsx workbook (no %s)", entry);
		return -1;
	}
	xp->x = x;
	xp->where = entry;
	xp->entry = entry;
	xp->err = err;
	xp->errlen = errlen;
	return xp_run(xp, idx);
}

struct xlsx *
xlsx_open_mem(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *b = buf;
	struct xlsx *x;
	zip_source_t *src;
	zip_error_t ze;
	struct xp xp;
	struct rels rels;
	struct sst_state ss;
	zip_int64_t n;

	if (len == 0) {
		util_fail(err, errlen, "the file is empty");
		return NULL;
	}
	if (len >= 4 && b[0] == 0xD0 && b[1] == 0xCF && b[2] == 0x11 &&
	    b[3] == 0xE0) {
		/* OLE2: .xls, and also Excel's password-protected .xlsx */
		util_fail(err, errlen, "this is an old .xls workbook (or one "
		    "with a password); save it as .xlsx (Excel Workbook), "
		    "without a password");
		return NULL;
	}
	if (len > XLSX_MAX_FILE) {
		util_fail(err, errlen, "the workbook is more than %u MiB",
		    MIB(XLSX_MAX_FILE));
		return NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->buf = malloc(len)) == NULL ||
	    (x->sheets = calloc(XLSX_MAX_SHEETS, sizeof(*x->sheets))) ==
	    NULL) {
		if (x)
			free(x->buf);
		free(x);
		util_fail(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(x->buf, buf, len);
	x->len = len;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(x->buf, len, 0, &ze)) == NULL ||
	    (x->za = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL) {
		int code = zip_error_code_zip(&ze);

		if (code == ZIP_ER_NOZIP)
			util_fail(err, errlen, "not an .xlsx workbook (not a "
			    "zip file)");
		else if (code == ZIP_ER_MEMORY)
			util_fail(err, errlen, "out of memory");
		else
			util_fail(err, errlen, "the workbook's zip is damaged, "
			    "or cut short (%s)", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		if (src)
			zip_source_free(src);
		xlsx_free(x);
		return NULL;
	}
	zip_error_fini(&ze);
	n = zip_get_num_entries(x->za, 0);
	if (n > XLSX_MAX_ENTRIES) {
		util_fail(err, errlen, "the zip holds more than %d entries; no "
		    "workbook has that many", XLSX_MAX_ENTRIES);
		goto bad;
	}
	if (zip_name_locate(x->za, "xl/workbook.xml", ZIP_FL_NOCASE) < 0 &&
	    zip_name_locate(x->za, "content.xml", 0) >= 0) {
		util_fail(err, errlen, "this is an OpenDocument spreadsheet "
		    "(.ods); save it as .xlsx (Excel Workbook)");
		goto bad;
	}

	memset(&xp, 0, sizeof(xp));
	xp.start = wb_start;
	xp.end = nothing_end;
	if (read_part(x, "xl/workbook.xml", &xp, err, errlen) != 0)
		goto bad;
	if (x->n_sheets == 0) {
		util_fail(err, errlen, "xl/workbook.xml: the workbook has no "
		    "sheets");
		goto bad;
	}

	memset(&xp, 0, sizeof(xp));
	memset(&rels, 0, sizeof(rels));
	xp.start = rels_start;
	xp.end = nothing_end;
	xp.ctx = &rels;
	if (read_part(x, "xl/_rels/workbook.xml.rels", &xp, err, errlen) !=
	    0)
		goto bad;
	for (size_t i = 0; i < x->n_sheets; i++)
		if (x->sheets[i].rid) {
			char sh[24];

			util_fail(err, errlen, "sheet '%s': no relationship %s "
			    "in xl/_rels/workbook.xml.rels", x->sheets[i].name,
			    shown(x->sheets[i].rid, sh));
			goto bad;
		}

	/* The shared strings: where the rels say, else where Excel puts
	   them; a workbook with none has no such part. */
	if (rels.sst[0] == '\0')
		memcpy(rels.sst, "xl/sharedStrings.xml",
		    sizeof("xl/sharedStrings.xml"));
	if (zip_name_locate(x->za, rels.sst, ZIP_FL_NOCASE) >= 0) {
		memset(&xp, 0, sizeof(xp));
		memset(&ss, 0, sizeof(ss));
		xp.start = sst_start;
		xp.end = sst_end;
		xp.ctx = &ss;
		xp.what = "a shared string";
		if (read_part(x, rels.sst, &xp, err, errlen) != 0)
			goto bad;
	}
	return x;
bad:
	xlsx_free(x);
	return NULL;
}

struct xlsx *
xlsx_open_file(const char *path, char *err, size_t errlen)
{
	struct xlsx *x;
	size_t len;
	char *buf = util_read_file(path, XLSX_MAX_FILE, &len);

	if (buf == NULL) {
		if (errno == EFBIG)
			util_fail(err, errlen, "%s: the workbook is more than "
			    "%u MiB", path, MIB(XLSX_MAX_FILE));
		else
			util_fail(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	x = xlsx_open_mem(buf, len, err, errlen);
	free(buf);
	return x;
}

void
xlsx_free(struct xlsx *x)
{
	if (x == NULL)
		return;
	if (x->za)
		zip_discard(x->za);	/* and its source */
	for (size_t i = 0; i < x->n_sheets; i++) {
		free(x->sheets[i].rows);
		free(x->sheets[i].cells);
		arena_free(x->sheets[i].arena);
	}
	free(x->sheets);
	free(x->sst);
	arena_free(x->arena);
	free(x->buf);
	free(x);
}

/* --- access --- */

size_t
xlsx_sheet_count(const struct xlsx *x)
{
	return x->n_sheets;
}

const char *
xlsx_sheet_name(const struct xlsx *x, size_t i)
{
	return i < x->n_sheets ? x->sheets[i].name : NULL;
}

int
xlsx_sheet_find(const struct xlsx *x, const char *name)
{
	for (size_t i = 0; i < x->n_sheets; i++)
		if (strcasecmp(x->sheets[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t
xlsx_row_count(const struct xlsx *x, size_t i)
{
	return i < x->n_sheets && x->sheets[i].state == 1 ?
	    x->sheets[i].n_rows : 0;
}

const struct xlsx_row *
xlsx_row(const struct xlsx *x, size_t i, size_t r)
{
	return r < xlsx_row_count(x, i) ? &x->sheets[i].rows[r] : NULL;
}

const char *
xlsx_cell(const struct xlsx_row *row, unsigned col)
{
	size_t lo = 0, hi;

	if (row == NULL)
		return NULL;
	hi = row->n_cells;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (row->cells[mid].col == col)
			return row->cells[mid].text;
		if (row->cells[mid].col < col)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * xmlinst.c: see xmlinst.h.
 *
 * One pass with expat's callbacks, no tree: a frame per open element
 * says where its children go (the record or a repeat item, below which
 * group or repeat of the form's nodes, xfnodes.h), and at most one
 * element's text is being
 * collected at a time, into a fixed buffer of FORM_MAX_TEXT bytes.  An
 * element that does not fit is reported once with its path and its whole
 * subtree skipped (still counted against the limits), so one document
 * gives every such error.  A limit, a DOCTYPE or an unknown form stops
 * the parser at once.
 */
#include "daemon/xmlinst.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/xform.h"
#include "daemon/xfnodes.h"

enum xi_text { T_NONE, T_FIELD, T_INSTANCE_ID, T_DEPRECATED_ID };

/* An open element: where its children go. */
struct xi_frame {
	int node;			/* its group or repeat node; -1 the root */
	int meta;			/* meta: its children are metadata */
	json_t *obj;			/* the record or repeat item, borrowed */
	int item;			/* the repeat of that item, or -1 */
	size_t item_no;			/* 1-based */
};

struct xi {
	XML_Parser p;
	const struct form_catalog *cat;
	struct xmlinst_result *res;
	struct xfnodes nodes;		/* the form's */
	int stopped;			/* our own stop: res says why */
	unsigned depth;
	size_t elements;
	unsigned skip;			/* depth of a subtree skipped, or 0 */
	json_t *rec;
	struct xi_frame fr[XMLINST_MAX_DEPTH + 2];	/* by depth */
	int stray_text;			/* reported once */
	/* the element whose text is collected */
	enum xi_text tt;
	unsigned tt_depth;
	json_t *tt_obj;			/* where the value goes, borrowed */
	const char *tt_name;
	int tt_over;
	char path[160];
	size_t text_len;
	char text[FORM_MAX_TEXT + 1];
	char instance_id[64];
	int have_instance_id, deprecated;
};

static void xi_stop(struct xi *x, enum xmlinst_status st, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Stops the parse with a message that says where. */
static void
xi_stop(struct xi *x, enum xmlinst_status st, const char *fmt, ...)
{
	struct xmlinst_result *r = x->res;
	va_list ap;
	int n;

	if (x->stopped)
		return;
	x->stopped = 1;
	r->status = st;
	va_start(ap, fmt);
	n = vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	if (st == XMLINST_MALFORMED && n >= 0 && (size_t)n < sizeof(r->msg))
		snprintf(r->msg + n, sizeof(r->msg) - (size_t)n, " (line %lu, "
		    "column %lu, byte %ld)",
		    (unsigned long)XML_GetCurrentLineNumber(x->p),
		    (unsigned long)XML_GetCurrentColumnNumber(x->p) + 1,
		    (long)XML_GetCurrentByteIndex(x->p));
	XML_StopParser(x->p, XML_FALSE);
}

/* An element name without its namespace prefix. */
static const char *
xi_local(const char *name)
{
	const char *c = strrchr(name, ':');

	return c ? c + 1 : name;
}

/* A name fit for a message: element names are ours to show, but keep
   them short and plain. */
static void
xi_name(const char *name, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < outlen && i < 63; i++) {
		char c = name[i];
		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.') ? c : '?';
	}
	out[i] = '\0';
	if (name[i] && i >= 3)
		memcpy(out + i - 3, "...", 3);
}

/* The path of element name under frame f, as form_validate writes
   paths (groups are not in them: their fields are stored flat). */
static void
xi_path(const struct xi *x, const struct xi_frame *f, const char *name,
    char *out, size_t outlen)
{
	char n[64];

	xi_name(name, n, sizeof(n));
	if (f->item >= 0)
		snprintf(out, outlen, "%s[%zu].%s",
		    x->nodes.n[f->item].name, f->item_no, n);
	else if (f->meta)
		snprintf(out, outlen, "meta.%s", n);
	else
		snprintf(out, outlen, "%s", n);
}

static void
xi_skip(struct xi *x, const char *path, const char *reason)
{
	form_error_add(&x->res->errs, path, "%s", reason);
	x->skip = x->depth;
}

static void
xi_text_begin(struct xi *x, enum xi_text tt, json_t *obj, const char *name,
    const char *path)
{
	x->tt = tt;
	x->tt_depth = x->depth;
	x->tt_obj = obj;
	x->tt_name = name;
	x->tt_over = 0;
	x->text_len = 0;
	snprintf(x->path, sizeof(x->path), "%s", path);
}

static void
xi_root(struct xi *x, const XML_Char **atts)
{
	const char *id = NULL, *ver = NULL;
	const struct form *f;
	char n[64], why[160];

	for (size_t i = 0; atts[i] && atts[i + 1]; i += 2) {
		if (strcmp(atts[i], "id") == 0)
			id = atts[i + 1];
		else if (strcmp(atts[i], "version") == 0)
			ver = atts[i + 1];
	}
	if (id == NULL || id[0] == '\0') {
		xi_stop(x, XMLINST_MALFORMED, "the root element has no id "
		    "attribute naming the form");
		return;
	}
	if (ver && ver[0] == '\0')
		ver = NULL;
	f = strlen(id) <= FORM_ID_MAX && (ver == NULL || strlen(ver) <=
	    FORM_VERSION_MAX) ? form_catalog_get(x->cat, id, ver) : NULL;
	if (f == NULL) {
		xi_name(id, n, sizeof(n));
		if (ver && form_catalog_get(x->cat, id, NULL))
			xi_stop(x, XMLINST_NO_FORM, "form %s: this device has "
			    "no such version; get the current form (Get Blank "
			    "Form) and fill it in again", n);
		else
			xi_stop(x, XMLINST_NO_FORM, "unknown form %s", n);
		return;
	}
	x->res->form = f;
	if (xfnodes_build(f, &x->nodes, why, sizeof(why)) != 0) {
		xi_stop(x, XMLINST_NO_FORM, "form %s: unusable definition",
		    form_id(f));
		return;
	}
	if ((x->rec = json_object()) == NULL) {
		xi_stop(x, XMLINST_NOMEM, "out of memory");
		return;
	}
	x->fr[1].node = -1;
	x->fr[1].obj = x->rec;
	x->fr[1].item = -1;
}

/* A child of meta. */
static void
xi_meta(struct xi *x, const char *name, const char *path)
{
	if (strcmp(name, "instanceID") == 0) {
		if (x->have_instance_id++)
			xi_skip(x, path, "given more than once");
		else
			xi_text_begin(x, T_INSTANCE_ID, NULL, NULL, path);
	} else if (strcmp(name, "deprecatedID") == 0) {
		xi_text_begin(x, T_DEPRECATED_ID, NULL, NULL, path);
	} else {
		x->skip = x->depth;	/* instanceName, audit ...: ignored */
	}
}

/* A new item of repeat j in frame up; its frame is f. */
static void
xi_item(struct xi *x, const struct xi_frame *up, struct xi_frame *f, int j,
    const char *path)
{
	const char *name = x->nodes.n[j].name;
	json_t *arr, *item;

	if ((arr = json_object_get(up->obj, name)) == NULL) {
		if ((arr = json_array()) == NULL ||
		    json_object_set_new(up->obj, name, arr) != 0) {
			xi_stop(x, XMLINST_NOMEM, "out of memory");
			return;
		}
	}
	if (json_array_size(arr) >= FORM_MAX_REPEAT_ITEMS) {
		xi_skip(x, path, "more items than a repeat may hold");
		return;
	}
	if ((item = json_object()) == NULL ||
	    json_array_append_new(arr, item) != 0) {
		xi_stop(x, XMLINST_NOMEM, "out of memory");
		return;
	}
	f->node = j;
	f->obj = item;
	f->item = j;
	f->item_no = json_array_size(arr);
}

/*
 * An element below the root: metadata, a group (its fields stored at
 * its own level), a repeat item, a field; a note (no value) and a
 * repeat's check node (xform.h) are dropped.
 */
static void
xi_child(struct xi *x, const char *name)
{
	struct xi_frame *up = &x->fr[x->depth - 1], *f = &x->fr[x->depth];
	char path[160];
	int j;

	*f = *up;
	f->meta = 0;
	xi_path(x, up, name, path, sizeof(path));
	if (up->meta) {
		xi_meta(x, name, path);
		return;
	}
	if (x->depth == 2 && strcmp(name, "meta") == 0) {
		f->meta = 1;
		return;
	}
	if ((j = xfnodes_child(&x->nodes, up->node, name)) < 0) {
		if (strncmp(name, XFORM_CHECK_PREFIX,
		    strlen(XFORM_CHECK_PREFIX)) == 0 || strncmp(name,
		    XFORM_COUNT_PREFIX, strlen(XFORM_COUNT_PREFIX)) == 0)
			x->skip = x->depth;
		else
			xi_skip(x, path, up->node < 0 && up->item < 0 ?
			    "unknown field" : "unknown field here");
		return;
	}
	switch (x->nodes.n[j].kind) {
	case XFN_GROUP:
		f->node = j;
		break;
	case XFN_REPEAT:
		xi_item(x, up, f, j, path);
		break;
	case XFN_VALUE:
		if (json_object_get(up->obj, x->nodes.n[j].name) != NULL)
			xi_skip(x, path, "given more than once");
		else
			xi_text_begin(x, T_FIELD, up->obj, x->nodes.n[j].name,
			    path);
		break;
	default:
		x->skip = x->depth;	/* a note: it holds no value */
		break;
	}
}

static void XMLCALL
xi_start(void *arg, const XML_Char *qname, const XML_Char **atts)
{
	struct xi *x = arg;
	const char *name = xi_local(qname);

	if (x->stopped)
		return;
	x->depth++;
	if (++x->elements > XMLINST_MAX_ELEMENTS) {
		xi_stop(x, XMLINST_MALFORMED, "more than %d elements",
		    XMLINST_MAX_ELEMENTS);
		return;
	}
	if (x->depth > XMLINST_MAX_DEPTH) {
		xi_stop(x, XMLINST_MALFORMED, "elements nested deeper than %d "
		    "levels", XMLINST_MAX_DEPTH);
		return;
	}
	if (x->skip)
		return;
	if (x->tt != T_NONE) {
		xi_skip(x, x->path, "holds an element; a field holds text "
		    "only");
		return;
	}
	if (x->depth == 1)
		xi_root(x, atts);
	else
		xi_child(x, name);
}

static void
xi_text_end(struct xi *x)
{
	json_t *v;

	if (x->tt_over)
		;
	else if (x->tt == T_FIELD) {
		v = json_stringn(x->text, x->text_len);
		if (v == NULL || json_object_set_new(x->tt_obj, x->tt_name,
		    v) != 0)
			xi_stop(x, XMLINST_NOMEM, "out of memory");
	} else if (x->tt == T_INSTANCE_ID) {
		if (x->text_len < sizeof(x->instance_id)) {
			memcpy(x->instance_id, x->text, x->text_len);
			x->instance_id[x->text_len] = '\0';
		} else
			snprintf(x->instance_id, sizeof(x->instance_id),
			    "too long");
	} else if (x->tt == T_DEPRECATED_ID) {
		for (size_t i = 0; i < x->text_len; i++)
			if (x->text[i] != ' ' && x->text[i] != '\t' &&
			    x->text[i] != '\r' && x->text[i] != '\n')
				x->deprecated = 1;
	}
	x->tt = T_NONE;
}

static void XMLCALL
xi_end(void *arg, const XML_Char *qname)
{
	struct xi *x = arg;

	(void)qname;
	if (x->stopped)
		return;
	if (x->skip) {
		if (x->depth == x->skip)
			x->skip = 0;
	} else if (x->tt != T_NONE && x->depth == x->tt_depth) {
		xi_text_end(x);
	}
	x->depth--;
}

static void XMLCALL
xi_chars(void *arg, const XML_Char *s, int len)
{
	struct xi *x = arg;
	size_t n = (size_t)len;

	if (x->stopped || x->skip || len <= 0)
		return;
	if (x->tt == T_NONE) {
		for (size_t i = 0; i < n; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
			    s[i] != '\n' && !x->stray_text) {
				x->stray_text = 1;
				form_error_add(&x->res->errs, "", "text outside "
				    "any field");
			}
		return;
	}
	if (x->tt_over)
		return;
	if (n > FORM_MAX_TEXT - x->text_len) {
		x->tt_over = 1;
		form_error_add(&x->res->errs, x->path, "longer than %d bytes",
		    FORM_MAX_TEXT);
		return;
	}
	memcpy(x->text + x->text_len, s, n);
	x->text_len += n;
}

static void XMLCALL
xi_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xi_stop(arg, XMLINST_MALFORMED, "a DOCTYPE is not accepted (no DTDs, "
	    "no entities)");
}

/* Not reached while every DOCTYPE is refused: a second lock. */
static void XMLCALL
xi_entity(void *arg, const XML_Char *name, int is_param,
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
	xi_stop(arg, XMLINST_MALFORMED, "entity declarations are not "
	    "accepted");
}

static int XMLCALL
xi_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid)
{
	(void)p;
	(void)context;
	(void)base;
	(void)sysid;
	(void)pubid;
	return XML_STATUS_ERROR;	/* nothing is ever loaded */
}

/* After a good parse: meta, then types. */
static void
xi_finish(struct xi *x)
{
	struct xmlinst_result *r = x->res;
	const char *u = x->instance_id + 5;

	if (!x->have_instance_id || x->instance_id[0] == '\0')
		form_error_add(&r->errs, "meta.instanceID", "required: "
		    "\"uuid:\" and a UUID");
	else if (strncmp(x->instance_id, "uuid:", 5) != 0 ||
	    !util_is_uuid(u))
		form_error_add(&r->errs, "meta.instanceID", "must be "
		    "\"uuid:\" and a UUID");
	if (x->deprecated)
		form_error_add(&r->errs, "meta.deprecatedID", "edits of a "
		    "record sent before are not accepted (records are sealed)");
	form_coerce(r->form, x->rec, &r->errs);
	if (r->errs.n + r->errs.dropped > 0) {
		r->status = XMLINST_INVALID;
		snprintf(r->msg, sizeof(r->msg), "%zu error(s)", r->errs.n +
		    r->errs.dropped);
		return;
	}
	{
		char id[37];

		snprintf(id, sizeof(id), "%s", u);
		util_lower(id);
		if (json_object_set_new(x->rec, "_id", json_string(id)) != 0) {
			r->status = XMLINST_NOMEM;
			snprintf(r->msg, sizeof(r->msg), "out of memory");
			return;
		}
	}
	r->status = XMLINST_OK;
	r->rec = x->rec;
	x->rec = NULL;
}

enum xmlinst_status
xmlinst_parse(const char *xml, size_t len, const struct form_catalog *cat,
    struct xmlinst_result *res)
{
	struct xi *x;
	enum XML_Status st;

	memset(res, 0, sizeof(*res));
	if (len > INT_MAX) {
		res->status = XMLINST_MALFORMED;
		snprintf(res->msg, sizeof(res->msg), "document too large");
		return res->status;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->p = XML_ParserCreate(NULL)) == NULL) {
		free(x);
		res->status = XMLINST_NOMEM;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		return res->status;
	}
	x->cat = cat;
	x->res = res;
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, xi_start, xi_end);
	XML_SetCharacterDataHandler(x->p, xi_chars);
	XML_SetStartDoctypeDeclHandler(x->p, xi_doctype);
	XML_SetEntityDeclHandler(x->p, xi_entity);
	XML_SetExternalEntityRefHandler(x->p, xi_external);
	XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(x->p, xml, (int)len, XML_TRUE);
	if (x->stopped) {
		/* res says why */
	} else if (st != XML_STATUS_OK) {
		res->status = XMLINST_MALFORMED;
		snprintf(res->msg, sizeof(res->msg), "malformed XML: %s (line "
		    "%lu, column %lu, byte %ld)",
		    XML_ErrorString(XML_GetErrorCode(x->p)),
		    (unsigned long)XML_GetCurrentLineNumber(x->p),
		    (unsigned long)XML_GetCurrentColumnNumber(x->p) + 1,
		    (long)XML_GetCurrentByteIndex(x->p));
	} else {
		xi_finish(x);
	}
	json_decref(x->rec);
	xfnodes_free(&x->nodes);
	XML_ParserFree(x->p);
	free(x);
	return res->status;
}

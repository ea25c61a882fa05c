/*
 * xmlinst.c: see xmlinst.h.
 *
 * One pass with expat's callbacks, no tree: the depth says where an
 * element stands (1 the root, 2 a field, a repeat item or meta, 3 a field
 * of an item or a child of meta), and at most one element's text is being
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

/* The form's fields as this file needs them (from its definition). */
struct xi_field {
	const char *name;
	int repeat;			/* a begin_repeat row */
	int parent;			/* its repeat's index, or -1 */
};

enum xi_text { T_NONE, T_FIELD, T_INSTANCE_ID, T_DEPRECATED_ID };

struct xi {
	XML_Parser p;
	const struct form_catalog *cat;
	struct xmlinst_result *res;
	json_t *def;			/* the form's; fields point into it */
	struct xi_field fields[FORM_MAX_FIELDS];
	size_t n_fields;
	int stopped;			/* our own stop: res says why */
	unsigned depth;
	size_t elements;
	unsigned skip;			/* depth of a subtree skipped, or 0 */
	json_t *rec;
	json_t *item;			/* the repeat item open, borrowed */
	int item_field;
	size_t item_no;			/* 1-based */
	int in_meta;
	int stray_text;			/* reported once */
	/* the element whose text is collected */
	enum xi_text tt;
	unsigned tt_depth;
	json_t *tt_obj;			/* where the value goes, borrowed */
	int tt_field;
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

static int
xi_schema(struct xi *x, const struct form *f)
{
	const json_t *survey, *row;
	int repeat = -1;
	size_t i;

	x->n_fields = 0;
	json_decref(x->def);
	if ((x->def = form_definition(f)) == NULL)
		return -1;
	survey = json_object_get(x->def, "survey");
	json_array_foreach(survey, i, row) {
		const char *type = json_string_value(json_object_get(row,
		    "type"));
		const char *name = json_string_value(json_object_get(row,
		    "name"));
		struct xi_field *fd;

		if (type == NULL)
			return -1;
		if (strcmp(type, "end_repeat") == 0 ||
		    strcmp(type, "end repeat") == 0) {
			repeat = -1;
			continue;
		}
		if (name == NULL || x->n_fields == FORM_MAX_FIELDS)
			return -1;
		fd = &x->fields[x->n_fields];
		fd->name = name;
		fd->parent = repeat;
		fd->repeat = strcmp(type, "begin_repeat") == 0 ||
		    strcmp(type, "begin repeat") == 0;
		if (fd->repeat)
			repeat = (int)x->n_fields;
		x->n_fields++;
	}
	return 0;
}

static int
xi_field(const struct xi *x, const char *name, int parent)
{
	for (size_t i = 0; i < x->n_fields; i++)
		if (x->fields[i].parent == parent &&
		    strcmp(x->fields[i].name, name) == 0)
			return (int)i;
	return -1;
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

/* The path of element name at the current level, as form_validate
   writes paths. */
static void
xi_path(const struct xi *x, const char *name, char *out, size_t outlen)
{
	char n[64];

	xi_name(name, n, sizeof(n));
	if (x->item)
		snprintf(out, outlen, "%s[%zu].%s",
		    x->fields[x->item_field].name, x->item_no, n);
	else if (x->in_meta)
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
xi_text_begin(struct xi *x, enum xi_text tt, json_t *obj, int field,
    const char *path)
{
	x->tt = tt;
	x->tt_depth = x->depth;
	x->tt_obj = obj;
	x->tt_field = field;
	x->tt_over = 0;
	x->text_len = 0;
	snprintf(x->path, sizeof(x->path), "%s", path);
}

static void
xi_root(struct xi *x, const XML_Char **atts)
{
	const char *id = NULL, *ver = NULL;
	const struct form *f;
	char n[64];

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
	if (xi_schema(x, f) != 0) {
		xi_stop(x, XMLINST_NO_FORM, "form %s: unusable definition",
		    form_id(f));
		return;
	}
	if ((x->rec = json_object()) == NULL)
		xi_stop(x, XMLINST_NOMEM, "out of memory");
}

/* An element at depth 2: a field, a repeat item or meta. */
static void
xi_top(struct xi *x, const char *name)
{
	char path[160];
	json_t *arr;
	int j;

	if (strcmp(name, "meta") == 0) {
		x->in_meta = 1;
		return;
	}
	xi_path(x, name, path, sizeof(path));
	if ((j = xi_field(x, name, -1)) < 0) {
		xi_skip(x, path, "unknown field");
		return;
	}
	if (!x->fields[j].repeat) {
		if (json_object_get(x->rec, name) != NULL)
			xi_skip(x, path, "given more than once");
		else
			xi_text_begin(x, T_FIELD, x->rec, j, path);
		return;
	}
	if ((arr = json_object_get(x->rec, name)) == NULL) {
		if ((arr = json_array()) == NULL ||
		    json_object_set_new(x->rec, name, arr) != 0) {
			xi_stop(x, XMLINST_NOMEM, "out of memory");
			return;
		}
	}
	if (json_array_size(arr) >= FORM_MAX_REPEAT_ITEMS) {
		xi_skip(x, path, "more items than a repeat may hold");
		return;
	}
	if ((x->item = json_object()) == NULL ||
	    json_array_append_new(arr, x->item) != 0) {
		x->item = NULL;
		xi_stop(x, XMLINST_NOMEM, "out of memory");
		return;
	}
	x->item_field = j;
	x->item_no = json_array_size(arr);
}

/* An element at depth 3: a field of a repeat item, or a child of meta. */
static void
xi_inner(struct xi *x, const char *name)
{
	char path[160];
	int j;

	xi_path(x, name, path, sizeof(path));
	if (x->in_meta) {
		if (strcmp(name, "instanceID") == 0) {
			if (x->have_instance_id++)
				xi_skip(x, path, "given more than once");
			else
				xi_text_begin(x, T_INSTANCE_ID, NULL, -1, path);
		} else if (strcmp(name, "deprecatedID") == 0) {
			xi_text_begin(x, T_DEPRECATED_ID, NULL, -1, path);
		} else {
			x->skip = x->depth;	/* instanceName, ...: ignored */
		}
		return;
	}
	if (x->item == NULL) {
		xi_skip(x, path, "unexpected element");
		return;
	}
	if ((j = xi_field(x, name, x->item_field)) < 0)
		xi_skip(x, path, "unknown field");
	else if (json_object_get(x->item, name) != NULL)
		xi_skip(x, path, "given more than once");
	else
		xi_text_begin(x, T_FIELD, x->item, j, path);
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
	switch (x->depth) {
	case 1:
		xi_root(x, atts);
		break;
	case 2:
		xi_top(x, name);
		break;
	case 3:
		xi_inner(x, name);
		break;
	default:
		/* under an item or meta, both handled at depth 3 */
		xi_skip(x, "", "unexpected element");
		break;
	}
}

static void
xi_text_end(struct xi *x)
{
	json_t *v;

	if (x->tt_over)
		;
	else if (x->tt == T_FIELD) {
		v = json_stringn(x->text, x->text_len);
		if (v == NULL || json_object_set_new(x->tt_obj,
		    x->fields[x->tt_field].name, v) != 0)
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
	} else if (x->depth == 2) {
		x->item = NULL;
		x->in_meta = 0;
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
	json_decref(x->def);
	XML_ParserFree(x->p);
	free(x);
	return res->status;
}

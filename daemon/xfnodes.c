/*
 * xfnodes.c: see xfnodes.h.
 *
 * Types as form.c names them (pyxform's aliases included); metadata rows
 * are values ODK fills in itself (jr:preload) and shows no control for.
 */
#include "daemon/xfnodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum xfn_kind kind;
	enum xfn_type vt;
	const char *preload, *params;
	int hidden;
} xfn_types[] = {
	{ "text", XFN_VALUE, XFT_TEXT, NULL, NULL, 0 },
	{ "string", XFN_VALUE, XFT_TEXT, NULL, NULL, 0 },
	{ "integer", XFN_VALUE, XFT_INTEGER, NULL, NULL, 0 },
	{ "int", XFN_VALUE, XFT_INTEGER, NULL, NULL, 0 },
	{ "decimal", XFN_VALUE, XFT_DECIMAL, NULL, NULL, 0 },
	{ "date", XFN_VALUE, XFT_DATE, NULL, NULL, 0 },
	{ "time", XFN_VALUE, XFT_TIME, NULL, NULL, 0 },
	{ "dateTime", XFN_VALUE, XFT_DATETIME, NULL, NULL, 0 },
	{ "datetime", XFN_VALUE, XFT_DATETIME, NULL, NULL, 0 },
	{ "geopoint", XFN_VALUE, XFT_GEOPOINT, NULL, NULL, 0 },
	{ "gps", XFN_VALUE, XFT_GEOPOINT, NULL, NULL, 0 },
	{ "location", XFN_VALUE, XFT_GEOPOINT, NULL, NULL, 0 },
	/* filled by the phone's location service, never asked: left
	   empty here, which the board takes */
	{ "start-geopoint", XFN_VALUE, XFT_GEOPOINT, NULL, NULL, 1 },
	{ "background-geopoint", XFN_VALUE, XFT_GEOPOINT, NULL, NULL, 1 },
	{ "note", XFN_NOTE, XFT_NONE, NULL, NULL, 0 },
	{ "calculate", XFN_VALUE, XFT_CALCULATE, NULL, NULL, 1 },
	{ "begin_repeat", XFN_REPEAT, XFT_NONE, NULL, NULL, 0 },
	{ "begin repeat", XFN_REPEAT, XFT_NONE, NULL, NULL, 0 },
	{ "begin_group", XFN_GROUP, XFT_NONE, NULL, NULL, 0 },
	{ "begin group", XFN_GROUP, XFT_NONE, NULL, NULL, 0 },
	{ "start", XFN_VALUE, XFT_DATETIME, "timestamp", "start", 1 },
	{ "end", XFN_VALUE, XFT_DATETIME, "timestamp", "end", 1 },
	{ "today", XFN_VALUE, XFT_DATE, "date", "today", 1 },
	{ "deviceid", XFN_VALUE, XFT_TEXT, "property", "deviceid", 1 },
	{ "imei", XFN_VALUE, XFT_TEXT, "property", "deviceid", 1 },
	{ "username", XFN_VALUE, XFT_TEXT, "property", "username", 1 },
	{ "phonenumber", XFN_VALUE, XFT_TEXT, "property", "phonenumber", 1 },
	{ "email", XFN_VALUE, XFT_TEXT, "property", "email", 1 },
	{ "simserial", XFN_VALUE, XFT_TEXT, "property", "simserial", 1 },
	{ "subscriberid", XFN_VALUE, XFT_TEXT, "property", "subscriberid",
	    1 },
	{ "audit", XFN_AUDIT, XFT_NONE, NULL, NULL, 1 },
	{ "acknowledge", XFN_VALUE, XFT_ACKNOWLEDGE, NULL, NULL, 0 },
};

static const char *const xfn_one[] = { "select_one ", "select1 ",
    "select one ", NULL };
static const char *const xfn_multi[] = { "select_multiple ",
    "select all that apply ", "select multiple ", NULL };

static size_t
xfn_prefix(const char *type, const char *const *p)
{
	for (int i = 0; p[i]; i++)
		if (strncmp(type, p[i], strlen(p[i])) == 0)
			return strlen(p[i]);
	return 0;
}

static int
xfn_type(struct xfn *n, const char *type)
{
	size_t k;

	n->type = type;
	for (size_t i = 0; i < sizeof(xfn_types) / sizeof(xfn_types[0]); i++)
		if (strcmp(type, xfn_types[i].name) == 0) {
			n->kind = xfn_types[i].kind;
			n->vt = xfn_types[i].vt;
			n->preload = xfn_types[i].preload;
			n->params = xfn_types[i].params;
			n->hidden = xfn_types[i].hidden;
			return 0;
		}
	n->kind = XFN_VALUE;
	if ((k = xfn_prefix(type, xfn_one)) > 0)
		n->vt = XFT_SELECT_ONE;
	else if ((k = xfn_prefix(type, xfn_multi)) > 0)
		n->vt = XFT_SELECT_MULTIPLE;
	else
		return -1;
	n->list = type + k;
	while (*n->list == ' ')
		n->list++;
	n->list_len = strlen(n->list);
	while (n->list_len > 0 && n->list[n->list_len - 1] == ' ')
		n->list_len--;
	return 0;
}

static int
xfn_end(const char *type)
{
	return strcmp(type, "end_repeat") == 0 || strcmp(type,
	    "end repeat") == 0 || strcmp(type, "end_group") == 0 ||
	    strcmp(type, "end group") == 0;
}

int
xfnodes_find(const struct xfnodes *x, const char *name, size_t len)
{
	int first = -1;

	for (size_t i = 0; i < x->count; i++)
		if (strlen(x->n[i].name) == len &&
		    strncmp(x->n[i].name, name, len) == 0) {
			if (x->n[i].kind == XFN_VALUE ||
			    x->n[i].kind == XFN_REPEAT)
				return (int)i;
			if (first < 0)
				first = (int)i;
		}
	return first;
}

int
xfnodes_child(const struct xfnodes *x, int parent, const char *elem)
{
	size_t i = parent < 0 ? 0 : (size_t)parent + 1;
	size_t end = parent < 0 ? x->count : (size_t)x->n[parent].end;

	while (i < end) {
		if (x->n[i].kind != XFN_AUDIT && strcmp(x->n[i].elem, elem) == 0)
			return (int)i;
		i = x->n[i].kind == XFN_GROUP || x->n[i].kind == XFN_REPEAT ?
		    (size_t)x->n[i].end : i + 1;
	}
	return -1;
}

int
xfnodes_build(const struct form *f, struct xfnodes *out, char *why,
    size_t whylen)
{
	const json_t *survey, *row;
	int open[FORM_MAX_FIELDS > 64 ? 64 : FORM_MAX_FIELDS], depth = 0;
	size_t i, rows;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if ((out->def = form_definition(f)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	survey = json_object_get(out->def, "survey");
	rows = json_array_size(survey);
	if ((out->n = calloc(rows ? rows : 1, sizeof(*out->n))) == NULL) {
		xfnodes_free(out);
		errno = ENOMEM;
		return -1;
	}
	json_array_foreach(survey, i, row) {
		const char *type = json_string_value(json_object_get(row,
		    "type"));
		const char *name = json_string_value(json_object_get(row,
		    "name"));
		struct xfn *n;

		if (type == NULL)
			goto bad;
		if (json_object_get(row, "disabled") != NULL &&
		    form_yes_no(json_object_get(row, "disabled")) == 1)
			continue;	/* as form.c: left out */
		if (xfn_end(type)) {
			if (depth == 0)
				goto bad;
			out->n[open[--depth]].end = (int)out->count;
			continue;
		}
		if (name == NULL || strlen(name) > 127) {
			snprintf(why, whylen, "survey row %zu: a name of 1 to "
			    "127 characters", i + 1);
			errno = ENOTSUP;
			xfnodes_free(out);
			return -1;
		}
		n = &out->n[out->count];
		n->name = name;
		n->row = row;
		if (xfn_type(n, type) != 0) {
			snprintf(why, whylen, "survey row %zu (%s): type %.40s",
			    i + 1, name, type);
			errno = ENOTSUP;
			xfnodes_free(out);
			return -1;
		}
		n->parent = depth ? open[depth - 1] : -1;
		n->repeat = n->parent >= 0 ? (out->n[n->parent].kind ==
		    XFN_REPEAT ? n->parent : out->n[n->parent].repeat) : -1;
		n->depth = depth + 1;
		n->end = (int)out->count + 1;
		snprintf(n->elem, sizeof(n->elem), "%s", name);
		if (n->kind == XFN_GROUP || n->kind == XFN_NOTE) {
			unsigned uses = 1;

			for (size_t k = 0; k < out->count; k++)
				if ((out->n[k].kind == XFN_GROUP ||
				    out->n[k].kind == XFN_NOTE) &&
				    strcmp(out->n[k].name, name) == 0)
					uses++;
			if (uses > 1)
				snprintf(n->elem, sizeof(n->elem), "%s.%u", name,
				    uses);
		}
		out->count++;
		if (n->kind == XFN_GROUP || n->kind == XFN_REPEAT) {
			if (depth == 64)
				goto bad;
			open[depth++] = (int)out->count - 1;
		}
	}
	if (depth != 0)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "survey: rows do not nest");
	xfnodes_free(out);
	errno = ENOTSUP;
	return -1;
}

void
xfnodes_free(struct xfnodes *x)
{
	json_decref(x->def);
	free(x->n);
	memset(x, 0, sizeof(*x));
}

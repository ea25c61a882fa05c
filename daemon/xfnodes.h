/*
 * xfnodes.h: a form definition's survey rows as the nodes of its XForm
 * instance, shared by the XForm writer (xform.c) and the reader of
 * submitted instances (xmlinst.c), so both see one shape.
 *
 * Nodes are in survey order (end_* rows and disabled rows left out); a
 * group's or a repeat's descendants follow it, up to `end`.  A value
 * field's element is its name; a note or a group, which may share a name
 * with another note or group (form.c allows it: they hold no value), gets
 * "name.N" for its N-th use (2, 3 ...): '.' is in no field name, so the
 * element can be no field's, and it is a valid XML name.
 */
#ifndef XFNODES_H
#define XFNODES_H

#include <jansson.h>
#include <stddef.h>

#include "form/form.h"

enum xfn_kind {
	XFN_VALUE,		/* a question, a calculate, a metadata row */
	XFN_GROUP,
	XFN_REPEAT,
	XFN_NOTE,
	XFN_AUDIT		/* ODK's audit log: in meta, no value here */
};

enum xfn_type {
	XFT_TEXT, XFT_INTEGER, XFT_DECIMAL, XFT_DATE, XFT_TIME, XFT_DATETIME,
	XFT_SELECT_ONE, XFT_SELECT_MULTIPLE, XFT_GEOPOINT, XFT_CALCULATE,
	XFT_ACKNOWLEDGE, XFT_NONE
};

struct xfn {
	const char *name;		/* the row's name (in def) */
	char elem[144];			/* its element's name */
	const json_t *row;
	const char *type;		/* the row's type text */
	enum xfn_kind kind;
	enum xfn_type vt;
	const char *list;		/* selects: the list's name */
	size_t list_len;
	const char *preload, *params;	/* metadata: jr:preload, params */
	int hidden;			/* no control in the body */
	int parent;			/* enclosing group or repeat, or -1 */
	int repeat;			/* enclosing repeat, or -1 */
	int end;			/* past the last descendant */
	int depth;			/* 1 at top level */
};

struct xfnodes {
	json_t *def;			/* owned: the definition */
	struct xfn *n;
	size_t count;
};

/*
 * The nodes of f: 0, or -1 with errno ENOMEM, or ENOTSUP and a reason in
 * why (a definition form_parse took always gives 0).
 */
int xfnodes_build(const struct form *f, struct xfnodes *out, char *why,
    size_t whylen);
void xfnodes_free(struct xfnodes *x);

/* The value node called name (len bytes), else the first node of that
   name; -1 when none. */
int xfnodes_find(const struct xfnodes *x, const char *name, size_t len);

/* The child of parent (-1: the root) whose element is elem, or -1. */
int xfnodes_child(const struct xfnodes *x, int parent, const char *elem);

#endif

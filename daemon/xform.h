/*
 * xform.h: a form definition (form.h, the XLSForm columns as JSON) as an
 * ODK XForm 1.0 document, and the OpenRosa form list that offers them,
 * so ODK Collect can fill in our forms.
 *
 * The XForm is generated from the definition each time it is asked for:
 * the same definition gives the same bytes, so its MD5 (the form list's
 * hash) changes only when the form does.  Its shape:
 *
 *   h:html / h:head / h:title       the title in the default language
 *     model / itext / translation   one per language the form names
 *                                   (label::English, label::Français ...;
 *                                   the default language's is default),
 *                                   every text in every translation,
 *                                   ${field} in a text as <output/>
 *     model / instance / ID         root named after the form id, with
 *                                   id= and version=; groups as elements
 *                                   holding their fields, a repeat as one
 *                                   jr:template item, a plain default as
 *                                   the element's text; meta/instanceID
 *                                   (and instanceName, audit)
 *     model / instance id=LIST      a list a choice_filter filters, each
 *                                   choice an item with its name, its
 *                                   columns and its itext id
 *     model / bind                  type, required, relevant, constraint,
 *                                   readonly, calculate, jr:preload
 *                                   (start, end, today, deviceid ...)
 *                                   and the messages; setvalue for a
 *                                   default that is an expression
 *   h:body                          input (notes too), select1, select
 *                                   (itemset where filtered), trigger;
 *                                   a group as group (appearance kept,
 *                                   field-list a page); a repeat as
 *                                   group/repeat, jr:count from
 *                                   repeat_count
 *
 * Expressions are translated from the XLSForm language of form/expr.h to
 * XPath: ${name} becomes its absolute path (relative, ../name, for a
 * field of the same repeat item, and current()/.. inside an itemset's
 * predicate), a relative name inside count-if, `.` on a begin_repeat
 * row the repeat's nodeset, count-if(r, e) count(r[e]), regex(v, 'P')
 * regex(v, '^(?:P)$') since ODK's regex matches anywhere while ours must
 * match the whole value, sum(X) if(count(X) = 0, 0, sum(X)) since ODK
 * Web Forms sums no nodes to NaN where XPath, Collect and the board give
 * 0, '${x}' (jr:choice-name's field) its path.  The rest of the language
 * is XPath or ODK XPath already.
 *
 * A repeat's own rules (required, its constraint, at most
 * FORM_MAX_REPEAT_ITEMS items) are checked by no ODK engine on the
 * repeat itself.  So each repeat with rules gets a check node beside it,
 * XFORM_CHECK_PREFIX and its name: relevant only when the rules are
 * broken, then required and with constraint false(), so the phone will
 * not finalise the record and shows the repeat's constraint_message.
 * xmlinst.c drops the node; the board checks the rules again.  A
 * repeat_count that is more than one ${field} is computed into a node
 * of its own beside the repeat (XFORM_COUNT_PREFIX), which jr:count
 * names, as pyxform does; xmlinst.c drops it too.
 */
#ifndef XFORM_H
#define XFORM_H

#include <stddef.h>

#include "form/form.h"

/* A growing text buffer; oom sticks once an allocation failed. */
struct xform_buf {
	char *s;
	size_t len, cap;
	int oom;
	void *md5;		/* when set, an mbedtls_md5_context the text
				   is fed to as it goes, the buffer kept small:
				   a form list hashes a 5 MB XForm in 4 KiB */
};

void xform_buf_add(struct xform_buf *b, const char *s, size_t n);
void xform_buf_str(struct xform_buf *b, const char *s);
void xform_buf_printf(struct xform_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s escaped for XML text or a double-quoted attribute. */
void xform_buf_esc(struct xform_buf *b, const char *s);
/* The text (NUL-terminated, caller frees) and its length, or NULL when
   an allocation failed (the buffer is freed either way). */
char *xform_buf_take(struct xform_buf *b, size_t *len);

/* The element name that starts a repeat's check node (never a field's:
   field names start with a letter). */
#define XFORM_CHECK_PREFIX "_check_"
/* The element name that starts the count a repeat_count expression is
   computed into (ODK Collect reads jr:count as a path, not an
   expression, so pyxform does the same). */
#define XFORM_COUNT_PREFIX "_count_"

/*
 * f as an XForm: a malloc'd NUL-terminated document and its length, or
 * NULL: errno ENOTSUP when f uses what an XForm cannot carry (a trigger
 * naming anything but one question; such a form is not offered to ODK
 * clients), with the reason in why; ENOMEM when out of memory.
 */
char *xform_build_why(const struct form *f, size_t *len, char *why,
    size_t whylen);
/* The same, without the reason. */
char *xform_build(const struct form *f, size_t *len);

/* "md5:" and the MD5 of f's XForm into out[37], without holding the
   XForm: 0, or -1 with errno as xform_build's. */
int xform_hash(const struct form *f, char out[37]);
/* "md5:" and the lower-case MD5 of len bytes, into out[37]. */
void xform_md5(const char *data, size_t len, char out[37]);

/*
 * The OpenRosa form list (xmlns http://openrosa.org/xforms/xformsList)
 * of the catalogue's current versions: formID, name (the title), version,
 * hash and downloadUrl = base_url "/forms/" ID ".xml" for each.  only_id
 * non-NULL lists that form alone.  Malloc'd, or NULL (memory).
 */
char *xform_list(const struct form_catalog *cat, const char *base_url,
    const char *only_id, size_t *len);

#endif

/*
 * xmlinst.h: an XForm instance (what ODK Collect submits) as the record
 * JSON the JSON API takes, read with expat.
 *
 *   <ID id="FORM" version="V">          root (any name): id and version
 *     <field>text</field>               a field outside repeats
 *     <group><field>..</field></group>  a group: its fields, stored flat
 *     <repeat><field>..</field></repeat> one element per repeat item
 *                                       (groups inside it too)
 *     <note/>, <_check_R/>, <_count_R/> dropped: no values (xform.h)
 *     <meta><instanceID>uuid:U</instanceID></meta>
 *   </ID>
 *
 * Elements must stand where the form's XForm has them (xfnodes.h): a
 * field outside its group is an "unknown field here".
 * becomes {"field": ..., "repeat": [{"field": ...}, ...], "_id": "U"},
 * every value first a string and then typed by form_coerce (integers,
 * decimals, select_multiple "a b" as an array, empty answers dropped;
 * a geopoint stays the ODK string "lat lon alt acc", which form_validate
 * takes).  Namespace prefixes on element names are ignored (orx:meta).
 * meta's other children (instanceName, ...) are ignored, but a
 * non-empty deprecatedID (an edit of a record sent before) is refused:
 * records are sealed and never replaced.  version absent means the
 * form's current version.
 *
 * Untrusted input, parsed under limits: any DOCTYPE stops the parse (so
 * no entity is ever declared, internal or external, and nothing is
 * loaded), at most XMLINST_MAX_DEPTH levels of elements and
 * XMLINST_MAX_ELEMENTS elements; text of one element longer than
 * FORM_MAX_TEXT bytes is an error (and is not kept).  The whole document
 * is bounded by the caller (fieldd's HTTP body limit).
 *
 * Errors never quote a value: malformed XML gives line, column and byte
 * offset; a wrong element gives its path (members[2].age_years) and
 * rule.
 */
#ifndef XMLINST_H
#define XMLINST_H

#include <jansson.h>
#include <stddef.h>

#include "form/form.h"

#define XMLINST_MAX_DEPTH 32
#define XMLINST_MAX_ELEMENTS 10000

enum xmlinst_status {
	XMLINST_OK,		/* rec holds the record */
	XMLINST_MALFORMED,	/* not well-formed, refused or over a limit:
				   msg says what and where */
	XMLINST_NO_FORM,	/* no such form or version in cat (msg) */
	XMLINST_INVALID,	/* elements or values that do not fit the
				   form: errs */
	XMLINST_NOMEM
};

struct xmlinst_result {
	enum xmlinst_status status;
	json_t *rec;			/* OK: new reference, caller owns */
	const struct form *form;	/* OK, INVALID: the form version */
	char msg[256];
	struct form_errors errs;	/* INVALID */
};

/*
 * Reads the instance xml (len bytes) of a form in cat into res.  Returns
 * res->status.  res->rec, when set, is the caller's to json_decref.
 */
enum xmlinst_status xmlinst_parse(const char *xml, size_t len,
    const struct form_catalog *cat, struct xmlinst_result *res);

#endif

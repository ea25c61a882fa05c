/* fuzz_xmlinst: any bytes as a submitted XForm instance against the
   shipped forms and a form of nested groups, a repeat inside a group and
   notes sharing a name (the corpus's groups seed).  A record read must be a JSON object with a UUID _id,
   and must go through validation; a refusal must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/embedded.h"
#include "common/util.h"
#include "daemon/xmlinst.h"

static struct form_catalog *cat;

static const char groups[] = "{\"form_id\": \"g\", \"version\": \"1\","
    "\"title\": \"G\", \"survey\": ["
    "{\"type\": \"note\", \"name\": \"hi\", \"label\": \"Hi\"},"
    "{\"type\": \"begin_group\", \"name\": \"a\"},"
    "{\"type\": \"integer\", \"name\": \"n\", \"required\": \"yes\"},"
    "{\"type\": \"begin_group\", \"name\": \"b\"},"
    "{\"type\": \"begin_repeat\", \"name\": \"r\", \"repeat_count\": "
    "\"${n}\"},"
    "{\"type\": \"begin_group\", \"name\": \"c\"},"
    "{\"type\": \"text\", \"name\": \"t\"},"
    "{\"type\": \"end_group\"},"
    "{\"type\": \"calculate\", \"name\": \"k\", \"calculation\": "
    "\"position(..)\"},"
    "{\"type\": \"end_repeat\"},"
    "{\"type\": \"end_group\"},"
    "{\"type\": \"end_group\"},"
    "{\"type\": \"note\", \"name\": \"hi\", \"label\": \"Bye\"}]}";

static void
load(void)
{
	char err[256];

	if ((cat = form_catalog_new()) == NULL)
		abort();
	for (const struct embedded_file *e = embedded_forms; e->name; e++)
		if (form_catalog_add(cat, e->data, e->len, err,
		    sizeof(err)) == NULL)
			abort();
	if (form_catalog_add(cat, groups, strlen(groups), err,
	    sizeof(err)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xmlinst_result res;
	static struct form_errors errs;
	char *xml;

	if (cat == NULL)
		load();
	/* an exact-size copy, so that a read past the end is caught */
	if ((xml = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(xml, data, size);
	switch (xmlinst_parse(xml, size, cat, &res)) {
	case XMLINST_OK:
		if (!json_is_object(res.rec) || res.form == NULL ||
		    !util_is_uuid(json_string_value(json_object_get(res.rec,
		    "_id"))))
			abort();
		memset(&errs, 0, sizeof(errs));
		form_validate(res.form, res.rec, "2026-11-29", &errs);
		json_decref(res.rec);
		break;
	case XMLINST_INVALID:
		if (res.rec != NULL || res.errs.n + res.errs.dropped == 0)
			abort();
		break;
	case XMLINST_MALFORMED:
	case XMLINST_NO_FORM:
		if (res.rec != NULL || res.msg[0] == '\0')
			abort();
		break;
	default:
		break;
	}
	free(xml);
	return 0;
}

/*
 * test_xmlinst.c: XForm instances as ODK Collect submits them, read into
 * exactly the record the JSON API takes (the shipped samples); every
 * refusal (DOCTYPE, entities, depth, element and text limits, unknown
 * forms and versions, unknown or repeated elements, meta) with its place
 * and rule and never a value; every truncation refused.  And the XForms
 * the instances come from: well-formed, every language, the
 * expressions translated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <expat.h>

#include "daemon/xform.h"
#include "daemon/xmlinst.h"
#include "tests/unit/form_samples.h"

#define UUID "3F2B8C1E-5A47-4D2E-9B61-0C7D8E9F1A2B"
#define META "<orx:meta><orx:instanceName>x</orx:instanceName>" \
	"<orx:instanceID>uuid:" UUID "</orx:instanceID></orx:meta>"

static struct form_catalog *cat;
static struct xmlinst_result res;

static int
setup(void **state)
{
	return (cat = samples_catalog()) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	form_catalog_free(cat);
	return 0;
}

static enum xmlinst_status
parse(const char *xml)
{
	json_decref(res.rec);
	res.rec = NULL;
	return xmlinst_parse(xml, strlen(xml), cat, &res);
}

static void
done(void)
{
	json_decref(res.rec);
	res.rec = NULL;
}

/* Asserts xml is read into the JSON want (with _id). */
static void
reads_as(const char *xml, const char *want)
{
	json_t *w = samples_load(want);

	if (parse(xml) != XMLINST_OK)
		fail_msg("status %d: %s; %s: %s", res.status, res.msg,
		    res.errs.n ? res.errs.e[0].path : "",
		    res.errs.n ? res.errs.e[0].reason : "");
	json_object_set_new(w, "_id", json_string(
	    "3f2b8c1e-5a47-4d2e-9b61-0c7d8e9f1a2b"));
	if (!json_equal(res.rec, w)) {
		char *g = json_dumps(res.rec, JSON_SORT_KEYS);
		char *x = json_dumps(w, JSON_SORT_KEYS);
		print_error("got  %s\nwant %s\n", g, x);
		free(g);
		free(x);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

/* Asserts xml is refused as MALFORMED (or st) with want in the message. */
static void
refused(const char *xml, enum xmlinst_status st, const char *want)
{
	if (parse(xml) != st)
		fail_msg("status %d, not %d: %s", res.status, st, res.msg);
	if (strstr(res.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", res.msg, want);
	assert_null(res.rec);
	assert_null(strstr(res.msg, "SECRET"));
}

/* Asserts xml is INVALID with an error (path, reason containing want). */
static void
invalid(const char *xml, const char *path, const char *want)
{
	if (parse(xml) != XMLINST_INVALID)
		fail_msg("status %d, not INVALID: %s", res.status, res.msg);
	assert_null(res.rec);
	for (size_t i = 0; i < res.errs.n; i++)
		assert_null(strstr(res.errs.e[i].reason, "SECRET"));
	for (size_t i = 0; i < res.errs.n; i++)
		if (strcmp(res.errs.e[i].path, path) == 0 &&
		    strstr(res.errs.e[i].reason, want))
			return;
	for (size_t i = 0; i < res.errs.n; i++)
		print_error("  %s: %s\n", res.errs.e[i].path,
		    res.errs.e[i].reason);
	fail_msg("no error %s: %s", path, want);
}

static const char mrc_xml[] =
    "<?xml version='1.0' ?>"
    "<mrc_visit xmlns:jr=\"http://openrosa.org/javarosa\" "
    "xmlns:orx=\"http://openrosa.org/xforms\" id=\"mrc_visit\" "
    "version=\"2026.11.1\">"
    "<centre_id>MRC-KTM-01</centre_id><visit_date>2026-11-20</visit_date>"
    "<client_code>AB12</client_code><consent>yes</consent><sex>female</sex>"
    "<age_years>25</age_years><nationality>NPL</nationality>"
    "<migration_stage>pre_departure</migration_stage>"
    "<visit_mode>in_person</visit_mode>"
    "<reasons>contract_review recruitment_fees</reasons>"
    "<services>information referral</services>"
    "<referred_to>legal_aid</referred_to>"
    "<destination_country>QAT</destination_country>"
    "<follow_up_needed>yes</follow_up_needed>"
    "<follow_up_date>2026-12-01</follow_up_date>"
    "<notes>asked about fees</notes>" META "</mrc_visit>";

static void
test_mrc(void **state)
{
	struct form_errors errs = { 0 };

	reads_as(mrc_xml, mrc_sample);
	assert_string_equal(form_id(res.form), "mrc_visit");
	assert_int_equal(form_validate(res.form, res.rec, TODAY, &errs), 0);
	done();
}

static const char household_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<data id=\"dtm_household\" version=\"2026.11.1\" "
    "xmlns:orx=\"http://openrosa.org/xforms\">\n"
    "  <site_id>SS-001</site_id>\n  <admin1>SS01</admin1>\n"
    "  <admin2>SS0101</admin2>\n"
    "  <registration_date>2026-11-20</registration_date>\n"
    "  <consent>yes</consent>\n  <head_name>Amina B</head_name>\n"
    "  <phone>+211 912345678</phone>\n"
    "  <origin_admin1>SS02</origin_admin1>"
    "<origin_admin2>SS0201</origin_admin2>\n"
    "  <displacement_date>2026-10-01</displacement_date>"
    "<displacement_reason>conflict</displacement_reason>"
    "<shelter_type>tent</shelter_type><intention>stay</intention>"
    "<needs>food shelter</needs>\n"
    "  <members>\n    <member_name>Amina B</member_name><sex>female</sex>"
    "<age_years>34</age_years><relationship>head</relationship>"
    "<vulnerabilities>pregnant_lactating</vulnerabilities>"
    "<documentation>national_id</documentation>\n  </members>\n"
    "  <members><member_name>Chol B</member_name><sex>male</sex>"
    "<age_years>3</age_years><relationship>child</relationship>"
    "<vulnerabilities/><documentation/></members>\n"
    "  <members><member_name>Deng B</member_name><sex>female</sex>"
    "<age_years>70</age_years><relationship>parent</relationship>"
    "<vulnerabilities>disability elderly_alone</vulnerabilities>"
    "<documentation></documentation></members>\n"
    "  <meta><instanceID>uuid:" UUID "</instanceID>"
    "<deprecatedID/></meta>\n</data>\n";

static void
test_household_repeat(void **state)
{
	struct form_errors errs = { 0 };

	reads_as(household_xml, household_sample);
	assert_int_equal(form_validate(res.form, res.rec, TODAY, &errs), 0);
	done();
}

static void
test_site_geopoint(void **state)
{
	static const char xml[] =
	    "<s id=\"dtm_site_assessment\"><site_id>SS-001</site_id>"
	    "<site_name>Camp &amp; &lt;Alpha&gt; &#x00C9;</site_name>"
	    "<admin1>SS01</admin1><admin2>SS0101</admin2>"
	    "<location>4.85 31.6 0 12.5</location>"
	    "<assessment_date>2026-11-20</assessment_date>"
	    "<population_households>100</population_households>"
	    "<population_individuals><![CDATA[500]]></population_individuals>"
	    "<!-- a comment --><?pi ignored?>"
	    "<priority_needs>food water</priority_needs>" META "</s>";
	struct form_errors errs = { 0 };

	/* no version: the current one */
	reads_as(xml, "{\"site_id\": \"SS-001\", \"site_name\": "
	    "\"Camp & <Alpha> \\u00c9\", \"admin1\": \"SS01\", \"admin2\": "
	    "\"SS0101\", \"location\": \"4.85 31.6 0 12.5\", "
	    "\"assessment_date\": \"2026-11-20\", \"population_households\": "
	    "100, \"population_individuals\": 500, \"priority_needs\": "
	    "[\"food\", \"water\"]}");
	assert_int_equal(form_validate(res.form, res.rec, TODAY, &errs), 0);
	done();
}

static void
test_forms_and_versions(void **state)
{
	refused("<d version=\"1\"><a/></d>", XMLINST_MALFORMED,
	    "no id attribute");
	refused("<d id=\"\"><a/></d>", XMLINST_MALFORMED, "no id attribute");
	refused("<d id=\"nope\"><a/></d>", XMLINST_NO_FORM,
	    "unknown form nope");
	refused("<d id=\"mrc_visit\" version=\"1999.1\"><a/></d>",
	    XMLINST_NO_FORM, "no such version");
	refused("<d id=\"bad&lt;id\"><a/></d>", XMLINST_NO_FORM,
	    "unknown form bad?id");
	assert_null(strchr(res.msg, '<'));
}

static void
test_doctype_and_entities(void **state)
{
	refused("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    "]>\n<mrc_visit id=\"mrc_visit\"><notes>&lol2;</notes></mrc_visit>",
	    XMLINST_MALFORMED, "a DOCTYPE is not accepted (no DTDs, no "
	    "entities) (line 2");
	refused("<!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
	    "<d id=\"mrc_visit\"><notes>&xxe;</notes></d>",
	    XMLINST_MALFORMED, "DOCTYPE");
	refused("<!DOCTYPE d SYSTEM \"http://example.org/d.dtd\">"
	    "<d id=\"mrc_visit\"/>", XMLINST_MALFORMED, "DOCTYPE");
	refused("<d id=\"mrc_visit\"><notes>&xxe;</notes></d>",
	    XMLINST_MALFORMED, "undefined entity");
	refused("<d id=\"mrc_visit\"><notes>&#0;</notes></d>",
	    XMLINST_MALFORMED, "malformed XML");
}

static void
test_limits(void **state)
{
	char *xml = malloc(200000);
	size_t n;

	assert_non_null(xml);
	/* 32 levels are read (and refused for their shape); 33 are not */
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\">");
	for (int i = 1; i < 32; i++)
		n += (size_t)sprintf(xml + n, "<notes>");
	for (int i = 1; i < 32; i++)
		n += (size_t)sprintf(xml + n, "</notes>");
	strcpy(xml + n, "</d>");
	invalid(xml, "notes", "holds an element");
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\">");
	for (int i = 1; i < 33; i++)
		n += (size_t)sprintf(xml + n, "<x>");
	for (int i = 1; i < 33; i++)
		n += (size_t)sprintf(xml + n, "</x>");
	strcpy(xml + n, "</d>");
	refused(xml, XMLINST_MALFORMED, "nested deeper than 32 levels (line "
	    "1, column 112, byte 111)");

	/* 10000 elements are read, 10001 are not */
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\"><meta>");
	for (int i = 0; i < XMLINST_MAX_ELEMENTS - 3; i++)
		n += (size_t)sprintf(xml + n, "<y/>");
	strcpy(xml + n, "<instanceID>uuid:" UUID "</instanceID></meta></d>");
	assert_int_equal(parse(xml), XMLINST_OK);
	done();
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\"><meta>");
	for (int i = 0; i < XMLINST_MAX_ELEMENTS - 2; i++)
		n += (size_t)sprintf(xml + n, "<y/>");
	strcpy(xml + n, "<instanceID>uuid:" UUID "</instanceID></meta></d>");
	refused(xml, XMLINST_MALFORMED, "more than 10000 elements");

	/* text: FORM_MAX_TEXT bytes are kept, one more is refused */
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\"><notes>");
	memset(xml + n, 'S', FORM_MAX_TEXT);
	n += FORM_MAX_TEXT;
	strcpy(xml + n, "</notes>" META "</d>");
	assert_int_equal(parse(xml), XMLINST_OK);
	assert_int_equal(json_string_length(json_object_get(res.rec,
	    "notes")), FORM_MAX_TEXT);
	done();
	n = (size_t)sprintf(xml, "<d id=\"mrc_visit\"><notes>");
	memset(xml + n, 'S', FORM_MAX_TEXT - 1);
	n += FORM_MAX_TEXT - 1;
	strcpy(xml + n, "&amp;&amp;</notes>" META "</d>");
	invalid(xml, "notes", "longer than 2000 bytes");

	/* a repeat holds at most FORM_MAX_REPEAT_ITEMS items */
	n = (size_t)sprintf(xml, "<d id=\"dtm_household\">");
	for (int i = 0; i <= FORM_MAX_REPEAT_ITEMS; i++)
		n += (size_t)sprintf(xml + n, "<members><sex>male</sex>"
		    "</members>");
	strcpy(xml + n, META "</d>");
	invalid(xml, "members", "more items than a repeat");
	free(xml);
}

static void
test_shape_errors(void **state)
{
	invalid("<d id=\"mrc_visit\"><SECRET>SECRET</SECRET>" META "</d>",
	    "SECRET", "unknown field");
	invalid("<d id=\"mrc_visit\"><notes>a</notes><notes>SECRET</notes>"
	    META "</d>", "notes", "given more than once");
	invalid("<d id=\"mrc_visit\"><notes>SECRET<b>x</b></notes>" META
	    "</d>", "notes", "holds an element");
	invalid("<d id=\"mrc_visit\">SECRET<notes>x</notes>" META "</d>",
	    "", "text outside any field");
	invalid("<d id=\"dtm_household\"><members><sex>male</sex></members>"
	    "<members><age>SECRET</age></members>" META "</d>",
	    "members[2].age", "unknown field");
	invalid("<d id=\"dtm_household\"><members><sex>male</sex>"
	    "<sex>male</sex></members>" META "</d>", "members[1].sex",
	    "given more than once");
	invalid("<d id=\"dtm_household\"><members><members/></members>" META
	    "</d>", "members[1].members", "unknown field");
	invalid("<d id=\"dtm_household\"><sex>male</sex>" META "</d>", "sex",
	    "unknown field");
	{
		char xml[512], path[80];
		snprintf(xml, sizeof(xml), "<d id=\"mrc_visit\"><x:y:centre_id"
		    "%070d/>" META "</d>", 0);
		snprintf(path, sizeof(path), "centre_id%051d...", 0);
		invalid(xml, path, "unknown field");
	}
	invalid("<d id=\"mrc_visit\"><age_years>SECRET</age_years>" META
	    "</d>", "age_years", "must be a whole number");
	invalid("<d id=\"mrc_visit\"><age_years> 25</age_years>" META "</d>",
	    "age_years", "must be a whole number");
}

static void
test_meta(void **state)
{
	invalid("<d id=\"mrc_visit\"><notes>x</notes></d>", "meta.instanceID",
	    "required");
	invalid("<d id=\"mrc_visit\"><meta><instanceID/></meta></d>",
	    "meta.instanceID", "required");
	invalid("<d id=\"mrc_visit\"><meta><instanceID>" UUID "</instanceID>"
	    "</meta></d>", "meta.instanceID", "must be \"uuid:\" and a UUID");
	invalid("<d id=\"mrc_visit\"><meta><instanceID>uuid:SECRET"
	    "</instanceID></meta></d>", "meta.instanceID", "must be");
	invalid("<d id=\"mrc_visit\"><meta><instanceID>uuid:" UUID
	    "</instanceID><instanceID>uuid:" UUID "</instanceID></meta></d>",
	    "meta.instanceID", "given more than once");
	invalid("<d id=\"mrc_visit\"><meta><instanceID>uuid:" UUID
	    "</instanceID><deprecatedID>uuid:" UUID "</deprecatedID>"
	    "</meta></d>", "meta.deprecatedID", "edits of a record");
}

static void
test_malformed(void **state)
{
	refused("", XMLINST_MALFORMED, "malformed XML");
	refused("<d id=\"mrc_visit\"><notes>x</d>", XMLINST_MALFORMED,
	    "mismatched tag (line 1, column 29, byte 28)");
	refused("<d id=\"mrc_visit\"></d><e/>", XMLINST_MALFORMED,
	    "junk after document element");
	refused("<d id=\"mrc_visit\">\xff</d>", XMLINST_MALFORMED,
	    "malformed XML");
	refused("<?xml version=\"1.0\" encoding=\"x-SECRET\"?><d/>",
	    XMLINST_MALFORMED, "encoding");
}

/* Every prefix of a good instance is refused. */
static void
test_truncations(void **state)
{
	size_t len = strlen(household_xml);

	for (size_t i = 0; i + 1 < len; i++) {
		char *copy = malloc(i + 1);
		enum xmlinst_status st;

		assert_non_null(copy);
		memcpy(copy, household_xml, i);
		copy[i] = '\0';
		st = xmlinst_parse(copy, i, cat, &res);
		if (st == XMLINST_OK)
			fail_msg("an instance cut at %zu was accepted", i);
		assert_null(res.rec);
		free(copy);
	}
}

/* The XForms: well-formed, every language, the rules in XPath. */

static int
well_formed(const char *xml, size_t len)
{
	XML_Parser p = XML_ParserCreate(NULL);
	int ok = XML_Parse(p, xml, (int)len, XML_TRUE) == XML_STATUS_OK;

	if (!ok)
		print_error("%s at line %lu\n",
		    XML_ErrorString(XML_GetErrorCode(p)),
		    (unsigned long)XML_GetCurrentLineNumber(p));
	XML_ParserFree(p);
	return ok;
}

static void
has(const char *xml, const char *want)
{
	if (strstr(xml, want) == NULL)
		fail_msg("the XForm lacks: %s", want);
}

static void
test_xform_shipped(void **state)
{
	const struct form *f;
	size_t len, len2;
	char *xml, *again;

	for (size_t i = 0; (f = form_catalog_nth(cat, i)); i++) {
		assert_non_null(xml = xform_build(f, &len));
		assert_int_equal(strlen(xml), len);
		assert_true(well_formed(xml, len));
		assert_non_null(again = xform_build(f, &len2));
		assert_int_equal(len, len2);
		assert_memory_equal(xml, again, len);
		free(again);
		has(xml, "<translation lang=\"English\" default=\"true()\">");
		has(xml, "<translation lang=\"Français\">");
		has(xml, "jr:preload=\"uid\"");
		has(xml, "<meta>\n          <instanceID/>");
		if (strcmp(form_id(f), "mrc_visit") == 0) {
			has(xml, "<translation lang=\"العربية\">");
			/* yes_no, a list two questions use: written once */
			has(xml, "<text id=\"yes_no-0\"><value>نعم</value>");
			has(xml, "<item><itextId>yes_no-0</itextId><name>yes"
			    "</name></item>");
			has(xml, "<itemset nodeset=\"instance('yes_no')/root/"
			    "item\"><value ref=\"name\"/>");
			/* a list one question uses: inline */
			has(xml, "<text id=\"/mrc_visit/visit_mode/in_person:"
			    "label\">");
			has(xml, "<mrc_visit id=\"mrc_visit\" version="
			    "\"2026.11.1\">");
			has(xml, "relevant=\"selected(/mrc_visit/services, "
			    "'referral')\"");
			has(xml, "constraint=\". &gt;= /mrc_visit/visit_date\"");
			has(xml, "<select ref=\"/mrc_visit/reasons\">");
			has(xml, "<bind nodeset=\"/mrc_visit/age_years\" "
			    "type=\"int\" constraint=\". &gt;= 10 and . &lt;= "
			    "100\" jr:constraintMsg=\"jr:itext('/mrc_visit/"
			    "age_years:constraintMsg')\"/>");
		}
		if (strcmp(form_id(f), "dtm_household") == 0) {
			has(xml, "<members jr:template=\"\">");
			has(xml, "<repeat nodeset=\"/dtm_household/members\">");
			/* the repeat's rules on its check node */
			has(xml, "<_check_members/>");
			has(xml, "<bind nodeset=\"/dtm_household/_check_members"
			    "\" type=\"string\" required=\"true()\" "
			    "constraint=\"false()\" relevant=\"not(count("
			    "/dtm_household/members) &lt;= 100 and count("
			    "/dtm_household/members) &gt;= 1 and (count("
			    "/dtm_household/members) = 0 or (count("
			    "/dtm_household/members) &gt;= 1 and count("
			    "/dtm_household/members) &lt;= 30 and count("
			    "/dtm_household/members[relationship = 'head']) = "
			    "1)))\"");
			has(xml, "<input ref=\"/dtm_household/_check_members\">");
			has(xml, "<bind nodeset=\"/dtm_household/site_id\" "
			    "type=\"string\" required=\"true()\" constraint="
			    "\"regex(., '^(?:[A-Z0-9-]{3,32})$')\"");
			has(xml, "<bind nodeset=\"/dtm_household/members/"
			    "member_name\" type=\"string\" relevant=\""
			    "/dtm_household/consent = 'yes'\"");
			has(xml, "<select1 ref=\"/dtm_household/members/sex\">");
		}
		if (strcmp(form_id(f), "dtm_site_assessment") == 0)
			has(xml, "<bind nodeset=\"/dtm_site_assessment/"
			    "location\" type=\"geopoint\"/>");
		free(xml);
	}
}

static void
test_xform_translation(void **state)
{
	static const char def[] = "{\"form_id\": \"t\", \"version\": \"1\","
	    "\"title\": \"A & B\", \"survey\": ["
	    "{\"type\": \"decimal\", \"name\": \"d\", \"label\": \"<D>\","
	    " \"hint\": \"h \\\"q\\\"\", \"appearance\": \"w1\","
	    " \"constraint\": \"count-if(${r}, ${c} > 1) >= 1 and "
	    "regex(., \\\"a'b\\\")\"},"
	    "{\"type\": \"begin_repeat\", \"name\": \"r\", \"label\": \"R\","
	    " \"relevant\": \"${d} > 0\"},"
	    "{\"type\": \"integer\", \"name\": \"c\", \"constraint\": "
	    "\". < ${e} + ${d} - count(${r}) - .5\"},"
	    "{\"type\": \"text\", \"name\": \"e\"},"
	    "{\"type\": \"end_repeat\"},"
	    "{\"type\": \"geopoint\", \"name\": \"g\", \"required\": true}]}";
	struct form_catalog *c = form_catalog_new();
	char err[256];
	const struct form *f = form_catalog_add(c, def, strlen(def), err,
	    sizeof(err));
	size_t len;
	char *xml;

	if (f == NULL)
		fail_msg("%s", err);
	assert_non_null(xml = xform_build(f, &len));
	assert_true(well_formed(xml, len));
	has(xml, "<h:title>A &amp; B</h:title>");
	/* no language named: one translation, the default */
	has(xml, "<translation lang=\"English\" default=\"true()\">");
	assert_null(strstr(xml, "<translation lang=\"Français\""));
	has(xml, "<text id=\"/t/d:label\"><value>&lt;D&gt;</value>");
	has(xml, "<text id=\"/t/d:hint\"><value>h &quot;q&quot;</value>");
	has(xml, "<text id=\"/t/r/c:label\"><value>c</value>");
	has(xml, "<input ref=\"/t/d\" appearance=\"w1\">");
	has(xml, "constraint=\"count(/t/r[c &gt; 1]) &gt;= 1 and "
	    "regex(., &quot;^(?:a'b)$&quot;)\"");
	has(xml, "<bind nodeset=\"/t/r\" relevant=\"/t/d &gt; 0\"/>");
	has(xml, "<bind nodeset=\"/t/r/c\" type=\"int\" constraint=\". &lt; "
	    "../e + /t/d - count(/t/r) - .5\"/>");
	has(xml, "<bind nodeset=\"/t/g\" type=\"geopoint\" "
	    "required=\"true()\"/>");
	has(xml, "<group ref=\"/t/r\">");
	free(xml);

	assert_non_null(xml = xform_list(c, "http://h:1", NULL, &len));
	assert_true(well_formed(xml, len));
	has(xml, "<xforms xmlns=\"http://openrosa.org/xforms/xformsList\">");
	has(xml, "<formID>t</formID>");
	has(xml, "<name>A &amp; B</name>");
	has(xml, "<downloadUrl>http://h:1/forms/t.xml</downloadUrl>");
	{
		char hash[37], *x = xform_build(f, &len);
		char want[64];
		xform_md5(x, len, hash);
		snprintf(want, sizeof(want), "<hash>%s</hash>", hash);
		has(xml, want);
		free(x);
	}
	free(xml);
	form_catalog_free(c);
}

/* A form of groups, notes, calculations, a cascading select and
   metadata: its XForm, and its instance read back as the flat record. */
static void
test_xform_groups(void **state)
{
	static const char def[] = "{\"form_id\": \"g\", \"version\": \"1\","
	    "\"title\": \"G\", \"survey\": ["
	    "{\"type\": \"start\", \"name\": \"start\"},"
	    "{\"type\": \"today\", \"name\": \"today\"},"
	    "{\"type\": \"note\", \"name\": \"hello\", \"label\": "
	    "\"Hi ${who}\"},"
	    "{\"type\": \"text\", \"name\": \"who\", \"default\": \"x\"},"
	    "{\"type\": \"dateTime\", \"name\": \"when\"},"
	    "{\"type\": \"begin_group\", \"name\": \"place\", \"label\": "
	    "\"Place\", \"appearance\": \"field-list\", \"relevant\": "
	    "\"${who} != ''\"},"
	    "{\"type\": \"select_one a1\", \"name\": \"a1\"},"
	    "{\"type\": \"select_one a2\", \"name\": \"a2\", "
	    "\"choice_filter\": \"p = ${a1}\"},"
	    "{\"type\": \"begin_group\", \"name\": \"inner\"},"
	    "{\"type\": \"integer\", \"name\": \"n\"},"
	    "{\"type\": \"begin_repeat\", \"name\": \"kids\", "
	    "\"repeat_count\": \"${n}\"},"
	    "{\"type\": \"begin_group\", \"name\": \"kg\"},"
	    "{\"type\": \"integer\", \"name\": \"age\", \"constraint\": "
	    "\". < ${n} + 10\"},"
	    "{\"type\": \"end_group\"},"
	    "{\"type\": \"calculate\", \"name\": \"twice\", "
	    "\"calculation\": \"${age} * 2\"},"
	    "{\"type\": \"end_repeat\"},"
	    "{\"type\": \"calculate\", \"name\": \"total\", "
	    "\"calculation\": \"sum(${twice})\"},"
	    "{\"type\": \"end_group\"},"
	    "{\"type\": \"end_group\"},"
	    "{\"type\": \"note\", \"name\": \"hello\", \"label\": \"Bye\"}"
	    "], \"choices\": ["
	    "{\"list_name\": \"a1\", \"name\": \"n\", \"label\": \"North\"},"
	    "{\"list_name\": \"a2\", \"name\": \"n1\", \"label\": \"N1\","
	    " \"p\": \"n\"}]}";
	static const char inst[] = "<g id=\"g\" version=\"1\">"
	    "<start>2026-12-06T05:00:00.000+00:00</start>"
	    "<today>2026-12-06</today><hello/><who>x</who>"
	    "<place><a1>n</a1><a2>n1</a2><inner><n>2</n>"
	    "<kids><kg><age>3</age></kg><twice>6</twice></kids>"
	    "<kids><kg><age>4</age></kg><twice>8</twice></kids>"
	    "<_check_kids/><total>14</total></inner></place><hello.2/>"
	    "<meta><instanceID>uuid:" UUID "</instanceID></meta></g>";
	struct form_catalog *c = form_catalog_new();
	struct xmlinst_result r;
	char err[256], *got;
	const struct form *f = form_catalog_add(c, def, strlen(def), err,
	    sizeof(err));
	size_t len;
	char *xml;

	if (f == NULL)
		fail_msg("%s", err);
	assert_non_null(xml = xform_build(f, &len));
	assert_true(well_formed(xml, len));
	has(xml, "<place>\n          <a1/>");
	has(xml, "<kids jr:template=\"\">\n              <kg>\n"
	    "                <age/>");
	has(xml, "<who>x</who>");
	has(xml, "<hello.2/>");
	has(xml, "<instance id=\"a2\">");
	has(xml, "<item><itextId>a2-0</itextId><name>n1</name><p>n</p></item>");
	has(xml, "<itemset nodeset=\"instance('a2')/root/item[p = "
	    "/g/place/a1]\">");
	has(xml, "<bind nodeset=\"/g/start\" type=\"dateTime\" "
	    "jr:preload=\"timestamp\" jr:preloadParams=\"start\"/>");
	/* the board takes a date and time with its offset only */
	has(xml, "<bind nodeset=\"/g/when\" type=\"dateTime\" constraint="
	    "\"regex(., 'T.*(Z|[+-][0-9][0-9]:[0-9][0-9])$')\"/>");
	has(xml, "jr:preload=\"date\" jr:preloadParams=\"today\"");
	has(xml, "<text id=\"/g/hello:label\"><value>Hi <output value="
	    "\"/g/who\"/></value>");
	has(xml, "<bind nodeset=\"/g/hello\" type=\"string\" "
	    "readonly=\"true()\"/>");
	has(xml, "<bind nodeset=\"/g/place/inner/kids/kg/age\" type=\"int\" "
	    "constraint=\". &lt; /g/place/inner/n + 10\"/>");
	has(xml, "calculate=\"../kg/age * 2\"");
	has(xml, "<bind nodeset=\"/g/place/inner/total\" type=\"string\" calculate=\""
	    "if(count(/g/place/inner/kids/twice) = 0, 0, "
	    "sum(/g/place/inner/kids/twice))\"/>");
	has(xml, "<group ref=\"/g/place\" appearance=\"field-list\">");
	has(xml, "jr:count=\"/g/place/inner/n\" jr:noAddRemove=\"true()\"");
	assert_null(strstr(xml, "_check_"));	/* kids has no rules */
	assert_null(strstr(xml, "_count_"));	/* its count is one field */
	free(xml);

	assert_int_equal(xmlinst_parse(inst, strlen(inst), c, &r), XMLINST_OK);
	got = json_dumps(r.rec, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(got, "{\"_id\":\"3f2b8c1e-5a47-4d2e-9b61-"
	    "0c7d8e9f1a2b\",\"a1\":\"n\",\"a2\":\"n1\",\"kids\":[{\"age\":3,"
	    "\"twice\":\"6\"},{\"age\":4,\"twice\":\"8\"}],\"n\":2,"
	    "\"start\":\"2026-12-06T05:00:00.000+00:00\",\"today\":"
	    "\"2026-12-06\",\"total\":\"14\",\"who\":\"x\"}");
	free(got);
	json_decref(r.rec);
	/* a field outside its group is not where the form has it */
	{
		static const char bad[] = "<g id=\"g\" version=\"1\">"
		    "<a1>n</a1><place><kids><age>3</age></kids></place>"
		    "<meta><instanceID>uuid:" UUID "</instanceID></meta></g>";

		assert_int_equal(xmlinst_parse(bad, strlen(bad), c, &r),
		    XMLINST_INVALID);
		assert_string_equal(r.errs.e[0].path, "a1");
		assert_string_equal(r.errs.e[1].path, "kids");
	}
	form_catalog_free(c);
}

/* A repeat_count that is an expression: computed into a node of its own
   that jr:count names, as Collect reads jr:count as a path; the node is
   dropped from the record. */
static void
test_xform_count_expression(void **state)
{
	static const char def[] = "{\"form_id\": \"c\", \"version\": \"1\","
	    "\"title\": \"C\", \"survey\": ["
	    "{\"type\": \"integer\", \"name\": \"n\"},"
	    "{\"type\": \"begin_repeat\", \"name\": \"r\", \"repeat_count\": "
	    "\"${n} - 1\"},"
	    "{\"type\": \"text\", \"name\": \"t\"},"
	    "{\"type\": \"end_repeat\"}]}";
	static const char inst[] = "<c id=\"c\" version=\"1\"><n>2</n>"
	    "<_count_r>1</_count_r><r><t>a</t></r>"
	    "<meta><instanceID>uuid:" UUID "</instanceID></meta></c>";
	struct form_catalog *c = form_catalog_new();
	struct xmlinst_result r;
	char err[256], *got;
	const struct form *f = form_catalog_add(c, def, strlen(def), err,
	    sizeof(err));
	size_t len;
	char *xml;

	if (f == NULL)
		fail_msg("%s", err);
	assert_non_null(xml = xform_build(f, &len));
	assert_true(well_formed(xml, len));
	has(xml, "<_count_r/>\n        <r jr:template=\"\">");
	has(xml, "<bind nodeset=\"/c/_count_r\" type=\"string\" "
	    "readonly=\"true()\" calculate=\"/c/n - 1\"/>");
	has(xml, "<repeat nodeset=\"/c/r\" jr:count=\"/c/_count_r\" "
	    "jr:noAddRemove=\"true()\">");
	free(xml);
	assert_int_equal(xmlinst_parse(inst, strlen(inst), c, &r), XMLINST_OK);
	got = json_dumps(r.rec, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(got, "{\"_id\":\"3f2b8c1e-5a47-4d2e-9b61-"
	    "0c7d8e9f1a2b\",\"n\":2,\"r\":[{\"t\":\"a\"}]}");
	free(got);
	json_decref(r.rec);
	form_catalog_free(c);
}

static void
test_xform_list(void **state)
{
	size_t len;
	char *xml;

	assert_non_null(xml = xform_list(cat, "", NULL, &len));
	assert_true(well_formed(xml, len));
	has(xml, "<formID>dtm_household</formID>");
	has(xml, "<formID>dtm_site_assessment</formID>");
	has(xml, "<formID>mrc_visit</formID>");
	has(xml, "<version>2026.11.1</version>");
	has(xml, "<downloadUrl>/forms/mrc_visit.xml</downloadUrl>");
	has(xml, "<hash>md5:");
	free(xml);
	assert_non_null(xml = xform_list(cat, "", "mrc_visit", &len));
	has(xml, "<formID>mrc_visit</formID>");
	assert_null(strstr(xml, "dtm_household"));
	free(xml);
	assert_non_null(xml = xform_list(cat, "", "nope", &len));
	assert_null(strstr(xml, "<xform>"));
	free(xml);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mrc),
		cmocka_unit_test(test_household_repeat),
		cmocka_unit_test(test_site_geopoint),
		cmocka_unit_test(test_forms_and_versions),
		cmocka_unit_test(test_doctype_and_entities),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_shape_errors),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_xform_shipped),
		cmocka_unit_test(test_xform_translation),
		cmocka_unit_test(test_xform_groups),
		cmocka_unit_test(test_xform_count_expression),
		cmocka_unit_test(test_xform_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_export.c: CSV cells as RFC 4180 and the OWASP formula rule want
   them; decimals in the shortest text that reads back the same; labels in
   the language asked, with their fallbacks; which types are selects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector/open/export.h"

/* One field written as the export writes it. */
static char *
cell(const char *s, int text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_int_equal(export_csv_field(fp, s, text), 0);
	fclose(fp);
	return buf;
}

static void
expect(const char *s, int text, const char *want)
{
	char *got = cell(s, text);

	assert_string_equal(got, want);
	free(got);
}

static void
test_quoting(void **state)
{
	expect("", 1, "");
	expect("plain", 1, "plain");
	expect("a,b", 1, "\"a,b\"");
	expect("say \"hi\"", 1, "\"say \"\"hi\"\"\"");
	expect("\"", 1, "\"\"\"\"");
	expect("two\nlines", 1, "\"two\nlines\"");
	expect("cr\r\nlf", 1, "\"cr\r\nlf\"");
	expect(" spaced ", 1, " spaced ");
	expect("tab\tinside", 1, "tab\tinside");
	/* UTF-8 passes as it is */
	expect("أمينة محمد", 1, "أمينة محمد");
	expect("Français, ça", 1, "\"Français, ça\"");
}

static void
test_formula_prefix(void **state)
{
	expect("=1+1", 1, "'=1+1");
	expect("+211 912", 1, "'+211 912");
	expect("-3 tents", 1, "'-3 tents");
	expect("@SUM(A1)", 1, "'@SUM(A1)");
	expect("\tx", 1, "'\tx");
	expect("\rx", 1, "\"'\rx\"");
	/* the prefix goes inside the quotes */
	expect("=HYPERLINK(\"a\",\"b\")", 1,
	    "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\"");
	expect("=a,b", 1, "\"'=a,b\"");
	/* only at the start */
	expect("a=b", 1, "a=b");
	expect("x-1", 1, "x-1");
	/* numbers are not text: never prefixed */
	expect("-3", 0, "-3");
	expect("-3.5", 0, "-3.5");
	expect("-1.5 36.8", 0, "-1.5 36.8");
	expect("=x", 0, "=x");
}

static void
real_is(double d, const char *want)
{
	char out[32];

	export_real(d, out);
	assert_string_equal(out, want);
	assert_true(strtod(out, NULL) == d);
}

static void
test_real(void **state)
{
	static const double some[] = { 0.1, 1.0 / 3, -1.2921, 36.8219, 1e-7,
	    1e300, -0.0, 123456789.123, 2.5e-320 };
	char out[32];

	real_is(0.1, "0.1");
	real_is(-3.5, "-3.5");
	real_is(1795.5, "1795.5");
	real_is(4, "4");
	real_is(1.0 / 3, "0.3333333333333333");
	for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		export_real(some[i], out);
		assert_true(strtod(out, NULL) == some[i]);
	}
}

static void
test_label_language(void **state)
{
	json_t *def = json_pack("{s:s}", "default_language", "English");
	json_t *nodef = json_object();
	json_t *row = json_pack("{s:s,s:s,s:s,s:s}", "name", "sex",
	    "label::English", "Sex", "label::Français", "Sexe",
	    "label::العربية", "الجنس");
	json_t *plain = json_pack("{s:s,s:s}", "name", "x", "label", "X");
	json_t *none = json_pack("{s:s}", "name", "y");

	assert_string_equal(export_text(row, def, "label", NULL), "Sex");
	assert_string_equal(export_text(row, def, "label", "Français"),
	    "Sexe");
	assert_string_equal(export_text(row, def, "label", "العربية"),
	    "الجنس");
	/* a language the row lacks: the default language's */
	assert_string_equal(export_text(row, def, "label", "Deutsch"), "Sex");
	/* no language anywhere: the plain column */
	assert_string_equal(export_text(plain, def, "label", "Français"), "X");
	assert_string_equal(export_text(plain, nodef, "label", NULL), "X");
	/* languages but no default and none asked: nothing to pick */
	assert_null(export_text(row, nodef, "label", NULL));
	assert_null(export_text(none, def, "label", "Français"));
	json_decref(def);
	json_decref(nodef);
	json_decref(row);
	json_decref(plain);
	json_decref(none);
}

static void
test_select_list(void **state)
{
	int multi = -1;

	assert_string_equal(export_select_list("select_one sexes", &multi),
	    "sexes");
	assert_int_equal(multi, 0);
	assert_string_equal(export_select_list("select one sexes", &multi),
	    "sexes");
	assert_int_equal(multi, 0);
	assert_string_equal(export_select_list("select1 l", &multi), "l");
	assert_string_equal(export_select_list("select_multiple needs",
	    &multi), "needs");
	assert_int_equal(multi, 1);
	assert_string_equal(export_select_list("select all that apply needs",
	    &multi), "needs");
	assert_int_equal(multi, 1);
	assert_null(export_select_list("select_one_external places", &multi));
	assert_null(export_select_list("select_one_from_file a.csv", &multi));
	assert_null(export_select_list("text", &multi));
	assert_null(export_select_list("select_one ", &multi));
	assert_null(export_select_list(NULL, &multi));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_formula_prefix),
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_label_language),
		cmocka_unit_test(test_select_list),
	};

	return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}

/* test_export.c: CSV cells as RFC 4180 and the OWASP formula rule want
   them; decimals in the shortest text that reads back the same. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_formula_prefix),
		cmocka_unit_test(test_real),
	};

	return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}

/* test_expr.c: the expression language of constraint and relevant:
   every operator and function both ways, empty values, numbers against
   strings, repeats, parse errors with their offsets, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "form/expr.h"

/* A fake record: a few top-level values and a repeat of three members. */
struct member {
	const char *relationship;
	double age;
};

static const struct member members[3] = { { "head", 34 }, { "child", 4 },
    { "spouse", 36 } };

static const char *dot;		/* the value `.` has, or NULL for empty */

static int
resolve(void *ctx, const void *item, const char *name, struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (name == NULL) {
		out->kind = dot ? EXPR_STR : EXPR_EMPTY;
		out->str = dot;
		return 0;
	}
	if (strcmp(name, "members") == 0) {
		out->kind = EXPR_REPEAT;
		out->repeat = members;
		out->count = 3;
	} else if (strcmp(name, "relationship") == 0 && item) {
		out->kind = EXPR_STR;
		out->str = ((const struct member *)item)->relationship;
	} else if (strcmp(name, "age") == 0 && item) {
		out->kind = EXPR_NUM;
		out->num = ((const struct member *)item)->age;
	} else if (strcmp(name, "households") == 0) {
		out->kind = EXPR_NUM;
		out->num = 120;
	} else if (strcmp(name, "consent") == 0) {
		out->kind = EXPR_STR;
		out->str = "yes";
	} else if (strcmp(name, "services") == 0) {
		out->kind = EXPR_STR;
		out->str = "information referral";
		out->is_multi = 1;
	} else if (strcmp(name, "visit_date") == 0) {
		out->kind = EXPR_STR;
		out->str = "2026-11-20";
	} else if (strcmp(name, "numtext") == 0) {
		out->kind = EXPR_STR;
		out->str = "12";
	} else if (strcmp(name, "unknown") == 0) {
		return -1;
	} else {
		out->kind = EXPR_EMPTY;	/* an unanswered field */
	}
	return 0;
}

static const void *
enter(void *ctx, const void *repeat, size_t i)
{
	return &((const struct member *)repeat)[i];
}

/* Evaluates src with `.` = value: 1, 0 or -1; fails the test on a parse
   error. */
static int
ev(const char *src, const char *value)
{
	struct expr_env env = { resolve, enter, NULL, NULL, "2026-11-29" };
	struct expr *e;
	char err[128];
	int r;

	dot = value;
	if (expr_parse(src, &e, err, sizeof(err)) != 0)
		fail_msg("%s: %s", src, err);
	r = expr_eval_bool(e, &env);
	expr_free(e);
	return r;
}

static void
perr(const char *src, const char *want)
{
	struct expr *e = NULL;
	char err[128];

	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), -1);
	assert_null(e);
	if (strstr(err, want) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", src, err, want);
}

static void
test_operators(void **state)
{
	assert_int_equal(ev("1 + 2 = 3", NULL), 1);
	assert_int_equal(ev("1 + 2 * 3 = 7", NULL), 1);	/* precedence */
	assert_int_equal(ev("(1 + 2) * 3 = 9", NULL), 1);
	assert_int_equal(ev("7 div 2 = 3.5", NULL), 1);
	assert_int_equal(ev("7 mod 3 = 1", NULL), 1);
	assert_int_equal(ev("-3 + 5 = 2", NULL), 1);
	assert_int_equal(ev("5 - 3 - 1 = 1", NULL), 1);	/* left assoc */
	assert_int_equal(ev("2 != 3", NULL), 1);
	assert_int_equal(ev("2 != 2", NULL), 0);
	assert_int_equal(ev("2 < 3 and 3 <= 3 and 4 > 3 and 4 >= 4", NULL), 1);
	assert_int_equal(ev("2 > 3", NULL), 0);
	assert_int_equal(ev("1 = 2 or 2 = 2", NULL), 1);
	assert_int_equal(ev("1 = 2 or 2 = 3", NULL), 0);
	assert_int_equal(ev("1 = 1 and 2 = 3", NULL), 0);
	assert_int_equal(ev("1 = 2 and 1 = 1 or 3 = 3", NULL), 1); /* and binds tighter */
	assert_int_equal(ev("'a' = \"a\"", NULL), 1);
}

static void
test_values(void **state)
{
	/* `.` and references */
	assert_int_equal(ev(". >= ${households}", "150"), 1);
	assert_int_equal(ev(". >= ${households}", "100"), 0);
	assert_int_equal(ev(". >= 0 and . <= 120", "121"), 0);
	assert_int_equal(ev(". >= 0 and . <= 120", "0"), 1);
	assert_int_equal(ev("${consent} = 'yes'", NULL), 1);
	assert_int_equal(ev("${consent} = 'no'", NULL), 0);
	/* numbers against numeric text compare as numbers: "12" > 9 */
	assert_int_equal(ev("${numtext} > 9", NULL), 1);
	assert_int_equal(ev("${numtext} > '9'", NULL), 1);
	/* dates compare as text, which orders ISO dates */
	assert_int_equal(ev(". >= ${visit_date}", "2026-12-01"), 1);
	assert_int_equal(ev(". >= ${visit_date}", "2026-11-19"), 0);
	assert_int_equal(ev(". <= today()", "2026-11-29"), 1);
	assert_int_equal(ev(". <= today()", "2026-11-30"), 0);
	/* an empty value is "": equal to '', not a number */
	assert_int_equal(ev("${missing} = ''", NULL), 1);
	assert_int_equal(ev("${missing} > 0", NULL), 0);
	assert_int_equal(ev("${missing} + 1 = 1", NULL), 0);	/* NaN */
	assert_int_equal(ev("${missing} != 1", NULL), 1);
	assert_int_equal(ev("${missing}", NULL), 0);
	/* booleans of values */
	assert_int_equal(ev("'x'", NULL), 1);
	assert_int_equal(ev("0", NULL), 0);
	assert_int_equal(ev("${unknown} = 1", NULL), -1);
}

static void
test_functions(void **state)
{
	assert_int_equal(ev("regex(., '[A-Z0-9-]{3,32}')", "SITE-001"), 1);
	assert_int_equal(ev("regex(., '[A-Z0-9-]{3,32}')", "site-001"), 0);
	assert_int_equal(ev("regex(., '[A-Z0-9-]{3,32}')", "AB"), 0);
	/* whole-value match, not a substring */
	assert_int_equal(ev("regex(., '[A-Z]{3}')", "ETHX"), 0);
	assert_int_equal(ev("regex(., '\\+?[0-9 ]{6,20}')", "+211 912 345"), 1);
	assert_int_equal(ev("regex(., '\\+?[0-9 ]{6,20}')", "call me"), 0);
	assert_int_equal(ev("selected(${services}, 'referral')", NULL), 1);
	assert_int_equal(ev("selected(${services}, 'refer')", NULL), 0);
	assert_int_equal(ev("count-selected(.) <= 3", "a b c"), 1);
	assert_int_equal(ev("count-selected(.) <= 3", "a b c d"), 0);
	assert_int_equal(ev("count-selected(.) >= 1", NULL), 0);
	assert_int_equal(ev("string-length(.) <= 5", "abcde"), 1);
	assert_int_equal(ev("string-length(.) <= 5", "abcdef"), 0);
	/* characters, not bytes: five Arabic letters are 10 bytes */
	assert_int_equal(ev("string-length(.) = 5", "\xd9\x85\xd8\xb1\xd9\x83\xd8\xb2\xd9\x86"), 1);
	assert_int_equal(ev("count(${members}) = 3", NULL), 1);
	assert_int_equal(ev("count(${members}) >= 1 and count(${members}) <= 30", NULL), 1);
	assert_int_equal(ev("count-if(${members}, ${relationship} = 'head') = 1", NULL), 1);
	assert_int_equal(ev("count-if(${members}, ${relationship} = 'spouse' or ${age} < 5) = 2", NULL), 1);
	assert_int_equal(ev("count-if(${members}, ${age} > 100) = 0", NULL), 1);
	assert_int_equal(ev("count(${missing}) = 0", NULL), 1);
	assert_int_equal(ev(". >= coalesce(${missing}, 0) + coalesce(${households}, 0)", "120"), 1);
	assert_int_equal(ev(". >= coalesce(${missing}, 0) + coalesce(${households}, 0)", "119"), 0);
	assert_int_equal(ev("number('4') = 4", NULL), 1);
	assert_int_equal(ev("number('x') = number('x')", NULL), 0);	/* NaN */
	assert_int_equal(ev("not(1 = 2)", NULL), 1);
	assert_int_equal(ev("not(true())", NULL), 0);
	assert_int_equal(ev("if(${consent} = 'yes', 1, 2) = 1", NULL), 1);
	assert_int_equal(ev("if(false(), 1, 2) = 1", NULL), 0);
	assert_int_equal(ev("${consent} = 'considering' or ${consent} = 'yes'", NULL), 1);
}

static void
test_parse_errors(void **state)
{
	perr("1 +", "offset 3");
	perr("(1 + 2", "offset 6: expected ')'");
	perr("nosuch(1)", "unknown function");
	perr("regex(.)", "regex() takes 2 argument(s)");
	perr("today(1)", "today() takes 0 argument(s)");
	perr("'abc", "unterminated string");
	perr("${}", "expected a field name");
	perr("${a", "expected '}'");
	perr("1 2", "offset 2: unexpected text");
	perr("regex(., '[a-')", "does not compile");
	perr("", "unexpected end");
	perr("selected(., 'a', 'b', 'c')", "too many arguments");
}

static void
test_limits(void **state)
{
	char deep[200], longsrc[EXPR_MAX_SRC + 2];

	memset(deep, '(', 60);
	strcpy(deep + 60, "1");
	memset(deep + 61, ')', 60);
	deep[121] = '\0';
	perr(deep, "nested too deeply");
	memset(longsrc, '1', sizeof(longsrc) - 1);
	longsrc[sizeof(longsrc) - 1] = '\0';
	perr(longsrc, "longer than");
	/* just inside the nesting limit parses */
	memset(deep, '(', 10);
	strcpy(deep + 10, "1");
	memset(deep + 11, ')', 10);
	deep[21] = '\0';
	assert_int_equal(ev(deep, NULL), 1);
}

struct names {
	int n;
	char seen[4][16];
};

static void
collect(void *arg, const char *name)
{
	struct names *nm = arg;

	if (nm->n < 4)
		snprintf(nm->seen[nm->n++], 16, "%s", name);
}

static void
test_names(void **state)
{
	struct expr *e;
	struct names nm = { 0 };
	char err[64];

	assert_int_equal(expr_parse("count-if(${members}, ${relationship} = "
	    "'head') = ${n}", &e, err, sizeof(err)), 0);
	expr_names(e, collect, &nm);
	expr_free(e);
	assert_int_equal(nm.n, 3);
	assert_string_equal(nm.seen[0], "members");
	assert_string_equal(nm.seen[1], "relationship");
	assert_string_equal(nm.seen[2], "n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("expr", tests, NULL, NULL);
}

/*
 * test_expr.c: the expression language of form constraints and relevance.
 * A small fake resolver serves one record with a repeat group (members),
 * so every operator, function, value rule, parse error and limit is
 * checked both ways, and every expression the shipped forms use is run
 * against values that pass and values that fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "form/expr.h"

#define TODAY "2026-11-29"

/* A field of the fake record: name and value. */
struct fv {
	const char *name;
	enum expr_kind kind;
	const char *str;
	double num;
	int multi;
};

#define S(n, v)		{ n, EXPR_STR, v, 0, 0 }
#define M(n, v)		{ n, EXPR_STR, v, 0, 1 }
#define N(n, v)		{ n, EXPR_NUM, NULL, v, 0 }
#define E(n)		{ n, EXPR_EMPTY, NULL, 0, 0 }
#define END		{ NULL, EXPR_EMPTY, NULL, 0, 0 }

struct item {
	struct fv f[4];
};

static const struct item household[] = {
	{ { S("relationship", "head"), N("age_years", 34),
	    M("vulnerabilities", "pregnant_lactating"), END } },
	{ { S("relationship", "child"), N("age_years", 3), END } },
	{ { S("relationship", "parent"), N("age_years", 70),
	    M("vulnerabilities", "disability elderly_alone"), END } },
};

static const struct item two_heads[] = {
	{ { S("relationship", "head"), END } },
	{ { S("relationship", "head"), END } },
};

/* The record and the current field (`.`) of one evaluation. */
struct rec {
	const struct fv *fields;
	struct fv dot;
	const struct item *items;	/* ${members} */
	size_t nitems;
	int dot_is_members;		/* `.` is the repeat itself */
	int enter_null;			/* enter() fails */
	int calls;			/* resolve() calls, for laziness */
};

static const struct fv record[] = {
	S("consent", "yes"), S("migration_stage", "pre_departure"),
	M("services", "information referral"), M("needs", "food water"),
	M("no_needs", ""), N("population_households", 100),
	N("females_0_4", 50), E("males_0_4"), S("visit_date", "2026-11-20"),
	S("registration_date", "2026-11-20"), S("text_num", "12"),
	S("name_utf8", "Zo\xc3\xab \xe6\x97\xa5\xf0\x9f\x98\x80"),
	N("n", 12), { "yes", EXPR_BOOL, NULL, 0, 0 },
	{ "nullstr", EXPR_STR, NULL, 0, 0 }, S("pattern", "[a-z]+"),
	S("bad_pattern", "[a-z"), END
};

static void
set(struct expr_value *out, const struct fv *f)
{
	memset(out, 0, sizeof(*out));
	out->kind = f->kind;
	out->str = f->str;
	out->num = f->num;
	out->is_multi = f->multi;
	if (f->kind == EXPR_BOOL)
		out->boolean = 1;
}

static int
resolve(void *ctx, const void *item, const char *name,
    struct expr_value *out)
{
	struct rec *r = ctx;
	const struct fv *f;

	r->calls++;
	if (name == NULL) {
		if (r->dot_is_members)
			goto members;
		set(out, &r->dot);
		return 0;
	}
	if (strcmp(name, "members") == 0)
		goto members;
	if (strcmp(name, "fail") == 0)
		return -1;
	if (strcmp(name, "weird") == 0) {
		memset(out, 0, sizeof(*out));
		out->kind = (enum expr_kind)99;
		return 0;
	}
	if (item != NULL)
		for (f = ((const struct item *)item)->f; f->name; f++)
			if (strcmp(f->name, name) == 0) {
				set(out, f);
				return 0;
			}
	for (f = r->fields; f->name; f++)
		if (strcmp(f->name, name) == 0) {
			set(out, f);
			return 0;
		}
	/* A field of the form that this item or record leaves empty. */
	if (strcmp(name, "relationship") == 0 ||
	    strcmp(name, "vulnerabilities") == 0 ||
	    strcmp(name, "age_years") == 0) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return -1;			/* not a field of the form */
members:
	memset(out, 0, sizeof(*out));
	out->kind = EXPR_REPEAT;
	out->repeat = r->items;
	out->count = r->nitems;
	return 0;
}

static const void *
enter(void *ctx, const void *repeat, size_t i)
{
	struct rec *r = ctx;

	if (r->enter_null)
		return NULL;
	return &((const struct item *)repeat)[i];
}

/* Parses src (which must parse) and evaluates it with `.` = dot. */
static int
eval_with(const char *src, struct fv dot, const struct item *items,
    size_t nitems)
{
	struct rec r = { record, dot, items, nitems, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r, .today = TODAY };
	struct expr *e;
	char err[128];
	int rc;

	if (expr_parse(src, &e, err, sizeof(err)) != 0)
		fail_msg("%s: %s", src, err);
	rc = expr_eval_bool(e, &env);
	expr_free(e);
	return rc;
}

static int
ev(const char *src)
{
	struct fv dot = E(NULL);

	return eval_with(src, dot, household, 3);
}

static int
ev_s(const char *src, const char *dot)
{
	struct fv d = S(NULL, dot);

	return eval_with(src, d, household, 3);
}

static int
ev_m(const char *src, const char *dot)
{
	struct fv d = M(NULL, dot);

	return eval_with(src, d, household, 3);
}

static int
ev_n(const char *src, double dot)
{
	struct fv d = N(NULL, dot);

	return eval_with(src, d, household, 3);
}

/* The expression must not parse, with exactly this message. */
static void
bad(const char *src, const char *want)
{
	struct expr *e = (struct expr *)1;
	char err[256];

	memset(err, 'x', sizeof(err));
	if (expr_parse(src, &e, err, sizeof(err)) == 0)
		fail_msg("parsed: %s", src);
	assert_null(e);
	assert_string_equal(err, want);
}

#define T(src)		assert_int_equal(ev(src), 1)
#define F(src)		assert_int_equal(ev(src), 0)

static void
test_literals(void **state)
{
	T("true()");
	F("false()");
	T("1");
	F("0");
	F("0.0");
	T("0.5");
	T(".5 = 0.5");
	T("1. = 1");
	T("'x'");
	F("''");
	T("\"x\"");
	F("\"\"");
}

static void
test_arithmetic(void **state)
{
	T("1 + 2 = 3");
	F("1 + 2 = 4");
	T("5 - 7 = -2");
	F("5 - 7 = 2");
	T("3 * 4 = 12");
	F("3 * 4 = 7");
	T("7 div 2 = 3.5");
	F("7 div 2 = 3");
	T("7 mod 3 = 1");
	F("7 mod 3 = 0");
	T("-7 mod 3 = -1");	/* sign of the dividend, as XPath */
	T("7.5 mod 2 = 1.5");
	T("-3 = 0 - 3");
	T("- - 3 = 3");
	T("-(2 + 3) = -5");
	T("1 div 0 > 1000000");
	T("-1 div 0 < -1000000");
	F("0 div 0 = 0 div 0");
	T("'4' + '5' = 9");	/* numeric strings take part */
	T("${n} * 2 = 24");
	T("${text_num} + 1 = 13");
	T("true() + true() = 2");
	T("1.25 + 1.75 = 3");
	T("2+3*4=14");		/* no spaces needed */
	T("10 div 4 * 2 = 5");
}

static void
test_precedence(void **state)
{
	T("1 + 2 * 3 = 7");
	T("(1 + 2) * 3 = 9");
	T("10 - 2 - 3 = 5");		/* left-associative */
	T("12 div 2 div 3 = 2");
	T("2 * 3 mod 4 = 2");		/* same level, from the left */
	T("1 = 1 or 1 = 2 and 1 = 2");	/* and binds tighter than or */
	F("(1 = 1 or 1 = 2) and 1 = 2");
	T("1 < 2 = true()");		/* comparisons fold left */
	F("3 > 2 > 1");			/* (3 > 2) > 1: true > true */
	T("-2 * 3 = -6");
	T("- 2 + 5 = 3");		/* unary minus binds tightest */
	T("1 + 1 = 2 and 2 * 2 = 4");
	T("not(1 = 2) and (1 = 1 or 1 = 1)");
	T("1 + 2 < 4");
	F("1 + 2 < 3");
}

static void
test_comparisons(void **state)
{
	/* Each operator on numbers, true and false. */
	T("1 = 1");
	F("1 = 2");
	T("1 != 2");
	F("1 != 1");
	T("1 < 2");
	F("2 < 1");
	F("1 < 1");
	T("1 <= 1");
	T("1 <= 2");
	F("2 <= 1");
	T("2 > 1");
	F("1 > 2");
	F("1 > 1");
	T("1 >= 1");
	T("2 >= 1");
	F("1 >= 2");
	/* Strings: bytewise, so ISO dates order correctly. */
	T("'abc' = 'abc'");
	F("'abc' = 'abd'");
	T("'abc' != 'abd'");
	T("'abc' < 'abd'");
	F("'b' < 'a'");
	T("'2026-11-27' < '2026-12-01'");
	F("'2026-12-01' < '2026-11-27'");
	T("'2026-11-27' <= '2026-11-27'");
	T("'2026-12-01' >= '2026-11-27'");
	T("'2027-01-01' > '2026-12-31'");
	T("'' < 'a'");
	/* Two strings compare as strings, even when they look numeric. */
	T("'10' < '9'");
	F("'10' = '10.0'");
	/* A number and a numeric string compare as numbers. */
	F("'10' < 9");
	T("10 = '10.0'");
	T("' 12 ' = 12");
	T("${text_num} = 12");
	T("${n} = '12'");
	T("'-3' < 0");
	/* Only plain decimals are numbers: strtod's extras are not. */
	F("'0x10' = 16");
	F("'1e2' = 100");
	F("'inf' > 0");
	F("'+5' = 5");
	/* Booleans: the other side as a boolean. */
	T("true() = 1");
	T("false() = 0");
	T("true() = 'x'");
	T("false() = ''");
	T("true() != false()");
	T("true() > false()");
	F("true() = false()");
}

static void
test_nan(void **state)
{
	/* NaN compares false with everything, != included. */
	F("0 div 0 = 0 div 0");
	F("0 div 0 != 0 div 0");
	F("0 div 0 < 1");
	F("0 div 0 <= 1");
	F("0 div 0 > 1");
	F("0 div 0 >= 1");
	F("0 div 0 != 1");
	F("number('x') = number('x')");
	F("'abc' = 0");
	F("'abc' != 0");
	F("(0 div 0) = true()");
	F("(0 div 0) = false()");
	F("0 div 0");			/* boolean of NaN */
	T("not(0 div 0)");
	F("'abc' + 1 = 'abc' + 1");
	assert_int_equal(ev_s(". >= 0", "abc"), 0);
	assert_int_equal(ev_s(". < 0", "abc"), 0);
}

static void
test_empty(void **state)
{
	/* `.` is empty in ev(). */
	F(".");
	T(". = ''");
	F(". != ''");
	T("not(.)");
	/* Empty in arithmetic is NaN: no comparison with a number holds. */
	F(". = 0");
	F(". != 0");
	F(". < 5");
	F(". >= 0");
	F(". + 1 = 1");
	T("string-length(.) = 0");
	T("count-selected(.) = 0");
	F("selected(., 'a')");
	F("regex(., '[A-Z]{3}')");
	T("regex(., '[A-Z]*')");
	T("coalesce(., 5) = 5");
	T("coalesce(${males_0_4}, 7) = 7");
	T("coalesce('', 'x') = 'x'");
	T("coalesce(${no_needs}, 'x') = 'x'");
	T("${males_0_4} = ''");
	T("${nullstr} = ''");		/* a NULL string is empty */
	F("${nullstr}");
	T("string-length(${nullstr}) = 0");
	T("number(.) != number(.) or true()");
	F("number(.) = number(.)");
	/* An empty string from the resolver is the same empty value. */
	assert_int_equal(ev_s(". = ''", ""), 1);
	assert_int_equal(ev_s(". >= 0", ""), 0);
	assert_int_equal(ev_s("coalesce(., 3) = 3", ""), 1);
	assert_int_equal(ev_s("coalesce(., 3) = 3", "4"), 0);
}

static void
test_selected(void **state)
{
	T("selected(${services}, 'referral')");
	T("selected(${services}, 'information')");
	F("selected(${services}, 'training')");
	F("selected(${services}, 'refer')");	/* whole names only */
	F("selected(${services}, 'information referral')");
	F("selected(${services}, '')");
	F("selected(${no_needs}, 'food')");
	/* A single string (select_one, text) is a list of one. */
	T("selected(${consent}, 'yes')");
	F("selected(${consent}, 'no')");
	T("selected('a  b ', 'b')");
	T("selected(12, '12')");
	assert_int_equal(ev_m("selected(., 'water')", "food water"), 1);
	assert_int_equal(ev_m("selected(., 'shelter')", "food water"), 0);
}

static void
test_count_selected(void **state)
{
	T("count-selected(${services}) = 2");
	F("count-selected(${services}) = 1");
	T("count-selected(${consent}) = 1");
	T("count-selected(${no_needs}) = 0");
	T("count-selected('  a   b c ') = 3");
	assert_int_equal(ev_m("count-selected(.) <= 3", "food water"), 1);
	assert_int_equal(ev_m("count-selected(.) <= 3",
	    "food water shelter health"), 0);
	assert_int_equal(ev_m("count-selected(.) >= 1", "food"), 1);
	assert_int_equal(ev_m("count-selected(.) >= 1", ""), 0);
}

static void
test_string_length(void **state)
{
	T("string-length('abc') = 3");
	F("string-length('abc') = 4");
	T("string-length('') = 0");
	/* Characters, not bytes: "Zoë 日😀" is 6 code points, 12 bytes. */
	T("string-length(${name_utf8}) = 6");
	F("string-length(${name_utf8}) = 12");
	T("string-length('\xc3\xa9') = 1");
	T("string-length(12345) = 5");
	T("string-length(1.5) = 3");
	T("string-length(-2) = 2");
	T("string-length(0.1) = 3");		/* shortest form, "0.1" */
	T("string-length(true()) = 4");
}

static void
test_regex(void **state)
{
	T("regex('ABC', '[A-Z]{3}')");
	F("regex('ABCD', '[A-Z]{3}')");		/* whole value */
	F("regex('xABC', '[A-Z]{3}')");
	F("regex('ab', 'a|b')");		/* alternation stays inside */
	T("regex('a', 'a|b')");
	T("regex('b', 'a|b')");
	T("regex('a)', 'a[)]')");
	T("regex(\"it's\", \"it's\")");
	T("regex('abc', '(a)(b)c')");
	T("regex('ab ab ', '([a-z]+ )*')");	/* quantified groups */
	T("regex('aaa', '((a*)*)*')");
	T("regex('', '()*')");
	T("regex('aa', '(a*)*(a*)*(a*)*(a*)*(a*)*(a*)*')");
	T("regex('12', '[[:digit:]]+')");
	T("regex('a{', 'a[{]')");
	T("regex('a{', 'a\\{')");
	T("regex(123, '[0-9]{3}')");		/* numbers as text */
	F("regex(1234, '[0-9]{3}')");
	/* A pattern given by a field is compiled when evaluated. */
	T("regex('abc', ${pattern})");
	F("regex('ab1', ${pattern})");
	assert_int_equal(ev("regex('abc', ${bad_pattern})"), -1);
}

static void
test_regex_dynamic_limit(void **state)
{
	/* The wrapped pattern "^(...)$" must fit EXPR_MAX_STR bytes. */
	char val[EXPR_MAX_STR + 8];
	struct fv dot = S(NULL, val);
	size_t n = EXPR_MAX_STR - 4;

	/* `.` is both the value and the pattern. */
	memset(val, 'a', n);
	val[n] = '\0';
	assert_int_equal(eval_with("regex(., .)", dot, household, 3), 1);
	val[n] = 'a';
	val[n + 1] = '\0';
	assert_int_equal(eval_with("regex(., .)", dot, household, 3), -1);
}

static void
test_today_if_not(void **state)
{
	T("today() = '2026-11-29'");
	F("today() = '2026-11-28'");
	T("today() > '2026-11-28'");
	T("not(false())");
	F("not(true())");
	F("not('x')");
	T("not('')");
	T("not(0)");
	T("if(true(), 1, 0) = 1");
	T("if(false(), 1, 0) = 0");
	T("if('x', 'a', 'b') = 'a'");
	T("if(0, 'a', 'b') = 'b'");
	T("if(0 div 0, 'a', 'b') = 'b'");
	/* Lazy: the branch not taken is not read (it would fail). */
	T("if(true(), 1, ${fail})");
	T("if(false(), ${fail}, 1)");
	assert_int_equal(ev("if(true(), ${fail}, 1)"), -1);
	T("number('4.5') = 4.5");
	T("number(' -2 ') = -2");
	F("number('x') = 0");
	T("number(true()) = 1");
	T("number(${n}) = 12");
}

static void
test_and_or_lazy(void **state)
{
	T("true() or ${fail}");
	F("false() and ${fail}");
	assert_int_equal(ev("false() or ${fail}"), -1);
	assert_int_equal(ev("true() and ${fail}"), -1);
	T("1 and 'x'");
	F("1 and ''");
	T("0 or 'x'");
	F("0 or ''");
	T("coalesce(1, ${fail}) = 1");	/* coalesce reads b only if needed */
}

static void
test_count(void **state)
{
	T("count(${members}) = 3");
	F("count(${members}) = 2");
	T("count-if(${members}, ${relationship} = 'head') = 1");
	T("count-if(${members}, ${age_years} < 18) = 1");
	T("count-if(${members}, ${age_years} >= 18) = 2");
	T("count-if(${members}, selected(${vulnerabilities}, "
	    "'disability')) = 1");
	T("count-if(${members}, ${relationship} = 'spouse') = 0");
	/* Inside an item a top-level field is still visible. */
	T("count-if(${members}, ${consent} = 'yes') = 3");
	/* Nested: every pair of members. */
	T("count-if(${members}, count-if(${members}, true()) = 3) = 3");
	/* Repeats belong to count() and count-if() only. */
	assert_int_equal(ev("${members}"), -1);
	assert_int_equal(ev("${members} = 3"), -1);
	assert_int_equal(ev("string-length(${members}) = 0"), -1);
	assert_int_equal(ev("count('abc') = 1"), -1);
	assert_int_equal(ev("count-if('abc', true()) = 1"), -1);
	/* An empty repeat counts 0. */
	T("count(.) = 0");
	T("count-if(., true()) = 0");
	/* An error inside an item is the expression's error. */
	assert_int_equal(ev("count-if(${members}, ${fail}) = 0"), -1);
}

static void
test_count_env(void **state)
{
	struct rec r = { record, E(NULL), household, 3, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r, .today = TODAY };
	struct expr *e;
	char err[128];

	assert_int_equal(expr_parse("count-if(${members}, "
	    "${relationship} = 'head') = 1", &e, err, sizeof(err)), 0);
	assert_int_equal(expr_eval_bool(e, &env), 1);
	/* Two heads. */
	r.items = two_heads;
	r.nitems = 2;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	/* No items. */
	r.nitems = 0;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	/* enter() that fails, or is missing, is an error. */
	r.items = household;
	r.nitems = 3;
	r.enter_null = 1;
	assert_int_equal(expr_eval_bool(e, &env), -1);
	r.enter_null = 0;
	env.enter = NULL;
	assert_int_equal(expr_eval_bool(e, &env), -1);
	env.enter = enter;
	assert_int_equal(expr_eval_bool(e, &env), 1);
	expr_free(e);
}

/* The members field's own constraint: `.` is the repeat. */
static void
test_members_constraint(void **state)
{
	static const char src[] = "count(.) >= 1 and count(.) <= 30 and "
	    "count-if(., ${relationship} = 'head') = 1";
	struct rec r = { record, E(NULL), household, 3, 1, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r, .today = TODAY };
	struct expr *e;
	char err[128];

	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	assert_int_equal(expr_eval_bool(e, &env), 1);
	r.items = two_heads;
	r.nitems = 2;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	r.nitems = 0;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	expr_free(e);
}

static void
test_shipped_forms(void **state)
{
	/* site_id, centre_id */
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')", "SS-001"), 1);
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')", "MRC-KTM-01"),
	    1);
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')", "ss-001"), 0);
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')", "S1"), 0);
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"), 0);
	assert_int_equal(ev_s("regex(., '[A-Z0-9-]{3,32}')", "SS 001"), 0);
	/* client_code, nationality, P-codes */
	assert_int_equal(ev_s("regex(., '[A-Z0-9]{4,16}')", "AB12"), 1);
	assert_int_equal(ev_s("regex(., '[A-Z0-9]{4,16}')", "AB-12"), 0);
	assert_int_equal(ev_s("regex(., '[A-Z]{3}')", "NPL"), 1);
	assert_int_equal(ev_s("regex(., '[A-Z]{3}')", "Npl"), 0);
	assert_int_equal(ev_s("regex(., '[A-Z]{2,3}[0-9A-Z]{1,15}')",
	    "SS0101"), 1);
	assert_int_equal(ev_s("regex(., '[A-Z]{2,3}[0-9A-Z]{1,15}')", "S"),
	    0);
	/* phone */
	assert_int_equal(ev_s("regex(., '\\+?[0-9 ]{6,20}')",
	    "+211 912345678"), 1);
	assert_int_equal(ev_s("regex(., '\\+?[0-9 ]{6,20}')", "912345"), 1);
	assert_int_equal(ev_s("regex(., '\\+?[0-9 ]{6,20}')", "++211912345"),
	    0);
	assert_int_equal(ev_s("regex(., '\\+?[0-9 ]{6,20}')", "12345"), 0);
	/* population_individuals */
	assert_int_equal(ev_n(". >= ${population_households}", 500), 1);
	assert_int_equal(ev_n(". >= ${population_households}", 100), 1);
	assert_int_equal(ev_n(". >= ${population_households}", 99), 0);
	/* dates */
	assert_int_equal(ev_s(". <= today()", "2026-11-29"), 1);
	assert_int_equal(ev_s(". <= today()", "2026-11-20"), 1);
	assert_int_equal(ev_s(". <= today()", "2026-11-30"), 0);
	assert_int_equal(ev_s(". <= today()", "2027-01-01"), 0);
	assert_int_equal(ev_s(". >= ${visit_date}", "2026-11-20"), 1);
	assert_int_equal(ev_s(". >= ${visit_date}", "2026-11-19"), 0);
	assert_int_equal(ev_s(". <= ${registration_date}", "2026-10-01"), 1);
	assert_int_equal(ev_s(". <= ${registration_date}", "2026-11-21"), 0);
	/* relevance */
	T("${consent} = 'yes'");
	F("${consent} = 'no'");
	T("selected(${services}, 'referral')");
	F("selected(${needs}, 'referral')");
	T("${migration_stage} = 'considering' or "
	    "${migration_stage} = 'pre_departure'");
	F("${migration_stage} = 'considering' or "
	    "${migration_stage} = 'in_transit'");
	/* select_multiple and text limits */
	assert_int_equal(ev_m("count-selected(.) <= 3", "food water nfi"), 1);
	assert_int_equal(ev_m("count-selected(.) <= 3",
	    "food water nfi health"), 0);
	assert_int_equal(ev_s("string-length(.) <= 100", "Camp Alpha"), 1);
	{
		char s[256];

		memset(s, 'a', 100);
		s[100] = '\0';
		assert_int_equal(ev_s("string-length(.) <= 100", s), 1);
		s[100] = 'a';
		s[101] = '\0';
		assert_int_equal(ev_s("string-length(.) <= 100", s), 0);
		/* 100 characters of two bytes each still fit. */
		for (int i = 0; i < 100; i++)
			memcpy(s + 2 * i, "\xc3\xa9", 2);
		s[200] = '\0';
		assert_int_equal(ev_s("string-length(.) <= 100", s), 1);
		memcpy(s + 200, "a", 2);
		assert_int_equal(ev_s("string-length(.) <= 100", s), 0);
	}
	/* household head */
	T("count-if(${members}, ${relationship} = 'head') = 1");
	assert_int_equal(eval_with("count-if(${members}, "
	    "${relationship} = 'head') = 1", (struct fv)E(NULL), two_heads,
	    2), 0);
	/* sex x age cells; an empty cell counts as 0 */
	assert_int_equal(ev_n(". >= coalesce(${females_0_4}, 0) + "
	    "coalesce(${males_0_4}, 0)", 50), 1);
	assert_int_equal(ev_n(". >= coalesce(${females_0_4}, 0) + "
	    "coalesce(${males_0_4}, 0)", 49), 0);
	/* ranges */
	assert_int_equal(ev_n(". >= 0 and . <= 120", 0), 1);
	assert_int_equal(ev_n(". >= 0 and . <= 120", 120), 1);
	assert_int_equal(ev_n(". >= 0 and . <= 120", 121), 0);
	assert_int_equal(ev_n(". >= 0 and . <= 120", -1), 0);
	assert_int_equal(ev_n(". >= 10 and . <= 100", 9), 0);
	assert_int_equal(ev_n(". >= 0 and . <= 200000", 200000), 1);
	assert_int_equal(ev_n(". >= 0", 0), 1);
	assert_int_equal(ev_n(". >= 0", -0.5), 0);
}

/* The longest shipped constraint, population_individuals. */
static void
test_shipped_population(void **state)
{
	static const char src[] = ". >= coalesce(${population_households}, 0) "
	    "and . <= 2000000 and . >= coalesce(${females_0_4}, 0) + "
	    "coalesce(${females_5_11}, 0) + coalesce(${females_12_17}, 0) + "
	    "coalesce(${females_18_59}, 0) + coalesce(${females_60_plus}, 0) + "
	    "coalesce(${males_0_4}, 0) + coalesce(${males_5_11}, 0) + "
	    "coalesce(${males_12_17}, 0) + coalesce(${males_18_59}, 0) + "
	    "coalesce(${males_60_plus}, 0)";
	static const struct fv cells[] = {
		N("population_households", 100), N("females_0_4", 50),
		N("females_5_11", 10), E("females_12_17"), N("females_18_59", 120),
		N("females_60_plus", 0), N("males_0_4", 45), E("males_5_11"),
		N("males_12_17", 5), N("males_18_59", 100),
		N("males_60_plus", 10), END
	};
	struct rec r = { cells, N(NULL, 340), household, 3, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r, .today = TODAY };
	struct expr *e;
	char err[128];

	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	assert_int_equal(expr_eval_bool(e, &env), 1);	/* sum is 340 */
	r.dot.num = 339;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	r.dot.num = 2000001;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	r.dot.num = 99;
	assert_int_equal(expr_eval_bool(e, &env), 0);
	expr_free(e);
}

static void
test_eval_errors(void **state)
{
	struct rec r = { record, E(NULL), household, 3, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r };
	struct expr *e;
	char err[128];

	assert_int_equal(ev("${unknown_field} = 1"), -1);
	assert_int_equal(ev("${fail}"), -1);
	assert_int_equal(ev("${weird} = 1"), -1);	/* kind made up */
	assert_int_equal(ev("-${fail} = 1"), -1);
	assert_int_equal(ev("not(${fail})"), -1);
	assert_int_equal(ev("number(${fail})"), -1);
	assert_int_equal(ev("selected(${fail}, 'a')"), -1);
	assert_int_equal(ev("count(${fail})"), -1);
	/* today() without a date is an error, not an empty string. */
	assert_int_equal(expr_parse(". <= today()", &e, err, sizeof(err)), 0);
	assert_int_equal(expr_eval_bool(e, &env), -1);
	env.today = TODAY;
	/* Empty `.` against a date compares as strings: '' sorts first. */
	assert_int_equal(expr_eval_bool(e, &env), 1);
	env.resolve = NULL;
	assert_int_equal(expr_eval_bool(e, &env), -1);
	assert_int_equal(expr_eval_bool(e, NULL), -1);
	assert_int_equal(expr_eval_bool(NULL, &env), -1);
	expr_free(e);
}

static void
test_parse_errors(void **state)
{
	bad("", "offset 0: expected a value");
	bad("   ", "offset 3: expected a value");
	bad("1 +", "offset 3: expected a value");
	bad("(1 + 2", "offset 6: expected ')'");
	bad("(. = 1 and (. = 2)", "offset 18: expected ')'");
	bad("1 + 2)", "offset 5: unbalanced ')'");
	bad("1 2", "offset 2: expected an operator or the end");
	bad(". = 'yes", "offset 4: unterminated string");
	bad(". = \"yes'", "offset 4: unterminated string");
	bad("${1x} = 1", "offset 2: expected a field name after '${'");
	bad("${} = 1", "offset 2: expected a field name after '${'");
	bad("${abc = 1", "offset 5: expected '}'");
	bad("${a-b} = 1", "offset 3: expected '}'");
	bad("$abc", "offset 0: expected a value");
	bad(". == 1", "offset 3: expected a value");
	bad(". ! 1", "offset 2: expected an operator or the end");
	bad(". & 1", "offset 2: expected an operator or the end");
	bad(". = yes", "offset 4: expected a value, not 'yes' "
	    "(strings need quotes)");
	bad("foo(1)", "offset 0: unknown function 'foo'");
	bad("1 + concatenate('a', 'b')", "offset 4: unknown function 'concatenate'");
	bad("count-selected", "offset 14: expected '('");
	bad("selected(.)", "offset 0: selected() takes 2 arguments");
	bad("selected(., 'a', 'b')", "offset 0: selected() takes 2 arguments");
	bad("today(1)", "offset 0: today() takes 0 arguments");
	bad("string-length()", "offset 0: string-length() takes 1 argument");
	bad("if(1, 2)", "offset 0: if() takes 3 arguments");
	bad("if(1, 2, 3, 4)", "offset 0: if() takes 3 arguments");
	bad("count-if(${members})", "offset 0: count-if() takes 2 arguments");
	bad("selected(. 'a')", "offset 11: expected ',' or ')'");
	bad("selected(., )", "offset 12: expected a value");
	bad("not(1 or)", "offset 8: expected a value");
	bad("1 and", "offset 5: expected a value");
	bad("and 1", "offset 0: expected a value");
	bad(". = 1 andx 2", "offset 6: expected an operator or the end");
	bad(",", "offset 0: expected a value");
	/* Patterns: compiled once, at parse time. */
	bad("regex(., '[a')", "offset 9: regex() pattern: unterminated '['");
	bad("regex(., 'a(')", "offset 9: regex() pattern: not a valid "
	    "extended regular expression");
	bad("regex(., 'a)|(b')", "offset 9: regex() pattern: unbalanced ')'");
	bad("regex(., '(a)\\1')", "offset 9: regex() pattern: "
	    "back-references are not supported");
	bad("regex(., 'a\\')", "offset 9: regex() pattern: pattern ends in "
	    "'\\'");
	bad("regex(., 'a{256}')", "offset 9: regex() pattern: repetition "
	    "count over 255");
	bad("regex(., '((a{99}){99}){99}')", "offset 9: regex() pattern: "
	    "pattern too large");
	bad("regex(., 'a****')", "offset 9: regex() pattern: quantifiers "
	    "nested too deeply");
	bad("regex(., '(((a*)*)*)*')", "offset 9: regex() pattern: "
	    "quantifiers nested too deeply");
	bad("regex(., '(a*)*(a*)*(a*)*(a*)*(a*)*(a*)*(a*)*')", "offset 9: "
	    "regex() pattern: too many quantifiers on groups or quantifiers");
	bad("regex(., '(a|)*(b|)*(c|)*(d|)*(e|)*(f|)*(g|)*')", "offset 9: "
	    "regex() pattern: too many quantifiers on groups or quantifiers");
	bad("regex(., '*a')", "offset 9: regex() pattern: quantifier "
	    "without an item to repeat");
	bad("regex(., 'a|+')", "offset 9: regex() pattern: quantifier "
	    "without an item to repeat");
	bad("regex(., 'a{')", "offset 9: regex() pattern: not a valid "
	    "extended regular expression");
	bad("regex(., 'a{3,2}')", "offset 9: regex() pattern: not a valid "
	    "extended regular expression");
}

static void
test_parse_err_buffer(void **state)
{
	struct expr *e;
	char small[12];

	/* A short buffer gets a terminated prefix; none at all is fine. */
	assert_int_equal(expr_parse("(1", &e, small, sizeof(small)), -1);
	assert_string_equal(small, "offset 2: e");
	assert_int_equal(expr_parse("(1", &e, small, 4), -1);
	assert_string_equal(small, "off");
	assert_int_equal(expr_parse("(1", &e, NULL, 0), -1);
	assert_null(e);
	assert_int_equal(expr_parse(NULL, &e, small, sizeof(small)), -1);
	assert_null(e);
}

/* Builds n nested copies of open + "1" + close. */
static void
nest(char *buf, int n, const char *open, const char *close)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		strcat(buf, open);
	strcat(buf, "1");
	for (int i = 0; i < n; i++)
		strcat(buf, close);
}

static void
test_limits_depth(void **state)
{
	char src[EXPR_MAX_SRC + 1], want[64];
	struct expr *e;
	char err[128];

	nest(src, EXPR_MAX_DEPTH, "(", ")");
	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	expr_free(e);
	nest(src, EXPR_MAX_DEPTH + 1, "(", ")");
	snprintf(want, sizeof(want), "offset %d: nested deeper than %d "
	    "levels", EXPR_MAX_DEPTH, EXPR_MAX_DEPTH);
	bad(src, want);

	nest(src, EXPR_MAX_DEPTH, "not(", ")");
	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	expr_free(e);
	nest(src, EXPR_MAX_DEPTH + 1, "not(", ")");
	snprintf(want, sizeof(want), "offset %d: nested deeper than %d "
	    "levels", EXPR_MAX_DEPTH * 4 + 3, EXPR_MAX_DEPTH);
	bad(src, want);

	nest(src, EXPR_MAX_DEPTH, "-", "");
	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	expr_free(e);
	nest(src, EXPR_MAX_DEPTH + 1, "-", "");
	snprintf(want, sizeof(want), "offset %d: nested deeper than %d "
	    "levels", EXPR_MAX_DEPTH, EXPR_MAX_DEPTH);
	bad(src, want);

	/* Operator chains do not nest: a long flat sum is fine. */
	src[0] = '\0';
	strcat(src, "1");
	for (int i = 0; i < 300; i++)
		strcat(src, "+1");
	strcat(src, "=301");
	assert_int_equal(ev(src), 1);
}

static void
test_limits_length(void **state)
{
	char src[EXPR_MAX_SRC + 2], want[64];
	struct expr *e;
	char err[128];

	/* "1" then spaces up to exactly EXPR_MAX_SRC bytes. */
	memset(src, ' ', sizeof(src));
	src[0] = '1';
	src[EXPR_MAX_SRC] = '\0';
	assert_int_equal(expr_parse(src, &e, err, sizeof(err)), 0);
	expr_free(e);
	src[EXPR_MAX_SRC] = ' ';
	src[EXPR_MAX_SRC + 1] = '\0';
	snprintf(want, sizeof(want), "offset %d: expression longer than %d "
	    "bytes", EXPR_MAX_SRC, EXPR_MAX_SRC);
	bad(src, want);
	/* A long string literal is fine while the source fits. */
	memset(src, 'a', EXPR_MAX_SRC);
	src[0] = '\'';
	src[EXPR_MAX_SRC - 1] = '\'';
	src[EXPR_MAX_SRC] = '\0';
	assert_int_equal(ev(src), 1);
}

static void
name_collect(void *arg, const char *name)
{
	char *buf = arg;

	strcat(buf, name);
	strcat(buf, ";");
}

static void
test_names(void **state)
{
	struct expr *e;
	char err[128], got[256] = "";

	assert_int_equal(expr_parse("count-if(${members}, ${relationship} = "
	    "'head') = 1 and . > ${a_1} or if(${b}, ${a_1}, '${not_a_ref}')",
	    &e, err, sizeof(err)), 0);
	expr_names(e, name_collect, got);
	assert_string_equal(got, "members;relationship;a_1;b;a_1;");
	expr_free(e);
	got[0] = '\0';
	assert_int_equal(expr_parse(". > 1", &e, err, sizeof(err)), 0);
	expr_names(e, name_collect, got);
	assert_string_equal(got, "");
	expr_free(e);
	expr_free(NULL);
}

/* One parsed expression, many evaluations and two alive at once. */
static void
test_reuse(void **state)
{
	struct rec r = { record, S(NULL, "AB-1"), household, 3, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .ctx = &r, .today = TODAY };
	struct expr *a, *b;
	char err[128];

	assert_int_equal(expr_parse("regex(., '[A-Z0-9-]{3,32}')", &a, err,
	    sizeof(err)), 0);
	assert_int_equal(expr_parse("string-length(.) = 4", &b, err,
	    sizeof(err)), 0);
	for (int i = 0; i < 100; i++) {
		r.dot.str = i % 2 ? "AB-1" : "ab";
		assert_int_equal(expr_eval_bool(a, &env), i % 2);
		assert_int_equal(expr_eval_bool(b, &env), i % 2);
	}
	expr_free(a);
	expr_free(b);
}

/* The members' fields, named from outside the repeat: every item's. */
static int
nodes(void *ctx, const void *item, const char *name, const void **rep,
    size_t *count)
{
	struct rec *r = ctx;

	if (item != NULL || (strcmp(name, "age_years") != 0 &&
	    strcmp(name, "relationship") != 0))
		return -1;
	*rep = r->items;
	*count = r->nitems;
	return 0;
}

static int
column(void *ctx, const char *name, struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(name, "admin1") == 0) {
		out->kind = EXPR_STR;
		out->str = "yes";
	}
	return 0;
}

static const char *
choice_label(void *ctx, const char *field, const char *value)
{
	return strcmp(field, "consent") == 0 && strcmp(value, "yes") == 0 ?
	    "Yes" : NULL;
}

/* src's value as text ("ERR" on an evaluation error), in buf. */
static const char *
value_of(const char *src, const struct expr_env *env, char *buf,
    size_t len)
{
	struct expr_scratch *s = malloc(sizeof(*s));
	struct expr_value v;
	struct expr *e;
	char err[128], nbuf[32];

	assert_non_null(s);
	if (expr_parse(src, &e, err, sizeof(err)) != 0 &&
	    expr_parse_filter(src, &e, err, sizeof(err)) != 0)
		fail_msg("%s: %s", src, err);
	s->used = 0;
	if (expr_eval_value(e, env, &v, s) != 0)
		snprintf(buf, len, "ERR");
	else
		snprintf(buf, len, "%s", expr_value_text(&v, nbuf));
	expr_free(e);
	free(s);
	return buf;
}

static void
test_functions(void **state)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
		/* a repeat's field from outside: a node-set */
		{ "sum(${age_years})", "107" },
		{ "max(${age_years})", "70" },
		{ "min(${age_years})", "3" },
		{ "max(1, 5, ${n})", "12" },
		{ "min(${age_years}, 1)", "1" },
		{ "max('x', ${age_years})", "NaN" },
		{ "min(${age_years}, 'x', 5)", "NaN" },
		{ "sum(${relationship})", "NaN" },
		{ "count(${age_years})", "3" },
		{ "join('-', ${relationship})", "head-child-parent" },
		{ "indexed-repeat(${age_years}, ${members}, 2)", "3" },
		{ "indexed-repeat(${age_years}, ${members}, 4)", "" },
		{ "count-if(${members}, position(..) > 1)", "2" },
		{ "position(..)", "1" },
		/* numbers */
		{ "int(-2.7)", "-2" }, { "int('7.9')", "7" },
		{ "round(2.5)", "3" }, { "round(-2.5)", "-2" },
		{ "round(1.2345, 2)", "1.23" }, { "round(1250, -2)", "1300" },
		{ "floor(-1.5)", "-2" }, { "ceiling(1.2)", "2" },
		{ "abs(-3)", "3" }, { "pow(2, 10)", "1024" },
		{ "number('x')", "NaN" }, { "sum(${n})", "12" },
		/* strings */
		{ "concat('a', 1, ${n}, true())", "a112true" },
		{ "concat()", "" },
		{ "concat(${name_utf8}, '!')", "Zo\xc3\xab \xe6\x97\xa5\xf0\x9f"
		  "\x98\x80!" },
		{ "string(1.5)", "1.5" }, { "string(${n})", "12" },
		{ "boolean('')", "false" }, { "boolean('x')", "true" },
		{ "boolean-from-string('true')", "true" },
		{ "boolean-from-string('1')", "true" },
		{ "boolean-from-string('yes')", "false" },
		{ "substr('abcdef', 1, 3)", "bc" },
		{ "substr('abcdef', 4)", "ef" },
		{ "substr('zo\xc3\xab', 2)", "\xc3\xab" },
		{ "substr('abc', 2, 1)", "" },
		{ "contains('abc', 'b')", "true" },
		{ "starts-with('abc', 'ab')", "true" },
		{ "ends-with('abc', 'ab')", "false" },
		{ "translate('abcabc', 'abc', 'AB')", "ABAB" },
		{ "translate('zo\xc3\xab', '\xc3\xab', 'e')", "zoe" },
		{ "selected-at('a b c', 1)", "b" },
		{ "selected-at(${services}, 0)", "information" },
		{ "selected-at('a b', 5)", "" },
		{ "once(3)", "3" },
		{ "jr:choice-name(${consent}, '${consent}')", "Yes" },
		{ "jr:choice-name('no', '${consent}')", "" },
		/* dates */
		{ "now()", "2026-11-29T10:00:00.000+03:00" },
		{ "date(0)", "1970-01-01" }, { "date(20422)", "2025-11-30" },
		{ "date('2026-11-20')", "2026-11-20" },
		{ "decimal-date-time('1970-01-02')", "1" },
		{ "decimal-date-time('1970-01-01T12:00:00Z')", "0.5" },
		{ "decimal-date-time('1970-01-01T03:00:00.000+03:00')", "0" },
		{ "decimal-date-time(today()) - decimal-date-time("
		  "${visit_date})", "9" },
		{ "format-date('2026-03-05', '%d/%m/%Y')", "05/03/2026" },
		/* dates in arithmetic are days, as in ODK; a string that
		   only looks like one is not a date */
		{ "today() - date('2026-11-20')", "9" },
		{ "int((today() - date('1990-06-15')) div 365.25)", "36" },
		{ "date(today() - 7)", "2026-11-22" },
		{ "today() > 20000", "true" },
		{ "round((now() - today()) * 24)", "7" },
		{ "'2026-11-20' - 1", "NaN" },
		{ "today() = '2026-11-29'", "true" },
		{ "format-date('2026-03-05T07:08:09Z', '%e %n %y %H:%M:%S')",
		  "5 3 26 07:08:09" },
		{ "format-date('not a date', '%Y')", "" },
		{ "decimal-date-time('2026-01-01T10:00:inf')", "NaN" },
		{ "decimal-date-time('2026-01-01T10:00:30.5Z') * 86400 mod 60",
		  "30.5" },
		/* a choice filter's bare column */
		{ "admin1 = ${consent}", "true" },
		{ "admin2 = ''", "true" },
		/* never recomputed, so never evaluated */
		{ "uuid()", "ERR" }, { "random()", "ERR" },
		/* past the scratch: an evaluation error, not an overflow */
		{ "concat(${long}, ${long}, ${long}, ${long}, ${long})", "ERR" },
	};
	static char longs[2001];
	struct fv fields[sizeof(record) / sizeof(record[0]) + 1];
	struct rec r = { fields, E(NULL), household, 3, 0, 0, 0 };
	struct expr_env env = { .resolve = resolve, .enter = enter, .ctx = &r,
	    .today = TODAY, .nodes = nodes, .column = column,
	    .choice_label = choice_label,
	    .now = "2026-11-29T10:00:00.000+03:00" };
	char buf[4096];
	size_t n = 0;

	memset(longs, 'a', 2000);
	for (; record[n].name; n++)
		fields[n] = record[n];
	fields[n++] = (struct fv)S("long", longs);
	fields[n] = (struct fv)END;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = value_of(cases[i].src, &env, buf,
		    sizeof(buf));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: want \"%s\", got \"%s\"", cases[i].src,
			    cases[i].want, got);
	}
	/* inside an item, a field of its repeat is the item's own value */
	env.item = &household[0];
	env.position = 1;
	assert_string_equal(value_of("sum(${age_years})", &env, buf,
	    sizeof(buf)), "34");
	assert_string_equal(value_of("position(..)", &env, buf, sizeof(buf)),
	    "1");
	/* indexed-repeat reads the whole repeat even from an item */
	assert_string_equal(value_of("indexed-repeat(${age_years}, ${members},"
	    " 3)", &env, buf, sizeof(buf)), "70");
	/* a boolean evaluation of the same functions */
	env.item = NULL;
	{
		struct expr *e;
		char err[128];

		assert_int_equal(expr_parse("sum(${age_years}) > 100 and "
		    "contains(concat('x', ${n}), '12')", &e, err, sizeof(err)),
		    0);
		assert_int_equal(expr_eval_bool(e, &env), 1);
		assert_int_equal(expr_uses(e), 0);
		expr_free(e);
		assert_int_equal(expr_parse("once(concat(uuid(), now()))", &e,
		    err, sizeof(err)), 0);
		assert_int_equal(expr_uses(e), EXPR_USES_RANDOM |
		    EXPR_USES_NOW | EXPR_USES_ONCE);
		expr_free(e);
	}
}

static void
test_function_parse_errors(void **state)
{
	bad("pulldata('a', 'b', 'c', 'd')", "offset 0: pulldata needs a CSV "
	    "attached to the form; not supported");
	bad("1 + pulldata('a')", "offset 4: pulldata needs a CSV attached to "
	    "the form; not supported");
	bad("round()", "offset 0: round() takes 1 to 2 arguments");
	bad("round(1, 2, 3)", "offset 0: round() takes 1 to 2 arguments");
	bad("concat", "offset 6: expected '('");
	bad("max()", "offset 0: max() takes at least 1 argument");
	bad("join(',')", "offset 0: join() takes at least 2 arguments");
	bad("indexed-repeat(${a}, ${b})", "offset 0: indexed-repeat() takes 3 "
	    "arguments");
	bad("position(.)", "offset 9: position() takes .. (the repeat item)");
	bad("..", "offset 0: expected a value");
	bad("jr:choice-name(., .)", "offset 18: jr:choice-name() takes "
	    "'${field}' as its second argument");
	bad("jr:foo(1)", "offset 0: unknown function 'jr:foo'");
	bad("selected(., \xe2\x80\x98" "6\xe2\x80\x99)", "offset 12: a "
	    "typographic quote: write ' or \" (a spreadsheet may have "
	    "changed it)");
	bad(". = \xe2\x80\x9cyes\xe2\x80\x9d", "offset 4: a typographic "
	    "quote: write ' or \" (a spreadsheet may have changed it)");
	/* bare names are columns in choice filters only */
	bad("admin1 = 1", "offset 0: expected a value, not 'admin1' (strings "
	    "need quotes)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_nan),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_selected),
		cmocka_unit_test(test_count_selected),
		cmocka_unit_test(test_string_length),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_regex_dynamic_limit),
		cmocka_unit_test(test_today_if_not),
		cmocka_unit_test(test_and_or_lazy),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_count_env),
		cmocka_unit_test(test_members_constraint),
		cmocka_unit_test(test_shipped_forms),
		cmocka_unit_test(test_shipped_population),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_err_buffer),
		cmocka_unit_test(test_limits_depth),
		cmocka_unit_test(test_limits_length),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_function_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

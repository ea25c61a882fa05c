/*
 * fuzz_expr: any text as a constraint or relevant expression.  When it
 * parses, it is evaluated against a small fixed record with a repeat
 * group (members), at the top level and inside an item, and its names
 * are walked.  Nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form/expr.h"

struct member {
	const char *relationship;
	const char *age;	/* text on purpose: numeric strings */
	const char *vulnerabilities;
};

static const struct member members[] = {
	{ "head", "34", "pregnant_lactating" },
	{ "child", "4", "" },
	{ "spouse", "x", "disability elderly_alone" },
};
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

static void
str(struct expr_value *out, const char *s, int multi)
{
	out->kind = EXPR_STR;
	out->str = s;
	out->is_multi = multi;
}

static int
resolve(void *ctx, const void *item, const char *name, struct expr_value *out)
{
	const struct member *m = item;

	memset(out, 0, sizeof(*out));
	if (name == NULL) {
		str(out, m ? m->relationship : "SS-001", 0);
		return 0;
	}
	if (strcmp(name, "members") == 0) {
		out->kind = EXPR_REPEAT;
		out->repeat = members;
		out->count = NMEMBERS;
		return 0;
	}
	if (m && strcmp(name, "relationship") == 0)
		str(out, m->relationship, 0);
	else if (m && strcmp(name, "age") == 0)
		str(out, m->age, 0);
	else if (m && strcmp(name, "vulnerabilities") == 0)
		str(out, m->vulnerabilities, 1);
	else if (strcmp(name, "n") == 0) {
		out->kind = EXPR_NUM;
		out->num = 12;
	} else if (strcmp(name, "b") == 0) {
		out->kind = EXPR_BOOL;
		out->boolean = 1;
	} else if (strcmp(name, "needs") == 0)
		str(out, "food water", 1);
	else if (strcmp(name, "date") == 0)
		str(out, "2026-11-27", 0);
	else if (strcmp(name, "pattern") == 0)
		str(out, "[a-z]+(-[0-9]{1,3})?", 0);
	else if (strcmp(name, "unknown") == 0)
		return -1;
	else
		out->kind = EXPR_EMPTY;
	return 0;
}

static const void *
enter(void *ctx, const void *repeat, size_t i)
{
	return i < NMEMBERS ? &((const struct member *)repeat)[i] : NULL;
}

static void
name_seen(void *arg, const char *name)
{
	(*(size_t *)arg) += strlen(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expr_env env = { .resolve = resolve, .enter = enter,
	    .today = "2026-11-29" };
	struct expr *e;
	char *src, err[128];
	size_t seen = 0;

	if ((src = malloc(size + 1)) == NULL)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';	/* text stops at a NUL inside, as in a form */
	if (expr_parse(src, &e, err, sizeof(err)) == 0) {
		expr_names(e, name_seen, &seen);
		(void)expr_eval_bool(e, &env);
		env.item = &members[0];
		(void)expr_eval_bool(e, &env);
		expr_free(e);
	}
	free(src);
	return 0;
}

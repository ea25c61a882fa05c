/* fuzz_expr: any text as a constraint/relevant expression, evaluated
   against a small fixed record with a repeat group. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form/expr.h"

static const char *items[3][2] = { { "head", "34" }, { "child", "4" },
    { "spouse", "x" } };

static int
resolve(void *ctx, const void *item, const char *name, struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (name == NULL || strcmp(name, "members") == 0) {
		out->kind = EXPR_REPEAT;
		out->repeat = items;
		out->count = 3;
		return 0;
	}
	if (item && strcmp(name, "relationship") == 0) {
		out->kind = EXPR_STR;
		out->str = ((const char *const *)item)[0];
		return 0;
	}
	if (item && strcmp(name, "age") == 0) {
		out->kind = EXPR_STR;
		out->str = ((const char *const *)item)[1];
		return 0;
	}
	if (strcmp(name, "n") == 0) {
		out->kind = EXPR_NUM;
		out->num = 12;
		return 0;
	}
	if (strcmp(name, "needs") == 0) {
		out->kind = EXPR_STR;
		out->str = "food water";
		out->is_multi = 1;
		return 0;
	}
	out->kind = EXPR_EMPTY;
	return 0;
}

static const void *
enter(void *ctx, const void *repeat, size_t i)
{
	return items[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1), err[128];
	struct expr *e;

	memcpy(src, data, size);
	src[size] = '\0';
	if (expr_parse(src, &e, err, sizeof(err)) == 0) {
		struct expr_env env = { resolve, enter, NULL, NULL, "2026-11-29" };
		expr_eval_bool(e, &env);
		env.item = items[0];
		expr_eval_bool(e, &env);
		expr_free(e);
	}
	free(src);
	return 0;
}

/*
 * validate.c: checks a record against its form.  Each field, in survey
 * order: is it relevant (a field that is not must be empty; a group that
 * is not makes every field inside it so), required, of its type, allowed
 * by its choice filter, equal to its calculation, and does it meet its
 * constraint.  Repeat items are checked field by field in their own
 * context.  Every error is collected; reasons name the rule, never the
 * value.
 */
#include "form/form_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

/*
 * A select_multiple answer given as an array reaches expressions as its
 * names joined by spaces.  Each answer is joined once and kept until the
 * validation ends, as an expression may hold any number of them at once.
 */
struct vjoin {
	const json_t *v;
	char *s;
};

/*
 * The answers table lives on the stack: on the heap, a table for a large
 * form is a large allocation, and glibc merges the small chunks freed
 * before it (a record's JSON just parsed and dropped) then, which cost
 * more than the lookups it saves.  Larger forms look answers up by name.
 */
#define V_FIELDS 128

struct vctx {
	const struct form *f;
	const json_t *rec;
	const struct form_field *cur;	/* the field `.` means */
	const json_t *curval;
	struct vjoin *joins;		/* select_multiple answers, joined */
	size_t n_joins, cap_joins;
	int oom;
	size_t position;		/* the current repeat item, from 1 */
	const struct form_list *list;	/* the choice a filter reads, */
	const struct form_choice *choice;	/* in its list */
	unsigned char *grel;		/* per group: relevant here */
	/* form_validate only, for a form of up to V_FIELDS fields (NULL
	   otherwise): each top-level field's answer and, while an item is
	   checked, each of its fields', by field index, read once from the
	   objects' keys rather than looked up by name again for every field
	   and every ${name} */
	const json_t **vals, **ivals;
	char now[40];			/* now(), UTC */
};

/* The names of a select_multiple array, joined; "" when out of memory
   (c->oom then says so). */
static const char *
v_join(struct vctx *c, const json_t *v)
{
	size_t len = 0, i;
	json_t *x;
	char *s;

	for (i = 0; i < c->n_joins; i++)
		if (c->joins[i].v == v)
			return c->joins[i].s;
	json_array_foreach(v, i, x)
		if (json_is_string(x))
			len += json_string_length(x) + 1;
	if (c->n_joins == c->cap_joins) {
		size_t cap = c->cap_joins ? c->cap_joins * 2 : 8;
		struct vjoin *j = realloc(c->joins, cap * sizeof(*j));
		if (j == NULL) {
			c->oom = 1;
			return "";
		}
		c->joins = j;
		c->cap_joins = cap;
	}
	if ((s = malloc(len + 1)) == NULL) {
		c->oom = 1;
		return "";
	}
	len = 0;
	s[0] = '\0';
	json_array_foreach(v, i, x) {
		const char *n = json_string_value(x);
		if (n == NULL)
			continue;
		if (len)
			s[len++] = ' ';
		memcpy(s + len, n, strlen(n) + 1);
		len += strlen(n);
	}
	c->joins[c->n_joins].v = v;
	c->joins[c->n_joins++].s = s;
	return s;
}

static int
v_empty(const json_t *v)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

/* A JSON answer as an expression value. */
static void
v_value(struct vctx *c, const struct form_field *fd, const json_t *v,
    struct expr_value *out)
{
	memset(out, 0, sizeof(*out));
	if (v_empty(v)) {
		out->kind = fd->type == FT_REPEAT ? EXPR_REPEAT : EXPR_EMPTY;
		out->repeat = NULL;
		out->count = 0;
		return;
	}
	if (fd->type == FT_REPEAT) {
		if (json_is_array(v)) {
			out->kind = EXPR_REPEAT;
			out->repeat = v;
			out->count = json_array_size(v);
		} else {
			out->kind = EXPR_EMPTY;
		}
		return;
	}
	if (json_is_number(v)) {
		out->kind = EXPR_NUM;
		out->num = json_number_value(v);
	} else if (json_is_string(v)) {
		out->kind = EXPR_STR;
		out->str = json_string_value(v);
		out->is_multi = fd->type == FT_SELECT_MULTIPLE;
		out->is_date = fd->type == FT_DATE || fd->type == FT_DATETIME;
	} else if (json_is_boolean(v)) {
		out->kind = EXPR_BOOL;
		out->boolean = json_is_true(v);
	} else if (json_is_array(v)) {
		/* select_multiple: the names, space-separated */
		out->kind = EXPR_STR;
		out->str = v_join(c, v);
		out->is_multi = 1;
	} else {
		out->kind = EXPR_EMPTY;
	}
}

static int
v_resolve(void *ctx, const void *item, const char *name,
    struct expr_value *out)
{
	struct vctx *c = ctx;
	const struct form_field *fd;
	const json_t *v;
	int i;

	if (name == NULL) {
		v_value(c, c->cur, c->curval, out);
		return 0;
	}
	if ((i = form_field_index(c->f, name)) < 0)
		return -1;
	fd = &c->f->fields[i];
	if (!form_type_has_value(fd->type))
		v = NULL;	/* a note or a group: empty */
	else if (fd->parent >= 0)
		v = item ? json_object_get((const json_t *)item, name) : NULL;
	else if (c->vals)
		v = c->vals[i];
	else
		v = json_object_get(c->rec, name);
	v_value(c, fd, v, out);
	return 0;
}

static const void *
v_enter(void *ctx, const void *repeat, size_t i)
{
	(void)ctx;
	return json_array_get((const json_t *)repeat, i);
}

/*
 * A repeat's field named from outside the repeat (sum(${age}) at the top
 * of the form): the repeat's items.  From inside an item of that repeat
 * the name means the item's own value, as in ODK, so it is no node-set.
 */
static int
v_nodes(void *ctx, const void *item, const char *name, const void **rep,
    size_t *count)
{
	struct vctx *c = ctx;
	const json_t *arr;
	int i = form_field_index(c->f, name);

	if (i < 0 || c->f->fields[i].parent < 0)
		return -1;
	arr = json_object_get(c->rec, c->f->fields[c->f->fields[i].parent].name);
	if (item != NULL) {
		size_t k;
		json_t *x;
		json_array_foreach(arr, k, x)
			if (x == item)
				return -1;
	}
	*rep = arr;
	*count = json_is_array(arr) ? json_array_size(arr) : 0;
	return 0;
}

/* A choice filter's bare name: the column of the choice being checked. */
static int
v_column(void *ctx, const char *name, struct expr_value *out)
{
	struct vctx *c = ctx;
	const char *v = c->choice ? form_choice_col(c->list, c->choice, name) :
	    NULL;

	memset(out, 0, sizeof(*out));
	if (v != NULL) {
		out->kind = EXPR_STR;
		out->str = v;
	}
	return 0;
}

static const char *
v_choice_label(void *ctx, const char *field, const char *value)
{
	struct vctx *c = ctx;
	int i = form_field_index(c->f, field);
	const struct form_choice *ch;

	if (i < 0 || c->f->fields[i].list < 0 || (ch = form_list_find(
	    &c->f->lists[c->f->fields[i].list], value)) == NULL)
		return "";
	return ch->label;
}

static void
v_env(struct vctx *c, const json_t *item, const char *today,
    struct expr_env *env)
{
	memset(env, 0, sizeof(*env));
	env->resolve = v_resolve;
	env->enter = v_enter;
	env->ctx = c;
	env->item = item;
	env->today = today;
	env->nodes = v_nodes;
	env->column = v_column;
	env->choice_label = v_choice_label;
	env->position = item ? c->position : 0;
	env->now = c->now;
}

/* Evaluates e for field fd with value v inside item: 1, 0 or -1. */
static int
v_eval(struct vctx *c, const struct expr *e, const struct form_field *fd,
    const json_t *v, const json_t *item, const char *today)
{
	struct expr_env env;

	v_env(c, item, today, &env);
	c->cur = fd;
	c->curval = v;
	return expr_eval_bool(e, &env);
}

static int
v_utf8_ok(const char *s)
{
	/* jansson only makes valid UTF-8 strings; refuse control bytes. */
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\r' &&
		    *s != '\t')
			return 0;
	return 1;
}

static int
v_choice_ok(const struct form_list *l, const char *s)
{
	return s != NULL && form_list_has(l, s);
}

static int
v_digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * A time as ODK writes it: "HH:MM" or "HH:MM:SS", with optional
 * fractions of a second, and an optional offset (Z or +-HH:MM).
 */
static int
v_time_ok(const char *s)
{
	if (!v_digits(s, 2) || s[2] != ':' || !v_digits(s + 3, 2) ||
	    atoi(s) > 23 || atoi(s + 3) > 59)
		return 0;
	s += 5;
	if (*s == ':') {
		if (!v_digits(s + 1, 2) || atoi(s + 1) > 59)
			return 0;
		s += 3;
		if (*s == '.') {
			if (!isdigit((unsigned char)s[1]))
				return 0;
			for (s++; isdigit((unsigned char)*s); s++)
				;
		}
	}
	if (*s == 'Z')
		return s[1] == '\0';
	if (*s == '+' || *s == '-')
		return v_digits(s + 1, 2) && s[3] == ':' && v_digits(s + 4, 2) &&
		    atoi(s + 1) <= 14 && atoi(s + 4) <= 59 && s[6] == '\0';
	return *s == '\0';
}

/* A date and time: "YYYY-MM-DDTHH:MM[:SS[.sss]]" and an offset, which
   ODK always sends (Z or +-HH:MM). */
static int
v_datetime_ok(const char *s)
{
	char d[11];
	size_t n = strlen(s);

	if (n < 17 || s[10] != 'T')
		return 0;
	memcpy(d, s, 10);
	d[10] = '\0';
	if (!form_date_ok(d) || !v_time_ok(s + 11))
		return 0;
	return s[n - 1] == 'Z' || (n >= 6 && (s[n - 6] == '+' ||
	    s[n - 6] == '-'));
}

/* Type checks: 0 when v is of fd's type, else one error and -1. */
static int
v_type(const struct form *f, const struct form_field *fd, const json_t *v,
    const char *path, struct form_errors *errs)
{
	const struct form_list *l = fd->list >= 0 ? &f->lists[fd->list] : NULL;
	size_t i, j;
	json_t *x;

	/*
	 * A parser given JSON_ALLOW_NUL can make strings with a NUL inside;
	 * every check below reads C strings, so refuse them first.
	 */
	if (json_is_string(v) && strlen(json_string_value(v)) !=
	    json_string_length(v)) {
		form_error_add(errs, path, "must not hold NUL characters");
		return -1;
	}
	switch (fd->type) {
	case FT_TEXT:
		if (!json_is_string(v))
			break;
		if (json_string_length(v) > FORM_MAX_TEXT) {
			form_error_add(errs, path, "must be at most %d bytes",
			    FORM_MAX_TEXT);
			return -1;
		}
		if (!v_utf8_ok(json_string_value(v))) {
			form_error_add(errs, path, "must not hold control "
			    "characters");
			return -1;
		}
		return 0;
	case FT_INTEGER:
		if (json_is_integer(v))
			return 0;
		form_error_add(errs, path, "must be a whole number");
		return -1;
	case FT_DECIMAL:
		if (json_is_number(v) && isfinite(json_number_value(v)))
			return 0;
		form_error_add(errs, path, "must be a number");
		return -1;
	case FT_DATE:
		if (json_is_string(v) && form_date_ok(json_string_value(v)))
			return 0;
		form_error_add(errs, path, "must be a date YYYY-MM-DD");
		return -1;
	case FT_SELECT_ONE:
		if (json_is_string(v) && v_choice_ok(l, json_string_value(v)))
			return 0;
		form_error_add(errs, path, "must be one of the choices of %s",
		    l->name);
		return -1;
	case FT_SELECT_MULTIPLE:
		if (json_is_string(v)) {
			/* ODK's form: names separated by spaces */
			const char *s = json_string_value(v);
			char name[FORM_CHOICE_NAME_MAX];
			size_t n = 0;
			while (*s) {
				size_t len;
				while (*s == ' ')
					s++;
				len = strcspn(s, " ");
				if (len == 0)
					break;
				if (len >= sizeof(name) || ++n > l->n)
					goto bad_multi;
				memcpy(name, s, len);
				name[len] = '\0';
				if (!form_list_has(l, name))
					goto bad_multi;
				/* the same name twice, as the array form */
				for (const char *t = json_string_value(v);;) {
					size_t tl;

					if ((t += strspn(t, " ")) >= s)
						break;
					tl = strcspn(t, " ");
					if (tl == len &&
					    memcmp(t, name, len) == 0) {
						form_error_add(errs, path,
						    "repeats a choice");
						return -1;
					}
					t += tl;
				}
				s += len;
			}
			if (n == 0)	/* only spaces: not an answer */
				goto bad_multi;
			return 0;
		}
		if (!json_is_array(v) || json_array_size(v) > l->n)
			goto bad_multi;
		json_array_foreach(v, i, x) {
			if (!v_choice_ok(l, json_string_value(x)))
				goto bad_multi;
			for (j = 0; j < i; j++)
				if (json_equal(x, json_array_get(v, j))) {
					form_error_add(errs, path, "repeats a "
					    "choice");
					return -1;
				}
		}
		return 0;
bad_multi:
		form_error_add(errs, path, "must be a list of choices of %s",
		    l->name);
		return -1;
	case FT_GEOPOINT: {
		double g[4];
		int ha, hc;

		if (json_is_string(v)) {
			if (form_geopoint_text(json_string_value(v), g, &ha,
			    &hc) != 0)
				goto bad_point;
		} else if (json_is_object(v)) {
			const char *key;
			json_t *val;
			json_object_foreach((json_t *)v, key, val) {
				if (strcmp(key, "latitude") && strcmp(key,
				    "longitude") && strcmp(key, "altitude") &&
				    strcmp(key, "accuracy"))
					goto bad_point;
				if (!json_is_number(val))
					goto bad_point;
			}
			if (!json_is_number(json_object_get(v, "latitude")) ||
			    !json_is_number(json_object_get(v, "longitude")))
				goto bad_point;
			g[0] = json_number_value(json_object_get(v, "latitude"));
			g[1] = json_number_value(json_object_get(v, "longitude"));
			g[3] = json_number_value(json_object_get(v, "accuracy"));
		} else {
			goto bad_point;
		}
		if (!(g[0] >= -90 && g[0] <= 90) || !(g[1] >= -180 &&
		    g[1] <= 180) || !(g[3] >= 0)) {
			form_error_add(errs, path, "latitude must be -90 to 90, "
			    "longitude -180 to 180, accuracy 0 or more");
			return -1;
		}
		return 0;
bad_point:
		form_error_add(errs, path, "must be a point {latitude, "
		    "longitude[, altitude, accuracy]}");
		return -1;
	}
	case FT_TIME:
		if (json_is_string(v) && v_time_ok(json_string_value(v)))
			return 0;
		form_error_add(errs, path, "must be a time HH:MM or HH:MM:SS");
		return -1;
	case FT_DATETIME:
		if (json_is_string(v) && v_datetime_ok(json_string_value(v)))
			return 0;
		form_error_add(errs, path, "must be a date and time "
		    "YYYY-MM-DDTHH:MM:SS with its offset");
		return -1;
	case FT_CALCULATE:
		if (json_is_string(v) && json_string_length(v) > FORM_MAX_TEXT) {
			form_error_add(errs, path, "must be at most %d bytes",
			    FORM_MAX_TEXT);
			return -1;
		}
		if ((json_is_string(v) && v_utf8_ok(json_string_value(v))) ||
		    (json_is_number(v) && isfinite(json_number_value(v))))
			return 0;
		form_error_add(errs, path, "must be text or a number");
		return -1;
	case FT_AUDIT:
		return 0;	/* ODK's audit log: taken, never read */
	case FT_ACKNOWLEDGE:
		if (json_is_string(v) && strcmp(json_string_value(v), "OK") == 0)
			return 0;
		form_error_add(errs, path, "must be OK (acknowledged)");
		return -1;
	case FT_NOTE:
	case FT_GROUP:
		return 0;	/* empty: v_field sees to it */
	case FT_REPEAT:
		if (!json_is_array(v))
			break;
		if (json_array_size(v) > FORM_MAX_REPEAT_ITEMS) {
			form_error_add(errs, path, "must have at most %d items",
			    FORM_MAX_REPEAT_ITEMS);
			return -1;
		}
		json_array_foreach(v, i, x)
			if (!json_is_object(x)) {
				form_error_add(errs, path, "items must be "
				    "objects");
				return -1;
			}
		return 0;
	}
	form_error_add(errs, path, fd->type == FT_REPEAT ?
	    "must be a list of groups" : "must be text");
	return -1;
}

static void v_item(struct vctx *c, int rep, const json_t *item, size_t idx,
    const char *today, struct form_errors *errs);

/* Evaluates e to a value for field fd; 0, or -1. */
static int
v_value_of(struct vctx *c, const struct expr *e, const struct form_field *fd,
    const json_t *v, const json_t *item, const char *today,
    struct expr_value *out, struct expr_scratch *s)
{
	struct expr_env env;

	v_env(c, item, today, &env);
	c->cur = fd;
	c->curval = v;
	s->used = 0;
	return expr_eval_value(e, &env, out, s);
}

/* A number an expression value holds (a number or numeric text), or NaN. */
static double
v_number(const struct expr_value *r)
{
	double d;

	if (r->kind == EXPR_NUM)
		return r->num;
	if (r->kind == EXPR_STR && expr_str_number(r->str, &d))
		return d;
	return NAN;
}

/*
 * A calculate field holds what its calculation gives, as ODK stores it:
 * numbers compare as numbers (12 and "12.0" agree, and so do two
 * computations of 0.1 + 0.2 rounded differently in their last digit),
 * anything else as text, exactly; an empty or NaN result means empty.
 */
static void
v_calc(struct vctx *c, const struct form_field *fd, const json_t *v,
    const json_t *item, const char *today, const char *path,
    struct form_errors *errs)
{
	struct expr_scratch s;
	struct expr_value r, got;
	char wbuf[32], gbuf[32];
	const char *want = NULL, *have = NULL;
	double a, b;
	int same;

	if (v_value_of(c, fd->calculation, fd, v, item, today, &r, &s) != 0) {
		form_error_add(errs, path, "calculation cannot be evaluated");
		return;
	}
	/* a number against a number, the usual case, needs no text */
	if (r.kind == EXPR_NUM && !isnan(r.num) && json_is_number(v)) {
		a = r.num;
		b = json_number_value(v);
		if (!(a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b))))
			form_error_add(errs, path, "does not match its "
			    "calculation");
		return;
	}
	if (!(r.kind == EXPR_EMPTY || (r.kind == EXPR_NUM && isnan(r.num))))
		want = expr_value_text(&r, wbuf);
	if (want && want[0] == '\0')
		want = NULL;
	if (!v_empty(v)) {
		v_value(c, fd, v, &got);
		have = expr_value_text(&got, gbuf);
	}
	if (want == NULL || have == NULL)
		same = want == have;
	else if (expr_str_number(want, &a) && expr_str_number(have, &b))
		same = a == b || fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
	else
		same = strcmp(want, have) == 0;
	if (!same)
		form_error_add(errs, path, "does not match its calculation");
}

/* Each choice made must be one the field's choice_filter allows: one of
   the rows of that name (several when the form allows duplicates). */
static void
v_filter(struct vctx *c, const struct form_field *fd, const json_t *v,
    const json_t *item, const char *today, const char *path,
    struct form_errors *errs)
{
	const struct form_list *l = &c->f->lists[fd->list];
	const char *names[2] = { NULL, NULL }, *s = NULL;
	char name[FORM_CHOICE_NAME_MAX];
	size_t k = 0;
	json_t *x;

	for (;;) {
		const struct form_choice *ch = NULL;
		int ok = 0;

		/* the next choice made: a string, an array's, a word's */
		if (json_is_array(v)) {
			if ((x = json_array_get(v, k++)) == NULL)
				return;
			names[0] = json_string_value(x);
		} else if (fd->type == FT_SELECT_ONE) {
			if (k++)
				return;
			names[0] = json_string_value(v);
		} else {
			size_t len;
			if (s == NULL)
				s = json_string_value(v);
			s += strspn(s, " ");
			if ((len = strcspn(s, " ")) == 0)
				return;
			snprintf(name, sizeof(name), "%.*s", (int)len, s);
			names[0] = name;
			s += len;
		}
		while (!ok && (ch = form_list_find_from(l, names[0], ch))) {
			c->list = l;
			c->choice = ch;
			ok = v_eval(c, fd->choice_filter, fd, v, item, today);
			c->choice = NULL;
			if (ok < 0) {
				form_error_add(errs, path, "choice_filter cannot "
				    "be evaluated");
				return;
			}
		}
		if (!ok) {
			form_error_add(errs, path, "is not among the choices "
			    "its choice_filter allows");
			return;
		}
	}
}

/* A repeat with a repeat_count has exactly that many items, when the
   count is a number. */
static void
v_repeat_count(struct vctx *c, const struct form_field *fd, const json_t *v,
    const char *today, const char *path, struct form_errors *errs)
{
	struct expr_scratch s;
	struct expr_value r;
	double n;

	if (v_value_of(c, fd->repeat_count, fd, v, NULL, today, &r, &s) != 0) {
		form_error_add(errs, path, "repeat_count cannot be evaluated");
		return;
	}
	n = v_number(&r);
	if (!isnan(n) && n != (double)(json_is_array(v) ? json_array_size(v) :
	    0))
		form_error_add(errs, path, "must have as many items as its "
		    "repeat_count");
}

static void
v_field(struct vctx *c, int fi, const json_t *v, const json_t *item,
    const char *path, const char *today, struct form_errors *errs)
{
	const struct form_field *fd = &c->f->fields[fi];
	/* a group that is not relevant makes all inside it so */
	int rel = fd->group < 0 || c->grel[fd->group];

	if (rel && fd->relevant) {
		rel = v_eval(c, fd->relevant, fd, v, item, today);
		if (rel < 0) {
			form_error_add(errs, path, "relevance cannot be "
			    "evaluated");
			if (fd->type == FT_GROUP)
				c->grel[fi] = 1;	/* one error, not one
							   per field inside */
			return;
		}
	}
	if (fd->type == FT_GROUP)
		c->grel[fi] = (unsigned char)rel;
	if (!form_type_has_value(fd->type)) {
		if (!v_empty(v))
			form_error_add(errs, path, fd->type == FT_NOTE ?
			    "a note holds no value" : "a group holds no value "
			    "(its fields are stored beside it)");
		return;
	}
	if (v_empty(v)) {
		if (rel && fd->required)
			form_error_add(errs, path, "required");
		else if (rel && fd->type == FT_CALCULATE && !fd->volatile_calc)
			v_calc(c, fd, v, item, today, path, errs);
		else if (rel && fd->repeat_count)
			v_repeat_count(c, fd, v, today, path, errs);
		return;
	}
	if (!rel) {
		form_error_add(errs, path, "not relevant here, must be empty");
		return;
	}
	if (v_type(c->f, fd, v, path, errs) != 0)
		return;
	if (fd->choice_filter)
		v_filter(c, fd, v, item, today, path, errs);
	if (fd->type == FT_CALCULATE && !fd->volatile_calc)
		v_calc(c, fd, v, item, today, path, errs);
	if (fd->type == FT_REPEAT) {
		size_t i;
		json_t *x;
		if (fd->repeat_count)
			v_repeat_count(c, fd, v, today, path, errs);
		json_array_foreach(v, i, x)
			v_item(c, fi, x, i, today, errs);
	}
	if (fd->constraint) {
		int ok = v_eval(c, fd->constraint, fd, v, item, today);
		if (ok < 0)
			form_error_add(errs, path, "constraint cannot be "
			    "evaluated");
		else if (!ok)
			form_error_add(errs, path, "%s", fd->message ?
			    fd->message : "does not meet the form's constraint");
	}
}

/* Writes "name[n]." into path (size bytes; a name is shorter than
   FORM_NAME_MAX, so it fits whole) and gives its length. */
static size_t
v_item_path(char *path, size_t size, const char *name, size_t n)
{
	char digits[24];
	size_t len = strnlen(name, size - sizeof(digits) - 3), d = 0;

	memcpy(path, name, len);
	path[len++] = '[';
	do
		digits[d++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	while (d > 0)
		path[len++] = digits[--d];
	path[len++] = ']';
	path[len++] = '.';
	path[len] = '\0';
	return len;
}

static void
v_item(struct vctx *c, int rep, const json_t *item, size_t idx,
    const char *today, struct form_errors *errs)
{
	const char *rname = c->f->fields[rep].name;
	char path[sizeof(((struct form_error *)0)->path)];
	const char *key;
	const json_t *x;
	json_t *v;

	json_object_foreach((json_t *)item, key, v) {
		int i = form_field_index(c->f, key);
		if (i < 0 || c->f->fields[i].parent != rep) {
			snprintf(path, sizeof(path), "%s[%zu].%.40s", rname,
			    idx + 1, key);
			form_error_add(errs, path, "unknown field");
		} else if (c->ivals) {
			c->ivals[i] = v;
		}
	}
	/* "members[2]." once, each field's name after it (no snprintf: this
	   runs for every item of every record) */
	size_t plen = v_item_path(path, sizeof(path), rname, idx + 1);
	for (size_t i = 0; i < c->f->n_fields; i++) {
		const char *name = c->f->fields[i].name;
		size_t nlen = strlen(name);

		if (c->f->fields[i].parent != rep)
			continue;
		if (plen + nlen >= sizeof(path))
			nlen = sizeof(path) - plen - 1;
		memcpy(path + plen, name, nlen);
		path[plen + nlen] = '\0';
		c->position = idx + 1;
		if (c->ivals) {
			x = c->ivals[i];
			c->ivals[i] = NULL;	/* ready for the next item */
		} else {
			x = json_object_get(item, name);
		}
		v_field(c, (int)i, x, item, path, today, errs);
	}
	c->position = 0;
}

static void
v_meta(const struct form *f, const char *key, const json_t *v,
    struct form_errors *errs)
{
	if (strcmp(key, "_id") == 0) {
		if (!json_is_string(v) || !util_is_uuid(json_string_value(v)))
			form_error_add(errs, "_id", "must be a UUID");
	} else if (strcmp(key, "_form") == 0) {
		if (!json_is_string(v) || strcmp(json_string_value(v), f->id))
			form_error_add(errs, "_form", "names another form");
	} else if (strcmp(key, "_version") == 0) {
		if (!json_is_string(v) || strcmp(json_string_value(v),
		    f->version))
			form_error_add(errs, "_version", "names another version");
	} else {
		form_error_add(errs, key, "unknown metadata key");
	}
}

int
form_validate(const struct form *f, const json_t *rec, const char *today,
    struct form_errors *errs)
{
	const json_t *vals[2 * (V_FIELDS + 1)];
	struct vctx *c;
	const char *key;
	json_t *v;
	size_t before = errs->n + errs->dropped;

	if (!json_is_object(rec)) {
		form_error_add(errs, "", "a record must be a JSON object");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) != NULL &&
	    (c->grel = calloc(f->n_fields + 1, 1)) != NULL &&
	    f->n_fields <= V_FIELDS) {
		memset(vals, 0, 2 * (f->n_fields + 1) * sizeof(*vals));
		c->vals = vals;
		c->ivals = vals + f->n_fields + 1;
	}
	json_object_foreach((json_t *)rec, key, v) {
		int i = key[0] == '_' ? -1 : form_field_index(f, key);

		if (key[0] == '_') {
			v_meta(f, key, v, errs);
			/* a field may still be called so, and is answered */
			if (c && c->vals && (i = form_field_index(f, key)) >= 0 &&
			    f->fields[i].parent < 0)
				c->vals[i] = v;
			continue;
		}
		if (i < 0 || f->fields[i].parent >= 0)
			form_error_add(errs, strlen(key) < 64 ? key : "(long)",
			    "unknown field");
		else if (c && c->vals)
			c->vals[i] = v;
	}
	if (c == NULL || c->grel == NULL) {
		free(c);
		form_error_add(errs, "", "out of memory");
		return -1;
	}
	c->f = f;
	c->rec = rec;
	{
		/* formatted once a second, not once a record */
		static _Thread_local time_t at = -1;
		static _Thread_local char now[sizeof(c->now)];
		time_t t = time(NULL);
		struct tm tm;

		if (t != at && gmtime_r(&t, &tm) != NULL &&
		    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S.000+00:00",
		    &tm) > 0)
			at = t;
		if (t == at)
			memcpy(c->now, now, sizeof(now));
	}
	for (size_t i = 0; i < f->n_fields; i++)
		if (f->fields[i].parent < 0)
			v_field(c, (int)i, c->vals ? c->vals[i] :
			    json_object_get(rec, f->fields[i].name), NULL,
			    f->fields[i].name, today, errs);
	if (c->oom)
		form_error_add(errs, "", "out of memory");
	for (size_t i = 0; i < c->n_joins; i++)
		free(c->joins[i].s);
	free(c->joins);
	free(c->grel);
	free(c);
	return errs->n + errs->dropped > before ? -1 : 0;
}

/*
 * What a client shows and sends, from the same rules (form_state in
 * form.h).  One pass walks the fields in survey order as form_validate
 * does, on a copy of the record: a field that is not relevant is emptied,
 * a calculation is written in; as one answer may change another's
 * relevance or calculation further up, passes repeat until nothing moves.
 */
struct sctx {
	struct vctx v;
	json_t *off;			/* last pass: paths not relevant */
	json_t *count;			/* repeat name -> repeat_count */
	const char *today;
	int changed;
};

/* A calculation's result as a stored answer: NULL for empty. */
static json_t *
s_calc_json(const struct expr_value *r)
{
	char buf[32];
	const char *t;

	if (r->kind == EXPR_EMPTY || (r->kind == EXPR_NUM && isnan(r->num)))
		return NULL;
	if (r->kind == EXPR_NUM && isfinite(r->num)) {
		if (r->num == floor(r->num) && fabs(r->num) < 9e15)
			return json_integer((json_int_t)r->num);
		return json_real(r->num);
	}
	t = expr_value_text(r, buf);
	return t[0] ? json_string(t) : NULL;
}

static void
s_set(struct sctx *s, json_t *holder, const char *name, json_t *v)
{
	json_t *old = json_object_get(holder, name);

	if (v == NULL) {
		if (old != NULL) {
			json_object_del(holder, name);
			s->changed = 1;
		}
		return;
	}
	if (old != NULL && json_equal(old, v)) {
		json_decref(v);
		return;
	}
	json_object_set_new(holder, name, v);
	s->changed = 1;
}

static void s_item(struct sctx *s, int rep, json_t *item, size_t idx,
    int last);

static void
s_field(struct sctx *s, int fi, json_t *holder, json_t *item,
    const char *path, int last)
{
	struct vctx *c = &s->v;
	const struct form_field *fd = &c->f->fields[fi];
	json_t *v = json_object_get(holder, fd->name);
	int rel = fd->group < 0 || c->grel[fd->group];

	if (rel && fd->relevant &&
	    v_eval(c, fd->relevant, fd, v, item, s->today) == 0)
		rel = 0;		/* an error leaves the field asked */
	if (fd->type == FT_GROUP)
		c->grel[fi] = (unsigned char)rel;
	if (!rel) {
		if (last)
			json_array_append_new(s->off, json_string(path));
		if (form_type_has_value(fd->type))
			s_set(s, holder, fd->name, NULL);
		return;
	}
	if (fd->type == FT_CALCULATE && !(fd->volatile_calc && !v_empty(v))) {
		struct expr_scratch sc;
		struct expr_value r;

		if (v_value_of(c, fd->calculation, fd, v, item, s->today, &r,
		    &sc) == 0)
			s_set(s, holder, fd->name, s_calc_json(&r));
		return;
	}
	if (fd->type == FT_REPEAT) {
		if (fd->repeat_count && item == NULL) {
			struct expr_scratch sc;
			struct expr_value r;
			double n;

			if (v_value_of(c, fd->repeat_count, fd, v, NULL,
			    s->today, &r, &sc) == 0 && !isnan(n = v_number(&r)) &&
			    last)
				json_object_set_new(s->count, fd->name,
				    json_real(n));
		}
		if (json_is_array(v)) {
			size_t i;
			json_t *x;
			json_array_foreach(v, i, x)
				if (json_is_object(x))
					s_item(s, fi, x, i, last);
		}
	}
}

static void
s_item(struct sctx *s, int rep, json_t *item, size_t idx, int last)
{
	struct vctx *c = &s->v;
	char path[sizeof(((struct form_error *)0)->path)];

	for (size_t i = 0; i < c->f->n_fields; i++) {
		if (c->f->fields[i].parent != rep)
			continue;
		snprintf(path, sizeof(path), "%s[%zu].%s",
		    c->f->fields[rep].name, idx + 1, c->f->fields[i].name);
		c->position = idx + 1;
		s_field(s, (int)i, item, item, path, last);
	}
	c->position = 0;
}

static void
s_free_joins(struct vctx *c)
{
	for (size_t i = 0; i < c->n_joins; i++)
		free(c->joins[i].s);
	c->n_joins = 0;
}

json_t *
form_state(const struct form *f, const json_t *rec, const char *today,
    const char *now)
{
	struct sctx s;
	json_t *copy, *out;
	int pass;

	if (!json_is_object(rec) || (copy = json_deep_copy(rec)) == NULL)
		return NULL;
	memset(&s, 0, sizeof(s));
	s.today = today;
	s.off = json_array();
	s.count = json_object();
	s.v.f = f;
	s.v.rec = copy;
	if (now != NULL)
		snprintf(s.v.now, sizeof(s.v.now), "%s", now);
	if ((s.v.grel = calloc(f->n_fields + 1, 1)) == NULL || !s.off ||
	    !s.count) {
		free(s.v.grel);
		json_decref(copy);
		json_decref(s.off);
		json_decref(s.count);
		return NULL;
	}
	/* each pass may settle one more link of a chain; the last pass,
	   which changes nothing, writes what is shown */
	for (pass = 0; pass < 16; pass++) {
		int last = pass > 0 && !s.changed;

		s.changed = 0;
		for (size_t i = 0; i < f->n_fields; i++)
			if (f->fields[i].parent < 0)
				s_field(&s, (int)i, copy, NULL,
				    f->fields[i].name, last);
		/* answers moved: joined select_multiple texts are stale */
		s_free_joins(&s.v);
		if (last)
			break;
	}
	free(s.v.joins);
	free(s.v.grel);
	out = json_pack("{s:o, s:o, s:o, s:b}", "record", copy, "off", s.off,
	    "count", s.count, "settled", pass < 16);
	return out;
}

json_t *
form_choices_allowed(const struct form *f, const json_t *rec,
    const char *field, int item, const char *today)
{
	struct vctx c;
	struct expr_env env;
	const struct form_field *fd;
	const struct form_list *l;
	const json_t *it = NULL;
	json_t *out;
	int i = form_field_index(f, field);

	if (i < 0 || f->fields[i].list < 0 || !json_is_object(rec))
		return NULL;
	fd = &f->fields[i];
	l = &f->lists[fd->list];
	if (fd->parent >= 0) {
		it = json_array_get(json_object_get(rec,
		    f->fields[fd->parent].name), (size_t)item);
		if (!json_is_object(it))
			return NULL;
	}
	if ((out = json_array()) == NULL)
		return NULL;
	memset(&c, 0, sizeof(c));
	c.f = f;
	c.rec = rec;
	c.position = fd->parent >= 0 ? (size_t)item + 1 : 0;
	for (size_t k = 0; k < l->n; k++) {
		int ok = 1;
		if (fd->choice_filter) {
			c.list = l;
			c.choice = &l->choices[k];
			v_env(&c, it, today, &env);
			c.cur = fd;
			c.curval = json_object_get(it ? it : rec, fd->name);
			ok = expr_eval_bool(fd->choice_filter, &env) == 1;
		}
		if (ok)
			json_array_append_new(out, json_integer((json_int_t)k));
	}
	s_free_joins(&c);
	free(c.joins);
	return out;
}

/*
 * values.c: a validated JSON record to the protobuf values that are
 * sealed, and back.  The tree form_values builds lives in a few blocks of
 * its own, freed together by form_values_free: it borrows the form's
 * field names and the record's strings (a submit seals them at once and
 * drops the tree), where a malloc and a copy of each string were a tenth
 * of a submit's instructions.
 */
#include "form/form_impl.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/*
 * The blocks: the first holds the header, then r->values, so that
 * form_values_free finds the chain from r->values alone.  Under 1 KiB
 * with the header, as glibc's per-thread cache serves: a larger request
 * first merges every small chunk freed before it (in fieldd, the
 * requests' JSON, freed on the loop thread), and the writer thread
 * would pay for that.  A household of three takes a few blocks.
 */
#define VALUES_BLOCK 960

struct vblock {
	struct vblock *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct vpool {
	struct vblock *first, *cur;
};

static void *
vpool_alloc(struct vpool *p, size_t n)
{
	struct vblock *b = p->cur;
	size_t a = alignof(max_align_t);

	n = (n + a - 1) / a * a;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > VALUES_BLOCK ? n : VALUES_BLOCK;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->next = NULL;
		b->used = 0;
		b->cap = cap;
		if (p->cur)
			p->cur->next = b;
		else
			p->first = b;
		p->cur = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static void
vpool_free(struct vblock *b)
{
	while (b) {
		struct vblock *next = b->next;
		free(b);
		b = next;
	}
}

void
form_values_free(Field__Record *r)
{
	/* r->values is the first thing in the first block */
	if (r->values)
		vpool_free((struct vblock *)((unsigned char *)r->values -
		    offsetof(struct vblock, data)));
	r->values = NULL;
	r->n_values = 0;
}

static int
values_choices(struct vpool *p, Field__Value *v, const json_t *x)
{
	Field__Choices *c = vpool_alloc(p, sizeof(*c));
	size_t cap = json_is_array(x) ? json_array_size(x) : 1;
	const char *s;

	if (c == NULL)
		return -1;
	field__choices__init(c);
	v->choices = c;
	v->v_case = FIELD__VALUE__V_CHOICES;
	if (json_is_string(x)) {	/* "a b c" */
		cap = 1;
		for (s = json_string_value(x); *s; s++)
			cap += *s == ' ';
	}
	if ((c->names = vpool_alloc(p, cap * sizeof(char *))) == NULL)
		return -1;
	if (json_is_array(x)) {
		size_t i;
		json_t *e;
		json_array_foreach(x, i, e)
			c->names[c->n_names++] = (char *)json_string_value(e);
		return 0;
	}
	for (s = json_string_value(x); *s;) {
		size_t len;
		char *name;
		while (*s == ' ')
			s++;
		if ((len = strcspn(s, " ")) == 0)
			break;
		if ((name = vpool_alloc(p, len + 1)) == NULL)
			return -1;
		memcpy(name, s, len);
		name[len] = '\0';
		c->names[c->n_names++] = name;
		s += len;
	}
	return 0;
}

static int
values_point(struct vpool *p, Field__Value *v, const json_t *x)
{
	Field__GeoPoint *g = vpool_alloc(p, sizeof(*g));
	double pt[4] = { 0 };
	int ha = 0, hc = 0;

	if (g == NULL)
		return -1;
	field__geo_point__init(g);
	v->geopoint = g;
	v->v_case = FIELD__VALUE__V_GEOPOINT;
	if (json_is_string(x)) {
		if (form_geopoint_text(json_string_value(x), pt, &ha, &hc) != 0)
			return -1;
	} else {
		pt[0] = json_number_value(json_object_get(x, "latitude"));
		pt[1] = json_number_value(json_object_get(x, "longitude"));
		ha = json_object_get(x, "altitude") != NULL;
		hc = json_object_get(x, "accuracy") != NULL;
		pt[2] = json_number_value(json_object_get(x, "altitude"));
		pt[3] = json_number_value(json_object_get(x, "accuracy"));
	}
	g->latitude = pt[0];
	g->longitude = pt[1];
	g->altitude = pt[2];
	g->accuracy = pt[3];
	g->has_altitude = ha;
	g->has_accuracy = hc;
	return 0;
}

static int values_build(struct vpool *p, const struct form *f,
    const json_t *obj, int parent, Field__Value ***out, size_t *n);

static int
values_one(struct vpool *p, const struct form *f, int fi, const json_t *x,
    Field__Value **out)
{
	const struct form_field *fd = &f->fields[fi];
	Field__Value *v = vpool_alloc(p, sizeof(*v));

	if ((*out = v) == NULL)
		return -1;
	field__value__init(v);
	v->name = (char *)fd->name;
	switch (fd->type) {
	case FT_CALCULATE:
		/* as stored: a number stays one */
		if (json_is_integer(x)) {
			v->v_case = FIELD__VALUE__V_INTEGER;
			v->integer = json_integer_value(x);
			return 0;
		}
		if (json_is_number(x)) {
			v->v_case = FIELD__VALUE__V_DECIMAL;
			v->decimal = json_number_value(x);
			return 0;
		}
		break;
	case FT_INTEGER:
		v->v_case = FIELD__VALUE__V_INTEGER;
		v->integer = json_integer_value(x);
		return 0;
	case FT_DECIMAL:
		v->v_case = FIELD__VALUE__V_DECIMAL;
		v->decimal = json_number_value(x);
		return 0;
	case FT_SELECT_MULTIPLE:
		return values_choices(p, v, x);
	case FT_GEOPOINT:
		return values_point(p, v, x);
	case FT_REPEAT: {
		Field__Repeat *r = vpool_alloc(p, sizeof(*r));
		size_t i;
		json_t *item;

		if (r == NULL)
			return -1;
		field__repeat__init(r);
		v->repeat = r;
		v->v_case = FIELD__VALUE__V_REPEAT;
		if ((r->items = vpool_alloc(p, (json_array_size(x) + 1) *
		    sizeof(*r->items))) == NULL)
			return -1;
		json_array_foreach(x, i, item) {
			Field__Group *g = vpool_alloc(p, sizeof(*g));
			if (g == NULL)
				return -1;
			field__group__init(g);
			r->items[r->n_items++] = g;
			if (values_build(p, f, item, fi, &g->values,
			    &g->n_values) != 0)
				return -1;
		}
		return 0;
	}
	default:
		break;
	}
	/* text, dates, times, choices, calculated text */
	v->v_case = FIELD__VALUE__V_TEXT;
	return (v->text = (char *)json_string_value(x)) ? 0 : -1;
}

/* The fields of parent (-1: the top level) that have a value in obj. */
static size_t
values_room(const struct form *f, int parent)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_fields; i++)
		n += f->fields[i].parent == parent;
	return n;
}

static int
values_build(struct vpool *p, const struct form *f, const json_t *obj,
    int parent, Field__Value ***out, size_t *n)
{
	Field__Value **vals;

	*n = 0;
	if ((vals = vpool_alloc(p, (values_room(f, parent) + 1) *
	    sizeof(*vals))) == NULL)
		return -1;
	*out = vals;
	for (size_t i = 0; i < f->n_fields; i++) {
		const json_t *x;

		/* notes and groups carry nothing; an audit log is not kept */
		if (f->fields[i].parent != parent ||
		    !form_type_has_value(f->fields[i].type) ||
		    f->fields[i].type == FT_AUDIT)
			continue;
		x = json_object_get(obj, f->fields[i].name);
		if (x == NULL || json_is_null(x) || (json_is_string(x) &&
		    json_string_length(x) == 0) || (json_is_array(x) &&
		    json_array_size(x) == 0))
			continue;
		if (values_one(p, f, (int)i, x, &vals[(*n)++]) != 0)
			return -1;
	}
	return 0;
}

int
form_values(const struct form *f, const json_t *rec, Field__Record *r)
{
	struct vpool p = { NULL, NULL };

	r->values = NULL;
	r->n_values = 0;
	/* the first allocation opens the first block: r->values */
	if (values_build(&p, f, rec, -1, &r->values, &r->n_values) != 0) {
		vpool_free(p.first);
		r->values = NULL;
		r->n_values = 0;
		return -1;
	}
	return 0;
}

static json_t *
values_json(Field__Value **vals, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		const Field__Value *v = vals[i];
		json_t *x = NULL;

		switch (v->v_case) {
		case FIELD__VALUE__V_TEXT:
			x = json_string(v->text);
			break;
		case FIELD__VALUE__V_INTEGER:
			x = json_integer(v->integer);
			break;
		case FIELD__VALUE__V_DECIMAL:
			x = json_real(v->decimal);
			break;
		case FIELD__VALUE__V_CHOICES:
			x = json_array();
			for (size_t k = 0; x && k < v->choices->n_names; k++)
				json_array_append_new(x,
				    json_string(v->choices->names[k]));
			break;
		case FIELD__VALUE__V_GEOPOINT:
			x = json_pack("{s:f, s:f}", "latitude",
			    v->geopoint->latitude, "longitude",
			    v->geopoint->longitude);
			if (x && v->geopoint->has_altitude)
				json_object_set_new(x, "altitude",
				    json_real(v->geopoint->altitude));
			if (x && v->geopoint->has_accuracy)
				json_object_set_new(x, "accuracy",
				    json_real(v->geopoint->accuracy));
			break;
		case FIELD__VALUE__V_REPEAT:
			x = json_array();
			for (size_t k = 0; x && k < v->repeat->n_items; k++)
				json_array_append_new(x, values_json(
				    v->repeat->items[k]->values,
				    v->repeat->items[k]->n_values));
			break;
		default:
			break;
		}
		if (x == NULL || v->name == NULL ||
		    json_object_set_new(o, v->name, x) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
form_values_json(const Field__Record *r)
{
	return values_json(r->values, r->n_values);
}

/*
 * values.c: a validated JSON record to the protobuf values that are
 * sealed, and back.  Every string is copied, so form_values_free frees a
 * tree that owns all it points to.
 */
#include "form/form_impl.h"

#include <stdlib.h>
#include <string.h>

static void
values_free(Field__Value **vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Field__Value *v = vals[i];

		if (v == NULL)
			continue;
		free(v->name);
		switch (v->v_case) {
		case FIELD__VALUE__V_TEXT:
			free(v->text);
			break;
		case FIELD__VALUE__V_CHOICES:
			if (v->choices) {
				for (size_t k = 0; k < v->choices->n_names; k++)
					free(v->choices->names[k]);
				free(v->choices->names);
				free(v->choices);
			}
			break;
		case FIELD__VALUE__V_GEOPOINT:
			free(v->geopoint);
			break;
		case FIELD__VALUE__V_REPEAT:
			if (v->repeat) {
				for (size_t k = 0; k < v->repeat->n_items; k++) {
					Field__Group *g = v->repeat->items[k];
					if (g == NULL)
						continue;
					values_free(g->values, g->n_values);
					free(g);
				}
				free(v->repeat->items);
				free(v->repeat);
			}
			break;
		default:
			break;
		}
		free(v);
	}
	free(vals);
}

void
form_values_free(Field__Record *r)
{
	values_free(r->values, r->n_values);
	r->values = NULL;
	r->n_values = 0;
}

static int
values_choices(Field__Value *v, const json_t *x)
{
	Field__Choices *c = malloc(sizeof(*c));
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
	if ((c->names = calloc(cap, sizeof(char *))) == NULL)
		return -1;
	if (json_is_array(x)) {
		size_t i;
		json_t *e;
		json_array_foreach(x, i, e)
			if ((c->names[c->n_names++] =
			    strdup(json_string_value(e))) == NULL)
				return -1;
		return 0;
	}
	for (s = json_string_value(x); *s;) {
		size_t len;
		while (*s == ' ')
			s++;
		if ((len = strcspn(s, " ")) == 0)
			break;
		if ((c->names[c->n_names++] = strndup(s, len)) == NULL)
			return -1;
		s += len;
	}
	return 0;
}

static int
values_point(Field__Value *v, const json_t *x)
{
	Field__GeoPoint *g = malloc(sizeof(*g));
	double p[4] = { 0 };
	int ha = 0, hc = 0;

	if (g == NULL)
		return -1;
	field__geo_point__init(g);
	v->geopoint = g;
	v->v_case = FIELD__VALUE__V_GEOPOINT;
	if (json_is_string(x)) {
		if (form_geopoint_text(json_string_value(x), p, &ha, &hc) != 0)
			return -1;
	} else {
		p[0] = json_number_value(json_object_get(x, "latitude"));
		p[1] = json_number_value(json_object_get(x, "longitude"));
		ha = json_object_get(x, "altitude") != NULL;
		hc = json_object_get(x, "accuracy") != NULL;
		p[2] = json_number_value(json_object_get(x, "altitude"));
		p[3] = json_number_value(json_object_get(x, "accuracy"));
	}
	g->latitude = p[0];
	g->longitude = p[1];
	g->altitude = p[2];
	g->accuracy = p[3];
	g->has_altitude = ha;
	g->has_accuracy = hc;
	return 0;
}

static int values_build(const struct form *f, const json_t *obj, int parent,
    Field__Value ***out, size_t *n);

static int
values_one(const struct form *f, int fi, const json_t *x, Field__Value **out)
{
	const struct form_field *fd = &f->fields[fi];
	Field__Value *v = malloc(sizeof(*v));

	if ((*out = v) == NULL)
		return -1;
	field__value__init(v);
	if ((v->name = strdup(fd->name)) == NULL)
		return -1;
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
		return values_choices(v, x);
	case FT_GEOPOINT:
		return values_point(v, x);
	case FT_REPEAT: {
		Field__Repeat *r = malloc(sizeof(*r));
		size_t i;
		json_t *item;

		if (r == NULL)
			return -1;
		field__repeat__init(r);
		v->repeat = r;
		v->v_case = FIELD__VALUE__V_REPEAT;
		if ((r->items = calloc(json_array_size(x) + 1,
		    sizeof(*r->items))) == NULL)
			return -1;
		json_array_foreach(x, i, item) {
			Field__Group *g = malloc(sizeof(*g));
			if (g == NULL)
				return -1;
			field__group__init(g);
			r->items[r->n_items++] = g;
			if (values_build(f, item, fi, &g->values,
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
	return (v->text = strdup(json_string_value(x))) ? 0 : -1;
}

static int
values_build(const struct form *f, const json_t *obj, int parent,
    Field__Value ***out, size_t *n)
{
	Field__Value **vals;

	*n = 0;
	if ((vals = calloc(f->n_fields + 1, sizeof(*vals))) == NULL)
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
		if (values_one(f, (int)i, x, &vals[(*n)++]) != 0)
			return -1;
	}
	return 0;
}

int
form_values(const struct form *f, const json_t *rec, Field__Record *r)
{
	if (values_build(f, rec, -1, &r->values, &r->n_values) != 0) {
		form_values_free(r);
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

/*
 * form_impl.h: the parsed shape of a form definition, shared by the files
 * of the form module only (form.c parses, validate.c, coerce.c, values.c
 * and counts.c read).
 *
 * Fields are kept in survey order in one array.  A repeat group is a
 * field of type FT_REPEAT; its children follow it and carry its index in
 * `parent` (-1 at top level).  Only one level of repeat.
 */
#ifndef FORM_IMPL_H
#define FORM_IMPL_H

#include "form/expr.h"
#include "form/form.h"

#define FORM_NAME_MAX 64
#define FORM_MAX_LISTS 64
#define FORM_MAX_CHOICES 256	/* per list */
#define FORM_MAX_DIMS 16
#define FORM_MAX_MEASURES 32
#define FORM_MAX_BANDS 12

enum ftype {
	FT_TEXT, FT_INTEGER, FT_DECIMAL, FT_DATE, FT_SELECT_ONE,
	FT_SELECT_MULTIPLE, FT_GEOPOINT, FT_REPEAT
};

struct form_list {
	char name[FORM_NAME_MAX];
	size_t n;
	char (*choices)[FORM_NAME_MAX];
};

struct form_field {
	char name[FORM_NAME_MAX];
	enum ftype type;
	int list;			/* index in lists, or -1 */
	int parent;			/* index of its repeat, or -1 */
	int required;
	struct expr *constraint;	/* or NULL */
	struct expr *relevant;		/* or NULL */
	char message[160];		/* constraint_message, English */
};

struct form_band {
	char name[16];
	long long min, max;		/* max < 0: no upper bound */
};

enum measure_kind { M_RECORDS, M_REPEAT, M_SUM };

struct form_dim {
	char name[32];
	int field;
	int banded;			/* use the form's age bands */
};

struct form_measure {
	char name[32];
	enum measure_kind kind;
	int field;			/* M_REPEAT: the repeat; M_SUM: numeric */
};

#define FORM_HASH_SLOTS 512	/* power of two, > 2 * FORM_MAX_FIELDS */

struct form {
	json_t *def;
	char *dict;			/* form_dict */
	size_t dict_len;
	short hash[FORM_HASH_SLOTS];	/* field index + 1 by name; 0 empty */
	char id[FORM_ID_MAX + 1];
	char version[FORM_VERSION_MAX + 1];
	char title[160];
	struct form_field *fields;
	size_t n_fields;
	struct form_list *lists;
	size_t n_lists;
	struct form_band bands[FORM_MAX_BANDS];
	size_t n_bands;
	/* counts */
	int has_counts;
	int date_field, place_field, latest;
	struct form_dim dims[FORM_MAX_DIMS];
	size_t n_dims;
	struct form_measure measures[FORM_MAX_MEASURES];
	size_t n_measures;
};

/* Index of the field called name, or -1. */
int form_field_index(const struct form *f, const char *name);

/* 1 when name is a choice of list. */
int form_list_has(const struct form_list *l, const char *name);


/*
 * Parses the ODK geopoint text "lat lon [alt [acc]]": 0 and the numbers
 * (has_alt/has_acc say which were given), or -1.
 */
int form_geopoint_text(const char *s, double v[4], int *has_alt,
    int *has_acc);

#endif

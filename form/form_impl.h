/*
 * form_impl.h: the parsed shape of a form definition, shared by the files
 * of the form module only (form.c parses, validate.c, coerce.c, values.c
 * and counts.c read).
 *
 * Fields are kept in survey order in one array: every row but the end_*
 * rows, groups and notes included, so a row's structure is its position.
 * A repeat group is a field of type FT_REPEAT; the fields inside it carry
 * its index in `parent` (-1 at top level).  Only one level of repeat.  A
 * group (FT_GROUP) holds no value: its fields are stored flat, at the
 * level of its repeat; they carry the innermost enclosing group below
 * their repeat in `group` (-1 for none), and a group carries its own.
 *
 * Lean by design (a form may have thousands of rows and choices, and a
 * board has a few MiB): the parsed JSON tree is dropped once the form is
 * built -- it takes several times the text's size -- and the form keeps
 * the definition as compact text (form_definition parses it again for
 * whoever asks), the strings it reads in one arena, and of each choice
 * only its name, its label and the columns choice filters read.
 */
#ifndef FORM_IMPL_H
#define FORM_IMPL_H

#include "form/expr.h"
#include "form/form.h"

#define FORM_NAME_MAX 128	/* field and list names, with the NUL (real forms: up to 72) */
#define FORM_CHOICE_NAME_MAX 256	/* choice names, with the NUL */
#define FORM_MAX_ROWS 4000	/* survey rows, end_* rows included */
#define FORM_MAX_LISTS 500
#define FORM_MAX_CHOICES 20000	/* per list */
#define FORM_MAX_NESTING 16	/* groups and repeats inside each other */
#define FORM_MAX_DIMS 16
#define FORM_MAX_MEASURES 32
#define FORM_MAX_BANDS 12

enum ftype {
	FT_TEXT, FT_INTEGER, FT_DECIMAL, FT_DATE, FT_SELECT_ONE,
	FT_SELECT_MULTIPLE, FT_GEOPOINT, FT_REPEAT,
	FT_TIME, FT_DATETIME,
	FT_NOTE,		/* no value */
	FT_GROUP,		/* no value; its fields are stored flat */
	FT_CALCULATE,		/* the value of `calculation`, stored */
	FT_AUDIT,		/* ODK's audit log: any value, ignored */
	FT_ACKNOWLEDGE		/* "OK" when acknowledged */
};

/* A choice: its name, its label, the columns its list's filters read. */
struct form_choice {
	const char *name;
	const char *label;		/* default language, or NULL */
	const char **cols;		/* per list column, NULL when absent */
};

/* A name index: open addressing, slots a power of two, >= 2 * entries. */
struct form_index {
	unsigned *slot;			/* entry + 1; 0 empty */
	unsigned mask;
};

struct form_list {
	const char *name;
	size_t n;
	struct form_choice *choices;
	struct form_index index;	/* by choice name; the first of equals */
	const char **colnames;		/* columns choice filters read */
	size_t n_cols;
	const char **colvals;		/* n * n_cols: each choice's cols */
	const json_t **rows;		/* while parsing only: each choice's */
	size_t spaced_row;		/* while parsing: the first choices row
					   whose name has a space, or 0 */
};

struct form_field {
	const char *name;
	const char *message;		/* constraint_message (default
					   language), or NULL */
	struct expr *constraint;	/* each expression or NULL */
	struct expr *relevant;
	struct expr *calculation;	/* FT_CALCULATE */
	struct expr *choice_filter;	/* selects */
	struct expr *repeat_count;	/* FT_REPEAT */
	int list;			/* index in lists, or -1 */
	int parent;			/* index of its repeat, or -1 */
	int group;			/* innermost group inside its repeat */
	unsigned char type;		/* enum ftype */
	unsigned char required;
	unsigned char volatile_calc;	/* calculation not recomputed */
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

/* Strings of a form, copied into chunks freed together. */
struct form_arena {
	struct form_chunk *chunk;
	size_t used, cap;
};

struct form {
	void *json_z;			/* the definition, compact JSON,
					   zstd-compressed (a tenth of it) */
	size_t json_zlen, json_len;
	json_t *def;			/* while parsing only */
	struct form_arena arena;
	char *dict;			/* form_dict */
	size_t dict_len;
	struct form_index index;	/* fields by name */
	const char *lang;		/* default language */
	char id[FORM_ID_MAX + 1];
	char version[FORM_VERSION_MAX + 1];
	char title[160];
	struct form_field *fields;
	size_t n_fields, cap_fields;
	struct form_list *lists;
	size_t n_lists;
	struct form_band bands[FORM_MAX_BANDS];
	size_t n_bands;
	/* counts */
	int has_counts;
	int counts_default;		/* no declaration: counts.c's default */
	int date_field, place_field, latest;	/* -1: none (default only) */
	int meta_today, meta_start, meta_end;	/* the metadata fields + 1 */
	struct form_dim dims[FORM_MAX_DIMS];
	size_t n_dims;
	struct form_measure measures[FORM_MAX_MEASURES];
	size_t n_measures;
};

/*
 * A form that declares no counts is counted anyway (counts.c says how):
 * records, by its place field when one is recognised, by day, and by each
 * select_one outside repeats.  Sets the counts part of f.
 */
void form_counts_default(struct form *f);

/* Index of the field called name, or -1. */
int form_field_index(const struct form *f, const char *name);

/* 1 when name is a choice of list. */
int form_list_has(const struct form_list *l, const char *name);
/* The choice called name in list, or NULL. */
const struct form_choice *form_list_find(const struct form_list *l,
    const char *name);
/* The next choice called name after `after` (NULL: the first), or NULL:
   a list with duplicates has several. */
const struct form_choice *form_list_find_from(const struct form_list *l,
    const char *name, const struct form_choice *after);
/* The value of choice ch's column col (a column a filter of its list
   reads), or NULL. */
const char *form_choice_col(const struct form_list *l,
    const struct form_choice *ch, const char *col);
/* 1 when a and b are the same definition (the same JSON). */
int form_same(const struct form *a, const struct form *b);
/* Whether a field of this type holds a value in records. */
int form_type_has_value(int type);


/*
 * Parses the ODK geopoint text "lat lon [alt [acc]]": 0 and the numbers
 * (has_alt/has_acc say which were given), or -1.
 */
int form_geopoint_text(const char *s, double v[4], int *has_alt,
    int *has_acc);

#endif

/*
 * form_file.h: a form a person brings, as a file: an XLSForm workbook
 * (.xlsx, read by form/xlsx.h and converted by form/xlsform.h) or a JSON
 * definition (.json).  Both end as the same checked JSON definition, so
 * `collectctl form check|add` and `fieldctl form add` hold a workbook to
 * the very rules a board applies to the definition it is handed.
 */
#ifndef FORM_FILE_H
#define FORM_FILE_H

#include <stddef.h>
#include <stdint.h>

struct form;

/* What `form check` reports of a form. */
struct form_summary {
	size_t fields;		/* questions that take a value, calculations
				   included; notes, groups and repeats not */
	size_t groups, repeats, notes, lists, choices;
};

/*
 * Reads path and checks the definition as a whole (form_parse).  0 with
 * *json (the definition as stored and handed to boards, NUL-terminated,
 * caller frees) and *f (caller frees with form_free), or -1 with every
 * error found in err, one a line (a workbook's name its sheet, row and
 * column).  notes, when not NULL, gets what a person should know that
 * does not stop the form.  now_ms stamps a workbook with no version.
 */
int form_file_load(const char *path, int64_t now_ms, char **json,
    size_t *len, struct form **f, char *notes, size_t noteslen, char *err,
    size_t errlen);

/* The same for a workbook already open; name stands for its file. */
struct xlsx;
int form_file_workbook(struct xlsx *x, const char *name, int64_t now_ms,
    char **json, size_t *len, struct form **f, char *notes,
    size_t noteslen, char *err, size_t errlen);

/* Counts f's questions, groups, repeats, notes and lists. */
void form_file_summary(const struct form *f, struct form_summary *s);

/* What `form check` and `form add` print: "form ID, version V: N fields,
   ..." and each note as "note: ...", on stdout. */
void form_file_print(const struct form *f, const char *notes);

/* 1 when two definitions' JSON are the same definition (keys in any
   order, any spacing), 0 when not or when one does not parse. */
int form_file_same(const char *a, size_t alen, const char *b, size_t blen);

#endif

/*
 * form_admin.h: collectctl's form commands.
 *
 *   collectctl form check FILE.xlsx|FILE.json
 *       checks a form as a whole: prints its id, version and the number
 *       of its fields, groups, repeats, notes and lists (exit 0), or every
 *       error, a workbook's naming its sheet, row and column (exit 1)
 *   collectctl -d CDIR form add FILE.xlsx|FILE.json
 *       checks it, and against the catalogue (an id and version already
 *       there with other content is refused: records of a version stay
 *       valid under it forever), and writes CDIR/forms/ID-VERSION.json;
 *       collectord hands it to devices at their next sync, no restart
 *   collectctl -d CDIR form list
 *       what devices get, and the devices that refused a form, why
 *
 * Exit codes: 0 done, 1 refused or failed, 2 usage.
 */
#ifndef FORM_ADMIN_H
#define FORM_ADMIN_H

/* argv[0] "form", argv[1] the form command; cdir may be NULL for check. */
int form_admin(const char *cdir, int argc, char **argv);
int form_admin_check(int argc, char **argv);
int form_admin_add(const char *cdir, int argc, char **argv);
int form_admin_list(const char *cdir, int argc, char **argv);

#endif

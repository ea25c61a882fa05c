/*
 * form_admin.c: see form_admin.h.
 *
 * The catalogue devices get is the shipped forms plus CDIR/forms/ *.json
 * (csrv_catalogue_load); `form add` only ever adds a file there, written
 * atomically, after checking the form as a whole and against what is
 * already there, so a running collectord (which notices the folder
 * change) never sees a half-written or conflicting form.
 */
#include "collector/form_admin.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "collector/collector.h"
#include "collector/csrv.h"
#include "collector/cstore.h"
#include "common/cli.h"
#include "common/util.h"
#include "form/form.h"
#include "form/form_file.h"
#include "form/xlsform.h"
#include "sync/wire.h"

/* Loads and checks path, printing errors; 0 or -1. */
static int
load(const char *cmd, const char *path, char **json, size_t *len,
    struct form **f, char *notes, size_t noteslen)
{
	char err[8192];

	if (form_file_load(path, util_now_ms(), json, len, f, notes,
	    noteslen, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

/*
 * A form must reach a board in one frame: its definition as the collector
 * sends it (zstd-compressed, sync.proto FormDefinition) and the frame's
 * own bytes.  0, or -1 with the sizes said.
 */
static int
fits_a_frame(const char *cmd, const char *json, size_t len)
{
	size_t cap = ZSTD_compressBound(len), n;
	void *buf = malloc(cap);
	int rc = 0;

	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", cmd);
		return -1;
	}
	n = ZSTD_compress(buf, cap, json, len, WIRE_FORM_ZSTD_LEVEL);
	if (ZSTD_isError(n) || n > WIRE_MAX_FORM_BYTES) {
		fprintf(stderr, "%s: the definition is %zu bytes, %zu "
		    "compressed; a form must compress to at most %d bytes to "
		    "reach a board\n", cmd, len, ZSTD_isError(n) ? len : n,
		    WIRE_MAX_FORM_BYTES);
		rc = -1;
	}
	free(buf);
	return rc;
}

int
form_admin_check(int argc, char **argv)
{
	char notes[XLSFORM_NOTES_MAX], *json;
	struct form *f;
	size_t len;
	int rc;

	cli_operands(argc, argv, 1, 1, 1, "FILE");
	if (load("collectctl form check", argv[1], &json, &len, &f, notes,
	    sizeof(notes)) != 0)
		return 1;
	form_file_print(f, notes);
	rc = fits_a_frame("collectctl form check", json, len) == 0 ? 0 : 1;
	form_free(f);
	free(json);
	return rc;
}

int
form_admin_add(const char *cdir, int argc, char **argv)
{
	static const char cmd[] = "collectctl form add";
	Field__Sync__FormCatalogue cat;
	char notes[XLSFORM_NOTES_MAX], err[1024], path[PATH_MAX], *json;
	struct form *f;
	size_t len;
	int rc = 1;

	cli_operands(argc, argv, 1, 1, 1, "FILE");
	if (load(cmd, argv[1], &json, &len, &f, notes, sizeof(notes)) != 0)
		return 1;
	if (fits_a_frame(cmd, json, len) != 0)
		goto out_form;
	if (csrv_catalogue_load(cdir, &cat, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out_form;
	}
	for (size_t i = 0; i < cat.n_forms; i++) {
		const Field__Sync__FormDefinition *d = cat.forms[i];

		if (strcmp(d->form_id, form_id(f)) != 0 ||
		    strcmp(d->version, form_version(f)) != 0)
			continue;
		if (form_file_same(json, len, d->definition_json,
		    strlen(d->definition_json))) {
			printf("%s version %s is already there: nothing to "
			    "do\n", form_id(f), form_version(f));
			rc = 0;
		} else
			fprintf(stderr, "%s: %s version %s is already there "
			    "with other content; a change needs a new version "
			    "(the settings sheet's version)\n", cmd, form_id(f),
			    form_version(f));
		goto out_cat;
	}
	if (cat.n_forms >= CSRV_FORMS_MAX) {
		fprintf(stderr, "%s: the catalogue holds %d forms already, "
		    "the most it may\n", cmd, CSRV_FORMS_MAX);
		goto out_cat;
	}
	if (collector_path(path, sizeof(path), cdir, "forms") != 0 ||
	    util_mkdirs(path, 0700) != 0) {
		fprintf(stderr, "%s: %s/forms: %s\n", cmd, cdir,
		    strerror(errno));
		goto out_cat;
	}
	if (snprintf(path, sizeof(path), "%s/forms/%s-%s.json", cdir,
	    form_id(f), form_version(f)) >= (int)sizeof(path) ||
	    util_write_file(path, json, len, 0644) != 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		goto out_cat;
	}
	form_file_print(f, notes);
	printf("added as %s: devices get it at their next sync\n", path);
	rc = 0;
out_cat:
	csrv_catalogue_free(&cat);
out_form:
	form_free(f);
	free(json);
	return rc;
}

struct refusal_ctx {
	const char *form_id, *version;
	int n;
};

static void
refusal_print(void *arg, const char *device, const char *form_id_,
    const char *version, const char *reason, int64_t at_ms)
{
	struct refusal_ctx *c = arg;
	char when[32];

	if (strcmp(form_id_, c->form_id) != 0 ||
	    strcmp(version, c->version) != 0)
		return;
	util_time_iso(at_ms, when, sizeof(when));
	printf("    refused by %s (%s): %s\n", device, when, reason);
	c->n++;
}

int
form_admin_list(const char *cdir, int argc, char **argv)
{
	static const char cmd[] = "collectctl form list";
	Field__Sync__FormCatalogue cat;
	struct cstore *cs = NULL;
	char err[1024];

	cli_operands(argc, argv, 1, 0, 0, "");
	if (csrv_catalogue_load(cdir, &cat, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	if (csrv_store_open(cdir, &cs, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		csrv_catalogue_free(&cat);
		return 1;
	}
	printf("what devices get (%zu forms):\n", cat.n_forms);
	for (size_t i = 0; i < cat.n_forms; i++) {
		const Field__Sync__FormDefinition *d = cat.forms[i];
		struct refusal_ctx rc = { d->form_id, d->version, 0 };
		struct form_summary s;
		struct form *f;

		if (form_parse(d->definition_json, strlen(d->definition_json),
		    &f, err, sizeof(err)) != 0)
			continue;	/* csrv_catalogue_load checked it */
		form_file_summary(f, &s);
		printf("  %-24s %-16s %4zu fields  %s\n", form_id(f),
		    form_version(f), s.fields, form_title(f));
		form_free(f);
		if (cstore_form_refusals(cs, refusal_print, &rc) != 0)
			fprintf(stderr, "%s: %s\n", cmd, cstore_errmsg(cs));
	}
	cstore_close(cs);
	csrv_catalogue_free(&cat);
	return 0;
}

int
form_admin(const char *cdir, int argc, char **argv)
{
	if (argc < 2)
		cli_fail("form needs check, add or list");
	if (strcmp(argv[1], "check") == 0)
		return form_admin_check(argc - 1, argv + 1);
	if (cdir == NULL)
		cli_fail("form %s needs -d CDIR", argv[1]);
	if (strcmp(argv[1], "add") == 0)
		return form_admin_add(cdir, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return form_admin_list(cdir, argc - 1, argv + 1);
	cli_fail("unknown form command '%s' (check, add or list)", argv[1]);
}

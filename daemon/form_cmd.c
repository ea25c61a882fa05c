/* form_cmd.c: see form_cmd.h. */
#include "daemon/form_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/util.h"
#include "daemon/device.h"
#include "daemon/formsync.h"
#include "form/form.h"
#include "form/form_file.h"
#include "form/xlsform.h"

static int
form_add(struct device *d, int argc, char **argv)
{
	static const char cmd[] = "fieldctl form add";
	char notes[XLSFORM_NOTES_MAX], err[8192], *json;
	const struct form *have;
	struct form *f;
	size_t len;
	int rc = 1;

	cli_operands(argc, argv, 1, 1, 1, "FILE");
	if (form_file_load(argv[1], util_now_ms(), &json, &len, &f, notes,
	    sizeof(notes), err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	if ((have = form_catalog_get(d->cat, form_id(f), form_version(f)))) {
		size_t tlen;
		char *theirs = form_definition_text(have, &tlen);
		int same = theirs && form_file_same(json, len, theirs, tlen);

		free(theirs);
		if (same) {
			printf("%s version %s is already on this board: nothing "
			    "to do\n", form_id(f), form_version(f));
			rc = 0;
		} else
			fprintf(stderr, "%s: %s version %s is on this board with "
			    "other content; a change needs a new version (the "
			    "settings sheet's version)\n", cmd, form_id(f),
			    form_version(f));
		goto out;
	}
	if (form_catalog_add(d->cat, json, len, err, sizeof(err)) == NULL) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out;
	}
	if (store_form_add(d->st, form_id(f), form_version(f), json) != 0) {
		fprintf(stderr, "%s: %s\n", cmd, store_errmsg(d->st));
		goto out;
	}
	form_file_print(f, notes);
	printf("stored: a running fieldd takes it with systemctl reload "
	    "fieldd (SIGHUP)\n");
	rc = 0;
out:
	form_free(f);
	free(json);
	return rc;
}

static int
form_list(struct device *d, int argc, char **argv)
{
	char text[FORMSYNC_REFUSED_MAX * 640];
	json_t *refused = NULL, *r;
	size_t i;

	cli_operands(argc, argv, 1, 0, 0, "");
	for (i = 0; i < form_catalog_count(d->cat); i++) {
		const struct form *f = form_catalog_at(d->cat, i);
		const struct form *cur = form_catalog_get(d->cat, form_id(f),
		    NULL);

		printf("%-24s %-16s %s%s\n", form_id(f), form_version(f),
		    form_title(f), cur == f ? "" : "  (older version)");
	}
	if (store_meta_get(d->st, FORMSYNC_META_REFUSED, text,
	    sizeof(text)) == 1)
		refused = json_loads(text, 0, NULL);
	json_array_foreach(refused, i, r) {
		const char *k[4] = { "form_id", "version", "build", "reason" };
		const char *v[4];

		for (int j = 0; j < 4; j++)
			if ((v[j] = json_string_value(json_object_get(r,
			    k[j]))) == NULL)
				v[j] = "?";
		printf("refused from the collector: %s version %s (build %s): "
		    "%s\n", v[0], v[1], v[2], v[3]);
	}
	json_decref(refused);
	return 0;
}

int
form_cmd(const char *dir, int argc, char **argv)
{
	char err[1024];
	struct device d;
	int rc;

	if (argc < 2)
		cli_fail("form needs add or list");
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "list") != 0)
		cli_fail("unknown form command '%s' (add or list)", argv[1]);
	if (device_open(&d, dir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl: %s\n", err);
		return 1;
	}
	rc = strcmp(argv[1], "add") == 0 ? form_add(&d, argc - 1, argv + 1) :
	    form_list(&d, argc - 1, argv + 1);
	device_close(&d);
	return rc;
}

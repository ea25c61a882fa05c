/* fuzz_form_validate: any bytes as a submitted JSON record, through every
   shipped form: validate, and when valid, values (packed and unpacked)
   and counts; also CSV-style coercion of a copy, and what the web app
   shows of it (form_state, a select's choices).  A valid record must
   still be valid after values -> wire -> JSON, and recpack's protobuf
   writer must give protobuf-c's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/embedded.h"
#include "form/form.h"
#include "form/recpack.h"

static struct form *forms[8];
static size_t n_forms;

static void
load(void)
{
	char err[256];

	for (const struct embedded_file *e = embedded_forms; e->name && n_forms < 8; e++)
		if (form_parse(e->data, e->len, &forms[n_forms], err,
		    sizeof(err)) == 0)
			n_forms++;
		else
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct form_errors errs;
	json_t *rec;

	if (n_forms == 0)
		load();
	rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (rec == NULL)
		return 0;
	for (size_t i = 0; i < n_forms; i++) {
		json_t *copy = json_deep_copy(rec);

		memset(&errs, 0, sizeof(errs));
		form_coerce(forms[i], copy, &errs);
		json_decref(copy);
		json_decref(form_state(forms[i], rec, "2026-11-29", NULL));
		json_decref(form_choices_allowed(forms[i], rec, "sex", 0,
		    "2026-11-29"));
		memset(&errs, 0, sizeof(errs));
		if (form_validate(forms[i], rec, "2026-11-29", &errs) != 0)
			continue;
		Field__Record r = FIELD__RECORD__INIT;
		struct form_counts c;
		if (form_values(forms[i], rec, &r) == 0) {
			size_t len = field__record__get_packed_size(&r);
			uint8_t *buf = malloc(len);
			field__record__pack(&r, buf);
			uint8_t *mine = malloc(len ? len : 1);
			if (recpack_pb_size(&r) != len ||
			    recpack_pb_write(&r, mine) != len ||
			    memcmp(mine, buf, len) != 0)
				abort();
			free(mine);
			Field__Record *back = field__record__unpack(NULL, len, buf);
			json_t *j = back ? form_values_json(back) : NULL;

			/* what was valid stays valid after the round trip */
			memset(&errs, 0, sizeof(errs));
			if (back && (j == NULL || form_validate(forms[i], j,
			    "2026-11-29", &errs) != 0))
				abort();
			json_decref(j);
			if (back)
				field__record__free_unpacked(back, NULL);
			free(buf);
			form_values_free(&r);
		}
		if (form_counts(forms[i], rec, &c) == 0)
			form_counts_free(&c);
	}
	json_decref(rec);
	return 0;
}

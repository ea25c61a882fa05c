/* fuzz_form_def: any bytes as a form definition (definitions will arrive
   from the collector): parse, and when it parses, validate a fixed record. */
#include <stdint.h>
#include <string.h>

#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct form_errors errs;
	struct form *f;
	char err[256];

	if (form_parse((const char *)data, size, &f, err, sizeof(err)) != 0)
		return 0;
	json_t *rec = json_pack("{s:s, s:i, s:[{s:s}]}", "a", "x", "b", 3,
	    "members", "sex", "female");
	memset(&errs, 0, sizeof(errs));
	form_validate(f, rec, "2026-11-29", &errs);
	json_decref(rec);
	form_free(f);
	return 0;
}

/* fuzz_counts_query: any bytes as a /counts query string from a
   coordinator; what parses then runs against a small analysis store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/astore.h"
#include "analysis/query.h"
#include "analysis/render.h"
#include "collector/chttp.h"
#include "collector/csrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct form_catalog *cat;
static char dir[] = "/tmp/fuzz_counts_query.XXXXXX";

/* A few households and members over two sites and days. */
static void
setup(void)
{
	static const char *const rn[] = { "d:site_id", "d:admin1", "d:need",
	    "m:individuals" };
	static const char *const in[] = { "d:site_id", "d:admin1", "d:need",
	    "d:sex", "d:age_band", "d:vulnerability" };
	struct astore *as;
	char err[512];

	if (mkdtemp(dir) == NULL || (cat = form_catalog_new()) == NULL ||
	    csrv_forms_load(dir, cat, err, sizeof(err)) != 0 ||
	    astore_open(dir, 1, &as, err, sizeof(err)) != 0 ||
	    astore_begin(as) != 0)
		abort();
	for (uint32_t i = 0; i < 40; i++) {
		char site[16];
		snprintf(site, sizeof(site), "SITE-%03u", i % 3);
		uint32_t rec[4] = {
		    (uint32_t)astore_code(as, "dtm_household", "site_id", site, 0),
		    (uint32_t)astore_code(as, "dtm_household", "admin1",
		    i % 2 ? "SS01" : "SS02", 0),
		    (uint32_t)(1u << (astore_code(as, "dtm_household", "need",
		    i % 3 ? "food" : "water", 1) - 1)), 2 };
		uint32_t item[6] = { rec[0], rec[1], rec[2],
		    (uint32_t)astore_code(as, "dtm_household", "sex",
		    i % 2 ? "female" : "male", 0),
		    (uint32_t)astore_code(as, "dtm_household", "age_band",
		    i % 5 ? "18-59" : "0-4", 0), i % 4 ? 0 : 1 };
		if (astore_append(as, "dtm_household", 0, 20400 + i % 9, 4, rn,
		    rec) != 0 ||
		    astore_append(as, "dtm_household", 1, 20400 + i % 9, 6, in,
		    item) != 0 ||
		    astore_append(as, "dtm_household", 1, 20400 + i % 9, 6, in,
		    item) != 0)
			abort();
	}
	if (astore_commit(as, 1) != 0)
		abort();
	astore_close(as);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aquery q;
	struct astore *as;
	struct aresult *r;
	enum aformat fmt;
	char err[1024], *qs, *out;
	size_t len;

	if (cat == NULL)
		setup();
	if (size > 8192 || (qs = malloc(size + 1)) == NULL)
		return 0;
	memcpy(qs, data, size);
	qs[size] = '\0';
	memset(&q, 0, sizeof(q));
	q.threshold = 5;
	if (chttp_query_parse(qs, &q, &fmt, err, sizeof(err)) == 0 &&
	    astore_open(dir, 0, &as, err, sizeof(err)) == 0) {
		if (aquery_run(as, cat, &q, &r, err, sizeof(err)) == 0) {
			if ((out = arender(r, fmt, &len)) != NULL)
				free(out);
			aresult_free(r);
		}
		astore_close(as);
	}
	free(qs);
	return 0;
}

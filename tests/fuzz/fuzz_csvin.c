/* fuzz_csvin: any bytes as a CSV export; a NUL byte splits it into the
   main file and a members file linked to it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/csvin.h"

static void
put(const char *path, const uint8_t *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		abort();
	fwrite(d, 1, n, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char main_path[64], rep_path[64];
	const uint8_t *nul = memchr(data, 0, size);
	struct csvin_repeat rep = { "members", rep_path };
	char err[4096];
	json_t *out;

	if (main_path[0] == '\0') {
		snprintf(main_path, sizeof(main_path), "/tmp/fuzz_csvin.%d.main",
		    (int)getpid());
		snprintf(rep_path, sizeof(rep_path), "/tmp/fuzz_csvin.%d.rep",
		    (int)getpid());
	}
	put(main_path, data, nul ? (size_t)(nul - data) : size);
	if (nul)
		put(rep_path, nul + 1, size - (size_t)(nul - data) - 1);
	if (csvin_read(main_path, &rep, nul ? 1 : 0, &out, err,
	    sizeof(err)) == 0)
		json_decref(out);
	return 0;
}

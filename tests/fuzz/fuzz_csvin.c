/*
 * fuzz_csvin: any bytes as a CSV export.  The first NUL byte splits the
 * input into a main file and a "members" repeat file linked to it (the
 * repeat file may hold more NULs).  Checks that csvin_read() answers
 * either a records array and no error text, or -1 and error lines that
 * each end in '\n'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/csvin.h"

static char dir[64], main_path[96], rep_path[96];

static void
fuzz_csvin_cleanup(void)
{
	unlink(main_path);
	unlink(rep_path);
	rmdir(dir);
}

static void
fuzz_csvin_put(const char *path, const uint8_t *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		abort();
	if (n > 0 && fwrite(d, 1, n, f) != n)
		abort();
	if (fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct csvin_repeat rep = { "members", rep_path };
	char err[4096];
	json_t *out = NULL;
	size_t n;
	int rc;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_csvin.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(main_path, sizeof(main_path), "%s/households.csv",
		    dir);
		snprintf(rep_path, sizeof(rep_path), "%s/members.csv", dir);
		atexit(fuzz_csvin_cleanup);
	}
	n = nul ? (size_t)(nul - data) : size;
	fuzz_csvin_put(main_path, data, n);
	if (nul)
		fuzz_csvin_put(rep_path, nul + 1, size - n - 1);
	rc = csvin_read(main_path, &rep, nul ? 1 : 0, &out, err, sizeof(err));
	if (rc == 0) {
		if (!json_is_array(out) || err[0] != '\0')
			abort();
		json_decref(out);
	} else {
		n = strlen(err);
		if (rc != -1 || out != NULL || n == 0 || err[n - 1] != '\n')
			abort();
	}
	return 0;
}

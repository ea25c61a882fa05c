/*
 * bench_submit_cpu: the instructions a durable submit takes, counted by
 * callgrind, which no load on a shared machine moves (bench_store's
 * ratio is in time, and moves with the neighbours):
 *
 *   valgrind --tool=callgrind --instr-atstart=no \
 *       --callgrind-out-file=/tmp/submit.cg build/bench/bench_submit_cpu 300
 *
 * "Collected" divided by the count given is the figure; callgrind_annotate
 * on the file says where they go.  The same households as bench_store,
 * after 50 submits that open the store's pages and the sealing epoch;
 * the kernel's part (writes, fsync) is not counted.  Run alone it only
 * submits.  A second number, GROUP (1 to 16), stores that many records in
 * each transaction, as fieldd's writer does when phones share a commit;
 * COUNT is still the number of records.
 */
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "bench/bench_common.h"

#define KINDS 150
#define WARM 50

int
main(int argc, char **argv)
{
	struct submit_result *r = malloc(sizeof(*r));
	struct device d;
	json_t *recs[KINDS];
	char dir[64];
	int n = argc > 1 ? atoi(argv[1]) : 300;
	int group = argc > 2 ? atoi(argv[2]) : 1;

	if (r == NULL || n < 1 || n > 1000000 || group < 1 || group > 16 ||
	    n % group != 0 || bench_device(dir, &d) != 0) {
		fprintf(stderr, "usage: bench_submit_cpu [COUNT [GROUP]] "
		    "(GROUP 1 to 16, dividing COUNT)\n");
		return 1;
	}
	for (int i = 0; i < KINDS; i++)
		recs[i] = bench_household(i);
	/* The warm-up rounded up to whole groups, so COUNT records counted. */
	int warm = (WARM + group - 1) / group * group;

	for (int i = 0; i < warm + n; i += group) {
		json_t *g[16];

		if (i == warm)
			CALLGRIND_START_INSTRUMENTATION;
		for (int k = 0; k < group; k++)
			g[k] = recs[(i + k) % KINDS];
		if (submit_many(&d.sub, "dtm_household", NULL, g,
		    (size_t)group, NULL, NULL, r) != SUBMIT_OK) {
			fprintf(stderr, "submit: %s\n", r->msg);
			return 1;
		}
	}
	CALLGRIND_STOP_INSTRUMENTATION;
	printf("%d records counted, %d a transaction\n", n, group);
	for (int i = 0; i < KINDS; i++)
		json_decref(recs[i]);
	free(r);
	device_close(&d);
	bench_rmdir(dir);
	return 0;
}

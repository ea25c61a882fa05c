/*
 * bench_common.h: what the benchmarks share: a device made in a temporary
 * folder, typical records, and a clock.  Header-only so each benchmark is
 * one program.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/util.h"
#include "daemon/device.h"
#include "sync/seal.h"

static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A household of three, as an enumerator would submit it. */
static inline json_t *
bench_household(int i)
{
	char day[11], name[64];
	int64_t ms = util_now_ms() - 86400000LL;

	util_date(ms, day);
	snprintf(name, sizeof(name), "Household head %d", i);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:[s,s], s:[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s},"
	    " {s:s, s:s, s:i, s:s, s:[s]}]}",
	    "site_id", i % 2 ? "SITE-001" : "SITE-002", "admin1", "SS01",
	    "admin2", "SS0101", "registration_date", day, "consent", "yes",
	    "head_name", name, "phone", "+211 912 345 678",
	    "shelter_type", "tent", "intention", "stay",
	    "needs", "food", "water",
	    "members",
	    "member_name", name, "sex", "female", "age_years", 34,
	    "relationship", "head",
	    "member_name", "Spouse", "sex", "male", "age_years", 36,
	    "relationship", "spouse",
	    "member_name", "Child", "sex", "female", "age_years", 4,
	    "relationship", "child", "vulnerabilities", "disability");
}

/* Makes a collector key and a device in a new temporary folder. */
static inline int
bench_device(char dir[64], struct device *d)
{
	unsigned char pub[SEAL_KEY_LEN], priv[SEAL_KEY_LEN];
	char path[128], err[512];

	strcpy(dir, "/tmp/fieldbench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/seal.pub", dir);
	if (seal_keypair(pub, priv) != 0 || seal_pub_write(path, pub) != 0)
		return -1;
	char ddir[128];
	snprintf(ddir, sizeof(ddir), "%s/device", dir);
	if (device_create(ddir, path, "bench-dev", err, sizeof(err)) != 0 ||
	    device_open(d, ddir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	d->sub.opt.free_floor_bytes = 0;
	return 0;
}

/*
 * How busy the disk was: the kernel's "some avg10" from /proc/pressure/io,
 * the share of the last 10 s in which a task waited for I/O; -1 where the
 * kernel does not say.  On a machine whose disk others share, fsync-bound
 * ratios move with it, so the benches print it beside them, read when
 * they start (later, their own fsyncs would count too).
 */
static inline double
bench_io_pressure(void)
{
	FILE *f = fopen("/proc/pressure/io", "r");
	double v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "some avg10=%lf", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline void
bench_rmdir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

#endif

/*
 * slowsync.so: preloaded (LD_PRELOAD) into fieldd by tests and the bench,
 * never shipped.  It puts an SD card's fsync in front of the real one:
 *
 *   FIELD_FSYNC_DELAY_US=N   every fsync and fdatasync first sleeps N us
 *                            (an SD card takes milliseconds; this
 *                            machine's disk, a fraction of one)
 *   FIELD_FSYNC_GATE=PATH    ... and waits while PATH exists, so a test
 *                            can hold a commit on the card for as long as
 *                            it likes, with no timing in the test
 *   FIELD_FSYNC_COUNT=PATH   appends one byte to PATH per call: its size
 *                            is the number of fsyncs
 *
 * Unset, each is a no-op: the real call, nothing else.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void
slowsync_wait(void)
{
	const char *d = getenv("FIELD_FSYNC_DELAY_US");
	const char *g = getenv("FIELD_FSYNC_GATE");
	const char *c = getenv("FIELD_FSYNC_COUNT");
	struct timespec ts;
	long us = d ? atol(d) : 0;

	if (c) {
		int fd = open(c, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0) {
			(void)!write(fd, "s", 1);
			close(fd);
		}
	}
	if (us > 0) {
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = (us % 1000000) * 1000;
		nanosleep(&ts, NULL);
	}
	while (g && access(g, F_OK) == 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = 5 * 1000 * 1000;
		nanosleep(&ts, NULL);
	}
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	slowsync_wait();
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	slowsync_wait();
	return real(fd);
}

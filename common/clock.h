/*
 * clock.h: the time a record is stamped with, and how far to trust it.
 * Boards mostly have no real-time clock: until something sets the time,
 * the wall clock starts from an old date.  A clock earlier than this
 * software's release cannot be right, so it is marked untrusted; the
 * collector's time (sync) corrects such stamps later.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* 2026-11-01T00:00:00Z: earlier than this, the wall clock is not set. */
#define CLOCK_MIN_TRUSTED_MS 1793491200000LL

/* Wall clock now in Unix ms; returns 1 when trusted, 0 when not. */
int clock_now(int64_t *ms);

/*
 * The date that "not in the future" checks compare against: today when
 * the clock is trusted, else "9999-12-31" -- a board that does not know
 * the date must not refuse a true one.
 */
void clock_today(char out[11]);

#endif

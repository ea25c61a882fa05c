/*
 * clock.h: the time a record is stamped with, and how far to trust it.
 *
 * Boards mostly have no real-time clock: until something sets the time,
 * the wall clock starts from an old date, and it can be set back later.
 * A stamp is trusted only when all of these hold:
 *   - a source vouches for the clock: a real-time clock or NTP (the board
 *     tells, clock_set_source), or the collector's time agreed with ours
 *     at the last sync (clock_collector);
 *   - the time is not before this software was built (CLOCK_BUILD_MS);
 *   - the clock has not jumped back since fieldd started, nor behind a
 *     time already stamped as trusted (clock_set_high) -- until the
 *     collector's time confirms it again.
 * Untrusted stamps are corrected later by the collector with the offset
 * the device's sync hello shows (collector/cstore.c).
 *
 * One clock per process: the state is this module's.  Programs that never
 * call clock_set_source (fieldctl, tests) keep the default: the source is
 * taken as good, so only the build date and jumps decide.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* CLOCK_BUILD_MS: the build's date (the last commit's time, or
   SOURCE_DATE_EPOCH), in build.h.  Earlier than that, the clock is not set. */
#include "build.h"

/* A jump back of more than this is a jump (NTP slews by less). */
#define CLOCK_JUMP_MS 2000
/* The collector's time agrees with ours within this. */
#define CLOCK_AGREE_MS 5000

/* Wall clock now in Unix ms; returns 1 when trusted, 0 when not. */
int clock_now(int64_t *ms);

/* Why the clock is not trusted now ("" when it is), for status. */
const char *clock_why(void);

/* Whether an RTC or NTP vouches for the clock (the board knows). */
void clock_set_source(int ok);
/* The latest time stamped as trusted before this start (from the store). */
void clock_set_high(int64_t ms);
/*
 * The collector's time minus ours, measured at a sync: within
 * CLOCK_AGREE_MS the clock is trusted again (a jump is forgiven, the
 * collector vouches); beyond it, not trusted until a later sync agrees.
 */
void clock_collector(int64_t offset_ms);

/* The wall clock minus the time since boot, now: unchanged while the
   clock runs true, so two readings in one boot show whether it jumped. */
int64_t clock_delta_ms(void);

/*
 * The date that "not in the future" checks compare against: today when
 * the clock is trusted, else "9999-12-31" -- a board that does not know
 * the date must not refuse a true one.
 */
void clock_today(char out[11]);

/* Tests: read the wall and boot clocks (ms) through these, NULL for the
   real ones; the state starts afresh. */
void clock_test_hooks(int64_t (*wall)(void), int64_t (*boot)(void));

#endif

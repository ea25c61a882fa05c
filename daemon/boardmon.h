/*
 * boardmon.h: fieldd's side of the board (board/board.h): what the LED
 * shows, what a long button press does, what a low battery and low
 * storage change, the watchdog and the supervisor's notifications.
 *
 *   LED      the most urgent of: low battery, storage low (below the free
 *            floor, or the file system read-only), error (the last sync
 *            failed for another reason than the link), syncing, records
 *            waiting, idle
 *   button   held 3 s: a sync now (dsync_sched_kick)
 *   battery  on battery at or below battery_low_percent: new records are
 *            refused with a message saying why (503), the supervisor is
 *            told STATUS=... and the shutdown flag file is made; back on
 *            mains, or 5 points above the threshold, all is undone
 *   clock    the RTC or NTP vouches for the clock (clock.h); at start,
 *            records stamped untrusted in an earlier boot are marked so
 *   watchdog WATCHDOG=1 at half the supervisor's period, from the loop, so
 *            a hung loop gets fieldd restarted; READY=1 once serving
 *
 * It looks at power, storage and the clock once a minute and when a sync
 * or a record changes something: no timer is faster than the watchdog's.
 *
 * Ownership: boardmon_start takes the board (closed by boardmon_stop);
 * the device and the sync schedule are the caller's and outlive it.
 */
#ifndef BOARDMON_H
#define BOARDMON_H

#include <jansson.h>
#include <uv.h>

#include "board/board.h"
#include "daemon/device.h"
#include "daemon/dsync.h"

#define BOARDMON_POLL_MS 60000
#define BOARDMON_LONG_PRESS_MS 3000
#define BOARDMON_BATTERY_HYSTERESIS 5

struct boardmon;

/* Starts watching; says READY=1.  NULL when out of memory. */
struct boardmon *boardmon_start(uv_loop_t *loop, struct device *dev,
    struct board *b, struct dsync_sched *sc);
/* Says STOPPING=1, stops its handles and frees itself once closed. */
void boardmon_stop(struct boardmon *m);
/* Looks again now (after SIGUSR2, and for tests). */
void boardmon_poll(struct boardmon *m);
/* The board's state for /api/status: {"board": {...}}. */
void boardmon_status(struct boardmon *m, json_t *status);

#endif

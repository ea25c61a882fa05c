/* boardmon.c: see boardmon.h. */
#include "daemon/boardmon.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/outbox.h"

struct boardmon {
	uv_loop_t *loop;
	struct device *dev;
	struct board *b;
	struct dsync_sched *sc;
	uv_timer_t poll, watchdog, press;
	uv_poll_t button;
	int button_on;
	int open_handles;

	int syncing, sync_fault, waiting;
	int storage_low, read_only;
	int low_battery;
	struct board_power pw;
	uint64_t free_bytes;
	enum board_led led;
	char refusal[200];
	char clock_why[80];		/* as last logged */
};

/* Sync failures that are not the link's: the collector refused, spoke
   out of turn, or the store failed.  Anything else (no route, a cut, no
   reply) is a board offline, which is normal here and shows as waiting. */
static int
boardmon_fault(const char *reason)
{
	static const char *const faults[] = { "collector refused",
	    "from the collector", "unexpected ", "cannot ",
	    "the collector's watermark", "an ack with" };

	for (size_t i = 0; reason && i < sizeof(faults) / sizeof(faults[0]);
	    i++)
		if (strncmp(reason, faults[i], strlen(faults[i])) == 0)
			return 1;
	return 0;
}

static void
boardmon_show(struct boardmon *m)
{
	enum board_led p = m->low_battery ? BOARD_LED_LOW_BATTERY :
	    m->storage_low || m->read_only ? BOARD_LED_STORAGE_LOW :
	    m->sync_fault ? BOARD_LED_ERROR :
	    m->syncing ? BOARD_LED_SYNCING :
	    m->waiting ? BOARD_LED_WAITING : BOARD_LED_IDLE;

	const char *why = clock_why();

	if (p != m->led)
		log_info("board: %s", board_led_name(p));
	if (strcmp(why, m->clock_why) != 0) {
		log_info("board: clock %s%s", why[0] ? "not trusted: " :
		    "trusted", why);
		snprintf(m->clock_why, sizeof(m->clock_why), "%s", why);
	}
	m->led = p;
	if (board_led(m->b, p) != 0)
		log_warn("board: cannot set the status LED");
}

/* Records waiting to be sent: one look at the store. */
static void
boardmon_count_waiting(struct boardmon *m)
{
	struct store_stats s;
	uint64_t acked;

	if (store_stats(m->dev->st, &s) == 0 &&
	    outbox_acked(m->dev->st, &acked) == 0)
		m->waiting = s.last_seq > acked;
}

static void
boardmon_battery(struct boardmon *m)
{
	uint32_t low = m->dev->cfg.battery_low_percent;
	int now_low = low > 0 && m->pw.on_battery && m->pw.percent >= 0 &&
	    (uint32_t)m->pw.percent <= low;
	int recovered = !m->pw.on_battery || m->pw.percent < 0 ||
	    (uint32_t)m->pw.percent >= low + BOARDMON_BATTERY_HYSTERESIS;
	char msg[256];

	if (!m->low_battery && now_low) {
		/* Handlers run to completion on the loop: any record being
		   written has been committed by now, so nothing is cut. */
		m->low_battery = 1;
		snprintf(m->refusal, sizeof(m->refusal), "battery low (%d%%): "
		    "the board is shutting down and takes no new records; "
		    "keep them on the phone and send them when it is back on "
		    "power", m->pw.percent);
		m->dev->sub.refusal = m->refusal;
		log_warn("board: battery at %d%%: new records refused; ready "
		    "to be shut down", m->pw.percent);
		snprintf(msg, sizeof(msg), "STATUS=battery low (%d%%): records "
		    "closed, ready to be shut down", m->pw.percent);
		board_notify(m->b, msg);
		if (board_shutdown_ready(m->b, 1) != 0)
			log_warn("board: cannot make the shutdown flag");
	} else if (m->low_battery && recovered) {
		m->low_battery = 0;
		m->dev->sub.refusal = NULL;
		log_info("board: power is back: records accepted again");
		board_notify(m->b, "STATUS=serving");
		if (board_shutdown_ready(m->b, 0) != 0)
			log_warn("board: cannot remove the shutdown flag");
	}
}

void
boardmon_poll(struct boardmon *m)
{
	uint64_t floor = m->dev->cfg.free_space_floor_mb << 20;
	int was_low = m->storage_low, was_ro = m->read_only;

	board_power(m->b, &m->pw);
	boardmon_battery(m);
	if (board_storage(m->dev->dir, &m->free_bytes, &m->read_only) == 0)
		m->storage_low = m->free_bytes < floor;
	if (m->storage_low && !was_low)
		log_warn("board: storage low: %" PRIu64 " MiB free, below the "
		    "floor of %" PRIu64 " MiB", m->free_bytes >> 20,
		    floor >> 20);
	if (m->read_only && !was_ro)
		log_err("board: the data's file system is read-only");
	clock_set_source(m->dev->cfg.clock_host || board_rtc(m->b) ||
	    board_time_synced(m->b));
	boardmon_count_waiting(m);
	boardmon_show(m);
}

static void
boardmon_on_poll(uv_timer_t *t)
{
	boardmon_poll(t->data);
}

static void
boardmon_on_watchdog(uv_timer_t *t)
{
	struct boardmon *m = t->data;

	board_notify(m->b, "WATCHDOG=1");
}

static void
boardmon_on_sync(void *arg, int syncing, enum dsync_result r,
    const char *reason)
{
	struct boardmon *m = arg;

	m->syncing = syncing;
	if (!syncing) {
		m->sync_fault = r == DSYNC_FAILED && boardmon_fault(reason);
		boardmon_count_waiting(m);
	}
	boardmon_show(m);
}

static void
boardmon_on_stored(void *arg)
{
	struct boardmon *m = arg;

	if (!m->waiting) {
		m->waiting = 1;
		boardmon_show(m);
	}
}

static void
boardmon_on_long_press(uv_timer_t *t)
{
	struct boardmon *m = t->data;

	log_info("board: button held: sync now");
	dsync_sched_kick(m->sc);
}

static void
boardmon_on_button(uv_poll_t *h, int status, int events)
{
	struct boardmon *m = h->data;
	int down, rc;

	(void)events;
	while (status == 0 && (rc = board_button_read(m->b, &down)) == 1) {
		if (down)
			uv_timer_start(&m->press, boardmon_on_long_press,
			    BOARDMON_LONG_PRESS_MS, 0);
		else
			uv_timer_stop(&m->press);
	}
	if (status != 0 || rc < 0) {
		log_warn("board: the button's device failed; not watching it");
		uv_poll_stop(h);
	}
}

struct boardmon *
boardmon_start(uv_loop_t *loop, struct device *dev, struct board *b,
    struct dsync_sched *sc)
{
	struct boardmon *m = calloc(1, sizeof(*m));
	uint64_t wd;

	if (m == NULL)
		return NULL;
	m->loop = loop;
	m->dev = dev;
	m->b = b;
	m->sc = sc;
	m->led = BOARD_LED_N;
	snprintf(m->clock_why, sizeof(m->clock_why), "?");
	uv_timer_init(loop, &m->poll);
	uv_timer_init(loop, &m->watchdog);
	uv_timer_init(loop, &m->press);
	m->poll.data = m->watchdog.data = m->press.data = m;
	m->open_handles = 3;
	if (board_button_fd(b) >= 0 &&
	    uv_poll_init(loop, &m->button, board_button_fd(b)) == 0) {
		m->button.data = m;
		m->button_on = 1;
		m->open_handles++;
		uv_poll_start(&m->button, UV_READABLE, boardmon_on_button);
	}
	dev->sub.stored = boardmon_on_stored;
	dev->sub.stored_arg = m;
	if (sc)
		dsync_sched_observe(sc, boardmon_on_sync, m);
	boardmon_poll(m);
	uv_timer_start(&m->poll, boardmon_on_poll, BOARDMON_POLL_MS,
	    BOARDMON_POLL_MS);
	if ((wd = board_watchdog_ms(b)) > 0) {
		board_notify(b, "WATCHDOG=1");
		uv_timer_start(&m->watchdog, boardmon_on_watchdog, wd / 2,
		    wd / 2);
	}
	board_notify(b, "READY=1");
	return m;
}

static void
boardmon_closed(uv_handle_t *h)
{
	struct boardmon *m = h->data;

	if (--m->open_handles == 0) {
		board_close(m->b);
		free(m);
	}
}

void
boardmon_stop(struct boardmon *m)
{
	board_notify(m->b, "STOPPING=1");
	m->dev->sub.stored = NULL;
	m->dev->sub.refusal = NULL;
	if (m->sc)
		dsync_sched_observe(m->sc, NULL, NULL);
	uv_close((uv_handle_t *)&m->poll, boardmon_closed);
	uv_close((uv_handle_t *)&m->watchdog, boardmon_closed);
	uv_close((uv_handle_t *)&m->press, boardmon_closed);
	if (m->button_on)
		uv_close((uv_handle_t *)&m->button, boardmon_closed);
}

void
boardmon_status(struct boardmon *m, json_t *status)
{
	const char *why = clock_why();

	json_object_set_new(status, "board", json_pack("{s:s, s:s, s:b, s:i,"
	    " s:b, s:b, s:b, s:b, s:s?}",
	    "backend", board_backend(m->b),
	    "led", board_led_name(m->led),
	    "on_battery", m->pw.on_battery,
	    "battery_percent", m->pw.percent,
	    "battery_low", m->low_battery,
	    "storage_low", m->storage_low,
	    "read_only", m->read_only,
	    "clock_trusted", why[0] == '\0',
	    "clock_why", why[0] ? why : NULL));
}

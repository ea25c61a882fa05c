/*
 * board.h: what fieldd needs from the hardware it runs on, behind one
 * interface with two backends:
 *
 *   linux      the real board: the status LED in /sys/class/leds, the
 *              button as key events from /dev/input/eventN (gpio-keys),
 *              batteries and mains in /sys/class/power_supply, /dev/rtc0,
 *              the kernel's NTP state (adjtimex), the boot id, and
 *              systemd's notifications (READY, WATCHDOG, STATUS)
 *   sim:DIR    the same files under DIR, which tests write: DIR/sys/...
 *              as sysfs, DIR/dev/rtc0, DIR/clock_synced ("1"), DIR/boot_id,
 *              a FIFO DIR/button carrying lines "down" and "up", and the
 *              notifications appended to DIR/notify one a line
 *
 * The daemon holds a struct board and calls board_* only; it does not know
 * which backend it has.  Nothing here blocks or polls: the caller decides
 * when to look (daemon/boardmon.h), and LED patterns run in the kernel's
 * timer trigger, so a blinking LED wakes no process.
 *
 * Ownership: board_open allocates, board_close frees and closes the
 * button's descriptor.  Reading a missing file is "not present", never an
 * error: a board without a battery or an LED is a normal board.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

/* The LED's patterns, most urgent last (boardmon shows the most urgent). */
enum board_led {
	BOARD_LED_IDLE,		/* steady: all sent */
	BOARD_LED_WAITING,	/* slow blip: records wait to be sent */
	BOARD_LED_SYNCING,	/* fast flicker: a sync is under way */
	BOARD_LED_ERROR,	/* even blink: the last sync failed, not offline */
	BOARD_LED_STORAGE_LOW,	/* long on, short off: below the free floor */
	BOARD_LED_LOW_BATTERY,	/* short blip every 3 s: shutting down */
	BOARD_LED_N
};

/* "idle", "waiting", ... for status and logs. */
const char *board_led_name(enum board_led p);
/* The kernel timer trigger's on and off times (ms); 0 off: steady on. */
void board_led_timing(enum board_led p, unsigned *on_ms, unsigned *off_ms);

struct board_conf {
	char backend[300];		/* "linux" or "sim:DIR" */
	char status_led[64];		/* name in /sys/class/leds, "" none */
	char button[256];		/* input event device, "" none */
	char shutdown_flag[256];	/* made when ready to be shut down */
};

struct board_power {
	int on_battery;		/* 1: no mains online and a battery found */
	int percent;		/* the lowest battery's capacity, -1 unknown */
};

struct board;

/* 0, or -1 with err naming the setting at fault. */
int board_open(const struct board_conf *c, struct board **out, char *err,
    size_t errlen);
void board_close(struct board *b);
/*
 * Without opening the button (for any process opening the device): sets
 * *vouched when an RTC or NTP vouches for the clock, and boot to this
 * boot's id ("" unknown).  0, or -1 when c names no backend.
 */
int board_probe(const struct board_conf *c, int *vouched, char boot[37]);
/* "linux" or "sim". */
const char *board_backend(const struct board *b);

/* Shows pattern p (a no-op without an LED).  0 or -1. */
int board_led(struct board *b, enum board_led p);
/* Reads the power supplies.  Without any: mains, percent -1. */
void board_power(struct board *b, struct board_power *pw);
/* 1 when a real-time clock is present. */
int board_rtc(struct board *b);
/* 1 when the kernel says NTP has set the clock. */
int board_time_synced(struct board *b);
/* This boot's id (36 characters), "" when unknown. */
void board_boot_id(struct board *b, char out[37]);

/* A notification to the supervisor: "READY=1", "WATCHDOG=1",
   "STATUS=...".  A no-op where no supervisor listens. */
void board_notify(struct board *b, const char *msg);
/* How often the watchdog wants WATCHDOG=1, in ms; 0 when none. */
uint64_t board_watchdog_ms(struct board *b);
/* Makes (ready 1) or removes (0) the shutdown flag file.  0 or -1. */
int board_shutdown_ready(struct board *b, int ready);

/* The button's descriptor to wait on (non-blocking), -1 when none. */
int board_button_fd(struct board *b);
/* Reads one event: 1 with *down set (1 pressed, 0 released), 0 when none
   is ready, -1 when the device failed (the caller stops watching it). */
int board_button_read(struct board *b, int *down);

/* Free bytes for an unprivileged writer, and whether the file system
   holding path is mounted read-only (an SD card the kernel gave up on).
   0 or -1. */
int board_storage(const char *path, uint64_t *free_bytes, int *read_only);

#endif

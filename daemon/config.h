/*
 * config.h: fieldd's configuration, parsed once into one structure with
 * embedded defaults, then checked as a whole.
 *
 * File format: one "key = value" a line; '#' starts a comment; blank
 * lines ignored.  Unknown keys, bad values and values out of range are
 * errors naming the file, line and key.  Keys (defaults in config.c):
 *
 *   listen               ADDR:PORT of the local API (127.0.0.1:8080)
 *   free_space_floor_mb  refuse new records below this much free space
 *   epoch_records        records per sealing epoch before rotation
 *   epoch_hours          hours per sealing epoch before rotation
 *   max_body_kb          largest request body
 *   max_header_bytes     largest request line + headers
 *   max_connections      concurrent HTTP connections
 *   idle_timeout_s       keep-alive idle time before closing
 *   request_timeout_s    time allowed for one whole request
 *   log_level            debug | info | warn | error
 *   collector            HOST:PORT of collectord (none: no sync over a
 *                        link; `fieldctl enroll` sets it)
 *   sync_interval_s      how often to look for records to send
 *   sync_retry_max_s     the cap on the back-off after failed attempts
 *   sync_batch_max       records in one batch at most
 *   sync_budget_kb_day   bytes a day sync may use on a paid link (0: no cap)
 *   retention_days       keep sealed payloads this long after their ack
 *                        (0: purge at once; the ids and counts stay)
 *   suppress_threshold   counts under this are suppressed in /api/counts
 *                        (form/suppress.h), 2 to 1000
 *   board                linux | sim:DIR: the board backend (board.h)
 *   status_led           the LED's name in /sys/class/leds ("" none; ACT on
 *                        a Raspberry Pi)
 *   button               the button's input device (/dev/input/...; "" none)
 *   shutdown_flag        the file made when the battery is low and fieldd is
 *                        ready to be shut down ("" none)
 *   battery_low_percent  at or below this charge on battery, refuse new
 *                        records and get ready for shutdown (0: never)
 *   form_max_kb          the largest form definition this board takes from
 *                        its collector (a larger one is refused, and the
 *                        collector told why); up to FORM_MAX_DEF_BYTES
 *   clock                board: trust the clock when the board's RTC or NTP
 *                        vouches, or the collector agrees (clock.h); host:
 *                        a host keeps this machine's clock right (a VM or a
 *                        container, whose kernel shows no NTP state)
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/config_file.h"

#include "board/board.h"

struct config {
	char listen_addr[64];
	int listen_port;
	uint64_t free_space_floor_mb;
	uint32_t epoch_records;
	uint32_t epoch_hours;
	uint32_t max_body_kb;
	uint32_t max_header_bytes;
	uint32_t max_connections;
	uint32_t idle_timeout_s;
	uint32_t request_timeout_s;
	int log_level;			/* enum log_level */
	char collector_host[256];	/* "" when not set */
	int collector_port;
	uint32_t sync_interval_s;
	uint32_t sync_retry_max_s;
	uint32_t sync_batch_max;
	uint64_t sync_budget_kb_day;
	uint32_t retention_days;
	uint32_t suppress_threshold;
	struct board_conf board;
	uint32_t battery_low_percent;
	uint32_t form_max_kb;
	int clock_host;			/* clock = host */
};

/* Fills c with the embedded defaults. */
void config_defaults(struct config *c);

/*
 * Parses text (name is the file name for messages) over the values in c.
 * 0, or -1 with every error found in err, one a line.
 */
int config_parse(struct config *c, const char *name, const char *text,
    char *err, size_t errlen);

/* Reads and parses a file of at most 64 KiB.  0 or -1 and err. */
int config_load(struct config *c, const char *path, char *err,
    size_t errlen);

/*
 * Sets key = value in the file at path (made when absent): the key's
 * line is replaced, or one is added; comments and other lines stay.  The
 * result must parse, or nothing is written.  Atomic.  0 or -1 and err.
 */
int config_file_set(const char *path, const char *key, const char *value,
    char *err, size_t errlen);

#endif

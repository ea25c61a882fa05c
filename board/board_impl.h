/*
 * board_impl.h: what the two backends of board.h share (private to
 * board/).  struct board is one allocation: the configuration, the root
 * the sysfs-like files are read under ("" on a real board, DIR for sim),
 * and the button's descriptor with its partial input.
 */
#ifndef BOARD_IMPL_H
#define BOARD_IMPL_H

#include <limits.h>

#include "board/board.h"

struct board_ops {
	const char *name;
	int (*time_synced)(struct board *b);
	void (*boot_id)(struct board *b, char out[37]);
	void (*notify)(struct board *b, const char *msg);
	uint64_t (*watchdog_ms)(struct board *b);
	int (*button_open)(struct board *b, char *err, size_t errlen);
	int (*button_read)(struct board *b, int *down);
};

struct board {
	const struct board_ops *ops;
	struct board_conf conf;
	char root[256];			/* "" or the simulated tree */
	int button_fd;			/* -1: none */
	char line[64];			/* sim: a partial button line */
	size_t line_len;
	int led_shown;			/* -1 before the first board_led */
};

extern const struct board_ops board_linux_ops;
extern const struct board_ops board_sim_ops;

/* Reads root + path (at most len - 1 bytes, trailing newline dropped)
   into buf: the bytes read, or -1 when absent or unreadable. */
int board_read(const struct board *b, const char *path, char *buf,
    size_t len);
/* Writes s to root + path (an existing sysfs attribute, or a sim file
   made here).  0 or -1. */
int board_write(const struct board *b, const char *path, const char *s);

#endif

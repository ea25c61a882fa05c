/*
 * board_sim.c: board.h over a directory that tests write (see board.h):
 * what a supervisor would be told goes to DIR/notify, one message a line
 * (newlines inside a message become spaces); the watchdog's period is
 * DIR/watchdog_ms; the button is a FIFO of "down" and "up" lines.
 */
#include "board/board_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
sim_time_synced(struct board *b)
{
	char v[8];

	return board_read(b, "/clock_synced", v, sizeof(v)) > 0 &&
	    strcmp(v, "1") == 0;
}

static void
sim_boot_id(struct board *b, char out[37])
{
	char buf[64];

	out[0] = '\0';
	if (board_read(b, "/boot_id", buf, sizeof(buf)) == 36)
		memcpy(out, buf, 37);
}

static void
sim_notify(struct board *b, const char *msg)
{
	char path[PATH_MAX], line[512];
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/notify", b->root);
	n = (size_t)snprintf(line, sizeof(line) - 1, "%s", msg);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0)
		return;
	if (write(fd, line, n) < 0) {
		/* nothing listens then: as sd_notify without a socket */
	}
	close(fd);
}

static uint64_t
sim_watchdog_ms(struct board *b)
{
	char v[32];

	if (board_read(b, "/watchdog_ms", v, sizeof(v)) <= 0)
		return 0;
	return strtoull(v, NULL, 10);
}

static int
sim_button_open(struct board *b, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/button", b->root);
	if (stat(path, &sb) != 0)
		return 0;
	if (!S_ISFIFO(sb.st_mode)) {
		snprintf(err, errlen, "board: %.200s: not a FIFO", path);
		return -1;
	}
	/* O_RDWR: the FIFO never reports end of file when a test's writer
	   closes, so one open serves every press. */
	if ((b->button_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "board: %.200s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
sim_button_read(struct board *b, int *down)
{
	for (;;) {
		char *nl = memchr(b->line, '\n', b->line_len);

		if (nl) {
			size_t len = (size_t)(nl - b->line);
			int known = 1;

			if (len == 4 && memcmp(b->line, "down", 4) == 0)
				*down = 1;
			else if (len == 2 && memcmp(b->line, "up", 2) == 0)
				*down = 0;
			else
				known = 0;
			memmove(b->line, nl + 1, b->line_len - len - 1);
			b->line_len -= len + 1;
			if (known)
				return 1;
			continue;
		}
		if (b->line_len == sizeof(b->line))
			b->line_len = 0;	/* a line too long: dropped */
		ssize_t n = read(b->button_fd, b->line + b->line_len,
		    sizeof(b->line) - b->line_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		b->line_len += (size_t)n;
	}
}

const struct board_ops board_sim_ops = {
	.name = "sim",
	.time_synced = sim_time_synced,
	.boot_id = sim_boot_id,
	.notify = sim_notify,
	.watchdog_ms = sim_watchdog_ms,
	.button_open = sim_button_open,
	.button_read = sim_button_read,
};

/*
 * board_linux.c: board.h on a real board.  The supervisor is systemd
 * (common/notify.h; without NOTIFY_SOCKET these are no-ops, as when fieldd runs
 * by hand), the button a gpio-keys input device, the clock's state the
 * kernel's NTP status.
 */
#include "board/board_impl.h"
#include "common/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

static int
linux_time_synced(struct board *b)
{
	struct timex tx = { 0 };

	(void)b;
	/* TIME_ERROR (or STA_UNSYNC) until timesyncd or ntpd has set it. */
	return adjtimex(&tx) != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

static void
linux_boot_id(struct board *b, char out[37])
{
	char buf[64];

	out[0] = '\0';
	if (board_read(b, "/proc/sys/kernel/random/boot_id", buf,
	    sizeof(buf)) == 36)
		memcpy(out, buf, 37);
}

static void
linux_notify(struct board *b, const char *msg)
{
	(void)b;
	notify_send(msg);
}

static uint64_t
linux_watchdog_ms(struct board *b)
{
	(void)b;
	return notify_watchdog_usec() / 1000;
}

static int
linux_button_open(struct board *b, char *err, size_t errlen)
{
	if (b->conf.button[0] == '\0')
		return 0;
	b->button_fd = open(b->conf.button, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (b->button_fd < 0) {
		snprintf(err, errlen, "button: %.200s: %s", b->conf.button,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Key events of any key: gpio-keys reports the button as one; repeats
   (value 2) are not a new press. */
static int
linux_button_read(struct board *b, int *down)
{
	struct input_event ev;

	for (;;) {
		ssize_t n = read(b->button_fd, &ev, sizeof(ev));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n != (ssize_t)sizeof(ev))
			return -1;
		if (ev.type == EV_KEY && ev.value != 2) {
			*down = ev.value == 1;
			return 1;
		}
	}
}

const struct board_ops board_linux_ops = {
	.name = "linux",
	.time_synced = linux_time_synced,
	.boot_id = linux_boot_id,
	.notify = linux_notify,
	.watchdog_ms = linux_watchdog_ms,
	.button_open = linux_button_open,
	.button_read = linux_button_read,
};

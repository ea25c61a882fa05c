/*
 * board.c: the parts of board.h both backends share -- opening, the LED
 * (the kernel's timer trigger), the power supplies, the RTC and storage,
 * read from sysfs-like files under the board's root.
 */
#include "board/board_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Patterns tell states apart at a glance and from across a tent: steady,
   a slow blip, a fast flicker, an even blink, mostly on, a rare blip (the
   last also spends least on the LED when the battery is low). */
static const struct {
	const char *name;
	unsigned on_ms, off_ms;
} board_patterns[BOARD_LED_N] = {
	[BOARD_LED_IDLE] = { "idle", 1, 0 },
	[BOARD_LED_WAITING] = { "waiting", 200, 1800 },
	[BOARD_LED_SYNCING] = { "syncing", 100, 100 },
	[BOARD_LED_ERROR] = { "error", 500, 500 },
	[BOARD_LED_STORAGE_LOW] = { "storage_low", 1500, 500 },
	[BOARD_LED_LOW_BATTERY] = { "low_battery", 50, 2950 },
};

const char *
board_led_name(enum board_led p)
{
	return p < BOARD_LED_N ? board_patterns[p].name : "?";
}

void
board_led_timing(enum board_led p, unsigned *on_ms, unsigned *off_ms)
{
	*on_ms = board_patterns[p].on_ms;
	*off_ms = board_patterns[p].off_ms;
}

int
board_read(const struct board *b, const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd;

	if (snprintf(full, sizeof(full), "%s%s", b->root, path) >=
	    (int)sizeof(full))
		return -1;
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	    (errno != ELOOP ||
	    (fd = open(full, O_RDONLY | O_CLOEXEC)) < 0))	/* sysfs links */
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return (int)n;
}

int
board_write(const struct board *b, const char *path, const char *s)
{
	char full[PATH_MAX];
	size_t len = strlen(s);
	int fd, flags = O_WRONLY | O_CLOEXEC;

	if (snprintf(full, sizeof(full), "%s%s", b->root, path) >=
	    (int)sizeof(full))
		return -1;
	/* sysfs attributes exist or the driver lacks them; only the
	   simulated tree gets files made. */
	if (b->root[0])
		flags |= O_CREAT | O_TRUNC;
	if ((fd = open(full, flags, 0644)) < 0)
		return -1;
	if (write(fd, s, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Fills b from c, the button not yet open.  0 or -1 and err. */
static int
board_init(struct board *b, const struct board_conf *c, char *err,
    size_t errlen)
{
	struct stat sb;

	memset(b, 0, sizeof(*b));
	b->conf = *c;
	b->button_fd = -1;
	b->led_shown = -1;
	if (strcmp(c->backend, "linux") == 0)
		b->ops = &board_linux_ops;
	else if (strncmp(c->backend, "sim:", 4) == 0 && c->backend[4] &&
	    strlen(c->backend + 4) < sizeof(b->root)) {
		b->ops = &board_sim_ops;
		snprintf(b->root, sizeof(b->root), "%s", c->backend + 4);
		if (stat(b->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "board: sim:%.200s: not a "
			    "directory", b->root);
			return -1;
		}
	} else {
		snprintf(err, errlen, "board: expected linux or sim:DIR, not "
		    "\"%.40s\"", c->backend);
		return -1;
	}
	if (strchr(c->status_led, '/') || strcmp(c->status_led, "..") == 0) {
		snprintf(err, errlen, "status_led: a name in /sys/class/leds, "
		    "not a path");
		return -1;
	}
	return 0;
}

int
board_open(const struct board_conf *c, struct board **out, char *err,
    size_t errlen)
{
	struct board *b;

	*out = NULL;
	if ((b = malloc(sizeof(*b))) == NULL) {
		snprintf(err, errlen, "board: out of memory");
		return -1;
	}
	if (board_init(b, c, err, errlen) != 0 ||
	    b->ops->button_open(b, err, errlen) != 0) {
		free(b);
		return -1;
	}
	*out = b;
	return 0;
}

int
board_probe(const struct board_conf *c, int *vouched, char boot[37])
{
	struct board b;
	char err[256];

	*vouched = 0;
	boot[0] = '\0';
	if (board_init(&b, c, err, sizeof(err)) != 0)
		return -1;
	*vouched = board_rtc(&b) || board_time_synced(&b);
	board_boot_id(&b, boot);
	return 0;
}

void
board_close(struct board *b)
{
	if (b == NULL)
		return;
	if (b->button_fd >= 0)
		close(b->button_fd);
	free(b);
}

const char *
board_backend(const struct board *b)
{
	return b->ops->name;
}

int
board_led(struct board *b, enum board_led p)
{
	char dir[128], path[192], num[16];
	unsigned on, off;

	if (b->conf.status_led[0] == '\0' || p >= BOARD_LED_N)
		return 0;
	if (b->led_shown == (int)p)
		return 0;
	snprintf(dir, sizeof(dir), "/sys/class/leds/%s", b->conf.status_led);
	board_led_timing(p, &on, &off);
	if (off == 0) {
		char max[16] = "1";

		snprintf(path, sizeof(path), "%s/max_brightness", dir);
		if (board_read(b, path, max, sizeof(max)) <= 0)
			snprintf(max, sizeof(max), "1");
		snprintf(path, sizeof(path), "%s/trigger", dir);
		if (board_write(b, path, "none") != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/brightness", dir);
		if (board_write(b, path, max) != 0)
			return -1;
	} else {
		/* Setting the trigger makes delay_on and delay_off appear. */
		snprintf(path, sizeof(path), "%s/trigger", dir);
		if (board_write(b, path, "timer") != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/delay_on", dir);
		snprintf(num, sizeof(num), "%u", on);
		if (board_write(b, path, num) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s/delay_off", dir);
		snprintf(num, sizeof(num), "%u", off);
		if (board_write(b, path, num) != 0)
			return -1;
	}
	b->led_shown = (int)p;
	return 0;
}

void
board_power(struct board *b, struct board_power *pw)
{
	char dir[PATH_MAX], path[PATH_MAX], v[64];
	struct dirent *de;
	DIR *d;
	int batteries = 0, mains = 0;

	pw->on_battery = 0;
	pw->percent = -1;
	snprintf(dir, sizeof(dir), "%s/sys/class/power_supply", b->root);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 64)
			continue;
		snprintf(path, sizeof(path), "/sys/class/power_supply/%s/type",
		    de->d_name);
		if (board_read(b, path, v, sizeof(v)) <= 0)
			continue;
		if (strcmp(v, "Battery") == 0) {
			snprintf(path, sizeof(path),
			    "/sys/class/power_supply/%s/capacity", de->d_name);
			batteries++;
			if (board_read(b, path, v, sizeof(v)) > 0) {
				int pc = atoi(v);

				if (pc >= 0 && pc <= 100 &&
				    (pw->percent < 0 || pc < pw->percent))
					pw->percent = pc;
			}
		} else {
			/* Mains, USB, ...: online means powered from outside. */
			snprintf(path, sizeof(path),
			    "/sys/class/power_supply/%s/online", de->d_name);
			if (board_read(b, path, v, sizeof(v)) > 0 &&
			    strcmp(v, "1") == 0)
				mains++;
		}
	}
	closedir(d);
	pw->on_battery = batteries > 0 && mains == 0;
}

int
board_rtc(struct board *b)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/dev/rtc0", b->root);
	if (stat(path, &sb) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/sys/class/rtc/rtc0", b->root);
	return stat(path, &sb) == 0;
}

int
board_time_synced(struct board *b)
{
	return b->ops->time_synced(b);
}

void
board_boot_id(struct board *b, char out[37])
{
	b->ops->boot_id(b, out);
}

void
board_notify(struct board *b, const char *msg)
{
	b->ops->notify(b, msg);
}

uint64_t
board_watchdog_ms(struct board *b)
{
	return b->ops->watchdog_ms(b);
}

int
board_shutdown_ready(struct board *b, int ready)
{
	char path[PATH_MAX];
	int fd;

	if (b->conf.shutdown_flag[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s%s", b->root, b->conf.shutdown_flag);
	if (!ready)
		return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) < 0)
		return -1;
	return close(fd);
}

int
board_button_fd(struct board *b)
{
	return b->button_fd;
}

int
board_button_read(struct board *b, int *down)
{
	if (b->button_fd < 0)
		return 0;
	return b->ops->button_read(b, down);
}

int
board_storage(const char *path, uint64_t *free_bytes, int *read_only)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) != 0)
		return -1;
	*free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*read_only = (vfs.f_flag & ST_RDONLY) != 0;
	return 0;
}

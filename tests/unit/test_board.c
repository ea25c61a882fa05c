/* test_board.c: the board interface over the simulated tree -- each LED
   pattern as the kernel's files, power supplies, the RTC, the boot id,
   the button's lines, notifications, the shutdown flag -- and the
   settings it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/input.h>
#include <cmocka.h>

#include "board/board.h"

static char root[64];

static void
put(const char *rel, const char *s)
{
	char path[256], dir[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
		mkdir(dir, 0755);
	}
	assert_non_null(f = fopen(path, "w"));
	fputs(s, f);
	fclose(f);
}

static const char *
get(const char *rel)
{
	static char buf[4096];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct board *
open_sim(const char *led)
{
	struct board_conf c = { 0 };
	struct board *b;
	char err[256];

	snprintf(c.backend, sizeof(c.backend), "sim:%s", root);
	snprintf(c.status_led, sizeof(c.status_led), "%s", led);
	snprintf(c.shutdown_flag, sizeof(c.shutdown_flag), "/run/ready");
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), 0);
	assert_string_equal(board_backend(b), "sim");
	return b;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_board.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void
test_led(void **state)
{
	struct board *b;
	unsigned on, off, seen[BOARD_LED_N][2];

	(void)state;
	put("/sys/class/leds/status/max_brightness", "255\n");
	b = open_sim("status");
	assert_int_equal(board_led(b, BOARD_LED_IDLE), 0);
	assert_string_equal(get("/sys/class/leds/status/trigger"), "none");
	assert_string_equal(get("/sys/class/leds/status/brightness"), "255");
	for (int p = BOARD_LED_WAITING; p < BOARD_LED_N; p++) {
		char want[16];

		assert_int_equal(board_led(b, (enum board_led)p), 0);
		assert_string_equal(get("/sys/class/leds/status/trigger"),
		    "timer");
		board_led_timing((enum board_led)p, &on, &off);
		snprintf(want, sizeof(want), "%u", on);
		assert_string_equal(get("/sys/class/leds/status/delay_on"),
		    want);
		snprintf(want, sizeof(want), "%u", off);
		assert_string_equal(get("/sys/class/leds/status/delay_off"),
		    want);
		seen[p][0] = on;
		seen[p][1] = off;
		/* every pattern differs from every other one */
		for (int q = BOARD_LED_WAITING; q < p; q++)
			assert_true(seen[q][0] != on || seen[q][1] != off);
	}
	assert_string_equal(board_led_name(BOARD_LED_LOW_BATTERY),
	    "low_battery");
	/* the same pattern again writes nothing */
	put("/sys/class/leds/status/trigger", "untouched");
	assert_int_equal(board_led(b, BOARD_LED_LOW_BATTERY), 0);
	assert_string_equal(get("/sys/class/leds/status/trigger"),
	    "untouched");
	board_close(b);
	/* no LED configured: nothing written, no error */
	b = open_sim("");
	assert_int_equal(board_led(b, BOARD_LED_ERROR), 0);
	board_close(b);
}

static void
test_power(void **state)
{
	struct board *b = open_sim("");
	struct board_power pw;

	(void)state;
	board_power(b, &pw);		/* no supplies: mains, unknown */
	assert_int_equal(pw.on_battery, 0);
	assert_int_equal(pw.percent, -1);
	put("/sys/class/power_supply/BAT0/type", "Battery\n");
	put("/sys/class/power_supply/BAT0/capacity", "42\n");
	put("/sys/class/power_supply/BAT1/type", "Battery\n");
	put("/sys/class/power_supply/BAT1/capacity", "57\n");
	put("/sys/class/power_supply/AC/type", "Mains\n");
	put("/sys/class/power_supply/AC/online", "1\n");
	board_power(b, &pw);
	assert_int_equal(pw.on_battery, 0);
	assert_int_equal(pw.percent, 42);	/* the lowest battery */
	put("/sys/class/power_supply/AC/online", "0\n");
	put("/sys/class/power_supply/BAT0/capacity", "900\n");	/* nonsense */
	board_power(b, &pw);
	assert_int_equal(pw.on_battery, 1);
	assert_int_equal(pw.percent, 57);
	board_close(b);
}

static void
test_clock_and_notify(void **state)
{
	struct board *b = open_sim("");
	char id[37];

	(void)state;
	assert_int_equal(board_rtc(b), 0);
	assert_int_equal(board_time_synced(b), 0);
	board_boot_id(b, id);
	assert_string_equal(id, "");
	put("/dev/rtc0", "");
	put("/clock_synced", "1\n");
	put("/boot_id", "0b7d6c57-3f0e-4a52-9d1c-2f1e8f8e1c11\n");
	assert_int_equal(board_rtc(b), 1);
	assert_int_equal(board_time_synced(b), 1);
	board_boot_id(b, id);
	assert_string_equal(id, "0b7d6c57-3f0e-4a52-9d1c-2f1e8f8e1c11");

	assert_int_equal(board_watchdog_ms(b), 0);
	put("/watchdog_ms", "30000\n");
	assert_int_equal(board_watchdog_ms(b), 30000);
	board_notify(b, "READY=1");
	board_notify(b, "STATUS=two\nlines");
	assert_string_equal(get("/notify"), "READY=1\nSTATUS=two lines\n");

	mkdir(strcat(strcpy(id, root), "/run"), 0755);
	assert_int_equal(board_shutdown_ready(b, 1), 0);
	assert_non_null(get("/run/ready"));
	assert_int_equal(board_shutdown_ready(b, 0), 0);
	assert_null(get("/run/ready"));
	assert_int_equal(board_shutdown_ready(b, 0), 0);	/* idempotent */
	board_close(b);
}

static void
test_button(void **state)
{
	char path[256];
	struct board *b;
	int fd, down = -1;

	(void)state;
	b = open_sim("");
	assert_int_equal(board_button_fd(b), -1);	/* none */
	assert_int_equal(board_button_read(b, &down), 0);
	board_close(b);

	snprintf(path, sizeof(path), "%s/button", root);
	assert_int_equal(mkfifo(path, 0600), 0);
	b = open_sim("");
	assert_true(board_button_fd(b) >= 0);
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(board_button_read(b, &down), 0);	/* nothing yet */
	/* a press split across writes, junk between, then a release */
	assert_int_equal(write(fd, "do", 2), 2);
	assert_int_equal(board_button_read(b, &down), 0);
	assert_int_equal(write(fd, "wn\nbogus\nup\n", 12), 12);
	assert_int_equal(board_button_read(b, &down), 1);
	assert_int_equal(down, 1);
	assert_int_equal(board_button_read(b, &down), 1);
	assert_int_equal(down, 0);
	assert_int_equal(board_button_read(b, &down), 0);
	close(fd);
	/* the writer gone: still open for the next one */
	assert_int_equal(board_button_read(b, &down), 0);
	board_close(b);
}

/* The real backend's button: input events, as gpio-keys sends them. */
static void
test_linux_button(void **state)
{
	struct input_event ev[4] = {
		{ .type = EV_KEY, .code = KEY_POWER, .value = 1 },
		{ .type = EV_SYN, .code = SYN_REPORT, .value = 0 },
		{ .type = EV_KEY, .code = KEY_POWER, .value = 2 },  /* repeat */
		{ .type = EV_KEY, .code = KEY_POWER, .value = 0 },
	};
	struct board_conf c = { 0 };
	struct board *b;
	char err[256];
	int fd, down = -1;

	(void)state;
	snprintf(c.backend, sizeof(c.backend), "linux");
	snprintf(c.button, sizeof(c.button), "%s/event0", root);
	assert_int_equal(mkfifo(c.button, 0600), 0);
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), 0);
	assert_string_equal(board_backend(b), "linux");
	assert_true((fd = open(c.button, O_WRONLY)) >= 0);
	assert_int_equal(write(fd, ev, sizeof(ev)), (ssize_t)sizeof(ev));
	assert_int_equal(board_button_read(b, &down), 1);
	assert_int_equal(down, 1);
	assert_int_equal(board_button_read(b, &down), 1);
	assert_int_equal(down, 0);
	assert_int_equal(board_button_read(b, &down), 0);
	/* half an event, then the device gone: a failure */
	assert_int_equal(write(fd, ev, 5), 5);
	close(fd);
	assert_int_equal(board_button_read(b, &down), -1);
	board_close(b);
}

static void
test_refused(void **state)
{
	struct board_conf c = { 0 };
	struct board *b;
	char err[256], path[256];

	(void)state;
	snprintf(c.backend, sizeof(c.backend), "gpio");
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected linux or sim:DIR"));
	snprintf(c.backend, sizeof(c.backend), "sim:%s/absent", root);
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a directory"));
	snprintf(c.backend, sizeof(c.backend), "sim:%s", root);
	snprintf(c.status_led, sizeof(c.status_led), "../../etc");
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "status_led"));
	c.status_led[0] = '\0';
	put("/button", "a plain file");
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a FIFO"));
	snprintf(path, sizeof(path), "%s/button", root);
	unlink(path);
	snprintf(c.backend, sizeof(c.backend), "linux");
	snprintf(c.button, sizeof(c.button), "%s/no-such-event", root);
	assert_int_equal(board_open(&c, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "button"));
}

static void
test_storage(void **state)
{
	uint64_t free_bytes = 0;
	int ro = -1;

	(void)state;
	assert_int_equal(board_storage(root, &free_bytes, &ro), 0);
	assert_true(free_bytes > 0);
	assert_int_equal(ro, 0);
	assert_int_equal(board_storage("/proc/sys", &free_bytes, &ro), 0);
	assert_int_equal(board_storage("/no/such/dir", &free_bytes, &ro), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_led, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_and_notify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_button, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_clock.c: when a stamp is trusted -- the build date, the board's
   source, jumps back against boot time and behind the latest trusted
   stamp, and the collector's word restoring or withdrawing trust. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"

static int64_t wall_ms, boot_ms;

static int64_t fake_wall(void) { return wall_ms; }
static int64_t fake_boot(void) { return boot_ms; }

/* Both clocks move on by ms. */
static void
pass(int64_t ms)
{
	wall_ms += ms;
	boot_ms += ms;
}

static int
trusted(void)
{
	int64_t ms;
	int t = clock_now(&ms);

	assert_int_equal(ms, wall_ms);
	return t;
}

static int
setup(void **state)
{
	(void)state;
	wall_ms = CLOCK_BUILD_MS + 86400000;
	boot_ms = 5000;
	clock_test_hooks(fake_wall, fake_boot);
	return 0;
}

static void
test_build_date(void **state)
{
	char day[11];

	(void)state;
	assert_true(trusted());
	wall_ms = CLOCK_BUILD_MS - 1;	/* as at boot on a board with no RTC */
	clock_test_hooks(fake_wall, fake_boot);
	assert_false(trusted());
	assert_string_equal(clock_why(),
	    "the clock is before this software was built");
	clock_today(day);
	assert_string_equal(day, "9999-12-31");
	/* time set forward (NTP at last): trusted from then on */
	wall_ms = CLOCK_BUILD_MS + 3600000;
	assert_true(trusted());
}

static void
test_source(void **state)
{
	(void)state;
	clock_set_source(0);
	assert_false(trusted());
	assert_string_equal(clock_why(), "no real-time clock or network time");
	clock_set_source(1);
	assert_true(trusted());
	/* no RTC or NTP, but the collector agrees: trusted */
	clock_set_source(0);
	clock_collector(1200);
	assert_true(trusted());
	assert_string_equal(clock_why(), "");
}

static void
test_jump_back(void **state)
{
	(void)state;
	assert_true(trusted());
	pass(60000);
	wall_ms -= 1000;		/* a slew, not a jump */
	assert_true(trusted());
	wall_ms -= 10 * 60000;		/* set back ten minutes */
	assert_false(trusted());
	assert_string_equal(clock_why(), "the clock jumped back");
	/* forward again is no cure: a jump is never trusted ... */
	wall_ms += 20 * 60000;
	pass(1000);
	assert_false(trusted());
	/* ... until the collector's time agrees with ours */
	clock_collector(-300);
	assert_true(trusted());
	/* and a collector far off withdraws trust */
	clock_collector(90000);
	assert_false(trusted());
	assert_string_equal(clock_why(),
	    "the clock disagrees with the collector's");
	clock_collector(10);
	assert_true(trusted());
}

static void
test_behind_last_stamp(void **state)
{
	(void)state;
	/* the store's latest trusted stamp is an hour ahead of now: this
	   start's clock was set back while fieldd was down */
	clock_set_high(wall_ms + 3600000);
	assert_false(trusted());
	assert_string_equal(clock_why(), "the clock jumped back");
	/* an earlier stamp changes nothing */
	clock_test_hooks(fake_wall, fake_boot);
	clock_set_high(wall_ms - 3600000);
	assert_true(trusted());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_build_date, setup),
		cmocka_unit_test_setup(test_source, setup),
		cmocka_unit_test_setup(test_jump_back, setup),
		cmocka_unit_test_setup(test_behind_last_stamp, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

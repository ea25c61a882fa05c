/* test_ratelimit.c: requests per client: a burst, then the rate; the
   board itself unlimited; a spent bucket is never forgotten, a full
   table refuses newcomers; IPv6 counts per /64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/ratelimit.h"

static void
test_bucket(void **state)
{
	static struct ratelimit r;
	uint64_t t = 1000000;
	int ok = 0;

	(void)state;
	for (int i = 0; i < RATE_BURST + 10; i++)
		ok += ratelimit_allow(&r, "10.0.0.7", t);
	assert_int_equal(ok, RATE_BURST);
	/* a second later, RATE_PER_S more */
	ok = 0;
	for (int i = 0; i < RATE_PER_S + 10; i++)
		ok += ratelimit_allow(&r, "10.0.0.7", t + 1000);
	assert_int_equal(ok, RATE_PER_S);
	/* another address is not held back by the first */
	assert_true(ratelimit_allow(&r, "10.0.0.8", t + 1000));
	/* the board itself is never limited */
	for (int i = 0; i < 10 * RATE_BURST; i++)
		assert_true(ratelimit_allow(&r, "127.0.0.1", t));
	/* many addresses, one after another: the table keeps working */
	for (int i = 0; i < 4 * RATE_SLOTS; i++) {
		char peer[32];
		snprintf(peer, sizeof(peer), "10.1.%d.%d", i / 250, i % 250);
		assert_true(ratelimit_allow(&r, peer, t + 2000 +
		    (uint64_t)i * 1000 * RATE_BURST / RATE_PER_S));
	}
}

/* Issue 16: a flood of other addresses does not give a spent bucket
   back; a full table refuses the newcomer instead. */
static void
test_no_flush(void **state)
{
	static struct ratelimit r;
	uint64_t t = 5000000;
	char peer[32];
	int ok = 0;

	(void)state;
	while (ratelimit_allow(&r, "10.0.0.7", t))
		;
	for (int i = 0; i < RATE_SLOTS; i++) {
		snprintf(peer, sizeof(peer), "10.2.%d.%d", i / 250, i % 250);
		ok += ratelimit_allow(&r, peer, t);
	}
	assert_int_equal(ok, RATE_SLOTS - 1);	/* the last found no room */
	assert_false(ratelimit_allow(&r, "10.0.0.7", t));
	assert_false(ratelimit_allow(&r, "10.3.0.1", t));
	/* once the others' buckets have filled again, room again */
	assert_true(ratelimit_allow(&r, "10.3.0.1",
	    t + 1000 * RATE_BURST / RATE_PER_S));
}

static void
test_ipv6_per_64(void **state)
{
	static struct ratelimit r;
	char peer[64], k[PEER_KEY_MAX];
	uint64_t t = 7000000;
	int ok = 0;

	(void)state;
	for (int i = 0; i < 2 * RATE_BURST; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:aa:bb:%x:%x::1", i, i);
		ok += ratelimit_allow(&r, peer, t);
	}
	assert_int_equal(ok, RATE_BURST);
	assert_true(ratelimit_allow(&r, "2001:db8:aa:bc::1", t));
	peer_key("2001:db8:aa:bb:1:2:3:4", k);
	assert_string_equal(k, "2001:db8:aa:bb::/64");
	peer_key("::ffff:10.1.2.3", k);
	assert_string_equal(k, "10.1.2.3");
	peer_key("10.1.2.3", k);
	assert_string_equal(k, "10.1.2.3");
	assert_true(peer_is_local("::1"));
	assert_false(peer_is_local("127.0.0.2"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_no_flush),
		cmocka_unit_test(test_ipv6_per_64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

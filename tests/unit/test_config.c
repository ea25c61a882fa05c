/* test_config.c: defaults, every key, and errors naming line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "daemon/config.h"

static void
test_defaults(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_string_equal(c.listen_addr, "127.0.0.1");
	assert_int_equal(c.listen_port, 8080);
	assert_int_equal(c.free_space_floor_mb, 64);
	assert_int_equal(c.epoch_records, 1000);
	assert_int_equal(c.max_body_kb, 256);
	assert_int_equal(c.log_level, LOG_INFO);
}

static void
test_all_keys(void **state)
{
	struct config c;
	char err[512];
	const char *text =
	    "# a board on its LAN\n"
	    "listen = 192.168.4.1:80\n"
	    "  free_space_floor_mb=128   # comment after a value\n"
	    "\n"
	    "epoch_records = 50\n"
	    "epoch_hours = 6\n"
	    "max_body_kb = 64\n"
	    "max_header_bytes = 4096\n"
	    "max_connections = 16\n"
	    "idle_timeout_s = 5\n"
	    "request_timeout_s = 3\n"
	    "log_level = debug\n";

	config_defaults(&c);
	assert_int_equal(config_parse(&c, "f.conf", text, err, sizeof(err)), 0);
	assert_string_equal(c.listen_addr, "192.168.4.1");
	assert_int_equal(c.listen_port, 80);
	assert_int_equal(c.free_space_floor_mb, 128);
	assert_int_equal(c.epoch_records, 50);
	assert_int_equal(c.epoch_hours, 6);
	assert_int_equal(c.max_body_kb, 64);
	assert_int_equal(c.max_header_bytes, 4096);
	assert_int_equal(c.max_connections, 16);
	assert_int_equal(c.idle_timeout_s, 5);
	assert_int_equal(c.request_timeout_s, 3);
	assert_int_equal(c.log_level, LOG_DEBUG);
}

static void
test_errors_name_line_and_key(void **state)
{
	struct config c;
	char err[1024];
	const char *text =
	    "listen = nowhere\n"
	    "epoch_records = 0\n"
	    "colour = blue\n"
	    "just words\n"
	    "max_body_kb = 12abc\n"
	    "log_level = loud\n";

	config_defaults(&c);
	assert_int_equal(config_parse(&c, "f.conf", text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "f.conf:1: listen"));
	assert_non_null(strstr(err, "f.conf:2: epoch_records: expected a whole number from 1"));
	assert_non_null(strstr(err, "f.conf:3: unknown key \"colour\""));
	assert_non_null(strstr(err, "f.conf:4: expected key = value"));
	assert_non_null(strstr(err, "f.conf:5: max_body_kb"));
	assert_non_null(strstr(err, "f.conf:6: log_level"));
	/* Nothing bad was applied. */
	assert_int_equal(c.epoch_records, 1000);
	assert_int_equal(c.max_body_kb, 256);
}

static void
test_listen_forms(void **state)
{
	char addr[64];
	int port;

	assert_int_equal(config_parse_listen("[::1]:8080", addr, sizeof(addr),
	    &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 8080);
	assert_int_equal(config_parse_listen("0.0.0.0:0", addr, sizeof(addr),
	    &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(config_parse_listen("1.2.3.4:65536", addr,
	    sizeof(addr), &port), -1);
	assert_int_equal(config_parse_listen(":80", addr, sizeof(addr), &port),
	    -1);
	assert_int_equal(config_parse_listen("[::1]80", addr, sizeof(addr),
	    &port), -1);
	assert_int_equal(config_parse_listen("host:", addr, sizeof(addr),
	    &port), -1);
}

static void
test_missing_file(void **state)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/fieldd.conf", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/fieldd.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

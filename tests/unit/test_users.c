/* test_users.c: enumerator tokens: shown once, stored only hashed,
   checked in full, names bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "common/log.h"
#include "daemon/users.h"

static char dir[64], path[128];
static struct store *st;

static int
setup(void **state)
{
	char err[256];

	log_init("test_users", LOG_ERR);
	strcpy(dir, "/tmp/test_users.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/device.db", dir);
	assert_int_equal(store_open(path, 1, &st, err, sizeof(err)), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
test_token_round_trip(void **state)
{
	char t1[USERS_TOKEN_LEN + 1], t2[USERS_TOKEN_LEN + 1], err[128];

	assert_int_equal(users_add(st, "Amina", t1, err, sizeof(err)), 0);
	assert_int_equal(users_add(st, "Chol", t2, err, sizeof(err)), 0);
	assert_int_equal(strlen(t1), USERS_TOKEN_LEN);
	assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789-_"), USERS_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	assert_int_equal(users_check(st, t1), 1);
	assert_int_equal(users_check(st, t2), 1);
	/* one character off, shorter, longer, empty, NULL: refused */
	t1[5] = t1[5] == 'A' ? 'B' : 'A';
	assert_int_equal(users_check(st, t1), 0);
	t2[USERS_TOKEN_LEN - 1] = '\0';
	assert_int_equal(users_check(st, t2), 0);
	assert_int_equal(users_check(st, ""), 0);
	assert_int_equal(users_check(st, NULL), 0);
	/* a name is taken once */
	assert_int_equal(users_add(st, "Amina", t1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "taken"));
}

static int
find_token(void *arg, int n, char **vals, char **cols)
{
	const char *tok = arg;

	for (int i = 0; i < n; i++)
		if (vals[i] && strstr(vals[i], tok))
			fail_msg("token found in the database");
	return 0;
}

static void
test_only_hash_stored(void **state)
{
	char t[USERS_TOKEN_LEN + 1], err[128], sql[64];
	sqlite3 *db;
	FILE *f;
	char *buf;
	long n;

	assert_int_equal(users_add(st, "Amina", t, err, sizeof(err)), 0);
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT * FROM users");
	assert_int_equal(sqlite3_exec(db, sql, find_token, t, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* nor anywhere in the file's bytes */
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_null(memmem(buf, (size_t)n, t, USERS_TOKEN_LEN));
	free(buf);
	assert_int_equal(store_open(path, 0, &st, err, sizeof(err)), 0);
	assert_int_equal(users_check(st, t), 1);
}

static void
test_names(void **state)
{
	char t[USERS_TOKEN_LEN + 1], err[128], long_name[80];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(users_name_ok("Enumerator 1"), 1);
	assert_int_equal(users_name_ok("عائشة"), 1);
	assert_int_equal(users_name_ok(""), 0);
	assert_int_equal(users_name_ok(" lead"), 0);
	assert_int_equal(users_name_ok("tab\there"), 0);
	assert_int_equal(users_name_ok(long_name), 0);
	assert_int_equal(users_add(st, "bad\nname", t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "printable"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_hash_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	};

	return cmocka_run_group_tests_name("users", tests, NULL, NULL);
}

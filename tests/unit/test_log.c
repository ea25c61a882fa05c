/*
 * test_log.c: each log line reaches standard error whole, with one write,
 * even when two threads log at once (fieldd's loop and its writer do);
 * a line longer than the limit is cut and says so.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

#define LINES 20000

static void *
say(void *arg)
{
	int t = *(int *)arg;

	for (int i = 0; i < LINES; i++)
		log_info("thread %d line %d of the test", t, i);
	return NULL;
}

/* Runs fn with standard error sent to a file; returns the file's text. */
static char *
captured(void (*fn)(void))
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	FILE *f;
	char *text;
	long len;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = malloc((size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	return text;
}

static void
two_threads(void)
{
	pthread_t a, b;
	int ta = 1, tb = 2;

	pthread_create(&a, NULL, say, &ta);
	pthread_create(&b, NULL, say, &tb);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

static void
test_lines_whole_from_two_threads(void **state)
{
	char *text = captured(two_threads), *save = NULL;
	int seen[3] = { 0, 0, 0 }, bad = 0;

	(void)state;
	for (char *l = strtok_r(text, "\n", &save); l;
	    l = strtok_r(NULL, "\n", &save)) {
		int t, i, n = 0;

		/* 2026-12-06T14:00:00Z test info: thread T line I of the test */
		if (strlen(l) < 21 || l[4] != '-' || l[20] != ' ' ||
		    sscanf(l + 21, "test info: thread %d line %d of the "
		    "test%n", &t, &i, &n) != 2 || l[21 + n] != '\0' ||
		    t < 1 || t > 2 || i != seen[t]) {
			bad++;
			continue;
		}
		seen[t]++;
	}
	free(text);
	assert_int_equal(bad, 0);
	assert_int_equal(seen[1], LINES);
	assert_int_equal(seen[2], LINES);
}

static void
one_long_line(void)
{
	static char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	log_warn("%s", big);
	log_info("after");
}

static void
test_long_line_cut(void **state)
{
	char *text = captured(one_long_line), *nl = strchr(text, '\n');

	(void)state;
	assert_non_null(nl);
	assert_int_equal(nl - text + 1, 2048);
	assert_memory_equal(nl - 3, "...", 3);
	assert_non_null(strstr(nl + 1, "test info: after\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_whole_from_two_threads),
		cmocka_unit_test(test_long_line_cut),
	};

	log_init("test", LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

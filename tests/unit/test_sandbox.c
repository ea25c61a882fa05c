/* test_sandbox.c: after sandbox_enter, what serving needs still works
   (files, sockets, threads, randomness) and what it never needs kills
   the process: a new program, a new process, a raw socket, a mount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"

/* valgrind cannot run a filtered process (it does not emulate seccomp):
   under it the filter's tests are skipped (make valgrind).  Nor does
   qemu-user (make test-arm64, which sets FIELD_QEMU_USER): the filter
   is proven on the arch's own kernel (make test-vm-arm64). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#define NO_SECCOMP_HERE (RUNNING_ON_VALGRIND || getenv("FIELD_QEMU_USER"))

enum { DO_NOTHING, DO_EXEC, DO_FORK, DO_RAW_SOCKET, DO_MOUNT };

static void *
thread_main(void *arg)
{
	return arg;
}

/* In a child: enter, do what serving does, then `what`; the child's
   wait status. */
static int
child(int what)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128], path[] = "/tmp/test_sandbox.XXXXXX", buf[4];
		unsigned char rnd[16];
		pthread_t th;
		int fd, s;

		if (sandbox_enter(err, sizeof(err)) != 0)
			_exit(10);
		/* what serving needs */
		if ((fd = mkstemp(path)) < 0 || write(fd, "abc", 3) != 3 ||
		    pread(fd, buf, 3, 0) != 3 || fsync(fd) != 0 ||
		    close(fd) != 0 || unlink(path) != 0)
			_exit(11);
		if ((s = socket(AF_INET6, SOCK_STREAM, 0)) < 0 || close(s))
			_exit(12);
		if (pthread_create(&th, NULL, thread_main, NULL) != 0 ||
		    pthread_join(th, NULL) != 0)
			_exit(13);
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			_exit(14);
		switch (what) {
		case DO_EXEC:
			execl("/bin/true", "true", (char *)NULL);
			_exit(20);
		case DO_FORK:
			if (fork() == 0)
				_exit(0);
			_exit(21);
		case DO_RAW_SOCKET:
			socket(AF_PACKET, SOCK_RAW, 0);
			_exit(22);
		case DO_MOUNT:
			mount("none", "/tmp", "tmpfs", 0, NULL);
			_exit(23);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
test_allowed(void **state)
{
	int st;

	if (NO_SECCOMP_HERE)
		skip();
	st = child(DO_NOTHING);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_forbidden_kills(void **state)
{
	static const int what[] = { DO_EXEC, DO_FORK, DO_RAW_SOCKET,
	    DO_MOUNT };

	if (NO_SECCOMP_HERE)
		skip();

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		int st = child(what[i]);

		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSYS);
	}
}

static void
test_off_for_debugging(void **state)
{
	char err[128];

	setenv("FIELD_SANDBOX", "off", 1);
	assert_int_equal(sandbox_enter(err, sizeof(err)), 1);
	unsetenv("FIELD_SANDBOX");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forbidden_kills),
		cmocka_unit_test(test_off_for_debugging),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sandbox.c: see sandbox.h. */
#include "common/sandbox.h"

#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

/* Allowed whatever their arguments.  Names a machine lacks (32-bit only
   calls on 64-bit ones and the reverse) are skipped. */
static const char *const sandbox_calls[] = {
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "lseek", "_llseek", "close", "close_range", "openat",
	"open", "creat", "stat", "fstat", "lstat", "newfstatat", "statx",
	"fstatat64", "stat64", "fstat64", "lstat64", "statfs", "fstatfs",
	"statfs64", "fstatfs64", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getcwd", "getdents", "getdents64",
	"fsync", "fdatasync", "ftruncate", "ftruncate64", "fallocate",
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
	"mkdirat", "rmdir", "fchmod", "fchmodat", "chmod", "fchown",
	"fchown32", "umask", "utimensat", "fcntl", "fcntl64", "flock", "dup",
	"dup2", "dup3", "pipe", "pipe2",
	/* memory */
	"mmap", "mmap2", "munmap", "mremap", "mprotect", "brk", "madvise",
	"mlock", "munlock", "membarrier",
	/* sockets (socket itself: below) */
	"connect", "bind", "listen", "accept", "accept4", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "send",
	"recv", "socketpair",
	/* the event loop, signals, time */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "ppoll_time64",
	"select", "_newselect", "pselect6", "pselect6_time64", "eventfd",
	"eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_settime64", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigreturn", "sigaltstack", "clock_gettime",
	"clock_gettime64", "clock_getres", "clock_getres_time64",
	"clock_nanosleep", "clock_nanosleep_time64", "nanosleep",
	"gettimeofday", "time", "adjtimex", "clock_adjtime",
	"clock_adjtime64",
	/* the process and its threads */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getuid32", "geteuid32", "getgid32", "getegid32",
	"getresuid", "getresgid", "getresuid32", "getresgid32", "getgroups",
	"getgroups32", "uname", "sysinfo", "getrlimit", "ugetrlimit",
	"prlimit64", "getrusage", "sched_getaffinity", "sched_yield",
	"futex", "futex_time64", "set_robust_list", "get_robust_list",
	"rseq", "set_tid_address", "tgkill", "tkill", "exit", "exit_group",
	"restart_syscall", "getrandom",
#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizers' own (test builds only): thread and stack
	   bookkeeping, reports, and the leak check at exit, which stops
	   the threads from a tracer it clones (see sandbox_enter). */
	"prctl", "mincore", "sched_getparam", "sched_getscheduler",
	"process_vm_readv", "ptrace", "wait4", "waitid",
#endif
};

static int
sandbox_allow(scmp_filter_ctx f, const char *name, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add_array(f, SCMP_ACT_ALLOW, nr, n, cmp);
}

int
sandbox_enter(char *err, size_t errlen)
{
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6,
	    AF_NETLINK };
	static const unsigned long ioctls[] = { FIONBIO, FIOCLEX, FIONCLEX,
	    FIONREAD, TCGETS, TIOCGWINSZ };
	const char *off = getenv("FIELD_SANDBOX");
	scmp_filter_ctx f;
	int rc = 0;

	if (off != NULL && strcmp(off, "off") == 0)
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if ((f = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(err, errlen, "seccomp: cannot make a filter");
		return -1;
	}
	/* a binary tree: each call costs a few comparisons, not a scan of
	   the list (libseccomp 2.5) */
	(void)seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; rc == 0 &&
	    i < sizeof(sandbox_calls) / sizeof(sandbox_calls[0]); i++)
		rc = sandbox_allow(f, sandbox_calls[i], 0, NULL);
	for (size_t i = 0; rc == 0 && i < sizeof(domains) / sizeof(domains[0]);
	    i++) {
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ,
		    (scmp_datum_t)domains[i]);
		rc = sandbox_allow(f, "socket", 1, &c);
	}
	for (size_t i = 0; rc == 0 && i < sizeof(ioctls) / sizeof(ioctls[0]);
	    i++) {
		struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    (scmp_datum_t)ioctls[i]);
		rc = sandbox_allow(f, "ioctl", 1, &c);
	}
	if (rc == 0) {
		/* threads only, never a new process */
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_THREAD, CLONE_THREAD);
		rc = sandbox_allow(f, "clone", 1, &c);
	}
#if defined(__SANITIZE_ADDRESS__)
	if (rc == 0) {
		/* LeakSanitizer's tracer: shares the memory, untraced */
		struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ,
		    CLONE_VM | CLONE_UNTRACED, CLONE_VM | CLONE_UNTRACED);
		rc = sandbox_allow(f, "clone", 1, &c);
	}
#endif
	/* clone3's flags are in memory the filter cannot read: refused
	   softly, so the C library falls back to clone */
	if (rc == 0 && seccomp_syscall_resolve_name("clone3") !=
	    __NR_SCMP_ERROR)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS),
		    seccomp_syscall_resolve_name("clone3"), 0);
	if (rc == 0)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

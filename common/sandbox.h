/*
 * sandbox.h: after start-up, fieldd and collectord give up every system
 * call they do not need (seccomp, with no_new_privs), so that a flaw in a
 * parser of outside input (HTTP, multipart, XML, the sync frames, TLS)
 * cannot be turned into a shell, a new program, a debugger attached to
 * another process, a kernel module or a mount.
 *
 * What stays allowed: files (open, read, write, rename, fsync: the
 * stores, WAL files, forms, exports), memory, sockets of the kinds the
 * programs use (Unix for sd_notify, IPv4 and IPv6, netlink for name
 * resolution), the event loop (epoll, eventfd, signals, timers), threads
 * (clone with CLONE_THREAD only: libuv's pool, for name look-ups and
 * stat polling), the clock and randomness, and the few ioctls libuv and
 * isatty make.  Anything else kills the process (SIGSYS), logged by the
 * kernel's audit.  Not a path jail: seccomp cannot look at paths.
 *
 * FIELD_SANDBOX=off in the environment skips it, for debugging only
 * (strace, gdb, and valgrind, which cannot run a filtered process); the
 * program says so in its log.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stddef.h>

/* Enters the allow-list for the rest of the process (threads made later
   inherit it).  0, 1 when skipped (FIELD_SANDBOX=off), or -1 with err. */
int sandbox_enter(char *err, size_t errlen);

#endif

/*
 * notify.h: telling the supervisor (systemd) how the daemon is, by its
 * documented notification protocol (sd_notify(3), sd_watchdog_enabled(3)):
 * a datagram to the AF_UNIX socket named in $NOTIFY_SOCKET ('@' for the
 * abstract namespace), and the watchdog's period in $WATCHDOG_USEC (for
 * this process when $WATCHDOG_PID says so, or says nothing).
 *
 * Our own, not libsystemd's: libsystemd brings libgcrypt, libgpg-error,
 * liblz4, liblzma and libcap along, about 1 MiB of fieldd's resident
 * memory on a board for two environment variables and one sendto().
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

/* Sends msg ("READY=1", "WATCHDOG=1", ...): 1 sent, 0 when no supervisor
   listens (no $NOTIFY_SOCKET), -1 on error. */
int notify_send(const char *msg);

/* The supervisor's watchdog period in microseconds, 0 when none. */
uint64_t notify_watchdog_usec(void);

#endif

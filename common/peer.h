/*
 * peer.h: what one client is, for the limits that count per client.  An
 * IPv4 address is one client; an IPv6 address counts per /64, because a
 * phone (or an attacker) on IPv6 is given a whole /64 and picks any
 * address in it, so counting per address would give an attacker endless
 * fresh counters.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the
 * IPv4 address.  The board itself (127.0.0.1, ::1) is "local": fieldctl,
 * scripts and a TLS proxy in front; other 127.0.0.0/8 addresses are not
 * (the tests use them to stand in for phones).
 */
#ifndef PEER_H
#define PEER_H

#include <stddef.h>

#define PEER_KEY_MAX 64

/* The client key of peer (a numeric address as uv_ip*_name gives it)
   into out (PEER_KEY_MAX bytes): "a.b.c.d", or "x:x:x:x::/64".  Text
   that is not an address is copied (truncated), so it still counts. */
void peer_key(const char *peer, char out[PEER_KEY_MAX]);

/* 1 when peer is the board itself: 127.0.0.1, ::1 or ::ffff:127.0.0.1. */
int peer_is_local(const char *peer);

#endif

/*
 * ratelimit.h: requests per client, for fieldd's HTTP on a Wi-Fi anyone
 * in range may join.  A token bucket per client (RATE_BURST requests at
 * once, RATE_PER_S a second after that; a client is an IPv4 address or
 * an IPv6 /64, common/peer.h) in a fixed table; a client beyond it is
 * answered 429 before any work.  Only a slot whose bucket has filled up
 * again is reused: forgetting it changes nothing, so no flood of other
 * addresses can give a client back a burst it has spent.  When every
 * slot holds a bucket still refilling (RATE_SLOTS clients active within
 * RATE_BURST / RATE_PER_S seconds), a new client is refused (fail
 * closed) until one has.  The board itself (127.0.0.1, ::1: fieldctl,
 * scripts, a TLS proxy in front) is not limited.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdint.h>

#include "common/peer.h"

#define RATE_SLOTS 256
#define RATE_BURST 60
#define RATE_PER_S 20

struct ratelimit {
	struct {
		char peer[PEER_KEY_MAX];
		double tokens;
		uint64_t at_ms;
	} slot[RATE_SLOTS];
};

/* 1 when peer may make a request at now_ms (and takes one), 0 when not. */
int ratelimit_allow(struct ratelimit *r, const char *peer, uint64_t now_ms);

#endif

/*
 * ratelimit.h: requests per address, for fieldd's HTTP on a Wi-Fi anyone
 * in range may join.  A token bucket per address (RATE_BURST requests at
 * once, RATE_PER_S a second after that) in a small table; an address
 * beyond it is answered 429 before any work.  The table forgets the
 * longest-idle address when full, so a flood of addresses costs memory
 * of RATE_SLOTS entries only (connections are bounded by http.h).  The
 * board itself (127.0.0.1, ::1: fieldctl, scripts, a TLS proxy in front)
 * is not limited.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdint.h>

#define RATE_SLOTS 64
#define RATE_BURST 60
#define RATE_PER_S 20

struct ratelimit {
	struct {
		char peer[64];
		double tokens;
		uint64_t at_ms;
	} slot[RATE_SLOTS];
};

/* 1 when peer may make a request at now_ms (and takes one), 0 when not. */
int ratelimit_allow(struct ratelimit *r, const char *peer, uint64_t now_ms);

#endif

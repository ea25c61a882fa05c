/* ratelimit.c: see ratelimit.h. */
#include "daemon/ratelimit.h"

#include <stdio.h>
#include <string.h>

int
ratelimit_allow(struct ratelimit *r, const char *peer, uint64_t now_ms)
{
	size_t pick = 0;

	if (strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0)
		return 1;
	for (size_t i = 0; i < RATE_SLOTS; i++) {
		if (strcmp(r->slot[i].peer, peer) == 0) {
			pick = i;
			goto found;
		}
		if (r->slot[i].at_ms < r->slot[pick].at_ms)
			pick = i;
	}
	snprintf(r->slot[pick].peer, sizeof(r->slot[pick].peer), "%s", peer);
	r->slot[pick].tokens = RATE_BURST;
	r->slot[pick].at_ms = now_ms;
found:
	r->slot[pick].tokens += (double)(now_ms - r->slot[pick].at_ms) *
	    RATE_PER_S / 1000.0;
	if (r->slot[pick].tokens > RATE_BURST)
		r->slot[pick].tokens = RATE_BURST;
	r->slot[pick].at_ms = now_ms;
	if (r->slot[pick].tokens < 1)
		return 0;
	r->slot[pick].tokens -= 1;
	return 1;
}

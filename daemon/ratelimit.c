/* ratelimit.c: see ratelimit.h. */
#include "daemon/ratelimit.h"

#include <stdio.h>
#include <string.h>

/* The slot's tokens at now_ms, refilled. */
static double
rate_tokens(const struct ratelimit *r, size_t i, uint64_t now_ms)
{
	double t = r->slot[i].tokens + (double)(now_ms - r->slot[i].at_ms) *
	    RATE_PER_S / 1000.0;

	return t > RATE_BURST ? RATE_BURST : t;
}

int
ratelimit_allow(struct ratelimit *r, const char *peer, uint64_t now_ms)
{
	char key[PEER_KEY_MAX];
	size_t pick = RATE_SLOTS;

	if (peer_is_local(peer))
		return 1;
	peer_key(peer, key);
	for (size_t i = 0; i < RATE_SLOTS; i++) {
		if (r->slot[i].peer[0] != '\0' &&
		    strcmp(r->slot[i].peer, key) == 0) {
			pick = i;
			goto found;
		}
		/* free, or full again: the same as never seen */
		if (pick == RATE_SLOTS && (r->slot[i].peer[0] == '\0' ||
		    now_ms < r->slot[i].at_ms ||
		    rate_tokens(r, i, now_ms) >= RATE_BURST))
			pick = i;
	}
	if (pick == RATE_SLOTS)
		return 0;	/* every slot refilling: fail closed */
	snprintf(r->slot[pick].peer, sizeof(r->slot[pick].peer), "%s", key);
	r->slot[pick].tokens = RATE_BURST;
	r->slot[pick].at_ms = now_ms;
found:
	r->slot[pick].tokens = now_ms < r->slot[pick].at_ms ?
	    r->slot[pick].tokens : rate_tokens(r, pick, now_ms);
	r->slot[pick].at_ms = now_ms;
	if (r->slot[pick].tokens < 1)
		return 0;
	r->slot[pick].tokens -= 1;
	return 1;
}

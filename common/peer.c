/* peer.c: see peer.h. */
#include "common/peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void
peer_key(const char *peer, char out[PEER_KEY_MAX])
{
	unsigned char a6[16];
	struct in_addr a4;

	if (strchr(peer, ':') != NULL && inet_pton(AF_INET6, peer, a6) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0xff, 0xff };
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			memcpy(&a4, a6 + 12, 4);
			inet_ntop(AF_INET, &a4, out, PEER_KEY_MAX);
			return;
		}
		memset(a6 + 8, 0, 8);
		if (inet_ntop(AF_INET6, a6, out, PEER_KEY_MAX - 4) != NULL) {
			strcat(out, "/64");
			return;
		}
	}
	snprintf(out, PEER_KEY_MAX, "%s", peer);
}

int
peer_is_local(const char *peer)
{
	return strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0 ||
	    strcmp(peer, "::ffff:127.0.0.1") == 0;
}

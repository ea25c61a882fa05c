/*
 * update_cmd.h: `fieldctl update verify|apply BUNDLE` on a board.
 *
 * Layout under ROOT (--root, default /), shared with the Debian package:
 *
 *   usr/lib/fieldd/releases/V/{fieldd,fieldctl,VERSION}   one per release
 *   usr/lib/fieldd/current -> releases/V                  the running one
 *   usr/lib/fieldd/.update.lock                           held by an apply
 *   etc/fieldd/release.pub      the release key (--key overrides)
 *   etc/fieldd/fieldd.conf      its `listen` gives the default health URL
 *
 * verify: the bundle is signed by the release key, for this program's
 * architecture, its payload intact, and its version newer than the one
 * in current/VERSION (an equal or older one is a refused downgrade).
 *
 * apply: verify, then under the lock write the files into
 * releases/V.tmp-XXXXXX (each file and the folder fsynced), rename it to
 * releases/V, point a new link current.new at it and rename that over
 * current (atomic: current always names a whole release), run the restart
 * command and poll the health URL until the daemon answers 200 with
 * status ok and version V.  When it does not within the timeout, current
 * is pointed back at the previous release the same way, the restart
 * command runs again, the old version must answer, the failed release is
 * removed, and the exit status is 1.  On success the previous release is
 * kept (for a later rollback by hand) and older ones are removed.
 *
 * The health URL must be http:// to a numeric loopback address (or
 * localhost), or to an address of this host's own interfaces (a board
 * whose fieldd listens on its LAN address only): the check never leaves
 * the machine.
 */
#ifndef UPDATE_CMD_H
#define UPDATE_CMD_H

#include <stddef.h>
#include <sys/socket.h>

/* argv[0] is "update".  Returns the process's exit status. */
int update_cmd(int argc, char **argv);

/* A parsed health URL. */
struct update_url {
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[80];			/* as written, for the Host header */
	char path[256];
};

/*
 * Parses url as http://HOST[:PORT][/PATH] where HOST is a numeric IPv4
 * address, [IPv6] or localhost, and refuses any address that is not
 * loopback or one of this host's own.  0, or -1 with err.
 */
int update_url_parse(const char *url, struct update_url *u, char *err,
    size_t errlen);

#endif

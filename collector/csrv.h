/*
 * csrv.h: the collector's sync server: the state collectord shares
 * between connections (the store, the CA, the form catalogue, the
 * limits) and one session per device connection.
 *
 * A session, after TLS (tls.h, peer certificate optional):
 *   - without a client certificate, the only thing a peer may do is
 *     enrol: one EnrollRequest carrying a one-time token and a CSR, one
 *     EnrollResponse with the signed certificate, then the conn closes;
 *   - with one, the certificate's CN names the device, which must be
 *     enrolled with that certificate's serial and not revoked; then
 *     hello -> welcome [-> form_catalogue], then counts and batches, each
 *     batch acknowledged only after the transaction storing it has
 *     committed; batches of several sessions share one transaction
 *     (group commit, csrv.c).
 * Anything out of order, malformed or over a limit gets an Error frame
 * and the conn is closed; other conns are not affected.
 *
 * Ownership: struct csrv is the caller's (collectord's main); it owns
 * the cstore, the CA key and certificate and the catalogue from
 * csrv_open to csrv_close.  Sessions are owned by the server, each freed
 * when its conn closes; csrv_close_all closes them.
 */
#ifndef CSRV_H
#define CSRV_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <uv.h>

#include "proto/sync.pb-c.h"
#include "collector/cstore.h"
#include "sync/tls.h"

struct csrv_limits {
	unsigned max_conns;		/* connections at once */
	unsigned idle_ms;		/* no bytes for this long: closed */
	size_t max_frame;		/* bytes of one frame */
	uint32_t max_batch_records;	/* records in one batch */
	int cert_days;			/* validity of device certificates */
	/* counts for coordinators (chttp.h) */
	unsigned threshold;		/* small-cell suppression, >= 2 */
	char http_listen[64];		/* ADDR:PORT, or "" for none */
	/* where records are kept: "" for CDIR/collector.db (SQLite), or a
	   PostgreSQL URL that several front-ends share (cdb.h) */
	char store[512];
	/* As the version before: the welcome offers neither the batch carry
	   (sync/wire.h; a batch's first record is read alone) nor the seqs
	   held above the watermark.  For compatibility tests (collectord
	   --old-welcome). */
	int old_welcome;
};

struct csess;
struct cbatch;

/* Batches in one group commit at most (csrv.c). */
#define CSRV_GROUP_MAX 64

struct csrv {
	uv_loop_t *loop;
	char dir[4096];
	struct cstore *cs;
	struct tls_ctx *tls;
	mbedtls_x509_crt ca;
	mbedtls_pk_context ca_key;
	unsigned char *ca_der;
	size_t ca_der_len;
	Field__Sync__FormCatalogue catalogue;
	uint64_t forms_stamp;		/* what CDIR/forms held when loaded */
	/* Called after the catalogue changed (collectord reloads the
	   coordinators' forms with it), or NULL. */
	void (*forms_changed)(void *arg);
	void *forms_changed_arg;
	struct csrv_limits lim;
	struct csess *sessions;		/* a list, for the sweep */
	unsigned nconns;
	uint64_t refused, evicted;	/* connections, since the last sweep */
	uv_timer_t sweep;
	uint64_t records_in, batches_in;
	/*
	 * Group commit (csrv.c): batches of any sessions that arrive while
	 * a transaction is storing others wait in want, and the next
	 * transaction stores them all; run is the group in flight, on a
	 * worker thread with a connection of its own (ics), so the loop
	 * reads, checks and answers meanwhile.
	 */
	struct cstore *ics;
	struct cbatch *want, *run;
	uv_work_t work;
	uint64_t groups_in;		/* transactions that stored batches */
	uint64_t group_retries;		/* groups stored again batch by batch */
};

/* The defaults for a collector on one machine. */
void csrv_limits_default(struct csrv_limits *lim);

/*
 * CDIR/collectord.conf, "key = value" lines as fieldd.conf: listen
 * (ADDR:PORT), max_conns, idle_timeout_s, cert_days, http_listen
 * (ADDR:PORT of the coordinators' HTTP, off when absent),
 * suppress_threshold (2 to 1000, default 5) and store (postgresql://...:
 * the records in PostgreSQL; absent: CDIR/collector.db).  Reads it over lim
 * and listen (which hold the defaults) when it is there.  0 or -1 with
 * err naming the file, line and key.
 */
#define CSRV_CONF "collectord.conf"
int csrv_config_load(const char *dir, struct csrv_limits *lim, char *listen,
    size_t listenlen, char *err, size_t errlen);
struct form_catalog;
/* The shipped forms and dir/forms/ *.json as a catalogue (for counts). */
int csrv_forms_load(const char *dir, struct form_catalog *cat, char *err,
    size_t errlen);
/* The file with the defaults, as collectctl init writes it; store "" or
   a PostgreSQL URL. */
int csrv_config_write(const char *dir, const char *listen,
    const char *store, char *err, size_t errlen);

/* Sets store = url in dir/collectord.conf, replacing any store line and
   keeping the rest; atomic.  0 or -1 with err. */
int csrv_config_set_store(const char *dir, const char *url, char *err,
    size_t errlen);

struct cstore;
/*
 * Opens the store of the collector in dir: the one collectord.conf's
 * store names, else dir/collector.db.  Every program of the collector's
 * opens it so.  0, or -1 with err ("no collector in DIR" when dir holds
 * none).
 */
int csrv_store_open(const char *dir, struct cstore **cs, char *err,
    size_t errlen);

/*
 * Opens the collector in dir (collector.h): its store, CA, TLS
 * certificate and forms (the shipped ones and any dir/forms/ *.json).
 * 0 or -1 with err.
 */
int csrv_open(struct csrv *srv, uv_loop_t *loop, const char *dir,
    const struct csrv_limits *lim, char *err, size_t errlen);

/* Accepts a connection from the listening stream (its connection
   callback); refuses it at once when its client (IPv4 address, IPv6 /64)
   holds too many, or when max_conns are open and none can give way to
   it: connections not yet proven an enrolled device's are pushed out
   first (csrv.c, csrv_room). */
void csrv_accept(struct csrv *srv, uv_stream_t *listener);

/* Closes every session and stops the sweep timer; the loop then runs
   until they have closed. */
void csrv_close_all(struct csrv *srv);

/* Frees what csrv_open made; after the loop has finished. */
void csrv_close(struct csrv *srv);

/* Forms and versions in a catalogue: the shipped ones and dir/forms/. */
#define CSRV_FORMS_MAX 512

/*
 * Loads the shipped forms and dir/forms/ *.json into cat (whose version is
 * the highest of theirs), each with its zstd copy for devices that list
 * their forms.  A form that does not compress to WIRE_MAX_FORM_BYTES is
 * refused: it could never reach a board.  0 or -1 with err naming the
 * file.  Also used by collectctl to check a form before it is added.
 */
int csrv_catalogue_load(const char *dir, Field__Sync__FormCatalogue *cat,
    char *err, size_t errlen);
void csrv_catalogue_free(Field__Sync__FormCatalogue *cat);

/*
 * Reloads srv's catalogue when dir/forms changed since it was loaded (a
 * file added, removed or rewritten), or always with force (SIGHUP), so
 * `collectctl form add` reaches devices at their next hello without a
 * restart.  1 reloaded, 0 unchanged, -1 the files do not load (the old
 * catalogue stays; the reason is logged once per change).
 */
int csrv_forms_refresh(struct csrv *srv, int force);

#endif

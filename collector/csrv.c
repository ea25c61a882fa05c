/* csrv.c: see csrv.h. */
/*
 * A conn's states, one struct csess each; its frames are handled one at
 * a time, in order, on the loop:
 *
 *   TLS handshake (tls.c, 10 s) --on_ready-->
 *     no certificate: ENROL --enroll_request--> enroll_response, closed
 *     certificate: enrolled here, not revoked, serial current? else Error
 *       --> AWAIT HELLO --hello--> [form_catalogue] welcome --> SESSION
 *   SESSION: counts and batches, each answered by one ack; bye: closed
 *   sess_close with an error code: Error frame, then LINGER (reading and
 *     dropping, CSRV_LINGER_MS) --sweep--> closed; without one (bye,
 *     idle, acks not read, collector stopping): closed at once
 *   closed --on_close--> after a hello, the devices row (last seen,
 *     pending, last error) --> freed
 *
 * Group commit.  A batch is not stored on the loop: it waits in
 * srv->want, and a worker thread (uv_queue_work, with its own store
 * connection srv->ics) stores every batch waiting, of any sessions, in
 * one transaction (group_work); batches that arrive meanwhile make the
 * next one.  So one commit -- one fsync on SQLite, one WAL flush on
 * PostgreSQL -- covers many devices, and the loop goes on reading,
 * handshaking and answering during it.  An ack is sent only in
 * group_done, after the commit that covers its acked_seq.  A session
 * with a batch in a group is busy: it handles no later frame (they wait
 * in its queue and the conn is paused) until that batch's ack is out,
 * so acks leave in the order their batches came.  The welcome's
 * acked_seq and a counts ack's are read from the committed devices row:
 * they may lag the store, never lead it.  Resending is safe because the
 * store dedups (cstore.c): batches sent before the welcome, after a cut
 * or to two front-ends are stored once -- and so is a group stored again
 * batch by batch after it failed.
 *
 * A cut or a crash before the commit: the batch is rolled back whole and
 * the device sends it again.  After the commit, before the ack arrives:
 * the next welcome carries the watermark and resent records are skipped.
 * An enrolment spends its token first: lost after cstore_device_enroll,
 * the device needs a new token (an older certificate's serial is stale).
 */
#include "collector/csrv.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/embedded.h"
#include "common/log.h"
#include "common/peer.h"
#include "common/util.h"
#include "common/config_file.h"
#include "form/form.h"
#include "form/suppress.h"
#include "collector/cdb.h"
#include "collector/collector.h"
#include "sync/frame.h"
#include "sync/pki.h"
#include "sync/wire.h"

#define CSRV_FORM_FILE_MAX FORM_MAX_DEF_BYTES
/* What a connection queues: a form frame and a batch's ack with room. */
#define CSRV_MAX_QUEUED (4 * WIRE_MAX_FRAME)
/* Forms queued at one hello; the first goes whatever its size. */
#define CSRV_FORMS_QUEUED (2 * WIRE_MAX_FRAME)
#define CSRV_LINGER_MS 1500
/* Per client (an IPv4 address or IPv6 /64, not this machine): unproven
   connections (before the handshake ends, or without a device's
   certificate), and all (at least; a quarter of max_conns if more, for
   several devices behind one NAT). */
#define CSRV_PEER_HANDSHAKES 8
#define CSRV_PEER_CONNS 16
#define CSRV_ENROL_FRAME_MAX (16 * 1024)

struct csess {
	struct csrv *srv;
	struct tls_conn *c;
	struct csess *prev, *next;
	struct frame_reader fr;
	uint64_t last_activity;		/* util_mono_ms */
	char peer[64];
	char key[PEER_KEY_MAX];		/* the client (common/peer.h) */
	char device[CSTORE_DEVICE_MAX + 1];	/* from the certificate */
	int has_cert, said_hello, closing;
	int ready;			/* the handshake is done */
	int local;			/* from this machine */
	uint64_t born;			/* util_mono_ms at accept */
	uint64_t linger_until;		/* util_mono_ms; 0: not lingering */
	char why[160];
	uint64_t pending, highest;
	int64_t offset_ms;
	uint64_t records;		/* ingested on this conn */
	/* Frames read and not yet handled, oldest first: while a batch
	   waits for its group's commit the ones after it wait here (and
	   the conn is paused), so they are handled in order. */
	Field__Sync__Envelope **q;
	size_t qhead, qn, qcap;
	int busy;			/* a batch in a group, its ack due */
	int gone;			/* closed while busy: freed by the group */
	/* What the last batch's last record meant, for the next batch's
	   first (the batch carry, sync/wire.h). */
	struct wire_carry carry;
};

/*
 * A batch on its way into the store: in srv->want until a group takes
 * it, then in srv->run while the group's transaction runs off the loop.
 * The worker thread touches only this and srv->ics.
 */
struct cbatch {
	struct cbatch *next;
	struct csess *s;
	Field__Sync__Envelope *env;	/* owned; env->batch is the batch */
	char device[CSTORE_DEVICE_MAX + 1];
	int64_t offset_ms, now_ms;
	Field__Sync__Ack ack;		/* refusals gathered by the worker */
	uint64_t acked;
	int rc;				/* 0: committed, ack due */
	char err[256];
};

void
csrv_limits_default(struct csrv_limits *lim)
{
	lim->max_conns = 256;
	lim->idle_ms = 120 * 1000;
	lim->max_frame = WIRE_MAX_FRAME;
	lim->max_batch_records = WIRE_MAX_BATCH_RECORDS;
	lim->cert_days = 5 * 365;
	lim->threshold = SUP_DEFAULT_THRESHOLD;
	lim->http_listen[0] = '\0';
	lim->store[0] = '\0';
}

/* --- Configuration ----------------------------------------------------- */

struct csrv_conf {
	struct csrv_limits *lim;
	char *listen;
	size_t listenlen;
};

static void
csrv_conf_set(void *arg, const char *name, int line, const char *key,
    const char *val, struct config_err *e)
{
	struct csrv_conf *c = arg;
	char addr[64];
	uint64_t v;
	int port;

	if (strcmp(key, "listen") == 0) {
		if (config_parse_listen(val, addr, sizeof(addr), &port) != 0)
			config_fail(e, name, line, key, "expected ADDR:PORT");
		else
			snprintf(c->listen, c->listenlen, "%s", val);
	} else if (strcmp(key, "max_conns") == 0) {
		if (config_number(val, 1, 65536, &v) != 0)
			config_fail(e, name, line, key, "expected 1 to 65536");
		else
			c->lim->max_conns = (unsigned)v;
	} else if (strcmp(key, "idle_timeout_s") == 0) {
		if (config_number(val, 1, 86400, &v) != 0)
			config_fail(e, name, line, key, "expected 1 to 86400");
		else
			c->lim->idle_ms = (unsigned)v * 1000;
	} else if (strcmp(key, "http_listen") == 0) {
		if (config_parse_listen(val, addr, sizeof(addr), &port) != 0)
			config_fail(e, name, line, key, "expected ADDR:PORT");
		else
			snprintf(c->lim->http_listen,
			    sizeof(c->lim->http_listen), "%s", val);
	} else if (strcmp(key, "suppress_threshold") == 0) {
		if (config_number(val, 2, 1000, &v) != 0)
			config_fail(e, name, line, key, "expected 2 to 1000");
		else
			c->lim->threshold = (unsigned)v;
	} else if (strcmp(key, "store") == 0) {
		if (!cdb_is_pg(val))
			config_fail(e, name, line, key, "expected a PostgreSQL "
			    "URL, postgresql://...");
		else if (strlen(val) >= sizeof(c->lim->store))
			config_fail(e, name, line, key, "too long");
		else
			snprintf(c->lim->store, sizeof(c->lim->store), "%s",
			    val);
	} else if (strcmp(key, "cert_days") == 0) {
		if (config_number(val, 1, 20 * 365, &v) != 0)
			config_fail(e, name, line, key, "expected 1 to 7300");
		else
			c->lim->cert_days = (int)v;
	} else
		config_fail(e, name, line, key, "unknown key");
}

int
csrv_config_load(const char *dir, struct csrv_limits *lim, char *listen,
    size_t listenlen, char *err, size_t errlen)
{
	struct csrv_conf c = { lim, listen, listenlen };
	char path[4096], *text;
	int rc;

	if (collector_path(path, sizeof(path), dir, CSRV_CONF) != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((text = util_read_file(path, 64 * 1024, NULL)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* the defaults */
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	rc = config_lines(path, text, csrv_conf_set, &c, err, errlen);
	free(text);
	return rc;
}

int
csrv_config_write(const char *dir, const char *listen, const char *store,
    char *err, size_t errlen)
{
	struct csrv_limits lim;
	char path[4096], text[2048];
	int n;

	csrv_limits_default(&lim);
	n = snprintf(text, sizeof(text),
	    "# collectord's settings; collectctl init wrote the defaults.\n"
	    "# The command line's --listen, --max-conns and --idle-timeout\n"
	    "# win over these.\n"
	    "listen = %s\n"
	    "max_conns = %u\n"
	    "idle_timeout_s = %u\n"
	    "cert_days = %d\n"
	    "# Counts for coordinators over HTTP (collectctl coordinator add);\n"
	    "# loopback only: put a TLS proxy in front to serve them further.\n"
	    "# http_listen = 127.0.0.1:7480\n"
	    "# Counts under this are suppressed for everyone but analysts.\n"
	    "suppress_threshold = %u\n", listen, lim.max_conns,
	    lim.idle_ms / 1000, lim.cert_days, lim.threshold);
	snprintf(text + n, sizeof(text) - (size_t)n, store && store[0] ?
	    "# The records are in PostgreSQL, shared by every front-end.\n"
	    "store = %s\n" : "# The records are in collector.db here; a "
	    "PostgreSQL URL shares them\n# between front-ends (collectctl "
	    "migrate-store moves them).\n# store = postgresql://...\n%s",
	    store && store[0] ? store : "");
	if (collector_path(path, sizeof(path), dir, CSRV_CONF) != 0 ||
	    util_write_file(path, text, strlen(text), 0644) != 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, CSRV_CONF,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
csrv_config_set_store(const char *dir, const char *url, char *err,
    size_t errlen)
{
	char path[4096], *text, *out, *line, *save = NULL;
	size_t len = 0, used = 0, cap;
	int rc;

	if (collector_path(path, sizeof(path), dir, CSRV_CONF) != 0 ||
	    (text = util_read_file(path, 64 * 1024, &len)) == NULL) {
		snprintf(err, errlen, "%s/%s: %s", dir, CSRV_CONF,
		    strerror(errno));
		return -1;
	}
	cap = len + strlen(url) + 64;
	if ((out = malloc(cap)) == NULL) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Every line but an earlier store's, set or commented out. */
	for (line = strtok_r(text, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *k = line + strspn(line, "# \t");

		if (strncmp(k, "store", 5) == 0 && strchr(" \t=", k[5]))
			continue;
		used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	}
	used += (size_t)snprintf(out + used, cap - used, "store = %s\n", url);
	rc = util_write_file(path, out, used, 0644);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(text);
	free(out);
	return rc;
}

int
csrv_store_open(const char *dir, struct cstore **cs, char *err,
    size_t errlen)
{
	struct csrv_limits lim;
	char path[4096], listen[64];
	struct stat sb;

	csrv_limits_default(&lim);
	if (collector_path(path, sizeof(path), dir, "ca.crt") != 0 ||
	    stat(path, &sb) != 0) {
		snprintf(err, errlen, "no collector in %s; make one with "
		    "collectctl -d %s init", dir, dir);
		return -1;
	}
	if (csrv_config_load(dir, &lim, listen, sizeof(listen), err,
	    errlen) != 0)
		return -1;
	if (lim.store[0] == '\0' &&
	    collector_path(path, sizeof(path), dir, "collector.db") != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	return cstore_open(lim.store[0] ? lim.store : path, cs, err, errlen);
}

/* --- The form catalogue ------------------------------------------------ */

/*
 * The zstd copy devices that list their forms are sent: made once per
 * load, not per device.  It must fit a frame, or the form could never
 * reach a board (collectctl form add says so before it is added).
 */
static int
catalogue_compress(Field__Sync__FormDefinition *d, const char *name,
    char *err, size_t errlen)
{
	size_t len = strlen(d->definition_json);
	size_t cap = ZSTD_compressBound(len), n;

	if ((d->definition_zstd.data = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = ZSTD_compress(d->definition_zstd.data, cap, d->definition_json,
	    len, WIRE_FORM_ZSTD_LEVEL);
	if (ZSTD_isError(n) || n > WIRE_MAX_FORM_BYTES) {
		snprintf(err, errlen, "%s: form %s version %s compresses to "
		    "%zu bytes; at most %d reach a board", name, d->form_id,
		    d->version, ZSTD_isError(n) ? len : n, WIRE_MAX_FORM_BYTES);
		return -1;
	}
	d->definition_zstd.len = n;
	return 0;
}

static int
catalogue_add(Field__Sync__FormCatalogue *cat, const char *json, size_t len,
    const char *name, char *err, size_t errlen)
{
	Field__Sync__FormDefinition *d;
	struct form *f;
	char ferr[512];

	if (form_parse(json, len, &f, ferr, sizeof(ferr)) != 0) {
		snprintf(err, errlen, "%s: %s", name, ferr);
		return -1;
	}
	for (size_t i = 0; i < cat->n_forms; i++)
		if (strcmp(cat->forms[i]->form_id, form_id(f)) == 0 &&
		    strcmp(cat->forms[i]->version, form_version(f)) == 0) {
			int same = strlen(cat->forms[i]->definition_json) ==
			    len && memcmp(cat->forms[i]->definition_json, json,
			    len) == 0;

			/* A file repeating a shipped form is fine; a changed
			   definition under a version devices already have
			   would never reach them, and records compressed
			   with one would not open with the other. */
			if (!same)
				snprintf(err, errlen, "%s: form %s version %s is "
				    "already defined differently; give the "
				    "change a new version", name, form_id(f),
				    form_version(f));
			form_free(f);
			return same ? 0 : -1;
		}
	if (cat->n_forms >= CSRV_FORMS_MAX ||
	    (d = calloc(1, sizeof(*d))) == NULL) {
		form_free(f);
		snprintf(err, errlen, "%s: more than %d forms", name,
		    CSRV_FORMS_MAX);
		return -1;
	}
	field__sync__form_definition__init(d);
	d->form_id = strdup(form_id(f));
	d->version = strdup(form_version(f));
	d->definition_json = strndup(json, len);
	cat->forms[cat->n_forms++] = d;
	if (!d->form_id || !d->version || !d->definition_json ||
	    catalogue_compress(d, name, err, errlen) != 0) {
		if (!d->definition_json)
			snprintf(err, errlen, "out of memory");
		form_free(f);
		return -1;
	}
	if (form_version_cmp(d->version, cat->version) > 0) {
		free(cat->version);
		cat->version = strdup(d->version);
	}
	form_free(f);
	return cat->version ? 0 : -1;
}

void
csrv_catalogue_free(Field__Sync__FormCatalogue *cat)
{
	for (size_t i = 0; i < cat->n_forms; i++) {
		free(cat->forms[i]->form_id);
		free(cat->forms[i]->version);
		free(cat->forms[i]->definition_json);
		free(cat->forms[i]->definition_zstd.data);
		free(cat->forms[i]);
	}
	free(cat->forms);
	free(cat->version);
	field__sync__form_catalogue__init(cat);
}

int
csrv_forms_load(const char *dir, struct form_catalog *cat, char *err,
    size_t errlen)
{
	Field__Sync__FormCatalogue fc;
	int rc = 0;

	if (csrv_catalogue_load(dir, &fc, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < fc.n_forms && rc == 0; i++)
		if (form_catalog_add(cat, fc.forms[i]->definition_json,
		    strlen(fc.forms[i]->definition_json), err, errlen) == NULL)
			rc = -1;
	csrv_catalogue_free(&fc);
	return rc;
}

int
csrv_catalogue_load(const char *dir, Field__Sync__FormCatalogue *cat,
    char *err, size_t errlen)
{
	char path[4096];
	struct dirent *de;
	DIR *dp;
	int rc = 0;

	field__sync__form_catalogue__init(cat);
	cat->version = NULL;	/* init's is a shared constant */
	if ((cat->forms = calloc(CSRV_FORMS_MAX, sizeof(*cat->forms))) ==
	    NULL || (cat->version = strdup("")) == NULL) {
		snprintf(err, errlen, "out of memory");
		csrv_catalogue_free(cat);
		return -1;
	}
	for (const struct embedded_file *e = embedded_forms; e->name; e++)
		if (catalogue_add(cat, e->data, e->len, e->name, err,
		    errlen) != 0) {
			csrv_catalogue_free(cat);
			return -1;
		}
	if (collector_path(path, sizeof(path), dir, "forms") != 0 ||
	    (dp = opendir(path)) == NULL)
		return 0;	/* no forms of its own: the shipped ones */
	while (rc == 0 && (de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name), len;
		char file[4352];
		char *text;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if ((text = util_read_file(file, CSRV_FORM_FILE_MAX, &len)) ==
		    NULL) {
			snprintf(err, errlen, "%s: cannot read, or larger than "
			    "%d KiB", file, CSRV_FORM_FILE_MAX / 1024);
			rc = -1;
			break;
		}
		rc = catalogue_add(cat, text, len, file, err, errlen);
		free(text);
	}
	closedir(dp);
	if (rc != 0)
		csrv_catalogue_free(cat);
	return rc;
}

/*
 * What dir/forms holds, as one number: every .json file's name, size and
 * modification time hashed, combined without regard to order (readdir's
 * order is the file system's), and the count.  Cheap enough for every
 * hello: a stat a file.
 */
static uint64_t
forms_stamp(const char *dir)
{
	char path[4096], file[4352];
	struct dirent *de;
	struct stat sb;
	uint64_t stamp = 0, n = 0;
	DIR *dp;

	if (collector_path(path, sizeof(path), dir, "forms") != 0 ||
	    (dp = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (stat(file, &sb) != 0)
			continue;
		for (const char *p = de->d_name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ (uint64_t)sb.st_size) * 1099511628211ULL;
		h = (h ^ (uint64_t)sb.st_mtim.tv_sec) * 1099511628211ULL;
		h = (h ^ (uint64_t)sb.st_mtim.tv_nsec) * 1099511628211ULL;
		stamp += h;
		n++;
	}
	closedir(dp);
	return stamp ^ (n * 0x9e3779b97f4a7c15ULL);
}

int
csrv_forms_refresh(struct csrv *srv, int force)
{
	Field__Sync__FormCatalogue cat;
	uint64_t stamp = forms_stamp(srv->dir);
	char err[1024];

	if (stamp == srv->forms_stamp && !force)
		return 0;
	/* Taken even when the load fails, so a broken file is reported
	   once, not at every hello, and the old catalogue goes on. */
	srv->forms_stamp = stamp;
	if (csrv_catalogue_load(srv->dir, &cat, err, sizeof(err)) != 0) {
		log_err("collectord: forms not reloaded: %s (devices get the "
		    "forms as they were)", err);
		return -1;
	}
	csrv_catalogue_free(&srv->catalogue);
	srv->catalogue = cat;
	log_info("collectord: forms reloaded: catalogue %s, %zu forms",
	    cat.version, cat.n_forms);
	if (srv->forms_changed)
		srv->forms_changed(srv->forms_changed_arg);
	return 1;
}

/* --- Sessions ---------------------------------------------------------- */

/*
 * Ends a session.  With an error code the peer is told why, and the
 * conn lingers a moment, reading and dropping what the peer still sends:
 * closing at once would answer those bytes with a reset, and a reset can
 * make the peer's kernel drop our error frame before it is read.
 */
static void
sess_close(struct csess *s, Field__Sync__Error__Code code, const char *why)
{
	if (s->closing)
		return;
	s->closing = 1;
	snprintf(s->why, sizeof(s->why), "%s", why);
	if (code != FIELD__SYNC__ERROR__CODE__UNKNOWN &&
	    wire_send_error(s->c, code, why) > 0) {
		s->linger_until = util_mono_ms() + CSRV_LINGER_MS;
		return;
	}
	tls_conn_close(s->c, why);
}

static void
sess_refused(void *arg, uint64_t seq, const char *reason)
{
	Field__Sync__Ack *ack = arg;
	Field__Sync__Refused *r;

	/* n_refused never passes the batch's size: room was made for it */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	field__sync__refused__init(r);
	r->seq = seq;
	if ((r->reason = strdup(reason)) == NULL) {
		free(r);
		return;
	}
	ack->refused[ack->n_refused++] = r;
}

/* Forgets the refusals gathered for an ack (a group rolled back). */
static void
ack_refusals_clear(Field__Sync__Ack *ack)
{
	for (size_t i = 0; i < ack->n_refused; i++) {
		free(ack->refused[i]->reason);
		free(ack->refused[i]);
	}
	ack->n_refused = 0;
}

static void
cbatch_free(struct cbatch *b)
{
	ack_refusals_clear(&b->ack);
	free(b->ack.refused);
	field__sync__envelope__free_unpacked(b->env, NULL);
	free(b);
}

static int
cbatch_cmp(const void *x, const void *y)
{
	const struct cbatch *a = *(struct cbatch *const *)x;
	const struct cbatch *b = *(struct cbatch *const *)y;

	return strcmp(a->device, b->device);
}

/* One batch in a transaction of its own (srv->ics, worker thread). */
static void
cbatch_alone(struct cstore *ics, struct cbatch *b)
{
	Field__Sync__RecordBatch *rb = b->env->batch;

	ack_refusals_clear(&b->ack);
	b->rc = cstore_ingest(ics, b->device, b->offset_ms, rb->records,
	    rb->n_records, b->now_ms, &b->acked, sess_refused, &b->ack);
	if (b->rc != 0)
		snprintf(b->err, sizeof(b->err), "%s", cstore_errmsg(ics));
}

/*
 * The worker: every batch of the group in one transaction, so one
 * commit (one fsync, on either engine) covers many devices.  In device
 * order, so two front-ends' groups take the devices' locks in the same
 * order and never wait on each other in a circle.  When anything in it
 * fails (one batch's store error, a deadlock PostgreSQL broke, the
 * commit), the whole transaction is rolled back -- nothing of any batch
 * stays -- and each batch is stored again alone, so one device's trouble
 * fails only its own batch.  A commit whose outcome is unknown (the
 * connection lost during COMMIT) is safe to run again: the store skips
 * what is there (cstore.h), so nothing is stored twice.
 */
static void
group_work(uv_work_t *w)
{
	struct csrv *srv = w->data;
	struct cbatch *v[CSRV_GROUP_MAX];
	size_t n = 0, i;
	int ok;

	for (struct cbatch *b = srv->run; b && n < CSRV_GROUP_MAX; b = b->next)
		v[n++] = b;
	if (n == 1) {
		cbatch_alone(srv->ics, v[0]);
		return;
	}
	qsort(v, n, sizeof(*v), cbatch_cmp);
	ok = cstore_begin(srv->ics) == 0;
	for (i = 0; ok && i < n; i++) {
		Field__Sync__RecordBatch *rb = v[i]->env->batch;

		ok = cstore_ingest(srv->ics, v[i]->device, v[i]->offset_ms,
		    rb->records, rb->n_records, v[i]->now_ms, &v[i]->acked,
		    sess_refused, &v[i]->ack) == 0;
	}
	if (ok && cstore_commit(srv->ics) == 0) {
		for (i = 0; i < n; i++)
			v[i]->rc = 0;
		return;
	}
	cstore_rollback(srv->ics);
	srv->group_retries++;
	for (i = 0; i < n; i++)
		cbatch_alone(srv->ics, v[i]);
}

static void sess_pump(struct csess *s);
static void sess_free(struct csess *s);
static void group_done(uv_work_t *w, int status);

/* Starts a group of every batch waiting, unless one is running. */
static void
group_kick(struct csrv *srv)
{
	struct cbatch **tail = &srv->want;
	size_t n = 0;

	if (srv->run != NULL || srv->want == NULL)
		return;
	/* At most CSRV_GROUP_MAX; the rest wait for the next group. */
	while (*tail && n < CSRV_GROUP_MAX) {
		tail = &(*tail)->next;
		n++;
	}
	srv->run = srv->want;
	srv->want = *tail;
	*tail = NULL;
	srv->work.data = srv;
	/* Fails only without a work callback. */
	(void)uv_queue_work(srv->loop, &srv->work, group_work, group_done);
}

/*
 * Back on the loop: each batch's ack goes out only now, after the commit
 * that covers it; a failed one closes its session (the device sends the
 * batch again).  Then each session handles what it read meanwhile, and
 * the batches that came during this group make the next.
 */
static void
group_done(uv_work_t *w, int status)
{
	struct csrv *srv = w->data;
	struct cbatch *b = srv->run, *next;
	struct csess *wake[CSRV_GROUP_MAX];
	size_t nwake = 0;

	(void)status;
	srv->run = NULL;
	srv->groups_in++;
	for (; b; b = next) {
		struct csess *s = b->s;
		Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;

		next = b->next;
		s->busy = 0;
		s->last_activity = util_mono_ms();
		if (b->rc != 0) {
			log_err("collectord: device %s: storing a batch "
			    "failed: %s", b->device, b->err);
		} else {
			s->records += b->env->batch->n_records;
			srv->records_in += b->env->batch->n_records;
			srv->batches_in++;
		}
		if (s->gone) {
			sess_free(s);
			s = NULL;
		} else if (b->rc != 0) {
			/* Rolled back, and no ack: the device still holds
			   these records as unacknowledged and sends them
			   again. */
			sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
			    "the collector could not store the batch; try "
			    "later");
		} else if (!s->closing) {
			b->ack.acked_seq = b->acked;
			env.kind_case = FIELD__SYNC__ENVELOPE__KIND_ACK;
			env.ack = &b->ack;
			/* The batch stays committed: the device learns of it
			   from its next welcome. */
			if (wire_send(s->c, &env) < 0)
				sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN,
				    "device not reading its acks");
		}
		if (s != NULL)
			wake[nwake++] = s;
		cbatch_free(b);
	}
	for (size_t i = 0; i < nwake; i++)
		sess_pump(wake[i]);
	group_kick(srv);
}

/*
 * A batch: checked here, stored by the next group (group_kick), acked
 * by group_done after its commit.  Takes env.  The session is busy until
 * then: nothing after this frame is handled meanwhile.
 */
static int
sess_batch(struct csess *s, Field__Sync__Envelope *env)
{
	Field__Sync__RecordBatch *rb = env->batch;
	struct cbatch *b, **tail;
	char why[128];

	if (rb->n_records > s->srv->lim.max_batch_records) {
		snprintf(why, sizeof(why), "a batch of %zu records is over the "
		    "limit of %" PRIu32, rb->n_records,
		    s->srv->lim.max_batch_records);
		field__sync__envelope__free_unpacked(env, NULL);
		sess_close(s, FIELD__SYNC__ERROR__CODE__TOO_LARGE, why);
		return 1;
	}
	if ((b = calloc(1, sizeof(*b))) != NULL)
		field__sync__ack__init(&b->ack);
	/* The batch carry: the first record as the device meant it, from
	   the last of the batch before on this conn; then what this one's
	   last means, for the next.  Frames come here in the order sent. */
	if (b != NULL && rb->n_records && !s->srv->lim.old_welcome &&
	    wire_carry_fill(&s->carry, rb->records[0]) != 0) {
		free(b);
		b = NULL;
	}
	if (b != NULL)
		wire_carry_take(&s->carry, rb);
	if (b == NULL || (rb->n_records &&
	    (b->ack.refused = calloc(rb->n_records,
	    sizeof(*b->ack.refused))) == NULL)) {
		free(b);
		field__sync__envelope__free_unpacked(env, NULL);
		sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
		    "out of memory");
		return 1;
	}
	b->s = s;
	b->env = env;
	b->rc = -1;
	snprintf(b->device, sizeof(b->device), "%s", s->device);
	b->offset_ms = s->offset_ms;
	b->now_ms = util_now_ms();
	for (tail = &s->srv->want; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	s->busy = 1;
	group_kick(s->srv);
	return 0;
}

/* Counts are acked like a batch (the device keeps its place in them). */
static int
sess_counts(struct csess *s, const Field__Sync__CountsSnapshot *c)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Ack ack = FIELD__SYNC__ACK__INIT;
	struct cdevice d;

	if (c->n_cells > WIRE_MAX_COUNT_CELLS) {
		sess_close(s, FIELD__SYNC__ERROR__CODE__TOO_LARGE,
		    "counts: too many cells");
		return 1;
	}
	if (cstore_counts_put(s->srv->cs, s->device, c) != 0 ||
	    cstore_device_get(s->srv->cs, s->device, &d) != 1) {
		log_err("collectord: device %s: counts not stored: %s",
		    s->device, cstore_errmsg(s->srv->cs));
		sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
		    "the collector could not store the counts; try later");
		return 1;
	}
	/* Counts move no watermark: the ack repeats the committed one,
	   which may be above the device's (a bundle, another front-end). */
	ack.acked_seq = d.acked_seq;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_ACK;
	env.ack = &ack;
	if (wire_send(s->c, &env) < 0)
		sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN,
		    "device not reading its acks");
	return 0;
}

/* 1 when the device listed form_id/version as held or refused. */
static int
hello_has(const Field__Sync__Hello *h, const char *form_id,
    const char *version)
{
	for (size_t i = 0; i < h->n_held; i++)
		if (strcmp(h->held[i]->form_id, form_id) == 0 &&
		    strcmp(h->held[i]->version, version) == 0)
			return 1;
	for (size_t i = 0; i < h->n_refused; i++)
		if (strcmp(h->refused[i]->form_id, form_id) == 0 &&
		    strcmp(h->refused[i]->version, version) == 0)
			return 1;
	return 0;
}

/*
 * The forms the device lacks.  A device that lists its forms gets each
 * form it neither holds nor refused, one a frame, compressed: a form
 * added at the collector goes down once, whatever its version string,
 * and a form a board cannot take is not sent again and again over a
 * paid link.  An older device gets the whole catalogue, uncompressed,
 * when the catalogue's highest version is above the one it has.
 */
static int
sess_send_forms(struct csess *s, const Field__Sync__Hello *h)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__FormCatalogue one = FIELD__SYNC__FORM_CATALOGUE__INIT;
	const Field__Sync__FormCatalogue *cat = &s->srv->catalogue;
	Field__Sync__FormDefinition d, *dp = &d;
	Field__Sync__FormDefinition **plain;
	int rc = 0;

	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_FORM_CATALOGUE;
	if (h->lists_forms) {
		size_t queued = 0, n;

		one.version = cat->version;
		one.n_forms = 1;
		one.forms = &dp;
		env.form_catalogue = &one;
		for (size_t i = 0; i < cat->n_forms && rc == 0; i++) {
			const Field__Sync__FormDefinition *f = cat->forms[i];

			if (hello_has(h, f->form_id, f->version))
				continue;
			field__sync__form_definition__init(&d);
			d.form_id = f->form_id;
			d.version = f->version;
			d.definition_zstd = f->definition_zstd;
			/* Within what the connection queues, with room for
			   the welcome and acks: what does not fit goes at the
			   next hello, which still lacks it. */
			n = field__sync__envelope__get_packed_size(&env);
			if (queued > 0 && queued + n > CSRV_FORMS_QUEUED) {
				log_info("collectord: device %s: more forms at "
				    "its next sync", s->device);
				break;
			}
			if (wire_send(s->c, &env) < 0)
				rc = -1;
			else {
				queued += n;
				log_info("collectord: device %s: form %s "
				    "version %s sent", s->device, f->form_id,
				    f->version);
			}
		}
		return rc;
	}
	if (form_version_cmp(cat->version, h->catalogue_version) <= 0)
		return 0;

	if ((plain = calloc(cat->n_forms ? cat->n_forms : 1,
	    sizeof(*plain))) == NULL)
		return -1;
	for (size_t i = 0; i < cat->n_forms && rc == 0; i++) {
		if ((plain[i] = malloc(sizeof(**plain))) == NULL) {
			rc = -1;
			break;
		}
		*plain[i] = *cat->forms[i];
		plain[i]->definition_zstd.data = NULL;
		plain[i]->definition_zstd.len = 0;
	}
	one = *cat;
	one.forms = plain;
	env.form_catalogue = &one;
	/* An older board reads frames of WIRE_MAX_FRAME only. */
	if (rc == 0 && field__sync__envelope__get_packed_size(&env) + 16 >
	    WIRE_MAX_FRAME)
		log_warn("collectord: device %s: its fieldd predates forms "
		    "sent one by one, and the catalogue is too large for it; "
		    "update the board", s->device);
	else if (rc == 0 && wire_send(s->c, &env) < 0)
		rc = -1;
	for (size_t i = 0; i < cat->n_forms; i++)
		free(plain[i]);
	free(plain);
	return rc;
}

static int
sess_hello(struct csess *s, const Field__Sync__Hello *h)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Welcome w = FIELD__SYNC__WELCOME__INIT;
	struct csrv *srv = s->srv;
	struct cdevice d;
	char why[160];
	int64_t now = util_now_ms();
	uint64_t held[WIRE_MAX_HELD_RANGES][2];

	if (h->protocol_version != SYNC_PROTOCOL_VERSION) {
		snprintf(why, sizeof(why), "protocol version %" PRIu32 " is not "
		    "supported; this collector speaks %d", h->protocol_version,
		    SYNC_PROTOCOL_VERSION);
		sess_close(s, FIELD__SYNC__ERROR__CODE__PROTOCOL_VERSION, why);
		return 1;
	}
	if (strcmp(h->device_id, s->device) != 0) {
		sess_close(s, FIELD__SYNC__ERROR__CODE__UNEXPECTED,
		    "hello.device_id is not the device the certificate names");
		return 1;
	}
	if (cstore_device_get(srv->cs, s->device, &d) != 1) {
		sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
		    "the collector could not read the device's state");
		return 1;
	}
	if (h->n_held > WIRE_MAX_FORMS_LISTED ||
	    h->n_refused > WIRE_MAX_FORMS_LISTED) {
		sess_close(s, FIELD__SYNC__ERROR__CODE__TOO_LARGE,
		    "hello: too many forms listed");
		return 1;
	}
	/* A form added since the last hello reaches this device now. */
	csrv_forms_refresh(srv, 0);
	if (h->lists_forms && cstore_form_refusals_set(srv->cs, s->device,
	    h->refused, h->n_refused, now) != 0)
		log_err("collectord: device %s: form refusals not kept: %s",
		    s->device, cstore_errmsg(srv->cs));
	for (size_t i = 0; i < h->n_refused; i++)
		log_warn("collectord: device %s refused form %.64s version "
		    "%.32s: %.300s", s->device, h->refused[i]->form_id,
		    h->refused[i]->version, h->refused[i]->reason);
	s->said_hello = 1;
	s->pending = h->pending;
	s->highest = h->highest_seq;
	/* No round-trip correction: a board off by a link's latency is
	   far better than one off by years since its last boot. */
	s->offset_ms = h->device_time_ms ? now - h->device_time_ms : 0;
	cstore_device_seen(srv->cs, s->device, now, s->pending, s->offset_ms,
	    "");
	w.collector_time_ms = now;
	/* Read outside ingest's lock: it may lag a batch being stored
	   (another front-end's), never lead it, so the device never skips
	   a record the store lacks. */
	w.acked_seq = d.acked_seq;
	w.catalogue_version = srv->catalogue.version;
	w.max_batch_records = srv->lim.max_batch_records;
	w.max_frame_bytes = (uint32_t)srv->lim.max_frame;
	w.batch_carry = !srv->lim.old_welcome;
	/* What it holds above the watermark: a device cut while filling a
	   hole below records it sent first does not send those again. */
	if (!srv->lim.old_welcome) {
		size_t nr = 0;

		if (cstore_held_above(srv->cs, s->device, d.acked_seq, held,
		    WIRE_MAX_HELD_RANGES, &nr) != 0)
			nr = 0;		/* only an optimisation */
		w.held_above = &held[0][0];
		w.n_held_above = 2 * nr;
	}
	/* New forms first: a device that has what it needs when the
	   welcome comes can finish as soon as its records are acked. */
	if (sess_send_forms(s, h) != 0)
		goto fail;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_WELCOME;
	env.welcome = &w;
	if (wire_send(s->c, &env) < 0)
		goto fail;
	log_info("collectord: device %s from %s: hello, highest seq %" PRIu64
	    ", acked %" PRIu64 ", clock offset %" PRId64 " ms", s->device,
	    s->peer, h->highest_seq, d.acked_seq, s->offset_ms);
	return 0;
fail:
	sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN, "cannot send welcome");
	return 1;
}

static int
sess_enroll(struct csess *s, const Field__Sync__EnrollRequest *r)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__EnrollResponse resp = FIELD__SYNC__ENROLL_RESPONSE__INIT;
	struct csrv *srv = s->srv;
	struct pki_sign_opts opts = { 0, srv->lim.cert_days, 0 };
	unsigned char hash[32], pin[32], *der = NULL;
	mbedtls_x509_crt crt;
	char err[256], serial[32], cn[PKI_CN_MAX + 1];
	uint64_t ser;
	size_t len;
	int rc;

	if (!pki_name_ok(r->device_id, 0) ||
	    strlen(r->device_id) > CSTORE_DEVICE_MAX) {
		sess_close(s, FIELD__SYNC__ERROR__CODE__MALFORMED,
		    "enroll_request.device_id: 1-64 of A-Z a-z 0-9 . _ - : @");
		return 1;
	}
	/* Spent by one conditional UPDATE: a token enrols once, even
	   when two front-ends are handed it at once. */
	if (token_parse(r->token, hash, pin) != 0 ||
	    (rc = cstore_token_use(srv->cs, hash, r->device_id,
	    util_now_ms())) == 0) {
		log_warn("collectord: enrolment from %s refused: token unknown,"
		    " used, expired or for another device", s->peer);
		sess_close(s, FIELD__SYNC__ERROR__CODE__NOT_ENROLLED,
		    "enrolment token unknown, already used, expired, or for "
		    "another device");
		return 1;
	}
	if (rc < 0)
		goto internal;
	mbedtls_x509_crt_init(&crt);
	if (pki_csr_sign(&srv->ca, &srv->ca_key, r->csr_der.data,
	    r->csr_der.len, &opts, &der, &len, &ser, err, sizeof(err)) != 0 ||
	    pki_cert_parse(&crt, der, len, err, sizeof(err)) != 0 ||
	    pki_cert_cn(&crt, cn, sizeof(cn)) != 0 ||
	    strcmp(cn, r->device_id) != 0) {
		mbedtls_x509_crt_free(&crt);
		free(der);
		log_warn("collectord: enrolment from %s refused: %s", s->peer,
		    err);
		/* The token is spent: a bad CSR costs the enroller a token,
		   so a token cannot be used to probe the CA. */
		sess_close(s, FIELD__SYNC__ERROR__CODE__MALFORMED,
		    "enroll_request.csr_der: not a valid request for this "
		    "device id (the token is now used)");
		return 1;
	}
	mbedtls_x509_crt_free(&crt);
	snprintf(serial, sizeof(serial), "%" PRIu64, ser);
	/* The new serial is what sess_on_ready checks: from here on, any
	   earlier certificate of this device is refused. */
	if (cstore_device_enroll(srv->cs, r->device_id, serial,
	    util_now_ms()) != 0) {
		free(der);
		goto internal;
	}
	resp.certificate_der.data = der;
	resp.certificate_der.len = len;
	resp.ca_der.data = srv->ca_der;
	resp.ca_der.len = srv->ca_der_len;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_ENROLL_RESPONSE;
	env.enroll_response = &resp;
	wire_send(s->c, &env);
	free(der);
	log_info("collectord: device %s enrolled from %s, serial %s",
	    r->device_id, s->peer, serial);
	sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN, "enrolled");
	return 1;
internal:
	sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
	    "the collector could not record the enrolment");
	return 1;
}

/* Handles one frame, which it takes; 1 when the session ended. */
static int
sess_handle(struct csess *s, Field__Sync__Envelope *env)
{
	char why[128];
	int rc = 0;

	switch (env->kind_case) {
	case FIELD__SYNC__ENVELOPE__KIND_ENROLL_REQUEST:
		if (s->has_cert)
			goto unexpected;
		rc = sess_enroll(s, env->enroll_request);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_HELLO:
		if (!s->has_cert || s->said_hello)
			goto unexpected;
		rc = sess_hello(s, env->hello);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_COUNTS:
		if (!s->said_hello)
			goto unexpected;
		rc = sess_counts(s, env->counts);
		break;
	case FIELD__SYNC__ENVELOPE__KIND_BATCH:
		if (!s->said_hello)
			goto unexpected;
		return sess_batch(s, env);
	case FIELD__SYNC__ENVELOPE__KIND_BYE:
		sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN, "bye");
		rc = 1;
		break;
	default:
		goto unexpected;
	}
	field__sync__envelope__free_unpacked(env, NULL);
	return rc;
unexpected:
	snprintf(why, sizeof(why), "unexpected %s %s",
	    wire_kind_name(env->kind_case), !s->has_cert ?
	    "without a device certificate (enrol first)" : s->said_hello ?
	    "in a session" : "before hello");
	field__sync__envelope__free_unpacked(env, NULL);
	sess_close(s, s->has_cert ? FIELD__SYNC__ERROR__CODE__UNEXPECTED :
	    FIELD__SYNC__ERROR__CODE__NOT_ENROLLED, why);
	return 1;
}

/* Drops the frames read and not handled. */
static void
sess_queue_drop(struct csess *s)
{
	for (size_t i = s->qhead; i < s->qn; i++)
		field__sync__envelope__free_unpacked(s->q[i], NULL);
	s->qhead = s->qn = 0;
}

/*
 * Handles the frames read, in order, until one is a batch: that one
 * waits for its group's commit, and the rest for its ack.  The conn
 * reads nothing more meanwhile (paused), so what a session holds is
 * bounded by one read.
 */
static void
sess_pump(struct csess *s)
{
	while (!s->busy && !s->closing && s->qhead < s->qn) {
		Field__Sync__Envelope *env = s->q[s->qhead++];

		sess_handle(s, env);
	}
	if (s->closing)
		sess_queue_drop(s);
	if (s->qhead == s->qn)
		s->qhead = s->qn = 0;
	/* Lingering after an Error goes on reading (and dropping). */
	if (s->busy && !s->closing)
		tls_conn_pause(s->c);
	else
		tls_conn_resume(s->c);
}

/* Each frame as read: queued, for sess_pump. */
static int
sess_envelope(void *arg, Field__Sync__Envelope *env)
{
	struct csess *s = arg;

	if (s->closing) {
		field__sync__envelope__free_unpacked(env, NULL);
		return 1;
	}
	if (s->qn == s->qcap) {
		size_t cap = s->qcap ? 2 * s->qcap : 4;
		Field__Sync__Envelope **q = realloc(s->q, cap * sizeof(*q));

		if (q == NULL) {
			field__sync__envelope__free_unpacked(env, NULL);
			sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
			    "out of memory");
			return 1;
		}
		s->q = q;
		s->qcap = cap;
	}
	s->q[s->qn++] = env;
	return 0;
}

static void
sess_on_data(struct tls_conn *c, const unsigned char *data, size_t len,
    void *arg)
{
	struct csess *s = arg;
	char err[256];
	int rc;

	(void)c;
	s->last_activity = util_mono_ms();
	/* Lingering after an Error: read, so the peer gets no reset, and
	   dropped. */
	if (s->closing)
		return;
	rc = frame_reader_feed(&s->fr, data, len, sess_envelope, s, err,
	    sizeof(err));
	/* What came before a bad frame is handled first, as it came. */
	sess_pump(s);
	if (rc < 0) {
		log_warn("collectord: %s%s%s: %s", s->peer,
		    s->device[0] ? " device " : "", s->device, err);
		sess_close(s, strstr(err, "over the") ?
		    FIELD__SYNC__ERROR__CODE__TOO_LARGE :
		    FIELD__SYNC__ERROR__CODE__MALFORMED, err);
		sess_queue_drop(s);
	}
}

static void
sess_on_ready(struct tls_conn *c, void *arg)
{
	struct csess *s = arg;
	const mbedtls_x509_crt *crt = tls_conn_peer_cert(c);
	struct cdevice d;
	uint64_t serial;
	char ser[32];
	int rc;

	s->last_activity = util_mono_ms();
	s->ready = 1;
	if (crt == NULL) {
		/* Enrolment only, from anyone: an enrolment request is a
		   token and a CSR, so a stranger gets a small buffer, not a
		   device's megabyte. */
		frame_reader_free(&s->fr);
		frame_reader_init(&s->fr, CSRV_ENROL_FRAME_MAX);
		return;
	}
	s->has_cert = 1;
	if (pki_cert_cn(crt, s->device, sizeof(s->device)) != 0 ||
	    pki_cert_serial(crt, &serial) != 0) {
		s->device[0] = '\0';
		sess_close(s, FIELD__SYNC__ERROR__CODE__NOT_ENROLLED,
		    "the certificate names no device");
		return;
	}
	snprintf(ser, sizeof(ser), "%" PRIu64, serial);
	/* The CA vouches for the certificate; only the store knows of a
	   revocation or a later enrolment.  Checked once, at connect: a
	   session already open goes on. */
	rc = cstore_device_get(s->srv->cs, s->device, &d);
	if (rc < 0)
		sess_close(s, FIELD__SYNC__ERROR__CODE__INTERNAL,
		    "the collector could not read its devices");
	else if (rc == 0)
		sess_close(s, FIELD__SYNC__ERROR__CODE__NOT_ENROLLED,
		    "device not enrolled here");
	else if (d.revoked_ms)
		sess_close(s, FIELD__SYNC__ERROR__CODE__REVOKED,
		    "device revoked");
	else if (strcmp(d.serial, ser) != 0)
		sess_close(s, FIELD__SYNC__ERROR__CODE__REVOKED,
		    "certificate replaced by a later enrolment");
}

static void
sess_on_close(struct tls_conn *c, const char *reason, void *arg)
{
	struct csess *s = arg;
	struct csrv *srv = s->srv;
	int clean = strcmp(reason, "bye") == 0 ||
	    strcmp(reason, "enrolled") == 0;

	(void)c;
	/* Every close, clean or not, so collectctl devices shows when a
	   device was last here and why it left. */
	if (s->said_hello) {
		struct cdevice d;

		/* What the device still holds, as far as its hello and our
		   watermark tell. */
		if (cstore_device_get(srv->cs, s->device, &d) == 1)
			s->pending = s->highest > d.acked_seq ?
			    s->highest - d.acked_seq : 0;
		cstore_device_seen(srv->cs, s->device, util_now_ms(),
		    s->pending, s->offset_ms, clean ? "" : reason);
	}
	if (clean)
		log_info("collectord: %s%s%s: closed (%s), %" PRIu64
		    " records", s->peer, s->device[0] ? " device " : "",
		    s->device, reason, s->records);
	else
		log_warn("collectord: %s%s%s: closed: %s; %" PRIu64
		    " records", s->peer, s->device[0] ? " device " : "",
		    s->device, reason, s->records);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nconns--;
	frame_reader_free(&s->fr);
	sess_queue_drop(s);
	/* A batch of it in a group: the group frees it when it ends (its
	   commit goes on; the device learns of it at its next welcome). */
	if (s->busy)
		s->gone = 1;
	else
		sess_free(s);
}

static void
sess_free(struct csess *s)
{
	sess_queue_drop(s);
	free(s->q);
	free(s);
}

static const struct tls_callbacks sess_cb = {
	.on_ready = sess_on_ready,
	.on_data = sess_on_data,
	.on_close = sess_on_close,
};

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

/* An enrolled device past its handshake; everything else is not yet
   known to be one (a handshake, an enrolment, a stranger). */
static int
sess_proven(const struct csess *s)
{
	return s->ready && s->has_cert;
}

/*
 * Room for a new connection from key (issue 16).  0: take it; 1: take
 * it after closing *evict (the oldest unproven connection of the client
 * holding the most); 2: refuse it.  An enrolled device is served first:
 * unproven connections may fill max_conns minus a quarter kept for
 * enrolled devices, and a newcomer pushes out the oldest of them rather
 * than being refused, so no one holding handshakes open can keep a
 * device out.  One client (not this machine) may hold at most
 * CSRV_PEER_CONNS connections and CSRV_PEER_HANDSHAKES unproven ones.
 */
static int
csrv_room(struct csrv *srv, const char *key, int local,
    struct csess **evict)
{
	unsigned proven = 0, unproven = 0, mine = 0, mine_pending = 0;
	unsigned reserve = srv->lim.max_conns / 4;
	unsigned per_peer = srv->lim.max_conns / 4 > CSRV_PEER_CONNS ?
	    srv->lim.max_conns / 4 : CSRV_PEER_CONNS;
	struct csess *victim = NULL;
	unsigned victim_n = 0;

	for (struct csess *s = srv->sessions; s; s = s->next) {
		if (s->closing)
			continue;
		if (sess_proven(s))
			proven++;
		else
			unproven++;
		if (!local && strcmp(s->key, key) == 0) {
			mine++;
			mine_pending += !sess_proven(s);
		}
	}
	if (!local && (mine >= per_peer || mine_pending >= CSRV_PEER_HANDSHAKES))
		return 2;
	/* closed but not yet gone: bounded too */
	if (srv->nconns >= 2 * srv->lim.max_conns)
		return 2;
	if (unproven < srv->lim.max_conns - reserve &&
	    proven + unproven < srv->lim.max_conns)
		return 0;
	if (unproven == 0)
		return 2;
	/* the oldest unproven connection of the client holding most */
	for (struct csess *s = srv->sessions; s; s = s->next) {
		unsigned n = 0;

		if (s->closing || sess_proven(s))
			continue;
		for (struct csess *o = srv->sessions; o; o = o->next)
			n += !o->closing && !sess_proven(o) &&
			    strcmp(o->key, s->key) == 0;
		if (victim == NULL || n > victim_n || (n == victim_n &&
		    s->born < victim->born)) {
			victim = s;
			victim_n = n;
		}
	}
	*evict = victim;
	return 1;
}

void
csrv_accept(struct csrv *srv, uv_stream_t *listener)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char ip[64] = "?", key[PEER_KEY_MAX];
	struct csess *s, *evict = NULL;
	uv_tcp_t *t;
	char err[256];
	int local, room;

	if ((t = malloc(sizeof(*t))) == NULL)
		return;
	uv_tcp_init(srv->loop, t);
	if (uv_accept(listener, (uv_stream_t *)t) != 0) {
		uv_close((uv_handle_t *)t, free_handle);
		return;
	}
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip,
			    sizeof(ip));
	}
	local = peer_is_local(ip);
	peer_key(ip, key);
	room = csrv_room(srv, key, local, &evict);
	if (room == 2 || (s = calloc(1, sizeof(*s))) == NULL) {
		/* Closed at once: a flood of connections costs the collector
		   nothing it keeps (counted, and logged once a second). */
		srv->refused++;
		uv_close((uv_handle_t *)t, free_handle);
		return;
	}
	if (evict != NULL) {
		srv->evicted++;
		sess_close(evict, FIELD__SYNC__ERROR__CODE__UNKNOWN,
		    "pushed out by a newer connection (collector full)");
	}
	s->srv = srv;
	s->local = local;
	snprintf(s->key, sizeof(s->key), "%s", key);
	frame_reader_init(&s->fr, srv->lim.max_frame);
	/* tls_conn_new owns t from here, on failure too */
	s->c = tls_conn_new(srv->tls, t, NULL, &sess_cb, s, err, sizeof(err));
	if (s->c == NULL) {
		log_warn("collectord: accept: %s", err);
		frame_reader_free(&s->fr);
		free(s);
		return;
	}
	tls_conn_peer_addr(s->c, s->peer, sizeof(s->peer));
	s->last_activity = s->born = util_mono_ms();
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->nconns++;
}

/* Once a second: close what has been silent too long (the handshake has
   its own, shorter, timer in tls.c). */
static void
csrv_on_sweep(uv_timer_t *t)
{
	struct csrv *srv = t->data;
	uint64_t now = util_mono_ms();

	if (srv->refused || srv->evicted) {
		log_warn("collectord: %u connections open; in the last second "
		    "%" PRIu64 " refused (too many from one address, or full) "
		    "and %" PRIu64 " unauthenticated pushed out", srv->nconns,
		    srv->refused, srv->evicted);
		srv->refused = srv->evicted = 0;
	}
	for (struct csess *s = srv->sessions, *next; s; s = next) {
		next = s->next;
		if (s->linger_until && now >= s->linger_until) {
			s->linger_until = 0;
			tls_conn_close(s->c, s->why);
		} else if (now - s->last_activity > srv->lim.idle_ms)
			sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN,
			    "idle timeout");
	}
}

void
csrv_close_all(struct csrv *srv)
{
	uv_timer_stop(&srv->sweep);
	uv_close((uv_handle_t *)&srv->sweep, NULL);
	for (struct csess *s = srv->sessions, *next; s; s = next) {
		next = s->next;
		if (s->closing)
			tls_conn_close(s->c, s->why);	/* lingering */
		else
			sess_close(s, FIELD__SYNC__ERROR__CODE__UNKNOWN,
			    "collector stopping");
	}
}

int
csrv_open(struct csrv *srv, uv_loop_t *loop, const char *dir,
    const struct csrv_limits *lim, char *err, size_t errlen)
{
	char crt[4096], key[4096], ca[4096], cakey[4096];
	struct tls_config tc = { 0 };

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->lim = *lim;
	snprintf(srv->dir, sizeof(srv->dir), "%s", dir);
	mbedtls_x509_crt_init(&srv->ca);
	mbedtls_pk_init(&srv->ca_key);
	field__sync__form_catalogue__init(&srv->catalogue);
	if (collector_path(crt, sizeof(crt), dir, "server.crt") != 0 ||
	    collector_path(key, sizeof(key), dir, "server.key") != 0 ||
	    collector_path(ca, sizeof(ca), dir, "ca.crt") != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (access(ca, F_OK) != 0) {
		snprintf(err, errlen, "no collector in %s; make one with "
		    "collectctl -d %s init", dir, dir);
		return -1;
	}
	tc.role = TLS_SERVER;
	tc.max_queued = CSRV_MAX_QUEUED;
	tc.cert_file = crt;
	tc.key_file = key;
	tc.ca_file = ca;
	tc.peer_auth = TLS_PEER_OPTIONAL;
	tc.handshake_timeout_ms = 10000;
	/* Read before the forms are loaded: a file added in between
	   changes the stamp, so the first hello loads it. */
	srv->forms_stamp = forms_stamp(dir);
	if (pki_cert_read(&srv->ca, ca, err, errlen) != 0 ||
	    collector_path(cakey, sizeof(cakey), dir, "ca.key") != 0 ||
	    pki_key_read(&srv->ca_key, cakey, err, errlen) != 0 ||
	    (srv->tls = tls_ctx_new(&tc, err, errlen)) == NULL ||
	    csrv_catalogue_load(dir, &srv->catalogue, err, errlen) != 0 ||
	    csrv_store_open(dir, &srv->cs, err, errlen) != 0 ||
	    csrv_store_open(dir, &srv->ics, err, errlen) != 0)
		goto fail;
	srv->ca_der_len = srv->ca.raw.len;
	if ((srv->ca_der = malloc(srv->ca_der_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(srv->ca_der, srv->ca.raw.p, srv->ca_der_len);
	uv_timer_init(loop, &srv->sweep);
	srv->sweep.data = srv;
	uv_timer_start(&srv->sweep, csrv_on_sweep, 1000, 1000);
	return 0;
fail:
	csrv_close(srv);
	return -1;
}

void
csrv_close(struct csrv *srv)
{
	cstore_close(srv->ics);
	srv->ics = NULL;
	cstore_close(srv->cs);
	srv->cs = NULL;
	tls_ctx_free(srv->tls);
	srv->tls = NULL;
	mbedtls_x509_crt_free(&srv->ca);
	mbedtls_pk_free(&srv->ca_key);
	free(srv->ca_der);
	srv->ca_der = NULL;
	if (srv->catalogue.forms)
		csrv_catalogue_free(&srv->catalogue);
}

/*
 * collector.h: a collector's directory, made by `collectctl init` and
 * read by collectord and collectctl.
 *
 *   CDIR/                  mode 0700
 *   CDIR/seal.pub          the sealing public key devices seal to
 *   CDIR/seal.key          its private key (0600); opening records needs
 *                          it, ingest never does: move it off the
 *                          collector machine where analysts work elsewhere
 *   CDIR/ca.crt, ca.key    the devices' certificate authority (P-256)
 *   CDIR/server.crt, .key  the TLS certificate collectord shows
 *   CDIR/collector.db      the store (cstore.h)
 *   CDIR/collectord.conf   collectord's settings (csrv.h), the defaults
 *   CDIR/forms/ *.json     form versions to hand to devices (optional)
 *
 * Enrolment tokens: sync/token.h.
 */
#ifndef COLLECTOR_H
#define COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "sync/token.h"

#define COLLECTOR_TOKEN_MAX TOKEN_MAX

/* Creates the directory and everything in it.  0 or -1 with err; refuses
   a directory that already holds a collector. */
int collector_init(const char *dir, const char *host, const char *store,
    char *err, size_t errlen);

/* Makes a one-time enrolment token (for device_id only, when not NULL),
   valid for hours.  0 and token, or -1 with err. */
int collector_enroll_token(const char *dir, const char *device_id,
    int hours, char token[COLLECTOR_TOKEN_MAX], char *err, size_t errlen);

/*
 * Offline enrolment: signs a device's certificate request (DER, from a
 * file the operator carried) with the CA for `days` days from not_before
 * (Unix seconds; 0: now) and enrols the device it names.  The
 * certificate (DER, caller frees) and the device id come back.  0 or -1
 * with err.
 */
int collector_sign_csr(const char *dir, const unsigned char *csr,
    size_t csr_len, int days, int64_t not_before, unsigned char **der,
    size_t *der_len, char device_id[65], char *err, size_t errlen);

/* path = dir/name; -1 when too long. */
int collector_path(char *out, size_t outlen, const char *dir,
    const char *name);

#endif

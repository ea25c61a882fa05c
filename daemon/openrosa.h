/*
 * openrosa.h: the OpenRosa server API on fieldd, so ODK Collect can use
 * the board as its server on the local network, offline.
 *
 *   GET  /formList            the current version of every form
 *                             (xform.h), ?formID=ID for one
 *   GET  /forms/{id}.xml      a form's XForm
 *   HEAD /submission          204, X-OpenRosa-Accept-Content-Length
 *   POST /submission          multipart/form-data (multipart.h) with the
 *                             instance in the part xml_submission_file;
 *                             read by xmlinst.h and submitted through
 *                             submit.h exactly as POST /api/records
 *        201 stored now; 202 stored before (the same meta/instanceID is
 *        the record's _id: Collect counts 202 as sent, so it stops
 *        resending); 400 bad multipart, XML or values (the message
 *        names the byte or the field and the rule); 404 unknown form or
 *        version; 415 not multipart; 507 below the free-space floor
 *
 * Every answer carries X-OpenRosa-Version: 1.0 and Date; bodies other
 * than the form list and XForms are an OpenRosaResponse message.  An
 * attachment part is refused (400) rather than dropped: the forms have
 * no media questions, and a phone keeps what it could not send.
 *
 * Authentication: HTTP Digest (RFC 2617, MD5, qop=auth) against the
 * enumerator's PIN (users.h: HA1), which is what Collect does over plain
 * HTTP; or "Bearer TOKEN" for scripts.  A nonce is the monotonic time it
 * was made and an HMAC of it under a per-process random key, so nothing
 * is stored per challenge; it is stale after OPENROSA_NONCE_MS (Collect
 * and curl then retry without asking the user).  The nonce counts (nc)
 * seen are kept per nonce for the last OPENROSA_NONCE_SLOTS nonces; a
 * count not above the last is a replay and is refused.  Wrong responses
 * go through users_lockout: 401 with a new challenge, or 429 once the
 * name or the address is locked out.
 *
 * Responses never quote a submitted value.
 */
#ifndef OPENROSA_H
#define OPENROSA_H

#include "daemon/api.h"
#include "http/http.h"

#define OPENROSA_NONCE_MS (5 * 60 * 1000)
#define OPENROSA_NONCE_SLOTS 256

/* Serves one request for /formList, /forms/... or /submission. */
void openrosa_handle(struct api *a, const struct http_request *req,
    struct http_response *res);

#endif

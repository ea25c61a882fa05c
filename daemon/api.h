/*
 * api.h: fieldd's local HTTP API, on top of http.h.
 *
 *   GET  /api/forms              the current version of every form
 *   GET  /api/forms/{id}         a definition (?version=V for another)
 *   POST /api/records/{form}     submit one JSON record (?version=V)
 *        201 {"_id", "seq", "form", "version"} stored now
 *        200 the same with "duplicate": true when _id was stored before
 *        400 malformed JSON, 401 token, 404 unknown form or version,
 *        413 too large, 415 not JSON, 422 {"errors": [{path, reason}]},
 *        507 below the free-space floor
 *   GET  /api/counts             the device's plaintext counts per form,
 *        place and measure, ?from=DATE&to=DATE, small cells suppressed
 *        (counts_view.h; suppress_threshold in fieldd.conf)
 *   GET  /api/status             records, epochs, free space, last error,
 *        and the board's state (boardmon.h): LED, power, storage, clock
 *   GET  /api/health             {"status": "ok", "version"}, or 503 when
 *        the store fails: for supervisors and the update's health check
 *
 * Every route but /api/health and /api/login needs "Authorization: Bearer
 * TOKEN" (fieldctl user add).
 * Responses never echo a submitted value.
 */
#ifndef API_H
#define API_H

#include "daemon/device.h"
#include "http/http.h"
#include "daemon/ratelimit.h"

struct boardmon;

struct api {
	struct device *dev;
	struct boardmon *board;		/* fieldd's; NULL in tests without */
	struct ratelimit rate;		/* requests per address */
};

/* The http_handler_fn: ctx is a struct api. */
/* For http_server_set_admit: 1 when req carries a valid bearer token
   (a user's or a PIN login's session), so a phone already logged in is
   served in the slots kept for known clients. */
int api_admit(void *ctx, const struct http_request *req);

void api_handle(void *ctx, const struct http_request *req,
    struct http_response *res);

#endif

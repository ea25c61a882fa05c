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
struct committer;

struct api {
	struct device *dev;
	struct boardmon *board;		/* fieldd's; NULL in tests without */
	struct committer *commit;	/* fieldd's writer (commit.h); NULL:
					   each submit commits on the loop */
	struct ratelimit rate;		/* requests per address */
};

/* The http_handler_fn: ctx is a struct api. */
/* For http_server_set_admit: 1 when req carries a valid bearer token
   (a user's or a PIN login's session), so a phone already logged in is
   served in the slots kept for known clients. */
int api_admit(void *ctx, const struct http_request *req);

void api_handle(void *ctx, const struct http_request *req,
    struct http_response *res);

/*
 * The one way a request's record is stored, for the API and OpenRosa:
 * checks rec (taken: freed here) against form_id (version NULL: the
 * record's or the current), then hands it to the writer, and answers
 * through answer(res, r, who) once the commit covering it has returned
 * -- now when it is refused before, later (http_defer) when it waits for
 * the commit.  The headers res holds now go with the later answer too.
 */
typedef void (*api_answer_fn)(struct http_response *res,
    const struct submit_result *r, const char *who);
void api_submit_record(struct api *a, struct http_response *res,
    const char *form_id, const char *version, json_t *rec,
    api_answer_fn answer, const char *who);

#endif

/* openrosa.c: see openrosa.h.  (Being written: answers 404 meanwhile.) */
#include "daemon/openrosa.h"

#include <string.h>

void
openrosa_handle(struct api *a, const struct http_request *req,
    struct http_response *res)
{
	(void)a;
	(void)req;
	http_respond(res, 404, "text/plain", "not yet\n", 8);
}

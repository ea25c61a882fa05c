/*
 * openrosa.h: OpenRosa endpoints on fieldd so ODK Collect can submit to
 * the board (GET /formList, GET /forms/{id}.xml, HEAD and POST
 * /submission).
 */
#ifndef OPENROSA_H
#define OPENROSA_H

#include "daemon/api.h"
#include "daemon/http.h"

void openrosa_handle(struct api *a, const struct http_request *req,
    struct http_response *res);

#endif

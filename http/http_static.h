/*
 * http_static.h: serving files compiled into a daemon (common/embedded.h)
 * over http/http.h: the coordinators' page from collectord, the web app
 * from fieldd.  "/" is index.html; the media type comes from the file's
 * extension; a strong ETag from its bytes lets a phone revalidate (304);
 * every answer carries the page's content security policy, nosniff and
 * no-referrer.  A file NAME.gz beside NAME (made at build time) is NAME's
 * gzip encoding: served for NAME to a client that takes gzip, never on
 * its own.
 */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include "common/embedded.h"
#include "http/http.h"

/* Adds the security headers every page answer carries. */
void http_static_headers(struct http_response *res, const char *csp);

/* Answers req from files: 1 when a file was found (200 or 304), 0 when
   not (res untouched). */
int http_static(const struct embedded_file *files, const char *csp,
    const struct http_request *req, struct http_response *res);

/* A strong validator of bytes: the first 16 hex digits of SHA-256, in
   quotes (19 bytes with the NUL). */
void http_etag(const void *data, size_t len, char out[24]);

/* 1 when the request's If-None-Match names etag. */
int http_not_modified(const struct http_request *req, const char *etag);

#endif

/* http_static.c: see http_static.h. */
#include "http/http_static.h"

#include <mbedtls/sha256.h>
#include <string.h>

#include "common/util.h"

void
http_static_headers(struct http_response *res, const char *csp)
{
	http_add_header(res, "Content-Security-Policy", csp);
	http_add_header(res, "X-Content-Type-Options", "nosniff");
	http_add_header(res, "Referrer-Policy", "no-referrer");
}

void
http_etag(const void *data, size_t len, char out[24])
{
	unsigned char h[32];

	mbedtls_sha256_ret(data, len, h, 0);
	out[0] = '"';
	util_hex(h, 8, out + 1);
	out[17] = '"';
	out[18] = '\0';
}

int
http_not_modified(const struct http_request *req, const char *etag)
{
	const char *inm = http_header_get(req, "If-None-Match");

	return inm && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0);
}

static const char *
http_static_type(const char *name)
{
	const char *ext = strrchr(name, '.');

	if (ext && strcmp(ext, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (ext && strcmp(ext, ".css") == 0)
		return "text/css; charset=utf-8";
	if (ext && strcmp(ext, ".svg") == 0)
		return "image/svg+xml";
	if (ext && strcmp(ext, ".json") == 0)
		return "application/json";
	/* browsers compile a module while it downloads only with this */
	if (ext && strcmp(ext, ".wasm") == 0)
		return "application/wasm";
	return "text/html; charset=utf-8";
}

int
http_static(const struct embedded_file *files, const char *csp,
    const struct http_request *req, struct http_response *res)
{
	const char *name = strcmp(req->path, "/") == 0 ? "index.html" :
	    req->path + 1;
	char etag[24];

	if (strchr(name, '/') != NULL)
		return 0;
	for (const struct embedded_file *e = files; e->name; e++) {
		if (strcmp(e->name, name) != 0)
			continue;
		http_etag(e->data, e->len, etag);
		http_add_header(res, "ETag", etag);
		http_add_header(res, "Cache-Control", "no-cache");
		http_static_headers(res, csp);
		if (http_not_modified(req, etag))
			res->status = 304;
		else if (http_respond(res, 200, http_static_type(name),
		    e->data, e->len) != 0)
			res->status = 500;
		return 1;
	}
	return 0;
}

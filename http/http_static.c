/* http_static.c: see http_static.h. */
#include "http/http_static.h"

#include <mbedtls/sha256.h>
#include <string.h>
#include <strings.h>

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

/* 1 when the request takes gzip (Accept-Encoding names it, q not 0). */
static int
http_takes_gzip(const struct http_request *req)
{
	const char *ae = http_header_get(req, "Accept-Encoding");

	for (const char *p = ae; p && *p; p += strcspn(p, ",")) {
		p += strspn(p, ", \t");
		if (strncasecmp(p, "gzip", 4) != 0 || (p[4] != '\0' &&
		    p[4] != ',' && p[4] != ';' && p[4] != ' ' && p[4] != '\t'))
			continue;
		p += 4;
		p += strspn(p, " \t");
		if (*p == ';') {
			p += 1 + strspn(p + 1, " \t");
			if (strncasecmp(p, "q=0", 3) == 0) {
				char c = p[3 + strspn(p + 3, ".0")];
				if (!(c >= '1' && c <= '9'))
					return 0;	/* q=0: refused */
			}
		}
		return 1;
	}
	return 0;
}

static const struct embedded_file *
http_static_find(const struct embedded_file *files, const char *name,
    const char *suffix)
{
	size_t n = strlen(name);

	for (const struct embedded_file *e = files; e->name; e++)
		if (strncmp(e->name, name, n) == 0 && strcmp(e->name + n,
		    suffix) == 0)
			return e;
	return NULL;
}

int
http_static(const struct embedded_file *files, const char *csp,
    const struct http_request *req, struct http_response *res)
{
	const char *name = strcmp(req->path, "/") == 0 ? "index.html" :
	    req->path + 1;
	const struct embedded_file *e, *z;
	size_t n = strlen(name);
	char etag[24];

	/* a file's gzip copy is served only as its encoding */
	if (strchr(name, '/') != NULL || (n > 3 && strcmp(name + n - 3,
	    ".gz") == 0))
		return 0;
	if ((e = http_static_find(files, name, "")) == NULL)
		return 0;
	/* Its gzip copy, made at build time (a third of the bytes on a
	   phone's slow link), to a client that takes it. */
	z = http_static_find(files, name, ".gz");
	if (z != NULL) {
		http_add_header(res, "Vary", "Accept-Encoding");
		if (http_takes_gzip(req))
			http_add_header(res, "Content-Encoding", "gzip");
		else
			z = NULL;
	}
	if (z != NULL)
		e = z;
	http_etag(e->data, e->len, etag);
	http_add_header(res, "ETag", etag);
	http_add_header(res, "Cache-Control", "no-cache");
	http_static_headers(res, csp);
	if (http_not_modified(req, etag))
		res->status = 304;
	else if (http_respond(res, 200, http_static_type(name), e->data,
	    e->len) != 0)
		res->status = 500;
	return 1;
}

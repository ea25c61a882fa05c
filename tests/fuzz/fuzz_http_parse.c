/*
 * fuzz_http_parse: any bytes as requests on one connection, with small
 * limits, cut into chunks whose sizes the first two bytes choose (the
 * cuts land anywhere: inside a name, an escape, a chunk size).  Every
 * complete request is read the way a handler would read it.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits lim = { 256, 512, 4, 1000, 1000, 0,
	    0, 0, 0 };
	struct http_parse hp;
	unsigned seed;

	if (size < 2)
		return 0;
	seed = (unsigned)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if (http_parse_init(&hp, &lim, "fuzz") != 0)
		return 0;
	while (size > 0) {
		size_t chunk = (seed % 37) + 1, used;

		seed = seed * 1103515245u + 12345u;
		if (chunk > size)
			chunk = size;
		used = http_parse_feed(&hp, (const char *)data, chunk);
		assert(used <= chunk);
		if (hp.error) {
			assert(hp.error >= 400 && hp.error <= 599);
			break;
		}
		if (hp.complete) {
			volatile size_t sum = strlen(hp.req.method) +
			    strlen(hp.req.path) + strlen(hp.req.query) +
			    hp.req.body_len;

			assert(hp.req.path[0] == '/');
			assert(hp.req.body_len <= lim.max_body_bytes);
			assert(hp.req.body[hp.req.body_len] == '\0');
			assert(hp.req.n_headers <= HTTP_MAX_HEADERS);
			for (size_t i = 0; i < hp.req.n_headers; i++)
				sum += strlen(hp.req.headers[i].name) +
				    strlen(hp.req.headers[i].value);
			(void)sum;
			(void)http_parse_keep_alive(&hp);
			http_parse_next(&hp);
		} else
			assert(used == chunk);
		data += used;
		size -= used;
	}
	http_parse_free(&hp);
	return 0;
}

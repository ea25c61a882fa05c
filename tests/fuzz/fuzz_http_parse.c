/* fuzz_http_parse: any bytes as requests on one connection, cut into
   chunks whose sizes the first byte chooses, with small limits. */
#include <stdint.h>
#include <string.h>

#include "daemon/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits lim = { 512, 1024, 4, 1000, 1000 };
	struct http_parse hp;
	size_t chunk;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 32) + 1;
	data++;
	size--;
	if (http_parse_init(&hp, &lim, "fuzz") != 0)
		return 0;
	while (size > 0) {
		size_t n = size < chunk ? size : chunk;
		size_t used = http_parse_feed(&hp, (const char *)data, n);

		if (hp.error)
			break;
		if (hp.complete) {
			/* touch what a handler reads */
			volatile size_t sum = strlen(hp.req.path) +
			    strlen(hp.req.query) + hp.req.body_len;
			for (size_t i = 0; i < hp.req.n_headers; i++)
				sum += strlen(hp.req.headers[i].name) +
				    strlen(hp.req.headers[i].value);
			(void)sum;
			http_parse_next(&hp);
		}
		data += used;
		size -= used;
		if (used == 0 && !hp.complete)
			break;
	}
	http_parse_free(&hp);
	return 0;
}

/* fuzz_multipart: any bytes as "CONTENT-TYPE\nBODY": the boundary read
   from the first line (a fixed one when it has none), the body parsed
   with it; every part found must lie inside the body, in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct multipart mp;
	char boundary[MULTIPART_BOUNDARY_MAX + 1], err[256], *ct, *body;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ctlen = nl ? (size_t)(nl - data) : 0, blen, prev = 0;

	if ((ct = malloc(ctlen + 1)) == NULL)
		return 0;
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	if (multipart_boundary(ct, boundary, err, sizeof(err)) != 0)
		strcpy(boundary, "B");
	free(ct);
	if (nl) {
		data += ctlen + 1;
		size -= ctlen + 1;
	}
	/* an exact-size copy, so that a read past the end is caught */
	blen = size;
	if ((body = malloc(blen ? blen : 1)) == NULL)
		return 0;
	memcpy(body, data, blen);
	if (multipart_parse(body, blen, boundary, &mp, err, sizeof(err)) == 0) {
		if (mp.n == 0 || mp.n > MULTIPART_MAX_PARTS)
			abort();
		for (size_t i = 0; i < mp.n; i++) {
			const struct multipart_part *p = &mp.part[i];
			if (p->data != body + p->offset || p->offset < prev ||
			    p->offset + p->len > blen || p->name[0] == '\0' ||
			    strlen(p->name) > MULTIPART_NAME_MAX)
				abort();
			prev = p->offset + p->len;
		}
		if (multipart_find(&mp, mp.part[0].name) != &mp.part[0])
			abort();
	} else if (strlen(err) == 0) {
		abort();
	}
	free(body);
	return 0;
}

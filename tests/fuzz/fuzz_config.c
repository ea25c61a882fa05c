/* fuzz_config: any text as fieldd.conf. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char *text = malloc(size + 1), err[512];

	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&c);
	config_parse(&c, "fuzz.conf", text, err, sizeof(err));
	free(text);
	return 0;
}

/* fuzz_frame: any bytes as a sync stream (the wire or a bundle), fed in
   chunks the first byte chooses. */
#include <stdint.h>

#include "sync/frame.h"

static int
drop(void *arg, Field__Sync__Envelope *env)
{
	field__sync__envelope__free_unpacked(env, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	char err[128];
	size_t chunk;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	frame_reader_init(&r, 4096);
	while (size > 0) {
		size_t n = size < chunk ? size : chunk;
		if (frame_reader_feed(&r, data, n, drop, NULL, err,
		    sizeof(err)) != 0)
			break;
		data += n;
		size -= n;
	}
	frame_reader_free(&r);
	return 0;
}

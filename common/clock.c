/* clock.c: see clock.h. */
#include "common/clock.h"

#include <string.h>

#include "common/util.h"

int
clock_now(int64_t *ms)
{
	*ms = util_now_ms();
	return *ms >= CLOCK_MIN_TRUSTED_MS;
}

void
clock_today(char out[11])
{
	int64_t ms;

	if (clock_now(&ms))
		util_date(ms, out);
	else
		memcpy(out, "9999-12-31", 11);
}

/* collector.c: see collector.h. */
#include "collector/collector.h"

#include <stdio.h>
#include <string.h>

int
collector_path(char *out, size_t outlen, const char *dir, const char *name)
{
	return snprintf(out, outlen, "%s/%s", dir, name) < (int)outlen ? 0 : -1;
}

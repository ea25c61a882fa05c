/* perturb.c: see perturb.h. */
#include "analysis/perturb.h"

#include "common/rng.h"

uint32_t
perturb_salt(const char *measure)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*measure)
		h = (h ^ (unsigned char)*measure++) * 16777619u;
	return h;
}

int64_t
perturb_sum(uint32_t key, uint32_t salt, uint32_t v)
{
	/* A different byte of the table for each measure: the key mixed
	   with the measure's salt (a bijection of the key for each salt). */
	uint32_t h = key ^ salt;
	int64_t w;

	if (v == 0)
		return 0;
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	w = (int64_t)v + perturb_delta(h >> 24);
	return w < 0 ? 0 : w;
}

int
perturb_keys(uint32_t *keys, size_t n)
{
	return rng_bytes(keys, n * sizeof(*keys));
}

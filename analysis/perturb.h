/*
 * perturb.h: the record keys behind the counts coordinators get
 * (docs/security.md, "Counts for people who are not analysts").
 *
 * `collectctl analyse` gives every row of the analysis tables (a record,
 * an item of its counted repeat) a key of 32 random bits, drawn once.
 * Outside an analyst's query a row does not count 1: it counts
 * perturb_count(key), 0, 1 or 2 with probabilities 1/4, 1/2, 1/4, looked
 * up by the key's low byte in the perturbation table below; a record's
 * sum measure v counts perturb_sum(key, salt, v), v - 1, v or v + 1
 * likewise (never below 0; a 0 stays 0).  Analyse stores these beside
 * the row's facts (astore.h, columns "w" and "p:"), not the key.  A
 * cell's published value is the sum of its rows' perturbed
 * contributions: a deterministic function of its rows' keys.
 *
 * So the same set of records is the same number however it is asked for
 * (a cell, a total, another query's cell, any date range that holds the
 * same records), and two answers that differ by a set of records T differ
 * by T's perturbed count, the same number every time: asking thousands
 * of overlapping questions never averages the perturbation away.  From a
 * perturbed count W an attacker learns only that T holds at least
 * ceil(W / 2) records (a record may count 0).  Why not the cell-key
 * method's perturbation of the sum of keys (fresh, bounded noise per
 * distinct cell): docs/security.md.
 *
 * The error of a cell of n rows: the sum of n independent values -1, 0,
 * +1 (1/4, 1/2, 1/4): mean 0, standard deviation sqrt(n / 2); by
 * Hoeffding, |error| >= a with probability at most 2 exp(-a^2 / (2 n)),
 * so the relative error stays under 4 / sqrt(n) with probability above
 * 99.9% (4% at 10,000, 1.3% at 100,000).
 *
 * No state; the functions are pure.
 */
#ifndef PERTURB_H
#define PERTURB_H

#include <stddef.h>
#include <stdint.h>

/* Slots of the perturbation table, indexed by a byte of the key. */
#define PERTURB_SLOTS 256
/* Slots perturbing by -1 (the first) and by +1 (the last). */
#define PERTURB_DOWN 64
#define PERTURB_UP 64

/* The perturbation of slot i (0..255): -1, 0 or +1. */
static inline int
perturb_delta(unsigned i)
{
	return i < PERTURB_DOWN ? -1 :
	    i >= PERTURB_SLOTS - PERTURB_UP ? 1 : 0;
}

/* What a row whose key is key counts: 0, 1 or 2. */
static inline int64_t
perturb_count(uint32_t key)
{
	return 1 + perturb_delta(key & 0xff);
}

/* A measure's salt, so each measure of a record moves independently. */
uint32_t perturb_salt(const char *measure);

/* What a record's value v of a summed measure counts. */
int64_t perturb_sum(uint32_t key, uint32_t salt, uint32_t v);

/* Fills keys with n random keys (the process's CSPRNG); 0 or -1. */
int perturb_keys(uint32_t *keys, size_t n);

#endif

/*
 * astore.h: the analysis tables.  `collectctl analyse` (the only writer,
 * holding the private key) fills them from opened records; counts queries
 * (collectctl counts, collectord /counts) read them without a key.
 *
 * Where: beside the collector's records.  CDIR/analysis.db (SQLite) when
 * the records are in CDIR/collector.db; in the same PostgreSQL database
 * when CDIR/collectord.conf's store names one (tables meta, dict, chunks,
 * cols, failed; schema "analysis" in cdb_schema), so every collectord
 * front-end on that store serves the same counts.  Written once over
 * collector/cdb.h.
 *
 * Concurrency: one writer at a time (SQLite's write lock; on PostgreSQL
 * advisory lock 7243052 taken in astore_begin's transaction).  A writer
 * that finds another's commit between two of its transactions stops
 * ("another collectctl analyse ...").  A reader (astore_open, not
 * writable) reads one snapshot from open to close: the generation it
 * reads (the ETag of /counts) is that of the rows its scans count.  They hold the facts the forms count and nothing
 * else: codes of dimension values (a place, a choice, an age band), days
 * and measures.  No name, no free text, no age in years.
 *
 * Layout: a small column store, because a coordinator's query scans up to
 * tens of millions of individuals within a second.  Each form has two
 * levels of rows, records (level 0) and the items of its counted repeat
 * (level 1, e.g. household members, carrying their record's dimensions
 * too).  Rows are kept in chunks of ASTORE_CHUNK_ROWS; each column of a
 * chunk is an array of uint32 compressed with zstd, so a query reads only
 * the columns it needs and skips chunks outside its dates.  Columns:
 *
 *   "day"      days since 1970-01-01 of the form's date field
 *   "d:NAME"   a dimension: its value's code (0: none), or for a
 *              select_multiple a bit mask, bit (code - 1)
 *   "m:NAME"   a measure at record level (level 0 only)
 *   "w"        what the row counts outside an analyst's query, 0, 1 or
 *              2, from the random key analyse drew for it (perturb.h)
 *   "p:NAME"   a measure at record level as the keys perturb it: an
 *              items count, the sum of its item rows' "w"; a sum, moved
 *              by at most 1 (level 0 only)
 *
 * Values are coded per (form, dimension) in the dict table.  Rows are in
 * arrival order, so the latest of two records of one day is the later row.
 *
 *   meta     arrival (the collector's last record analysed), generation
 *            (bumped by every analyse that changed something), updated_ms
 *   failed   records that did not open or validate, with the reason
 *
 * The perturbations are as secret as the facts: nothing outside the
 * collector reads these tables.  The keys themselves are not kept.
 *
 * Ownership: struct astore owns its connection and the chunk being
 * filled; astore_close flushes nothing (call astore_commit).
 */
#ifndef ASTORE_H
#define ASTORE_H

#include <stddef.h>
#include <stdint.h>

#define ASTORE_CHUNK_ROWS 65536
#define ASTORE_MULTI_MAX 32		/* values of one select_multiple dim */
/* columns of one level: a form's dimensions, its measures exact and
   perturbed, the weight (FORM_CDIM_MAX + 2 FORM_CMEASURE_MAX + 1) */
#define ASTORE_COL_MAX 96
#define ASTORE_COL_NAME 72

struct astore;

/* Opens (creating when writable) CDIR's analysis tables, where its
   collectord.conf says.  0 and *out, or -1 with err (not writable and
   none yet: "no analysis tables ... run collectctl -d CDIR analyse"). */
int astore_open(const char *cdir, int writable, struct astore **out,
    char *err, size_t errlen);
void astore_close(struct astore *as);

/* Metadata; 0 when never set. */
int64_t astore_meta(struct astore *as, const char *key);

/* Writing (analyse). */
int astore_begin(struct astore *as);
/* Writes the chunks being filled, sets meta arrival and bumps the
   generation when rows were added, and commits. */
int astore_commit(struct astore *as, int64_t arrival);
void astore_rollback(struct astore *as);
/* The code of a value of a dimension, assigned when new: > 0, or 0 when
   a select_multiple (multi) dim already has ASTORE_MULTI_MAX values, -1. */
int64_t astore_code(struct astore *as, const char *form, const char *dim,
    const char *value, int multi);
/* Appends a row: cols[i] named names[i]; a column the chunk lacks is
   added (zero for earlier rows).  0 or -1. */
int astore_append(struct astore *as, const char *form, int level,
    uint32_t day, size_t ncols, const char *const *names,
    const uint32_t *cols);
int astore_fail(struct astore *as, const char *device_id, uint64_t seq,
    const char *reason);
/* How many records failed so far. */
int64_t astore_failed_count(struct astore *as);
/* The records set aside, to try again (a form version the collector did
   not have may have come since): up to max of them into devices (each
   CSTORE_DEVICE_MAX + 1 bytes) and seqs; how many, or -1. */
int64_t astore_failed_list(struct astore *as, size_t max,
    char (*devices)[65], uint64_t *seqs);
/* Takes a record off the failed list (it is counted now). */
int astore_unfail(struct astore *as, const char *device_id, uint64_t seq);

/* Reading (queries). */

/* The value of a code, or NULL (borrowed until astore_close). */
const char *astore_value(struct astore *as, const char *form,
    const char *dim, uint32_t code);
/* The code of a value when it has one, else 0. */
uint32_t astore_lookup(struct astore *as, const char *form, const char *dim,
    const char *value);

/*
 * Calls fn for every chunk of (form, level) that may hold days in
 * [day_from, day_to], in row order, with the named columns decoded
 * (cols[i] NULL when the chunk has no such column: all zero); one
 * column of one chunk is read at a time.  0, fn's non-zero return, or -1.
 */
int astore_scan(struct astore *as, const char *form, int level,
    uint32_t day_from, uint32_t day_to, size_t ncols,
    const char *const *names,
    int (*fn)(void *arg, size_t nrows, const uint32_t *day,
    const uint32_t *const *cols), void *arg);

const char *astore_errmsg(struct astore *as);

/* Days since 1970-01-01 of "YYYY-MM-DD", or -1. */
int64_t astore_day(const char *s);
/* The date of a day number into out (11 bytes). */
void astore_date(uint32_t day, char out[11]);

#endif

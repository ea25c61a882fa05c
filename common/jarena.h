/*
 * jarena.h: parsing a request's JSON without malloc.
 *
 * fieldd keeps one malloc arena for both its threads (memory on a board is
 * short), so every allocation jansson makes while the loop parses a
 * record takes the lock the writer is using for SQLite, and the writer's
 * larger allocations then sweep up the loop's small freed chunks.  With
 * eight phones submitting, malloc and free were a quarter of the loop's
 * time.  jarena_loadb parses into a slot of a region reserved once: each
 * allocation is a pointer bump, each free a count down, and the slot is
 * taken again once every block in it has been freed -- wherever and
 * whenever that is, so a tree kept longer only keeps its slot longer.
 *
 * jarena_init installs the allocator as jansson's for the whole process:
 * every other allocation jansson makes (any thread, any tree built rather
 * than parsed) is plain malloc and free, so free() on json_dumps' text
 * stays right.  When no slot is free or a tree outgrows its slot, the
 * rest of it comes from malloc.  Programs that never call jarena_init use
 * jansson as it comes, and jarena_loadb is json_loadb for them.
 */
#ifndef JARENA_H
#define JARENA_H

#include <jansson.h>
#include <stddef.h>

/* Reserves the region and sets jansson's allocator; once, before threads
   start.  0, or -1 when the region cannot be reserved (nothing changed). */
int jarena_init(void);

/* json_loadb, its tree in a slot when one is free. */
json_t *jarena_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *err);

/* Slots holding a tree now: for tests. */
size_t jarena_in_use(void);

#endif

/* jarena.c: see jarena.h. */
#include "common/jarena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define JA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define JA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JA_POISON(p, n) ((void)(p), (void)(n))
#define JA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/*
 * 64 slots of 64 KiB: address space only (MAP_NORESERVE), resident as far
 * as trees have reached.  A household's tree takes about 4 KiB; fieldd
 * has at most a few dozen requests in hand.  A slot given back keeps its
 * first JARENA_KEEP bytes resident for the next tree and returns the rest
 * to the system, so one large record does not stay in fieldd's memory.
 */
#define JARENA_SLOTS 64
#define JARENA_SLOT (64 * 1024)
#define JARENA_KEEP (16 * 1024)
#define JARENA_ALIGN 16		/* malloc's: jansson stores doubles */

struct jslot {
	/* Blocks in the slot not yet freed, plus one while its parse runs;
	   whoever takes it to 0 gives the slot back.  Frees come from any
	   thread that drops the tree. */
	atomic_size_t live;
	size_t used;		/* bumped by the parsing thread alone */
};

static char *region;		/* NULL until jarena_init */
static struct jslot slots[JARENA_SLOTS];
static pthread_mutex_t free_mu = PTHREAD_MUTEX_INITIALIZER;
static int free_list[JARENA_SLOTS];	/* under free_mu: a stack, so the */
static int n_free;			/* slots touched last come first */
static size_t keep;		/* JARENA_KEEP rounded up to a page */
static _Thread_local int cur = -1;	/* the slot this thread parses into */

static char *
slot_at(int i)
{
	return region + (size_t)i * JARENA_SLOT;
}

static void
slot_give(int i)
{
	char *s = slot_at(i);

	if (slots[i].used > keep)
		(void)madvise(s + keep, JARENA_SLOT - keep, MADV_DONTNEED);
	JA_POISON(s, JARENA_SLOT);
	pthread_mutex_lock(&free_mu);
	free_list[n_free++] = i;
	pthread_mutex_unlock(&free_mu);
}

static void
slot_release(int i)
{
	if (atomic_fetch_sub(&slots[i].live, 1) == 1)
		slot_give(i);
}

static void *
jarena_malloc(size_t n)
{
	struct jslot *s;
	size_t a = (n + JARENA_ALIGN - 1) & ~(size_t)(JARENA_ALIGN - 1);
	char *p;

	if (cur < 0 || a < n || a > JARENA_SLOT - slots[cur].used)
		return malloc(n);
	s = &slots[cur];
	p = slot_at(cur) + s->used;
	s->used += a;
	atomic_fetch_add(&s->live, 1);
	JA_UNPOISON(p, n);
	return p;
}

static void
jarena_free(void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)region;

	if (region != NULL && a >= lo && a - lo < (uintptr_t)JARENA_SLOTS *
	    JARENA_SLOT)
		slot_release((int)((a - lo) / JARENA_SLOT));
	else
		free(p);
}

int
jarena_init(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *r;

	if (region != NULL)
		return 0;
	if (page <= 0 || JARENA_SLOT % page != 0)
		return -1;
	r = mmap(NULL, (size_t)JARENA_SLOTS * JARENA_SLOT, PROT_READ |
	    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	keep = ((JARENA_KEEP + (size_t)page - 1) / (size_t)page) *
	    (size_t)page;
	region = r;
	JA_POISON(region, (size_t)JARENA_SLOTS * JARENA_SLOT);
	for (int i = 0; i < JARENA_SLOTS; i++)
		free_list[i] = JARENA_SLOTS - 1 - i;
	n_free = JARENA_SLOTS;
	json_set_alloc_funcs(jarena_malloc, jarena_free);
	return 0;
}

json_t *
jarena_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *j;
	int i = -1;

	if (region != NULL) {
		pthread_mutex_lock(&free_mu);
		if (n_free > 0)
			i = free_list[--n_free];
		pthread_mutex_unlock(&free_mu);
	}
	if (i < 0)
		return json_loadb(buf, len, flags, err);
	slots[i].used = 0;
	atomic_store(&slots[i].live, 1);
	cur = i;
	j = json_loadb(buf, len, flags, err);
	cur = -1;
	slot_release(i);	/* the tree's blocks hold it from here */
	return j;
}

size_t
jarena_in_use(void)
{
	size_t n;

	pthread_mutex_lock(&free_mu);
	n = region ? (size_t)(JARENA_SLOTS - n_free) : 0;
	pthread_mutex_unlock(&free_mu);
	return n;
}

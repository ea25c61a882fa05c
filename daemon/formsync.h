/*
 * formsync.h: the board's side of the forms the collector hands down
 * (sync.proto FormCatalogue), shared by fieldd's and fieldctl's sync.
 *
 * A hello lists every form version the board holds and every one it was
 * handed and could not take, with the reason, so the collector sends
 * only what is missing, records the refusals for `collectctl form list`
 * and does not send a refused form again.  A refusal is remembered
 * (meta FORMSYNC_META_REFUSED) with the build that made it: a board
 * updated to a build that may take the form forgets it, so the
 * collector sends the form once more.
 */
#ifndef FORMSYNC_H
#define FORMSYNC_H

#include <stddef.h>

#include "daemon/device.h"
#include "proto/sync.pb-c.h"

#define FORMSYNC_META_REFUSED "forms_refused"
/* Refusals remembered; the oldest go first. */
#define FORMSYNC_REFUSED_MAX 64

/* What a hello points into, kept until the hello is sent. */
struct formsync_hello {
	Field__Sync__FormRef *held, **held_p;
	Field__Sync__FormRefusal *refused, **refused_p;
	json_t *list;			/* the remembered refusals */
};

/* Fills h's lists_forms, held and refused from dev.  0 or -1. */
int formsync_hello(struct device *dev, Field__Sync__Hello *h,
    struct formsync_hello *keep);
void formsync_hello_free(struct formsync_hello *keep);

/*
 * Takes the forms in cat: each new one is checked as a whole, added to
 * the catalogue and the store, or remembered as refused with the reason.
 * Returns how many were added.
 */
unsigned formsync_take(struct device *dev,
    const Field__Sync__FormCatalogue *cat);

#endif

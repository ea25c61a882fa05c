/*
 * version.h: the release this program was built as, FIELD_VERSION, from
 * the file VERSION; updates (firmware/update.h) compare it to refuse a
 * downgrade.
 */
#ifndef VERSION_H
#define VERSION_H

#include "build.h"	/* made by the Makefile in its gen/ folder */

#endif

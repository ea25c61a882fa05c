/*
 * version.h: the release this program was built as.  The Makefile passes
 * FIELD_VERSION from the file VERSION; updates (firmware/update.h) compare
 * it to refuse a downgrade.
 */
#ifndef VERSION_H
#define VERSION_H

#ifndef FIELD_VERSION
#define FIELD_VERSION "0.0.0"
#endif

#endif

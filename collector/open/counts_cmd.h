/*
 * counts_cmd.h: collectctl's analysis commands.
 *
 *   collectctl -d CDIR analyse --key FILE
 *        opens what arrived since the last run into the analysis tables
 *   collectctl -d CDIR counts --form F [--by DIM[,DIM...]] [--from DATE]
 *        [--to DATE] [--where DIM=VALUE]... [--format table|csv|json|hxl]
 *        [--threshold N] [--key FILE]
 *        counts, suppressed unless --key proves an analyst (the key
 *        that opens the records: the collector's seal.key)
 *   collectctl -d CDIR coordinator add NAME | remove NAME | list
 *        who may read counts from collectord over HTTP; add prints the
 *        token once
 *
 * Linked only into collectctl (the key check needs the opener).
 */
#ifndef COUNTS_CMD_H
#define COUNTS_CMD_H

int counts_cmd_analyse(const char *dir, int argc, char **argv);
int counts_cmd_counts(const char *dir, int argc, char **argv);
int counts_cmd_coordinator(const char *dir, int argc, char **argv);

#endif

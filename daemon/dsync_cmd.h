/*
 * dsync_cmd.h: fieldctl's sync commands, so its main only dispatches.
 * Each takes the data directory and the command's own argv (argv[0] is
 * the command) and returns the process's exit status.
 *
 *   enroll --collector HOST:PORT --token TOKEN   enrol over a link
 *   csr OUT                       a certificate request, for offline
 *   install-cert CERT CA          the collector's answer to it
 *   config set KEY VALUE          one setting in DATADIR/fieldd.conf
 *   sync [--attempts N]           attempts now; 0 when all acknowledged
 */
#ifndef DSYNC_CMD_H
#define DSYNC_CMD_H

#include <jansson.h>

#include "daemon/device.h"

int dsync_cmd_enroll(const char *dir, int argc, char **argv);
int dsync_cmd_csr(const char *dir, int argc, char **argv);
int dsync_cmd_install_cert(const char *dir, int argc, char **argv);
int dsync_cmd_config(const char *dir, int argc, char **argv);
int dsync_cmd_sync(const char *dir, int argc, char **argv);

/* Adds the sync state to a status object: collector, enrolled, pending,
   acked_seq, last_sync_ok, last_sync_attempt, last_sync_error,
   clock_offset_ms. */
int dsync_status_json(struct device *d, json_t *o);

#endif

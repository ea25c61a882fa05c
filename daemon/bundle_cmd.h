/*
 * bundle_cmd.h: the device's side of USB bundles (sync/bundle.h), the
 * commands fieldctl dispatches to; the collector's side is
 * collector/import_cmd.h.  Each takes its command's argc/argv (argv[0]
 * the command's name), prints what it did on standard output and, when
 * it fails or refuses, one line naming the file and the reason on
 * standard error.  Exit codes: 0 done (nothing to
 * do included), 1 refused or failed, 2 usage.
 *
 * Device side (DATADIR as device.h, plus what enrolment writes, dsync.h):
 *   DATADIR/tls/device.key   the device's private key (0600)
 *   DATADIR/tls/device.crt   its certificate, issued by the collector's CA
 *   DATADIR/tls/ca.crt       the collector's CA
 *
 *   fieldctl -d DATADIR export DIR
 *       writes DIR/DEVICE-FIRST-LAST.fldb (atomically: a temporary file
 *       in DIR, fsync, rename) with every record not yet acknowledged
 *   fieldctl -d DATADIR import-receipt FILE
 *       raises the acknowledged watermark to what the receipt says
 */
#ifndef BUNDLE_CMD_H
#define BUNDLE_CMD_H

int bundle_cmd_export(const char *datadir, int argc, char **argv);
int bundle_cmd_import_receipt(const char *datadir, int argc, char **argv);

#endif

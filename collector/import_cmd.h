/*
 * import_cmd.h: the collector's side of USB bundles (sync/bundle.h), the
 * commands collectctl dispatches to; the device's side is
 * daemon/bundle_cmd.h.  Each takes its command's argc/argv (argv[0] the
 * command's name), prints what it did on standard output and, when it
 * fails or refuses, one line naming the file and the reason on standard
 * error.  Exit codes: 0 done (nothing to do included), 1 refused or
 * failed, 2 usage.
 *
 * Collector side (CDIR as collector.h):
 *   collectctl -d CDIR import BUNDLE
 *       verifies the bundle and that its device is enrolled with the
 *       signing certificate's serial and not revoked, refuses a bundle id
 *       already imported, then stores its counts and records in one
 *       transaction: a refused or failed import changes nothing
 *   collectctl -d CDIR receipt DEVICE OUT
 *       writes a receipt for DEVICE to the file OUT, or into the folder
 *       OUT as DEVICE-ACKED.fldr
 */
#ifndef IMPORT_CMD_H
#define IMPORT_CMD_H

int import_cmd_bundle(const char *cdir, int argc, char **argv);
int import_cmd_receipt(const char *cdir, int argc, char **argv);

#endif

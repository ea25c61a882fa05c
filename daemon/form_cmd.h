/*
 * form_cmd.h: fieldctl's form commands, for a board with no collector or
 * one that must not wait for it.
 *
 *   fieldctl -d DATADIR form add FILE.xlsx|FILE.json
 *       checks the form as a whole (the board's own rules: it is this
 *       board's forms core that judges), refuses an id and version the
 *       board has with other content, and stores it; a running fieldd
 *       takes it on SIGHUP (systemctl reload fieldd) or at its next start
 *   fieldctl -d DATADIR form list
 *       the forms on the board, and those it refused from its collector
 *
 * Exit codes: 0 done, 1 refused or failed, 2 usage.
 */
#ifndef FORM_CMD_H
#define FORM_CMD_H

/* argv[0] "form", argv[1] the form command. */
int form_cmd(const char *dir, int argc, char **argv);

#endif

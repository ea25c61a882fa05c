/*
 * cli.h: how every program answers on its command line.  --help and -h
 * print its usage on stdout (exit 0), --version its name and version
 * (exit 0); a mistake -- an unknown command or option, a missing value
 * or argument -- is named in one line on stderr, followed by a short
 * usage hint, and exits 2.
 *
 * main() describes its program once (struct cli, and for a program with
 * commands a table of them, which --help lists) and parses with
 * cli_getopt(), getopt_long() without getopt's own messages.  Once
 * cli_command() has found the command, COMMAND --help prints that
 * command's usage and the hint after a mistake is that command's usage.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>

struct cli_cmd {
	const char *name;	/* the command's word; a name may repeat */
	const char *synopsis;	/* its use, after the program's name */
	const char *what;	/* what it does, one short line, or NULL */
};

struct cli {
	const char *prog;	/* the program's name */
	const char *version;	/* FIELD_VERSION as main() was built */
	const char *synopsis;	/* the short usage, after the name */
	const char *more;	/* --help's text after the usage, or NULL */
	const struct cli_cmd *cmds;	/* ends with a NULL name, or NULL */
};

/* getopt_long() values of --help and --version, beyond any char. */
#define CLI_HELP 0x100
#define CLI_VERSION 0x101
#define CLI_STD_OPTIONS \
	{ "help", no_argument, NULL, CLI_HELP }, \
	{ "version", no_argument, NULL, CLI_VERSION }

/* Sets the program's description (kept, not copied); opterr = 0. */
void cli_init(const struct cli *c);

/* The usage (the current command's, once there is one) on stdout;
   exit 0. */
_Noreturn void cli_help(void);

/* "PROG VERSION" on stdout; exit 0. */
_Noreturn void cli_version(void);

/* "PROG: MESSAGE" and the usage hint on stderr; exit 2. */
_Noreturn void cli_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * getopt_long(argc, argv, shortopts, lo, NULL), but an unknown option or
 * one missing its value is reported by cli_fail(), and CLI_HELP and
 * CLI_VERSION are answered; so it returns only an option of lo or
 * shortopts, or -1.  shortopts may start with '+'.
 */
int cli_getopt(int argc, char **argv, const char *shortopts,
    const struct option *lo);

/*
 * argv[0] as one of the program's commands: cli_fail() when there is
 * none or it is unknown; its usage on stdout and exit 0 when --help or
 * -h is among its arguments.  Returns the command's name.
 */
const char *cli_command(int argc, char **argv);

/* "PROG: wrong use of COMMAND" and the usage hint, exit 2: a mistake no
   more precise message fits. */
_Noreturn void cli_misuse(void);

/* The name cli_command() found, or "" before. */
const char *cli_current(void);

/*
 * The operands argv[first..argc): cli_fail() unless there are min to
 * max of them, naming an option among them, what is missing ("CMD needs
 * NEEDS") or the first one too many.
 */
void cli_operands(int argc, char **argv, int first, int min, int max,
    const char *needs);

#endif

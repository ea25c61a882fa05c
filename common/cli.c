/* cli.c: see cli.h. */
#include "common/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"

/* Before cli_init() (a command's function called from a test): */
static const struct cli cli_unset = {
	.prog = "field", .version = FIELD_VERSION, .synopsis = "...",
};
static const struct cli *cli = &cli_unset;
static const char *cli_cmd_name = "";

void
cli_init(const struct cli *c)
{
	cli = c;
	cli_cmd_name = "";
	opterr = 0;
}

/* Every usage line of the command name (all when NULL), first one after
   "usage: ". */
static void
cli_cmd_lines(FILE *f, const char *name, int with_what)
{
	const char *lead = "usage: ";

	for (const struct cli_cmd *c = cli->cmds; c && c->name; c++) {
		if (name && strcmp(c->name, name) != 0)
			continue;
		fprintf(f, "%s%s %s\n", lead, cli->prog, c->synopsis);
		if (with_what && c->what)
			fprintf(f, "           %s\n", c->what);
		lead = "       ";
	}
}

_Noreturn void
cli_help(void)
{
	if (cli_cmd_name[0]) {
		cli_cmd_lines(stdout, cli_cmd_name, 1);
	} else {
		printf("usage: %s %s\n", cli->prog, cli->synopsis);
		printf("       %s --help | --version\n", cli->prog);
		if (cli->cmds) {
			printf("       %s COMMAND --help\n\ncommands:\n",
			    cli->prog);
			for (const struct cli_cmd *c = cli->cmds; c->name;
			    c++) {
				printf("  %s %s\n", cli->prog, c->synopsis);
				if (c->what)
					printf("      %s\n", c->what);
			}
		}
		if (cli->more)
			printf("\n%s", cli->more);
	}
	fflush(stdout);
	exit(ferror(stdout) ? 1 : 0);
}

_Noreturn void
cli_version(void)
{
	printf("%s %s\n", cli->prog, cli->version);
	fflush(stdout);
	exit(ferror(stdout) ? 1 : 0);
}

_Noreturn void
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli_cmd_name[0])
		cli_cmd_lines(stderr, cli_cmd_name, 0);
	else
		fprintf(stderr, "usage: %s %s; %s --help for %s\n", cli->prog,
		    cli->synopsis, cli->prog, cli->cmds ? "the commands" :
		    "more");
	exit(2);
}

/* " for CMD" once a command is current. */
static const char *
cli_for(char *buf, size_t len)
{
	if (cli_cmd_name[0] == '\0')
		return "";
	snprintf(buf, len, " for %s", cli_cmd_name);
	return buf;
}

/* The val of the long option that name (NAME or NAME=VALUE, perhaps
   abbreviated) is, or -1. */
static int
cli_long_val(const struct option *lo, const char *name)
{
	size_t n = strcspn(name, "=");

	for (; lo && lo->name; lo++)
		if (strncmp(lo->name, name, n) == 0)
			return lo->val;
	return -1;
}

int
cli_getopt(int argc, char **argv, const char *shortopts,
    const struct option *lo)
{
	char opts[64], opt[64], f[80];
	const char *arg;
	size_t skip = shortopts[0] == '+' || shortopts[0] == '-';
	int ch;

	/* ':' first (after a '+'): a missing value returns ':' */
	snprintf(opts, sizeof(opts), "%.*s:%s", (int)skip, shortopts,
	    shortopts + skip);
	opterr = 0;
	ch = getopt_long(argc, argv, opts, lo, NULL);
	if (ch == CLI_HELP)
		cli_help();
	if (ch == CLI_VERSION)
		cli_version();
	if (ch != '?' && ch != ':')
		return ch;
	/* The option as typed: a long one from argv (without its =VALUE),
	   a short one from optopt. */
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(arg, "--", 2) == 0 && (optopt == 0 ||
	    cli_long_val(lo, arg + 2) == optopt))
		snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt > 0 && optopt < 0x100)
		snprintf(opt, sizeof(opt), "-%c", optopt);
	else
		snprintf(opt, sizeof(opt), "%s", arg);
	if (ch == ':')
		cli_fail("option '%s'%s needs a value", opt,
		    cli_for(f, sizeof(f)));
	cli_fail("unknown option '%s'%s", opt, cli_for(f, sizeof(f)));
}

const char *
cli_command(int argc, char **argv)
{
	const struct cli_cmd *c;

	if (argc < 1)
		cli_fail("no command given");
	for (c = cli->cmds; c && c->name; c++)
		if (strcmp(c->name, argv[0]) == 0)
			break;
	if (c == NULL || c->name == NULL)
		cli_fail("unknown command '%s'", argv[0]);
	cli_cmd_name = c->name;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			cli_help();
	return c->name;
}

const char *
cli_current(void)
{
	return cli_cmd_name;
}

void
cli_operands(int argc, char **argv, int first, int min, int max,
    const char *needs)
{
	const char *extra;
	char f[80];
	int n = argc - first;

	if (n >= min && n <= max)
		return;
	/* Wrong count: an option this command does not know, perhaps. */
	for (int i = first; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			cli_fail("unknown option '%s'%s", argv[i], cli_for(f,
			    sizeof(f)));
	if (n < min)
		cli_fail("%s needs %s", cli_cmd_name[0] ? cli_cmd_name :
		    cli->prog, needs);
	if (n <= max)
		return;
	extra = argv[first + max];
	if (extra[0] == '-' && extra[1] != '\0')
		cli_fail("unknown option '%s'%s", extra, cli_for(f,
		    sizeof(f)));
	cli_fail("unexpected argument '%s'%s", extra, cli_for(f, sizeof(f)));
}

void
cli_misuse(void)
{
	cli_fail("wrong use of %s", cli_current());
}

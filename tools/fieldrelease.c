/*
 * fieldrelease: the release key and signed update bundles (firmware/update.h).
 * Runs where releases are built, never on a board: a board holds only the
 * public half of the release key.
 *
 *   fieldrelease keygen OUT.key OUT.pub
 *   fieldrelease bundle --key KEY --version V --arch A --out FILE
 *                [--any-file] FIELDD FIELDCTL
 *
 * bundle checks that both programs are ELF executables for the
 * architecture named (so a bundle for arm64 cannot carry the amd64 build
 * by mistake) unless --any-file (tests use it for a fake fieldd).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/pk.h>

#include "common/cli.h"
#include "common/util.h"
#include "common/version.h"
#include "firmware/update.h"
#include "sync/pki.h"

static const struct cli_cmd fieldrelease_cmds[] = {
	{ "keygen", "keygen OUT.key OUT.pub",
	    "a release key pair (ECDSA P-256); never overwrites one" },
	{ "bundle", "bundle --key KEY --version V --arch A --out FILE "
	    "[--any-file] FIELDD FIELDCTL",
	    "a signed update bundle of the two programs" },
	{ NULL, NULL, NULL },
};

static const struct cli fieldrelease_cli = {
	.prog = "fieldrelease",
	.version = FIELD_VERSION,
	.synopsis = "COMMAND ...",
	.more = "See fieldrelease(1).\n",
	.cmds = fieldrelease_cmds,
};

static int
keygen(const char *keypath, const char *pubpath)
{
	mbedtls_pk_context key;
	unsigned char pem[1024];
	char err[512];
	struct stat st;

	if (stat(keypath, &st) == 0 || stat(pubpath, &st) == 0) {
		fprintf(stderr, "fieldrelease: %s or %s exists: a release key "
		    "is never overwritten\n", keypath, pubpath);
		return 1;
	}
	if (pki_key_generate(&key, err, sizeof(err)) != 0 ||
	    pki_key_write(&key, keypath, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldrelease: %s\n", err);
		mbedtls_pk_free(&key);
		return 1;
	}
	if (mbedtls_pk_write_pubkey_pem(&key, pem, sizeof(pem)) != 0 ||
	    util_write_file(pubpath, pem, strlen((char *)pem), 0644) != 0) {
		fprintf(stderr, "fieldrelease: %s: %s\n", pubpath,
		    strerror(errno));
		mbedtls_pk_free(&key);
		return 1;
	}
	mbedtls_pk_free(&key);
	printf("release key in %s (keep it off boards), public half in %s\n",
	    keypath, pubpath);
	return 0;
}

/* 0 when data is an ELF executable for arch (Debian's name). */
static int
elf_for(const char *path, const unsigned char *d, size_t len,
    const char *arch)
{
	unsigned machine, want;
	int cls, wantcls;

	if (len < 20 || memcmp(d, "\177ELF", 4) != 0) {
		fprintf(stderr, "fieldrelease: %s: not an ELF program "
		    "(--any-file to bundle it anyway)\n", path);
		return -1;
	}
	cls = d[4];
	machine = d[5] == 1 ? (unsigned)(d[18] | d[19] << 8) :
	    (unsigned)(d[18] << 8 | d[19]);
	if (strcmp(arch, "amd64") == 0)
		want = 62, wantcls = 2;
	else if (strcmp(arch, "arm64") == 0)
		want = 183, wantcls = 2;
	else
		want = 40, wantcls = 1;
	if (machine != want || cls != wantcls) {
		fprintf(stderr, "fieldrelease: %s: an ELF program for another "
		    "architecture than %s (machine %u)\n", path, arch, machine);
		return -1;
	}
	return 0;
}

static int
bundle(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "version", required_argument, NULL, 'v' },
		{ "arch", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "any-file", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keypath = NULL, *version = NULL, *arch = NULL, *out = NULL;
	struct update_file files[UPDATE_FILES];
	mbedtls_pk_context key;
	unsigned char *prog[2] = { NULL, NULL }, *buf = NULL;
	char verfile[UPDATE_VERSION_MAX + 2], err[512];
	size_t len, blen;
	int ch, any = 0, rc = 1;

	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		switch (ch) {
		case 'k': keypath = optarg; break;
		case 'v': version = optarg; break;
		case 'a': arch = optarg; break;
		case 'o': out = optarg; break;
		case 'y': any = 1; break;
		}
	}
	if (!keypath || !version || !arch || !out)
		cli_fail("bundle needs --key KEY, --version V, --arch A and "
		    "--out FILE");
	cli_operands(argc, argv, optind, 2, 2, "FIELDD and FIELDCTL");
	if (update_version_parse(version, (uint32_t[3]){ 0 }) != 0 ||
	    !update_arch_ok(arch)) {
		fprintf(stderr, "fieldrelease: --version must be X.Y.Z and "
		    "--arch amd64, arm64 or armhf\n");
		return 1;
	}
	if (pki_key_read(&key, keypath, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldrelease: %s\n", err);
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		const char *path = argv[optind + i];

		prog[i] = (unsigned char *)util_read_file(path,
		    UPDATE_FILE_MAX, &len);
		if (prog[i] == NULL) {
			fprintf(stderr, "fieldrelease: %s: %s\n", path,
			    errno == EFBIG ? "too large" : strerror(errno));
			goto out;
		}
		if (!any && elf_for(path, prog[i], len, arch) != 0)
			goto out;
		files[i].name = UPDATE_NAMES[i];
		files[i].mode = 0755;
		files[i].data = prog[i];
		files[i].len = len;
	}
	snprintf(verfile, sizeof(verfile), "%s\n", version);
	files[2].name = UPDATE_NAMES[UPDATE_FILE_VERSION];
	files[2].mode = 0644;
	files[2].data = (const unsigned char *)verfile;
	files[2].len = strlen(verfile);
	if (update_write(&key, version, arch, files, UPDATE_FILES, &buf,
	    &blen, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldrelease: %s\n", err);
		goto out;
	}
	if (util_write_file(out, buf, blen, 0644) != 0) {
		fprintf(stderr, "fieldrelease: %s: %s\n", out, strerror(errno));
		goto out;
	}
	printf("%s: release %s for %s, %zu bytes\n", out, version, arch, blen);
	rc = 0;
out:
	free(prog[0]);
	free(prog[1]);
	free(buf);
	mbedtls_pk_free(&key);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	cli_init(&fieldrelease_cli);
	while ((ch = cli_getopt(argc, argv, "+h", lo)) != -1)
		cli_help();
	argc -= optind;
	argv += optind;
	cli_command(argc, argv);
	if (strcmp(argv[0], "keygen") == 0) {
		cli_operands(argc, argv, 1, 2, 2, "OUT.key and OUT.pub");
		return keygen(argv[1], argv[2]);
	}
	return bundle(argc, argv);
}

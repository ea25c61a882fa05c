/* test_seal.c: X25519 against RFC 7748, seal/open round trip, tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sync/seal.h"
#include "collector/open/seal_open.h"

static void
unhex(const char *h, unsigned char *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

/* RFC 7748 section 6.1. */
static void
test_x25519_rfc7748(void **state)
{
	unsigned char a[32], b[32], apub[32], bpub[32], want[32], out[32];
	static const unsigned char nine[32] = { 9 };

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want);
	assert_int_equal(seal_x25519(a, nine, apub), 0);
	assert_memory_equal(apub, want, 32);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want);
	assert_int_equal(seal_x25519(b, nine, bpub), 0);
	assert_memory_equal(bpub, want, 32);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want);
	assert_int_equal(seal_x25519(a, bpub, out), 0);
	assert_memory_equal(out, want, 32);
	assert_int_equal(seal_x25519(b, apub, out), 0);
	assert_memory_equal(out, want, 32);
}

static void
test_x25519_low_order_refused(void **state)
{
	unsigned char a[32] = { 1, 2, 3 }, zero[32] = { 0 }, out[32];

	assert_int_equal(seal_x25519(a, zero, out), -1);
}

struct fixture {
	char dir[64];
	struct seal_opener op;
	unsigned char pub[32];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	unsigned char priv[32];
	char path[128], err[256];

	strcpy(fx->dir, "/tmp/test_seal.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(seal_keypair(fx->pub, priv), 0);
	snprintf(path, sizeof(path), "%s/seal.key", fx->dir);
	assert_int_equal(seal_key_write(path, priv), 0);
	assert_int_equal(seal_opener_load(&fx->op, path, err, sizeof(err)), 0);
	assert_memory_equal(fx->op.pub, fx->pub, 32);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	seal_opener_wipe(&fx->op);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static const struct seal_ad base_ad = {
	"0b7a4c8e-6a38-4f27-9e2a-3f1c9a1c7d11", "dtm_household", "2026.11.1",
	"dev-1", 7
};

static void
seal_one(struct fixture *fx, struct seal_epoch *ep, const char *msg,
    unsigned char *out)
{
	assert_int_equal(seal_epoch_start(ep, fx->pub, "dev-1"), 0);
	ep->id = 7;
	assert_int_equal(seal_record(ep, &base_ad, (const unsigned char *)msg,
	    strlen(msg), out), 0);
}

static void
test_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct seal_epoch ep;
	const char *msg = "household of three";
	unsigned char sealed[64], pt[64];
	size_t len = strlen(msg) + SEAL_OVERHEAD;

	seal_one(fx, &ep, msg, sealed);
	assert_null(memmem(sealed, len, msg, strlen(msg)));
	assert_int_equal(seal_open(&fx->op, ep.pub, &base_ad, sealed, len, pt), 0);
	assert_memory_equal(pt, msg, strlen(msg));
	/* A second record of the same epoch has a fresh nonce. */
	unsigned char second[64];
	assert_int_equal(seal_record(&ep, &base_ad, (const unsigned char *)msg,
	    strlen(msg), second), 0);
	assert_memory_not_equal(sealed, second, 12);
	assert_int_equal(seal_open(&fx->op, ep.pub, &base_ad, second, len, pt), 0);
	seal_epoch_wipe(&ep);
	/* A wiped epoch seals nothing. */
	assert_int_equal(seal_record(&ep, &base_ad, (const unsigned char *)msg,
	    strlen(msg), second), -1);
	static const unsigned char zero[32];
	assert_memory_equal(ep.key, zero, 32);
}

static void
test_tamper_refused(void **state)
{
	struct fixture *fx = *state;
	struct seal_epoch ep;
	const char *msg = "members: 3";
	unsigned char sealed[64], pt[64];
	size_t len = strlen(msg) + SEAL_OVERHEAD;

	seal_one(fx, &ep, msg, sealed);
	/* Every single flipped bit is refused. */
	for (size_t i = 0; i < len * 8; i++) {
		sealed[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(seal_open(&fx->op, ep.pub, &base_ad, sealed,
		    len, pt), -1);
		sealed[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	/* Each swapped associated-data field is refused. */
	struct seal_ad ad = base_ad;
	ad.record_id = "0b7a4c8e-6a38-4f27-9e2a-3f1c9a1c7d12";
	assert_int_equal(seal_open(&fx->op, ep.pub, &ad, sealed, len, pt), -1);
	ad = base_ad;
	ad.form_id = "mrc_visit";
	assert_int_equal(seal_open(&fx->op, ep.pub, &ad, sealed, len, pt), -1);
	ad = base_ad;
	ad.form_version = "2026.11.2";
	assert_int_equal(seal_open(&fx->op, ep.pub, &ad, sealed, len, pt), -1);
	ad = base_ad;
	ad.device_id = "dev-2";
	assert_int_equal(seal_open(&fx->op, ep.pub, &ad, sealed, len, pt), -1);
	ad = base_ad;
	ad.epoch_id = 8;
	assert_int_equal(seal_open(&fx->op, ep.pub, &ad, sealed, len, pt), -1);
	/* Another epoch's public key is refused. */
	struct seal_epoch other;
	assert_int_equal(seal_epoch_start(&other, fx->pub, "dev-1"), 0);
	assert_int_equal(seal_open(&fx->op, other.pub, &base_ad, sealed, len,
	    pt), -1);
	/* Truncated input is refused. */
	assert_int_equal(seal_open(&fx->op, ep.pub, &base_ad, sealed,
	    SEAL_OVERHEAD - 1, pt), -1);
	/* And the untouched record still opens. */
	assert_int_equal(seal_open(&fx->op, ep.pub, &base_ad, sealed, len, pt), 0);
	seal_epoch_wipe(&ep);
	seal_epoch_wipe(&other);
}

static void
test_wrong_collector_key(void **state)
{
	struct fixture *fx = *state;
	struct seal_epoch ep;
	unsigned char other_pub[32], other_priv[32], sealed[64], pt[64];
	struct seal_opener op2;
	char path[128], err[256];

	assert_int_equal(seal_keypair(other_pub, other_priv), 0);
	snprintf(path, sizeof(path), "%s/other.key", fx->dir);
	assert_int_equal(seal_key_write(path, other_priv), 0);
	assert_int_equal(seal_opener_load(&op2, path, err, sizeof(err)), 0);
	seal_one(fx, &ep, "x", sealed);
	assert_int_equal(seal_open(&op2, ep.pub, &base_ad, sealed,
	    1 + SEAL_OVERHEAD, pt), -1);
	seal_opener_wipe(&op2);
	seal_epoch_wipe(&ep);
}

static void
test_key_files(void **state)
{
	struct fixture *fx = *state;
	unsigned char pub[32];
	char path[128], err[256];
	struct seal_opener op;
	FILE *f;

	snprintf(path, sizeof(path), "%s/seal.pub", fx->dir);
	assert_int_equal(seal_pub_write(path, fx->pub), 0);
	assert_int_equal(seal_pub_read(path, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, fx->pub, 32);
	/* Garbage in the public key file: a clear error naming the file. */
	f = fopen(path, "w");
	fputs("x25519-public:AAAA\n", f);
	fclose(f);
	assert_int_equal(seal_pub_read(path, pub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	/* A private key readable by others is refused. */
	snprintf(path, sizeof(path), "%s/seal.key", fx->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(seal_opener_load(&op, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
}

static void
test_ad_too_long(void **state)
{
	struct seal_ad ad = base_ad;
	char longid[300];
	unsigned char buf[SEAL_AD_MAX];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ad.device_id = longid;
	assert_int_equal(seal_ad_encode(&ad, buf), -1);
	ad = base_ad;
	assert_true(seal_ad_encode(&ad, buf) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_low_order_refused),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_collector_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
		cmocka_unit_test(test_ad_too_long),
	};

	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}

/* test_frame.c: frames round trip however the bytes are split; every
   malformed stream is an error naming its byte offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sync/frame.h"

struct got {
	int n;
	uint64_t seqs[16];
};

static int
collect(void *arg, Field__Sync__Envelope *env)
{
	struct got *g = arg;

	if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND_HELLO)
		g->seqs[g->n++] = env->hello->highest_seq;
	field__sync__envelope__free_unpacked(env, NULL);
	return 0;
}

static size_t
hello_frame(unsigned char *out, uint64_t seq)
{
	Field__Sync__Hello h = FIELD__SYNC__HELLO__INIT;
	Field__Sync__Envelope e = FIELD__SYNC__ENVELOPE__INIT;
	unsigned char *buf;
	size_t len;

	h.device_id = "dev-1";
	h.protocol_version = 1;
	h.highest_seq = seq;
	e.kind_case = FIELD__SYNC__ENVELOPE__KIND_HELLO;
	e.hello = &h;
	assert_int_equal(frame_encode(&e, FRAME_MAX_DEFAULT, &buf, &len), 0);
	memcpy(out, buf, len);
	free(buf);
	return len;
}

static void
test_round_trip_any_split(void **state)
{
	unsigned char stream[512];
	size_t len = 0;
	char err[128];

	for (uint64_t s = 1; s <= 3; s++)
		len += hello_frame(stream + len, s * 1000);
	for (size_t cut = 0; cut <= len; cut++) {
		struct frame_reader r;
		struct got g = { 0 };

		frame_reader_init(&r, 1024);
		assert_int_equal(frame_reader_feed(&r, stream, cut, collect, &g,
		    err, sizeof(err)), 0);
		assert_int_equal(frame_reader_feed(&r, stream + cut, len - cut,
		    collect, &g, err, sizeof(err)), 0);
		assert_int_equal(g.n, 3);
		assert_int_equal(g.seqs[2], 3000);
		assert_int_equal(frame_reader_pending(&r), 0);
		frame_reader_free(&r);
	}
	/* One byte at a time. */
	struct frame_reader r;
	struct got g = { 0 };
	frame_reader_init(&r, 1024);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(frame_reader_feed(&r, stream + i, 1, collect,
		    &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 3);
	assert_true(r.cap <= 1024 + FRAME_VARINT_MAX);
	frame_reader_free(&r);
}

static void
test_oversized_length_refused_before_allocation(void **state)
{
	unsigned char hdr[FRAME_VARINT_MAX];
	struct frame_reader r;
	struct got g = { 0 };
	char err[128];
	size_t n = frame_put_varint(hdr, (uint64_t)1 << 40);

	frame_reader_init(&r, 1024);
	assert_int_equal(frame_reader_feed(&r, hdr, n, collect, &g, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "frame at byte 0"));
	assert_non_null(strstr(err, "over the limit"));
	assert_true(r.cap <= FRAME_VARINT_MAX);
	/* A failed reader refuses everything after. */
	assert_int_equal(frame_reader_feed(&r, hdr, 1, collect, &g, err,
	    sizeof(err)), -1);
	frame_reader_free(&r);
}

static void
test_malformed(void **state)
{
	static const unsigned char endless[12] = { 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const unsigned char garbage[] = { 5, 0xff, 0xff, 0xff, 0xff,
	    0xff };
	static const unsigned char empty[] = { 0 };
	unsigned char good[128];
	struct frame_reader r;
	struct got g = { 0 };
	char err[128];
	size_t glen = hello_frame(good, 7);

	frame_reader_init(&r, 1024);
	assert_int_equal(frame_reader_feed(&r, endless, sizeof(endless),
	    collect, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "varint"));
	frame_reader_free(&r);

	/* Garbage after a good frame: the error names where it starts. */
	unsigned char s[256];
	memcpy(s, good, glen);
	memcpy(s + glen, garbage, sizeof(garbage));
	frame_reader_init(&r, 1024);
	assert_int_equal(frame_reader_feed(&r, s, glen + sizeof(garbage),
	    collect, &g, err, sizeof(err)), -1);
	assert_int_equal(g.n, 1);
	char want[64];
	snprintf(want, sizeof(want), "frame at byte %zu", glen);
	assert_non_null(strstr(err, want));
	frame_reader_free(&r);

	frame_reader_init(&r, 1024);
	assert_int_equal(frame_reader_feed(&r, empty, 1, collect, &g, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown kind"));
	frame_reader_free(&r);
}

static void
test_encode_limit(void **state)
{
	Field__Sync__Bye b = FIELD__SYNC__BYE__INIT;
	Field__Sync__Envelope e = FIELD__SYNC__ENVELOPE__INIT;
	char reason[200];
	unsigned char *buf;
	size_t len;

	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	b.reason = reason;
	e.kind_case = FIELD__SYNC__ENVELOPE__KIND_BYE;
	e.bye = &b;
	assert_int_equal(frame_encode(&e, 100, &buf, &len), -1);
	assert_int_equal(frame_encode(&e, 1000, &buf, &len), 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_any_split),
		cmocka_unit_test(test_oversized_length_refused_before_allocation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_encode_limit),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}

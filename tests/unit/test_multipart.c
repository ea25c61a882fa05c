/*
 * test_multipart.c: multipart/form-data as curl -F and ODK Collect send
 * it, every rule of the strict reader broken once with the byte offset
 * named, every truncation of a good body refused, the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/multipart.h"

#define B "------------------------d74496d66958873e"

/* What curl -F xml_submission_file=@x.xml;type=text/xml sends. */
static const char curl_body[] =
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"xml_submission_file\"; "
    "filename=\"x.xml\"\r\n"
    "Content-Type: text/xml\r\n"
    "\r\n"
    "<data id=\"f\"><a>1</a></data>\n"
    "\r\n--" B "--\r\n";

static struct multipart mp;
static char err[256];

static int
parse(const char *body, size_t len)
{
	memset(err, 0, sizeof(err));
	return multipart_parse(body, len, B, &mp, err, sizeof(err));
}

static int
parse_s(const char *body)
{
	return parse(body, strlen(body));
}

/* Asserts body is refused with a message holding want. */
static void
refused(const char *body, const char *want)
{
	if (parse_s(body) == 0)
		fail_msg("accepted: %s", body);
	if (strstr(err, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, want);
}

static void
test_boundary(void **state)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];

	assert_int_equal(multipart_boundary("multipart/form-data; boundary="
	    B, b, err, sizeof(err)), 0);
	assert_string_equal(b, B);
	assert_int_equal(multipart_boundary("Multipart/Form-Data;charset=utf-8"
	    ";  BOUNDARY=\"a b'()+_,-./:=?\"", b, err, sizeof(err)), 0);
	assert_string_equal(b, "a b'()+_,-./:=?");
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=x;", b, err, sizeof(err)), 0);
	assert_string_equal(b, "x");

	assert_int_equal(multipart_boundary(NULL, b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("text/xml; boundary=x", b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "multipart/form-data"));
	assert_int_equal(multipart_boundary("multipart/form-datax; "
	    "boundary=x", b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data", b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no boundary"));
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=a; boundary=b", b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "two boundary"));
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"ends \"", b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"\"", b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"a\\\"b\"", b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not allow"));
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"unterminated", b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data boundary=x",
	    b, err, sizeof(err)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; =x", b,
	    err, sizeof(err)), -1);
	{
		char ct[200];
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%070d",
		    7);
		assert_int_equal(multipart_boundary(ct, b, err, sizeof(err)), 0);
		assert_int_equal(strlen(b), 70);
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d",
		    7);
		assert_int_equal(multipart_boundary(ct, b, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "1 to 70"));
	}
}

static void
test_curl_body(void **state)
{
	const struct multipart_part *p;

	assert_int_equal(parse_s(curl_body), 0);
	assert_int_equal(mp.n, 1);
	assert_non_null(p = multipart_find(&mp, "xml_submission_file"));
	assert_string_equal(p->filename, "x.xml");
	assert_string_equal(p->content_type, "text/xml");
	assert_int_equal(p->len, strlen("<data id=\"f\"><a>1</a></data>\n"));
	assert_memory_equal(p->data, "<data id=\"f\"><a>1</a></data>\n",
	    p->len);
	assert_ptr_equal(p->data, curl_body + p->offset);
	assert_null(multipart_find(&mp, "other"));

	/* no epilogue at all is fine too */
	assert_int_equal(parse(curl_body, strlen(curl_body) - 2), 0);
}

static void
test_several_parts(void **state)
{
	static const char body[] =
	    "--" B "\r\n"
	    "content-disposition: FORM-DATA;name=a\r\n"
	    "X-Other: ignored\r\n"
	    "Content-Transfer-Encoding: binary\r\n"
	    "\r\n"
	    "\r\n"		/* data: one CRLF */
	    "\r\n--" B "\r\n"
	    "Content-Disposition: form-data; name=\"b\\\"q\"; filename=\"\"\r\n"
	    "\r\n"
	    "\r\n--" B "\r\n"	/* empty data */
	    "Content-Disposition: form-data; name=\"c\"\r\n"
	    "\r\n"
	    "x--" B "\rstill data\n--" B "x"
	    "\r\n--" B "--";

	assert_int_equal(parse_s(body), 0);
	assert_int_equal(mp.n, 3);
	assert_string_equal(mp.part[0].name, "a");
	assert_int_equal(mp.part[0].len, 2);
	assert_memory_equal(mp.part[0].data, "\r\n", 2);
	assert_string_equal(mp.part[0].content_type, "");
	assert_string_equal(mp.part[1].name, "b\"q");
	assert_int_equal(mp.part[1].len, 0);
	assert_string_equal(mp.part[2].name, "c");
	assert_int_equal(mp.part[2].len, strlen("x--" B "\rstill data\n--" B
	    "x"));
}

static void
test_framing_errors(void **state)
{
	refused("preamble\r\n--" B "\r\n" "Content-Disposition: form-data; "
	    "name=a\r\n\r\nx\r\n--" B "--", "byte 0:");
	refused("--" B "--", "byte " "42" ": the body has no parts");
	refused("--" B " \r\n", "byte 42: expected CRLF or '--'");
	refused("--" B "\n", "byte 42: expected CRLF");
	refused("--" B "\r\n" "Content-Disposition: form-data; name=a\r\n\r\nx"
	    "\r\n--" B "--junk", "byte 133: only CRLF may follow");
	refused("--" B "\r\n" "Content-Disposition: form-data; name=a\r\n\r\nx"
	    "\r\n--" B "--\r\n\r\n", "only CRLF may follow");
	refused("--" B "\r\n" "Content-Disposition: form-data; name=a\r\n\r\nx"
	    "\r\n--" B "X\r\n", "byte 131: expected CRLF or '--'");
	refused("--" B "\r\n" "Content-Disposition: form-data; name=a\r\n\r\nx"
	    "\r\n--" B, "byte 131: expected CRLF or '--'");
	refused("--" B "\r\n" "Content-Disposition: form-data; name=a\r\n\r\nx",
	    "byte 86: no boundary after the part's data");
}

static void
test_header_errors(void **state)
{
	refused("--" B "\r\nContent-Disposition: form-data; name=a\n\r\n",
	    "byte 82: a bare LF");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\rX\r\n",
	    "byte 82: a CR not followed by LF");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
	    " filename=b\r\n\r\nx\r\n--" B "--", "byte 84: folded header");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\x01\r\n",
	    "byte 82: a control character");
	refused("--" B "\r\nContent-Type: text/xml\r\n\r\nx\r\n--" B "--",
	    "byte 44: a part without Content-Disposition");
	refused("--" B "\r\nContent-Disposition: attachment; name=a\r\n\r\n"
	    "x\r\n--" B "--", "byte 44: Content-Disposition must be form-data");
	refused("--" B "\r\nContent-Disposition: form-data; filename=a\r\n\r\n"
	    "x\r\n--" B "--", "no name parameter");
	refused("--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n"
	    "x\r\n--" B "--", "non-empty name");
	refused("--" B "\r\nContent-Disposition: form-data; name=a; name=b\r\n"
	    "\r\nx\r\n--" B "--", "one non-empty name");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--" B "--",
	    "byte 84: a part has two Content-Disposition");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nx\r\n--" B "--",
	    "7bit, 8bit or binary");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
	    "Content-Type: a\r\nContent-Type: b\r\n\r\nx\r\n--" B "--",
	    "two Content-Type");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n"
	    "No colon here\r\n\r\nx\r\n--" B "--", "Name: value");
	refused("--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\n"
	    "x\r\n--" B "--", "malformed value");
	refused("--" B "\r\nContent-Disposition: form-data name=a\r\n\r\n"
	    "x\r\n--" B "--", "expected ';'");
	refused("--" B "\r\nContent-Disposition: form-data; name=a\r\n",
	    "ends inside a part's headers");
}

static void
test_limits(void **state)
{
	char *body = malloc(16384), name[200];
	size_t n = 0;

	assert_non_null(body);
	/* 16 parts pass, 17 do not */
	for (int i = 0; i < MULTIPART_MAX_PARTS + 1; i++) {
		n += (size_t)sprintf(body + n, "--" B "\r\nContent-Disposition: "
		    "form-data; name=p%d\r\n\r\nv\r\n", i);
		if (i == MULTIPART_MAX_PARTS - 1) {
			strcpy(body + n, "--" B "--");
			assert_int_equal(parse_s(body), 0);
			assert_int_equal(mp.n, MULTIPART_MAX_PARTS);
			assert_string_equal(mp.part[15].name, "p15");
		}
	}
	strcpy(body + n, "--" B "--");
	refused(body, "more than 16 parts");

	/* a header block of 1024 bytes is too long; a name of 129 too */
	n = (size_t)sprintf(body, "--" B "\r\nContent-Disposition: form-data; "
	    "name=a\r\nX-Pad: ");
	memset(body + n, 'p', 1000);
	strcpy(body + n + 1000, "\r\n\r\nx\r\n--" B "--");
	refused(body, "byte 44: a part's headers are longer than 1024");
	memset(name, 'n', 129);
	name[129] = '\0';
	snprintf(body, 16384, "--" B "\r\nContent-Disposition: form-data; "
	    "name=%s\r\n\r\nx\r\n--" B "--", name);
	refused(body, "longer than 128 bytes");
	name[128] = '\0';
	snprintf(body, 16384, "--" B "\r\nContent-Disposition: form-data; "
	    "name=%s\r\n\r\nx\r\n--" B "--", name);
	assert_int_equal(parse_s(body), 0);
	assert_int_equal(strlen(mp.part[0].name), 128);
	free(body);
}

/* Every prefix of a good body is refused, never read past its end. */
static void
test_truncations(void **state)
{
	size_t len = strlen(curl_body);

	for (size_t i = 0; i < len - 2; i++) {
		char *copy = malloc(i ? i : 1);

		assert_non_null(copy);
		memcpy(copy, curl_body, i);
		if (parse(copy, i) == 0)
			fail_msg("a body cut at %zu was accepted", i);
		assert_true(strncmp(err, "byte ", 5) == 0);
		free(copy);
	}
}

/* The messages name bytes, never what they hold. */
static void
test_no_values_in_errors(void **state)
{
	refused("--" B "\r\nContent-Disposition: form-data; name=SECRET\r\n"
	    "Content-Transfer-Encoding: SECRET\r\n\r\nSECRET", "byte");
	assert_null(strstr(err, "SECRET"));
	refused("--" B "\r\nContent-Disposition: form-data; name=SECRET\r\n"
	    "\r\nSECRET\r\n--" B "SECRET", "byte");
	assert_null(strstr(err, "SECRET"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_curl_body),
		cmocka_unit_test(test_several_parts),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_no_values_in_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_csvin.c: Kobo and ODK Central exports of households with members
 * read from real files into exact JSON; BOM, CRLF, quoted newlines and
 * quotes, column mapping; every error with its file and line; the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/csvin.h"

#define MAX_FILES 64

static char dir[64];
static char *files[MAX_FILES];
static int n_files;

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_csvin.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	for (int i = 0; i < n_files; i++) {
		unlink(files[i]);
		free(files[i]);
	}
	n_files = 0;
	return rmdir(dir);
}

/* Writes len bytes to dir/name; returns the path (freed at teardown). */
static const char *
put_n(const char *name, const char *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	for (int i = 0; i < n_files; i++)
		if (strcmp(files[i], path) == 0)
			return files[i];
	assert_true(n_files < MAX_FILES);
	assert_non_null(files[n_files] = strdup(path));
	return files[n_files++];
}

static const char *
put(const char *name, const char *text)
{
	return put_n(name, text, strlen(text));
}

/* Asserts got equals the JSON text want; prints both when not. */
static void
assert_json(json_t *got, const char *want)
{
	json_error_t je;
	json_t *w = json_loads(want, 0, &je);
	int eq;

	if (w == NULL)
		fail_msg("bad expected JSON: %s", je.text);
	eq = json_equal(got, w);
	if (!eq) {
		char *g = json_dumps(got, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		char *x = json_dumps(w, JSON_INDENT(1));

		print_error("got:\n%s\nwant:\n%s\n", g, x);
		free(g);
		free(x);
	}
	json_decref(w);
	assert_true(eq);
}

/* Reads and expects success with exactly the JSON want. */
static void
read_ok(const char *main_path, const struct csvin_repeat *reps, size_t n,
    const char *want)
{
	char err[2048];
	json_t *out = NULL;
	int rc = csvin_read(main_path, reps, n, &out, err, sizeof(err));

	if (rc != 0)
		print_error("errors:\n%s", err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_json(out, want);
	json_decref(out);
}

/* Reads and expects failure; err is left in err (errlen bytes). */
static void
read_fail(const char *main_path, const struct csvin_repeat *reps, size_t n,
    char *err, size_t errlen)
{
	json_t *out = (json_t *)1;

	assert_int_equal(csvin_read(main_path, reps, n, &out, err, errlen),
	    -1);
	assert_null(out);
}

/* Expects err to hold exactly the lines want (each ending in '\n'). */
static void
assert_errors(const char *err, const char *want)
{
	if (strcmp(err, want) != 0)
		print_error("got:\n%s\nwant:\n%s", err, want);
	assert_string_equal(err, want);
}

static void
test_kobo(void **state)
{
	const char *hh = put("households.csv",
	    "start,end,today,deviceid,consent,hh/head_name,site_id,"
	    "meta/instanceID,meta/rootUuid,_id,_uuid,_submission_time,"
	    "_validation_status,_index\n"
	    "2024-05-01T10:00,2024-05-01T10:20,2024-05-01,dev1,yes,Amina,"
	    "S-1,uuid:11111111-1111-4111-8111-111111111111,"
	    "uuid:11111111-1111-4111-8111-111111111111,77,"
	    "11111111-1111-4111-8111-111111111111,2024-05-02,,1\n"
	    "2024-05-01T11:00,2024-05-01T11:20,2024-05-01,dev1,no,,S-2,"
	    "uuid:22222222-2222-4222-8222-222222222222,"
	    "uuid:22222222-2222-4222-8222-222222222222,78,"
	    "22222222-2222-4222-8222-222222222222,2024-05-02,,2\n");
	const char *mem = put("members.csv",
	    "member_name,sex,age_years,relationship,_index,"
	    "_parent_table_name,_parent_index,_submission__id,"
	    "_submission__uuid\n"
	    "Amina,female,34,head,1,dtm_household,1,77,x\n"
	    "Yusuf,male,36,spouse,2,dtm_household,1,77,x\n"
	    "Hawa,female,4,child,3,dtm_household,1,77,x\n");
	struct csvin_repeat reps[] = { { "members", mem } };

	read_ok(hh, reps, 1,
	    "[{\"line\": 2, \"record\": {\"consent\": \"yes\","
	    " \"head_name\": \"Amina\", \"site_id\": \"S-1\","
	    " \"_id\": \"11111111-1111-4111-8111-111111111111\","
	    " \"members\": ["
	    "  {\"member_name\": \"Amina\", \"sex\": \"female\","
	    "   \"age_years\": \"34\", \"relationship\": \"head\"},"
	    "  {\"member_name\": \"Yusuf\", \"sex\": \"male\","
	    "   \"age_years\": \"36\", \"relationship\": \"spouse\"},"
	    "  {\"member_name\": \"Hawa\", \"sex\": \"female\","
	    "   \"age_years\": \"4\", \"relationship\": \"child\"}]}},"
	    " {\"line\": 3, \"record\": {\"consent\": \"no\","
	    " \"head_name\": \"\", \"site_id\": \"S-2\","
	    " \"_id\": \"22222222-2222-4222-8222-222222222222\"}}]");
}

/* ODK Central: BOM, CRLF, KEY/PARENT_KEY, quoted newlines and quotes. */
static void
test_odk_central(void **state)
{
	const char *hh = put("households.csv",
	    "\xef\xbb\xbfSubmissionDate,consent,head_name,site_id,"
	    "meta-instanceID,meta-instanceName,KEY,SubmitterID,SubmitterName,"
	    "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,"
	    "DeviceID,Edits,FormVersion\r\n"
	    "2024-05-02T08:00:00.000Z,yes,\"Amina \"\"Mama\"\"\r\nBello\","
	    "S-1,uuid:aaa,HH S-1,uuid:aaa,5,Collector,0,0,,approved,d1,0,"
	    "3\r\n"
	    "2024-05-02T09:00:00.000Z,no,,S-2,uuid:bbb,,uuid:bbb,5,"
	    "Collector,0,0,,,d1,0,3\r\n");
	const char *mem = put("members.csv",
	    "\xef\xbb\xbfmember_name,sex,age_years,PARENT_KEY,KEY\r\n"
	    "\"Amina, \"\"Mama\"\"\",female,34,uuid:aaa,"
	    "uuid:aaa/members[1]\r\n"
	    "\"Yusuf\nIbrahim\",male,36,uuid:aaa,uuid:aaa/members[2]\r\n"
	    "Hawa,female,4,uuid:aaa,uuid:aaa/members[3]\r\n");
	struct csvin_repeat reps[] = { { "members", mem } };

	read_ok(hh, reps, 1,
	    "[{\"line\": 2, \"record\": {\"consent\": \"yes\","
	    " \"head_name\": \"Amina \\\"Mama\\\"\\r\\nBello\","
	    " \"site_id\": \"S-1\", \"_id\": \"aaa\","
	    " \"members\": ["
	    "  {\"member_name\": \"Amina, \\\"Mama\\\"\", \"sex\": \"female\","
	    "   \"age_years\": \"34\"},"
	    "  {\"member_name\": \"Yusuf\\nIbrahim\", \"sex\": \"male\","
	    "   \"age_years\": \"36\"},"
	    "  {\"member_name\": \"Hawa\", \"sex\": \"female\","
	    "   \"age_years\": \"4\"}]}},"
	    " {\"line\": 4, \"record\": {\"consent\": \"no\","
	    " \"head_name\": \"\", \"site_id\": \"S-2\", \"_id\": \"bbb\"}}]");
}

/* Without an instance id column, ODK Central's KEY gives the _id. */
static void
test_odk_key_is_id(void **state)
{
	const char *hh = put("households.csv",
	    "KEY,site_id\nuuid:aaa,S-1\nnot-a-uuid-key,S-2\n");

	read_ok(hh, NULL, 0,
	    "[{\"line\": 2, \"record\": {\"site_id\": \"S-1\","
	    " \"_id\": \"aaa\"}},"
	    " {\"line\": 3, \"record\": {\"site_id\": \"S-2\"}}]");
}

/* instanceID and _uuid map to _id too; a lone _id column is kept. */
static void
test_id_columns(void **state)
{
	read_ok(put("a.csv", "instanceID,x\nuuid:abc,1\n,2\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"x\": \"1\", \"_id\": \"abc\"}},"
	    " {\"line\": 3, \"record\": {\"x\": \"2\"}}]");
	read_ok(put("b.csv", "_uuid,x\nabc,1\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"x\": \"1\", \"_id\": \"abc\"}}]");
	read_ok(put("c.csv", "_id,x\nuuid:abc,1\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"x\": \"1\", \"_id\": \"abc\"}}]");
}

/* Cut at the last '/', not at '-'; metadata and '_' columns dropped. */
static void
test_names(void **state)
{
	read_ok(put("a.csv",
	    "grp/sub/sex,group-x-age,start,end,today,deviceid,_x,grp/_y,"
	    "grp/KEY,meta/audit,meta-audit,Status\n"
	    "f,3,a,b,c,d,e,f,g,h,i,j\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"sex\": \"f\","
	    " \"group-x-age\": \"3\"}}]");
	/* a name cut to nothing counts as unnamed */
	read_ok(put("b.csv", "a,grp/\n1,\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"a\": \"1\"}}]");
}

/* A blank trailing line, padding rows and columns, a last row without
   a newline: all fine.  Lines are physical lines. */
static void
test_blank_and_padding(void **state)
{
	read_ok(put("a.csv", "a,b,,\n1,2,,\n\n,,,\n\n\"x\ny\",3,,\n,,,\n\n"),
	    NULL, 0,
	    "[{\"line\": 2, \"record\": {\"a\": \"1\", \"b\": \"2\"}},"
	    " {\"line\": 6, \"record\": {\"a\": \"x\\ny\", \"b\": \"3\"}}]");
	read_ok(put("b.csv", "a\r\n1\r\n\"2\n\n\"\r\n3"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"a\": \"1\"}},"
	    " {\"line\": 3, \"record\": {\"a\": \"2\\n\\n\"}},"
	    " {\"line\": 6, \"record\": {\"a\": \"3\"}}]");
	/* empty cells are kept as "" */
	read_ok(put("c.csv", "a,b,c\n,x,\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"a\": \"\", \"b\": \"x\","
	    " \"c\": \"\"}}]");
	/* spaces around unquoted values are trimmed, quoted ones kept */
	read_ok(put("e.csv", " a ,\t\"b\" \n 1 2 , \" 2 \"\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"a\": \"1 2\","
	    " \"b\": \" 2 \"}}]");
	/* a header and no rows: no records */
	read_ok(put("d.csv", "a,b\n"), NULL, 0, "[]");
}

/* Repeat rows of two groups; a repeat file with a header only. */
static void
test_two_groups(void **state)
{
	const char *hh = put("hh.csv", "_index,x\n1,a\n2,b\n");
	struct csvin_repeat reps[] = {
		{ "members", put("m.csv", "_parent_index,n\n2,p\n1,q\n2,r\n") },
		{ "needs", put("n.csv", "_parent_index,need\n") },
		{ "visits", put("v.csv", "_parent_index,v\n1,z\n") },
	};

	read_ok(hh, reps, 3,
	    "[{\"line\": 2, \"record\": {\"x\": \"a\","
	    "  \"members\": [{\"n\": \"q\"}], \"visits\": [{\"v\": \"z\"}]}},"
	    " {\"line\": 3, \"record\": {\"x\": \"b\","
	    "  \"members\": [{\"n\": \"p\"}, {\"n\": \"r\"}]}}]");
}

static void
test_ragged_row(void **state)
{
	char err[1024];

	read_fail(put("households.csv",
	    "a,b,c,d,e,f,g,h,i,j,k\n"
	    "1,2,3,4,5,6,7,8,9,10,11\n"
	    "1,2,3,4,5,6,7,8,9,10,11\n"
	    "Amina,2,3,4,5,6,7,8,9,10,11,12\n"
	    "\"Multi\nline\",2\n"), NULL, 0, err, sizeof(err));
	assert_errors(err,
	    "households.csv line 4: 12 fields, header has 11\n"
	    "households.csv line 5: 2 fields, header has 11\n");
	assert_null(strstr(err, "Amina"));
}

static void
test_duplicate_columns(void **state)
{
	char err[1024];

	read_fail(put("households.csv",
	    "g1/sex,age,g2/sex,instanceID,_uuid,age\n"), NULL, 0, err,
	    sizeof(err));
	assert_errors(err,
	    "households.csv line 1: columns 1 and 3 both give field 'sex'\n"
	    "households.csv line 1: columns 2 and 6 both give field 'age'\n");
}

static void
test_duplicate_keys(void **state)
{
	char err[1024];

	read_fail(put("households.csv",
	    "KEY,name\nuuid:a,Amina\nuuid:b,Bello\nuuid:a,Chidi\n"
	    "uuid:b,Dayo\n"), NULL, 0, err, sizeof(err));
	assert_errors(err,
	    "households.csv line 4: KEY 'uuid:a' is also on line 2\n"
	    "households.csv line 5: KEY 'uuid:b' is also on line 3\n");
	assert_null(strstr(err, "Chidi"));
}

static void
test_missing_key_and_parent(void **state)
{
	char err[1024];
	struct csvin_repeat reps[] = {
		{ "members", put("members.csv", "KEY,name\nuuid:a/m[1],x\n") },
	};

	/* no key column is fine without repeat files */
	read_ok(put("households.csv", "name\nAmina\n"), NULL, 0,
	    "[{\"line\": 2, \"record\": {\"name\": \"Amina\"}}]");
	read_fail(put("households.csv", "name\nAmina\n"), reps, 1, err,
	    sizeof(err));
	assert_errors(err,
	    "households.csv line 1: no key column (KEY, _index or _uuid) to "
	    "link repeat rows to\n"
	    "members.csv line 1: no parent column (PARENT_KEY or "
	    "_parent_index)\n");
}

static void
test_orphans(void **state)
{
	char err[1024];
	const char *hh = put("households.csv", "KEY,x\nuuid:a,1\nuuid:b,2\n");
	struct csvin_repeat reps[] = {
		{ "members", put("members.csv",
		    "name,PARENT_KEY,KEY\n"
		    "Amina,uuid:a,uuid:a/members[1]\n"
		    "Bello,uuid:zzz,uuid:zzz/members[1]\n"
		    "\"Chidi\nOkafor\",,k\n"
		    "Dayo,uuid:a/members[1],uuid:a/members[1]/kids[1]\n"
		    "Efe,x\x01y,\n") },
	};

	read_fail(hh, reps, 1, err, sizeof(err));
	assert_errors(err,
	    "members.csv line 3: PARENT_KEY 'uuid:zzz' matches no record in "
	    "households.csv\n"
	    "members.csv line 4: PARENT_KEY '' matches no record in "
	    "households.csv\n"
	    "members.csv line 6: PARENT_KEY 'uuid:a/members[1]' matches no "
	    "record in households.csv\n"
	    "members.csv line 7: PARENT_KEY 'x?y' matches no record in "
	    "households.csv\n");
	assert_null(strstr(err, "Bello"));
	assert_null(strstr(err, "Chidi"));

	/* a long key is cut short in the message */
	reps[0].path = put("members.csv", "name,PARENT_KEY\n"
	    "Efe,uuid:0123456789012345678901234567890123456789012345678901234"
	    "567890123456789\n");
	read_fail(hh, reps, 1, err, sizeof(err));
	assert_errors(err,
	    "members.csv line 2: PARENT_KEY 'uuid:0123456789012345678901234"
	    "5678901234567890123456789012345678...' matches no record in "
	    "households.csv\n");
}

/* Errors in every file are all reported; links are not checked against
   a main file that has errors of its own. */
static void
test_all_errors(void **state)
{
	char err[2048];
	const char *hh = put("households.csv",
	    "_index,x,x\n1,a,b\n2,c\n");
	struct csvin_repeat reps[] = {
		{ "members", put("members.csv",
		    "_parent_index,n\n9,p\n1,q,r\n") },
		{ "needs", put("needs.csv", "n\n\"open\n") },
		{ "visits", "/nonexistent/visits.csv" },
	};

	read_fail(hh, reps, 3, err, sizeof(err));
	assert_errors(err,
	    "households.csv line 1: columns 2 and 3 both give field 'x'\n"
	    "households.csv line 3: 2 fields, header has 3\n"
	    "members.csv line 3: 3 fields, header has 2\n"
	    "needs.csv line 1: no parent column (PARENT_KEY or "
	    "_parent_index)\n"
	    "needs.csv line 2: error parsing data while strict checking "
	    "enabled (a quote is not closed)\n"
	    "/nonexistent/visits.csv: No such file or directory\n");
}

static void
test_parse_errors(void **state)
{
	char err[1024];

	/* a stray quote inside an unquoted field, on a row's third line */
	read_fail(put("households.csv",
	    "a,b\n1,2\n\"x\n\ny\",ab\"c\n3,4\n"), NULL, 0, err, sizeof(err));
	assert_errors(err, "households.csv line 3: error parsing data while "
	    "strict checking enabled\n");
	/* text after a closing quote */
	read_fail(put("households.csv", "a,b\n1,\"2\"x\n"), NULL, 0, err,
	    sizeof(err));
	assert_errors(err, "households.csv line 2: error parsing data while "
	    "strict checking enabled\n");
	read_fail(put("households.csv", "a,b\n1,2\n3,\"4\n5,6\n"), NULL, 0,
	    err, sizeof(err));
	assert_errors(err, "households.csv line 3: error parsing data while "
	    "strict checking enabled (a quote is not closed)\n");
}

static void
test_encoding(void **state)
{
	char err[1024];

	read_fail(put("households.csv", "a,b\n1,2\nJos\xe9,3\n"), NULL, 0,
	    err, sizeof(err));
	assert_errors(err, "households.csv line 3: not UTF-8 text; save the "
	    "file as CSV UTF-8\n");
	read_fail(put_n("households.csv", "a\n\0\n", 4), NULL, 0, err,
	    sizeof(err));
	assert_errors(err, "households.csv line 2: not UTF-8 text; save the "
	    "file as CSV UTF-8\n");
	read_fail(put_n("households.csv", "\xff\xfe" "a\0\n\0", 6), NULL, 0,
	    err, sizeof(err));
	assert_errors(err, "households.csv: UTF-16 text; save it as CSV "
	    "UTF-8\n");
	/* overlong and surrogate forms */
	read_fail(put("households.csv", "a\n\xc0\xaf\n"), NULL, 0, err,
	    sizeof(err));
	read_fail(put("households.csv", "a\n\xed\xa0\x80\n"), NULL, 0, err,
	    sizeof(err));
	read_ok(put("households.csv", "nom\n\"Jos\xc3\xa9 \xf0\x9f\x98\x80\"\n"),
	    NULL, 0, "[{\"line\": 2, \"record\": {\"nom\": "
	    "\"Jos\\u00e9 \\ud83d\\ude00\"}}]");
}

static void
test_files(void **state)
{
	char err[1024];

	read_fail("/nonexistent/households.csv", NULL, 0, err, sizeof(err));
	assert_errors(err, "/nonexistent/households.csv: No such file or "
	    "directory\n");
	read_fail(dir, NULL, 0, err, sizeof(err));
	assert_non_null(strstr(err, ": not a regular file\n"));
	read_fail(put("households.csv", ""), NULL, 0, err, sizeof(err));
	assert_errors(err, "households.csv: no header row\n");
	read_fail(put("households.csv", "\xef\xbb\xbf\r\n\n"), NULL, 0, err,
	    sizeof(err));
	assert_errors(err, "households.csv: no header row\n");
}

static void
test_unnamed_column(void **state)
{
	char err[1024];

	read_fail(put("households.csv", "a,,b\n1,,2\n3,Amina,4\n"), NULL, 0,
	    err, sizeof(err));
	assert_errors(err, "households.csv line 3: a value in column 2, "
	    "which has no name\n");
}

static void
test_groups(void **state)
{
	char err[1024];
	const char *hh = put("households.csv", "_index,members\n1,3\n");
	struct csvin_repeat reps[] = {
		{ "members", put("members.csv", "_parent_index,n\n1,a\n") },
		{ "members", put("members.csv", "_parent_index,n\n1,a\n") },
		{ "", "x.csv" },
	};

	read_fail(hh, reps, 1, err, sizeof(err));
	assert_errors(err, "households.csv line 1: a column gives field "
	    "'members', the name of a repeat group\n");
	read_fail(hh, reps, 3, err, sizeof(err));
	assert_errors(err, "repeat group 'members' given twice\n"
	    "repeat 3: no group name or file\n");
}

/* Writes a file of rows lines, each cols copies of cell joined by ','. */
static const char *
put_grid(const char *name, size_t rows, size_t cols, const char *cell)
{
	size_t cl = strlen(cell), len = rows * cols * (cl + 1);
	char *buf = malloc(len + 1), *p = buf;
	const char *path;

	assert_non_null(buf);
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < cols; c++) {
			memcpy(p, cell, cl);
			p += cl;
			*p++ = c + 1 == cols ? '\n' : ',';
		}
	path = put_n(name, buf, (size_t)(p - buf));
	free(buf);
	return path;
}

static void
test_limit_cols(void **state)
{
	char err[1024], want[256];

	read_fail(put_grid("households.csv", 2, CSVIN_MAX_COLS + 1, "c"),
	    NULL, 0, err, sizeof(err));
	snprintf(want, sizeof(want), "households.csv line 1: more than %d "
	    "columns\n", CSVIN_MAX_COLS);
	assert_errors(err, want);
}

/* All the cells of an import together are bounded: 4000 rows of 500
   cells fill the limit exactly, the 4001st row is refused. */
static void
test_limit_cells(void **state)
{
	enum { COLS = 500, ROWS = CSVIN_MAX_CELLS / COLS + 1 };
	char *buf = malloc((size_t)ROWS * COLS * 2 + COLS * 8), *p = buf;
	char err[1024], want[256];

	assert_non_null(buf);
	for (int c = 0; c < COLS; c++)
		p += sprintf(p, "c%d%c", c, c + 1 == COLS ? '\n' : ',');
	for (int r = 0; r < ROWS; r++)
		for (int c = 0; c < COLS; c++) {
			*p++ = '1';
			*p++ = c + 1 == COLS ? '\n' : ',';
		}
	read_fail(put_n("households.csv", buf, (size_t)(p - buf)), NULL, 0,
	    err, sizeof(err));
	snprintf(want, sizeof(want), "households.csv line %d: more than %d "
	    "cells in the import; split it into smaller files\n", ROWS + 1,
	    CSVIN_MAX_CELLS);
	assert_errors(err, want);
	free(buf);
}

static void
test_limit_cols_exact(void **state)
{
	char *buf = malloc(CSVIN_MAX_COLS * 8 + 64), *p = buf;
	char err[256];
	json_t *out = NULL;

	assert_non_null(buf);
	for (int c = 0; c < CSVIN_MAX_COLS; c++)
		p += sprintf(p, "c%d%c", c, c + 1 == CSVIN_MAX_COLS ? '\n' :
		    ',');
	for (int c = 0; c < CSVIN_MAX_COLS; c++)
		p += sprintf(p, "%d%c", c % 10, c + 1 == CSVIN_MAX_COLS ?
		    '\n' : ',');
	assert_int_equal(csvin_read(put_n("households.csv", buf,
	    (size_t)(p - buf)), NULL, 0, &out, err, sizeof(err)), 0);
	assert_int_equal(json_object_size(json_object_get(json_array_get(out,
	    0), "record")), CSVIN_MAX_COLS);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(out, 0), "record"), "c511")), "1");
	json_decref(out);
	free(buf);
}

static void
test_limit_field(void **state)
{
	size_t n = CSVIN_MAX_FIELD;
	char *buf = malloc(2 * n + 64), err[256], want[256];
	json_t *out = NULL;

	assert_non_null(buf);
	/* exactly the limit, unquoted and quoted: fine */
	memcpy(buf, "a,b\nx,", 6);
	memset(buf + 6, 'y', n);
	memcpy(buf + 6 + n, "\nz,\"", 4);
	memset(buf + 10 + n, 'q', n);
	memcpy(buf + 10 + 2 * n, "\"\n", 2);
	assert_int_equal(csvin_read(put_n("households.csv", buf, 12 + 2 * n),
	    NULL, 0, &out, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(out), 2);
	assert_int_equal(json_string_length(json_object_get(json_object_get(
	    json_array_get(out, 1), "record"), "b")), n);
	json_decref(out);

	snprintf(want, sizeof(want), "households.csv line 3: column 2 is "
	    "longer than %d bytes\n", CSVIN_MAX_FIELD);
	/* one more, unquoted: found by length */
	memcpy(buf, "a,b\nx,y\nz,", 10);
	memset(buf + 10, 'y', n + 1);
	buf[11 + n] = '\n';
	read_fail(put_n("households.csv", buf, 12 + n), NULL, 0, err,
	    sizeof(err));
	assert_errors(err, want);
	/* much more, quoted over lines: libcsv's buffer stops growing */
	memcpy(buf, "a,b\nx,y\nz,\"", 11);
	memset(buf + 11, '\n', 2 * n);
	read_fail(put_n("households.csv", buf, 11 + 2 * n), NULL, 0, err,
	    sizeof(err));
	assert_errors(err, want);
	free(buf);
}

static void
test_limit_rows(void **state)
{
	char err[256], want[256];
	json_t *out = NULL;

	/* the header and CSVIN_MAX_ROWS rows are fine */
	assert_int_equal(csvin_read(put_grid("households.csv",
	    CSVIN_MAX_ROWS + 1, 1, "1"), NULL, 0, &out, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(out), CSVIN_MAX_ROWS);
	json_decref(out);
	read_fail(put_grid("households.csv", CSVIN_MAX_ROWS + 2, 1, "1"),
	    NULL, 0, err, sizeof(err));
	snprintf(want, sizeof(want), "households.csv line %d: more than %d "
	    "rows\n", CSVIN_MAX_ROWS + 2, CSVIN_MAX_ROWS);
	assert_errors(err, want);
}

static void
test_limit_bytes(void **state)
{
	char err[256];
	const char *path = put("households.csv", "a\n");

	assert_int_equal(truncate(path, (off_t)CSVIN_MAX_BYTES + 1), 0);
	read_fail(path, NULL, 0, err, sizeof(err));
	assert_non_null(strstr(err, "households.csv: larger than 64 MiB\n"));
	assert_int_equal(truncate(path, (off_t)CSVIN_MAX_BYTES), 0);
	read_fail(path, NULL, 0, err, sizeof(err));
	/* read, but NUL bytes are not text */
	assert_non_null(strstr(err, "households.csv line 2: not UTF-8"));
}

/* Many errors: the first 50, then a count; a short buffer truncates. */
static void
test_error_cap(void **state)
{
	char buf[1024], err[8192], small[40], *p = buf;
	const char *path;

	p += sprintf(p, "a\n");
	for (int i = 0; i < 60; i++)
		p += sprintf(p, "1,2\n");
	path = put_n("households.csv", buf, (size_t)(p - buf));
	read_fail(path, NULL, 0, err, sizeof(err));
	assert_non_null(strstr(err, "households.csv line 51: 2 fields, "
	    "header has 1\n... and 10 more errors\n"));
	assert_null(strstr(err, "line 52"));
	/* each line, even cut short, ends in '\n' */
	read_fail(path, NULL, 0, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(small[sizeof(small) - 2], '\n');
	assert_int_equal(strncmp(small, "households.csv line 2: 2 fields",
	    31), 0);
	read_fail(path, NULL, 0, NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kobo),
		cmocka_unit_test(test_odk_central),
		cmocka_unit_test(test_odk_key_is_id),
		cmocka_unit_test(test_id_columns),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_blank_and_padding),
		cmocka_unit_test(test_two_groups),
		cmocka_unit_test(test_ragged_row),
		cmocka_unit_test(test_duplicate_columns),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_missing_key_and_parent),
		cmocka_unit_test(test_orphans),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_unnamed_column),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_limit_cols),
		cmocka_unit_test(test_limit_cells),
		cmocka_unit_test(test_limit_cols_exact),
		cmocka_unit_test(test_limit_field),
		cmocka_unit_test(test_limit_rows),
		cmocka_unit_test(test_limit_bytes),
		cmocka_unit_test(test_error_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* db.c: see db.h. */
#include "common/db.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

int
db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("sqlite: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_schema_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
db_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const char *res = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		res = (const char *)sqlite3_column_text(s, 0);
	if (res != NULL && strcmp(res, "ok") == 0) {
		sqlite3_finalize(s);
		return 0;
	}
	snprintf(err, errlen, "database %s is damaged (%s); refusing to use "
	    "it. Move it aside and restore the last copy", path,
	    res ? res : sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return -1;
}

static int
db_migrate(sqlite3 *db, const char *path, const char *const *migrations,
    int n, int target, char *err, size_t errlen)
{
	int version = db_schema_version(db);
	char sql[64];

	if (version < 0) {
		snprintf(err, errlen, "%s: cannot read schema version: %s",
		    path, sqlite3_errmsg(db));
		return -1;
	}
	if (version > n) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this program knows (%d); run a newer version", path,
		    version, n);
		return -1;
	}
	for (int v = version; v < target; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, "BEGIN IMMEDIATE") != 0)
			goto fail;
		if (db_exec(db, migrations[v]) != 0 || db_exec(db, sql) != 0 ||
		    db_exec(db, "COMMIT") != 0) {
			db_exec(db, "ROLLBACK");
			goto fail;
		}
		log_debug("%s: migrated schema to version %d", path, v + 1);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: schema migration failed: %s", path,
	    sqlite3_errmsg(db));
	return -1;
}

/*
 * The database and its -wal and -shm files readable by their owner only.
 * The folders are 0700, but a store holds tokens' hashes, PIN digests and
 * sealed records, and no other user of the machine should read them
 * whatever a folder's mode becomes.  A new database is made 0600 before
 * SQLite sees it (SQLite would make it 0644 less the umask, and gives its
 * -wal and -shm files the database's own mode); one made before this
 * rule is brought to it.
 */
static void
db_private(const char *path, int create)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat sb;
	int fd;

	if (create && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) >= 0)
		close(fd);
	for (size_t i = 0; i < 3; i++)
		if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) <
		    (int)sizeof(p) && stat(p, &sb) == 0 &&
		    (sb.st_mode & 077) != 0)
			chmod(p, sb.st_mode & 0700);
}

int
db_open(const char *path, int mode, const char *const *migrations, int n,
    int target, sqlite3 **out, char *err, size_t errlen)
{
	int ro = mode == DB_READONLY || mode == DB_QUERY;
	int flags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	sqlite3 *db = NULL;

	if (mode == DB_CREATE)
		flags |= SQLITE_OPEN_CREATE;
	if (!ro && mode != DB_AGAIN)
		db_private(path, mode == DB_CREATE);
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	/*
	 * Small cache and no mmap keep memory flat however big the file --
	 * set before the damage check, which reads every page: with
	 * SQLite's default cache (2 MiB) that check was fieldd's peak.
	 */
	/* (on a damaged file this fails too: the check says why, below) */
	(void)sqlite3_exec(db, "PRAGMA cache_size = -1024; PRAGMA mmap_size"
	    " = 0;", NULL, NULL, NULL);
	if (mode != DB_QUERY && mode != DB_AGAIN) {
		if (db_check(db, path, err, errlen) != 0)
			goto fail;
		/* the check's pages are of no use to what follows */
		sqlite3_db_release_memory(db);
	}
	if (ro) {
		if (db_schema_version(db) != target) {
			snprintf(err, errlen, "%s: not a database of schema "
			    "version %d (it has %d)", path, target,
			    db_schema_version(db));
			goto fail;
		}
		*out = db;
		return 0;
	}
	/* WAL with FULL sync: a commit is on the card before anyone is told. */
	if (db_exec(db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA cache_size = -1024;"
	    "PRAGMA mmap_size = 0;") != 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	if (mode != DB_AGAIN && db_migrate(db, path, migrations, n, target,
	    err, errlen) != 0)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return -1;
}

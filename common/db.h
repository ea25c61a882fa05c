/*
 * db.h: opening a SQLite database the one way both daemons need: refuse a
 * damaged file (PRAGMA quick_check), WAL with synchronous=FULL, no
 * temporary files, freed pages zeroed, a small cache, and numbered
 * migrations applied in order, each in its own transaction with
 * PRAGMA user_version recording how far the schema is.
 */
#ifndef DB_H
#define DB_H

#include <sqlite3.h>
#include <stddef.h>

/* Opening modes. */
#define DB_CREATE 1
#define DB_OPEN 0
#define DB_READONLY (-1)
/* Read-only without the damage check, for a query that runs often on a
   file its writer checks (the check reads the whole file). */
#define DB_QUERY (-2)
/* Read-write, a second connection to a file this process has just opened
   (so checked and migrated): no check, no migration (fieldd's writer). */
#define DB_AGAIN 2

/*
 * Opens path.  migrations[0..n) take the schema from version i to i+1;
 * they are applied up to `target` (n for the newest).  A read-only open
 * applies none and requires the schema at `target`.  0 and *out, or -1
 * with a message in err naming the file.
 */
int db_open(const char *path, int mode, const char *const *migrations,
    int n, int target, sqlite3 **out, char *err, size_t errlen);

/* PRAGMA user_version, or -1. */
int db_schema_version(sqlite3 *db);

/* Runs sql (several statements); logs and returns -1 on error. */
int db_exec(sqlite3 *db, const char *sql);

#endif

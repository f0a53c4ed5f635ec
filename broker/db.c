#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sodium.h>

#include "db.h"
#include "linkmsg.h"
#include "log.h"

/* sql/schema.sql, embedded at build time (build/broker/schema.c). */
extern const char db_schema_sql[];

enum {
	Q_DEVICE_BY_KEY,
	Q_DEVICE_BY_TOKEN,
	Q_IS_REVOKED,
	Q_INSERT_DEVICE,
	Q_ROTATE_DEVICE,
	Q_INSERT_REVOKED,
	Q_DELETE_DEVICE_BY_TOKEN,
	Q_DATA_VERSION,
	Q_COUNT_DEVICES,
	Q_COUNT
};

static const char *const db_queries[Q_COUNT] = {
	"SELECT token_hash, rotations, rotation_day FROM device"
	" WHERE device_hash = ?1",
	"SELECT device_hash FROM device WHERE token_hash = ?1",
	"SELECT 1 FROM revoked WHERE token_hash = ?1",
	"INSERT INTO device (device_hash, token_hash) VALUES (?1, ?2)",
	"UPDATE device SET token_hash = ?2, rotations = ?3, rotation_day = ?4"
	" WHERE device_hash = ?1",
	"INSERT OR IGNORE INTO revoked (token_hash) VALUES (?1)",
	"DELETE FROM device WHERE token_hash = ?1",
	"PRAGMA data_version",
	"SELECT count(*) FROM device",
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *q[Q_COUNT];
	int64_t data_version;
};

static char db_why[512];

static int
db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(db_why, sizeof(db_why), "%s", msg ? msg : "failed");
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

static int64_t
db_user_version(struct db *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL))
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/*
 * When the database cannot be opened, the usual cause is its directory:
 * SQLite (in WAL mode) must create files beside it.  Return a hint saying
 * so, or "" when the directory looks right.
 */
static const char *
db_dir_hint(const char *path)
{
	static char hint[PATH_MAX + 160];
	char copy[PATH_MAX];
	const char *dir;

	if (strlen(path) >= sizeof(copy))
		return ("");
	strcpy(copy, path);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == 0)
		return ("");
	snprintf(hint, sizeof(hint), " (the directory %s must exist and be "
	    "writable by the broker's user, uid %u: see docs/deploy.md)", dir,
	    (unsigned)geteuid());
	return (hint);
}

struct db *
db_open(const char *path, const char **why)
{
	struct db *db;
	int64_t version;
	int i;

	*why = db_why;
	if ((db = sqlite3_malloc(sizeof(*db))) == NULL) {
		snprintf(db_why, sizeof(db_why), "out of memory");
		return (NULL);
	}
	memset(db, 0, sizeof(*db));
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		snprintf(db_why, sizeof(db_why), "cannot open: %s%s",
		    db->h ? sqlite3_errmsg(db->h) : "out of memory",
		    db_dir_hint(path));
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 2000);
	if (db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	    " PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON"))
		goto fail_msg;
	version = db_user_version(db);
	if (version < 0) {
		snprintf(db_why, sizeof(db_why), "not an SQLite database "
		    "(or cannot be read)");
		goto fail;
	}
	if (version == 0) {
		if (db_exec(db, "BEGIN IMMEDIATE") || db_exec(db, db_schema_sql) ||
		    db_exec(db, "COMMIT"))
			goto fail_msg;
	} else if (version > DB_SCHEMA_VERSION) {
		snprintf(db_why, sizeof(db_why), "schema version %lld is "
		    "newer than this broker's %d: upgrade the broker",
		    (long long)version, DB_SCHEMA_VERSION);
		goto fail;
	}
	for (i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(db->h, db_queries[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->q[i], NULL) != SQLITE_OK) {
			snprintf(db_why, sizeof(db_why), "%s",
			    sqlite3_errmsg(db->h));
			goto fail;
		}
	}
	(void)db_changed(db);
	return (db);

fail_msg:
fail:
	db_close(db);
	return (NULL);
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(db->q[i]);
	sqlite3_close(db->h);
	sqlite3_free(db);
}

static sqlite3_stmt *
db_stmt(struct db *db, int which)
{
	sqlite3_stmt *st = db->q[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (st);
}

static int
db_bind_hash(sqlite3_stmt *st, int col, const uint8_t h[TOKEN_HASH_LEN])
{
	return (sqlite3_bind_blob(st, col, h, TOKEN_HASH_LEN, SQLITE_STATIC));
}

/* Run a statement that returns no rows.  Return 0 or -1. */
static int
db_step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error_ev("db.error", "database: %s", sqlite3_errmsg(db->h));
		return (-1);
	}
	return (0);
}

/* 1 if the one-column query on one hash returns a row, 0 if not, -1. */
static int
db_exists(struct db *db, int which, const uint8_t h[TOKEN_HASH_LEN])
{
	sqlite3_stmt *st = db_stmt(db, which);
	int rc;

	db_bind_hash(st, 1, h);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return (1);
	if (rc == SQLITE_DONE)
		return (0);
	log_error_ev("db.error", "database: %s", sqlite3_errmsg(db->h));
	return (-1);
}

int
db_register(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN],
    const uint8_t device_hash[TOKEN_HASH_LEN], int64_t today, int *rotated,
    db_admit_fn *admit, void *ctx)
{
	uint8_t old_token[TOKEN_HASH_LEN];
	sqlite3_stmt *st;
	int64_t rotations = 0, day = -1;
	int known = 0, rc, result;

	*rotated = 0;
	/* Reads first, outside a transaction: a known device reconnecting
	 * with its token writes nothing, so a read-only or full disk does
	 * not stop devices that are already registered. */
	rc = db_exists(db, Q_IS_REVOKED, token_hash);
	if (rc != 0)
		return (rc > 0 ? LM_REFUSED_REVOKED : LM_REFUSED_ERROR);
	st = db_stmt(db, Q_DEVICE_BY_KEY);
	db_bind_hash(st, 1, device_hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		known = 1;
		if (sqlite3_column_bytes(st, 0) != TOKEN_HASH_LEN) {
			sqlite3_reset(st);
			return (LM_REFUSED_ERROR);
		}
		memcpy(old_token, sqlite3_column_blob(st, 0), TOKEN_HASH_LEN);
		rotations = sqlite3_column_int64(st, 1);
		day = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, 2);
	} else if (rc != SQLITE_DONE) {
		sqlite3_reset(st);
		log_error_ev("db.error", "database: %s", sqlite3_errmsg(db->h));
		return (LM_REFUSED_ERROR);
	}
	sqlite3_reset(st);
	if (known && crypto_verify_32(old_token, token_hash) == 0)
		return (LM_OK);
	rc = db_exists(db, Q_DEVICE_BY_TOKEN, token_hash);
	if (rc != 0)
		return (rc > 0 ? LM_REFUSED_BOUND : LM_REFUSED_ERROR);
	if (known) {
		if (day != today)
			rotations = 0;
		if (rotations >= DB_ROTATIONS_PER_DAY)
			return (LM_REFUSED_LIMIT);
	} else if (admit != NULL && (rc = admit(ctx)) != LM_OK)
		return (rc);

	if (db_exec(db, "BEGIN IMMEDIATE")) {
		log_error_ev("db.write_failed", "database: cannot write (%s); refusing new "
		    "registrations and rotations", db_why);
		return (LM_REFUSED_ERROR);
	}
	result = LM_REFUSED_ERROR;
	if (known) {
		st = db_stmt(db, Q_INSERT_REVOKED);
		db_bind_hash(st, 1, old_token);
		if (db_step_done(db, st))
			goto rollback;
		st = db_stmt(db, Q_ROTATE_DEVICE);
		db_bind_hash(st, 1, device_hash);
		db_bind_hash(st, 2, token_hash);
		sqlite3_bind_int64(st, 3, rotations + 1);
		sqlite3_bind_int64(st, 4, today);
		if (db_step_done(db, st))
			goto rollback;
	} else {
		st = db_stmt(db, Q_INSERT_DEVICE);
		db_bind_hash(st, 1, device_hash);
		db_bind_hash(st, 2, token_hash);
		if (db_step_done(db, st))
			goto rollback;
	}
	if (db_exec(db, "COMMIT")) {
		log_error_ev("db.commit_failed", "database: commit failed (%s); refusing new "
		    "registrations and rotations", db_why);
		goto rollback;
	}
	*rotated = known;
	return (LM_OK);

rollback:
	(void)db_exec(db, "ROLLBACK");
	return (result);
}

int
db_revoke(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN])
{
	sqlite3_stmt *st;
	int bound;

	if (db_exec(db, "BEGIN IMMEDIATE")) {
		log_error_ev("db.error", "database: %s", db_why);
		return (-1);
	}
	bound = db_exists(db, Q_DEVICE_BY_TOKEN, token_hash);
	if (bound < 0)
		goto rollback;
	st = db_stmt(db, Q_INSERT_REVOKED);
	db_bind_hash(st, 1, token_hash);
	if (db_step_done(db, st))
		goto rollback;
	st = db_stmt(db, Q_DELETE_DEVICE_BY_TOKEN);
	db_bind_hash(st, 1, token_hash);
	if (db_step_done(db, st))
		goto rollback;
	if (db_exec(db, "COMMIT")) {
		log_error_ev("db.error", "database: %s", db_why);
		goto rollback;
	}
	return (bound);

rollback:
	(void)db_exec(db, "ROLLBACK");
	return (-1);
}

int
db_is_revoked(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN])
{
	int rc;

	rc = db_exists(db, Q_IS_REVOKED, token_hash);
	if (rc != 0)
		return (rc);
	rc = db_exists(db, Q_DEVICE_BY_TOKEN, token_hash);
	return (rc < 0 ? -1 : !rc);
}

int
db_changed(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, Q_DATA_VERSION);
	int64_t v = db->data_version;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (v == db->data_version)
		return (0);
	db->data_version = v;
	return (1);
}

long
db_count_devices(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, Q_COUNT_DEVICES);
	long n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	else
		log_error_ev("db.error", "database: %s", sqlite3_errmsg(db->h));
	sqlite3_reset(st);
	return (n);
}

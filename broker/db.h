#ifndef BROKER_DB_H
#define BROKER_DB_H

/*
 * The broker's SQLite state: token and device-key hashes and the binding
 * rules between them.  Prepared statements, WAL, one connection owned by the
 * event loop.
 */

#include <stdint.h>

#include "token.h"

struct db;

/**
 * db_open(path, why):
 * Open (creating from sql/schema.sql if missing) the database at ${path}.
 * Refuse a schema newer than ours.  Return the handle, or NULL with ${why}
 * set to a message (in a static buffer).
 */
struct db *db_open(const char *path, const char **why);

/**
 * db_close(db):
 * Finalize every statement and close.  db_close(NULL) does nothing.
 */
void db_close(struct db *db);

/**
 * db_register(db, token_hash, device_hash, today, rotated):
 * Apply the binding rules to a registration (or rotation) of the token hash
 * ${token_hash} by the device key hash ${device_hash}, on day ${today}:
 *   - a revoked token is refused (LM_REFUSED_REVOKED);
 *   - a token bound to another device key is refused (LM_REFUSED_BOUND);
 *   - a known device with the same token is accepted as is;
 *   - a known device with a new token is a rotation: its old token hash is
 *     revoked for ever (at most DB_ROTATIONS_PER_DAY a day);
 *   - an unknown device with an unknown token is bound to it, if
 *     ${admit}(${ctx}) (when not NULL) returns LM_OK; else that result.
 * Set ${rotated} to 1 when an old token was revoked.  Return an
 * enum linkmsg_result (LM_REFUSED_ERROR when the database failed).
 */
typedef int db_admit_fn(void *ctx);
int db_register(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN],
    const uint8_t device_hash[TOKEN_HASH_LEN], int64_t today, int *rotated,
    db_admit_fn *admit, void *ctx);

/**
 * db_revoke(db, token_hash):
 * Revoke ${token_hash} for ever and unbind its device, so that the device
 * may register a new token.  Return 1 if it was bound or known, 0 if it was
 * unknown (it is revoked all the same), -1 on error.
 */
int db_revoke(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN]);

/**
 * db_is_revoked(db, token_hash):
 * Return 1 if ${token_hash} is revoked or no longer bound to a device, 0 if
 * it is bound, -1 on error.
 */
int db_is_revoked(struct db *db, const uint8_t token_hash[TOKEN_HASH_LEN]);

/**
 * db_changed(db):
 * Return 1 if another connection (`awtrix-broker revoke`) has committed
 * since the last call, else 0.
 */
int db_changed(struct db *db);

/**
 * db_count_devices(db):
 * Return the number of bound devices, or -1 on error.
 */
long db_count_devices(struct db *db);

#define DB_SCHEMA_VERSION 1
#define DB_ROTATIONS_PER_DAY 24

#endif

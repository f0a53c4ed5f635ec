-- AWTRIX Cloud broker state, schema version 1.
--
-- Only what docs/security.md allows: keyed BLAKE2b hashes of tokens and of
-- device public keys (the key is in the broker key file, not here), a
-- rotation counter and the day of the last rotation.  No tokens, no
-- addresses, no times of connections, no requests.  Rows are added only by
-- a first registration, a rotation or a revocation, never by traffic.

CREATE TABLE device (
	device_hash  BLOB PRIMARY KEY CHECK (length(device_hash) = 32),
	token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	rotations    INTEGER NOT NULL DEFAULT 0,  -- rotations on rotation_day
	rotation_day INTEGER                      -- days since 1970-01-01 (UTC)
) WITHOUT ROWID;

-- A token hash here can never be used or registered again.
CREATE TABLE revoked (
	token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32)
) WITHOUT ROWID;

PRAGMA user_version = 1;

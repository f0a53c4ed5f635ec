#ifndef AWTRIX_TOKEN_H
#define AWTRIX_TOKEN_H

/*
 * Tokens: exactly 32 characters of [A-Za-z0-9], about 190 bits.  The broker
 * stores only keyed BLAKE2b hashes of them (and of device public keys); the
 * hash key lives in the broker key file, never in the database.
 */

#include <stddef.h>
#include <stdint.h>

#define TOKEN_LEN 32
#define TOKEN_HASH_LEN 32
#define TOKEN_HASH_KEY_LEN 32

/**
 * token_valid(s, len):
 * Return 1 if ${s} (of ${len} bytes) is a well-formed token, else 0.
 */
int token_valid(const char *s, size_t len);

/**
 * token_generate(out):
 * Write a fresh random token and a NUL to ${out}.
 */
void token_generate(char out[TOKEN_LEN + 1]);

/**
 * token_hash(out, key, token):
 * Keyed BLAKE2b-256 of a token, with its own personalisation.
 */
void token_hash(uint8_t out[TOKEN_HASH_LEN],
    const uint8_t key[TOKEN_HASH_KEY_LEN], const char token[TOKEN_LEN]);

/**
 * token_device_hash(out, key, pk):
 * Keyed BLAKE2b-256 of a device's static public key ${pk} (32 bytes), with a
 * personalisation distinct from token_hash.
 */
void token_device_hash(uint8_t out[TOKEN_HASH_LEN],
    const uint8_t key[TOKEN_HASH_KEY_LEN], const uint8_t pk[32]);

#endif

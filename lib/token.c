#include <sodium.h>

#include "token.h"

static const char token_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* 16-byte BLAKE2b personalisations keep the two hash domains apart. */
static const uint8_t token_personal[16] = "awtrix-token-v1";
static const uint8_t device_personal[16] = "awtrix-device-v1";

int
token_valid(const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (s == NULL || len != TOKEN_LEN)
		return (0);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9')))
			return (0);
	}
	return (1);
}

void
token_generate(char out[TOKEN_LEN + 1])
{
	size_t i;

	/* randombytes_uniform has no modulo bias. */
	for (i = 0; i < TOKEN_LEN; i++)
		out[i] = token_alphabet[randombytes_uniform(
		    sizeof(token_alphabet) - 1)];
	out[TOKEN_LEN] = '\0';
}

void
token_hash(uint8_t out[TOKEN_HASH_LEN], const uint8_t key[TOKEN_HASH_KEY_LEN],
    const char token[TOKEN_LEN])
{
	crypto_generichash_blake2b_salt_personal(out, TOKEN_HASH_LEN,
	    (const unsigned char *)token, TOKEN_LEN, key, TOKEN_HASH_KEY_LEN,
	    NULL, token_personal);
}

void
token_device_hash(uint8_t out[TOKEN_HASH_LEN],
    const uint8_t key[TOKEN_HASH_KEY_LEN], const uint8_t pk[32])
{
	crypto_generichash_blake2b_salt_personal(out, TOKEN_HASH_LEN, pk, 32,
	    key, TOKEN_HASH_KEY_LEN, NULL, device_personal);
}

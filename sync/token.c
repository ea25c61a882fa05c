/* token.c: see token.h. */
#include "sync/token.h"

#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

int
token_parse(const char *token, unsigned char secret_hash[32],
    unsigned char pin[32])
{
	const char *s, *dot;
	size_t slen;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return -1;
	s = token + strlen(TOKEN_PREFIX);
	if ((dot = strchr(s, '.')) == NULL)
		return -1;
	slen = (size_t)(dot - s);
	if (slen != (TOKEN_SECRET_LEN * 4 + 2) / 3 || strlen(dot + 1) != 64 ||
	    strspn(dot + 1, "0123456789abcdef") != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned int b;
		if (sscanf(dot + 1 + 2 * i, "%2x", &b) != 1)
			return -1;
		pin[i] = (unsigned char)b;
	}
	mbedtls_sha256_ret((const unsigned char *)s, slen, secret_hash, 0);
	return 0;
}

/* users.c: see users.h. */
#include "daemon/users.h"

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

#include "common/rng.h"
#include "common/util.h"

int
users_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > USERS_NAME_MAX || name[0] == ' ' ||
	    name[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

int
users_add(struct store *st, const char *name, char *token, char *err,
    size_t errlen)
{
	unsigned char raw[32], hash[32];
	int rc;

	if (!users_name_ok(name)) {
		snprintf(err, errlen, "user name must be 1 to %d printable "
		    "characters", USERS_NAME_MAX);
		return -1;
	}
	if (rng_bytes(raw, sizeof(raw)) != 0) {
		snprintf(err, errlen, "no entropy for a token");
		return -1;
	}
	util_b64url(raw, sizeof(raw), token);
	mbedtls_platform_zeroize(raw, sizeof(raw));
	mbedtls_sha256_ret((const unsigned char *)token, USERS_TOKEN_LEN, hash,
	    0);
	rc = store_user_add(st, name, hash);
	if (rc != 0) {
		mbedtls_platform_zeroize(token, USERS_TOKEN_LEN + 1);
		snprintf(err, errlen, "cannot add the user (is the name "
		    "taken?): %s", store_errmsg(st));
	}
	return rc;
}

int
users_check(struct store *st, const char *token)
{
	unsigned char hash[32];

	if (token == NULL || strlen(token) != USERS_TOKEN_LEN)
		return 0;
	mbedtls_sha256_ret((const unsigned char *)token, USERS_TOKEN_LEN, hash,
	    0);
	return store_user_check(st, hash);
}

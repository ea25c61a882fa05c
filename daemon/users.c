/* users.c: see users.h. */
#include "daemon/users.h"

#include <mbedtls/md5.h>
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
	return users_who(st, token, NULL, 0);
}

int
users_who(struct store *st, const char *token, char *name, size_t namelen)
{
	unsigned char hash[32];

	if (token == NULL || strlen(token) != USERS_TOKEN_LEN)
		return 0;
	mbedtls_sha256_ret((const unsigned char *)token, USERS_TOKEN_LEN, hash,
	    0);
	return store_user_check(st, hash, util_now_ms(), name, namelen);
}

static int
users_pin_ok(const char *pin)
{
	size_t n = strlen(pin);

	if (n < USERS_PIN_MIN || n > USERS_PIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return 0;
	return 1;
}

/* HA1 = MD5(name ":" realm ":" pin) in hex. */
static void
users_ha1(const char *name, const char *pin, char out[33])
{
	mbedtls_md5_context c;
	unsigned char h[16];

	mbedtls_md5_init(&c);
	mbedtls_md5_starts_ret(&c);
	mbedtls_md5_update_ret(&c, (const unsigned char *)name, strlen(name));
	mbedtls_md5_update_ret(&c, (const unsigned char *)":" USERS_REALM ":",
	    strlen(USERS_REALM) + 2);
	mbedtls_md5_update_ret(&c, (const unsigned char *)pin, strlen(pin));
	mbedtls_md5_finish_ret(&c, h);
	mbedtls_md5_free(&c);
	util_hex(h, sizeof(h), out);
	mbedtls_platform_zeroize(h, sizeof(h));
}

int
users_set_pin(struct store *st, const char *name, const char *pin,
    char *err, size_t errlen)
{
	char ha1[33];
	int rc;

	if (!users_pin_ok(pin)) {
		snprintf(err, errlen, "a PIN is %d to %d digits", USERS_PIN_MIN,
		    USERS_PIN_MAX);
		return -1;
	}
	users_ha1(name, pin, ha1);
	rc = store_user_ha1(st, name, ha1, NULL);
	mbedtls_platform_zeroize(ha1, sizeof(ha1));
	if (rc == 1)
		return 0;
	snprintf(err, errlen, "%s", rc == 0 ? "no such user" :
	    store_errmsg(st));
	return -1;
}

int
users_digest_ha1(struct store *st, const char *name, char ha1_hex[33])
{
	return store_user_ha1(st, name, NULL, ha1_hex);
}

/*
 * Failures of a user with a PIN: in the store (a restart keeps them).
 * Of a name that is no such user, and of a client: in memory, in tables
 * that never forget a live entry (common/lockout.h).  Made-up names are
 * counted too, so that a lock does not tell which names are users.
 */
static const struct lockout_rule users_name_rule = {
	USERS_LOCK_NAME, USERS_LOCK_WINDOW_MS, USERS_LOCK_MS
};
static const struct lockout_rule users_peer_rule = {
	USERS_LOCK_PEER, USERS_LOCK_WINDOW_MS, USERS_LOCK_MS
};
static struct lockout_table users_unknown, users_peers;

static int
users_tables(void)
{
	if (users_peers.slot == NULL &&
	    (lockout_table_init(&users_unknown, USERS_LOCK_SLOTS,
	    &users_name_rule) != 0 || lockout_table_init(&users_peers,
	    USERS_LOCK_SLOTS, &users_peer_rule) != 0)) {
		lockout_table_free(&users_unknown);
		return -1;
	}
	return 0;
}

/* 0 free to try, 1 locked or failing closed. */
static int
users_name_step(struct store *st, const char *name, int failed, int64_t now)
{
	struct lockout_entry e;
	char ha1[33];
	int rc;

	rc = users_digest_ha1(st, name, ha1);
	mbedtls_platform_zeroize(ha1, sizeof(ha1));
	if (rc < 0)
		return 1;
	if (rc == 0)
		return lockout_table_step(&users_unknown, name, failed, now) != 0;
	if (store_login_fails_get(st, name, &e) < 0)
		return 1;
	if (!failed)
		return lockout_locked(&e, &users_name_rule, now);
	rc = lockout_fail(&e, &users_name_rule, now);
	if (store_login_fails_put(st, name, &e, &users_name_rule, now) != 0)
		return 1;
	return rc;
}

int
users_lockout(struct store *st, const char *name, const char *peer,
    int failed, int64_t now_ms)
{
	char key[PEER_KEY_MAX];
	int a = 0, b = 0;

	if (users_tables() != 0)
		return 1;
	if (name != NULL)
		a = users_name_step(st, name, failed, now_ms);
	if (peer != NULL) {
		peer_key(peer, key);
		b = lockout_table_step(&users_peers, key, failed, now_ms) != 0;
	}
	return a || b;
}

int
users_login(struct store *st, const char *name, const char *pin,
    const char *peer, int64_t now_ms, char *token)
{
	unsigned char raw[32], hash[32];
	char want[33], got[33];
	int rc, ok;

	if (users_lockout(st, name, peer, 0, now_ms))
		return 2;
	rc = users_name_ok(name) ? users_digest_ha1(st, name, want) : 0;
	if (rc < 0)
		return -1;
	users_ha1(name, pin, got);
	ok = rc == 1 && users_pin_ok(pin) &&
	    util_ct_eq(want, got, 32);
	mbedtls_platform_zeroize(got, sizeof(got));
	mbedtls_platform_zeroize(want, sizeof(want));
	if (!ok)
		return users_lockout(st, name, peer, 1, now_ms) ? 2 : 0;
	if (rng_bytes(raw, sizeof(raw)) != 0)
		return -1;
	util_b64url(raw, sizeof(raw), token);
	mbedtls_platform_zeroize(raw, sizeof(raw));
	mbedtls_sha256_ret((const unsigned char *)token, USERS_TOKEN_LEN, hash,
	    0);
	if (store_session_add(st, hash, name, now_ms + USERS_SESSION_S *
	    1000LL, now_ms) != 0)
		return -1;
	return 1;
}

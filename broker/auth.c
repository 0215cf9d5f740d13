// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Passwords, logins and sessions of the broker (auth.h).  scrypt is
 * OpenSSL 3's EVP_KDF "SCRYPT" (RFC 7914); tokens come from RAND_bytes;
 * PAM users' passwords go to authpam.c.
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "auth.h"
#include "authpam.h"
#include "log.h"
#include "util.h"

LOG_SCOPE("broker.auth");

#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1
/* Rows may carry other r and p; bound them like N. */
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16

static const char b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64 of in[0..len) with alphabet; out holds 4*ceil(len/3)+1. */
static void b64_encode(const uint8_t *in, size_t len, const char *alphabet, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* Decode exactly want bytes of unpadded standard base64 from s[0..len). */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t want)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (len != (want * 4 + 2) / 3)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(b64_std, s[i]) : NULL;

		if (!p)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(p - b64_std);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < want)
				out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == want ? 0 : -EINVAL;
}

/* --- scrypt --------------------------------------------------------------- */

static pthread_mutex_t n_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t scrypt_n;
/* A hash to check unknown users' passwords against, for the same cost. */
static char dummy_hash[DB_HASH_MAX + 1];
static uint64_t dummy_n;

static bool n_valid(uint64_t n)
{
	return n >= 2 && n <= AUTH_SCRYPT_N_MAX && !(n & (n - 1));
}

uint64_t auth_scrypt_n(void)
{
	uint64_t n;

	pthread_mutex_lock(&n_lock);
	if (!scrypt_n) {
		const char *e = getenv("SKYLIGHT_SCRYPT_N");
		uint64_t v;

		scrypt_n = AUTH_SCRYPT_N_DEFAULT;
		if (e && parse_uint(e, 16, AUTH_SCRYPT_N_MAX, &v) == 0 && n_valid(v))
			scrypt_n = v;
	}
	n = scrypt_n;
	pthread_mutex_unlock(&n_lock);
	return n;
}

void auth_set_scrypt_n(uint64_t n)
{
	pthread_mutex_lock(&n_lock);
	if (n_valid(n))
		scrypt_n = n;
	pthread_mutex_unlock(&n_lock);
}

static int scrypt(const char *password, size_t len, const uint8_t *salt, uint64_t n,
		  uint32_t r, uint32_t p, uint8_t out[KEY_LEN])
{
	/* 128 * r * N bytes plus a margin; the default maximum is 32 MiB,
	 * which N=2^15, r=8 would just miss. */
	uint64_t maxmem = 128 * (uint64_t)r * n * (p + 1) + (1 << 20);
	OSSL_PARAM params[7];
	EVP_KDF_CTX *ctx;
	EVP_KDF *kdf;
	int ok;

	kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	if (!kdf) {
		ERR_clear_error();
		return -EOPNOTSUPP;
	}
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password,
						      len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(ctx, out, KEY_LEN, params);
	EVP_KDF_CTX_free(ctx);
	if (ok != 1) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

static int hash_with_n(const char *password, uint64_t n, char *out, size_t size)
{
	uint8_t salt[SALT_LEN], key[KEY_LEN];
	char salt64[32], key64[48];
	size_t len;
	int r;

	if (!password)
		return -EINVAL;
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (len == 0 || len > AUTH_PASSWORD_MAX)
		return -EINVAL;
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	r = scrypt(password, len, salt, n, SCRYPT_R, SCRYPT_P, key);
	if (r < 0)
		return r;
	b64_encode(salt, sizeof(salt), b64_std, salt64);
	b64_encode(key, sizeof(key), b64_std, key64);
	OPENSSL_cleanse(key, sizeof(key));
	r = snprintf(out, size, "scrypt$%llu$%u$%u$%s$%s", (unsigned long long)n, SCRYPT_R,
		     SCRYPT_P, salt64, key64);
	return r < 0 || (size_t)r >= size ? -ENOBUFS : 0;
}

int auth_hash_password(const char *password, char *out, size_t size)
{
	return hash_with_n(password, auth_scrypt_n(), out, size);
}

/* Split "scrypt$N$r$p$salt$key". */
static int parse_stored(const char *stored, uint64_t *n, uint32_t *r, uint32_t *p,
			uint8_t salt[SALT_LEN], uint8_t key[KEY_LEN])
{
	char buf[DB_HASH_MAX + 1], *f[6], *save = NULL, *s;
	uint64_t v;
	int i;

	if (!stored || strlen(stored) > DB_HASH_MAX)
		return -EINVAL;
	strcpy(buf, stored);
	for (i = 0, s = buf; i < 6; i++, s = NULL) {
		f[i] = strtok_r(s, "$", &save);
		if (!f[i])
			return -EINVAL;
	}
	if (strtok_r(NULL, "$", &save) || strcmp(f[0], "scrypt"))
		return -EINVAL;
	if (parse_uint(f[1], 2, AUTH_SCRYPT_N_MAX, n) < 0 || !n_valid(*n))
		return -EINVAL;
	if (parse_uint(f[2], 1, SCRYPT_R_MAX, &v) < 0)
		return -EINVAL;
	*r = (uint32_t)v;
	if (parse_uint(f[3], 1, SCRYPT_P_MAX, &v) < 0)
		return -EINVAL;
	*p = (uint32_t)v;
	if (b64_decode(f[4], strlen(f[4]), salt, SALT_LEN) < 0 ||
	    b64_decode(f[5], strlen(f[5]), key, KEY_LEN) < 0)
		return -EINVAL;
	return 0;
}

int auth_verify_password(const char *password, const char *stored)
{
	uint8_t salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
	uint32_t r, p;
	uint64_t n;
	size_t len;
	int ret;

	ret = parse_stored(stored, &n, &r, &p, salt, want);
	if (ret < 0)
		return ret;
	if (!password)
		return -EACCES;
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (len > AUTH_PASSWORD_MAX)
		return -EACCES;
	ret = scrypt(password, len, salt, n, r, p, got);
	if (ret < 0)
		return ret;
	ret = CRYPTO_memcmp(got, want, KEY_LEN) == 0 ? 0 : -EACCES;
	OPENSSL_cleanse(got, sizeof(got));
	return ret;
}

/* As much work as checking a real user's password. */
static void verify_dummy(const char *password)
{
	char stored[DB_HASH_MAX + 1];
	uint64_t n = auth_scrypt_n();

	pthread_mutex_lock(&n_lock);
	if (dummy_n != n) {
		if (hash_with_n("not a password", n, dummy_hash, sizeof(dummy_hash)) == 0)
			dummy_n = n;
	}
	snprintf(stored, sizeof(stored), "%s", dummy_hash);
	pthread_mutex_unlock(&n_lock);
	auth_verify_password(password && *password ? password : "x", stored);
}

bool auth_password_acceptable(const char *password)
{
	size_t len;

	if (!password)
		return false;
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	return len >= AUTH_PASSWORD_MIN && len <= AUTH_PASSWORD_MAX &&
	       apijson_utf8_valid(password, len, true);
}

/* --- rate limiting -------------------------------------------------------- */

#define LIMITER_SLOTS 4096
#define LIMITER_KEY_MAX 96

struct limiter_slot {
	char key[LIMITER_KEY_MAX + 1];
	int64_t fails[AUTH_FAIL_MAX]; /* ring of the latest failure times */
	unsigned next;
	int64_t latest;
};

struct auth_limiter {
	pthread_mutex_t lock;
	struct limiter_slot slots[LIMITER_SLOTS];
};

int auth_limiter_new(struct auth_limiter **ret)
{
	struct auth_limiter *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	*ret = l;
	return 0;
}

void auth_limiter_free(struct auth_limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct limiter_slot *find(struct auth_limiter *l, const char *key)
{
	size_t i;

	for (i = 0; i < LIMITER_SLOTS; i++)
		if (l->slots[i].key[0] && !strncmp(l->slots[i].key, key, LIMITER_KEY_MAX))
			return &l->slots[i];
	return NULL;
}

int auth_limiter_check(struct auth_limiter *l, const char *key, int64_t now,
		       unsigned *retry_after)
{
	struct limiter_slot *s;
	int64_t oldest = INT64_MAX;
	unsigned i, n = 0;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	s = find(l, key);
	for (i = 0; s && i < AUTH_FAIL_MAX; i++) {
		if (s->fails[i] && s->fails[i] > now - AUTH_FAIL_WINDOW_S) {
			n++;
			oldest = MIN(oldest, s->fails[i]);
		}
	}
	if (n >= AUTH_FAIL_MAX) {
		int64_t wait = oldest + AUTH_FAIL_WINDOW_S - now;

		*retry_after = (unsigned)MAX(wait, 1);
		r = -EAGAIN;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void auth_limiter_fail(struct auth_limiter *l, const char *key, int64_t now)
{
	struct limiter_slot *s;
	size_t i;

	pthread_mutex_lock(&l->lock);
	s = find(l, key);
	if (!s) {
		/* A free slot, else the one idle longest.  An attacker must
		 * fail LIMITER_SLOTS logins (each an scrypt) to push a key
		 * out early. */
		s = &l->slots[0];
		for (i = 0; i < LIMITER_SLOTS; i++) {
			if (!l->slots[i].key[0] || l->slots[i].latest <= now - AUTH_FAIL_WINDOW_S) {
				s = &l->slots[i];
				break;
			}
			if (l->slots[i].latest < s->latest)
				s = &l->slots[i];
		}
		memset(s, 0, sizeof(*s));
		snprintf(s->key, sizeof(s->key), "%s", key);
	}
	s->fails[s->next] = now;
	s->next = (s->next + 1) % AUTH_FAIL_MAX;
	s->latest = now;
	pthread_mutex_unlock(&l->lock);
}

void auth_limiter_clear(struct auth_limiter *l, const char *key)
{
	struct limiter_slot *s;

	pthread_mutex_lock(&l->lock);
	s = find(l, key);
	if (s)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&l->lock);
}

/* A PAM user new to the database: role user, no local hash.  Two first
 * logins at once both get here: the second finds the first's row. */
static int add_pam_user(struct db *db, const char *name, int64_t now, struct db_user *u)
{
	int r;

	*u = (struct db_user){ .role = ROLE_USER, .created = now, .source = USER_SOURCE_PAM };
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->password, sizeof(u->password), "%s", AUTH_PASSWORD_PAM);
	r = db_user_add(db, u);
	if (r == -EEXIST) {
		r = db_user_get(db, name, u);
		if (r == 0 && u->source != USER_SOURCE_PAM)
			r = -EEXIST; /* made local meanwhile: not PAM's to let in */
		return r;
	}
	if (r == 0)
		log_info("added user %s (role user, source pam) at its first PAM login", name);
	return r;
}

/* Who checks the password (auth.h): 0, or -EACCES. */
static int check(struct db *db, const struct auth_pam *pam, const char *name,
		 const char *password, const char *peer, int64_t now, struct db_user *u)
{
	bool pam_on = pam && pam->service;
	size_t plen;
	int r;

	if (!name || strnlen(name, DB_NAME_MAX + 1) > DB_NAME_MAX) {
		verify_dummy(password);
		return -EACCES;
	}
	r = db_user_get(db, name, u);
	if (r == 0 && u->source == USER_SOURCE_LOCAL)
		return auth_verify_password(password, u->password) == 0 ? 0 : -EACCES;
	if (r == 0 && !pam_on)
		log_warn("%s is a PAM user, but PAM is off (skybroker --pam SERVICE)", name);
	/* PAM's turn: a pam user, or (pam on) a name the database does not
	 * know.  At least a local login's cost: no name answers sooner than a
	 * local one (PAM's own time comes on top). */
	verify_dummy(password);
	if (!pam_on || (r < 0 && (r != -ENOENT || !apijson_name_valid(name))))
		return -EACCES;
	plen = password ? strnlen(password, AUTH_PASSWORD_MAX + 1) : 0;
	if (plen == 0 || plen > AUTH_PASSWORD_MAX)
		return -EACCES;
	if (authpam_check(pam, name, password, peer) < 0)
		return -EACCES;
	if (r == -ENOENT && add_pam_user(db, name, now, u) < 0) {
		log_warn("PAM accepted %s, but the user could not be added", name);
		return -EACCES;
	}
	return 0;
}

int auth_login(struct db *db, struct auth_limiter *l, const struct auth_pam *pam,
	       const char *name, const char *password, const char *peer, int64_t now,
	       struct db_user *u, unsigned *retry_after)
{
	char ukey[LIMITER_KEY_MAX + 1], akey[LIMITER_KEY_MAX + 1];
	unsigned ra = 0, rb = 0;
	int r;

	snprintf(ukey, sizeof(ukey), "u:%s", name ? name : "");
	snprintf(akey, sizeof(akey), "a:%s", peer ? peer : "");
	r = auth_limiter_check(l, ukey, now, &ra);
	if (auth_limiter_check(l, akey, now, &rb) < 0 || r < 0) {
		*retry_after = MAX(ra, rb);
		return -EAGAIN;
	}
	r = check(db, pam, name, password, peer, now, u);
	if (r < 0) {
		auth_limiter_fail(l, ukey, now);
		auth_limiter_fail(l, akey, now);
		return r;
	}
	auth_limiter_clear(l, ukey);
	return 0;
}

/* --- sessions -------------------------------------------------------------- */

int auth_random_token(char *out, size_t size, size_t nbytes)
{
	uint8_t buf[64];

	if (nbytes > sizeof(buf) || size < (nbytes * 4 + 2) / 3 + 1)
		return -EINVAL;
	if (RAND_bytes(buf, (int)nbytes) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	b64_encode(buf, nbytes, b64_url, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static bool token_wellformed(const char *token)
{
	size_t i;

	if (!token || strnlen(token, AUTH_TOKEN_LEN + 1) != AUTH_TOKEN_LEN)
		return false;
	for (i = 0; i < AUTH_TOKEN_LEN; i++)
		if (!strchr(b64_url, token[i]))
			return false;
	return true;
}

static int token_hash(const char *token, char out[DB_TOKEN_HASH_LEN + 1])
{
	uint8_t md[32];
	unsigned int n = 0;
	int i;

	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		ERR_clear_error();
		return -EIO;
	}
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int auth_session_new(struct db *db, const char *user, int64_t now,
		     char token[AUTH_TOKEN_LEN + 1], char csrf[AUTH_TOKEN_LEN + 1])
{
	struct db_session s = { .created = now, .last_seen = now };
	int r;

	r = auth_random_token(token, AUTH_TOKEN_LEN + 1, 32);
	if (r >= 0)
		r = auth_random_token(csrf, AUTH_TOKEN_LEN + 1, 32);
	if (r >= 0)
		r = token_hash(token, s.token_hash);
	if (r < 0)
		return r;
	snprintf(s.user, sizeof(s.user), "%s", user);
	snprintf(s.csrf, sizeof(s.csrf), "%s", csrf);
	return db_session_add(db, &s);
}

int auth_session_check(struct db *db, const char *token, int64_t now, struct db_session *s)
{
	char h[DB_TOKEN_HASH_LEN + 1];
	int r;

	if (!token_wellformed(token))
		return -ENOENT;
	r = token_hash(token, h);
	if (r < 0)
		return r;
	r = db_session_get(db, h, s);
	if (r < 0)
		return r;
	if (now - s->created >= AUTH_SESSION_LIFETIME_S ||
	    now - s->last_seen >= AUTH_SESSION_IDLE_S) {
		db_session_delete(db, h);
		return -ETIMEDOUT;
	}
	/* Sliding idle window, written at most every half minute. */
	if (now - s->last_seen >= 30) {
		db_session_touch(db, h, now);
		s->last_seen = now;
	}
	return 0;
}

int auth_session_end(struct db *db, const char *token)
{
	char h[DB_TOKEN_HASH_LEN + 1];
	int r;

	if (!token_wellformed(token))
		return -ENOENT;
	r = token_hash(token, h);
	return r < 0 ? r : db_session_delete(db, h);
}

bool auth_equal(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

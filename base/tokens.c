// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * One-time logon tokens (tokens.h).
 *
 * A user's file is DIR/<user in lower case> (names are compared
 * case-insensitively, as the RDP user store does), one line:
 *
 *   tok1 <user> <vm> <expires> <sha256(token), hex> <nt hash, hex>
 *
 * Temporary files start with a dot, which no user name may, so they never
 * collide with a user's file: ".put.*" while a token is written (then
 * renamed over the user's file), ".take.*" while a taker holds one.
 *
 * Taking first checks the file in place, so a wrong guess moves nothing;
 * only a token that matches is renamed away (exactly one racer's rename
 * succeeds), checked again (a newer token may have replaced it in
 * between: that one is put back unless a newer one still has arrived) and
 * unlinked.
 */
#include "tokens.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define MAGIC "tok1"
/* The longest line: magic, user, vm, expires (19 digits), 64 + 32 hex. */
#define LINE_MAX_LEN (4 + 1 + TOKENS_USER_MAX + 1 + TOKENS_VM_MAX + 1 + 19 + 1 + 64 + 1 + 32 + 1)
/* A ".take." or ".put." file this old was left by a process that died. */
#define STALE_TEMP_S 600
/* Rounds of "changed under us" before giving up (each needs a new token
 * to arrive between two system calls). */
#define TAKE_TRIES 8

struct record {
	char user[TOKENS_USER_MAX + 1];
	char vm[TOKENS_VM_MAX + 1];
	int64_t expires;
	uint8_t sha[32];
	uint8_t nt[16];
};

/* User and VM names: 1..64 of [A-Za-z0-9._-], not starting with '-' or
 * '.' (the names docs/api.md allows). */
static bool name_ok(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!len || len > max || s[0] == '-' || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool user_ok(const char *user)
{
	return user && name_ok(user, strnlen(user, TOKENS_USER_MAX + 1), TOKENS_USER_MAX);
}

static bool token_ok(const char *token, size_t *len)
{
	size_t n, i;

	if (!token)
		return false;
	n = strnlen(token, TOKENS_MAX_LEN + 1);
	if (n < TOKENS_MIN_LEN || n > TOKENS_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (token[i] < 0x21 || token[i] > 0x7e)
			return false;
	*len = n;
	return true;
}

/* DIR/<user in lower case>. */
static int user_path(const char *dir, const char *user, char *buf, size_t size)
{
	char lower[TOKENS_USER_MAX + 1];
	size_t i;
	int n;

	for (i = 0; user[i] && i < TOKENS_USER_MAX; i++)
		lower[i] = (char)tolower((unsigned char)user[i]);
	lower[i] = '\0';
	n = snprintf(buf, size, "%s/%s", dir, lower);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* DIR/.<kind>.<user>.<pid>.<random>: unique among racing processes. */
static int temp_path(const char *dir, const char *kind, const char *user, char *buf, size_t size)
{
	uint32_t rnd;
	int n;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	n = snprintf(buf, size, "%s/.%s.%s.%d.%08" PRIx32, dir, kind, user, (int)getpid(), rnd);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* --- hashes ----------------------------------------------------------------- */

/*
 * The NT hash: MD4 of the UTF-16LE token (tokens are ASCII).  MD4 lives in
 * OpenSSL 3's legacy provider; a library context of our own keeps it away
 * from the rest of the process (as rdp/users.c does).
 */
static int nt_hash(const char *token, size_t len, uint8_t out[16])
{
	uint8_t wide[2 * TOKENS_MAX_LEN];
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *legacy = NULL;
	EVP_MD *md = NULL;
	unsigned int n = 0;
	size_t i;
	int r = -EOPNOTSUPP;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		wide[2 * i] = (uint8_t)token[i];
		wide[2 * i + 1] = 0;
	}
	legacy = OSSL_PROVIDER_load(ctx, "legacy");
	if (legacy)
		md = EVP_MD_fetch(ctx, "MD4", NULL);
	if (md && EVP_Digest(wide, 2 * len, out, &n, md, NULL) == 1 && n == 16)
		r = 0;
	else
		ERR_clear_error(); /* stale errors would confuse a later SSL_get_error() */
	OPENSSL_cleanse(wide, sizeof(wide));
	EVP_MD_free(md);
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	OSSL_LIB_CTX_free(ctx);
	return r;
}

static int sha256(const char *token, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/* --- the file ------------------------------------------------------------------ */

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int format_record(const struct record *rec, char *buf, size_t size)
{
	char sha[65], nt[33];
	int n;

	hex(rec->sha, sizeof(rec->sha), sha);
	hex(rec->nt, sizeof(rec->nt), nt);
	n = snprintf(buf, size, MAGIC " %s %s %" PRId64 " %s %s\n", rec->user, rec->vm,
		     rec->expires, sha, nt);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The next space-separated field of [*p, end): its start and length. */
static bool field(const char **p, const char *end, const char **start, size_t *len, bool last)
{
	const char *s = *p, *e = s;

	while (e < end && *e != ' ')
		e++;
	if (e == s || (last ? e != end : e == end))
		return false;
	*start = s;
	*len = (size_t)(e - s);
	*p = last ? e : e + 1;
	return true;
}

static bool parse_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t i;

	if (len != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Strict: exactly what format_record writes, one line. */
static int parse_record(const char *buf, size_t len, struct record *ret)
{
	const char *p = buf, *end = buf + len, *s;
	struct record rec = { 0 };
	size_t n, i;

	if (!len || end[-1] != '\n')
		return -EBADMSG;
	end--;
	if (!field(&p, end, &s, &n, false) || n != 4 || memcmp(s, MAGIC, 4))
		return -EBADMSG;
	if (!field(&p, end, &s, &n, false) || !name_ok(s, n, TOKENS_USER_MAX))
		return -EBADMSG;
	memcpy(rec.user, s, n);
	if (!field(&p, end, &s, &n, false) || !name_ok(s, n, TOKENS_VM_MAX))
		return -EBADMSG;
	memcpy(rec.vm, s, n);
	if (!field(&p, end, &s, &n, false) || n > 18 || (n > 1 && s[0] == '0'))
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		rec.expires = rec.expires * 10 + (s[i] - '0');
	}
	if (!field(&p, end, &s, &n, false) || !parse_hex(s, n, rec.sha, sizeof(rec.sha)))
		return -EBADMSG;
	if (!field(&p, end, &s, &n, true) || !parse_hex(s, n, rec.nt, sizeof(rec.nt)))
		return -EBADMSG;
	*ret = rec;
	return 0;
}

/* -ENOENT if there is none; -EBADMSG for anything but a token file. */
static int read_record(const char *path, struct record *ret)
{
	char buf[LINE_MAX_LEN + 1];
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > LINE_MAX_LEN)
		return -EBADMSG;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return parse_record(buf, (size_t)n, ret);
}

static bool expired(const struct record *rec, int64_t now)
{
	return now >= rec->expires;
}

/* --- the API ------------------------------------------------------------------- */

int tokens_generate(char out[TOKENS_MAX_LEN + 1])
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8_t raw[33] = { 0 }; /* 32 random bytes, padded to a multiple of 3 */
	size_t i, o = 0;

	if (getrandom(raw, 32, 0) != 32)
		return -EIO;
	for (i = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	/* 32 bytes are 43 characters; the 44th only encodes the padding. */
	out[43] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* Remove what is past its time: expired tokens of any user (claimed
 * first, so a newer one that just arrived is put back) and temporary
 * files left by processes that died. */
static void sweep(const char *dir, int64_t now)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX], tmp[PATH_MAX];
		struct record rec;
		struct stat st;
		int n;

		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (!strncmp(de->d_name, ".take.", 6) || !strncmp(de->d_name, ".put.", 5)) {
			if (lstat(path, &st) == 0 && now - (int64_t)st.st_mtime > STALE_TEMP_S)
				unlink(path);
			continue;
		}
		if (!name_ok(de->d_name, strlen(de->d_name), TOKENS_USER_MAX) ||
		    read_record(path, &rec) < 0 || !expired(&rec, now))
			continue;
		if (temp_path(dir, "take", de->d_name, tmp, sizeof(tmp)) < 0 ||
		    rename(path, tmp) < 0)
			continue;
		/* A newer one arrived in between: back it goes (link() does not
		 * overwrite a newer one still). */
		if (read_record(tmp, &rec) == 0 && !expired(&rec, now))
			(void)!link(tmp, path);
		unlink(tmp);
	}
	closedir(d);
}

int tokens_put(const char *dir, const char *user, const char *vm, const char *token,
	       time_t expires)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[LINE_MAX_LEN + 1];
	struct record rec = { 0 };
	_cleanup_close_ int fd = -1;
	size_t tlen;
	int n, r;

	if (!dir || !user_ok(user) || !vm ||
	    !name_ok(vm, strnlen(vm, TOKENS_VM_MAX + 1), TOKENS_VM_MAX) ||
	    !token_ok(token, &tlen) || expires <= 0 || (int64_t)expires > 999999999999999999)
		return -EINVAL;
	snprintf(rec.user, sizeof(rec.user), "%s", user);
	snprintf(rec.vm, sizeof(rec.vm), "%s", vm);
	rec.expires = (int64_t)expires;
	r = sha256(token, tlen, rec.sha);
	if (r == 0)
		r = nt_hash(token, tlen, rec.nt);
	if (r < 0)
		goto out;
	n = format_record(&rec, line, sizeof(line));
	if (n < 0) {
		r = n;
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	sweep(dir, (int64_t)time(NULL));
	r = user_path(dir, user, path, sizeof(path));
	if (r == 0)
		r = temp_path(dir, "put", rec.user, tmp, sizeof(tmp));
	if (r < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (write(fd, line, (size_t)n) != n) {
		r = errno ? -errno : -EIO;
		unlink(tmp);
		goto out;
	}
	/* A newer token replaces the older at once: rename() is atomic. */
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
	}
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
	OPENSSL_cleanse(line, sizeof(line));
	return r;
}

int tokens_nt_hash(const char *dir, const char *user, uint8_t nt[16])
{
	char path[PATH_MAX];
	struct record rec;
	int r;

	if (!dir || !user_ok(user))
		return -EINVAL;
	r = user_path(dir, user, path, sizeof(path));
	if (r < 0)
		return r;
	r = read_record(path, &rec);
	if (r < 0)
		return r;
	if (expired(&rec, (int64_t)time(NULL)))
		return -ESTALE;
	memcpy(nt, rec.nt, 16);
	OPENSSL_cleanse(&rec, sizeof(rec));
	return 0;
}

struct want {
	const uint8_t *sha; /* one of the two */
	const uint8_t *nt;
};

static bool matches(const struct record *rec, const struct want *w)
{
	if (w->sha)
		return CRYPTO_memcmp(rec->sha, w->sha, sizeof(rec->sha)) == 0;
	return CRYPTO_memcmp(rec->nt, w->nt, sizeof(rec->nt)) == 0;
}

static int take(const char *dir, const char *user, const struct want *w, struct token_info *info)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct record rec;
	int i, r;

	r = user_path(dir, user, path, sizeof(path));
	if (r < 0)
		return r;
	for (i = 0; i < TAKE_TRIES; i++) {
		int64_t now = (int64_t)time(NULL);

		r = read_record(path, &rec);
		if (r < 0)
			return r;
		/* A wrong token moves nothing: the right one can still come. */
		if (!expired(&rec, now) && !matches(&rec, w))
			return -EACCES;
		r = temp_path(dir, "take", rec.user, tmp, sizeof(tmp));
		if (r < 0)
			return r;
		/* Of two racers only one rename finds the file. */
		if (rename(path, tmp) < 0) {
			if (errno == ENOENT)
				return -ENOENT;
			return -errno;
		}
		r = read_record(tmp, &rec);
		if (r < 0) {
			unlink(tmp);
			return r;
		}
		if (expired(&rec, now)) {
			unlink(tmp);
			return -ESTALE;
		}
		if (matches(&rec, w)) {
			unlink(tmp);
			memset(info, 0, sizeof(*info));
			memcpy(info->user, rec.user, sizeof(info->user));
			memcpy(info->vm, rec.vm, sizeof(info->vm));
			info->expires = (time_t)rec.expires;
			OPENSSL_cleanse(&rec, sizeof(rec));
			return 0;
		}
		/* A newer token arrived between the look and the rename: put
		 * it back, unless a newer one still has (link() does not
		 * overwrite), and look again. */
		if (link(tmp, path) < 0 && errno != EEXIST) {
			r = -errno;
			unlink(tmp);
			return r;
		}
		unlink(tmp);
	}
	return -EBUSY;
}

int tokens_take(const char *dir, const char *user, const char *token, struct token_info *info)
{
	uint8_t sha[32];
	struct want w = { .sha = sha };
	int r;

	if (!dir || !user_ok(user) || !info)
		return -EINVAL;
	/* Whatever the client typed: a password that could never be a token
	 * hashes to something no stored token has, a mismatch like any other. */
	if (!token)
		token = "";
	r = sha256(token, strnlen(token, 4096), sha);
	if (r < 0)
		return r;
	return take(dir, user, &w, info);
}

int tokens_take_nt(const char *dir, const char *user, const uint8_t nt[16],
		   struct token_info *info)
{
	struct want w = { .nt = nt };

	if (!dir || !user_ok(user) || !nt || !info)
		return -EINVAL;
	return take(dir, user, &w, info);
}

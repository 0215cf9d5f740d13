// SPDX-License-Identifier: GPL-3.0-or-later
/* Auto-reconnect cookies (arc.h). */
#include "arc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

int arc_verifier(const uint8_t random[ARC_RANDOM_LEN],
		 const uint8_t client_random[ARC_CLIENT_RANDOM_LEN], uint8_t out[16])
{
	unsigned len = 0;

	if (!HMAC(EVP_md5(), random, ARC_RANDOM_LEN, client_random, ARC_CLIENT_RANDOM_LEN, out,
		  &len) || len != 16)
		return -EIO;
	return 0;
}

bool arc_check(const uint8_t random[ARC_RANDOM_LEN],
	       const uint8_t client_random[ARC_CLIENT_RANDOM_LEN], const uint8_t verifier[16])
{
	uint8_t want[16];

	if (arc_verifier(random, client_random, want) < 0)
		return false;
	return CRYPTO_memcmp(want, verifier, 16) == 0;
}

bool arc_usable(const struct arc_cookie *c, int64_t now)
{
	if (now < c->issued || now - c->issued > ARC_MAX_AGE_S)
		return false;
	return !c->ended || (now >= c->ended && now - c->ended <= ARC_GRACE_S);
}

static bool name_ok(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!len || len > max)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool user_ok(const char *s, size_t len)
{
	return name_ok(s, len, ARC_USER_MAX);
}

/*
 * "arc1 LOGONID RANDOM ISSUED ENDED PID USER[ VM[ NTHASH]]": the VM and
 * the token's NT hash came later, as optional fields at the end, so a
 * cookie written before them still reads.
 */
int arc_format(const struct arc_cookie *c, char *buf, size_t size)
{
	char hex[2 * ARC_RANDOM_LEN + 1], nt[2 * 16 + 2] = "";
	int i, n;

	if (!user_ok(c->user, strlen(c->user)))
		return -EINVAL;
	if (c->vm[0] && !name_ok(c->vm, strlen(c->vm), ARC_VM_MAX))
		return -EINVAL;
	/* An NT hash only after a VM (it is the last optional field). */
	if (c->have_nt && !c->vm[0])
		return -EINVAL;
	for (i = 0; i < ARC_RANDOM_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", c->random[i]);
	if (c->have_nt) {
		nt[0] = ' ';
		for (i = 0; i < 16; i++)
			snprintf(nt + 1 + 2 * i, 3, "%02x", c->nt[i]);
	}
	if (c->pid < 0)
		return -EINVAL;
	n = snprintf(buf, size,
		     "arc1 %08" PRIx32 " %s %" PRId64 " %" PRId64 " %" PRId32 " %s%s%s%s\n",
		     c->logon_id, hex, c->issued, c->ended, c->pid, c->user, c->vm[0] ? " " : "",
		     c->vm, nt);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A decimal int64 >= 0 at *p up to a space; advances *p past it. */
static int parse_i64(const char **p, const char *end, int64_t *ret)
{
	int64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
		s++;
	}
	*p = s;
	*ret = v;
	return 0;
}

int arc_parse(const char *buf, size_t len, struct arc_cookie *ret)
{
	const char *p = buf, *end = buf + len;
	struct arc_cookie c = { 0 };
	const char *field;
	int64_t pid;
	size_t ulen;
	int i;

	if (len && end[-1] == '\n')
		end--;
	if (end - p < 5 || memcmp(p, "arc1 ", 5))
		return -EINVAL;
	p += 5;
	if (end - p < 9 || p[8] != ' ')
		return -EINVAL;
	for (i = 0; i < 8; i++) {
		int v = hexval(p[i]);

		if (v < 0)
			return -EINVAL;
		c.logon_id = c.logon_id << 4 | (uint32_t)v;
	}
	p += 9;
	if (end - p < 2 * ARC_RANDOM_LEN + 1 || p[2 * ARC_RANDOM_LEN] != ' ')
		return -EINVAL;
	for (i = 0; i < ARC_RANDOM_LEN; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		c.random[i] = (uint8_t)(hi << 4 | lo);
	}
	p += 2 * ARC_RANDOM_LEN + 1;
	if (parse_i64(&p, end, &c.issued) < 0 || p >= end || *p++ != ' ')
		return -EINVAL;
	if (parse_i64(&p, end, &c.ended) < 0 || p >= end || *p++ != ' ')
		return -EINVAL;
	if (parse_i64(&p, end, &pid) < 0 || pid > INT32_MAX || p >= end || *p++ != ' ')
		return -EINVAL;
	c.pid = (int32_t)pid;
	field = memchr(p, ' ', (size_t)(end - p));
	ulen = (size_t)((field ? field : end) - p);
	if (!user_ok(p, ulen))
		return -EINVAL;
	memcpy(c.user, p, ulen);
	c.user[ulen] = '\0';
	if (!field) {
		*ret = c;
		return 0;
	}
	p = field + 1;
	field = memchr(p, ' ', (size_t)(end - p));
	ulen = (size_t)((field ? field : end) - p);
	if (!name_ok(p, ulen, ARC_VM_MAX))
		return -EINVAL;
	memcpy(c.vm, p, ulen);
	c.vm[ulen] = '\0';
	if (field) {
		p = field + 1;
		if (end - p != 32)
			return -EINVAL;
		for (i = 0; i < 16; i++) {
			int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c.nt[i] = (uint8_t)(hi << 4 | lo);
		}
		c.have_nt = true;
	}
	*ret = c;
	return 0;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int cookie_path(const char *dir, uint32_t logon_id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%08" PRIx32, dir, logon_id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Write the cookie's file atomically (temp file + rename), mode 0600. */
static int write_cookie(const char *dir, const struct arc_cookie *c)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[ARC_LINE_MAX];
	_cleanup_close_ int fd = -1;
	int n, r;

	r = cookie_path(dir, c->logon_id, path, sizeof(path));
	if (r < 0)
		return r;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	n = arc_format(c, line, sizeof(line));
	if (n < 0)
		return n;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n) {
		r = errno ? -errno : -EIO;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

/* Read the cookie file name (8 hex digits) in dir; -EINVAL for other files. */
static int read_cookie(const char *dir, const char *name, struct arc_cookie *ret)
{
	char path[PATH_MAX], buf[ARC_LINE_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int r;

	if (strlen(name) != 8 || strspn(name, "0123456789abcdef") != 8)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return arc_parse(buf, (size_t)n, ret);
}

/* Call fn for every cookie in dir. */
static void for_each(const char *dir, void (*fn)(const char *dir, const char *name,
						   struct arc_cookie *c, void *data),
		     void *data)
{
	struct dirent *de;
	struct arc_cookie c;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (read_cookie(dir, de->d_name, &c) == 0)
			fn(dir, de->d_name, &c, data);
	}
	closedir(d);
}

static void sweep_one(const char *dir, const char *name, struct arc_cookie *c, void *data)
{
	char path[PATH_MAX];
	int n;

	if (arc_usable(c, *(int64_t *)data))
		return;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n > 0 && (size_t)n < sizeof(path))
		unlink(path);
}

static void orphan_one(const char *dir, const char *name, struct arc_cookie *c, void *data)
{
	(void)name;
	if (c->pid == *(int32_t *)data && !c->ended) {
		c->ended = now_s();
		write_cookie(dir, c);
	}
}

void arc_orphan(const char *dir, int32_t pid)
{
	for_each(dir, orphan_one, &pid);
}

int arc_issue(const char *dir, const char *user, const char *vm, const uint8_t nt[16],
	      struct arc_cookie *ret)
{
	struct arc_cookie c = { 0 };
	size_t len = strlen(user);
	int r;

	if (!user_ok(user, len))
		return -EINVAL;
	if (vm && *vm) {
		if (!name_ok(vm, strlen(vm), ARC_VM_MAX))
			return -EINVAL;
		memcpy(c.vm, vm, strlen(vm) + 1);
	}
	if (nt) {
		if (!c.vm[0])
			return -EINVAL;
		c.have_nt = true;
		memcpy(c.nt, nt, 16);
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (getrandom(&c.logon_id, sizeof(c.logon_id), 0) != sizeof(c.logon_id) ||
	    getrandom(c.random, sizeof(c.random), 0) != sizeof(c.random))
		return -EIO;
	memcpy(c.user, user, len + 1);
	c.issued = now_s();
	c.pid = (int32_t)getpid();
	for_each(dir, sweep_one, &c.issued);
	r = write_cookie(dir, &c);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

struct find_nt {
	const char *user;
	int64_t now, best;
	bool found;
	uint8_t nt[16];
};

static void find_nt_one(const char *dir, const char *name, struct arc_cookie *c, void *data)
{
	struct find_nt *f = data;

	(void)dir, (void)name;
	if (!c->have_nt || strcasecmp(c->user, f->user) || !arc_usable(c, f->now) ||
	    (f->found && c->issued < f->best))
		return;
	f->found = true;
	f->best = c->issued;
	memcpy(f->nt, c->nt, 16);
}

int arc_find_nt(const char *dir, const char *user, uint8_t nt[16])
{
	struct find_nt f = { .user = user, .now = now_s() };

	for_each(dir, find_nt_one, &f);
	if (!f.found)
		return -ENOENT;
	memcpy(nt, f.nt, 16);
	return 0;
}

int arc_end(const char *dir, const struct arc_cookie *c)
{
	struct arc_cookie e = *c;
	char path[PATH_MAX];
	int r;

	r = cookie_path(dir, c->logon_id, path, sizeof(path));
	if (r < 0)
		return r;
	/* Taken by a reconnect already: nothing to end. */
	if (access(path, F_OK) < 0)
		return -errno;
	e.ended = now_s();
	return write_cookie(dir, &e);
}

int arc_take(const char *dir, uint32_t logon_id, struct arc_cookie *ret)
{
	char path[PATH_MAX], buf[ARC_LINE_MAX];
	_cleanup_close_ int fd = -1;
	struct arc_cookie c;
	ssize_t n;
	int r;

	r = cookie_path(dir, logon_id, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* Good once: whoever unlinks it first owns it. */
	if (unlink(path) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	r = arc_parse(buf, (size_t)n, &c);
	if (r < 0 || c.logon_id != logon_id)
		return -ENOENT;
	if (!arc_usable(&c, now_s()))
		return -ESTALE;
	*ret = c;
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * One-time logon tokens: the broker's RDP front door sends the client to a
 * host with a Server Redirection PDU whose password field is a fresh random
 * token (never the user's password).  The broker hands the same token to
 * the host agent over its API; skyhostd puts it here; a skyrdp worker takes
 * it when the redirected client logs on.  One outstanding token per user
 * (a newer one replaces the older); a token is valid once, until it expires.
 *
 * Store: a directory (mode 0700) with one file per user (mode 0600) holding
 * the token's SHA-256, its NT hash (MD4 of UTF-16LE, for NLA), the VM and
 * the expiry.  Taking renames the file away first, so of two workers racing
 * for one token exactly one gets it.
 */

#include <stdint.h>
#include <time.h>

#define TOKENS_USER_MAX 64
#define TOKENS_VM_MAX 64
/* Tokens are printable ASCII, 16..128 bytes. */
#define TOKENS_MIN_LEN 16
#define TOKENS_MAX_LEN 128

struct token_info {
	char user[TOKENS_USER_MAX + 1];
	char vm[TOKENS_VM_MAX + 1];
	time_t expires;
};

/*
 * User and VM names: 1..64 of [A-Za-z0-9._-], not starting with '-' or '.';
 * users compare case-insensitively ("Alice" is "alice").  Every function
 * returns -EINVAL for a bad name, -EBADMSG where the user's file is not
 * one of ours (it stays until a newer token replaces it) and other -errno
 * for the file system.  The file's format: base/tokens.c.
 */

/* Make a random token (base64url of 32 random bytes, 43 chars + NUL). */
int tokens_generate(char out[TOKENS_MAX_LEN + 1]);
/* Store token for user and vm, valid until expires (Unix time; expired
 * when time(NULL) >= expires).  Makes dir (0700) if missing; the file is
 * 0600.  -EINVAL for bad input, -EOPNOTSUPP without OpenSSL's legacy
 * provider (MD4 for the NT hash).  Expired tokens of every user are swept
 * away on the way. */
int tokens_put(const char *dir, const char *user, const char *vm, const char *token,
	       time_t expires);
/* The NT hash of user's outstanding token, for NLA (nothing is taken).
 * -ENOENT if none, -ESTALE if expired. */
int tokens_nt_hash(const char *dir, const char *user, uint8_t nt[16]);
/* Take user's token if it equals token (constant-time): fills *info and
 * removes it.  -ENOENT none, -ESTALE expired (removed), -EACCES mismatch
 * (kept).  token may be anything the client typed (NULL is ""). */
int tokens_take(const char *dir, const char *user, const char *token, struct token_info *info);
/* The same after NLA proved knowledge of a token: takes user's token if its
 * NT hash is nt (the one tokens_nt_hash gave). */
int tokens_take_nt(const char *dir, const char *user, const uint8_t nt[16],
		   struct token_info *info);

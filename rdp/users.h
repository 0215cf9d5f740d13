/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Skylight's own user store for RDP logons (SQLite).  Each user has a
 * salted PBKDF2-HMAC-SHA256 hash, checked on the TLS password path, and
 * the NT hash (MD4 of the UTF-16LE password) that NLA's NTLM needs: NTLM
 * cannot work from anything else, and an NT hash is password-equivalent
 * for NTLM, so the store is a secret (mode 0600) and `--no-nla` users can
 * be kept without one (docs/rdp.md explains the trade-off).
 *
 * skyrdp reads it; `skyctl user ...` manages it.  A handle belongs to one
 * process: open the store again after fork().  Functions return 0 or
 * -errno; a store that is not one (or a damaged row) is -EBADMSG.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RDP_USERS_NAME_MAX 64
#define RDP_USERS_PASSWORD_MAX 256

struct rdp_users;

/* Open the store at path; with create, make it (mode 0600) if absent,
 * else -ENOENT.  -EPROTONOSUPPORT for a store of a newer schema. */
int rdp_users_open(const char *path, bool create, struct rdp_users **ret);
void rdp_users_close(struct rdp_users *u);

/* Names: 1-64 bytes of [A-Za-z0-9._-], not starting with '-' or '.';
 * compared case-insensitively, as Windows does ("Alice" is "alice").
 * Passwords: 1-256 bytes of UTF-8.
 * -EINVAL for bad input, -EEXIST / -ENOENT as the operation implies;
 * -EOPNOTSUPP with nla where OpenSSL's legacy provider (MD4) is missing. */
bool rdp_users_name_valid(const char *name);
int rdp_users_add(struct rdp_users *u, const char *name, const char *password, bool nla);
/* Replaces the password; with !nla the NT hash is dropped. */
int rdp_users_set_password(struct rdp_users *u, const char *name, const char *password, bool nla);
int rdp_users_remove(struct rdp_users *u, const char *name);
/* fn for every user in name order (name as it was added; created is Unix time). */
int rdp_users_list(struct rdp_users *u,
		   void (*fn)(const char *name, bool nla, int64_t created, void *data), void *data);

/* 0 if the password is right; -EACCES if not; -ENOENT for no such user
 * (callers should answer both the same way: an unknown name costs the
 * same PBKDF2 time as a known one). Constant-time compare.  A name or
 * password that could never be stored is -ENOENT / -EACCES too. */
int rdp_users_check_password(struct rdp_users *u, const char *name, const char *password);
/* The user's NT hash for NLA; -ENOENT, or -EPERM if the user has none. */
int rdp_users_nt_hash(struct rdp_users *u, const char *name, uint8_t out[16]);

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Auto-reconnect cookies (MS-RDPBCGR 5.5): at logon the server sends
 * ARC_SC_PRIVATE_PACKET {LogonId, ArcRandomBits}; a client reconnecting
 * after a network drop sends back ARC_CS_PRIVATE_PACKET {LogonId,
 * SecurityVerifier = HMAC-MD5(key = ArcRandomBits, ClientRandom)}, and a
 * valid one logs on without the password, as Windows does.
 *
 * Each session is its own process, and the reconnect lands in a new one,
 * so the cookies live in files, one per LogonId, in a 0700 directory under
 * the state dir.  A cookie is good once, and only for ARC_GRACE_S after
 * the session that issued it ended (ARC_MAX_AGE_S at most): long enough for
 * a client to ride out a network drop, short enough that a copied cookie
 * soon stops being a password.
 *
 * A cookie also remembers the session's VM (skyrdp --tokens: each logon's
 * VM comes with its one-time token), so a reconnect returns to the same
 * VM, and, for a session that logged on by NLA with a one-time token, that
 * token's NT hash: the reconnecting client does NLA again with the token
 * it was given, long taken by then, so the cookie stands in for it (and
 * the client must then show the cookie too).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_RANDOM_LEN 16
#define ARC_CLIENT_RANDOM_LEN 32
#define ARC_GRACE_S 300
#define ARC_MAX_AGE_S (24 * 3600)
#define ARC_USER_MAX 64
#define ARC_VM_MAX 64
/* A buffer this long holds any line arc_format writes (262 bytes at most). */
#define ARC_LINE_MAX 320

struct arc_cookie {
	uint32_t logon_id;
	uint8_t random[ARC_RANDOM_LEN];
	char user[ARC_USER_MAX + 1];
	int64_t issued; /* CLOCK_REALTIME seconds */
	int64_t ended;  /* 0 while the session runs */
	int32_t pid;    /* the worker that issued it */
	char vm[ARC_VM_MAX + 1]; /* "" for none (then skyrdp's --vm) */
	bool have_nt;
	uint8_t nt[16]; /* the one-time token's NT hash, with have_nt */
};

/* HMAC-MD5(random, client_random) into out; -EIO if OpenSSL fails. */
int arc_verifier(const uint8_t random[ARC_RANDOM_LEN],
		 const uint8_t client_random[ARC_CLIENT_RANDOM_LEN], uint8_t out[16]);
/* Whether verifier is the one for random and client_random (constant time). */
bool arc_check(const uint8_t random[ARC_RANDOM_LEN],
	       const uint8_t client_random[ARC_CLIENT_RANDOM_LEN], const uint8_t verifier[16]);

/* Whether a cookie is still good at now (seconds). */
bool arc_usable(const struct arc_cookie *c, int64_t now);

/* One line of text for the cookie's file (with "\n"): its length, or
 * -ENOSPC when buf is too small.  Pure. */
int arc_format(const struct arc_cookie *c, char *buf, size_t size);
/* Parse what arc_format wrote; -EINVAL for anything else.  Pure. */
int arc_parse(const char *buf, size_t len, struct arc_cookie *ret);

/* A new cookie for user (and vm, and a token's NT hash nt; either may be
 * NULL) with fresh random bits, written to dir (created 0700 if missing);
 * cookies no longer usable are swept away first. */
int arc_issue(const char *dir, const char *user, const char *vm, const uint8_t nt[16],
	      struct arc_cookie *ret);
/* Mark the cookie's session ended now: its grace period starts. */
int arc_end(const char *dir, const struct arc_cookie *c);
/* The listener reaped worker pid: end the cookies it had not ended (it
 * crashed or was killed). */
void arc_orphan(const char *dir, int32_t pid);
/* The NT hash of the newest usable cookie of user that has one (user
 * compared case-insensitively): -ENOENT if none.  Nothing is taken. */
int arc_find_nt(const char *dir, const char *user, uint8_t nt[16]);
/* Read and remove the cookie for logon_id: -ENOENT if there is none,
 * -ESTALE if it was too old (removed too). */
int arc_take(const char *dir, uint32_t logon_id, struct arc_cookie *ret);

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The broker's RDP front door (FreeRDP 2 server, one thread per client):
 * it reads the X.224 routing token (`Cookie: msts=...`) or the `mstshash`
 * cookie, takes the user's credentials over TLS (Client Info PDU), asks the
 * broker (ops) to authenticate them and to find or start the desktop, has
 * a one-time token delivered to that desktop's host, and answers with a
 * Server Redirection PDU (MS-RDPBCGR 2.2.13.1) naming the host's RDP
 * address, the user and the token as the password.  It never shows a
 * desktop itself.  docs/broker.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct frontdoor;

struct frontdoor_target {
	char host[64];         /* host name, for logs */
	char rdp_address[64];  /* IPv4/IPv6 literal of the host's skyrdp (same port) */
	char vm[64];           /* the desktop's VM name on that host */
	char desktop[64];      /* the desktop's broker name, for logs */
};

struct frontdoor_ops {
	/* 0 if user/password are right; -EACCES wrong; -EAGAIN rate-limited
	 * (peer is the client's address). */
	int (*authenticate)(void *data, const char *peer, const char *user, const char *password);
	/* Find the user's desktop (hint: the desktop named by the routing
	 * token, or NULL), start it if it is off, wait up to timeout_s for it
	 * to run.  -ENOENT the user has none, -ETIMEDOUT, -EHOSTDOWN its host
	 * is not responding, other -errno. */
	int (*resolve)(void *data, const char *user, const char *hint, unsigned timeout_s,
		       struct frontdoor_target *t);
	/* Deliver token for user to t's host (valid until expires). */
	int (*issue_token)(void *data, const struct frontdoor_target *t, const char *user,
			   const char *token, time_t expires);
};

struct frontdoor_config {
	const char *listen;       /* ADDR:PORT */
	const char *cert, *key;   /* TLS (PEM) */
	unsigned max_clients;     /* at once, default 64 */
	unsigned resolve_timeout_s; /* default 120 */
	unsigned token_ttl_s;     /* default 60 */
};

/* Start listening (a thread of its own accepts; one thread per client).
 * The ops are called on client threads, several at once.  -EINVAL for a
 * bad config, -errno where the certificate or key cannot be read or the
 * address not listened on (-EADDRNOTAVAIL for one that does not resolve). */
int frontdoor_start(const struct frontdoor_config *cfg, const struct frontdoor_ops *ops,
		    void *data, struct frontdoor **ret);
/* Stop accepting, end every client's connection and wait for its thread
 * (a thread inside an op finishes that call first). */
void frontdoor_stop(struct frontdoor *fd);

/*
 * The .rdp file a user downloads for desktop: it points at the front door
 * (address "HOST:PORT"), names the user, and carries the desktop in
 * loadbalanceinfo so the front door can tell a user's desktops apart.
 * malloc'd, NULL on ENOMEM.
 *
 * The desktop goes as "loadbalanceinfo:s:Cookie: msts=DESKTOP": clients
 * send loadbalanceinfo verbatim as the X.224 routing token, and FreeRDP's
 * server takes nothing there but "Cookie: msts=" or "Cookie: mstshash="
 * (proved with xfreerdp 2.11 by tests/e2e/test_frontdoor.py).  The file
 * also turns CredSSP off (the front door is TLS only).  NULL with errno
 * EINVAL for an address that is not printable ASCII (or over 300 bytes),
 * or a user or desktop that is not a name (1..64 of [A-Za-z0-9._-], not
 * starting with '-' or '.').
 */
char *frontdoor_rdp_file(const char *address, const char *user, const char *desktop);
/* Parse the desktop name back out of a routing token as the front door
 * receives it (pure; fuzzed): "Cookie: msts=NAME", a trailing CRLF
 * allowed.  0 and out filled, or -EINVAL. */
int frontdoor_parse_routing_token(const char *token, size_t len, char *out, size_t out_size);

/* What the front door reads from a client's X.224 Connection Request
 * (MS-RDPBCGR 2.2.1.1) before FreeRDP does, for its log: the mstshash
 * cookie (FreeRDP keeps it to itself) and the security protocols offered
 * (RDP_NEG_REQ: 1 TLS, 2 CredSSP/NLA, 4 RDSTLS, 8 CredSSP-EX). */
struct frontdoor_x224 {
	bool have_cookie;
	char cookie[65];      /* printable ASCII, cut to 64 bytes */
	bool routing_token;   /* a "Cookie: msts=" token instead */
	bool have_protocols;  /* false: standard RDP security only */
	uint32_t protocols;
};

/* Parse a TPKT + X.224 Connection Request from buf (pure; fuzzed).  0 and
 * *ret filled, -EAGAIN if buf holds less than the TPKT's length, -EINVAL
 * for anything else. */
int frontdoor_parse_x224(const void *buf, size_t len, struct frontdoor_x224 *ret);

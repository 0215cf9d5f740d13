/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * skyrdp's own plumbing: the configuration the listener hands each forked
 * worker, and the entry points between main.c (listener), cert.c and
 * session.c (one RDP session per process).  docs/rdp.md is the operator's
 * view.
 */

#include <stdbool.h>
#include <stdint.h>

#include "rcc.h"

enum skyrdp_auth {
	SKYRDP_AUTH_ANY, /* the client picks: NLA or TLS + password */
	SKYRDP_AUTH_TLS,
	SKYRDP_AUTH_NLA,
};

struct skyrdp_config {
	const char *listen;   /* ADDR:PORT as given */
	const char *run_dir;  /* where <vm>.display lives */
	const char *vm;       /* NULL: only one-time token logons (--tokens) */
	const char *tokens;   /* one-time logon tokens (base/tokens.h), or NULL */
	const char *users;    /* user store path */
	const char *state_dir;
	const char *cert, *key;
	char *arc_dir;        /* auto-reconnect cookies: state_dir/arc */
	uint32_t max_sessions;
	enum skyrdp_auth auth;
	uint32_t fps;
	enum rcc_link link;
	bool lossless;       /* GFX without AVC: planar, not RemoteFX */
};

/*
 * Make sure cert and key exist: when both are missing, generate a
 * self-signed RSA-2048 certificate (CN = this host's name, 10 years) and
 * write them with mode 0600.  -EEXIST when only one of them exists.
 */
int cert_ensure(const char *cert, const char *key);

/*
 * Run one RDP session on the accepted socket fd (owned) until the client
 * leaves; peer is the client's address for log lines.  refuse: the host is
 * at its session limit, answer the client with "server denied connection".
 * Returns the process exit status.
 */
int session_run(const struct skyrdp_config *cfg, int fd, const char *peer, bool local,
		bool refuse);

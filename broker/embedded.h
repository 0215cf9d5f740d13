/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * skybroker --embedded: the whole of Skylight on one machine for the
 * README (docs/broker.md): a cluster CA and certificates under STATE/pki,
 * a template for the test guest's desktop, one skyhostd child (host1 on
 * 127.0.0.2) restarted with backoff when it dies, the users demo and
 * admin with random passwords (kept in STATE/logins, mode 0600), a pool
 * and a desktop for demo once host1 has reported.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"

struct broker;

#define EMBEDDED_HOST "host1"
#define EMBEDDED_USER "demo"
#define EMBEDDED_ADMIN "admin"
#define EMBEDDED_POOL "demo"
#define EMBEDDED_DESKTOP "demo-desktop"
#define EMBEDDED_TEMPLATE "desktop"

struct embedded {
	/* set by the caller */
	const char *state_dir;
	const char *guest, *skyhostd, *skyvm, *skyrdp;
	const char *host_listen;     /* ADDR:PORT of host1's API */
	unsigned rdp_port;           /* host1's skyrdp listens on host_listen's ADDR, this port */
	unsigned heartbeat_s;        /* the broker's heartbeat interval */
	char broker_url[128];        /* the cluster API as host1 reaches it */

	/* embedded.c's */
	char pki[512], ca[512], cert[512], key[512];
	char demo_pw[64], admin_pw[64];
	pid_t child;
	unsigned restarts;
	int64_t started, next_start;
	bool host_seen, desktop_requested, desktop_told;
	int64_t desktop_job, next_request;
	/* The READY line waits for demo's desktop to exist (or the deadline). */
	char ready[1024];
	bool ready_told;
	int64_t ready_deadline;
};

/* Make STATE, the CA and the broker's and host1's certificates (kept if
 * there), and write the template.  Fills e->ca/cert/key. */
int embedded_prepare(struct embedded *e);
/* Add demo, admin and the pool where missing (passwords into e). */
int embedded_populate(struct embedded *e, struct db *db);
/* Start (or restart) skyhostd. */
int embedded_spawn(struct embedded *e);
/* The child pid exited with status: log it, plan a restart. */
void embedded_reaped(struct embedded *e, pid_t pid, int status);
/* Once a second: restart the child when due; request demo's desktop once
 * host1 reports; print e->ready once it exists (or 30 s have passed); say
 * when it runs (a "DESKTOP ..." line on stdout). */
void embedded_tick(struct embedded *e, struct broker *b, int64_t now);
/* SIGTERM the child and wait for it (bounded), then SIGKILL. */
void embedded_stop(struct embedded *e);

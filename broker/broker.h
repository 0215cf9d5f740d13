/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * skybroker's core (docs/broker.md): the state every part shares and the
 * operations the REST API, the web pages, the RDP front door and the
 * embedded set-up all use.
 *
 * Threads: the HTTP servers' threads run api_handle() and hosts_handle();
 * cfg.workers job threads (jobs.c) talk to hosts; one monitor thread
 * (hosts.c) marks silent hosts and expires desktops.  All state is in the
 * database (db.c, its own lock) except the job queue (jobs.c, queue_lock)
 * and the login limiter (auth.c, its own lock); no lock is held while
 * another is taken, nor across a call to a host.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"
#include "http.h"

struct auth_limiter;
struct json_object;

#define BROKER_SYSTEM_USER "system"
/* Expired desktops are deleted this long after they expired. */
#define BROKER_EXPIRED_KEEP_S (7 * 24 * 3600)
#define BROKER_JOBS_LIST_MAX 500

struct broker_config {
	bool enroll;                    /* self-enrollment (POST /api/v1/enroll) */
	struct auth_pam pam;            /* logins of PAM users (service NULL: off) */
	unsigned heartbeat_interval_s;  /* hosts are told this; 3 missed = not responding */
	const char *rdp_public;         /* the front door's "HOST:PORT" for .rdp files */
	/* The .rdp file for a desktop (frontdoor_rdp_file()); NULL = 404. */
	char *(*rdp_file)(const char *address, const char *user, const char *desktop);
	struct http_client_config client; /* how jobs reach hosts (CN "broker" cert) */
	unsigned workers;               /* job threads, default 2 */
	unsigned job_poll_ms;           /* how often a job asks a host about its VM (1000) */
	unsigned start_timeout_s;       /* a started VM must run within this (180) */
	unsigned stop_timeout_s;        /* a stopped one must be off within this (90) */
	bool no_threads;                /* tests: no job or monitor threads (run by hand) */
};

struct broker {
	struct broker_config cfg;
	struct db *db;
	struct auth_limiter *limiter;

	/* jobs.c */
	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cond;
	int64_t *queue;
	size_t queue_len, queue_cap;
	pthread_t *workers;
	unsigned nworkers;
	bool stopping;

	/* hosts.c */
	int64_t started; /* hosts get three intervals from here to report */
	pthread_t monitor;
	bool monitor_running;
	pthread_mutex_t monitor_lock;
	pthread_cond_t monitor_cond;
	int64_t last_purge;
};

/* Take db (closed by broker_free), recover from a previous run (jobs that
 * were running fail; half-provisioned desktops go back), start the job
 * workers and the monitor. */
int broker_new(const struct broker_config *cfg, struct db *db, struct broker **ret);
void broker_free(struct broker *b);

/* --- what users may do (broker.c) ---------------------------------------- */

/* Whether user may see and act on desktop d: its owner, an admin, or a
 * delegated admin named among its admins. */
bool broker_may_act(struct broker *b, const struct db_user *user, const struct db_desktop *d);

struct broker_desktop_request {
	/* owner NULL = the requester (an admin asking in a pooled pool: a spare);
	 * name NULL = generated (pooled pools only; ignored for assignments) */
	const char *pool, *name, *description, *owner;
	int64_t memory_mb, cpus, expiry_days;           /* -1 = the pool's */
	const char *const *admins;
	size_t nadmins;
};

/*
 * Ask for a desktop as user: checks the pool's limits and that a host can
 * take it now, adds it (Requested) and queues its provision job.  -errno
 * with a message for the client in err:
 *   -EINVAL bad request (err names the field), -EPERM not allowed,
 *   -EEXIST name taken, -EDQUOT pool full, -ENOSPC no host fits.
 */
int broker_desktop_request(struct broker *b, const struct db_user *user,
			   const struct broker_desktop_request *req, struct db_desktop *d,
			   struct db_job *job, char *err, size_t errsz);
/*
 * Pooled pools (docs/broker.md "Pooled pools"): broker_desktop_request()
 * in one gives the owner the desktop of the pool they have, else assigns
 * them a free spare (Running ones first; an Off one gets a start job),
 * else provisions a new one (POOL-N) for them; -EDQUOT when the pool is
 * full and nothing is free.  *job has id 0 when no job was queued.  An
 * admin asking with no owner gets a new unassigned spare instead.
 */
int broker_pool_assign(struct broker *b, const struct db_user *by, const struct db_pool *pool,
		       const struct db_user *owner, const struct broker_desktop_request *req,
		       struct db_desktop *d, struct db_job *job, char *err, size_t errsz);
/* A user gives back a pooled desktop: it becomes an unassigned spare again
 * and, if Running, is restarted (job queued; id 0 when none). */
int broker_desktop_release(struct broker *b, const char *user, const char *desktop,
			   struct db_job *job, char *err, size_t errsz);
/* Queue a start, stop, restart or delete of desktop (checked against its
 * state: -EBUSY, -EALREADY, -EINVAL with err) as user. */
int broker_desktop_action(struct broker *b, const char *user, const char *desktop,
			  enum job_kind kind, struct db_job *job, char *err, size_t errsz);

/* Move desktop to state `to` if the state machine allows it from where it
 * is now (logged).  0 moved or already there, -EPERM not allowed. */
int broker_desktop_move(struct broker *b, const char *desktop, enum desktop_state to,
			const char *why);

/* Free memory of every host as placement sees it, and the pick for
 * memory_mb: 0 and host name, or -ENOSPC. */
int broker_place(struct broker *b, int64_t memory_mb, char host[DB_NAME_MAX + 1]);

/* --- jobs.c --------------------------------------------------------------- */

/* Add a queued job for desktop (which gets it as its running job; -EBUSY
 * if it has one) and hand it to the workers. */
int jobs_submit(struct broker *b, enum job_kind kind, const char *desktop, const char *user,
		struct db_job *job);
/* Run one job to its end on this thread (what a worker does). */
void jobs_run(struct broker *b, int64_t id);
int jobs_start(struct broker *b);
void jobs_stop(struct broker *b);
/* Tests (no_threads): run queued jobs until none is left. */
void jobs_drain(struct broker *b);

/*
 * One call to a host's API (docs/api.md §3): path under its api_url.
 * *status and *reply as http_client_request(); -EHOSTDOWN when the host is
 * unknown or not responding.
 */
int broker_host_call(struct broker *b, const char *host, const char *method, const char *path,
		     struct json_object *body, long *status, struct json_object **reply);

/* --- hosts.c -------------------------------------------------------------- */

/* The cluster API (POST /cluster/v1/heartbeat, client certificate CN =
 * host name). */
struct http_response *hosts_handle(struct broker *b, const struct http_request *req);
/* The same as the cluster server's handler (data: the struct broker). */
struct http_response *hosts_server_handle(const struct http_request *req, void *data);
/* Apply a parsed HostReport of host name: register/update it and reconcile
 * its desktops.  Returns 0 or -errno. */
struct apijson_vm;
int hosts_report(struct broker *b, const struct db_host *h, const struct apijson_vm *vms,
		 size_t nvms, int64_t now);
/* What the monitor does every interval: hosts silent for 3 intervals are
 * not responding (and their desktops), desktops past expiry get an expire
 * job, expired ones past BROKER_EXPIRED_KEEP_S a delete job. */
void hosts_tick(struct broker *b, int64_t now);
int hosts_monitor_start(struct broker *b);
void hosts_monitor_stop(struct broker *b);

/* --- rdpops.c -------------------------------------------------------------- */

/* The RDP front door's ops (frontdoor.h); their data is the struct broker. */
struct frontdoor_ops;
extern const struct frontdoor_ops broker_frontdoor_ops;

/* --- api.c ----------------------------------------------------------------- */

/* The REST API: every request whose path starts with /api/. */
struct http_response *api_handle(struct broker *b, const struct http_request *req);

/* The JSON objects of docs/api.md §1 (new references; NULL on ENOMEM). */
struct json_object *api_user_json(const struct db_user *u);
struct json_object *api_pool_json(const struct db_pool *p);
struct json_object *api_desktop_json(struct broker *b, const struct db_desktop *d);
struct json_object *api_host_json(const struct db_host *h);
struct json_object *api_job_json(const struct db_job *j);
/* Lists as the API returns them for viewer (all: every desktop, admins). */
struct json_object *api_desktops_json(struct broker *b, const struct db_user *viewer, bool all);
struct json_object *api_pools_json(struct broker *b);
struct json_object *api_users_json(struct broker *b);
struct json_object *api_hosts_json(struct broker *b);
struct json_object *api_jobs_json(struct broker *b, const struct db_user *viewer, size_t limit);

/* The user and session a request carries (cookie or bearer token), for
 * the page routes: 0, or -ENOENT (none, unknown or expired). */
int api_session(struct broker *b, const struct http_request *req, struct db_user *u,
		struct db_session *s, bool *by_cookie);

/* RFC 3339 UTC ("2026-11-26T17:00:00Z") into out[21]. */
void api_format_time(int64_t t, char out[32]);

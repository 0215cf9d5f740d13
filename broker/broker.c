// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skybroker's core state and the operations on desktops every front end
 * shares (broker.h): requesting one, acting on one, moving it through the
 * state machine (desktop.c), placing it (placement.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apijson.h"
#include "auth.h"
#include "broker.h"
#include "log.h"
#include "placement.h"

LOG_SCOPE("broker.core");

/* Non-admins may ask for at least this much memory per desktop (and at most
 * their pool's). */
#define DESKTOP_MEMORY_MIN_MB 64
/* Generated names of pooled desktops go up to POOL-<this>. */
#define POOLED_NAMES_MAX 10000

static int add_desktop(struct broker *b, const struct db_user *user, const struct db_pool *p,
		       const char *owner, const struct broker_desktop_request *req,
		       const char *name, struct db_desktop *d, struct db_job *job, char *err,
		       size_t errsz);

static int recover(struct broker *b)
{
	struct db_desktop *list = NULL;
	size_t n, i;
	int r;

	r = db_job_fail_unfinished(b->db, "skybroker restarted", time(NULL));
	if (r < 0)
		return r;
	r = db_desktop_list(b->db, NULL, &list, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		enum desktop_state from = DESKTOP_PROVISIONING;

		if (list[i].state != DESKTOP_PROVISIONING)
			continue;
		/* With a VM on its host it is Off until the host says more;
		 * without, it is provisioned again on its next start. */
		db_desktop_set_state(b->db, list[i].name, &from,
				     list[i].vm[0] ? DESKTOP_OFF : DESKTOP_REQUESTED);
		log_info("desktop %s: provisioning was cut short by a restart", list[i].name);
	}
	free(list);
	return 0;
}

int broker_new(const struct broker_config *cfg, struct db *db, struct broker **ret)
{
	struct broker *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	if (!b->cfg.heartbeat_interval_s)
		b->cfg.heartbeat_interval_s = 10;
	if (!b->cfg.workers)
		b->cfg.workers = 2;
	if (!b->cfg.job_poll_ms)
		b->cfg.job_poll_ms = 1000;
	if (!b->cfg.start_timeout_s)
		b->cfg.start_timeout_s = 180;
	if (!b->cfg.stop_timeout_s)
		b->cfg.stop_timeout_s = 90;
	b->db = db;
	b->started = time(NULL);
	pthread_mutex_init(&b->queue_lock, NULL);
	pthread_cond_init(&b->queue_cond, NULL);
	pthread_mutex_init(&b->monitor_lock, NULL);
	pthread_cond_init(&b->monitor_cond, NULL);
	r = auth_limiter_new(&b->limiter);
	if (r < 0)
		goto fail;
	r = recover(b);
	if (r < 0)
		goto fail;
	if (!b->cfg.no_threads) {
		r = jobs_start(b);
		if (r < 0)
			goto fail;
		r = hosts_monitor_start(b);
		if (r < 0)
			goto fail;
	}
	*ret = b;
	return 0;
fail:
	b->db = NULL; /* the caller's on failure */
	broker_free(b);
	return r;
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	hosts_monitor_stop(b);
	jobs_stop(b);
	auth_limiter_free(b->limiter);
	db_close(b->db);
	free(b->queue);
	pthread_mutex_destroy(&b->queue_lock);
	pthread_cond_destroy(&b->queue_cond);
	pthread_mutex_destroy(&b->monitor_lock);
	pthread_cond_destroy(&b->monitor_cond);
	free(b);
}

bool broker_may_act(struct broker *b, const struct db_user *user, const struct db_desktop *d)
{
	if (user->role == ROLE_ADMIN || !strcmp(user->name, d->owner))
		return true;
	return user->role == ROLE_DELEGATED_ADMIN &&
	       db_desktop_is_admin(b->db, d->name, user->name);
}

int broker_desktop_move(struct broker *b, const char *desktop, enum desktop_state to,
			const char *why)
{
	struct db_desktop d;
	int r, tries;

	/* Compare-and-set: a heartbeat may move it between read and write. */
	for (tries = 0; tries < 3; tries++) {
		r = db_desktop_get(b->db, desktop, &d);
		if (r < 0)
			return r;
		if (d.state == to)
			return 0;
		if (!desktop_transition_allowed(d.state, to))
			return -EPERM;
		r = db_desktop_set_state(b->db, desktop, &d.state, to);
		if (r == 0) {
			log_info("desktop %s: %s -> %s (%s)", desktop, desktop_state_name(d.state),
				 desktop_state_name(to), why);
			return 0;
		}
		if (r != -ESTALE)
			return r;
	}
	return -EBUSY;
}

int broker_place(struct broker *b, int64_t memory_mb, char host[DB_NAME_MAX + 1])
{
	struct placement_host *ph = NULL;
	struct db_host *hosts = NULL;
	size_t n, i;
	int r;

	r = db_host_list(b->db, &hosts, &n);
	if (r < 0)
		return r;
	ph = calloc(n ? n : 1, sizeof(*ph));
	if (!ph) {
		free(hosts);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		ph[i].name = hosts[i].name;
		ph[i].healthy = hosts[i].healthy;
		ph[i].maintenance = hosts[i].maintenance;
		/* What the host reports, less desktops promised to it that it
		 * does not run yet. */
		ph[i].mem_free_mb = hosts[i].mem_free_mb - hosts[i].reserved_mb;
	}
	r = placement_pick(ph, n, memory_mb);
	if (r >= 0) {
		snprintf(host, DB_NAME_MAX + 1, "%s", hosts[r].name);
		r = 0;
	}
	free(ph);
	free(hosts);
	return r;
}

static int fail(char *err, size_t errsz, int r, const char *fmt, ...) _printf_(4, 5);

static int fail(char *err, size_t errsz, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return r;
}

int broker_desktop_request(struct broker *b, const struct db_user *user,
			   const struct broker_desktop_request *req, struct db_desktop *d,
			   struct db_job *job, char *err, size_t errsz)
{
	bool admin = user->role == ROLE_ADMIN;
	struct db_user owner;
	struct db_pool pool;
	int r;

	r = db_pool_get(b->db, req->pool, &pool);
	if (r == -ENOENT)
		return fail(err, errsz, -EINVAL, "pool: no pool named %s", req->pool);
	if (r < 0)
		return fail(err, errsz, r, "database error");
	if (req->owner && strcmp(req->owner, user->name)) {
		if (!admin)
			return fail(err, errsz, -EPERM, "owner: only admins ask for others");
		if (db_user_get(b->db, req->owner, &owner) < 0)
			return fail(err, errsz, -EINVAL, "owner: no user named %s", req->owner);
	} else {
		owner = *user;
	}
	if (pool.kind == POOL_POOLED) {
		/* An admin naming nobody adds a spare; anyone else is assigned one. */
		if (admin && !req->owner)
			return add_desktop(b, user, &pool, "", req, req->name, d, job, err, errsz);
		return broker_pool_assign(b, user, &pool, &owner, req, d, job, err, errsz);
	}
	if (!req->name)
		return fail(err, errsz, -EINVAL, "name: required");
	return add_desktop(b, user, &pool, owner.name, req, req->name, d, job, err, errsz);
}

/* "POOL-N", the pool's name cut to fit, for the first N not taken. */
static int generate_name(struct broker *b, const char *pool, char name[DB_NAME_MAX + 1])
{
	struct db_desktop other;
	unsigned n;
	int r;

	for (n = 1; n <= POOLED_NAMES_MAX; n++) {
		char num[16];
		int len = snprintf(num, sizeof(num), "-%u", n);

		snprintf(name, DB_NAME_MAX + 1, "%.*s%s", DB_NAME_MAX - len, pool, num);
		r = db_desktop_get(b->db, name, &other);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	return -EEXIST;
}

/* Check req against pool, add the desktop (owner "" = an unassigned spare;
 * name NULL = generated) and queue its provision job. */
static int add_desktop(struct broker *b, const struct db_user *user, const struct db_pool *p,
		       const char *owner, const struct broker_desktop_request *req,
		       const char *name, struct db_desktop *d, struct db_job *job, char *err,
		       size_t errsz)
{
	bool admin = user->role == ROLE_ADMIN;
	const struct db_pool pool = *p;
	char host[DB_NAME_MAX + 1];
	int64_t now = time(NULL);
	struct db_user a;
	unsigned tries;
	size_t i;
	int r;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
	snprintf(d->description, sizeof(d->description), "%s",
		 req->description ? req->description : "");
	snprintf(d->pool, sizeof(d->pool), "%s", pool.name);
	snprintf(d->owner, sizeof(d->owner), "%s", owner);
	d->state = DESKTOP_REQUESTED;
	d->created = now;
	d->memory_mb = req->memory_mb >= 0 ? req->memory_mb : pool.memory_mb;
	d->cpus = req->cpus >= 0 ? req->cpus : pool.cpus;
	/* The pool's sizes are what non-admins may ask for at most. */
	if (!admin && (d->memory_mb < DESKTOP_MEMORY_MIN_MB || d->memory_mb > pool.memory_mb))
		return fail(err, errsz, -EINVAL, "memory_mb: from %d to %lld in pool %s",
			    DESKTOP_MEMORY_MIN_MB, (long long)pool.memory_mb, pool.name);
	if (!admin && d->cpus > pool.cpus)
		return fail(err, errsz, -EINVAL, "cpus: from 1 to %lld in pool %s",
			    (long long)pool.cpus, pool.name);
	if (req->expiry_days >= 0) {
		if (!admin && pool.expiry_days &&
		    (req->expiry_days == 0 || req->expiry_days > pool.expiry_days))
			return fail(err, errsz, -EINVAL, "expiry_days: from 1 to %lld in pool %s",
				    (long long)pool.expiry_days, pool.name);
		d->expires = req->expiry_days ? now + req->expiry_days * 86400 : 0;
	} else if (pool.expiry_days) {
		d->expires = now + pool.expiry_days * 86400;
	}
	for (i = 0; i < req->nadmins; i++) {
		if (db_user_get(b->db, req->admins[i], &a) < 0)
			return fail(err, errsz, -EINVAL, "admins: no user named %s",
				    req->admins[i]);
		if (a.role == ROLE_USER)
			return fail(err, errsz, -EINVAL, "admins: %s is not a delegated admin",
				    a.name);
	}

	/* Refuse now what no host could take (503); the provision job places
	 * it for real. */
	r = broker_place(b, d->memory_mb, host);
	if (r == -ENOSPC)
		return fail(err, errsz, -ENOSPC, "no host can take a desktop of %lld MiB now",
			    (long long)d->memory_mb);
	if (r < 0)
		return fail(err, errsz, r, "database error");

	/* Promised to that host until the job places it for real, so that the
	 * next request sees the memory taken. */
	snprintf(d->host, sizeof(d->host), "%s", host);
	for (tries = 0;; tries++) {
		if (!name) {
			r = generate_name(b, pool.name, d->name);
			if (r < 0)
				return fail(err, errsz, r, "pool %s: no free desktop name",
					    pool.name);
		}
		r = db_desktop_add(b->db, d, req->admins, req->nadmins);
		/* A generated name taken meanwhile: the next one. */
		if (r != -EEXIST || name || tries >= 3)
			break;
	}
	if (r == -EEXIST)
		return fail(err, errsz, r, "a desktop named %s exists", d->name);
	if (r == -EDQUOT)
		return fail(err, errsz, r, "pool %s is full (%lld desktops)", pool.name,
			    (long long)pool.max_desktops);
	if (r == -EUSERS)
		return fail(err, errsz, r, "%s has %lld desktop%s in pool %s already, the most it "
			    "allows each user", d->owner, (long long)pool.max_per_user,
			    pool.max_per_user == 1 ? "" : "s", pool.name);
	if (r == -EBUSY) /* a user or admin was deleted meanwhile */
		return fail(err, errsz, -EINVAL, "owner or admins: no such user");
	if (r < 0)
		return fail(err, errsz, r, "database error");
	log_info("desktop %s requested by %s for %s in pool %s (%lld MiB, %lld CPUs)", d->name,
		 user->name, d->owner[0] ? d->owner : "(a spare)", d->pool,
		 (long long)d->memory_mb, (long long)d->cpus);
	r = jobs_submit(b, JOB_PROVISION, d->name, user->name, job);
	if (r < 0)
		return fail(err, errsz, r, "could not queue its job");
	/* Again, with its job. */
	db_desktop_get(b->db, d->name, d);
	return 0;
}

/* How good a free spare is to hand out: Running, then on its way, then
 * one that can be started; -1 never. */
static int spare_score(enum desktop_state s)
{
	switch (s) {
	case DESKTOP_RUNNING: return 3;
	case DESKTOP_REQUESTED:
	case DESKTOP_PROVISIONING: return 2;
	case DESKTOP_OFF:
	case DESKTOP_SAVED: return 1;
	default: return -1;
	}
}

int broker_pool_assign(struct broker *b, const struct db_user *by, const struct db_pool *pool,
		       const struct db_user *owner, const struct broker_desktop_request *req,
		       struct db_desktop *d, struct db_job *job, char *err, size_t errsz)
{
	struct db_desktop *list = NULL;
	char why[128];
	size_t n, i;
	int r, best;

	memset(job, 0, sizeof(*job));
	r = db_desktop_list(b->db, NULL, &list, &n);
	if (r < 0)
		return fail(err, errsz, r, "database error");
	/* One desktop per user and pooled pool: the one they have. */
	for (i = 0; i < n; i++) {
		if (!strcmp(list[i].pool, pool->name) && !strcmp(list[i].owner, owner->name) &&
		    list[i].state != DESKTOP_EXPIRED) {
			*d = list[i];
			free(list);
			return 0;
		}
	}
	for (;;) {
		best = -1;
		for (i = 0; i < n; i++) {
			if (strcmp(list[i].pool, pool->name) || list[i].owner[0] ||
			    spare_score(list[i].state) < 0)
				continue;
			if (best < 0 || spare_score(list[i].state) > spare_score(list[best].state))
				best = (int)i;
		}
		if (best < 0)
			break;
		r = db_desktop_set_owner(b->db, list[best].name, owner->name);
		if (r == -ESTALE || r == -ENOENT) {
			/* Taken or gone meanwhile: not a candidate any more. */
			list[best].owner[0] = '-';
			continue;
		}
		if (r < 0) {
			free(list);
			return fail(err, errsz, r, "database error");
		}
		log_info("pool %s: desktop %s (%s) assigned to %s by %s", pool->name,
			 list[best].name, desktop_state_name(list[best].state), owner->name,
			 by->name);
		if ((list[best].state == DESKTOP_OFF || list[best].state == DESKTOP_SAVED) &&
		    !list[best].job &&
		    broker_desktop_action(b, by->name, list[best].name, JOB_START, job, why,
					  sizeof(why)) < 0) {
			log_warn("pool %s: desktop %s: %s", pool->name, list[best].name, why);
			memset(job, 0, sizeof(*job));
		}
		r = db_desktop_get(b->db, list[best].name, d);
		free(list);
		return r < 0 ? fail(err, errsz, r, "database error") : 0;
	}
	free(list);
	/* Nothing free: a new one for them, named by the broker. */
	r = add_desktop(b, by, pool, owner->name, req, NULL, d, job, err, errsz);
	if (r == -EDQUOT)
		return fail(err, errsz, r, "pool %s is full (%lld desktops) and none is free",
			    pool->name, (long long)pool->max_desktops);
	return r;
}

int broker_desktop_release(struct broker *b, const char *user, const char *desktop,
			   struct db_job *job, char *err, size_t errsz)
{
	struct db_desktop d;
	int r;

	memset(job, 0, sizeof(*job));
	r = db_desktop_get(b->db, desktop, &d);
	if (r < 0)
		return fail(err, errsz, r, "no desktop named %s", desktop);
	if (d.job)
		return fail(err, errsz, -EBUSY, "desktop %s is busy with job %lld", d.name,
			    (long long)d.job);
	r = db_desktop_set_owner(b->db, d.name, NULL);
	if (r < 0)
		return fail(err, errsz, r, "database error");
	log_info("pool %s: desktop %s released by %s", d.pool, d.name, user);
	/* A fresh boot for the next user: no session of this one left. */
	if (d.state == DESKTOP_RUNNING &&
	    broker_desktop_action(b, user, d.name, JOB_RESTART, job, err, errsz) < 0) {
		log_warn("desktop %s: no restart after its release: %s", d.name, err);
		memset(job, 0, sizeof(*job));
	}
	return 0;
}

int broker_desktop_action(struct broker *b, const char *user, const char *desktop,
			  enum job_kind kind, struct db_job *job, char *err, size_t errsz)
{
	static const enum desktop_action actions[JOB_KIND_MAX] = {
		[JOB_START] = DESKTOP_START,
		[JOB_STOP] = DESKTOP_STOP,
		[JOB_RESTART] = DESKTOP_RESTART,
		[JOB_DELETE] = DESKTOP_DELETE,
	};
	struct db_desktop d;
	int r;

	if (kind != JOB_START && kind != JOB_STOP && kind != JOB_RESTART && kind != JOB_DELETE)
		return fail(err, errsz, -EINVAL, "no such action");
	r = db_desktop_get(b->db, desktop, &d);
	if (r < 0)
		return fail(err, errsz, r, "no desktop named %s", desktop);
	if (d.job)
		return fail(err, errsz, -EBUSY, "desktop %s is busy with job %lld", d.name,
			    (long long)d.job);
	r = desktop_action_check(d.state, actions[kind]);
	if (r == -EALREADY)
		return fail(err, errsz, r, "desktop %s is %s already", d.name,
			    desktop_state_name(d.state));
	if (r < 0) /* never or not now: a conflict with its state either way */
		return fail(err, errsz, -EBUSY, "desktop %s cannot %s while %s", d.name,
			    job_kind_name(kind), desktop_state_name(d.state));
	r = jobs_submit(b, kind, d.name, user, job);
	if (r == -EBUSY)
		return fail(err, errsz, r, "desktop %s is busy with another job", d.name);
	if (r < 0)
		return fail(err, errsz, r, "could not queue the job");
	log_info("desktop %s: %s job %lld queued by %s", d.name, job_kind_name(kind),
		 (long long)job->id, user);
	return 0;
}

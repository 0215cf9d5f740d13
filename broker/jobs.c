// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Jobs (broker.h): a queue of job ids and cfg.workers threads that run
 * them.  A job talks to its desktop's host over the host API (docs/api.md
 * §3) with the broker's client certificate, records its progress in the
 * database as it goes, and moves the desktop through the state machine.
 * A started desktop is Running when its host says its VM runs: the job
 * asks (GET /v1/vms/{name}) every job_poll_ms, up to start_timeout_s;
 * heartbeats may get there first (hosts.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "log.h"

LOG_SCOPE("broker.jobs");

struct job {
	struct broker *b;
	struct db_job j;
};

/* --- the queue ----------------------------------------------------------------- */

static int enqueue(struct broker *b, int64_t id)
{
	int r = 0;

	pthread_mutex_lock(&b->queue_lock);
	if (b->queue_len == b->queue_cap) {
		size_t cap = b->queue_cap ? b->queue_cap * 2 : 32;
		int64_t *q = reallocarray(b->queue, cap, sizeof(*q));

		if (!q) {
			r = -ENOMEM;
			goto out;
		}
		b->queue = q;
		b->queue_cap = cap;
	}
	b->queue[b->queue_len++] = id;
	pthread_cond_signal(&b->queue_cond);
out:
	pthread_mutex_unlock(&b->queue_lock);
	return r;
}

/* Caller holds queue_lock. */
static int64_t dequeue_locked(struct broker *b)
{
	int64_t id = b->queue[0];

	memmove(b->queue, b->queue + 1, (b->queue_len - 1) * sizeof(*b->queue));
	b->queue_len--;
	return id;
}

int jobs_submit(struct broker *b, enum job_kind kind, const char *desktop, const char *user,
		struct db_job *job)
{
	struct db_desktop d;
	int r;

	memset(job, 0, sizeof(*job));
	job->kind = kind;
	job->state = JOB_QUEUED;
	snprintf(job->desktop, sizeof(job->desktop), "%s", desktop);
	snprintf(job->user, sizeof(job->user), "%s", user);
	snprintf(job->message, sizeof(job->message), "queued");
	if (db_desktop_get(b->db, desktop, &d) == 0)
		snprintf(job->host, sizeof(job->host), "%s", d.host);
	r = db_job_add(b->db, job);
	if (r < 0)
		return r;
	r = enqueue(b, job->id);
	if (r < 0) {
		job->state = JOB_FAILED;
		snprintf(job->message, sizeof(job->message), "could not be queued");
		db_job_update(b->db, job);
	}
	return r;
}

/* Sleep ms unless the broker stops: false if it does. */
static bool nap(struct broker *b, unsigned ms)
{
	struct timespec ts;
	bool stopping;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->queue_lock);
	while (!b->stopping && pthread_cond_timedwait(&b->queue_cond, &b->queue_lock, &ts) == 0)
		;
	stopping = b->stopping;
	pthread_mutex_unlock(&b->queue_lock);
	return !stopping;
}

static void *worker(void *arg)
{
	struct broker *b = arg;
	int64_t id;

	for (;;) {
		pthread_mutex_lock(&b->queue_lock);
		while (!b->stopping && !b->queue_len)
			pthread_cond_wait(&b->queue_cond, &b->queue_lock);
		if (b->stopping) {
			pthread_mutex_unlock(&b->queue_lock);
			return NULL;
		}
		id = dequeue_locked(b);
		pthread_mutex_unlock(&b->queue_lock);
		jobs_run(b, id);
	}
}

int jobs_start(struct broker *b)
{
	unsigned i;
	int r;

	b->workers = calloc(b->cfg.workers, sizeof(*b->workers));
	if (!b->workers)
		return -ENOMEM;
	for (i = 0; i < b->cfg.workers; i++) {
		r = -pthread_create(&b->workers[i], NULL, worker, b);
		if (r < 0)
			return r;
		b->nworkers++;
	}
	return 0;
}

void jobs_stop(struct broker *b)
{
	unsigned i;

	pthread_mutex_lock(&b->queue_lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->queue_cond);
	pthread_mutex_unlock(&b->queue_lock);
	for (i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	b->nworkers = 0;
	free(b->workers);
	b->workers = NULL;
}

void jobs_drain(struct broker *b)
{
	int64_t id;

	for (;;) {
		pthread_mutex_lock(&b->queue_lock);
		if (!b->queue_len) {
			pthread_mutex_unlock(&b->queue_lock);
			return;
		}
		id = dequeue_locked(b);
		pthread_mutex_unlock(&b->queue_lock);
		jobs_run(b, id);
	}
}

/* --- talking to hosts ---------------------------------------------------------- */

int broker_host_call(struct broker *b, const char *host, const char *method, const char *path,
		     struct json_object *body, long *status, struct json_object **reply)
{
	struct db_host h;
	char url[DB_URL_MAX + 256];
	size_t n;
	int r;

	r = db_host_get(b->db, host, &h);
	if (r < 0)
		return r == -ENOENT ? -EHOSTDOWN : r;
	if (!h.healthy)
		return -EHOSTDOWN;
	n = strlen(h.api_url);
	while (n && h.api_url[n - 1] == '/')
		n--;
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)n, h.api_url, path) >= sizeof(url))
		return -ENAMETOOLONG;
	return http_client_request(&b->cfg.client, method, url, body, status, reply);
}

/* --- one job ---------------------------------------------------------------------- */

static void progress(struct job *jb, int pct, const char *fmt, ...) _printf_(3, 4);

static void progress(struct job *jb, int pct, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(jb->j.message, sizeof(jb->j.message), fmt, ap);
	va_end(ap);
	jb->j.progress = pct;
	jb->j.state = JOB_RUNNING;
	db_job_update(jb->b->db, &jb->j);
	log_debug("job %lld (%s %s): %d%% %s", (long long)jb->j.id, job_kind_name(jb->j.kind),
		  jb->j.desktop, pct, jb->j.message);
}

static int failed(struct job *jb, int r, const char *fmt, ...) _printf_(3, 4);

static int failed(struct job *jb, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(jb->j.message, sizeof(jb->j.message), fmt, ap);
	va_end(ap);
	return r < 0 ? r : -EIO;
}

/* "connection refused", "HTTP 500: message" ... for job messages. */
static void describe(int r, long status, struct json_object *reply, char *out, size_t size)
{
	struct json_object *e;

	if (r == -EHOSTDOWN)
		snprintf(out, size, "host not responding");
	else if (r < 0)
		snprintf(out, size, "%s", strerror(-r));
	else if (reply && json_object_object_get_ex(reply, "error", &e))
		snprintf(out, size, "HTTP %ld: %.160s", status, json_object_get_string(e));
	else
		snprintf(out, size, "HTTP %ld", status);
}

/* A call expecting one of two statuses: 0, or -EIO with why filled. */
static int call(struct job *jb, const char *method, const char *path, struct json_object *body,
		long ok1, long ok2, struct json_object **reply, char *why, size_t whysz)
{
	struct json_object *rep = NULL;
	long status = 0;
	int r;

	r = broker_host_call(jb->b, jb->j.host, method, path, body, &status, &rep);
	json_object_put(body);
	if (r == 0 && (status == ok1 || status == ok2)) {
		if (reply)
			*reply = rep;
		else
			json_object_put(rep);
		return 0;
	}
	describe(r, status, rep, why, whysz);
	json_object_put(rep);
	if (r < 0)
		return r;
	return status == 404 ? -ENOENT : status == 409 ? -EEXIST : -EIO;
}

static const char *vm_field(struct json_object *vm, const char *key)
{
	struct json_object *v;

	if (!vm || !json_object_object_get_ex(vm, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The VM's "started" now (into out, "" if none). */
static void vm_started(struct job *jb, const char *vm, char *out, size_t size)
{
	struct json_object *rep = NULL;
	char path[128], why[200];
	const char *s;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	if (call(jb, "GET", path, NULL, 200, 200, &rep, why, sizeof(why)) == 0) {
		s = vm_field(rep, "started");
		if (s)
			snprintf(out, size, "%s", s);
	}
	json_object_put(rep);
}

/*
 * Ask the host about vm until it is in state want (and, with not_started,
 * has a "started" other than that), up to timeout_s.  0, -ETIMEDOUT,
 * -ECANCELED (the broker stops), -ENOENT (the host has no such VM).
 */
static int wait_vm(struct job *jb, const char *vm, const char *want, unsigned timeout_s,
		   const char *not_started, char *why, size_t whysz)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	char path[128], last[32] = "";
	int r;

	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	for (;;) {
		struct json_object *rep = NULL;

		r = call(jb, "GET", path, NULL, 200, 200, &rep, why, whysz);
		if (r == -ENOENT) {
			return r;
		} else if (r == 0) {
			const char *st = vm_field(rep, "state");
			const char *started = vm_field(rep, "started");
			bool done = st && !strcmp(st, want) &&
				    (!not_started || !*not_started || !started ||
				     strcmp(started, not_started));

			snprintf(last, sizeof(last), "%s", st ? st : "?");
			json_object_put(rep);
			if (done)
				return 0;
		}
		/* Errors on the way (a slow host, a lost heartbeat) are
		 * retried until the deadline. */
		if (now_ns() >= deadline) {
			if (last[0])
				snprintf(why, whysz, "still %s after %u s", last, timeout_s);
			else if (!why[0])
				snprintf(why, whysz, "no answer within %u s", timeout_s);
			return -ETIMEDOUT;
		}
		if (!nap(jb->b, jb->b->cfg.job_poll_ms))
			return -ECANCELED;
	}
}

static struct json_object *vm_spec(const struct db_pool *pool, const struct db_desktop *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "template", json_object_new_string(pool->template));
	json_object_object_add(o, "memory_mb", json_object_new_int64(d->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(d->cpus));
	return o;
}

static int start_and_wait(struct job *jb, const struct db_desktop *d, int pct)
{
	char path[128], why[200] = "";
	int r;

	snprintf(path, sizeof(path), "/v1/vms/%s/start", d->vm);
	r = call(jb, "POST", path, NULL, 202, 200, NULL, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "starting the VM on %s failed: %s", jb->j.host, why);
	progress(jb, pct, "waiting for the desktop to run on %s", jb->j.host);
	r = wait_vm(jb, d->vm, "running", jb->b->cfg.start_timeout_s, NULL, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "the desktop did not run: %s", why);
	broker_desktop_move(jb->b, d->name, DESKTOP_RUNNING, "its VM runs");
	snprintf(jb->j.message, sizeof(jb->j.message), "running on %s", jb->j.host);
	return 0;
}

static int run_provision(struct job *jb, struct db_desktop *d)
{
	struct broker *b = jb->b;
	enum desktop_state from = DESKTOP_REQUESTED;
	struct db_pool pool;
	char host[DB_NAME_MAX + 1], path[128], why[200] = "";
	int r;

	r = db_desktop_set_state(b->db, d->name, &from, DESKTOP_PROVISIONING);
	if (r < 0)
		return failed(jb, r, "the desktop is %s, not Requested",
			      desktop_state_name(d->state));
	log_info("desktop %s: Requested -> Provisioning (job %lld)", d->name, (long long)jb->j.id);
	r = db_pool_get(b->db, d->pool, &pool);
	if (r < 0) {
		r = failed(jb, r, "its pool %s is gone", d->pool);
		goto back;
	}
	/* Placed now, not when it was asked for: hosts come and go. */
	db_desktop_set_placement(b->db, d->name, NULL, NULL);
	r = broker_place(b, d->memory_mb, host);
	if (r < 0) {
		r = failed(jb, r, "no host can take a desktop of %lld MiB",
			   (long long)d->memory_mb);
		goto back;
	}
	db_desktop_set_placement(b->db, d->name, host, NULL);
	snprintf(jb->j.host, sizeof(jb->j.host), "%s", host);
	snprintf(d->host, sizeof(d->host), "%s", host);
	progress(jb, 20, "placed on %s; creating the VM", host);

	snprintf(path, sizeof(path), "/v1/vms/%s", d->name);
	r = call(jb, "PUT", path, vm_spec(&pool, d), 201, 200, NULL, why, sizeof(why));
	if (r == -EEXIST) {
		/* Made by an earlier try that did not finish. */
		log_info("desktop %s: its VM exists on %s already", d->name, host);
	} else if (r < 0) {
		r = failed(jb, r, "creating the VM on %s failed: %s", host, why);
		db_desktop_set_placement(b->db, d->name, NULL, NULL);
		goto back;
	}
	db_desktop_set_placement(b->db, d->name, host, d->name);
	snprintf(d->vm, sizeof(d->vm), "%s", d->name);
	progress(jb, 50, "starting the VM on %s", host);
	r = start_and_wait(jb, d, 70);
	if (r < 0)
		broker_desktop_move(b, d->name, DESKTOP_OFF, "its start failed");
	return r;
back:
	broker_desktop_move(b, d->name, DESKTOP_REQUESTED, "provisioning failed");
	return r;
}

static int run_start(struct job *jb, struct db_desktop *d)
{
	if (d->state == DESKTOP_REQUESTED)
		return run_provision(jb, d);
	if (d->state == DESKTOP_RUNNING) {
		snprintf(jb->j.message, sizeof(jb->j.message), "running already");
		return 0;
	}
	if (!d->host[0] || !d->vm[0])
		return failed(jb, -EINVAL, "the desktop has no VM");
	snprintf(jb->j.host, sizeof(jb->j.host), "%s", d->host);
	progress(jb, 10, "starting the VM on %s", d->host);
	return start_and_wait(jb, d, 40);
}

static int stop_and_wait(struct job *jb, const struct db_desktop *d, int pct)
{
	char path[128], why[200] = "";
	int r;

	snprintf(path, sizeof(path), "/v1/vms/%s/stop", d->vm);
	r = call(jb, "POST", path, NULL, 202, 200, NULL, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "stopping the VM on %s failed: %s", d->host, why);
	progress(jb, pct, "waiting for the desktop to shut down");
	r = wait_vm(jb, d->vm, "off", jb->b->cfg.stop_timeout_s, NULL, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "the desktop did not stop: %s", why);
	return 0;
}

static int run_stop(struct job *jb, struct db_desktop *d)
{
	int r;

	if (!d->host[0] || !d->vm[0])
		return failed(jb, -EINVAL, "the desktop has no VM");
	snprintf(jb->j.host, sizeof(jb->j.host), "%s", d->host);
	progress(jb, 10, "asking the desktop on %s to shut down", d->host);
	r = stop_and_wait(jb, d, 30);
	if (r < 0)
		return r;
	broker_desktop_move(jb->b, d->name, DESKTOP_OFF, "its VM stopped");
	snprintf(jb->j.message, sizeof(jb->j.message), "off");
	return 0;
}

static int run_restart(struct job *jb, struct db_desktop *d)
{
	char path[128], why[200] = "", before[64];
	int r;

	if (!d->host[0] || !d->vm[0])
		return failed(jb, -EINVAL, "the desktop has no VM");
	snprintf(jb->j.host, sizeof(jb->j.host), "%s", d->host);
	vm_started(jb, d->vm, before, sizeof(before));
	progress(jb, 10, "restarting the VM on %s", d->host);
	snprintf(path, sizeof(path), "/v1/vms/%s/restart", d->vm);
	r = call(jb, "POST", path, NULL, 202, 200, NULL, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "restarting the VM on %s failed: %s", d->host, why);
	progress(jb, 40, "waiting for the desktop to run again");
	r = wait_vm(jb, d->vm, "running", jb->b->cfg.start_timeout_s + jb->b->cfg.stop_timeout_s,
		    before, why, sizeof(why));
	if (r < 0)
		return failed(jb, r, "the desktop did not come back: %s", why);
	broker_desktop_move(jb->b, d->name, DESKTOP_RUNNING, "restarted");
	snprintf(jb->j.message, sizeof(jb->j.message), "running on %s", d->host);
	return 0;
}

static int run_delete(struct job *jb, struct db_desktop *d)
{
	struct db_host h;
	char path[128], why[200] = "";
	int r;

	if (d->host[0] && d->vm[0]) {
		snprintf(jb->j.host, sizeof(jb->j.host), "%s", d->host);
		if (db_host_get(jb->b->db, d->host, &h) == -ENOENT) {
			log_warn("desktop %s: its host %s is unknown; forgetting it", d->name,
				 d->host);
		} else {
			progress(jb, 20, "deleting the VM on %s", d->host);
			snprintf(path, sizeof(path), "/v1/vms/%s", d->vm);
			r = call(jb, "DELETE", path, NULL, 204, 200, NULL, why, sizeof(why));
			if (r < 0 && r != -ENOENT)
				return failed(jb, r, "deleting the VM on %s failed: %s", d->host,
					      why);
		}
	}
	r = db_desktop_delete(jb->b->db, d->name);
	if (r < 0 && r != -ENOENT)
		return failed(jb, r, "the database refused: %s", strerror(-r));
	log_info("desktop %s deleted (job %lld, by %s)", d->name, (long long)jb->j.id, jb->j.user);
	snprintf(jb->j.message, sizeof(jb->j.message), "deleted");
	return 0;
}

static int run_expire(struct job *jb, struct db_desktop *d)
{
	int r;

	if (d->host[0] && d->vm[0] &&
	    (d->state == DESKTOP_RUNNING || d->state == DESKTOP_SAVED)) {
		snprintf(jb->j.host, sizeof(jb->j.host), "%s", d->host);
		progress(jb, 10, "expired: shutting the desktop down");
		r = stop_and_wait(jb, d, 30);
		if (r < 0)
			log_warn("desktop %s: stopping it at expiry failed (%s); expiring it "
				 "anyway", d->name, jb->j.message);
	}
	r = broker_desktop_move(jb->b, d->name, DESKTOP_EXPIRED, "expired");
	if (r < 0)
		return failed(jb, r, "could not mark it expired");
	snprintf(jb->j.message, sizeof(jb->j.message), "expired; deleted in %d days",
		 BROKER_EXPIRED_KEEP_S / 86400);
	return 0;
}

void jobs_run(struct broker *b, int64_t id)
{
	struct job jb = { .b = b };
	struct db_desktop d;
	int r;

	if (db_job_get(b->db, id, &jb.j) < 0 || jb.j.state != JOB_QUEUED)
		return;
	progress(&jb, 0, "running");
	r = db_desktop_get(b->db, jb.j.desktop, &d);
	if (r < 0) {
		r = failed(&jb, r, "the desktop is gone");
	} else {
		switch (jb.j.kind) {
		case JOB_PROVISION: r = run_provision(&jb, &d); break;
		case JOB_START: r = run_start(&jb, &d); break;
		case JOB_STOP: r = run_stop(&jb, &d); break;
		case JOB_RESTART: r = run_restart(&jb, &d); break;
		case JOB_DELETE: r = run_delete(&jb, &d); break;
		case JOB_EXPIRE: r = run_expire(&jb, &d); break;
		default: r = failed(&jb, -EINVAL, "unknown kind of job");
		}
	}
	jb.j.state = r < 0 ? JOB_FAILED : JOB_SUCCEEDED;
	if (r >= 0)
		jb.j.progress = 100;
	jb.j.finished = time(NULL);
	db_job_update(b->db, &jb.j);
	if (r < 0)
		log_warn("job %lld (%s %s) failed: %s", (long long)id, job_kind_name(jb.j.kind),
			 jb.j.desktop, jb.j.message);
	else
		log_info("job %lld (%s %s) done: %s", (long long)id, job_kind_name(jb.j.kind),
			 jb.j.desktop, jb.j.message);
}

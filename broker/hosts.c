// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The cluster API (docs/api.md §2) and the monitor (broker.h).
 *
 * A host proves its name with its client certificate (mutual TLS; the CN
 * is the host name) and reports itself and its VMs every interval.  The
 * report updates the host and reconciles its desktops' states with what
 * their VMs do (desktop_reconcile()).  The monitor thread marks a host
 * silent for three intervals not responding, and its desktops
 * HostNotResponding; its next report restores them.  It also expires
 * desktops and deletes long-expired ones, through jobs.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apijson.h"
#include "broker.h"
#include "log.h"

LOG_SCOPE("broker.hosts");

#define MISSED_MAX 3
#define SESSION_PURGE_S 600

static const struct apijson_vm *find_vm(const struct apijson_vm *vms, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

int hosts_report(struct broker *b, const struct db_host *h, const struct apijson_vm *vms,
		 size_t nvms, int64_t now)
{
	struct db_desktop *list = NULL;
	struct db_host old;
	bool known, returning;
	size_t n, i;
	int r;

	known = db_host_get(b->db, h->name, &old) == 0;
	returning = known && !old.healthy;
	r = db_host_report(b->db, h, now);
	if (r < 0)
		return r;
	if (!known)
		log_info("host %s registered: %s, RDP %s, %lld CPUs, %lld/%lld MiB free", h->name,
			 h->api_url, h->rdp_address, (long long)h->cpus, (long long)h->mem_free_mb,
			 (long long)h->mem_total_mb);
	else if (returning)
		log_info("host %s responds again", h->name);

	r = db_desktop_list(b->db, &(struct db_desktop_filter){ .host = h->name }, &list, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		struct db_desktop *d = &list[i];
		const struct apijson_vm *vm = find_vm(vms, nvms, d->vm[0] ? d->vm : d->name);
		enum desktop_state next;

		if (!vm) {
			if (d->state == DESKTOP_REQUESTED || d->state == DESKTOP_PROVISIONING ||
			    d->state == DESKTOP_EXPIRED || !d->vm[0])
				continue;
			/* It should be there.  Keep the record: an operator
			 * decides (delete it, or bring the VM back). */
			if (returning || d->state == DESKTOP_HOST_NOT_RESPONDING) {
				log_warn("host %s does not report desktop %s's VM %s", h->name,
					 d->name, d->vm);
				broker_desktop_move(b, d->name, DESKTOP_OFF,
						    "its host came back without its VM");
			} else {
				log_debug("host %s does not report desktop %s's VM %s", h->name,
					  d->name, d->vm);
			}
			continue;
		}
		if (desktop_reconcile(d->state, vm->state, &next) == 1) {
			char why[128];

			snprintf(why, sizeof(why), "host %s reports its VM %s", h->name, vm->state);
			broker_desktop_move(b, d->name, next, why);
		}
		if (!strcmp(vm->state, "crashed") && d->state != DESKTOP_OFF)
			log_warn("desktop %s: its VM crashed on %s", d->name, h->name);
	}
	free(list);
	return 0;
}

static struct http_response *heartbeat(struct broker *b, const struct http_request *req)
{
	char err[APIJSON_ERR_MAX];
	struct apijson_vm *vms = NULL;
	struct json_object *o = NULL, *reply;
	struct db_host h;
	size_t nvms = 0;
	int r;

	if (!req->client_cn)
		return http_response_error(403, "a client certificate is required");
	r = apijson_parse(req->body, req->body_len, &o, err, sizeof(err));
	if (r == -ENOMEM)
		return http_response_error(500, "out of memory");
	if (r < 0) {
		log_warn("heartbeat from %s (%s) refused: %s", req->client_cn, req->peer, err);
		return http_response_error(400, "%s", err);
	}
	vms = calloc(APIJSON_VMS_MAX, sizeof(*vms));
	if (!vms) {
		json_object_put(o);
		return http_response_error(500, "out of memory");
	}
	r = apijson_host_report(o, &h, vms, APIJSON_VMS_MAX, &nvms, err, sizeof(err));
	if (r < 0) {
		log_warn("heartbeat from %s (%s) refused: %s", req->client_cn, req->peer, err);
		free(vms);
		json_object_put(o);
		return http_response_error(400, "%s", err);
	}
	/* A host speaks only for itself; "broker" is the broker's own name. */
	if (strcmp(h.name, req->client_cn) || !strcmp(h.name, "broker")) {
		log_warn("heartbeat from %s (%s) names host %s: refused", req->client_cn, req->peer,
			 h.name);
		free(vms);
		json_object_put(o);
		return http_response_error(403, "the report's name is not the certificate's");
	}
	r = hosts_report(b, &h, vms, nvms, time(NULL));
	free(vms);
	json_object_put(o);
	if (r < 0) {
		log_errno(LOG_ERR, r, "heartbeat of %s", h.name);
		return http_response_error(500, "could not record the report");
	}
	reply = json_object_new_object();
	if (!reply)
		return http_response_error(500, "out of memory");
	json_object_object_add(reply, "interval_s",
			       json_object_new_int64(b->cfg.heartbeat_interval_s));
	return http_response_json(200, reply);
}

struct http_response *hosts_handle(struct broker *b, const struct http_request *req)
{
	if (strcmp(req->path, "/cluster/v1/heartbeat"))
		return http_response_error(404, "no such resource");
	if (strcmp(req->method, "POST"))
		return http_response_error(405, "use POST");
	return heartbeat(b, req);
}

struct http_response *hosts_server_handle(const struct http_request *req, void *data)
{
	return hosts_handle(data, req);
}

/* --- the monitor ------------------------------------------------------------- */

static void check_hosts(struct broker *b, int64_t now)
{
	int64_t limit = (int64_t)MISSED_MAX * b->cfg.heartbeat_interval_s;
	struct db_host *hosts = NULL;
	size_t n, i, j, nd;

	/* After a restart of ours, hosts' last reports are old news: give them
	 * their three intervals to report again. */
	if (now - b->started <= limit)
		return;
	if (db_host_list(b->db, &hosts, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct db_desktop *list = NULL;

		if (!hosts[i].healthy || now - hosts[i].last_heartbeat <= limit)
			continue;
		db_host_set_healthy(b->db, hosts[i].name, false);
		log_warn("host %s is not responding (last heartbeat %lld s ago)", hosts[i].name,
			 (long long)(now - hosts[i].last_heartbeat));
		if (db_desktop_list(b->db, &(struct db_desktop_filter){ .host = hosts[i].name },
				    &list, &nd) < 0)
			continue;
		for (j = 0; j < nd; j++)
			if (desktop_state_placed(list[j].state))
				broker_desktop_move(b, list[j].name, DESKTOP_HOST_NOT_RESPONDING,
						    "its host is not responding");
		free(list);
	}
	free(hosts);
}

static void check_expiry(struct broker *b, int64_t now)
{
	struct db_desktop *list = NULL;
	struct db_job job;
	size_t n, i;

	if (db_desktop_list(b->db, NULL, &list, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct db_desktop *d = &list[i];

		if (!d->expires || d->expires > now || d->job)
			continue;
		if (d->state != DESKTOP_EXPIRED) {
			/* A desktop being made or moved expires when that is done. */
			if (d->state == DESKTOP_PROVISIONING || d->state == DESKTOP_MIGRATING)
				continue;
			if (jobs_submit(b, JOB_EXPIRE, d->name, BROKER_SYSTEM_USER, &job) == 0)
				log_info("desktop %s expired: job %lld", d->name,
					 (long long)job.id);
		} else if (now - d->expires >= BROKER_EXPIRED_KEEP_S) {
			if (jobs_submit(b, JOB_DELETE, d->name, BROKER_SYSTEM_USER, &job) == 0)
				log_info("desktop %s expired %d days ago: deleting it (job %lld)",
					 d->name, BROKER_EXPIRED_KEEP_S / 86400, (long long)job.id);
		}
	}
	free(list);
}

void hosts_tick(struct broker *b, int64_t now)
{
	check_hosts(b, now);
	check_expiry(b, now);
	if (now - b->last_purge >= SESSION_PURGE_S) {
		db_session_purge(b->db, now - 12 * 3600, now - 3600);
		b->last_purge = now;
	}
}

static void *monitor(void *arg)
{
	struct broker *b = arg;
	struct timespec ts;

	pthread_mutex_lock(&b->monitor_lock);
	while (b->monitor_running) {
		pthread_mutex_unlock(&b->monitor_lock);
		hosts_tick(b, time(NULL));
		pthread_mutex_lock(&b->monitor_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		/* Every second: a silent host is noticed within a second of
		 * its third missed interval. */
		ts.tv_sec += 1;
		while (b->monitor_running &&
		       pthread_cond_timedwait(&b->monitor_cond, &b->monitor_lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&b->monitor_lock);
	return NULL;
}

int hosts_monitor_start(struct broker *b)
{
	int r;

	b->monitor_running = true;
	r = -pthread_create(&b->monitor, NULL, monitor, b);
	if (r < 0)
		b->monitor_running = false;
	return r;
}

void hosts_monitor_stop(struct broker *b)
{
	bool was;

	pthread_mutex_lock(&b->monitor_lock);
	was = b->monitor_running;
	b->monitor_running = false;
	pthread_cond_broadcast(&b->monitor_cond);
	pthread_mutex_unlock(&b->monitor_lock);
	if (was)
		pthread_join(b->monitor, NULL);
}

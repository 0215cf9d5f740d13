// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What the RDP front door (frontdoor.h) asks of the broker: check a
 * user's password (rate limited like the web login), find the user's
 * desktop and have it running, hand a one-time logon token to its host
 * (POST /v1/tokens, docs/api.md §3).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apijson.h"
#include "auth.h"
#include "broker.h"
#include "frontdoor.h"
#include "log.h"

LOG_SCOPE("broker.rdp");

#define RESOLVE_POLL_MS 250

static int authenticate(void *data, const char *peer, const char *user, const char *password)
{
	struct broker *b = data;
	const char *shown = apijson_name_valid(user) ? user : "(not a valid name)";
	struct db_user u;
	unsigned retry = 0;
	int r;

	/* The same function and counters as the REST API's login. */
	r = auth_login(b->db, b->limiter, &b->cfg.pam, user, password, peer, time(NULL), &u,
		       &retry);
	if (r == -EAGAIN)
		log_warn("RDP logon of %s from %s refused: too many failures (%u s)", shown, peer,
			 retry);
	else if (r < 0)
		log_info("RDP logon of %s from %s failed", shown, peer);
	return r;
}

/* "127.0.0.2:3389" -> "127.0.0.2", "[::1]:3389" -> "::1". */
static int address_only(const char *addr, char *out, size_t size)
{
	const char *end;

	if (addr[0] == '[') {
		end = strchr(addr, ']');
		if (!end)
			return -EINVAL;
		addr++;
	} else {
		end = strrchr(addr, ':');
		if (!end)
			end = addr + strlen(addr);
	}
	if (end == addr || (size_t)(end - addr) >= size)
		return -EINVAL;
	memcpy(out, addr, (size_t)(end - addr));
	out[end - addr] = '\0';
	return 0;
}

static int copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* The user's desktop to connect to: the one hinted at, else a running
 * one, else one that can be started, else any. */
static int pick(struct broker *b, const char *user, const char *hint, struct db_desktop *out)
{
	struct db_desktop *list = NULL;
	int best = -1, score = -1;
	size_t n, i;
	int r;

	r = db_desktop_list(b->db, &(struct db_desktop_filter){ .owner = user }, &list, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		int s;

		if (hint && *hint) {
			if (!strcmp(list[i].name, hint)) {
				best = (int)i;
				break;
			}
			continue;
		}
		switch (list[i].state) {
		case DESKTOP_RUNNING: s = 3; break;
		case DESKTOP_OFF:
		case DESKTOP_SAVED:
		case DESKTOP_PROVISIONING:
		case DESKTOP_REQUESTED: s = 2; break;
		case DESKTOP_EXPIRED: s = -1; break;
		default: s = 1; break;
		}
		if (s > score) {
			score = s;
			best = (int)i;
		}
	}
	if (best >= 0)
		*out = list[best];
	free(list);
	return best >= 0 ? 0 : -ENOENT;
}

/* A hint that names no desktop of the user's may name a pooled pool: the
 * user's desktop of it, else a free one assigned now (docs/broker.md). */
static int assign(struct broker *b, const char *user, const char *pool_name,
		  struct db_desktop *d)
{
	struct broker_desktop_request req = {
		.pool = pool_name, .memory_mb = -1, .cpus = -1, .expiry_days = -1,
	};
	char err[160];
	struct db_pool pool;
	struct db_user u;
	struct db_job job;
	int r;

	if (db_pool_get(b->db, pool_name, &pool) < 0 || pool.kind != POOL_POOLED)
		return -ENOENT;
	r = db_user_get(b->db, user, &u);
	if (r < 0)
		return r;
	r = broker_pool_assign(b, &u, &pool, &u, &req, d, &job, err, sizeof(err));
	if (r < 0) {
		log_warn("RDP: no desktop of pool %s for %s: %s", pool.name, user, err);
		return r == -EDQUOT || r == -EUSERS ? -EBUSY : r;
	}
	log_info("RDP: %s gets desktop %s of pool %s", user, d->name, pool.name);
	return 0;
}

static int resolve(void *data, const char *user, const char *hint, unsigned timeout_s,
		   struct frontdoor_target *t)
{
	struct broker *b = data;
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	char err[160];
	struct db_desktop d;
	struct db_host h;
	struct db_job job;
	bool started = false;
	int r;

	r = pick(b, user, hint, &d);
	if (r == -ENOENT && hint && *hint)
		r = assign(b, user, hint, &d);
	if (r < 0)
		return r;
	if (d.state == DESKTOP_EXPIRED)
		return -ENOENT;
	for (;;) {
		if (d.state == DESKTOP_RUNNING)
			break;
		if (d.state == DESKTOP_HOST_NOT_RESPONDING)
			return -EHOSTDOWN;
		if (d.state == DESKTOP_EXPIRED)
			return -ENOENT;
		if (!d.job && !started) {
			r = broker_desktop_action(b, user, d.name, JOB_START, &job, err,
						  sizeof(err));
			if (r < 0 && r != -EBUSY) {
				log_warn("RDP: desktop %s of %s cannot start: %s", d.name, user,
					 err);
				return r;
			}
			if (r == 0) {
				log_info("RDP: starting desktop %s for %s (job %lld)", d.name, user,
					 (long long)job.id);
				started = true;
			}
		} else if (!d.job && started) {
			/* Our start job ended and it does not run. */
			log_warn("RDP: desktop %s of %s did not start", d.name, user);
			return -EIO;
		}
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		if (b->cfg.no_threads)
			jobs_drain(b); /* tests: nobody else runs the jobs */
		else
			usleep(RESOLVE_POLL_MS * 1000);
		r = db_desktop_get(b->db, d.name, &d);
		if (r < 0)
			return r;
	}
	r = db_host_get(b->db, d.host, &h);
	if (r < 0)
		return r == -ENOENT ? -EHOSTDOWN : r;
	if (!h.healthy)
		return -EHOSTDOWN;
	if (!h.rdp_address[0] || address_only(h.rdp_address, t->rdp_address,
					     sizeof(t->rdp_address)) < 0) {
		log_warn("RDP: host %s has no RDP address", h.name);
		return -EADDRNOTAVAIL;
	}
	/* frontdoor_target holds names of up to 63 bytes. */
	if (copy(t->host, sizeof(t->host), h.name) < 0 ||
	    copy(t->vm, sizeof(t->vm), d.vm[0] ? d.vm : d.name) < 0 ||
	    copy(t->desktop, sizeof(t->desktop), d.name) < 0) {
		log_warn("RDP: desktop %s: a name is too long for the front door", d.name);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int issue_token(void *data, const struct frontdoor_target *t, const char *user,
		       const char *token, time_t expires)
{
	struct broker *b = data;
	struct json_object *body, *reply = NULL;
	long status = 0;
	int r;

	body = json_object_new_object();
	if (!body)
		return -ENOMEM;
	json_object_object_add(body, "user", json_object_new_string(user));
	json_object_object_add(body, "vm", json_object_new_string(t->vm));
	json_object_object_add(body, "token", json_object_new_string(token));
	/* Unix seconds, as skyhostd takes them (docs/api.md §3). */
	json_object_object_add(body, "expires", json_object_new_int64((int64_t)expires));
	r = broker_host_call(b, t->host, "POST", "/v1/tokens", body, &status, &reply);
	json_object_put(body);
	json_object_put(reply);
	if (r < 0)
		return log_errno(LOG_WARN, r, "RDP: handing a logon token for %s to %s", user,
				 t->host);
	if (status != 204 && status != 200) {
		log_warn("RDP: host %s refused the logon token for %s: HTTP %ld", t->host, user,
			 status);
		return -EPROTO;
	}
	log_info("RDP: %s goes to desktop %s on %s (%s)", user, t->desktop, t->host,
		 t->rdp_address);
	return 0;
}

const struct frontdoor_ops broker_frontdoor_ops = {
	.authenticate = authenticate,
	.resolve = resolve,
	.issue_token = issue_token,
};

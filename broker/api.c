// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's REST API (docs/api.md §1): /api/v1/... on the web port.
 *
 * Every request: authenticate (session cookie or bearer token), check the
 * CSRF token of cookie requests that change things, check the body
 * (application/json, one strict object: apijson.c), check the role, then
 * act through broker.c/db.c.  Errors are {"error": "..."} with the status
 * docs/api.md lists.  Nothing here builds SQL or HTML.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apijson.h"
#include "auth.h"
#include "broker.h"
#include "log.h"

LOG_SCOPE("broker.api");

#define SESSION_COOKIE "skylight_session"
#define PATH_MAX_SEGS 6
#define JOBS_DEFAULT_LIMIT 100

struct ctx {
	struct broker *b;
	const struct http_request *req;
	char pathbuf[512];
	const char *seg[PATH_MAX_SEGS];
	size_t nseg;
	bool authed, by_cookie;
	struct db_user user;
	struct db_session sess;
	struct json_object *body;
};

/* --- responses -------------------------------------------------------------- */

static struct http_response *no_store(struct http_response *resp)
{
	if (resp)
		http_response_header(resp, "Cache-Control", "no-store");
	return resp;
}

static struct http_response *error(int status, const char *fmt, ...) _printf_(2, 3);

static struct http_response *error(int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return no_store(http_response_error(status, "%s", msg));
}

static struct http_response *json(int status, struct json_object *o)
{
	if (!o)
		return error(500, "out of memory");
	return no_store(http_response_json(status, o));
}

/* -errno of the database or the core as a status. */
static struct http_response *db_error(int r)
{
	switch (r) {
	case -ENOENT: return error(404, "not found");
	case -EEXIST: return error(409, "the name is taken");
	case -EBUSY: return error(409, "in use");
	case -ENOMEM: return error(500, "out of memory");
	default: return error(500, "database error: %s", strerror(-r));
	}
}

/* --- JSON views ----------------------------------------------------------------- */

void api_format_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static struct json_object *time_json(int64_t t)
{
	char buf[32];

	if (!t)
		return NULL;
	api_format_time(t, buf);
	return json_object_new_string(buf);
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* Money: two decimals are what anyone reads, and json-c prints doubles
 * with %.17g otherwise. */
static struct json_object *money(double v)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.4f", v);
	return json_object_new_double_s(v, buf);
}

struct json_object *api_user_json(const struct db_user *u)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "role", json_object_new_string(user_role_name(u->role)));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "created", time_json(u->created));
	json_object_object_add(o, "source", json_object_new_string(user_source_name(u->source)));
	return o;
}

struct json_object *api_pool_json(const struct db_pool *p)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "description", json_object_new_string(p->description));
	json_object_object_add(o, "kind", json_object_new_string(pool_kind_name(p->kind)));
	json_object_object_add(o, "template", json_object_new_string(p->template));
	json_object_object_add(o, "memory_mb", json_object_new_int64(p->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(p->cpus));
	json_object_object_add(o, "max_desktops", json_object_new_int64(p->max_desktops));
	json_object_object_add(o, "max_per_user", json_object_new_int64(p->max_per_user));
	json_object_object_add(o, "expiry_days", json_object_new_int64(p->expiry_days));
	json_object_object_add(o, "cost_per_gb_day", money(p->cost_per_gb_day));
	json_object_object_add(o, "cost_per_cpu_day", money(p->cost_per_cpu_day));
	json_object_object_add(o, "desktops", json_object_new_int64(p->desktops));
	json_object_object_add(o, "cost_per_day",
			       money(desktop_cost_per_day(p->memory_mb, p->cpus, p->cost_per_gb_day,
							  p->cost_per_cpu_day)));
	return o;
}

static struct json_object *desktop_json(struct broker *b, const struct db_desktop *d,
					const struct db_pool *pool)
{
	char admins[DB_ADMINS_MAX][DB_NAME_MAX + 1];
	struct json_object *o = json_object_new_object(), *arr;
	size_t n = 0, i;

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "description", json_object_new_string(d->description));
	json_object_object_add(o, "pool", json_object_new_string(d->pool));
	/* null: an unassigned spare of a pooled pool */
	json_object_object_add(o, "owner", str_or_null(d->owner));
	arr = json_object_new_array();
	if (db_desktop_admins(b->db, d->name, admins, DB_ADMINS_MAX, &n) < 0)
		n = 0;
	for (i = 0; arr && i < n; i++)
		json_object_array_add(arr, json_object_new_string(admins[i]));
	json_object_object_add(o, "admins", arr);
	json_object_object_add(o, "state", json_object_new_string(desktop_state_name(d->state)));
	json_object_object_add(o, "host", str_or_null(d->host));
	json_object_object_add(o, "vm", str_or_null(d->vm));
	json_object_object_add(o, "memory_mb", json_object_new_int64(d->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(d->cpus));
	json_object_object_add(o, "created", time_json(d->created));
	json_object_object_add(o, "expires", time_json(d->expires));
	json_object_object_add(o, "cost_per_day",
			       money(pool ? desktop_cost_per_day(d->memory_mb, d->cpus,
								  pool->cost_per_gb_day,
								  pool->cost_per_cpu_day) : 0.0));
	json_object_object_add(o, "job", d->job ? json_object_new_int64(d->job) : NULL);
	return o;
}

struct json_object *api_desktop_json(struct broker *b, const struct db_desktop *d)
{
	struct db_pool pool;
	bool have = db_pool_get(b->db, d->pool, &pool) == 0;

	return desktop_json(b, d, have ? &pool : NULL);
}

struct json_object *api_host_json(const struct db_host *h)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "api_url", json_object_new_string(h->api_url));
	json_object_object_add(o, "rdp_address", json_object_new_string(h->rdp_address));
	json_object_object_add(o, "health",
			       json_object_new_string(h->healthy ? "ok" : "not_responding"));
	json_object_object_add(o, "maintenance", json_object_new_boolean(h->maintenance));
	json_object_object_add(o, "cpus", json_object_new_int64(h->cpus));
	json_object_object_add(o, "mem_total_mb", json_object_new_int64(h->mem_total_mb));
	json_object_object_add(o, "mem_free_mb", json_object_new_int64(h->mem_free_mb));
	json_object_object_add(o, "desktops", json_object_new_int64(h->desktops));
	json_object_object_add(o, "last_heartbeat", time_json(h->last_heartbeat));
	return o;
}

struct json_object *api_job_json(const struct db_job *j)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(j->id));
	json_object_object_add(o, "kind", json_object_new_string(job_kind_name(j->kind)));
	json_object_object_add(o, "desktop", json_object_new_string(j->desktop));
	json_object_object_add(o, "host", str_or_null(j->host));
	json_object_object_add(o, "user", json_object_new_string(j->user));
	json_object_object_add(o, "state", json_object_new_string(job_state_name(j->state)));
	json_object_object_add(o, "progress", json_object_new_int(j->progress));
	json_object_object_add(o, "message", json_object_new_string(j->message));
	json_object_object_add(o, "created", time_json(j->created));
	json_object_object_add(o, "finished", time_json(j->finished));
	return o;
}

struct json_object *api_desktops_json(struct broker *b, const struct db_user *viewer, bool all)
{
	struct db_desktop_filter f = { .visible_to = all ? NULL : viewer->name };
	struct db_desktop *list = NULL;
	struct db_pool *pools = NULL;
	struct json_object *arr;
	size_t n, np = 0, i, k;

	if (all && viewer->role != ROLE_ADMIN)
		f.visible_to = viewer->name;
	if (db_desktop_list(b->db, &f, &list, &n) < 0)
		return NULL;
	if (db_pool_list(b->db, &pools, &np) < 0)
		np = 0;
	arr = json_object_new_array();
	for (i = 0; arr && i < n; i++) {
		const struct db_pool *p = NULL;

		for (k = 0; k < np; k++)
			if (!strcmp(pools[k].name, list[i].pool))
				p = &pools[k];
		json_object_array_add(arr, desktop_json(b, &list[i], p));
	}
	free(pools);
	free(list);
	return arr;
}

struct json_object *api_pools_json(struct broker *b)
{
	struct db_pool *list = NULL;
	struct json_object *arr;
	size_t n, i;

	if (db_pool_list(b->db, &list, &n) < 0)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; arr && i < n; i++)
		json_object_array_add(arr, api_pool_json(&list[i]));
	free(list);
	return arr;
}

struct json_object *api_users_json(struct broker *b)
{
	struct db_user *list = NULL;
	struct json_object *arr;
	size_t n, i;

	if (db_user_list(b->db, &list, &n) < 0)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; arr && i < n; i++)
		json_object_array_add(arr, api_user_json(&list[i]));
	free(list);
	return arr;
}

struct json_object *api_hosts_json(struct broker *b)
{
	struct db_host *list = NULL;
	struct json_object *arr;
	size_t n, i;

	if (db_host_list(b->db, &list, &n) < 0)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; arr && i < n; i++)
		json_object_array_add(arr, api_host_json(&list[i]));
	free(list);
	return arr;
}

struct json_object *api_jobs_json(struct broker *b, const struct db_user *viewer, size_t limit)
{
	struct db_job *list = NULL;
	struct json_object *arr;
	size_t n, i;

	if (db_job_list(b->db, viewer->role == ROLE_ADMIN ? NULL : viewer->name, limit, &list,
			&n) < 0)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; arr && i < n; i++)
		json_object_array_add(arr, api_job_json(&list[i]));
	free(list);
	return arr;
}

/* --- authentication --------------------------------------------------------------- */

static const char *request_token(const struct http_request *req, bool *by_cookie)
{
	const char *authz = http_header(req, "Authorization");

	if (authz) {
		*by_cookie = false;
		if (strncasecmp(authz, "Bearer ", 7))
			return NULL;
		authz += 7;
		while (*authz == ' ')
			authz++;
		return authz;
	}
	*by_cookie = true;
	return http_cookie(req, SESSION_COOKIE);
}

int api_session(struct broker *b, const struct http_request *req, struct db_user *u,
		struct db_session *s, bool *by_cookie)
{
	const char *token = request_token(req, by_cookie);

	if (!token || auth_session_check(b->db, token, time(NULL), s) < 0)
		return -ENOENT;
	if (db_user_get(b->db, s->user, u) < 0)
		return -ENOENT;
	return 0;
}

static bool unsafe_method(const char *m)
{
	return strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "OPTIONS");
}

static bool json_content_type(const char *ct)
{
	static const char want[] = "application/json";

	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1))
		return false;
	ct += sizeof(want) - 1;
	return !*ct || *ct == ';' || *ct == ' ';
}

/* Parse the body into c->body: NULL on success, else the error to send. */
static struct http_response *need_body(struct ctx *c)
{
	char err[APIJSON_ERR_MAX];
	int r;

	if (!json_content_type(http_header(c->req, "Content-Type")))
		return error(415, "Content-Type must be application/json");
	r = apijson_parse(c->req->body, c->req->body_len, &c->body, err, sizeof(err));
	if (r == -ENOMEM)
		return error(500, "out of memory");
	if (r < 0)
		return error(400, "%s", err);
	return NULL;
}

/* Actions take no body, or an empty object. */
static struct http_response *empty_body(struct ctx *c)
{
	char err[APIJSON_ERR_MAX];
	struct http_response *resp;

	if (!c->req->body_len)
		return NULL;
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_empty(c->body, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	return NULL;
}

static struct http_response *method_not_allowed(const char *allow)
{
	struct http_response *resp = error(405, "method not allowed; use %s", allow);

	if (resp)
		http_response_header(resp, "Allow", allow);
	return resp;
}

static bool is_admin(const struct ctx *c)
{
	return c->user.role == ROLE_ADMIN;
}

/* --- /login, /logout, /me, /enroll ------------------------------------------------ */

static struct http_response *login(struct ctx *c)
{
	char err[APIJSON_ERR_MAX], token[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1], cookie[160];
	struct apijson_login in;
	struct http_response *resp;
	struct json_object *o;
	struct db_user u;
	const char *shown;
	unsigned retry = 0;
	int r;

	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_login(c->body, &in, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	/* Names go into log lines only when they are names (no line breaks). */
	shown = apijson_name_valid(in.name) ? in.name : "(not a valid name)";
	r = auth_login(c->b->db, c->b->limiter, &c->b->cfg.pam, in.name, in.password, c->req->peer,
		       time(NULL), &u, &retry);
	if (r == -EAGAIN) {
		char ra[16];

		log_warn("login of %s from %s refused: too many failures", shown, c->req->peer);
		resp = error(429, "too many failed logins; try again in %u s", retry);
		snprintf(ra, sizeof(ra), "%u", retry);
		if (resp)
			http_response_header(resp, "Retry-After", ra);
		return resp;
	}
	if (r < 0) {
		log_info("login of %s from %s failed", shown, c->req->peer);
		return error(401, "wrong name or password");
	}
	r = auth_session_new(c->b->db, u.name, time(NULL), token, csrf);
	if (r < 0)
		return db_error(r);
	log_info("%s logged in from %s", u.name, c->req->peer);
	o = json_object_new_object();
	if (!o)
		return error(500, "out of memory");
	json_object_object_add(o, "user", api_user_json(&u));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "csrf", json_object_new_string(csrf));
	resp = json(200, o);
	snprintf(cookie, sizeof(cookie),
		 SESSION_COOKIE "=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%d", token,
		 AUTH_SESSION_LIFETIME_S);
	if (resp)
		http_response_header(resp, "Set-Cookie", cookie);
	return resp;
}

static struct http_response *logout(struct ctx *c)
{
	struct http_response *resp;
	bool by_cookie;

	auth_session_end(c->b->db, request_token(c->req, &by_cookie));
	log_info("%s logged out", c->user.name);
	resp = no_store(http_response_new(204, NULL, NULL, 0));
	if (resp)
		http_response_header(resp, "Set-Cookie", SESSION_COOKIE "=; HttpOnly; Secure; "
				     "SameSite=Strict; Path=/; Max-Age=0");
	return resp;
}

static struct http_response *enroll(struct ctx *c)
{
	char err[APIJSON_ERR_MAX], key[96];
	struct apijson_user in;
	struct http_response *resp;
	struct db_user u = { .role = ROLE_USER };
	unsigned retry;
	int r;

	if (!c->b->cfg.enroll)
		return error(403, "self-enrollment is off");
	/* With PAM, a name enrolled here would take the PAM account of that
	 * name before its owner's first login (skybroker refuses both). */
	if (c->b->cfg.pam.service)
		return error(403, "self-enrollment is off while PAM is on");
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_user(c->body, true, false, &in, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	/* Enrollments count against the address like failed logins do, so
	 * one client cannot make users without end. */
	snprintf(key, sizeof(key), "e:%s", c->req->peer ? c->req->peer : "");
	if (auth_limiter_check(c->b->limiter, key, time(NULL), &retry) < 0) {
		char ra[16];

		resp = error(429, "too many enrollments; try again in %u s", retry);
		snprintf(ra, sizeof(ra), "%u", retry);
		if (resp)
			http_response_header(resp, "Retry-After", ra);
		return resp;
	}
	auth_limiter_fail(c->b->limiter, key, time(NULL));
	snprintf(u.name, sizeof(u.name), "%s", in.name);
	snprintf(u.email, sizeof(u.email), "%s", in.email ? in.email : "");
	u.created = time(NULL);
	r = auth_hash_password(in.password, u.password, sizeof(u.password));
	if (r < 0)
		return error(500, "could not hash the password");
	r = db_user_add(c->b->db, &u);
	if (r == -EEXIST)
		return error(409, "the name %s is taken", u.name);
	if (r < 0)
		return db_error(r);
	log_info("user %s enrolled from %s", u.name, c->req->peer);
	return json(201, api_user_json(&u));
}

/* --- /users ----------------------------------------------------------------------- */

static struct http_response *users(struct ctx *c)
{
	char err[APIJSON_ERR_MAX];
	struct apijson_user in;
	struct http_response *resp;
	struct db_user u = { 0 };
	int r;

	if (!strcmp(c->req->method, "GET")) {
		if (!is_admin(c))
			return error(403, "admins only");
		return json(200, api_users_json(c->b));
	}
	if (strcmp(c->req->method, "POST"))
		return method_not_allowed("GET, POST");
	if (!is_admin(c))
		return error(403, "admins only");
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_user(c->body, false, false, &in, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	if (in.source == USER_SOURCE_PAM && !c->b->cfg.pam.service)
		return error(409, "PAM is off (skybroker --pam SERVICE)");
	snprintf(u.name, sizeof(u.name), "%s", in.name);
	snprintf(u.email, sizeof(u.email), "%s", in.email ? in.email : "");
	u.role = in.role;
	u.source = in.source;
	u.created = time(NULL);
	if (u.source == USER_SOURCE_PAM)
		snprintf(u.password, sizeof(u.password), "%s", AUTH_PASSWORD_PAM);
	else if (auth_hash_password(in.password, u.password, sizeof(u.password)) < 0)
		return error(500, "could not hash the password");
	r = db_user_add(c->b->db, &u);
	if (r == -EEXIST)
		return error(409, "the name %s is taken", u.name);
	if (r < 0)
		return db_error(r);
	log_info("user %s (%s, %s) added by %s", u.name, user_role_name(u.role),
		 user_source_name(u.source), c->user.name);
	return json(201, api_user_json(&u));
}

static int count_admins(struct ctx *c, size_t *n)
{
	return db_user_count_role(c->b->db, ROLE_ADMIN, n);
}

static struct http_response *user(struct ctx *c, const char *name)
{
	bool self = !strcmp(name, c->user.name), moved;
	char err[APIJSON_ERR_MAX];
	struct apijson_user in;
	struct http_response *resp;
	struct db_user u;
	size_t admins;
	int r;

	if (!is_admin(c) && !self)
		return error(403, "admins only");
	r = db_user_get(c->b->db, name, &u);
	if (r == -ENOENT)
		return error(404, "no user named %s", name);
	if (r < 0)
		return db_error(r);
	if (!strcmp(c->req->method, "GET"))
		return json(200, api_user_json(&u));

	if (!strcmp(c->req->method, "PATCH")) {
		resp = need_body(c);
		if (resp)
			return resp;
		if (apijson_user(c->body, false, true, &in, err, sizeof(err)) < 0)
			return error(400, "%s", err);
		/* Users may change their own password and address, not their role
		 * nor where their password is checked. */
		if (in.has_role && !is_admin(c))
			return error(403, "only admins change roles");
		if (in.has_source && !is_admin(c))
			return error(403, "only admins change sources");
		if (!in.has_source)
			in.source = u.source;
		if (in.source == USER_SOURCE_PAM && in.password)
			return error(409, "%s's password is kept by PAM", u.name);
		if (in.source == USER_SOURCE_PAM && u.source != USER_SOURCE_PAM &&
		    !c->b->cfg.pam.service)
			return error(409, "PAM is off (skybroker --pam SERVICE)");
		if (in.source == USER_SOURCE_LOCAL && u.source == USER_SOURCE_PAM && !in.password)
			return error(400, "password: required to make a PAM user local");
		if (in.has_role && u.role == ROLE_ADMIN && in.role != ROLE_ADMIN) {
			if (count_admins(c, &admins) < 0 || admins <= 1)
				return error(409, "%s is the last admin", u.name);
		}
		if (in.has_role)
			u.role = in.role;
		if (in.email)
			snprintf(u.email, sizeof(u.email), "%s", in.email);
		if (in.password &&
		    auth_hash_password(in.password, u.password, sizeof(u.password)) < 0)
			return error(500, "could not hash the password");
		if (in.source == USER_SOURCE_PAM)
			snprintf(u.password, sizeof(u.password), "%s", AUTH_PASSWORD_PAM);
		moved = in.source != u.source;
		u.source = in.source;
		r = db_user_update(c->b->db, &u);
		if (r < 0)
			return db_error(r);
		/* A new password, role or source ends the user's other sessions. */
		if (in.password || in.has_role || moved) {
			db_session_delete_user(c->b->db, u.name);
			if (self)
				db_session_add(c->b->db, &c->sess);
		}
		log_info("user %s changed by %s%s%s%s%s", u.name, c->user.name,
			 in.has_role ? " (role)" : "", in.password ? " (password)" : "",
			 in.email ? " (email)" : "", moved ? " (source)" : "");
		return json(200, api_user_json(&u));
	}
	if (!strcmp(c->req->method, "DELETE")) {
		if (!is_admin(c))
			return error(403, "admins only");
		if (self)
			return error(409, "you cannot delete yourself");
		r = db_user_delete(c->b->db, name);
		if (r == -EBUSY)
			return error(409, "%s still owns desktops", name);
		if (r < 0)
			return db_error(r);
		log_info("user %s deleted by %s", name, c->user.name);
		return no_store(http_response_new(204, NULL, NULL, 0));
	}
	return method_not_allowed("GET, PATCH, DELETE");
}

/* --- /pools ---------------------------------------------------------------------- */

static struct http_response *pools(struct ctx *c)
{
	char err[APIJSON_ERR_MAX];
	struct http_response *resp;
	struct db_pool p = {
		.kind = POOL_PERSONAL,
		.max_desktops = 10,
	};
	int r;

	if (!strcmp(c->req->method, "GET"))
		return json(200, api_pools_json(c->b));
	if (strcmp(c->req->method, "POST"))
		return method_not_allowed("GET, POST");
	if (!is_admin(c))
		return error(403, "admins only");
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_pool(c->body, true, &p, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	p.created = time(NULL);
	r = db_pool_add(c->b->db, &p);
	if (r == -EEXIST)
		return error(409, "a pool named %s exists", p.name);
	if (r < 0)
		return db_error(r);
	log_info("pool %s added by %s", p.name, c->user.name);
	return json(201, api_pool_json(&p));
}

static struct http_response *pool(struct ctx *c, const char *name)
{
	char err[APIJSON_ERR_MAX];
	struct http_response *resp;
	struct db_pool p;
	int r;

	r = db_pool_get(c->b->db, name, &p);
	if (r == -ENOENT)
		return error(404, "no pool named %s", name);
	if (r < 0)
		return db_error(r);
	if (!strcmp(c->req->method, "GET"))
		return json(200, api_pool_json(&p));
	if (strcmp(c->req->method, "PATCH") && strcmp(c->req->method, "DELETE"))
		return method_not_allowed("GET, PATCH, DELETE");
	if (!is_admin(c))
		return error(403, "admins only");
	if (!strcmp(c->req->method, "DELETE")) {
		r = db_pool_delete(c->b->db, name);
		if (r == -EBUSY)
			return error(409, "pool %s still has desktops", name);
		if (r < 0)
			return db_error(r);
		log_info("pool %s deleted by %s", name, c->user.name);
		return no_store(http_response_new(204, NULL, NULL, 0));
	}
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_pool(c->body, false, &p, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	r = db_pool_update(c->b->db, &p);
	if (r < 0)
		return db_error(r);
	db_pool_get(c->b->db, name, &p);
	log_info("pool %s changed by %s", name, c->user.name);
	return json(200, api_pool_json(&p));
}

/* --- /desktops ------------------------------------------------------------------------ */

static int status_of(int r)
{
	switch (r) {
	case -EINVAL: return 400;
	case -EPERM: return 403;
	case -ENOENT: return 404;
	case -EEXIST:
	case -EDQUOT:
	case -EUSERS:
	case -EBUSY:
	case -EALREADY: return 409;
	case -ENOSPC: return 503;
	default: return 500;
	}
}

static struct http_response *desktops(struct ctx *c)
{
	char err[APIJSON_ERR_MAX];
	struct broker_desktop_request req;
	struct apijson_desktop in;
	struct http_response *resp;
	struct db_desktop d;
	struct db_job job;
	struct json_object *o;
	const char *all;
	int r;

	if (!strcmp(c->req->method, "GET")) {
		all = http_query(c->req, "all");
		return json(200, api_desktops_json(c->b, &c->user, all && !strcmp(all, "1")));
	}
	if (strcmp(c->req->method, "POST"))
		return method_not_allowed("GET, POST");
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_desktop(c->body, &in, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	req = (struct broker_desktop_request){
		.pool = in.pool, .name = in.name, .description = in.description,
		.owner = in.owner, .memory_mb = in.memory_mb, .cpus = in.cpus,
		.expiry_days = in.expiry_days, .admins = in.admins, .nadmins = in.nadmins,
	};
	r = broker_desktop_request(c->b, &c->user, &req, &d, &job, err, sizeof(err));
	if (r < 0)
		return error(status_of(r), "%s", err);
	o = json_object_new_object();
	if (!o)
		return error(500, "out of memory");
	json_object_object_add(o, "desktop", api_desktop_json(c->b, &d));
	/* A pooled desktop handed out as it is: nothing queued. */
	json_object_object_add(o, "job", job.id ? api_job_json(&job) : NULL);
	return json(job.id ? 202 : 200, o);
}

static struct http_response *desktop_action(struct ctx *c, const struct db_desktop *d,
					    enum job_kind kind)
{
	char err[APIJSON_ERR_MAX];
	struct db_job job;
	int r;

	r = broker_desktop_action(c->b, c->user.name, d->name, kind, &job, err, sizeof(err));
	if (r < 0)
		return error(status_of(r), "%s", err);
	return json(202, api_job_json(&job));
}

static struct http_response *rdp_file(struct ctx *c, const struct db_desktop *d)
{
	struct http_response *resp;
	char disp[128], *file;

	/* The file logs its owner on; admins connect to their own. */
	if (strcmp(d->owner, c->user.name))
		return error(403, "only the owner connects to a desktop");
	if (!c->b->cfg.rdp_file || !c->b->cfg.rdp_public)
		return error(404, "the RDP front door is off");
	file = c->b->cfg.rdp_file(c->b->cfg.rdp_public, c->user.name, d->name);
	if (!file)
		return error(500, "out of memory");
	resp = http_response_new(200, "application/x-rdp", file, strlen(file));
	if (!resp) {
		free(file);
		return NULL;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s.rdp\"", d->name);
	http_response_header(resp, "Content-Disposition", disp);
	return no_store(resp);
}

static struct http_response *desktop(struct ctx *c, const char *name, const char *action)
{
	static const struct { const char *name; enum job_kind kind; } actions[] = {
		{ "start", JOB_START },
		{ "stop", JOB_STOP },
		{ "restart", JOB_RESTART },
	};
	const char *m = c->req->method;
	char err[APIJSON_ERR_MAX];
	struct http_response *resp;
	const char *description = NULL;
	struct db_desktop d;
	size_t i;
	int r;

	r = db_desktop_get(c->b->db, name, &d);
	/* Desktops one may not see do not exist, as far as one can tell. */
	if (r == -ENOENT || (r == 0 && !broker_may_act(c->b, &c->user, &d)))
		return error(404, "no desktop named %s", name);
	if (r < 0)
		return db_error(r);

	if (action) {
		if (!strcmp(action, "rdp")) {
			if (strcmp(m, "GET"))
				return method_not_allowed("GET");
			return rdp_file(c, &d);
		}
		for (i = 0; i < ARRAY_SIZE(actions); i++) {
			if (strcmp(action, actions[i].name))
				continue;
			if (strcmp(m, "POST"))
				return method_not_allowed("POST");
			resp = empty_body(c);
			if (resp)
				return resp;
			return desktop_action(c, &d, actions[i].kind);
		}
		return error(404, "no such action");
	}
	if (!strcmp(m, "GET"))
		return json(200, api_desktop_json(c->b, &d));
	if (!strcmp(m, "DELETE")) {
		struct db_pool pool;
		struct db_job job;

		/* Users give pooled desktops back; only admins destroy them. */
		if (is_admin(c) || db_pool_get(c->b->db, d.pool, &pool) < 0 ||
		    pool.kind != POOL_POOLED || !d.owner[0])
			return desktop_action(c, &d, JOB_DELETE);
		r = broker_desktop_release(c->b, c->user.name, d.name, &job, err, sizeof(err));
		if (r < 0)
			return error(status_of(r), "%s", err);
		if (!job.id)
			return no_store(http_response_new(204, NULL, NULL, 0));
		return json(202, api_job_json(&job));
	}
	if (!strcmp(m, "PATCH")) {
		resp = need_body(c);
		if (resp)
			return resp;
		if (apijson_desktop_patch(c->body, &description, err, sizeof(err)) < 0)
			return error(400, "%s", err);
		r = db_desktop_set_description(c->b->db, d.name, description);
		if (r < 0)
			return db_error(r);
		db_desktop_get(c->b->db, d.name, &d);
		return json(200, api_desktop_json(c->b, &d));
	}
	return method_not_allowed("GET, PATCH, DELETE");
}

/* --- /hosts, /jobs ------------------------------------------------------------------- */

static struct http_response *hosts(struct ctx *c, const char *name, const char *action)
{
	char err[APIJSON_ERR_MAX];
	struct http_response *resp;
	struct db_host h;
	bool on;
	int r;

	if (!is_admin(c))
		return error(403, "admins only");
	if (!name) {
		if (strcmp(c->req->method, "GET"))
			return method_not_allowed("GET");
		return json(200, api_hosts_json(c->b));
	}
	r = db_host_get(c->b->db, name, &h);
	if (r == -ENOENT)
		return error(404, "no host named %s", name);
	if (r < 0)
		return db_error(r);
	if (!action) {
		if (strcmp(c->req->method, "GET"))
			return method_not_allowed("GET");
		return json(200, api_host_json(&h));
	}
	if (strcmp(action, "maintenance"))
		return error(404, "no such action");
	if (strcmp(c->req->method, "POST"))
		return method_not_allowed("POST");
	resp = need_body(c);
	if (resp)
		return resp;
	if (apijson_maintenance(c->body, &on, err, sizeof(err)) < 0)
		return error(400, "%s", err);
	r = db_host_set_maintenance(c->b->db, name, on);
	if (r < 0)
		return db_error(r);
	log_info("host %s: maintenance %s (%s)", name, on ? "on" : "off", c->user.name);
	db_host_get(c->b->db, name, &h);
	return json(200, api_host_json(&h));
}

static bool may_see_job(struct ctx *c, const struct db_job *j)
{
	struct db_desktop d;

	if (is_admin(c) || !strcmp(j->user, c->user.name))
		return true;
	return db_desktop_get(c->b->db, j->desktop, &d) == 0 && broker_may_act(c->b, &c->user, &d);
}

static struct http_response *jobs(struct ctx *c, const char *id)
{
	const char *limit_s;
	uint64_t v, limit = JOBS_DEFAULT_LIMIT;
	struct db_job j;
	int r;

	if (strcmp(c->req->method, "GET"))
		return method_not_allowed("GET");
	if (!id) {
		limit_s = http_query(c->req, "limit");
		if (limit_s && parse_uint(limit_s, 1, BROKER_JOBS_LIST_MAX, &limit) < 0)
			return error(400, "limit: from 1 to %d", BROKER_JOBS_LIST_MAX);
		return json(200, api_jobs_json(c->b, &c->user, (size_t)limit));
	}
	if (parse_uint(id, 1, INT64_MAX, &v) < 0)
		return error(404, "no job %.32s", id);
	r = db_job_get(c->b->db, (int64_t)v, &j);
	if (r == -ENOENT || (r == 0 && !may_see_job(c, &j)))
		return error(404, "no job %llu", (unsigned long long)v);
	if (r < 0)
		return db_error(r);
	return json(200, api_job_json(&j));
}

/* --- the router ---------------------------------------------------------------------- */

/* Split c->req->path after "/api/v1/" into segments; false if it is not
 * one of ours (too long, too deep, empty segments). */
static bool split_path(struct ctx *c)
{
	static const char prefix[] = "/api/v1/";
	const char *p = c->req->path;
	char *s, *save = NULL, *tok;

	if (!p || strncmp(p, prefix, sizeof(prefix) - 1))
		return false;
	p += sizeof(prefix) - 1;
	if (strlen(p) >= sizeof(c->pathbuf) || strstr(p, "//"))
		return false;
	strcpy(c->pathbuf, p);
	for (s = c->pathbuf; (tok = strtok_r(s, "/", &save)); s = NULL) {
		if (c->nseg == PATH_MAX_SEGS)
			return false;
		c->seg[c->nseg++] = tok;
	}
	return c->nseg > 0;
}

static struct http_response *route(struct ctx *c)
{
	const char *m = c->req->method, *a = c->seg[0];
	const char *name = c->nseg > 1 ? c->seg[1] : NULL;
	const char *action = c->nseg > 2 ? c->seg[2] : NULL;

	if (c->nseg == 1 && !strcmp(a, "login")) {
		if (strcmp(m, "POST"))
			return method_not_allowed("POST");
		return login(c);
	}
	if (c->nseg == 1 && !strcmp(a, "enroll")) {
		if (strcmp(m, "POST"))
			return method_not_allowed("POST");
		return enroll(c);
	}

	/* Everything else needs a session. */
	if (api_session(c->b, c->req, &c->user, &c->sess, &c->by_cookie) < 0)
		return error(401, "not logged in");
	c->authed = true;
	/* A cookie is sent by the browser whoever asks; the CSRF token only
	 * by our pages. */
	if (c->by_cookie && unsafe_method(m) &&
	    !auth_equal(http_header(c->req, "X-CSRF-Token"), c->sess.csrf))
		return error(403, "missing or wrong X-CSRF-Token");

	if (c->nseg > 3 || (name && !apijson_name_valid(name) && strcmp(a, "jobs")))
		return error(404, "no such resource");
	if (!strcmp(a, "logout") && c->nseg == 1) {
		if (strcmp(m, "POST"))
			return method_not_allowed("POST");
		return logout(c);
	}
	if (!strcmp(a, "me") && c->nseg == 1) {
		if (strcmp(m, "GET"))
			return method_not_allowed("GET");
		return json(200, api_user_json(&c->user));
	}
	if (!strcmp(a, "users") && c->nseg <= 2)
		return name ? user(c, name) : users(c);
	if (!strcmp(a, "pools") && c->nseg <= 2)
		return name ? pool(c, name) : pools(c);
	if (!strcmp(a, "desktops"))
		return name ? desktop(c, name, action) : desktops(c);
	if (!strcmp(a, "hosts"))
		return hosts(c, name, action);
	if (!strcmp(a, "jobs") && c->nseg <= 2)
		return jobs(c, name);
	return error(404, "no such resource");
}

struct http_response *api_handle(struct broker *b, const struct http_request *req)
{
	struct ctx c = { .b = b, .req = req };
	struct http_response *resp;

	if (!split_path(&c))
		return error(404, "no such resource");
	resp = route(&c);
	json_object_put(c.body);
	return resp;
}

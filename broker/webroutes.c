// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The web pages' routes (GET only): the pages themselves are web.c's; the
 * page's script does logins and actions through the REST API (api.c).
 * Every page carries a Content-Security-Policy without inline script, and
 * is never framed or cached.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "web.h"
#include "webroutes.h"

LOG_SCOPE("broker.web");

#define ADMIN_JOBS 100

static void security_headers(struct http_response *resp)
{
	http_response_header(resp, "Content-Security-Policy",
			     "default-src 'self'; frame-ancestors 'none'");
	http_response_header(resp, "X-Frame-Options", "DENY");
	http_response_header(resp, "Referrer-Policy", "same-origin");
	http_response_header(resp, "X-Content-Type-Options", "nosniff");
}

static struct http_response *page(int status, char *html)
{
	struct http_response *resp;

	if (!html)
		return NULL; /* the server's 500 */
	resp = http_response_new(status, "text/html; charset=utf-8", html, strlen(html));
	if (!resp) {
		free(html);
		return NULL;
	}
	security_headers(resp);
	http_response_header(resp, "Cache-Control", "no-store");
	return resp;
}

static struct http_response *error_page(int status, const char *message)
{
	return page(status, web_page_error(status, message));
}

static struct http_response *redirect(const char *to)
{
	struct http_response *resp = http_response_new(303, NULL, NULL, 0);

	if (resp) {
		http_response_header(resp, "Location", to);
		security_headers(resp);
		http_response_header(resp, "Cache-Control", "no-store");
	}
	return resp;
}

static struct http_response *static_file(const char *path)
{
	struct http_response *resp;
	const char *type = NULL;
	size_t len = 0;
	const void *data;

	data = web_static(path, &type, &len);
	if (!data)
		return error_page(404, "No such file.");
	resp = http_response_static(200, type, data, len);
	if (resp) {
		security_headers(resp);
		/* Compiled into this binary: they change only with it. */
		http_response_header(resp, "Cache-Control", "public, max-age=3600");
	}
	return resp;
}

static struct http_response *desktops_page(struct broker *b, const struct db_user *u,
					   const struct db_session *s)
{
	struct web_viewer v = { .name = u->name, .role = user_role_name(u->role), .csrf = s->csrf,
				.pam = b->cfg.pam.service != NULL };
	struct json_object *pools = api_pools_json(b), *desktops = api_desktops_json(b, u, false);
	char *html = NULL;

	if (pools && desktops)
		html = web_page_desktops(&v, pools, desktops);
	json_object_put(pools);
	json_object_put(desktops);
	return page(200, html);
}

static struct http_response *admin_page(struct broker *b, const struct db_user *u,
					const struct db_session *s)
{
	struct web_viewer v = { .name = u->name, .role = user_role_name(u->role), .csrf = s->csrf,
				.pam = b->cfg.pam.service != NULL };
	struct json_object *hosts = api_hosts_json(b), *desktops = api_desktops_json(b, u, true);
	struct json_object *pools = api_pools_json(b), *users = api_users_json(b);
	struct json_object *jobs = api_jobs_json(b, u, ADMIN_JOBS);
	char *html = NULL;

	if (hosts && desktops && pools && users && jobs)
		html = web_page_admin(&v, hosts, desktops, pools, users, jobs);
	json_object_put(hosts);
	json_object_put(desktops);
	json_object_put(pools);
	json_object_put(users);
	json_object_put(jobs);
	return page(200, html);
}

struct http_response *webroutes_handle(struct broker *b, const struct http_request *req)
{
	const char *p = req->path;
	struct db_session s;
	struct db_user u;
	bool by_cookie, logged_in;

	if (!strncmp(p, "/static/", 8)) {
		if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
			return error_page(405, "Method not allowed.");
		return static_file(p);
	}
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
		return error_page(405, "Method not allowed.");
	logged_in = api_session(b, req, &u, &s, &by_cookie) == 0;

	if (!strcmp(p, "/")) {
		if (logged_in)
			return redirect("/desktops");
		return page(200, web_page_login(NULL, b->cfg.enroll));
	}
	if (!strcmp(p, "/enroll")) {
		if (!b->cfg.enroll)
			return error_page(404, "Self-enrollment is off; ask an administrator.");
		if (logged_in)
			return redirect("/desktops");
		return page(200, web_page_enroll(NULL));
	}
	if (!strcmp(p, "/desktops")) {
		if (!logged_in)
			return redirect("/");
		return desktops_page(b, &u, &s);
	}
	if (!strcmp(p, "/admin")) {
		if (!logged_in)
			return redirect("/");
		if (u.role != ROLE_ADMIN)
			return error_page(403, "The admin console is for administrators.");
		return admin_page(b, &u, &s);
	}
	return error_page(404, "No such page.");
}

struct http_response *broker_web_handle(const struct http_request *req, void *data)
{
	struct broker *b = data;

	if (!strncmp(req->path, "/api/", 5))
		return api_handle(b, req);
	return webroutes_handle(b, req);
}

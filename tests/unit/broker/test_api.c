// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's REST API, cluster API and jobs (broker/api.c, hosts.c,
 * jobs.c) through api_handle() and hosts_handle() with hand-made requests,
 * against a fake host agent (fake-http.c).  Jobs run on the test's thread
 * (jobs_drain).
 */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "apijson.h"
#include "auth.h"
#include "broker.h"
#include "fake-http.h"
#include "frontdoor.h"
#include "util.h"

struct session {
	char token[AUTH_TOKEN_LEN + 1];
	char csrf[AUTH_TOKEN_LEN + 1];
};

struct fixture {
	char dir[64];
	char path[96];
	struct broker *b;
	struct session root, alice, bob, dana;
};

static char *rdp_file(const char *address, const char *user, const char *desktop)
{
	char *s;

	return asprintf(&s, "full address:s:%s\nusername:s:%s\nloadbalanceinfo:s:%s\n", address,
			user, desktop) < 0 ? NULL : s;
}

/* --- requests ----------------------------------------------------------------- */

struct call_opts {
	const struct session *s; /* NULL: anonymous */
	bool cookie;             /* the session as a cookie (with CSRF unless no_csrf) */
	bool no_csrf;
	const char *content_type; /* default application/json when there is a body */
	const char *query[2];
};

static struct http_response *req_opts(struct fixture *f, const char *method, const char *path,
				      const char *body, const struct call_opts *o)
{
	struct fake_request r;
	char authz[80], cookie[96];

	fake_request_init(&r, method, path, body);
	if (body)
		fake_request_header(&r, "Content-Type",
				    o && o->content_type ? o->content_type : "application/json");
	if (o && o->s && o->cookie) {
		snprintf(cookie, sizeof(cookie), "other=1; skylight_session=%s", o->s->token);
		fake_request_header(&r, "Cookie", cookie);
		if (!o->no_csrf)
			fake_request_header(&r, "X-CSRF-Token", o->s->csrf);
	} else if (o && o->s) {
		snprintf(authz, sizeof(authz), "Bearer %s", o->s->token);
		fake_request_header(&r, "Authorization", authz);
	}
	if (o && o->query[0])
		fake_request_query(&r, o->query[0], o->query[1]);
	return api_handle(f->b, &r.req);
}

static struct http_response *req(struct fixture *f, const struct session *s, const char *method,
				 const char *path, const char *body)
{
	return req_opts(f, method, path, body, &(struct call_opts){ .s = s });
}

/* Status of a request (the response freed). */
static int st(struct fixture *f, const struct session *s, const char *method, const char *path,
	      const char *body)
{
	struct http_response *resp = req(f, s, method, path, body);
	int status = fake_status(resp);

	http_response_free(resp);
	return status;
}

static struct json_object *body_json(const struct http_response *resp)
{
	struct json_object *o = json_tokener_parse(fake_body(resp));

	assert_non_null(o);
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int64(v);
}

/* Status and the error message, which must name what. */
static void expect_error(struct fixture *f, const struct session *s, const char *method,
			 const char *path, const char *body, int status, const char *what)
{
	struct http_response *resp = req(f, s, method, path, body);
	struct json_object *o;

	if (fake_status(resp) != status)
		fail_msg("%s %s %s: status %d, expected %d (%s)", method, path, body ? body : "",
			 fake_status(resp), status, fake_body(resp));
	o = body_json(resp);
	assert_non_null(jstr(o, "error"));
	if (what && !strstr(jstr(o, "error"), what))
		fail_msg("%s %s: error \"%s\" does not name %s", method, path, jstr(o, "error"),
			 what);
	json_object_put(o);
	http_response_free(resp);
}

static void login(struct fixture *f, const char *name, const char *password, struct session *s)
{
	struct http_response *resp;
	struct json_object *o;
	char body[256];

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"password\": \"%s\"}", name, password);
	resp = req(f, NULL, "POST", "/api/v1/login", body);
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	snprintf(s->token, sizeof(s->token), "%s", jstr(o, "token"));
	snprintf(s->csrf, sizeof(s->csrf), "%s", jstr(o, "csrf"));
	json_object_put(o);
	http_response_free(resp);
}

static void add_user(struct fixture *f, const char *name, enum user_role role)
{
	struct db_user u = { .role = role, .created = time(NULL) };

	snprintf(u.name, sizeof(u.name), "%s", name);
	assert_int_equal(auth_hash_password("password-of-" "x", u.password, sizeof(u.password)),
			 0);
	assert_int_equal(db_user_add(f->b->db, &u), 0);
}

static void heartbeat(struct fixture *f, const char *host, int64_t free_mb, int64_t now)
{
	struct db_host h = { .cpus = 16, .mem_total_mb = 16384, .mem_free_mb = free_mb };
	struct apijson_vm vms[FAKE_VMS_MAX];
	size_t i;

	snprintf(h.name, sizeof(h.name), "%s", host);
	snprintf(h.api_url, sizeof(h.api_url), "https://%s.test:8445", host);
	snprintf(h.rdp_address, sizeof(h.rdp_address), "127.0.0.2:3389");
	for (i = 0; i < fake_host.nvms; i++) {
		vms[i].name = fake_host.vms[i].name;
		vms[i].state = fake_host.vms[i].state;
	}
	assert_int_equal(hosts_report(f->b, &h, vms, fake_host.nvms, now), 0);
}

static int setup(void **state)
{
	struct broker_config cfg = {
		.enroll = true,
		.heartbeat_interval_s = 10,
		.rdp_public = "127.0.0.1:3389",
		.rdp_file = rdp_file,
		.job_poll_ms = 1,
		.start_timeout_s = 1,
		.stop_timeout_s = 1,
		.no_threads = true,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	struct db *db;

	if (!f)
		return -1;
	auth_set_scrypt_n(16);
	fake_host_reset();
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-broker-api-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/broker.db", f->dir);
	if (db_open(f->path, NULL, &db) < 0 || broker_new(&cfg, db, &f->b) < 0)
		return -1;
	add_user(f, "root", ROLE_ADMIN);
	add_user(f, "alice", ROLE_USER);
	add_user(f, "bob", ROLE_USER);
	add_user(f, "dana", ROLE_DELEGATED_ADMIN);
	login(f, "root", "password-of-x", &f->root);
	login(f, "alice", "password-of-x", &f->alice);
	login(f, "bob", "password-of-x", &f->bob);
	login(f, "dana", "password-of-x", &f->dana);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	broker_free(f->b);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const char pool_body[] =
	"{\"name\": \"std\", \"description\": \"Standard\", \"kind\": \"personal\","
	" \"template\": \"desktop\", \"memory_mb\": 256, \"cpus\": 2, \"max_desktops\": 3,"
	" \"cost_per_gb_day\": 0.5, \"cost_per_cpu_day\": 0.25}";

static void make_pool(struct fixture *f)
{
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/pools", pool_body), 201);
}

/* --- tests -------------------------------------------------------------------- */

static void test_login(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o, *u;
	const char *cookie;
	int i;

	resp = req(f, NULL, "POST", "/api/v1/login",
		   "{\"name\": \"alice\", \"password\": \"password-of-x\"}");
	assert_int_equal(fake_status(resp), 200);
	cookie = fake_header(resp, "Set-Cookie");
	assert_non_null(cookie);
	assert_int_equal(strncmp(cookie, "skylight_session=", 17), 0);
	assert_non_null(strstr(cookie, "; HttpOnly"));
	assert_non_null(strstr(cookie, "; Secure"));
	assert_non_null(strstr(cookie, "; SameSite=Strict"));
	assert_non_null(strstr(cookie, "; Path=/"));
	o = body_json(resp);
	assert_true(json_object_object_get_ex(o, "user", &u));
	assert_string_equal(jstr(u, "name"), "alice");
	assert_string_equal(jstr(u, "role"), "user");
	assert_int_equal(strlen(jstr(o, "token")), AUTH_TOKEN_LEN);
	assert_int_equal(strlen(jstr(o, "csrf")), AUTH_TOKEN_LEN);
	json_object_put(o);
	http_response_free(resp);

	/* Wrong password and unknown user: one answer. */
	expect_error(f, NULL, "POST", "/api/v1/login",
		     "{\"name\": \"alice\", \"password\": \"no\"}", 401, "wrong name or password");
	expect_error(f, NULL, "POST", "/api/v1/login",
		     "{\"name\": \"zed\", \"password\": \"no\"}", 401, "wrong name or password");
	expect_error(f, NULL, "GET", "/api/v1/login", NULL, 405, NULL);

	/* /me by bearer and by cookie; nothing without a session. */
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/me", NULL), 200);
	resp = req_opts(f, "GET", "/api/v1/me", NULL,
			&(struct call_opts){ .s = &f->alice, .cookie = true, .no_csrf = true });
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_string_equal(jstr(o, "name"), "alice");
	json_object_put(o);
	http_response_free(resp);
	expect_error(f, NULL, "GET", "/api/v1/me", NULL, 401, NULL);
	{
		struct session bad = f->alice;

		bad.token[3] ^= 1;
		expect_error(f, &bad, "GET", "/api/v1/me", NULL, 401, NULL);
	}

	/* More than 5 failures: 429 with Retry-After, even with the right password. */
	/* (The address has two failures already: alice's and zed's.) */
	for (i = 0; i < 3; i++)
		expect_error(f, NULL, "POST", "/api/v1/login",
			     "{\"name\": \"alice\", \"password\": \"no\"}", 401, NULL);
	resp = req(f, NULL, "POST", "/api/v1/login",
		   "{\"name\": \"alice\", \"password\": \"password-of-x\"}");
	assert_int_equal(fake_status(resp), 429);
	assert_non_null(fake_header(resp, "Retry-After"));
	assert_true(atoi(fake_header(resp, "Retry-After")) > 0);
	http_response_free(resp);

	/* Logout ends the session. */
	assert_int_equal(st(f, &f->bob, "POST", "/api/v1/logout", NULL), 204);
	assert_int_equal(st(f, &f->bob, "GET", "/api/v1/me", NULL), 401);
}

static void test_validation(void **state)
{
	static const struct {
		const char *body, *what;
	} bad[] = {
		{ "{", "malformed" },
		{ "", "required" },
		{ "[1, 2]", "object" },
		{ "\"pool\"", "object" },
		{ "{\"name\": \"p\"} x", "malformed" },
		{ "{'name': 'p'}", "malformed" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": \"256\", \"cpus\": 1}",
		  "memory_mb" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256.5, \"cpus\": 1}",
		  "memory_mb" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": true}",
		  "cpus" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1,"
		  " \"colour\": \"red\"}", "colour" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256}", "cpus" },
		{ "{\"name\": \"-p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1}",
		  "name" },
		{ "{\"name\": \"a/b\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1}",
		  "name" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": -1, \"cpus\": 1}",
		  "memory_mb" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 99999999999999999999,"
		  " \"cpus\": 1}", "memory_mb" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1,"
		  " \"kind\": \"shared\"}", "kind" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1,"
		  " \"cost_per_gb_day\": -1}", "cost_per_gb_day" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1,"
		  " \"description\": \"a\\u0000b\"}", "description" },
		{ "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256, \"cpus\": 1,"
		  " \"description\": \"\xff\xfe\"}", "malformed" },
		{ "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {}}}}}}}}}",
		  "deep" },
	};
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o;
	char big[1200], body[1400];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_error(f, &f->root, "POST", "/api/v1/pools", bad[i].body, 400, bad[i].what);

	/* Descriptions: 1024 bytes are fine, 1025 are not. */
	memset(big, 'x', 1025);
	big[1025] = '\0';
	snprintf(body, sizeof(body), "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256,"
		 " \"cpus\": 1, \"description\": \"%s\"}", big);
	expect_error(f, &f->root, "POST", "/api/v1/pools", body, 400, "description");
	big[1024] = '\0';
	snprintf(body, sizeof(body), "{\"name\": \"p\", \"template\": \"t\", \"memory_mb\": 256,"
		 " \"cpus\": 1, \"description\": \"%s\"}", big);
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/pools", body), 201);

	/* Not JSON: 415. */
	resp = req_opts(f, "POST", "/api/v1/pools", pool_body,
			&(struct call_opts){ .s = &f->root, .content_type = "text/plain" });
	assert_int_equal(fake_status(resp), 415);
	http_response_free(resp);
	resp = req_opts(f, "POST", "/api/v1/pools", pool_body,
			&(struct call_opts){ .s = &f->root,
					     .content_type = "application/json; charset=utf-8" });
	assert_int_equal(fake_status(resp), 201);
	http_response_free(resp);

	/* Unknown routes and methods. */
	expect_error(f, &f->root, "GET", "/api/v1/nothing", NULL, 404, NULL);
	expect_error(f, &f->root, "GET", "/api/v2/pools", NULL, 404, NULL);
	expect_error(f, &f->root, "GET", "/api/v1/pools/a/b/c/d", NULL, 404, NULL);
	expect_error(f, &f->root, "PUT", "/api/v1/pools", "{}", 405, NULL);
	resp = req(f, &f->root, "DELETE", "/api/v1/desktops", NULL);
	assert_int_equal(fake_status(resp), 405);
	assert_non_null(fake_header(resp, "Allow"));
	http_response_free(resp);

	/* The database took none of the bad ones. */
	resp = req(f, &f->root, "GET", "/api/v1/pools", NULL);
	o = body_json(resp);
	assert_int_equal(json_object_array_length(o), 2);
	json_object_put(o);
	http_response_free(resp);
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/users", NULL), 200);
}

static void test_verbatim(void **state)
{
	static const char nasty[] =
		"'; DROP TABLE desktops; -- <script>alert(\"x\")</script> &amp;";
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o, *in;
	char body[512];

	heartbeat(f, "h1", 8192, time(NULL));
	make_pool(f);
	in = json_object_new_object();
	json_object_object_add(in, "pool", json_object_new_string("std"));
	json_object_object_add(in, "name", json_object_new_string("d1"));
	json_object_object_add(in, "description", json_object_new_string(nasty));
	snprintf(body, sizeof(body), "%s", json_object_to_json_string(in));
	json_object_put(in);
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops", body), 202);
	resp = req(f, &f->alice, "GET", "/api/v1/desktops/d1", NULL);
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_string_equal(jstr(o, "description"), nasty);
	json_object_put(o);
	http_response_free(resp);
	/* In a name it is just not a name. */
	expect_error(f, &f->alice, "GET", "/api/v1/desktops/x' OR '1'='1", NULL, 404, NULL);
	expect_error(f, &f->root, "POST", "/api/v1/users",
		     "{\"name\": \"<b>\", \"password\": \"12345678\", \"role\": \"user\"}", 400,
		     "name");
	/* Still there, still one. */
	resp = req(f, &f->root, "GET", "/api/v1/desktops", (const char *)NULL);
	http_response_free(resp);
	resp = req_opts(f, "GET", "/api/v1/desktops", NULL,
			&(struct call_opts){ .s = &f->root, .query = { "all", "1" } });
	o = body_json(resp);
	assert_int_equal(json_object_array_length(o), 1);
	json_object_put(o);
	http_response_free(resp);
}

static void test_csrf(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct session wrong = f->root;

	/* A cookie without the token may read, not write. */
	resp = req_opts(f, "GET", "/api/v1/pools", NULL,
			&(struct call_opts){ .s = &f->root, .cookie = true, .no_csrf = true });
	assert_int_equal(fake_status(resp), 200);
	http_response_free(resp);
	resp = req_opts(f, "POST", "/api/v1/pools", pool_body,
			&(struct call_opts){ .s = &f->root, .cookie = true, .no_csrf = true });
	assert_int_equal(fake_status(resp), 403);
	http_response_free(resp);
	wrong.csrf[0] ^= 1;
	resp = req_opts(f, "POST", "/api/v1/pools", pool_body,
			&(struct call_opts){ .s = &wrong, .cookie = true });
	assert_int_equal(fake_status(resp), 403);
	http_response_free(resp);
	resp = req_opts(f, "POST", "/api/v1/pools", pool_body,
			&(struct call_opts){ .s = &f->root, .cookie = true });
	assert_int_equal(fake_status(resp), 201);
	http_response_free(resp);
	/* Bearer requests need none. */
	assert_int_equal(st(f, &f->root, "DELETE", "/api/v1/pools/std", NULL), 204);
}

static void test_roles(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/users", NULL), 403);
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/users",
			    "{\"name\": \"x\", \"password\": \"12345678\", \"role\": \"admin\"}"),
			 403);
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/pools", pool_body), 403);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/hosts", NULL), 403);
	assert_int_equal(st(f, &f->dana, "GET", "/api/v1/hosts", NULL), 403);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/users/alice", NULL), 200);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/users/bob", NULL), 403);
	assert_int_equal(st(f, &f->alice, "PATCH", "/api/v1/users/alice", "{\"role\": \"admin\"}"),
			 403);
	assert_int_equal(st(f, &f->alice, "PATCH", "/api/v1/users/alice",
			    "{\"email\": \"alice@example.org\"}"), 200);
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/users", NULL), 200);
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/hosts", NULL), 200);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/pools", NULL), 200);
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	struct session carol;

	assert_int_equal(st(f, &f->root, "POST", "/api/v1/users",
			    "{\"name\": \"carol\", \"password\": \"carols-pass\","
			    " \"role\": \"user\", \"email\": \"carol@example.org\"}"), 201);
	expect_error(f, &f->root, "POST", "/api/v1/users",
		     "{\"name\": \"carol\", \"password\": \"carols-pass\","
		     " \"role\": \"user\"}", 409, NULL);
	expect_error(f, &f->root, "POST", "/api/v1/users",
		     "{\"name\": \"c2\", \"password\": \"short\", \"role\": \"user\"}", 400,
		     "password");
	expect_error(f, &f->root, "POST", "/api/v1/users",
		     "{\"name\": \"c2\", \"password\": \"long enough\", \"role\": \"king\"}", 400,
		     "role");
	expect_error(f, &f->root, "POST", "/api/v1/users",
		     "{\"name\": \"c2\", \"password\": \"long enough\", \"role\": \"user\","
		     " \"email\": \"no at sign\"}", 400, "email");
	login(f, "carol", "carols-pass", &carol);
	assert_int_equal(st(f, &f->root, "PATCH", "/api/v1/users/carol",
			    "{\"role\": \"delegated_admin\","
			    " \"password\": \"new password\"}"), 200);
	/* A new password ends her sessions. */
	assert_int_equal(st(f, &carol, "GET", "/api/v1/me", NULL), 401);
	login(f, "carol", "new password", &carol);
	/* Her own password change keeps her current session. */
	assert_int_equal(st(f, &carol, "PATCH", "/api/v1/users/carol",
			    "{\"password\": \"newer password\"}"), 200);
	assert_int_equal(st(f, &carol, "GET", "/api/v1/me", NULL), 200);
	expect_error(f, &f->root, "PATCH", "/api/v1/users/carol", "{\"name\": \"x\"}", 400, "name");

	/* The last admin stays an admin; nobody deletes themselves. */
	expect_error(f, &f->root, "PATCH", "/api/v1/users/root", "{\"role\": \"user\"}", 409,
		     "last admin");
	expect_error(f, &f->root, "DELETE", "/api/v1/users/root", NULL, 409, NULL);
	assert_int_equal(st(f, &f->root, "DELETE", "/api/v1/users/carol", NULL), 204);
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/users/carol", NULL), 404);
}

static void test_enroll(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o;
	struct session s;

	resp = req(f, NULL, "POST", "/api/v1/enroll",
		   "{\"name\": \"newbie\", \"password\": \"newbie-pass\"}");
	assert_int_equal(fake_status(resp), 201);
	o = body_json(resp);
	assert_string_equal(jstr(o, "role"), "user");
	json_object_put(o);
	http_response_free(resp);
	login(f, "newbie", "newbie-pass", &s);
	expect_error(f, NULL, "POST", "/api/v1/enroll",
		     "{\"name\": \"newbie\", \"password\": \"newbie-pass\"}", 409, NULL);
	expect_error(f, NULL, "POST", "/api/v1/enroll",
		     "{\"name\": \"n2\", \"password\": \"short\"}", 400, "password");
	/* Enrollment cannot pick a role. */
	expect_error(f, NULL, "POST", "/api/v1/enroll",
		     "{\"name\": \"n2\", \"password\": \"long enough\", \"role\": \"admin\"}", 400,
		     "role");
	f->b->cfg.enroll = false;
	expect_error(f, NULL, "POST", "/api/v1/enroll",
		     "{\"name\": \"n3\", \"password\": \"long enough\"}", 403, "enrollment");
}

/* POST a desktop and run its jobs; returns the job's state. */
static void request_desktop(struct fixture *f, const struct session *s, const char *body,
			    int status)
{
	assert_int_equal(st(f, s, "POST", "/api/v1/desktops", body), status);
	jobs_drain(f->b);
}

static struct json_object *get_desktop(struct fixture *f, const struct session *s,
				       const char *name)
{
	char path[128];
	struct http_response *resp;
	struct json_object *o;

	snprintf(path, sizeof(path), "/api/v1/desktops/%s", name);
	resp = req(f, s, "GET", path, NULL);
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	http_response_free(resp);
	return o;
}

static void expect_state(struct fixture *f, const char *name, const char *state)
{
	struct json_object *o = get_desktop(f, &f->root, name);

	if (strcmp(jstr(o, "state"), state))
		fail_msg("desktop %s is %s, expected %s", name, jstr(o, "state"), state);
	json_object_put(o);
}

static void test_desktop_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o, *d, *j, *arr;

	heartbeat(f, "h1", 8192, time(NULL));
	make_pool(f);
	resp = req(f, &f->alice, "POST", "/api/v1/desktops",
		   "{\"pool\": \"std\", \"name\": \"alice-1\", \"description\": \"mine\","
		   " \"admins\": [\"dana\"]}");
	assert_int_equal(fake_status(resp), 202);
	o = body_json(resp);
	assert_true(json_object_object_get_ex(o, "desktop", &d));
	assert_true(json_object_object_get_ex(o, "job", &j));
	assert_string_equal(jstr(d, "state"), "Requested");
	assert_string_equal(jstr(d, "owner"), "alice");
	assert_int_equal(jint(d, "memory_mb"), 256);
	/* 256 MiB at 0.50 + 2 CPUs at 0.25 */
	assert_true(json_object_get_double(json_object_object_get(d, "cost_per_day")) == 0.625);
	assert_string_equal(jstr(j, "kind"), "provision");
	assert_string_equal(jstr(j, "state"), "queued");
	assert_int_equal(jint(d, "job"), jint(j, "id"));
	json_object_put(o);
	http_response_free(resp);

	jobs_drain(f->b);
	assert_non_null(fake_host_vm("alice-1"));
	assert_string_equal(fake_host_vm("alice-1")->state, "running");
	assert_string_equal(fake_host_vm("alice-1")->template, "desktop");
	o = get_desktop(f, &f->alice, "alice-1");
	assert_string_equal(jstr(o, "state"), "Running");
	assert_string_equal(jstr(o, "host"), "h1");
	assert_string_equal(jstr(o, "vm"), "alice-1");
	assert_null(json_object_object_get(o, "job"));
	json_object_put(o);

	/* Others do not see it; its delegated admin does. */
	assert_int_equal(st(f, &f->bob, "GET", "/api/v1/desktops/alice-1", NULL), 404);
	assert_int_equal(st(f, &f->bob, "POST", "/api/v1/desktops/alice-1/stop", NULL), 404);
	resp = req(f, &f->bob, "GET", "/api/v1/desktops", NULL);
	o = body_json(resp);
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);
	http_response_free(resp);
	resp = req(f, &f->dana, "GET", "/api/v1/desktops", NULL);
	o = body_json(resp);
	assert_int_equal(json_object_array_length(o), 1);
	json_object_put(o);
	http_response_free(resp);

	/* Running already; stop; stop again; start; restart. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/alice-1/start", NULL, 409, "Running");
	assert_int_equal(st(f, &f->dana, "POST", "/api/v1/desktops/alice-1/stop", "{}"), 202);
	/* One job at a time. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/alice-1/restart", NULL, 409, "busy");
	jobs_drain(f->b);
	expect_state(f, "alice-1", "Off");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/alice-1/stop", NULL, 409, "Off");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/alice-1/start", "{\"now\": 1}", 400,
		     "now");
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/alice-1/start", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "alice-1", "Running");
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/alice-1/restart", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "alice-1", "Running");
	assert_int_equal(fake_host_vm("alice-1")->started, 3);

	/* The .rdp file: the owner's. */
	resp = req(f, &f->alice, "GET", "/api/v1/desktops/alice-1/rdp", NULL);
	assert_int_equal(fake_status(resp), 200);
	assert_string_equal(fake_content_type(resp), "application/x-rdp");
	assert_non_null(strstr(fake_header(resp, "Content-Disposition"), "alice-1.rdp"));
	assert_non_null(strstr(fake_body(resp), "full address:s:127.0.0.1:3389"));
	assert_non_null(strstr(fake_body(resp), "username:s:alice"));
	http_response_free(resp);
	assert_int_equal(st(f, &f->dana, "GET", "/api/v1/desktops/alice-1/rdp", NULL), 403);

	/* Job history: hers, newest first, bounded. */
	resp = req_opts(f, "GET", "/api/v1/jobs", NULL,
			&(struct call_opts){ .s = &f->alice, .query = { "limit", "2" } });
	assert_int_equal(fake_status(resp), 200);
	arr = body_json(resp);
	assert_int_equal(json_object_array_length(arr), 2);
	j = json_object_array_get_idx(arr, 0);
	assert_string_equal(jstr(j, "kind"), "restart");
	assert_string_equal(jstr(j, "state"), "succeeded");
	assert_int_equal(jint(j, "progress"), 100);
	assert_non_null(jstr(j, "finished"));
	{
		char path[64];

		snprintf(path, sizeof(path), "/api/v1/jobs/%lld", (long long)jint(j, "id"));
		assert_int_equal(st(f, &f->alice, "GET", path, NULL), 200);
		assert_int_equal(st(f, &f->bob, "GET", path, NULL), 404);
		assert_int_equal(st(f, &f->root, "GET", path, NULL), 200);
	}
	json_object_put(arr);
	http_response_free(resp);
	resp = req_opts(f, "GET", "/api/v1/jobs", NULL,
			&(struct call_opts){ .s = &f->alice, .query = { "limit", "501" } });
	assert_int_equal(fake_status(resp), 400);
	http_response_free(resp);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/jobs/abc", NULL), 404);

	/* A user with a desktop stays; the desktop goes with its VM. */
	expect_error(f, &f->root, "DELETE", "/api/v1/users/alice", NULL, 409, "desktops");
	expect_error(f, &f->root, "DELETE", "/api/v1/pools/std", NULL, 409, "desktops");
	assert_int_equal(st(f, &f->alice, "DELETE", "/api/v1/desktops/alice-1", NULL), 202);
	jobs_drain(f->b);
	assert_null(fake_host_vm("alice-1"));
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/desktops/alice-1", NULL), 404);
	assert_int_equal(st(f, &f->root, "DELETE", "/api/v1/users/alice", NULL), 204);
}

static void test_desktop_limits(void **state)
{
	struct fixture *f = *state;

	make_pool(f);
	/* No host at all: 503. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\"}", 503, "no host");
	heartbeat(f, "h1", 300, time(NULL));
	/* Within the pool's sizes only. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\", \"memory_mb\": 512}", 400, "memory_mb");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\", \"cpus\": 3}", 400, "cpus");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"nope\", \"name\": \"d0\"}", 400, "pool");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\", \"owner\": \"bob\"}", 403, "owner");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\", \"admins\": [\"bob\"]}", 400, "admins");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d0\", \"admins\": \"dana\"}", 400, "admins");
	/* 300 MiB free: one 256 MiB desktop fits, the promise counts for a second. */
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops",
			    "{\"pool\": \"std\", \"name\": \"d1\", \"memory_mb\": 200}"), 202);
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d2\", \"memory_mb\": 200}", 503, NULL);
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d1\", \"memory_mb\": 64}", 409, "exists");
	jobs_drain(f->b);
	/* Maintenance: no new placements. */
	heartbeat(f, "h1", 8192, time(NULL));
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/hosts/h1/maintenance", "{\"on\": true}"),
			 200);
	expect_error(f, &f->root, "POST", "/api/v1/hosts/h1/maintenance", "{\"on\": 1}", 400, "on");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d2\"}", 503, NULL);
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/hosts/h1/maintenance",
			    "{\"on\": false}"), 200);
	/* Admins ask for others and beyond the pool's sizes; the pool's cap holds. */
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/desktops",
			    "{\"pool\": \"std\", \"name\": \"d2\", \"owner\": \"bob\","
			    " \"memory_mb\": 1024, \"cpus\": 4}"), 202);
	assert_int_equal(st(f, &f->bob, "POST", "/api/v1/desktops",
			    "{\"pool\": \"std\", \"name\": \"d3\"}"), 202);
	expect_error(f, &f->bob, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d4\"}", 409, "full");
	jobs_drain(f->b);
	expect_state(f, "d2", "Running");
	{
		struct json_object *o = get_desktop(f, &f->bob, "d2");

		assert_string_equal(jstr(o, "owner"), "bob");
		assert_int_equal(jint(o, "cpus"), 4);
		json_object_put(o);
	}
}

static void test_job_failures(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *arr, *j;

	heartbeat(f, "h1", 8192, time(NULL));
	make_pool(f);
	/* The host refuses to create it: back to Requested, job failed with why. */
	fake_host.put_status = 500;
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"d1\"}", 202);
	expect_state(f, "d1", "Requested");
	resp = req(f, &f->alice, "GET", "/api/v1/jobs", NULL);
	arr = body_json(resp);
	j = json_object_array_get_idx(arr, 0);
	assert_string_equal(jstr(j, "state"), "failed");
	assert_non_null(strstr(jstr(j, "message"), "no such template"));
	assert_non_null(jstr(j, "finished"));
	json_object_put(arr);
	http_response_free(resp);
	/* A start provisions it again. */
	fake_host.put_status = 0;
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/d1/start", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "d1", "Running");
	/* A VM that never gets running: the job gives up, the desktop is Off. */
	fake_host.start_slow = true;
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"d2\"}", 202);
	expect_state(f, "d2", "Off");
	/* The host is unreachable: the stop fails, the state stays. */
	fake_host.down = true;
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/d1/stop", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "d1", "Running");
	resp = req(f, &f->alice, "GET", "/api/v1/jobs", NULL);
	arr = body_json(resp);
	j = json_object_array_get_idx(arr, 0);
	assert_string_equal(jstr(j, "kind"), "stop");
	assert_string_equal(jstr(j, "state"), "failed");
	json_object_put(arr);
	http_response_free(resp);
}

static void test_heartbeat(void **state)
{
	struct fixture *f = *state;
	struct fake_request r;
	struct http_response *resp;
	struct json_object *o;
	struct db_host h;
	int64_t now = time(NULL);
	char body[512];

	snprintf(body, sizeof(body), "{\"name\": \"h2\", \"api_url\": \"https://10.0.0.2:8445\","
		 " \"rdp_address\": \"10.0.0.2:3389\", \"cpus\": 8, \"mem_total_mb\": 4096,"
		 " \"mem_free_mb\": 2048, \"vms\": [{\"name\": \"x1\", \"state\": \"off\","
		 " \"pid\": null, \"future_field\": 1}], \"uptime\": 5}");
	fake_request_init(&r, "POST", "/cluster/v1/heartbeat", body);
	r.req.client_cn = "h2";
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_int_equal(jint(o, "interval_s"), 10);
	json_object_put(o);
	http_response_free(resp);
	/* Another host's name, no certificate, the broker's name, junk. */
	r.req.client_cn = "h3";
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 403);
	http_response_free(resp);
	r.req.client_cn = NULL;
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 403);
	http_response_free(resp);
	fake_request_init(&r, "POST", "/cluster/v1/heartbeat", "{\"name\": \"h2\"}");
	r.req.client_cn = "h2";
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 400);
	http_response_free(resp);
	fake_request_init(&r, "POST", "/cluster/v1/heartbeat",
			  "{\"name\": \"h2\", \"api_url\": \"javascript:x\","
			  " \"rdp_address\": \"a:1\", \"cpus\": 1, \"mem_total_mb\": 1,"
			  " \"mem_free_mb\": 1, \"vms\": []}");
	r.req.client_cn = "h2";
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 400);
	http_response_free(resp);
	fake_request_init(&r, "GET", "/cluster/v1/heartbeat", NULL);
	r.req.client_cn = "h2";
	resp = hosts_handle(f->b, &r.req);
	assert_int_equal(fake_status(resp), 405);
	http_response_free(resp);

	/* A report older than the broker: the host has three intervals
	 * from the broker's start to report again. */
	heartbeat(f, "h0", 1024, now - 100);
	hosts_tick(f->b, now + 1);
	assert_int_equal(db_host_get(f->b->db, "h0", &h), 0);
	assert_true(h.healthy);
	hosts_tick(f->b, now + 31);
	assert_int_equal(db_host_get(f->b->db, "h0", &h), 0);
	assert_false(h.healthy);

	/* A desktop on h1; h1 goes silent, then comes back. */
	heartbeat(f, "h1", 8192, now);
	snprintf(body, sizeof(body), "{\"pool\": \"std\", \"name\": \"d1\"}");
	make_pool(f);
	/* h2 has less free memory: d1 goes to h1. */
	request_desktop(f, &f->alice, body, 202);
	expect_state(f, "d1", "Running");
	hosts_tick(f->b, now + 29);
	expect_state(f, "d1", "Running");
	hosts_tick(f->b, now + 31);
	expect_state(f, "d1", "HostNotResponding");
	resp = req(f, &f->root, "GET", "/api/v1/hosts", NULL);
	o = body_json(resp);
	assert_int_equal(json_object_array_length(o), 3);
	assert_string_equal(jstr(json_object_array_get_idx(o, 1), "health"), "not_responding");
	assert_string_equal(jstr(json_object_array_get_idx(o, 2), "health"), "not_responding");
	json_object_put(o);
	http_response_free(resp);
	/* Actions wait for the host. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/d1/stop", NULL, 409, NULL);
	/* Back, with the VM off meanwhile. */
	fake_host_vm("d1")->state[0] = '\0';
	strcpy(fake_host_vm("d1")->state, "off");
	heartbeat(f, "h1", 8192, now + 40);
	expect_state(f, "d1", "Off");
	/* Reports move states: running on the host is Running here. */
	strcpy(fake_host_vm("d1")->state, "running");
	heartbeat(f, "h1", 8192, now + 45);
	expect_state(f, "d1", "Running");
	strcpy(fake_host_vm("d1")->state, "crashed");
	heartbeat(f, "h1", 8192, now + 50);
	expect_state(f, "d1", "Off");
	/* The host forgets it: the record stays. */
	fake_host.nvms = 0;
	heartbeat(f, "h1", 8192, now + 55);
	expect_state(f, "d1", "Off");
}

/* The monitor purges sessions idle by its clock, which the tests move. */
static void relogin(struct fixture *f)
{
	login(f, "root", "password-of-x", &f->root);
	login(f, "alice", "password-of-x", &f->alice);
}

static void test_expiry(void **state)
{
	struct fixture *f = *state;
	int64_t now = time(NULL);

	heartbeat(f, "h1", 8192, now);
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/pools",
			    "{\"name\": \"short\", \"template\": \"desktop\", \"memory_mb\": 256,"
			    " \"cpus\": 1, \"expiry_days\": 2}"), 201);
	/* Within the pool's expiry only. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"short\", \"name\": \"e1\", \"expiry_days\": 3}", 400,
		     "expiry_days");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"short\", \"name\": \"e1\", \"expiry_days\": 0}", 400,
		     "expiry_days");
	request_desktop(f, &f->alice, "{\"pool\": \"short\", \"name\": \"e1\", \"expiry_days\": 1}",
			202);
	expect_state(f, "e1", "Running");
	{
		struct json_object *o = get_desktop(f, &f->alice, "e1");

		assert_non_null(jstr(o, "expires"));
		json_object_put(o);
	}
	heartbeat(f, "h1", 8192, now + 3600);
	hosts_tick(f->b, now + 3600);
	relogin(f);
	jobs_drain(f->b);
	expect_state(f, "e1", "Running");
	heartbeat(f, "h1", 8192, now + 86400 + 5);
	hosts_tick(f->b, now + 86400 + 10);
	relogin(f);
	jobs_drain(f->b);
	expect_state(f, "e1", "Expired");
	assert_string_equal(fake_host_vm("e1")->state, "off");
	expect_error(f, &f->alice, "POST", "/api/v1/desktops/e1/start", NULL, 409, NULL);
	/* Kept a week, then deleted with its VM. */
	heartbeat(f, "h1", 8192, now + 8 * 86400 - 5);
	hosts_tick(f->b, now + 8 * 86400);
	relogin(f);
	jobs_drain(f->b);
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/desktops/e1", NULL), 404);
	assert_null(fake_host_vm("e1"));
}

static void test_patch_pool_desktop(void **state)
{
	struct fixture *f = *state;
	struct http_response *resp;
	struct json_object *o;

	heartbeat(f, "h1", 8192, time(NULL));
	make_pool(f);
	resp = req(f, &f->root, "PATCH", "/api/v1/pools/std",
		   "{\"cost_per_gb_day\": 2, \"description\": \"new\"}");
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_string_equal(jstr(o, "description"), "new");
	assert_string_equal(jstr(o, "template"), "desktop");
	/* 0.25 GiB * 2 + 2 CPUs * 0.25 */
	assert_true(json_object_get_double(json_object_object_get(o, "cost_per_day")) == 1.0);
	json_object_put(o);
	http_response_free(resp);
	expect_error(f, &f->root, "PATCH", "/api/v1/pools/std", "{\"name\": \"other\"}", 400,
		     "name");
	expect_error(f, &f->root, "PATCH", "/api/v1/pools/none", "{}", 404, NULL);
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"d1\"}", 202);
	resp = req(f, &f->alice, "PATCH", "/api/v1/desktops/d1", "{\"description\": \"<i>x</i>\"}");
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_string_equal(jstr(o, "description"), "<i>x</i>");
	json_object_put(o);
	http_response_free(resp);
	expect_error(f, &f->alice, "PATCH", "/api/v1/desktops/d1", "{\"state\": \"Off\"}", 400,
		     "state");

	/* A quota per user: alice has one, so a second is refused, bob's is not. */
	expect_error(f, &f->root, "PATCH", "/api/v1/pools/std", "{\"max_per_user\": -1}", 400,
		     "max_per_user");
	resp = req(f, &f->root, "PATCH", "/api/v1/pools/std", "{\"max_per_user\": 1}");
	assert_int_equal(fake_status(resp), 200);
	o = body_json(resp);
	assert_int_equal(jint(o, "max_per_user"), 1);
	json_object_put(o);
	http_response_free(resp);
	expect_error(f, &f->alice, "POST", "/api/v1/desktops",
		     "{\"pool\": \"std\", \"name\": \"d2\"}", 409,
		     "alice has 1 desktop in pool std already");
	request_desktop(f, &f->bob, "{\"pool\": \"std\", \"name\": \"b1\"}", 202);
	assert_int_equal(st(f, &f->root, "PATCH", "/api/v1/pools/std", "{\"max_per_user\": 0}"),
			 200);
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"d2\"}", 202);
}

static void test_rdp_ops(void **state)
{
	const struct frontdoor_ops *ops = &broker_frontdoor_ops;
	struct fixture *f = *state;
	struct frontdoor_target t;
	int64_t now = time(NULL);
	int i;

	/* The same passwords and limits as the web login. */
	assert_int_equal(ops->authenticate(f->b, "198.51.100.7", "alice", "password-of-x"), 0);
	assert_int_equal(ops->authenticate(f->b, "198.51.100.7", "alice", "nope"), -EACCES);
	assert_int_equal(ops->authenticate(f->b, "198.51.100.7", "nobody", "nope"), -EACCES);
	for (i = 0; i < 3; i++)
		ops->authenticate(f->b, "198.51.100.7", "bob", "nope");
	assert_int_equal(ops->authenticate(f->b, "198.51.100.7", "bob", "password-of-x"), -EAGAIN);

	/* No desktop yet. */
	assert_int_equal(ops->resolve(f->b, "alice", NULL, 5, &t), -ENOENT);
	heartbeat(f, "h1", 8192, now);
	make_pool(f);
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"a1\"}", 202);
	request_desktop(f, &f->alice, "{\"pool\": \"std\", \"name\": \"a2\"}", 202);
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/a1/stop", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "a1", "Off");
	/* Without a hint: the running one. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(ops->resolve(f->b, "alice", NULL, 5, &t), 0);
	assert_string_equal(t.desktop, "a2");
	assert_string_equal(t.host, "h1");
	assert_string_equal(t.rdp_address, "127.0.0.2");
	assert_string_equal(t.vm, "a2");
	/* With one: that desktop, started on the way. */
	assert_int_equal(ops->resolve(f->b, "alice", "a1", 5, &t), 0);
	assert_string_equal(t.desktop, "a1");
	expect_state(f, "a1", "Running");
	/* Other people's desktops are not found. */
	assert_int_equal(ops->resolve(f->b, "bob", "a1", 5, &t), -ENOENT);
	assert_int_equal(ops->resolve(f->b, "alice", "zz", 5, &t), -ENOENT);
	/* A start that never gets there. */
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/a1/stop", NULL), 202);
	jobs_drain(f->b);
	fake_host.start_slow = true;
	assert_int_equal(ops->resolve(f->b, "alice", "a1", 5, &t), -EIO);
	fake_host.start_slow = false;

	/* The token goes to the desktop's host. */
	assert_int_equal(ops->issue_token(f->b, &t, "alice", "0123456789abcdef0123", now + 60), 0);
	assert_string_equal(fake_host.last_method, "POST");
	assert_string_equal(fake_host.last_url, "https://h1.test:8445/v1/tokens");
	assert_string_equal(fake_host.last_token_user, "alice");
	fake_host.down = true;
	assert_int_not_equal(ops->issue_token(f->b, &t, "alice", "0123456789abcdef0123", now + 60),
			     0);
	fake_host.down = false;

	/* A silent host: its desktops are not reachable. */
	hosts_tick(f->b, now + 31);
	assert_int_equal(ops->resolve(f->b, "alice", "a2", 5, &t), -EHOSTDOWN);
}

static const char pooled_body[] =
	"{\"name\": \"lab\", \"kind\": \"pooled\", \"template\": \"desktop\","
	" \"memory_mb\": 256, \"cpus\": 1, \"max_desktops\": 3}";

/* POST /desktops: the status, and the desktop's name into name. */
static int pooled_request(struct fixture *f, const struct session *s, const char *body,
			  char name[DB_NAME_MAX + 1])
{
	struct http_response *resp = req(f, s, "POST", "/api/v1/desktops", body);
	int status = fake_status(resp);
	struct json_object *o, *d;

	name[0] = '\0';
	if (status == 200 || status == 202) {
		o = body_json(resp);
		assert_true(json_object_object_get_ex(o, "desktop", &d));
		snprintf(name, DB_NAME_MAX + 1, "%s", jstr(d, "name"));
		/* 200: handed out as it is, no job; 202: with its job. */
		assert_int_equal(json_object_object_get(o, "job") != NULL, status == 202);
		json_object_put(o);
	}
	http_response_free(resp);
	jobs_drain(f->b);
	return status;
}

static void expect_owner(struct fixture *f, const char *name, const char *owner)
{
	struct json_object *o = get_desktop(f, &f->root, name);

	if (owner)
		assert_string_equal(jstr(o, "owner"), owner);
	else
		assert_null(json_object_object_get(o, "owner"));
	json_object_put(o);
}

static void test_pooled(void **state)
{
	struct fixture *f = *state;
	char spare[DB_NAME_MAX + 1], a[DB_NAME_MAX + 1], b2[DB_NAME_MAX + 1];
	char dn[DB_NAME_MAX + 1];

	heartbeat(f, "h1", 8192, time(NULL));
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/pools", pooled_body), 201);
	make_pool(f);
	/* Personal pools still want a name. */
	expect_error(f, &f->alice, "POST", "/api/v1/desktops", "{\"pool\": \"std\"}", 400,
		     "name");

	/* An admin naming no owner adds a spare, provisioned and started. */
	assert_int_equal(pooled_request(f, &f->root, "{\"pool\": \"lab\", \"owner\": null}", spare),
			 202);
	assert_string_equal(spare, "lab-1");
	expect_state(f, spare, "Running");
	expect_owner(f, spare, NULL);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/desktops/lab-1", NULL), 404);
	assert_int_equal(pooled_request(f, &f->root, "{\"pool\": \"lab\", \"name\": \"spare-b\"}",
					dn), 202);
	assert_string_equal(dn, "spare-b");
	assert_int_equal(st(f, &f->alice, "POST", "/api/v1/desktops/spare-b/stop", NULL), 404);
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/desktops/spare-b/stop", NULL), 202);
	jobs_drain(f->b);
	expect_state(f, "spare-b", "Off");

	/* A user gets the Running spare (its name ignored), as it is. */
	assert_int_equal(pooled_request(f, &f->alice, "{\"pool\": \"lab\", \"name\": \"x\"}", a),
			 200);
	assert_string_equal(a, "lab-1");
	expect_owner(f, "lab-1", "alice");
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/desktops/lab-1", NULL), 200);
	assert_int_equal(st(f, &f->alice, "GET", "/api/v1/desktops/lab-1/rdp", NULL), 200);
	/* A second request: the same one. */
	assert_int_equal(pooled_request(f, &f->alice, "{\"pool\": \"lab\"}", dn), 200);
	assert_string_equal(dn, "lab-1");
	/* The next user gets the Off spare, started for them. */
	assert_int_equal(pooled_request(f, &f->bob, "{\"pool\": \"lab\"}", b2), 202);
	assert_string_equal(b2, "spare-b");
	expect_state(f, "spare-b", "Running");
	expect_owner(f, "spare-b", "bob");
	/* None free: a new one is provisioned for dana (POOL-N)... */
	assert_int_equal(pooled_request(f, &f->dana, "{\"pool\": \"lab\"}", dn), 202);
	assert_string_equal(dn, "lab-2");
	expect_owner(f, "lab-2", "dana");
	expect_state(f, "lab-2", "Running");
	/* ...until the pool is full. */
	add_user(f, "erin", ROLE_USER);
	{
		struct session erin;

		login(f, "erin", "password-of-x", &erin);
		expect_error(f, &erin, "POST", "/api/v1/desktops", "{\"pool\": \"lab\"}", 409,
			     "none is free");

		/* Alice gives hers back: restarted, a spare again, not destroyed. */
		assert_int_equal(st(f, &f->alice, "DELETE", "/api/v1/desktops/lab-1", NULL), 202);
		jobs_drain(f->b);
		expect_owner(f, "lab-1", NULL);
		expect_state(f, "lab-1", "Running");
		assert_non_null(fake_host_vm("lab-1"));
		assert_int_equal(fake_host_vm("lab-1")->started, 2);
		assert_int_equal(st(f, &f->alice, "GET", "/api/v1/desktops/lab-1", NULL), 404);
		assert_int_equal(pooled_request(f, &erin, "{\"pool\": \"lab\"}", dn), 200);
		assert_string_equal(dn, "lab-1");
	}
	/* An admin's DELETE destroys, assigned or not. */
	assert_int_equal(st(f, &f->root, "DELETE", "/api/v1/desktops/spare-b", NULL), 202);
	jobs_drain(f->b);
	assert_null(fake_host_vm("spare-b"));
	assert_int_equal(st(f, &f->root, "GET", "/api/v1/desktops/spare-b", NULL), 404);
	/* Bob owns nothing any more. */
	assert_int_equal(st(f, &f->root, "DELETE", "/api/v1/users/bob", NULL), 204);
}

static void test_pooled_rdp(void **state)
{
	const struct frontdoor_ops *ops = &broker_frontdoor_ops;
	struct fixture *f = *state;
	struct frontdoor_target t;
	char dn[DB_NAME_MAX + 1];

	heartbeat(f, "h1", 8192, time(NULL));
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/pools", pooled_body), 201);
	make_pool(f);
	/* A personal pool's name is no hint. */
	assert_int_equal(ops->resolve(f->b, "alice", "std", 5, &t), -ENOENT);
	assert_int_equal(pooled_request(f, &f->root, "{\"pool\": \"lab\"}", dn), 202);
	assert_int_equal(st(f, &f->root, "POST", "/api/v1/desktops/lab-1/stop", NULL), 202);
	jobs_drain(f->b);
	/* The pool's name: its spare, assigned and started on the way. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(ops->resolve(f->b, "alice", "lab", 5, &t), 0);
	assert_string_equal(t.desktop, "lab-1");
	assert_string_equal(t.host, "h1");
	expect_owner(f, "lab-1", "alice");
	expect_state(f, "lab-1", "Running");
	/* Again: the same; by its own name too (the .rdp file's). */
	assert_int_equal(ops->resolve(f->b, "alice", "lab", 5, &t), 0);
	assert_string_equal(t.desktop, "lab-1");
	assert_int_equal(ops->resolve(f->b, "alice", "lab-1", 5, &t), 0);
	/* Bob: none free, a new one provisioned for him. */
	assert_int_equal(ops->resolve(f->b, "bob", "lab", 5, &t), 0);
	assert_string_equal(t.desktop, "lab-2");
	expect_owner(f, "lab-2", "bob");
	/* Someone else's pooled desktop by name: not found. */
	assert_int_equal(ops->resolve(f->b, "dana", "lab-1", 5, &t), -ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_login),
		T(test_validation),
		T(test_verbatim),
		T(test_csrf),
		T(test_roles),
		T(test_users),
		T(test_enroll),
		T(test_desktop_lifecycle),
		T(test_desktop_limits),
		T(test_job_failures),
		T(test_heartbeat),
		T(test_expiry),
		T(test_patch_pool_desktop),
		T(test_rdp_ops),
		T(test_pooled),
		T(test_pooled_rdp),
	};

	/* The broker's log lines would drown cmocka's. */
	setenv("SKYLIGHT_LOG", "error", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

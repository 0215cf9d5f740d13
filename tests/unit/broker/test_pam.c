// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * PAM logins (broker/authpam.c, auth_login() in broker/auth.c): the
 * conversation function with hand-made messages, then real Linux-PAM
 * transactions without root: a service file in a temporary directory
 * (pam_start_confdir) with pam_exec running a shell script that accepts
 * fixed user/password pairs and notes every call, so the test sees which
 * logins reached PAM.  The REST API's login and the RDP front door's
 * authenticate op go through the same function and counters.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "auth.h"
#include "authpam.h"
#include "broker.h"
#include "fake-http.h"
#include "frontdoor.h"

/* --- the conversation ----------------------------------------------------- */

static int converse(struct authpam_conv_data *d, const struct pam_message *m, int n,
		    struct pam_response **resp)
{
	const struct pam_message *ptrs[PAM_MAX_NUM_MSG + 1];
	int i;

	for (i = 0; i < n && i <= PAM_MAX_NUM_MSG; i++)
		ptrs[i] = &m[i];
	*resp = NULL;
	return authpam_conv(n, ptrs, resp, d);
}

static void free_resp(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

static void test_conv(void **state)
{
	struct authpam_conv_data d = { .password = "s3cret pass" };
	struct pam_message m[PAM_MAX_NUM_MSG + 1];
	struct pam_response *r;
	char long_msg[1000];
	int i;

	/* A password prompt gets the password. */
	m[0] = (struct pam_message){ PAM_PROMPT_ECHO_OFF, "Password: " };
	assert_int_equal(converse(&d, m, 1, &r), PAM_SUCCESS);
	assert_non_null(r);
	assert_string_equal(r[0].resp, "s3cret pass");
	assert_int_equal(r[0].resp_retcode, 0);
	free_resp(r, 1);

	/* Messages around it get no answer; control characters and long
	 * texts only reach the log, bounded. */
	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	long_msg[3] = '\n';
	m[0] = (struct pam_message){ PAM_ERROR_MSG, long_msg };
	m[1] = (struct pam_message){ PAM_TEXT_INFO, "Last login: never" };
	m[2] = (struct pam_message){ PAM_PROMPT_ECHO_OFF, "Password: " };
	assert_int_equal(converse(&d, m, 3, &r), PAM_SUCCESS);
	assert_null(r[0].resp);
	assert_null(r[1].resp);
	assert_string_equal(r[2].resp, "s3cret pass");
	free_resp(r, 3);
	assert_int_equal(d.prompts, 2);

	/* The third password prompt is the last one answered. */
	m[0] = (struct pam_message){ PAM_PROMPT_ECHO_OFF, "Password again: " };
	assert_int_equal(converse(&d, m, 1, &r), PAM_SUCCESS);
	free_resp(r, 1);
	assert_int_equal(converse(&d, m, 1, &r), PAM_CONV_ERR);
	assert_null(r);

	/* A question we cannot answer, an unknown style, a missing message
	 * and counts out of range: a conversation error, nothing allocated. */
	d.prompts = 0;
	m[0] = (struct pam_message){ PAM_PROMPT_ECHO_OFF, "Password: " };
	m[1] = (struct pam_message){ PAM_PROMPT_ECHO_ON, "Verification code: " };
	assert_int_equal(converse(&d, m, 2, &r), PAM_CONV_ERR);
	assert_null(r);
	m[1] = (struct pam_message){ 99, "?" };
	assert_int_equal(converse(&d, m, 2, &r), PAM_CONV_ERR);
	assert_null(r);
	assert_int_equal(converse(&d, m, 0, &r), PAM_CONV_ERR);
	for (i = 0; i <= PAM_MAX_NUM_MSG; i++)
		m[i] = (struct pam_message){ PAM_TEXT_INFO, "hello" };
	assert_int_equal(converse(&d, m, PAM_MAX_NUM_MSG + 1, &r), PAM_CONV_ERR);
	assert_int_equal(converse(&d, m, PAM_MAX_NUM_MSG, &r), PAM_SUCCESS);
	free_resp(r, PAM_MAX_NUM_MSG);
	{
		const struct pam_message *ptrs[2] = { &m[0], NULL };

		r = NULL;
		assert_int_equal(authpam_conv(2, ptrs, &r, &d), PAM_CONV_ERR);
		assert_null(r);
	}
	assert_int_equal(authpam_conv(1, NULL, &r, &d), PAM_CONV_ERR);
	assert_int_equal(authpam_conv(1, (const struct pam_message *[]){ &m[0] }, &r, NULL),
			 PAM_CONV_ERR);
}

/* --- real PAM --------------------------------------------------------------------- */

struct fixture {
	char dir[64];
	char path[96];
	char confdir[96];
	char calls[96];
	struct broker *b;
};

/* pam_exec with expose_authtok writes the password (NUL-terminated) to
 * the script's stdin and puts PAM_USER, PAM_RHOST in its environment (and
 * no PATH). */
#define CHECKER \
	"#!/bin/sh\n" \
	"PATH=/usr/bin:/bin\n" \
	"echo \"$PAM_USER $PAM_RHOST\" >> '%s'\n" \
	"pw=$(tr -d '\\000')\n" \
	"case \"$PAM_USER:$pw\" in\n" \
	"'pamuser:pam secret'|'carol:carol secret'|'alice:pam secret'|'nopass:') exit 0;;\n" \
	"esac\n" \
	"exit 1\n"

static void write_file(const char *path, mode_t mode, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static bool pam_exec_installed(void)
{
	static const char *const dirs[] = {
		"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
		"/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security",
		"/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security",
	};
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/pam_exec.so", dirs[i]);
		if (access(p, R_OK) == 0)
			return true;
	}
	return false;
}

static void add_local(struct fixture *f, const char *name, enum user_role role, const char *pw)
{
	struct db_user u = { .role = role, .created = time(NULL) };

	snprintf(u.name, sizeof(u.name), "%s", name);
	assert_int_equal(auth_hash_password(pw, u.password, sizeof(u.password)), 0);
	assert_int_equal(db_user_add(f->b->db, &u), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[160], svc[1024];
	struct db *db;

	if (!f)
		return -1;
	if (!authpam_confdir_built() || !pam_exec_installed()) {
		free(f);
		*state = NULL;
		return 0;
	}
	auth_set_scrypt_n(16);
	snprintf(f->dir, sizeof(f->dir), "/tmp/skytest-broker-pam-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/broker.db", f->dir);
	snprintf(f->confdir, sizeof(f->confdir), "%s/pam.d", f->dir);
	snprintf(f->calls, sizeof(f->calls), "%s/calls", f->dir);
	if (mkdir(f->confdir, 0700) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/checker", f->dir);
	snprintf(svc, sizeof(svc), CHECKER, f->calls);
	write_file(p, 0700, svc);
	write_file(f->calls, 0600, "");
	/* Module names only: PAM finds them in its own directory.  skytest
	 * is Debian's common-auth pattern (a failure is pam_deny's
	 * PAM_AUTH_ERR); skyexec has pam_exec alone (a failure is its
	 * PAM_SYSTEM_ERR); skydeny's account stack says no. */
	snprintf(svc, sizeof(svc), "auth [success=1 default=ignore] pam_exec.so expose_authtok "
		 "quiet %s\nauth requisite pam_deny.so\nauth required pam_permit.so\n"
		 "account required pam_permit.so\n", p);
	snprintf(p, sizeof(p), "%s/skytest", f->confdir);
	write_file(p, 0600, svc);
	snprintf(svc, sizeof(svc), "auth required pam_exec.so expose_authtok quiet %s/checker\n"
		 "account required pam_permit.so\n", f->dir);
	snprintf(p, sizeof(p), "%s/skyexec", f->confdir);
	write_file(p, 0600, svc);
	snprintf(svc, sizeof(svc), "auth required pam_exec.so expose_authtok quiet %s/checker\n"
		 "account required pam_deny.so\n", f->dir);
	snprintf(p, sizeof(p), "%s/skydeny", f->confdir);
	write_file(p, 0600, svc);

	struct broker_config cfg = {
		.heartbeat_interval_s = 10,
		.no_threads = true,
		.pam = { .service = "skytest", .confdir = f->confdir },
	};
	if (db_open(f->path, NULL, &db) < 0 || broker_new(&cfg, db, &f->b) < 0)
		return -1;
	add_local(f, "root", ROLE_ADMIN, "root password");
	add_local(f, "alice", ROLE_USER, "correct horse");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = {
		"broker.db", "broker.db-wal", "broker.db-shm", "checker", "calls",
		"pam.d/skytest", "pam.d/skyexec", "pam.d/skydeny", "pam.d",
	};
	char p[160];
	size_t i;

	if (!f)
		return 0;
	broker_free(f->b);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

#define NEED_PAM(f) \
	do { \
		if (!(f)) \
			skip(); /* no pam_start_confdir() or no pam_exec.so */ \
	} while (0)

/* How many times the checker ran, and its last line. */
static int calls(struct fixture *f, char *last, size_t size)
{
	char line[256];
	FILE *fp = fopen(f->calls, "r");
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		n++;
		if (last)
			snprintf(last, size, "%s", line);
	}
	fclose(fp);
	return n;
}

static int login(struct fixture *f, const char *name, const char *pw, const char *peer,
		 int64_t now, struct db_user *u)
{
	unsigned ra = 0;

	return auth_login(f->b->db, f->b->limiter, &f->b->cfg.pam, name, pw, peer, now, u, &ra);
}

/*
 * authpam_check (user set) or authpam_probe (user NULL) in a child that
 * leaves with _exit: Linux-PAM 1.5.2's pam_start() does not free all it
 * allocated when a service cannot be loaded, and LeakSanitizer (sanitizer
 * builds) would blame this test for the library's leak.
 */
static int in_child(const struct auth_pam *cfg, const char *user, const char *password)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int r = user ? authpam_check(cfg, user, password, NULL) : authpam_probe(cfg);

		_exit(-r & 0xff);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

static void test_check(void **state)
{
	struct fixture *f = *state;
	struct auth_pam deny, none, exec;
	struct db_user u;
	unsigned ra = 0;
	char last[256];

	NEED_PAM(f);
	assert_int_equal(authpam_check(&f->b->cfg.pam, "pamuser", "pam secret", "203.0.113.9"), 0);
	assert_int_equal(calls(f, last, sizeof(last)), 1);
	assert_string_equal(last, "pamuser 203.0.113.9\n");
	assert_int_equal(authpam_check(&f->b->cfg.pam, "pamuser", "pam secreT", NULL), -EACCES);
	assert_int_equal(authpam_check(&f->b->cfg.pam, "someone", "pam secret", NULL), -EACCES);
	assert_int_equal(calls(f, NULL, 0), 3);
	/* Empty and over-long passwords never reach PAM (some stacks take an
	 * empty one). */
	assert_int_equal(authpam_check(&f->b->cfg.pam, "nopass", "", NULL), -EINVAL);
	{
		char big[AUTH_PASSWORD_MAX + 2];

		memset(big, 'p', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(authpam_check(&f->b->cfg.pam, "pamuser", big, NULL), -EINVAL);
	}
	assert_int_equal(calls(f, NULL, 0), 3);
	/* The account stack has its say too. */
	deny = (struct auth_pam){ .service = "skydeny", .confdir = f->confdir };
	assert_int_equal(authpam_check(&deny, "pamuser", "pam secret", NULL), -EACCES);
	assert_int_equal(calls(f, NULL, 0), 4);
	/* A service that is not there: PAM fails, which is not a "no"
	 * (skybroker finds it at start with authpam_probe)... */
	none = (struct auth_pam){ .service = "nosuch", .confdir = f->confdir };
	assert_int_equal(in_child(&none, "pamuser", "pam secret"), -EIO);
	assert_int_equal(in_child(&none, NULL, NULL), -EIO);
	assert_int_equal(authpam_probe(&f->b->cfg.pam), 0);
	assert_int_equal(calls(f, NULL, 0), 4);
	/* ...nor is pam_exec's answer for a program that exits non-zero. */
	exec = (struct auth_pam){ .service = "skyexec", .confdir = f->confdir };
	assert_int_equal(authpam_check(&exec, "pamuser", "pam secret", NULL), 0);
	assert_int_equal(authpam_check(&exec, "pamuser", "wrong", NULL), -EIO);
	/* A login is refused all the same, one answer for all. */
	assert_int_equal(auth_login(f->b->db, f->b->limiter, &exec, "pamuser", "wrong", "10.0.0.1",
				    1000, &u, &ra), -EACCES);
	assert_int_equal(db_user_get(f->b->db, "pamuser", &u), -ENOENT);
	assert_int_equal(auth_login(f->b->db, f->b->limiter, &exec, "pamuser", "pam secret",
				    "10.0.0.1", 1000, &u, &ra), 0);
	assert_int_equal(u.source, USER_SOURCE_PAM);
}

static void test_rules(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	unsigned ra = 0;
	int n, i;

	NEED_PAM(f);
	/* A name the broker does not know and PAM accepts: added. */
	assert_int_equal(db_user_get(f->b->db, "pamuser", &u), -ENOENT);
	assert_int_equal(login(f, "pamuser", "pam secret", "10.0.0.1", 1000, &u), 0);
	assert_string_equal(u.name, "pamuser");
	assert_int_equal(u.role, ROLE_USER);
	assert_int_equal(u.source, USER_SOURCE_PAM);
	memset(&u, 0, sizeof(u));
	assert_int_equal(db_user_get(f->b->db, "pamuser", &u), 0);
	assert_int_equal(u.source, USER_SOURCE_PAM);
	assert_string_equal(u.password, AUTH_PASSWORD_PAM);
	/* The marker never verifies as a local password. */
	assert_int_not_equal(auth_verify_password(AUTH_PASSWORD_PAM, u.password), 0);
	assert_int_not_equal(auth_verify_password("", u.password), 0);
	assert_int_equal(calls(f, NULL, 0), 1);
	/* Next time: PAM again, the same row. */
	assert_int_equal(login(f, "pamuser", "pam secret", "10.0.0.1", 1001, &u), 0);
	assert_int_equal(login(f, "pamuser", "wrong one", "10.0.0.1", 1002, &u), -EACCES);
	assert_int_equal(calls(f, NULL, 0), 3);

	/* Local users keep their scrypt hash and never reach PAM, even with
	 * a password PAM would take. */
	assert_int_equal(login(f, "alice", "correct horse", "10.0.0.2", 1003, &u), 0);
	assert_int_equal(u.source, USER_SOURCE_LOCAL);
	assert_int_equal(login(f, "alice", "pam secret", "10.0.0.2", 1004, &u), -EACCES);
	assert_int_equal(calls(f, NULL, 0), 3);

	/* Unknown to both: refused, not added.  Names that could not be
	 * users, empty passwords: refused before PAM. */
	assert_int_equal(login(f, "nobody", "pam secret", "10.0.0.3", 1005, &u), -EACCES);
	assert_int_equal(db_user_get(f->b->db, "nobody", &u), -ENOENT);
	assert_int_equal(calls(f, NULL, 0), 4);
	assert_int_equal(login(f, "bad name", "pam secret", "10.0.0.4", 1006, &u), -EACCES);
	assert_int_equal(login(f, "-dash", "pam secret", "10.0.0.4", 1006, &u), -EACCES);
	assert_int_equal(login(f, "nopass", "", "10.0.0.4", 1006, &u), -EACCES);
	assert_int_equal(login(f, NULL, NULL, "10.0.0.4", 1006, &u), -EACCES);
	assert_int_equal(calls(f, NULL, 0), 4);
	assert_int_equal(db_user_get(f->b->db, "nopass", &u), -ENOENT);

	/* A pam user made by an admin: PAM, with the role it was given. */
	u = (struct db_user){ .role = ROLE_DELEGATED_ADMIN, .source = USER_SOURCE_PAM };
	snprintf(u.name, sizeof(u.name), "carol");
	snprintf(u.password, sizeof(u.password), "%s", AUTH_PASSWORD_PAM);
	assert_int_equal(db_user_add(f->b->db, &u), 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(login(f, "carol", "carol secret", "10.0.0.5", 1007, &u), 0);
	assert_int_equal(u.role, ROLE_DELEGATED_ADMIN);
	n = calls(f, NULL, 0);
	assert_int_equal(n, 5);

	/* The same counters: five PAM failures for pamuser and even the right
	 * password is refused, without asking PAM. */
	for (i = 0; i < AUTH_FAIL_MAX; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "10.0.1.%d", i);
		assert_int_equal(login(f, "pamuser", "bad", peer, 2000 + i, &u), -EACCES);
	}
	assert_int_equal(calls(f, NULL, 0), n + AUTH_FAIL_MAX);
	assert_int_equal(auth_login(f->b->db, f->b->limiter, &f->b->cfg.pam, "pamuser",
				    "pam secret", "10.0.9.9", 2010, &u, &ra), -EAGAIN);
	assert_int_equal(ra, 2000 + AUTH_FAIL_WINDOW_S - 2010);
	assert_int_equal(calls(f, NULL, 0), n + AUTH_FAIL_MAX);
	/* Unknown names count the same. */
	for (i = 0; i < AUTH_FAIL_MAX; i++)
		assert_int_equal(login(f, "ghost", "pam secret", "10.0.2.1", 3000, &u), -EACCES);
	assert_int_equal(login(f, "ghost", "pam secret", "10.0.2.2", 3001, &u), -EAGAIN);

	/* PAM off: pam users cannot log in at all; local ones still can. */
	assert_int_equal(auth_login(f->b->db, f->b->limiter, NULL, "carol", "carol secret",
				    "10.0.3.1", 4000, &u, &ra), -EACCES);
	assert_int_equal(auth_login(f->b->db, f->b->limiter, &(struct auth_pam){ 0 }, "carol",
				    "carol secret", "10.0.3.1", 4000, &u, &ra), -EACCES);
	assert_int_equal(auth_login(f->b->db, f->b->limiter, NULL, "alice", "correct horse",
				    "10.0.3.1", 4000, &u, &ra), 0);
	/* And unknown names are not handed to anyone. */
	n = calls(f, NULL, 0);
	assert_int_equal(auth_login(f->b->db, f->b->limiter, NULL, "dave", "pam secret",
				    "10.0.3.2", 4000, &u, &ra), -EACCES);
	assert_int_equal(calls(f, NULL, 0), n);
}

/* --- the REST API and the RDP front door ------------------------------------------- */

static struct http_response *call(struct fixture *f, const char *token, const char *method,
				  const char *path, const char *body)
{
	struct fake_request r;
	char authz[80];

	fake_request_init(&r, method, path, body);
	if (body)
		fake_request_header(&r, "Content-Type", "application/json");
	if (token) {
		snprintf(authz, sizeof(authz), "Bearer %s", token);
		fake_request_header(&r, "Authorization", authz);
	}
	return api_handle(f->b, &r.req);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Status of a call; with want_key, *out gets that string of the body. */
static int status(struct fixture *f, const char *token, const char *method, const char *path,
		  const char *body, const char *want_key, char *out, size_t size)
{
	struct http_response *resp = call(f, token, method, path, body);
	int s = fake_status(resp);

	if (want_key) {
		struct json_object *o = json_tokener_parse(fake_body(resp)), *sub = o;

		assert_non_null(o);
		/* /login puts the user under "user". */
		if (!strcmp(want_key, "user.source") || !strcmp(want_key, "user.role")) {
			assert_true(json_object_object_get_ex(o, "user", &sub));
			want_key += 5;
		}
		snprintf(out, size, "%s", jstr(sub, want_key) ? jstr(sub, want_key) : "(none)");
		json_object_put(o);
	}
	http_response_free(resp);
	return s;
}

static int api_login(struct fixture *f, const char *name, const char *pw, char *token,
		     size_t size)
{
	struct http_response *resp;
	char body[256];
	int s;

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"password\": \"%s\"}", name, pw);
	resp = call(f, NULL, "POST", "/api/v1/login", body);
	s = fake_status(resp);
	if (s == 200 && token) {
		struct json_object *o = json_tokener_parse(fake_body(resp));

		assert_non_null(o);
		snprintf(token, size, "%s", jstr(o, "token"));
		json_object_put(o);
	}
	http_response_free(resp);
	return s;
}

static void test_api_frontdoor(void **state)
{
	const struct frontdoor_ops *ops = &broker_frontdoor_ops;
	struct fixture *f = *state;
	char root[AUTH_TOKEN_LEN + 1], tok[AUTH_TOKEN_LEN + 1], v[64];
	int i;

	NEED_PAM(f);
	assert_int_equal(api_login(f, "root", "root password", root, sizeof(root)), 200);
	/* A PAM user's first login over the API. */
	assert_int_equal(status(f, NULL, "POST", "/api/v1/login",
				"{\"name\": \"pamuser\", \"password\": \"pam secret\"}",
				"user.source", v, sizeof(v)), 200);
	assert_string_equal(v, "pam");
	assert_int_equal(status(f, root, "GET", "/api/v1/users/pamuser", NULL, "role", v,
				sizeof(v)), 200);
	assert_string_equal(v, "user");
	assert_int_equal(status(f, root, "GET", "/api/v1/users/alice", NULL, "source", v,
				sizeof(v)), 200);
	assert_string_equal(v, "local");
	assert_int_equal(api_login(f, "pamuser", "wrong", NULL, 0), 401);
	assert_int_equal(api_login(f, "nobody", "pam secret", NULL, 0), 401);
	assert_int_equal(api_login(f, "alice", "correct horse", NULL, 0), 200);
	/* The front door: the same function, so the same users... */
	assert_int_equal(ops->authenticate(f->b, "198.51.100.1", "pamuser", "pam secret"), 0);
	assert_int_equal(ops->authenticate(f->b, "198.51.100.1", "alice", "correct horse"), 0);
	assert_int_equal(ops->authenticate(f->b, "198.51.100.1", "pamuser", "nope"), -EACCES);

	/* Admins make PAM users: no password, and none may be set. */
	assert_int_equal(status(f, root, "POST", "/api/v1/users",
				"{\"name\": \"carol\", \"role\": \"delegated_admin\","
				" \"source\": \"pam\"}", "source", v, sizeof(v)), 201);
	assert_string_equal(v, "pam");
	assert_int_equal(status(f, root, "POST", "/api/v1/users",
				"{\"name\": \"c2\", \"role\": \"user\", \"source\": \"pam\","
				" \"password\": \"some password\"}", "error", v, sizeof(v)), 400);
	assert_int_equal(status(f, root, "POST", "/api/v1/users",
				"{\"name\": \"c2\", \"role\": \"user\"}", "error", v, sizeof(v)),
			 400);
	assert_non_null(strstr(v, "password"));
	assert_int_equal(status(f, root, "POST", "/api/v1/users",
				"{\"name\": \"c2\", \"role\": \"user\", \"source\": \"ldap\"}",
				"error", v, sizeof(v)), 400);
	assert_non_null(strstr(v, "source"));
	assert_int_equal(status(f, NULL, "POST", "/api/v1/login",
				"{\"name\": \"carol\", \"password\": \"carol secret\"}",
				"user.role", v, sizeof(v)), 200);
	assert_string_equal(v, "delegated_admin");
	assert_int_equal(api_login(f, "carol", "carol secret", tok, sizeof(tok)), 200);
	/* Her password is PAM's: not settable here, by her or an admin. */
	assert_int_equal(status(f, tok, "PATCH", "/api/v1/users/carol",
				"{\"password\": \"a new password\"}", NULL, NULL, 0), 409);
	assert_int_equal(status(f, tok, "PATCH", "/api/v1/users/carol",
				"{\"source\": \"local\", \"password\": \"a new password\"}", NULL,
				NULL, 0), 403);
	assert_int_equal(status(f, root, "PATCH", "/api/v1/users/carol",
				"{\"source\": \"local\"}", "error", v, sizeof(v)), 400);
	/* An admin makes her local: her own password from then on, PAM's no
	 * longer counts, her sessions end. */
	assert_int_equal(status(f, root, "PATCH", "/api/v1/users/carol",
				"{\"source\": \"local\", \"password\": \"a new password\"}",
				"source", v, sizeof(v)), 200);
	assert_string_equal(v, "local");
	assert_int_equal(status(f, tok, "GET", "/api/v1/me", NULL, NULL, NULL, 0), 401);
	assert_int_equal(api_login(f, "carol", "carol secret", NULL, 0), 401);
	assert_int_equal(api_login(f, "carol", "a new password", NULL, 0), 200);
	/* And back to PAM. */
	assert_int_equal(status(f, root, "PATCH", "/api/v1/users/carol", "{\"source\": \"pam\"}",
				"source", v, sizeof(v)), 200);
	assert_int_equal(api_login(f, "carol", "a new password", NULL, 0), 401);
	assert_int_equal(api_login(f, "carol", "carol secret", NULL, 0), 200);

	/* No enrolling while PAM is on: it would take PAM's names. */
	assert_int_equal(status(f, NULL, "POST", "/api/v1/enroll",
				"{\"name\": \"pamuser2\", \"password\": \"long enough\"}", NULL,
				NULL, 0), 403);
	f->b->cfg.enroll = true;
	assert_int_equal(status(f, NULL, "POST", "/api/v1/enroll",
				"{\"name\": \"pamuser2\", \"password\": \"long enough\"}", "error",
				v, sizeof(v)), 403);
	assert_non_null(strstr(v, "PAM"));

	/* ...and the same counters: failures at the front door make the API
	 * refuse pamuser, right password or not. */
	for (i = 0; i < AUTH_FAIL_MAX - 1; i++)
		assert_int_equal(ops->authenticate(f->b, "198.51.100.2", "pamuser", "nope"),
				 -EACCES);
	assert_int_equal(ops->authenticate(f->b, "198.51.100.2", "pamuser", "pam secret"),
			 -EAGAIN);
	assert_int_equal(api_login(f, "pamuser", "pam secret", NULL, 0), 429);

	/* With PAM off, pam users cannot be made. */
	f->b->cfg.pam.service = NULL;
	assert_int_equal(status(f, root, "POST", "/api/v1/users",
				"{\"name\": \"dave\", \"role\": \"user\", \"source\": \"pam\"}",
				"error", v, sizeof(v)), 409);
	assert_non_null(strstr(v, "PAM"));
	assert_int_equal(api_login(f, "carol", "carol secret", NULL, 0), 401);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv),
		T(test_check),
		T(test_rules),
		T(test_api_frontdoor),
	};

	setenv("SKYLIGHT_LOG", "error", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

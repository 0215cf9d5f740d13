// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyctl's broker commands: users, pools, hosts, desktops and jobs over the
 * broker's REST API (docs/api.md), and the cluster CA (cluster/pki.h).
 *
 *   skyctl login --user admin
 *   skyctl desktops request alice-1 --pool office --memory 2048
 *   skyctl hosts maintenance host1 on
 *   skyctl jobs list --json
 *
 * `skyctl login` keeps the session's bearer token in
 * $XDG_CONFIG_HOME/skylight/skyctl.json (mode 0600); without one,
 * $SKYLIGHT_USER and $SKYLIGHT_PASSWORD log in for one command.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "pki.h"
#include "skyctl.h"

#define PASSWORD_MAX 256

struct broker {
	const char *url;    /* without a trailing '/' */
	const char *ca;
	char *token;
	bool json;
};

/* A reply's bytes, for the .rdp download. */
struct body {
	char *data;
	size_t len;
};

/*
 * One request over cluster/http.h's client.  *status is the HTTP status;
 * *reply the body parsed as JSON (NULL when it is not), *raw the body
 * itself when raw is given.  Returns 0 or an exit status after a message.
 */
static int call(struct broker *b, const char *method, const char *path,
		struct json_object *req, long *status, struct json_object **reply, struct body *raw)
{
	const struct http_client_config cfg = {
		.ca = b->ca, .bearer = b->token, .timeout_ms = 60000,
	};
	char *url = NULL;
	int r;

	*reply = NULL;
	if (asprintf(&url, "%s%s", b->url, path) < 0) {
		fprintf(stderr, "skyctl: out of memory\n");
		return EX_OSERR;
	}
	if (raw) {
		r = http_client_fetch(&cfg, method, url, req, status, &raw->data, &raw->len);
		if (r == 0 && raw->data)
			*reply = json_tokener_parse(raw->data);
	} else {
		r = http_client_request(&cfg, method, url, req, status, reply);
	}
	free(url);
	switch (r) {
	case 0:
		return 0;
	case -EPROTO:
		fprintf(stderr, "skyctl: %s: TLS failed (certificate not trusted or not valid)\n",
			b->url);
		fprintf(stderr, "skyctl: give the cluster CA with --ca PEM or $SKYLIGHT_CA\n");
		return EX_UNAVAILABLE;
	case -EMSGSIZE:
		fprintf(stderr, "skyctl: %s: reply too large\n", b->url);
		return EX_PROTOCOL;
	case -ECONNREFUSED:
		fprintf(stderr, "skyctl: %s: cannot connect\n", b->url);
		return EX_UNAVAILABLE;
	case -ETIMEDOUT:
		fprintf(stderr, "skyctl: %s: timed out\n", b->url);
		return EX_UNAVAILABLE;
	default:
		fprintf(stderr, "skyctl: %s: %s\n", b->url, strerror(-r));
		return EX_UNAVAILABLE;
	}
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_int64(v);
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The exit status for an HTTP error, after printing the broker's message. */
static int http_failed(const char *what, long status, struct json_object *reply)
{
	fprintf(stderr, "skyctl: %s: %s (HTTP %ld)\n", what, jstr(reply, "error"), status);
	if (status == 401)
		fprintf(stderr, "skyctl: log in with `skyctl login`\n");
	switch (status) {
	case 400: case 413: case 415: return EX_DATAERR;
	case 401: case 403: return EX_NOPERM;
	case 404: return EX_NOINPUT;
	case 409: return 1;
	case 429: return EX_TEMPFAIL;
	default: return status >= 500 ? EX_UNAVAILABLE : 1;
	}
}

/* A request that must succeed with a 2xx: *reply on success (may be NULL
 * when not wanted). */
static int api(struct broker *b, const char *what, const char *method, const char *path,
	       struct json_object *req, struct json_object **reply)
{
	struct json_object *rep;
	long status = 0;
	int r;

	r = call(b, method, path, req, &status, &rep, NULL);
	if (r)
		return r;
	if (status < 200 || status > 299) {
		r = http_failed(what, status, rep);
		json_object_put(rep);
		return r;
	}
	if (reply)
		*reply = rep;
	else
		json_object_put(rep);
	return 0;
}

/* --- the session file --------------------------------------------------- */

static char *session_path(bool make_dir)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *dir = NULL, *p = NULL;

	if (x && *x) {
		if (asprintf(&dir, "%s/skylight", x) < 0)
			return NULL;
	} else if (home && *home) {
		if (asprintf(&dir, "%s/.config/skylight", home) < 0)
			return NULL;
	} else {
		return NULL;
	}
	if (make_dir) {
		char *slash = strrchr(dir, '/');

		*slash = 0;
		mkdir(dir, 0700);
		*slash = '/';
		mkdir(dir, 0700);
	}
	if (asprintf(&p, "%s/skyctl.json", dir) < 0)
		p = NULL;
	free(dir);
	return p;
}

/* The token saved by `skyctl login` for this broker, or NULL. */
static char *session_load(const char *url)
{
	char *path = session_path(false), *tok = NULL;
	struct json_object *o;

	if (!path)
		return NULL;
	o = json_object_from_file(path);
	free(path);
	if (o && !strcmp(jstr(o, "broker"), url) && strcmp(jstr(o, "token"), "-"))
		tok = strdup(jstr(o, "token"));
	json_object_put(o);
	return tok;
}

static int session_save(const char *url, const char *user, const char *token)
{
	char *path = session_path(true), *tmp = NULL;
	struct json_object *o;
	const char *s;
	FILE *f;
	int fd, r = 0;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(path);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "broker", json_object_new_string(url));
	json_object_object_add(o, "user", json_object_new_string(user));
	json_object_object_add(o, "token", json_object_new_string(token));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	if (fprintf(f, "%s\n", s) < 0)
		r = -EIO;
	json_object_put(o);
	if (fclose(f) != 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	else
		fprintf(stderr, "skyctl: logged in as %s; the session is kept in %s\n", user, path);
out:
	free(tmp);
	free(path);
	return r;
}

static int login(struct broker *b, const char *user, const char *password, char **token)
{
	struct json_object *req = json_object_new_object(), *rep = NULL;
	int r;

	json_object_object_add(req, "name", json_object_new_string(user));
	json_object_object_add(req, "password", json_object_new_string(password));
	r = api(b, "login", "POST", "/api/v1/login", req, &rep);
	/* json-c keeps the serialized copy inside req: wipe the password. */
	json_object_object_del(req, "password");
	json_object_put(req);
	if (r)
		return r;
	if (!strcmp(jstr(rep, "token"), "-")) {
		fprintf(stderr, "skyctl: login: the broker gave no token\n");
		json_object_put(rep);
		return EX_PROTOCOL;
	}
	*token = strdup(jstr(rep, "token"));
	json_object_put(rep);
	return *token ? 0 : EX_OSERR;
}

/* Make sure b has a token: the saved session, else $SKYLIGHT_USER and
 * $SKYLIGHT_PASSWORD. */
static int authenticate(struct broker *b)
{
	const char *user = getenv("SKYLIGHT_USER"), *pw = getenv("SKYLIGHT_PASSWORD");

	if (b->token)
		return 0;
	b->token = session_load(b->url);
	if (b->token)
		return 0;
	if (user && *user && pw)
		return login(b, user, pw, &b->token);
	fprintf(stderr, "skyctl: not logged in to %s: run `skyctl login`, or set "
		"SKYLIGHT_USER and SKYLIGHT_PASSWORD\n", b->url);
	return EX_NOPERM;
}

/* --- jobs and progress ---------------------------------------------------- */

static void progress_draw(struct json_object *job, bool tty)
{
	int64_t p = jint(job, "progress");
	char bar[31];
	int fill;

	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	fill = (int)(p * 30 / 100);
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	fprintf(stderr, "%s%s job %s [%s] %3d%% %s: %s%s", tty ? "\r" : "", jstr(job, "kind"),
		jstr(job, "id"), bar, (int)p, jstr(job, "state"), jstr(job, "message"),
		tty ? "\033[K" : "\n");
	fflush(stderr);
}

static bool job_done(struct json_object *job)
{
	const char *s = jstr(job, "state");

	return !strcmp(s, "succeeded") || !strcmp(s, "failed");
}

/* Follow job id until it ends, drawing a progress bar on a terminal (a
 * line per change otherwise).  0 if it succeeded. */
static int job_wait(struct broker *b, int64_t id, unsigned timeout_s)
{
	bool tty = isatty(STDERR_FILENO);
	struct json_object *job = NULL;
	char path[64], last[512] = "";
	struct timespec pause = { 0, 300 * 1000 * 1000 };
	time_t end = time(NULL) + timeout_s;
	int r;

	snprintf(path, sizeof(path), "/api/v1/jobs/%" PRId64, id);
	for (;;) {
		char now[512];

		json_object_put(job);
		r = api(b, "job", "GET", path, NULL, &job);
		if (r)
			return r;
		snprintf(now, sizeof(now), "%s %" PRId64 " %s", jstr(job, "state"),
			 jint(job, "progress"), jstr(job, "message"));
		if (!b->json && (tty || strcmp(now, last)))
			progress_draw(job, tty);
		snprintf(last, sizeof(last), "%s", now);
		if (job_done(job))
			break;
		if (time(NULL) > end) {
			if (tty && !b->json)
				fputc('\n', stderr);
			fprintf(stderr, "skyctl: job %" PRId64 " still %s after %u s; "
				"`skyctl jobs wait %" PRId64 "` follows it\n", id, jstr(job, "state"),
				timeout_s, id);
			json_object_put(job);
			return EX_TEMPFAIL;
		}
		nanosleep(&pause, NULL);
	}
	if (tty && !b->json)
		fputc('\n', stderr);
	if (b->json)
		print_json(job);
	r = strcmp(jstr(job, "state"), "succeeded") ? 1 : 0;
	if (r)
		fprintf(stderr, "skyctl: job %" PRId64 " failed: %s\n", id, jstr(job, "message"));
	json_object_put(job);
	return r;
}

/* --- tables -------------------------------------------------------------- */

static void when(struct json_object *o, const char *key, char *out, size_t size)
{
	const char *s = jstr(o, key);

	/* "2026-11-26T17:00:00Z" → "2026-11-26 17:00" */
	if (strlen(s) >= 16 && s[10] == 'T')
		snprintf(out, size, "%.10s %.5s", s, s + 11);
	else
		snprintf(out, size, "%s", s);
}

static void print_users(struct json_object *a)
{
	char t[32];

	printf("%-24s %-16s %-32s %s\n", "NAME", "ROLE", "EMAIL", "CREATED");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *u = json_object_array_get_idx(a, i);

		when(u, "created", t, sizeof(t));
		printf("%-24s %-16s %-32s %s\n", jstr(u, "name"), jstr(u, "role"), jstr(u, "email"),
		       t);
	}
}

static void print_pools(struct json_object *a)
{
	printf("%-16s %-9s %-12s %8s %5s %5s %8s %8s %8s  %s\n", "NAME", "KIND", "TEMPLATE",
	       "MEMORY", "CPUS", "MAX", "PER-USER", "DESKTOPS", "COST/DAY", "DESCRIPTION");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *p = json_object_array_get_idx(a, i);

		printf("%-16s %-9s %-12s %6" PRId64 "Mi %5" PRId64 " %5" PRId64 " %8" PRId64
		       " %8" PRId64 " %8.2f  %s\n", jstr(p, "name"), jstr(p, "kind"),
		       jstr(p, "template"), jint(p, "memory_mb"), jint(p, "cpus"),
		       jint(p, "max_desktops"), jint(p, "max_per_user"), jint(p, "desktops"),
		       json_object_get_double(json_object_object_get(p, "cost_per_day")),
		       jstr(p, "description"));
	}
}

static void print_desktops(struct json_object *a)
{
	char t[32];

	printf("%-20s %-14s %-12s %-18s %-10s %8s %4s %8s  %s\n", "NAME", "OWNER", "POOL",
	       "STATE", "HOST", "MEMORY", "CPUS", "COST/DAY", "EXPIRES");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *d = json_object_array_get_idx(a, i);

		when(d, "expires", t, sizeof(t));
		printf("%-20s %-14s %-12s %-18s %-10s %6" PRId64 "Mi %4" PRId64 " %8.2f  %s\n",
		       jstr(d, "name"), jstr(d, "owner"), jstr(d, "pool"), jstr(d, "state"),
		       jstr(d, "host"), jint(d, "memory_mb"), jint(d, "cpus"),
		       json_object_get_double(json_object_object_get(d, "cost_per_day")), t);
	}
}

static void print_hosts(struct json_object *a)
{
	char t[32];

	printf("%-16s %-15s %-11s %5s %17s %8s  %s\n", "NAME", "HEALTH", "MAINTENANCE", "CPUS",
	       "MEMORY FREE/ALL", "DESKTOPS", "LAST HEARTBEAT");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *h = json_object_array_get_idx(a, i), *m;
		char mem[40];

		when(h, "last_heartbeat", t, sizeof(t));
		snprintf(mem, sizeof(mem), "%" PRId64 "/%" PRId64 " Mi", jint(h, "mem_free_mb"),
			 jint(h, "mem_total_mb"));
		m = json_object_object_get(h, "maintenance");
		printf("%-16s %-15s %-11s %5" PRId64 " %17s %8" PRId64 "  %s\n", jstr(h, "name"),
		       jstr(h, "health"), m && json_object_get_boolean(m) ? "on" : "off",
		       jint(h, "cpus"), mem, jint(h, "desktops"), t);
	}
}

static void print_jobs(struct json_object *a)
{
	char t[32], f[32];

	printf("%6s %-9s %-20s %-12s %-12s %-10s %4s  %-16s %-16s %s\n", "ID", "KIND", "DESKTOP",
	       "HOST", "USER", "STATE", "%", "CREATED", "FINISHED", "MESSAGE");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *j = json_object_array_get_idx(a, i);

		when(j, "created", t, sizeof(t));
		when(j, "finished", f, sizeof(f));
		printf("%6" PRId64 " %-9s %-20s %-12s %-12s %-10s %4" PRId64 "  %-16s %-16s %s\n",
		       jint(j, "id"), jstr(j, "kind"), jstr(j, "desktop"), jstr(j, "host"),
		       jstr(j, "user"), jstr(j, "state"), jint(j, "progress"), t, f,
		       jstr(j, "message"));
	}
}

/* GET path and print it with fn, or as JSON. */
static int show(struct broker *b, const char *what, const char *path,
		void (*fn)(struct json_object *))
{
	struct json_object *rep = NULL;
	int r = api(b, what, "GET", path, NULL, &rep);

	if (r)
		return r;
	if (!rep) {
		fprintf(stderr, "skyctl: %s: the broker's reply is not JSON\n", what);
		return EX_PROTOCOL;
	}
	if (b->json || !fn || !json_object_is_type(rep, json_type_array))
		print_json(rep);
	else
		fn(rep);
	json_object_put(rep);
	return 0;
}

/* --- option parsing ---------------------------------------------------------- */

enum {
	O_BROKER = 256, O_CA, O_ROLE, O_EMAIL, O_PWSTDIN, O_PASSWORD, O_TEMPLATE, O_KIND, O_MEMORY,
	O_CPUS, O_MAX, O_MAX_PER_USER, O_EXPIRY, O_COSTGB, O_COSTCPU, O_DESC, O_POOL, O_ADMINS,
	O_NOWAIT, O_ALL,
	O_LIMIT, O_USER, O_DIR, O_NAME, O_SAN, O_OUT, O_TIMEOUT, O_CERT, O_KEY,
};

struct args {
	const char *role, *email, *template, *kind, *desc, *pool, *admins, *user, *dir, *name;
	const char *out, *cert, *key;
	const char *sans[16];
	size_t nsans;
	long memory, cpus, max, max_per_user, expiry, limit, timeout;
	double cost_gb, cost_cpu;
	bool pw_stdin, password, nowait, all, has_cost_gb, has_cost_cpu, has_max_per_user;
	char **pos;   /* positional arguments after the verb */
	int npos;
};

static bool num(const char *opt, const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "skyctl: %s wants a number from %ld to %ld\n", opt, min, max);
		return false;
	}
	*ret = v;
	return true;
}

static bool money(const char *opt, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e6) {
		fprintf(stderr, "skyctl: %s wants an amount from 0 to 1000000\n", opt);
		return false;
	}
	*ret = v;
	return true;
}

/* Parse options anywhere after the command into a; argv[0] is the
 * command.  Positional arguments (verb first) end up in a->pos. */
static int parse(int argc, char **argv, struct broker *b, struct args *a)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, O_BROKER },
		{ "ca", required_argument, NULL, O_CA },
		{ "json", no_argument, NULL, 'j' },
		{ "role", required_argument, NULL, O_ROLE },
		{ "email", required_argument, NULL, O_EMAIL },
		{ "password-stdin", no_argument, NULL, O_PWSTDIN },
		{ "password", no_argument, NULL, O_PASSWORD },
		{ "template", required_argument, NULL, O_TEMPLATE },
		{ "kind", required_argument, NULL, O_KIND },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "max", required_argument, NULL, O_MAX },
		{ "max-per-user", required_argument, NULL, O_MAX_PER_USER },
		{ "expiry-days", required_argument, NULL, O_EXPIRY },
		{ "cost-gb", required_argument, NULL, O_COSTGB },
		{ "cost-cpu", required_argument, NULL, O_COSTCPU },
		{ "description", required_argument, NULL, O_DESC },
		{ "pool", required_argument, NULL, O_POOL },
		{ "admins", required_argument, NULL, O_ADMINS },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		{ "all", no_argument, NULL, O_ALL },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "user", required_argument, NULL, O_USER },
		{ "dir", required_argument, NULL, O_DIR },
		{ "name", required_argument, NULL, O_NAME },
		{ "san", required_argument, NULL, O_SAN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	a->timeout = 600;
	optind = 0;
	while ((c = getopt_long(argc, argv, "jo:h", opts, NULL)) != -1) {
		switch (c) {
		case O_BROKER: b->url = optarg; break;
		case O_CA: b->ca = optarg; break;
		case 'j': b->json = true; break;
		case O_ROLE: a->role = optarg; break;
		case O_EMAIL: a->email = optarg; break;
		case O_PWSTDIN: a->pw_stdin = true; break;
		case O_PASSWORD: a->password = true; break;
		case O_TEMPLATE: a->template = optarg; break;
		case O_KIND: a->kind = optarg; break;
		case O_MEMORY:
			if (!num("--memory", optarg, 1, 1 << 24, &a->memory))
				return EX_USAGE;
			break;
		case O_CPUS:
			if (!num("--cpus", optarg, 1, 1024, &a->cpus))
				return EX_USAGE;
			break;
		case O_MAX:
			if (!num("--max", optarg, 0, 1000000, &a->max))
				return EX_USAGE;
			break;
		case O_MAX_PER_USER:
			if (!num("--max-per-user", optarg, 0, 1000000, &a->max_per_user))
				return EX_USAGE;
			a->has_max_per_user = true;
			break;
		case O_EXPIRY:
			if (!num("--expiry-days", optarg, 0, 36500, &a->expiry))
				return EX_USAGE;
			break;
		case O_LIMIT:
			if (!num("--limit", optarg, 1, 500, &a->limit))
				return EX_USAGE;
			break;
		case O_TIMEOUT:
			if (!num("--timeout", optarg, 1, 86400, &a->timeout))
				return EX_USAGE;
			break;
		case O_COSTGB:
			if (!money("--cost-gb", optarg, &a->cost_gb))
				return EX_USAGE;
			a->has_cost_gb = true;
			break;
		case O_COSTCPU:
			if (!money("--cost-cpu", optarg, &a->cost_cpu))
				return EX_USAGE;
			a->has_cost_cpu = true;
			break;
		case O_DESC: a->desc = optarg; break;
		case O_POOL: a->pool = optarg; break;
		case O_ADMINS: a->admins = optarg; break;
		case O_NOWAIT: a->nowait = true; break;
		case O_ALL: a->all = true; break;
		case O_USER: a->user = optarg; break;
		case O_DIR: a->dir = optarg; break;
		case O_NAME: a->name = optarg; break;
		case O_CERT: a->cert = optarg; break;
		case O_KEY: a->key = optarg; break;
		case 'o': a->out = optarg; break;
		case O_SAN:
			if (a->nsans == sizeof(a->sans) / sizeof(a->sans[0])) {
				fprintf(stderr, "skyctl: at most 16 --san\n");
				return EX_USAGE;
			}
			a->sans[a->nsans++] = optarg;
			break;
		case 'h': return -1;
		default: return EX_USAGE;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	return 0;
}

static bool want(const char *cmd, const struct args *a, int n, const char *what)
{
	/* pos[0] is the verb. */
	if (a->npos - 1 != n) {
		fprintf(stderr, "skyctl: %s %s wants %s\n", cmd, a->pos[0], what);
		return false;
	}
	return true;
}

/* Percent-encode a name for a URL path (names are [A-Za-z0-9._-], but a
 * bad one must reach the broker as data, not as path syntax). */
static char *path_of(const char *prefix, const char *name, const char *suffix)
{
	char *esc = curl_easy_escape(NULL, name, 0), *p = NULL;

	if (esc && asprintf(&p, "%s%s%s", prefix, esc, suffix) < 0)
		p = NULL;
	curl_free(esc);
	return p;
}

static int with_path(struct broker *b, const char *what, const char *method, const char *prefix,
		     const char *name, const char *suffix, struct json_object *req,
		     struct json_object **reply)
{
	char *p = path_of(prefix, name, suffix);
	int r;

	if (!p)
		return EX_OSERR;
	r = api(b, what, method, p, req, reply);
	free(p);
	return r;
}

/* --- commands --------------------------------------------------------------- */

static int cmd_login(struct broker *b, struct args *a)
{
	char pw[PASSWORD_MAX + 3], *token = NULL;
	const char *user = a->user ? a->user : getenv("SKYLIGHT_USER");
	int r;

	if (!user || !*user) {
		fprintf(stderr, "skyctl: login wants --user NAME (or $SKYLIGHT_USER)\n");
		return EX_USAGE;
	}
	r = skyctl_get_password(user, a->pw_stdin, false, pw, sizeof(pw));
	if (r)
		return r;
	r = login(b, user, pw, &token);
	explicit_bzero(pw, sizeof(pw));
	if (r)
		return r;
	r = session_save(b->url, user, token);
	explicit_bzero(token, strlen(token));
	free(token);
	if (r < 0) {
		fprintf(stderr, "skyctl: login: cannot keep the session: %s\n", strerror(-r));
		return EX_CANTCREAT;
	}
	return 0;
}

static int cmd_logout(struct broker *b)
{
	char *path;
	int r = 0;

	b->token = session_load(b->url);
	if (b->token)
		r = api(b, "logout", "POST", "/api/v1/logout", NULL, NULL);
	path = session_path(false);
	if (path)
		unlink(path);
	free(path);
	return r;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *key, long v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_int64(v));
}

static int cmd_users(struct broker *b, struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "list";
	struct json_object *req, *rep = NULL;
	char pw[PASSWORD_MAX + 3];
	int r;

	if (!strcmp(verb, "list"))
		return show(b, "users", "/api/v1/users", print_users);
	if (!strcmp(verb, "add") || !strcmp(verb, "set")) {
		bool add = !strcmp(verb, "add");

		if (!want("users", a, 1, "a NAME"))
			return EX_USAGE;
		req = json_object_new_object();
		if (add) {
			add_str(req, "name", a->pos[1]);
			add_str(req, "role", a->role ? a->role : "user");
		} else {
			add_str(req, "role", a->role);
		}
		add_str(req, "email", a->email);
		if (add || a->password || a->pw_stdin) {
			r = skyctl_get_password(a->pos[1], a->pw_stdin, true, pw, sizeof(pw));
			if (r) {
				json_object_put(req);
				return r;
			}
			add_str(req, "password", pw);
			explicit_bzero(pw, sizeof(pw));
		}
		if (add)
			r = api(b, "users add", "POST", "/api/v1/users", req, &rep);
		else
			r = with_path(b, "users set", "PATCH", "/api/v1/users/", a->pos[1], "", req,
				      &rep);
		json_object_object_del(req, "password");
		json_object_put(req);
		if (!r && b->json)
			print_json(rep);
		json_object_put(rep);
		return r;
	}
	if (!strcmp(verb, "del")) {
		if (!want("users", a, 1, "a NAME"))
			return EX_USAGE;
		return with_path(b, "users del", "DELETE", "/api/v1/users/", a->pos[1], "", NULL,
				 NULL);
	}
	fprintf(stderr, "skyctl: unknown users verb \"%s\" (list, add, set, del)\n", verb);
	return EX_USAGE;
}

static int cmd_pools(struct broker *b, struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "list";
	struct json_object *req, *rep = NULL;
	bool add;
	int r;

	if (!strcmp(verb, "list"))
		return show(b, "pools", "/api/v1/pools", print_pools);
	if (!strcmp(verb, "del")) {
		if (!want("pools", a, 1, "a NAME"))
			return EX_USAGE;
		return with_path(b, "pools del", "DELETE", "/api/v1/pools/", a->pos[1], "", NULL,
				 NULL);
	}
	add = !strcmp(verb, "add");
	if (!add && strcmp(verb, "set")) {
		fprintf(stderr, "skyctl: unknown pools verb \"%s\" (list, add, set, del)\n", verb);
		return EX_USAGE;
	}
	if (!want("pools", a, 1, "a NAME"))
		return EX_USAGE;
	if (add && !a->template) {
		fprintf(stderr, "skyctl: pools add wants --template NAME\n");
		return EX_USAGE;
	}
	req = json_object_new_object();
	if (add)
		add_str(req, "name", a->pos[1]);
	add_str(req, "template", a->template);
	add_str(req, "kind", a->kind ? a->kind : add ? "personal" : NULL);
	add_str(req, "description", a->desc);
	add_int(req, "memory_mb", a->memory);
	add_int(req, "cpus", a->cpus);
	if (a->max)
		add_int(req, "max_desktops", a->max);
	/* 0 is a value here: no quota. */
	if (a->has_max_per_user)
		json_object_object_add(req, "max_per_user", json_object_new_int64(a->max_per_user));
	if (a->expiry)
		add_int(req, "expiry_days", a->expiry);
	if (a->has_cost_gb)
		json_object_object_add(req, "cost_per_gb_day", json_object_new_double(a->cost_gb));
	if (a->has_cost_cpu)
		json_object_object_add(req, "cost_per_cpu_day",
				       json_object_new_double(a->cost_cpu));
	if (add)
		r = api(b, "pools add", "POST", "/api/v1/pools", req, &rep);
	else
		r = with_path(b, "pools set", "PATCH", "/api/v1/pools/", a->pos[1], "", req,
			      &rep);
	json_object_put(req);
	if (!r && b->json)
		print_json(rep);
	json_object_put(rep);
	return r;
}

static int cmd_hosts(struct broker *b, struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "list";
	struct json_object *req, *rep = NULL;
	int r;

	if (!strcmp(verb, "list"))
		return show(b, "hosts", "/api/v1/hosts", print_hosts);
	if (strcmp(verb, "maintenance")) {
		fprintf(stderr, "skyctl: unknown hosts verb \"%s\" (list, maintenance)\n", verb);
		return EX_USAGE;
	}
	if (!want("hosts", a, 2, "a NAME and on or off"))
		return EX_USAGE;
	if (strcmp(a->pos[2], "on") && strcmp(a->pos[2], "off")) {
		fprintf(stderr, "skyctl: hosts maintenance NAME wants on or off\n");
		return EX_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "on", json_object_new_boolean(!strcmp(a->pos[2], "on")));
	r = with_path(b, "hosts maintenance", "POST", "/api/v1/hosts/", a->pos[1],
		      "/maintenance", req, &rep);
	json_object_put(req);
	if (!r) {
		if (b->json)
			print_json(rep);
		else
			printf("%s: maintenance %s\n", a->pos[1], a->pos[2]);
	}
	json_object_put(rep);
	return r;
}

/* A reply holding a job ("job": Job, or the Job itself): follow it unless
 * --no-wait. */
static int follow(struct broker *b, struct args *a, struct json_object *rep)
{
	struct json_object *job = json_object_object_get(rep, "job");
	int64_t id;

	if (!job)
		job = rep;
	id = jint(job, "id");
	if (a->nowait || !id) {
		if (b->json)
			print_json(rep);
		else if (id)
			printf("job %" PRId64 " %s\n", id, jstr(job, "state"));
		return 0;
	}
	return job_wait(b, id, (unsigned)a->timeout);
}

static int cmd_desktops(struct broker *b, struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "list";
	struct json_object *req, *rep = NULL;
	int r;

	if (!strcmp(verb, "list"))
		return show(b, "desktops", a->all ? "/api/v1/desktops?all=1" : "/api/v1/desktops",
			    print_desktops);
	if (!strcmp(verb, "show")) {
		char *p;

		if (!want("desktops", a, 1, "a NAME"))
			return EX_USAGE;
		p = path_of("/api/v1/desktops/", a->pos[1], "");
		if (!p)
			return EX_OSERR;
		r = show(b, "desktops show", p, NULL);
		free(p);
		return r;
	}
	if (!strcmp(verb, "request")) {
		if (!want("desktops", a, 1, "a NAME"))
			return EX_USAGE;
		if (!a->pool) {
			fprintf(stderr, "skyctl: desktops request wants --pool NAME\n");
			return EX_USAGE;
		}
		req = json_object_new_object();
		add_str(req, "name", a->pos[1]);
		add_str(req, "pool", a->pool);
		add_str(req, "description", a->desc);
		add_int(req, "memory_mb", a->memory);
		add_int(req, "cpus", a->cpus);
		if (a->expiry)
			add_int(req, "expiry_days", a->expiry);
		if (a->admins) {
			struct json_object *list = json_object_new_array();
			char *copy = strdup(a->admins), *save = NULL;

			for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
			     t = strtok_r(NULL, ",", &save))
				json_object_array_add(list, json_object_new_string(t));
			free(copy);
			json_object_object_add(req, "admins", list);
		}
		r = api(b, "desktops request", "POST", "/api/v1/desktops", req, &rep);
		json_object_put(req);
		if (!r)
			r = follow(b, a, rep);
		json_object_put(rep);
		return r;
	}
	if (!strcmp(verb, "start") || !strcmp(verb, "stop") || !strcmp(verb, "restart") ||
	    !strcmp(verb, "delete")) {
		char suffix[16];
		bool del = !strcmp(verb, "delete");

		if (!want("desktops", a, 1, "a NAME"))
			return EX_USAGE;
		snprintf(suffix, sizeof(suffix), "%s%s", del ? "" : "/", del ? "" : verb);
		r = with_path(b, verb, del ? "DELETE" : "POST", "/api/v1/desktops/", a->pos[1],
			      suffix, NULL, &rep);
		if (!r)
			r = follow(b, a, rep);
		json_object_put(rep);
		return r;
	}
	if (!strcmp(verb, "rdp")) {
		struct body raw = {};
		long status = 0;
		char *p;
		FILE *f;

		if (!want("desktops", a, 1, "a NAME"))
			return EX_USAGE;
		p = path_of("/api/v1/desktops/", a->pos[1], "/rdp");
		if (!p)
			return EX_OSERR;
		r = call(b, "GET", p, NULL, &status, &rep, &raw);
		free(p);
		if (!r && (status < 200 || status > 299))
			r = http_failed("desktops rdp", status, rep);
		json_object_put(rep);
		if (r) {
			free(raw.data);
			return r;
		}
		f = !a->out || !strcmp(a->out, "-") ? stdout : fopen(a->out, "w");
		if (!f) {
			fprintf(stderr, "skyctl: %s: %s\n", a->out, strerror(errno));
			free(raw.data);
			return EX_CANTCREAT;
		}
		if (raw.len)
			fwrite(raw.data, 1, raw.len, f);
		if (f != stdout && fclose(f) != 0)
			r = EX_IOERR;
		free(raw.data);
		return r;
	}
	fprintf(stderr, "skyctl: unknown desktops verb \"%s\" (list, show, request, start, "
		"stop, restart, delete, rdp)\n", verb);
	return EX_USAGE;
}

static int cmd_jobs(struct broker *b, struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "list";
	long id;

	if (!strcmp(verb, "list")) {
		char p[64];

		snprintf(p, sizeof(p), "/api/v1/jobs?limit=%ld", a->limit ? a->limit : 50);
		return show(b, "jobs", p, print_jobs);
	}
	if (!strcmp(verb, "show") || !strcmp(verb, "wait")) {
		char p[64];

		if (!want("jobs", a, 1, "an ID") || !num("the job ID", a->pos[1], 1, LONG_MAX, &id))
			return EX_USAGE;
		if (!strcmp(verb, "wait"))
			return job_wait(b, id, (unsigned)a->timeout);
		snprintf(p, sizeof(p), "/api/v1/jobs/%ld", id);
		return show(b, "jobs show", p, NULL);
	}
	fprintf(stderr, "skyctl: unknown jobs verb \"%s\" (list, show, wait)\n", verb);
	return EX_USAGE;
}

static int cmd_cluster(struct args *a)
{
	const char *verb = a->npos ? a->pos[0] : "";
	const char *dir = a->dir ? a->dir : getenv("SKYLIGHT_PKI_DIR");
	int r;

	if (!dir) {
		fprintf(stderr, "skyctl: cluster wants --dir DIR (or $SKYLIGHT_PKI_DIR): where "
			"the cluster CA lives\n");
		return EX_USAGE;
	}
	if (!strcmp(verb, "init")) {
		char host[HOST_NAME_MAX + 1] = "skylight";

		if (!want("cluster", a, 0, "no arguments"))
			return EX_USAGE;
		if (!a->name)
			gethostname(host, sizeof(host));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "skyctl: cluster init: %s: %s\n", dir, strerror(errno));
			return EX_CANTCREAT;
		}
		r = pki_ca_init(dir, a->name ? a->name : host);
		if (r == -EEXIST) {
			fprintf(stderr, "skyctl: cluster init: %s already holds a CA (never "
				"overwritten)\n", dir);
			return 1;
		}
		if (r < 0) {
			fprintf(stderr, "skyctl: cluster init: %s: %s\n", dir, strerror(-r));
			return EX_CANTCREAT;
		}
		printf("cluster CA: %s/ca.crt (key %s/ca.key, keep it secret)\n", dir, dir);
		return 0;
	}
	if (!strcmp(verb, "issue")) {
		char *cert = NULL, *key = NULL;

		if (!want("cluster", a, 1, "a NAME (the certificate's CN: broker or a host name)"))
			return EX_USAGE;
		if (asprintf(&cert, "%s/%s.crt", dir, a->pos[1]) < 0 ||
		    asprintf(&key, "%s/%s.key", dir, a->pos[1]) < 0)
			return EX_OSERR;
		r = pki_issue(dir, a->pos[1], a->sans, a->nsans, a->cert ? a->cert : cert,
			      a->key ? a->key : key);
		if (r == 0)
			printf("certificate %s, key %s\n", a->cert ? a->cert : cert,
			       a->key ? a->key : key);
		else
			fprintf(stderr, "skyctl: cluster issue %s: %s\n", a->pos[1],
				r == -EEXIST ? "the certificate or key exists" : strerror(-r));
		free(cert);
		free(key);
		return r == 0 ? 0 : r == -EEXIST ? 1 : EX_CANTCREAT;
	}
	fprintf(stderr, "skyctl: cluster wants init or issue\n");
	return EX_USAGE;
}

static void broker_usage(FILE *f)
{
	fprintf(f,
		"Usage: skyctl COMMAND VERB [ARGS] [--broker URL] [--ca PEM] [--json]\n"
		"The broker's REST API (docs/api.md).  --broker defaults to $SKYLIGHT_BROKER,\n"
		"else https://127.0.0.1:8443; --ca to $SKYLIGHT_CA (the cluster CA).\n\n"
		"  login --user NAME [--password-stdin]   keep a session for later commands\n"
		"  logout\n"
		"  users list | add NAME [--role user|delegated_admin|admin] [--email E]\n"
		"        | set NAME [--role R] [--email E] [--password] | del NAME\n"
		"  pools list | add NAME --template T [--kind personal|pooled] [--memory MB]\n"
		"        [--cpus N] [--max N] [--max-per-user N] [--expiry-days D] [--cost-gb X]\n"
		"        [--cost-cpu X]"
		" [--description TEXT] | set NAME [same options] | del NAME\n"
		"  hosts list | maintenance NAME on|off\n"
		"  desktops list [--all] | show NAME | request NAME --pool P [--memory MB]\n"
		"        [--cpus N] [--expiry-days D] [--admins a,b] [--description TEXT]\n"
		"        | start|stop|restart|delete NAME | rdp NAME [-o FILE.rdp]\n"
		"        (long operations show a progress bar; --no-wait returns at once,\n"
		"        --timeout S bounds the wait)\n"
		"  jobs list [--limit N] | show ID | wait ID\n"
		"  cluster init --dir DIR [--name NAME]   make the cluster CA\n"
		"  cluster issue NAME --dir DIR [--san IP|DNS]...  a broker or host certificate\n");
}

static const char *const broker_cmds[] = {
	"login", "logout", "users", "pools", "hosts", "desktops", "jobs", "cluster",
};

bool is_broker_command(const char *cmd)
{
	for (size_t i = 0; i < sizeof(broker_cmds) / sizeof(broker_cmds[0]); i++)
		if (!strcmp(cmd, broker_cmds[i]))
			return true;
	return false;
}

int broker_command(int argc, char **argv, bool json)
{
	const char *cmd = argv[0];
	struct broker b = { .json = json };
	struct args a = {};
	size_t n;
	char *url;
	int r;

	b.url = getenv("SKYLIGHT_BROKER");
	b.ca = getenv("SKYLIGHT_CA");
	r = parse(argc, argv, &b, &a);
	if (r) {
		broker_usage(r < 0 ? stdout : stderr);
		return r < 0 ? 0 : r;
	}
	if (!strcmp(cmd, "cluster"))
		return cmd_cluster(&a);
	if (!b.url || !*b.url)
		b.url = "https://127.0.0.1:8443";
	if (b.ca && !*b.ca)
		b.ca = NULL;
	url = strdup(b.url);
	if (!url)
		return EX_OSERR;
	n = strlen(url);
	while (n && url[n - 1] == '/')
		url[--n] = 0;
	b.url = url;
	if (!strcmp(cmd, "login")) {
		r = cmd_login(&b, &a);
	} else if (!strcmp(cmd, "logout")) {
		r = cmd_logout(&b);
	} else {
		r = authenticate(&b);
		if (!r) {
			if (!strcmp(cmd, "users"))
				r = cmd_users(&b, &a);
			else if (!strcmp(cmd, "pools"))
				r = cmd_pools(&b, &a);
			else if (!strcmp(cmd, "hosts"))
				r = cmd_hosts(&b, &a);
			else if (!strcmp(cmd, "desktops"))
				r = cmd_desktops(&b, &a);
			else
				r = cmd_jobs(&b, &a);
		}
	}
	if (b.token) {
		explicit_bzero(b.token, strlen(b.token));
		free(b.token);
	}
	free(url);
	return r;
}

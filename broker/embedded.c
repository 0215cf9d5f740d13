// SPDX-License-Identifier: GPL-3.0-or-later
/* skybroker --embedded (embedded.h, docs/broker.md "Embedded mode"). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "broker.h"
#include "embedded.h"
#include "log.h"
#include "pki.h"
#include "util.h"

LOG_SCOPE("broker.embedded");

#define RESTART_MAX_S 60
/* A child that ran this long was fine: its next death restarts at once. */
#define STABLE_S 60
#define STOP_WAIT_S 45
#define REQUEST_RETRY_S 10
#define READY_WAIT_S 30

/* Write text to path through a temporary file and a rename. */
static int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[600];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* The address part of "ADDR:PORT" (IPv4 or a name). */
static void addr_of(const char *listen, char *out, size_t size)
{
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);

	snprintf(out, size, "%.*s", (int)n, listen);
}

static int issue(struct embedded *e, const char *cn, const char *const *sans, size_t n)
{
	char crt[600], key[600];
	int r;

	snprintf(crt, sizeof(crt), "%s/%s.crt", e->pki, cn);
	snprintf(key, sizeof(key), "%s/%s.key", e->pki, cn);
	if (access(crt, F_OK) == 0 && access(key, F_OK) == 0)
		return 0;
	r = pki_issue(e->pki, cn, sans, n, crt, key);
	if (r < 0)
		return log_errno(LOG_ERR, r, "issuing the certificate of %s in %s", cn, e->pki);
	log_info("issued a certificate for %s", cn);
	return 0;
}

static int write_template(struct embedded *e)
{
	struct json_object *t = json_object_new_object();
	char dir[600], path[700];
	int r;

	if (!t)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/templates", e->state_dir);
	r = make_dir(dir, 0755);
	if (r < 0) {
		json_object_put(t);
		return log_errno(LOG_ERR, r, "mkdir %s", dir);
	}
	json_object_object_add(t, "name", json_object_new_string(EMBEDDED_TEMPLATE));
	json_object_object_add(t, "description",
			       json_object_new_string("The test guest's desktop (embedded mode)"));
	json_object_object_add(t, "kernel", json_object_new_string(e->guest));
	json_object_object_add(t, "cmdline", json_object_new_string("desktop"));
	json_object_object_add(t, "memory_mb", json_object_new_int(256));
	json_object_object_add(t, "cpus", json_object_new_int(2));
	snprintf(path, sizeof(path), "%s/%s.json", dir, EMBEDDED_TEMPLATE);
	/* Written every start: the guest's path follows the build. */
	r = write_file(path, json_object_to_json_string_ext(t, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE), 0644);
	json_object_put(t);
	if (r < 0)
		return log_errno(LOG_ERR, r, "writing %s", path);
	if (access(e->guest, R_OK) < 0)
		log_warn("the guest %s is not there; host1 will skip the template", e->guest);
	return 0;
}

int embedded_prepare(struct embedded *e)
{
	const char *broker_sans[] = { "127.0.0.1", "localhost" };
	char host_addr[64], path[600];
	const char *host_sans[1];
	int r;

	r = make_dir(e->state_dir, 0700);
	if (r < 0)
		return log_errno(LOG_ERR, r, "mkdir %s", e->state_dir);
	if (strlen(e->state_dir) > 400) {
		log_err("--state-dir %s: too long a path", e->state_dir);
		return -ENAMETOOLONG;
	}
	if (snprintf(e->pki, sizeof(e->pki), "%s/pki", e->state_dir) >= (int)sizeof(e->pki) ||
	    snprintf(e->ca, sizeof(e->ca), "%s/ca.crt", e->pki) >= (int)sizeof(e->ca) ||
	    snprintf(e->cert, sizeof(e->cert), "%s/broker.crt", e->pki) >= (int)sizeof(e->cert) ||
	    snprintf(e->key, sizeof(e->key), "%s/broker.key", e->pki) >= (int)sizeof(e->key))
		return -ENAMETOOLONG;
	r = make_dir(e->pki, 0700);
	if (r < 0)
		return log_errno(LOG_ERR, r, "mkdir %s", e->pki);
	if (access(e->ca, F_OK) < 0) {
		r = pki_ca_init(e->pki, "embedded");
		if (r < 0)
			return log_errno(LOG_ERR, r, "making the cluster CA in %s", e->pki);
		log_info("made the cluster CA %s", e->ca);
	}
	addr_of(e->host_listen, host_addr, sizeof(host_addr));
	host_sans[0] = host_addr;
	r = issue(e, "broker", broker_sans, 2);
	if (r >= 0)
		r = issue(e, EMBEDDED_HOST, host_sans, 1);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/" EMBEDDED_HOST, e->state_dir);
	if ((r = make_dir(path, 0700)) < 0)
		return log_errno(LOG_ERR, r, "mkdir %s", path);
	snprintf(path, sizeof(path), "%s/run", e->state_dir);
	if ((r = make_dir(path, 0700)) < 0)
		return log_errno(LOG_ERR, r, "mkdir %s", path);
	return write_template(e);
}

/* --- users, pool ----------------------------------------------------------- */

/* STATE/logins: "NAME PASSWORD" lines of the users made here. */
static void read_logins(struct embedded *e)
{
	char path[600], name[64], pw[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/logins", e->state_dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%63s %63s", name, pw) == 2) {
		if (!strcmp(name, EMBEDDED_USER))
			snprintf(e->demo_pw, sizeof(e->demo_pw), "%s", pw);
		else if (!strcmp(name, EMBEDDED_ADMIN))
			snprintf(e->admin_pw, sizeof(e->admin_pw), "%s", pw);
	}
	fclose(f);
}

static int add_user(struct db *db, const char *name, enum user_role role, char *pw, size_t size)
{
	struct db_user u = { .role = role, .created = time(NULL) };
	int r;

	if (db_user_get(db, name, &u) == 0)
		return 0;
	r = auth_random_token(pw, size, 12);
	if (r < 0)
		return r;
	snprintf(u.name, sizeof(u.name), "%s", name);
	r = auth_hash_password(pw, u.password, sizeof(u.password));
	if (r >= 0)
		r = db_user_add(db, &u);
	if (r < 0)
		return log_errno(LOG_ERR, r, "adding user %s", name);
	log_info("added user %s (%s)", name, user_role_name(role));
	return 1;
}

int embedded_populate(struct embedded *e, struct db *db)
{
	struct db_pool p = {
		.kind = POOL_PERSONAL, .memory_mb = 256, .cpus = 2, .max_desktops = 10,
		.cost_per_gb_day = 0.50, .cost_per_cpu_day = 0.25,
	};
	char text[256], path[600];
	int r1, r2, r;

	read_logins(e);
	r1 = add_user(db, EMBEDDED_USER, ROLE_USER, e->demo_pw, sizeof(e->demo_pw));
	r2 = add_user(db, EMBEDDED_ADMIN, ROLE_ADMIN, e->admin_pw, sizeof(e->admin_pw));
	if (r1 < 0 || r2 < 0)
		return r1 < 0 ? r1 : r2;
	if (r1 > 0 || r2 > 0) {
		snprintf(text, sizeof(text), "%s %s\n%s %s\n", EMBEDDED_USER,
			 e->demo_pw[0] ? e->demo_pw : "(unknown)", EMBEDDED_ADMIN,
			 e->admin_pw[0] ? e->admin_pw : "(unknown)");
		snprintf(path, sizeof(path), "%s/logins", e->state_dir);
		r = write_file(path, text, 0600);
		if (r < 0)
			log_errno(LOG_WARN, r, "writing %s", path);
	}
	if (db_pool_get(db, EMBEDDED_POOL, &p) == -ENOENT) {
		snprintf(p.name, sizeof(p.name), EMBEDDED_POOL);
		snprintf(p.description, sizeof(p.description),
			 "Personal desktops of the test guest (embedded mode)");
		snprintf(p.template, sizeof(p.template), EMBEDDED_TEMPLATE);
		p.created = time(NULL);
		r = db_pool_add(db, &p);
		if (r < 0)
			return log_errno(LOG_ERR, r, "adding pool %s", EMBEDDED_POOL);
		log_info("added pool %s", EMBEDDED_POOL);
	}
	return 0;
}

/* --- the child ----------------------------------------------------------------- */

int embedded_spawn(struct embedded *e)
{
	char host_addr[64], rdp_listen[96], sd[600], run[600], tpl[600], hcrt[600], hkey[600];
	const char *argv[32];
	size_t n = 0;
	pid_t parent = getpid(), pid;

	addr_of(e->host_listen, host_addr, sizeof(host_addr));
	snprintf(rdp_listen, sizeof(rdp_listen), "%s:%u", host_addr, e->rdp_port);
	snprintf(sd, sizeof(sd), "%s/" EMBEDDED_HOST, e->state_dir);
	snprintf(run, sizeof(run), "%s/run", e->state_dir);
	snprintf(tpl, sizeof(tpl), "%s/templates", e->state_dir);
	snprintf(hcrt, sizeof(hcrt), "%s/" EMBEDDED_HOST ".crt", e->pki);
	snprintf(hkey, sizeof(hkey), "%s/" EMBEDDED_HOST ".key", e->pki);
	argv[n++] = e->skyhostd;
	argv[n++] = "--name";
	argv[n++] = EMBEDDED_HOST;
	argv[n++] = "--listen";
	argv[n++] = e->host_listen;
	argv[n++] = "--broker";
	argv[n++] = e->broker_url;
	argv[n++] = "--ca";
	argv[n++] = e->ca;
	argv[n++] = "--cert";
	argv[n++] = hcrt;
	argv[n++] = "--key";
	argv[n++] = hkey;
	argv[n++] = "--state-dir";
	argv[n++] = sd;
	argv[n++] = "--run-dir";
	argv[n++] = run;
	argv[n++] = "--templates";
	argv[n++] = tpl;
	argv[n++] = "--rdp-listen";
	argv[n++] = rdp_listen;
	argv[n++] = "--skyvm";
	argv[n++] = e->skyvm;
	argv[n++] = "--skyrdp";
	argv[n++] = e->skyrdp;
	argv[n] = NULL;

	pid = fork();
	if (pid < 0)
		return log_errno(LOG_ERR, -errno, "fork");
	if (pid == 0) {
		sigset_t none;

		/* Only async-signal-safe calls between fork and exec. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* A group of its own: a terminal's ^C reaches skybroker, which
		 * stops skyhostd once, gracefully.  If skybroker dies, so does it. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	e->child = pid;
	e->started = time(NULL);
	log_info("started %s (pid %d) for %s", e->skyhostd, (int)pid, EMBEDDED_HOST);
	return 0;
}

void embedded_reaped(struct embedded *e, pid_t pid, int status)
{
	int64_t now = time(NULL);
	unsigned delay;

	if (pid != e->child)
		return;
	e->child = 0;
	if (WIFSIGNALED(status))
		log_warn("skyhostd (pid %d) died of signal %d", (int)pid, WTERMSIG(status));
	else
		log_warn("skyhostd (pid %d) exited with status %d", (int)pid, WEXITSTATUS(status));
	if (now - e->started >= STABLE_S)
		e->restarts = 0;
	/* Not before the broker has noticed the host is gone (3 intervals and
	 * the monitor's second): a dead agent shows in the console, as any
	 * host's would, and its desktops come back through the host's report. */
	delay = MAX(3 * e->heartbeat_s + 3, e->restarts >= 6 ? RESTART_MAX_S : 1u << e->restarts);
	e->restarts++;
	e->next_start = now + delay;
	log_info("restarting skyhostd in %u s", delay);
}

static void request_desktop(struct embedded *e, struct broker *b, int64_t now)
{
	struct broker_desktop_request req = {
		.pool = EMBEDDED_POOL, .name = EMBEDDED_DESKTOP, .owner = EMBEDDED_USER,
		.memory_mb = -1, .cpus = -1, .expiry_days = -1,
	};
	struct db_desktop d;
	struct db_user admin;
	struct db_job job;
	char err[160];
	int r;

	if (db_desktop_get(b->db, EMBEDDED_DESKTOP, &d) == 0) {
		e->desktop_requested = true;
		e->desktop_job = d.job;
		return;
	}
	if (now < e->next_request)
		return;
	r = db_user_get(b->db, EMBEDDED_ADMIN, &admin);
	if (r < 0) {
		log_errno(LOG_WARN, r, "user %s", EMBEDDED_ADMIN);
		e->next_request = now + REQUEST_RETRY_S;
		return;
	}
	r = broker_desktop_request(b, &admin, &req, &d, &job, err, sizeof(err));
	if (r < 0) {
		log_warn("requesting %s: %s (trying again in %d s)", EMBEDDED_DESKTOP, err,
			 REQUEST_RETRY_S);
		e->next_request = now + REQUEST_RETRY_S;
		return;
	}
	e->desktop_requested = true;
	e->desktop_job = job.id;
	log_info("requested %s for %s (job %lld)", EMBEDDED_DESKTOP, EMBEDDED_USER,
		 (long long)job.id);
}

static void tell_ready(struct embedded *e, int64_t now)
{
	if (e->ready_told || !e->ready[0])
		return;
	if (!e->desktop_requested && now < e->ready_deadline)
		return;
	if (!e->desktop_requested)
		log_warn("host1 has not reported yet; ready without %s", EMBEDDED_DESKTOP);
	printf("%s\n", e->ready);
	fflush(stdout);
	e->ready_told = true;
}

void embedded_tick(struct embedded *e, struct broker *b, int64_t now)
{
	struct db_desktop d;
	struct db_host h;
	struct db_job j;

	if (!e->ready_deadline)
		e->ready_deadline = now + READY_WAIT_S;
	if (!e->child && now >= e->next_start)
		embedded_spawn(e);
	if (!e->host_seen && db_host_get(b->db, EMBEDDED_HOST, &h) == 0 && h.healthy) {
		e->host_seen = true;
		printf("HOST name=%s api=%s rdp=%s\n", h.name, h.api_url, h.rdp_address);
		fflush(stdout);
	}
	if (e->host_seen && !e->desktop_requested)
		request_desktop(e, b, now);
	tell_ready(e, now);
	if (!e->desktop_requested)
		return;
	if (e->desktop_told || db_desktop_get(b->db, EMBEDDED_DESKTOP, &d) < 0)
		return;
	if (d.state == DESKTOP_RUNNING) {
		printf("DESKTOP name=%s state=%s host=%s user=%s\n", d.name,
		       desktop_state_name(d.state), d.host, d.owner);
		fflush(stdout);
		e->desktop_told = true;
		return;
	}
	/* Its job ended and it does not run: say so once. */
	if (!d.job && e->desktop_job && db_job_get(b->db, e->desktop_job, &j) == 0 &&
	    j.state == JOB_FAILED) {
		printf("DESKTOP name=%s state=%s error=\"%s\"\n", d.name,
		       desktop_state_name(d.state), j.message);
		fflush(stdout);
		e->desktop_told = true;
	}
}

void embedded_stop(struct embedded *e)
{
	int status, i;
	pid_t pid;

	if (!e->child)
		return;
	kill(e->child, SIGTERM);
	/* skyhostd shuts its guests down first (bounded by its stop timeout). */
	for (i = 0; i < STOP_WAIT_S * 10; i++) {
		pid = waitpid(e->child, &status, WNOHANG);
		if (pid == e->child || (pid < 0 && errno == ECHILD)) {
			e->child = 0;
			return;
		}
		usleep(100000);
	}
	log_warn("skyhostd (pid %d) did not stop within %d s: killing it", (int)e->child,
		 STOP_WAIT_S);
	kill(e->child, SIGKILL);
	waitpid(e->child, &status, 0);
	e->child = 0;
}

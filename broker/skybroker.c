// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skybroker: the connection broker (docs/broker.md).  Three listeners:
 * the web pages and the REST API (HTTPS), the cluster API hosts report to
 * (HTTPS, client certificates of the cluster CA), and the RDP front door.
 * The main thread only waits for signals (and, embedded, looks after
 * skyhostd); the servers, job workers and monitor have threads of their
 * own, all started after the signals are blocked.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "authpam.h"
#include "broker.h"
#include "embedded.h"
#include "frontdoor.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "webroutes.h"

LOG_SCOPE("broker.main");

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skybroker [OPTION]...\n"
		"The Skylight connection broker: web pages and REST API, the cluster API the\n"
		"hosts report to, and the RDP front door that sends users to their desktops.\n\n"
		"  --state-dir DIR       the database (DIR/broker.db) and, by default, the\n"
		"                        certificates (DIR/pki); default $SKYLIGHT_STATE_DIR,\n"
		"                        else $XDG_STATE_HOME/skylight, else /var/lib/skylight\n"
		"                        (embedded: /tmp/skylight)\n"
		"  --listen ADDR:PORT    web pages and REST API, HTTPS (default 127.0.0.1:8443)\n"
		"  --cluster-listen ADDR:PORT  the cluster API, HTTPS with client certificates\n"
		"                        (default 127.0.0.1:8444)\n"
		"  --rdp-listen ADDR:PORT  the RDP front door (default 127.0.0.1:3389; \"none\"\n"
		"                        for no front door)\n"
		"  --rdp-public HOST:PORT  the front door's address in .rdp files (default the\n"
		"                        --rdp-listen address)\n"
		"  --ca PEM --cert PEM --key PEM  the cluster CA, the broker's certificate\n"
		"                        (CN \"broker\") and key (default STATE/pki/ca.crt,\n"
		"                        broker.crt, broker.key)\n"
		"  --enroll              let people enroll themselves (role user; not with\n"
		"                        --pam)\n"
		"  --pam SERVICE         check passwords of PAM users with PAM service\n"
		"                        SERVICE (/etc/pam.d/SERVICE); a name PAM accepts\n"
		"                        that the broker does not know becomes a user (role\n"
		"                        user, source pam); local users keep their passwords\n"
		"  --pam-confdir DIR     read SERVICE from DIR instead of /etc/pam.d (tests)\n"
		"  --heartbeat-interval S  hosts report every S seconds (default 10, embedded\n"
		"                        2); a host silent for 3 intervals is not responding\n"
		"  --admin NAME          create admin NAME with the password in\n"
		"                        $SKYLIGHT_ADMIN_PASSWORD unless NAME exists\n"
		"  --embedded            everything on this machine (docs/broker.md): a CA,\n"
		"                        certificates, skyhostd as host1 on 127.0.0.2 with the\n"
		"                        test guest's desktop, users demo and admin, enrollment\n"
		"                        on\n"
		"  --host-listen ADDR:PORT  embedded: host1's API (default 127.0.0.2:8445); its\n"
		"                        skyrdp listens on ADDR with the front door's port\n"
		"  --guest PATH          embedded: the desktop's kernel (default the build's\n"
		"                        tests/guest/skylight-test-guest.elf)\n"
		"  --skyhostd PATH --skyvm PATH --skyrdp PATH  embedded: the programs (default\n"
		"                        the build's host/skyhostd, skyvm/skyvm, rdp/skyrdp)\n"
		"  -h, --help            this text\n\n"
		"SIGTERM or SIGINT stop it (embedded: skyhostd and its desktops first).\n"
		"SKYLIGHT_LOG sets log levels, e.g. SKYLIGHT_LOG=debug or info,broker.api=debug.\n"
		"SKYLIGHT_SCRYPT_N sets the password hashes' cost (default 32768; tests use\n"
		"less).\n");
}

enum {
	OPT_STATE = 0x100, OPT_LISTEN, OPT_CLUSTER, OPT_RDP, OPT_RDP_PUBLIC, OPT_CA, OPT_CERT,
	OPT_KEY, OPT_ENROLL, OPT_HEARTBEAT, OPT_ADMIN, OPT_EMBEDDED, OPT_HOST_LISTEN, OPT_GUEST,
	OPT_SKYHOSTD, OPT_SKYVM, OPT_SKYRDP, OPT_PAM, OPT_PAM_CONFDIR,
};

static const struct option options[] = {
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "cluster-listen", required_argument, NULL, OPT_CLUSTER },
	{ "rdp-listen", required_argument, NULL, OPT_RDP },
	{ "rdp-public", required_argument, NULL, OPT_RDP_PUBLIC },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "enroll", no_argument, NULL, OPT_ENROLL },
	{ "heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT },
	{ "admin", required_argument, NULL, OPT_ADMIN },
	{ "embedded", no_argument, NULL, OPT_EMBEDDED },
	{ "host-listen", required_argument, NULL, OPT_HOST_LISTEN },
	{ "guest", required_argument, NULL, OPT_GUEST },
	{ "skyhostd", required_argument, NULL, OPT_SKYHOSTD },
	{ "skyvm", required_argument, NULL, OPT_SKYVM },
	{ "skyrdp", required_argument, NULL, OPT_SKYRDP },
	{ "pam", required_argument, NULL, OPT_PAM },
	{ "pam-confdir", required_argument, NULL, OPT_PAM_CONFDIR },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char *state_dir, *listen, *cluster_listen, *rdp_listen, *rdp_public;
	const char *ca, *cert, *key, *admin, *host_listen;
	const char *guest, *skyhostd, *skyvm, *skyrdp;
	const char *pam, *pam_confdir;
	bool enroll, embedded;
	unsigned heartbeat_s; /* 0 = not given */
};

/* Strings made for the whole run, freed at its end (for leak checkers). */
static char *kept[32];
static size_t nkept;

static char *dup_printf(const char *fmt, ...) _printf_(1, 2);

static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0 || nkept == ARRAY_SIZE(kept)) {
		fprintf(stderr, "skybroker: out of memory\n");
		exit(EX_OSERR);
	}
	kept[nkept++] = s;
	return s;
}

static void free_kept(void)
{
	while (nkept)
		free(kept[--nkept]);
}

static const char *default_state_dir(bool embedded)
{
	const char *v = getenv("SKYLIGHT_STATE_DIR"), *x = getenv("XDG_STATE_HOME");

	if (embedded)
		return "/tmp/skylight";
	if (v && *v)
		return v;
	if (x && *x)
		return dup_printf("%s/skylight", x);
	return "/var/lib/skylight";
}

/* <builddir> from <builddir>/broker/skybroker. */
static const char *build_dir(void)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return ".";
	buf[n] = '\0';
	return dirname(dirname(buf));
}

/* A service is a file name in /etc/pam.d: no slashes, no dot first. */
static bool pam_service_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && s[0] != '.' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int check_pam(const struct opts *o)
{
	struct stat st;

	if (o->pam_confdir && !o->pam) {
		fprintf(stderr, "skybroker: --pam-confdir needs --pam SERVICE\n");
		return -EINVAL;
	}
	if (!o->pam)
		return 0;
	if (!authpam_built()) {
		fprintf(stderr, "skybroker: --pam: this skybroker is built without PAM "
			"(rebuild with libpam0g-dev installed)\n");
		return -EOPNOTSUPP;
	}
	if (!pam_service_valid(o->pam)) {
		fprintf(stderr, "skybroker: --pam %s: a service name is 1-64 of A-Z a-z 0-9 . _ -, "
			"not starting with .\n", o->pam);
		return -EINVAL;
	}
	/* Enrolling would let anyone take a name before its PAM account's
	 * owner first logs in. */
	if (o->enroll) {
		fprintf(stderr, "skybroker: --enroll and --pam do not go together: a name "
			"enrolled here would take the PAM account of that name\n");
		return -EINVAL;
	}
	if (o->pam_confdir && !authpam_confdir_built()) {
		fprintf(stderr, "skybroker: --pam-confdir: this libpam has no "
			"pam_start_confdir() (Linux-PAM 1.4 or later has)\n");
		return -EOPNOTSUPP;
	}
	if (o->pam_confdir && (stat(o->pam_confdir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "skybroker: --pam-confdir %s: not a directory\n", o->pam_confdir);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	uint64_t v;
	int c;

	*o = (struct opts){
		.listen = "127.0.0.1:8443",
		.cluster_listen = "127.0.0.1:8444",
		.rdp_listen = "127.0.0.1:3389",
		.host_listen = "127.0.0.2:8445",
	};
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_CLUSTER: o->cluster_listen = optarg; break;
		case OPT_RDP: o->rdp_listen = optarg; break;
		case OPT_RDP_PUBLIC: o->rdp_public = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_ENROLL: o->enroll = true; break;
		case OPT_ADMIN: o->admin = optarg; break;
		case OPT_EMBEDDED: o->embedded = true; break;
		case OPT_HOST_LISTEN: o->host_listen = optarg; break;
		case OPT_GUEST: o->guest = optarg; break;
		case OPT_SKYHOSTD: o->skyhostd = optarg; break;
		case OPT_SKYVM: o->skyvm = optarg; break;
		case OPT_SKYRDP: o->skyrdp = optarg; break;
		case OPT_PAM: o->pam = optarg; break;
		case OPT_PAM_CONFDIR: o->pam_confdir = optarg; break;
		case OPT_HEARTBEAT:
			if (parse_uint(optarg, 1, 3600, &v) < 0) {
				fprintf(stderr, "skybroker: --heartbeat-interval %s: expected "
					"1-3600 seconds\n", optarg);
				return -EINVAL;
			}
			o->heartbeat_s = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "skybroker: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	if (check_pam(o) < 0)
		return -EINVAL;
	if (!o->state_dir)
		o->state_dir = default_state_dir(o->embedded);
	if (!o->ca)
		o->ca = dup_printf("%s/pki/ca.crt", o->state_dir);
	if (!o->cert)
		o->cert = dup_printf("%s/pki/broker.crt", o->state_dir);
	if (!o->key)
		o->key = dup_printf("%s/pki/broker.key", o->state_dir);
	if (!strcmp(o->rdp_listen, "none"))
		o->rdp_listen = NULL;
	if (!o->rdp_public)
		o->rdp_public = o->rdp_listen;
	/* One machine: heartbeats cost nothing, news should be quick. */
	if (!o->heartbeat_s)
		o->heartbeat_s = o->embedded ? 2 : 10;
	if (o->embedded) {
		const char *bd = build_dir();

		/* Not with PAM: see check_pam(). */
		o->enroll = !o->pam;
		if (!o->guest)
			o->guest = dup_printf("%s/tests/guest/skylight-test-guest.elf", bd);
		if (!o->skyhostd)
			o->skyhostd = dup_printf("%s/host/skyhostd", bd);
		if (!o->skyvm)
			o->skyvm = dup_printf("%s/skyvm/skyvm", bd);
		if (!o->skyrdp)
			o->skyrdp = dup_printf("%s/rdp/skyrdp", bd);
	}
	return 0;
}

static unsigned port_of(const char *listen)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	uint64_t v;

	return colon && parse_uint(colon + 1, 0, 65535, &v) == 0 ? (unsigned)v : 0;
}

/* "ADDR:PORT" with the port the server really got (for PORT 0). */
static char *with_port(const char *listen, unsigned port)
{
	const char *colon = strrchr(listen, ':');

	return dup_printf("%.*s:%u", (int)(colon ? colon - listen : (ptrdiff_t)strlen(listen)),
			  listen, port);
}

static int make_admin(struct db *db, const char *name)
{
	const char *pw = getenv("SKYLIGHT_ADMIN_PASSWORD");
	struct db_user u = { .role = ROLE_ADMIN, .created = time(NULL) };
	int r;

	if (db_user_get(db, name, &u) == 0) {
		log_info("--admin %s: the user exists; left as it is", name);
		return 0;
	}
	if (!pw || !auth_password_acceptable(pw)) {
		log_err("--admin %s: set SKYLIGHT_ADMIN_PASSWORD to its password (%d-%d bytes)",
			name, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		return -EINVAL;
	}
	if (strlen(name) > DB_NAME_MAX) {
		log_err("--admin %s: names are 1-%d characters", name, DB_NAME_MAX);
		return -EINVAL;
	}
	snprintf(u.name, sizeof(u.name), "%s", name);
	r = auth_hash_password(pw, u.password, sizeof(u.password));
	if (r >= 0)
		r = db_user_add(db, &u);
	if (r < 0)
		return log_errno(LOG_ERR, r, "--admin %s", name);
	log_info("added admin %s", name);
	return 0;
}

static void print_embedded(const struct opts *o, struct embedded *e, const char *url,
			   const char *rdp, const char *cluster)
{
	const char *demo = e->demo_pw[0] ? e->demo_pw : "(unchanged)";
	const char *admin = e->admin_pw[0] ? e->admin_pw : "(unchanged)";

	printf("\nSkylight runs on this machine (state in %s).\n\n", o->state_dir);
	printf("  Web:   %s  (%s)\n", url, o->enroll ? "enroll there, or log in" :
	       "log in with these, or a PAM account");
	printf("         login: %s password: %s\n", EMBEDDED_USER, demo);
	printf("         login: %s password: %s\n", EMBEDDED_ADMIN, admin);
	if (rdp) {
		printf("  RDP:   %s  (the desktop %s of %s)\n", rdp, EMBEDDED_DESKTOP,
		       EMBEDDED_USER);
		printf("         xfreerdp /v:%s /u:%s /p:%s /cert:ignore\n", rdp, EMBEDDED_USER,
		       demo);
	}
	printf("  CA:    %s  (the certificates are signed by it: trust it, or\n"
	       "         curl --cacert %s %s)\n\n", e->ca, e->ca, url);
	fflush(stdout);
	/* Printed once demo's desktop exists (embedded_tick). */
	snprintf(e->ready, sizeof(e->ready), "READY url=%s rdp=%s cluster=%s ca=%s state=%s", url,
		 rdp ? rdp : "none", cluster, e->ca, o->state_dir);
}

int main(int argc, char **argv)
{
	struct embedded e = { 0 };
	struct http_server *web = NULL, *cluster = NULL;
	struct frontdoor *fd = NULL;
	struct broker *b = NULL;
	struct db *db = NULL;
	struct opts o;
	sigset_t sigs;
	char *dbpath, *url, *cluster_url, *rdp = NULL;
	int found = 0, r, status, ret = EX_SOFTWARE;
	pid_t pid;

	log_set_ident("skybroker");
	if (parse_args(argc, argv, &o) < 0)
		return EX_USAGE;
	/* A PAM service that does not load fails every PAM login: say so now. */
	if (o.pam && authpam_probe(&(struct auth_pam){ .service = o.pam,
						      .confdir = o.pam_confdir }) < 0)
		return EX_CONFIG;

	/* Before any thread exists, so that all of them inherit it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.embedded) {
		e.state_dir = o.state_dir;
		e.guest = o.guest;
		e.skyhostd = o.skyhostd;
		e.skyvm = o.skyvm;
		e.skyrdp = o.skyrdp;
		e.host_listen = o.host_listen;
		if (embedded_prepare(&e) < 0)
			return EX_CANTCREAT;
		o.ca = e.ca;
		o.cert = e.cert;
		o.key = e.key;
	} else if (mkdir(o.state_dir, 0700) < 0 && errno != EEXIST) {
		log_errno(LOG_ERR, -errno, "--state-dir %s", o.state_dir);
		return EX_CANTCREAT;
	}

	dbpath = dup_printf("%s/broker.db", o.state_dir);
	r = db_open(dbpath, &found, &db);
	if (r == -EPROTONOSUPPORT) {
		log_err("%s has schema version %d, newer than this skybroker's %d: refusing it "
			"(use the newer skybroker, or restore a backup)", dbpath, found,
			DB_SCHEMA_VERSION);
		return EX_DATAERR;
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "opening %s", dbpath);
		return EX_CANTCREAT;
	}
	if (o.admin && make_admin(db, o.admin) < 0) {
		db_close(db);
		return EX_CONFIG;
	}
	if (o.embedded && embedded_populate(&e, db) < 0) {
		db_close(db);
		return EX_CANTCREAT;
	}
	if (access(o.cert, R_OK) < 0 || access(o.key, R_OK) < 0 || access(o.ca, R_OK) < 0) {
		log_err("the certificates %s, %s and %s must be there (skyctl cluster init, or "
			"--embedded)", o.ca, o.cert, o.key);
		db_close(db);
		return EX_CONFIG;
	}

	struct broker_config cfg = {
		.enroll = o.enroll,
		.pam = { .service = o.pam, .confdir = o.pam_confdir },
		.heartbeat_interval_s = o.heartbeat_s,
		.rdp_file = frontdoor_rdp_file,
		.rdp_public = o.rdp_listen ? o.rdp_public : NULL,
		.client = { .ca = o.ca, .cert = o.cert, .key = o.key, .timeout_ms = 10000 },
	};
	r = broker_new(&cfg, db, &b);
	if (r < 0) {
		log_errno(LOG_ERR, r, "starting the broker");
		db_close(db);
		return EX_SOFTWARE;
	}

	r = http_server_start(&(struct http_server_config){
		.listen = o.listen, .cert = o.cert, .key = o.key }, broker_web_handle, b, &web);
	if (r < 0) {
		log_errno(LOG_ERR, r, "--listen %s", o.listen);
		goto out;
	}
	url = dup_printf("https://%s/", with_port(o.listen, http_server_port(web)));
	r = http_server_start(&(struct http_server_config){
		.listen = o.cluster_listen, .cert = o.cert, .key = o.key, .client_ca = o.ca },
		hosts_server_handle, b, &cluster);
	if (r < 0) {
		log_errno(LOG_ERR, r, "--cluster-listen %s", o.cluster_listen);
		goto out;
	}
	cluster_url = dup_printf("https://%s", with_port(o.cluster_listen,
							   http_server_port(cluster)));
	if (o.rdp_listen) {
		r = frontdoor_start(&(struct frontdoor_config){
			.listen = o.rdp_listen, .cert = o.cert, .key = o.key },
			&broker_frontdoor_ops, b, &fd);
		if (r < 0) {
			log_errno(LOG_ERR, r, "--rdp-listen %s", o.rdp_listen);
			goto out;
		}
		rdp = (char *)o.rdp_listen;
	}
	log_info("web and REST API on %s, cluster API on %s, RDP front door on %s", url,
		 cluster_url, rdp ? rdp : "(none)");
	if (o.pam)
		log_info("PAM users' passwords go to PAM service %s%s%s", o.pam,
			 o.pam_confdir ? " in " : "", o.pam_confdir ? o.pam_confdir : "");

	if (o.embedded) {
		snprintf(e.broker_url, sizeof(e.broker_url), "%s", cluster_url);
		e.rdp_port = port_of(o.rdp_listen ? o.rdp_listen : "x:3389");
		e.heartbeat_s = o.heartbeat_s;
		embedded_spawn(&e);
		print_embedded(&o, &e, url, rdp, cluster_url);
	}

	for (;;) {
		struct timespec ts = { .tv_sec = 1 };
		siginfo_t si;
		int sig = sigtimedwait(&sigs, &si, &ts);

		if (sig == SIGINT || sig == SIGTERM) {
			log_info("%s: stopping", strsignal(sig));
			break;
		}
		/* Only our own child: PAM modules fork helpers (pam_exec,
		 * unix_chkpwd) and wait for them themselves. */
		while (e.child > 0 && (pid = waitpid(e.child, &status, WNOHANG)) > 0)
			embedded_reaped(&e, pid, status);
		if (o.embedded)
			embedded_tick(&e, b, time(NULL));
	}
	ret = 0;
out:
	frontdoor_stop(fd);
	if (o.embedded)
		embedded_stop(&e);
	http_server_stop(web);
	http_server_stop(cluster);
	broker_free(b);
	free_kept();
	return ret;
}

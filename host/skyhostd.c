// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyhostd: the host agent (docs/host.md).  It runs one skyvm per VM the
 * broker asked for and one skyrdp, serves the host API (docs/api.md §3) over
 * mutual TLS, and heartbeats its HostReport to the broker.
 *
 * Threads (hostd.h): the main thread runs the loop and owns the state; the
 * HTTP server's threads and the heartbeat thread hand their work to it.
 * Signals arrive through a signalfd, blocked before any thread exists.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "hostd.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "util.h"

LOG_SCOPE("host.main");

#define NS_PER_S UINT64_C(1000000000)
#define HEARTBEAT_TIMEOUT_MS 10000
#define HEARTBEAT_MAX_S 3600
/* A failing heartbeat is logged at its first failure, then this often. */
#define HEARTBEAT_LOG_EVERY_S 60

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skyhostd --name NAME --listen ADDR:PORT --broker URL --ca PEM\n"
		"                --cert PEM --key PEM --state-dir DIR --run-dir DIR\n"
		"                --templates DIR [OPTION]...\n"
		"The host agent of a Skylight host: runs the VMs the broker asks for (one skyvm\n"
		"each, restarted when they crash), one skyrdp, and reports to the broker.\n\n"
		"  --name NAME          this host's name (its certificate's CN)\n"
		"  --listen ADDR:PORT   the host API, HTTPS with client certificates\n"
		"                       (IPv6: [ADDR]:PORT; port 0 picks one)\n"
		"  --broker URL         the broker's cluster API, e.g. https://broker:8444\n"
		"  --ca PEM             the cluster CA: clients of the host API and the broker\n"
		"                       must have certificates it signed\n"
		"  --cert PEM --key PEM this host's certificate and key (server and client)\n"
		"  --state-dir DIR      VM records (DIR/vms), logon tokens (DIR/tokens) and\n"
		"                       skyrdp's state (DIR/rdp)\n"
		"  --run-dir DIR        the VMs' control and display sockets\n"
		"  --templates DIR      VM templates, DIR/NAME.json (docs/host.md)\n"
		"  --rdp-listen ADDR:PORT  run skyrdp listening there\n"
		"  --skyvm PATH         the skyvm program (default: beside skyhostd, else $PATH)\n"
		"  --skyrdp PATH        the skyrdp program (likewise)\n"
		"  --heartbeat SECONDS  between heartbeats (default 5; the broker may change it)\n"
		"  --mem-total MB       memory to offer to VMs (default: MemTotal)\n"
		"  --stop-timeout SECONDS  how long a guest has to shut down before its VM is\n"
		"                       stopped (default 30)\n"
		"  --api-url URL        the host API's URL as the broker should use it\n"
		"                       (default https://LISTEN, with the host name for a\n"
		"                       wildcard address)\n"
		"  --rdp-address ADDR:PORT  skyrdp's address as clients should use it\n"
		"                       (default the --rdp-listen address, likewise)\n"
		"  -h, --help           this text\n\n"
		"SIGTERM or SIGINT stop every VM (guest shutdown, bounded) and skyrdp, then\n"
		"skyhostd exits 0; VMs that should run start again with the next skyhostd.\n"
		"SIGHUP reads the templates again.\n"
		"SKYLIGHT_LOG sets log levels, e.g. SKYLIGHT_LOG=debug or info,host.api=debug.\n");
}

/* A program beside skyhostd (installed: one bindir), or in the build tree
 * (build/host/skyhostd next to build/skyvm/skyvm), else its bare name for
 * $PATH.  Malloc'd. */
static char *find_program(const char *name, const char *build_subdir)
{
	char self[PATH_MAX], *slash, *p;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (asprintf(&p, "%s/%s", self, name) >= 0) {
				if (access(p, X_OK) == 0)
					return p;
				free(p);
			}
			if (asprintf(&p, "%s/../%s/%s", self, build_subdir, name) >= 0) {
				if (access(p, X_OK) == 0)
					return p;
				free(p);
			}
		}
	}
	return strdup(name);
}

/* "https://ADDR:PORT" for what the server listens on; a wildcard address
 * is replaced by the host name. */
static char *advertise(const char *scheme, const char *listen, uint16_t port)
{
	char host[256], *p;
	const char *colon = strrchr(listen, ':');
	size_t len = colon ? (size_t)(colon - listen) : strlen(listen);

	if (len >= sizeof(host))
		return NULL;
	memcpy(host, listen, len);
	host[len] = '\0';
	if (!len || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]")) {
		if (gethostname(host, sizeof(host)) < 0)
			return NULL;
		host[sizeof(host) - 1] = '\0';
	}
	return asprintf(&p, "%s%s:%u", scheme, host, port) < 0 ? NULL : p;
}

/* --- heartbeat ------------------------------------------------------------ */

static void build_report(struct hostd *h, void *arg)
{
	*(struct json_object **)arg = hostd_report(h);
}

/* Wait up to seconds, or until asked to quit; returns whether to quit. */
static bool hb_wait(struct hostd *h, unsigned seconds)
{
	struct timespec ts;
	bool quit;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&h->hb_lock);
	while (!h->hb_quit) {
		if (pthread_cond_timedwait(&h->hb_cond, &h->hb_lock, &ts) == ETIMEDOUT)
			break;
	}
	quit = h->hb_quit;
	pthread_mutex_unlock(&h->hb_lock);
	return quit;
}

static void *heartbeat_main(void *data)
{
	struct hostd *h = data;
	struct http_client_config cc = {
		.ca = h->ca, .cert = h->cert, .key = h->key, .timeout_ms = HEARTBEAT_TIMEOUT_MS,
	};
	size_t blen = strlen(h->broker);
	unsigned interval = h->heartbeat_s, fails = 0;
	uint64_t last_log = 0;
	char *url;

	while (blen && h->broker[blen - 1] == '/')
		blen--;
	if (asprintf(&url, "%.*s/cluster/v1/heartbeat", (int)blen, h->broker) < 0)
		return NULL;
	do {
		struct json_object *report = NULL, *reply = NULL, *v;
		long status = 0;
		int r;

		if (hostd_call(h, build_report, &report) < 0)
			break;
		if (!report)
			continue;
		r = http_client_request(&cc, "POST", url, report, &status, &reply);
		json_object_put(report);
		if (r == 0 && status == 200) {
			if (fails)
				log_info("heartbeat: the broker answers again (after %u failures)",
					 fails);
			fails = 0;
			if (reply && json_object_object_get_ex(reply, "interval_s", &v) &&
			    json_object_is_type(v, json_type_int)) {
				int64_t s = json_object_get_int64(v);

				if (s >= 1 && s <= HEARTBEAT_MAX_S && (unsigned)s != interval) {
					log_info("heartbeat: every %lld s, as the broker asks",
						 (long long)s);
					interval = (unsigned)s;
				}
			}
		} else {
			uint64_t now = now_ns();

			if (!fails++ || now - last_log >= HEARTBEAT_LOG_EVERY_S * NS_PER_S) {
				if (r < 0)
					log_warn("heartbeat to %s failed: %s (%u in a row)", url,
						 strerror(-r), fails);
				else
					log_warn("heartbeat to %s: HTTP status %ld (%u in a row)",
						 url, status, fails);
				last_log = now;
			}
		}
		json_object_put(reply);
	} while (!hb_wait(h, interval));
	free(url);
	return NULL;
}

static int heartbeat_start(struct hostd *h)
{
	pthread_condattr_t attr;
	int r;

	pthread_mutex_init(&h->hb_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&h->hb_cond, &attr);
	pthread_condattr_destroy(&attr);
	r = pthread_create(&h->hb_thread, NULL, heartbeat_main, h);
	if (r)
		return -r;
	h->hb_started = true;
	return 0;
}

/* --- signals and the end ---------------------------------------------------- */

static void signal_cb(struct loop *l, int fd, uint32_t events, void *data)
{
	struct hostd *h = data;
	struct signalfd_siginfo si;
	bool chld = false;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			chld = true;
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %d: stopping", (int)si.ssi_signo);
			hostd_shutdown(h);
			break;
		case SIGHUP: {
			struct host_templates ts;
			int r = host_templates_load(h->templates_dir, &ts);

			if (r < 0) {
				log_errno(LOG_ERR, r, "SIGHUP: cannot read %s; templates kept",
					  h->templates_dir);
				break;
			}
			host_templates_free(&h->templates);
			h->templates = ts;
			log_info("SIGHUP: %zu templates", ts.n);
			break;
		}
		}
	}
	/* SIGCHLDs coalesce: one read may stand for several children. */
	if (chld)
		hostd_reap(h);
}

/* Stops the HTTP server and the heartbeat while the loop still runs the
 * tasks they wait for, then ends the loop. */
static void *closer_main(void *data)
{
	struct hostd *h = data;

	atomic_store(&h->closing, true);
	http_server_stop(h->http);
	h->http = NULL;
	if (h->hb_started) {
		pthread_mutex_lock(&h->hb_lock);
		h->hb_quit = true;
		pthread_cond_signal(&h->hb_cond);
		pthread_mutex_unlock(&h->hb_lock);
		pthread_join(h->hb_thread, NULL);
		h->hb_started = false;
	}
	loop_quit(h->loop, 0);
	return NULL;
}

static int close_down(struct hostd *h)
{
	pthread_t t;
	int r;

	r = pthread_create(&t, NULL, closer_main, h);
	if (r) {
		/* No thread: new callers are refused, and main() stops the
		 * server without the loop. */
		atomic_store(&h->closing, true);
		log_errno(LOG_ERR, -r, "cannot start the closing thread");
		return -r;
	}
	r = loop_run(h->loop);
	pthread_join(t, NULL);
	return r;
}

enum {
	OPT_NAME = 256, OPT_LISTEN, OPT_BROKER, OPT_CA, OPT_CERT, OPT_KEY, OPT_STATE_DIR,
	OPT_RUN_DIR, OPT_TEMPLATES, OPT_RDP_LISTEN, OPT_SKYVM, OPT_SKYRDP, OPT_HEARTBEAT,
	OPT_MEM_TOTAL, OPT_STOP_TIMEOUT, OPT_API_URL, OPT_RDP_ADDRESS,
};

static const struct option options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "broker", required_argument, NULL, OPT_BROKER },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "templates", required_argument, NULL, OPT_TEMPLATES },
	{ "rdp-listen", required_argument, NULL, OPT_RDP_LISTEN },
	{ "skyvm", required_argument, NULL, OPT_SKYVM },
	{ "skyrdp", required_argument, NULL, OPT_SKYRDP },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "mem-total", required_argument, NULL, OPT_MEM_TOTAL },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "api-url", required_argument, NULL, OPT_API_URL },
	{ "rdp-address", required_argument, NULL, OPT_RDP_ADDRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct hostd *h)
{
	const char *api_url = NULL, *rdp_address = NULL;
	uint64_t v;
	int c;

	h->heartbeat_s = 5;
	h->stop_timeout_s = 30;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_NAME: h->name = optarg; break;
		case OPT_LISTEN: h->listen = optarg; break;
		case OPT_BROKER: h->broker = optarg; break;
		case OPT_CA: h->ca = optarg; break;
		case OPT_CERT: h->cert = optarg; break;
		case OPT_KEY: h->key = optarg; break;
		case OPT_STATE_DIR: h->state_dir = optarg; break;
		case OPT_RUN_DIR: h->run_dir = optarg; break;
		case OPT_TEMPLATES: h->templates_dir = optarg; break;
		case OPT_RDP_LISTEN: h->rdp_listen = optarg; break;
		case OPT_SKYVM: h->skyvm = optarg; break;
		case OPT_SKYRDP: h->skyrdp = optarg; break;
		case OPT_API_URL: api_url = optarg; break;
		case OPT_RDP_ADDRESS: rdp_address = optarg; break;
		case OPT_HEARTBEAT:
			if (parse_uint(optarg, 1, HEARTBEAT_MAX_S, &v) < 0) {
				fprintf(stderr, "skyhostd: --heartbeat %s: expected 1-%d seconds\n",
					optarg, HEARTBEAT_MAX_S);
				return -EINVAL;
			}
			h->heartbeat_s = (unsigned)v;
			break;
		case OPT_STOP_TIMEOUT:
			if (parse_uint(optarg, 1, 86400, &v) < 0) {
				fprintf(stderr,
					"skyhostd: --stop-timeout %s: expected 1-86400 seconds\n",
					optarg);
				return -EINVAL;
			}
			h->stop_timeout_s = (unsigned)v;
			break;
		case OPT_MEM_TOTAL:
			if (parse_uint(optarg, 1, UINT32_MAX, &v) < 0) {
				fprintf(stderr, "skyhostd: --mem-total %s: expected MiB\n", optarg);
				return -EINVAL;
			}
			h->mem_total_mb = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skyhostd: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	{
		const struct { const char *v, *opt; } req[] = {
			{ h->name, "--name" }, { h->listen, "--listen" }, { h->broker, "--broker" },
			{ h->ca, "--ca" }, { h->cert, "--cert" }, { h->key, "--key" },
			{ h->state_dir, "--state-dir" }, { h->run_dir, "--run-dir" },
			{ h->templates_dir, "--templates" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(req); i++) {
			if (!req[i].v || !*req[i].v) {
				fprintf(stderr, "skyhostd: %s is required\n", req[i].opt);
				usage(stderr);
				return -EINVAL;
			}
		}
	}
	if (!host_name_valid(h->name)) {
		fprintf(stderr, "skyhostd: --name %s: 1-64 of A-Z a-z 0-9 . _ -, not starting "
				"with - or .\n", h->name);
		return -EINVAL;
	}
	if (strncmp(h->broker, "https://", 8)) {
		fprintf(stderr, "skyhostd: --broker %s: expected an https:// URL\n", h->broker);
		return -EINVAL;
	}
	h->api_url = api_url ? strdup(api_url) : NULL;
	h->rdp_address = rdp_address ? strdup(rdp_address) : NULL;
	return 0;
}

int main(int argc, char **argv)
{
	struct hostd h = { 0 };
	struct http_server_config hc = { 0 };
	const char *spec = getenv("SKYLIGHT_LOG");
	char *skyvm = NULL, *skyrdp = NULL;
	sigset_t mask;
	int sfd = -1, r, status = 1;

	log_set_ident("skyhostd");
	if (spec && log_parse_spec(spec) < 0)
		fprintf(stderr, "skyhostd: SKYLIGHT_LOG=%s: malformed, ignored\n", spec);
	if (parse_args(argc, argv, &h) < 0)
		return EX_USAGE;
	if (!h.skyvm)
		h.skyvm = skyvm = find_program("skyvm", "skyvm");
	if (!h.skyrdp)
		h.skyrdp = skyrdp = find_program("skyrdp", "rdp");
	h.vms_dir = path_join(h.state_dir, "vms");
	h.tokens_dir = path_join(h.state_dir, "tokens");
	h.rdp_state_dir = path_join(h.state_dir, "rdp");
	if (!h.skyvm || !h.skyrdp || !h.vms_dir || !h.tokens_dir || !h.rdp_state_dir)
		goto out;
	if ((r = make_dir(h.state_dir, 0700)) < 0 || (r = make_dir(h.vms_dir, 0700)) < 0 ||
	    (r = make_dir(h.tokens_dir, 0700)) < 0 || (r = make_dir(h.rdp_state_dir, 0700)) < 0 ||
	    (r = make_dir(h.run_dir, 0700)) < 0) {
		log_errno(LOG_ERR, r, "cannot make the state or run folders");
		status = EX_CANTCREAT;
		goto out;
	}

	/* Before any thread exists, so that all of them inherit the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || loop_new(&h.loop) < 0 ||
	    loop_add_fd(h.loop, sfd, EPOLLIN, signal_cb, &h, NULL) < 0) {
		log_err("cannot set up the event loop");
		goto out;
	}

	r = host_templates_load(h.templates_dir, &h.templates);
	if (r < 0) {
		log_errno(LOG_ERR, r, "--templates %s", h.templates_dir);
		status = EX_NOINPUT;
		goto out;
	}
	log_info("%zu templates in %s", h.templates.n, h.templates_dir);
	r = hostd_vms_load(&h);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot read %s", h.vms_dir);
		status = EX_NOINPUT;
		goto out;
	}

	hc.listen = h.listen;
	hc.cert = h.cert;
	hc.key = h.key;
	hc.client_ca = h.ca;
	hc.max_body = HOST_API_MAX_BODY;
	hc.threads = 4;
	r = http_server_start(&hc, hostd_http_handler, &h, &h.http);
	if (r < 0) {
		log_errno(LOG_ERR, r, "host API on %s", h.listen);
		status = r == -ENOENT || r == -EACCES ? EX_NOINPUT : EX_UNAVAILABLE;
		goto out;
	}
	if (!h.api_url)
		h.api_url = advertise("https://", h.listen, http_server_port(h.http));
	if (!h.rdp_address && h.rdp_listen) {
		const char *colon = strrchr(h.rdp_listen, ':');
		uint64_t port = 0;

		if (colon)
			parse_uint(colon + 1, 0, 65535, &port);
		h.rdp_address = advertise("", h.rdp_listen, (uint16_t)port);
	}
	if (!h.api_url || (h.rdp_listen && !h.rdp_address))
		goto out_http;
	log_info("host %s: API on %s, broker %s, %zu VMs, skyvm %s", h.name, h.api_url, h.broker,
		 h.nvms, h.skyvm);

	if (h.rdp_listen && (r = hostd_rdp_start(&h)) < 0)
		log_errno(LOG_ERR, r, "cannot start skyrdp");
	for (size_t i = 0; i < h.nvms; i++) {
		if (h.vms[i]->want_running) {
			log_info("vm %s: starting, as recorded", h.vms[i]->name);
			hostd_vm_start(&h, h.vms[i]);
		}
	}
	r = heartbeat_start(&h);
	if (r < 0)
		log_errno(LOG_ERR, r, "cannot start the heartbeat");

	r = loop_run(h.loop);
	if (r < 0)
		log_errno(LOG_ERR, r, "event loop");
	close_down(&h);
	status = r < 0 ? 1 : 0;
	log_info("stopped");
out_http:
	http_server_stop(h.http);
out:
	while (h.nvms) {
		ipc_conn_free(h.vms[h.nvms - 1]->ctl);
		hostd_vm_forget(&h, h.vms[h.nvms - 1]);
	}
	free(h.vms);
	host_templates_free(&h.templates);
	loop_free(h.loop);
	if (sfd >= 0)
		close(sfd);
	free(skyvm);
	free(skyrdp);
	free(h.vms_dir);
	free(h.tokens_dir);
	free(h.rdp_state_dir);
	free(h.api_url);
	free(h.rdp_address);
	return status;
}

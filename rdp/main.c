// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyrdp: the RDP server of a Skylight host (docs/rdp.md).
 *
 * The listener accepts TCP connections and forks one worker per session
 * (session.c); it never runs FreeRDP itself, so a session that crashes
 * takes nobody else with it, and it has no threads when it forks.  It
 * counts its workers and answers clients beyond --max-sessions with a
 * short-lived worker that refuses them politely.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arc.h"
#include "log.h"
#include "sandbox.h"
#include "skyrdp.h"
#include "util.h"

LOG_SCOPE("rdp.main");

/* Refusing workers live a second or two; this many at once at most, so a
 * flood beyond the limit costs processes only up to here. */
#define MAX_REFUSERS 4
#define MAX_WORKERS 1024

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skyrdp --vm NAME [OPTION]...\n"
		"       skyrdp --tokens DIR [--vm NAME] [OPTION]...\n"
		"The RDP server of a Skylight host: every session shows a VM's display\n"
		"(H.264 through the graphics pipeline, RemoteFX for older clients) and sends\n"
		"the client's keyboard and mouse to it.  The VM is NAME, or with --tokens the\n"
		"one named with the one-time token the client logs on with.\n\n"
		"  --listen ADDR:PORT  where to listen (default 0.0.0.0:3389; [::]:3389 for IPv6)\n"
		"  --run-dir DIR       where NAME.display is (default $SKYLIGHT_RUN_DIR, else\n"
		"                      $XDG_RUNTIME_DIR/skylight, else /run/skylight)\n"
		"  --vm NAME           the VM a session shows (without a one-time token)\n"
		"  --tokens DIR        one-time logon tokens (the host agent puts them there\n"
		"                      for clients the broker redirects here): a client\n"
		"                      whose password is its user's token is let in once,\n"
		"                      to the token's VM; others go by the user store\n"
		"  --users PATH        the user store (default STATE_DIR/users.db; skyctl user)\n"
		"  --state-dir DIR     TLS certificate and key (made on first run, mode 0600)\n"
		"                      and auto-reconnect cookies (default $SKYLIGHT_STATE_DIR,\n"
		"                      else $XDG_STATE_HOME/skylight, else /var/lib/skylight)\n"
		"  --cert PEM --key PEM  use this certificate and key instead\n"
		"  --max-sessions N    sessions at once (default 16); more are refused\n"
		"  --auth tls|nla|any  TLS with the password in the logon packet, NLA\n"
		"                      (CredSSP/NTLM), or whichever the client asks (default)\n"
		"  --fps N             frames per second at most (default 30)\n"
		"  --link lan|broadband|wan  H.264 bit rate cap: none, 10 or 2 Mbit/s\n"
		"                      (default lan)\n"
		"  --lossless          graphics-pipeline clients without H.264 get planar\n"
		"                      (exact pixels) instead of RemoteFX (fewer bytes)\n"
		"  -h, --help          this text\n\n"
		"SKYLIGHT_LOG sets log levels, e.g. SKYLIGHT_LOG=debug or info,rdp.gfx=debug.\n");
}

/* $env, else $xdg/skylight, else fallback (malloc'd). */
static char *default_dir(const char *env, const char *xdg, const char *fallback)
{
	const char *v = getenv(env), *x = getenv(xdg);
	char *p;

	if (v && *v)
		return strdup(v);
	if (x && *x)
		return asprintf(&p, "%s/skylight", x) < 0 ? NULL : p;
	return strdup(fallback);
}

struct worker {
	pid_t pid;
	bool refuser;
};

static struct worker workers[MAX_WORKERS + MAX_REFUSERS];
static unsigned nworkers;

static unsigned count(bool refuser)
{
	unsigned i, n = 0;

	for (i = 0; i < nworkers; i++)
		n += workers[i].refuser == refuser;
	return n;
}

static void reap(const struct skyrdp_config *cfg)
{
	int status;
	pid_t pid;
	unsigned i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nworkers; i++) {
			if (workers[i].pid != pid)
				continue;
			if (WIFSIGNALED(status)) {
				log_warn("session worker %d died of signal %d", (int)pid,
					 WTERMSIG(status));
				/* Its auto-reconnect cookie's grace period starts now. */
				arc_orphan(cfg->arc_dir, pid);
			} else
				log_debug("session worker %d exited with status %d", (int)pid,
					  WEXITSTATUS(status));
			workers[i] = workers[--nworkers];
			break;
		}
	}
}

static void peer_name(const struct sockaddr_storage *ss, char *buf, size_t size, bool *local)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	*local = false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
		*local = ntohl(in->sin_addr.s_addr) >> 24 == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
		*local = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	snprintf(buf, size, "%s:%u", addr, port);
}

/* A client that vanished (a dropped network, a suspended laptop) frees its
 * session within about two minutes instead of TCP's two hours. */
static void keepalive(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 6;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static int serve(const struct skyrdp_config *cfg, int lfd, int sfd, const sigset_t *oldmask)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char name[INET6_ADDRSTRLEN + 8];
		bool local, refuser;
		pid_t pid;
		int fd, r;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_errno(LOG_ERR, -errno, "poll");
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					reap(cfg);
				} else {
					log_info("signal %u: stopping; %u sessions go on",
						 si.ssi_signo, count(false));
					return 0;
				}
			}
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_errno(LOG_WARN, -errno, "accept");
			continue;
		}
		peer_name(&ss, name, sizeof(name), &local);
		keepalive(fd);
		refuser = count(false) >= cfg->max_sessions;
		if (refuser && count(true) >= MAX_REFUSERS) {
			log_warn("%s: refused: at the session limit (%u) and busy refusing others",
				 name, cfg->max_sessions);
			close(fd);
			continue;
		}
		if (refuser)
			log_warn("%s: at the session limit (%u): this client will be refused", name,
				 cfg->max_sessions);
		pid = fork();
		if (pid < 0) {
			log_errno(LOG_ERR, -errno, "%s: fork", name);
			close(fd);
			continue;
		}
		if (pid == 0) {
			/* The worker: nothing of the listener's. */
			close(lfd);
			close(sfd);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGPIPE, SIG_IGN);
			sigprocmask(SIG_SETMASK, oldmask, NULL);
			/* Before FreeRDP reads a byte of the client's: a worker
			 * taken over cannot run programs or reach skyvm's memory. */
			r = sandbox_worker();
			if (r < 0)
				log_errno(LOG_WARN, r, "%s: no seccomp filter for this worker", name);
			_exit(session_run(cfg, fd, name, local, refuser));
		}
		close(fd);
		workers[nworkers++] = (struct worker){ .pid = pid, .refuser = refuser };
		log_info("%s: session worker %d (%u sessions)", name, (int)pid, count(false));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "vm", required_argument, NULL, 'v' },
		{ "tokens", required_argument, NULL, 't' },
		{ "users", required_argument, NULL, 'u' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "auth", required_argument, NULL, 'a' },
		{ "fps", required_argument, NULL, 'f' },
		{ "link", required_argument, NULL, 'L' },
		{ "lossless", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct skyrdp_config cfg = {
		.listen = "0.0.0.0:3389",
		.max_sessions = 16,
		.auth = SKYRDP_AUTH_ANY,
		.fps = 30,
		.link = RCC_LINK_LAN,
	};
	char *run_dir = NULL, *state_dir = NULL, *users = NULL, *cert = NULL, *key = NULL;
	const char *spec = getenv("SKYLIGHT_LOG");
	sigset_t mask, oldmask;
	uint64_t v;
	int c, r, lfd, sfd;

	log_set_ident("skyrdp");
	if (spec && log_parse_spec(spec) < 0)
		fprintf(stderr, "skyrdp: ignoring a malformed SKYLIGHT_LOG\n");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': cfg.listen = optarg; break;
		case 'r': cfg.run_dir = optarg; break;
		case 'v': cfg.vm = optarg; break;
		case 't': cfg.tokens = optarg; break;
		case 'u': cfg.users = optarg; break;
		case 's': cfg.state_dir = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 'm':
			if (parse_uint(optarg, 1, MAX_WORKERS, &v) < 0) {
				fprintf(stderr, "skyrdp: --max-sessions: 1..%d\n", MAX_WORKERS);
				return 2;
			}
			cfg.max_sessions = (uint32_t)v;
			break;
		case 'f':
			if (parse_uint(optarg, 1, 240, &v) < 0) {
				fprintf(stderr, "skyrdp: --fps: 1..240\n");
				return 2;
			}
			cfg.fps = (uint32_t)v;
			break;
		case 'a':
			if (!strcmp(optarg, "any"))
				cfg.auth = SKYRDP_AUTH_ANY;
			else if (!strcmp(optarg, "tls"))
				cfg.auth = SKYRDP_AUTH_TLS;
			else if (!strcmp(optarg, "nla"))
				cfg.auth = SKYRDP_AUTH_NLA;
			else {
				fprintf(stderr, "skyrdp: --auth: tls, nla or any\n");
				return 2;
			}
			break;
		case 'P':
			cfg.lossless = true;
			break;
		case 'L':
			if (!strcmp(optarg, "lan"))
				cfg.link = RCC_LINK_LAN;
			else if (!strcmp(optarg, "broadband"))
				cfg.link = RCC_LINK_BROADBAND;
			else if (!strcmp(optarg, "wan"))
				cfg.link = RCC_LINK_WAN;
			else {
				fprintf(stderr, "skyrdp: --link: lan, broadband or wan\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (!cfg.vm && !cfg.tokens)) {
		usage(stderr);
		return 2;
	}
	if (cfg.vm && (!*cfg.vm || strchr(cfg.vm, '/'))) {
		fprintf(stderr, "skyrdp: --vm: a VM name, not a path\n");
		return 2;
	}
	if (!cfg.cert != !cfg.key) {
		fprintf(stderr, "skyrdp: --cert and --key go together\n");
		return 2;
	}
	if (!cfg.run_dir)
		cfg.run_dir = run_dir = default_dir("SKYLIGHT_RUN_DIR", "XDG_RUNTIME_DIR",
						    "/run/skylight");
	if (!cfg.state_dir)
		cfg.state_dir = state_dir = default_dir("SKYLIGHT_STATE_DIR", "XDG_STATE_HOME",
							"/var/lib/skylight");
	if (!cfg.run_dir || !cfg.state_dir)
		return 1;
	if (!cfg.users)
		cfg.users = users = path_join(cfg.state_dir, "users.db");
	cfg.arc_dir = path_join(cfg.state_dir, "rdp-arc");
	if (!cfg.users || !cfg.arc_dir)
		return 1;
	r = make_dir(cfg.state_dir, 0700);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot create the state dir %s", cfg.state_dir);
		return 1;
	}
	if (!cfg.cert) {
		cfg.cert = cert = path_join(cfg.state_dir, "rdp-cert.pem");
		cfg.key = key = path_join(cfg.state_dir, "rdp-key.pem");
		if (!cert || !key)
			return 1;
		r = cert_ensure(cert, key);
		if (r < 0) {
			log_errno(LOG_ERR, r, "cannot make the TLS certificate %s and key %s", cert,
				  key);
			return 1;
		}
	} else if (access(cfg.cert, R_OK) < 0 || access(cfg.key, R_OK) < 0) {
		log_errno(LOG_ERR, -errno, "cannot read %s or %s", cfg.cert, cfg.key);
		return 1;
	}
	if (cfg.tokens && !*cfg.tokens) {
		fprintf(stderr, "skyrdp: --tokens: a directory\n");
		return 2;
	}
	if (access(cfg.users, R_OK) < 0 && cfg.tokens)
		log_info("no user store at %s: one-time token logons only", cfg.users);
	else if (access(cfg.users, R_OK) < 0)
		log_warn("no user store at %s yet (skyctl user add): every logon will fail",
			 cfg.users);

	lfd = tcp_listen(cfg.listen, 64);
	if (lfd < 0) {
		log_errno(LOG_ERR, lfd, "cannot listen on %s", cfg.listen);
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_errno(LOG_ERR, -errno, "signalfd");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	log_info("listening on %s for %s%s%s%s (displays in %s, auth %s, %u sessions, %u fps)",
		 cfg.listen, cfg.vm ? "VM " : "", cfg.vm ? cfg.vm : "",
		 cfg.vm && cfg.tokens ? " and " : "",
		 cfg.tokens ? "one-time token logons" : "", cfg.run_dir,
		 cfg.auth == SKYRDP_AUTH_ANY ? "any" : cfg.auth == SKYRDP_AUTH_TLS ? "tls" : "nla",
		 cfg.max_sessions, cfg.fps);
	r = serve(&cfg, lfd, sfd, &oldmask);
	close(lfd);
	close(sfd);
	free(run_dir);
	free(state_dir);
	free(users);
	free(cert);
	free(key);
	free(cfg.arc_dir);
	return r < 0 ? 1 : 0;
}

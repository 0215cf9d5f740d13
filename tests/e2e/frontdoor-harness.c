// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's RDP front door (broker/frontdoor.c) with fake broker ops,
 * for tests/e2e/test_frontdoor.py:
 *
 *   frontdoor-harness --listen ADDR:PORT --cert PEM --key PEM --tokens DIR
 *                     --rdp-address ADDR --vm NAME [--desktop NAME]
 *                     [--token-file PATH] [--resolve-delay S] [--token-ttl S]
 *                     [--issue-delay S]
 *   frontdoor-harness --rdp-file ADDRESS USER DESKTOP
 *
 * The first runs a front door until SIGTERM/SIGINT: user "alice" with
 * password "password1" logs on (user "limited" is always rate-limited,
 * anyone else is wrong), alice's desktop (named --desktop, default
 * "office") is VM --vm at --rdp-address, and a token issued for it is put
 * into DIR with tokens_put, as skyhostd would, and appended to PATH (for
 * the test to try it a second time).  The delays make resolve or
 * issue_token slow (a desktop starting; a token expiring on the way).
 * Each op prints a line on stdout.
 * The second prints the .rdp file frontdoor_rdp_file makes.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "frontdoor.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

LOG_SCOPE("test.frontdoor");

struct fake {
	const char *tokens, *rdp_address, *vm, *desktop, *token_file;
	unsigned resolve_delay_s, issue_delay_s;
};

static int fake_authenticate(void *data, const char *peer, const char *user, const char *password)
{
	(void)data;
	if (!strcasecmp(user, "limited")) {
		printf("authenticate: %s from %s: rate-limited\n", user, peer);
		fflush(stdout);
		return -EAGAIN;
	}
	if (!strcasecmp(user, "alice") && !strcmp(password, "password1")) {
		printf("authenticate: %s from %s: ok\n", user, peer);
		fflush(stdout);
		return 0;
	}
	printf("authenticate: %s from %s: wrong\n", user, peer);
	fflush(stdout);
	return -EACCES;
}

static int fake_resolve(void *data, const char *user, const char *hint, unsigned timeout_s,
			struct frontdoor_target *t)
{
	struct fake *f = data;

	printf("resolve: user=%s hint=%s timeout=%u\n", user, hint ? hint : "(none)", timeout_s);
	fflush(stdout);
	if (hint && strcmp(hint, f->desktop))
		return -ENOENT;
	if (f->resolve_delay_s)
		sleep(f->resolve_delay_s);
	snprintf(t->host, sizeof(t->host), "host1");
	snprintf(t->rdp_address, sizeof(t->rdp_address), "%s", f->rdp_address);
	snprintf(t->vm, sizeof(t->vm), "%s", f->vm);
	snprintf(t->desktop, sizeof(t->desktop), "%s", f->desktop);
	return 0;
}

static int fake_issue_token(void *data, const struct frontdoor_target *t, const char *user,
			    const char *token, time_t expires)
{
	struct fake *f = data;
	int r;

	r = tokens_put(f->tokens, user, t->vm, token, expires);
	printf("issue_token: user=%s vm=%s ttl=%lld: %s\n", user, t->vm,
	       (long long)(expires - time(NULL)), r < 0 ? strerror(-r) : "ok");
	fflush(stdout);
	if (r == 0 && f->token_file) {
		FILE *tf = fopen(f->token_file, "a");

		if (!tf)
			return -errno;
		fprintf(tf, "%s\n", token);
		fclose(tf);
	}
	if (f->issue_delay_s)
		sleep(f->issue_delay_s);
	return r;
}

static const struct frontdoor_ops fake_ops = {
	.authenticate = fake_authenticate,
	.resolve = fake_resolve,
	.issue_token = fake_issue_token,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "tokens", required_argument, NULL, 't' },
		{ "rdp-address", required_argument, NULL, 'a' },
		{ "vm", required_argument, NULL, 'v' },
		{ "desktop", required_argument, NULL, 'd' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "resolve-delay", required_argument, NULL, 'D' },
		{ "issue-delay", required_argument, NULL, 'I' },
		{ "token-ttl", required_argument, NULL, 'L' },
		{ "rdp-file", no_argument, NULL, 'r' },
		{},
	};
	struct frontdoor_config cfg = { 0 };
	struct fake f = { .desktop = "office" };
	struct frontdoor *fd;
	bool rdp_file = false;
	sigset_t mask;
	uint64_t v;
	int c, r, sig;

	log_set_ident("frontdoor-harness");
	log_parse_spec(getenv("SKYLIGHT_LOG") ? getenv("SKYLIGHT_LOG") : "info");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': cfg.listen = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 't': f.tokens = optarg; break;
		case 'a': f.rdp_address = optarg; break;
		case 'v': f.vm = optarg; break;
		case 'd': f.desktop = optarg; break;
		case 'T': f.token_file = optarg; break;
		case 'D':
			if (parse_uint(optarg, 0, 600, &v) < 0)
				return 2;
			f.resolve_delay_s = (unsigned)v;
			break;
		case 'I':
			if (parse_uint(optarg, 0, 600, &v) < 0)
				return 2;
			f.issue_delay_s = (unsigned)v;
			break;
		case 'L':
			if (parse_uint(optarg, 1, 3600, &v) < 0)
				return 2;
			cfg.token_ttl_s = (unsigned)v;
			break;
		case 'r': rdp_file = true; break;
		default: return 2;
		}
	}
	if (rdp_file) {
		char *s;

		if (argc - optind != 3)
			return 2;
		s = frontdoor_rdp_file(argv[optind], argv[optind + 1], argv[optind + 2]);
		if (!s) {
			fprintf(stderr, "frontdoor_rdp_file: %s\n", strerror(errno));
			return 1;
		}
		fputs(s, stdout);
		free(s);
		return 0;
	}
	if (optind != argc || !cfg.listen || !cfg.cert || !cfg.key || !f.tokens ||
	    !f.rdp_address || !f.vm)
		return 2;

	/* Signals are waited for, not handled: block them before any thread. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = frontdoor_start(&cfg, &fake_ops, &f, &fd);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot start the front door on %s", cfg.listen);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (sigwait(&mask, &sig) != 0)
		return 1;
	frontdoor_stop(fd);
	printf("stopped\n");
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyctl: the admin command line for one skyvm, over its control socket
 * (docs/control.md).  It speaks only the public JSON-lines protocol.
 *
 *   skyctl -s /run/skylight/vm1.sock ic
 *   skyctl -s /run/skylight/vm1.sock shutdown --reason "host patching" --timeout 120
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ipc.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skyctl [-s SOCKET] [--json] COMMAND [options]\n"
		"Control one skyvm through its control socket.\n\n"
		"  -s, --socket PATH   the VM's control socket (default $SKYVM_CONTROL)\n"
		"  -j, --json          print the reply as JSON\n"
		"  -t, --wait SECONDS  how long to wait for the reply (default 10)\n\n"
		"Commands:\n"
		"  status              state, vCPUs, memory, exit counts\n"
		"  pause | resume      stop / continue the vCPUs\n"
		"  stop                end the VM now (power cut)\n"
		"  vcpus               where each vCPU is\n"
		"  vmbus               VMBus version, channels and counters\n"
		"  ic                  integration services: heartbeat, time sync, KVP\n"
		"  kvp                 the key/value pairs the guest reported\n"
		"  shutdown [--reboot] [--reason TEXT] [--timeout SECONDS]\n"
		"                      ask the guest to shut down (or restart) cleanly;\n"
		"                      with --timeout, stop it hard if it is still up then\n");
}

static int request(const char *path, struct json_object *req, int wait_ms,
		   struct json_object **ret)
{
	int fd, r;

	r = ipc_connect(path, &fd);
	if (r < 0) {
		fprintf(stderr, "skyctl: cannot connect to %s: %s\n", path, strerror(-r));
		return EX_UNAVAILABLE;
	}
	r = ipc_send(fd, req, NULL, 0);
	if (r >= 0)
		r = ipc_recv_line(fd, ret, wait_ms);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "skyctl: no reply from %s: %s\n", path,
			r == -ETIMEDOUT ? "timed out" : strerror(-r));
		return EX_UNAVAILABLE;
	}
	return 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static void print_ic(struct json_object *res)
{
	static const char *const svcs[] = { "heartbeat", "shutdown", "timesync", "kvp" };

	printf("%-10s %-5s %-8s %9s %9s %7s  %s\n", "SERVICE", "OPEN", "VERSION", "REQUESTS",
	       "ANSWERS", "ERRORS", "DETAIL");
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		struct json_object *s;
		char detail[96] = "";

		if (!json_object_object_get_ex(res, svcs[i], &s))
			continue;
		if (i == 0)
			snprintf(detail, sizeof(detail), "sequence %s, last %s ms ago",
				 str(s, "sequence"), str(s, "age_ms"));
		else if (i == 2)
			snprintf(detail, sizeof(detail), "%s samples", str(s, "samples"));
		else if (i == 3)
			snprintf(detail, sizeof(detail), "%s pairs", str(s, "pairs"));
		printf("%-10s %-5s %-8s %9s %9s %7s  %s\n", svcs[i], str(s, "open"),
		       str(s, "version"), str(s, "requests"), str(s, "responses"), str(s, "errors"),
		       detail);
	}
}

static void print_kvp(struct json_object *res)
{
	struct json_object *pools;

	if (!json_object_object_get_ex(res, "kvp_pairs", &pools))
		return;
	json_object_object_foreach(pools, pool, pairs) {
		json_object_object_foreach(pairs, key, value)
			printf("%s\t%s\t%s\n", pool, key, json_object_get_string(value));
	}
}

static void print_vmbus(struct json_object *res)
{
	struct json_object *chans;

	printf("state %s, version %s, guest errors %s\n", str(res, "state"), str(res, "version"),
	       str(res, "guest_errors"));
	if (!json_object_object_get_ex(res, "channels", &chans))
		return;
	printf("%-6s %-10s %-5s %-36s %s\n", "RELID", "DEVICE", "OPEN", "CLASS", "INSTANCE");
	for (size_t i = 0; i < json_object_array_length(chans); i++) {
		struct json_object *c = json_object_array_get_idx(chans, i);

		printf("%-6s %-10s %-5s %-36s %s\n", str(c, "relid"), str(c, "device"),
		       str(c, "open"), str(c, "class"), str(c, "instance"));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 't' },
		{ "reboot", no_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *path = getenv("SKYVM_CONTROL"), *cmd, *wire, *reason = NULL;
	bool json = false, reboot = false;
	long wait_s = 10, timeout = -1;
	struct json_object *req, *reply = NULL, *ok, *res;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 't':
			wait_s = strtol(optarg, &end, 10);
			if (*end || wait_s < 1 || wait_s > 3600) {
				fprintf(stderr, "skyctl: --wait wants 1-3600 seconds\n");
				return EX_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc || !path) {
		if (!path)
			fprintf(stderr, "skyctl: no control socket: use -s PATH or set SKYVM_CONTROL\n");
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind++];
	/* Options after the command belong to it (shutdown's). */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reboot = true; break;
		case 'R': reason = optarg; break;
		case 'T':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 0 || timeout > 86400) {
				fprintf(stderr, "skyctl: --timeout wants 0-86400 seconds\n");
				return EX_USAGE;
			}
			break;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skyctl: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	if ((reboot || reason || timeout >= 0) && strcmp(cmd, "shutdown")) {
		fprintf(stderr, "skyctl: --reboot, --reason and --timeout go with shutdown\n");
		return EX_USAGE;
	}
	wire = !strcmp(cmd, "kvp") ? "ic" : cmd;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(wire));
	if (reboot)
		json_object_object_add(req, "reboot", json_object_new_boolean(true));
	if (reason)
		json_object_object_add(req, "reason", json_object_new_string(reason));
	if (timeout >= 0)
		json_object_object_add(req, "timeout_s", json_object_new_int64(timeout));
	r = request(path, req, (int)wait_s * 1000, &reply);
	json_object_put(req);
	if (r)
		return r;
	if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "skyctl: %s: %s\n", cmd, str(reply, "error"));
		json_object_put(reply);
		return 1;
	}
	if (!json_object_object_get_ex(reply, "result", &res))
		res = NULL;
	if (json || !res) {
		if (res && json_object_object_length(res))
			printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (!strcmp(cmd, "ic")) {
		print_ic(res);
	} else if (!strcmp(cmd, "kvp")) {
		print_kvp(res);
	} else if (!strcmp(cmd, "vmbus")) {
		print_vmbus(res);
	} else if (json_object_object_length(res)) {
		printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(reply);
	return 0;
}

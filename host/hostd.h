/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * skyhostd's daemon state (docs/host.md).  Threads: the main thread runs the
 * base/loop and owns everything below marked "loop": the VM table, the
 * templates, the child processes, their timers.  The HTTP server's threads
 * parse and check requests, then hand the work to the loop with
 * hostd_call() and wait for its answer; the heartbeat thread does the same
 * to build its report.  Nothing else is shared.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "template.h"
#include "vm.h"

struct loop;
struct loop_source;
struct http_server;
struct json_object;

#define HOST_VMS_MAX 1024

/* A supervised helper process that is restarted when it dies (skyrdp). */
struct host_child {
	const char *what;
	pid_t pid;
	uint64_t spawned_ns;
	unsigned streak;
	struct loop_source *timer;
};

struct hostd {
	/* Options (read-only after start). */
	const char *name, *listen, *broker, *ca, *cert, *key;
	const char *state_dir, *run_dir, *templates_dir, *rdp_listen;
	const char *skyvm, *skyrdp;
	char *api_url, *rdp_address;
	unsigned heartbeat_s, stop_timeout_s;
	uint64_t mem_total_mb; /* 0: /proc/meminfo */
	char *vms_dir, *tokens_dir, *rdp_state_dir;

	struct loop *loop;
	struct http_server *http;

	/* loop */
	struct host_templates templates;
	struct host_vm **vms;
	size_t nvms;
	struct host_child rdp;
	bool shutting_down;
	struct loop_source *shutdown_timer;

	/* Set once the loop has finished its work: callers get -ESHUTDOWN
	 * instead of waiting for it. */
	atomic_bool closing;

	/* The heartbeat thread. */
	pthread_t hb_thread;
	bool hb_started;
	pthread_mutex_t hb_lock;
	pthread_cond_t hb_cond;
	bool hb_quit;
};

/* Run fn(h, arg) on the loop thread and wait for it.  -ESHUTDOWN once the
 * daemon is closing (fn not run), -ENOMEM. */
int hostd_call(struct hostd *h, void (*fn)(struct hostd *h, void *arg), void *arg);

/* loop: the VM table. */
struct host_vm *hostd_vm_find(struct hostd *h, const char *name);
int hostd_vm_add(struct hostd *h, struct host_vm *vm);
/* Remove from the table and free (the process must be gone). */
void hostd_vm_forget(struct hostd *h, struct host_vm *vm);
/* Write STATE/vms/NAME.json (atomically) / remove it. */
int hostd_vm_save(struct hostd *h, const struct host_vm *vm);
int hostd_vm_unsave(struct hostd *h, const struct host_vm *vm);
/* Read STATE/vms/ into the table; bad records are logged and skipped. */
int hostd_vms_load(struct hostd *h);
/* The HostReport now (caller owns). */
struct json_object *hostd_report(struct hostd *h);

/* loop: processes (host/supervisor.c).  Every state change is logged. */
int hostd_vm_start(struct hostd *h, struct host_vm *vm);
void hostd_vm_stop(struct hostd *h, struct host_vm *vm);
int hostd_vm_restart(struct hostd *h, struct host_vm *vm);
/* Stop (if needed) and forget the VM, its record and its sockets. */
void hostd_vm_delete(struct hostd *h, struct host_vm *vm);
/* Reap exited children (SIGCHLD). */
void hostd_reap(struct hostd *h);
int hostd_rdp_start(struct hostd *h);
/* SIGTERM: stop every VM and skyrdp, bounded; loop_quit(0) once all are
 * gone.  A second call kills what is left. */
void hostd_shutdown(struct hostd *h);

/* The host API's handler (host/routes.c); data is the struct hostd. */
struct http_request;
struct http_response *hostd_http_handler(const struct http_request *req, void *data);

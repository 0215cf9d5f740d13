/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A VM as skyhostd knows it: the record kept in STATE/vms/NAME.json (what
 * the broker asked for: template, size, whether it should run) and the
 * supervisor's view of its skyvm process.  The pure parts — names, the
 * record format, the VM's JSON (docs/api.md §2), what an exit means and the
 * crash back-off — live here so unit tests reach them without processes.
 *
 * States (docs/host.md):
 *   off       no process; desired off, or stopped by request or by the guest
 *   starting  skyvm forked; its control socket does not answer yet
 *   running   the control socket answers
 *   stopping  asked to shut down (guest shutdown, then stop, then SIGKILL)
 *   crashed   skyvm died unexpectedly: waiting for its restart, or given up
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct json_object;
struct loop_source;
struct ipc_conn;

#define HOST_NAME_MAX_LEN 64
#define HOST_VM_MEM_MIN_MB 16
#define HOST_VM_MEM_MAX_MB (1024 * 1024)
#define HOST_VM_CPUS_MAX 64
/* Crash policy: back-off 1, 2, 4 ... 30 s between restarts; after
 * HOST_CRASH_MAX crashes within HOST_CRASH_WINDOW_S the VM stays crashed.
 * A run of HOST_CRASH_WINDOW_S or more before a crash restarts the back-off. */
#define HOST_CRASH_MAX 5
#define HOST_CRASH_WINDOW_S 60
#define HOST_BACKOFF_MAX_S 30

enum host_vm_state {
	HOST_VM_OFF,
	HOST_VM_STARTING,
	HOST_VM_RUNNING,
	HOST_VM_STOPPING,
	HOST_VM_CRASHED,
};

struct host_crash_history {
	uint64_t times_ns[HOST_CRASH_MAX]; /* ring of the last crashes */
	unsigned n;                        /* crashes recorded, saturating */
	unsigned next;
	unsigned streak;                   /* back-off step */
};

struct host_vm {
	/* The record (persisted). */
	char name[HOST_NAME_MAX_LEN + 1];
	char template_name[HOST_NAME_MAX_LEN + 1];
	uint32_t memory_mb, cpus;
	bool want_running;

	/* What the supervisor sees (not persisted). */
	enum host_vm_state state;
	pid_t pid;             /* 0: no process */
	unsigned restarts;     /* automatic restarts after crashes */
	char last_exit[96];    /* "" until the first exit */
	time_t started;        /* wall clock of the current process, 0 = none */
	uint64_t spawned_ns;   /* monotonic, for the crash policy */
	struct host_crash_history crashes;
	bool stop_requested;   /* the coming exit is one we asked for */
	bool restart_requested; /* start again once it has stopped */
	bool delete_requested; /* forget it once it has stopped */

	/* The supervisor's loop objects (host/supervisor.c). */
	void *owner;                 /* its struct hostd */
	struct loop_source *timer;   /* probe, restart or kill, per state */
	struct ipc_conn *ctl;        /* control connection while stopping */
	struct loop_source *ctl_src;
};

/* [A-Za-z0-9._-]{1,64}, not starting with '-' or '.' (docs/api.md §1). */
bool host_name_valid(const char *name);
const char *host_vm_state_name(enum host_vm_state s);

/* Record file: {"name","template","memory_mb","cpus","desired":"running"|"off"}.
 * Parse fills the record fields of *vm (zeroing the rest); -EINVAL with a
 * message in err for anything else, including unknown fields. */
int host_vm_record_parse(const char *text, size_t len, struct host_vm *vm, char *err,
			 size_t errlen);
struct json_object *host_vm_record_json(const struct host_vm *vm);

/* The VM object of the host API and the heartbeat (docs/api.md §2). */
struct json_object *host_vm_json(const struct host_vm *vm);

/* "exit status 3", "killed by signal 9", "killed by signal 11 (core dumped)". */
void host_exit_text(int wstatus, char *buf, size_t size);

enum host_exit_action {
	HOST_EXIT_OFF,     /* now off; nothing to do */
	HOST_EXIT_START,   /* now off, and a restart was asked for: start it */
	HOST_EXIT_RESTART, /* crashed: start again after *delay_s */
	HOST_EXIT_GIVE_UP, /* crashed too often: stays crashed */
};

/*
 * The process of vm ended with wstatus at now_ns: update state, pid,
 * last_exit, restarts, the crash history and want_running (a guest that
 * powered off by itself is off for good), and say what to do.  Exit status
 * 0 or any exit after a requested stop is off; anything else is a crash.
 */
enum host_exit_action host_vm_exited(struct host_vm *vm, int wstatus, uint64_t now_ns,
				     unsigned *delay_s);

/* Record a crash at now_ns after a run of ran_ns: the delay before the
 * restart in seconds, or -1 when the VM crashed too often. */
int host_crash_record(struct host_crash_history *h, uint64_t now_ns, uint64_t ran_ns);
/* Back-off for the streak-th consecutive failure (1-based): 1, 2, 4 ... 30 s. */
unsigned host_backoff_s(unsigned streak);

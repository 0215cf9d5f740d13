/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The desktop state machine (docs/api.md §1): pure functions, no I/O.
 *
 *   Requested → Provisioning → Running ⇄ Off
 *   Running → Saved → Running,  Running → Migrating → Running
 *   any placed state → HostNotResponding → what the host reports
 *   any → Expired
 *
 * A provision that fails before the VM exists goes back to Requested (a
 * start provisions again); after it exists, to Off.
 */

#include <stdbool.h>

enum desktop_state {
	DESKTOP_REQUESTED,
	DESKTOP_PROVISIONING,
	DESKTOP_RUNNING,
	DESKTOP_OFF,
	DESKTOP_SAVED,
	DESKTOP_MIGRATING,
	DESKTOP_HOST_NOT_RESPONDING,
	DESKTOP_EXPIRED,
	DESKTOP_STATE_MAX,
};

enum desktop_action {
	DESKTOP_START,
	DESKTOP_STOP,
	DESKTOP_RESTART,
	DESKTOP_DELETE,
};

/* "Requested", "Running", "HostNotResponding", ...; NULL out of range. */
const char *desktop_state_name(enum desktop_state s);
int desktop_state_parse(const char *s, enum desktop_state *ret);

bool desktop_transition_allowed(enum desktop_state from, enum desktop_state to);
/* Whether a user may ask for action in state s: 0, or -EBUSY (not now:
 * provisioning, migrating, host not responding), -EALREADY (already so),
 * -EINVAL (never, e.g. starting an expired desktop). */
int desktop_action_check(enum desktop_state s, enum desktop_action action);
/* Whether a desktop in state s lives on a host (has or is getting a VM). */
bool desktop_state_placed(enum desktop_state s);

/*
 * A host's report says its VM is in vm_state ("off", "starting",
 * "running", "stopping", "crashed"; NULL = the host does not list it):
 * the desktop's next state from cur.  Returns 1 and sets *next when it
 * changes, 0 when it stays, -EINVAL for an unknown vm_state.  A crashed VM
 * counts as Off (the record stays; the host restarts it or a user does).
 */
int desktop_reconcile(enum desktop_state cur, const char *vm_state, enum desktop_state *next);

/* memory_mb/1024 × cost_per_gb_day + cpus × cost_per_cpu_day. */
double desktop_cost_per_day(long long memory_mb, long long cpus, double cost_per_gb_day,
			    double cost_per_cpu_day);

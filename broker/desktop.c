// SPDX-License-Identifier: GPL-3.0-or-later
/* The desktop state machine (desktop.h, docs/api.md §1). */
#include <errno.h>
#include <string.h>

#include "desktop.h"
#include "util.h"

static const char *const state_names[DESKTOP_STATE_MAX] = {
	[DESKTOP_REQUESTED] = "Requested",
	[DESKTOP_PROVISIONING] = "Provisioning",
	[DESKTOP_RUNNING] = "Running",
	[DESKTOP_OFF] = "Off",
	[DESKTOP_SAVED] = "Saved",
	[DESKTOP_MIGRATING] = "Migrating",
	[DESKTOP_HOST_NOT_RESPONDING] = "HostNotResponding",
	[DESKTOP_EXPIRED] = "Expired",
};

const char *desktop_state_name(enum desktop_state s)
{
	return (unsigned)s < DESKTOP_STATE_MAX ? state_names[s] : NULL;
}

int desktop_state_parse(const char *s, enum desktop_state *ret)
{
	unsigned i;

	for (i = 0; s && i < DESKTOP_STATE_MAX; i++) {
		if (!strcmp(s, state_names[i])) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool desktop_state_placed(enum desktop_state s)
{
	switch (s) {
	case DESKTOP_PROVISIONING:
	case DESKTOP_RUNNING:
	case DESKTOP_OFF:
	case DESKTOP_SAVED:
	case DESKTOP_MIGRATING:
	case DESKTOP_HOST_NOT_RESPONDING:
		return true;
	default:
		return false;
	}
}

#define BIT(s) (1u << (s))

/* allowed[from] = the states it may go to (Expired is allowed from all). */
static const unsigned allowed[DESKTOP_STATE_MAX] = {
	[DESKTOP_REQUESTED] = BIT(DESKTOP_PROVISIONING),
	[DESKTOP_PROVISIONING] = BIT(DESKTOP_RUNNING) | BIT(DESKTOP_OFF) |
				 BIT(DESKTOP_REQUESTED) | BIT(DESKTOP_HOST_NOT_RESPONDING),
	[DESKTOP_RUNNING] = BIT(DESKTOP_OFF) | BIT(DESKTOP_SAVED) | BIT(DESKTOP_MIGRATING) |
			    BIT(DESKTOP_HOST_NOT_RESPONDING),
	[DESKTOP_OFF] = BIT(DESKTOP_RUNNING) | BIT(DESKTOP_HOST_NOT_RESPONDING),
	/* A saved desktop resumes, or its saved state is discarded. */
	[DESKTOP_SAVED] = BIT(DESKTOP_RUNNING) | BIT(DESKTOP_OFF) |
			  BIT(DESKTOP_HOST_NOT_RESPONDING),
	[DESKTOP_MIGRATING] = BIT(DESKTOP_RUNNING) | BIT(DESKTOP_HOST_NOT_RESPONDING),
	/* Back to whatever the returning host reports. */
	[DESKTOP_HOST_NOT_RESPONDING] = BIT(DESKTOP_RUNNING) | BIT(DESKTOP_OFF) |
					BIT(DESKTOP_SAVED),
	/* Expired is the end: kept for a while, then deleted. */
	[DESKTOP_EXPIRED] = 0,
};

bool desktop_transition_allowed(enum desktop_state from, enum desktop_state to)
{
	if ((unsigned)from >= DESKTOP_STATE_MAX || (unsigned)to >= DESKTOP_STATE_MAX || from == to)
		return false;
	if (to == DESKTOP_EXPIRED)
		return true;
	return allowed[from] & BIT(to);
}

int desktop_action_check(enum desktop_state s, enum desktop_action action)
{
	if ((unsigned)s >= DESKTOP_STATE_MAX)
		return -EINVAL;
	switch (action) {
	case DESKTOP_START:
		switch (s) {
		case DESKTOP_REQUESTED: /* provisions it again */
		case DESKTOP_OFF:
		case DESKTOP_SAVED:
			return 0;
		case DESKTOP_RUNNING:
			return -EALREADY;
		case DESKTOP_EXPIRED:
			return -EINVAL;
		default:
			return -EBUSY;
		}
	case DESKTOP_STOP:
		switch (s) {
		case DESKTOP_RUNNING:
		case DESKTOP_SAVED:
			return 0;
		case DESKTOP_OFF:
		case DESKTOP_REQUESTED:
		case DESKTOP_EXPIRED:
			return -EALREADY;
		default:
			return -EBUSY;
		}
	case DESKTOP_RESTART:
		switch (s) {
		case DESKTOP_RUNNING:
			return 0;
		case DESKTOP_EXPIRED:
			return -EINVAL;
		default:
			return -EBUSY;
		}
	case DESKTOP_DELETE:
		/* A desktop whose host is away cannot be deleted there; one
		 * moving between hosts must land first. */
		switch (s) {
		case DESKTOP_PROVISIONING:
		case DESKTOP_MIGRATING:
		case DESKTOP_HOST_NOT_RESPONDING:
			return -EBUSY;
		default:
			return 0;
		}
	}
	return -EINVAL;
}

int desktop_reconcile(enum desktop_state cur, const char *vm_state, enum desktop_state *next)
{
	enum desktop_state to;

	if (!vm_state) {
		/* The host has no such VM.  Nothing to conclude while it is
		 * being made; otherwise the caller logs it and keeps the
		 * record. */
		return 0;
	}
	if (!strcmp(vm_state, "running"))
		to = DESKTOP_RUNNING;
	else if (!strcmp(vm_state, "off") || !strcmp(vm_state, "crashed"))
		to = DESKTOP_OFF;
	else if (!strcmp(vm_state, "starting") || !strcmp(vm_state, "stopping"))
		to = cur == DESKTOP_HOST_NOT_RESPONDING ? DESKTOP_OFF : cur;
	else
		return -EINVAL;

	switch (cur) {
	case DESKTOP_PROVISIONING:
		/* The provision job owns the way to Off; only "it runs" is news. */
		if (to != DESKTOP_RUNNING)
			return 0;
		break;
	case DESKTOP_RUNNING:
	case DESKTOP_OFF:
	case DESKTOP_HOST_NOT_RESPONDING:
		break;
	case DESKTOP_SAVED:
		/* A saved VM is off to its host; it stays Saved until it runs. */
		if (to != DESKTOP_RUNNING)
			return 0;
		break;
	default:
		/* Requested (no VM yet), Migrating (the migration decides),
		 * Expired (stopped for good). */
		return 0;
	}
	if (to == cur)
		return 0;
	if (!desktop_transition_allowed(cur, to))
		return 0;
	*next = to;
	return 1;
}

double desktop_cost_per_day(long long memory_mb, long long cpus, double cost_per_gb_day,
			    double cost_per_cpu_day)
{
	return (double)memory_mb / 1024.0 * cost_per_gb_day + (double)cpus * cost_per_cpu_day;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* The desktop state machine (broker/desktop.c) and placement (broker/placement.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "desktop.h"
#include "placement.h"

#define R DESKTOP_REQUESTED
#define P DESKTOP_PROVISIONING
#define RUN DESKTOP_RUNNING
#define OFF DESKTOP_OFF
#define S DESKTOP_SAVED
#define M DESKTOP_MIGRATING
#define H DESKTOP_HOST_NOT_RESPONDING
#define E DESKTOP_EXPIRED

static void test_names(void **state)
{
	enum desktop_state s, back;

	for (s = 0; s < DESKTOP_STATE_MAX; s++) {
		assert_non_null(desktop_state_name(s));
		assert_int_equal(desktop_state_parse(desktop_state_name(s), &back), 0);
		assert_int_equal(back, s);
	}
	assert_string_equal(desktop_state_name(H), "HostNotResponding");
	assert_null(desktop_state_name(DESKTOP_STATE_MAX));
	assert_int_equal(desktop_state_parse("running", &back), -EINVAL);
	assert_int_equal(desktop_state_parse(NULL, &back), -EINVAL);
}

static void test_transitions(void **state)
{
	/* Every pair the spec (docs/api.md §1) allows, and nothing else. */
	static const struct { enum desktop_state from, to; } ok[] = {
		{ R, P }, { P, RUN }, { P, OFF }, { P, R }, { P, H },
		{ RUN, OFF }, { OFF, RUN }, { RUN, S }, { S, RUN }, { S, OFF },
		{ RUN, M }, { M, RUN },
		{ RUN, H }, { OFF, H }, { S, H }, { M, H },
		{ H, RUN }, { H, OFF }, { H, S },
	};
	enum desktop_state from, to;
	size_t i;

	for (from = 0; from < DESKTOP_STATE_MAX; from++) {
		for (to = 0; to < DESKTOP_STATE_MAX; to++) {
			bool want = to == E && from != E;

			for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
				if (ok[i].from == from && ok[i].to == to)
					want = true;
			if (desktop_transition_allowed(from, to) != want)
				fail_msg("%s -> %s: expected %s", desktop_state_name(from),
					 desktop_state_name(to), want ? "allowed" : "refused");
		}
	}
	/* Some refusals spelled out. */
	assert_false(desktop_transition_allowed(R, RUN));
	assert_false(desktop_transition_allowed(OFF, M));
	assert_false(desktop_transition_allowed(E, RUN));
	assert_false(desktop_transition_allowed(R, H));
	assert_false(desktop_transition_allowed(DESKTOP_STATE_MAX, RUN));
}

static void test_actions(void **state)
{
	assert_int_equal(desktop_action_check(OFF, DESKTOP_START), 0);
	assert_int_equal(desktop_action_check(R, DESKTOP_START), 0);
	assert_int_equal(desktop_action_check(S, DESKTOP_START), 0);
	assert_int_equal(desktop_action_check(RUN, DESKTOP_START), -EALREADY);
	assert_int_equal(desktop_action_check(P, DESKTOP_START), -EBUSY);
	assert_int_equal(desktop_action_check(H, DESKTOP_START), -EBUSY);
	assert_int_equal(desktop_action_check(E, DESKTOP_START), -EINVAL);
	assert_int_equal(desktop_action_check(RUN, DESKTOP_STOP), 0);
	assert_int_equal(desktop_action_check(OFF, DESKTOP_STOP), -EALREADY);
	assert_int_equal(desktop_action_check(M, DESKTOP_STOP), -EBUSY);
	assert_int_equal(desktop_action_check(RUN, DESKTOP_RESTART), 0);
	assert_int_equal(desktop_action_check(OFF, DESKTOP_RESTART), -EBUSY);
	assert_int_equal(desktop_action_check(OFF, DESKTOP_DELETE), 0);
	assert_int_equal(desktop_action_check(E, DESKTOP_DELETE), 0);
	assert_int_equal(desktop_action_check(H, DESKTOP_DELETE), -EBUSY);
	assert_int_equal(desktop_action_check(P, DESKTOP_DELETE), -EBUSY);
}

static void test_reconcile(void **state)
{
	enum desktop_state next = E;

	assert_int_equal(desktop_reconcile(OFF, "running", &next), 1);
	assert_int_equal(next, RUN);
	assert_int_equal(desktop_reconcile(RUN, "off", &next), 1);
	assert_int_equal(next, OFF);
	assert_int_equal(desktop_reconcile(RUN, "crashed", &next), 1);
	assert_int_equal(next, OFF);
	assert_int_equal(desktop_reconcile(RUN, "running", &next), 0);
	/* In between: no change until it settles. */
	assert_int_equal(desktop_reconcile(OFF, "starting", &next), 0);
	assert_int_equal(desktop_reconcile(RUN, "stopping", &next), 0);
	/* Provisioning: only running is news; the job decides the rest. */
	assert_int_equal(desktop_reconcile(P, "off", &next), 0);
	assert_int_equal(desktop_reconcile(P, "running", &next), 1);
	assert_int_equal(next, RUN);
	/* A host back from silence restores what it reports. */
	assert_int_equal(desktop_reconcile(H, "running", &next), 1);
	assert_int_equal(next, RUN);
	assert_int_equal(desktop_reconcile(H, "starting", &next), 1);
	assert_int_equal(next, OFF);
	/* Expired, Requested, Migrating: not the report's to change. */
	assert_int_equal(desktop_reconcile(E, "running", &next), 0);
	assert_int_equal(desktop_reconcile(R, "running", &next), 0);
	assert_int_equal(desktop_reconcile(M, "off", &next), 0);
	assert_int_equal(desktop_reconcile(S, "off", &next), 0);
	/* The host does not list it: kept. */
	assert_int_equal(desktop_reconcile(RUN, NULL, &next), 0);
	assert_int_equal(desktop_reconcile(RUN, "exploded", &next), -EINVAL);
}

static void test_cost(void **state)
{
	/* 256 MiB at 0.50/GB/day + 2 CPUs at 0.25/CPU/day = 0.125 + 0.5 */
	assert_true(desktop_cost_per_day(256, 2, 0.5, 0.25) == 0.625);
	assert_true(desktop_cost_per_day(4096, 4, 1.0, 0.0) == 4.0);
	assert_true(desktop_cost_per_day(0, 0, 3.0, 3.0) == 0.0);
}

static void test_placement(void **state)
{
	struct placement_host h[] = {
		{ .name = "a", .healthy = true, .mem_free_mb = 1000 },
		{ .name = "b", .healthy = true, .mem_free_mb = 4000 },
		{ .name = "c", .healthy = false, .mem_free_mb = 9000 },
		{ .name = "d", .healthy = true, .maintenance = true, .mem_free_mb = 8000 },
		{ .name = "e", .healthy = true, .mem_free_mb = 3000 },
	};

	assert_int_equal(placement_pick(h, 5, 512), 1);
	assert_int_equal(placement_pick(h, 5, 4000), 1);
	assert_int_equal(placement_pick(h, 5, 4001), -ENOSPC);
	assert_int_equal(placement_pick(h, 0, 1), -ENOSPC);
	assert_int_equal(placement_pick(h, 5, 0), -ENOSPC);
	assert_int_equal(placement_pick(h, 5, -5), -ENOSPC);
	/* Only a and e fit 900 without b. */
	h[1].healthy = false;
	assert_int_equal(placement_pick(h, 5, 900), 4);
	assert_int_equal(placement_pick(h, 5, 3001), -ENOSPC);
	/* Ties go to the first name in order, wherever it is listed. */
	h[0].mem_free_mb = 3000;
	assert_int_equal(placement_pick(h, 5, 100), 0);
	{
		struct placement_host t[] = {
			{ .name = "z", .healthy = true, .mem_free_mb = 100 },
			{ .name = "m", .healthy = true, .mem_free_mb = 100 },
		};

		assert_int_equal(placement_pick(t, 2, 100), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_placement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

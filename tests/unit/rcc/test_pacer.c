// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rcc.h"

#define MS 1000000ull

static void test_new_invalid(void **state)
{
	struct rcc_pacer *p = (void *)1;

	assert_int_equal(rcc_pacer_new(0, 2, &p), -EINVAL);
	assert_int_equal(rcc_pacer_new(1001, 2, &p), -EINVAL);
	assert_ptr_equal(p, (void *)1);
	rcc_pacer_free(NULL);
}

static void test_rate(void **state)
{
	struct rcc_pacer *p;
	uint64_t t = 5000 * MS;
	/* 25 fps with the pacer's 2 % of headroom. */
	const uint64_t I = 40 * MS - 40 * MS / 50;

	assert_int_equal(rcc_pacer_new(25, 0, &p), 0);
	assert_int_equal(rcc_pacer_wait(p, t), 0);
	rcc_pacer_sent(p, 1, t);
	assert_int_equal(rcc_pacer_wait(p, t), I);
	assert_int_equal(rcc_pacer_wait(p, t + 30 * MS), I - 30 * MS);
	assert_int_equal(rcc_pacer_wait(p, t + 40 * MS), 0);
	/* A frame that comes late leaves credit: the next one, a little
	 * early, need not wait for a tick of its own. */
	rcc_pacer_sent(p, 2, t + 45 * MS);
	assert_int_equal(rcc_pacer_wait(p, t + 80 * MS), 0);
	rcc_pacer_sent(p, 3, t + 80 * MS);
	/* ...and that credit is spent: the next waits for the rest of its
	 * interval. */
	assert_int_equal(rcc_pacer_wait(p, t + 110 * MS), 3 * I - 110 * MS);
	/* After an idle spell at most two frames go early, half an interval
	 * apart; then the target rate holds. */
	t += 1000 * MS;
	assert_int_equal(rcc_pacer_wait(p, t), 0);
	rcc_pacer_sent(p, 4, t);
	assert_int_equal(rcc_pacer_wait(p, t), I / 2);
	rcc_pacer_sent(p, 5, t + 20 * MS);
	/* The spacing (half an interval) is what holds it now. */
	assert_int_equal(rcc_pacer_wait(p, t + 20 * MS), I / 2);
	t += 20 * MS;
	/* No limit on unacked frames. */
	for (uint32_t id = 6; id < 1000; id++)
		rcc_pacer_sent(p, id, t += 40 * MS);
	assert_int_equal(rcc_pacer_unacked(p), 999);
	assert_int_equal(rcc_pacer_wait(p, t + 40 * MS), 0);
	rcc_pacer_free(p);
}

static void test_window(void **state)
{
	struct rcc_pacer *p;
	uint64_t t = 0;

	assert_int_equal(rcc_pacer_new(1000, 3, &p), 0);
	assert_int_equal(rcc_pacer_unacked(p), 0);
	for (uint32_t id = 10; id < 13; id++) {
		assert_int_equal(rcc_pacer_wait(p, t), 0);
		rcc_pacer_sent(p, id, t);
		t += 10 * MS;
	}
	assert_int_equal(rcc_pacer_unacked(p), 3);
	assert_true(rcc_pacer_wait(p, t) == UINT64_MAX);

	/* Hostile or stale acks change nothing. */
	rcc_pacer_acked(p, 13, t);	   /* not sent yet */
	rcc_pacer_acked(p, 9, t);	   /* before the first frame */
	rcc_pacer_acked(p, 0x80000000, t); /* far away */
	assert_int_equal(rcc_pacer_unacked(p), 3);
	assert_int_equal(rcc_pacer_rtt_ns(p), 0);

	/* Ack 11: 10 goes with it. */
	rcc_pacer_acked(p, 11, t);
	assert_int_equal(rcc_pacer_unacked(p), 1);
	assert_int_equal(rcc_pacer_wait(p, t), 0);
	assert_int_equal(rcc_pacer_rtt_ns(p), 20 * MS);
	rcc_pacer_acked(p, 10, t); /* older than the last ack */
	assert_int_equal(rcc_pacer_unacked(p), 1);

	/* The client suspends acks: lift the limit. */
	rcc_pacer_sent(p, 13, t);
	rcc_pacer_sent(p, 14, t + MS);
	assert_true(rcc_pacer_wait(p, t + 2 * MS) == UINT64_MAX);
	rcc_pacer_set_max_unacked(p, 0);
	assert_int_equal(rcc_pacer_wait(p, t + 2 * MS), 0);

	rcc_pacer_reset(p);
	assert_int_equal(rcc_pacer_unacked(p), 0);
	assert_int_equal(rcc_pacer_rtt_ns(p), 0);
	assert_int_equal(rcc_pacer_wait(p, t), 0);
	rcc_pacer_free(p);
}

static void test_wrap(void **state)
{
	struct rcc_pacer *p;
	uint32_t id = UINT32_MAX - 2;
	uint64_t t = 0;

	assert_int_equal(rcc_pacer_new(60, 4, &p), 0);
	for (int i = 0; i < 4; i++)
		rcc_pacer_sent(p, id + (uint32_t)i, t += 17 * MS); /* ..fd fe ff 00 */
	assert_int_equal(rcc_pacer_unacked(p), 4);
	assert_true(rcc_pacer_wait(p, t + 17 * MS) == UINT64_MAX);
	rcc_pacer_acked(p, UINT32_MAX, t + 30 * MS);
	assert_int_equal(rcc_pacer_unacked(p), 1);
	rcc_pacer_sent(p, 1, t += 17 * MS);
	rcc_pacer_acked(p, 1, t + 5 * MS);
	assert_int_equal(rcc_pacer_unacked(p), 0);
	/* srtt: 0xffffffff took 98 - 51 = 47 ms, then 7/8 * 47 + 1/8 * 5. */
	assert_int_equal(rcc_pacer_rtt_ns(p), 47 * MS - 47 * MS / 8 + 5 * MS / 8);
	rcc_pacer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

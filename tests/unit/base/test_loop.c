// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "util.h"

#define MS (UINT64_C(1000000))

static int setup(void **state)
{
	struct loop *l;

	assert_int_equal(loop_new(&l), 0);
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	loop_free(*state);
	return 0;
}

struct fd_ctx {
	int fd;
	uint32_t events;
	int calls;
};

static void on_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct fd_ctx *ctx = data;
	char c;

	assert_true(loop_on_thread(l));
	ctx->fd = fd;
	ctx->events = events;
	ctx->calls++;
	assert_int_equal(read(fd, &c, 1), 1);
	loop_quit(l, 42);
}

static void test_fd(void **state)
{
	struct loop *l = *state;
	struct fd_ctx ctx = {};
	struct loop_source *s;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_readable, &ctx, &s), 0);
	/* Nothing to read: the loop sleeps until the timeout. */
	assert_int_equal(loop_run_once(l, 0), 0);
	assert_int_equal(ctx.calls, 0);

	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 42);
	assert_int_equal(ctx.calls, 1);
	assert_int_equal(ctx.fd, p[0]);
	assert_true(ctx.events & EPOLLIN);

	/* Watching nothing: the byte stays unread and no call comes. */
	assert_int_equal(loop_source_set_events(s, 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(loop_run_once(l, 0), 0);
	assert_int_equal(ctx.calls, 1);
	assert_int_equal(loop_source_set_events(s, EPOLLIN), 0);
	assert_int_equal(loop_run(l), 42);
	assert_int_equal(ctx.calls, 2);

	loop_source_remove(s);
	close(p[0]);
	close(p[1]);
}

static void on_noop_timer(struct loop *l, void *data)
{
}

static void test_bad_args(void **state)
{
	struct loop *l = *state;
	struct loop_source *s = (void *)0x1, *t;
	int p[2];

	assert_int_equal(loop_add_fd(l, -1, EPOLLIN, on_readable, NULL, &s), -EINVAL);
	assert_int_equal(loop_add_fd(l, 1000000, EPOLLIN, on_readable, NULL, &s), -EBADF);
	assert_ptr_equal(s, (void *)0x1);
	assert_int_equal(loop_add_timer(l, MS, 0, on_noop_timer, NULL, &t), 0);
	assert_int_equal(loop_source_set_events(t, EPOLLIN), -EINVAL);
	loop_source_remove(t);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_readable, NULL, &s), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_readable, NULL, &t), -EEXIST);
	assert_int_equal(loop_timer_set(s, MS, 0), -EINVAL);
	loop_source_remove(s);
	close(p[0]);
	close(p[1]);
	loop_source_remove(NULL);
	loop_free(NULL);
}

struct timer_ctx {
	int calls;
	int quit_after;
	struct loop_source *s;
};

static void on_timer(struct loop *l, void *data)
{
	struct timer_ctx *ctx = data;

	if (++ctx->calls == ctx->quit_after)
		loop_quit(l, ctx->calls);
}

static void test_timer_oneshot(void **state)
{
	struct loop *l = *state;
	struct timer_ctx ctx = { .quit_after = 1 };
	struct loop_source *s;

	assert_int_equal(loop_add_timer(l, 1 * MS, 0, on_timer, &ctx, &s), 0);
	assert_int_equal(loop_run(l), 1);
	/* Disarmed now: a short wait brings nothing. */
	assert_int_equal(loop_run_once(l, 5), 0);
	assert_int_equal(ctx.calls, 1);

	/* Re-arm, firing at once. */
	ctx.quit_after = 2;
	assert_int_equal(loop_timer_set(s, 0, 0), 0);
	assert_int_equal(loop_run(l), 2);
	loop_source_remove(s);
}

static void test_timer_periodic(void **state)
{
	struct loop *l = *state;
	struct timer_ctx ctx = { .quit_after = 3 };
	struct loop_source *s;

	assert_int_equal(loop_add_timer(l, 0, 1 * MS, on_timer, &ctx, &s), 0);
	assert_int_equal(loop_run(l), 3);
	assert_int_equal(ctx.calls, 3);
	loop_source_remove(s);
}

static void test_timer_off(void **state)
{
	struct loop *l = *state;
	struct timer_ctx off = {}, on = { .quit_after = 1 };
	struct loop_source *s;

	assert_int_equal(loop_add_timer(l, 1 * MS, 1 * MS, on_timer, &off, &s), 0);
	assert_int_equal(loop_timer_set(s, LOOP_TIMER_OFF, 0), 0);
	/* Left on the loop: loop_free() cleans it up. */
	assert_int_equal(loop_add_timer(l, 20 * MS, 0, on_timer, &on, NULL), 0);
	assert_int_equal(loop_run(l), 1);
	assert_int_equal(off.calls, 0);
}

#define N_TASKS 1000

struct post_ctx {
	struct loop *l;
	int seen[N_TASKS];
	int n;
	bool off_thread;
	bool all_on_thread;
};

static struct post_ctx *post_ctx;

static void task(void *arg)
{
	post_ctx->seen[post_ctx->n++] = (int)(intptr_t)arg;
	if (!loop_on_thread(post_ctx->l))
		post_ctx->all_on_thread = false;
	if (post_ctx->n == N_TASKS)
		loop_quit(post_ctx->l, 0);
}

static void *poster(void *arg)
{
	struct post_ctx *ctx = arg;

	ctx->off_thread = !loop_on_thread(ctx->l);
	for (int i = 0; i < N_TASKS; i++)
		assert_int_equal(loop_post(ctx->l, task, (void *)(intptr_t)i), 0);
	return NULL;
}

static void test_post_fifo(void **state)
{
	struct post_ctx ctx = { .l = *state, .all_on_thread = true };
	pthread_t t;

	post_ctx = &ctx;
	assert_int_equal(pthread_create(&t, NULL, poster, &ctx), 0);
	assert_int_equal(loop_run(ctx.l), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ctx.n, N_TASKS);
	for (int i = 0; i < N_TASKS; i++)
		assert_int_equal(ctx.seen[i], i);
	assert_true(ctx.off_thread);
	assert_true(ctx.all_on_thread);
}

static void test_post_unrun_freed(void **state)
{
	struct loop *l;

	/* Tasks still queued are dropped by loop_free() (leak-checked). */
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_post(l, task, NULL), 0);
	loop_free(l);
}

struct quit_ctx {
	struct loop *l;
	int running;
};

static void on_started(struct loop *l, void *data)
{
	struct quit_ctx *ctx = data;

	__atomic_store_n(&ctx->running, 1, __ATOMIC_SEQ_CST);
}

static void *quitter(void *arg)
{
	struct quit_ctx *ctx = arg;

	/* Quit only once the loop sleeps with nothing else to wake it. */
	while (!__atomic_load_n(&ctx->running, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(10000);
	loop_quit(ctx->l, 7);
	return NULL;
}

static void test_quit_from_thread(void **state)
{
	struct quit_ctx ctx = { .l = *state };
	pthread_t t;

	assert_int_equal(loop_add_timer(ctx.l, 0, 0, on_started, &ctx, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, quitter, &ctx), 0);
	assert_int_equal(loop_run(ctx.l), 7);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_quit_before_run(void **state)
{
	struct loop *l = *state;

	loop_quit(l, 3);
	loop_quit(l, 4); /* the first code wins */
	assert_int_equal(loop_run(l), 3);
	/* The quit is used up: the loop runs again until the next one. */
	loop_quit(l, 5);
	assert_int_equal(loop_run(l), 5);
}

struct remove_ctx {
	struct loop_source *src[2];
	int pipes[2][2];
	int calls;
};

static void on_remove_both(struct loop *l, int fd, uint32_t events, void *data)
{
	struct remove_ctx *ctx = data;

	/* Both fds are ready in the same batch: the other source must not be
	 * called, nor its memory touched after free (ASan). */
	ctx->calls++;
	loop_source_remove(ctx->src[0]);
	loop_source_remove(ctx->src[1]);
	loop_quit(l, 0);
}

static void test_remove_in_callback(void **state)
{
	struct loop *l = *state;
	struct remove_ctx ctx = {};

	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe2(ctx.pipes[i], O_CLOEXEC), 0);
		assert_int_equal(write(ctx.pipes[i][1], "x", 1), 1);
		assert_int_equal(loop_add_fd(l, ctx.pipes[i][0], EPOLLIN, on_remove_both, &ctx,
					     &ctx.src[i]), 0);
	}
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(ctx.calls, 1);
	/* Still readable, but no longer watched. */
	assert_int_equal(loop_run_once(l, 0), 0);
	assert_int_equal(ctx.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(ctx.pipes[i][0]);
		close(ctx.pipes[i][1]);
	}
}

static void on_timer_remove_self(struct loop *l, void *data)
{
	struct timer_ctx *ctx = data;

	ctx->calls++;
	loop_source_remove(ctx->s);
	loop_quit(l, 0);
}

static void test_timer_remove_self(void **state)
{
	struct loop *l = *state;
	struct timer_ctx ctx = {};

	assert_int_equal(loop_add_timer(l, 0, 1 * MS, on_timer_remove_self, &ctx, &ctx.s), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(loop_run_once(l, 5), 0);
	assert_int_equal(ctx.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_oneshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_fifo, setup, teardown),
		cmocka_unit_test(test_post_unrun_freed),
		cmocka_unit_test_setup_teardown(test_quit_from_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_before_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_remove_self, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

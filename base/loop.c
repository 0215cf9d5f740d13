// SPDX-License-Identifier: GPL-3.0-or-later
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

#define LOOP_MAX_EVENTS 32

enum loop_source_type {
	LOOP_SOURCE_FD,
	LOOP_SOURCE_TIMER,
	LOOP_SOURCE_TASKS,
};

struct loop_source {
	struct loop *loop;
	enum loop_source_type type;
	int fd;
	loop_fd_fn fd_fn;
	loop_timer_fn timer_fn;
	void *data;
	bool removed;
	/* On loop->sources while live, on loop->dead (next only) once removed. */
	struct loop_source *prev, *next;
};

struct loop_task {
	struct loop_task *next;
	loop_task_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	int evfd;
	struct loop_source task_source;
	struct loop_source *sources;
	struct loop_source *dead;
	/* Nonzero while dispatching; counts nested loop_run_once() calls. */
	unsigned dispatching;
	/* Written by the loop thread, read by any thread in loop_on_thread(). */
	pthread_t owner;

	pthread_mutex_t lock; /* guards everything below */
	struct loop_task *tasks;
	struct loop_task **tasks_tail;
	bool quit;
	int quit_code;
};

static void loop_wake(struct loop *l)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already nonzero: the loop will wake. */
	(void)!write(l->evfd, &one, sizeof(one));
}

int loop_new(struct loop **ret)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct loop *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = -1;
	l->evfd = -1;
	l->tasks_tail = &l->tasks;
	l->owner = pthread_self();
	l->task_source.loop = l;
	l->task_source.type = LOOP_SOURCE_TASKS;
	r = -pthread_mutex_init(&l->lock, NULL);
	if (r < 0) {
		free(l);
		return r;
	}

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail_errno;
	l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->evfd < 0)
		goto fail_errno;
	l->task_source.fd = l->evfd;
	ev.data.ptr = &l->task_source;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0)
		goto fail_errno;

	*ret = l;
	return 0;

fail_errno:
	r = -errno;
	loop_free(l);
	return r;
}

static void loop_source_free(struct loop_source *s)
{
	if (s->type == LOOP_SOURCE_TIMER)
		close_nointr(s->fd);
	free(s);
}

static void loop_free_dead(struct loop *l)
{
	while (l->dead) {
		struct loop_source *s = l->dead;

		l->dead = s->next;
		free(s);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;

	while (l->sources) {
		struct loop_source *s = l->sources;

		l->sources = s->next;
		loop_source_free(s);
	}
	loop_free_dead(l);
	while (l->tasks) {
		struct loop_task *t = l->tasks;

		l->tasks = t->next;
		free(t);
	}
	close_nointr(l->evfd);
	close_nointr(l->epfd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int loop_add_source(struct loop *l, int fd, uint32_t events, enum loop_source_type type,
			   void *data, struct loop_source **ret)
{
	struct epoll_event ev = { .events = events };
	struct loop_source *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = l;
	s->type = type;
	s->fd = fd;
	s->data = data;
	ev.data.ptr = s;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		free(s);
		return r;
	}

	s->next = l->sources;
	if (l->sources)
		l->sources->prev = s;
	l->sources = s;
	*ret = s;
	return 0;
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data,
		struct loop_source **ret)
{
	struct loop_source *s;
	int r;

	if (!l || fd < 0 || !fn)
		return -EINVAL;
	r = loop_add_source(l, fd, events, LOOP_SOURCE_FD, data, &s);
	if (r < 0)
		return r;
	s->fd_fn = fn;
	if (ret)
		*ret = s;
	return 0;
}

int loop_source_set_events(struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (!s || s->removed || s->type != LOOP_SOURCE_FD)
		return -EINVAL;
	if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_source_remove(struct loop_source *s)
{
	struct loop *l;

	if (!s || s->removed)
		return;
	l = s->loop;

	/* The fd may already be closed by a careless caller; nothing to undo. */
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (s->type == LOOP_SOURCE_TIMER) {
		close_nointr(s->fd);
		s->fd = -1;
	}

	if (s->prev)
		s->prev->next = s->next;
	else
		l->sources = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = NULL;
	s->removed = true;

	/* The current epoll batch may still point at s: free it afterwards. */
	if (l->dispatching) {
		s->next = l->dead;
		l->dead = s;
	} else {
		free(s);
	}
}

static int loop_timer_arm(int fd, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = {};

	if (first_ns != LOOP_TIMER_OFF) {
		/* A zero it_value would disarm the timer. */
		first_ns = MAX(first_ns, 1);
		its.it_value.tv_sec = first_ns / 1000000000u;
		its.it_value.tv_nsec = first_ns % 1000000000u;
		its.it_interval.tv_sec = period_ns / 1000000000u;
		its.it_interval.tv_nsec = period_ns % 1000000000u;
	}
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int loop_add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns, loop_timer_fn fn,
		   void *data, struct loop_source **ret)
{
	_cleanup_close_ int fd = -1;
	struct loop_source *s;
	int r;

	if (!l || !fn)
		return -EINVAL;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = loop_timer_arm(fd, first_ns, period_ns);
	if (r < 0)
		return r;
	r = loop_add_source(l, fd, EPOLLIN, LOOP_SOURCE_TIMER, data, &s);
	if (r < 0)
		return r;
	s->timer_fn = fn;
	TAKE_FD(fd);
	if (ret)
		*ret = s;
	return 0;
}

int loop_timer_set(struct loop_source *s, uint64_t first_ns, uint64_t period_ns)
{
	if (!s || s->removed || s->type != LOOP_SOURCE_TIMER)
		return -EINVAL;
	return loop_timer_arm(s->fd, first_ns, period_ns);
}

int loop_post(struct loop *l, loop_task_fn fn, void *arg)
{
	struct loop_task *t;

	if (!l || !fn)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;

	pthread_mutex_lock(&l->lock);
	*l->tasks_tail = t;
	l->tasks_tail = &t->next;
	pthread_mutex_unlock(&l->lock);
	loop_wake(l);
	return 0;
}

bool loop_on_thread(const struct loop *l)
{
	pthread_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);

	return pthread_equal(owner, pthread_self());
}

void loop_quit(struct loop *l, int code)
{
	pthread_mutex_lock(&l->lock);
	if (!l->quit) {
		l->quit = true;
		l->quit_code = code;
	}
	pthread_mutex_unlock(&l->lock);
	loop_wake(l);
}

/* Returns whether any task ran (a loop_quit() wakeup runs none). */
static bool loop_run_tasks(struct loop *l)
{
	struct loop_task *list;
	uint64_t cnt;

	/* Reset the eventfd before taking the list so no wakeup is lost. */
	(void)!read(l->evfd, &cnt, sizeof(cnt));

	pthread_mutex_lock(&l->lock);
	list = l->tasks;
	l->tasks = NULL;
	l->tasks_tail = &l->tasks;
	pthread_mutex_unlock(&l->lock);

	if (!list)
		return false;
	while (list) {
		struct loop_task *t = list;

		list = t->next;
		t->fn(t->arg);
		free(t);
	}
	return true;
}

static bool loop_dispatch_timer(struct loop *l, struct loop_source *s)
{
	uint64_t expirations;

	/* EAGAIN: re-armed by an earlier callback in this batch. */
	if (read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return false;
	s->timer_fn(l, s->data);
	return true;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n, dispatched = 0;

	__atomic_store_n(&l->owner, pthread_self(), __ATOMIC_RELAXED);

	n = epoll_wait(l->epfd, evs, ARRAY_SIZE(evs), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;

	l->dispatching++;
	for (int i = 0; i < n; i++) {
		struct loop_source *s = evs[i].data.ptr;

		if (s->removed)
			continue;
		switch (s->type) {
		case LOOP_SOURCE_FD:
			s->fd_fn(l, s->fd, evs[i].events, s->data);
			dispatched++;
			break;
		case LOOP_SOURCE_TIMER:
			dispatched += loop_dispatch_timer(l, s);
			break;
		case LOOP_SOURCE_TASKS:
			dispatched += loop_run_tasks(l);
			break;
		}
	}
	if (--l->dispatching == 0)
		loop_free_dead(l);
	return dispatched;
}

int loop_run(struct loop *l)
{
	for (;;) {
		int r;

		pthread_mutex_lock(&l->lock);
		if (l->quit) {
			l->quit = false;
			r = l->quit_code;
			pthread_mutex_unlock(&l->lock);
			return r;
		}
		pthread_mutex_unlock(&l->lock);

		r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
}

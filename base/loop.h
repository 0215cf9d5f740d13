/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A single-threaded epoll event loop (ARCHITECTURE.md §4): one thread runs
 * loop_run() and owns the loop's state; other threads only call loop_post()
 * and loop_quit().  Everything else must be called on the loop thread.
 *
 * Sources are fds (level-triggered, the events are EPOLLIN/EPOLLOUT/...) and
 * CLOCK_MONOTONIC timers.  A source may be removed at any time on the loop
 * thread, including from its own or another source's callback: it is then
 * never called again, and its memory is freed after the current dispatch
 * batch.
 */

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_source;

/* fd and events as given to loop_add_fd(); events are epoll's revents. */
typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *data);
typedef void (*loop_timer_fn)(struct loop *l, void *data);
typedef void (*loop_task_fn)(void *arg);

/* loop_timer_set(s, LOOP_TIMER_OFF, 0) disarms a timer. */
#define LOOP_TIMER_OFF UINT64_MAX

int loop_new(struct loop **ret);
/* Frees the loop and every source still on it (closing timer fds, never fds
 * given to loop_add_fd).  Tasks still queued are dropped without running.
 * Not to be called from inside a callback.  Accepts NULL. */
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT, ...).  The caller keeps owning fd
 * and must remove the source before closing it.  ret may be NULL when the
 * source lives as long as the loop. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data,
		struct loop_source **ret);
/* Change the events of an fd source; -EINVAL for a timer. */
int loop_source_set_events(struct loop_source *s, uint32_t events);
/* Remove and (after the current dispatch batch) free a source.  s is invalid
 * afterwards.  Accepts NULL. */
void loop_source_remove(struct loop_source *s);

/* A timer firing first after first_ns (relative, 0 = as soon as possible),
 * then every period_ns (0 = one-shot).  Expirations missed while the loop was
 * busy are coalesced into one call.  A one-shot timer stays on the loop,
 * disarmed, until removed; loop_timer_set() re-arms it. */
int loop_add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns, loop_timer_fn fn,
		   void *data, struct loop_source **ret);
/* Re-arm (or with first_ns == LOOP_TIMER_OFF disarm) a timer; -EINVAL for an
 * fd source. */
int loop_timer_set(struct loop_source *s, uint64_t first_ns, uint64_t period_ns);

/* Thread-safe: run fn(arg) on the loop thread, in FIFO order with other
 * posted tasks.  -ENOMEM is the only failure. */
int loop_post(struct loop *l, loop_task_fn fn, void *arg);
/* Whether the caller is the loop's thread: the one that last entered
 * loop_run()/loop_run_once(), or the creator before the loop first ran. */
bool loop_on_thread(const struct loop *l);

/* Run until loop_quit(); returns its code, or -errno if epoll fails. */
int loop_run(struct loop *l);
/* Thread-safe: make loop_run() return code once the current dispatch batch is
 * done.  The first call's code wins until loop_run() returns; a call made
 * before loop_run() makes it return at once. */
void loop_quit(struct loop *l, int code);
/* Wait up to timeout_ms (-1 = forever) and dispatch one batch of events.
 * Returns the number of callbacks made (a batch of posted tasks counts as
 * one), or -errno. */
int loop_run_once(struct loop *l, int timeout_ms);

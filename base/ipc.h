/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * JSON-lines IPC over UNIX stream sockets.  A message is one JSON object
 * serialized on one line ending in "\n"; up to IPC_MAX_FDS file descriptors
 * may travel with a message (SCM_RIGHTS, sent with its first byte).
 *
 * The peer is not trusted: lines are bounded by IPC_MAX_LINE, nesting by
 * IPC_MAX_DEPTH, and received fds by IPC_MAX_FDS per message.
 */

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct ipc_conn;

/* Longest line, not counting its "\n" (a trailing "\r" counts). */
#define IPC_MAX_LINE (64 * 1024)
#define IPC_MAX_FDS 8
/* Deepest nesting of values: the top-level object is depth 1, the values of
 * its members depth 2, and so on. */
#define IPC_MAX_DEPTH 16
/* ipc_send() gives up when the peer takes nothing for this long. */
#define IPC_SEND_TIMEOUT_MS 5000

/*
 * Parse one line (without its "\n"; one trailing "\r" is tolerated) into a
 * new JSON object, *ret owned by the caller (json_object_put()).  Pure.
 *   -EMSGSIZE  len > IPC_MAX_LINE
 *   -EBADMSG   not JSON: syntax error, embedded NUL, truncated, trailing
 *              garbage, invalid UTF-8, nesting deeper than IPC_MAX_DEPTH
 *   -EINVAL    well-formed JSON whose top level is not an object
 */
int ipc_parse_line(const char *buf, size_t len, struct json_object **ret);

/* Listen on path: a stale socket there is replaced (-EADDRINUSE if one is
 * still served, -EEXIST if path is something else), the socket file gets
 * mode 0600.  *ret_fd is nonblocking, close-on-exec. */
int ipc_listen(const char *path, int *ret_fd);
/* Connect to path; *ret_fd is blocking, close-on-exec. */
int ipc_connect(const char *path, int *ret_fd);
/* Accept one connection: *ret_fd is nonblocking, close-on-exec.  -EAGAIN
 * when none is pending. */
int ipc_accept(int listen_fd, int *ret_fd);

/*
 * Send msg (a JSON object) as one line with nfds <= IPC_MAX_FDS fds, which
 * stay the caller's (the peer gets duplicates).  Works on blocking and
 * nonblocking sockets: waits in poll() while the socket is full, up to
 * IPC_SEND_TIMEOUT_MS without progress (-ETIMEDOUT).  On any error after
 * part of the line went out the stream is broken: close it.
 *   -EINVAL not an object or too many fds; -EMSGSIZE line too long;
 *   -EPIPE / -ECONNRESET peer gone.
 * json-c serializes into msg itself: msg must not be in use by another thread.
 */
int ipc_send(int fd, struct json_object *msg, const int *fds, size_t nfds);

/*
 * Called for each line received.  msg is the parsed object (borrowed: take
 * a json_object_get() to keep it) or NULL for a bad line, with err the
 * ipc_parse_line() error, -EMSGSIZE for an overlong line, or -EBADMSG for an
 * unterminated last line at EOF.
 *
 * fds[0..nfds) are the fds that came with the line (close-on-exec).  They
 * are closed after fn returns; to keep one, store it and set fds[i] = -1.
 * fn must not free c.
 */
typedef void (*ipc_line_fn)(struct ipc_conn *c, struct json_object *msg, int err, int *fds,
			    size_t nfds, void *data);

/* A buffered reader for one connection.  Takes ownership of fd (which
 * should be nonblocking) on success only. */
int ipc_conn_new(int fd, struct ipc_conn **ret);
/* Closes the fd and any fds received but not yet handed out.  Accepts NULL. */
void ipc_conn_free(struct ipc_conn *c);
int ipc_conn_fd(const struct ipc_conn *c);

/*
 * Read what the socket has (a bounded number of recvmsg() calls, so one
 * chatty peer cannot starve a level-triggered loop) and call fn for each
 * complete line, in order.  An overlong line is reported once with
 * -EMSGSIZE and skipped up to its "\n".
 * Returns 0 while the connection is open, 1 at EOF (after the last line was
 * delivered), or -errno (e.g. -ECONNRESET) on a socket error.
 */
int ipc_conn_read(struct ipc_conn *c, ipc_line_fn fn, void *data);

/*
 * Blocking client helper: read exactly one line from fd (nothing past its
 * "\n" is consumed, so calls may alternate with ipc_send()) and parse it.
 * Any fds that come with it are closed: use ipc_conn to receive fds.
 * timeout_ms < 0 waits forever.
 *   ipc_parse_line() errors (the line is consumed); -EMSGSIZE (the stream is
 *   left inside the overlong line: close it); -ETIMEDOUT; -ECONNRESET when
 *   the peer closed before a whole line came.
 */
int ipc_recv_line(int fd, struct json_object **ret, int timeout_ms);

// SPDX-License-Identifier: GPL-3.0-or-later
#include "ipc.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

/* Room for a longest line plus its "\n". */
#define IPC_BUF_MAX (IPC_MAX_LINE + 1)
#define IPC_BUF_MIN 4096
/* recvmsg() calls per ipc_conn_read(); the loop calls again if more is left. */
#define IPC_READ_BUDGET 16

union ipc_cmsg_buf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
};

static bool ipc_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ipc_parse_line(const char *buf, size_t len, struct json_object **ret)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end = len;
	int flags = JSON_TOKENER_STRICT;

	if (!buf && len)
		return -EINVAL;
	if (len > IPC_MAX_LINE)
		return -EMSGSIZE;
	if (len && buf[len - 1] == '\r')
		len--;
	/* json-c would stop at a NUL and ignore the rest. */
	if (len && memchr(buf, '\0', len))
		return -EBADMSG;

	/* json-c counts depth as IPC_MAX_DEPTH does. */
	tok = json_tokener_new_ex(IPC_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
#ifdef JSON_TOKENER_VALIDATE_UTF8
	flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
	json_tokener_set_flags(tok, flags);

	obj = json_tokener_parse_ex(tok, buf ? buf : "", len);
	jerr = json_tokener_get_error(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* All input used but unfinished: a top-level scalar such as "1"
		 * ends only at a delimiter, anything else is truncated. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
	} else if (jerr == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
	}
	json_tokener_free(tok);

	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return -EBADMSG;
	}
	for (; end < len; end++) {
		if (!ipc_is_ws(buf[end])) {
			json_object_put(obj);
			return -EBADMSG;
		}
	}
	/* obj is NULL for the literal "null". */
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EINVAL;
	}
	*ret = obj;
	return 0;
}

static int ipc_sockaddr(const char *path, struct sockaddr_un *sa)
{
	size_t n;

	if (!path || !*path)
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* Is someone accepting on the socket at sa? */
static bool ipc_socket_alive(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = -1;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return true;
	/* A full backlog still means a live listener. */
	return errno == EAGAIN;
}

int ipc_listen(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	struct stat st;
	int r;

	r = ipc_sockaddr(path, &sa);
	if (r < 0)
		return r;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (ipc_socket_alive(&sa))
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* Before listen(): until then nobody can connect, whatever the umask. */
	if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlink(path);
		return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Wait for events on fd until deadline (now_ns() time, UINT64_MAX = never).
 * 0 when fd is ready or poll was interrupted: the caller retries its I/O. */
static int ipc_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int timeout = -1;
	int n;

	if (deadline != UINT64_MAX) {
		uint64_t now = now_ns();

		if (now >= deadline)
			return -ETIMEDOUT;
		/* Round up so we never wake just before the deadline. */
		timeout = (int)MIN((deadline - now + 999999) / 1000000, (uint64_t)INT32_MAX);
	}
	n = poll(&pfd, 1, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return 0;
}

int ipc_connect(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	int r;

	r = ipc_sockaddr(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t elen = sizeof(err);

		if (errno != EINTR)
			return -errno;
		/* An interrupted connect() completes in the background. */
		while (poll(&pfd, 1, -1) < 0)
			if (errno != EINTR)
				return -errno;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			return -errno;
		if (err)
			return -err;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int ipc_accept(int listen_fd, int *ret_fd)
{
	int fd;

	do {
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int ipc_send(int fd, struct json_object *msg, const int *fds, size_t nfds)
{
	union ipc_cmsg_buf cbuf;
	const char *s;
	size_t slen, total, sent = 0;
	uint64_t deadline;

	if (fd < 0 || !json_object_is_type(msg, json_type_object) || nfds > IPC_MAX_FDS ||
	    (nfds && !fds))
		return -EINVAL;
	s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE,
					      &slen);
	if (!s)
		return -ENOMEM;
	if (slen > IPC_MAX_LINE)
		return -EMSGSIZE;
	total = slen + 1;

	deadline = now_ns() + (uint64_t)IPC_SEND_TIMEOUT_MS * 1000000;
	while (sent < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		if (sent < slen) {
			iov[0] = (struct iovec){ (void *)(s + sent), slen - sent };
			iov[1] = (struct iovec){ "\n", 1 };
			mh.msg_iovlen = 2;
		} else {
			iov[0] = (struct iovec){ "\n", 1 };
			mh.msg_iovlen = 1;
		}
		/* The fds travel with the line's first byte. */
		if (sent == 0 && nfds) {
			struct cmsghdr *cm;

			memset(&cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}

		/* MSG_DONTWAIT so a blocking socket also obeys the timeout. */
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			r = ipc_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		sent += (size_t)n;
		deadline = now_ns() + (uint64_t)IPC_SEND_TIMEOUT_MS * 1000000;
	}
	return 0;
}

struct ipc_conn {
	int fd;
	char *buf;
	size_t len, cap;
	/* Skipping the rest of an overlong line, up to its "\n". */
	bool discarding;
	/* fds received with the (incomplete) line at buf[0]. */
	int fds[IPC_MAX_FDS];
	size_t nfds;
};

static void ipc_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		close_nointr(fds[i]);
		fds[i] = -1;
	}
}

/* Append src to dst, closing what does not fit: a peer may attach fds to
 * several pieces of one line, but a line keeps at most IPC_MAX_FDS. */
static void ipc_merge_fds(int *dst, size_t *ndst, int *src, size_t nsrc)
{
	for (size_t i = 0; i < nsrc; i++) {
		if (*ndst < IPC_MAX_FDS)
			dst[(*ndst)++] = src[i];
		else
			close_nointr(src[i]);
		src[i] = -1;
	}
}

int ipc_conn_new(int fd, struct ipc_conn **ret)
{
	struct ipc_conn *c;

	if (fd < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	*ret = c;
	return 0;
}

void ipc_conn_free(struct ipc_conn *c)
{
	if (!c)
		return;
	ipc_close_fds(c->fds, c->nfds);
	close_nointr(c->fd);
	free(c->buf);
	free(c);
}

int ipc_conn_fd(const struct ipc_conn *c)
{
	return c->fd;
}

static void ipc_deliver(struct ipc_conn *c, const char *line, size_t len, int err, int *fds,
			size_t nfds, ipc_line_fn fn, void *data)
{
	struct json_object *msg = NULL;

	if (!err)
		err = ipc_parse_line(line, len, &msg);
	fn(c, msg, err, fds, nfds, data);
	json_object_put(msg);
	for (size_t i = 0; i < nfds; i++)
		close_nointr(fds[i]);
}

/*
 * The n bytes just read sit at buf[len..len + n) and came with bfds.  The
 * kernel ends a read right after the data that carried fds, and ipc_send()
 * attaches them to a line's first byte: so bfds belong to the line holding
 * the last byte read.  Likewise c->fds belong to the line at buf[0].
 */
static void ipc_conn_lines(struct ipc_conn *c, size_t n, int *bfds, size_t bn, ipc_line_fn fn,
			   void *data)
{
	size_t end = c->len + n, last = end - 1, start = 0, scan = c->len;
	char *nl;

	c->len = end;
	while ((nl = memchr(c->buf + scan, '\n', end - scan))) {
		size_t e = (size_t)(nl - c->buf);
		int lfds[IPC_MAX_FDS];
		size_t ln = 0;

		if (start == 0) {
			ipc_merge_fds(lfds, &ln, c->fds, c->nfds);
			c->nfds = 0;
		}
		if (bn && e == last) {
			ipc_merge_fds(lfds, &ln, bfds, bn);
			bn = 0;
		}
		if (c->discarding) {
			c->discarding = false;
			ipc_close_fds(lfds, ln);
		} else {
			ipc_deliver(c, c->buf + start, e - start, 0, lfds, ln, fn, data);
		}
		start = scan = e + 1;
	}

	ipc_merge_fds(c->fds, &c->nfds, bfds, bn);
	memmove(c->buf, c->buf + start, end - start);
	c->len = end - start;

	if (c->len == IPC_BUF_MAX) {
		/* No "\n" in IPC_MAX_LINE + 1 bytes: report once, then skip. */
		if (c->discarding) {
			ipc_close_fds(c->fds, c->nfds);
		} else {
			int lfds[IPC_MAX_FDS];
			size_t ln = 0;

			ipc_merge_fds(lfds, &ln, c->fds, c->nfds);
			c->discarding = true;
			ipc_deliver(c, NULL, 0, -EMSGSIZE, lfds, ln, fn, data);
		}
		c->nfds = 0;
		c->len = 0;
	}
}

static void ipc_conn_eof(struct ipc_conn *c, ipc_line_fn fn, void *data)
{
	int lfds[IPC_MAX_FDS];
	size_t ln = 0;

	ipc_merge_fds(lfds, &ln, c->fds, c->nfds);
	c->nfds = 0;
	if (c->len && !c->discarding)
		ipc_deliver(c, NULL, 0, -EBADMSG, lfds, ln, fn, data);
	else
		ipc_close_fds(lfds, ln);
	c->len = 0;
	c->discarding = false;
}

/* Collect SCM_RIGHTS fds into fds[IPC_MAX_FDS]; close any beyond. */
static size_t ipc_take_fds(struct msghdr *mh, int *fds)
{
	size_t nfds = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < IPC_MAX_FDS)
				fds[nfds++] = fd;
			else
				close_nointr(fd);
		}
	}
	return nfds;
}

int ipc_conn_read(struct ipc_conn *c, ipc_line_fn fn, void *data)
{
	if (!c || !fn)
		return -EINVAL;

	for (int i = 0; i < IPC_READ_BUDGET; i++) {
		union ipc_cmsg_buf cbuf;
		struct iovec iov;
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		int bfds[IPC_MAX_FDS];
		size_t bn;
		ssize_t n;

		if (c->len == c->cap) {
			size_t cap = c->cap ? MIN(c->cap * 2, (size_t)IPC_BUF_MAX) : IPC_BUF_MIN;
			char *p = realloc(c->buf, cap);

			if (!p)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
		}
		iov = (struct iovec){ c->buf + c->len, c->cap - c->len };

		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		bn = ipc_take_fds(&mh, bfds);
		if (n == 0) {
			ipc_close_fds(bfds, bn);
			ipc_conn_eof(c, fn, data);
			return 1;
		}
		ipc_conn_lines(c, (size_t)n, bfds, bn, fn, data);
	}
	return 0;
}

/* Consume exactly len bytes (already peeked) into buf, closing any fds. */
static ssize_t ipc_recv_drop_fds(int fd, char *buf, size_t len)
{
	union ipc_cmsg_buf cbuf;
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	int fds[IPC_MAX_FDS];
	ssize_t n;

	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	ipc_close_fds(fds, ipc_take_fds(&mh, fds));
	return n;
}

int ipc_recv_line(int fd, struct json_object **ret, int timeout_ms)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	uint64_t deadline = UINT64_MAX;

	if (fd < 0)
		return -EINVAL;
	if (timeout_ms >= 0)
		deadline = now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		ssize_t n, want;
		char *nl;
		int r;

		if (len == cap) {
			size_t ncap = cap ? MIN(cap * 2, (size_t)IPC_BUF_MAX) : IPC_BUF_MIN;
			char *p = realloc(buf, ncap);

			if (!p)
				return -ENOMEM;
			buf = p;
			cap = ncap;
		}

		/* Peek so that nothing past the "\n" is consumed. */
		n = recv(fd, buf + len, cap - len, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			r = ipc_wait(fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;

		nl = memchr(buf + len, '\n', (size_t)n);
		want = nl ? nl - (buf + len) + 1 : n;
		n = ipc_recv_drop_fds(fd, buf + len, (size_t)want);
		if (n < 0)
			return (int)n;
		len += (size_t)n;
		if (nl && n == want)
			return ipc_parse_line(buf, len - 1, ret);
		if (len == IPC_BUF_MAX)
			return -EMSGSIZE;
	}
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "util.h"

static int parse(const char *s)
{
	struct json_object *o = NULL;
	int r = ipc_parse_line(s, strlen(s), &o);

	if (r == 0)
		assert_true(json_object_is_type(o, json_type_object));
	else
		assert_null(o);
	json_object_put(o);
	return r;
}

/* An object nested depth levels deep: {"a":{"a":{}}} is 3. */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 3);
	size_t n = 0;

	assert_non_null(s);
	for (int i = 1; i < depth; i++)
		n += (size_t)sprintf(s + n, "{\"a\":");
	n += (size_t)sprintf(s + n, "{}");
	for (int i = 1; i < depth; i++)
		s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void test_parse_accept(void **state)
{
	const char *uni = "{\"s\":\"\\u00e9\\ud83d\\ude00\"}";
	struct json_object *o = NULL, *v;
	char *s;

	assert_int_equal(parse("{}"), 0);
	assert_int_equal(parse("{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\"}"), 0);
	assert_int_equal(parse("  {\"a\":true}  "), 0);
	assert_int_equal(parse("{\"a\":1}\r"), 0);
	assert_int_equal(parse("{\"a\":123456789012345678901234567890,\"b\":1e999}"), 0);

	assert_int_equal(ipc_parse_line(uni, strlen(uni), &o), 0);
	assert_true(json_object_object_get_ex(o, "s", &v));
	assert_string_equal(json_object_get_string(v), "\xc3\xa9\xf0\x9f\x98\x80");
	json_object_put(o);

	s = nested(IPC_MAX_DEPTH);
	assert_int_equal(parse(s), 0);
	free(s);
	/* 15 levels of containers holding a scalar at depth 16. */
	assert_int_equal(parse("{\"a\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]}"), 0);
}

static void test_parse_reject(void **state)
{
	struct json_object *o = (void *)0x1;
	char *s;

	assert_int_equal(parse(""), -EBADMSG);
	assert_int_equal(parse("   "), -EBADMSG);
	assert_int_equal(parse("{\"a\":1"), -EBADMSG);
	assert_int_equal(parse("{\"a\":\"x"), -EBADMSG);
	assert_int_equal(parse("{\"a\":1} x"), -EBADMSG);
	assert_int_equal(parse("{\"a\":1}{}"), -EBADMSG);
	assert_int_equal(parse("{\"a\":1}\n{}"), -EBADMSG);
	assert_int_equal(parse("{\"a\":1,}"), -EBADMSG);
	assert_int_equal(parse("{\"a\":\"\xff\"}"), -EBADMSG);
	assert_int_equal(parse("nul"), -EBADMSG);

	assert_int_equal(parse("[1,2]"), -EINVAL);
	assert_int_equal(parse("1"), -EINVAL);
	assert_int_equal(parse("\"x\""), -EINVAL);
	assert_int_equal(parse("null"), -EINVAL);
	assert_int_equal(parse("true"), -EINVAL);

	/* Embedded NUL: json-c alone would stop there and accept. */
	assert_int_equal(ipc_parse_line("{\"a\":1}\0x", 9, &o), -EBADMSG);
	assert_int_equal(ipc_parse_line("{\"a\":1}\0", 8, &o), -EBADMSG);
	assert_ptr_equal(o, (void *)0x1);

	s = nested(IPC_MAX_DEPTH + 1);
	assert_int_equal(parse(s), -EBADMSG);
	free(s);
	/* Arrays and scalars count too: 1 is at depth 17 here. */
	assert_int_equal(parse("{\"a\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}"), -EBADMSG);
}

/* {"s":"xxx..."} of exactly len bytes. */
static char *sized_line(size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memset(s, 'x', len);
	memcpy(s, "{\"s\":\"", 6);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

static void test_parse_size(void **state)
{
	struct json_object *o = NULL;
	char *s = sized_line(IPC_MAX_LINE + 1);

	assert_int_equal(ipc_parse_line(s, IPC_MAX_LINE + 1, &o), -EMSGSIZE);
	free(s);
	s = sized_line(IPC_MAX_LINE);
	assert_int_equal(ipc_parse_line(s, IPC_MAX_LINE, &o), 0);
	json_object_put(o);
	free(s);
}

/* What the line callback saw, in order. */
struct rx {
	int n;
	int err[16];
	struct json_object *msg[16];
	int nfds[16];
	int fds[16][IPC_MAX_FDS];
	bool take;
};

static void on_line(struct ipc_conn *c, struct json_object *msg, int err, int *fds, size_t nfds,
		    void *data)
{
	struct rx *rx = data;
	int i = rx->n++;

	assert_true(i < 16);
	assert_true((msg == NULL) == (err != 0));
	rx->err[i] = err;
	rx->msg[i] = msg ? json_object_get(msg) : NULL;
	rx->nfds[i] = (int)nfds;
	for (size_t j = 0; j < nfds; j++) {
		assert_true(fds[j] >= 0);
		assert_true(fcntl(fds[j], F_GETFD) & FD_CLOEXEC);
		rx->fds[i][j] = fds[j];
		if (rx->take)
			fds[j] = -1;
	}
}

static void rx_reset(struct rx *rx)
{
	for (int i = 0; i < rx->n; i++)
		json_object_put(rx->msg[i]);
	memset(rx, 0, sizeof(*rx));
}

static int rx_int(struct rx *rx, int i, const char *key)
{
	struct json_object *v;

	assert_non_null(rx->msg[i]);
	assert_true(json_object_object_get_ex(rx->msg[i], key, &v));
	return json_object_get_int(v);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* sp[0] is the nonblocking reader inside *c, sp[1] the blocking writer. */
static void conn_pair(struct ipc_conn **c, int *writer)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(fcntl(sp[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ipc_conn_new(sp[0], c), 0);
	assert_int_equal(ipc_conn_fd(*c), sp[0]);
	*writer = sp[1];
}

static void send_int(int fd, const char *key, int v, const int *fds, size_t nfds)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, key, json_object_new_int(v));
	assert_int_equal(ipc_send(fd, o, fds, nfds), 0);
	json_object_put(o);
}

static void write_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_roundtrip_fds(void **state)
{
	struct rx rx = { .take = true };
	struct ipc_conn *c;
	int w, p1[2], p2[2], fds[2];
	char buf[4];

	conn_pair(&c, &w);
	assert_int_equal(pipe2(p1, O_CLOEXEC), 0);
	assert_int_equal(pipe2(p2, O_CLOEXEC), 0);
	fds[0] = p1[0];
	fds[1] = p2[1];

	/* Lines before and after: the fds must stick to their own line. */
	send_int(w, "a", 1, NULL, 0);
	send_int(w, "a", 2, fds, 2);
	send_int(w, "a", 3, NULL, 0);
	while (rx.n < 3)
		assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rx.err[i], 0);
		assert_int_equal(rx_int(&rx, i, "a"), i + 1);
	}
	assert_int_equal(rx.nfds[0], 0);
	assert_int_equal(rx.nfds[1], 2);
	assert_int_equal(rx.nfds[2], 0);

	/* The passed fds are the same pipes. */
	assert_int_equal(write(p1[1], "ab", 2), 2);
	assert_int_equal(read(rx.fds[1][0], buf, 2), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(write(rx.fds[1][1], "cd", 2), 2);
	assert_int_equal(read(p2[0], buf, 2), 2);
	assert_memory_equal(buf, "cd", 2);
	close(rx.fds[1][0]);
	close(rx.fds[1][1]);

	/* Not taken by the callback: closed after it returns. */
	rx_reset(&rx);
	send_int(w, "a", 4, fds, 2);
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 1);
	assert_int_equal(rx.nfds[0], 2);
	assert_false(fd_is_open(rx.fds[0][0]));
	assert_false(fd_is_open(rx.fds[0][1]));

	rx_reset(&rx);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(w);
	ipc_conn_free(c);
}

static void test_send_reject(void **state)
{
	struct json_object *o = json_object_new_array();
	int fds[IPC_MAX_FDS + 1] = {};
	char *big;
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(ipc_send(sp[0], o, NULL, 0), -EINVAL);
	json_object_put(o);

	o = json_object_new_object();
	assert_int_equal(ipc_send(sp[0], o, fds, IPC_MAX_FDS + 1), -EINVAL);
	big = malloc(IPC_MAX_LINE);
	memset(big, 'x', IPC_MAX_LINE - 1);
	big[IPC_MAX_LINE - 1] = '\0';
	json_object_object_add(o, "s", json_object_new_string(big));
	assert_int_equal(ipc_send(sp[0], o, NULL, 0), -EMSGSIZE);
	json_object_put(o);
	free(big);

	close(sp[0]);
	o = json_object_new_object();
	assert_int_equal(ipc_send(sp[1], o, NULL, 0), -EPIPE);
	json_object_put(o);
	close(sp[1]);
}

static void test_oversized_line(void **state)
{
	struct rx rx = {};
	struct ipc_conn *c;
	int w, p[2], r;
	char *junk = malloc(IPC_MAX_LINE + 100);

	conn_pair(&c, &w);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);

	/* Bytes of an overlong line, with an fd; then a good line. */
	memset(junk, 'x', IPC_MAX_LINE + 100);
	{
		struct iovec iov = { junk, 10 };
		char cbuf[CMSG_SPACE(sizeof(int))] = {};
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
		assert_int_equal(sendmsg(w, &mh, 0), 10);
	}
	assert_int_equal(write(w, junk, IPC_MAX_LINE + 90), IPC_MAX_LINE + 90);
	/* Still inside the overlong line: skipped. */
	write_str(w, "{\"skipped\":1}\n");
	send_int(w, "ok", 1, NULL, 0);

	do {
		r = ipc_conn_read(c, on_line, &rx);
		assert_int_equal(r, 0);
	} while (rx.n < 2);
	assert_int_equal(rx.n, 2);
	assert_int_equal(rx.err[0], -EMSGSIZE);
	assert_int_equal(rx.nfds[0], 1);
	assert_false(fd_is_open(rx.fds[0][0]));
	assert_int_equal(rx.err[1], 0);
	assert_int_equal(rx_int(&rx, 1, "ok"), 1);

	/* A line of exactly IPC_MAX_LINE bytes passes. */
	rx_reset(&rx);
	free(junk);
	junk = sized_line(IPC_MAX_LINE);
	assert_int_equal(write(w, junk, IPC_MAX_LINE), IPC_MAX_LINE);
	write_str(w, "\n");
	do
		assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	while (rx.n < 1);
	assert_int_equal(rx.err[0], 0);

	rx_reset(&rx);
	free(junk);
	close(p[1]);
	close(w);
	ipc_conn_free(c);
}

static void test_split_lines(void **state)
{
	struct rx rx = {};
	struct ipc_conn *c;
	int w;

	conn_pair(&c, &w);
	write_str(w, "{\"a\":");
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 0);
	write_str(w, "1}\n{\"a\"");
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 1);
	assert_int_equal(rx_int(&rx, 0, "a"), 1);
	write_str(w, ":2}\r\nnot json\n\n{\"a\":3}\n");
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 5);
	assert_int_equal(rx_int(&rx, 1, "a"), 2);
	assert_int_equal(rx.err[2], -EBADMSG);
	assert_int_equal(rx.err[3], -EBADMSG);
	assert_int_equal(rx_int(&rx, 4, "a"), 3);
	/* Nothing more: still open. */
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx.n, 5);

	rx_reset(&rx);
	close(w);
	ipc_conn_free(c);
}

static void test_eof(void **state)
{
	struct rx rx = {};
	struct ipc_conn *c;
	int w;

	conn_pair(&c, &w);
	write_str(w, "{\"a\":1}\n{\"a\":2}");
	close(w);
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 1);
	assert_int_equal(rx.n, 2);
	assert_int_equal(rx_int(&rx, 0, "a"), 1);
	/* Unterminated last line. */
	assert_int_equal(rx.err[1], -EBADMSG);
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 1);
	assert_int_equal(rx.n, 2);
	rx_reset(&rx);
	ipc_conn_free(c);

	/* A clean EOF reports no bad line. */
	conn_pair(&c, &w);
	close(w);
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 1);
	assert_int_equal(rx.n, 0);
	ipc_conn_free(c);
	ipc_conn_free(NULL);
}

static void test_recv_line(void **state)
{
	struct json_object *o;
	struct json_object *v;
	int sp[2], p[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(ipc_recv_line(sp[0], &o, 0), -ETIMEDOUT);
	assert_int_equal(ipc_recv_line(sp[0], &o, 10), -ETIMEDOUT);

	/* Two lines in one write: each call takes exactly one. */
	write_str(sp[1], "{\"a\":1}\n{\"a\":2}\nbad\n");
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(ipc_recv_line(sp[0], &o, 1000), 0);
		assert_true(json_object_object_get_ex(o, "a", &v));
		assert_int_equal(json_object_get_int(v), i);
		json_object_put(o);
	}
	assert_int_equal(ipc_recv_line(sp[0], &o, 1000), -EBADMSG);

	/* fds are closed, not leaked. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_int(sp[1], "a", 3, &p[1], 1);
	close(p[1]);
	assert_int_equal(ipc_recv_line(sp[0], &o, 1000), 0);
	json_object_put(o);
	{
		char ch;

		/* The write end is gone everywhere: EOF on the pipe. */
		assert_int_equal(read(p[0], &ch, 1), 0);
	}
	close(p[0]);

	write_str(sp[1], "{\"a\":");
	close(sp[1]);
	assert_int_equal(ipc_recv_line(sp[0], &o, 1000), -ECONNRESET);
	close(sp[0]);
}

struct big_ctx {
	int fd;
	struct json_object *got;
	int r;
};

static void *big_reader(void *arg)
{
	struct big_ctx *ctx = arg;

	ctx->r = ipc_recv_line(ctx->fd, &ctx->got, -1);
	return NULL;
}

static void test_send_partial(void **state)
{
	struct big_ctx ctx = {};
	struct json_object *o, *v;
	int sp[2], small = 4096;
	char *big = malloc(60000);
	pthread_t t;

	/* A small nonblocking send buffer forces partial writes and waits. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp),
			 0);
	assert_int_equal(setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	ctx.fd = sp[0];
	assert_int_equal(pthread_create(&t, NULL, big_reader, &ctx), 0);

	memset(big, 'y', 59999);
	big[59999] = '\0';
	o = json_object_new_object();
	json_object_object_add(o, "s", json_object_new_string(big));
	assert_int_equal(ipc_send(sp[1], o, NULL, 0), 0);
	json_object_put(o);
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_int_equal(ctx.r, 0);
	assert_true(json_object_object_get_ex(ctx.got, "s", &v));
	assert_string_equal(json_object_get_string(v), big);
	json_object_put(ctx.got);
	free(big);
	close(sp[0]);
	close(sp[1]);
}

static void test_listen_connect(void **state)
{
	char dir[] = "/tmp/test-ipc-XXXXXX", path[64];
	struct json_object *o;
	struct rx rx = {};
	struct ipc_conn *c;
	struct stat st;
	int lfd, lfd2, cfd, sfd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);

	assert_int_equal(ipc_listen(path, &lfd), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(ipc_accept(lfd, &sfd), -EAGAIN);

	assert_int_equal(ipc_connect(path, &cfd), 0);
	assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(cfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(ipc_accept(lfd, &sfd), 0);
	assert_true(fcntl(sfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(sfd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(ipc_conn_new(sfd, &c), 0);

	send_int(cfd, "req", 1, NULL, 0);
	while (rx.n < 1)
		assert_int_equal(ipc_conn_read(c, on_line, &rx), 0);
	assert_int_equal(rx_int(&rx, 0, "req"), 1);
	send_int(sfd, "reply", 2, NULL, 0);
	assert_int_equal(ipc_recv_line(cfd, &o, 5000), 0);
	json_object_put(o);
	rx_reset(&rx);
	ipc_conn_free(c);
	close(cfd);

	/* Someone serves it: not replaced.  The server sees the probe as a
	 * connection that closes at once. */
	assert_int_equal(ipc_listen(path, &lfd2), -EADDRINUSE);
	assert_int_equal(ipc_accept(lfd, &sfd), 0);
	assert_int_equal(ipc_conn_new(sfd, &c), 0);
	assert_int_equal(ipc_conn_read(c, on_line, &rx), 1);
	assert_int_equal(rx.n, 0);
	ipc_conn_free(c);

	/* A stale socket is replaced. */
	close(lfd);
	assert_int_equal(ipc_listen(path, &lfd), 0);
	close(lfd);
	assert_int_equal(unlink(path), 0);

	/* Something that is not a socket is left alone. */
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(ipc_listen(path, &lfd), -EEXIST);
	assert_int_equal(ipc_connect(path, &cfd), -ECONNREFUSED);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ipc_connect(path, &cfd), -ENOENT);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accept),
		cmocka_unit_test(test_parse_reject),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_roundtrip_fds),
		cmocka_unit_test(test_send_reject),
		cmocka_unit_test(test_oversized_line),
		cmocka_unit_test(test_split_lines),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_recv_line),
		cmocka_unit_test(test_send_partial),
		cmocka_unit_test(test_listen_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

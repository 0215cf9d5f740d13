// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The display socket (vgpu/display-server.c) on a real loop and real UNIX
 * sockets, with the viewers in this process: the test pumps the loop and
 * reads the viewers' sockets in turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "display-server.h"
#include "ipc.h"
#include "loop.h"
#include "util.h"

#define VRAM_SIZE (8 * MiB)

struct fixture {
	struct loop *loop;
	char dir[64], path[128];
	int memfd;
	uint8_t *vram;
	struct vgpu_display_server *srv;
	const struct vgpu_display_ops *ops;

	/* What the fake input devices got. */
	struct {
		uint16_t sc;
		bool down, e0, e1;
	} keys[64];
	unsigned nkeys;
	struct {
		uint16_t x, y;
		uint8_t buttons;
		int8_t wheel;
	} mice[64];
	unsigned nmice;
	uint32_t res_w, res_h;
	unsigned nres;
	int res_ret;
};

struct viewer {
	int fd;
	struct ipc_conn *conn;
	struct json_object **msgs;
	unsigned n, cap, next;
	int fds[8];
	unsigned nfds;
	bool eof, cut;
};

static void fake_key(void *data, uint16_t sc, bool down, bool e0, bool e1)
{
	struct fixture *fx = data;

	assert_true(fx->nkeys < ARRAY_SIZE(fx->keys));
	fx->keys[fx->nkeys].sc = sc;
	fx->keys[fx->nkeys].down = down;
	fx->keys[fx->nkeys].e0 = e0;
	fx->keys[fx->nkeys].e1 = e1;
	fx->nkeys++;
}

static void fake_mouse(void *data, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel)
{
	struct fixture *fx = data;

	assert_true(fx->nmice < ARRAY_SIZE(fx->mice));
	fx->mice[fx->nmice].x = x;
	fx->mice[fx->nmice].y = y;
	fx->mice[fx->nmice].buttons = buttons;
	fx->mice[fx->nmice].wheel = wheel;
	fx->nmice++;
}

static const struct vgpu_input_ops fake_input = {
	.key = fake_key,
	.mouse = fake_mouse,
};

/* Like a guest that switches at once: the mode comes back from inside the
 * viewer's request. */
static int fake_resolution(void *data, uint32_t w, uint32_t h)
{
	struct fixture *fx = data;
	struct vgpu_mode m = {
		.width = w, .height = h, .stride = w * 4, .format = VGPU_FORMAT_XRGB8888,
		.valid = true,
	};

	fx->nres++;
	fx->res_w = w;
	fx->res_h = h;
	if (fx->res_ret == 0)
		fx->ops->mode(fx->srv, &m);
	return fx->res_ret;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct vgpu_display_server_config cfg;

	assert_non_null(fx);
	assert_int_equal(loop_new(&fx->loop), 0);
	strcpy(fx->dir, "/tmp/test-display-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/vm.display", fx->dir);
	fx->memfd = memfd_create("vram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fx->memfd >= 0);
	assert_int_equal(ftruncate(fx->memfd, VRAM_SIZE), 0);
	fx->vram = mmap(NULL, VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->memfd, 0);
	assert_true(fx->vram != MAP_FAILED);

	cfg = (struct vgpu_display_server_config){
		.loop = fx->loop,
		.path = fx->path,
		.vram_fd = fx->memfd,
		.vram_size = VRAM_SIZE,
		.input = &fake_input,
		.input_data = fx,
		.resolution = fake_resolution,
		.data = fx,
	};
	assert_int_equal(vgpu_display_server_new(&cfg, &fx->srv), 0);
	fx->ops = vgpu_display_server_ops();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	vgpu_display_server_free(fx->srv);
	loop_free(fx->loop);
	munmap(fx->vram, VRAM_SIZE);
	close(fx->memfd);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Run the loop until it has nothing left to do. */
static void pump(struct fixture *fx)
{
	for (int i = 0; i < 1000; i++)
		if (loop_run_once(fx->loop, 0) <= 0)
			return;
}

static void viewer_line(struct ipc_conn *c, struct json_object *msg, int err, int *fds,
			size_t nfds, void *data)
{
	struct viewer *v = data;

	/* A viewer cut off mid-line sees the piece as a bad last line. */
	if (err == -EBADMSG) {
		v->cut = true;
		return;
	}
	assert_int_equal(err, 0);
	for (size_t i = 0; i < nfds; i++) {
		assert_true(v->nfds < ARRAY_SIZE(v->fds));
		v->fds[v->nfds++] = fds[i];
		fds[i] = -1;
	}
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->msgs = realloc(v->msgs, v->cap * sizeof(*v->msgs));
		assert_non_null(v->msgs);
	}
	v->msgs[v->n++] = json_object_get(msg);
}

/* Read what the viewer's socket holds. */
static void viewer_read(struct viewer *v)
{
	for (int i = 0; i < 1000 && !v->eof; i++) {
		unsigned before = v->n;
		int r = ipc_conn_read(v->conn, viewer_line, v);

		if (r != 0) {
			v->eof = true;
			return;
		}
		if (v->n == before)
			return;
	}
}

static void viewer_connect(struct fixture *fx, struct viewer *v)
{
	int fd;

	memset(v, 0, sizeof(*v));
	assert_int_equal(ipc_connect(fx->path, &fd), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ipc_conn_new(fd, &v->conn), 0);
	v->fd = fd;
	pump(fx);
}

static void viewer_close(struct viewer *v)
{
	for (unsigned i = 0; i < v->n; i++)
		json_object_put(v->msgs[i]);
	free(v->msgs);
	for (unsigned i = 0; i < v->nfds; i++)
		close(v->fds[i]);
	ipc_conn_free(v->conn);
	memset(v, 0, sizeof(*v));
}

static void viewer_send(struct viewer *v, const char *line)
{
	size_t n = strlen(line);

	assert_int_equal(write(v->fd, line, n), (ssize_t)n);
	assert_int_equal(write(v->fd, "\n", 1), 1);
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

/* The viewer's next message, which must be of this type (borrowed). */
static struct json_object *expect(struct fixture *fx, struct viewer *v, const char *type)
{
	struct json_object *m;

	for (int i = 0; i < 100 && v->next == v->n; i++) {
		pump(fx);
		viewer_read(v);
	}
	if (v->next == v->n)
		fail_msg("no \"%s\" message came", type);
	m = v->msgs[v->next++];
	if (strcmp(get_str(m, "type"), type))
		fail_msg("wanted \"%s\", got %s", type, json_object_to_json_string(m));
	return m;
}

/* Nothing more is waiting, checked with a ping. */
static void expect_pong(struct fixture *fx, struct viewer *v, int64_t id)
{
	char line[64];

	snprintf(line, sizeof(line), "{\"type\":\"ping\",\"id\":%lld}", (long long)id);
	viewer_send(v, line);
	assert_int_equal(get_int(expect(fx, v, "pong"), "id"), id);
}

/* Ping and read everything up to the pong, whatever came before. */
static void sync_viewer(struct fixture *fx, struct viewer *v, int64_t id)
{
	char line[64];

	snprintf(line, sizeof(line), "{\"type\":\"ping\",\"id\":%lld}", (long long)id);
	viewer_send(v, line);
	for (int i = 0; i < 1000; i++) {
		struct json_object *last;

		pump(fx);
		viewer_read(v);
		last = v->n ? v->msgs[v->n - 1] : NULL;
		if (last && !strcmp(get_str(last, "type"), "pong") && get_int(last, "id") == id) {
			v->next = v->n;
			return;
		}
	}
	fail_msg("no pong %lld", (long long)id);
}

static void expect_error(struct fixture *fx, struct viewer *v)
{
	const char *msg = get_str(expect(fx, v, "error"), "message");

	assert_true(strlen(msg) > 0);
}

static void expect_welcome(struct fixture *fx, struct viewer *v)
{
	struct json_object *m = expect(fx, v, "hello");

	assert_int_equal(get_int(m, "version"), VGPU_DISPLAY_VERSION);
	assert_int_equal(get_int(m, "vram_size"), VRAM_SIZE);
	assert_int_equal(v->nfds, 1);
	expect(fx, v, "mode");
	expect(fx, v, "pointer");
}

static void set_mode(struct fixture *fx, uint32_t w, uint32_t h, uint64_t offset)
{
	struct vgpu_mode m = {
		.width = w, .height = h, .stride = w * 4, .format = VGPU_FORMAT_XRGB8888,
		.vram_offset = offset, .valid = true,
	};

	fx->ops->mode(fx->srv, &m);
}

static void test_new_args(void **state)
{
	struct fixture *fx = *state;
	struct vgpu_display_server_config cfg = {
		.loop = fx->loop, .path = fx->path, .vram_fd = -1, .vram_size = VRAM_SIZE,
	};
	struct vgpu_display_server *srv;
	struct stat st;

	assert_int_equal(vgpu_display_server_new(&cfg, &srv), -EINVAL);
	cfg.vram_fd = fx->memfd;
	cfg.vram_size = 0;
	assert_int_equal(vgpu_display_server_new(&cfg, &srv), -EINVAL);
	/* More VRAM than the memfd holds. */
	cfg.vram_size = VRAM_SIZE * 2;
	assert_int_equal(vgpu_display_server_new(&cfg, &srv), -EINVAL);
	/* The path is served already. */
	cfg.vram_size = VRAM_SIZE;
	assert_int_equal(vgpu_display_server_new(&cfg, &srv), -EADDRINUSE);

	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_hello_read_only(void **state)
{
	struct fixture *fx = *state;
	struct viewer v;
	struct json_object *m;
	uint8_t *map;
	struct stat st;

	memset(fx->vram, 0, 4096);
	memcpy(fx->vram, "pixels", 6);
	viewer_connect(fx, &v);
	m = expect(fx, &v, "hello");
	assert_int_equal(get_int(m, "version"), 1);
	assert_int_equal(get_int(m, "vram_size"), VRAM_SIZE);
	assert_int_equal(v.nfds, 1);

	assert_int_equal(fcntl(v.fds[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(v.fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(v.fds[0], &st), 0);
	assert_int_equal(st.st_size, VRAM_SIZE);
	map = mmap(NULL, VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v.fds[0], 0);
	assert_true(map == MAP_FAILED);
	assert_int_equal(errno, EACCES);
	assert_int_equal(write(v.fds[0], "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(ftruncate(v.fds[0], 0), -1);

	map = mmap(NULL, VRAM_SIZE, PROT_READ, MAP_SHARED, v.fds[0], 0);
	assert_true(map != MAP_FAILED);
	assert_memory_equal(map, "pixels", 6);
	/* The same pages: what the guest draws shows at once. */
	fx->vram[4095] = 0x5a;
	assert_int_equal(map[4095], 0x5a);
	assert_int_not_equal(mprotect(map, 4096, PROT_READ | PROT_WRITE), 0);
	munmap(map, VRAM_SIZE);

	/* Reopening the fd for writing is not prevented by its mode: that
	 * takes F_SEAL_FUTURE_WRITE on the memfd, after the VMM mapped it. */
	{
		char path[64];
		int rw;

		assert_int_equal(fcntl(fx->memfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", v.fds[0]);
		rw = open(path, O_RDWR | O_CLOEXEC);
		if (rw >= 0) {
			map = mmap(NULL, VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
			assert_true(map == MAP_FAILED);
			assert_int_equal(write(rw, "x", 1), -1);
			close(rw);
		}
		fx->vram[0] = 'P'; /* the VMM's own mapping still writes */
	}

	m = expect(fx, &v, "mode");
	assert_false(get_bool(m, "valid"));
	m = expect(fx, &v, "pointer");
	assert_int_equal(get_int(m, "x"), 0);
	assert_int_equal(get_int(m, "y"), 0);
	assert_false(get_bool(m, "visible"));
	expect_pong(fx, &v, 1);
	viewer_close(&v);
}

static void test_events_in_order(void **state)
{
	struct fixture *fx = *state;
	struct viewer v, w;
	struct vgpu_rect rects[] = {
		{ 1, 2, 3, 4 },
		{ 630, 470, 100, 100 }, /* clipped to 10x10 */
		{ 640, 0, 5, 5 },       /* outside: dropped */
		{ 5, 5, 0, 7 },         /* empty: dropped */
	};
	uint8_t argb[16];
	struct json_object *m, *r;
	struct vgpu_display_server_stats st;

	for (unsigned i = 0; i < sizeof(argb); i++)
		argb[i] = (uint8_t)i;
	viewer_connect(fx, &v);
	expect_welcome(fx, &v);

	/* No mode yet: damage has nothing to refer to. */
	fx->ops->damage(fx->srv, rects, 1);
	set_mode(fx, 640, 480, 4096);
	fx->ops->damage(fx->srv, rects, ARRAY_SIZE(rects));
	fx->ops->pointer_position(fx->srv, 10, -3, true);
	fx->ops->pointer_shape(fx->srv, 2, 2, 1, 7, argb);
	fx->ops->damage(fx->srv, rects, 1);

	m = expect(fx, &v, "mode");
	assert_true(get_bool(m, "valid"));
	assert_int_equal(get_int(m, "width"), 640);
	assert_int_equal(get_int(m, "height"), 480);
	assert_int_equal(get_int(m, "stride"), 2560);
	assert_int_equal(get_int(m, "offset"), 4096);
	assert_string_equal(get_str(m, "format"), "XRGB8888");

	m = expect(fx, &v, "damage");
	assert_true(json_object_object_get_ex(m, "rects", &r));
	assert_int_equal(json_object_array_length(r), 2);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "[[1,2,3,4],[630,470,10,10]]");

	m = expect(fx, &v, "pointer");
	assert_int_equal(get_int(m, "x"), 10);
	assert_int_equal(get_int(m, "y"), -3);
	assert_true(get_bool(m, "visible"));

	m = expect(fx, &v, "cursor");
	assert_int_equal(get_int(m, "width"), 2);
	assert_int_equal(get_int(m, "height"), 2);
	assert_int_equal(get_int(m, "hot_x"), 1);
	assert_int_equal(get_int(m, "hot_y"), 1); /* clamped into the shape */
	assert_string_equal(get_str(m, "argb"), "AAECAwQFBgcICQoLDA0ODw==");

	m = expect(fx, &v, "damage");
	assert_true(json_object_object_get_ex(m, "rects", &r));
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "[[1,2,3,4]]");
	expect_pong(fx, &v, 2);

	/* A viewer arriving now starts from the current state. */
	viewer_connect(fx, &w);
	expect(fx, &w, "hello");
	m = expect(fx, &w, "mode");
	assert_int_equal(get_int(m, "width"), 640);
	m = expect(fx, &w, "pointer");
	assert_int_equal(get_int(m, "x"), 10);
	m = expect(fx, &w, "cursor");
	assert_string_equal(get_str(m, "argb"), "AAECAwQFBgcICQoLDA0ODw==");
	expect_pong(fx, &w, 3);

	/* A mode outside the VRAM is not shown; nor damage while it is set. */
	set_mode(fx, 1024, 768, VRAM_SIZE - 4096);
	fx->ops->damage(fx->srv, rects, 1);
	assert_false(get_bool(expect(fx, &v, "mode"), "valid"));
	assert_false(get_bool(expect(fx, &w, "mode"), "valid"));
	expect_pong(fx, &v, 4);
	expect_pong(fx, &w, 5);

	/* A shape too big for one line is not forwarded; an empty one is. */
	{
		uint8_t *big = calloc(1, 200 * 200 * 4);

		assert_non_null(big);
		fx->ops->pointer_shape(fx->srv, 200, 200, 0, 0, big);
		free(big);
	}
	fx->ops->pointer_shape(fx->srv, 0, 0, 3, 3, NULL);
	m = expect(fx, &v, "cursor");
	assert_int_equal(get_int(m, "width"), 0);
	assert_string_equal(get_str(m, "argb"), "");

	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.viewers, 2);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.damage_calls, 4);
	assert_int_equal(st.damage_rects_in, 7);
	assert_int_equal(st.damage_messages, 2);
	assert_int_equal(st.damage_rects, 3);
	assert_int_equal(st.damage_coalesced, 0);
	viewer_close(&v);
	viewer_close(&w);
	pump(fx);
	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.viewers, 0);
}

static void test_input(void **state)
{
	struct fixture *fx = *state;
	struct viewer v;
	struct json_object *m;
	struct vgpu_display_server_stats st;

	viewer_connect(fx, &v);
	expect_welcome(fx, &v);
	viewer_send(&v, "{\"type\":\"key\",\"scancode\":30,\"down\":true}");
	viewer_send(&v, "{\"type\":\"key\",\"scancode\":83,\"down\":false,\"e0\":true,"
			"\"e1\":false}");
	viewer_send(&v, "{\"type\":\"key\",\"scancode\":29,\"down\":true,\"e1\":true,"
			"\"extra\":[1]}");
	viewer_send(&v, "{\"type\":\"mouse\",\"x\":0,\"y\":32767,\"buttons\":5,\"wheel\":-3}");
	viewer_send(&v, "{\"type\":\"mouse\",\"x\":16384,\"y\":1}");
	viewer_send(&v, "{\"type\":\"resolution\",\"width\":1280,\"height\":720}");
	viewer_send(&v, "{\"type\":\"ping\",\"id\":\"abc\"}");
	viewer_send(&v, "{\"type\":\"ping\"}");

	/* The guest switched from inside the request: its mode comes first. */
	m = expect(fx, &v, "mode");
	assert_int_equal(get_int(m, "width"), 1280);
	assert_int_equal(get_int(m, "height"), 720);
	assert_string_equal(get_str(expect(fx, &v, "pong"), "id"), "abc");
	m = expect(fx, &v, "pong");
	assert_false(json_object_object_get_ex(m, "id", NULL));

	assert_int_equal(fx->nkeys, 3);
	assert_int_equal(fx->keys[0].sc, 30);
	assert_true(fx->keys[0].down);
	assert_false(fx->keys[0].e0 || fx->keys[0].e1);
	assert_int_equal(fx->keys[1].sc, 83);
	assert_false(fx->keys[1].down);
	assert_true(fx->keys[1].e0);
	assert_false(fx->keys[1].e1);
	assert_true(fx->keys[2].e1);
	assert_int_equal(fx->nmice, 2);
	assert_int_equal(fx->mice[0].x, 0);
	assert_int_equal(fx->mice[0].y, 32767);
	assert_int_equal(fx->mice[0].buttons, 5);
	assert_int_equal(fx->mice[0].wheel, -3);
	assert_int_equal(fx->mice[1].x, 16384);
	assert_int_equal(fx->mice[1].buttons, 0);
	assert_int_equal(fx->mice[1].wheel, 0);
	assert_int_equal(fx->nres, 1);
	assert_int_equal(fx->res_w, 1280);
	assert_int_equal(fx->res_h, 720);

	/* A refused resolution is answered with an error, in order. */
	fx->res_ret = -ENOTCONN;
	viewer_send(&v, "{\"type\":\"resolution\",\"width\":800,\"height\":600}");
	m = expect(fx, &v, "error");
	assert_non_null(strstr(get_str(m, "message"), "not connected"));
	expect_pong(fx, &v, 9);
	assert_int_equal(fx->nres, 2);

	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.keys, 3);
	assert_int_equal(st.mice, 2);
	assert_int_equal(st.resolutions, 2);
	assert_int_equal(st.pings, 3);
	assert_int_equal(st.bad_messages, 0);
	viewer_close(&v);
}

static const char *const bad_lines[] = {
	"not json",
	"[1,2]",
	"{}",
	"{\"type\":5}",
	"{\"type\":\"nope\"}",
	"{\"type\":\"key\",\"scancode\":0,\"down\":true}",
	"{\"type\":\"key\",\"scancode\":128,\"down\":true}",
	"{\"type\":\"key\",\"scancode\":\"30\",\"down\":true}",
	"{\"type\":\"key\",\"scancode\":30.0,\"down\":true}",
	"{\"type\":\"key\",\"scancode\":30}",
	"{\"type\":\"key\",\"scancode\":30,\"down\":1}",
	"{\"type\":\"key\",\"scancode\":30,\"down\":true,\"e0\":true,\"e1\":true}",
	"{\"type\":\"key\",\"scancode\":30,\"down\":true,\"e0\":null}",
	"{\"type\":\"mouse\",\"x\":-1,\"y\":0}",
	"{\"type\":\"mouse\",\"x\":32768,\"y\":0}",
	"{\"type\":\"mouse\",\"x\":0}",
	"{\"type\":\"mouse\",\"x\":0,\"y\":0,\"buttons\":8}",
	"{\"type\":\"mouse\",\"x\":0,\"y\":0,\"wheel\":128}",
	"{\"type\":\"mouse\",\"x\":18446744073709551615,\"y\":0}",
	"{\"type\":\"resolution\",\"width\":0,\"height\":600}",
	"{\"type\":\"resolution\",\"width\":8000,\"height\":600}",
	"{\"type\":\"resolution\",\"width\":800}",
	"{\"type\":\"ping\",\"id\":1.5}",
	"{\"type\":\"ping\",\"id\":{}}",
	/* A 129-byte id. */
	("{\"type\":\"ping\",\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"),
};

static void test_bad_messages(void **state)
{
	struct fixture *fx = *state;
	struct viewer v;
	struct vgpu_display_server_stats st;
	int fd = -1;
	char *line;

	viewer_connect(fx, &v);
	expect_welcome(fx, &v);
	for (size_t i = 0; i < ARRAY_SIZE(bad_lines); i++) {
		viewer_send(&v, bad_lines[i]);
		expect_error(fx, &v);
	}
	/* An overlong line is answered once, then skipped to its end. */
	line = malloc(IPC_MAX_LINE + 100);
	assert_non_null(line);
	memset(line, 'x', IPC_MAX_LINE + 99);
	line[IPC_MAX_LINE + 99] = '\0';
	viewer_send(&v, line);
	free(line);
	assert_string_equal(get_str(expect(fx, &v, "error"), "message"), "line too long");
	/* An fd sent along is closed and otherwise ignored. */
	{
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("ping"));
		json_object_object_add(o, "id", json_object_new_int(77));
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_int_equal(ipc_send(v.fd, o, &fd, 1), 0);
		close(fd);
		json_object_put(o);
		assert_int_equal(get_int(expect(fx, &v, "pong"), "id"), 77);
	}
	expect_pong(fx, &v, 8);

	assert_int_equal(fx->nkeys + fx->nmice + fx->nres, 0);
	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.bad_messages, ARRAY_SIZE(bad_lines) + 1);
	assert_int_equal(st.viewers, 1);
	viewer_close(&v);
}

static void test_garbage_dropped(void **state)
{
	struct fixture *fx = *state;
	struct viewer v, w;
	struct vgpu_display_server_stats st;
	unsigned errors = 0;

	viewer_connect(fx, &v);
	viewer_connect(fx, &w);
	expect_welcome(fx, &v);
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_BAD + 20; i++)
		viewer_send(&v, "{\"type\":\"garbage\"}");
	for (int i = 0; i < 100 && !v.eof; i++) {
		pump(fx);
		viewer_read(&v);
	}
	assert_true(v.eof);
	for (unsigned i = v.next; i < v.n; i++)
		errors += !strcmp(get_str(v.msgs[i], "type"), "error");
	assert_int_equal(errors, VGPU_DISPLAY_MAX_BAD);

	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.dropped_bad, 1);
	assert_int_equal(st.viewers, 1);
	/* The other viewer carries on. */
	expect_welcome(fx, &w);
	expect_pong(fx, &w, 1);
	viewer_close(&v);
	viewer_close(&w);
}

/* A 96x96 shape: a ~49 KB line. */
static void big_cursor(struct fixture *fx, uint8_t seed)
{
	static uint8_t argb[96 * 96 * 4];

	memset(argb, seed, sizeof(argb));
	fx->ops->pointer_shape(fx->srv, 96, 96, 0, 0, argb);
}

static void test_coalesce(void **state)
{
	struct fixture *fx = *state;
	struct viewer slow, fast;
	struct vgpu_display_server_stats st;
	unsigned i, k = 0, cursors = 0, fast_damage = 0;
	struct json_object *last_damage = NULL, *r;
	char want[64];

	viewer_connect(fx, &slow);
	viewer_connect(fx, &fast);
	set_mode(fx, 640, 480, 0);
	/* Fill the slow viewer's queue until its damage gets held back. */
	for (i = 0; i < 40; i++) {
		struct vgpu_rect rect = { i, i, 1, 1 };

		big_cursor(fx, (uint8_t)i);
		pump(fx);
		viewer_read(&fast);
		fx->ops->damage(fx->srv, &rect, 1);
		vgpu_display_server_get_stats(fx->srv, &st);
		if (st.damage_coalesced) {
			k = i;
			break;
		}
	}
	assert_true(st.damage_coalesced == 1);
	for (i = k + 1; i <= k + 2; i++) {
		struct vgpu_rect rect = { i, i, 1, 1 };

		fx->ops->damage(fx->srv, &rect, 1);
	}
	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.damage_coalesced, 3);
	assert_int_equal(st.overflows, 0);

	/* The slow viewer catches up: its held-back damage is one box, before
	 * the pong. */
	sync_viewer(fx, &slow, 42);
	for (i = 0; i < slow.n; i++) {
		const char *t = get_str(slow.msgs[i], "type");

		if (!strcmp(t, "damage"))
			last_damage = slow.msgs[i];
		cursors += !strcmp(t, "cursor");
	}
	assert_int_equal(cursors, k + 1);
	assert_non_null(last_damage);
	assert_true(json_object_object_get_ex(last_damage, "rects", &r));
	snprintf(want, sizeof(want), "[[%u,%u,3,3]]", k, k);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN), want);
	assert_string_equal(get_str(slow.msgs[slow.n - 1], "type"), "pong");

	/* The fast viewer got every rectangle. */
	sync_viewer(fx, &fast, 1);
	for (i = 0; i < fast.n; i++)
		fast_damage += !strcmp(get_str(fast.msgs[i], "type"), "damage");
	assert_int_equal(fast_damage, k + 3);
	viewer_close(&slow);
	viewer_close(&fast);
}

static void test_slow_viewer_dropped(void **state)
{
	struct fixture *fx = *state;
	struct viewer slow, fast;
	struct vgpu_display_server_stats st;
	unsigned i, n, cursors = 0;

	viewer_connect(fx, &slow);
	viewer_connect(fx, &fast);
	for (n = 0; n < 100; n++) {
		big_cursor(fx, (uint8_t)n);
		pump(fx);
		viewer_read(&fast);
		vgpu_display_server_get_stats(fx->srv, &st);
		if (st.overflows)
			break;
	}
	assert_int_equal(st.overflows, 1);
	assert_int_equal(st.viewers, 1);
	/* Over 1 MiB was queued: at least ~20 shapes. */
	assert_true(n >= VGPU_DISPLAY_QUEUE_MAX / 50000);
	for (i = 0; i < 5; i++)
		big_cursor(fx, 0xee);
	sync_viewer(fx, &fast, 5);
	for (i = 0; i < fast.n; i++)
		cursors += !strcmp(get_str(fast.msgs[i], "type"), "cursor");
	assert_int_equal(cursors, n + 1 + 5);

	/* The slow viewer finds its stream cut. */
	for (i = 0; i < 1000 && !slow.eof; i++)
		viewer_read(&slow);
	assert_true(slow.eof);
	viewer_close(&slow);
	viewer_close(&fast);
}

/* A viewer that sends pings and never reads its pongs is dropped while the
 * server handles its lines. */
static void test_ping_flood(void **state)
{
	struct fixture *fx = *state;
	struct viewer v;
	struct vgpu_display_server_stats st;
	char chunk[16384];
	size_t len = 0;
	bool gone = false;

	while (len + 200 < sizeof(chunk))
		len += (size_t)sprintf(chunk + len, "{\"type\":\"ping\",\"id\":\"%0100d\"}\n", 7);
	viewer_connect(fx, &v);
	for (int i = 0; i < 2000 && !gone; i++) {
		ssize_t n = send(v.fd, chunk, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN)
			gone = true;
		pump(fx);
		vgpu_display_server_get_stats(fx->srv, &st);
		gone |= st.overflows > 0;
	}
	assert_true(gone);
	pump(fx);
	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.overflows, 1);
	assert_int_equal(st.viewers, 0);
	viewer_close(&v);
}

static void test_viewer_limit(void **state)
{
	struct fixture *fx = *state;
	struct viewer v[VGPU_DISPLAY_MAX_VIEWERS + 1];
	struct vgpu_display_server_stats st;

	for (unsigned i = 0; i <= VGPU_DISPLAY_MAX_VIEWERS; i++)
		viewer_connect(fx, &v[i]);
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++)
		expect(fx, &v[i], "hello");
	assert_string_equal(get_str(expect(fx, &v[VGPU_DISPLAY_MAX_VIEWERS], "error"), "message"),
			    "too many viewers");
	viewer_read(&v[VGPU_DISPLAY_MAX_VIEWERS]);
	assert_true(v[VGPU_DISPLAY_MAX_VIEWERS].eof);
	viewer_close(&v[VGPU_DISPLAY_MAX_VIEWERS]);

	/* A slot freed is taken again. */
	viewer_close(&v[3]);
	pump(fx);
	viewer_connect(fx, &v[3]);
	expect(fx, &v[3], "hello");
	vgpu_display_server_get_stats(fx->srv, &st);
	assert_int_equal(st.viewers, VGPU_DISPLAY_MAX_VIEWERS);
	assert_int_equal(st.refused, 1);

	/* Freeing the server ends every viewer and removes the socket. */
	vgpu_display_server_free(fx->srv);
	fx->srv = NULL;
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++) {
		viewer_read(&v[i]);
		assert_true(v[i].eof);
		viewer_close(&v[i]);
	}
	assert_int_equal(access(fx->path, F_OK), -1);
}

static int parse(const char *s, struct vgpu_display_msg *m)
{
	const char *err = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	r = vgpu_display_msg_parse(s, strlen(s), m, &err);
	if (r < 0)
		assert_non_null(err);
	return r;
}

static void test_parse(void **state)
{
	struct vgpu_display_msg m;

	assert_int_equal(parse("{\"type\":\"key\",\"scancode\":127,\"down\":false,"
			       "\"e1\":true}", &m), 0);
	assert_int_equal(m.type, VGPU_DISPLAY_MSG_KEY);
	assert_int_equal(m.key.scancode, 127);
	assert_false(m.key.down);
	assert_true(m.key.e1);
	assert_null(m.id);

	assert_int_equal(parse("{\"type\":\"mouse\",\"x\":32767,\"y\":0,\"buttons\":7,"
			       "\"wheel\":-127}", &m), 0);
	assert_int_equal(m.type, VGPU_DISPLAY_MSG_MOUSE);
	assert_int_equal(m.mouse.x, 32767);
	assert_int_equal(m.mouse.buttons, 7);
	assert_int_equal(m.mouse.wheel, -127);

	assert_int_equal(parse("{\"type\":\"resolution\",\"width\":7680,\"height\":4320}", &m), 0);
	assert_int_equal(m.resolution.width, 7680);
	assert_int_equal(m.resolution.height, 4320);

	assert_int_equal(parse("{\"type\":\"ping\",\"id\":-5}", &m), 0);
	assert_int_equal(m.type, VGPU_DISPLAY_MSG_PING);
	assert_int_equal(json_object_get_int(m.id), -5);
	vgpu_display_msg_finish(&m);
	assert_null(m.id);

	{
		char line[256];

		snprintf(line, sizeof(line), "{\"type\":\"ping\",\"id\":\"%0128d\"}", 1);
		assert_int_equal(parse(line, &m), 0);
		assert_int_equal(json_object_get_string_len(m.id), 128);
		vgpu_display_msg_finish(&m);
	}

	assert_int_equal(parse("{\"type\":\"nope\"}", &m), -EOPNOTSUPP);
	assert_int_equal(parse("[]", &m), -EINVAL);
	assert_int_equal(parse("{", &m), -EBADMSG);
	for (size_t i = 3; i < ARRAY_SIZE(bad_lines); i++)
		assert_int_not_equal(parse(bad_lines[i], &m), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_new_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_viewer_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_viewer_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The display-socket client (viewer.h, docs/display.md).  skyvm is the
 * other end; it is more trusted than an RDP client, but a compromised VMM
 * must not be able to crash or steer the worker either: every member is
 * type- and range-checked here, and the VRAM is mapped only after its
 * size was checked against the fd.
 */
#include "viewer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

LOG_SCOPE("rdp.viewer");

/* --- parsing (pure) ------------------------------------------------------ */

static bool get_int(struct json_object *o, const char *key, int64_t min, int64_t max,
		    int64_t *ret)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	/* json-c clamps what does not fit in int64 to INT64_MIN/MAX. */
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return false;
	*ret = x;
	return true;
}

static bool get_u32(struct json_object *o, const char *key, uint32_t min, uint32_t max,
		    uint32_t *ret)
{
	int64_t x;

	if (!get_int(o, key, min, max, &x))
		return false;
	*ret = (uint32_t)x;
	return true;
}

static bool get_bool(struct json_object *o, const char *key, bool *ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
		return false;
	*ret = json_object_get_boolean(v);
	return true;
}

static const char *get_string(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long viewer_base64_decode(const char *in, size_t len, uint8_t *out)
{
	size_t i, o = 0;

	if (len % 4)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		int v[4], pad = 0, k;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			/* '=' only in the last group's last one or two places. */
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -EINVAL;
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -EINVAL;
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	return (long)o;
}

bool viewer_mode_fits(const struct viewer_mode *m, uint64_t vram_size)
{
	uint64_t last;

	if (!m->valid)
		return true;
	if (!m->width || !m->height || m->width > VIEWER_MAX_DIM || m->height > VIEWER_MAX_DIM)
		return false;
	if ((uint64_t)m->stride < (uint64_t)m->width * 4)
		return false;
	/* All terms are below 2^33 except offset, checked on its own. */
	last = (uint64_t)(m->height - 1) * m->stride + (uint64_t)m->width * 4;
	return m->offset <= vram_size && last <= vram_size - m->offset;
}

static int parse_mode(struct json_object *o, struct viewer_mode *m)
{
	const char *format;
	int64_t offset;
	bool valid;

	memset(m, 0, sizeof(*m));
	if (!get_bool(o, "valid", &valid))
		return -EPROTO;
	if (!valid)
		return 0;
	if (!get_u32(o, "width", 1, VIEWER_MAX_DIM, &m->width) ||
	    !get_u32(o, "height", 1, VIEWER_MAX_DIM, &m->height) ||
	    !get_u32(o, "stride", 1, UINT32_MAX, &m->stride) ||
	    !get_int(o, "offset", 0, INT64_MAX, &offset) ||
	    !(format = get_string(o, "format", NULL)))
		return -EPROTO;
	if ((uint64_t)m->stride < (uint64_t)m->width * 4)
		return -EPROTO;
	m->offset = (uint64_t)offset;
	/* Another pixel format would be a new mode of a later version: no
	 * picture rather than wrong colours. */
	m->valid = !strcmp(format, "XRGB8888");
	return 0;
}

static int parse_damage(struct json_object *o, struct viewer_msg *m)
{
	struct json_object *rects;
	int64_t t = 0;
	size_t i, n;

	if (json_object_object_get_ex(o, "t", NULL) && !get_int(o, "t", 0, INT64_MAX, &t))
		return -EPROTO;
	m->damage.t = (uint64_t)t;
	if (!json_object_object_get_ex(o, "rects", &rects) ||
	    !json_object_is_type(rects, json_type_array))
		return -EPROTO;
	n = json_object_array_length(rects);
	if (n > VIEWER_MAX_RECTS)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(rects, i);
		uint32_t v[4];
		size_t k;

		if (!json_object_is_type(r, json_type_array) || json_object_array_length(r) != 4)
			return -EPROTO;
		for (k = 0; k < 4; k++) {
			struct json_object *x = json_object_array_get_idx(r, k);
			int64_t y;

			if (!json_object_is_type(x, json_type_int))
				return -EPROTO;
			y = json_object_get_int64(x);
			/* x, y >= 0; w, h >= 1; all inside any mode we accept. */
			if (y < (k >= 2) || y > (int64_t)VIEWER_MAX_DIM)
				return -EPROTO;
			v[k] = (uint32_t)y;
		}
		m->damage.rects[i] = (struct rcc_rect){ v[0], v[1], v[2], v[3] };
	}
	m->damage.n = (unsigned)n;
	return 0;
}

static int parse_cursor(struct json_object *o, struct viewer_msg *m)
{
	const char *b64;
	size_t len, want;
	long got;
	uint8_t *buf;

	if (!get_u32(o, "width", 0, VIEWER_CURSOR_MAX_PIXELS, &m->cursor.width) ||
	    !(b64 = get_string(o, "argb", &len)))
		return -EPROTO;
	if (!m->cursor.width) {
		m->cursor.height = m->cursor.hot_x = m->cursor.hot_y = 0;
		return 0;
	}
	if (!get_u32(o, "height", 1, VIEWER_CURSOR_MAX_PIXELS, &m->cursor.height) ||
	    (uint64_t)m->cursor.width * m->cursor.height > VIEWER_CURSOR_MAX_PIXELS ||
	    !get_u32(o, "hot_x", 0, m->cursor.width - 1, &m->cursor.hot_x) ||
	    !get_u32(o, "hot_y", 0, m->cursor.height - 1, &m->cursor.hot_y))
		return -EPROTO;
	want = (size_t)m->cursor.width * m->cursor.height * 4;
	if (len != (want + 2) / 3 * 4)
		return -EPROTO;
	buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	got = viewer_base64_decode(b64, len, buf);
	if (got < 0 || (size_t)got != want) {
		free(buf);
		return -EPROTO;
	}
	m->cursor.argb = buf;
	return 0;
}

static int parse_object(struct json_object *o, struct viewer_msg *m)
{
	const char *type, *s;
	int64_t x;

	memset(m, 0, sizeof(*m));
	type = get_string(o, "type", NULL);
	if (!type)
		return -EPROTO;
	if (!strcmp(type, "hello")) {
		m->type = VIEWER_MSG_HELLO;
		if (!get_u32(o, "version", 0, UINT32_MAX, &m->hello.version) ||
		    !get_int(o, "vram_size", 1, INT64_MAX, &x))
			return -EPROTO;
		m->hello.vram_size = (uint64_t)x;
		return 0;
	}
	if (!strcmp(type, "mode")) {
		m->type = VIEWER_MSG_MODE;
		return parse_mode(o, &m->mode);
	}
	if (!strcmp(type, "damage")) {
		m->type = VIEWER_MSG_DAMAGE;
		return parse_damage(o, m);
	}
	if (!strcmp(type, "pointer")) {
		int64_t px, py;

		m->type = VIEWER_MSG_POINTER;
		if (!get_int(o, "x", INT32_MIN, INT32_MAX, &px) ||
		    !get_int(o, "y", INT32_MIN, INT32_MAX, &py) ||
		    !get_bool(o, "visible", &m->pointer.visible))
			return -EPROTO;
		m->pointer.x = (int32_t)px;
		m->pointer.y = (int32_t)py;
		return 0;
	}
	if (!strcmp(type, "cursor")) {
		m->type = VIEWER_MSG_CURSOR;
		return parse_cursor(o, m);
	}
	if (!strcmp(type, "pong")) {
		m->type = VIEWER_MSG_PONG;
		return 0;
	}
	if (!strcmp(type, "error")) {
		m->type = VIEWER_MSG_ERROR;
		s = get_string(o, "message", NULL);
		snprintf(m->error.message, sizeof(m->error.message), "%s", s ? s : "");
		return 0;
	}
	m->type = VIEWER_MSG_UNKNOWN;
	return 0;
}

int viewer_parse(const char *line, size_t len, struct viewer_msg *ret)
{
	struct json_object *o;
	int r;

	r = ipc_parse_line(line, len, &o);
	if (r < 0)
		return -EBADMSG;
	r = parse_object(o, ret);
	json_object_put(o);
	if (r < 0)
		viewer_msg_clear(ret);
	return r;
}

void viewer_msg_clear(struct viewer_msg *m)
{
	if (m->type == VIEWER_MSG_CURSOR) {
		free(m->cursor.argb);
		m->cursor.argb = NULL;
	}
}

/* --- the connection ------------------------------------------------------ */

struct viewer {
	struct ipc_conn *conn;
	int fd;
	const uint8_t *vram;
	uint64_t vram_size;
	bool hello, have_mode;
	struct viewer_mode mode;
	const char *broken;   /* why the stream cannot go on */
	unsigned bad;         /* bad lines so far */
	/* What came with the first mode, for viewer_replay(). */
	struct viewer_msg early_pointer, early_cursor;
	bool have_early_pointer, have_early_cursor;
	/* The callback of the viewer_read() in progress. */
	viewer_msg_fn fn;
	void *data;
};

static void bad_line(struct viewer *v, int err)
{
	/* skyvm speaks this protocol; a bad line is its bug or a newer
	 * version.  Say so a few times, then keep quiet. */
	if (++v->bad <= 10 || v->bad % 1000 == 0)
		log_warn("display socket: a bad message (%u so far): %s", v->bad, strerror(-err));
}

static void map_vram(struct viewer *v, const struct viewer_msg *m, int *fds, size_t nfds)
{
	struct stat st;
	void *p;
	int seals;

	if (v->hello) {
		v->broken = "a second hello";
		return;
	}
	if (m->hello.version != 1 || nfds != 1) {
		v->broken = "an unsupported hello (skyrdp speaks version 1)";
		return;
	}
	/* A mapping past the end of the file would SIGBUS on access. */
	if (fstat(fds[0], &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size < m->hello.vram_size || m->hello.vram_size > SIZE_MAX) {
		v->broken = "a VRAM fd smaller than its vram_size";
		return;
	}
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		log_debug("the VRAM memfd is not sealed against shrinking");
	p = mmap(NULL, m->hello.vram_size, PROT_READ, MAP_SHARED, fds[0], 0);
	if (p == MAP_FAILED) {
		log_errno(LOG_ERR, -errno, "cannot map the VRAM (%" PRIu64 " bytes)",
			  m->hello.vram_size);
		v->broken = "an unmappable VRAM";
		return;
	}
	v->vram = p;
	v->vram_size = m->hello.vram_size;
	v->hello = true;
}

static void on_line(struct ipc_conn *c, struct json_object *o, int err, int *fds, size_t nfds,
		    void *data)
{
	struct viewer *v = data;
	struct viewer_msg m;
	int r;

	(void)c;
	if (v->broken)
		return;
	if (err < 0) {
		bad_line(v, err);
		return;
	}
	r = parse_object(o, &m);
	if (r < 0) {
		viewer_msg_clear(&m);
		bad_line(v, r);
		return;
	}
	if (m.type == VIEWER_MSG_HELLO) {
		map_vram(v, &m, fds, nfds);
		return;
	}
	if (!v->hello) {
		v->broken = "messages before the hello";
		viewer_msg_clear(&m);
		return;
	}
	if (m.type == VIEWER_MSG_MODE) {
		if (!viewer_mode_fits(&m.mode, v->vram_size)) {
			log_warn("display socket: a mode %ux%u stride %u offset %" PRIu64
				 " outside the VRAM: no picture",
				 m.mode.width, m.mode.height, m.mode.stride, m.mode.offset);
			m.mode.valid = false;
		}
		v->mode = m.mode;
		v->have_mode = true;
	}
	if (!v->fn) {
		/* Still connecting: keep the latest pointer and shape. */
		if (m.type == VIEWER_MSG_POINTER) {
			v->early_pointer = m;
			v->have_early_pointer = true;
			return;
		}
		if (m.type == VIEWER_MSG_CURSOR) {
			if (v->have_early_cursor)
				viewer_msg_clear(&v->early_cursor);
			v->early_cursor = m;
			v->have_early_cursor = true;
			return;
		}
		viewer_msg_clear(&m);
		return;
	}
	v->fn(&m, v->data);
	viewer_msg_clear(&m);
}

int viewer_connect(const char *path, int timeout_ms, struct viewer **ret)
{
	struct viewer *v;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd, r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = ipc_connect(path, &fd);
	if (r < 0) {
		free(v);
		return r;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    (r = ipc_conn_new(fd, &v->conn)) < 0) {
		r = r < 0 ? r : -errno;
		close(fd);
		free(v);
		return r;
	}
	v->fd = fd;
	while (!v->hello || !v->have_mode) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();

		if (v->broken) {
			log_err("display socket %s: %s", path, v->broken);
			r = -EPROTO;
			goto fail;
		}
		if (now >= deadline) {
			r = -ETIMEDOUT;
			goto fail;
		}
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			goto fail;
		}
		if (r <= 0)
			continue;
		r = ipc_conn_read(v->conn, on_line, v);
		if (r != 0) {
			r = r > 0 ? -ECONNRESET : r;
			goto fail;
		}
	}
	*ret = v;
	return 0;
fail:
	viewer_free(v);
	return r;
}

void viewer_free(struct viewer *v)
{
	if (!v)
		return;
	if (v->vram)
		munmap((void *)v->vram, v->vram_size);
	if (v->have_early_cursor)
		viewer_msg_clear(&v->early_cursor);
	ipc_conn_free(v->conn);
	free(v);
}

int viewer_fd(const struct viewer *v)
{
	return v->fd;
}

const struct viewer_mode *viewer_mode(const struct viewer *v)
{
	return &v->mode;
}

const uint8_t *viewer_pixels(const struct viewer *v)
{
	return v->mode.valid ? v->vram + v->mode.offset : NULL;
}

void viewer_replay(struct viewer *v, viewer_msg_fn fn, void *data)
{
	if (v->have_early_cursor) {
		fn(&v->early_cursor, data);
		viewer_msg_clear(&v->early_cursor);
		v->have_early_cursor = false;
	}
	if (v->have_early_pointer) {
		fn(&v->early_pointer, data);
		v->have_early_pointer = false;
	}
}

int viewer_read(struct viewer *v, viewer_msg_fn fn, void *data)
{
	int r;

	v->fn = fn;
	v->data = data;
	r = ipc_conn_read(v->conn, on_line, v);
	v->fn = NULL;
	v->data = NULL;
	if (v->broken) {
		log_err("display socket: %s", v->broken);
		return -EPROTO;
	}
	return r;
}

static int send_obj(struct viewer *v, struct json_object *o)
{
	int r;

	if (!o)
		return -ENOMEM;
	r = ipc_send(v->fd, o, NULL, 0);
	json_object_put(o);
	return r;
}

int viewer_send_key(struct viewer *v, uint8_t scancode, bool down, bool e0, bool e1)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "type", json_object_new_string("key"));
	json_object_object_add(o, "scancode", json_object_new_int(scancode));
	json_object_object_add(o, "down", json_object_new_boolean(down));
	if (e0)
		json_object_object_add(o, "e0", json_object_new_boolean(true));
	if (e1)
		json_object_object_add(o, "e1", json_object_new_boolean(true));
	return send_obj(v, o);
}

int viewer_send_mouse(struct viewer *v, uint32_t x, uint32_t y, unsigned buttons, int wheel)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "type", json_object_new_string("mouse"));
	json_object_object_add(o, "x", json_object_new_int((int)MIN(x, 32767u)));
	json_object_object_add(o, "y", json_object_new_int((int)MIN(y, 32767u)));
	json_object_object_add(o, "buttons", json_object_new_int((int)(buttons & 7)));
	if (wheel)
		json_object_object_add(o, "wheel", json_object_new_int(MAX(-127, MIN(127, wheel))));
	return send_obj(v, o);
}

int viewer_send_resolution(struct viewer *v, uint32_t width, uint32_t height)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "type", json_object_new_string("resolution"));
	json_object_object_add(o, "width", json_object_new_int((int)width));
	json_object_object_add(o, "height", json_object_new_int((int)height));
	return send_obj(v, o);
}

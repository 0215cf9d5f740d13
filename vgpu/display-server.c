// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The display socket (docs/display.md).  Outgoing lines are formatted once
 * per event into a scratch buffer and appended to each viewer's queue; a
 * queue is written at once while the socket takes it, and from the loop
 * (EPOLLOUT) once it does not.  A viewer is freed only where no caller up
 * the stack still uses it: while its own lines are being handled (busy) a
 * kill just marks it dead and its fd handler frees it afterwards.
 */
#include "display-server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "synthvid.h"
#include "util.h"

LOG_SCOPE("vgpu.display");

#define BAD_WINDOW_NS (10 * UINT64_C(1000000000))
/* Connections taken per wakeup of the listening socket. */
#define ACCEPT_BUDGET 16
/* A drained queue keeps its buffer up to this size. */
#define QUEUE_KEEP (64 * 1024)
/* Room for the longest line we send (a cursor) and its "\n". */
#define SCRATCH_SIZE (IPC_MAX_LINE + 2)

struct viewer {
	struct vgpu_display_server *srv;
	unsigned slot;
	uint64_t serial; /* names the viewer in log lines */
	struct ipc_conn *conn;
	struct loop_source *src;

	char *out; /* unsent bytes are out[out_start, out_end) */
	size_t out_start, out_end, out_cap;
	bool fd_pending; /* the VRAM fd goes with the first byte sent */
	bool want_out;   /* EPOLLOUT armed */

	bool busy; /* its lines are being handled */
	bool dead; /* killed while busy: freed when its handler returns */

	bool damage_pending; /* damage merged while the queue was behind */
	struct vgpu_rect damage_box;
	uint64_t damage_t;   /* when the oldest merged damage arrived */

	uint64_t bad_since;
	unsigned bad_count;
};

struct vgpu_display_server {
	struct vgpu_display_server_config cfg;
	char *path;
	int listen_fd;
	struct loop_source *listen_src;
	int ro_fd; /* the VRAM, reopened read-only */
	struct viewer *viewers[VGPU_DISPLAY_MAX_VIEWERS];
	uint64_t next_serial;

	struct vgpu_mode mode;
	int32_t ptr_x, ptr_y;
	bool ptr_visible;
	bool have_cursor;
	uint32_t cursor_w, cursor_h, cursor_hx, cursor_hy;
	uint8_t *cursor; /* cursor_w * cursor_h * 4 bytes */

	char *scratch;
	struct vgpu_display_server_stats stats;
	uint64_t log_bad, log_refused, log_device;
};

/* Viewers must not be able to flood the log: the first 10 lines of a kind,
 * then every 1000th. */
static bool ratelimit_ok(uint64_t n)
{
	return n <= 10 || n % 1000 == 0;
}

/* --- parsing viewer messages (pure) --------------------------------------- */

/* An integer member in [min, max]; *val is left alone when it is absent and
 * not required. */
static int int_field(struct json_object *obj, const char *key, bool required, int64_t min,
		     int64_t max, int64_t *val)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v))
		return required ? -EINVAL : 0;
	/* json-c types both int64 and uint64 values json_type_int; a uint64
	 * beyond INT64_MAX reads as INT64_MAX, still out of range. */
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return -EINVAL;
	*val = x;
	return 0;
}

static int bool_field(struct json_object *obj, const char *key, bool required, bool *val)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return required ? -EINVAL : 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*val = json_object_get_boolean(v);
	return 0;
}

static int parse_key(struct json_object *obj, struct vgpu_display_msg *m, const char **ret_err)
{
	int64_t sc = 0;
	bool down = false, e0 = false, e1 = false;

	if (int_field(obj, "scancode", true, 1, 127, &sc) < 0) {
		*ret_err = "key: \"scancode\" must be an integer from 1 to 127 (the make code)";
		return -EINVAL;
	}
	if (bool_field(obj, "down", true, &down) < 0) {
		*ret_err = "key: \"down\" must be true or false";
		return -EINVAL;
	}
	if (bool_field(obj, "e0", false, &e0) < 0 || bool_field(obj, "e1", false, &e1) < 0) {
		*ret_err = "key: \"e0\" and \"e1\" must be true or false";
		return -EINVAL;
	}
	if (e0 && e1) {
		*ret_err = "key: \"e0\" and \"e1\" cannot both be set";
		return -EINVAL;
	}
	m->key.scancode = (uint16_t)sc;
	m->key.down = down;
	m->key.e0 = e0;
	m->key.e1 = e1;
	return 0;
}

static int parse_mouse(struct json_object *obj, struct vgpu_display_msg *m, const char **ret_err)
{
	int64_t x = 0, y = 0, buttons = 0, wheel = 0;

	if (int_field(obj, "x", true, 0, 32767, &x) < 0 ||
	    int_field(obj, "y", true, 0, 32767, &y) < 0) {
		*ret_err = "mouse: \"x\" and \"y\" must be integers from 0 to 32767";
		return -EINVAL;
	}
	if (int_field(obj, "buttons", false, 0, 7, &buttons) < 0) {
		*ret_err = "mouse: \"buttons\" must be an integer from 0 to 7";
		return -EINVAL;
	}
	if (int_field(obj, "wheel", false, -127, 127, &wheel) < 0) {
		*ret_err = "mouse: \"wheel\" must be an integer from -127 to 127";
		return -EINVAL;
	}
	m->mouse.x = (uint16_t)x;
	m->mouse.y = (uint16_t)y;
	m->mouse.buttons = (uint8_t)buttons;
	m->mouse.wheel = (int8_t)wheel;
	return 0;
}

static int parse_resolution(struct json_object *obj, struct vgpu_display_msg *m,
			    const char **ret_err)
{
	int64_t w = 0, h = 0;

	if (int_field(obj, "width", true, 1, VGPU_MAX_WIDTH, &w) < 0 ||
	    int_field(obj, "height", true, 1, VGPU_MAX_HEIGHT, &h) < 0) {
		*ret_err = "resolution: \"width\" must be an integer from 1 to 7680 and "
			   "\"height\" one from 1 to 4320";
		return -EINVAL;
	}
	m->resolution.width = (uint32_t)w;
	m->resolution.height = (uint32_t)h;
	return 0;
}

static int parse_ping(struct json_object *obj, struct vgpu_display_msg *m, const char **ret_err)
{
	struct json_object *id;

	if (!json_object_object_get_ex(obj, "id", &id))
		return 0;
	if (!json_object_is_type(id, json_type_int) &&
	    !(json_object_is_type(id, json_type_string) &&
	      (size_t)json_object_get_string_len(id) <= VGPU_DISPLAY_ID_MAX)) {
		*ret_err = "ping: \"id\" must be an integer or a string of at most 128 bytes";
		return -EINVAL;
	}
	m->id = json_object_get(id);
	return 0;
}

int vgpu_display_msg_from_object(struct json_object *obj, struct vgpu_display_msg *ret,
				 const char **ret_err)
{
	static const struct {
		const char *name;
		enum vgpu_display_msg_type type;
		int (*parse)(struct json_object *obj, struct vgpu_display_msg *m,
			     const char **ret_err);
	} types[] = {
		{ "key", VGPU_DISPLAY_MSG_KEY, parse_key },
		{ "mouse", VGPU_DISPLAY_MSG_MOUSE, parse_mouse },
		{ "resolution", VGPU_DISPLAY_MSG_RESOLUTION, parse_resolution },
		{ "ping", VGPU_DISPLAY_MSG_PING, parse_ping },
	};
	struct json_object *t;
	const char *name;

	if (!json_object_is_type(obj, json_type_object)) {
		*ret_err = "a message must be a JSON object";
		return -EINVAL;
	}
	if (!json_object_object_get_ex(obj, "type", &t) ||
	    !json_object_is_type(t, json_type_string)) {
		*ret_err = "missing \"type\" string";
		return -EINVAL;
	}
	name = json_object_get_string(t);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct vgpu_display_msg m = { .type = types[i].type };
		int r;

		if (strcmp(name, types[i].name))
			continue;
		r = types[i].parse(obj, &m, ret_err);
		if (r < 0) {
			vgpu_display_msg_finish(&m);
			return r;
		}
		*ret = m;
		return 0;
	}
	*ret_err = "unknown message type";
	return -EOPNOTSUPP;
}

int vgpu_display_msg_parse(const char *line, size_t len, struct vgpu_display_msg *ret,
			   const char **ret_err)
{
	struct json_object *obj = NULL;
	int r;

	r = ipc_parse_line(line, len, &obj);
	if (r < 0) {
		*ret_err = r == -EMSGSIZE ? "line too long" : "a message must be a JSON object";
		return r;
	}
	r = vgpu_display_msg_from_object(obj, ret, ret_err);
	json_object_put(obj);
	return r;
}

void vgpu_display_msg_finish(struct vgpu_display_msg *m)
{
	json_object_put(m->id);
	m->id = NULL;
}

/* --- formatting outgoing lines --------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static _printf_(2, 3) void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

static const char *format_name(uint32_t format)
{
	return format == VGPU_FORMAT_XRGB8888 ? "XRGB8888" : "unknown";
}

static size_t fmt_hello(struct vgpu_display_server *srv)
{
	struct sbuf b = { srv->scratch, 0, SCRATCH_SIZE };

	sb_printf(&b, "{\"type\":\"hello\",\"version\":%d,\"vram_size\":%zu}\n",
		  VGPU_DISPLAY_VERSION, srv->cfg.vram_size);
	return b.len;
}

static size_t fmt_mode(struct vgpu_display_server *srv)
{
	const struct vgpu_mode *m = &srv->mode;
	struct sbuf b = { srv->scratch, 0, SCRATCH_SIZE };

	if (!m->valid)
		sb_printf(&b, "{\"type\":\"mode\",\"valid\":false}\n");
	else
		sb_printf(&b,
			  "{\"type\":\"mode\",\"valid\":true,\"width\":%" PRIu32
			  ",\"height\":%" PRIu32 ",\"stride\":%" PRIu32
			  ",\"format\":\"%s\",\"offset\":%" PRIu64 "}\n",
			  m->width, m->height, m->stride, format_name(m->format), m->vram_offset);
	return b.len;
}

static size_t fmt_pointer(struct vgpu_display_server *srv)
{
	struct sbuf b = { srv->scratch, 0, SCRATCH_SIZE };

	sb_printf(&b, "{\"type\":\"pointer\",\"x\":%" PRId32 ",\"y\":%" PRId32 ",\"visible\":%s}\n",
		  srv->ptr_x, srv->ptr_y, srv->ptr_visible ? "true" : "false");
	return b.len;
}

static void sb_base64(struct sbuf *b, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (n + 2) / 3 * 4;
	char *o;

	if (b->overflow || b->cap - b->len <= need) {
		b->overflow = true;
		return;
	}
	o = b->p + b->len;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	b->len += need;
	b->p[b->len] = '\0';
}

static size_t fmt_cursor(struct vgpu_display_server *srv)
{
	struct sbuf b = { srv->scratch, 0, SCRATCH_SIZE };

	sb_printf(&b,
		  "{\"type\":\"cursor\",\"width\":%" PRIu32 ",\"height\":%" PRIu32
		  ",\"hot_x\":%" PRIu32 ",\"hot_y\":%" PRIu32 ",\"argb\":\"",
		  srv->cursor_w, srv->cursor_h, srv->cursor_hx, srv->cursor_hy);
	sb_base64(&b, srv->cursor, (size_t)srv->cursor_w * srv->cursor_h * 4);
	sb_printf(&b, "\"}\n");
	/* Cannot happen with VGPU_DISPLAY_CURSOR_MAX_PIXELS; never send half. */
	return b.overflow ? 0 : b.len;
}

/* t: CLOCK_MONOTONIC ns when the damage reached the server (the oldest
 * part of it, for merged damage), so a viewer on this host can measure
 * guest-damage-to-viewer latency (tests/bench/display.py). */
static size_t fmt_damage(char *buf, size_t cap, const struct vgpu_rect *r, unsigned n, uint64_t t)
{
	struct sbuf b = { buf, 0, cap };

	sb_printf(&b, "{\"type\":\"damage\",\"t\":%" PRIu64 ",\"rects\":[", t);
	for (unsigned i = 0; i < n; i++)
		sb_printf(&b, "%s[%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 "]", i ? "," : "",
			  r[i].x, r[i].y, r[i].w, r[i].h);
	sb_printf(&b, "]}\n");
	return b.overflow ? 0 : b.len;
}

/* A reply holding viewer-chosen text: json-c does the escaping. */
static size_t fmt_json(struct vgpu_display_server *srv, struct json_object *o)
{
	const char *s;
	size_t n = 0;

	if (!o)
		return 0;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (!s || n + 2 > SCRATCH_SIZE) {
		json_object_put(o);
		return 0;
	}
	memcpy(srv->scratch, s, n);
	srv->scratch[n++] = '\n';
	json_object_put(o);
	return n;
}

static size_t fmt_error(struct vgpu_display_server *srv, const char *message)
{
	struct json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(o, "type", json_object_new_string("error"));
		json_object_object_add(o, "message", json_object_new_string(message));
	}
	return fmt_json(srv, o);
}

static size_t fmt_pong(struct vgpu_display_server *srv, struct json_object *id)
{
	struct json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(o, "type", json_object_new_string("pong"));
		if (id)
			json_object_object_add(o, "id", json_object_get(id));
	}
	return fmt_json(srv, o);
}

/* --- viewers --------------------------------------------------------------- */

static size_t viewer_queued(const struct viewer *v)
{
	return v->out_end - v->out_start;
}

static void viewer_free(struct viewer *v)
{
	struct vgpu_display_server *srv = v->srv;

	srv->viewers[v->slot] = NULL;
	loop_source_remove(v->src);
	ipc_conn_free(v->conn);
	free(v->out);
	free(v);
}

/* End a viewer.  v is invalid afterwards unless it was busy. */
static void viewer_kill(struct viewer *v, const char *why)
{
	if (v->dead)
		return;
	log_info("display: viewer %" PRIu64 " disconnected: %s", v->serial, why);
	if (!v->busy) {
		viewer_free(v);
		return;
	}
	v->dead = true;
	loop_source_remove(v->src);
	v->src = NULL;
}

static void viewer_set_want_out(struct viewer *v, bool want)
{
	if (v->want_out == want || !v->src)
		return;
	/* Cannot fail for a source on the loop; if it did, the viewer would
	 * only stall until its next input. */
	if (loop_source_set_events(v->src, EPOLLIN | (want ? EPOLLOUT : 0)) == 0)
		v->want_out = want;
}

/* Append without writing.  -ENOBUFS when the queue would overflow: then
 * the viewer is killed. */
static int viewer_append(struct viewer *v, const char *s, size_t n)
{
	size_t used = viewer_queued(v);

	if (used + n > VGPU_DISPLAY_QUEUE_MAX) {
		v->srv->stats.overflows++;
		viewer_kill(v, "outgoing queue full (the viewer does not read)");
		return -ENOBUFS;
	}
	if (v->out_end + n > v->out_cap) {
		if (v->out_start) {
			memmove(v->out, v->out + v->out_start, used);
			v->out_start = 0;
			v->out_end = used;
		}
		if (used + n > v->out_cap) {
			size_t cap = v->out_cap ? v->out_cap : 4096;
			char *p;

			while (cap < used + n)
				cap *= 2;
			cap = MIN(cap, (size_t)VGPU_DISPLAY_QUEUE_MAX);
			p = realloc(v->out, cap);
			if (!p) {
				viewer_kill(v, "out of memory");
				return -ENOMEM;
			}
			v->out = p;
			v->out_cap = cap;
		}
	}
	memcpy(v->out + v->out_end, s, n);
	v->out_end += n;
	return 0;
}

/* 0, or -errno after the viewer was killed. */
static int viewer_append_damage_box(struct viewer *v)
{
	struct vgpu_display_server *srv = v->srv;
	/* Not the scratch buffer: this runs inside broadcasts of it. */
	char buf[128];
	size_t n;
	int r;

	v->damage_pending = false;
	n = fmt_damage(buf, sizeof(buf), &v->damage_box, 1, v->damage_t);
	if (!n)
		return 0;
	r = viewer_append(v, buf, n);
	if (r < 0)
		return r;
	srv->stats.damage_messages++;
	srv->stats.damage_rects++;
	return 0;
}

/* Write what the socket takes.  0, or -errno after the viewer was killed. */
static int viewer_flush(struct viewer *v)
{
	struct vgpu_display_server *srv = v->srv;
	int fd = ipc_conn_fd(v->conn);

	if (v->dead)
		return -EPIPE;
	for (;;) {
		while (v->out_start < v->out_end) {
			union {
				struct cmsghdr align;
				char buf[CMSG_SPACE(sizeof(int))];
			} cbuf;
			struct iovec iov = { v->out + v->out_start, v->out_end - v->out_start };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
			ssize_t n;

			if (v->fd_pending) {
				struct cmsghdr *cm;

				memset(&cbuf, 0, sizeof(cbuf));
				mh.msg_control = cbuf.buf;
				mh.msg_controllen = sizeof(cbuf.buf);
				cm = CMSG_FIRSTHDR(&mh);
				cm->cmsg_level = SOL_SOCKET;
				cm->cmsg_type = SCM_RIGHTS;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &srv->ro_fd, sizeof(int));
			}
			n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					break;
				viewer_kill(v, errno == EPIPE || errno == ECONNRESET
						       ? "gone" : strerror(errno));
				return -EPIPE;
			}
			v->fd_pending = false;
			v->out_start += (size_t)n;
			srv->stats.bytes_sent += (uint64_t)n;
		}
		/* Caught up far enough: the damage held back goes out now. */
		if (!v->damage_pending || viewer_queued(v) >= VGPU_DISPLAY_COALESCE_BYTES)
			break;
		if (viewer_append_damage_box(v) < 0)
			return -EPIPE;
	}
	if (v->out_start == v->out_end) {
		v->out_start = v->out_end = 0;
		/* A viewer that once fell behind need not hold a big buffer. */
		if (v->out_cap > QUEUE_KEEP) {
			free(v->out);
			v->out = NULL;
			v->out_cap = 0;
		}
	}
	viewer_set_want_out(v, v->out_start < v->out_end);
	return 0;
}

/* Queue a line and write it when nothing waits before it.  0 or -errno
 * (the viewer was killed). */
static int viewer_push(struct viewer *v, const char *s, size_t n)
{
	int r;

	if (v->dead)
		return -EPIPE;
	if (!n)
		return 0;
	r = viewer_append(v, s, n);
	if (r < 0)
		return r;
	return v->want_out ? 0 : viewer_flush(v);
}

static void viewer_error(struct viewer *v, const char *message)
{
	struct vgpu_display_server *srv = v->srv;

	viewer_push(v, srv->scratch, fmt_error(srv, message));
}

static void viewer_bad(struct viewer *v, const char *message)
{
	struct vgpu_display_server *srv = v->srv;
	uint64_t now = now_ns();

	srv->stats.bad_messages++;
	if (ratelimit_ok(++srv->log_bad))
		log_warn("display: viewer %" PRIu64 ": bad message (#%" PRIu64 "): %s", v->serial,
			 srv->log_bad, message);
	if (now - v->bad_since > BAD_WINDOW_NS) {
		v->bad_since = now;
		v->bad_count = 0;
	}
	if (++v->bad_count > VGPU_DISPLAY_MAX_BAD) {
		srv->stats.dropped_bad++;
		viewer_kill(v, "too many bad messages");
		return;
	}
	viewer_error(v, message);
}

static const char *resolution_error(int r)
{
	switch (r) {
	case -EINVAL:
		return "resolution refused: out of range or too big for the VRAM";
	case -ENOTCONN:
		return "resolution refused: the guest's video driver is not connected";
	case -EOPNOTSUPP:
		return "resolution refused: not supported";
	default:
		return "resolution refused";
	}
}

static void viewer_handle(struct viewer *v, const struct vgpu_display_msg *m)
{
	struct vgpu_display_server *srv = v->srv;
	const struct vgpu_display_server_config *cfg = &srv->cfg;
	int r;

	switch (m->type) {
	case VGPU_DISPLAY_MSG_KEY:
		srv->stats.keys++;
		if (cfg->input && cfg->input->key)
			cfg->input->key(cfg->input_data, m->key.scancode, m->key.down, m->key.e0,
					m->key.e1);
		return;
	case VGPU_DISPLAY_MSG_MOUSE:
		srv->stats.mice++;
		if (cfg->input && cfg->input->mouse)
			cfg->input->mouse(cfg->input_data, m->mouse.x, m->mouse.y, m->mouse.buttons,
					  m->mouse.wheel);
		return;
	case VGPU_DISPLAY_MSG_RESOLUTION:
		srv->stats.resolutions++;
		r = cfg->resolution ? cfg->resolution(cfg->data, m->resolution.width,
						      m->resolution.height)
				    : -EOPNOTSUPP;
		log_info("display: viewer %" PRIu64 " asked for %" PRIu32 "x%" PRIu32 ": %s",
			 v->serial, m->resolution.width, m->resolution.height,
			 r < 0 ? strerror(-r) : "requested");
		if (r < 0)
			viewer_error(v, resolution_error(r));
		return;
	case VGPU_DISPLAY_MSG_PING:
		srv->stats.pings++;
		/* A pong promises that everything before it was sent. */
		if (v->damage_pending && viewer_append_damage_box(v) < 0)
			return;
		viewer_push(v, srv->scratch, fmt_pong(srv, m->id));
		return;
	}
}

static void viewer_line(struct ipc_conn *conn, struct json_object *msg, int err, int *fds,
			size_t nfds, void *data)
{
	struct viewer *v = data;
	struct vgpu_display_msg m;
	const char *emsg = NULL;

	/* Viewers send no fds; any that came along are closed by ipc_conn. */
	(void)conn;
	(void)fds;
	(void)nfds;
	if (v->dead)
		return;
	if (err < 0) {
		viewer_bad(v, err == -EMSGSIZE ? "line too long"
					       : "a message must be a JSON object");
		return;
	}
	if (vgpu_display_msg_from_object(msg, &m, &emsg) < 0) {
		viewer_bad(v, emsg);
		return;
	}
	viewer_handle(v, &m);
	vgpu_display_msg_finish(&m);
}

static void viewer_io(struct loop *l, int fd, uint32_t events, void *data)
{
	struct viewer *v = data;
	int r;

	if ((events & EPOLLOUT) && viewer_flush(v) < 0)
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	v->busy = true;
	r = ipc_conn_read(v->conn, viewer_line, v);
	v->busy = false;
	if (v->dead) {
		viewer_free(v);
		return;
	}
	if (r != 0) {
		log_info("display: viewer %" PRIu64 " disconnected%s%s", v->serial,
			 r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		viewer_free(v);
	}
}

/* The state a new viewer starts from, after the hello. */
static int viewer_welcome(struct viewer *v)
{
	struct vgpu_display_server *srv = v->srv;
	int r;

	v->fd_pending = true;
	r = viewer_push(v, srv->scratch, fmt_hello(srv));
	if (r == 0)
		r = viewer_push(v, srv->scratch, fmt_mode(srv));
	if (r == 0)
		r = viewer_push(v, srv->scratch, fmt_pointer(srv));
	if (r == 0 && srv->have_cursor)
		r = viewer_push(v, srv->scratch, fmt_cursor(srv));
	return r;
}

static void refuse(struct vgpu_display_server *srv, int fd, const char *why)
{
	size_t n = fmt_error(srv, why);

	/* Best effort on a fresh socket, which has room for one line. */
	if (n && send(fd, srv->scratch, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("display: refusal not sent: %s", strerror(errno));
	close(fd);
	srv->stats.refused++;
	if (ratelimit_ok(++srv->log_refused))
		log_warn("display: refused a viewer (#%" PRIu64 "): %s", srv->log_refused, why);
}

static void server_accept(struct loop *l, int lfd, uint32_t events, void *data)
{
	struct vgpu_display_server *srv = data;

	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		struct viewer *v;
		unsigned slot;
		int fd, r;

		if (ipc_accept(lfd, &fd) < 0)
			return;
		for (slot = 0; slot < VGPU_DISPLAY_MAX_VIEWERS; slot++)
			if (!srv->viewers[slot])
				break;
		if (slot == VGPU_DISPLAY_MAX_VIEWERS) {
			refuse(srv, fd, "too many viewers");
			continue;
		}
		v = calloc(1, sizeof(*v));
		if (!v) {
			close(fd);
			continue;
		}
		r = ipc_conn_new(fd, &v->conn);
		if (r < 0) {
			close(fd);
			free(v);
			continue;
		}
		v->srv = srv;
		v->slot = slot;
		v->serial = ++srv->next_serial;
		r = loop_add_fd(srv->cfg.loop, fd, EPOLLIN, viewer_io, v, &v->src);
		if (r < 0) {
			log_errno(LOG_WARN, r, "display: cannot watch a viewer");
			ipc_conn_free(v->conn);
			free(v);
			continue;
		}
		srv->viewers[slot] = v;
		srv->stats.connects++;
		log_info("display: viewer %" PRIu64 " connected", v->serial);
		/* On failure the viewer is already gone. */
		(void)viewer_welcome(v);
	}
}

/* --- the video device's side ------------------------------------------------ */

static void broadcast(struct vgpu_display_server *srv, size_t n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++)
		if (srv->viewers[i])
			viewer_push(srv->viewers[i], srv->scratch, n);
}

/* Does the mode lie inside the VRAM?  Viewers would fault reading past it. */
static bool mode_fits(const struct vgpu_mode *m, size_t vram_size)
{
	uint64_t row = (uint64_t)m->width * 4, end;

	if (!m->width || !m->height || m->format != VGPU_FORMAT_XRGB8888 || m->stride < row)
		return false;
	end = m->vram_offset + (uint64_t)m->stride * (m->height - 1) + row;
	return m->vram_offset < vram_size && end >= m->vram_offset && end <= vram_size;
}

static void display_mode(void *data, const struct vgpu_mode *m)
{
	struct vgpu_display_server *srv = data;

	srv->mode = *m;
	if (m->valid && !mode_fits(m, srv->cfg.vram_size)) {
		if (ratelimit_ok(++srv->log_device))
			log_warn("display: mode %" PRIu32 "x%" PRIu32 " stride %" PRIu32
				 " offset %" PRIu64 " does not fit the VRAM; not shown",
				 m->width, m->height, m->stride, m->vram_offset);
		srv->mode = (struct vgpu_mode){ .valid = false };
	}
	if (!srv->mode.valid)
		srv->mode = (struct vgpu_mode){ .valid = false };
	/* After a mode viewers redraw everything: held-back damage is moot. */
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++)
		if (srv->viewers[i])
			srv->viewers[i]->damage_pending = false;
	broadcast(srv, fmt_mode(srv));
}

static void box_merge(struct vgpu_rect *box, const struct vgpu_rect *r)
{
	uint32_t x1 = MAX(box->x + box->w, r->x + r->w);
	uint32_t y1 = MAX(box->y + box->h, r->y + r->h);

	box->x = MIN(box->x, r->x);
	box->y = MIN(box->y, r->y);
	box->w = x1 - box->x;
	box->h = y1 - box->y;
}

static void display_damage(void *data, const struct vgpu_rect *rects, unsigned n)
{
	struct vgpu_display_server *srv = data;
	struct vgpu_rect clipped[VGPU_DISPLAY_MAX_RECTS], box = { 0 };
	const struct vgpu_mode *m = &srv->mode;
	uint64_t t = now_ns();
	unsigned k = 0;
	size_t len = 0;

	srv->stats.damage_calls++;
	srv->stats.damage_rects_in += n;
	if (!m->valid)
		return;
	/* Clipped again here: the coordinates go to viewers that trust them. */
	for (unsigned i = 0; i < n; i++) {
		struct vgpu_rect r = rects[i];

		if (r.x >= m->width || r.y >= m->height || !r.w || !r.h)
			continue;
		r.w = MIN(r.w, m->width - r.x);
		r.h = MIN(r.h, m->height - r.y);
		if (k == 0)
			box = r;
		else
			box_merge(&box, &r);
		if (k < VGPU_DISPLAY_MAX_RECTS)
			clipped[k] = r;
		k++;
	}
	if (!k)
		return;
	if (k > VGPU_DISPLAY_MAX_RECTS) {
		clipped[0] = box;
		k = 1;
	}

	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++) {
		struct viewer *v = srv->viewers[i];

		if (!v || v->dead)
			continue;
		if (v->damage_pending || viewer_queued(v) >= VGPU_DISPLAY_COALESCE_BYTES) {
			if (v->damage_pending) {
				box_merge(&v->damage_box, &box);
			} else {
				v->damage_box = box;
				v->damage_t = t;
			}
			v->damage_pending = true;
			srv->stats.damage_coalesced++;
			continue;
		}
		/* Formatted for the first viewer that takes it as is. */
		if (!len)
			len = fmt_damage(srv->scratch, SCRATCH_SIZE, clipped, k, t);
		if (viewer_push(v, srv->scratch, len) == 0) {
			srv->stats.damage_messages++;
			srv->stats.damage_rects += k;
		}
	}
}

static void display_pointer_position(void *data, int32_t x, int32_t y, bool visible)
{
	struct vgpu_display_server *srv = data;

	srv->ptr_x = x;
	srv->ptr_y = y;
	srv->ptr_visible = visible;
	broadcast(srv, fmt_pointer(srv));
}

static void display_pointer_shape(void *data, uint32_t w, uint32_t h, uint32_t hot_x,
				  uint32_t hot_y, const uint8_t *argb)
{
	struct vgpu_display_server *srv = data;
	uint64_t pixels = (uint64_t)w * h;
	uint8_t *copy = NULL;

	if (pixels > VGPU_DISPLAY_CURSOR_MAX_PIXELS || (pixels && !argb)) {
		if (ratelimit_ok(++srv->log_device))
			log_warn("display: a %" PRIu32 "x%" PRIu32 " pointer shape is too big to "
				 "forward", w, h);
		return;
	}
	if (pixels) {
		copy = malloc(pixels * 4);
		if (!copy)
			return;
		memcpy(copy, argb, pixels * 4);
	} else {
		w = h = 0;
	}
	free(srv->cursor);
	srv->cursor = copy;
	srv->cursor_w = w;
	srv->cursor_h = h;
	srv->cursor_hx = w ? MIN(hot_x, w - 1) : 0;
	srv->cursor_hy = h ? MIN(hot_y, h - 1) : 0;
	srv->have_cursor = true;
	broadcast(srv, fmt_cursor(srv));
}

static const struct vgpu_display_ops server_ops = {
	.mode = display_mode,
	.damage = display_damage,
	.pointer_position = display_pointer_position,
	.pointer_shape = display_pointer_shape,
};

const struct vgpu_display_ops *vgpu_display_server_ops(void)
{
	return &server_ops;
}

/* --- lifetime ---------------------------------------------------------------- */

/* A read-only open file of the VRAM: through it a viewer can map the VRAM
 * PROT_READ only (a shared writable mapping needs an fd opened for writing).
 * Only a seal stops a viewer from reopening /proc/self/fd/N for writing. */
static int reopen_read_only(int fd, size_t size, int *ret)
{
	char path[64];
	struct stat st;
	int ro, seals;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return -errno;
	if (fstat(ro, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size) {
		close(ro);
		return -EINVAL;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		log_debug("display: the VRAM has no F_SEAL_FUTURE_WRITE: a viewer could reopen "
			  "it for writing");
	*ret = ro;
	return 0;
}

int vgpu_display_server_new(const struct vgpu_display_server_config *cfg,
			    struct vgpu_display_server **ret)
{
	struct vgpu_display_server *srv;
	int r;

	if (!cfg || !cfg->loop || !cfg->path || cfg->vram_fd < 0 || !cfg->vram_size)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->listen_fd = -1;
	srv->ro_fd = -1;
	srv->path = strdup(cfg->path);
	srv->scratch = malloc(SCRATCH_SIZE);
	if (!srv->path || !srv->scratch) {
		r = -ENOMEM;
		goto fail;
	}
	srv->cfg.path = srv->path;
	r = reopen_read_only(cfg->vram_fd, cfg->vram_size, &srv->ro_fd);
	if (r < 0)
		goto fail;
	r = ipc_listen(srv->path, &srv->listen_fd);
	if (r < 0)
		goto fail;
	r = loop_add_fd(cfg->loop, srv->listen_fd, EPOLLIN, server_accept, srv, &srv->listen_src);
	if (r < 0) {
		unlink(srv->path);
		goto fail;
	}
	*ret = srv;
	return 0;

fail:
	close_nointr(srv->listen_fd);
	close_nointr(srv->ro_fd);
	free(srv->scratch);
	free(srv->path);
	free(srv);
	return r;
}

void vgpu_display_server_free(struct vgpu_display_server *srv)
{
	if (!srv)
		return;
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++)
		if (srv->viewers[i])
			viewer_free(srv->viewers[i]);
	loop_source_remove(srv->listen_src);
	close_nointr(srv->listen_fd);
	unlink(srv->path);
	close_nointr(srv->ro_fd);
	free(srv->cursor);
	free(srv->scratch);
	free(srv->path);
	free(srv);
}

void vgpu_display_server_get_stats(const struct vgpu_display_server *srv,
				   struct vgpu_display_server_stats *ret)
{
	*ret = srv->stats;
	ret->viewers = 0;
	for (unsigned i = 0; i < VGPU_DISPLAY_MAX_VIEWERS; i++)
		if (srv->viewers[i] && !srv->viewers[i]->dead)
			ret->viewers++;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A client of a VM's display socket (docs/display.md): skyrdp's worker is a
 * viewer.  viewer_parse() is the pure part, over what skyvm sends (checked
 * as untrusted, fuzzed by tests/fuzz/fuzz-rdp-viewer.c); struct viewer
 * is the connection: the hello, the read-only VRAM mapping, and the input
 * messages going the other way.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcc.h"

/* At most this many damage rectangles per message (docs/display.md). */
#define VIEWER_MAX_RECTS 256
/* Largest pointer shape skyvm forwards, in pixels. */
#define VIEWER_CURSOR_MAX_PIXELS 11264u
/* Largest mode we accept; the socket's resolution requests go to 7680x4320. */
#define VIEWER_MAX_DIM 8192u

enum viewer_msg_type {
	VIEWER_MSG_UNKNOWN = 0, /* a type of a later version: ignore it */
	VIEWER_MSG_HELLO,
	VIEWER_MSG_MODE,
	VIEWER_MSG_DAMAGE,
	VIEWER_MSG_POINTER,
	VIEWER_MSG_CURSOR,
	VIEWER_MSG_PONG,
	VIEWER_MSG_ERROR,
};

struct viewer_mode {
	bool valid;
	uint32_t width, height, stride;
	uint64_t offset;
};

struct viewer_msg {
	enum viewer_msg_type type;
	union {
		struct {
			uint32_t version;
			uint64_t vram_size;
		} hello;
		struct viewer_mode mode;
		struct {
			uint64_t t;
			unsigned n;
			struct rcc_rect rects[VIEWER_MAX_RECTS];
		} damage;
		struct {
			int32_t x, y;
			bool visible;
		} pointer;
		struct {
			uint32_t width, height, hot_x, hot_y;
			uint8_t *argb; /* width * height * 4 bytes, malloc'd; NULL for no shape */
		} cursor;
		struct {
			char message[160];
		} error;
	};
};

/*
 * Parse one line from the display socket (without its "\n").  Pure.
 *   -EBADMSG  not a JSON object line (ipc_parse_line's errors)
 *   -EPROTO   a known type with a missing, mistyped or out-of-range member
 *   -ENOMEM
 * On success release it with viewer_msg_clear().
 */
int viewer_parse(const char *line, size_t len, struct viewer_msg *ret);
void viewer_msg_clear(struct viewer_msg *m);

/* Whether the mode's surface lies inside a VRAM of vram_size bytes. */
bool viewer_mode_fits(const struct viewer_mode *m, uint64_t vram_size);

/* Standard base64 (with padding) into out (room for len / 4 * 3 bytes):
 * the decoded length, or -EINVAL.  Pure. */
long viewer_base64_decode(const char *in, size_t len, uint8_t *out);

/* --- the connection ---------------------------------------------------- */

struct viewer;

typedef void (*viewer_msg_fn)(const struct viewer_msg *m, void *data);

/*
 * Connect to path and wait (up to timeout_ms) for the hello with the VRAM
 * fd and the first mode; the VRAM is mapped read-only.
 *   -ENOENT/-ECONNREFUSED no such VM, -ETIMEDOUT, -EPROTO a bad hello.
 */
int viewer_connect(const char *path, int timeout_ms, struct viewer **ret);
void viewer_free(struct viewer *v);
int viewer_fd(const struct viewer *v);

/* The mode now (after the messages delivered so far). */
const struct viewer_mode *viewer_mode(const struct viewer *v);
/* The current mode's first pixel, or NULL when there is no valid mode. */
const uint8_t *viewer_pixels(const struct viewer *v);

/*
 * Read what the socket has and call fn for each message, in order (mode
 * messages after the viewer switched to them; bad lines are counted and
 * logged, not delivered).  0 while open, 1 at EOF, -errno.
 */
int viewer_read(struct viewer *v, viewer_msg_fn fn, void *data);
/* Deliver the pointer and shape that came with the first mode, while
 * viewer_connect() waited. */
void viewer_replay(struct viewer *v, viewer_msg_fn fn, void *data);

/* Input (docs/display.md "Viewer -> server"); -errno when the socket broke. */
int viewer_send_key(struct viewer *v, uint8_t scancode, bool down, bool e0, bool e1);
/* x, y 0..32767; buttons bit 0 left, 1 right, 2 middle; wheel in detents. */
int viewer_send_mouse(struct viewer *v, uint32_t x, uint32_t y, unsigned buttons, int wheel);
int viewer_send_resolution(struct viewer *v, uint32_t width, uint32_t height);

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The display socket of one VM (docs/display.md): JSON lines over a UNIX
 * socket.  Each viewer gets a read-only fd of the VRAM memfd, the current
 * mode, pointer and cursor, then mode/damage/pointer/cursor events as they
 * happen; viewers send keys, absolute mouse events, resolution requests and
 * pings.  All on the VM's loop thread.
 *
 * Viewers are not trusted: every message is checked, and a viewer never
 * blocks the loop.  Its outgoing queue is bounded; damage for a viewer that
 * is behind is merged into one bounding box, and a viewer whose queue still
 * overflows is disconnected.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display.h"

struct json_object;
struct loop;
struct vgpu_display_server;

#define VGPU_DISPLAY_VERSION 1
#define VGPU_DISPLAY_MAX_VIEWERS 8
/* Unsent bytes a viewer may have queued before it is disconnected. */
#define VGPU_DISPLAY_QUEUE_MAX (1024 * 1024)
/* From this many unsent bytes on, a viewer's damage is merged into one
 * bounding box, sent once its queue drained below this again. */
#define VGPU_DISPLAY_COALESCE_BYTES (64 * 1024)
/* Pointer shapes with more pixels are not forwarded: their base64 must fit
 * one IPC_MAX_LINE (64 KiB) line.  96x96 (hyperv_drm's largest) fits. */
#define VGPU_DISPLAY_CURSOR_MAX_PIXELS 11264u
/* Damage calls with more rectangles are sent as their bounding box. */
#define VGPU_DISPLAY_MAX_RECTS 256u
/* A viewer that sends this many bad messages within 10 s is dropped. */
#define VGPU_DISPLAY_MAX_BAD 64u
/* Longest string "id" of a ping (bytes). */
#define VGPU_DISPLAY_ID_MAX 128u

struct vgpu_display_server_config {
	struct loop *loop;
	/* The UNIX socket to listen on (mode 0600; a stale one is replaced). */
	const char *path;
	/* The VRAM memfd (kept by the caller) and its size.  Viewers get a
	 * read-only reopening of it. */
	int vram_fd;
	size_t vram_size;
	/* Where viewers' keys and mouse events go; may be NULL (dropped). */
	const struct vgpu_input_ops *input;
	void *input_data;
	/* A viewer asked for a resolution; 0 or -errno (the viewer gets an
	 * error).  May be NULL (refused with -EOPNOTSUPP). */
	int (*resolution)(void *data, uint32_t width, uint32_t height);
	void *data;
};

int vgpu_display_server_new(const struct vgpu_display_server_config *cfg,
			    struct vgpu_display_server **ret);
/* Disconnects all viewers and unlinks the socket.  Not from inside one of
 * the server's own callbacks.  Accepts NULL. */
void vgpu_display_server_free(struct vgpu_display_server *srv);

/* The video device's output: pass these with the server as their data. */
const struct vgpu_display_ops *vgpu_display_server_ops(void);

struct vgpu_display_server_stats {
	unsigned viewers;             /* connected now */
	uint64_t connects, refused;   /* refused: over VGPU_DISPLAY_MAX_VIEWERS */
	uint64_t overflows;           /* viewers dropped for a full queue */
	uint64_t bad_messages, dropped_bad; /* dropped_bad: viewers dropped for them */
	uint64_t keys, mice, resolutions, pings;
	uint64_t damage_calls, damage_rects_in; /* from the video device */
	uint64_t damage_messages, damage_rects; /* queued to viewers, summed */
	uint64_t damage_coalesced;    /* damage calls merged into a viewer's box */
	uint64_t bytes_sent;
};
void vgpu_display_server_get_stats(const struct vgpu_display_server *srv,
				   struct vgpu_display_server_stats *ret);

/*
 * Viewer messages, parsed.  Pure (no I/O), used by the server and the
 * fuzzer.  On failure *ret_err is a message for the viewer.
 */
enum vgpu_display_msg_type {
	VGPU_DISPLAY_MSG_KEY,
	VGPU_DISPLAY_MSG_MOUSE,
	VGPU_DISPLAY_MSG_RESOLUTION,
	VGPU_DISPLAY_MSG_PING,
};

struct vgpu_display_msg {
	enum vgpu_display_msg_type type;
	union {
		struct {
			uint16_t scancode; /* 1..127: the make code */
			bool down, e0, e1;
		} key;
		struct {
			uint16_t x, y;   /* 0..32767 */
			uint8_t buttons; /* 0..7 */
			int8_t wheel;    /* -127..127 */
		} mouse;
		struct {
			uint32_t width, height;
		} resolution;
	};
	/* ping: a reference to its "id" (an integer or a short string), or
	 * NULL; released by vgpu_display_msg_finish(). */
	struct json_object *id;
};

/* obj is borrowed.  -EINVAL (bad field), -EOPNOTSUPP (unknown type). */
int vgpu_display_msg_from_object(struct json_object *obj, struct vgpu_display_msg *ret,
				 const char **ret_err);
/* One line without its "\n": ipc_parse_line() errors too. */
int vgpu_display_msg_parse(const char *line, size_t len, struct vgpu_display_msg *ret,
			   const char **ret_err);
void vgpu_display_msg_finish(struct vgpu_display_msg *m);

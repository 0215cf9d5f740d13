/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The wire format of Hyper-V's synthetic video protocol (vgpu/synthvid.c
 * uses it; unit tests and the synthvid fuzz target drive it directly).
 * Pure: buffers in, buffers out, no state but what the caller passes.
 *
 * Every message is one VMBus in-band packet whose payload is
 *   struct synthvid_pipe_hdr  (type = PIPE_MSG_DATA, size = bytes after it)
 *   struct synthvid_msg_hdr   (type, size = this header + the body)
 *   the body
 * (Linux 6.1 drivers/gpu/drm/hyperv/hyperv_drm_proto.c, the same layout
 * in drivers/video/fbdev/hyperv_fb.c).  Linux sends vid_hdr.size + 8
 * bytes and the packet is padded to 8, so the headers, not the packet
 * length, say where a message ends; both are checked against it.  All
 * fields are little-endian and unaligned: a message is copied out of the
 * buffer, never cast in place.
 */

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display.h"
#include "util.h"

/* The structs below are the wire layout on a little-endian host. */
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "synthvid structs are little-endian");

/* Versions: the minor number in the high half (SYNTHVID_VERSION()). */
#define SYNTHVID_VERSION(major, minor) (((uint32_t)(minor) << 16) | (uint32_t)(major))
#define SYNTHVID_VERSION_MAJOR(v) ((unsigned)((v) & 0xffff))
#define SYNTHVID_VERSION_MINOR(v) ((unsigned)((v) >> 16))
#define SYNTHVID_VERSION_WIN7 SYNTHVID_VERSION(3, 0)  /* 16 bpp: refused */
#define SYNTHVID_VERSION_WIN8 SYNTHVID_VERSION(3, 2)
#define SYNTHVID_VERSION_WIN10 SYNTHVID_VERSION(3, 5) /* adds the resolution list */

/* pipe_msg_hdr.type */
#define SYNTHVID_PIPE_MSG_DATA 1u

/* synthvid_msg_hdr.type (enum synthvid_msg_type) */
enum synthvid_msg_type {
	SYNTHVID_ERROR = 0,
	SYNTHVID_VERSION_REQUEST = 1,
	SYNTHVID_VERSION_RESPONSE = 2,
	SYNTHVID_VRAM_LOCATION = 3,
	SYNTHVID_VRAM_LOCATION_ACK = 4,
	SYNTHVID_SITUATION_UPDATE = 5,
	SYNTHVID_SITUATION_UPDATE_ACK = 6,
	SYNTHVID_POINTER_POSITION = 7,
	SYNTHVID_POINTER_SHAPE = 8,
	SYNTHVID_FEATURE_CHANGE = 9,
	SYNTHVID_DIRT = 10,
	SYNTHVID_RESOLUTION_REQUEST = 13,
	SYNTHVID_RESOLUTION_RESPONSE = 14,
};

/* The guest's receive buffer (VMBUS_MAX_PACKET_SIZE in hyperv_drm,
 * MAX_VMBUS_PKT_SIZE in hyperv_fb): no packet to it may be larger, and we
 * take none larger from it. */
#define SYNTHVID_MAX_PACKET 0x4000u
#define SYNTHVID_EDID_SIZE 128u
#define SYNTHVID_MAX_RESOLUTIONS 64u
/* Largest cursor we take, per side (Linux says 96; Windows may use 128). */
#define SYNTHVID_CURSOR_MAX 128u
#define SYNTHVID_CURSOR_MAX_BYTES (SYNTHVID_CURSOR_MAX * SYNTHVID_CURSOR_MAX * 4u)
/* pointer_shape.part_idx of a shape sent whole (CURSOR_COMPLETE, -1 as u8). */
#define SYNTHVID_CURSOR_COMPLETE 0xffu
/* dirt_count is a u8. */
#define SYNTHVID_MAX_DIRT 255u
/* Widest line we accept: 8192 XRGB8888 pixels (a DRM framebuffer's pitch
 * may exceed the mode's width * 4). */
#define SYNTHVID_MAX_PITCH (8192u * 4u)

struct synthvid_pipe_hdr {
	uint32_t type;
	uint32_t size; /* bytes after this header */
} _packed_;

struct synthvid_msg_hdr {
	uint32_t type;
	uint32_t size; /* this header and the body */
} _packed_;

#define SYNTHVID_HDR_SIZE (sizeof(struct synthvid_pipe_hdr) + sizeof(struct synthvid_msg_hdr))

struct synthvid_version_req {
	uint32_t version;
} _packed_;

struct synthvid_version_resp {
	uint32_t version;
	uint8_t is_accepted;
	uint8_t max_video_outputs;
} _packed_;

struct synthvid_vram_location {
	uint64_t user_ctx;
	uint8_t is_vram_gpa_specified;
	uint64_t vram_gpa;
} _packed_;

struct synthvid_vram_location_ack {
	uint64_t user_ctx;
} _packed_;

struct synthvid_video_output {
	uint8_t active;
	uint32_t vram_offset;
	uint8_t depth_bits;
	uint32_t width_pixels;
	uint32_t height_pixels;
	uint32_t pitch_bytes;
} _packed_;

/* With the first output; more may follow (we offer one). */
struct synthvid_situation_update {
	uint64_t user_ctx;
	uint8_t video_output_count;
	struct synthvid_video_output video_output[1];
} _packed_;

struct synthvid_situation_update_ack {
	uint64_t user_ctx;
} _packed_;

struct synthvid_pointer_position {
	uint8_t is_visible;
	uint8_t video_output;
	int32_t image_x;
	int32_t image_y;
} _packed_;

/* Followed by the pixel data (Linux's struct ends with data[4]). */
struct synthvid_pointer_shape {
	uint8_t part_idx;
	uint8_t is_argb;
	uint32_t width;
	uint32_t height;
	uint32_t hot_x;
	uint32_t hot_y;
} _packed_;

struct synthvid_feature_change {
	uint8_t is_dirt_needed;
	uint8_t is_ptr_pos_needed;
	uint8_t is_ptr_shape_needed;
	uint8_t is_situ_needed;
} _packed_;

/* x2, y2 exclusive. */
struct synthvid_rect {
	int32_t x1, y1, x2, y2;
} _packed_;

/* Followed by dirt_count rects. */
struct synthvid_dirt {
	uint8_t video_output;
	uint8_t dirt_count;
} _packed_;

struct synthvid_resolution_req {
	uint8_t maximum_resolution_count;
} _packed_;

struct synthvid_resolution {
	uint16_t width;
	uint16_t height;
} _packed_;

/* Followed by resolution_count resolutions (Linux's buffer has room for
 * SYNTHVID_MAX_RESOLUTIONS). */
struct synthvid_resolution_resp {
	uint8_t edid_block[SYNTHVID_EDID_SIZE];
	uint8_t resolution_count;
	uint8_t default_resolution_index;
	uint8_t is_standard;
} _packed_;

static_assert(sizeof(struct synthvid_pipe_hdr) == 8, "pipe_msg_hdr");
static_assert(sizeof(struct synthvid_msg_hdr) == 8, "synthvid_msg_hdr");
static_assert(sizeof(struct synthvid_version_req) == 4, "synthvid_version_req");
static_assert(sizeof(struct synthvid_version_resp) == 6, "synthvid_version_resp");
static_assert(sizeof(struct synthvid_vram_location) == 17, "synthvid_vram_location");
static_assert(sizeof(struct synthvid_vram_location_ack) == 8, "synthvid_vram_location_ack");
static_assert(sizeof(struct synthvid_video_output) == 18, "video_output_situation");
static_assert(sizeof(struct synthvid_situation_update) == 27, "synthvid_situation_update");
static_assert(sizeof(struct synthvid_situation_update_ack) == 8, "synthvid_situation_update_ack");
static_assert(sizeof(struct synthvid_pointer_position) == 10, "synthvid_pointer_position");
static_assert(sizeof(struct synthvid_pointer_shape) == 18, "synthvid_pointer_shape less data[]");
static_assert(sizeof(struct synthvid_feature_change) == 4, "synthvid_feature_change");
static_assert(sizeof(struct synthvid_rect) == 16, "rect");
static_assert(sizeof(struct synthvid_dirt) == 2, "synthvid_dirt less rect[]");
static_assert(sizeof(struct synthvid_resolution_req) == 1, "synthvid_supported_resolution_req");
static_assert(sizeof(struct synthvid_resolution) == 4, "hvd_screen_info");
static_assert(sizeof(struct synthvid_resolution_resp) == 131,
	      "synthvid_supported_resolution_resp less supported_resolution[]");

/* The largest message built here: a full resolution list. */
#define SYNTHVID_MAX_HOST_MSG \
	(SYNTHVID_HDR_SIZE + sizeof(struct synthvid_resolution_resp) + \
	 SYNTHVID_MAX_RESOLUTIONS * sizeof(struct synthvid_resolution))

/* A decoded message.  Pointers point into the parsed buffer. */
struct synthvid_msg {
	uint32_t type;
	const uint8_t *body; /* vid_hdr.size - 8 bytes */
	uint32_t body_len;
	union {
		struct synthvid_version_req version_req;
		struct synthvid_version_resp version_resp;
		struct synthvid_vram_location vram;
		struct synthvid_vram_location_ack vram_ack;
		struct synthvid_situation_update situ; /* the first output only */
		struct synthvid_situation_update_ack situ_ack;
		struct synthvid_pointer_position ptr_pos;
		struct {
			struct synthvid_pointer_shape hdr;
			const uint8_t *data;
			uint32_t data_len; /* bytes after the header */
		} ptr_shape;
		struct synthvid_feature_change feature;
		struct {
			struct synthvid_dirt hdr;
			const uint8_t *rects;
			unsigned nrects; /* dirt_count, bounded by the message */
		} dirt;
		struct synthvid_resolution_req res_req;
		struct {
			struct synthvid_resolution_resp hdr;
			const uint8_t *list; /* resolution_count entries */
		} res_resp;
	} u;
};

/* "version request", ...; "unknown" for others. */
const char *synthvid_msg_type_name(uint32_t type);

/*
 * Decode the message in buf[0..len) (a packet's payload).  Checks that
 * the pipe header says data and fits, that the video header fits in it
 * and its body holds the type's fixed part.  Returns 0, -EBADMSG for a
 * malformed message, or -ENOTSUP for a well-formed one of an unknown type.
 * m->type is set whenever len holds the headers.  Either direction's
 * messages decode.
 */
int synthvid_parse(const uint8_t *buf, size_t len, struct synthvid_msg *m);

/* Rect i < m->u.dirt.nrects of a DIRT message. */
void synthvid_dirt_rect(const struct synthvid_msg *m, unsigned i, struct synthvid_rect *ret);

/*
 * The DIRT message's rectangles clipped to a width x height surface,
 * empty ones dropped, into out[0..m->u.dirt.nrects).  Returns how many
 * were kept.
 */
unsigned synthvid_clip_dirt(const struct synthvid_msg *m, uint32_t width, uint32_t height,
			    struct vgpu_rect *out);

/*
 * The mode a SITUATION_UPDATE asks for, checked against a VRAM of
 * vram_size bytes: at least one output; if output 0 is active, depth 32,
 * 1 <= width <= VGPU_MAX_WIDTH, 1 <= height <= VGPU_MAX_HEIGHT,
 * width * 4 <= pitch <= SYNTHVID_MAX_PITCH and vram_offset + pitch *
 * height <= vram_size.  0 and *ret (valid = false for an inactive
 * output), or -EINVAL.
 */
int synthvid_situation_mode(const struct synthvid_situation_update *s, uint64_t vram_size,
			    struct vgpu_mode *ret);

/* Whether width x height is a size we offer with this much VRAM: both
 * non-zero, within VGPU_MAX_*, and width * height * 4 <= vram_size. */
bool synthvid_resolution_ok(uint64_t vram_size, uint32_t width, uint32_t height);

/*
 * The resolutions we offer: a standard list that fits the VRAM plus
 * want_w x want_h (the default; it must pass synthvid_resolution_ok()),
 * smallest first, at most max (1..SYNTHVID_MAX_RESOLUTIONS; the default
 * is always kept).  Returns the count; *default_index is the default's.
 */
unsigned synthvid_resolutions(uint64_t vram_size, uint32_t want_w, uint32_t want_h, unsigned max,
			      struct synthvid_resolution *out, unsigned *default_index);

/*
 * An EDID 1.4 base block (checksummed) for a monitor offering list[0..n):
 * the default as its preferred detailed timing (CVT reduced blanking at
 * 60 Hz; if it cannot be described, the largest that can), the others as
 * established and standard timings where they have codes.
 */
void synthvid_build_edid(uint8_t edid[SYNTHVID_EDID_SIZE], const struct synthvid_resolution *list,
			 unsigned n, unsigned default_index);

/*
 * Encoders: the pipe and video headers and body into buf.  Return the
 * message length, or -ENOBUFS if max is too small, -EINVAL for bad
 * arguments.
 */
int synthvid_encode(uint8_t *buf, size_t max, uint32_t type, const void *body, size_t body_len);
int synthvid_encode_version_resp(uint8_t *buf, size_t max, uint32_t version, bool accepted);
int synthvid_encode_vram_ack(uint8_t *buf, size_t max, uint64_t user_ctx);
int synthvid_encode_situation_ack(uint8_t *buf, size_t max, uint64_t user_ctx);
int synthvid_encode_feature_change(uint8_t *buf, size_t max,
				   const struct synthvid_feature_change *f);
/* n <= SYNTHVID_MAX_RESOLUTIONS, default_index < n. */
int synthvid_encode_resolution_resp(uint8_t *buf, size_t max,
				    const uint8_t edid[SYNTHVID_EDID_SIZE],
				    const struct synthvid_resolution *list, unsigned n,
				    unsigned default_index);

/*
 * A pointer shape, assembled from POINTER_SHAPE messages: one with
 * part_idx SYNTHVID_CURSOR_COMPLETE carries all of it; otherwise part 0
 * starts a shape and parts 1, 2, ... (same size) append to its pixels,
 * until width * height * 4 bytes have come.  ARGB8888 rows, no padding.
 */
struct synthvid_cursor {
	uint32_t width, height, hot_x, hot_y;
	uint32_t filled;    /* pixel bytes so far */
	int next_part;      /* the part expected next; -1 when none is */
	uint8_t argb[SYNTHVID_CURSOR_MAX_BYTES];
};

void synthvid_cursor_reset(struct synthvid_cursor *c);
/*
 * Add a POINTER_SHAPE message.  1: a shape is complete in c; 0: a part
 * was stored, more are to come; -EINVAL: a size beyond
 * SYNTHVID_CURSOR_MAX, too little data for a whole shape, or a part out of
 * sequence (what was assembled is dropped); -ENOTSUP: not ARGB (the
 * monochrome format is not supported).  Hotspots are clamped into the
 * shape.
 */
int synthvid_cursor_add(struct synthvid_cursor *c, const struct synthvid_msg *m);

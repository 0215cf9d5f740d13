/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What the video device tells the display side (the display socket, later
 * rcc/rdp) and what viewers send back.  All on the VM's loop thread.
 *
 * The framebuffer is the VRAM memfd itself: viewers map it read-only and
 * read pixels at vram_offset + y * stride + x * 4 (format below).
 */

#include <stdbool.h>
#include <stdint.h>

/* DRM_FORMAT_XRGB8888: little-endian B, G, R, X bytes. */
#define VGPU_FORMAT_XRGB8888 0x34325258u

struct vgpu_rect {
	uint32_t x, y, w, h;
};

struct vgpu_mode {
	uint32_t width, height, stride; /* stride in bytes */
	uint32_t format;                /* VGPU_FORMAT_* */
	uint64_t vram_offset;           /* of pixel (0,0) in the VRAM memfd */
	bool valid;                     /* false before the guest set a mode */
};

/* Output of the video device (implemented by the display server). */
struct vgpu_display_ops {
	/* The guest (re)defined its surface; also sent when VRAM moves. */
	void (*mode)(void *data, const struct vgpu_mode *m);
	/* These rectangles changed (already clipped to the mode). */
	void (*damage)(void *data, const struct vgpu_rect *rects, unsigned n);
	void (*pointer_position)(void *data, int32_t x, int32_t y, bool visible);
	/* ARGB8888 (premultiplied as the guest sent it), w*h*4 bytes. */
	void (*pointer_shape)(void *data, uint32_t w, uint32_t h, uint32_t hot_x, uint32_t hot_y,
			      const uint8_t *argb);
};

/* Input from viewers (implemented by the keyboard and mouse devices). */
struct vgpu_input_ops {
	/* A PC/AT set-1 scancode (make, or break with down=false); e0/e1 as
	 * the prefix bytes of extended keys. */
	void (*key)(void *data, uint16_t scancode, bool down, bool e0, bool e1);
	/* Absolute pointer: x, y in 0..32767 over the screen; buttons bit 0
	 * left, 1 right, 2 middle; wheel in detents (+ = away from the user). */
	void (*mouse)(void *data, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel);
};

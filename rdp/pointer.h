/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Pointer shapes from the display socket (ARGB8888, top-down, as the guest
 * set them) in the form of an RDP 32 bpp color pointer (MS-RDPBCGR
 * 2.2.9.1.1.4.4): an XOR mask of BGRA rows bottom-up, and an AND mask
 * with 1 where the pixel is fully transparent, rows padded to 2 bytes.
 * Pure.
 */

#include <stddef.h>
#include <stdint.h>

/* The largest shape a plain (not large) pointer update may carry. */
#define POINTER_MAX_DIM 96u

struct pointer_shape {
	uint32_t width, height, hot_x, hot_y;
	uint8_t *xor_mask, *and_mask; /* malloc'd */
	size_t xor_len, and_len;
};

/* -EINVAL for an empty or too large shape, -ENOMEM. */
int pointer_convert(const uint8_t *argb, uint32_t width, uint32_t height, uint32_t hot_x,
		    uint32_t hot_y, struct pointer_shape *ret);
void pointer_shape_clear(struct pointer_shape *p);

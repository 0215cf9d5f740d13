// SPDX-License-Identifier: GPL-3.0-or-later
/* Pointer shapes for RDP pointer updates (pointer.h). */
#include "pointer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pointer_convert(const uint8_t *argb, uint32_t width, uint32_t height, uint32_t hot_x,
		    uint32_t hot_y, struct pointer_shape *ret)
{
	size_t xor_step, and_step;
	uint8_t *xor_mask, *and_mask;
	uint32_t x, y;

	if (!width || !height || width > POINTER_MAX_DIM || height > POINTER_MAX_DIM ||
	    hot_x >= width || hot_y >= height)
		return -EINVAL;
	xor_step = (size_t)width * 4;
	and_step = (width + 7) / 8;
	and_step += and_step % 2;
	xor_mask = malloc(xor_step * height);
	and_mask = calloc(height, and_step);
	if (!xor_mask || !and_mask) {
		free(xor_mask);
		free(and_mask);
		return -ENOMEM;
	}
	for (y = 0; y < height; y++) {
		/* Both masks are stored bottom-up, like a DIB. */
		const uint8_t *src = argb + (size_t)(height - 1 - y) * width * 4;
		uint8_t *dst = xor_mask + y * xor_step;
		uint8_t *and_row = and_mask + y * and_step;

		/* The display socket's ARGB8888 is little-endian: B, G, R, A in
		 * memory, as RDP's 32 bpp XOR mask wants it. */
		memcpy(dst, src, xor_step);
		for (x = 0; x < width; x++) {
			/* A transparent pixel: AND 1 over a black XOR, so clients
			 * that ignore alpha see "transparent" too. */
			if (!src[x * 4 + 3]) {
				and_row[x / 8] |= (uint8_t)(0x80 >> (x % 8));
				memset(dst + x * 4, 0, 4);
			}
		}
	}
	*ret = (struct pointer_shape){
		.width = width, .height = height, .hot_x = hot_x, .hot_y = hot_y,
		.xor_mask = xor_mask, .and_mask = and_mask,
		.xor_len = xor_step * height, .and_len = and_step * height,
	};
	return 0;
}

void pointer_shape_clear(struct pointer_shape *p)
{
	free(p->xor_mask);
	free(p->and_mask);
	p->xor_mask = p->and_mask = NULL;
}

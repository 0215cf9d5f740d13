/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The desktop cut into full-width horizontal bands, each an RDPGFX surface
 * with an H.264 stream of its own (gfx.c).  Pure.
 *
 * x264 spends a fixed time per macroblock per frame even on macroblocks
 * marked unchanged (ultrafast: ~5 ms for 1920x1080 on this project's
 * machine), and the client decodes whole pictures; a frame whose damage
 * lies in one band costs a band's worth of both, not the desktop's.
 * Bands are full width so horizontal motion stays in one stream.
 */

#include <stdint.h>

#include "rcc.h"

/* Rows a band aims at; a multiple of 16 (H.264 macroblocks). */
#define BANDS_ROWS 272u
/* At most this many bands: 4096 rows (rcc's limit) give 15. */
#define BANDS_MAX 16u

struct band {
	uint32_t y, h; /* first row and rows */
};

/*
 * Cut height rows into bands of about BANDS_ROWS each: every band but the
 * last has the same height, a multiple of 16; the last takes the rest.
 * A desktop under 1.5 bands' height is one band (y 0, h height).  Fills
 * out and returns the count, 1..BANDS_MAX; 0 for height 0.
 */
unsigned bands_layout(uint32_t height, struct band out[BANDS_MAX]);

/* The rows of s that band b covers, as a surface of its own (same pixels
 * and stride); -EINVAL when b does not lie inside s. */
int bands_view(const struct rcc_surface *s, const struct band *b, struct rcc_surface *ret);

/*
 * The parts of rects (n of them) that lie in band b, moved to the band's
 * coordinates (y - b.y), into out (room for n); empty parts are left out.
 * Returns how many were written.
 */
unsigned bands_clip(const struct rcc_rect *rects, unsigned n, const struct band *b,
		    struct rcc_rect *out);

// SPDX-License-Identifier: GPL-3.0-or-later
/* The desktop in horizontal bands (bands.h). */
#include "util.h"

#include <errno.h>

#include "bands.h"

unsigned bands_layout(uint32_t height, struct band out[BANDS_MAX])
{
	uint64_t n, rows, y;
	unsigned i = 0;

	if (!height)
		return 0;
	/* The band count nearest to BANDS_ROWS each, then equal bands of
	 * whole macroblock rows; rounding up may leave fewer than n. */
	n = MIN(MAX(((uint64_t)height + BANDS_ROWS / 2) / BANDS_ROWS, 1u), BANDS_MAX);
	rows = n == 1 ? height : ALIGN_UP(((uint64_t)height + n - 1) / n, 16u);
	for (y = 0; y < height && i < BANDS_MAX; y += rows)
		out[i++] = (struct band){ .y = (uint32_t)y, .h = (uint32_t)MIN(rows, height - y) };
	return i;
}

int bands_view(const struct rcc_surface *s, const struct band *b, struct rcc_surface *ret)
{
	if (!b->h || (uint64_t)b->y + b->h > s->height)
		return -EINVAL;
	*ret = (struct rcc_surface){
		.pixels = s->pixels + (size_t)b->y * s->stride,
		.width = s->width,
		.height = b->h,
		.stride = s->stride,
	};
	return 0;
}

unsigned bands_clip(const struct rcc_rect *rects, unsigned n, const struct band *b,
		    struct rcc_rect *out)
{
	uint64_t end = (uint64_t)b->y + b->h;
	unsigned i, m = 0;

	for (i = 0; i < n; i++) {
		uint64_t y0 = MAX((uint64_t)rects[i].y, b->y);
		uint64_t y1 = MIN((uint64_t)rects[i].y + rects[i].h, end);

		if (y0 >= y1 || !rects[i].w)
			continue;
		out[m++] = (struct rcc_rect){
			.x = rects[i].x,
			.y = (uint32_t)(y0 - b->y),
			.w = rects[i].w,
			.h = (uint32_t)(y1 - y0),
		};
	}
	return m;
}

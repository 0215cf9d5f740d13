// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Interleaved RLE (MS-RDPBCGR 2.2.9.1.1.3.1.2.4, the RDP 4.0/5.0 bitmap
 * compression) for 15, 16 and 24 bpp sessions without codecs.
 *
 * Our own encoder: FreeRDP 2.11's interleaved_compress() compares whole
 * 32-bit pixels (a guest's X byte breaks every run) and, even with X bytes
 * cleared, writes a wrong first pixel in front of its 24 bpp colour runs
 * (measured against its own interleaved_decompress()).  We use three
 * orders, which every decoder has:
 *
 *   background run  pixels equal to the pixel one row before in the stream;
 *   colour run      one colour repeated;
 *   colour image    literal pixels;
 *
 * each as a regular order (length 1-31 in the header byte, or 32-287 in
 * the next byte) or a MEGA_MEGA order (16-bit length).  The pixels go in
 * bitmap order, bottom row first.  Two rules of the decoder shape the
 * choices (FreeRDP's RLEDECOMPRESS in include/freerdp/codec/bitmap.h, as
 * the spec's pseudo-code): a background run on the first row paints black,
 * so none starts there; and a background run right after another one
 * starts with a foreground-XORed pixel, so runs are maximal and two never
 * follow each other.
 */
#include <string.h>

#include "rcc.h"

#define REGULAR_BG_RUN 0x0
#define REGULAR_COLOR_RUN 0x3
#define REGULAR_COLOR_IMAGE 0x4
#define MEGA_MEGA 0xf0 /* | the regular code: MEGA_MEGA_BG_RUN 0xF0, ... */
#define REGULAR_MAX 31
#define REGULAR_EXT_MAX (255 + 32)
#define MEGA_MAX 65535

struct writer {
	uint8_t *o, *end;
	uint32_t bytes_pp;
	bool full;
};

static void put(struct writer *w, uint8_t b)
{
	if (w->o == w->end) {
		w->full = true;
		return;
	}
	*w->o++ = b;
}

static void put_pixel(struct writer *w, uint32_t v)
{
	put(w, (uint8_t)v);
	put(w, (uint8_t)(v >> 8));
	if (w->bytes_pp == 3)
		put(w, (uint8_t)(v >> 16));
}

/* An order header for len pixels (len >= 1, <= MEGA_MAX). */
static void put_order(struct writer *w, unsigned code, size_t len)
{
	if (len <= REGULAR_MAX) {
		put(w, (uint8_t)(code << 5 | len));
	} else if (len <= REGULAR_EXT_MAX) {
		put(w, (uint8_t)(code << 5));
		put(w, (uint8_t)(len - 32));
	} else {
		put(w, (uint8_t)(MEGA_MEGA | code));
		put(w, (uint8_t)len);
		put(w, (uint8_t)(len >> 8));
	}
}

/* The k-th pixel in bitmap order (bottom row first) in the session's
 * format: 24 bpp 0xRRGGBB (written B, G, R), 16 bpp RGB 5:6:5, 15 bpp RGB
 * 5:5:5, truncated as FreeRDP converts them. */
struct picture {
	const uint8_t *bgrx;
	size_t stride;
	uint32_t w, h, bpp;
};

static uint32_t pixel(const struct picture *p, size_t k)
{
	uint32_t row = p->h - 1 - (uint32_t)(k / p->w), col = (uint32_t)(k % p->w);
	const uint8_t *s = p->bgrx + (size_t)row * p->stride + (size_t)col * 4;
	uint32_t b = s[0], g = s[1], r = s[2];

	switch (p->bpp) {
	case 24: return r << 16 | g << 8 | b;
	case 16: return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
	default: return (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
	}
}

static bool depth_ok(uint32_t bpp)
{
	return bpp == 24 || bpp == 16 || bpp == 15;
}

size_t rcc_interleaved_pixels(const uint8_t *bgrx, size_t stride, uint32_t w, uint32_t h,
			      uint32_t bpp, uint8_t *dst, size_t cap)
{
	const struct picture p = { bgrx, stride, w, h, bpp };
	struct writer wr = { dst, dst + cap, bpp == 24 ? 3 : 2, false };
	size_t n = (size_t)w * h;

	if (!w || !h || !depth_ok(bpp) || n > MEGA_MAX)
		return 0;
	for (size_t k = 0; k < n; k++)
		put_pixel(&wr, pixel(&p, k));
	return wr.full ? 0 : (size_t)(wr.o - dst);
}

static void flush_image(struct writer *wr, const struct picture *p, size_t from, size_t to)
{
	if (from == to)
		return;
	put_order(wr, REGULAR_COLOR_IMAGE, to - from);
	for (size_t k = from; k < to; k++)
		put_pixel(wr, pixel(p, k));
}

size_t rcc_interleaved_encode(const uint8_t *bgrx, size_t stride, uint32_t w, uint32_t h,
			      uint32_t bpp, uint8_t *dst, size_t cap)
{
	const struct picture p = { bgrx, stride, w, h, bpp };
	struct writer wr = { dst, dst + cap, bpp == 24 ? 3 : 2, false };
	size_t n = (size_t)w * h, i = 0, image = 0;
	bool after_bg = false;

	/* One order covers at most MEGA_MAX pixels: keep to pictures that size. */
	if (!w || !h || !depth_ok(bpp) || n > MEGA_MAX)
		return 0;
	while (i < n && !wr.full) {
		uint32_t v = pixel(&p, i);
		size_t run = 1, bg = 0;

		while (i + run < n && pixel(&p, i + run) == v)
			run++;
		if (i >= w && !after_bg)
			while (i + bg < n && pixel(&p, i + bg) == pixel(&p, i + bg - w))
				bg++;
		if (bg >= 2 && bg >= run) {
			flush_image(&wr, &p, image, i);
			put_order(&wr, REGULAR_BG_RUN, bg);
			i += bg;
			image = i;
			after_bg = true;
			continue;
		}
		/* A run of 3 beats literals at every depth (2-3 bytes a pixel). */
		if (run >= 3) {
			flush_image(&wr, &p, image, i);
			put_order(&wr, REGULAR_COLOR_RUN, run);
			put_pixel(&wr, v);
			i += run;
			image = i;
		} else {
			i++;
		}
		after_bg = false;
	}
	flush_image(&wr, &p, image, i);
	return wr.full ? 0 : (size_t)(wr.o - dst);
}

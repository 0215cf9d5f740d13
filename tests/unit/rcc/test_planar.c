// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The planar wrapper against FreeRDP's planar decoder, used the way the
 * client uses it: bitmap updates decode each tile bottom-up into a bitmap
 * of the coded width and paint its destination rectangle
 * (libfreerdp/gdi/graphics.c), RDPGFX decodes top-down straight into the
 * surface (libfreerdp/gdi/gfx.c).  Planar is lossless: red, green and blue
 * must come back exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <freerdp/codec/color.h>
#include <freerdp/codec/interleaved.h>
#include <freerdp/codec/planar.h>

#include "rcc.h"

#define SENTINEL 0x5a

struct fb {
	struct rcc_surface s;
	uint8_t *mem;
};

static void fb_init(struct fb *f, uint32_t w, uint32_t h, uint32_t pad)
{
	f->s.width = w;
	f->s.height = h;
	/* A stride wider than the picture, as a guest's may be. */
	f->s.stride = (w + pad) * 4;
	f->mem = malloc((size_t)f->s.stride * h);
	assert_non_null(f->mem);
	memset(f->mem, SENTINEL, (size_t)f->s.stride * h);
	f->s.pixels = f->mem;
}

static uint8_t *px(struct fb *f, uint32_t x, uint32_t y)
{
	return f->mem + (size_t)y * f->s.stride + (size_t)x * 4;
}

static uint32_t rng = 1;

static uint32_t next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Flat areas, windows, text-like strokes, a gradient wallpaper; the X
 * byte is garbage, as a guest's may be. */
static void office(struct fb *f, uint32_t seed)
{
	for (uint32_t y = 0; y < f->s.height; y++) {
		for (uint32_t x = 0; x < f->s.width; x++) {
			uint8_t *p = px(f, x, y);
			bool window = x > f->s.width / 8 && x < f->s.width * 3 / 4 &&
				      y > f->s.height / 10 && y < f->s.height * 9 / 10;
			/* 8x18 character cells, a 7x10 glyph in each. */
			uint32_t ch = (x / 8 * 31 + y / 18 * 977 + seed) * 2654435761u;
			bool text = window && x % 8 < 7 && y % 18 > 3 && y % 18 < 14 &&
				    (ch >> (x % 8 + y % 18 * 3) % 29) & 1;

			if (text) {
				p[0] = p[1] = p[2] = 0x20;
			} else if (window) {
				p[0] = p[1] = p[2] = 0xff;
			} else {
				p[0] = (uint8_t)(0x90 + x * 0x30 / f->s.width);
				p[1] = (uint8_t)(0x50 + y * 0x30 / f->s.height);
				p[2] = (uint8_t)(0x30 + seed);
			}
			p[3] = (uint8_t)(x ^ y);
		}
	}
}

enum content { OFFICE, NOISE, SOLID };

static void noisy(struct fb *f)
{
	for (uint32_t y = 0; y < f->s.height; y++)
		for (uint32_t x = 0; x < f->s.width; x++) {
			uint32_t v = next_rand();

			memcpy(px(f, x, y), &v, 4);
		}
}

static bool same_rgb(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

/* Decode every tile the way the client does into out. */
static void decode(const struct rcc_planar_config *c, const struct rcc_planar_tile *t,
		   unsigned n, struct fb *out)
{
	BITMAP_PLANAR_CONTEXT *dec = freerdp_bitmap_planar_context_new(0, 64, 64);
	uint32_t fmt = c->alpha ? PIXEL_FORMAT_BGRA32 : PIXEL_FORMAT_BGRX32;
	uint8_t bmp[64 * 64 * 4];

	assert_non_null(dec);
	/* The client's planar context follows the desktop size. */
	assert_true(freerdp_bitmap_planar_context_reset(dec, out->s.width, out->s.height));
	for (unsigned i = 0; i < n; i++) {
		assert_true(t[i].len > 0);
		if (c->top_down) {
			assert_int_equal(t[i].coded_w, t[i].w);
			assert_true(planar_decompress(dec, t[i].data, (UINT32)t[i].len, t[i].w,
						      t[i].h, out->mem, fmt, out->s.stride, t[i].x,
						      t[i].y, t[i].w, t[i].h, FALSE));
			continue;
		}
		assert_true(planar_decompress(dec, t[i].data, (UINT32)t[i].len, t[i].coded_w,
					      t[i].h, bmp, fmt, 0, 0, 0, t[i].coded_w, t[i].h,
					      TRUE));
		for (uint32_t y = 0; y < t[i].h; y++)
			memcpy(px(out, t[i].x, t[i].y + y), bmp + (size_t)y * t[i].coded_w * 4,
			       (size_t)t[i].w * 4);
	}
	freerdp_bitmap_planar_context_free(dec);
}

/* Inside the rect: the source's RGB (and alpha 0xff when coded); outside:
 * untouched. */
static void check(const struct rcc_planar_config *c, struct fb *src, struct fb *out,
		  const struct rcc_rect *r)
{
	for (uint32_t y = 0; y < src->s.height; y++) {
		for (uint32_t x = 0; x < src->s.width; x++) {
			const uint8_t *o = px(out, x, y);
			bool in = x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;

			if (!in) {
				if (o[0] != SENTINEL || o[1] != SENTINEL || o[2] != SENTINEL)
					fail_msg("(%u,%u) outside the rect was written", x, y);
				continue;
			}
			if (!same_rgb(px(src, x, y), o))
				fail_msg("(%u,%u): got %02x%02x%02x, want %02x%02x%02x", x, y, o[2],
					 o[1], o[0], px(src, x, y)[2], px(src, x, y)[1],
					 px(src, x, y)[0]);
			if (c->alpha && o[3] != 0xff)
				fail_msg("(%u,%u): alpha %02x", x, y, o[3]);
		}
	}
}

static void check_tiles(const struct rcc_planar_config *c, const struct rcc_planar_tile *t,
			unsigned n, uint32_t tile)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(t[i].w >= 1 && t[i].w <= tile && t[i].h >= 1 && t[i].h <= tile);
		/* Cut on the grid: a tile never straddles a cell boundary. */
		assert_int_equal(t[i].x / tile, (t[i].x + t[i].w - 1) / tile);
		assert_int_equal(t[i].y / tile, (t[i].y + t[i].h - 1) / tile);
		assert_true(t[i].x + t[i].w <= c->width && t[i].y + t[i].h <= c->height);
		if (c->pad4)
			assert_int_equal(t[i].coded_w, (t[i].w + 3) / 4 * 4);
		else
			assert_int_equal(t[i].coded_w, t[i].w);
		assert_true(t[i].len <= rcc_planar_max_size(t[i].coded_w, t[i].h, c->alpha));
		/* Format header: no colour loss, no subsampling; NA unless alpha. */
		assert_int_equal(t[i].data[0] & (PLANAR_FORMAT_HEADER_CLL_MASK |
						 PLANAR_FORMAT_HEADER_CS), 0);
		assert_int_equal(!!(t[i].data[0] & PLANAR_FORMAT_HEADER_NA), !c->alpha);
	}
}

static unsigned count_raw(const struct rcc_planar_tile *t, unsigned n)
{
	unsigned raw = 0;

	for (unsigned i = 0; i < n; i++)
		raw += !(t[i].data[0] & PLANAR_FORMAT_HEADER_RLE);
	return raw;
}

static size_t total(const struct rcc_planar_tile *t, unsigned n)
{
	size_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += t[i].len;
	return sum;
}

/* Encode rect of a w x h picture with config c and check it decodes exactly. */
static void roundtrip(struct rcc_planar_config c, enum content what, const struct rcc_rect *r,
		      unsigned *ntiles, unsigned *nraw, size_t *bytes)
{
	const struct rcc_planar_tile *t;
	struct rcc_planar *p;
	struct fb f, out;
	unsigned n;

	fb_init(&f, c.width, c.height, 3);
	fb_init(&out, c.width, c.height, 0);
	if (what == NOISE)
		noisy(&f);
	else if (what == OFFICE)
		office(&f, 7);
	else
		for (uint32_t y = 0; y < c.height; y++)
			for (uint32_t x = 0; x < c.width; x++)
				memcpy(px(&f, x, y), "\x40\x80\xc0\x00", 4);
	assert_int_equal(rcc_planar_new(&c, &p), 0);
	assert_int_equal(rcc_planar_encode(p, &f.s, r, 1, &t, &n), 0);
	check_tiles(&c, t, n, rcc_planar_tile(p));
	decode(&c, t, n, &out);
	check(&c, &f, &out, r);
	if (ntiles)
		*ntiles = n;
	if (nraw)
		*nraw = count_raw(t, n);
	if (bytes)
		*bytes = total(t, n);
	rcc_planar_free(p);
	free(f.mem);
	free(out.mem);
}

static void test_new_invalid(void **state)
{
	struct rcc_planar *p = (void *)1;
	struct rcc_planar_config c = { .width = 0, .height = 10 };

	(void)state;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c = (struct rcc_planar_config){ .width = 4097, .height = 10 };
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c = (struct rcc_planar_config){ .width = 10, .height = 10, .tile = 65 };
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c.tile = 30;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c.tile = 2;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	assert_ptr_equal(p, (void *)1);
	c.tile = 0;
	assert_int_equal(rcc_planar_new(&c, &p), 0);
	assert_int_equal(rcc_planar_tile(p), RCC_PLANAR_TILE_MAX);
	assert_int_equal(rcc_planar_reset(p, 0, 5), -EINVAL);
	rcc_planar_free(p);
	rcc_planar_free(NULL);
}

/* A full 1080p office frame, both ways: RLE wins on every tile.  A flat
 * tile is one raw row and runs of zero deltas (about 130 bytes a plane). */
static void test_office_1080p(void **state)
{
	const size_t raw = (size_t)1920 * 1080 * 3;
	struct rcc_rect all = { 0, 0, 1920, 1080 };
	unsigned n, nraw;
	size_t bytes;

	(void)state;
	for (int top = 0; top < 2; top++) {
		struct rcc_planar_config c = { .width = 1920, .height = 1080, .top_down = top,
					       .pad4 = !top };

		roundtrip(c, OFFICE, &all, &n, &nraw, &bytes);
		assert_int_equal(n, 30 * 17);
		assert_int_equal(nraw, 0);
		assert_true(bytes < raw / 2);
		roundtrip(c, SOLID, &all, &n, &nraw, &bytes);
		assert_int_equal(nraw, 0);
		assert_true(bytes < raw / 20);
	}
}

/* Noise does not compress: every tile goes raw, and still decodes. */
static void test_noisy(void **state)
{
	struct rcc_rect all = { 0, 0, 640, 480 };
	unsigned n, nraw;
	size_t bytes;

	(void)state;
	for (int top = 0; top < 2; top++) {
		struct rcc_planar_config c = { .width = 640, .height = 480, .top_down = top };

		roundtrip(c, NOISE, &all, &n, &nraw, &bytes);
		assert_int_equal(n, 10 * 8);
		assert_int_equal(nraw, n);
		assert_int_equal(bytes, (size_t)n * 2 + (size_t)640 * 480 * 3);
	}
}

/* Sizes that are no multiple of 64 (or of 4), down to one pixel. */
static void test_odd_sizes(void **state)
{
	static const uint32_t sizes[][2] = {
		{ 1, 1 }, { 3, 2 }, { 63, 65 }, { 65, 63 }, { 130, 1 }, { 1, 130 }, { 1366, 768 },
		{ 1001, 601 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t w = sizes[i][0], h = sizes[i][1];
		struct rcc_rect all = { 0, 0, w, h };
		unsigned n;

		for (int mode = 0; mode < 4; mode++) {
			struct rcc_planar_config c = { .width = w, .height = h,
						       .top_down = mode & 1, .pad4 = !(mode & 1),
						       .alpha = mode >= 2 };

			roundtrip(c, mode == 1 ? NOISE : OFFICE, &all, &n, NULL, NULL);
			assert_int_equal(n, ((w + 63) / 64) * ((h + 63) / 64));
		}
	}
}

/* A rectangle off the grid: cut into the cells it touches, nothing
 * outside it written; a smaller tile size; rectangles outside the
 * surface, empty or overflowing, are clipped. */
static void test_rects(void **state)
{
	struct rcc_planar_config c = { .width = 300, .height = 200, .pad4 = true };
	struct rcc_rect r = { 10, 60, 100, 50 };
	struct rcc_rect bad[] = { { 300, 0, 10, 10 }, { 5, 5, 0, 9 },
				  { 290, 190, UINT32_MAX, UINT32_MAX } };
	const struct rcc_planar_tile *t;
	struct rcc_planar *p;
	struct fb f;
	unsigned n;

	(void)state;
	/* x 10..109 touches columns 0-1, y 60..109 rows 0-1. */
	roundtrip(c, OFFICE, &r, &n, NULL, NULL);
	assert_int_equal(n, 4);
	c.tile = 16;
	/* x 10..109 touches 16-columns 0-6, y 60..109 rows 3-6. */
	roundtrip(c, OFFICE, &r, &n, NULL, NULL);
	assert_int_equal(n, 7 * 4);
	c.top_down = true;
	c.pad4 = false;
	roundtrip(c, NOISE, &r, &n, NULL, NULL);
	assert_int_equal(n, 7 * 4);

	fb_init(&f, 300, 200, 0);
	office(&f, 1);
	c.tile = 0;
	assert_int_equal(rcc_planar_new(&c, &p), 0);
	assert_int_equal(rcc_planar_encode(p, &f.s, bad, 3, &t, &n), 0);
	/* y 190..199 crosses the grid line at 192. */
	assert_int_equal(n, 2);
	assert_int_equal(t[0].x, 290);
	assert_int_equal(t[0].y, 190);
	assert_int_equal(t[0].w, 10);
	assert_int_equal(t[0].h, 2);
	assert_int_equal(t[1].y, 192);
	assert_int_equal(t[1].h, 8);
	assert_int_equal(rcc_planar_encode(p, &f.s, bad, 0, &t, &n), 0);
	assert_int_equal(n, 0);
	/* A surface of another size is refused. */
	f.s.width = 299;
	assert_int_equal(rcc_planar_encode(p, &f.s, &r, 1, &t, &n), -EINVAL);
	rcc_planar_free(p);
	free(f.mem);
}

/* Through the damage tracker: only tiles whose contents changed are
 * encoded, however much the guest reports. */
static void test_damage(void **state)
{
	struct rcc_planar_config c = { .width = 1000, .height = 700, .top_down = true };
	struct rcc_rect all = { 0, 0, 1000, 700 };
	struct rcc_rect two[] = { { 0, 0, 1000, 700 } };
	const struct rcc_planar_tile *t;
	struct rcc_planar *p;
	struct rcc_damage *d;
	struct fb f, out;
	unsigned n;

	(void)state;
	fb_init(&f, 1000, 700, 0);
	fb_init(&out, 1000, 700, 0);
	office(&f, 2);
	assert_int_equal(rcc_planar_new(&c, &p), 0);
	assert_int_equal(rcc_damage_new(1000, 700, &d), 0);
	rcc_damage_add_all(d);
	assert_int_equal(rcc_planar_encode_damage(p, d, &f.s, &t, &n), 0);
	assert_int_equal(n, 16 * 11);
	decode(&c, t, n, &out);
	check(&c, &f, &out, &all);

	/* Two pixels far apart change; the guest reports the whole screen. */
	px(&f, 5, 5)[1] ^= 0xff;
	px(&f, 999, 699)[2] ^= 0xff;
	rcc_damage_add(d, two, 1);
	assert_int_equal(rcc_planar_encode_damage(p, d, &f.s, &t, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].x, 0);
	assert_int_equal(t[0].y, 0);
	assert_int_equal(t[1].x, 960);
	assert_int_equal(t[1].y, 640);
	assert_int_equal(t[1].w, 40);
	assert_int_equal(t[1].h, 60);
	decode(&c, t, n, &out);
	check(&c, &f, &out, &all);

	/* Reported again, nothing changed: nothing to send. */
	rcc_damage_add(d, two, 1);
	assert_int_equal(rcc_planar_encode_damage(p, d, &f.s, &t, &n), 0);
	assert_int_equal(n, 0);

	/* A new size: the same encoder follows. */
	assert_int_equal(rcc_planar_reset(p, 1920, 1080), 0);
	assert_int_equal(rcc_planar_encode_damage(p, d, &f.s, &t, &n), -EINVAL);
	rcc_damage_free(d);
	rcc_planar_free(p);
	free(f.mem);
	free(out.mem);
}

/* --- interleaved RLE (15, 16, 24 bpp sessions) -------------------------- */

static uint32_t bpp_format(uint32_t bpp)
{
	/* What the client takes bare pixels as (gdi_get_pixel_format). */
	return bpp == 24 ? PIXEL_FORMAT_BGR24 : bpp == 16 ? PIXEL_FORMAT_RGB16 : PIXEL_FORMAT_RGB15;
}

/* Decode as libfreerdp/gdi/graphics.c's gdi_Bitmap_Decompress does: a
 * bitmap of coded_w x h, bottom-up, then its w columns painted. */
static void decode_interleaved(uint32_t bpp, const struct rcc_planar_tile *t, unsigned n,
			       struct fb *out, unsigned *nuncompressed)
{
	BITMAP_INTERLEAVED_CONTEXT *dec = bitmap_interleaved_context_new(FALSE);
	uint8_t bmp[64 * 64 * 4];

	assert_non_null(dec);
	*nuncompressed = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(t[i].coded_w % 4, 0);
		assert_true(t[i].len > 0);
		assert_true(t[i].len <= rcc_interleaved_max_size(t[i].coded_w, t[i].h, bpp));
		if (t[i].uncompressed) {
			(*nuncompressed)++;
			assert_int_equal(t[i].len, rcc_interleaved_max_size(t[i].coded_w, t[i].h, bpp));
			assert_true(freerdp_image_copy(bmp, PIXEL_FORMAT_BGRX32, t[i].coded_w * 4, 0, 0,
						       t[i].coded_w, t[i].h, t[i].data,
						       bpp_format(bpp), 0, 0, 0, NULL,
						       FREERDP_FLIP_VERTICAL));
		} else {
			assert_true(interleaved_decompress(dec, t[i].data, (UINT32)t[i].len,
							   t[i].coded_w, t[i].h, bpp, bmp,
							   PIXEL_FORMAT_BGRX32, t[i].coded_w * 4, 0,
							   0, t[i].coded_w, t[i].h, NULL));
		}
		for (uint32_t y = 0; y < t[i].h; y++)
			memcpy(px(out, t[i].x, t[i].y + y), bmp + (size_t)y * t[i].coded_w * 4,
			       (size_t)t[i].w * 4);
	}
	bitmap_interleaved_context_free(dec);
}

/* The source as the client can show it at bpp: through the session's
 * format and back, as FreeRDP converts bare pixels. */
static void quantize(struct fb *f, uint32_t bpp)
{
	uint32_t fmt = bpp_format(bpp);
	size_t step = (size_t)f->s.width * 4;
	uint8_t *tmp = malloc(step * f->s.height);

	assert_non_null(tmp);
	assert_true(freerdp_image_copy(tmp, fmt, 0, 0, 0, f->s.width, f->s.height, f->mem,
				       PIXEL_FORMAT_BGRX32, f->s.stride, 0, 0, NULL, 0));
	assert_true(freerdp_image_copy(f->mem, PIXEL_FORMAT_BGRX32, f->s.stride, 0, 0, f->s.width,
				       f->s.height, tmp, fmt, 0, 0, 0, NULL, 0));
	free(tmp);
}

/* Every depth, office content (RLE), noise (bare pixels) and a flat
 * colour, at sizes that are no multiple of 4 or 64: what the client
 * decodes is the source in the session's depth, pixel for pixel. */
static void test_interleaved(void **state)
{
	static const uint32_t depths[] = { 24, 16, 15 };
	static const uint32_t sizes[][2] = { { 1366, 768 }, { 1001, 601 }, { 3, 2 }, { 1, 130 } };

	(void)state;
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			for (int what = OFFICE; what <= SOLID; what++) {
				uint32_t w = sizes[i][0], h = sizes[i][1], bpp = depths[d];
				struct rcc_planar_config c = { .width = w, .height = h,
							       .pad4 = true, .bpp = bpp };
				struct rcc_rect all = { 0, 0, w, h };
				const struct rcc_planar_tile *t;
				unsigned n, nunc;
				struct rcc_planar *p;
				struct fb f, out;
				size_t bytes;

				fb_init(&f, w, h, 3);
				fb_init(&out, w, h, 0);
				if (what == NOISE)
					noisy(&f);
				else if (what == OFFICE)
					office(&f, 3);
				else
					for (uint32_t y = 0; y < h; y++)
						for (uint32_t x = 0; x < w; x++)
							memcpy(px(&f, x, y), "\x40\x80\xc0\x00", 4);
				assert_int_equal(rcc_planar_new(&c, &p), 0);
				assert_int_equal(rcc_planar_encode(p, &f.s, &all, 1, &t, &n), 0);
				assert_int_equal(n, ((w + 63) / 64) * ((h + 63) / 64));
				bytes = total(t, n);
				decode_interleaved(bpp, t, n, &out, &nunc);
				quantize(&f, bpp);
				check(&c, &f, &out, &all);
				if (w >= 64 && what == OFFICE) {
					/* RLE wins on office content. */
					assert_int_equal(nunc, 0);
					assert_true(bytes < (size_t)w * h * (bpp + 7) / 8 / 2);
				}
				if (w >= 64 && what == SOLID)
					assert_true(bytes < (size_t)w * h / 20);
				/* Noise does not compress (but for padded edge
				 * tiles, whose repeated last column is a run). */
				if (what == NOISE && bpp == 24 && w >= 64)
					assert_true(nunc >= n - (h + 63) / 64);
				rcc_planar_free(p);
				free(f.mem);
				free(out.mem);
			}
		}
	}
}

/* Small pictures of two or three colours in random patterns (rows copied,
 * runs, single pixels: every order and every order next to every other),
 * straight through rcc_interleaved_encode: FreeRDP's decoder gives back
 * exactly the pixels rcc_interleaved_pixels writes. */
static void test_interleaved_random(void **state)
{
	static const uint32_t depths[] = { 24, 16, 15 };
	static uint8_t src[64 * 64 * 4], bare[64 * 64 * 3], rle[64 * 64 * 3];
	static uint8_t want[64 * 64 * 4], got[64 * 64 * 4];
	BITMAP_INTERLEAVED_CONTEXT *dec = bitmap_interleaved_context_new(FALSE);
	unsigned compressed = 0;

	(void)state;
	assert_non_null(dec);
	rng = 12345;
	for (unsigned iter = 0; iter < 3000; iter++) {
		uint32_t w = 4 * (1 + next_rand() % 16), h = 1 + next_rand() % 64;
		uint32_t bpp = depths[iter % 3], colours = 2 + next_rand() % 2;
		uint32_t palette[3] = { next_rand(), next_rand(), next_rand() };
		size_t raw = rcc_interleaved_max_size(w, h, bpp), len, blen;

		for (uint32_t y = 0; y < h; y++) {
			bool copy = y && next_rand() % 3 == 0;

			for (uint32_t x = 0; x < w; x++) {
				uint8_t *d = src + ((size_t)y * w + x) * 4;
				uint32_t c = palette[next_rand() % colours];

				if (copy && next_rand() % 8)
					memcpy(d, d - (size_t)w * 4, 4);
				else if (x && next_rand() % 4)
					memcpy(d, d - 4, 4);
				else
					memcpy(d, &c, 4);
			}
		}
		blen = rcc_interleaved_pixels(src, (size_t)w * 4, w, h, bpp, bare, sizeof(bare));
		assert_int_equal(blen, raw);
		assert_true(freerdp_image_copy(want, PIXEL_FORMAT_BGRX32, w * 4, 0, 0, w, h, bare,
					       bpp_format(bpp), 0, 0, 0, NULL,
					       FREERDP_FLIP_VERTICAL));
		len = rcc_interleaved_encode(src, (size_t)w * 4, w, h, bpp, rle, raw);
		if (!len) /* bigger than the bare pixels: sent those instead */
			continue;
		compressed++;
		memset(got, 0xa5, sizeof(got));
		assert_true(interleaved_decompress(dec, rle, (UINT32)len, w, h, bpp, got,
						   PIXEL_FORMAT_BGRX32, w * 4, 0, 0, w, h, NULL));
		for (size_t i = 0; i < (size_t)w * h; i++)
			if (memcmp(got + i * 4, want + i * 4, 3))
				fail_msg("%ux%u at %u bpp, iteration %u: pixel %zu differs", w, h,
					 bpp, iter, i);
	}
	assert_true(compressed > 2000);
	/* Too small a buffer, a bad depth, no pixels: 0. */
	assert_int_equal(rcc_interleaved_encode(src, 256, 64, 64, 16, rle, 10), 0);
	assert_int_equal(rcc_interleaved_encode(src, 256, 64, 64, 8, rle, sizeof(rle)), 0);
	assert_int_equal(rcc_interleaved_pixels(src, 256, 0, 64, 16, rle, sizeof(rle)), 0);
	bitmap_interleaved_context_free(dec);
}

/* Interleaved RLE is for bitmap updates only: bottom-up, padded widths;
 * 8 bpp (palettes) is not offered. */
static void test_interleaved_invalid(void **state)
{
	struct rcc_planar *p = (void *)1;
	struct rcc_planar_config c = { .width = 64, .height = 64, .pad4 = true, .bpp = 8 };

	(void)state;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c.bpp = 16;
	c.top_down = true;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	c.top_down = false;
	c.pad4 = false;
	assert_int_equal(rcc_planar_new(&c, &p), -EINVAL);
	assert_ptr_equal(p, (void *)1);
	c.pad4 = true;
	assert_int_equal(rcc_planar_new(&c, &p), 0);
	rcc_planar_free(p);
	assert_int_equal(rcc_interleaved_max_size(64, 64, 24), 64 * 64 * 3);
	assert_int_equal(rcc_interleaved_max_size(64, 64, 15), 64 * 64 * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_office_1080p),
		cmocka_unit_test(test_noisy),
		cmocka_unit_test(test_odd_sizes),
		cmocka_unit_test(test_rects),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_interleaved_random),
		cmocka_unit_test(test_interleaved_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

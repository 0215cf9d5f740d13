// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The encoder against FreeRDP's own AVC420 decoder (libavcodec inside
 * libfreerdp2): what a FreeRDP client would show, colour matrix included.
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
#include <freerdp/codec/h264.h>

#include "rcc.h"

struct fb {
	struct rcc_surface s;
	uint8_t *mem;
};

static void fb_init(struct fb *f, uint32_t w, uint32_t h)
{
	f->s.width = w;
	f->s.height = h;
	f->s.stride = w * 4;
	f->mem = calloc(1, (size_t)f->s.stride * h);
	assert_non_null(f->mem);
	f->s.pixels = f->mem;
}

static uint8_t *px(struct fb *f, uint32_t x, uint32_t y)
{
	return f->mem + (size_t)y * f->s.stride + (size_t)x * 4;
}

static void fill(struct fb *f, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint8_t r,
		 uint8_t g, uint8_t b)
{
	for (uint32_t y = y0; y < y0 + h; y++) {
		for (uint32_t x = x0; x < x0 + w; x++) {
			uint8_t *p = px(f, x, y);

			p[0] = b;
			p[1] = g;
			p[2] = r;
			p[3] = 0xff;
		}
	}
}

/* A desktop: soft gradient background, colour swatches, "text" stripes. */
static void desktop(struct fb *f)
{
	for (uint32_t y = 0; y < f->s.height; y++)
		for (uint32_t x = 0; x < f->s.width; x++)
			fill(f, x, y, 1, 1, 40 + x * 100 / f->s.width, 60 + y * 100 / f->s.height,
			     140);
	fill(f, 64, 64, 128, 128, 255, 0, 0);
	fill(f, 256, 64, 128, 128, 0, 255, 0);
	fill(f, 448, 64, 128, 128, 0, 0, 255);
	fill(f, 640, 64, 128, 128, 255, 255, 255);
	fill(f, 832, 64, 128, 128, 0, 0, 0);
	if (f->s.width >= 1088)
		fill(f, 1024, 64, 64, 128, 128, 128, 128);
	for (uint32_t y = 300; y < 600 && y < f->s.height; y += 16)
		for (uint32_t x = 100; x < 900 && x < f->s.width; x += 9)
			fill(f, x, y, 5, 9, 20, 20, 20);
}

struct dec {
	H264_CONTEXT *h264;
	struct fb out;
};

static void dec_init(struct dec *d, uint32_t w, uint32_t h)
{
	d->h264 = h264_context_new(FALSE);
	assert_non_null(d->h264);
	assert_true(h264_context_reset(d->h264, w, h));
	fb_init(&d->out, w, h);
}

static void dec_finish(struct dec *d)
{
	h264_context_free(d->h264);
	free(d->out.mem);
}

static void decode(struct dec *d, const struct rcc_frame *fr, const struct rcc_rect *r, unsigned n)
{
	RECTANGLE_16 rects[16];

	assert_true(n <= 16);
	for (unsigned i = 0; i < n; i++)
		rects[i] = (RECTANGLE_16){ r[i].x, r[i].y, r[i].x + r[i].w, r[i].y + r[i].h };
	assert_true(avc420_decompress(d->h264, fr->data, fr->len, d->out.mem, PIXEL_FORMAT_BGRX32,
				      d->out.s.stride, d->out.s.width, d->out.s.height, rects,
				      n) >= 0);
}

/* Mean absolute error per channel over a rectangle. */
static double mae(struct fb *a, struct fb *b, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
	uint64_t sum = 0;

	for (uint32_t y = y0; y < y0 + h; y++)
		for (uint32_t x = x0; x < x0 + w; x++)
			for (int c = 0; c < 3; c++)
				sum += (uint64_t)abs(px(a, x, y)[c] - px(b, x, y)[c]);
	return (double)sum / ((double)w * h * 3);
}

/* NAL unit types in order; the stream must be Annex-B with 4-byte or
 * 3-byte start codes. */
static unsigned nal_types(const struct rcc_frame *fr, int *types, unsigned max)
{
	unsigned n = 0;

	assert_true(fr->len > 4);
	assert_true(memcmp(fr->data, "\0\0\0\1", 4) == 0 || memcmp(fr->data, "\0\0\1", 3) == 0);
	for (size_t i = 0; i + 3 < fr->len && n < max; i++)
		if (fr->data[i] == 0 && fr->data[i + 1] == 0 && fr->data[i + 2] == 1) {
			types[n++] = fr->data[i + 3] & 0x1f;
			i += 3;
		}
	return n;
}

static bool has_nal(const int *t, unsigned n, int type)
{
	for (unsigned i = 0; i < n; i++)
		if (t[i] == type)
			return true;
	return false;
}

/* SPS and PPS, then an IDR slice. */
static void assert_idr_with_headers(const struct rcc_frame *fr)
{
	int t[64];
	unsigned n = nal_types(fr, t, 64);

	assert_true(fr->idr);
	assert_true(n >= 3);
	assert_int_equal(t[0], 7);
	assert_int_equal(t[1], 8);
	assert_true(has_nal(t, n, 5));
	assert_false(has_nal(t, n, 1));
}

static void test_new_invalid(void **state)
{
	struct rcc_h264 *e = (void *)1;
	struct rcc_h264_config c = { .width = 0, .height = 10 };

	assert_int_equal(rcc_h264_new(&c, &e), -EINVAL);
	c = (struct rcc_h264_config){ .width = 4097, .height = 10 };
	assert_int_equal(rcc_h264_new(&c, &e), -EINVAL);
	c = (struct rcc_h264_config){ .width = 64, .height = 64, .crf = 52 };
	assert_int_equal(rcc_h264_new(&c, &e), -EINVAL);
	c = (struct rcc_h264_config){ .width = 64, .height = 64, .link = 7 };
	assert_int_equal(rcc_h264_new(&c, &e), -EINVAL);
	assert_ptr_equal(e, (void *)1);
	rcc_h264_free(NULL);
}

static void test_1080p(void **state)
{
	struct rcc_h264_config c = { .width = 1920, .height = 1080, .threads = 1 };
	struct rcc_rect all = { 0, 0, 1920, 1080 };
	struct rcc_rect dmg = { 1280, 640, 64, 64 };
	struct rcc_h264 *e;
	struct rcc_frame fr;
	struct fb f;
	struct dec d;
	uint32_t cw, ch;
	size_t idr_len;
	int t[64];
	unsigned n;

	fb_init(&f, 1920, 1080);
	desktop(&f);
	dec_init(&d, 1920, 1080);
	assert_int_equal(rcc_h264_new(&c, &e), 0);
	rcc_h264_coded_size(e, &cw, &ch);
	assert_int_equal(cw, 1920);
	assert_int_equal(ch, 1088);

	assert_int_equal(rcc_h264_encode(e, &f.s, NULL, 0, &fr), 0);
	assert_idr_with_headers(&fr);
	assert_int_equal(fr.pts, 0);
	assert_true(fr.qp > 0 && fr.qp <= 51);
	idr_len = fr.len;
	decode(&d, &fr, &all, 1);
	assert_true(mae(&f, &d.out, 0, 0, 1920, 1080) < 3.0);
	/* Solid colours survive: the matrix is the one the client uses. */
	assert_true(mae(&f, &d.out, 80, 80, 96, 96) < 4.0);   /* red */
	assert_true(mae(&f, &d.out, 272, 80, 96, 96) < 4.0);  /* green */
	assert_true(mae(&f, &d.out, 464, 80, 96, 96) < 4.0);  /* blue */
	assert_true(mae(&f, &d.out, 656, 80, 96, 96) < 2.0);  /* white */
	assert_true(mae(&f, &d.out, 848, 80, 96, 96) < 2.0);  /* black */
	assert_true(mae(&f, &d.out, 1040, 80, 32, 96) < 2.0); /* grey */

	/* A typed glyph: a small P frame. */
	fill(&f, 1290, 650, 8, 12, 255, 255, 0);
	assert_int_equal(rcc_h264_encode(e, &f.s, &dmg, 1, &fr), 0);
	assert_false(fr.idr);
	assert_int_equal(fr.pts, 1);
	n = nal_types(&fr, t, 64);
	assert_true(has_nal(t, n, 1));
	assert_false(has_nal(t, n, 7));
	assert_true(fr.len * 20 < idr_len);
	decode(&d, &fr, &dmg, 1);
	assert_true(mae(&f, &d.out, 1280, 640, 64, 64) < 4.0);

	/* Pixels outside the damage are not even converted. */
	fill(&f, 0, 0, 64, 64, 255, 255, 255);
	fill(&f, 1290, 650, 8, 12, 0, 0, 255);
	assert_int_equal(rcc_h264_encode(e, &f.s, &dmg, 1, &fr), 0);
	decode(&d, &fr, &all, 1);
	assert_true(mae(&f, &d.out, 1280, 640, 64, 64) < 4.0);
	assert_true(mae(&f, &d.out, 0, 0, 64, 64) > 50.0);

	/* Nothing damaged: an (almost) empty P frame. */
	assert_int_equal(rcc_h264_encode(e, &f.s, &dmg, 0, &fr), 0);
	assert_false(fr.idr);
	assert_true(fr.len * 100 < idr_len);

	/* On demand, an IDR with headers again. */
	rcc_h264_force_idr(e);
	assert_int_equal(rcc_h264_encode(e, &f.s, NULL, 0, &fr), 0);
	assert_idr_with_headers(&fr);
	assert_int_equal(rcc_h264_encode(e, &f.s, &dmg, 0, &fr), 0);
	assert_false(fr.idr);

	/* A surface of another size is refused. */
	f.s.width = 1918;
	assert_int_equal(rcc_h264_encode(e, &f.s, NULL, 0, &fr), -EINVAL);
	f.s.width = 1920;

	rcc_h264_free(e);
	dec_finish(&d);
	free(f.mem);
}

static void test_odd_size(void **state)
{
	struct rcc_h264_config c = { .width = 1001, .height = 601, .threads = 1, .keyint = 2 };
	struct rcc_rect all = { 0, 0, 1001, 601 };
	struct rcc_rect edge = { 960, 576, 41, 25 };
	struct rcc_h264 *e;
	struct rcc_frame fr;
	struct fb f;
	struct dec d;
	uint32_t cw, ch;

	fb_init(&f, 1001, 601);
	desktop(&f);
	assert_int_equal(rcc_h264_new(&c, &e), 0);
	rcc_h264_coded_size(e, &cw, &ch);
	assert_int_equal(cw, 1008);
	assert_int_equal(ch, 608);
	/* The decoder gets the coded size, as a client's surface for an AVC420
	 * stream is (MS-RDPEGFX 2.2.4.4: multiples of 16); FreeRDP's decoder
	 * sized 1001x601 was seen to crash now and then on the 1008x608
	 * pictures.  The region rects crop to the surface. */
	dec_init(&d, cw, ch);
	assert_int_equal(rcc_h264_encode(e, &f.s, NULL, 0, &fr), 0);
	assert_idr_with_headers(&fr);
	decode(&d, &fr, &all, 1);
	assert_true(mae(&f, &d.out, 0, 0, 1001, 601) < 3.0);

	/* The bottom-right corner, odd column and row included. */
	fill(&f, 990, 590, 11, 11, 255, 0, 255);
	assert_int_equal(rcc_h264_encode(e, &f.s, &edge, 1, &fr), 0);
	decode(&d, &fr, &edge, 1);
	assert_true(mae(&f, &d.out, 990, 590, 11, 11) < 6.0);

	/* keyint 2: the third frame is an IDR by itself. */
	assert_int_equal(rcc_h264_encode(e, &f.s, &edge, 0, &fr), 0);
	assert_idr_with_headers(&fr);
	rcc_h264_free(e);
	dec_finish(&d);
	free(f.mem);
}

/* Noise under each link cap: VBV holds the WAN rate. */
static size_t noise_bytes(enum rcc_link link, bool reconfig)
{
	struct rcc_h264_config c = { .width = 640, .height = 360, .threads = 1 };
	struct rcc_h264 *e;
	struct rcc_frame fr;
	struct fb f;
	size_t total = 0;
	uint32_t seed = 1;

	c.link = reconfig ? RCC_LINK_LAN : link;
	fb_init(&f, 640, 360);
	assert_int_equal(rcc_h264_new(&c, &e), 0);
	if (reconfig)
		assert_int_equal(rcc_h264_set_link(e, link), 0);
	for (int i = 0; i < 30; i++) {
		for (size_t j = 0; j < (size_t)640 * 360 * 4; j++) {
			seed = seed * 1103515245u + 12345u;
			f.mem[j] = (uint8_t)(seed >> 16);
		}
		assert_int_equal(rcc_h264_encode(e, &f.s, NULL, 0, &fr), 0);
		total += fr.len;
	}
	rcc_h264_free(e);
	free(f.mem);
	return total;
}

static void test_link_caps(void **state)
{
	/* One second at 2 Mbit/s plus the quarter-second buffer: 312 KB. */
	const size_t wan_max = (2000000 + 500000) / 8 * 5 / 4;
	size_t lan = noise_bytes(RCC_LINK_LAN, false);
	size_t wan = noise_bytes(RCC_LINK_WAN, false);
	size_t wan2 = noise_bytes(RCC_LINK_WAN, true);

	assert_true(lan > 4 * wan_max);
	assert_true(wan < wan_max);
	assert_true(wan2 < wan_max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_1080p),
		cmocka_unit_test(test_odd_size),
		cmocka_unit_test(test_link_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* The RemoteFX wrapper against FreeRDP's RemoteFX decoder (the client's). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <freerdp/codec/color.h>
#include <freerdp/codec/region.h>
#include <freerdp/codec/rfx.h>

#include "rcc.h"

#define WBT_SYNC 0xCCC0
#define WBT_FRAME_BEGIN 0xCCC4

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

/* Gradients, stripes and a little noise: real work for the entropy coder. */
static void desktop(struct fb *f, uint32_t seed)
{
	for (uint32_t y = 0; y < f->s.height; y++) {
		for (uint32_t x = 0; x < f->s.width; x++) {
			uint8_t *p = px(f, x, y);

			seed = seed * 1103515245u + 12345u;
			p[0] = (uint8_t)(x / 8 + ((seed >> 16) & 7));
			p[1] = (uint8_t)(y / 5);
			p[2] = (y / 16) % 4 == 0 && x % 9 < 5 ? 20 : 200;
			p[3] = 0xff;
		}
	}
}

static double mae(struct fb *a, struct fb *b, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
	uint64_t sum = 0;

	for (uint32_t y = y0; y < y0 + h; y++)
		for (uint32_t x = x0; x < x0 + w; x++)
			for (int c = 0; c < 3; c++)
				sum += (uint64_t)abs(px(a, x, y)[c] - px(b, x, y)[c]);
	return (double)sum / ((double)w * h * 3);
}

static uint16_t block_type(const struct rcc_buf *b)
{
	assert_true(b->len >= 6);
	return (uint16_t)(b->data[0] | b->data[1] << 8);
}

static void decode(RFX_CONTEXT *dec, struct fb *out, const struct rcc_buf *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		REGION16 inval;

		region16_init(&inval);
		assert_true(rfx_process_message(dec, m[i].data, (UINT32)m[i].len, 0, 0, out->mem,
						PIXEL_FORMAT_BGRX32, out->s.stride,
						out->s.height, &inval));
		region16_uninit(&inval);
	}
}

static void test_new_invalid(void **state)
{
	struct rcc_rfx *x = (void *)1;
	struct rcc_rfx_config c = { .width = 0, .height = 10 };

	assert_int_equal(rcc_rfx_new(&c, &x), -EINVAL);
	c.width = 5000;
	assert_int_equal(rcc_rfx_new(&c, &x), -EINVAL);
	assert_ptr_equal(x, (void *)1);
	rcc_rfx_free(NULL);
}

static void roundtrip(bool rlgr1)
{
	const uint32_t w = 1920, h = 1080;
	const size_t max = 64 * 1024;
	struct rcc_rfx_config c = { .width = w, .height = h, .rlgr1 = rlgr1 };
	struct rcc_rect all = { 0, 0, w, h };
	struct rcc_rect small = { 512, 128, 256, 64 };
	const struct rcc_buf *m;
	unsigned n;
	struct rcc_rfx *x;
	RFX_CONTEXT *dec;
	struct fb f, out;

	fb_init(&f, w, h);
	fb_init(&out, w, h);
	desktop(&f, 1);
	assert_int_equal(rcc_rfx_new(&c, &x), 0);
	dec = rfx_context_new(FALSE);
	assert_non_null(dec);
	assert_true(rfx_context_reset(dec, w, h));

	/* Everything: split into messages under max, headers first. */
	assert_int_equal(rcc_rfx_encode(x, &f.s, &all, 1, max, &m, &n), 0);
	assert_true(n > 1);
	assert_int_equal(block_type(&m[0]), WBT_SYNC);
	for (unsigned i = 0; i < n; i++) {
		assert_true(m[i].len <= max);
		if (i)
			assert_int_equal(block_type(&m[i]), WBT_FRAME_BEGIN);
	}
	decode(dec, &out, m, n);
	assert_true(mae(&f, &out, 0, 0, w, h) < 3.0);

	/* A damage rect: one small message, only that area changes. */
	desktop(&f, 2);
	assert_int_equal(rcc_rfx_encode(x, &f.s, &small, 1, max, &m, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(block_type(&m[0]), WBT_FRAME_BEGIN);
	assert_true(m[0].len < 40 * 1024);
	decode(dec, &out, m, n);
	assert_true(mae(&f, &out, 512, 128, 256, 64) < 3.0);

	/* Nothing to do. */
	assert_int_equal(rcc_rfx_encode(x, &f.s, &small, 0, max, &m, &n), 0);
	assert_int_equal(n, 0);
	small.w = 0;
	assert_int_equal(rcc_rfx_encode(x, &f.s, &small, 1, max, &m, &n), 0);
	assert_int_equal(n, 0);

	/* Bad arguments. */
	assert_int_equal(rcc_rfx_encode(x, &f.s, &all, 1, 1000, &m, &n), -EINVAL);
	f.s.height--;
	assert_int_equal(rcc_rfx_encode(x, &f.s, &all, 1, max, &m, &n), -EINVAL);
	f.s.height++;

	/* A new client: headers again. */
	assert_int_equal(rcc_rfx_reset(x, w, h), 0);
	assert_int_equal(rcc_rfx_encode(x, &f.s, &all, 1, max, &m, &n), 0);
	assert_int_equal(block_type(&m[0]), WBT_SYNC);

	rfx_context_free(dec);
	rcc_rfx_free(x);
	free(f.mem);
	free(out.mem);
}

static void test_rlgr3(void **state)
{
	roundtrip(false);
}

static void test_rlgr1(void **state)
{
	roundtrip(true);
}

/* Edge tiles of an odd-sized surface. */
static void test_odd_size(void **state)
{
	struct rcc_rfx_config c = { .width = 1001, .height = 601 };
	struct rcc_rect r[] = { { 960, 576, 41, 25 }, { 0, 0, 64, 64 } };
	const struct rcc_buf *m;
	unsigned n;
	struct rcc_rfx *x;
	RFX_CONTEXT *dec;
	struct fb f, out;

	fb_init(&f, 1001, 601);
	fb_init(&out, 1001, 601);
	desktop(&f, 3);
	assert_int_equal(rcc_rfx_new(&c, &x), 0);
	dec = rfx_context_new(FALSE);
	assert_true(rfx_context_reset(dec, 1001, 601));
	assert_int_equal(rcc_rfx_encode(x, &f.s, r, 2, 16 * 1024, &m, &n), 0);
	assert_true(n >= 1);
	decode(dec, &out, m, n);
	assert_true(mae(&f, &out, 960, 576, 41, 25) < 3.0);
	assert_true(mae(&f, &out, 0, 0, 64, 64) < 3.0);
	rfx_context_free(dec);
	rcc_rfx_free(x);
	free(f.mem);
	free(out.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_rlgr3),
		cmocka_unit_test(test_rlgr1),
		cmocka_unit_test(test_odd_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* The desktop's bands (rdp/bands.c): layout, surface views, damage split. */
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bands.h"

static void check_band(const struct band *b, uint32_t y, uint32_t h)
{
	assert_int_equal(b->y, y);
	assert_int_equal(b->h, h);
}

static void test_layout_sizes(void **state)
{
	struct band b[BANDS_MAX];

	(void)state;
	/* 1080p: four bands of 17 macroblock rows, the last 264 rows. */
	assert_int_equal(bands_layout(1080, b), 4);
	check_band(&b[0], 0, 272);
	check_band(&b[1], 272, 272);
	check_band(&b[2], 544, 272);
	check_band(&b[3], 816, 264);
	/* 1024x768: three of 256; 1280x720: three of 240. */
	assert_int_equal(bands_layout(768, b), 3);
	check_band(&b[2], 512, 256);
	assert_int_equal(bands_layout(720, b), 3);
	check_band(&b[1], 240, 240);
	check_band(&b[2], 480, 240);
	/* Under 1.5 bands' height: one band, the whole desktop, odd or not. */
	assert_int_equal(bands_layout(407, b), 1);
	check_band(&b[0], 0, 407);
	assert_int_equal(bands_layout(1, b), 1);
	check_band(&b[0], 0, 1);
	assert_int_equal(bands_layout(408, b), 2);
	check_band(&b[0], 0, 208);
	check_band(&b[1], 208, 200);
	/* 4096 rows: 15 bands of 288, the last 64. */
	assert_int_equal(bands_layout(4096, b), 15);
	check_band(&b[13], 13 * 288, 288);
	check_band(&b[14], 14 * 288, 64);
	assert_int_equal(bands_layout(0, b), 0);
}

/* Every height: bands tile 0..height exactly, all but the last of one
 * height that is a multiple of 16, none empty, and about BANDS_ROWS. */
static void test_layout_all(void **state)
{
	static const uint32_t huge[] = { 65535, 65536, 1u << 30, UINT32_MAX };
	struct band b[BANDS_MAX];

	(void)state;
	for (uint32_t h = 1; h <= 4096 + 16; h++) {
		unsigned n = bands_layout(h, b);
		uint32_t y = 0;

		assert_in_range(n, 1, BANDS_MAX);
		if (h < BANDS_ROWS * 3 / 2)
			assert_int_equal(n, 1);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(b[i].y, y);
			assert_true(b[i].h > 0);
			if (i + 1 < n) {
				assert_int_equal(b[i].h, b[0].h);
				assert_int_equal(b[i].h % 16, 0);
				assert_in_range(b[i].h, BANDS_ROWS * 2 / 3, BANDS_ROWS * 3 / 2);
			}
			y += b[i].h;
		}
		assert_int_equal(y, h);
	}
	/* Far beyond any desktop: still at most BANDS_MAX, covering all. */
	for (size_t k = 0; k < ARRAY_SIZE(huge); k++) {
		unsigned n = bands_layout(huge[k], b);

		assert_int_equal(n, BANDS_MAX);
		assert_int_equal((uint64_t)b[n - 1].y + b[n - 1].h, huge[k]);
	}
}

static void test_view(void **state)
{
	static uint8_t px[4 * 10 * 100];
	const struct rcc_surface s = { .pixels = px, .width = 10, .height = 100, .stride = 40 };
	struct rcc_surface v;
	struct band b = { .y = 64, .h = 36 };

	(void)state;
	assert_int_equal(bands_view(&s, &b, &v), 0);
	assert_ptr_equal(v.pixels, px + 64 * 40);
	assert_int_equal(v.width, 10);
	assert_int_equal(v.height, 36);
	assert_int_equal(v.stride, 40);
	/* Past the surface, or empty: refused. */
	b.h = 37;
	assert_int_equal(bands_view(&s, &b, &v), -EINVAL);
	b = (struct band){ .y = UINT32_MAX, .h = 2 };
	assert_int_equal(bands_view(&s, &b, &v), -EINVAL);
	b = (struct band){ .y = 0, .h = 0 };
	assert_int_equal(bands_view(&s, &b, &v), -EINVAL);
}

static void check_rect(const struct rcc_rect *r, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	assert_int_equal(r->x, x);
	assert_int_equal(r->y, y);
	assert_int_equal(r->w, w);
	assert_int_equal(r->h, h);
}

static void test_clip(void **state)
{
	const struct rcc_rect rects[] = {
		{ 64, 256, 64, 64 },    /* a damage tile across the 272 boundary */
		{ 0, 0, 1920, 1080 },   /* everything */
		{ 128, 64, 64, 64 },    /* inside band 0 */
		{ 0, 816, 1920, 0 },    /* empty */
		{ 0, 816, 0, 64 },      /* empty */
		{ 0, 2000, 64, 64 },    /* below the desktop */
		{ 0, UINT32_MAX - 8, 64, 64 }, /* would wrap */
	};
	struct band b[BANDS_MAX];
	struct rcc_rect out[ARRAY_SIZE(rects)];

	(void)state;
	assert_int_equal(bands_layout(1080, b), 4);
	assert_int_equal(bands_clip(rects, ARRAY_SIZE(rects), &b[0], out), 3);
	check_rect(&out[0], 64, 256, 64, 16);
	check_rect(&out[1], 0, 0, 1920, 272);
	check_rect(&out[2], 128, 64, 64, 64);
	assert_int_equal(bands_clip(rects, ARRAY_SIZE(rects), &b[1], out), 2);
	check_rect(&out[0], 64, 0, 64, 48);
	check_rect(&out[1], 0, 0, 1920, 272);
	assert_int_equal(bands_clip(rects, ARRAY_SIZE(rects), &b[3], out), 1);
	check_rect(&out[0], 0, 0, 1920, 264);
	assert_int_equal(bands_clip(rects, 0, &b[0], out), 0);
}

/* Random rectangles: the parts over all bands, moved back, cover each
 * rectangle's rows inside the desktop exactly once. */
static void test_clip_random(void **state)
{
	enum { N = 64, H = 1080 };
	struct rcc_rect rects[N], out[N];
	struct band b[BANDS_MAX];
	unsigned nb = bands_layout(H, b);

	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		static uint8_t rows[N][H + 64];

		memset(rows, 0, sizeof(rows));
		for (int i = 0; i < N; i++)
			rects[i] = (struct rcc_rect){ .x = (uint32_t)i * 30,
						      .y = (uint32_t)(rand() % (H + 32)),
						      .w = 1 + (uint32_t)(rand() % 30),
						      .h = (uint32_t)(rand() % 300) };
		for (unsigned k = 0; k < nb; k++) {
			unsigned m = bands_clip(rects, N, &b[k], out);

			assert_true(m <= N);
			for (unsigned j = 0; j < m; j++) {
				assert_true(out[j].h > 0);
				assert_true(out[j].y + out[j].h <= b[k].h);
				/* x tells which input it came from; x and w are kept. */
				uint32_t i = out[j].x / 30, y = out[j].y + b[k].y;

				assert_true(i < N);
				assert_int_equal(out[j].x, rects[i].x);
				assert_int_equal(out[j].w, rects[i].w);
				for (uint32_t r = y; r < y + out[j].h; r++)
					rows[i][r]++;
			}
		}
		for (int i = 0; i < N; i++)
			for (uint32_t r = 0; r < H; r++)
				assert_int_equal(rows[i][r],
						 r >= rects[i].y && r < rects[i].y + rects[i].h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_sizes),
		cmocka_unit_test(test_layout_all),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_clip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rcc.h"

struct fb {
	struct rcc_surface s;
	uint8_t *mem;
};

static void fb_init(struct fb *f, uint32_t w, uint32_t h)
{
	/* A stride wider than the row, as a mapped scanout may have. */
	f->s.width = w;
	f->s.height = h;
	f->s.stride = w * 4 + 64;
	f->mem = calloc(1, (size_t)f->s.stride * h);
	assert_non_null(f->mem);
	f->s.pixels = f->mem;
}

static void poke(struct fb *f, uint32_t x, uint32_t y, uint32_t v)
{
	memcpy(f->mem + (size_t)y * f->s.stride + (size_t)x * 4, &v, 4);
}

static void test_new_invalid(void **state)
{
	struct rcc_damage *d = (void *)1;

	assert_int_equal(rcc_damage_new(0, 10, &d), -EINVAL);
	assert_int_equal(rcc_damage_new(10, 0, &d), -EINVAL);
	assert_int_equal(rcc_damage_new(70000, 10, &d), -EINVAL);
	assert_ptr_equal(d, (void *)1);
	rcc_damage_free(NULL);
}

static void test_hash_confirms(void **state)
{
	struct rcc_damage *d;
	struct fb f;
	struct rcc_rect out[8];
	struct rcc_rect r = { 10, 10, 100, 50 };

	fb_init(&f, 1000, 700);
	assert_int_equal(rcc_damage_new(1000, 700, &d), 0);
	assert_false(rcc_damage_pending(d));
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 0);

	/* Never hashed: the first report counts as a change. */
	rcc_damage_add(d, &r, 1);
	assert_true(rcc_damage_pending(d));
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 1);
	assert_false(rcc_damage_pending(d));
	assert_int_equal(out[0].x, 0);
	assert_int_equal(out[0].y, 0);
	assert_int_equal(out[0].w, 128);
	assert_int_equal(out[0].h, 64);

	/* Reported again, nothing changed: dropped. */
	rcc_damage_add(d, &r, 1);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 0);

	/* Hash every tile once; then one pixel in the second tile changes
	 * and the guest reports the whole screen. */
	rcc_damage_add_all(d);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 1);
	poke(&f, 70, 20, 0xffffff);
	r = (struct rcc_rect){ 0, 0, 1000, 700 };
	rcc_damage_add(d, &r, 1);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 1);
	assert_int_equal(out[0].x, 64);
	assert_int_equal(out[0].y, 0);
	assert_int_equal(out[0].w, 64);
	assert_int_equal(out[0].h, 64);

	/* A change without a report is not seen (the guest must report). */
	poke(&f, 500, 500, 0x123456);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 8), 0);

	rcc_damage_free(d);
	free(f.mem);
}

static void test_add_all_forces(void **state)
{
	struct rcc_damage *d;
	struct fb f;
	struct rcc_rect out[4];

	fb_init(&f, 1000, 700);
	assert_int_equal(rcc_damage_new(1000, 700, &d), 0);
	rcc_damage_add_all(d);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 4), 1);
	/* Unchanged since, but a new client must get everything. */
	rcc_damage_add_all(d);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 4), 1);
	assert_int_equal(out[0].x, 0);
	assert_int_equal(out[0].y, 0);
	assert_int_equal(out[0].w, 1000); /* clipped, not 1024 */
	assert_int_equal(out[0].h, 700);
	/* max == 0 writes nothing but clears. */
	rcc_damage_add_all(d);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 0), 0);
	assert_false(rcc_damage_pending(d));
	rcc_damage_free(d);
	free(f.mem);
}

static void test_hostile_rects(void **state)
{
	struct rcc_damage *d;
	struct fb f;
	struct rcc_rect out[4];
	struct rcc_rect r[] = {
		{ UINT32_MAX - 1, 0, 10, 10 },		/* x + w wraps */
		{ 0, UINT32_MAX, 10, UINT32_MAX },	/* below the surface */
		{ 5, 5, 0, 10 },			/* empty */
		{ 1000, 0, 10, 10 },			/* right of the surface */
	};

	fb_init(&f, 1000, 700);
	assert_int_equal(rcc_damage_new(1000, 700, &d), 0);
	rcc_damage_add(d, r, 4);
	assert_false(rcc_damage_pending(d));
	/* Huge but valid: clipped to the surface. */
	r[0] = (struct rcc_rect){ 900, 650, UINT32_MAX, UINT32_MAX };
	rcc_damage_add(d, r, 1);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 4), 1);
	assert_int_equal(out[0].x, 896);
	assert_int_equal(out[0].y, 640);
	assert_int_equal(out[0].w, 104);
	assert_int_equal(out[0].h, 60);
	rcc_damage_free(d);
	free(f.mem);
}

static void test_vertical_merge(void **state)
{
	struct rcc_damage *d;
	struct fb f;
	struct rcc_rect out[16];
	struct rcc_rect r[] = {
		{ 64, 64, 128, 192 },  /* 2x3 tiles: one rect */
		{ 640, 64, 64, 64 },   /* separate */
	};

	fb_init(&f, 1024, 768);
	assert_int_equal(rcc_damage_new(1024, 768, &d), 0);
	rcc_damage_add(d, r, 2);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 16), 2);
	assert_int_equal(out[0].x, 64);
	assert_int_equal(out[0].y, 64);
	assert_int_equal(out[0].w, 128);
	assert_int_equal(out[0].h, 192);
	assert_int_equal(out[1].x, 640);
	assert_int_equal(out[1].w, 64);

	/* Only one allowed: the bounding box. */
	for (int i = 0; i < 2; i++)
		poke(&f, r[i].x, r[i].y, 0xff);
	rcc_damage_add(d, r, 2);
	assert_int_equal(rcc_damage_take(d, &f.s, out, 1), 1);
	assert_int_equal(out[0].x, 64);
	assert_int_equal(out[0].y, 64);
	assert_int_equal(out[0].w, 640);
	assert_int_equal(out[0].h, 64);
	rcc_damage_free(d);
	free(f.mem);
}

/* Properties every take must keep, on random damage. */
static void check_cover(const struct rcc_rect *out, unsigned n, unsigned max, uint32_t w,
			uint32_t h, const uint8_t *dirty, uint32_t cols, uint32_t rows)
{
	uint8_t *cover = calloc((size_t)cols * rows, 1);

	assert_non_null(cover);
	assert_true(n <= max);
	for (unsigned i = 0; i < n; i++) {
		assert_true(out[i].w > 0 && out[i].h > 0);
		assert_int_equal(out[i].x % RCC_TILE, 0);
		assert_int_equal(out[i].y % RCC_TILE, 0);
		assert_true(out[i].x + out[i].w <= w);
		assert_true(out[i].y + out[i].h <= h);
		assert_true(out[i].x + out[i].w == w || out[i].w % RCC_TILE == 0);
		assert_true(out[i].y + out[i].h == h || out[i].h % RCC_TILE == 0);
		for (uint32_t ty = out[i].y / RCC_TILE; ty * RCC_TILE < out[i].y + out[i].h; ty++)
			for (uint32_t tx = out[i].x / RCC_TILE; tx * RCC_TILE < out[i].x + out[i].w;
			     tx++) {
				assert_int_equal(cover[ty * cols + tx], 0); /* no overlap */
				cover[ty * cols + tx] = 1;
			}
	}
	for (uint32_t i = 0; i < cols * rows; i++)
		if (dirty[i])
			assert_int_equal(cover[i], 1);
	free(cover);
}

static void test_random_merge(void **state)
{
	const uint32_t w = 1920, h = 1080, cols = 30, rows = 17;
	struct rcc_damage *d;
	struct fb f;
	struct rcc_rect out[64];
	uint8_t dirty[30 * 17];

	srand(42);
	fb_init(&f, w, h);
	assert_int_equal(rcc_damage_new(w, h, &d), 0);
	rcc_damage_add_all(d);
	rcc_damage_take(d, &f.s, out, 64);
	for (int iter = 0; iter < 300; iter++) {
		/* Sparse, dense or checkerboard damage. */
		int density = iter % 3 == 0 ? 2 : iter % 3 == 1 ? 30 : 90;
		unsigned max = 1 + (unsigned)rand() % 64;

		memset(dirty, 0, sizeof(dirty));
		for (uint32_t ty = 0; ty < rows; ty++) {
			for (uint32_t tx = 0; tx < cols; tx++) {
				struct rcc_rect r = { tx * RCC_TILE + 3, ty * RCC_TILE + 3, 1, 1 };
				bool hit = iter % 7 == 6 ? (tx + ty) % 2 == 0 : rand() % 100 < density;

				if (!hit)
					continue;
				dirty[ty * cols + tx] = 1;
				poke(&f, r.x, r.y, (uint32_t)iter + 1); /* differs each round */
				rcc_damage_add(d, &r, 1);
			}
		}
		/* Plus a report on an unchanged tile: must not matter. */
		rcc_damage_add(d, &(struct rcc_rect){ 0, 1024, 1, 1 }, 1);
		unsigned n = rcc_damage_take(d, &f.s, out, max);
		check_cover(out, n, max, w, h, dirty, cols, rows);
	}
	rcc_damage_free(d);
	free(f.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_hash_confirms),
		cmocka_unit_test(test_add_all_forces),
		cmocka_unit_test(test_hostile_rects),
		cmocka_unit_test(test_vertical_merge),
		cmocka_unit_test(test_random_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

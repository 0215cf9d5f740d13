// SPDX-License-Identifier: GPL-3.0-or-later
/* RDP input -> display-socket input (rdp/input.c). */
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <freerdp/input.h>

#include "input.h"

#define W 1024
#define H 768

static void test_scancode(void **state)
{
	struct input_key k;

	(void)state;
	/* 'a' down and up. */
	assert_true(input_map_scancode(KBD_FLAGS_DOWN, 0x1e, &k));
	assert_int_equal(k.scancode, 0x1e);
	assert_true(k.down);
	assert_false(k.e0);
	assert_false(k.e1);
	assert_true(input_map_scancode(KBD_FLAGS_RELEASE, 0x1e, &k));
	assert_false(k.down);
	/* Right Ctrl: e0 1d. */
	assert_true(input_map_scancode(KBD_FLAGS_EXTENDED, 0x1d, &k));
	assert_true(k.e0);
	assert_false(k.e1);
	assert_true(k.down);
	/* Pause starts with e1 1d. */
	assert_true(input_map_scancode(KBD_FLAGS_EXTENDED1, 0x1d, &k));
	assert_true(k.e1);
	assert_false(k.e0);
	/* Nothing a keyboard sends as a make code. */
	assert_false(input_map_scancode(0, 0, &k));
	assert_false(input_map_scancode(0, 0x80, &k));
	assert_false(input_map_scancode(0, 0x1ff, &k));
	assert_false(input_map_scancode(KBD_FLAGS_EXTENDED | KBD_FLAGS_EXTENDED1, 0x1d, &k));
}

static void test_unicode(void **state)
{
	struct input_key k[INPUT_UNICODE_MAX];

	(void)state;
	assert_int_equal(input_map_unicode(0, 'h', k), 1);
	assert_int_equal(k[0].scancode, 0x23);
	assert_true(k[0].down);
	assert_int_equal(input_map_unicode(KBD_FLAGS_RELEASE, 'h', k), 1);
	assert_false(k[0].down);
	/* Shift brackets the press only. */
	assert_int_equal(input_map_unicode(0, 'H', k), 3);
	assert_int_equal(k[0].scancode, 0x2a);
	assert_true(k[0].down);
	assert_int_equal(k[1].scancode, 0x23);
	assert_true(k[1].down);
	assert_int_equal(k[2].scancode, 0x2a);
	assert_false(k[2].down);
	assert_int_equal(input_map_unicode(KBD_FLAGS_RELEASE, 'H', k), 1);
	assert_int_equal(k[0].scancode, 0x23);
	assert_int_equal(input_map_unicode(0, '?', k), 3);
	assert_int_equal(k[1].scancode, 0x35);
	assert_int_equal(input_map_unicode(0, '\r', k), 1);
	assert_int_equal(k[0].scancode, 0x1c);
	/* No key on a US layout: dropped. */
	assert_int_equal(input_map_unicode(0, 0xe9, k), 0);
	assert_int_equal(input_map_unicode(0, 0x20ac, k), 0);
	assert_int_equal(input_map_unicode(0, 0x07, k), 0);
	assert_int_equal(input_map_unicode(0, 0x7f, k), 0);
}

static void test_scale(void **state)
{
	uint32_t v;

	(void)state;
	/* The centre of each pixel, so x * size / 32768 gives it back. */
	assert_int_equal(input_scale(0, 1024), 16);
	assert_int_equal(input_scale(1023, 1024), 32752);
	assert_int_equal(input_scale(5000, 1024), 32752);
	assert_int_equal(input_scale(0, 1), 16384);
	assert_int_equal(input_scale(7, 0), 0);
	for (v = 0; v < 1100; v++)
		assert_int_equal((uint64_t)input_scale(v, 1100) * 1100 / 32768, v);
	for (v = 0; v < 8192; v += 7)
		assert_true(input_scale(v, 8192) <= INPUT_ABS_MAX);
}

static void test_mouse(void **state)
{
	struct input_mouse st = { 0 };
	struct input_mouse_msg m;

	(void)state;
	assert_true(input_map_mouse(&st, PTR_FLAGS_MOVE, 512, 384, 1024, 768, &m));
	assert_int_equal(m.x, input_scale(512, 1024));
	assert_int_equal(m.y, input_scale(384, 768));
	assert_int_equal(m.buttons, 0);
	assert_int_equal(m.wheel, 0);
	/* Left down, right down, left up: the state, not the event. */
	assert_true(input_map_mouse(&st, PTR_FLAGS_DOWN | PTR_FLAGS_BUTTON1, 10, 20, W, H, &m));
	assert_int_equal(m.buttons, 1);
	assert_true(input_map_mouse(&st, PTR_FLAGS_DOWN | PTR_FLAGS_BUTTON2, 10, 20, W, H, &m));
	assert_int_equal(m.buttons, 3);
	assert_true(input_map_mouse(&st, PTR_FLAGS_BUTTON1, 10, 20, 1024, 768, &m));
	assert_int_equal(m.buttons, 2);
	assert_true(input_map_mouse(&st, PTR_FLAGS_DOWN | PTR_FLAGS_BUTTON3, 10, 20, W, H, &m));
	assert_int_equal(m.buttons, 6);
	/* Wheel: one detent away from the user, at the last position. */
	assert_true(input_map_mouse(&st, PTR_FLAGS_WHEEL | 0x78, 0, 0, 1024, 768, &m));
	assert_int_equal(m.wheel, 1);
	assert_int_equal(m.x, input_scale(10, 1024));
	assert_int_equal(m.y, input_scale(20, 768));
	assert_int_equal(m.buttons, 6);
	/* -120 as a 9-bit two's complement: 0x188. */
	assert_true(input_map_mouse(&st, PTR_FLAGS_WHEEL | PTR_FLAGS_WHEEL_NEGATIVE | 0x88, 0, 0,
				    1024, 768, &m));
	assert_int_equal(m.wheel, -1);
	/* Half detents add up. */
	assert_false(input_map_mouse(&st, PTR_FLAGS_WHEEL | 60, 0, 0, 1024, 768, &m));
	assert_true(input_map_mouse(&st, PTR_FLAGS_WHEEL | 60, 0, 0, 1024, 768, &m));
	assert_int_equal(m.wheel, 1);
	assert_true(input_map_mouse(&st, PTR_FLAGS_WHEEL | 0xf0, 0, 0, 1024, 768, &m));
	assert_int_equal(m.wheel, 2);
	/* No horizontal wheel on the socket; an empty event is nothing. */
	assert_false(input_map_mouse(&st, PTR_FLAGS_HWHEEL | 0x78, 0, 0, 1024, 768, &m));
	assert_false(input_map_mouse(&st, 0, 5, 5, 1024, 768, &m));
	/* Past the edge clamps. */
	assert_true(input_map_mouse(&st, PTR_FLAGS_MOVE, 65535, 65535, 1024, 768, &m));
	assert_int_equal(m.x, input_scale(1023, 1024));
	assert_int_equal(m.y, input_scale(767, 768));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scancode),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_mouse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

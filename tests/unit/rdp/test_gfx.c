// SPDX-License-Identifier: GPL-3.0-or-later
/* RDPGFX capability choice (rdp/caps.c) and pointer shapes (rdp/pointer.c). */
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps.h"
#include "pointer.h"

#define CAP(v, f) { .version = (v), .length = 4, .flags = (f) }

static void test_caps(void **state)
{
	/* What FreeRDP 2.11's client offers (research/remote-display.md). */
	const RDPGFX_CAPSET deflt[] = {
		CAP(RDPGFX_CAPVERSION_8, 0),
		CAP(RDPGFX_CAPVERSION_81, RDPGFX_CAPS_FLAG_AVC420_ENABLED),
		CAP(RDPGFX_CAPVERSION_10, 0),
		CAP(RDPGFX_CAPVERSION_101, 0),
		CAP(RDPGFX_CAPVERSION_102, 0),
		CAP(RDPGFX_CAPVERSION_103, 0),
		CAP(RDPGFX_CAPVERSION_104, 0),
		CAP(RDPGFX_CAPVERSION_105, 0),
		CAP(RDPGFX_CAPVERSION_106, 0),
		CAP(RDPGFX_CAPVERSION_107, 0),
	};
	const RDPGFX_CAPSET avc420[] = {
		CAP(RDPGFX_CAPVERSION_8, 0),
		CAP(RDPGFX_CAPVERSION_81, RDPGFX_CAPS_FLAG_AVC420_ENABLED),
	};
	const RDPGFX_CAPSET bare[] = {
		CAP(RDPGFX_CAPVERSION_8, 0),
		CAP(RDPGFX_CAPVERSION_81, 0),
		CAP(RDPGFX_CAPVERSION_10, RDPGFX_CAPS_FLAG_AVC_DISABLED),
		CAP(RDPGFX_CAPVERSION_101, 0),
		CAP(RDPGFX_CAPVERSION_107, RDPGFX_CAPS_FLAG_AVC_DISABLED),
	};
	const RDPGFX_CAPSET only101[] = { CAP(RDPGFX_CAPVERSION_101, 0) };
	const RDPGFX_CAPSET unknown[] = { CAP(0x12345678, 0) };
	bool avc;

	(void)state;
	assert_int_equal(gfx_caps_choose(deflt, 10, &avc), 9);
	assert_true(avc);
	assert_int_equal(gfx_caps_choose(avc420, 2, &avc), 1);
	assert_true(avc);
	/* Bare /gfx: the newest, without AVC. */
	assert_int_equal(gfx_caps_choose(bare, 5, &avc), 4);
	assert_false(avc);
	/* 10.1 has no flags: never taken for AVC, fine without. */
	assert_int_equal(gfx_caps_choose(only101, 1, &avc), 0);
	assert_false(avc);
	assert_int_equal(gfx_caps_choose(unknown, 1, &avc), -1);
	assert_int_equal(gfx_caps_choose(NULL, 0, &avc), -1);
}

static void test_pointer(void **state)
{
	/* 2x2 BGRA, top-down: an opaque red over a transparent pixel, then
	 * opaque blue, half-transparent green. */
	const uint8_t argb[16] = {
		0x00, 0x00, 0xff, 0xff,  0x11, 0x22, 0x33, 0x00,
		0xff, 0x00, 0x00, 0xff,  0x00, 0x80, 0x00, 0x80,
	};
	struct pointer_shape p;
	uint8_t big[4];

	(void)state;
	assert_int_equal(pointer_convert(argb, 2, 2, 1, 1, &p), 0);
	assert_int_equal(p.width, 2);
	assert_int_equal(p.xor_len, 16);
	/* AND rows are padded to 2 bytes. */
	assert_int_equal(p.and_len, 4);
	/* Bottom-up: the first XOR row is the image's last. */
	assert_memory_equal(p.xor_mask, argb + 8, 8);
	assert_memory_equal(p.xor_mask + 8, argb, 4);
	/* The transparent pixel: black XOR, AND bit set. */
	assert_memory_equal(p.xor_mask + 12, "\0\0\0\0", 4);
	assert_int_equal(p.and_mask[0], 0x00);
	assert_int_equal(p.and_mask[2], 0x40);
	pointer_shape_clear(&p);
	assert_null(p.xor_mask);

	assert_int_equal(pointer_convert(big, 97, 1, 0, 0, &p), -EINVAL);
	assert_int_equal(pointer_convert(big, 1, 1, 1, 0, &p), -EINVAL);
	assert_int_equal(pointer_convert(big, 0, 1, 0, 0, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_pointer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

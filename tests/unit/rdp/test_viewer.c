// SPDX-License-Identifier: GPL-3.0-or-later
/* The display-socket client's parser (rdp/viewer.c), over what skyvm
 * sends (docs/display.md) and what a broken skyvm could. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "viewer.h"

static int parse(const char *s, struct viewer_msg *m)
{
	return viewer_parse(s, strlen(s), m);
}

/* A valid mode line but for one member's text. */
static int mode_with(const char *w, const char *stride, const char *offset, struct viewer_msg *m)
{
	char line[256];

	snprintf(line, sizeof(line),
		 "{\"type\":\"mode\",\"valid\":true,\"width\":%s,\"height\":768,"
		 "\"stride\":%s,\"format\":\"XRGB8888\",\"offset\":%s}", w, stride, offset);
	return parse(line, m);
}

static void test_hello(void **state)
{
	struct viewer_msg m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"hello\",\"version\":1,\"vram_size\":33554432}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_HELLO);
	assert_int_equal(m.hello.version, 1);
	assert_int_equal(m.hello.vram_size, 33554432);
	viewer_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"hello\",\"version\":1,\"vram_size\":0}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"hello\",\"version\":\"1\",\"vram_size\":8}", &m),
			 -EPROTO);
	assert_int_equal(parse("{\"type\":\"hello\",\"vram_size\":8}", &m), -EPROTO);
}

static void test_mode(void **state)
{
	struct viewer_msg m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"mode\",\"valid\":true,\"width\":1024,\"height\":768,"
			       "\"stride\":4096,\"format\":\"XRGB8888\",\"offset\":0}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_MODE);
	assert_true(m.mode.valid);
	assert_int_equal(m.mode.width, 1024);
	assert_int_equal(m.mode.height, 768);
	assert_int_equal(m.mode.stride, 4096);
	assert_int_equal(m.mode.offset, 0);
	assert_int_equal(parse("{\"type\":\"mode\",\"valid\":false}", &m), 0);
	assert_false(m.mode.valid);
	/* A format of a later version: no picture, not an error. */
	assert_int_equal(parse("{\"type\":\"mode\",\"valid\":true,\"width\":4,\"height\":4,"
			       "\"stride\":16,\"format\":\"NV12\",\"offset\":0}", &m), 0);
	assert_false(m.mode.valid);
	/* stride shorter than a row, zero width, too wide, 1 for true... */
	assert_int_equal(mode_with("1024", "4096", "0", &m), 0);
	assert_int_equal(mode_with("1024", "4095", "0", &m), -EPROTO);
	assert_int_equal(mode_with("0", "4096", "0", &m), -EPROTO);
	assert_int_equal(mode_with("9000", "36000", "0", &m), -EPROTO);
	assert_int_equal(mode_with("4", "16", "-4", &m), -EPROTO);
	assert_int_equal(mode_with("4.0", "16", "0", &m), -EPROTO);
	assert_int_equal(mode_with("4", "16", "\"0\"", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"mode\",\"valid\":1}", &m), -EPROTO);
}

static void test_fits(void **state)
{
	struct viewer_mode m = { .valid = true, .width = 1024, .height = 768, .stride = 4096 };

	(void)state;
	assert_true(viewer_mode_fits(&m, 4096 * 768));
	assert_false(viewer_mode_fits(&m, 4096 * 768 - 1));
	m.offset = 4096;
	assert_false(viewer_mode_fits(&m, 4096 * 768));
	assert_true(viewer_mode_fits(&m, 4096 * 769));
	/* The last row needs only width * 4 bytes, not a whole stride. */
	m.offset = 0;
	m.stride = 8192;
	assert_true(viewer_mode_fits(&m, 8192 * 767 + 4096));
	assert_false(viewer_mode_fits(&m, 8192 * 767 + 4095));
	/* Offsets that would wrap. */
	m.offset = UINT64_MAX - 10;
	assert_false(viewer_mode_fits(&m, UINT64_MAX));
	m.offset = 0;
	m.stride = UINT32_MAX;
	m.height = 8192;
	assert_false(viewer_mode_fits(&m, 1ull << 40));
	m.valid = false;
	assert_true(viewer_mode_fits(&m, 0));
}

static void test_damage(void **state)
{
	struct viewer_msg *m = malloc(sizeof(*m));
	char *big;
	size_t i, len;

	(void)state;
	assert_non_null(m);
	assert_int_equal(parse("{\"type\":\"damage\",\"t\":81234567890,\"rects\":[[0,0,1024,16],"
			       "[5,6,7,8]]}", m), 0);
	assert_int_equal(m->type, VIEWER_MSG_DAMAGE);
	assert_int_equal(m->damage.t, 81234567890ull);
	assert_int_equal(m->damage.n, 2);
	assert_int_equal(m->damage.rects[1].x, 5);
	assert_int_equal(m->damage.rects[1].y, 6);
	assert_int_equal(m->damage.rects[1].w, 7);
	assert_int_equal(m->damage.rects[1].h, 8);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[]}", m), 0);
	assert_int_equal(m->damage.n, 0);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[[0,0,0,1]]}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[[-1,0,1,1]]}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[[0,0,1]]}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[[0,0,1,99999]]}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":[[0,0,1,\"1\"]]}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"rects\":{}}", m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"damage\",\"t\":-1,\"rects\":[]}", m), -EPROTO);
	/* 256 rectangles at most. */
	len = 64 + 257 * 16;
	big = malloc(len);
	assert_non_null(big);
	if (!big)
		return;
	for (int n = 256; n <= 257; n++) {
		char *p = big;

		p += sprintf(p, "{\"type\":\"damage\",\"rects\":[");
		for (i = 0; i < (size_t)n; i++)
			p += sprintf(p, "%s[%zu,0,1,1]", i ? "," : "", i);
		sprintf(p, "]}");
		assert_int_equal(parse(big, m), n == 256 ? 0 : -EPROTO);
		if (n == 256)
			assert_int_equal(m->damage.n, 256);
	}
	free(big);
	free(m);
}

static void test_pointer(void **state)
{
	struct viewer_msg m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"pointer\",\"x\":-5,\"y\":900,\"visible\":true}",
			       &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_POINTER);
	assert_int_equal(m.pointer.x, -5);
	assert_int_equal(m.pointer.y, 900);
	assert_true(m.pointer.visible);
	assert_int_equal(parse("{\"type\":\"pointer\",\"x\":0,\"y\":0}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"pointer\",\"x\":4294967296,\"y\":0,\"visible\":false}",
			       &m), -EPROTO);
}

static void test_cursor(void **state)
{
	struct viewer_msg m;

	(void)state;
	/* 2x2 pixels: 16 bytes 01..10. */
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":2,\"height\":2,\"hot_x\":1,"
			       "\"hot_y\":0,\"argb\":\"AQIDBAUGBwgJCgsMDQ4PEA==\"}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_CURSOR);
	assert_int_equal(m.cursor.width, 2);
	assert_int_equal(m.cursor.hot_x, 1);
	assert_non_null(m.cursor.argb);
	assert_int_equal(m.cursor.argb[0], 1);
	assert_int_equal(m.cursor.argb[15], 16);
	viewer_msg_clear(&m);
	assert_null(m.cursor.argb);
	/* No shape. */
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":0,\"height\":0,\"hot_x\":0,"
			       "\"hot_y\":0,\"argb\":\"\"}", &m), 0);
	assert_int_equal(m.cursor.width, 0);
	assert_null(m.cursor.argb);
	viewer_msg_clear(&m);
	/* Short data, hot spot outside, too many pixels, bad base64. */
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":2,\"height\":2,\"hot_x\":0,"
			       "\"hot_y\":0,\"argb\":\"AQIDBAUGBwgJCgsMDQ4P\"}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":2,\"height\":2,\"hot_x\":2,"
			       "\"hot_y\":0,\"argb\":\"AQIDBAUGBwgJCgsMDQ4PEA==\"}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":200,\"height\":200,\"hot_x\":0,"
			       "\"hot_y\":0,\"argb\":\"\"}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":\"cursor\",\"width\":2,\"height\":2,\"hot_x\":0,"
			       "\"hot_y\":0,\"argb\":\"AQIDBAUGBwgJCgsMDQ4PE!==\"}", &m), -EPROTO);
}

static void test_other(void **state)
{
	struct viewer_msg m;

	(void)state;
	assert_int_equal(parse("{\"type\":\"pong\",\"id\":1}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_PONG);
	assert_int_equal(parse("{\"type\":\"error\",\"message\":\"too many viewers\"}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_ERROR);
	assert_string_equal(m.error.message, "too many viewers");
	assert_int_equal(parse("{\"type\":\"error\"}", &m), 0);
	assert_string_equal(m.error.message, "");
	assert_int_equal(parse("{\"type\":\"frobnicate\"}", &m), 0);
	assert_int_equal(m.type, VIEWER_MSG_UNKNOWN);
	assert_int_equal(parse("{\"typ\":\"hello\"}", &m), -EPROTO);
	assert_int_equal(parse("{\"type\":7}", &m), -EPROTO);
	assert_int_equal(parse("[1,2]", &m), -EBADMSG);
	assert_int_equal(parse("{\"type\":\"hello\"", &m), -EBADMSG);
	assert_int_equal(viewer_parse("", 0, &m), -EBADMSG);
}

static void test_base64(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(viewer_base64_decode("", 0, out), 0);
	assert_int_equal(viewer_base64_decode("TQ==", 4, out), 1);
	assert_int_equal(out[0], 'M');
	assert_int_equal(viewer_base64_decode("TWE=", 4, out), 2);
	assert_int_equal(viewer_base64_decode("TWFu", 4, out), 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(viewer_base64_decode("+/+/", 4, out), 3);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(viewer_base64_decode("TWF", 3, out), -EINVAL);
	assert_int_equal(viewer_base64_decode("T===", 4, out), -EINVAL);
	assert_int_equal(viewer_base64_decode("TQ==TWFu", 8, out), -EINVAL);
	assert_int_equal(viewer_base64_decode("T=Fu", 4, out), -EINVAL);
	assert_int_equal(viewer_base64_decode("TW-u", 4, out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_other),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

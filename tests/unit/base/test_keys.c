// SPDX-License-Identifier: GPL-3.0-or-later
/* skyctl's scancode tables (clients/keys.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"

static void expect_ev(const struct key_event *ev, uint8_t sc, bool down, bool e0)
{
	assert_int_equal(ev->scancode, sc);
	assert_int_equal(ev->down, down);
	assert_int_equal(ev->e0, e0);
}

static void test_lookup(void **state)
{
	static const struct {
		const char *name;
		uint8_t sc;
		bool e0;
	} cases[] = {
		{ "ctrl", 0x1d, false },  { "CTRL", 0x1d, false },  { "rctrl", 0x1d, true },
		{ "alt", 0x38, false },   { "altgr", 0x38, true },  { "shift", 0x2a, false },
		{ "rshift", 0x36, false }, { "meta", 0x5b, true },  { "Win", 0x5b, true },
		{ "enter", 0x1c, false }, { "esc", 0x01, false },   { "tab", 0x0f, false },
		{ "backspace", 0x0e, false }, { "space", 0x39, false },
		{ "f1", 0x3b, false },    { "f10", 0x44, false },   { "f11", 0x57, false },
		{ "F12", 0x58, false },   { "up", 0x48, true },     { "down", 0x50, true },
		{ "left", 0x4b, true },   { "right", 0x4d, true },  { "home", 0x47, true },
		{ "end", 0x4f, true },    { "pgup", 0x49, true },   { "pgdn", 0x51, true },
		{ "ins", 0x52, true },    { "del", 0x53, true },    { "delete", 0x53, true },
		{ "a", 0x1e, false },     { "A", 0x1e, false },     { "z", 0x2c, false },
		{ "q", 0x10, false },     { "1", 0x02, false },     { "0", 0x0b, false },
		{ "/", 0x35, false },     { "=", 0x0d, false },     { "`", 0x29, false },
	};
	struct key k;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(keys_lookup(cases[i].name, &k), 0);
		assert_int_equal(k.scancode, cases[i].sc);
		assert_int_equal(k.e0, cases[i].e0);
	}
	assert_int_equal(keys_lookup("", &k), -ENOENT);
	assert_int_equal(keys_lookup("f13", &k), -ENOENT);
	assert_int_equal(keys_lookup("ctr", &k), -ENOENT);
	assert_int_equal(keys_lookup("!", &k), -ENOENT); /* shift+1: no key of its own */
	assert_int_equal(keys_lookup(" ", &k), -ENOENT);  /* "space" */
	assert_int_equal(keys_lookup("\xc3\xa9", &k), -ENOENT);
}

static void test_chars(void **state)
{
	struct key k;
	bool shift;

	/* Every printable ASCII character has a key; the table has no holes. */
	for (int c = ' '; c < 127; c++) {
		assert_int_equal(keys_for_char((char)c, &k, &shift), 0);
		assert_true(k.scancode > 0 && k.scancode < 0x80);
		assert_false(k.e0);
	}
	assert_int_equal(keys_for_char('a', &k, &shift), 0);
	assert_false(shift);
	assert_int_equal(keys_for_char('A', &k, &shift), 0);
	assert_true(shift);
	assert_int_equal(k.scancode, 0x1e);
	assert_int_equal(keys_for_char('?', &k, &shift), 0);
	assert_true(shift);
	assert_int_equal(k.scancode, 0x35);
	assert_int_equal(keys_for_char('\n', &k, &shift), 0);
	assert_int_equal(k.scancode, 0x1c);
	assert_int_equal(keys_for_char('\t', &k, &shift), 0);
	assert_int_equal(k.scancode, 0x0f);
	assert_int_equal(keys_for_char('\r', &k, &shift), 0);
	assert_int_equal(k.scancode, 0x1c);
	assert_int_equal(keys_for_char('\b', &k, &shift), 0);
	assert_int_equal(k.scancode, 0x0e);
	assert_int_equal(keys_for_char('\a', &k, &shift), -EINVAL);
	assert_int_equal(keys_for_char('\0', &k, &shift), -EINVAL);
	assert_int_equal(keys_for_char(127, &k, &shift), -EINVAL);
	assert_int_equal(keys_for_char((char)0xc3, &k, &shift), -EINVAL);
}

static void test_text(void **state)
{
	struct key_event ev[32];
	size_t bad = 99;

	assert_int_equal(keys_text("aB\n", ev, 32, &bad), 8);
	expect_ev(&ev[0], 0x1e, true, false);
	expect_ev(&ev[1], 0x1e, false, false);
	expect_ev(&ev[2], 0x2a, true, false);
	expect_ev(&ev[3], 0x30, true, false);
	expect_ev(&ev[4], 0x30, false, false);
	expect_ev(&ev[5], 0x2a, false, false);
	expect_ev(&ev[6], 0x1c, true, false);
	expect_ev(&ev[7], 0x1c, false, false);
	assert_int_equal(bad, 99);

	assert_int_equal(keys_text("", ev, 0, NULL), 0);
	assert_int_equal(keys_text("ls -l", ev, 32, NULL), 10);
	assert_int_equal(keys_text("a:", ev, 5, NULL), -ENOBUFS);
	assert_int_equal(keys_text("a:", ev, 6, NULL), 6);
	assert_int_equal(keys_text("ok\x01no", ev, 32, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(keys_text("caf\xc3\xa9", ev, 32, &bad), -EINVAL);
	assert_int_equal(bad, 3);
}

static void test_combo(void **state)
{
	struct key_event ev[2 * KEYS_COMBO_MAX];

	assert_int_equal(keys_combo("ctrl+alt+del", ev, 16), 6);
	expect_ev(&ev[0], 0x1d, true, false);
	expect_ev(&ev[1], 0x38, true, false);
	expect_ev(&ev[2], 0x53, true, true);
	expect_ev(&ev[3], 0x53, false, true);
	expect_ev(&ev[4], 0x38, false, false);
	expect_ev(&ev[5], 0x1d, false, false);

	assert_int_equal(keys_combo("enter", ev, 16), 2);
	expect_ev(&ev[0], 0x1c, true, false);
	expect_ev(&ev[1], 0x1c, false, false);
	assert_int_equal(keys_combo("Shift+F10", ev, 16), 4);
	assert_int_equal(keys_combo("meta+up", ev, 16), 4);
	expect_ev(&ev[0], 0x5b, true, true);
	expect_ev(&ev[1], 0x48, true, true);
	assert_int_equal(keys_combo("ctrl+/", ev, 16), 4);

	assert_int_equal(keys_combo("", ev, 16), -EINVAL);
	assert_int_equal(keys_combo("ctrl+", ev, 16), -EINVAL);
	assert_int_equal(keys_combo("+a", ev, 16), -EINVAL);
	assert_int_equal(keys_combo("ctrl++", ev, 16), -EINVAL);
	assert_int_equal(keys_combo("ctrl+nope", ev, 16), -ENOENT);
	assert_int_equal(keys_combo("ctrl+averyveryverylongname", ev, 16), -ENOENT);
	assert_int_equal(keys_combo("a+b+c+d+e+f+g+h", ev, 16), 16);
	assert_int_equal(keys_combo("a+b+c+d+e+f+g+h+i", ev, 16), -EINVAL);
	assert_int_equal(keys_combo("ctrl+alt+del", ev, 5), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_combo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

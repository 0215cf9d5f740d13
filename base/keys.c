// SPDX-License-Identifier: GPL-3.0-or-later
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define SC_LSHIFT 0x2a

/* Printable ASCII on a US layout: make code, and whether shift is held. */
static const struct {
	uint8_t sc;
	bool shift;
} ascii[128] = {
	['\b'] = { 0x0e, false }, ['\t'] = { 0x0f, false },
	['\r'] = { 0x1c, false }, ['\n'] = { 0x1c, false },
	[' '] = { 0x39, false },
	['1'] = { 0x02, false }, ['!'] = { 0x02, true },
	['2'] = { 0x03, false }, ['@'] = { 0x03, true },
	['3'] = { 0x04, false }, ['#'] = { 0x04, true },
	['4'] = { 0x05, false }, ['$'] = { 0x05, true },
	['5'] = { 0x06, false }, ['%'] = { 0x06, true },
	['6'] = { 0x07, false }, ['^'] = { 0x07, true },
	['7'] = { 0x08, false }, ['&'] = { 0x08, true },
	['8'] = { 0x09, false }, ['*'] = { 0x09, true },
	['9'] = { 0x0a, false }, ['('] = { 0x0a, true },
	['0'] = { 0x0b, false }, [')'] = { 0x0b, true },
	['-'] = { 0x0c, false }, ['_'] = { 0x0c, true },
	['='] = { 0x0d, false }, ['+'] = { 0x0d, true },
	['q'] = { 0x10, false }, ['w'] = { 0x11, false }, ['e'] = { 0x12, false },
	['r'] = { 0x13, false }, ['t'] = { 0x14, false }, ['y'] = { 0x15, false },
	['u'] = { 0x16, false }, ['i'] = { 0x17, false }, ['o'] = { 0x18, false },
	['p'] = { 0x19, false },
	['['] = { 0x1a, false }, ['{'] = { 0x1a, true },
	[']'] = { 0x1b, false }, ['}'] = { 0x1b, true },
	['a'] = { 0x1e, false }, ['s'] = { 0x1f, false }, ['d'] = { 0x20, false },
	['f'] = { 0x21, false }, ['g'] = { 0x22, false }, ['h'] = { 0x23, false },
	['j'] = { 0x24, false }, ['k'] = { 0x25, false }, ['l'] = { 0x26, false },
	[';'] = { 0x27, false }, [':'] = { 0x27, true },
	['\''] = { 0x28, false }, ['"'] = { 0x28, true },
	['`'] = { 0x29, false }, ['~'] = { 0x29, true },
	['\\'] = { 0x2b, false }, ['|'] = { 0x2b, true },
	['z'] = { 0x2c, false }, ['x'] = { 0x2d, false }, ['c'] = { 0x2e, false },
	['v'] = { 0x2f, false }, ['b'] = { 0x30, false }, ['n'] = { 0x31, false },
	['m'] = { 0x32, false },
	[','] = { 0x33, false }, ['<'] = { 0x33, true },
	['.'] = { 0x34, false }, ['>'] = { 0x34, true },
	['/'] = { 0x35, false }, ['?'] = { 0x35, true },
};

static const struct {
	const char *name;
	struct key key;
} names[] = {
	{ "ctrl", { 0x1d, false } },     { "lctrl", { 0x1d, false } },
	{ "control", { 0x1d, false } },  { "rctrl", { 0x1d, true } },
	{ "alt", { 0x38, false } },      { "lalt", { 0x38, false } },
	{ "ralt", { 0x38, true } },      { "altgr", { 0x38, true } },
	{ "shift", { 0x2a, false } },    { "lshift", { 0x2a, false } },
	{ "rshift", { 0x36, false } },
	{ "meta", { 0x5b, true } },      { "win", { 0x5b, true } },
	{ "super", { 0x5b, true } },     { "lmeta", { 0x5b, true } },
	{ "lwin", { 0x5b, true } },      { "rmeta", { 0x5c, true } },
	{ "rwin", { 0x5c, true } },      { "menu", { 0x5d, true } },
	{ "enter", { 0x1c, false } },    { "return", { 0x1c, false } },
	{ "esc", { 0x01, false } },      { "escape", { 0x01, false } },
	{ "tab", { 0x0f, false } },      { "backspace", { 0x0e, false } },
	{ "space", { 0x39, false } },    { "capslock", { 0x3a, false } },
	{ "numlock", { 0x45, false } },  { "scrolllock", { 0x46, false } },
	{ "f1", { 0x3b, false } },       { "f2", { 0x3c, false } },
	{ "f3", { 0x3d, false } },       { "f4", { 0x3e, false } },
	{ "f5", { 0x3f, false } },       { "f6", { 0x40, false } },
	{ "f7", { 0x41, false } },       { "f8", { 0x42, false } },
	{ "f9", { 0x43, false } },       { "f10", { 0x44, false } },
	{ "f11", { 0x57, false } },      { "f12", { 0x58, false } },
	{ "up", { 0x48, true } },        { "down", { 0x50, true } },
	{ "left", { 0x4b, true } },      { "right", { 0x4d, true } },
	{ "home", { 0x47, true } },      { "end", { 0x4f, true } },
	{ "pgup", { 0x49, true } },      { "pageup", { 0x49, true } },
	{ "pgdn", { 0x51, true } },      { "pagedown", { 0x51, true } },
	{ "ins", { 0x52, true } },       { "insert", { 0x52, true } },
	{ "del", { 0x53, true } },       { "delete", { 0x53, true } },
};

int keys_for_char(char c, struct key *ret, bool *shift)
{
	unsigned char u = (unsigned char)c;

	if (u >= 'A' && u <= 'Z') {
		*ret = (struct key){ ascii[u - 'A' + 'a'].sc, false };
		*shift = true;
		return 0;
	}
	if (u >= 128 || !ascii[u].sc)
		return -EINVAL;
	*ret = (struct key){ ascii[u].sc, false };
	*shift = ascii[u].shift;
	return 0;
}

int keys_lookup(const char *name, struct key *ret)
{
	bool shift;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*ret = names[i].key;
			return 0;
		}
	}
	/* One printable character: the key itself, shift is the caller's
	 * business ("A" is the a key; "!" has no key of its own). */
	if (name[0] && !name[1] && name[0] > ' ' && name[0] < 127 &&
	    keys_for_char(name[0], ret, &shift) == 0 &&
	    (!shift || (name[0] >= 'A' && name[0] <= 'Z')))
		return 0;
	return -ENOENT;
}

/* The callers checked the room first. */
static void emit(struct key_event *ev, size_t *n, struct key k, bool down)
{
	ev[(*n)++] = (struct key_event){ k.scancode, down, k.e0 };
}

int keys_text(const char *text, struct key_event *ev, size_t max, size_t *bad_offset)
{
	const struct key lshift = { SC_LSHIFT, false };
	size_t n = 0;

	for (size_t i = 0; text[i]; i++) {
		struct key k;
		bool shift;

		if (keys_for_char(text[i], &k, &shift) < 0) {
			if (bad_offset)
				*bad_offset = i;
			return -EINVAL;
		}
		if (n + 2 + (shift ? 2 : 0) > max)
			return -ENOBUFS;
		if (shift)
			emit(ev, &n, lshift, true);
		emit(ev, &n, k, true);
		emit(ev, &n, k, false);
		if (shift)
			emit(ev, &n, lshift, false);
	}
	return (int)n;
}

int keys_combo(const char *combo, struct key_event *ev, size_t max)
{
	struct key keys[KEYS_COMBO_MAX];
	size_t nkeys = 0, n = 0;
	const char *p = combo;

	for (;;) {
		const char *end = strchr(p, '+');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[16];
		int r;

		if (!len || nkeys == KEYS_COMBO_MAX)
			return -EINVAL;
		if (len >= sizeof(name))
			return -ENOENT;
		memcpy(name, p, len);
		name[len] = '\0';
		r = keys_lookup(name, &keys[nkeys]);
		if (r < 0)
			return r;
		nkeys++;
		if (!end)
			break;
		p = end + 1;
	}
	if (2 * nkeys > max)
		return -ENOBUFS;
	for (size_t i = 0; i < nkeys; i++)
		emit(ev, &n, keys[i], true);
	for (size_t i = nkeys; i-- > 0;)
		emit(ev, &n, keys[i], false);
	return (int)n;
}

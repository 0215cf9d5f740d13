// SPDX-License-Identifier: GPL-3.0-or-later
/* RDP input -> display-socket input (input.h). */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include "input.h"

#include <freerdp/input.h>

#define SC_LSHIFT 0x2a
#define SC_BACKSPACE 0x0e

bool input_map_scancode(uint16_t flags, uint16_t code, struct input_key *ret)
{
	bool e0 = flags & KBD_FLAGS_EXTENDED, e1 = flags & KBD_FLAGS_EXTENDED1;

	/* FreeRDP hands over the 8-bit code; the break bit travels in the
	 * flags, so 0x80.. is nothing a keyboard sends as a make code. */
	if (!code || code >= 0x80 || (e0 && e1))
		return false;
	ret->scancode = (uint8_t)code;
	ret->down = !(flags & KBD_FLAGS_RELEASE);
	ret->e0 = e0;
	ret->e1 = e1;
	return true;
}

/* Printable ASCII on a US layout: make code, and whether shift is held
 * (the same table as clients/keys.c; rdp/ does not link clients/). */
static const struct {
	uint8_t sc;
	bool shift;
} ascii[128] = {
	['\b'] = { SC_BACKSPACE, false },
	['\t'] = { 0x0f, false }, ['\r'] = { 0x1c, false }, ['\n'] = { 0x1c, false },
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

unsigned input_map_unicode(uint16_t flags, uint16_t code, struct input_key out[INPUT_UNICODE_MAX])
{
	bool down = !(flags & KBD_FLAGS_RELEASE), shift;
	unsigned n = 0;
	uint8_t sc;

	if (code >= 128)
		return 0;
	if (code >= 'A' && code <= 'Z') {
		sc = ascii[code - 'A' + 'a'].sc;
		shift = true;
	} else {
		sc = ascii[code].sc;
		shift = ascii[code].shift;
	}
	if (!sc)
		return 0;
	if (!down) {
		out[0] = (struct input_key){ .scancode = sc, .down = false };
		return 1;
	}
	/* Shift only around the press: the character is made then, and a
	 * shift held until the release would change the next key typed. */
	if (shift)
		out[n++] = (struct input_key){ .scancode = SC_LSHIFT, .down = true };
	out[n++] = (struct input_key){ .scancode = sc, .down = true };
	if (shift)
		out[n++] = (struct input_key){ .scancode = SC_LSHIFT, .down = false };
	return n;
}

uint32_t input_scale(uint32_t v, uint32_t size)
{
	uint64_t x;

	if (!size)
		return 0;
	if (v >= size)
		v = size - 1;
	/* The centre of pixel v: a guest that maps x * size / 32768 back gets
	 * v again, whatever the size. */
	x = ((uint64_t)v * (INPUT_ABS_MAX + 1) + (INPUT_ABS_MAX + 1) / 2) / size;
	return x > INPUT_ABS_MAX ? INPUT_ABS_MAX : (uint32_t)x;
}

bool input_map_mouse(struct input_mouse *st, uint16_t flags, uint16_t x, uint16_t y,
		     uint32_t width, uint32_t height, struct input_mouse_msg *msg)
{
	unsigned bit = 0;
	int wheel = 0;

	if (flags & PTR_FLAGS_WHEEL) {
		/* A 9-bit two's complement rotation: 0x188 is -120. */
		int rot = flags & WheelRotationMask;

		if (flags & PTR_FLAGS_WHEEL_NEGATIVE)
			rot -= 0x200;
		st->wheel_rest += rot;
		wheel = st->wheel_rest / INPUT_WHEEL_DETENT;
		st->wheel_rest -= wheel * INPUT_WHEEL_DETENT;
		if (!wheel)
			return false;
	} else if (flags & PTR_FLAGS_HWHEEL) {
		/* The socket has no horizontal wheel. */
		return false;
	} else {
		st->x = x;
		st->y = y;
		if (flags & PTR_FLAGS_BUTTON1)
			bit = 1u << 0;
		else if (flags & PTR_FLAGS_BUTTON2)
			bit = 1u << 1;
		else if (flags & PTR_FLAGS_BUTTON3)
			bit = 1u << 2;
		if (bit && (flags & PTR_FLAGS_DOWN))
			st->buttons |= bit;
		else if (bit)
			st->buttons &= ~bit;
		else if (!(flags & PTR_FLAGS_MOVE))
			return false;
	}
	msg->x = input_scale(st->x, width);
	msg->y = input_scale(st->y, height);
	msg->buttons = st->buttons;
	msg->wheel = wheel;
	return true;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* RDP input -> display-socket input (input.h). */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include "input.h"
#include "keys.h"

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

unsigned input_map_unicode(uint16_t flags, uint16_t code, struct input_key out[INPUT_UNICODE_MAX])
{
	bool down = !(flags & KBD_FLAGS_RELEASE), shift;
	struct key k;
	unsigned n = 0;
	uint8_t sc;

	/* Printable ASCII on a US layout (base/keys.c); others are dropped. */
	if (code >= 128 || code == 0 || keys_for_char((char)code, &k, &shift) < 0)
		return 0;
	sc = k.scancode;
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

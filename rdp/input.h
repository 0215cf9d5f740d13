/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * RDP input (MS-RDPBCGR 2.2.8.1.1.3.1.1, as FreeRDP's input callbacks hand
 * it over) turned into display-socket messages (docs/display.md).  Pure:
 * the client is untrusted, so everything out of range is dropped here.
 */

#include <stdbool.h>
#include <stdint.h>

/* One key message: a set-1 make code 1..127 with its prefixes. */
struct input_key {
	uint8_t scancode;
	bool down, e0, e1;
};

/*
 * A scancode event (flags: KBD_FLAGS_EXTENDED/EXTENDED1/RELEASE/DOWN).
 * False when it is nothing the socket can carry (code 0 or >= 0x80, both
 * prefixes).
 */
bool input_map_scancode(uint16_t flags, uint16_t code, struct input_key *ret);

/* Key events one Unicode key event may need: shift, the key. */
#define INPUT_UNICODE_MAX 3
/*
 * A Unicode key event (UTF-16 code unit; KBD_FLAGS_RELEASE for its
 * release) typed on a US layout: the events into out, how many (0 for a
 * character without a key there: non-ASCII, control characters other than
 * tab, return and backspace).  A press brackets the key with shift when
 * the character needs it; a release releases the key only.
 */
unsigned input_map_unicode(uint16_t flags, uint16_t code, struct input_key out[INPUT_UNICODE_MAX]);

/* The socket's absolute pointer range is 0..INPUT_ABS_MAX on each axis. */
#define INPUT_ABS_MAX 32767u
/* One wheel detent in RDP's rotation units. */
#define INPUT_WHEEL_DETENT 120

struct input_mouse {
	uint32_t x, y;    /* last position in desktop pixels */
	unsigned buttons; /* bit 0 left, 1 right, 2 middle */
	int wheel_rest;   /* rotation units short of a detent */
};

struct input_mouse_msg {
	uint32_t x, y; /* 0..INPUT_ABS_MAX */
	unsigned buttons;
	int wheel; /* detents, + away from the user */
};

/*
 * A mouse event (flags PTR_FLAGS_*) at (x, y) on a width x height desktop:
 * updates st and fills msg; false when nothing is to be sent (a partial
 * wheel detent, an empty event).  Wheel events keep the last position:
 * clients send them with arbitrary coordinates.
 */
bool input_map_mouse(struct input_mouse *st, uint16_t flags, uint16_t x, uint16_t y,
		     uint32_t width, uint32_t height, struct input_mouse_msg *msg);

/* A desktop coordinate 0..size-1 scaled to 0..INPUT_ABS_MAX (clamped). */
uint32_t input_scale(uint32_t v, uint32_t size);

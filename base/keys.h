/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * PC/AT scancode set 1 on a US keyboard layout: key names, ASCII text and
 * combos such as "ctrl+alt+del" turned into make/break events.  Pure.
 * skyctl's `vm type` / `vm key` and skyrdp's unicode input share it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct key {
	uint8_t scancode; /* the make code, 0x01..0x7f */
	bool e0;          /* an extended key: 0xE0 comes first */
};

struct key_event {
	uint8_t scancode;
	bool down, e0;
};

/* Events one character may need: shift down, key down, key up, shift up. */
#define KEYS_PER_CHAR_MAX 4
/* Keys in one combo. */
#define KEYS_COMBO_MAX 8

/*
 * A key by name, case-insensitive: ctrl (= lctrl, control), rctrl, alt
 * (= lalt), ralt (= altgr), shift (= lshift), rshift, meta (= win, super,
 * lmeta, lwin), rmeta (= rwin), menu, enter (= return), esc (= escape), tab,
 * backspace, space, capslock, numlock, scrolllock, f1..f12, up, down, left,
 * right, home, end, pgup (= pageup), pgdn (= pagedown), ins (= insert), del
 * (= delete); or one character typed without shift ("a", "7", "/", "A" is
 * "a").  -ENOENT if there is no such key.
 */
int keys_lookup(const char *name, struct key *ret);

/* The key typing ASCII character c, and whether shift is held for it;
 * '\n' and '\r' are Enter, '\t' Tab, '\b' Backspace.  -EINVAL for other
 * characters. */
int keys_for_char(char c, struct key *ret, bool *shift);

/*
 * The events typing text: each character is its key's make and break,
 * wrapped in left shift's make and break where it needs shift.  Writes at
 * most max events and returns their count; -EINVAL for a character that
 * cannot be typed (its offset in *bad_offset when not NULL), -ENOBUFS when
 * max is too small (KEYS_PER_CHAR_MAX per character always suffices).
 */
int keys_text(const char *text, struct key_event *ev, size_t max, size_t *bad_offset);

/*
 * The events of a combo of key names joined by '+' ("ctrl+alt+del",
 * "shift+f10", "enter"): every key pressed in order, then released in
 * reverse.  Returns the count (2 * keys) or -EINVAL (empty name, more than
 * KEYS_COMBO_MAX keys), -ENOENT (unknown name), -ENOBUFS (max too small).
 */
int keys_combo(const char *combo, struct key_event *ev, size_t max);

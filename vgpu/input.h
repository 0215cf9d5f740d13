/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Synthetic keyboard and mouse, host side: two VMBus devices.  The guest
 * drivers are Linux's drivers/input/serio/hyperv-keyboard.c and
 * drivers/hid/hid-hyperv.c (Windows speaks the same protocols).
 * vgpu_input_ops() gives the display side the functions that send events.
 */

#include <stdbool.h>
#include <stdint.h>

#include "display.h"

struct hv_vmbus;
struct vgpu_keyboard;
struct vgpu_mouse;

#define VGPU_KEYBOARD_CLASS "f912ad6d-2b17-48ea-bd65-f927a61c7684"
#define VGPU_MOUSE_CLASS    "cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a"

int vgpu_keyboard_new(struct hv_vmbus *vb, struct vgpu_keyboard **ret);
void vgpu_keyboard_free(struct vgpu_keyboard *kb); /* accepts NULL */
/* Send one scancode event; -ENOTCONN if the guest has not connected,
 * -EAGAIN if its ring is full (the event is dropped). */
int vgpu_keyboard_event(struct vgpu_keyboard *kb, uint16_t scancode, bool down, bool e0, bool e1);

int vgpu_mouse_new(struct hv_vmbus *vb, struct vgpu_mouse **ret);
void vgpu_mouse_free(struct vgpu_mouse *m); /* accepts NULL */
/* Absolute position 0..32767 on both axes, buttons bit 0 left, 1 right,
 * 2 middle, wheel detents.  -ENOTCONN, -EAGAIN as above. */
int vgpu_mouse_event(struct vgpu_mouse *m, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel);

struct vgpu_input_stats {
	bool keyboard_connected, mouse_connected;
	uint64_t keys_sent, mouse_sent, dropped, bad_messages;
};
void vgpu_input_get_stats(struct vgpu_keyboard *kb, struct vgpu_mouse *m,
			  struct vgpu_input_stats *ret);

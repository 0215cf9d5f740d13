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

/* Classes: HV_KBD_GUID and HV_MOUSE_GUID in include/linux/hyperv.h (the
 * drivers' id tables).  Instances: ours, fixed so the guest sees the same
 * devices every boot. */
#define VGPU_KEYBOARD_CLASS "f912ad6d-2b17-48ea-bd65-f927a61c7684"
#define VGPU_MOUSE_CLASS    "cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a"
#define VGPU_KEYBOARD_INSTANCE "cb389811-f055-4e74-abd6-ddc27a89c32c"
#define VGPU_MOUSE_INSTANCE    "70d4d8b8-9150-4553-b8d0-39aa9cbe14ee"

int vgpu_keyboard_new(struct hv_vmbus *vb, struct vgpu_keyboard **ret);
void vgpu_keyboard_free(struct vgpu_keyboard *kb); /* accepts NULL */
/* Send one scancode event; -ENOTCONN if the guest has not connected,
 * -EAGAIN if its ring is full (the event is dropped and counted).
 * scancode is the set-1 make code (a break code, bit 7 set, is taken as
 * its make code: `down` decides); -EINVAL above 0xff. */
int vgpu_keyboard_event(struct vgpu_keyboard *kb, uint16_t scancode, bool down, bool e0, bool e1);

int vgpu_mouse_new(struct hv_vmbus *vb, struct vgpu_mouse **ret);
void vgpu_mouse_free(struct vgpu_mouse *m); /* accepts NULL */
/* Absolute position 0..32767 on both axes, buttons bit 0 left, 1 right,
 * 2 middle, wheel detents.  -ENOTCONN, -EAGAIN as above. */
int vgpu_mouse_event(struct vgpu_mouse *m, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel);

struct vgpu_input_stats {
	bool keyboard_connected, mouse_connected;
	uint64_t keys_sent, mouse_sent, dropped, bad_messages;
	/* The keyboard LEDs the guest last set (SYNTH_KBD_LED_INDICATORS;
	 * bit 0 scroll, 1 num, 2 caps lock); 0 until it sends one. */
	uint16_t leds;
};
/* Either device may be NULL. */
void vgpu_input_get_stats(struct vgpu_keyboard *kb, struct vgpu_mouse *m,
			  struct vgpu_input_stats *ret);

/*
 * For the display server: viewers' key and mouse events go to
 * vgpu_input_ops() with a struct vgpu_input as data (either device may
 * be NULL).  Events the guest cannot take now are dropped (input is
 * best-effort; the stats count them).
 */
struct vgpu_input {
	struct vgpu_keyboard *kb;
	struct vgpu_mouse *mouse;
};
const struct vgpu_input_ops *vgpu_input_ops(void);

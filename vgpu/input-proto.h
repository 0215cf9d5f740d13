/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The wire formats of the synthetic keyboard and mouse (vgpu/input.c uses
 * them; unit tests and the input fuzz target drive them directly).  Pure:
 * buffers in, buffers out, no state.  All little-endian and packed, as the
 * guests declare them.
 *
 * Keyboard (Linux drivers/input/serio/hyperv-keyboard.c): each VMBus
 * in-band packet is one message, a u32 type and its body, no framing.
 *   guest: PROTOCOL_REQUEST {version 1.0}          (waits 10 s)
 *   host:  PROTOCOL_RESPONSE {status: bit 0 ACCEPTED}
 *   host:  EVENT {make_code, reserved, info: UNICODE|BREAK|E0|E1} ...
 *   guest: LED_INDICATORS (Windows; Linux never sends it)
 * Linux feeds each keystroke to its i8042-style serio as [E0] [E1]
 * make_code | (BREAK ? 0x80 : 0): make_code is the set-1 make code.
 *
 * Mouse (Linux drivers/hid/hid-hyperv.c): each packet is a pipe message
 * {type PIPE_MESSAGE_DATA, size of what follows} around a synthhid
 * message {type, size of its body}.
 *   guest: PROTOCOL_REQUEST {version 2.0}          (waits 5 s)
 *   host:  PROTOCOL_RESPONSE {version, approved}
 *   host:  INITIAL_DEVICE_INFO {hv_input_dev_info, HID descriptor, report
 *          descriptor}                              (waits 5 s more)
 *   guest: INITIAL_DEVICE_INFO_ACK
 *   host:  INPUT_REPORT {the report's bytes} ...
 * mousevsc_connect_to_vsp() waits twice on one completion, so the device
 * info follows the response at once, unasked.  The guest copies the
 * response only if the pipe size is at most 13 (sizeof(struct
 * mousevsc_prt_msg) less its 8-byte pipe header).
 */

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* (major << 16) | minor, as both drivers write their versions. */
#define INPUT_VERSION(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))

/* ---- Keyboard ---- */

#define INPUT_KBD_VERSION INPUT_VERSION(1, 0) /* SYNTH_KBD_VERSION */

/* enum synth_kbd_msg_type */
#define INPUT_KBD_PROTOCOL_REQUEST 1u
#define INPUT_KBD_PROTOCOL_RESPONSE 2u
#define INPUT_KBD_EVENT 3u
#define INPUT_KBD_LED_INDICATORS 4u

#define INPUT_KBD_PROTOCOL_ACCEPTED 1u /* proto_status bit 0 */

/* synth_kbd_keystroke.info */
#define INPUT_KBD_INFO_UNICODE 1u
#define INPUT_KBD_INFO_BREAK 2u
#define INPUT_KBD_INFO_E0 4u
#define INPUT_KBD_INFO_E1 8u

/* LED_INDICATORS flags: Windows' KEYBOARD_INDICATOR_PARAMETERS.LedFlags
 * (ntddkbd.h KEYBOARD_{SCROLL,NUM,CAPS}_LOCK_ON). */
#define INPUT_KBD_LED_SCROLL_LOCK 1u
#define INPUT_KBD_LED_NUM_LOCK 2u
#define INPUT_KBD_LED_CAPS_LOCK 4u

struct input_kbd_hdr {
	uint32_t type;
} _packed_;

struct input_kbd_protocol_request {
	struct input_kbd_hdr hdr;
	uint32_t version;
} _packed_;

struct input_kbd_protocol_response {
	struct input_kbd_hdr hdr;
	uint32_t status;
} _packed_;

struct input_kbd_keystroke {
	struct input_kbd_hdr hdr;
	uint16_t make_code;
	uint16_t reserved;
	uint32_t info;
} _packed_;

/* Not in any Linux driver: the body is taken to be Windows'
 * KEYBOARD_INDICATOR_PARAMETERS {UnitId, LedFlags}. */
struct input_kbd_led_indicators {
	struct input_kbd_hdr hdr;
	uint16_t unit_id;
	uint16_t led_flags;
} _packed_;

static_assert(sizeof(struct input_kbd_hdr) == 4, "synth_kbd_msg_hdr");
static_assert(sizeof(struct input_kbd_protocol_request) == 8, "synth_kbd_protocol_request");
static_assert(sizeof(struct input_kbd_protocol_response) == 8, "synth_kbd_protocol_response");
static_assert(sizeof(struct input_kbd_keystroke) == 12, "synth_kbd_keystroke");
static_assert(sizeof(struct input_kbd_led_indicators) == 8, "led indicators");

/* ---- Mouse (synthetic HID) ---- */

#define INPUT_HID_VERSION INPUT_VERSION(2, 0) /* SYNTHHID_INPUT_VERSION */

/* enum pipe_prot_msg_type */
#define INPUT_PIPE_MESSAGE_DATA 1u

/* enum synthhid_msg_type */
#define INPUT_HID_PROTOCOL_REQUEST 0u
#define INPUT_HID_PROTOCOL_RESPONSE 1u
#define INPUT_HID_INITIAL_DEVICE_INFO 2u
#define INPUT_HID_INITIAL_DEVICE_INFO_ACK 3u
#define INPUT_HID_INPUT_REPORT 4u

/* include/linux/hid.h HID_DT_HID, HID_DT_REPORT. */
#define INPUT_HID_DT_HID 0x21u
#define INPUT_HID_DT_REPORT 0x22u

/* struct pipe_prt_msg without its data */
struct input_pipe_hdr {
	uint32_t type;
	uint32_t size; /* bytes after this header */
} _packed_;

/* struct synthhid_msg_hdr */
struct input_hid_hdr {
	uint32_t type;
	uint32_t size; /* bytes after this header */
} _packed_;

struct input_hid_protocol_request {
	struct input_hid_hdr hdr;
	uint32_t version;
} _packed_;

struct input_hid_protocol_response {
	struct input_hid_hdr hdr;
	uint32_t version;
	uint8_t approved;
} _packed_;

/* struct hv_input_dev_info */
struct input_hid_dev_info {
	uint32_t size;
	uint16_t vendor;
	uint16_t product;
	uint16_t version;
	uint16_t reserved[11];
} _packed_;

/* struct hid_descriptor with its one hid_class_descriptor (include/linux/hid.h) */
struct input_hid_descriptor {
	uint8_t bLength; /* of this descriptor: the report descriptor follows it */
	uint8_t bDescriptorType;
	uint16_t bcdHID;
	uint8_t bCountryCode;
	uint8_t bNumDescriptors;
	uint8_t bReportType;
	uint16_t wReportLength;
} _packed_;

/* struct synthhid_device_info; the report descriptor follows. */
struct input_hid_device_info {
	struct input_hid_hdr hdr;
	struct input_hid_dev_info info;
	struct input_hid_descriptor desc;
} _packed_;

struct input_hid_device_info_ack {
	struct input_hid_hdr hdr;
	uint8_t reserved;
} _packed_;

/* struct synthhid_input_report; the report follows (hdr.size bytes). */
struct input_hid_input_report {
	struct input_hid_hdr hdr;
} _packed_;

static_assert(sizeof(struct input_pipe_hdr) == 8, "pipe_prt_msg");
static_assert(sizeof(struct input_hid_hdr) == 8, "synthhid_msg_hdr");
static_assert(sizeof(struct input_hid_protocol_request) == 12, "synthhid_protocol_request");
static_assert(sizeof(struct input_hid_protocol_response) == 13, "synthhid_protocol_response");
static_assert(sizeof(struct input_hid_dev_info) == 32, "hv_input_dev_info");
static_assert(sizeof(struct input_hid_descriptor) == 9, "hid_descriptor");
static_assert(sizeof(struct input_hid_device_info) == 49, "synthhid_device_info");
static_assert(sizeof(struct input_hid_device_info_ack) == 9, "synthhid_device_info_ack");
static_assert(sizeof(struct input_hid_input_report) == 8, "synthhid_input_report");

/*
 * Our mouse: an absolute pointer, as Hyper-V's.  Its report (no report
 * id), 6 bytes:
 *   byte 0     bit 0 left, bit 1 right, bit 2 middle button; bits 3-7 0
 *   bytes 1-2  X, little-endian, 0..32767 (absolute)
 *   bytes 3-4  Y, little-endian, 0..32767 (absolute)
 *   byte 5     wheel, signed, -127..127 detents (relative, + = away)
 * input_mouse_report_desc() is the HID report descriptor saying so.
 */
#define INPUT_MOUSE_REPORT_SIZE 6u
#define INPUT_MOUSE_MAX_COORD 32767u
#define INPUT_MOUSE_BUTTONS 0x7u
/* What Hyper-V's mouse reports (Linux shows "HID 045E:0621"). */
#define INPUT_MOUSE_VENDOR 0x045eu
#define INPUT_MOUSE_PRODUCT 0x0621u
#define INPUT_MOUSE_DEV_VERSION 0x0001u

const uint8_t *input_mouse_report_desc(size_t *len);
/* Coordinates above INPUT_MOUSE_MAX_COORD and a wheel of -128 are
 * clamped; buttons beyond the three are dropped. */
void input_mouse_report(uint8_t out[INPUT_MOUSE_REPORT_SIZE], uint16_t x, uint16_t y,
			uint8_t buttons, int8_t wheel);

/* ---- Guest messages, decoded ---- */

struct input_kbd_msg {
	uint32_t type;      /* INPUT_KBD_PROTOCOL_REQUEST or _LED_INDICATORS */
	uint32_t version;   /* PROTOCOL_REQUEST: what the guest asks for */
	uint16_t led_flags; /* LED_INDICATORS */
};

/*
 * A keyboard packet's payload (len includes the VMBus padding to 8 bytes,
 * so only minimum sizes are checked).  0; -EBADMSG if it is too short for
 * its type; -ENOMSG for a type a guest does not send.
 */
int input_kbd_parse(const void *buf, size_t len, struct input_kbd_msg *ret);

struct input_hid_msg {
	uint32_t type;    /* INPUT_HID_PROTOCOL_REQUEST or _INITIAL_DEVICE_INFO_ACK */
	uint32_t version; /* PROTOCOL_REQUEST */
};

/*
 * A mouse packet's payload.  0; -EBADMSG if the pipe header is not DATA,
 * its size runs past len or is too small for the message type; -ENOMSG for
 * a type a guest does not send.  The synthhid header's own size is not
 * checked (Linux writes 4 for a request and 1 for an ack; nothing depends
 * on it).
 */
int input_hid_parse(const void *buf, size_t len, struct input_hid_msg *ret);

/* ---- Host messages ---- */

/* Each returns the bytes written, or -ENOBUFS if max is too small. */
int input_kbd_encode_protocol_response(void *buf, size_t max, bool accepted);
int input_kbd_encode_keystroke(void *buf, size_t max, uint16_t make_code, uint32_t info);

int input_hid_encode_protocol_response(void *buf, size_t max, uint32_t version, bool approved);
/* -EINVAL if the report descriptor is empty or longer than 65535 bytes. */
int input_hid_encode_device_info(void *buf, size_t max, uint16_t vendor, uint16_t product,
				 uint16_t version, const uint8_t *report_desc, size_t desc_len);
/* -EINVAL for an empty report. */
int input_hid_encode_input_report(void *buf, size_t max, const void *report, size_t len);

/* Room for the largest message built here (the device info). */
#define INPUT_HID_MAX_MESSAGE 256u

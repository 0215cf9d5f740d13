// SPDX-License-Identifier: GPL-3.0-or-later
#include "input-proto.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/*
 * The mouse's report descriptor (HID 1.11 §6.2.2 items: prefix byte =
 * tag << 4 | type << 2 | size code).  One application collection, Mouse,
 * with a physical Pointer inside, so hid-generic maps it to an input
 * device with BTN_LEFT/RIGHT/MIDDLE, ABS_X, ABS_Y and REL_WHEEL (Linux
 * drivers/hid/hid-input.c: absolute Generic Desktop X/Y become ABS_*).
 *
 * hid-hyperv.c's mousevsc_probe() rewrites byte 14 from 0x25 (Logical
 * Maximum) to 0x29 (Usage Maximum) to fix a broken Hyper-V descriptor;
 * ours has Usage Maximum there already, so it is left alone.
 */
static const uint8_t mouse_report_desc[] = {
	0x05, 0x01,       /* Usage Page (Generic Desktop) */
	0x09, 0x02,       /* Usage (Mouse) */
	0xa1, 0x01,       /* Collection (Application) */
	0x09, 0x01,       /*   Usage (Pointer) */
	0xa1, 0x00,       /*   Collection (Physical) */
	0x05, 0x09,       /*     Usage Page (Button) */
	0x19, 0x01,       /*     Usage Minimum (1) */
	0x29, 0x03,       /*     Usage Maximum (3)      <- byte 14 */
	0x15, 0x00,       /*     Logical Minimum (0) */
	0x25, 0x01,       /*     Logical Maximum (1) */
	0x95, 0x03,       /*     Report Count (3) */
	0x75, 0x01,       /*     Report Size (1) */
	0x81, 0x02,       /*     Input (Data, Variable, Absolute): byte 0 bits 0-2 */
	0x95, 0x01,       /*     Report Count (1) */
	0x75, 0x05,       /*     Report Size (5) */
	0x81, 0x03,       /*     Input (Constant, Variable): bits 3-7 */
	0x05, 0x01,       /*     Usage Page (Generic Desktop) */
	0x09, 0x30,       /*     Usage (X) */
	0x09, 0x31,       /*     Usage (Y) */
	0x15, 0x00,       /*     Logical Minimum (0) */
	0x26, 0xff, 0x7f, /*     Logical Maximum (32767) */
	0x75, 0x10,       /*     Report Size (16) */
	0x95, 0x02,       /*     Report Count (2) */
	0x81, 0x02,       /*     Input (Data, Variable, Absolute): bytes 1-4 */
	0x09, 0x38,       /*     Usage (Wheel) */
	0x15, 0x81,       /*     Logical Minimum (-127) */
	0x25, 0x7f,       /*     Logical Maximum (127) */
	0x75, 0x08,       /*     Report Size (8) */
	0x95, 0x01,       /*     Report Count (1) */
	0x81, 0x06,       /*     Input (Data, Variable, Relative): byte 5 */
	0xc0,             /*   End Collection */
	0xc0,             /* End Collection */
};

static_assert(sizeof(struct input_pipe_hdr) + sizeof(struct input_hid_device_info) +
			      sizeof(mouse_report_desc) <= INPUT_HID_MAX_MESSAGE,
	      "the device info fits INPUT_HID_MAX_MESSAGE");

const uint8_t *input_mouse_report_desc(size_t *len)
{
	*len = sizeof(mouse_report_desc);
	return mouse_report_desc;
}

void input_mouse_report(uint8_t out[INPUT_MOUSE_REPORT_SIZE], uint16_t x, uint16_t y,
			uint8_t buttons, int8_t wheel)
{
	x = MIN(x, INPUT_MOUSE_MAX_COORD);
	y = MIN(y, INPUT_MOUSE_MAX_COORD);
	out[0] = buttons & INPUT_MOUSE_BUTTONS;
	out[1] = x;
	out[2] = x >> 8;
	out[3] = y;
	out[4] = y >> 8;
	out[5] = (uint8_t)(wheel == INT8_MIN ? -127 : wheel);
}

int input_kbd_parse(const void *buf, size_t len, struct input_kbd_msg *ret)
{
	struct input_kbd_protocol_request rq;
	struct input_kbd_led_indicators led;
	struct input_kbd_hdr hdr;

	memset(ret, 0, sizeof(*ret));
	if (len < sizeof(hdr))
		return -EBADMSG;
	memcpy(&hdr, buf, sizeof(hdr));
	ret->type = le32toh(hdr.type);
	switch (ret->type) {
	case INPUT_KBD_PROTOCOL_REQUEST:
		if (len < sizeof(rq))
			return -EBADMSG;
		memcpy(&rq, buf, sizeof(rq));
		ret->version = le32toh(rq.version);
		return 0;
	case INPUT_KBD_LED_INDICATORS:
		if (len < sizeof(led))
			return -EBADMSG;
		memcpy(&led, buf, sizeof(led));
		ret->led_flags = le16toh(led.led_flags);
		return 0;
	default:
		return -ENOMSG;
	}
}

int input_hid_parse(const void *buf, size_t len, struct input_hid_msg *ret)
{
	const uint8_t *p = buf;
	struct input_hid_protocol_request rq;
	struct input_pipe_hdr pipe;
	struct input_hid_hdr hdr;
	uint32_t size;

	memset(ret, 0, sizeof(*ret));
	if (len < sizeof(pipe) + sizeof(hdr))
		return -EBADMSG;
	memcpy(&pipe, p, sizeof(pipe));
	size = le32toh(pipe.size);
	if (le32toh(pipe.type) != INPUT_PIPE_MESSAGE_DATA || size < sizeof(hdr) ||
	    size > len - sizeof(pipe))
		return -EBADMSG;
	p += sizeof(pipe);
	memcpy(&hdr, p, sizeof(hdr));
	ret->type = le32toh(hdr.type);
	switch (ret->type) {
	case INPUT_HID_PROTOCOL_REQUEST:
		if (size < sizeof(rq))
			return -EBADMSG;
		memcpy(&rq, p, sizeof(rq));
		ret->version = le32toh(rq.version);
		return 0;
	case INPUT_HID_INITIAL_DEVICE_INFO_ACK:
		if (size < sizeof(struct input_hid_device_info_ack))
			return -EBADMSG;
		return 0;
	default:
		return -ENOMSG;
	}
}

int input_kbd_encode_protocol_response(void *buf, size_t max, bool accepted)
{
	struct input_kbd_protocol_response m = {
		.hdr.type = htole32(INPUT_KBD_PROTOCOL_RESPONSE),
		.status = htole32(accepted ? INPUT_KBD_PROTOCOL_ACCEPTED : 0),
	};

	if (max < sizeof(m))
		return -ENOBUFS;
	memcpy(buf, &m, sizeof(m));
	return sizeof(m);
}

int input_kbd_encode_keystroke(void *buf, size_t max, uint16_t make_code, uint32_t info)
{
	struct input_kbd_keystroke m = {
		.hdr.type = htole32(INPUT_KBD_EVENT),
		.make_code = htole16(make_code),
		.info = htole32(info),
	};

	if (max < sizeof(m))
		return -ENOBUFS;
	memcpy(buf, &m, sizeof(m));
	return sizeof(m);
}

/* A pipe header for body_len bytes at buf; the total length. */
static size_t put_pipe(uint8_t *buf, size_t body_len)
{
	struct input_pipe_hdr pipe = {
		.type = htole32(INPUT_PIPE_MESSAGE_DATA),
		.size = htole32(body_len),
	};

	memcpy(buf, &pipe, sizeof(pipe));
	return sizeof(pipe) + body_len;
}

int input_hid_encode_protocol_response(void *buf, size_t max, uint32_t version, bool approved)
{
	struct input_hid_protocol_response m = {
		.hdr.type = htole32(INPUT_HID_PROTOCOL_RESPONSE),
		.hdr.size = htole32(sizeof(m) - sizeof(m.hdr)),
		.version = htole32(version),
		.approved = approved,
	};

	if (max < sizeof(struct input_pipe_hdr) + sizeof(m))
		return -ENOBUFS;
	memcpy((uint8_t *)buf + sizeof(struct input_pipe_hdr), &m, sizeof(m));
	return put_pipe(buf, sizeof(m));
}

int input_hid_encode_device_info(void *buf, size_t max, uint16_t vendor, uint16_t product,
				 uint16_t version, const uint8_t *report_desc, size_t desc_len)
{
	struct input_hid_device_info m = {
		.hdr.type = htole32(INPUT_HID_INITIAL_DEVICE_INFO),
		.info = {
			.size = htole32(sizeof(m.info)),
			.vendor = htole16(vendor),
			.product = htole16(product),
			.version = htole16(version),
		},
		.desc = {
			.bLength = sizeof(m.desc),
			.bDescriptorType = INPUT_HID_DT_HID,
			.bcdHID = htole16(0x0101),
			.bNumDescriptors = 1,
			.bReportType = INPUT_HID_DT_REPORT,
			.wReportLength = htole16(desc_len),
		},
	};
	size_t body = sizeof(m) + desc_len;
	uint8_t *p = buf;

	if (!desc_len || desc_len > UINT16_MAX)
		return -EINVAL;
	if (max < sizeof(struct input_pipe_hdr) + body)
		return -ENOBUFS;
	m.hdr.size = htole32(body - sizeof(m.hdr));
	memcpy(p + sizeof(struct input_pipe_hdr), &m, sizeof(m));
	memcpy(p + sizeof(struct input_pipe_hdr) + sizeof(m), report_desc, desc_len);
	return put_pipe(buf, body);
}

int input_hid_encode_input_report(void *buf, size_t max, const void *report, size_t len)
{
	struct input_hid_input_report m = {
		.hdr.type = htole32(INPUT_HID_INPUT_REPORT),
		.hdr.size = htole32(len),
	};
	uint8_t *p = buf;

	if (!len || len > UINT16_MAX)
		return -EINVAL;
	if (max < sizeof(struct input_pipe_hdr) + sizeof(m) + len)
		return -ENOBUFS;
	memcpy(p + sizeof(struct input_pipe_hdr), &m, sizeof(m));
	memcpy(p + sizeof(struct input_pipe_hdr) + sizeof(m), report, len);
	return put_pipe(buf, sizeof(m) + len);
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include "input.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input-proto.h"
#include "log.h"
#include "util.h"
#include "vmbus.h"

LOG_SCOPE("vgpu.input");

/*
 * Both devices answer the guest's protocol request and then carry events.
 * The answers of the handshake are owed: when the ring is full they wait
 * for ->writable() (the guest blocks on them, 10 s for the keyboard, 5 s
 * for each mouse step).  Events are best-effort: no room, dropped and
 * counted, never queued, so a guest that stops reading costs nothing.
 * A new protocol request, or a close, starts a device over.
 */

/*
 * Largest guest packets accepted.  A guest sends only requests, acks and
 * LED states, a dozen or two bytes; the keyboard's limit is the guest's
 * own HK_MAXIMUM_MESSAGE_SIZE (hyperv-keyboard.c).
 */
#define KBD_MAX_PACKET 256u
#define MOUSE_MAX_PACKET 1024u

/* Bad guest messages: logged the first few times, then every 1000th, so
 * a hostile guest cannot flood the log (as hv/vmbus.c does). */
#define LOG_FIRST 10u
#define LOG_EVERY 1000u

enum kbd_state {
	KBD_CLOSED,
	KBD_OPEN,  /* waiting for the guest's protocol request */
	KBD_READY, /* protocol accepted: keystrokes go out */
};

struct vgpu_keyboard {
	struct hv_vmbus_channel *ch;
	enum kbd_state state;
	/* The protocol response could not be written yet (ring full). */
	bool resp_pending, resp_accepted;
	uint64_t resp_trans;
	uint16_t leds;
	uint64_t sent, dropped, bad;
};

enum mouse_state {
	MOUSE_CLOSED,
	MOUSE_OPEN,      /* waiting for the protocol request */
	MOUSE_HANDSHAKE, /* answering it: response and device info to write */
	MOUSE_WAIT_ACK,  /* device info sent, waiting for its ack */
	MOUSE_READY,     /* acked: input reports go out */
};

struct vgpu_mouse {
	struct hv_vmbus_channel *ch;
	enum mouse_state state;
	bool resp_pending, info_pending, resp_approved;
	uint32_t resp_version;
	uint64_t resp_trans;
	uint64_t sent, dropped, bad;
};

_printf_(3, 4) static void bad_msg(uint64_t *count, const char *dev, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	++*count;
	if (*count > LOG_FIRST && *count % LOG_EVERY)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s (bad message %" PRIu64 ")", dev, msg, *count);
}

/* ---- Keyboard ---- */

static void kbd_flush(struct vgpu_keyboard *kb)
{
	uint8_t buf[sizeof(struct input_kbd_protocol_response)];
	int len, r;

	if (!kb->resp_pending)
		return;
	len = input_kbd_encode_protocol_response(buf, sizeof(buf), kb->resp_accepted);
	if (len < 0)
		return;
	r = hv_vmbus_send(kb->ch, HV_VMPKT_DATA_INBAND, 0, kb->resp_trans, buf, len);
	if (r == -EAGAIN)
		return; /* ->writable() brings us back */
	kb->resp_pending = false;
	if (r < 0) {
		log_warn("keyboard: cannot send the protocol response: %s", strerror(-r));
		return;
	}
	if (kb->resp_accepted) {
		kb->state = KBD_READY;
		log_info("keyboard: the guest connected");
	}
}

static int kbd_open(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_keyboard *kb = data;

	kb->state = KBD_OPEN;
	kb->resp_pending = false;
	return 0;
}

static void kbd_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt,
		       void *data)
{
	struct vgpu_keyboard *kb = data;
	struct input_kbd_msg m;
	int r;

	if (pkt->type != HV_VMPKT_DATA_INBAND) {
		bad_msg(&kb->bad, "keyboard", "packet type %u", pkt->type);
		return;
	}
	r = input_kbd_parse(pkt->data, pkt->len, &m);
	if (r == -ENOMSG) {
		bad_msg(&kb->bad, "keyboard", "unknown message type %" PRIu32, m.type);
		return;
	}
	if (r < 0) {
		bad_msg(&kb->bad, "keyboard", "message type %" PRIu32 " of %" PRIu32 " bytes",
			m.type, pkt->len);
		return;
	}
	switch (m.type) {
	case INPUT_KBD_PROTOCOL_REQUEST:
		/* Asked again (a guest driver that reconnects): answer again;
		 * keystrokes wait for the new answer. */
		kb->state = KBD_OPEN;
		kb->resp_pending = true;
		kb->resp_accepted = m.version == INPUT_KBD_VERSION;
		kb->resp_trans = pkt->trans_id;
		if (!kb->resp_accepted)
			bad_msg(&kb->bad, "keyboard",
				"refused protocol version %" PRIu32 ".%" PRIu32, m.version >> 16,
				m.version & 0xffff);
		kbd_flush(kb);
		break;
	case INPUT_KBD_LED_INDICATORS:
		kb->leds = m.led_flags;
		log_debug("keyboard: LEDs 0x%x", m.led_flags);
		break;
	}
}

static void kbd_writable(struct hv_vmbus_channel *ch, void *data)
{
	kbd_flush(data);
}

static void kbd_close(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_keyboard *kb = data;

	if (kb->state == KBD_READY)
		log_info("keyboard: the guest disconnected");
	kb->state = KBD_CLOSED;
	kb->resp_pending = false;
}

static const struct hv_vmbus_device_ops kbd_ops = {
	.name = "keyboard",
	.open = kbd_open,
	.packet = kbd_packet,
	.writable = kbd_writable,
	.close = kbd_close,
};

int vgpu_keyboard_new(struct hv_vmbus *vb, struct vgpu_keyboard **ret)
{
	struct hv_vmbus_offer offer = { .max_packet = KBD_MAX_PACKET };
	struct vgpu_keyboard *kb;
	int r;

	if (hv_guid_parse(VGPU_KEYBOARD_CLASS, &offer.if_type) < 0 ||
	    hv_guid_parse(VGPU_KEYBOARD_INSTANCE, &offer.if_instance) < 0)
		return -EINVAL;
	kb = calloc(1, sizeof(*kb));
	if (!kb)
		return -ENOMEM;
	r = hv_vmbus_add_device(vb, &offer, &kbd_ops, kb, &kb->ch);
	if (r < 0) {
		free(kb);
		return r;
	}
	*ret = kb;
	return 0;
}

void vgpu_keyboard_free(struct vgpu_keyboard *kb)
{
	if (!kb)
		return;
	hv_vmbus_remove_device(kb->ch);
	free(kb);
}

int vgpu_keyboard_event(struct vgpu_keyboard *kb, uint16_t scancode, bool down, bool e0, bool e1)
{
	uint8_t buf[sizeof(struct input_kbd_keystroke)];
	uint32_t info = 0;
	int len, r;

	if (!kb)
		return -ENODEV;
	if (scancode > 0xff)
		return -EINVAL;
	if (kb->state != KBD_READY)
		return -ENOTCONN;
	if (!down)
		info |= INPUT_KBD_INFO_BREAK;
	if (e0)
		info |= INPUT_KBD_INFO_E0;
	if (e1)
		info |= INPUT_KBD_INFO_E1;
	/* The guest adds the release bit itself (hv_kbd_on_receive()). */
	len = input_kbd_encode_keystroke(buf, sizeof(buf), scancode & 0x7f, info);
	if (len < 0)
		return len;
	r = hv_vmbus_send(kb->ch, HV_VMPKT_DATA_INBAND, 0, 0, buf, len);
	if (r == -EAGAIN) {
		if (kb->dropped++ % LOG_EVERY == 0)
			log_warn("keyboard: the guest does not read its ring; key dropped (%" PRIu64
				 " so far)", kb->dropped);
		return r;
	}
	if (r < 0)
		return r;
	kb->sent++;
	return 0;
}

/* ---- Mouse ---- */

/* Write what the handshake still owes the guest, in order. */
static void mouse_flush(struct vgpu_mouse *m)
{
	uint8_t buf[INPUT_HID_MAX_MESSAGE];
	const uint8_t *desc;
	size_t desc_len;
	int len, r;

	if (m->resp_pending) {
		len = input_hid_encode_protocol_response(buf, sizeof(buf), m->resp_version,
							 m->resp_approved);
		if (len < 0)
			return;
		r = hv_vmbus_send(m->ch, HV_VMPKT_DATA_INBAND, 0, m->resp_trans, buf, len);
		if (r == -EAGAIN)
			return;
		m->resp_pending = false;
		if (r < 0) {
			log_warn("mouse: cannot send the protocol response: %s", strerror(-r));
			m->info_pending = false;
			m->state = MOUSE_OPEN;
			return;
		}
	}
	if (m->info_pending) {
		desc = input_mouse_report_desc(&desc_len);
		len = input_hid_encode_device_info(buf, sizeof(buf), INPUT_MOUSE_VENDOR,
						   INPUT_MOUSE_PRODUCT, INPUT_MOUSE_DEV_VERSION,
						   desc, desc_len);
		if (len < 0)
			return;
		r = hv_vmbus_send(m->ch, HV_VMPKT_DATA_INBAND, 0, 0, buf, len);
		if (r == -EAGAIN)
			return;
		m->info_pending = false;
		if (r < 0) {
			log_warn("mouse: cannot send the device info: %s", strerror(-r));
			m->state = MOUSE_OPEN;
			return;
		}
		m->state = MOUSE_WAIT_ACK;
	}
}

static int mouse_open(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_mouse *m = data;

	m->state = MOUSE_OPEN;
	m->resp_pending = m->info_pending = false;
	return 0;
}

static void mouse_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt,
			 void *data)
{
	struct vgpu_mouse *m = data;
	struct input_hid_msg msg;
	int r;

	if (pkt->type != HV_VMPKT_DATA_INBAND) {
		bad_msg(&m->bad, "mouse", "packet type %u", pkt->type);
		return;
	}
	r = input_hid_parse(pkt->data, pkt->len, &msg);
	if (r == -ENOMSG) {
		bad_msg(&m->bad, "mouse", "unknown message type %" PRIu32, msg.type);
		return;
	}
	if (r < 0) {
		bad_msg(&m->bad, "mouse", "malformed message of %" PRIu32 " bytes", pkt->len);
		return;
	}
	switch (msg.type) {
	case INPUT_HID_PROTOCOL_REQUEST:
		/* Asked again: the handshake starts over. */
		m->resp_pending = true;
		m->resp_approved = msg.version == INPUT_HID_VERSION;
		m->resp_version = msg.version;
		m->resp_trans = pkt->trans_id;
		/* mousevsc_connect_to_vsp() waits for the device info next. */
		m->info_pending = m->resp_approved;
		m->state = m->resp_approved ? MOUSE_HANDSHAKE : MOUSE_OPEN;
		if (!m->resp_approved)
			bad_msg(&m->bad, "mouse", "refused protocol version %" PRIu32 ".%" PRIu32,
				msg.version >> 16, msg.version & 0xffff);
		mouse_flush(m);
		break;
	case INPUT_HID_INITIAL_DEVICE_INFO_ACK:
		if (m->state != MOUSE_WAIT_ACK) {
			bad_msg(&m->bad, "mouse", "device info ack out of turn");
			return;
		}
		m->state = MOUSE_READY;
		log_info("mouse: the guest connected");
		break;
	}
}

static void mouse_writable(struct hv_vmbus_channel *ch, void *data)
{
	mouse_flush(data);
}

static void mouse_close(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_mouse *m = data;

	if (m->state == MOUSE_READY)
		log_info("mouse: the guest disconnected");
	m->state = MOUSE_CLOSED;
	m->resp_pending = m->info_pending = false;
}

static const struct hv_vmbus_device_ops mouse_ops = {
	.name = "mouse",
	.open = mouse_open,
	.packet = mouse_packet,
	.writable = mouse_writable,
	.close = mouse_close,
};

int vgpu_mouse_new(struct hv_vmbus *vb, struct vgpu_mouse **ret)
{
	struct hv_vmbus_offer offer = { .max_packet = MOUSE_MAX_PACKET };
	struct vgpu_mouse *m;
	int r;

	if (hv_guid_parse(VGPU_MOUSE_CLASS, &offer.if_type) < 0 ||
	    hv_guid_parse(VGPU_MOUSE_INSTANCE, &offer.if_instance) < 0)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = hv_vmbus_add_device(vb, &offer, &mouse_ops, m, &m->ch);
	if (r < 0) {
		free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void vgpu_mouse_free(struct vgpu_mouse *m)
{
	if (!m)
		return;
	hv_vmbus_remove_device(m->ch);
	free(m);
}

int vgpu_mouse_event(struct vgpu_mouse *m, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel)
{
	uint8_t report[INPUT_MOUSE_REPORT_SIZE];
	uint8_t buf[sizeof(struct input_pipe_hdr) + sizeof(struct input_hid_input_report) +
		    INPUT_MOUSE_REPORT_SIZE];
	int len, r;

	if (!m)
		return -ENODEV;
	if (m->state != MOUSE_READY)
		return -ENOTCONN;
	input_mouse_report(report, x, y, buttons, wheel);
	len = input_hid_encode_input_report(buf, sizeof(buf), report, sizeof(report));
	if (len < 0)
		return len;
	r = hv_vmbus_send(m->ch, HV_VMPKT_DATA_INBAND, 0, 0, buf, len);
	if (r == -EAGAIN) {
		if (m->dropped++ % LOG_EVERY == 0)
			log_warn("mouse: the guest does not read its ring; report dropped (%" PRIu64
				 " so far)", m->dropped);
		return r;
	}
	if (r < 0)
		return r;
	m->sent++;
	return 0;
}

void vgpu_input_get_stats(struct vgpu_keyboard *kb, struct vgpu_mouse *m,
			  struct vgpu_input_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (kb) {
		ret->keyboard_connected = kb->state == KBD_READY;
		ret->keys_sent = kb->sent;
		ret->dropped += kb->dropped;
		ret->bad_messages += kb->bad;
		ret->leds = kb->leds;
	}
	if (m) {
		ret->mouse_connected = m->state == MOUSE_READY;
		ret->mouse_sent = m->sent;
		ret->dropped += m->dropped;
		ret->bad_messages += m->bad;
	}
}

/* ---- For the display server ---- */

static void ops_key(void *data, uint16_t scancode, bool down, bool e0, bool e1)
{
	struct vgpu_input *in = data;

	if (in && in->kb)
		vgpu_keyboard_event(in->kb, scancode, down, e0, e1);
}

static void ops_mouse(void *data, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel)
{
	struct vgpu_input *in = data;

	if (in && in->mouse)
		vgpu_mouse_event(in->mouse, x, y, buttons, wheel);
}

static const struct vgpu_input_ops input_ops = {
	.key = ops_key,
	.mouse = ops_mouse,
};

const struct vgpu_input_ops *vgpu_input_ops(void)
{
	return &input_ops;
}

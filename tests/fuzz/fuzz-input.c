// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The synthetic keyboard and mouse (vgpu/input.c, vgpu/input-proto.c) on a
 * real VMBus host with a guest whose packets come from the input.  Per
 * input: a fresh bus, both devices offered, both channels opened (rings of
 * one data page each way, so they fill up).  Then a list of records, each
 * an op byte (taken mod 8) and its arguments; dev is taken mod 2
 * (0 keyboard, 1 mouse):
 *   0 [u8 dev][u8 len][len bytes]          in-band packet from the guest
 *   1 [u8 dev][u8 type][u8 len][len bytes] packet of another type
 *   2 [u8 dev]                             the guest reads its ring
 *   3 [u8 code][u8 flags]                  vgpu_keyboard_event (flags: bit 0
 *                                          down, 1 e0, 2 e1)
 *   4 [u16 x][u16 y][u8 buttons][s8 wheel] vgpu_mouse_event
 *   5 [u8 dev]                             the guest closes and reopens it
 *   6 [u8 dev]                             a proper handshake, as Linux's
 *   7 [u8 len][len bytes]                  the pure parsers on those bytes
 *
 * Oracles besides the sanitizers, on what the guest reads: every packet is
 * a message of its exact size that the Linux driver accepts; keystrokes
 * only after an accepted protocol response, input reports only after the
 * device info, which carries our report descriptor intact; every report
 * within the descriptor's ranges.  Event calls return only 0, -ENOTCONN or
 * -EAGAIN, and the stats count what was sent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fuzz-guest-mem.h"
#include "input-proto.h"
#include "input.h"
#include "log.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define PAGE 4096u
#define FUZZ_RAM (1u << 20)
#define RING_PAGES 2u /* per direction: header + one data page */

enum { KBD, MOUSE, NDEV };

struct gdev {
	uint32_t relid;
	bool open;
	struct hv_ring out, in;
	uint64_t pfns[2 * RING_PAGES];
	/* What the guest has seen since it opened the channel. */
	bool accepted; /* keyboard: accepted response; mouse: approved */
	bool info;     /* mouse: device info after the last response */
	bool want_ack; /* mouse: ack the next device info (op 6) */
};

static struct hv_guest_mem mem;
static struct {
	struct hv_vmbus *vb;
	struct vgpu_keyboard *kb;
	struct vgpu_mouse *mouse;
	struct gdev d[NDEV];
	uint32_t open_status;
	bool open_answered;
	uint64_t keys_ok, mouse_ok;
} F;
static uint8_t rdbuf[8192];
static uint8_t payload[512];

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static int f_post(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	const struct hv_vmbus_msg_offer *o = msg;
	uint32_t type;

	check(len >= 8 && len <= HV_VMBUS_MSG_MAX);
	memcpy(&type, msg, sizeof(type));
	if (type == HV_CHANNELMSG_OFFERCHANNEL) {
		struct hv_guid kb, mouse;

		check(len == sizeof(*o));
		hv_guid_parse(VGPU_KEYBOARD_CLASS, &kb);
		hv_guid_parse(VGPU_MOUSE_CLASS, &mouse);
		if (!memcmp(o->if_type, kb.b, 16))
			F.d[KBD].relid = o->child_relid;
		else if (!memcmp(o->if_type, mouse.b, 16))
			F.d[MOUSE].relid = o->child_relid;
		else
			check(false);
	} else if (type == HV_CHANNELMSG_OPENCHANNEL_RESULT) {
		const struct hv_vmbus_msg_open_result *r = msg;

		F.open_answered = true;
		F.open_status = r->status;
	}
	return 0;
}

static int f_signal(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	return 0;
}

static const struct hv_vmbus_host_ops host_ops = {
	.post_message = f_post,
	.signal_event = f_signal,
};

static void guest_msg(const void *m, size_t len)
{
	hv_vmbus_message(F.vb, HV_VMBUS_MESSAGE_CONNECTION_ID_4, m, len);
}

static void open_dev(int dev)
{
	struct gdev *d = &F.d[dev];
	uint8_t m[HV_VMBUS_MSG_MAX] = { 0 };
	struct hv_vmbus_msg_gpadl_header *gh = (void *)m;
	struct hv_vmbus_msg_open op = { .hdr.msgtype = HV_CHANNELMSG_OPENCHANNEL };

	gh->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	gh->child_relid = d->relid;
	gh->gpadl = 0x100 + dev;
	gh->range_buflen = 8 + 8 * 2 * RING_PAGES;
	gh->rangecount = 1;
	gh->byte_count = 2 * RING_PAGES * PAGE;
	for (unsigned i = 0; i < 2 * RING_PAGES; i++) {
		d->pfns[i] = 0x10 + 8 * dev + i;
		gh->pfn[i] = d->pfns[i];
		memset(mem.host + d->pfns[i] * PAGE, 0, PAGE);
	}
	memcpy(mem.host + d->pfns[0] * PAGE + 64, &(uint32_t){ HV_RING_FEAT_PENDING_SEND_SZ }, 4);
	memcpy(mem.host + d->pfns[RING_PAGES] * PAGE + 64,
	       &(uint32_t){ HV_RING_FEAT_PENDING_SEND_SZ }, 4);
	guest_msg(gh, sizeof(*gh) + 8 * 2 * RING_PAGES);
	check(hv_ring_init(&d->out, &mem, d->pfns, RING_PAGES) == 0);
	check(hv_ring_init(&d->in, &mem, d->pfns + RING_PAGES, RING_PAGES) == 0);
	op.child_relid = d->relid;
	op.openid = dev;
	op.ringbuffer_gpadlhandle = 0x100 + dev;
	op.downstream_ringbuffer_pageoffset = RING_PAGES;
	F.open_answered = false;
	guest_msg(&op, sizeof(op));
	check(F.open_answered && F.open_status == 0);
	d->open = true;
	d->accepted = d->info = d->want_ack = false;
}

static void close_dev(int dev)
{
	struct gdev *d = &F.d[dev];
	struct hv_vmbus_msg_close m = {
		.hdr.msgtype = HV_CHANNELMSG_CLOSECHANNEL, .child_relid = d->relid,
	};
	struct hv_vmbus_msg_gpadl_teardown t = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_TEARDOWN, .child_relid = d->relid,
		.gpadl = 0x100 + dev,
	};

	guest_msg(&m, sizeof(m));
	guest_msg(&t, sizeof(t));
	hv_ring_fini(&d->out);
	hv_ring_fini(&d->in);
	d->open = false;
}

static void guest_send(int dev, uint16_t type, const void *data, size_t len)
{
	struct gdev *d = &F.d[dev];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	bool sig;

	if (!d->open)
		return;
	if (hv_ring_write(&d->out, type, 0, 7, &iov, len ? 1 : 0, &sig) == 0)
		hv_vmbus_signal(F.vb, HV_VMBUS_EVENT_CONNECTION_BASE + d->relid);
}

static void mouse_ack(void)
{
	uint8_t m[17] = { 1, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 1 };

	guest_send(MOUSE, HV_VMPKT_DATA_INBAND, m, sizeof(m));
}

/* What hyperv-keyboard.c would make of a packet. */
static void kbd_rx(struct gdev *d, const struct hv_vmbus_packet *pkt)
{
	uint32_t type, info;

	check(pkt->type == HV_VMPKT_DATA_INBAND && pkt->len >= 8);
	type = get32(pkt->data);
	if (type == INPUT_KBD_PROTOCOL_RESPONSE) {
		check(pkt->len == 8);
		check(get32(pkt->data + 4) <= 1);
		d->accepted = get32(pkt->data + 4) & 1;
	} else {
		check(type == INPUT_KBD_EVENT && pkt->len == 16);
		check(d->accepted);
		check(get16(pkt->data + 4) <= 0x7f && get16(pkt->data + 6) == 0);
		info = get32(pkt->data + 8);
		check(!(info & ~(INPUT_KBD_INFO_BREAK | INPUT_KBD_INFO_E0 | INPUT_KBD_INFO_E1)));
	}
}

/* What hid-hyperv.c would make of one. */
static void mouse_rx(struct gdev *d, const struct hv_vmbus_packet *pkt)
{
	const uint8_t *p = pkt->data + 8, *desc;
	size_t dlen;
	uint32_t size, type;

	check(pkt->type == HV_VMPKT_DATA_INBAND && pkt->len >= 16);
	check(get32(pkt->data) == INPUT_PIPE_MESSAGE_DATA);
	size = get32(pkt->data + 4);
	check(size + 8 <= pkt->len && size + 8 > pkt->len - 8 && size >= 8);
	type = get32(p);
	check(get32(p + 4) == size - 8);
	switch (type) {
	case INPUT_HID_PROTOCOL_RESPONSE:
		check(size == 13 && p[12] <= 1);
		check(!p[12] || get32(p + 8) == INPUT_HID_VERSION);
		d->accepted = p[12];
		d->info = false;
		break;
	case INPUT_HID_INITIAL_DEVICE_INFO:
		check(d->accepted && !d->info);
		desc = input_mouse_report_desc(&dlen);
		check(size == 8 + 32 + 9 + dlen);
		check(p[40] == 9 && get16(p + 47) == dlen && !memcmp(p + 49, desc, dlen));
		check(p[49 + 14] != 0x25);
		d->info = true;
		if (d->want_ack) {
			d->want_ack = false;
			mouse_ack();
		}
		break;
	case INPUT_HID_INPUT_REPORT:
		check(d->info && size == 8 + INPUT_MOUSE_REPORT_SIZE);
		check(p[8] <= 7 && get16(p + 9) <= 32767 && get16(p + 11) <= 32767);
		check(p[13] != 0x80);
		break;
	default:
		check(false);
	}
}

static void guest_read(int dev)
{
	struct gdev *d = &F.d[dev];
	struct hv_vmbus_packet pkt;
	int r;

	if (!d->open)
		return;
	do {
		hv_ring_read_begin(&d->in);
		while ((r = hv_ring_read(&d->in, rdbuf, sizeof(rdbuf), &pkt)) > 0) {
			if (dev == KBD)
				kbd_rx(d, &pkt);
			else
				mouse_rx(d, &pkt); /* may send the ack meanwhile */
		}
		check(r == 0);
	} while (hv_ring_read_end(&d->in));
	if (hv_ring_read_should_signal(&d->in))
		hv_vmbus_signal(F.vb, HV_VMBUS_EVENT_CONNECTION_BASE + d->relid);
}

static void parsers(const uint8_t *p, size_t len)
{
	struct input_kbd_msg km;
	struct input_hid_msg hm;
	int r;

	r = input_kbd_parse(p, len, &km);
	check(r == 0 || r == -EBADMSG || r == -ENOMSG);
	if (r == 0)
		check((km.type == INPUT_KBD_PROTOCOL_REQUEST ||
		       km.type == INPUT_KBD_LED_INDICATORS) && len >= 8);
	r = input_hid_parse(p, len, &hm);
	check(r == 0 || r == -EBADMSG || r == -ENOMSG);
	if (r == 0)
		check(len >= 8 + get32(p + 4) && get32(p) == INPUT_PIPE_MESSAGE_DATA &&
		      ((hm.type == INPUT_HID_PROTOCOL_REQUEST && get32(p + 4) >= 12) ||
		       (hm.type == INPUT_HID_INITIAL_DEVICE_INFO_ACK && get32(p + 4) >= 9)));
}

static void setup(void)
{
	struct hv_vmbus_config cfg = { .mem = &mem, .ops = &host_ops, .nvps = 1 };
	struct hv_vmbus_msg_initiate_contact ic = {
		.hdr.msgtype = HV_CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = HV_VMBUS_VERSION_WIN10_V5_3,
		.msg_sint = HV_VMBUS_MESSAGE_SINT,
	};
	struct hv_vmbus_msg_header ro = { .msgtype = HV_CHANNELMSG_REQUESTOFFERS };

	memset(&F, 0, sizeof(F));
	fuzz_guest_mem(&mem, FUZZ_RAM);
	check(hv_vmbus_new(&cfg, &F.vb) == 0);
	check(vgpu_keyboard_new(F.vb, &F.kb) == 0);
	check(vgpu_mouse_new(F.vb, &F.mouse) == 0);
	guest_msg(&ic, sizeof(ic));
	guest_msg(&ro, sizeof(ro));
	check(F.d[KBD].relid && F.d[MOUSE].relid);
	open_dev(KBD);
	open_dev(MOUSE);
}

static void teardown(void)
{
	struct vgpu_input_stats s;

	vgpu_input_get_stats(F.kb, F.mouse, &s);
	check(s.keys_sent == F.keys_ok && s.mouse_sent == F.mouse_ok);
	vgpu_keyboard_free(F.kb);
	vgpu_mouse_free(F.mouse);
	hv_vmbus_free(F.vb);
	for (unsigned i = 0; i < NDEV; i++) {
		hv_ring_fini(&F.d[i].out);
		hv_ring_fini(&F.d[i].in);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Every bad message logs (rate-limited per device, but each input
	 * has new devices): quiet unless SKYLIGHT_LOG asks. */
	if (!getenv("SKYLIGHT_LOG"))
		log_parse_spec("error");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	unsigned steps = 0;

	setup();
	while (p < end && steps++ < 4096) {
		uint8_t op = *p++ % 8;
		size_t left = end - p, len;
		int dev, r;

		switch (op) {
		case 0:
		case 1: {
			uint16_t type = HV_VMPKT_DATA_INBAND;

			if (left < (op ? 3u : 2u))
				goto out;
			dev = *p++ & 1;
			if (op)
				type = *p++;
			len = *p++;
			len = MIN(len, (size_t)(end - p));
			memset(payload, 0, sizeof(payload));
			memcpy(payload, p, len);
			p += len;
			guest_send(dev, type, payload, len);
			break;
		}
		case 2:
			if (left < 1)
				goto out;
			guest_read(*p++ & 1);
			break;
		case 3:
			if (left < 2)
				goto out;
			r = vgpu_keyboard_event(F.kb, p[0], p[1] & 1, p[1] & 2, p[1] & 4);
			check(r == 0 || r == -ENOTCONN || r == -EAGAIN);
			F.keys_ok += r == 0;
			p += 2;
			break;
		case 4:
			if (left < 6)
				goto out;
			r = vgpu_mouse_event(F.mouse, get16(p), get16(p + 2), p[4], (int8_t)p[5]);
			check(r == 0 || r == -ENOTCONN || r == -EAGAIN);
			F.mouse_ok += r == 0;
			p += 6;
			break;
		case 5:
			if (left < 1)
				goto out;
			dev = *p++ & 1;
			if (F.d[dev].open)
				close_dev(dev);
			open_dev(dev);
			break;
		case 6:
			if (left < 1)
				goto out;
			dev = *p++ & 1;
			if (dev == KBD) {
				uint8_t m[8] = { 1, 0, 0, 0, 0, 0, 1, 0 };

				guest_send(KBD, HV_VMPKT_DATA_INBAND, m, sizeof(m));
			} else {
				uint8_t m[20] = { 1, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0,
						  4, 0, 0, 0, 0, 0, 2, 0 };

				F.d[MOUSE].want_ack = true;
				guest_send(MOUSE, HV_VMPKT_DATA_INBAND, m, sizeof(m));
			}
			guest_read(dev);
			break;
		case 7:
			if (left < 1)
				goto out;
			len = *p++;
			len = MIN(len, (size_t)(end - p));
			parsers(p, len);
			p += len;
			break;
		}
	}
out:
	teardown();
	return 0;
}

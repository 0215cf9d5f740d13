// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The synthetic keyboard and mouse (vgpu/input.c, vgpu/input-proto.c) over a
 * real VMBus host (hv/vmbus.c), with fake RAM playing the guest: it connects,
 * takes the offers, opens both channels with a GPADL and an OPENCHANNEL as
 * Linux's vmbus_open() does, and speaks the protocols as Linux 6.1's
 * hyperv-keyboard.c and hid-hyperv.c do -- or badly.  The guest's side is
 * written from the drivers' numbers, not from input-proto.h, so the two
 * check each other; the report descriptor is walked item by item and the
 * reports are decoded with what it says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../hv/fake-guest.h"
#include "../hv/fake-mem.h"
#include "input-proto.h"
#include "input.h"
#include "log.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define PAGE 4096u
#define RAM (8u << 20)
#define RING_PAGES 4u /* per direction, header page included */

enum { KBD, MOUSE, NDEV };

static const char *const class_guids[NDEV] = {
	[KBD] = "f912ad6d-2b17-48ea-bd65-f927a61c7684",   /* HV_KBD_GUID */
	[MOUSE] = "cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a", /* HV_MOUSE_GUID */
};

/* What the guest read from a channel. */
struct rx {
	uint16_t type, flags;
	uint64_t trans_id;
	uint32_t len;
	uint8_t data[512];
};

struct gchan {
	uint32_t relid;
	uint8_t if_instance[16];
	struct hv_ring out; /* guest->host: the guest writes */
	struct hv_ring in;  /* host->guest: the guest reads */
	uint64_t pfns[2 * RING_PAGES];
	bool open;
	struct rx rx[512];
	unsigned nrx, next; /* received, consumed by the test */
};

static struct {
	struct hv_guest_mem mem;
	struct hv_vmbus *vb;
	struct vgpu_keyboard *kb;
	struct vgpu_mouse *mouse;
	uint8_t msgs[64][HV_VMBUS_MSG_MAX];
	unsigned nmsgs;
	struct gchan ch[NDEV];
} T;

static int post_message(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	assert_true(len <= HV_VMBUS_MSG_MAX);
	if (T.nmsgs == 64) {
		memmove(T.msgs[0], T.msgs[1], sizeof(T.msgs[0]) * 63);
		T.nmsgs--;
	}
	memset(T.msgs[T.nmsgs], 0, HV_VMBUS_MSG_MAX);
	memcpy(T.msgs[T.nmsgs++], msg, len);
	return 0;
}

static int signal_event(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	return 0; /* the guest polls its rings */
}

static const struct hv_vmbus_host_ops host_ops = {
	.post_message = post_message,
	.signal_event = signal_event,
};

static const void *host_msg(uint32_t type)
{
	for (unsigned i = T.nmsgs; i-- > 0;)
		if (rd32(T.msgs[i]) == type)
			return T.msgs[i];
	return NULL;
}

static void guest_msg(const void *m, size_t len)
{
	fg_guest_msg(T.vb, m, len);
}

static void guest_send_type(int d, uint16_t type, uint64_t trans_id, const void *data, size_t len)
{
	struct gchan *c = &T.ch[d];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	bool sig;

	assert_int_equal(hv_ring_write(&c->out, type, 1 /* COMPLETION_REQUESTED */, trans_id,
				       &iov, 1, &sig),
			 0);
	hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + c->relid);
}

static void guest_send(int d, const void *data, size_t len)
{
	guest_send_type(d, HV_VMPKT_DATA_INBAND, 0x1234, data, len);
}

/* Read everything the host wrote, signalling it when the ring rules say
 * so (so a blocked writer gets ->writable()). */
static void guest_poll(int d)
{
	struct gchan *c = &T.ch[d];
	uint8_t buf[8192];
	struct hv_vmbus_packet pkt;

	if (!c->open)
		return;
	do {
		hv_ring_read_begin(&c->in);
		while (hv_ring_read(&c->in, buf, sizeof(buf), &pkt) > 0) {
			struct rx *r = &c->rx[c->nrx++ % ARRAY_SIZE(c->rx)];

			assert_true(pkt.len <= sizeof(r->data));
			r->type = pkt.type;
			r->flags = pkt.flags;
			r->trans_id = pkt.trans_id;
			r->len = pkt.len;
			memcpy(r->data, pkt.data, pkt.len);
		}
	} while (hv_ring_read_end(&c->in));
	if (hv_ring_read_should_signal(&c->in))
		hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + c->relid);
}

/* The next packet the guest got, or NULL. */
static const struct rx *guest_next(int d)
{
	struct gchan *c = &T.ch[d];

	guest_poll(d);
	if (c->next == c->nrx)
		return NULL;
	return &c->rx[c->next++ % ARRAY_SIZE(c->rx)];
}

static struct fg_rings rings(int d)
{
	struct gchan *c = &T.ch[d];

	return (struct fg_rings){ c->relid, RING_PAGES, c->pfns, &c->out, &c->in };
}

static void open_channel(int d)
{
	struct fg_rings r = rings(d);

	T.nmsgs = 0;
	fg_open_channel(T.vb, &T.mem, host_msg, &r, 0x100 + d, d, 0x400 + 16 * d);
	T.ch[d].open = true;
	T.ch[d].nrx = T.ch[d].next = 0;
}

static void close_channel(int d)
{
	struct fg_rings r = rings(d);

	fg_close_channel(T.vb, host_msg, &r, 0x100 + d);
	T.ch[d].open = false;
}

static struct vgpu_input_stats stats(void)
{
	struct vgpu_input_stats s;

	vgpu_input_get_stats(T.kb, T.mouse, &s);
	return s;
}

static int setup(void **state)
{
	struct hv_vmbus_config vcfg = { .mem = &T.mem, .ops = &host_ops, .nvps = 1 };
	struct hv_vmbus_msg_initiate_contact ic = {
		.hdr.msgtype = HV_CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = HV_VMBUS_VERSION_WIN10_V5_3,
		.msg_sint = HV_VMBUS_MESSAGE_SINT,
	};
	struct hv_vmbus_msg_header ro = { .msgtype = HV_CHANNELMSG_REQUESTOFFERS };
	unsigned offers = 0;

	memset(&T, 0, sizeof(T));
	assert_int_equal(fake_mem_new(&T.mem, RAM), 0);
	assert_int_equal(hv_vmbus_new(&vcfg, &T.vb), 0);
	assert_int_equal(vgpu_keyboard_new(T.vb, &T.kb), 0);
	assert_int_equal(vgpu_mouse_new(T.vb, &T.mouse), 0);

	guest_msg(&ic, sizeof(ic));
	assert_non_null(host_msg(HV_CHANNELMSG_VERSION_RESPONSE));
	guest_msg(&ro, sizeof(ro));
	for (unsigned i = 0; i < T.nmsgs; i++) {
		const struct hv_vmbus_msg_offer *o = (const void *)T.msgs[i];

		if (o->hdr.msgtype != HV_CHANNELMSG_OFFERCHANNEL)
			continue;
		for (unsigned d = 0; d < NDEV; d++) {
			struct hv_guid g;

			assert_int_equal(hv_guid_parse(class_guids[d], &g), 0);
			if (memcmp(g.b, o->if_type, 16))
				continue;
			T.ch[d].relid = o->child_relid;
			memcpy(T.ch[d].if_instance, o->if_instance, 16);
			offers++;
		}
	}
	assert_int_equal(offers, NDEV);
	return 0;
}

static int teardown(void **state)
{
	vgpu_keyboard_free(T.kb);
	vgpu_mouse_free(T.mouse);
	hv_vmbus_free(T.vb);
	for (unsigned d = 0; d < NDEV; d++) {
		hv_ring_fini(&T.ch[d].out);
		hv_ring_fini(&T.ch[d].in);
	}
	fake_mem_free(&T.mem);
	return 0;
}

/* ---- The keyboard guest (hyperv-keyboard.c) ---- */

static void kbd_request(uint32_t version)
{
	uint8_t m[8];

	wr32(m, 1); /* SYNTH_KBD_PROTOCOL_REQUEST */
	wr32(m + 4, version);
	guest_send(KBD, m, sizeof(m));
}

/* hv_kbd_connect_to_vsp(): request 1.0, the response must accept it. */
static void kbd_connect(void)
{
	const struct rx *r;

	kbd_request(0x00010000);
	r = guest_next(KBD);
	assert_non_null(r);
	assert_int_equal(r->type, HV_VMPKT_DATA_INBAND);
	assert_int_equal(r->trans_id, 0x1234);
	assert_true(r->len >= 8);
	assert_int_equal(rd32(r->data), 2); /* SYNTH_KBD_PROTOCOL_RESPONSE */
	assert_true(rd32(r->data + 4) & 1); /* PROTOCOL_ACCEPTED */
	assert_null(guest_next(KBD));
	assert_true(stats().keyboard_connected);
}

/* The next keystroke, as hv_kbd_on_receive() feeds serio: [E0] [E1] code. */
static unsigned kbd_bytes(uint8_t out[3])
{
	const struct rx *r = guest_next(KBD);
	unsigned n = 0;
	uint32_t info;
	uint16_t code;

	assert_non_null(r);
	assert_int_equal(r->type, HV_VMPKT_DATA_INBAND);
	assert_true(r->len >= 12); /* sizeof(struct synth_kbd_keystroke) */
	assert_int_equal(rd32(r->data), 3); /* SYNTH_KBD_EVENT */
	assert_int_equal(rd16(r->data + 6), 0);
	info = rd32(r->data + 8);
	assert_int_equal(info & ~0xeu, 0); /* never IS_UNICODE, nothing unknown */
	if (info & 4)
		out[n++] = 0xe0;
	if (info & 8)
		out[n++] = 0xe1;
	code = rd16(r->data + 4);
	if (info & 2)
		code |= 0x80;
	out[n++] = code;
	return n;
}

/* ---- The mouse guest (hid-hyperv.c) ---- */

static void mouse_request(uint32_t version)
{
	uint8_t m[20];

	wr32(m, 1);      /* PIPE_MESSAGE_DATA */
	wr32(m + 4, 12); /* sizeof(struct synthhid_protocol_request) */
	wr32(m + 8, 0);  /* SYNTH_HID_PROTOCOL_REQUEST */
	wr32(m + 12, 4); /* sizeof(unsigned int) */
	wr32(m + 16, version);
	guest_send(MOUSE, m, sizeof(m));
}

static void mouse_ack(void)
{
	uint8_t m[17] = { 0 };

	wr32(m, 1);      /* PIPE_MESSAGE_DATA */
	wr32(m + 4, 9);  /* sizeof(struct synthhid_device_info_ack) */
	wr32(m + 8, 3);  /* SYNTH_HID_INITIAL_DEVICE_INFO_ACK */
	wr32(m + 12, 1);
	guest_send(MOUSE, m, sizeof(m));
}

/* A pipe message as mousevsc_on_receive() takes it: DATA, and its size
 * within the packet (which is padded to 8 bytes). */
static const uint8_t *pipe_data(const struct rx *r, uint32_t *size)
{
	assert_int_equal(r->type, HV_VMPKT_DATA_INBAND);
	assert_true(r->len >= 16);
	assert_int_equal(rd32(r->data), 1);
	*size = rd32(r->data + 4);
	assert_true(*size + 8 <= r->len && *size + 8 > r->len - 8);
	return r->data + 8;
}

/* One Input main item's field, from the report descriptor. */
struct field {
	uint16_t page, usage_min, usage_max; /* usage range (single usage: min == max) */
	uint32_t bit, size, count;
	int32_t lmin, lmax;
	uint32_t flags; /* Input item data: bit 0 constant, 1 variable, 2 relative */
};

struct layout {
	struct field f[16];
	unsigned n;
	uint32_t bits;
	bool mouse_app, pointer_phys;
};

static int32_t item_sval(const uint8_t *p, unsigned n)
{
	switch (n) {
	case 1:
		return (int8_t)p[0];
	case 2:
		return (int16_t)rd16(p);
	case 4:
		return (int32_t)rd32(p);
	}
	return 0;
}

static uint32_t item_uval(const uint8_t *p, unsigned n)
{
	switch (n) {
	case 1:
		return p[0];
	case 2:
		return rd16(p);
	case 4:
		return rd32(p);
	}
	return 0;
}

/*
 * Walk a HID report descriptor (HID 1.11 §6.2.2) as hid-core's
 * hid_parse_report() would accept it: short items only, their data inside
 * the descriptor, collections balanced, every Input with a report size,
 * count and usages.  Fills in the Input fields and their bit positions.
 */
static void hid_walk(const uint8_t *d, size_t len, struct layout *l)
{
	uint16_t page = 0, usages[16];
	unsigned nusages = 0, depth = 0;
	uint32_t usage_min = 0, usage_max = 0, rsize = 0, rcount = 0;
	int32_t lmin = 0, lmax = 0;
	bool have_range = false;
	int last_usage = -1;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < len;) {
		uint8_t prefix = d[i];
		unsigned size = (prefix & 3) == 3 ? 4 : prefix & 3;
		unsigned type = (prefix >> 2) & 3, tag = prefix >> 4;
		const uint8_t *data = d + i + 1;
		uint32_t u;

		assert_int_not_equal(prefix, 0xfe); /* no long items */
		assert_true(i + 1 + size <= len);
		u = item_uval(data, size);
		switch (type) {
		case 0: /* Main */
			switch (tag) {
			case 0x8: { /* Input */
				struct field *f = &l->f[l->n++];

				assert_true(l->n <= ARRAY_SIZE(l->f));
				assert_true(rsize > 0 && rcount > 0);
				f->page = page;
				f->bit = l->bits;
				f->size = rsize;
				f->count = rcount;
				f->lmin = lmin;
				f->lmax = lmax;
				f->flags = u;
				if (have_range) {
					f->usage_min = usage_min;
					f->usage_max = usage_max;
				} else if (nusages) {
					/* One usage per field here (X, Y each). */
					f->usage_min = f->usage_max = usages[0];
					if (nusages > 1)
						f->usage_max = usages[nusages - 1];
				} else {
					assert_true(u & 1); /* only padding goes without usages */
				}
				l->bits += rsize * rcount;
				nusages = 0;
				have_range = false;
				break;
			}
			case 0xa: /* Collection */
				assert_true(size == 1);
				if (depth == 0 && u == 1 && last_usage == 0x10002)
					l->mouse_app = true;
				if (depth == 1 && u == 0 && last_usage == 0x10001)
					l->pointer_phys = true;
				depth++;
				nusages = 0;
				have_range = false;
				break;
			case 0xc: /* End Collection */
				assert_int_equal(size, 0);
				assert_true(depth > 0);
				depth--;
				break;
			default:
				fail_msg("unexpected main item tag %x", tag);
			}
			break;
		case 1: /* Global */
			switch (tag) {
			case 0x0:
				page = u;
				break;
			case 0x1:
				lmin = item_sval(data, size);
				break;
			case 0x2:
				lmax = item_sval(data, size);
				break;
			case 0x7:
				rsize = u;
				break;
			case 0x9:
				rcount = u;
				break;
			default:
				fail_msg("unexpected global item tag %x", tag);
			}
			break;
		case 2: /* Local */
			switch (tag) {
			case 0x0:
				assert_true(nusages < ARRAY_SIZE(usages));
				usages[nusages++] = u;
				last_usage = page << 16 | u;
				break;
			case 0x1:
				usage_min = u;
				have_range = true;
				break;
			case 0x2:
				usage_max = u;
				have_range = true;
				break;
			default:
				fail_msg("unexpected local item tag %x", tag);
			}
			break;
		default:
			fail_msg("reserved item type");
		}
		i += 1 + size;
	}
	assert_int_equal(depth, 0);
}

/* Field value at bit offset bit, size bits, from a little-endian report. */
static uint32_t report_bits(const uint8_t *r, uint32_t bit, uint32_t size)
{
	uint32_t v = 0;

	for (uint32_t b = 0; b < size; b++)
		v |= (uint32_t)((r[(bit + b) / 8] >> ((bit + b) % 8)) & 1) << b;
	return v;
}

static struct layout mouse_layout;

/* mousevsc_connect_to_vsp() + mousevsc_on_receive_device_info(): response,
 * then the device info at once; checks all of it; acks if ack. */
static void mouse_connect(bool ack)
{
	const struct rx *r;
	const uint8_t *p, *desc;
	uint32_t size, dlen;

	mouse_request(0x00020000);
	r = guest_next(MOUSE);
	assert_non_null(r);
	assert_int_equal(r->trans_id, 0x1234);
	p = pipe_data(r, &size);
	/* struct_size(pipe_msg, data, size) <= sizeof(struct mousevsc_prt_msg) */
	assert_true(8 + size <= 21);
	assert_true(size >= 13);
	assert_int_equal(rd32(p), 1); /* SYNTH_HID_PROTOCOL_RESPONSE */
	assert_int_equal(rd32(p + 8), 0x00020000);
	assert_int_equal(p[12], 1); /* approved */

	r = guest_next(MOUSE);
	assert_non_null(r);
	p = pipe_data(r, &size);
	assert_true(size >= 8 + 32 + 9);
	assert_int_equal(rd32(p), 2); /* SYNTH_HID_INITIAL_DEVICE_INFO */
	assert_int_equal(rd32(p + 8), 32);       /* hv_input_dev_info.size */
	assert_int_equal(rd16(p + 12), 0x045e);  /* vendor */
	assert_int_equal(rd16(p + 14), 0x0621);  /* product */
	desc = p + 8 + 32;
	assert_int_equal(desc[0], 9);    /* bLength */
	assert_int_equal(desc[1], 0x21); /* HID_DT_HID */
	assert_int_equal(desc[5], 1);    /* bNumDescriptors */
	assert_int_equal(desc[6], 0x22); /* HID_DT_REPORT */
	dlen = rd16(desc + 7);
	assert_true(dlen > 0);
	/* The guest copies wDescriptorLength bytes after bLength: they
	 * must be in the message. */
	assert_int_equal(8 + 32 + 9 + dlen, size);
	/* mousevsc_probe()'s SA-167 workaround must not touch ours. */
	assert_true(dlen > 14);
	assert_int_not_equal(desc[9 + 14], 0x25);
	hid_walk(desc + 9, dlen, &mouse_layout);
	assert_null(guest_next(MOUSE));
	assert_false(stats().mouse_connected);
	assert_int_equal(vgpu_mouse_event(T.mouse, 1, 2, 0, 0), -ENOTCONN);
	if (!ack)
		return;
	mouse_ack();
	assert_true(stats().mouse_connected);
}

struct decoded {
	uint32_t x, y, buttons;
	int32_t wheel;
};

/* The next input report, decoded with the report descriptor's layout. */
static struct decoded mouse_report(void)
{
	const struct rx *r = guest_next(MOUSE);
	const struct layout *l = &mouse_layout;
	struct decoded dec = { 0 };
	const uint8_t *p, *rep;
	uint32_t size, rlen;

	assert_non_null(r);
	p = pipe_data(r, &size);
	assert_int_equal(rd32(p), 4); /* SYNTH_HID_INPUT_REPORT */
	rlen = rd32(p + 4);
	assert_int_equal(size, 8 + rlen);
	assert_int_equal(rlen * 8, l->bits);
	rep = p + 8;
	for (unsigned i = 0; i < l->n; i++) {
		const struct field *f = &l->f[i];

		for (uint32_t k = 0; k < f->count; k++) {
			uint32_t v = report_bits(rep, f->bit + k * f->size, f->size);
			unsigned usage = f->usage_min + k;

			if (f->flags & 1) {
				assert_int_equal(v, 0); /* padding */
				continue;
			}
			if (f->page == 9) {
				dec.buttons |= v << (usage - 1);
			} else if (f->page == 1 && usage == 0x30) {
				dec.x = v;
			} else if (f->page == 1 && usage == 0x31) {
				dec.y = v;
			} else if (f->page == 1 && usage == 0x38) {
				dec.wheel = (int32_t)(v << (32 - f->size)) >> (32 - f->size);
			} else {
				fail_msg("unexpected usage %x:%x", f->page, usage);
			}
		}
	}
	return dec;
}

/* ---- Tests ---- */

static void test_offers(void **state)
{
	struct hv_guid g;

	/* Distinct, fixed instances. */
	assert_int_not_equal(memcmp(T.ch[KBD].if_instance, T.ch[MOUSE].if_instance, 16), 0);
	assert_int_equal(hv_guid_parse(VGPU_KEYBOARD_INSTANCE, &g), 0);
	assert_memory_equal(g.b, T.ch[KBD].if_instance, 16);
	assert_int_equal(hv_guid_parse(VGPU_MOUSE_INSTANCE, &g), 0);
	assert_memory_equal(g.b, T.ch[MOUSE].if_instance, 16);
	assert_string_equal(VGPU_KEYBOARD_CLASS, class_guids[KBD]);
	assert_string_equal(VGPU_MOUSE_CLASS, class_guids[MOUSE]);
}

static void test_enotconn(void **state)
{
	struct vgpu_input_stats s;

	/* Not open. */
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	assert_int_equal(vgpu_mouse_event(T.mouse, 0, 0, 0, 0), -ENOTCONN);
	/* Open, no handshake. */
	open_channel(KBD);
	open_channel(MOUSE);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	assert_int_equal(vgpu_mouse_event(T.mouse, 0, 0, 0, 0), -ENOTCONN);
	assert_null(guest_next(KBD));
	assert_null(guest_next(MOUSE));
	/* Device info sent, no ack yet: still not connected (checked in
	 * mouse_connect()). */
	mouse_connect(false);
	s = stats();
	assert_false(s.keyboard_connected);
	assert_false(s.mouse_connected);
	assert_int_equal(s.keys_sent + s.mouse_sent + s.dropped + s.bad_messages, 0);
	assert_int_equal(vgpu_keyboard_event(NULL, 0x1e, true, false, false), -ENODEV);
	assert_int_equal(vgpu_mouse_event(NULL, 0, 0, 0, 0), -ENODEV);
}

static void test_keyboard(void **state)
{
	static const struct {
		uint16_t code;
		bool down, e0, e1;
		uint8_t bytes[3];
		unsigned n;
	} keys[] = {
		{ 0x1e, true, false, false, { 0x1e }, 1 },             /* A down */
		{ 0x1e, false, false, false, { 0x9e }, 1 },            /* A up */
		{ 0x48, true, true, false, { 0xe0, 0x48 }, 2 },        /* Up arrow */
		{ 0x48, false, true, false, { 0xe0, 0xc8 }, 2 },
		{ 0x1d, true, false, true, { 0xe1, 0x1d }, 2 },        /* Pause, first half */
		{ 0x45, true, false, false, { 0x45 }, 1 },
		{ 0x9d, false, false, true, { 0xe1, 0x9d }, 2 },       /* break form given */
		{ 0x38, true, true, true, { 0xe0, 0xe1, 0x38 }, 3 },
	};
	uint8_t b[3];

	open_channel(KBD);
	kbd_connect();
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		assert_int_equal(vgpu_keyboard_event(T.kb, keys[i].code, keys[i].down, keys[i].e0,
						     keys[i].e1),
				 0);
		assert_int_equal(kbd_bytes(b), keys[i].n);
		assert_memory_equal(b, keys[i].bytes, keys[i].n);
	}
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x100, true, false, false), -EINVAL);
	assert_null(guest_next(KBD));
	assert_int_equal(stats().keys_sent, ARRAY_SIZE(keys));
	assert_int_equal(stats().bad_messages, 0);

	/* LED state from the guest (Windows sends it). */
	{
		uint8_t m[8];

		wr32(m, 4); /* SYNTH_KBD_LED_INDICATORS */
		wr16(m + 4, 0);
		wr16(m + 6, 4 | 2);
		guest_send(KBD, m, sizeof(m));
		assert_int_equal(stats().leds, 6);
		assert_int_equal(stats().bad_messages, 0);
		assert_null(guest_next(KBD));
	}

	/* A second request (a driver reconnecting) is answered again. */
	kbd_connect();
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1c, true, false, false), 0);
	assert_int_equal(kbd_bytes(b), 1);
	assert_int_equal(b[0], 0x1c);
}

static void test_keyboard_refused(void **state)
{
	const struct rx *r;

	open_channel(KBD);
	kbd_request(0x00020000);
	r = guest_next(KBD);
	assert_non_null(r);
	assert_int_equal(rd32(r->data), 2);
	assert_int_equal(rd32(r->data + 4) & 1, 0);
	assert_false(stats().keyboard_connected);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	assert_int_equal(stats().bad_messages, 1);
	/* The right version afterwards works. */
	kbd_connect();
}

static void test_mouse(void **state)
{
	const struct layout *l = &mouse_layout;
	struct decoded d;

	open_channel(MOUSE);
	mouse_connect(true);

	/* What the descriptor says (input-proto.h documents it). */
	assert_true(l->mouse_app);
	assert_true(l->pointer_phys);
	assert_int_equal(l->bits, 48);
	assert_int_equal(l->n, 4);
	assert_int_equal(l->f[0].page, 9); /* buttons 1-3, bits 0-2 */
	assert_int_equal(l->f[0].usage_min, 1);
	assert_int_equal(l->f[0].usage_max, 3);
	assert_int_equal(l->f[0].bit, 0);
	assert_int_equal(l->f[0].size * l->f[0].count, 3);
	assert_int_equal(l->f[0].flags & 7, 2);
	assert_int_equal(l->f[1].flags & 1, 1); /* padding to the byte */
	assert_int_equal(l->f[1].bit + l->f[1].size * l->f[1].count, 8);
	assert_int_equal(l->f[2].page, 1); /* X, Y: absolute 0..32767, 16 bits */
	assert_int_equal(l->f[2].usage_min, 0x30);
	assert_int_equal(l->f[2].usage_max, 0x31);
	assert_int_equal(l->f[2].bit, 8);
	assert_int_equal(l->f[2].size, 16);
	assert_int_equal(l->f[2].count, 2);
	assert_int_equal(l->f[2].lmin, 0);
	assert_int_equal(l->f[2].lmax, 32767);
	assert_int_equal(l->f[2].flags & 7, 2);
	assert_int_equal(l->f[3].usage_min, 0x38); /* wheel: relative, 8 bits */
	assert_int_equal(l->f[3].bit, 40);
	assert_int_equal(l->f[3].size, 8);
	assert_int_equal(l->f[3].lmin, -127);
	assert_int_equal(l->f[3].lmax, 127);
	assert_int_equal(l->f[3].flags & 7, 6);

	assert_int_equal(vgpu_mouse_event(T.mouse, 100, 32767, 1, 0), 0);
	d = mouse_report();
	assert_int_equal(d.x, 100);
	assert_int_equal(d.y, 32767);
	assert_int_equal(d.buttons, 1);
	assert_int_equal(d.wheel, 0);

	assert_int_equal(vgpu_mouse_event(T.mouse, 0x1234, 0x4321, 6, -3), 0);
	d = mouse_report();
	assert_int_equal(d.x, 0x1234);
	assert_int_equal(d.y, 0x4321);
	assert_int_equal(d.buttons, 6);
	assert_int_equal(d.wheel, -3);

	/* Clamped into what the descriptor allows. */
	assert_int_equal(vgpu_mouse_event(T.mouse, 40000, 65535, 0xff, -128), 0);
	d = mouse_report();
	assert_int_equal(d.x, 32767);
	assert_int_equal(d.y, 32767);
	assert_int_equal(d.buttons, 7);
	assert_int_equal(d.wheel, -127);
	assert_int_equal(vgpu_mouse_event(T.mouse, 0, 0, 0, 127), 0);
	d = mouse_report();
	assert_int_equal(d.wheel, 127);

	assert_null(guest_next(MOUSE));
	assert_int_equal(stats().mouse_sent, 4);
	assert_int_equal(stats().bad_messages, 0);

	/* An ack again is out of turn. */
	mouse_ack();
	assert_int_equal(stats().bad_messages, 1);
	assert_true(stats().mouse_connected);
}

static void test_mouse_refused(void **state)
{
	const struct rx *r;
	const uint8_t *p;
	uint32_t size;

	open_channel(MOUSE);
	mouse_request(0x00010000);
	r = guest_next(MOUSE);
	assert_non_null(r);
	p = pipe_data(r, &size);
	assert_int_equal(rd32(p), 1);
	assert_int_equal(p[12], 0);
	/* No device info after a refusal. */
	assert_null(guest_next(MOUSE));
	mouse_ack();
	assert_false(stats().mouse_connected);
	assert_int_equal(stats().bad_messages, 2);
	mouse_connect(true);
}

static void test_bad_messages(void **state)
{
	uint8_t m[64];
	uint64_t bad = 0;

	open_channel(KBD);
	open_channel(MOUSE);

	/* Keyboard: unknown type, host-only types, short, not in-band. */
	memset(m, 0, sizeof(m));
	wr32(m, 99);
	guest_send(KBD, m, 8);
	wr32(m, 3); /* SYNTH_KBD_EVENT is ours to send */
	guest_send(KBD, m, 12);
	wr32(m, 2);
	guest_send(KBD, m, 8);
	wr32(m, 1);
	guest_send(KBD, m, 1); /* padded to 8 on the wire: version 0 is refused */
	guest_send_type(KBD, HV_VMPKT_COMP, 1, m, 8);
	guest_send(KBD, m, 0); /* empty */
	bad += 6;
	assert_int_equal(stats().bad_messages, bad);
	/* The refused request was answered. */
	assert_non_null(guest_next(KBD));
	assert_null(guest_next(KBD));

	/* Mouse: broken pipe headers and types. */
	memset(m, 0, sizeof(m));
	wr32(m, 0); /* PIPE_MESSAGE_INVALID */
	wr32(m + 4, 12);
	wr32(m + 16, 0x00020000);
	guest_send(MOUSE, m, 20);
	wr32(m, 2);
	guest_send(MOUSE, m, 20);
	wr32(m, 1);
	wr32(m + 4, 17); /* more than the packet holds (20 + 4 padding) */
	guest_send(MOUSE, m, 20);
	wr32(m + 4, 0xffffffff);
	guest_send(MOUSE, m, 20);
	wr32(m + 4, 11); /* too short for a request */
	guest_send(MOUSE, m, 20);
	wr32(m + 4, 7); /* too short for any header */
	guest_send(MOUSE, m, 20);
	guest_send(MOUSE, m, 4); /* no room for the headers */
	wr32(m + 4, 12);
	wr32(m + 8, 4); /* SYNTH_HID_INPUT_REPORT is ours */
	guest_send(MOUSE, m, 20);
	wr32(m + 8, 1);
	guest_send(MOUSE, m, 20);
	wr32(m + 8, 2);
	guest_send(MOUSE, m, 20);
	wr32(m + 8, 0x80000000);
	guest_send(MOUSE, m, 20);
	wr32(m + 4, 8);
	wr32(m + 8, 3); /* an ack too short, and out of turn anyway */
	guest_send(MOUSE, m, 16);
	guest_send_type(MOUSE, HV_VMPKT_DATA_USING_GPA_DIRECT, 1, m, 20);
	bad += 13;
	assert_int_equal(stats().bad_messages, bad);
	assert_null(guest_next(MOUSE));

	/* Larger than max_packet: the bus skips it, the device never sees it. */
	{
		static uint8_t big[2048];

		wr32(big, 1);
		wr32(big + 4, sizeof(big) - 8);
		guest_send(KBD, big, sizeof(big));
		guest_send(MOUSE, big, sizeof(big));
		assert_int_equal(stats().bad_messages, bad);
	}

	/* Still good for a well-behaved guest. */
	kbd_connect();
	mouse_connect(true);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x10, true, false, false), 0);
	assert_int_equal(vgpu_mouse_event(T.mouse, 5, 6, 0, 0), 0);
	assert_int_equal(mouse_report().x, 5);
	assert_int_equal(stats().bad_messages, bad);
}

/* A hostile guest cannot flood the log: the first 10, then every 1000th. */
static void test_log_rate_limit(void **state)
{
	int fd = memfd_create("log", 0);
	uint8_t m[8] = { 99 };
	char buf[16384];
	unsigned lines = 0;
	ssize_t n;

	assert_true(fd >= 0);
	open_channel(KBD);
	log_set_fd(fd);
	for (unsigned i = 0; i < 2500; i++)
		guest_send(KBD, m, sizeof(m));
	log_set_fd(STDERR_FILENO);
	assert_int_equal(stats().bad_messages, 2500);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = 0;
	for (char *p = buf; (p = strstr(p, "bad message")); p++)
		lines++;
	assert_int_equal(lines, 10 + 2);
	assert_non_null(strstr(buf, "(bad message 2000)"));
	close(fd);
}

/* Fill the host->guest ring with events the guest does not read. */
static unsigned fill_mouse(void)
{
	unsigned n = 0;
	int r;

	while ((r = vgpu_mouse_event(T.mouse, n, n, 0, 0)) == 0)
		n++;
	assert_int_equal(r, -EAGAIN);
	return n;
}

static void test_ring_full(void **state)
{
	struct vgpu_input_stats s;
	unsigned n, got = 0;
	int r;

	open_channel(KBD);
	open_channel(MOUSE);
	kbd_connect();
	mouse_connect(true);

	n = fill_mouse();
	assert_true(n > 10);
	assert_int_equal(vgpu_mouse_event(T.mouse, 1, 1, 0, 0), -EAGAIN);
	s = stats();
	assert_int_equal(s.mouse_sent, n);
	assert_int_equal(s.dropped, 2);
	while ((r = vgpu_keyboard_event(T.kb, 0x1e, true, false, false)) == 0)
		got++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(stats().dropped, 3);
	assert_int_equal(stats().keys_sent, got);
	/* The keyboard asked again meanwhile: no keys until its answer is
	 * out, which waits for room. */
	kbd_request(0x00010000);
	assert_false(stats().keyboard_connected);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	for (unsigned i = 0; i < got; i++) {
		uint8_t b[3];

		assert_int_equal(kbd_bytes(b), 1);
		assert_int_equal(b[0], 0x1e);
	}
	{
		const struct rx *rk = guest_next(KBD);

		assert_non_null(rk);
		assert_int_equal(rd32(rk->data), 2);
		assert_true(rd32(rk->data + 4) & 1);
	}
	assert_true(stats().keyboard_connected);

	/* The guest reads: events flow again. */
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(mouse_report().x, i);
	assert_null(guest_next(MOUSE));
	assert_int_equal(vgpu_mouse_event(T.mouse, 77, 1, 0, 0), 0);
	assert_int_equal(mouse_report().x, 77);

	/* A handshake while the ring is full: answered once there is room
	 * (->writable()), response first, then the device info. */
	n = fill_mouse();
	mouse_request(0x00020000);
	assert_false(stats().mouse_connected);
	assert_int_equal(vgpu_mouse_event(T.mouse, 1, 1, 0, 0), -ENOTCONN);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(mouse_report().x, i);
	/* The guest's read signalled us; the answers follow. */
	{
		const struct rx *r1 = guest_next(MOUSE), *r2;
		uint32_t size;

		assert_non_null(r1);
		assert_int_equal(rd32(pipe_data(r1, &size)), 1);
		r2 = guest_next(MOUSE);
		assert_non_null(r2);
		assert_int_equal(rd32(pipe_data(r2, &size)), 2);
	}
	mouse_ack();
	assert_true(stats().mouse_connected);
	assert_int_equal(stats().bad_messages, 0);
}

static void test_close_reopen(void **state)
{
	open_channel(KBD);
	open_channel(MOUSE);
	kbd_connect();
	mouse_connect(true);
	close_channel(KBD);
	close_channel(MOUSE);
	assert_false(stats().keyboard_connected);
	assert_false(stats().mouse_connected);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	assert_int_equal(vgpu_mouse_event(T.mouse, 0, 0, 0, 0), -ENOTCONN);
	/* hv_kbd / mousevsc resume: open again, handshake again. */
	open_channel(KBD);
	open_channel(MOUSE);
	assert_int_equal(vgpu_keyboard_event(T.kb, 0x1e, true, false, false), -ENOTCONN);
	kbd_connect();
	mouse_connect(true);
	assert_int_equal(vgpu_mouse_event(T.mouse, 9, 9, 0, 0), 0);
	assert_int_equal(mouse_report().y, 9);
}

static void test_input_ops(void **state)
{
	struct vgpu_input in = { .kb = T.kb, .mouse = T.mouse };
	struct vgpu_input none = { 0 };
	const struct vgpu_input_ops *ops = vgpu_input_ops();
	uint8_t b[3];
	struct decoded d;

	open_channel(KBD);
	open_channel(MOUSE);
	/* Before the guest connected: dropped quietly. */
	ops->key(&in, 0x1e, true, false, false);
	ops->mouse(&in, 1, 2, 1, 0);
	kbd_connect();
	mouse_connect(true);
	ops->key(&in, 0x53, false, true, false);
	assert_int_equal(kbd_bytes(b), 2);
	assert_int_equal(b[0], 0xe0);
	assert_int_equal(b[1], 0xd3);
	ops->mouse(&in, 300, 400, 4, 1);
	d = mouse_report();
	assert_int_equal(d.x, 300);
	assert_int_equal(d.y, 400);
	assert_int_equal(d.buttons, 4);
	assert_int_equal(d.wheel, 1);
	ops->key(&none, 0x1e, true, false, false);
	ops->mouse(&none, 1, 2, 1, 0);
	assert_null(guest_next(KBD));
	assert_null(guest_next(MOUSE));
}

static void test_free_and_stats(void **state)
{
	struct vgpu_input_stats s;

	vgpu_keyboard_free(NULL);
	vgpu_mouse_free(NULL);
	vgpu_input_get_stats(NULL, NULL, &s);
	assert_false(s.keyboard_connected || s.mouse_connected);
	assert_int_equal(s.keys_sent + s.mouse_sent + s.dropped + s.bad_messages + s.leds, 0);
	/* Removing an open device rescinds it. */
	open_channel(KBD);
	kbd_connect();
	T.nmsgs = 0;
	vgpu_keyboard_free(T.kb);
	T.kb = NULL;
	assert_non_null(host_msg(HV_CHANNELMSG_RESCIND_CHANNELOFFER));
	T.ch[KBD].open = false;
}

/* The wire formats alone. */
static void test_proto(void **state)
{
	uint8_t buf[INPUT_HID_MAX_MESSAGE], rep[INPUT_MOUSE_REPORT_SIZE];
	struct input_kbd_msg km;
	struct input_hid_msg hm;
	const uint8_t *desc;
	size_t dlen;

	assert_int_equal(input_kbd_encode_protocol_response(buf, 7, true), -ENOBUFS);
	assert_int_equal(input_kbd_encode_keystroke(buf, 11, 1, 0), -ENOBUFS);
	assert_int_equal(input_hid_encode_protocol_response(buf, 20, 0, true), -ENOBUFS);
	assert_int_equal(input_hid_encode_protocol_response(buf, 21, 0x20000, true), 21);
	desc = input_mouse_report_desc(&dlen);
	assert_int_equal(input_hid_encode_device_info(buf, 8 + 49 + dlen - 1, 1, 2, 3, desc, dlen),
			 -ENOBUFS);
	assert_int_equal(input_hid_encode_device_info(buf, sizeof(buf), 1, 2, 3, desc, 0),
			 -EINVAL);
	assert_int_equal(input_hid_encode_device_info(buf, sizeof(buf), 1, 2, 3, desc, dlen),
			 (int)(8 + 49 + dlen));
	assert_int_equal(input_hid_encode_input_report(buf, sizeof(buf), rep, 0), -EINVAL);
	assert_int_equal(input_hid_encode_input_report(buf, 8 + 8 + 5, rep, 6), -ENOBUFS);

	input_mouse_report(rep, 0x7fff, 0x0102, 0x0f, -1);
	assert_int_equal(rep[0], 7);
	assert_int_equal(rd16(rep + 1), 0x7fff);
	assert_int_equal(rd16(rep + 3), 0x0102);
	assert_int_equal(rep[5], 0xff);

	assert_int_equal(input_kbd_parse(buf, 0, &km), -EBADMSG);
	wr32(buf, 1);
	assert_int_equal(input_kbd_parse(buf, 7, &km), -EBADMSG);
	wr32(buf + 4, 0x10000);
	assert_int_equal(input_kbd_parse(buf, 8, &km), 0);
	assert_int_equal(km.type, 1);
	assert_int_equal(km.version, 0x10000);
	wr32(buf, 4);
	wr16(buf + 6, 1);
	assert_int_equal(input_kbd_parse(buf, 8, &km), 0);
	assert_int_equal(km.led_flags, 1);
	wr32(buf, 5);
	assert_int_equal(input_kbd_parse(buf, 8, &km), -ENOMSG);

	assert_int_equal(input_hid_parse(buf, 15, &hm), -EBADMSG);
	wr32(buf, 1);
	wr32(buf + 4, 12);
	wr32(buf + 8, 0);
	wr32(buf + 16, 0x20000);
	assert_int_equal(input_hid_parse(buf, 19, &hm), -EBADMSG);
	assert_int_equal(input_hid_parse(buf, 20, &hm), 0);
	assert_int_equal(hm.version, 0x20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enotconn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mouse_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_and_stats, setup, teardown),
		cmocka_unit_test(test_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

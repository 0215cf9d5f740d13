// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The VMBus channel-management engine (hv/vmbus.c), driven the way Linux
 * 6.1's hv_vmbus drives it: messages built as drivers/hv/connection.c,
 * channel.c and channel_mgmt.c build them, rings written and read as
 * drivers/hv/ring_buffer.c does (a small guest-side ring here, written
 * independently of hv/vmbus-ring.c), on fake RAM, with a fake host that
 * records every message and event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-mem.h"
#include "vmbus-proto.h"
#include "vmbus.h"

#define RAM_SIZE (64u << 20)
#define NVPS 4
#define BASE HV_VMBUS_EVENT_CONNECTION_BASE
#define PG 4096u

struct sent {
	uint32_t vp, sint;
	size_t len;
	uint8_t b[HV_VMBUS_MSG_MAX];
};

struct event {
	uint32_t vp, sint, flag;
};

struct dev {
	struct hv_vmbus_channel *ch;
	unsigned opens, closes, packets, writables;
	int open_ret;
	bool echo;             /* send every packet back */
	bool remove_in_packet; /* remove the device from ->packet() */
	bool remove_in_close;
	bool send_in_open;
	uint16_t last_type, last_flags;
	uint64_t last_trans;
	uint32_t last_len;
	uint8_t last[8192];
};

struct ctx {
	struct hv_guest_mem mem;
	struct hv_vmbus *vb;
	struct sent msgs[1024];
	unsigned nmsgs, rd;
	struct event ev[256];
	unsigned nev;
	struct dev dev[4];
};

static int fake_post(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	struct ctx *c = data;
	struct sent *s;

	assert_true(len <= HV_VMBUS_MSG_MAX);
	assert_true(c->nmsgs < ARRAY_SIZE(c->msgs));
	s = &c->msgs[c->nmsgs++];
	s->vp = vp;
	s->sint = sint;
	s->len = len;
	memcpy(s->b, msg, len);
	return 0;
}

static int fake_signal(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct ctx *c = data;

	assert_true(c->nev < ARRAY_SIZE(c->ev));
	c->ev[c->nev++] = (struct event){ vp, sint, flag };
	return 0;
}

static const struct hv_vmbus_host_ops fake_ops = {
	.post_message = fake_post,
	.signal_event = fake_signal,
};

/* The test device. */

static int dev_open(struct hv_vmbus_channel *ch, void *data)
{
	struct dev *d = data;

	d->opens++;
	if (d->send_in_open)
		assert_int_equal(hv_vmbus_send(ch, HV_VMPKT_DATA_INBAND, 0, 77, "hello", 5), 0);
	return d->open_ret;
}

static void dev_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data)
{
	struct dev *d = data;

	d->packets++;
	d->last_type = pkt->type;
	d->last_flags = pkt->flags;
	d->last_trans = pkt->trans_id;
	d->last_len = pkt->len;
	assert_true(pkt->len <= sizeof(d->last));
	memcpy(d->last, pkt->data, pkt->len);
	if (d->echo)
		hv_vmbus_send(ch, HV_VMPKT_COMP, 0, pkt->trans_id, pkt->data, pkt->len);
	if (d->remove_in_packet) {
		hv_vmbus_remove_device(ch);
		/* The packet stays readable. */
		assert_int_equal(pkt->data[0], d->last[0]);
		d->ch = NULL;
	}
}

static void dev_writable(struct hv_vmbus_channel *ch, void *data)
{
	struct dev *d = data;

	d->writables++;
}

static void dev_close(struct hv_vmbus_channel *ch, void *data)
{
	struct dev *d = data;

	d->closes++;
	assert_false(hv_vmbus_channel_is_open(ch));
	if (d->remove_in_close) {
		d->remove_in_close = false;
		hv_vmbus_remove_device(ch);
		d->ch = NULL;
	}
}

static const struct hv_vmbus_device_ops dev_ops = {
	.name = "test",
	.open = dev_open,
	.packet = dev_packet,
	.writable = dev_writable,
	.close = dev_close,
};

static void offer_for(struct hv_vmbus_offer *o, unsigned i)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(hv_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e", &o->if_type), 0);
	assert_int_equal(hv_guid_parse("00000000-0000-0000-0000-000000000000", &o->if_instance), 0);
	o->if_instance.b[15] = (uint8_t)(i + 1);
	o->chn_flags = 0x10;
	o->user_def[0] = 0xab;
}

static int add_dev(struct ctx *c, unsigned i)
{
	struct hv_vmbus_offer o;

	offer_for(&o, i);
	return hv_vmbus_add_device(c->vb, &o, &dev_ops, &c->dev[i], &c->dev[i].ch);
}

static int setup(void **state)
{
	struct hv_vmbus_config cfg = { .ops = &fake_ops, .nvps = NVPS };
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(fake_mem_new(&c->mem, RAM_SIZE), 0);
	cfg.mem = &c->mem;
	cfg.data = c;
	assert_int_equal(hv_vmbus_new(&cfg, &c->vb), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	hv_vmbus_free(c->vb);
	fake_mem_free(&c->mem);
	free(c);
	return 0;
}

/* Messages, guest side. */

static int msg(struct ctx *c, uint32_t conn, const void *m, size_t len)
{
	return hv_vmbus_message(c->vb, conn, m, len);
}

static unsigned pending(struct ctx *c)
{
	return c->nmsgs - c->rd;
}

/* The next message the host posted, which must be of type t. */
static struct sent *pop(struct ctx *c, uint32_t t)
{
	struct sent *s;

	assert_true(c->rd < c->nmsgs);
	s = &c->msgs[c->rd++];
	assert_int_equal(rd32(s->b), t);
	return s;
}

static int contact(struct ctx *c, uint32_t conn, uint32_t version, uint32_t vp, uint8_t sint)
{
	struct hv_vmbus_msg_initiate_contact m = {
		.hdr.msgtype = HV_CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = version,
		.target_vcpu = vp,
		.monitor_page1 = 0x100000,
		.monitor_page2 = 0x101000,
	};

	/* vmbus_negotiate_version(): msg_sint from 5.0, interrupt_page before. */
	if (version >= HV_VMBUS_VERSION_WIN10_V5)
		m.msg_sint = sint;
	else
		m.interrupt_page = 0x102000;
	return msg(c, conn, &m, sizeof(m));
}

static void simple(struct ctx *c, uint32_t type, int expect)
{
	struct hv_vmbus_msg_header h = { .msgtype = type };

	assert_int_equal(msg(c, 4, &h, sizeof(h)), expect);
}

/* Connect at 5.2 on VP 0 and take the offers. */
static void connect_and_offer(struct ctx *c, unsigned ndevs)
{
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 0, 2), 0);
	assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->b[8], 1);
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	for (unsigned i = 0; i < ndevs; i++)
		pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_OFFERED);
}

/* GPADL_HEADER + GPADL_BODYs as create_gpadl_header() splits them, over
 * pfns[0..n) (or pfn0 + i when pfns is NULL). */
static int gpadl(struct ctx *c, uint32_t relid, uint32_t handle, uint64_t pfn0,
		 const uint64_t *pfns, uint32_t n)
{
	uint8_t b[HV_VMBUS_MSG_MAX];
	struct hv_vmbus_msg_gpadl_header *h = (void *)b;
	struct hv_vmbus_msg_gpadl_body *body = (void *)b;
	uint32_t first = MIN(n, (uint32_t)HV_VMBUS_GPADL_HEADER_PFNS), sent;
	int r, ret;

	memset(b, 0, sizeof(b));
	h->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	h->child_relid = relid;
	h->gpadl = handle;
	h->rangecount = 1;
	h->range_buflen = (uint16_t)(8 + 8 * n);
	h->byte_count = n * PG;
	h->byte_offset = 0;
	for (uint32_t i = 0; i < first; i++)
		wr64(b + sizeof(*h) + 8 * i, pfns ? pfns[i] : pfn0 + i);
	/* Like Linux, post every message, then look at the answers. */
	ret = msg(c, 4, b, sizeof(*h) + 8 * first);
	if (ret == -ENOENT || ret == -EEXIST || ret == -EINVAL || ret == -ENOSPC ||
	    ret == -EPROTO)
		return ret; /* refused at once: the bodies would only add errors */
	for (sent = first; sent < n;) {
		uint32_t k = MIN(n - sent, (uint32_t)HV_VMBUS_GPADL_BODY_PFNS);

		memset(b, 0, sizeof(b));
		body->hdr.msgtype = HV_CHANNELMSG_GPADL_BODY;
		body->gpadl = handle;
		for (uint32_t i = 0; i < k; i++)
			wr64(b + sizeof(*body) + 8 * i, pfns ? pfns[sent + i] : pfn0 + sent + i);
		r = msg(c, 4, b, sizeof(*body) + 8 * k);
		if (r < 0 && !ret)
			ret = r;
		sent += k;
	}
	return ret;
}

static uint32_t created_status(struct ctx *c, uint32_t relid, uint32_t handle)
{
	struct sent *s = pop(c, HV_CHANNELMSG_GPADL_CREATED);

	assert_int_equal(s->len, 20);
	assert_int_equal(rd32(s->b + 8), relid);
	assert_int_equal(rd32(s->b + 12), handle);
	return rd32(s->b + 16);
}

static int open_chan(struct ctx *c, uint32_t relid, uint32_t openid, uint32_t handle,
		     uint32_t vp, uint32_t split)
{
	struct hv_vmbus_msg_open m = {
		.hdr.msgtype = HV_CHANNELMSG_OPENCHANNEL,
		.child_relid = relid,
		.openid = openid,
		.ringbuffer_gpadlhandle = handle,
		.target_vp = vp,
		.downstream_ringbuffer_pageoffset = split,
	};

	return msg(c, 4, &m, sizeof(m));
}

static uint32_t open_status(struct ctx *c, uint32_t relid, uint32_t openid)
{
	struct sent *s = pop(c, HV_CHANNELMSG_OPENCHANNEL_RESULT);

	assert_int_equal(s->len, 20);
	assert_int_equal(rd32(s->b + 8), relid);
	assert_int_equal(rd32(s->b + 12), openid);
	return rd32(s->b + 16);
}

static int relid_msg(struct ctx *c, uint32_t type, uint32_t relid)
{
	uint8_t b[12] = { 0 };

	wr32(b, type);
	wr32(b + 8, relid);
	return msg(c, 4, b, sizeof(b));
}

static int teardown_gpadl(struct ctx *c, uint32_t relid, uint32_t handle)
{
	struct hv_vmbus_msg_gpadl_teardown m = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_TEARDOWN,
		.child_relid = relid,
		.gpadl = handle,
	};

	return msg(c, 4, &m, sizeof(m));
}

/* Guest-side rings (drivers/hv/ring_buffer.c), over contiguous pages. */

struct gring {
	uint8_t *hdr;
	uint32_t size;
};

static struct gring gring(struct ctx *c, uint64_t pfn, uint32_t pages)
{
	return (struct gring){ .hdr = c->mem.host + pfn * PG, .size = (pages - 1) * PG };
}

static void gcopy_in(struct gring *r, uint32_t off, const void *src, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		r->hdr[PG + (off + i) % r->size] = ((const uint8_t *)src)[i];
}

static void gcopy_out(struct gring *r, uint32_t off, void *dst, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)dst)[i] = r->hdr[PG + (off + i) % r->size];
}

/* hv_ringbuffer_write(): returns whether the host must be signalled. */
static bool gwrite(struct gring *r, uint16_t type, uint64_t trans, const void *data, uint32_t len)
{
	uint32_t w = rd32(r->hdr), rdi = rd32(r->hdr + 4);
	uint32_t plen = 16 + ((len + 7) & ~7u);
	struct hv_vmpacket_desc d = {
		.type = type,
		.offset8 = 2,
		.len8 = (uint16_t)(plen / 8),
		.flags = HV_VMPKT_FLAG_COMPLETION_REQUESTED,
		.trans_id = trans,
	};
	uint64_t trailer = (uint64_t)w << 32;
	static const uint8_t zero[8];

	gcopy_in(r, w, &d, 16);
	gcopy_in(r, w + 16, data, len);
	gcopy_in(r, w + 16 + len, zero, plen - 16 - len);
	gcopy_in(r, w + plen, &trailer, 8);
	wr32(r->hdr, (w + plen + 8) % r->size);
	/* hv_signal_on_write(): empty before, and the host not masked. */
	return !rd32(r->hdr + 8) && rdi == w;
}

/* One packet from the host; 0 when empty. */
static int gread(struct gring *r, struct hv_vmpacket_desc *d, uint8_t *data, uint32_t *len)
{
	uint32_t w = rd32(r->hdr), rdi = rd32(r->hdr + 4);

	if (w == rdi)
		return 0;
	gcopy_out(r, rdi, d, 16);
	*len = d->len8 * 8u - d->offset8 * 8u;
	gcopy_out(r, rdi + d->offset8 * 8u, data, *len);
	wr32(r->hdr + 4, (rdi + d->len8 * 8u + 8) % r->size);
	return 1;
}

/* Tests */

static void test_guid(void **state)
{
	static const uint8_t want[16] = { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
					  0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e };
	struct hv_guid g;
	char s[37];

	assert_int_equal(hv_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e", &g), 0);
	assert_memory_equal(g.b, want, 16);
	hv_guid_format(&g, s);
	assert_string_equal(s, "f8615163-df3e-46c5-913f-f2d2f965ed0e");
	assert_int_equal(hv_guid_parse("F8615163-DF3E-46C5-913F-F2D2F965ED0E", &g), 0);
	assert_memory_equal(g.b, want, 16);

	assert_int_equal(hv_guid_parse("", &g), -EINVAL);
	assert_int_equal(hv_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0", &g), -EINVAL);
	assert_int_equal(hv_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0e0", &g), -EINVAL);
	assert_int_equal(hv_guid_parse("f8615163df3e-46c5-913f-f2d2f965ed0e0", &g), -EINVAL);
	assert_int_equal(hv_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0g", &g), -EINVAL);
	assert_int_equal(hv_guid_parse("{8615163-df3e-46c5-913f-f2d2f965ed0e", &g), -EINVAL);
	assert_int_equal(hv_guid_parse(NULL, &g), -EINVAL);
}

static void test_handshake_v5_2(void **state)
{
	struct ctx *c = *state;
	struct sent *s;

	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_DISCONNECTED);
	assert_string_equal(hv_vmbus_state_to_string(HV_VMBUS_DISCONNECTED), "disconnected");
	assert_true(hv_vmbus_message_conn_valid(1));
	assert_true(hv_vmbus_message_conn_valid(4));
	assert_false(hv_vmbus_message_conn_valid(2));
	assert_true(hv_vmbus_event_conn_valid(BASE + 1));
	assert_true(hv_vmbus_event_conn_valid(BASE + 2047));
	assert_false(hv_vmbus_event_conn_valid(BASE));
	assert_false(hv_vmbus_event_conn_valid(BASE + 2048));
	assert_false(hv_vmbus_event_conn_valid(2));

	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 3, 2), 0);
	s = pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	assert_int_equal(s->len, 16);
	assert_int_equal(s->vp, 3);
	assert_int_equal(s->sint, 2);
	assert_int_equal(s->b[8], 1);  /* version_supported */
	assert_int_equal(s->b[9], 0);  /* connection_state */
	assert_int_equal(rd32(s->b + 12), 4); /* msg_conn_id */
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_CONNECTED);
	assert_int_equal(hv_vmbus_version(c->vb), HV_VMBUS_VERSION_WIN10_V5_2);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);

	/* Later messages go to the same VP and SINT. */
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	s = pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	assert_int_equal(s->vp, 3);
	assert_int_equal(s->len, 8);
	assert_int_equal(pending(c), 0);
}

static void test_handshake_v4_0_conn1(void **state)
{
	struct ctx *c = *state;
	struct sent *s;

	assert_int_equal(contact(c, 1, HV_VMBUS_VERSION_WIN10, 0, 0), 0);
	s = pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	assert_int_equal(s->b[8], 1);
	/* Before 5.0 the SINT is always VMBUS_MESSAGE_SINT. */
	assert_int_equal(s->sint, 2);
	assert_int_equal(hv_vmbus_version(c->vb), HV_VMBUS_VERSION_WIN10);
	/* Messages on connection 1 work after it. */
	assert_int_equal(msg(c, 1, &(struct hv_vmbus_msg_header){ .msgtype = 3 }, 8), 0);
	pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);
}

static void test_versions(void **state)
{
	struct ctx *c = *state;
	static const uint32_t refused[] = { 0x32000, HV_VMBUS_VERSION_WIN7,
					    HV_VMBUS_VERSION_WS2008, 0x50004, 0x12345678, 0 };
	static const uint32_t accepted[] = {
		HV_VMBUS_VERSION_WIN10_V5_3, HV_VMBUS_VERSION_WIN10_V5_2,
		HV_VMBUS_VERSION_WIN10_V5_1, HV_VMBUS_VERSION_WIN10_V5,
		HV_VMBUS_VERSION_WIN10_RS3,  HV_VMBUS_VERSION_WIN10,
		HV_VMBUS_VERSION_WIN8_1,     HV_VMBUS_VERSION_WIN8,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		assert_int_equal(contact(c, refused[i] >= 0x50000 ? 4 : 1, refused[i], 0, 2), 0);
		assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->b[8], 0);
		assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_DISCONNECTED);
		assert_int_equal(hv_vmbus_version(c->vb), 0);
		/* Offers need a connection. */
		simple(c, HV_CHANNELMSG_REQUESTOFFERS, -EPROTO);
	}
	/* Refusing a version is negotiation, not an error: only the
	 * REQUESTOFFERS were. */
	assert_int_equal(hv_vmbus_errors(c->vb), ARRAY_SIZE(refused));
	for (unsigned i = 0; i < ARRAY_SIZE(accepted); i++) {
		assert_int_equal(contact(c, accepted[i] >= 0x50000 ? 4 : 1, accepted[i], 1, 2), 0);
		assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->b[8], 1);
		assert_int_equal(hv_vmbus_version(c->vb), accepted[i]);
	}
	/* A VP or SINT out of range: refused, counted, answered on VP 0. */
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, NVPS, 2), -EINVAL);
	assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->vp, 0);
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_DISCONNECTED);
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 1, 16), -EINVAL);
	assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->b[8], 0);
	assert_int_equal(hv_vmbus_errors(c->vb), ARRAY_SIZE(refused) + 2);
	/* A 5.x guest may name another SINT. */
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5, 2, 5), 0);
	assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->sint, 5);
}

static void test_offers(void **state)
{
	struct ctx *c = *state;
	struct hv_vmbus_offer o;
	struct hv_vmbus_channel *dup;
	struct sent *s;
	char g[37];

	assert_int_equal(add_dev(c, 0), 0);
	assert_int_equal(add_dev(c, 1), 0);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[0].ch), 1);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[1].ch), 2);
	assert_ptr_equal(hv_vmbus_channel_bus(c->dev[0].ch), c->vb);
	assert_int_equal(hv_vmbus_channel_offer(c->dev[0].ch)->max_packet, 4096);
	/* Nothing goes out before the guest connects. */
	assert_int_equal(pending(c), 0);
	/* Same type and instance: Linux would take it for a sub-channel. */
	offer_for(&o, 0);
	assert_int_equal(hv_vmbus_add_device(c->vb, &o, &dev_ops, NULL, &dup), -EEXIST);
	o.sub_channel_index = 1;
	assert_int_equal(hv_vmbus_add_device(c->vb, &o, &dev_ops, &c->dev[3], &dup), 0);
	hv_vmbus_remove_device(dup);
	assert_int_equal(hv_vmbus_add_device(c->vb, &o, NULL, NULL, &dup), -EINVAL);

	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 0, 2), 0);
	pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	for (unsigned i = 0; i < 2; i++) {
		s = pop(c, HV_CHANNELMSG_OFFERCHANNEL);
		assert_int_equal(s->len, 196);
		hv_guid_format((const struct hv_guid *)(s->b + 8), g);
		assert_string_equal(g, "f8615163-df3e-46c5-913f-f2d2f965ed0e");
		assert_int_equal(s->b[24 + 15], i + 1); /* if_instance */
		assert_int_equal(rd16(s->b + 56), 0x10); /* chn_flags */
		assert_int_equal(s->b[60], 0xab);        /* user_def[0] */
		assert_int_equal(rd32(s->b + 184), i + 1); /* child_relid */
		assert_int_equal(s->b[189] & 1, 0);       /* monitor_allocated */
		assert_int_equal(rd16(s->b + 190) & 1, 1); /* is_dedicated_interrupt */
		assert_int_equal(rd32(s->b + 192), BASE + i + 1); /* connection_id */
	}
	pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	assert_int_equal(pending(c), 0);
	/* Offers are requested once per connection. */
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, -EPROTO);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), 1);

	/* Hot-add: offered at once. */
	assert_int_equal(add_dev(c, 2), 0);
	s = pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	assert_int_equal(rd32(s->b + 184), 3);
	assert_int_equal(pending(c), 0);
}

static void test_gpadl_assembly(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[3 * PG], back[3 * PG];

	assert_int_equal(add_dev(c, 0), 0);
	connect_and_offer(c, 1);
	/* 100 pages: a header with 26 PFNs and bodies of 28, 28, 18. */
	assert_int_equal(gpadl(c, 1, 0xe1e10, 0x1000, NULL, 26), 0);
	assert_int_equal(created_status(c, 1, 0xe1e10), 0);
	c->rd = c->nmsgs;

	{
		uint8_t b[HV_VMBUS_MSG_MAX] = { 0 };
		struct hv_vmbus_msg_gpadl_header *h = (void *)b;
		struct hv_vmbus_msg_gpadl_body *body = (void *)b;

		h->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
		h->child_relid = 1;
		h->gpadl = 0xe1e11;
		h->rangecount = 1;
		h->range_buflen = 8 + 8 * 100;
		h->byte_count = 100 * PG;
		for (unsigned i = 0; i < 26; i++)
			wr64(b + 28 + 8 * i, 0x2000 + i);
		assert_int_equal(msg(c, 4, b, 28 + 8 * 26), 0);
		for (unsigned k = 0, done = 26; k < 3; k++) {
			unsigned n = k < 2 ? 28 : 18;

			/* Nothing until every PFN is in. */
			assert_int_equal(pending(c), 0);
			memset(b, 0, sizeof(b));
			body->hdr.msgtype = HV_CHANNELMSG_GPADL_BODY;
			body->gpadl = 0xe1e11;
			for (unsigned i = 0; i < n; i++)
				wr64(b + 16 + 8 * i, 0x2000 + done + i);
			assert_int_equal(msg(c, 4, b, 16 + 8 * n), 0);
			done += n;
		}
	}
	assert_int_equal(created_status(c, 1, 0xe1e11), 0);
	assert_int_equal(pending(c), 0);

	/* The device sees the pages through it, across page boundaries. */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(hv_vmbus_gpadl_write(c->dev[0].ch, 0xe1e11, 97 * PG + 100, buf,
					      3 * PG - 100), 0);
	assert_memory_equal(c->mem.host + 0x2000ull * PG + 97 * PG + 100, buf, 3 * PG - 100);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 0xe1e11, 97 * PG + 100, back,
					     3 * PG - 100), 0);
	assert_memory_equal(back, buf, 3 * PG - 100);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 0xe1e11, 100 * PG - 1, back, 2),
			 -EFAULT);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 0xe1e12, 0, back, 1), -ENOENT);

	/* Teardown answers TORNDOWN; the handle is gone after. */
	assert_int_equal(teardown_gpadl(c, 1, 0xe1e11), 0);
	assert_int_equal(rd32(pop(c, HV_CHANNELMSG_GPADL_TORNDOWN)->b + 8), 0xe1e11);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 0xe1e11, 0, back, 1), -ENOENT);
	assert_int_equal(teardown_gpadl(c, 1, 0xe1e11), -ENOENT);
	assert_int_equal(pending(c), 0);
	/* A handle is reusable once torn down. */
	assert_int_equal(gpadl(c, 1, 0xe1e11, 0x3000, NULL, 1), 0);
	assert_int_equal(created_status(c, 1, 0xe1e11), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), 1);
}

static void test_gpadl_errors(void **state)
{
	struct ctx *c = *state;
	uint64_t pfns[60];
	uint8_t b[HV_VMBUS_MSG_MAX] = { 0 };
	struct hv_vmbus_msg_gpadl_header *h = (void *)b;
	uint64_t errors;

	assert_int_equal(add_dev(c, 0), 0);
	assert_int_equal(add_dev(c, 1), 0);
	/* Before the offers: no channel to attach it to. */
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 0, 2), 0);
	pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	assert_int_equal(gpadl(c, 1, 5, 0x1000, NULL, 1), -ENOENT);
	assert_int_not_equal(created_status(c, 1, 5), 0);
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	c->rd = c->nmsgs;

	/* A PFN past the end of RAM, in the header: failure once complete. */
	for (unsigned i = 0; i < 60; i++)
		pfns[i] = 0x1000 + i;
	pfns[3] = RAM_SIZE / PG;
	assert_int_equal(gpadl(c, 1, 10, 0, pfns, 60), -EFAULT);
	assert_int_not_equal(created_status(c, 1, 10), 0);
	/* ... in a body. */
	pfns[3] = 0x1003;
	pfns[40] = UINT64_MAX;
	assert_int_equal(gpadl(c, 1, 11, 0, pfns, 60), -EFAULT);
	assert_int_not_equal(created_status(c, 1, 11), 0);
	pfns[40] = 0x1040;
	/* The failed handles were dropped. */
	assert_int_equal(gpadl(c, 1, 11, 0, pfns, 60), 0);
	assert_int_equal(created_status(c, 1, 11), 0);

	/* A duplicate handle fails and leaves the first alone. */
	assert_int_equal(gpadl(c, 2, 11, 0x3100, NULL, 2), -EEXIST);
	assert_int_not_equal(created_status(c, 2, 11), 0);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 11, 0, pfns, 8), 0);
	/* ... and a GPADL belongs to its channel. */
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[1].ch, 11, 0, pfns, 8), -ENOENT);
	assert_int_equal(teardown_gpadl(c, 2, 11), -ENOENT);
	assert_int_equal(pending(c), 0);

	/* Bodies for unknown or complete handles: no answer. */
	errors = hv_vmbus_errors(c->vb);
	{
		uint8_t bb[24] = { 0 };

		wr32(bb, HV_CHANNELMSG_GPADL_BODY);
		wr32(bb + 12, 99);
		wr64(bb + 16, 0x1000);
		assert_int_equal(msg(c, 4, bb, sizeof(bb)), -ENOENT);
		wr32(bb + 12, 11);
		assert_int_equal(msg(c, 4, bb, sizeof(bb)), -ENOENT);
	}
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 2);
	assert_int_equal(pending(c), 0);

	/* Header fields that disagree. */
	h->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	h->child_relid = 1;
	h->gpadl = 20;
	h->rangecount = 2;
	h->range_buflen = 16;
	h->byte_count = PG;
	wr64(b + 28, 0x1000);
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 20), 0);
	h->rangecount = 1;
	h->range_buflen = 24; /* two pages for one page of bytes */
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 20), 0);
	h->range_buflen = 16;
	h->byte_count = 0;
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 20), 0);
	h->byte_count = PG;
	h->byte_offset = PG;
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 20), 0);
	/* An offset into the first page: byte_count + offset spans the pages. */
	h->byte_offset = 100;
	h->byte_count = PG;
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 20), 0);
	h->range_buflen = 24;
	wr64(b + 36, 0x1001);
	assert_int_equal(msg(c, 4, b, 44), 0);
	assert_int_equal(created_status(c, 1, 20), 0);
	wr32(c->mem.host + 0x1000ull * PG + 100, 0x12345678);
	{
		uint32_t v;

		assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 20, 0, &v, 4), 0);
		assert_int_equal(v, 0x12345678);
		assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 20, PG - 2, &v, 4), -EFAULT);
	}
	/* More PFNs in the header than pages. */
	h->gpadl = 21;
	h->byte_offset = 0;
	h->byte_count = PG;
	h->range_buflen = 16;
	assert_int_equal(msg(c, 4, b, 44), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 21), 0);
	/* Too many pages for one GPADL (65536 + 1). */
	h->byte_count = (HV_VMBUS_MAX_GPADL_PAGES + 1) * PG;
	h->range_buflen = (uint16_t)(8 + 8 * (HV_VMBUS_MAX_GPADL_PAGES + 1));
	assert_int_equal(msg(c, 4, b, 36), -EINVAL);
	assert_int_not_equal(created_status(c, 1, 21), 0);
	/* A body with more PFNs than were left: failure, handle dropped. */
	assert_int_equal(gpadl(c, 1, 22, 0x1000, NULL, 26), 0);
	assert_int_equal(created_status(c, 1, 22), 0);
	h->gpadl = 23;
	h->byte_count = 27 * PG;
	h->range_buflen = 8 + 8 * 27;
	assert_int_equal(msg(c, 4, b, 28), 0); /* no PFNs inline: legal */
	assert_int_equal(pending(c), 0);
	{
		uint8_t bb[16 + 16] = { 0 };

		wr32(bb, HV_CHANNELMSG_GPADL_BODY);
		wr32(bb + 12, 23);
		assert_int_equal(msg(c, 4, bb, 16), -EINVAL); /* no PFNs */
		assert_int_not_equal(created_status(c, 1, 23), 0);
	}
	assert_int_equal(pending(c), 0);
}

static void test_gpadl_limits(void **state)
{
	struct ctx *c = *state;
	uint8_t b[HV_VMBUS_MSG_MAX] = { 0 };
	struct hv_vmbus_msg_gpadl_header *h = (void *)b;
	unsigned i;

	assert_int_equal(add_dev(c, 0), 0);
	connect_and_offer(c, 1);
	/* 16 GPADLs of 65536 pages in assembly reach the per-VM total. */
	h->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	h->child_relid = 1;
	h->rangecount = 1;
	for (i = 0; i < 16; i++) {
		h->gpadl = 100 + i;
		h->byte_count = (HV_VMBUS_MAX_GPADL_PAGES - 1) * PG;
		h->range_buflen = (uint16_t)(8 + 8 * (HV_VMBUS_MAX_GPADL_PAGES - 1));
		wr64(b + 28, 0x1000);
		assert_int_equal(msg(c, 4, b, 36), 0);
	}
	assert_int_equal(pending(c), 0);
	h->gpadl = 200;
	h->byte_count = 17 * PG;
	h->range_buflen = 8 + 8 * 17;
	assert_int_equal(msg(c, 4, b, 36), -ENOSPC);
	assert_int_not_equal(created_status(c, 1, 200), 0);
	/* Abandoned assemblies can be torn down. */
	for (i = 0; i < 16; i++) {
		assert_int_equal(teardown_gpadl(c, 1, 100 + i), 0);
		pop(c, HV_CHANNELMSG_GPADL_TORNDOWN);
	}
	/* At most HV_VMBUS_MAX_GPADLS handles. */
	for (i = 0; i < HV_VMBUS_MAX_GPADLS; i++) {
		assert_int_equal(gpadl(c, 1, 1000 + i, 0x1000, NULL, 1), 0);
		assert_int_equal(created_status(c, 1, 1000 + i), 0);
	}
	assert_int_equal(gpadl(c, 1, 5000, 0x1000, NULL, 1), -ENOSPC);
	assert_int_not_equal(created_status(c, 1, 5000), 0);
	assert_int_equal(teardown_gpadl(c, 1, 1000), 0);
	pop(c, HV_CHANNELMSG_GPADL_TORNDOWN);
	assert_int_equal(gpadl(c, 1, 5000, 0x1000, NULL, 1), 0);
	assert_int_equal(created_status(c, 1, 5000), 0);
}

/* A channel on relid 1 with an 8-page ring GPADL at pfn 0x3000: the guest's
 * outbound ring is 4 pages at 0x3000, its inbound one 4 at 0x3004. */
static void open_ring(struct ctx *c, unsigned ndevs, uint32_t vp)
{
	connect_and_offer(c, ndevs);
	assert_int_equal(gpadl(c, 1, 0xe1e10, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e10), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, vp, 4), 0);
	assert_int_equal(open_status(c, 1, 1), 0);
	assert_true(hv_vmbus_channel_is_open(c->dev[0].ch));
	assert_int_equal(c->dev[0].opens, 1);
}

static void test_open_ring_roundtrip(void **state)
{
	struct ctx *c = *state;
	struct gring out = gring(c, 0x3000, 4), in = gring(c, 0x3004, 4);
	struct hv_vmpacket_desc d;
	uint8_t data[4096];
	uint32_t len;

	assert_int_equal(add_dev(c, 0), 0);
	c->dev[0].send_in_open = true;
	open_ring(c, 1, 2);
	/* What ->open() sent is in the guest's inbound ring, signalled on the
	 * channel's target VP. */
	assert_int_equal(c->nev, 1);
	assert_int_equal(c->ev[0].vp, 2);
	assert_int_equal(c->ev[0].sint, 2);
	assert_int_equal(c->ev[0].flag, 1);
	assert_int_equal(gread(&in, &d, data, &len), 1);
	assert_int_equal(d.type, HV_VMPKT_DATA_INBAND);
	assert_int_equal(d.trans_id, 77);
	assert_int_equal(len, 8); /* 5 bytes padded */
	assert_memory_equal(data, "hello", 5);
	assert_int_equal(gread(&in, &d, data, &len), 0);

	/* The guest writes a packet and signals: the device gets it. */
	assert_true(gwrite(&out, HV_VMPKT_DATA_INBAND, 0x1234, "ping!", 5));
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
	assert_int_equal(c->dev[0].packets, 1);
	assert_int_equal(c->dev[0].last_type, HV_VMPKT_DATA_INBAND);
	assert_int_equal(c->dev[0].last_flags, HV_VMPKT_FLAG_COMPLETION_REQUESTED);
	assert_int_equal(c->dev[0].last_trans, 0x1234);
	assert_int_equal(c->dev[0].last_len, 8);
	assert_memory_equal(c->dev[0].last, "ping!", 5);
	/* Consumed, and the host unmasked its interrupt again. */
	assert_int_equal(rd32(out.hdr), rd32(out.hdr + 4));
	assert_int_equal(rd32(out.hdr + 8), 0);

	/* Several packets, wrapping the 12 KiB ring, one signal. */
	c->dev[0].echo = true;
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 5; i++) {
			memset(data, (int)(round * 5 + i), 1000);
			gwrite(&out, HV_VMPKT_DATA_INBAND, round * 5 + i, data, 1000);
		}
		assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
		/* Each echoed back: read them as the guest. */
		for (unsigned i = 0; i < 5; i++) {
			assert_int_equal(gread(&in, &d, data, &len), 1);
			assert_int_equal(d.type, HV_VMPKT_COMP);
			assert_int_equal(d.trans_id, round * 5 + i);
			assert_int_equal(len, 1000);
			assert_int_equal(data[999], (uint8_t)(round * 5 + i));
		}
		assert_int_equal(gread(&in, &d, data, &len), 0);
	}
	assert_int_equal(c->dev[0].packets, 51);

	/* Sends on a closed channel fail; close tells the device once. */
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 1), 0);
	assert_int_equal(c->dev[0].closes, 1);
	assert_false(hv_vmbus_channel_is_open(c->dev[0].ch));
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 0, "x", 1),
			 -ENOTCONN);
	/* A late signal is harmless and no error. */
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), -ENOTCONN);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 1), -EPROTO);
	assert_int_equal(teardown_gpadl(c, 1, 0xe1e10), 0);
	pop(c, HV_CHANNELMSG_GPADL_TORNDOWN);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), 1);

	/* Open again on a fresh GPADL. */
	memset(c->mem.host + 0x3000ull * PG, 0, 8 * PG);
	assert_int_equal(gpadl(c, 1, 0xe1e11, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e11), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e11, 0, 4), 0);
	assert_int_equal(open_status(c, 1, 1), 0);
	assert_int_equal(c->dev[0].opens, 2);
}

static void test_open_errors(void **state)
{
	struct ctx *c = *state;
	uint64_t errors;

	assert_int_equal(add_dev(c, 0), 0);
	assert_int_equal(add_dev(c, 1), 0);
	/* Before offers. */
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 4), -EPROTO);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	connect_and_offer(c, 2);
	assert_int_equal(gpadl(c, 1, 0xe1e10, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e10), 0);
	assert_int_equal(gpadl(c, 2, 0xe1e11, 0x3100, NULL, 8), 0);
	assert_int_equal(created_status(c, 2, 0xe1e11), 0);
	errors = hv_vmbus_errors(c->vb);

	assert_int_equal(open_chan(c, 9, 1, 0xe1e10, 0, 4), -ENOENT);
	assert_int_not_equal(open_status(c, 9, 1), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, NVPS, 4), -EINVAL);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xbad, 0, 4), -ENOENT);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	/* Another channel's GPADL. */
	assert_int_equal(open_chan(c, 1, 1, 0xe1e11, 0, 4), -ENOENT);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	/* Each ring needs a header and a data page. */
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 1), -EINVAL);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 7), -EINVAL);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 9), -EINVAL);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 7);
	assert_int_equal(c->dev[0].opens, 0);

	/* The device may refuse: a failure status, not a guest error. */
	c->dev[0].open_ret = -EIO;
	assert_int_equal(open_chan(c, 1, 5, 0xe1e10, 0, 4), -EIO);
	assert_int_not_equal(open_status(c, 1, 5), 0);
	assert_int_equal(c->dev[0].opens, 1);
	assert_int_equal(c->dev[0].closes, 0);
	assert_false(hv_vmbus_channel_is_open(c->dev[0].ch));
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 7);
	/* The GPADL is free for the next try. */
	c->dev[0].open_ret = 0;
	assert_int_equal(open_chan(c, 1, 6, 0xe1e10, 0, 4), 0);
	assert_int_equal(open_status(c, 1, 6), 0);
	/* Twice. */
	assert_int_equal(open_chan(c, 1, 7, 0xe1e10, 0, 4), -EBUSY);
	assert_int_not_equal(open_status(c, 1, 7), 0);
	/* A ring GPADL in use waits for the close before TORNDOWN. */
	assert_int_equal(teardown_gpadl(c, 1, 0xe1e10), 0);
	assert_int_equal(pending(c), 0);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 1), 0);
	assert_int_equal(rd32(pop(c, HV_CHANNELMSG_GPADL_TORNDOWN)->b + 8), 0xe1e10);
	assert_int_equal(c->dev[0].closes, 1);
	assert_int_equal(pending(c), 0);
}

static void test_broken_ring(void **state)
{
	struct ctx *c = *state;
	struct gring out = gring(c, 0x3000, 4);
	uint64_t errors;

	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 0);
	errors = hv_vmbus_errors(c->vb);
	/* A write index that is not 8-aligned: the host gives up on it. */
	wr32(out.hdr, 13);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
	assert_int_equal(c->dev[0].packets, 0);
	assert_int_equal(c->dev[0].closes, 1);
	assert_false(hv_vmbus_channel_is_open(c->dev[0].ch));
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 1);
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 0, "x", 1),
			 -ENOTCONN);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), -ENOTCONN);
	assert_int_equal(c->nev, 0);
	/* The guest closes and reopens: fine, no error. */
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 1), 0);
	assert_int_equal(c->dev[0].closes, 1);
	wr32(out.hdr, 0);
	assert_int_equal(open_chan(c, 1, 2, 0xe1e10, 0, 4), 0);
	assert_int_equal(open_status(c, 1, 2), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 1);

	/* A packet larger than the device takes is skipped. */
	{
		static uint8_t big[5000];

		gwrite(&out, HV_VMPKT_DATA_INBAND, 1, big, sizeof(big));
		gwrite(&out, HV_VMPKT_DATA_INBAND, 2, "ok", 2);
		assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
		assert_int_equal(c->dev[0].packets, 1);
		assert_int_equal(c->dev[0].last_trans, 2);
		assert_int_equal(hv_vmbus_errors(c->vb), errors + 2);
	}

	/* A host->guest ring the guest broke: the channel is closed at the
	 * next guest input, not inside the device's send. */
	wr32(c->mem.host + 0x3004ull * PG + 4, 12); /* read_index */
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 0, "x", 1),
			 -ENOTCONN);
	assert_int_equal(c->dev[0].closes, 1);
	assert_true(hv_vmbus_channel_is_open(c->dev[0].ch));
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, -EPROTO);
	assert_int_equal(c->dev[0].closes, 2);
	assert_false(hv_vmbus_channel_is_open(c->dev[0].ch));
}

static void test_send_blocked(void **state)
{
	struct ctx *c = *state;
	struct gring in;
	uint8_t data[1000] = { 0 };
	unsigned sent = 0;
	int r;

	assert_int_equal(add_dev(c, 0), 0);
	connect_and_offer(c, 1);
	/* 2 + 2 pages: a 4 KiB inbound ring. */
	assert_int_equal(gpadl(c, 1, 7, 0x3000, NULL, 4), 0);
	assert_int_equal(created_status(c, 1, 7), 0);
	assert_int_equal(open_chan(c, 1, 1, 7, 1, 2), 0);
	assert_int_equal(open_status(c, 1, 1), 0);
	in = gring(c, 0x3002, 2);
	/* The guest sets feat_pending_send_sz on its rings. */
	wr32(in.hdr + 64, 1);
	while ((r = hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, sent, data,
				  sizeof(data))) == 0)
		sent++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(sent, 3);
	/* One signal for the empty -> non-empty transition. */
	assert_int_equal(c->nev, 1);
	assert_int_not_equal(rd32(in.hdr + 12), 0); /* pending_send_sz */
	/* A signal with nothing read yet does not call ->writable(). */
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
	assert_int_equal(c->dev[0].writables, 0);
	/* The guest reads everything and signals. */
	{
		struct hv_vmpacket_desc d;
		uint32_t len;

		for (unsigned i = 0; i < sent; i++)
			assert_int_equal(gread(&in, &d, data, &len), 1);
	}
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
	assert_int_equal(c->dev[0].writables, 1);
	assert_int_equal(rd32(in.hdr + 12), 0);
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 9, data,
				       sizeof(data)), 0);
	/* A packet that can never fit. */
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 9, c->mem.host,
				       8192), -EMSGSIZE);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);
}

struct seen {
	unsigned n;
	uint32_t relid[8];
};

static void note_relid(struct hv_vmbus_channel *ch, void *data)
{
	struct seen *s = data;

	s->relid[s->n++] = hv_vmbus_channel_relid(ch);
}

static void test_rescind(void **state)
{
	struct ctx *c = *state;
	struct sent *s;
	uint64_t errors;

	assert_int_equal(add_dev(c, 0), 0);
	assert_int_equal(add_dev(c, 1), 0);
	open_ring(c, 2, 0);
	/* A second GPADL the guest still holds. */
	assert_int_equal(gpadl(c, 1, 0xe1e11, 0x3200, NULL, 2), 0);
	assert_int_equal(created_status(c, 1, 0xe1e11), 0);
	errors = hv_vmbus_errors(c->vb);

	hv_vmbus_remove_device(c->dev[0].ch);
	assert_int_equal(c->dev[0].closes, 1);
	s = pop(c, HV_CHANNELMSG_RESCIND_CHANNELOFFER);
	assert_int_equal(s->len, 12);
	assert_int_equal(rd32(s->b + 8), 1);
	c->dev[0].ch = NULL;
	/* The relid is not reused before RELID_RELEASED. */
	assert_int_equal(add_dev(c, 2), 0);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[2].ch), 3);
	pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	/* The guest's clean-up: close, teardown; then the release. */
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), -ENOTCONN);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 1), 0);
	assert_int_equal(teardown_gpadl(c, 1, 0xe1e10), 0);
	pop(c, HV_CHANNELMSG_GPADL_TORNDOWN);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e11, 0, 1), -ENOENT);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), errors + 1);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 1), 0);
	assert_int_equal(pending(c), 0);
	/* Twice is an error. */
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 1), -ENOENT);
	/* Now relid 1 is free, and its GPADL went with it. */
	assert_int_equal(add_dev(c, 3), 0);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[3].ch), 1);
	pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[3].ch, 0xe1e11, 0, &errors, 1), -ENOENT);

	/* Removing a device the guest never saw sends nothing. */
	hv_vmbus_reset(c->vb);
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_DISCONNECTED);
	hv_vmbus_remove_device(c->dev[1].ch);
	c->dev[1].ch = NULL;
	assert_int_equal(pending(c), 0);
	/* for_each sees the live ones in relid order. */
	{
		struct seen seen = { .n = 0 };

		hv_vmbus_for_each_channel(c->vb, note_relid, &seen);
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.relid[0], 1);
		assert_int_equal(seen.relid[1], 3);
	}
}

static void test_replace_device(void **state)
{
	struct ctx *c = *state;
	struct sent *s;

	/* A device replaced by one with the same type and instance: its
	 * offer waits for the old relid's release, or 6.1 would take it for
	 * the old channel back from hibernation. */
	assert_int_equal(add_dev(c, 0), 0);
	connect_and_offer(c, 1);
	hv_vmbus_remove_device(c->dev[0].ch);
	pop(c, HV_CHANNELMSG_RESCIND_CHANNELOFFER);
	assert_int_equal(add_dev(c, 0), 0);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[0].ch), 2);
	assert_int_equal(pending(c), 0);
	/* Others are offered at once. */
	assert_int_equal(add_dev(c, 1), 0);
	assert_int_equal(rd32(pop(c, HV_CHANNELMSG_OFFERCHANNEL)->b + 184), 3);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 1), 0);
	s = pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	assert_int_equal(rd32(s->b + 184), 2);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);
}

static void test_remove_in_callbacks(void **state)
{
	struct ctx *c = *state;
	struct gring out = gring(c, 0x3000, 4);

	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 0);
	c->dev[0].remove_in_packet = true;
	gwrite(&out, HV_VMPKT_DATA_INBAND, 1, "a", 1);
	gwrite(&out, HV_VMPKT_DATA_INBAND, 2, "b", 1);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), 0);
	/* Only the first packet: the channel closed under it. */
	assert_int_equal(c->dev[0].packets, 1);
	assert_int_equal(c->dev[0].closes, 1);
	pop(c, HV_CHANNELMSG_RESCIND_CHANNELOFFER);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 1), 0);

	/* A device that removes itself when the bus resets under it. */
	assert_int_equal(add_dev(c, 1), 0);
	pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	assert_int_equal(gpadl(c, 1, 0xe1e20, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e20), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e20, 0, 4), 0);
	assert_int_equal(open_status(c, 1, 1), 0);
	c->dev[1].remove_in_close = true;
	simple(c, HV_CHANNELMSG_UNLOAD, 0);
	assert_int_equal(c->dev[1].closes, 1);
	assert_null(c->dev[1].ch);
	pop(c, HV_CHANNELMSG_UNLOAD_RESPONSE);
	assert_int_equal(pending(c), 0);
	/* Its relid is free at once: the guest has forgotten everything. */
	assert_int_equal(add_dev(c, 2), 0);
	assert_int_equal(hv_vmbus_channel_relid(c->dev[2].ch), 1);
}

static void test_unload(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 1);
	simple(c, HV_CHANNELMSG_UNLOAD, 0);
	assert_int_equal(c->dev[0].closes, 1);
	/* UNLOAD_RESPONSE, to where the guest connected from. */
	assert_int_equal(pop(c, HV_CHANNELMSG_UNLOAD_RESPONSE)->len, 8);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_UNLOADED);
	assert_string_equal(hv_vmbus_state_to_string(hv_vmbus_get_state(c->vb)), "unloaded");
	assert_int_equal(hv_vmbus_version(c->vb), 0);
	/* Nothing but a new contact now. */
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, -EPROTO);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 1), -ENOENT);
	/* A second UNLOAD (kexec after a panic) is answered again. */
	simple(c, HV_CHANNELMSG_UNLOAD, 0);
	pop(c, HV_CHANNELMSG_UNLOAD_RESPONSE);
	/* The new kernel connects and gets the same device again. */
	connect_and_offer(c, 1);
	assert_int_equal(gpadl(c, 1, 0xe1e10, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e10), 0);
}

static void test_reconnect_resets(void **state)
{
	struct ctx *c = *state;
	uint8_t v;

	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 0);
	assert_int_equal(gpadl(c, 1, 0x77, 0x3200, NULL, 1), 0);
	assert_int_equal(created_status(c, 1, 0x77), 0);
	/* A half-built GPADL too. */
	{
		uint8_t b[36] = { 0 };
		struct hv_vmbus_msg_gpadl_header *h = (void *)b;

		h->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
		h->child_relid = 1;
		h->gpadl = 0x79;
		h->rangecount = 1;
		h->range_buflen = 8 + 8 * 40;
		h->byte_count = 40 * PG;
		wr64(b + 28, 0x3200);
		assert_int_equal(msg(c, 4, b, sizeof(b)), 0);
	}
	assert_int_equal(pending(c), 0);

	/* kexec: a new INITIATE_CONTACT without UNLOAD. */
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_2, 0, 2), 0);
	pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	assert_int_equal(pending(c), 0); /* no TORNDOWN, no CREATED */
	assert_int_equal(c->dev[0].closes, 1);
	assert_false(hv_vmbus_channel_is_open(c->dev[0].ch));
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_CONNECTED);
	assert_int_equal(hv_vmbus_gpadl_read(c->dev[0].ch, 0x77, 0, &v, 1), -ENOENT);
	/* Channels need offering again. */
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 4), -ENOENT);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	/* The old handles are free to reuse. */
	assert_int_equal(gpadl(c, 1, 0x79, 0x3200, NULL, 1), 0);
	assert_int_equal(created_status(c, 1, 0x79), 0);
}

static void test_short_messages(void **state)
{
	struct ctx *c = *state;
	static const struct {
		uint32_t type;
		size_t min;
	} types[] = {
		{ HV_CHANNELMSG_OPENCHANNEL, 148 },     { HV_CHANNELMSG_CLOSECHANNEL, 12 },
		{ HV_CHANNELMSG_GPADL_HEADER, 28 },     { HV_CHANNELMSG_GPADL_BODY, 16 },
		{ HV_CHANNELMSG_GPADL_TEARDOWN, 16 },   { HV_CHANNELMSG_RELID_RELEASED, 12 },
		{ HV_CHANNELMSG_INITIATE_CONTACT, 40 }, { HV_CHANNELMSG_TL_CONNECT_REQUEST, 40 },
		{ HV_CHANNELMSG_MODIFYCHANNEL, 16 },
	};
	uint8_t b[HV_VMBUS_MSG_MAX + 8];
	uint64_t errors;

	assert_int_equal(add_dev(c, 0), 0);
	connect_and_offer(c, 1);
	errors = hv_vmbus_errors(c->vb);
	for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
		for (size_t len = 8; len < types[i].min; len += 4) {
			memset(b, 0, sizeof(b));
			wr32(b, types[i].type);
			wr32(b + 8, 1);
			wr32(b + 12, 0x55);
			assert_int_equal(msg(c, 4, b, len), -EINVAL);
			errors++;
			/* Answered with a failure where the guest waits and
			 * the message names what to answer. */
			if (types[i].type == HV_CHANNELMSG_INITIATE_CONTACT)
				assert_int_equal(pop(c, HV_CHANNELMSG_VERSION_RESPONSE)->b[8], 0);
			else if (types[i].type == HV_CHANNELMSG_OPENCHANNEL && len >= 16)
				assert_int_not_equal(open_status(c, 1, 0x55), 0);
			else if (types[i].type == HV_CHANNELMSG_GPADL_HEADER && len >= 16)
				assert_int_not_equal(created_status(c, 1, 0x55), 0);
			assert_int_equal(pending(c), 0);
		}
	}
	assert_int_equal(hv_vmbus_errors(c->vb), errors);
	/* A short INITIATE_CONTACT did not reset the bus. */
	assert_int_equal(hv_vmbus_get_state(c->vb), HV_VMBUS_OFFERED);

	/* Unknown and host-only types, bad lengths and connections. */
	memset(b, 0, sizeof(b));
	for (uint32_t t = 0; t < 40; t++) {
		bool guest = t == 3 || t == 5 || t == 7 || t == 8 || t == 9 || t == 11 ||
			     t == 13 || t == 14 || t == 16 || t == 21 || t == 22;

		if (guest)
			continue;
		wr32(b, t);
		assert_int_equal(msg(c, 4, b, HV_VMBUS_MSG_MAX), -EINVAL);
		errors++;
	}
	wr32(b, 0xffffffff);
	assert_int_equal(msg(c, 4, b, 8), -EINVAL);
	wr32(b, HV_CHANNELMSG_REQUESTOFFERS);
	assert_int_equal(msg(c, 4, b, 7), -EINVAL);
	assert_int_equal(msg(c, 4, b, 0), -EINVAL);
	assert_int_equal(msg(c, 4, NULL, 8), -EINVAL);
	assert_int_equal(msg(c, 4, b, HV_VMBUS_MSG_MAX + 1), -EINVAL);
	assert_int_equal(msg(c, 2, b, 8), -EINVAL);
	assert_int_equal(msg(c, BASE + 1, b, 8), -EINVAL);
	errors += 7;
	/* Signals on bad connections. */
	assert_int_equal(hv_vmbus_signal(c->vb, 2), -EINVAL);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE), -EINVAL);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 2048), -EINVAL);
	assert_int_equal(hv_vmbus_signal(c->vb, BASE + 5), -ENOENT);
	errors += 4;
	/* Unknown relids. */
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 0), -ENOENT);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_CLOSECHANNEL, 3000), -ENOENT);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 7), -ENOENT);
	errors += 3;
	assert_int_equal(hv_vmbus_errors(c->vb), errors);
	assert_int_equal(pending(c), 0);
	/* The bus still works. */
	assert_int_equal(gpadl(c, 1, 1, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 1), 0);
}

static int modify(struct ctx *c, uint32_t relid, uint32_t vp)
{
	struct hv_vmbus_msg_modifychannel m = {
		.hdr.msgtype = HV_CHANNELMSG_MODIFYCHANNEL,
		.child_relid = relid,
		.target_vp = vp,
	};

	return msg(c, 4, &m, sizeof(m));
}

static void test_modifychannel(void **state)
{
	struct ctx *c = *state;
	struct sent *s;

	/* 5.2: the guest does not wait for an answer; interrupts move. */
	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 0);
	assert_int_equal(modify(c, 1, 3), 0);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_send(c->dev[0].ch, HV_VMPKT_DATA_INBAND, 0, 0, "x", 1), 0);
	assert_int_equal(c->ev[c->nev - 1].vp, 3);
	assert_int_equal(modify(c, 1, NVPS), -EINVAL);
	assert_int_equal(pending(c), 0);

	/* 5.3: MODIFYCHANNEL_RESPONSE, success or not. */
	assert_int_equal(contact(c, 4, HV_VMBUS_VERSION_WIN10_V5_3, 0, 2), 0);
	pop(c, HV_CHANNELMSG_VERSION_RESPONSE);
	simple(c, HV_CHANNELMSG_REQUESTOFFERS, 0);
	pop(c, HV_CHANNELMSG_OFFERCHANNEL);
	pop(c, HV_CHANNELMSG_ALLOFFERS_DELIVERED);
	assert_int_equal(gpadl(c, 1, 0xe1e10, 0x3000, NULL, 8), 0);
	assert_int_equal(created_status(c, 1, 0xe1e10), 0);
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 4), 0);
	assert_int_equal(open_status(c, 1, 1), 0);
	assert_int_equal(modify(c, 1, 2), 0);
	s = pop(c, HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE);
	assert_int_equal(s->len, 16);
	assert_int_equal(rd32(s->b + 8), 1);
	assert_int_equal(rd32(s->b + 12), 0);
	assert_int_equal(modify(c, 1, 99), -EINVAL);
	assert_int_not_equal(rd32(pop(c, HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE)->b + 12), 0);
	assert_int_equal(modify(c, 5, 0), -ENOENT);
	assert_int_not_equal(rd32(pop(c, HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE)->b + 12), 0);
	assert_int_equal(pending(c), 0);
}

static void test_tl_connect(void **state)
{
	struct ctx *c = *state;
	struct hv_vmbus_msg_tl_connect_request m = {
		.hdr.msgtype = HV_CHANNELMSG_TL_CONNECT_REQUEST,
	};

	connect_and_offer(c, 0);
	assert_int_equal(msg(c, 4, &m, sizeof(m)), 0);
	assert_int_equal(pending(c), 0);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);
}

static void test_relid_released_live(void **state)
{
	struct ctx *c = *state;

	/* A guest whose probe failed releases a relid we never rescinded. */
	assert_int_equal(add_dev(c, 0), 0);
	open_ring(c, 1, 0);
	assert_int_equal(relid_msg(c, HV_CHANNELMSG_RELID_RELEASED, 1), 0);
	assert_int_equal(c->dev[0].closes, 1);
	assert_int_equal(hv_vmbus_errors(c->vb), 0);
	/* Not offered any more: removing it sends no RESCIND. */
	assert_int_equal(open_chan(c, 1, 1, 0xe1e10, 0, 4), -ENOENT);
	assert_int_not_equal(open_status(c, 1, 1), 0);
	hv_vmbus_remove_device(c->dev[0].ch);
	assert_int_equal(pending(c), 0);
	assert_int_equal(c->dev[0].closes, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid),
		cmocka_unit_test_setup_teardown(test_handshake_v5_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_v4_0_conn1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpadl_assembly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpadl_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpadl_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_ring_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_in_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modifychannel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tl_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relid_released_live, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

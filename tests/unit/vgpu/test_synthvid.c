// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Synthetic video: the wire format (vgpu/synthvid-proto.c) directly, and
 * the device (vgpu/synthvid.c) over a real VMBus host (hv/vmbus.c) with
 * fake RAM playing the guest, as tests/unit/hv/test_vmbus_ic.c does: it
 * connects, takes the offer, opens the channel with a GPADL and an
 * OPENCHANNEL as Linux's vmbus_open() does, and speaks hyperv_drm's side of
 * the protocol in its rings -- or a hostile one.
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

#include "../hv/fake-guest.h"
#include "../hv/fake-mem.h"
#include "loop.h"
#include "synthvid-proto.h"
#include "synthvid.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define PAGE 4096u
#define RAM (8u << 20)
#define RING_PAGES 8u /* per direction, header page included */
#define VRAM_SIZE (8u << 20)
#define MMIO_BASE UINT64_C(0xe0000000)
#define MMIO_SIZE UINT64_C(0x10000000)
#define GPADL 0x100u
#define MAX_RX 128u

struct rx {
	uint8_t data[1024];
	uint32_t len;
};

static struct {
	struct hv_guest_mem mem;
	struct hv_vmbus *vb;
	struct loop *loop;
	struct vgpu_synthvid *sv;
	uint8_t *vram;
	uint8_t msgs[64][HV_VMBUS_MSG_MAX];
	unsigned nmsgs;

	/* The guest's channel. */
	uint32_t relid;
	uint16_t mmio_megabytes;
	struct hv_ring out, in;
	uint64_t pfns[2 * RING_PAGES];
	bool open, paused;
	struct rx rx[MAX_RX];
	unsigned nrx;

	/* map_vram() */
	unsigned maps;
	uint64_t map_gpa;
	int map_result;

	/* The display. */
	unsigned modes;
	struct vgpu_mode mode;
	unsigned damages, nrects;
	struct vgpu_rect rects[512];
	unsigned positions;
	int32_t px, py;
	bool pvisible;
	unsigned shapes;
	uint32_t sw, sh, shx, shy;
	uint8_t argb[SYNTHVID_CURSOR_MAX_BYTES];
} T;

/* ---- Host side of the fake ---- */

static int post_message(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	unsigned i = T.nmsgs++ % 64;

	assert_true(len <= HV_VMBUS_MSG_MAX);
	memset(T.msgs[i], 0, HV_VMBUS_MSG_MAX);
	memcpy(T.msgs[i], msg, len);
	return 0;
}

static int signal_event(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	return 0; /* the guest polls its ring */
}

static const struct hv_vmbus_host_ops host_ops = {
	.post_message = post_message,
	.signal_event = signal_event,
};

static const void *host_msg(uint32_t type)
{
	unsigned n = T.nmsgs < 64 ? T.nmsgs : 64;

	for (unsigned k = 0; k < n; k++) {
		unsigned i = (T.nmsgs - 1 - k) % 64;

		if (rd32(T.msgs[i]) == type)
			return T.msgs[i];
	}
	return NULL;
}

static void guest_msg(const void *m, size_t len)
{
	fg_guest_msg(T.vb, m, len);
}

static int map_vram(void *data, uint64_t gpa)
{
	T.maps++;
	T.map_gpa = gpa;
	return T.map_result;
}

static void d_mode(void *data, const struct vgpu_mode *m)
{
	T.modes++;
	T.mode = *m;
}

static void d_damage(void *data, const struct vgpu_rect *r, unsigned n)
{
	T.damages++;
	for (unsigned i = 0; i < n; i++) {
		assert_true(T.nrects < 512);
		T.rects[T.nrects++] = r[i];
	}
}

static void d_position(void *data, int32_t x, int32_t y, bool visible)
{
	T.positions++;
	T.px = x;
	T.py = y;
	T.pvisible = visible;
}

static void d_shape(void *data, uint32_t w, uint32_t h, uint32_t hot_x, uint32_t hot_y,
		    const uint8_t *argb)
{
	assert_true(w && h && w <= SYNTHVID_CURSOR_MAX && h <= SYNTHVID_CURSOR_MAX);
	assert_true(hot_x < w && hot_y < h);
	T.shapes++;
	T.sw = w;
	T.sh = h;
	T.shx = hot_x;
	T.shy = hot_y;
	memcpy(T.argb, argb, w * h * 4);
}

static const struct vgpu_display_ops display_ops = {
	.mode = d_mode,
	.damage = d_damage,
	.pointer_position = d_position,
	.pointer_shape = d_shape,
};

/* ---- Guest side of the fake ---- */

static void guest_poll(void)
{
	uint8_t buf[8192];
	struct hv_vmbus_packet pkt;

	if (!T.open || T.paused)
		return;
	do {
		hv_ring_read_begin(&T.in);
		while (hv_ring_read(&T.in, buf, sizeof(buf), &pkt) > 0) {
			struct rx *r = &T.rx[T.nrx++ % MAX_RX];

			assert_int_equal(pkt.type, HV_VMPKT_DATA_INBAND);
			assert_true(pkt.len <= sizeof(r->data));
			memcpy(r->data, pkt.data, pkt.len);
			r->len = pkt.len;
		}
	} while (hv_ring_read_end(&T.in));
}

static void guest_send_raw(uint16_t type, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	bool sig;

	assert_int_equal(hv_ring_write(&T.out, type, 0, 1, &iov, 1, &sig), 0);
	hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + T.relid);
	guest_poll();
}

static void guest_send(uint32_t type, const void *body, size_t len)
{
	static uint8_t buf[SYNTHVID_MAX_PACKET];
	int n = synthvid_encode(buf, sizeof(buf), type, body, len);

	assert_true(n > 0);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
}

static unsigned rx_count(uint32_t type)
{
	unsigned n = 0, have = T.nrx < MAX_RX ? T.nrx : MAX_RX;

	for (unsigned i = 0; i < have; i++) {
		struct synthvid_msg m;

		if (synthvid_parse(T.rx[i].data, T.rx[i].len, &m) == 0 && m.type == type)
			n++;
	}
	return n;
}

/* The last message of a type the host sent, parsed into *m. */
static bool rx_last(uint32_t type, struct synthvid_msg *m)
{
	unsigned have = T.nrx < MAX_RX ? T.nrx : MAX_RX;

	for (unsigned k = 0; k < have; k++) {
		struct rx *r = &T.rx[(T.nrx - 1 - k) % MAX_RX];

		if (synthvid_parse(r->data, r->len, m) == 0 && m->type == type)
			return true;
	}
	return false;
}

static struct vgpu_synthvid_stats stats(void)
{
	struct vgpu_synthvid_stats s;

	vgpu_synthvid_get_stats(T.sv, &s);
	return s;
}

static const struct fg_rings ring_view = { 0, RING_PAGES, T.pfns, &T.out, &T.in };

static void open_channel(void)
{
	struct fg_rings r = ring_view;

	r.relid = T.relid;
	fg_open_channel(T.vb, &T.mem, host_msg, &r, GPADL, 1, 0x400);
	T.open = true;
	T.nrx = 0;
}

static void close_channel(void)
{
	struct fg_rings r = ring_view;

	r.relid = T.relid;
	fg_close_channel(T.vb, host_msg, &r, GPADL);
	T.open = false;
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
	struct vgpu_synthvid_config cfg;
	struct hv_guid cls;

	memset(&T, 0, sizeof(T));
	assert_int_equal(fake_mem_new(&T.mem, RAM), 0);
	assert_int_equal(hv_vmbus_new(&vcfg, &T.vb), 0);
	assert_int_equal(loop_new(&T.loop), 0);
	T.vram = calloc(1, VRAM_SIZE);
	assert_non_null(T.vram);
	cfg = (struct vgpu_synthvid_config){
		.vmbus = T.vb,
		.loop = T.loop,
		.vram = T.vram,
		.vram_size = VRAM_SIZE,
		.mmio_base = MMIO_BASE,
		.mmio_size = MMIO_SIZE,
		.map_vram = map_vram,
		.display = &display_ops,
	};
	assert_int_equal(vgpu_synthvid_new(&cfg, &T.sv), 0);

	guest_msg(&ic, sizeof(ic));
	assert_non_null(host_msg(HV_CHANNELMSG_VERSION_RESPONSE));
	guest_msg(&ro, sizeof(ro));
	assert_int_equal(hv_guid_parse(VGPU_SYNTHVID_CLASS, &cls), 0);
	for (unsigned i = 0; i < T.nmsgs && i < 64; i++) {
		const struct hv_vmbus_msg_offer *o = (const void *)T.msgs[i];

		if (o->hdr.msgtype == HV_CHANNELMSG_OFFERCHANNEL &&
		    !memcmp(o->if_type, cls.b, 16)) {
			T.relid = o->child_relid;
			T.mmio_megabytes = o->mmio_megabytes;
		}
	}
	assert_true(T.relid != 0);
	open_channel();
	return 0;
}

static int teardown(void **state)
{
	vgpu_synthvid_free(T.sv);
	hv_vmbus_free(T.vb);
	loop_free(T.loop);
	hv_ring_fini(&T.out);
	hv_ring_fini(&T.in);
	fake_mem_free(&T.mem);
	free(T.vram);
	return 0;
}

/* ---- Guest messages, as hyperv_drm_proto.c builds them ---- */

static void send_version(uint32_t v)
{
	struct synthvid_version_req r = { .version = v };

	guest_send(SYNTHVID_VERSION_REQUEST, &r, sizeof(r));
}

static void negotiate(void)
{
	struct synthvid_msg m;

	send_version(SYNTHVID_VERSION_WIN10);
	assert_true(rx_last(SYNTHVID_VERSION_RESPONSE, &m));
	assert_int_equal(m.u.version_resp.is_accepted, 1);
	assert_true(stats().negotiated);
}

static void send_vram(uint64_t gpa, uint64_t ctx, bool specified)
{
	struct synthvid_vram_location v = {
		.user_ctx = ctx, .is_vram_gpa_specified = specified, .vram_gpa = gpa,
	};

	guest_send(SYNTHVID_VRAM_LOCATION, &v, sizeof(v));
}

static void send_situation(uint8_t active, uint8_t depth, uint32_t w, uint32_t h, uint32_t pitch,
			   uint32_t offset)
{
	struct synthvid_situation_update s = {
		.user_ctx = 0x1234,
		.video_output_count = 1,
		.video_output[0] = {
			.active = active, .vram_offset = offset, .depth_bits = depth,
			.width_pixels = w, .height_pixels = h, .pitch_bytes = pitch,
		},
	};

	guest_send(SYNTHVID_SITUATION_UPDATE, &s, sizeof(s));
}

static void send_dirt(uint8_t output, uint8_t count, const struct synthvid_rect *r, unsigned n)
{
	uint8_t body[2 + 256 * 16];
	struct synthvid_dirt d = { .video_output = output, .dirt_count = count };

	memcpy(body, &d, sizeof(d));
	memcpy(body + 2, r, n * sizeof(*r));
	guest_send(SYNTHVID_DIRT, body, 2 + n * sizeof(*r));
}

static void send_resolution_request(uint8_t max)
{
	struct synthvid_resolution_req r = { .maximum_resolution_count = max };

	guest_send(SYNTHVID_RESOLUTION_REQUEST, &r, sizeof(r));
}

/* ---- Wire format ---- */

static void test_proto_parse(void **state)
{
	uint8_t buf[256];
	struct synthvid_msg m;
	struct synthvid_vram_location v = { .user_ctx = 7, .is_vram_gpa_specified = 1,
					    .vram_gpa = 0xe0100000 };
	int n;

	n = synthvid_encode(buf, sizeof(buf), SYNTHVID_VRAM_LOCATION, &v, sizeof(v));
	assert_int_equal(n, 16 + 17);
	assert_int_equal(rd32(buf), SYNTHVID_PIPE_MSG_DATA);
	assert_int_equal(rd32(buf + 4), 8 + 17);
	assert_int_equal(rd32(buf + 8), SYNTHVID_VRAM_LOCATION);
	assert_int_equal(rd32(buf + 12), 8 + 17);
	assert_int_equal(rd64(buf + 16 + 9), 0xe0100000);
	/* Padded to 8 as in a ring: the headers say where it ends. */
	memset(buf + n, 0xaa, 7);
	assert_int_equal(synthvid_parse(buf, n + 7, &m), 0);
	assert_int_equal(m.type, SYNTHVID_VRAM_LOCATION);
	assert_int_equal(m.body_len, 17);
	assert_int_equal(m.u.vram.user_ctx, 7);
	assert_int_equal(m.u.vram.vram_gpa, 0xe0100000);

	/* Short, wrong pipe type, sizes beyond the packet or inconsistent. */
	assert_int_equal(synthvid_parse(buf, 15, &m), -EBADMSG);
	assert_int_equal(synthvid_parse(buf, n - 1, &m), -EBADMSG);
	wr32(buf, 0);
	assert_int_equal(synthvid_parse(buf, n, &m), -EBADMSG);
	wr32(buf, 1);
	wr32(buf + 12, 8 + 17 + 1); /* video size > pipe size */
	assert_int_equal(synthvid_parse(buf, n, &m), -EBADMSG);
	wr32(buf + 12, 7);
	assert_int_equal(synthvid_parse(buf, n, &m), -EBADMSG);
	wr32(buf + 12, 8 + 16); /* body one byte short of a VRAM location */
	assert_int_equal(synthvid_parse(buf, n, &m), -EBADMSG);
	wr32(buf + 4, 0xffffffff);
	assert_int_equal(synthvid_parse(buf, n, &m), -EBADMSG);

	/* Unknown types are well-formed but not understood. */
	n = synthvid_encode(buf, sizeof(buf), 11, NULL, 0);
	assert_int_equal(synthvid_parse(buf, n, &m), -ENOTSUP);
	assert_int_equal(m.type, 11);
	assert_string_equal(synthvid_msg_type_name(SYNTHVID_DIRT), "dirt");
	assert_string_equal(synthvid_msg_type_name(99), "unknown");

	/* A DIRT message never yields more rects than it holds. */
	{
		uint8_t body[2 + 2 * 16] = { 0, 200 };

		n = synthvid_encode(buf, sizeof(buf), SYNTHVID_DIRT, body, sizeof(body));
		assert_int_equal(synthvid_parse(buf, n, &m), 0);
		assert_int_equal(m.u.dirt.hdr.dirt_count, 200);
		assert_int_equal(m.u.dirt.nrects, 2);
		/* Half a rect does not count. */
		n = synthvid_encode(buf, sizeof(buf), SYNTHVID_DIRT, body, sizeof(body) - 8);
		assert_int_equal(synthvid_parse(buf, n, &m), 0);
		assert_int_equal(m.u.dirt.nrects, 1);
	}
	assert_int_equal(synthvid_encode(buf, 10, SYNTHVID_DIRT, NULL, 0), -ENOBUFS);
}

static void test_proto_clip(void **state)
{
	struct synthvid_rect r[] = {
		{ 10, 20, 110, 220 },          /* inside */
		{ -50, -60, 30, 40 },          /* clipped at the top left */
		{ 1000, 700, 5000, 5000 },     /* clipped at the bottom right */
		{ 50, 50, 50, 60 },            /* empty */
		{ 60, 60, 10, 70 },            /* inverted */
		{ 1024, 0, 2000, 10 },         /* outside */
		{ INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX }, /* everything */
	};
	uint8_t body[2 + sizeof(r)], buf[256];
	struct vgpu_rect out[8];
	struct synthvid_msg m;
	int n;

	body[0] = 0;
	body[1] = 7;
	memcpy(body + 2, r, sizeof(r));
	n = synthvid_encode(buf, sizeof(buf), SYNTHVID_DIRT, body, sizeof(body));
	assert_int_equal(synthvid_parse(buf, n, &m), 0);
	assert_int_equal(synthvid_clip_dirt(&m, 1024, 768, out), 4);
	assert_memory_equal(&out[0], (&(struct vgpu_rect){ 10, 20, 100, 200 }), sizeof(out[0]));
	assert_memory_equal(&out[1], (&(struct vgpu_rect){ 0, 0, 30, 40 }), sizeof(out[0]));
	assert_memory_equal(&out[2], (&(struct vgpu_rect){ 1000, 700, 24, 68 }), sizeof(out[0]));
	assert_memory_equal(&out[3], (&(struct vgpu_rect){ 0, 0, 1024, 768 }), sizeof(out[0]));
}

static void test_proto_situation(void **state)
{
	struct synthvid_situation_update s = {
		.video_output_count = 1,
		.video_output[0] = { 1, 0, 32, 1024, 768, 4096 },
	};
	struct synthvid_video_output *o = &s.video_output[0];
	struct vgpu_mode m;

	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), 0);
	assert_true(m.valid);
	assert_int_equal(m.width, 1024);
	assert_int_equal(m.height, 768);
	assert_int_equal(m.stride, 4096);
	assert_int_equal(m.format, VGPU_FORMAT_XRGB8888);
	assert_int_equal(m.vram_offset, 0);
	/* Exactly filling the VRAM is fine, a byte more is not. */
	*o = (struct synthvid_video_output){ 1, VRAM_SIZE - 4096 * 768, 32, 1024, 768, 4096 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), 0);
	o->vram_offset++;
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	o->vram_offset = UINT32_MAX;
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 16, 1024, 768, 2048 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, 0, 768, 4096 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, 1024, 0, 4096 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, VGPU_MAX_WIDTH + 1, 1, SYNTHVID_MAX_PITCH };
	assert_int_equal(synthvid_situation_mode(&s, UINT64_MAX, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, 1, VGPU_MAX_HEIGHT + 1, 4 };
	assert_int_equal(synthvid_situation_mode(&s, UINT64_MAX, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, 1024, 768, 4095 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	*o = (struct synthvid_video_output){ 1, 0, 32, 16, 16, SYNTHVID_MAX_PITCH + 4 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
	/* The largest mode, with and without the VRAM for it. */
	*o = (struct synthvid_video_output){ 1, 0, 32, 7680, 4320, 7680 * 4 };
	assert_int_equal(synthvid_situation_mode(&s, 128u << 20, &m), 0);
	assert_int_equal(synthvid_situation_mode(&s, 64u << 20, &m), -EINVAL);
	/* Inactive: a valid message, no mode. */
	*o = (struct synthvid_video_output){ 0, 0, 0, 0, 0, 0 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), 0);
	assert_false(m.valid);
	s.video_output_count = 0;
	*o = (struct synthvid_video_output){ 1, 0, 32, 1024, 768, 4096 };
	assert_int_equal(synthvid_situation_mode(&s, VRAM_SIZE, &m), -EINVAL);
}

static bool edid_ok(const uint8_t *e)
{
	static const uint8_t hdr[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	uint8_t sum = 0;

	for (unsigned i = 0; i < SYNTHVID_EDID_SIZE; i++)
		sum += e[i];
	return sum == 0 && !memcmp(e, hdr, 8) && e[18] == 1 && e[19] == 4;
}

static void dtd_size(const uint8_t *e, uint32_t *w, uint32_t *h)
{
	const uint8_t *d = e + 54;

	assert_true(d[0] || d[1]); /* a timing, not a display descriptor */
	*w = d[2] | (d[4] >> 4) << 8;
	*h = d[5] | (d[7] >> 4) << 8;
}

static void test_proto_resolutions(void **state)
{
	struct synthvid_resolution list[SYNTHVID_MAX_RESOLUTIONS];
	uint8_t edid[SYNTHVID_EDID_SIZE];
	unsigned n, def;
	uint32_t w, h;

	n = synthvid_resolutions(VRAM_SIZE, 1024, 768, 64, list, &def);
	assert_true(n >= 5);
	assert_int_equal(list[def].width, 1024);
	assert_int_equal(list[def].height, 768);
	for (unsigned i = 0; i < n; i++) {
		assert_true((uint64_t)list[i].width * list[i].height * 4 <= VRAM_SIZE);
		if (i)
			assert_true((uint32_t)list[i - 1].width * list[i - 1].height <=
				    (uint32_t)list[i].width * list[i].height);
		for (unsigned j = 0; j < i; j++)
			assert_false(list[i].width == list[j].width &&
				     list[i].height == list[j].height);
	}
	/* 1920x1080 fits 8 MiB, 1920x1200 does not. */
	assert_int_equal(list[n - 1].width, 1920);
	assert_int_equal(list[n - 1].height, 1080);
	synthvid_build_edid(edid, list, n, def);
	assert_true(edid_ok(edid));
	dtd_size(edid, &w, &h);
	assert_int_equal(w, 1024);
	assert_int_equal(h, 768);
	assert_int_equal(edid[36] & 0x08, 0x08); /* 1024x768@60 established */
	assert_true(memmem(edid + 54, 72, "Skylight", 8) != NULL);

	/* An odd size joins the list as the default. */
	n = synthvid_resolutions(VRAM_SIZE, 1000, 700, 64, list, &def);
	assert_int_equal(list[def].width, 1000);
	assert_int_equal(list[def].height, 700);
	synthvid_build_edid(edid, list, n, def);
	assert_true(edid_ok(edid));
	dtd_size(edid, &w, &h);
	assert_int_equal(w, 1000);
	assert_int_equal(h, 700);

	/* Cut short, the default stays. */
	n = synthvid_resolutions(VRAM_SIZE, 1920, 1080, 3, list, &def);
	assert_int_equal(n, 3);
	assert_int_equal(def, 2);
	assert_int_equal(list[2].width, 1920);
	n = synthvid_resolutions(VRAM_SIZE, 1920, 1080, 0, list, &def);
	assert_int_equal(n, 1);
	assert_int_equal(def, 0);
	assert_int_equal(list[0].width, 1920);

	/* 8K cannot be a detailed timing: the largest that can is used. */
	n = synthvid_resolutions(256u << 20, VGPU_MAX_WIDTH, VGPU_MAX_HEIGHT, 64, list, &def);
	assert_int_equal(list[def].width, VGPU_MAX_WIDTH);
	synthvid_build_edid(edid, list, n, def);
	assert_true(edid_ok(edid));
	dtd_size(edid, &w, &h);
	assert_int_equal(w, 3840);
	assert_int_equal(h, 2160);

	assert_true(synthvid_resolution_ok(VRAM_SIZE, 1024, 768));
	assert_false(synthvid_resolution_ok(VRAM_SIZE, 0, 768));
	assert_false(synthvid_resolution_ok(VRAM_SIZE, 1920, 1200));
	assert_false(synthvid_resolution_ok(UINT64_MAX, VGPU_MAX_WIDTH + 1, 1));
	assert_false(synthvid_resolution_ok(UINT64_MAX, 0x10000 + 1024, 768));

	/* Encoding. */
	{
		uint8_t buf[SYNTHVID_MAX_HOST_MSG];
		struct synthvid_msg m;
		int len;

		n = synthvid_resolutions(VRAM_SIZE, 1024, 768, 64, list, &def);
		len = synthvid_encode_resolution_resp(buf, sizeof(buf), edid, list, n, def);
		assert_int_equal(len, 16 + 131 + 4 * n);
		assert_int_equal(synthvid_parse(buf, len, &m), 0);
		assert_int_equal(m.u.res_resp.hdr.resolution_count, n);
		assert_int_equal(m.u.res_resp.hdr.default_resolution_index, def);
		assert_memory_equal(m.u.res_resp.list, list, 4 * n);
		len = synthvid_encode_resolution_resp(buf, sizeof(buf), edid, list, n, n);
		assert_int_equal(len, -EINVAL);
		len = synthvid_encode_resolution_resp(buf, sizeof(buf), edid, list, 0, 0);
		assert_int_equal(len, -EINVAL);
		assert_int_equal(synthvid_encode_resolution_resp(buf, 100, edid, list, n, def),
				 -ENOBUFS);
	}
}

static int cursor_msg(uint8_t *buf, uint8_t part, uint8_t argb, uint32_t w, uint32_t h,
		      uint32_t hx, uint32_t hy, const uint8_t *data, size_t len,
		      struct synthvid_msg *m)
{
	static uint8_t body[SYNTHVID_MAX_PACKET];
	struct synthvid_pointer_shape s = { part, argb, w, h, hx, hy };
	int n;

	memcpy(body, &s, sizeof(s));
	memcpy(body + sizeof(s), data, len);
	n = synthvid_encode(buf, SYNTHVID_MAX_PACKET, SYNTHVID_POINTER_SHAPE, body,
			    sizeof(s) + len);
	assert_true(n > 0);
	if (m)
		assert_int_equal(synthvid_parse(buf, n, m), 0);
	return n;
}

static void test_proto_cursor(void **state)
{
	static struct synthvid_cursor c;
	static uint8_t buf[SYNTHVID_MAX_PACKET], px[64 * 64 * 4 + 256];
	struct synthvid_msg m;

	for (unsigned i = 0; i < sizeof(px); i++)
		px[i] = i * 7;
	synthvid_cursor_reset(&c);
	/* hyperv_hide_hw_ptr(): 1x1, complete. */
	cursor_msg(buf, 0xff, 1, 1, 1, 0, 0, (const uint8_t[]){ 0, 1, 1, 1 }, 4, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), 1);
	assert_int_equal(c.width, 1);
	assert_memory_equal(c.argb, ((const uint8_t[]){ 0, 1, 1, 1 }), 4);
	/* Complete but short. */
	cursor_msg(buf, 0xff, 1, 2, 2, 0, 0, px, 15, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
	/* Too big, zero. */
	cursor_msg(buf, 0xff, 1, SYNTHVID_CURSOR_MAX + 1, 1, 0, 0, px, 4 * 129, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
	cursor_msg(buf, 0xff, 1, 0, 1, 0, 0, px, 4, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
	/* Monochrome. */
	cursor_msg(buf, 0xff, 0, 32, 32, 0, 0, px, 256, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -ENOTSUP);
	/* Three parts, hotspot clamped. */
	cursor_msg(buf, 0, 1, 64, 64, 99, 5, px, 6000, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), 0);
	cursor_msg(buf, 1, 1, 64, 64, 99, 5, px + 6000, 6000, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), 0);
	/* More than is missing: the rest is ignored. */
	cursor_msg(buf, 2, 1, 64, 64, 99, 5, px + 12000, 64 * 64 * 4 - 12000 + 100, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), 1);
	assert_int_equal(c.hot_x, 63);
	assert_int_equal(c.hot_y, 5);
	assert_memory_equal(c.argb, px, 64 * 64 * 4);
	/* Out of sequence, or changing size midway. */
	cursor_msg(buf, 1, 1, 64, 64, 0, 0, px, 100, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
	cursor_msg(buf, 0, 1, 64, 64, 0, 0, px, 100, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), 0);
	cursor_msg(buf, 1, 1, 32, 64, 0, 0, px, 100, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
	cursor_msg(buf, 2, 1, 64, 64, 0, 0, px, 100, &m);
	assert_int_equal(synthvid_cursor_add(&c, &m), -EINVAL);
}

/* ---- The device over the bus ---- */

static void test_offer_and_negotiation(void **state)
{
	struct vgpu_synthvid_stats s;
	struct synthvid_msg m;

	assert_int_equal(T.mmio_megabytes, VRAM_SIZE >> 20);
	s = stats();
	assert_true(s.open);
	assert_false(s.negotiated);
	assert_int_equal(s.version, 0);
	/* Nothing is sent before the guest speaks. */
	assert_int_equal(T.nrx, 0);

	send_version(SYNTHVID_VERSION_WIN10);
	assert_true(rx_last(SYNTHVID_VERSION_RESPONSE, &m));
	assert_int_equal(m.u.version_resp.version, SYNTHVID_VERSION_WIN10);
	assert_int_equal(m.u.version_resp.is_accepted, 1);
	assert_int_equal(m.u.version_resp.max_video_outputs, 1);
	/* Then what we want to hear about: dirt, or hyperv_drm sends none. */
	assert_true(rx_last(SYNTHVID_FEATURE_CHANGE, &m));
	assert_int_equal(m.u.feature.is_dirt_needed, 1);
	assert_int_equal(T.nrx, 2);
	s = stats();
	assert_true(s.negotiated);
	assert_int_equal(s.version, 3u << 16 | 5);
	assert_int_equal(s.bad_messages, 0);
}

static void test_versions(void **state)
{
	struct synthvid_msg m;

	/* Anything but the version request first is refused. */
	send_resolution_request(64);
	assert_int_equal(T.nrx, 0);
	assert_int_equal(stats().bad_messages, 1);

	send_version(SYNTHVID_VERSION_WIN7);
	assert_true(rx_last(SYNTHVID_VERSION_RESPONSE, &m));
	assert_int_equal(m.u.version_resp.version, SYNTHVID_VERSION_WIN7);
	assert_int_equal(m.u.version_resp.is_accepted, 0);
	assert_false(stats().negotiated);
	send_version(SYNTHVID_VERSION(4, 0));
	assert_true(rx_last(SYNTHVID_VERSION_RESPONSE, &m));
	assert_int_equal(m.u.version_resp.is_accepted, 0);
	assert_int_equal(rx_count(SYNTHVID_FEATURE_CHANGE), 0);

	/* hyperv_drm's fallback. */
	send_version(SYNTHVID_VERSION_WIN8);
	assert_true(rx_last(SYNTHVID_VERSION_RESPONSE, &m));
	assert_int_equal(m.u.version_resp.is_accepted, 1);
	assert_int_equal(stats().version, 3u << 16 | 2);
	assert_int_equal(rx_count(SYNTHVID_FEATURE_CHANGE), 1);
	/* Refusals are not guest errors. */
	assert_int_equal(stats().bad_messages, 1);
}

static void test_vram_location(void **state)
{
	static const uint64_t bad_gpas[] = {
		MMIO_BASE - PAGE,                       /* below */
		MMIO_BASE + MMIO_SIZE - VRAM_SIZE + PAGE, /* straddling the end */
		MMIO_BASE + MMIO_SIZE,                  /* just past */
		MMIO_BASE + 0x100,                      /* unaligned */
		0,
		UINT64_MAX & ~(uint64_t)0xfff,          /* wraps */
	};
	struct synthvid_msg m;
	uint64_t bad;

	negotiate();
	/* Where hyperv_drm puts it: 1 MiB-aligned in the window. */
	send_vram(MMIO_BASE + 0x100000, MMIO_BASE + 0x100000, true);
	assert_int_equal(T.maps, 1);
	assert_int_equal(T.map_gpa, MMIO_BASE + 0x100000);
	assert_true(rx_last(SYNTHVID_VRAM_LOCATION_ACK, &m));
	assert_int_equal(m.u.vram_ack.user_ctx, MMIO_BASE + 0x100000);
	assert_int_equal(stats().vram_gpa, MMIO_BASE + 0x100000);
	/* The last place that fits. */
	send_vram(MMIO_BASE + MMIO_SIZE - VRAM_SIZE, 42, true);
	assert_int_equal(T.maps, 2);
	assert_true(rx_last(SYNTHVID_VRAM_LOCATION_ACK, &m));
	assert_int_equal(m.u.vram_ack.user_ctx, 42);

	bad = stats().bad_messages;
	for (unsigned i = 0; i < sizeof(bad_gpas) / sizeof(bad_gpas[0]); i++) {
		unsigned acks = rx_count(SYNTHVID_VRAM_LOCATION_ACK);

		send_vram(bad_gpas[i], 1, true);
		assert_int_equal(T.maps, 2);
		assert_int_equal(rx_count(SYNTHVID_VRAM_LOCATION_ACK), acks);
		assert_int_equal(stats().bad_messages, bad + i + 1);
	}
	assert_int_equal(stats().vram_gpa, MMIO_BASE + MMIO_SIZE - VRAM_SIZE);

	/* skyvm cannot map it: no ack either. */
	T.map_result = -ENOMEM;
	send_vram(MMIO_BASE, 5, true);
	assert_int_equal(T.maps, 3);
	assert_true(rx_last(SYNTHVID_VRAM_LOCATION_ACK, &m));
	assert_int_equal(m.u.vram_ack.user_ctx, 42);
	assert_int_equal(stats().vram_gpa, MMIO_BASE + MMIO_SIZE - VRAM_SIZE);
	T.map_result = 0;

	/* Not specified: acknowledged, nothing moves. */
	send_vram(0x1234, 77, false);
	assert_int_equal(T.maps, 3);
	assert_true(rx_last(SYNTHVID_VRAM_LOCATION_ACK, &m));
	assert_int_equal(m.u.vram_ack.user_ctx, 77);
}

static void test_situation(void **state)
{
	struct vgpu_mode mode;
	struct synthvid_msg m;
	uint64_t bad;

	vgpu_synthvid_get_mode(T.sv, &mode);
	assert_false(mode.valid);
	negotiate();
	send_vram(MMIO_BASE, MMIO_BASE, true);
	/* hyperv_update_situation() for the preferred mode. */
	send_situation(1, 32, 1024, 768, 4096, 0);
	assert_int_equal(T.modes, 1);
	assert_true(T.mode.valid);
	assert_int_equal(T.mode.width, 1024);
	assert_int_equal(T.mode.height, 768);
	assert_int_equal(T.mode.stride, 4096);
	assert_int_equal(T.mode.format, VGPU_FORMAT_XRGB8888);
	assert_int_equal(T.mode.vram_offset, 0);
	vgpu_synthvid_get_mode(T.sv, &mode);
	assert_memory_equal(&mode, &T.mode, sizeof(mode));
	assert_true(rx_last(SYNTHVID_SITUATION_UPDATE_ACK, &m));
	assert_int_equal(m.u.situ_ack.user_ctx, 0x1234);

	/* A DRM framebuffer with a wider pitch, at an offset. */
	send_situation(1, 32, 1280, 720, 5632, 8192);
	assert_int_equal(T.modes, 2);
	assert_int_equal(T.mode.stride, 5632);
	assert_int_equal(T.mode.vram_offset, 8192);

	bad = stats().bad_messages;
	send_situation(1, 16, 1024, 768, 2048, 0);          /* 16 bpp */
	send_situation(1, 32, 0, 768, 4096, 0);             /* no width */
	send_situation(1, 32, 1024, 0, 4096, 0);            /* no height */
	send_situation(1, 32, 1024, 768, 4000, 0);          /* pitch < width * 4 */
	send_situation(1, 32, 1920, 1200, 7680, 0);         /* more than the VRAM */
	send_situation(1, 32, 1024, 768, 4096, VRAM_SIZE);  /* offset past it */
	send_situation(1, 32, 8000, 1, 32000, 0);           /* wider than VGPU_MAX_WIDTH */
	send_situation(1, 32, 16, 16, 0x100000, 0);         /* pitch beyond the limit */
	assert_int_equal(stats().bad_messages, bad + 8);
	assert_int_equal(T.modes, 2);
	assert_int_equal(T.mode.width, 1280);
	assert_int_equal(rx_count(SYNTHVID_SITUATION_UPDATE_ACK), 2);

	/* Short: the output is cut off. */
	{
		struct synthvid_situation_update s = { .video_output_count = 1 };

		guest_send(SYNTHVID_SITUATION_UPDATE, &s, sizeof(s) - 1);
		assert_int_equal(stats().bad_messages, bad + 9);
	}

	/* Moving VRAM tells the display again. */
	send_vram(MMIO_BASE + 0x200000, 1, true);
	assert_int_equal(T.modes, 3);
	assert_true(T.mode.valid);

	/* Off. */
	send_situation(0, 0, 0, 0, 0, 0);
	assert_int_equal(T.modes, 4);
	assert_false(T.mode.valid);
}

static void test_resolution_request(void **state)
{
	struct synthvid_msg m;
	uint8_t sum = 0;
	bool found = false;

	negotiate();
	/* hyperv_get_supported_resolution() */
	send_resolution_request(SYNTHVID_MAX_RESOLUTIONS);
	assert_true(rx_last(SYNTHVID_RESOLUTION_RESPONSE, &m));
	assert_true(m.u.res_resp.hdr.resolution_count >= 1);
	assert_true(m.u.res_resp.hdr.default_resolution_index < m.u.res_resp.hdr.resolution_count);
	for (unsigned i = 0; i < SYNTHVID_EDID_SIZE; i++)
		sum += m.u.res_resp.hdr.edid_block[i];
	assert_int_equal(sum, 0);
	assert_true(edid_ok(m.u.res_resp.hdr.edid_block));
	for (unsigned i = 0; i < m.u.res_resp.hdr.resolution_count; i++) {
		struct synthvid_resolution r;

		memcpy(&r, m.u.res_resp.list + 4 * i, 4);
		assert_true((uint64_t)r.width * r.height * 4 <= VRAM_SIZE);
		if (i == m.u.res_resp.hdr.default_resolution_index) {
			assert_int_equal(r.width, 1024);
			assert_int_equal(r.height, 768);
			found = true;
		}
	}
	assert_true(found);
	/* The guest's receive buffer is VMBUS_MAX_PACKET_SIZE. */
	assert_true(T.rx[(T.nrx - 1) % MAX_RX].len <= SYNTHVID_MAX_PACKET);

	send_resolution_request(2);
	assert_true(rx_last(SYNTHVID_RESOLUTION_RESPONSE, &m));
	assert_int_equal(m.u.res_resp.hdr.resolution_count, 2);
	assert_int_equal(stats().bad_messages, 0);
}

static void test_request_resolution(void **state)
{
	struct synthvid_msg m;
	struct synthvid_resolution r;
	unsigned idx;

	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 1280, 720), -ENOTCONN);
	negotiate();
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 0, 720), -EINVAL);
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 1920, 1200), -EINVAL); /* > VRAM */
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, VGPU_MAX_WIDTH + 8, 4), -EINVAL);
	assert_int_equal(rx_count(SYNTHVID_RESOLUTION_RESPONSE), 0);

	/* Unsolicited, the requested size as the default. */
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 1280, 720), 0);
	guest_poll();
	assert_true(rx_last(SYNTHVID_RESOLUTION_RESPONSE, &m));
	idx = m.u.res_resp.hdr.default_resolution_index;
	memcpy(&r, m.u.res_resp.list + 4 * idx, 4);
	assert_int_equal(r.width, 1280);
	assert_int_equal(r.height, 720);
	assert_true(edid_ok(m.u.res_resp.hdr.edid_block));

	/* A size of no standard joins the list; later requests keep it. */
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 1000, 600), 0);
	send_resolution_request(64);
	assert_int_equal(rx_count(SYNTHVID_RESOLUTION_RESPONSE), 3);
	assert_true(rx_last(SYNTHVID_RESOLUTION_RESPONSE, &m));
	idx = m.u.res_resp.hdr.default_resolution_index;
	memcpy(&r, m.u.res_resp.list + 4 * idx, 4);
	assert_int_equal(r.width, 1000);
	assert_int_equal(r.height, 600);
	/* The guest switches and says so. */
	send_situation(1, 32, 1000, 600, 4000, 0);
	assert_int_equal(T.mode.width, 1000);
}

static void test_dirt(void **state)
{
	struct synthvid_rect r[] = {
		{ 0, 0, 1024, 768 },
		{ 1000, 700, 1100, 800 },
		{ 5, 5, 5, 10 },
		{ -100, 10, 20, 30 },
	};
	struct synthvid_rect many[255];
	uint64_t bad;

	negotiate();
	/* No mode yet: nothing to damage. */
	send_dirt(0, 1, r, 1);
	assert_int_equal(T.damages, 0);
	assert_int_equal(stats().dirt_messages, 1);

	send_situation(1, 32, 1024, 768, 4096, 0);
	/* hyperv_update_dirt(): one rect. */
	send_dirt(0, 1, r, 1);
	assert_int_equal(T.damages, 1);
	assert_int_equal(T.nrects, 1);
	assert_memory_equal(&T.rects[0], (&(struct vgpu_rect){ 0, 0, 1024, 768 }), 16);

	/* Clipped and dropped. */
	T.nrects = 0;
	send_dirt(0, 4, r, 4);
	assert_int_equal(T.damages, 2);
	assert_int_equal(T.nrects, 3);
	assert_memory_equal(&T.rects[1], (&(struct vgpu_rect){ 1000, 700, 24, 68 }), 16);
	assert_memory_equal(&T.rects[2], (&(struct vgpu_rect){ 0, 10, 20, 20 }), 16);
	assert_int_equal(stats().dirt_rects, 4);

	/* All empty: no call. */
	send_dirt(0, 1, &r[2], 1);
	assert_int_equal(T.damages, 2);

	/* More claimed than sent: what is there is used, and it is noted. */
	bad = stats().bad_messages;
	T.nrects = 0;
	send_dirt(0, 200, r, 2);
	assert_int_equal(stats().bad_messages, bad + 1);
	assert_int_equal(T.nrects, 2);
	/* Another output. */
	send_dirt(1, 1, r, 1);
	assert_int_equal(stats().bad_messages, bad + 2);
	assert_int_equal(T.damages, 3);

	/* The most a message can carry. */
	for (unsigned i = 0; i < 255; i++)
		many[i] = (struct synthvid_rect){ i, i, i + 2, i + 3 };
	T.nrects = 0;
	send_dirt(0, 255, many, 255);
	assert_int_equal(T.nrects, 255);
	assert_memory_equal(&T.rects[254], (&(struct vgpu_rect){ 254, 254, 2, 3 }), 16);
	assert_int_equal(stats().dirt_messages, 7);
}

static void test_pointer(void **state)
{
	static uint8_t buf[SYNTHVID_MAX_PACKET], px[96 * 96 * 4];
	struct synthvid_pointer_position p = { .is_visible = 1, .image_x = -5, .image_y = 300 };
	uint64_t bad;
	int n;

	negotiate();
	guest_send(SYNTHVID_POINTER_POSITION, &p, sizeof(p));
	assert_int_equal(T.positions, 1);
	assert_int_equal(T.px, -5);
	assert_int_equal(T.py, 300);
	assert_true(T.pvisible);
	bad = stats().bad_messages;
	p.video_output = 3;
	guest_send(SYNTHVID_POINTER_POSITION, &p, sizeof(p));
	assert_int_equal(T.positions, 1);
	assert_int_equal(stats().bad_messages, bad + 1);

	/* hyperv_hide_hw_ptr()'s shape: sizeof(struct) with data[4]. */
	n = cursor_msg(buf, 0xff, 1, 1, 1, 0, 0, (const uint8_t[]){ 0, 1, 1, 1 }, 4, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	assert_int_equal(T.shapes, 1);
	assert_int_equal(T.sw, 1);
	assert_memory_equal(T.argb, ((const uint8_t[]){ 0, 1, 1, 1 }), 4);

	/* A 96x96 cursor in three parts. */
	for (unsigned i = 0; i < sizeof(px); i++)
		px[i] = i * 13 + 1;
	n = cursor_msg(buf, 0, 1, 96, 96, 10, 20, px, 0x3000, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	n = cursor_msg(buf, 1, 1, 96, 96, 10, 20, px + 0x3000, 0x3000, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	assert_int_equal(T.shapes, 1);
	n = cursor_msg(buf, 2, 1, 96, 96, 10, 20, px + 0x6000, sizeof(px) - 0x6000, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	assert_int_equal(T.shapes, 2);
	assert_int_equal(T.sw, 96);
	assert_int_equal(T.sh, 96);
	assert_int_equal(T.shx, 10);
	assert_int_equal(T.shy, 20);
	assert_memory_equal(T.argb, px, sizeof(px));

	/* Bad ones: too big, too short, out of sequence. */
	bad = stats().bad_messages;
	n = cursor_msg(buf, 0xff, 1, 200, 1, 0, 0, px, 800, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	n = cursor_msg(buf, 0xff, 1, 2, 2, 0, 0, px, 12, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	n = cursor_msg(buf, 5, 1, 2, 2, 0, 0, px, 16, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	assert_int_equal(stats().bad_messages, bad + 3);
	/* Monochrome: unsupported, not an error. */
	n = cursor_msg(buf, 0xff, 0, 32, 32, 0, 0, px, 256, NULL);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	assert_int_equal(stats().bad_messages, bad + 3);
	assert_int_equal(T.shapes, 2);
}

static void test_close_reopen(void **state)
{
	struct vgpu_synthvid_stats s;

	negotiate();
	send_vram(MMIO_BASE, MMIO_BASE, true);
	send_situation(1, 32, 800, 600, 3200, 0);
	assert_true(T.mode.valid);
	close_channel();
	s = stats();
	assert_false(s.open);
	assert_false(s.negotiated);
	/* The surface went with the guest's driver. */
	assert_false(T.mode.valid);
	assert_int_equal(vgpu_synthvid_request_resolution(T.sv, 800, 600), -ENOTCONN);

	/* As hyperv_vmbus_resume(): open, negotiate, VRAM again. */
	open_channel();
	assert_true(stats().open);
	assert_false(stats().negotiated);
	negotiate();
	send_vram(MMIO_BASE, MMIO_BASE, true);
	assert_int_equal(rx_count(SYNTHVID_VRAM_LOCATION_ACK), 1);
	assert_int_equal(stats().bad_messages, 0);
}

static void test_ring_full(void **state)
{
	struct hv_ring_header *h = (void *)(T.mem.host + T.pfns[RING_PAGES] * PAGE);
	struct synthvid_msg m;
	uint32_t w;

	negotiate();
	/* The guest's ring looks full and it stops reading. */
	T.paused = true;
	w = h->write_index;
	assert_int_equal(h->read_index, w);
	h->read_index = (w + 8) % ((RING_PAGES - 1) * PAGE);
	send_resolution_request(64);
	send_vram(MMIO_BASE, 99, true);
	assert_true(h->pending_send_sz > 0);
	assert_int_equal(h->write_index, w);
	/* The guest catches up and signals: ->writable() sends both. */
	h->read_index = w;
	T.paused = false;
	hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + T.relid);
	guest_poll();
	assert_true(rx_last(SYNTHVID_RESOLUTION_RESPONSE, &m));
	assert_true(rx_last(SYNTHVID_VRAM_LOCATION_ACK, &m));
	assert_int_equal(m.u.vram_ack.user_ctx, 99);
}

/* Deterministic: a failure reproduces. */
static uint32_t rnd_state = 777;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void test_hostile(void **state)
{
	static uint8_t buf[SYNTHVID_MAX_PACKET];
	struct synthvid_rect r = { 0, 0, 10, 10 };
	uint64_t bad;
	int n;

	negotiate();
	send_situation(1, 32, 1024, 768, 4096, 0);
	bad = stats().bad_messages;

	/* Malformed headers. */
	n = synthvid_encode(buf, sizeof(buf), SYNTHVID_POINTER_POSITION, &r, 10);
	wr32(buf, 2); /* not PIPE_MSG_DATA */
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	wr32(buf, 1);
	wr32(buf + 4, 0x10000); /* pipe size past the packet */
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	wr32(buf + 4, 18);
	wr32(buf + 12, 19); /* video size past the pipe */
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	wr32(buf + 12, 17); /* body one byte short */
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
	guest_send_raw(HV_VMPKT_DATA_INBAND, buf, 4); /* no headers */
	/* Unknown and host-only types. */
	guest_send(12, NULL, 0);
	guest_send(SYNTHVID_VERSION_RESPONSE, buf, 6);
	guest_send(SYNTHVID_FEATURE_CHANGE, buf, 4);
	/* Not in-band. */
	n = synthvid_encode(buf, sizeof(buf), SYNTHVID_POINTER_POSITION, &r, 10);
	guest_send_raw(HV_VMPKT_DATA_USING_GPA_DIRECT, buf, n);
	assert_int_equal(stats().bad_messages, bad + 9);
	assert_int_equal(T.positions, 0);

	/* Valid messages with random bytes changed or cut short, and random
	 * bytes: never a crash, never damage outside the mode. */
	for (unsigned it = 0; it < 3000; it++) {
		static const uint32_t types[] = {
			SYNTHVID_VERSION_REQUEST, SYNTHVID_VRAM_LOCATION, SYNTHVID_SITUATION_UPDATE,
			SYNTHVID_POINTER_POSITION, SYNTHVID_POINTER_SHAPE, SYNTHVID_DIRT,
			SYNTHVID_RESOLUTION_REQUEST,
		};
		uint8_t body[600];
		size_t len = rnd() % sizeof(body);

		/* Mostly a guest that got through negotiation and set a mode. */
		if (!stats().negotiated && rnd() % 8)
			send_version(SYNTHVID_VERSION_WIN10);
		if (!T.mode.valid && rnd() % 8)
			send_situation(1, 32, 1024, 768, 4096, 0);

		for (size_t i = 0; i < len; i++)
			body[i] = rnd();
		n = synthvid_encode(buf, sizeof(buf), types[rnd() % 7], body, len);
		for (unsigned k = rnd() % 3; k; k--)
			buf[rnd() % n] = rnd();
		if (rnd() % 4 == 0)
			n = rnd() % n + 1;
		guest_send_raw(HV_VMPKT_DATA_INBAND, buf, n);
		T.nrx = 0;
		for (unsigned i = 0; i < T.nrects; i++) {
			assert_true(T.mode.valid);
			assert_true((uint64_t)T.rects[i].x + T.rects[i].w <= T.mode.width);
			assert_true((uint64_t)T.rects[i].y + T.rects[i].h <= T.mode.height);
			assert_true(T.rects[i].w && T.rects[i].h);
		}
		T.nrects = 0;
		if (T.mode.valid)
			assert_true(T.mode.vram_offset + (uint64_t)T.mode.stride * T.mode.height <=
				    VRAM_SIZE);
	}
	assert_true(stats().bad_messages > bad + 100);
	/* The channel still works. */
	negotiate();
	send_situation(1, 32, 640, 480, 2560, 0);
	assert_int_equal(T.mode.width, 640);
}

static void test_config(void **state)
{
	struct vgpu_synthvid_config cfg = {
		.vmbus = T.vb, .vram = T.vram, .vram_size = VRAM_SIZE,
		.mmio_base = MMIO_BASE, .mmio_size = MMIO_SIZE,
	};
	struct vgpu_synthvid *sv;

	cfg.vram_size = VRAM_SIZE + 4096; /* not whole MiB */
	assert_int_equal(vgpu_synthvid_new(&cfg, &sv), -EINVAL);
	cfg.vram_size = VRAM_SIZE;
	cfg.mmio_size = VRAM_SIZE - MiB; /* VRAM cannot fit the window */
	assert_int_equal(vgpu_synthvid_new(&cfg, &sv), -EINVAL);
	cfg.mmio_size = MMIO_SIZE;
	cfg.width = 1920;
	cfg.height = 1200; /* more than the VRAM */
	assert_int_equal(vgpu_synthvid_new(&cfg, &sv), -EINVAL);
	cfg.vram = NULL;
	cfg.width = cfg.height = 0;
	assert_int_equal(vgpu_synthvid_new(&cfg, &sv), -EINVAL);
	vgpu_synthvid_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_parse),
		cmocka_unit_test(test_proto_clip),
		cmocka_unit_test(test_proto_situation),
		cmocka_unit_test(test_proto_resolutions),
		cmocka_unit_test(test_proto_cursor),
		cmocka_unit_test_setup_teardown(test_offer_and_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vram_location, setup, teardown),
		cmocka_unit_test_setup_teardown(test_situation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolution_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

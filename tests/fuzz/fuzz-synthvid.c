// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Synthetic video (vgpu/synthvid.c and vgpu/synthvid-proto.c) on a real
 * VMBus host, the guest's side from the input.  Each input gets a fresh
 * bus and device; the guest connects and opens the channel (4 MiB VRAM,
 * window 0xe0000000+256 MiB).  The input is
 *   [0] flags: bit 0 negotiate WIN10 first, bit 1 then place the VRAM and
 *       set 1024x768
 * then records, an op byte (mod 6) and its arguments:
 *   0 [u16 len][len bytes]          a raw in-band packet
 *   1 [u8 type][u16 len][len bytes] a message: pipe and video headers,
 *                                   then the bytes as its body
 *   2 [u16 w][u16 h]                the host asks for a resolution
 *   3                               the guest stops / resumes reading
 *   4                               the guest closes and reopens
 *   5 [u8 type][u16 len][len bytes] as 1, in a non-in-band packet
 * Lengths are cut to what the input has.
 *
 * Oracles besides the sanitizers: what reaches the display is a mode that
 * fits the VRAM, damage inside it, a bounded pointer shape; VRAM is only
 * placed page-aligned inside the window; every host packet parses and fits
 * the guest's receive buffer.  Each message body also goes through the
 * pure functions: DIRT clipping stays inside the surface, a resolution
 * list holds its default and fits the VRAM, EDIDs checksum to 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz-guest-mem.h"
#include "log.h"
#include "loop.h"
#include "synthvid-proto.h"
#include "synthvid.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define FUZZ_RAM (1u << 20)
#define PAGE 4096u
#define RING_PAGES 8u
#define GPADL 0x77u
#define VRAM_SIZE (4u << 20)
#define MMIO_BASE UINT64_C(0xe0000000)
#define MMIO_SIZE UINT64_C(0x10000000)

static struct hv_guest_mem mem;
static uint8_t *vram;
static uint8_t msgbuf[SYNTHVID_MAX_PACKET + 64];
static struct synthvid_cursor cursor;

static struct {
	struct hv_vmbus *vb;
	struct vgpu_synthvid *sv;
	uint32_t relid;
	uint64_t pfns[2 * RING_PAGES];
	struct hv_ring out, in;
	bool open, paused;
	struct vgpu_mode mode;
} F;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static int f_post(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	uint32_t type;

	check(len >= 8 && len <= HV_VMBUS_MSG_MAX);
	memcpy(&type, msg, sizeof(type));
	if (type == HV_CHANNELMSG_OFFERCHANNEL) {
		const struct hv_vmbus_msg_offer *o = msg;

		check(o->mmio_megabytes == VRAM_SIZE >> 20);
		F.relid = o->child_relid;
	}
	return 0;
}

static int f_signal(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	return 0;
}

static const struct hv_vmbus_host_ops f_ops = { .post_message = f_post, .signal_event = f_signal };

static int f_map(void *data, uint64_t gpa)
{
	check(gpa % PAGE == 0 && gpa >= MMIO_BASE && gpa + VRAM_SIZE <= MMIO_BASE + MMIO_SIZE);
	return 0;
}

static bool mode_ok(const struct vgpu_mode *m)
{
	if (!m->valid)
		return true;
	return m->width && m->height && m->width <= VGPU_MAX_WIDTH &&
	       m->height <= VGPU_MAX_HEIGHT && m->stride >= (uint64_t)m->width * 4 &&
	       m->format == VGPU_FORMAT_XRGB8888 &&
	       m->vram_offset + (uint64_t)m->stride * m->height <= VRAM_SIZE;
}

static void d_mode(void *data, const struct vgpu_mode *m)
{
	check(mode_ok(m));
	F.mode = *m;
}

static void d_damage(void *data, const struct vgpu_rect *r, unsigned n)
{
	check(F.mode.valid && n && n <= SYNTHVID_MAX_DIRT);
	for (unsigned i = 0; i < n; i++)
		check(r[i].w && r[i].h && (uint64_t)r[i].x + r[i].w <= F.mode.width &&
		      (uint64_t)r[i].y + r[i].h <= F.mode.height);
	/* What a viewer does: read the damaged pixels. */
	{
		const uint8_t *p = vram + F.mode.vram_offset +
				   (uint64_t)(r[n - 1].y + r[n - 1].h - 1) * F.mode.stride +
				   (uint64_t)(r[n - 1].x + r[n - 1].w - 1) * 4;
		volatile uint8_t sink = p[3];

		(void)sink;
	}
}

static void d_position(void *data, int32_t x, int32_t y, bool visible)
{
}

static void d_shape(void *data, uint32_t w, uint32_t h, uint32_t hot_x, uint32_t hot_y,
		    const uint8_t *argb)
{
	volatile uint8_t sink;

	check(w && h && w <= SYNTHVID_CURSOR_MAX && h <= SYNTHVID_CURSOR_MAX && hot_x < w &&
	      hot_y < h);
	sink = argb[w * h * 4 - 1];
	(void)sink;
}

static const struct vgpu_display_ops display = {
	.mode = d_mode,
	.damage = d_damage,
	.pointer_position = d_position,
	.pointer_shape = d_shape,
};

static void guest_msg(const void *m, size_t len)
{
	hv_vmbus_message(F.vb, HV_VMBUS_MESSAGE_CONNECTION_ID_4, m, len);
}

static void guest_read(void)
{
	static uint8_t buf[SYNTHVID_MAX_PACKET + 64];
	struct hv_vmbus_packet pkt;

	if (!F.open || F.paused)
		return;
	do {
		hv_ring_read_begin(&F.in);
		while (hv_ring_read(&F.in, buf, sizeof(buf), &pkt) > 0) {
			struct synthvid_msg m;

			/* What hyperv_drm's receive buffer holds, and parses. */
			check(pkt.type == HV_VMPKT_DATA_INBAND && pkt.len <= SYNTHVID_MAX_PACKET);
			check(synthvid_parse(pkt.data, pkt.len, &m) == 0);
			if (m.type == SYNTHVID_RESOLUTION_RESPONSE) {
				uint8_t sum = 0;

				check(m.u.res_resp.hdr.default_resolution_index <
				      m.u.res_resp.hdr.resolution_count);
				for (unsigned i = 0; i < SYNTHVID_EDID_SIZE; i++)
					sum += m.u.res_resp.hdr.edid_block[i];
				check(sum == 0);
			}
		}
	} while (hv_ring_read_end(&F.in));
	if (hv_ring_read_should_signal(&F.in))
		hv_vmbus_signal(F.vb, HV_VMBUS_EVENT_CONNECTION_BASE + F.relid);
}

static void guest_send(uint16_t type, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	bool sig;

	if (!F.open)
		return;
	/* Room is always there (the host drains at each signal) unless
	 * the packet can never fit. */
	if (hv_ring_write(&F.out, type, 0, 1, &iov, 1, &sig) < 0)
		return;
	hv_vmbus_signal(F.vb, HV_VMBUS_EVENT_CONNECTION_BASE + F.relid);
	guest_read();
}

static void open_channel(void)
{
	uint8_t m[HV_VMBUS_MSG_MAX] = { 0 };
	struct hv_vmbus_msg_gpadl_header *gh = (void *)m;
	struct hv_vmbus_msg_open op = { .hdr.msgtype = HV_CHANNELMSG_OPENCHANNEL };

	gh->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	gh->child_relid = F.relid;
	gh->gpadl = GPADL;
	gh->range_buflen = 8 + 8 * 2 * RING_PAGES;
	gh->rangecount = 1;
	gh->byte_count = 2 * RING_PAGES * PAGE;
	for (unsigned i = 0; i < 2 * RING_PAGES; i++) {
		F.pfns[i] = 0x10 + i;
		gh->pfn[i] = F.pfns[i];
		memset(mem.host + F.pfns[i] * PAGE, 0, PAGE);
	}
	guest_msg(gh, sizeof(*gh) + 8 * 2 * RING_PAGES);
	check(hv_ring_init(&F.out, &mem, F.pfns, RING_PAGES) == 0);
	check(hv_ring_init(&F.in, &mem, F.pfns + RING_PAGES, RING_PAGES) == 0);
	op.child_relid = F.relid;
	op.openid = 1;
	op.ringbuffer_gpadlhandle = GPADL;
	op.downstream_ringbuffer_pageoffset = RING_PAGES;
	guest_msg(&op, sizeof(op));
	F.open = true;
	F.paused = false;
}

static void close_channel(void)
{
	struct hv_vmbus_msg_close m = {
		.hdr.msgtype = HV_CHANNELMSG_CLOSECHANNEL, .child_relid = F.relid,
	};
	struct hv_vmbus_msg_gpadl_teardown t = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_TEARDOWN, .child_relid = F.relid, .gpadl = GPADL,
	};

	guest_msg(&m, sizeof(m));
	guest_msg(&t, sizeof(t));
	hv_ring_fini(&F.out);
	hv_ring_fini(&F.in);
	F.open = false;
	/* The device forgets the mode with the channel. */
	check(!F.mode.valid);
}

static void send_msg(uint16_t pkt_type, uint32_t type, const void *body, size_t len)
{
	int n = synthvid_encode(msgbuf, sizeof(msgbuf), type, body, len);

	if (n > 0)
		guest_send(pkt_type, msgbuf, n);
}

/* The pure functions on one message, with their own oracles. */
static void check_pure(const uint8_t *buf, size_t len)
{
	struct vgpu_rect rects[SYNTHVID_MAX_DIRT];
	struct synthvid_msg m;
	struct vgpu_mode mode;
	unsigned n;
	int r;

	if (synthvid_parse(buf, len, &m) < 0)
		return;
	check(m.body + m.body_len <= buf + len);
	switch (m.type) {
	case SYNTHVID_DIRT:
		check(m.u.dirt.nrects <= m.u.dirt.hdr.dirt_count &&
		      m.u.dirt.rects + m.u.dirt.nrects * 16 <= m.body + m.body_len);
		n = synthvid_clip_dirt(&m, 1920, 1080, rects);
		check(n <= m.u.dirt.nrects);
		for (unsigned i = 0; i < n; i++)
			check(rects[i].w && rects[i].h && rects[i].x + rects[i].w <= 1920 &&
			      rects[i].y + rects[i].h <= 1080);
		break;
	case SYNTHVID_SITUATION_UPDATE:
		if (synthvid_situation_mode(&m.u.situ, VRAM_SIZE, &mode) == 0)
			check(mode_ok(&mode));
		break;
	case SYNTHVID_POINTER_SHAPE:
		r = synthvid_cursor_add(&cursor, &m);
		check(r >= -ENOTSUP && r <= 1);
		if (r >= 0)
			check(cursor.filled <= cursor.width * cursor.height * 4 &&
			      cursor.width <= SYNTHVID_CURSOR_MAX &&
			      cursor.height <= SYNTHVID_CURSOR_MAX);
		break;
	default:
		break;
	}
}

static void check_resolutions(uint32_t w, uint32_t h)
{
	struct synthvid_resolution list[SYNTHVID_MAX_RESOLUTIONS];
	uint8_t edid[SYNTHVID_EDID_SIZE], sum = 0;
	unsigned def, n;

	if (!synthvid_resolution_ok(VRAM_SIZE, w, h))
		return;
	n = synthvid_resolutions(VRAM_SIZE, w, h, (w ^ h) % 70, list, &def);
	check(n >= 1 && n <= SYNTHVID_MAX_RESOLUTIONS && def < n);
	check(list[def].width == w && list[def].height == h);
	for (unsigned i = 0; i < n; i++)
		check(synthvid_resolution_ok(VRAM_SIZE, list[i].width, list[i].height));
	synthvid_build_edid(edid, list, n, def);
	for (unsigned i = 0; i < SYNTHVID_EDID_SIZE; i++)
		sum += edid[i];
	check(sum == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Bad messages log (rate-limited per device, but each input has a
	 * new device): quiet unless SKYLIGHT_LOG asks. */
	if (!getenv("SKYLIGHT_LOG"))
		log_parse_spec("error");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_vmbus_config vcfg = { .mem = &mem, .ops = &f_ops, .nvps = 1 };
	struct hv_vmbus_msg_initiate_contact ic = {
		.hdr.msgtype = HV_CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = HV_VMBUS_VERSION_WIN10_V5_3,
		.msg_sint = HV_VMBUS_MESSAGE_SINT,
	};
	struct hv_vmbus_msg_header ro = { .msgtype = HV_CHANNELMSG_REQUESTOFFERS };
	struct vgpu_synthvid_config cfg;
	const uint8_t *p = data, *end = data + size;
	unsigned steps = 0;
	uint8_t flags;

	if (!size)
		return 0;
	fuzz_guest_mem(&mem, FUZZ_RAM);
	if (!vram) {
		vram = calloc(1, VRAM_SIZE);
		check(vram != NULL);
	}
	memset(&F, 0, sizeof(F));
	synthvid_cursor_reset(&cursor);
	check(hv_vmbus_new(&vcfg, &F.vb) == 0);
	cfg = (struct vgpu_synthvid_config){
		.vmbus = F.vb,
		.vram = vram,
		.vram_size = VRAM_SIZE,
		.mmio_base = MMIO_BASE,
		.mmio_size = MMIO_SIZE,
		.map_vram = f_map,
		.display = &display,
	};
	check(vgpu_synthvid_new(&cfg, &F.sv) == 0);
	guest_msg(&ic, sizeof(ic));
	guest_msg(&ro, sizeof(ro));
	check(F.relid != 0);
	open_channel();

	flags = *p++;
	if (flags & 1) {
		struct synthvid_version_req v = { SYNTHVID_VERSION_WIN10 };

		send_msg(HV_VMPKT_DATA_INBAND, SYNTHVID_VERSION_REQUEST, &v, sizeof(v));
	}
	if (flags & 2) {
		struct synthvid_vram_location v = { MMIO_BASE, 1, MMIO_BASE };
		struct synthvid_situation_update s = {
			.video_output_count = 1,
			.video_output[0] = { 1, 0, 32, 1024, 768, 4096 },
		};

		send_msg(HV_VMPKT_DATA_INBAND, SYNTHVID_VRAM_LOCATION, &v, sizeof(v));
		send_msg(HV_VMPKT_DATA_INBAND, SYNTHVID_SITUATION_UPDATE, &s, sizeof(s));
	}

	while (p < end && steps++ < 4096) {
		uint8_t op = *p++ % 6;
		size_t left = (size_t)(end - p), len;
		uint16_t u16, w, h;
		uint32_t type;

		switch (op) {
		case 0:
			if (left < 2)
				goto out;
			memcpy(&u16, p, 2);
			p += 2;
			len = MIN((size_t)u16, left - 2);
			check_pure(p, len);
			guest_send(HV_VMPKT_DATA_INBAND, p, len);
			p += len;
			break;
		case 1:
		case 5:
			if (left < 3)
				goto out;
			type = p[0];
			memcpy(&u16, p + 1, 2);
			p += 3;
			len = MIN((size_t)u16, left - 3);
			if (synthvid_encode(msgbuf, sizeof(msgbuf), type, p, len) > 0)
				check_pure(msgbuf, SYNTHVID_HDR_SIZE + len);
			send_msg(op == 1 ? HV_VMPKT_DATA_INBAND : HV_VMPKT_DATA_USING_GPA_DIRECT,
				 type, p, len);
			p += len;
			break;
		case 2:
			if (left < 4)
				goto out;
			memcpy(&w, p, 2);
			memcpy(&h, p + 2, 2);
			p += 4;
			check_resolutions(w, h);
			vgpu_synthvid_request_resolution(F.sv, w, h);
			guest_read();
			break;
		case 3:
			F.paused = !F.paused;
			guest_read();
			if (F.open && !F.paused)
				hv_vmbus_signal(F.vb, HV_VMBUS_EVENT_CONNECTION_BASE + F.relid);
			guest_read();
			break;
		case 4:
			close_channel();
			open_channel();
			break;
		}
		{
			struct vgpu_mode m;

			vgpu_synthvid_get_mode(F.sv, &m);
			check(mode_ok(&m));
		}
	}
out:
	vgpu_synthvid_free(F.sv);
	hv_vmbus_free(F.vb);
	hv_ring_fini(&F.out);
	hv_ring_fini(&F.in);
	return 0;
}

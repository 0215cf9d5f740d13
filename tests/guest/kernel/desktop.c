// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * "desktop" / "desktop=anim": after the VMBus handshake and the
 * integration services, drive the three devices a Hyper-V desktop has,
 * as Linux 6.1's drivers do, at CPL0 on the BSP:
 *
 *   synthetic video  drivers/gpu/drm/hyperv/hyperv_drm_proto.c, _drv.c
 *                    (hyperv_connect_vsp(), hyperv_setup_vram(),
 *                    hyperv_update_vram_location(), hyperv_update_situation(),
 *                    hyperv_update_dirt(), hyperv_receive())
 *   keyboard         drivers/input/serio/hyperv-keyboard.c
 *                    (hv_kbd_connect_to_vsp(), hv_kbd_on_receive())
 *   mouse            drivers/hid/hid-hyperv.c (mousevsc_connect_to_vsp(),
 *                    mousevsc_on_receive()); its HID report descriptor is
 *                    walked as drivers/hid/hid-core.c hid_open_report() does
 *
 * then run the drawing at CPL3 (desktop-user.c, native speed where this
 * kernel is emulated).  The user code calls SYS_DESKTOP once per frame
 * (guest.h struct desk_sync): the kernel sends its rectangles as one
 * SYNTHVID_DIRT, serves the bus, halts until the frame's deadline or
 * input, and hands back the input as events (keys already ASCII, the
 * pointer already in screen pixels).  Per frame that is one DIRT packet
 * and a vmbus_service() pass: little CPL0 work.
 *
 * Every wait for the host times out (the Linux drivers' timeouts); a
 * failure prints "desktop: FAILED: <reason>" and returns to the VMBus
 * service loop, so the integration services (shutdown) still work.
 */
#include "vmbus.h"

#define VIDEO_RING_PAGES 8      /* per direction: a 16 KiB packet must fit */
#define INPUT_RING_PAGES 4
#define VIDEO_PKT_MAX 0x4000    /* hyperv_drm.h VMBUS_MAX_PACKET_SIZE */
#define KBD_PKT_MAX 256         /* hyperv-keyboard.c HK_MAXIMUM_MESSAGE_SIZE */
#define MOUSE_PKT_MAX 4096
#define OPEN_WAIT_MS 10000
#define VIDEO_WAIT_MS 10000     /* VMBUS_VSP_TIMEOUT */
#define KBD_WAIT_MS 10000       /* hv_kbd_connect_to_vsp(): 10 * HZ */
#define MOUSE_WAIT_MS 5000      /* mousevsc_connect_to_vsp(): 5 * HZ, twice */
#define MMIO_FALLBACK 0xe0000000ull
#define DEFAULT_WIDTH 1024
#define DEFAULT_HEIGHT 768
#define MAX_WIDTH 7680
#define MAX_HEIGHT 4320

/* ---- synthetic video (hyperv_drm_proto.c) ---- */
#define SYNTHVID_VERSION(major, minor) ((uint32_t)(minor) << 16 | (uint32_t)(major))
#define SYNTHVID_VERSION_WIN8 SYNTHVID_VERSION(3, 2)
#define SYNTHVID_VERSION_WIN10 SYNTHVID_VERSION(3, 5)
#define PIPE_MSG_DATA 1
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
enum {
	SYNTHVID_VERSION_REQUEST = 1,
	SYNTHVID_VERSION_RESPONSE = 2,
	SYNTHVID_VRAM_LOCATION = 3,
	SYNTHVID_VRAM_LOCATION_ACK = 4,
	SYNTHVID_SITUATION_UPDATE = 5,
	SYNTHVID_SITUATION_UPDATE_ACK = 6,
	SYNTHVID_POINTER_POSITION = 7,
	SYNTHVID_POINTER_SHAPE = 8,
	SYNTHVID_FEATURE_CHANGE = 9,
	SYNTHVID_DIRT = 10,
	SYNTHVID_RESOLUTION_REQUEST = 13,
	SYNTHVID_RESOLUTION_RESPONSE = 14,
};
#define SV_HDR 16 /* struct pipe_msg_hdr + struct synthvid_msg_hdr */
#define SYNTHVID_MAX_RESOLUTION_COUNT 64
#define SYNTHVID_EDID_BLOCK_SIZE 128
#define SYNTHVID_CURSOR_COMPLETE 0xff

/* ---- keyboard (hyperv-keyboard.c) ---- */
#define SYNTH_KBD_VERSION (1u << 16 | 0)
#define SYNTH_KBD_PROTOCOL_REQUEST 1
#define SYNTH_KBD_PROTOCOL_RESPONSE 2
#define SYNTH_KBD_EVENT 3
#define PROTOCOL_ACCEPTED 1
#define IS_BREAK 2
#define IS_E0 4
#define IS_E1 8

/* ---- mouse (hid-hyperv.c) ---- */
#define SYNTHHID_INPUT_VERSION (2u << 16 | 0)
#define PIPE_MESSAGE_DATA 1
#define SYNTH_HID_PROTOCOL_REQUEST 0
#define SYNTH_HID_PROTOCOL_RESPONSE 1
#define SYNTH_HID_INITIAL_DEVICE_INFO 2
#define SYNTH_HID_INITIAL_DEVICE_INFO_ACK 3
#define SYNTH_HID_INPUT_REPORT 4
#define HID_DESC_MAX 1024

#define GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) {{ \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }}
/* HV_SYNTHVID_GUID, HV_KBD_GUID, HV_MOUSE_GUID (include/linux/hyperv.h) */
static const struct vmbus_guid video_class =
	GUID(0xda0a7802, 0xe377, 0x4aac, 0x8e, 0x77, 0x05, 0x58, 0xeb, 0x10, 0x73, 0xf8);
static const struct vmbus_guid kbd_class =
	GUID(0xf912ad6d, 0x2b17, 0x48ea, 0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84);
static const struct vmbus_guid mouse_class =
	GUID(0xcfa8b69e, 0x5b4a, 0x4cc0, 0xb9, 0x8b, 0x8b, 0xa1, 0xa1, 0xf3, 0xf9, 0x5a);

static struct vmbus_channel *video, *kbd, *mouse;
static uint8_t *vpkt, *kpkt, *mpkt;     /* receive buffers */
static uint8_t vmsg[512] __attribute__((aligned(8))); /* what we send */
static uint64_t req_id;
static bool running;                    /* the user code runs: input and mode changes count */
static unsigned notes;
static struct desk_info info;
static uint64_t vram_gpa, vram_size;

/* Video state (hyperv_drm_device). */
static uint32_t sv_version;
static bool sv_ver_got, sv_ver_accepted;
static bool sv_res_wanted, sv_res_got, sv_res_ok;
static uint32_t sv_res_w, sv_res_h;
static bool sv_ack_got;
static uint64_t sv_ack_ctx;
static bool dirt_needed = true;
static uint64_t dirt_dropped;

/* Keyboard state. */
static bool kbd_resp_got;
static uint32_t kbd_status;
static bool shift_l, shift_r, ctrl, caps;

/* Mouse state (mousevsc_dev) and the report fields found in its descriptor. */
static bool ms_resp_got, ms_approved, ms_info_got, ms_info_ok;
static const char *ms_info_error;
static uint8_t hid_desc[HID_DESC_MAX];
static uint32_t hid_desc_len;
struct hid_field {
	bool found, relative;
	uint8_t report_id;
	uint32_t offset, size; /* bits, after the report id byte if numbered */
	int32_t min, max;
};
static struct hid_field f_x, f_y, f_wheel, f_btn[3];
static bool hid_numbered;
static int32_t ptr_x, ptr_y;             /* screen pixels */
static uint64_t raw_x, raw_y, range_x, range_y; /* for rescaling on a mode change */
static uint8_t ptr_buttons;

/* Events for the user code. */
#define EVQ 64
static struct desk_event evq[EVQ];
static unsigned ev_first, ev_count;
static uint64_t ev_dropped;

static void wr32(uint8_t *p, uint32_t v)
{
	__builtin_memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	__builtin_memcpy(p, &v, 8);
}

static __printf(1, 2) bool desk_fail(const char *fmt, ...)
{
	va_list ap;

	kprintf("desktop: FAILED: ");
	va_start(ap, fmt);
	vmbus_vprint(fmt, ap);
	va_end(ap);
	kprintf("\n");
	return false;
}

/* What the host did wrong, at most 16 lines. */
static __printf(1, 2) void note(const char *fmt, ...)
{
	va_list ap;

	if (notes >= 16)
		return;
	notes++;
	kprintf("desktop: ");
	va_start(ap, fmt);
	vmbus_vprint(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

static void push_event(const struct desk_event *e)
{
	/* Pointer motion is coalesced: only the latest position matters. */
	if (e->type == DESK_EV_POINTER && ev_count) {
		struct desk_event *last = &evq[(ev_first + ev_count - 1) % EVQ];

		if (last->type == DESK_EV_POINTER && last->buttons == e->buttons && !last->wheel &&
		    !e->wheel) {
			*last = *e;
			return;
		}
	}
	if (ev_count == EVQ) {
		ev_dropped++;
		return;
	}
	evq[(ev_first + ev_count) % EVQ] = *e;
	ev_count++;
}

static struct vmbus_channel *find_class(const struct vmbus_guid *g)
{
	for (unsigned i = 0; i < vmbus_nchannels; i++)
		if (!memcmp(&vmbus_channels[i].type, g, sizeof(*g)) && !vmbus_channels[i].rescinded)
			return &vmbus_channels[i];
	return NULL;
}

/* Something for vmbus_service(): a message, an event flag, a ring. */
static bool io_pending(void)
{
	volatile uint64_t *ev = hv_event_flags();
	struct vmbus_channel *chs[3] = { video, kbd, mouse };

	if (hv_msg_slot()->header.message_type != HVMSG_NONE)
		return true;
	for (uint32_t w = 0; w < (VMBUS_MAX_RELID + 1) / 64; w++)
		if (ev[w])
			return true;
	for (unsigned i = 0; i < 3; i++)
		if (chs[i] && vmbus_ring_has_data(chs[i]))
			return true;
	return false;
}

/* wait_for_completion_timeout() on a flag the channel callbacks set. */
static bool wait_for(const bool *flag, uint64_t ms)
{
	uint64_t t0 = rdtsc(), limit = hv_ms_to_tsc(ms);

	for (;;) {
		vmbus_service();
		if (*(const volatile bool *)flag)
			return true;
		if (rdtsc() - t0 > limit)
			return false;
		hv_idle(io_pending);
	}
}

/* vmbus_open(): a GPADL over both rings (ours first), OPENCHANNEL to our
 * VP, hv_ringbuffer_init() state; as vmbus.c open_ic() does for the ICs. */
static bool open_device(struct vmbus_channel *ch, const char *name, unsigned pages, uint32_t max_pkt,
			void (*cb)(struct vmbus_channel *))
{
	struct vmbus_msg_open m = { .hdr.msgtype = CHANNELMSG_OPENCHANNEL };
	const struct vmbus_msg_open_result *r = (const void *)vmbus_reply;
	uint8_t *p = hv_alloc_pages(2 * pages);
	uint32_t st;
	uint16_t pst;

	if (!p)
		return desk_fail("no memory for the %s rings", name);
	ch->gpadl = vmbus_next_gpadl();
	st = vmbus_establish_gpadl(ch->relid, hv_gpa(p), 2 * pages, ch->gpadl, OPEN_WAIT_MS, NULL);
	if (st == VMBUS_ANY)
		return desk_fail("%s relid %u: no GPADL_CREATED", name, ch->relid);
	if (st)
		return desk_fail("%s relid %u: GPADL 0x%x refused: status 0x%x", name, ch->relid,
				 ch->gpadl, st);
	ch->out = (volatile struct hv_ring_buffer *)p;
	ch->out_data = p + RING_HEADER_SIZE;
	ch->out_size = (pages - 1) * 4096;
	ch->in = (volatile struct hv_ring_buffer *)(p + pages * 4096);
	ch->in_data = p + pages * 4096 + RING_HEADER_SIZE;
	ch->in_size = (pages - 1) * 4096;
	ch->out->feature_bits = 1;
	ch->in->feature_bits = 1;
	ch->out_write = ch->in_read = ch->in_committed = 0;
	ch->max_pkt = max_pkt;
	ch->callback = cb;

	m.child_relid = ch->relid;
	m.openid = ch->relid;
	m.ringbuffer_gpadlhandle = ch->gpadl;
	m.target_vp = hv.vp_index;
	m.downstream_ringbuffer_pageoffset = pages;
	vmbus_expect(CHANNELMSG_OPENCHANNEL_RESULT, ch->relid, ch->relid);
	pst = vmbus_post_msg(&m, sizeof(m));
	if (pst)
		return desk_fail("%s OPENCHANNEL: HvPostMessage status %u (%s)", name, pst,
				 hv_status_name(pst));
	if (!vmbus_wait_reply(OPEN_WAIT_MS, NULL))
		return desk_fail("%s relid %u: no OPENCHANNEL_RESULT", name, ch->relid);
	if (r->status)
		return desk_fail("%s relid %u: OPENCHANNEL refused: status 0x%x", name, ch->relid,
				 r->status);
	ch->open = true;
	kprintf("vmbus: open %s relid %u\n", name, ch->relid);
	return true;
}

/* ==== synthetic video ==== */

/* hyperv_sendpacket(): the pipe header around the message in vmsg,
 * whose body (at vmsg + SV_HDR) the caller wrote. */
static bool video_send(uint32_t type, uint32_t body_len)
{
	uint32_t vsize = 8 + body_len; /* synthvid_msg_hdr.size: header and body */

	wr32(vmsg, PIPE_MSG_DATA);
	wr32(vmsg + 4, vsize);
	wr32(vmsg + 8, type);
	wr32(vmsg + 12, vsize);
	return vmbus_sendpacket(video, vmsg, vsize + 8, ++req_id) == 0;
}

static uint8_t *video_body(uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		vmsg[SV_HDR + i] = 0;
	return vmsg + SV_HDR;
}

static bool mode_fits(uint32_t w, uint32_t h)
{
	return w && h && w <= MAX_WIDTH && h <= MAX_HEIGHT && (uint64_t)w * h * 4 <= vram_size;
}

/* hyperv_update_situation(): output 0 active at VRAM offset 0, 32 bpp. */
static bool situation_update(void)
{
	uint8_t *b = video_body(27);

	b[8] = 1;                       /* video_output_count */
	b[9] = 1;                       /* active */
	wr32(b + 10, 0);                /* vram_offset */
	b[14] = 32;                     /* depth_bits */
	wr32(b + 15, info.width);
	wr32(b + 19, info.height);
	wr32(b + 23, info.pitch);
	return video_send(SYNTHVID_SITUATION_UPDATE, 27);
}

/* hyperv_hide_hw_ptr(): the host's pointer visible at 0,0 but a 1x1
 * transparent image; we draw our own. */
static void hide_hw_ptr(void)
{
	uint8_t *b = video_body(22);

	b[0] = 1; /* is_visible */
	video_send(SYNTHVID_POINTER_POSITION, 10);
	b = video_body(22);
	b[0] = SYNTHVID_CURSOR_COMPLETE; /* part_idx */
	b[1] = 1;                        /* is_argb */
	wr32(b + 2, 1);                  /* width */
	wr32(b + 6, 1);                  /* height */
	b[19] = b[20] = b[21] = 1;       /* data[] = { 0, 1, 1, 1 } */
	video_send(SYNTHVID_POINTER_SHAPE, 22);
}

static void rescale_pointer(void)
{
	if (range_x)
		ptr_x = (int32_t)(raw_x * info.width / range_x);
	if (range_y)
		ptr_y = (int32_t)(raw_y * info.height / range_y);
	if (ptr_x >= (int32_t)info.width)
		ptr_x = (int32_t)info.width - 1;
	if (ptr_y >= (int32_t)info.height)
		ptr_y = (int32_t)info.height - 1;
}

/* Not in Linux (hyperv_drm reads the list once): a resolution list the
 * host sends unasked, with a new default, is a request to switch to it. */
static void host_resolution(uint32_t w, uint32_t h)
{
	struct desk_event e = { .type = DESK_EV_MODE };

	if (w == info.width && h == info.height)
		return;
	if (!mode_fits(w, h)) {
		note("mode %ux%u refused (VRAM %llu MiB)", w, h, (unsigned long long)(vram_size >> 20));
		return;
	}
	info.width = w;
	info.height = h;
	info.pitch = w * 4;
	if (!situation_update())
		note("SITUATION_UPDATE for %ux%u not sent (ring full)", w, h);
	kprintf("desktop: mode %ux%u\n", w, h);
	rescale_pointer();
	e.x = (int32_t)w;
	e.y = (int32_t)h;
	push_event(&e);
	if (range_x || range_y) { /* the pointer seen: where it is now */
		e = (struct desk_event){ .type = DESK_EV_POINTER, .buttons = ptr_buttons,
					 .x = ptr_x, .y = ptr_y };
		push_event(&e);
	}
}

/* hyperv_get_supported_resolution()'s checks; the default resolution. */
static bool parse_resolutions(const uint8_t *b, uint32_t len, uint32_t *w, uint32_t *h)
{
	uint32_t count, index;

	if (len < SYNTHVID_EDID_BLOCK_SIZE + 3)
		return false;
	count = b[SYNTHVID_EDID_BLOCK_SIZE];
	index = b[SYNTHVID_EDID_BLOCK_SIZE + 1];
	if (!count || count > SYNTHVID_MAX_RESOLUTION_COUNT || index >= count ||
	    len < SYNTHVID_EDID_BLOCK_SIZE + 3 + 4 * count)
		return false;
	*w = rd16(b + SYNTHVID_EDID_BLOCK_SIZE + 3 + 4 * index);
	*h = rd16(b + SYNTHVID_EDID_BLOCK_SIZE + 3 + 4 * index + 2);
	return true;
}

/* hyperv_receive_sub() */
static void video_message(uint32_t type, const uint8_t *b, uint32_t len)
{
	struct desk_event redraw = { .type = DESK_EV_REDRAW };
	uint32_t w = 0, h = 0;
	bool ok;

	switch (type) {
	case SYNTHVID_VERSION_RESPONSE:
		if (len < 6)
			break;
		sv_ver_accepted = b[4]; /* is_accepted */
		sv_ver_got = true;
		return;
	case SYNTHVID_VRAM_LOCATION_ACK:
		if (len < 8)
			break;
		sv_ack_ctx = rd64(b);
		sv_ack_got = true;
		return;
	case SYNTHVID_RESOLUTION_RESPONSE:
		ok = parse_resolutions(b, len, &w, &h);
		if (sv_res_wanted) {
			sv_res_wanted = false;
			sv_res_ok = ok;
			sv_res_w = w;
			sv_res_h = h;
			sv_res_got = true;
		} else if (!ok) {
			note("malformed resolution list ignored");
		} else if (running) {
			host_resolution(w, h);
		}
		return;
	case SYNTHVID_FEATURE_CHANGE:
		if (len < 4)
			break;
		dirt_needed = b[0]; /* is_dirt_needed */
		if (dirt_needed)
			hide_hw_ptr();
		if (b[3] && running) /* is_situ_needed (hyperv_fb) */
			situation_update();
		if (dirt_needed && running) /* hyperv_fb: a full update follows */
			push_event(&redraw);
		return;
	case SYNTHVID_SITUATION_UPDATE_ACK:
		return;
	default:
		note("video message type %u (%u bytes) ignored", type, len);
		return;
	}
	note("video message type %u of %u bytes ignored (too short)", type, len);
}

/* hyperv_receive() */
static void video_cb(struct vmbus_channel *ch)
{
	for (unsigned n = 0; n < 64; n++) {
		uint32_t len = 0, psize, vsize;
		uint64_t tid = 0;
		int r = vmbus_recvpacket(ch, vpkt, VIDEO_PKT_MAX, &len, &tid);

		if (r == 0)
			return;
		if (r < 0 || ch->last_type != VM_PKT_DATA_INBAND || len < SV_HDR ||
		    rd32(vpkt) != PIPE_MSG_DATA)
			continue;
		/* The headers, not the padded packet, say where it ends. */
		psize = rd32(vpkt + 4);
		vsize = rd32(vpkt + 12);
		if (psize > len - 8 || vsize < 8 || vsize > psize) {
			note("video packet with sizes %u/%u in %u bytes ignored", psize, vsize, len);
			continue;
		}
		video_message(rd32(vpkt + 8), vpkt + SV_HDR, vsize - 8);
	}
}

/* hyperv_negotiate_version(): 1 accepted, 0 refused, -1 no answer. */
static int video_version(uint32_t ver)
{
	wr32(video_body(4), ver);
	sv_ver_got = false;
	if (!video_send(SYNTHVID_VERSION_REQUEST, 4) || !wait_for(&sv_ver_got, VIDEO_WAIT_MS))
		return -1;
	return sv_ver_accepted;
}

/* PkgLength (ACPI 6.4 §20.2.4): the length and how many bytes encode it. */
static uint32_t pkg_length(const uint8_t *p, const uint8_t *end, uint32_t *nbytes)
{
	uint32_t n = p[0] >> 6, len;

	if (p + 1 + n > end)
		return 0;
	*nbytes = 1 + n;
	if (!n)
		return p[0] & 0x3f;
	len = p[0] & 0x0f;
	for (uint32_t k = 1; k <= n; k++)
		len |= (uint32_t)p[k] << (4 + 8 * (k - 1));
	return len;
}

/* Name(_CRS, Buffer(){...}) in [p, end): its first memory range below
 * 4 GiB (QWord or DWord Address Space Descriptor, ACPI 6.4 §6.4.3.5). */
static bool crs_window(const uint8_t *p, const uint8_t *end, uint64_t *base, uint64_t *size)
{
	for (; p + 6 <= end; p++) {
		const uint8_t *q, *bend;
		uint32_t nb, blen;

		if (rd32(p) != rd32("_CRS") || p[-1] != 0x08 || p[4] != 0x11) /* NameOp, BufferOp */
			continue;
		blen = pkg_length(p + 5, end, &nb);
		if (!blen)
			continue;
		bend = p + 5 + blen < end ? p + 5 + blen : end;
		q = p + 5 + nb;
		if (*q == 0x0a) /* BufferSize: BytePrefix, WordPrefix, DWordPrefix */
			q += 2;
		else if (*q == 0x0b)
			q += 3;
		else if (*q == 0x0c)
			q += 5;
		else
			continue;
		while (q < bend) {
			uint32_t l;
			uint64_t b = 0, n = 0;

			if (!(*q & 0x80)) { /* small item; End Tag stops */
				if ((*q >> 3) == 0xf)
					break;
				q += 1 + (*q & 7);
				continue;
			}
			if (q + 3 > bend)
				break;
			l = rd16(q + 1);
			if (q + 3 + l > bend)
				break;
			if (q[0] == 0x8a && l >= 43 && q[3] == 0) { /* QWord, memory */
				b = rd64(q + 14);
				n = rd64(q + 38);
			} else if (q[0] == 0x87 && l >= 23 && q[3] == 0) { /* DWord, memory */
				b = rd32(q + 10);
				n = rd32(q + 22);
			}
			if (n && b < MAPPED_END && n <= MAPPED_END - b) {
				*base = b;
				*size = n;
				return true;
			}
			q += 3 + l;
		}
	}
	return false;
}

/* \_SB.VMBS's _CRS in the DSDT (what vmbus_acpi_add() walks with
 * vmbus_walk_resources()): DefDevice = ExtOpPrefix DeviceOp PkgLength
 * NameString TermList. */
static bool vmbus_window(const uint8_t *dsdt, uint64_t *base, uint64_t *size)
{
	const uint8_t *end;

	if (!dsdt)
		return false;
	end = dsdt + rd32(dsdt + 4);
	for (const uint8_t *p = dsdt + 36 + 6; p + 4 <= end; p++) {
		if (rd32(p) != rd32("VMBS"))
			continue;
		for (uint32_t n = 1; n <= 4; n++) {
			const uint8_t *op = p - n - 2, *dev_end;
			uint32_t nb = 0, plen;

			if (op[0] != 0x5b || op[1] != 0x82)
				continue;
			plen = pkg_length(op + 2, end, &nb);
			if (nb != n || !plen)
				continue;
			dev_end = op + 2 + plen < end ? op + 2 + plen : end;
			if (crs_window(p + 4, dev_end, base, size))
				return true;
		}
	}
	return false;
}

extern uint64_t pml4[];

/* hyperv_setup_vram(): "Map the VRAM cacheable for performance ... the
 * host also maps the VRAM cacheable" (ioremap_cache()).  Our page tables
 * map [3 GiB, 4 GiB) uncached; make the VRAM's 2 MiB pages write-back. */
static void vram_cacheable(uint64_t gpa, uint64_t size)
{
	const uint64_t addr = 0x000ffffffffff000ull;
	uint64_t *pdpt = phys(pml4[0] & addr), cr3;

	for (uint64_t a = ALIGN_DOWN(gpa, SZ_2M); a < gpa + size; a += SZ_2M) {
		uint64_t *pd = phys(pdpt[a >> 30] & addr);

		pd[(a >> 21) & 511] &= ~(uint64_t)(PTE_PCD | PTE_PWT);
	}
	asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* hyperv_connect_vsp(), hyperv_setup_vram(), hyperv_update_vram_location(),
 * then what hyperv_pipe_enable() does for the first mode. */
static bool video_connect(void)
{
	uint64_t win_base = MMIO_FALLBACK, win_size = 0x10000000;
	bool from_dsdt;
	int v;
	uint8_t *b;

	vpkt = hv_alloc_pages(VIDEO_PKT_MAX / 4096 + 1);
	if (!vpkt)
		return desk_fail("no memory for the video packet buffer");
	if (!open_device(video, "video", VIDEO_RING_PAGES, VIDEO_PKT_MAX, video_cb))
		return false;

	/* WIN10 (3.5), falling back to WIN8 (3.2). */
	sv_version = SYNTHVID_VERSION_WIN10;
	v = video_version(sv_version);
	if (v == 0) {
		sv_version = SYNTHVID_VERSION_WIN8;
		v = video_version(sv_version);
	}
	if (v < 0)
		return desk_fail("timeout waiting for SYNTHVID_VERSION_RESPONSE");
	if (!v)
		return desk_fail("synthetic video versions 3.5 and 3.2 refused");
	kprintf("desktop: synthvid version %u.%u\n", sv_version & 0xffff, sv_version >> 16);

	vram_size = (uint64_t)video->mmio_megabytes << 20;
	if (!vram_size)
		return desk_fail("video offer with mmio_megabytes 0");

	info.width = DEFAULT_WIDTH;
	info.height = DEFAULT_HEIGHT;
	if (sv_version == SYNTHVID_VERSION_WIN10) {
		/* hyperv_get_supported_resolution(): a failure keeps the default. */
		b = video_body(1);
		b[0] = SYNTHVID_MAX_RESOLUTION_COUNT;
		sv_res_wanted = true;
		sv_res_got = false;
		if (!video_send(SYNTHVID_RESOLUTION_REQUEST, 1) || !wait_for(&sv_res_got, VIDEO_WAIT_MS))
			return desk_fail("timeout waiting for SYNTHVID_RESOLUTION_RESPONSE");
		if (!sv_res_ok)
			note("malformed resolution list, using %ux%u", info.width, info.height);
		else if (!mode_fits(sv_res_w, sv_res_h))
			note("default resolution %ux%u does not fit, using %ux%u", sv_res_w, sv_res_h,
			     info.width, info.height);
		else {
			info.width = sv_res_w;
			info.height = sv_res_h;
		}
	}
	if (!mode_fits(info.width, info.height))
		return desk_fail("%ux%u does not fit the VRAM (%u MiB)", info.width, info.height,
				 video->mmio_megabytes);
	info.pitch = info.width * 4;

	/* vmbus_allocate_mmio(): the start of the VMBus MMIO window. */
	from_dsdt = vmbus_window(vmbus_cfg->acpi->dsdt, &win_base, &win_size);
	vram_gpa = ALIGN_UP(win_base, MIB);
	if (vram_gpa + vram_size > win_base + win_size || vram_gpa + vram_size > MAPPED_END)
		return desk_fail("VRAM of %llu MiB does not fit the MMIO window 0x%llx+0x%llx",
				 (unsigned long long)(vram_size >> 20), (unsigned long long)win_base,
				 (unsigned long long)win_size);
	kprintf("desktop: vram 0x%llx %llu MiB (mmio window 0x%llx+0x%llx%s)\n",
		(unsigned long long)vram_gpa, (unsigned long long)(vram_size >> 20),
		(unsigned long long)win_base, (unsigned long long)win_size,
		from_dsdt ? " from the DSDT" : ", not in the DSDT: assumed");

	/* hyperv_update_vram_location() */
	b = video_body(17);
	wr64(b, vram_gpa);      /* user_ctx */
	b[8] = 1;               /* is_vram_gpa_specified */
	wr64(b + 9, vram_gpa);  /* vram_gpa */
	sv_ack_got = false;
	if (!video_send(SYNTHVID_VRAM_LOCATION, 17) || !wait_for(&sv_ack_got, VIDEO_WAIT_MS))
		return desk_fail("timeout waiting for SYNTHVID_VRAM_LOCATION_ACK");
	if (sv_ack_ctx != vram_gpa)
		return desk_fail("VRAM location not acknowledged (user_ctx 0x%llx)",
				 (unsigned long long)sv_ack_ctx);
	vram_cacheable(vram_gpa, vram_size);
	info.fb = vram_gpa;

	/* hyperv_pipe_enable(): hide the host's pointer, set the mode. */
	hide_hw_ptr();
	if (!situation_update())
		return desk_fail("SITUATION_UPDATE not sent");
	kprintf("desktop: mode %ux%u\n", info.width, info.height);
	return true;
}

/* ==== keyboard ==== */

/* Set-1 make codes 0x00..0x39, US layout, without and with shift. */
static const char key_lower[0x3a] = {
	0, 0, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', 0,
	'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
	'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
	'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char key_upper[0x3a] = {
	0, 0, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', 0,
	'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0, 'A', 'S',
	'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
	'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};

/* hv_kbd_on_receive() feeds [E0] [E1] make_code | BREAK to the i8042
 * serio; here the set-1 code becomes ASCII directly. */
static void key_event(uint16_t make, uint32_t flags)
{
	struct desk_event e = { .type = DESK_EV_KEY };
	bool brk = flags & IS_BREAK, shift;
	uint8_t code = make & 0x7f;
	char ch = 0;

	if (flags & IS_E1) /* Pause */
		return;
	if (flags & IS_E0) {
		if (code == 0x1d) /* right Ctrl */
			ctrl = !brk;
		else if (code == 0x1c) /* keypad Enter */
			ch = '\n';
		else if (code == 0x35) /* keypad / */
			ch = '/';
		/* E0 2A / E0 36 (fake shifts) and the rest: nothing to type. */
	} else {
		switch (code) {
		case 0x2a:
			shift_l = !brk;
			return;
		case 0x36:
			shift_r = !brk;
			return;
		case 0x1d:
			ctrl = !brk;
			return;
		case 0x3a:
			if (!brk)
				caps = !caps;
			return;
		}
		if (code < sizeof(key_lower)) {
			shift = shift_l || shift_r;
			if (key_lower[code] >= 'a' && key_lower[code] <= 'z')
				shift ^= caps;
			ch = shift ? key_upper[code] : key_lower[code];
		}
	}
	if (brk || !ch || ctrl)
		return;
	if (ch >= ' ' && ch <= '~')
		kprintf("desktop: key '%c'\n", ch);
	e.ch = ch;
	push_event(&e);
}

/* hv_kbd_on_channel_callback() -> hv_kbd_handle_received_packet() */
static void kbd_cb(struct vmbus_channel *ch)
{
	for (unsigned n = 0; n < 64; n++) {
		uint32_t len = 0;
		uint64_t tid = 0;
		int r = vmbus_recvpacket(ch, kpkt, KBD_PKT_MAX, &len, &tid);

		if (r == 0)
			return;
		if (r < 0 || ch->last_type == VM_PKT_COMP)
			continue;
		if (ch->last_type != VM_PKT_DATA_INBAND || len <= 4) {
			note("keyboard packet type %u of %u bytes ignored", ch->last_type, len);
			continue;
		}
		switch (rd32(kpkt)) {
		case SYNTH_KBD_PROTOCOL_RESPONSE:
			if (len < 8)
				break;
			kbd_status = rd32(kpkt + 4);
			kbd_resp_got = true;
			continue;
		case SYNTH_KBD_EVENT:
			if (len < 12)
				break;
			if (running) /* kbd_dev->started */
				key_event(rd16(kpkt + 4), rd32(kpkt + 8));
			continue;
		default:
			note("keyboard message type %u ignored", rd32(kpkt));
			continue;
		}
		note("keyboard message type %u of %u bytes ignored", rd32(kpkt), len);
	}
}

/* hv_kbd_connect_to_vsp() */
static bool kbd_connect(void)
{
	uint8_t req[8];

	kpkt = hv_alloc_pages(1);
	if (!kpkt)
		return desk_fail("no memory for the keyboard packet buffer");
	if (!open_device(kbd, "keyboard", INPUT_RING_PAGES, KBD_PKT_MAX, kbd_cb))
		return false;
	wr32(req, SYNTH_KBD_PROTOCOL_REQUEST);
	wr32(req + 4, SYNTH_KBD_VERSION);
	kbd_resp_got = false;
	if (vmbus_sendpacket_flags(kbd, req, sizeof(req), ++req_id,
				   VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) < 0 ||
	    !wait_for(&kbd_resp_got, KBD_WAIT_MS))
		return desk_fail("timeout waiting for the keyboard's PROTOCOL_RESPONSE");
	if (!(kbd_status & PROTOCOL_ACCEPTED))
		return desk_fail("keyboard protocol 1.0 refused (status 0x%x)", kbd_status);
	return true;
}

/* ==== mouse ==== */

/*
 * hid-core.c hid_open_report() / hid_parser_*(), reduced to what an
 * absolute pointer needs: walk the items, keep the global state (with
 * push/pop) and the local usages, and at each Input main item note where
 * X (usage 0x01:0x30), Y (0x31), the wheel (0x38) and buttons 1-3 (page
 * 9) sit: report id, bit offset, bit size, logical minimum and maximum.
 */
struct hid_global {
	uint32_t page, size, count, id;
	int32_t min, max;
};

static void hid_note_field(struct hid_field *f, const struct hid_global *g, uint32_t offset,
			   bool relative)
{
	if (f->found || !g->size || g->size > 32)
		return;
	*f = (struct hid_field){ .found = true, .relative = relative, .report_id = (uint8_t)g->id,
				 .offset = offset, .size = g->size, .min = g->min, .max = g->max };
}

static bool hid_parse(const uint8_t *d, uint32_t len)
{
	struct hid_global g = { 0 }, stack[4];
	uint32_t usages[16], nusages = 0, umin = 0, umax = 0, sp = 0;
	bool range = false;
	struct {
		uint8_t id;
		uint32_t bits;
	} offs[8];
	uint32_t noffs = 0;

	for (uint32_t i = 0; i < len;) {
		uint8_t b = d[i];
		uint32_t sz = b & 3, type = (b >> 2) & 3, tag = b >> 4, u = 0;
		int32_t s;

		if (b == 0xfe) { /* long item: skipped, as hid-core does */
			if (i + 1 >= len)
				return false;
			i += 3 + d[i + 1];
			continue;
		}
		if (sz == 3)
			sz = 4;
		if (i + 1 + sz > len)
			return false;
		for (uint32_t k = 0; k < sz; k++)
			u |= (uint32_t)d[i + 1 + k] << (8 * k);
		s = sz == 1 ? (int8_t)u : sz == 2 ? (int16_t)u : (int32_t)u;
		i += 1 + sz;

		switch (type) {
		case 0: /* main */
			if (tag == 0x8) { /* Input */
				uint32_t *off = NULL;

				for (uint32_t k = 0; k < noffs; k++)
					if (offs[k].id == g.id)
						off = &offs[k].bits;
				if (!off && noffs < 8) {
					offs[noffs].id = (uint8_t)g.id;
					offs[noffs].bits = 0;
					off = &offs[noffs++].bits;
				}
				if (!off)
					return false;
				/* Data (not Constant), Variable (not Array) */
				for (uint32_t k = 0; !(u & 1) && (u & 2) && k < g.count && k < 64; k++) {
					uint32_t usage = range ? (umin + k < umax ? umin + k : umax) :
							 nusages ? usages[k < nusages ? k : nusages - 1] : 0;
					uint32_t at = *off + k * g.size;

					if (usage == 0x10030)
						hid_note_field(&f_x, &g, at, u & 4);
					else if (usage == 0x10031)
						hid_note_field(&f_y, &g, at, u & 4);
					else if (usage == 0x10038)
						hid_note_field(&f_wheel, &g, at, u & 4);
					else if (usage >= 0x90001 && usage <= 0x90003)
						hid_note_field(&f_btn[usage - 0x90001], &g, at, false);
				}
				*off += g.size * g.count;
			}
			/* Output, Feature, Collection, End Collection: locals end. */
			nusages = 0;
			range = false;
			umin = umax = 0;
			break;
		case 1: /* global */
			switch (tag) {
			case 0x0: g.page = u; break;
			case 0x1: g.min = s; break;
			case 0x2: g.max = g.min < 0 ? s : (int32_t)u; break;
			case 0x7: g.size = u; break;
			case 0x8: g.id = u; hid_numbered = true; break;
			case 0x9: g.count = u; break;
			case 0xa: if (sp < 4) stack[sp++] = g; break; /* Push */
			case 0xb: if (sp) g = stack[--sp]; break;     /* Pop */
			}
			break;
		case 2: /* local: a short usage takes the current usage page */
			if (sz < 4)
				u |= g.page << 16;
			if (tag == 0x0 && nusages < 16)
				usages[nusages++] = u;
			else if (tag == 0x1)
				umin = u;
			else if (tag == 0x2) {
				umax = u;
				range = true;
			}
			break;
		}
	}
	return f_x.found && f_y.found;
}

static bool hid_field_get(const struct hid_field *f, const uint8_t *r, uint32_t len, uint8_t id,
			  int32_t *ret)
{
	uint64_t v = 0;
	uint32_t byte = f->offset / 8;

	if (!f->found || f->report_id != id || f->offset + f->size > len * 8)
		return false;
	for (uint32_t k = 0; k < 5 && byte + k < len; k++)
		v |= (uint64_t)r[byte + k] << (8 * k);
	v >>= f->offset % 8;
	if (f->size < 32) {
		v &= (1ull << f->size) - 1;
		if (f->min < 0 && (v >> (f->size - 1)))
			v |= ~0ull << f->size; /* sign-extend */
	}
	*ret = (int32_t)v;
	return true;
}

/* Absolute: (v - min) scaled to the screen; relative: a move. */
static void axis(const struct hid_field *f, int32_t v, uint64_t *raw, uint64_t *range, int32_t *pos,
		 uint32_t extent)
{
	if (f->relative) {
		int64_t p = (int64_t)*pos + v;

		*pos = (int32_t)(p < 0 ? 0 : p >= extent ? extent - 1 : p);
		*range = 0;
		return;
	}
	if (f->max <= f->min)
		return;
	*range = (uint64_t)((int64_t)f->max - f->min) + 1;
	*raw = v < f->min ? 0 : v > f->max ? *range - 1 : (uint64_t)((int64_t)v - f->min);
	*pos = (int32_t)(*raw * extent / *range);
}

/* hid_input_report() as the input layer would map it. */
static void mouse_report(const uint8_t *r, uint32_t len)
{
	struct desk_event e = { .type = DESK_EV_POINTER };
	uint8_t id = 0, buttons = 0;
	int32_t v;

	if (hid_numbered) { /* hid_report_raw_event(): the id byte first */
		if (!len)
			return;
		id = r[0];
		r++;
		len--;
	}
	if (hid_field_get(&f_x, r, len, id, &v))
		axis(&f_x, v, &raw_x, &range_x, &ptr_x, info.width);
	if (hid_field_get(&f_y, r, len, id, &v))
		axis(&f_y, v, &raw_y, &range_y, &ptr_y, info.height);
	for (unsigned k = 0; k < 3; k++)
		if (hid_field_get(&f_btn[k], r, len, id, &v) && v)
			buttons |= 1u << k;
	if (hid_field_get(&f_wheel, r, len, id, &v))
		e.wheel = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
	if (buttons & ~ptr_buttons)
		kprintf("desktop: pointer %d,%d\n", ptr_x, ptr_y);
	ptr_buttons = buttons;
	e.buttons = buttons;
	e.x = ptr_x;
	e.y = ptr_y;
	push_event(&e);
}

/* mousevsc_on_receive_device_info(): keep the report descriptor, ack. */
static void mouse_device_info(const uint8_t *m, uint32_t size)
{
	uint8_t ack[17];
	uint32_t blen, rlen;

	ms_info_got = true;
	ms_info_ok = false;
	ms_info_error = "malformed INITIAL_DEVICE_INFO";
	if (size < 8 + 32 + 9) /* synthhid_msg_hdr, hv_input_dev_info, hid_descriptor */
		return;
	blen = m[40];
	rlen = rd16(m + 40 + 7); /* desc[0].wDescriptorLength */
	if (blen < 9 || !rlen || 40 + blen + rlen > size)
		return;
	if (rlen > HID_DESC_MAX) {
		ms_info_error = "report descriptor too long";
		return;
	}
	memcpy(hid_desc, m + 40 + blen, rlen);
	hid_desc_len = rlen;
	kprintf("desktop: mouse %04x:%04x report descriptor %u bytes\n", rd16(m + 12), rd16(m + 14),
		rlen);

	/* SYNTH_HID_INITIAL_DEVICE_INFO_ACK */
	wr32(ack, PIPE_MESSAGE_DATA);
	wr32(ack + 4, 9);
	wr32(ack + 8, SYNTH_HID_INITIAL_DEVICE_INFO_ACK);
	wr32(ack + 12, 1);
	ack[16] = 0;
	if (vmbus_sendpacket_flags(mouse, ack, sizeof(ack), ++req_id,
				   VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) < 0) {
		ms_info_error = "INITIAL_DEVICE_INFO_ACK not sent";
		return;
	}
	ms_info_ok = true;
}

/* mousevsc_on_channel_callback() -> mousevsc_on_receive() */
static void mouse_cb(struct vmbus_channel *ch)
{
	for (unsigned n = 0; n < 64; n++) {
		uint32_t len = 0, psize, rsize;
		uint64_t tid = 0;
		int r = vmbus_recvpacket(ch, mpkt, MOUSE_PKT_MAX, &len, &tid);

		if (r == 0)
			return;
		if (r < 0 || ch->last_type == VM_PKT_COMP)
			continue;
		if (ch->last_type != VM_PKT_DATA_INBAND || len < 16) {
			note("mouse packet type %u of %u bytes ignored", ch->last_type, len);
			continue;
		}
		if (rd32(mpkt) != PIPE_MESSAGE_DATA)
			continue;
		psize = rd32(mpkt + 4);
		if (psize > len - 8 || psize < 8) {
			note("mouse packet with pipe size %u in %u bytes ignored", psize, len);
			continue;
		}
		switch (rd32(mpkt + 8)) {
		case SYNTH_HID_PROTOCOL_RESPONSE:
			if (psize != 13) { /* Linux copies at most this much */
				note("mouse PROTOCOL_RESPONSE of %u bytes ignored", psize);
				break;
			}
			ms_approved = mpkt[20];
			ms_resp_got = true;
			break;
		case SYNTH_HID_INITIAL_DEVICE_INFO:
			mouse_device_info(mpkt + 8, psize);
			break;
		case SYNTH_HID_INPUT_REPORT:
			if (!running) /* input_dev->init_complete */
				break;
			rsize = rd32(mpkt + 12);
			mouse_report(mpkt + 16, rsize < psize - 8 ? rsize : psize - 8);
			break;
		default:
			note("mouse message type %u ignored", rd32(mpkt + 8));
			break;
		}
	}
}

static void print_field(const char *name, const struct hid_field *f)
{
	if (f->found)
		kprintf(" %s %u@%u %d..%d%s", name, f->size, f->offset, f->min, f->max,
			f->relative ? " rel" : "");
}

/* mousevsc_connect_to_vsp(), then hid_parse() */
static bool mouse_connect(void)
{
	uint8_t req[20];

	mpkt = hv_alloc_pages(MOUSE_PKT_MAX / 4096 + 1);
	if (!mpkt)
		return desk_fail("no memory for the mouse packet buffer");
	if (!open_device(mouse, "mouse", INPUT_RING_PAGES, MOUSE_PKT_MAX, mouse_cb))
		return false;
	wr32(req, PIPE_MESSAGE_DATA);
	wr32(req + 4, 12);                      /* sizeof(struct synthhid_protocol_request) */
	wr32(req + 8, SYNTH_HID_PROTOCOL_REQUEST);
	wr32(req + 12, 4);                      /* sizeof(unsigned int) */
	wr32(req + 16, SYNTHHID_INPUT_VERSION);
	ms_resp_got = ms_info_got = false;
	if (vmbus_sendpacket_flags(mouse, req, sizeof(req), ++req_id,
				   VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) < 0 ||
	    !wait_for(&ms_resp_got, MOUSE_WAIT_MS))
		return desk_fail("timeout waiting for the mouse's PROTOCOL_RESPONSE");
	if (!ms_approved)
		return desk_fail("mouse protocol 2.0 refused");
	if (!wait_for(&ms_info_got, MOUSE_WAIT_MS))
		return desk_fail("timeout waiting for the mouse's INITIAL_DEVICE_INFO");
	if (!ms_info_ok)
		return desk_fail("mouse: %s", ms_info_error);
	/* mousevsc_probe(): "workaround SA-167" */
	if (hid_desc_len > 14 && hid_desc[14] == 0x25)
		hid_desc[14] = 0x29;
	if (!hid_parse(hid_desc, hid_desc_len))
		return desk_fail("mouse report descriptor without X and Y");
	kprintf("desktop: mouse fields%s", hid_numbered ? " (numbered)" : "");
	print_field("x", &f_x);
	print_field("y", &f_y);
	print_field("wheel", &f_wheel);
	for (unsigned k = 0; k < 3; k++)
		if (f_btn[k].found)
			kprintf(" button%u@%u", k + 1, f_btn[k].offset);
	kprintf("\n");
	ptr_x = (int32_t)info.width / 2;
	ptr_y = (int32_t)info.height / 2;
	return true;
}

/* ==== the frame call ==== */

/* hyperv_update_dirt(), with all of a frame's rectangles in one message. */
static void send_dirt(const struct desk_sync *s)
{
	uint32_t n = 0, max = s->nrects < DESK_MAX_RECTS ? s->nrects : DESK_MAX_RECTS;
	uint8_t *b = video_body(2);

	for (uint32_t i = 0; i < max; i++) {
		int64_t x1 = s->rects[i].x, y1 = s->rects[i].y;
		int64_t x2 = x1 + s->rects[i].w, y2 = y1 + s->rects[i].h;

		x1 = x1 < 0 ? 0 : x1;
		y1 = y1 < 0 ? 0 : y1;
		x2 = x2 > info.width ? info.width : x2;
		y2 = y2 > info.height ? info.height : y2;
		if (x2 <= x1 || y2 <= y1)
			continue;
		wr32(b + 2 + 16 * n, (uint32_t)x1);
		wr32(b + 6 + 16 * n, (uint32_t)y1);
		wr32(b + 10 + 16 * n, (uint32_t)x2);
		wr32(b + 14 + 16 * n, (uint32_t)y2);
		n++;
	}
	if (!n || !dirt_needed)
		return;
	b[0] = 0; /* video_output */
	b[1] = (uint8_t)n;
	if (!video_send(SYNTHVID_DIRT, 2 + 16 * n) && dirt_dropped++ == 0)
		note("DIRT not sent (ring full); counting");
}

static bool quit_pending(void)
{
	return ic_shutdown_pending || ic_restart_pending;
}

uint64_t desktop_syscall(uint64_t arg)
{
	struct desk_sync *s = (struct desk_sync *)(uintptr_t)arg;
	uint32_t n = 0;

	if (!running || !s)
		return ~0ull;
	send_dirt(s);
	vmbus_service();
	while (s->deadline && !ev_count && !quit_pending() && (int64_t)(s->deadline - rdtsc()) > 0) {
		hv_idle(io_pending);
		if (io_pending()) /* most wakeups are the 10 ms tick: nothing to serve */
			vmbus_service();
	}
	for (; ev_count && n < DESK_MAX_EVENTS; n++) {
		s->events[n] = evq[ev_first];
		ev_first = (ev_first + 1) % EVQ;
		ev_count--;
	}
	s->nevents = n;
	s->quit = quit_pending();
	info.host_time = ic_host_time;
	info.host_time_tsc = ic_host_time_tsc;
	return n;
}

/*
 * desktop=hostile: before the desktop starts, send the video device what
 * the host must refuse (vgpu/synthvid.c): VRAM outside the MMIO window or
 * unaligned, absurd modes and strides, dirty rectangles outside the
 * surface or beyond the packet, truncated and unknown messages; and
 * garbage to the keyboard and mouse.  Then the valid mode again: the host
 * must still show the desktop.
 */
static void desktop_hostile(void)
{
	static const uint64_t bad_vram[] = { 0x1000, 0xdff00000, 0xe0000800, 0xeff00000,
					     0xffffffffffff0000ull };
	static const uint32_t bad_modes[][4] = {
		/* width, height, pitch, depth */
		{ 100000, 768, 400000, 32 }, { 1024, 0, 4096, 32 }, { 1024, 768, 100, 32 },
		{ 1024, 768, 4096, 16 }, { 7680, 4320, 30720, 32 }, { 1024, 768, 0xfffffff0u, 32 },
	};
	uint64_t ctx;
	uint8_t *b;
	unsigned sent = 0;

	kprintf("desktop: hostile start\n");
	for (unsigned i = 0; i < NELEMS(bad_vram); i++) {
		b = video_body(17);
		ctx = 0xbad0000 + i;
		wr64(b, ctx);
		b[8] = 1;
		wr64(b + 9, bad_vram[i]);
		sv_ack_got = false;
		sent += video_send(SYNTHVID_VRAM_LOCATION, 17);
		/* The host must not acknowledge it; 200 ms is plenty to see one. */
		if (wait_for(&sv_ack_got, 200) && sv_ack_ctx == ctx)
			kprintf("desktop: hostile: VRAM at 0x%llx was acknowledged\n",
				(unsigned long long)bad_vram[i]);
	}
	for (unsigned i = 0; i < NELEMS(bad_modes); i++) {
		b = video_body(27);
		b[8] = 1;
		b[9] = 1;
		wr32(b + 10, i == 5 ? 0xfff00000u : 0);
		b[14] = (uint8_t)bad_modes[i][3];
		wr32(b + 15, bad_modes[i][0]);
		wr32(b + 19, bad_modes[i][1]);
		wr32(b + 23, bad_modes[i][2]);
		sent += video_send(SYNTHVID_SITUATION_UPDATE, 27);
	}
	/* Back to the real mode before the rectangles, so clipping is tested. */
	sent += situation_update();
	b = video_body(2 + 16 * 3);
	b[0] = 0;   /* video_output */
	b[1] = 3;   /* dirt_count */
	wr32(b + 2, 5000); wr32(b + 6, 5000); wr32(b + 10, 6000); wr32(b + 14, 6000);
	wr32(b + 18, 100); wr32(b + 22, 100); wr32(b + 26, 50); wr32(b + 30, 50);  /* x2 < x1 */
	wr32(b + 34, 0); wr32(b + 38, 0); wr32(b + 42, 0xffffffffu); wr32(b + 46, 0xffffffffu);
	sent += video_send(SYNTHVID_DIRT, 2 + 16 * 3);
	b = video_body(2 + 16);
	b[1] = 200; /* far more rectangles than the packet holds */
	sent += video_send(SYNTHVID_DIRT, 2 + 16);
	/* Truncated messages of each type, and unknown types. */
	for (uint32_t t = 1; t <= 20; t++) {
		video_body(1);
		sent += video_send(t, 1);
	}
	/* Garbage to the keyboard and mouse: unknown types, short messages. */
	for (unsigned i = 0; i < 8; i++) {
		vmsg[0] = (uint8_t)(0x40 + i);
		for (unsigned j = 1; j < 16; j++)
			vmsg[j] = (uint8_t)(i * 31 + j);
		if (kbd)
			sent += vmbus_sendpacket(kbd, vmsg, i + 1 < 8 ? 8 : 16, ++req_id) == 0;
		if (mouse)
			sent += vmbus_sendpacket(mouse, vmsg, 8, ++req_id) == 0;
	}
	/* The real mode again, as the desktop will draw it. */
	sent += situation_update();
	kprintf("desktop: hostile done (%u messages sent)\n", sent);
}

void desktop_main(uint8_t mode)
{
	video = find_class(&video_class);
	if (!video) {
		desk_fail("no synthetic video offer");
		return;
	}
	kbd = find_class(&kbd_class);
	mouse = find_class(&mouse_class);
	if (!video_connect())
		return;
	if (!kbd) {
		desk_fail("no synthetic keyboard offer");
		return;
	}
	if (!kbd_connect())
		return;
	if (!mouse) {
		desk_fail("no synthetic mouse offer");
		return;
	}
	if (!mouse_connect())
		return;
	if (mode == 3)
		desktop_hostile();

	info.anim = mode == 2 ? DESK_ANIM_MOTION : mode == 4 ? DESK_ANIM_OFFICE : 0;
	info.tsc_hz = hv.tsc_hz ? hv.tsc_hz : TIMEOUT_TSC;
	info.host_time = ic_host_time;
	info.host_time_tsc = ic_host_time_tsc;
	ev_first = ev_count = 0;
	running = true;
	/* Returns when the user code leaves with SYS_EXIT (a shutdown). */
	enter_user((void (*)(void *))desktop_user_main, &info, user_stack_top(0));
	running = false;
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include "synthvid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "synthvid-proto.h"
#include "util.h"
#include "vmbus.h"

LOG_SCOPE("vgpu.synthvid");

/* Ours, fixed so the guest sees the same device every boot. */
#define SYNTHVID_INSTANCE "4a5e3c1f-7b2d-4e86-9c0a-51d8f6b2e937"

/* A message-mode pipe channel, as every synthvid message's pipe header
 * says (VMBUS_CHANNEL_NAMED_PIPE_MODE, VMBUS_PIPE_TYPE_MESSAGE in
 * include/linux/hyperv.h; hyperv_drm does not look at them). */
#define CHANNEL_NAMED_PIPE_MODE 0x10
#define PIPE_TYPE_MESSAGE 4

#define DEFAULT_WIDTH 1024u
#define DEFAULT_HEIGHT 768u
#define VRAM_ALIGN 4096u
/* Bad guest messages logged: the first few, then every 1000th. */
#define LOG_FIRST 10u
/* Events the guest drives (negotiations, mode and VRAM changes) logged at
 * info level this many times, then at debug level: a guest repeating
 * them must not flood the log. */
#define LOG_EVENTS 32u

/* Messages to the guest, kept as bits until the ring has room and sent
 * in bit order: each is "the latest of its kind", so a guest that does
 * not read makes us hold nothing more. */
enum {
	SEND_VERSION = 1u << 0,
	SEND_FEATURE = 1u << 1,
	SEND_VRAM_ACK = 1u << 2,
	SEND_SITU_ACK = 1u << 3,
	SEND_RESOLUTIONS = 1u << 4,
};

struct vgpu_synthvid {
	struct vgpu_synthvid_config cfg;
	struct hv_vmbus_channel *ch;
	bool open, negotiated;
	uint32_t version; /* as on the wire (SYNTHVID_VERSION()) */
	uint64_t vram_gpa;
	struct vgpu_mode mode;
	/* The default resolution offered, and how many the guest last
	 * asked for (0: none yet). */
	uint32_t want_w, want_h;
	uint8_t max_resolutions;

	unsigned send; /* SEND_* */
	uint32_t resp_version;
	bool resp_accepted;
	uint64_t vram_ack_ctx, situ_ack_ctx;
	uint64_t next_trans_id;

	uint64_t dirt_messages, dirt_rects, bad_messages;
	unsigned events; /* logged so far */
	bool mono_warned;

	struct vgpu_rect rects[SYNTHVID_MAX_DIRT];
	struct synthvid_cursor cursor;
	uint8_t buf[SYNTHVID_MAX_HOST_MSG];
};

_printf_(2, 3) static void bad(struct vgpu_synthvid *sv, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	sv->bad_messages++;
	if (sv->bad_messages > LOG_FIRST && sv->bad_messages % 1000)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s (bad message %" PRIu64 ")", msg, sv->bad_messages);
}

_printf_(2, 3) static void event(struct vgpu_synthvid *sv, const char *fmt, ...)
{
	bool info = sv->events < LOG_EVENTS;
	enum log_level level = info ? LOG_INFO : LOG_DEBUG;
	char msg[256];
	va_list ap;

	if (info)
		sv->events++;
	if (!log_enabled(level, log_scope_))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_full(level, "%s%s", msg,
		 info && sv->events == LOG_EVENTS ? " (further video events: debug level)" : "");
}

static void notify_mode(struct vgpu_synthvid *sv)
{
	const struct vgpu_display_ops *d = sv->cfg.display;

	if (d && d->mode)
		d->mode(sv->cfg.display_data, &sv->mode);
}

static int encode(struct vgpu_synthvid *sv, unsigned what)
{
	/* We want everything the guest can tell (Linux only reads
	 * is_dirt_needed: without it hyperv_drm sends no DIRT). */
	static const struct synthvid_feature_change features = {
		.is_dirt_needed = 1,
		.is_ptr_pos_needed = 1,
		.is_ptr_shape_needed = 1,
		.is_situ_needed = 1,
	};
	struct synthvid_resolution list[SYNTHVID_MAX_RESOLUTIONS];
	uint8_t edid[SYNTHVID_EDID_SIZE];
	unsigned n, def;

	switch (what) {
	case SEND_VERSION:
		return synthvid_encode_version_resp(sv->buf, sizeof(sv->buf), sv->resp_version,
						    sv->resp_accepted);
	case SEND_FEATURE:
		return synthvid_encode_feature_change(sv->buf, sizeof(sv->buf), &features);
	case SEND_VRAM_ACK:
		return synthvid_encode_vram_ack(sv->buf, sizeof(sv->buf), sv->vram_ack_ctx);
	case SEND_SITU_ACK:
		return synthvid_encode_situation_ack(sv->buf, sizeof(sv->buf), sv->situ_ack_ctx);
	case SEND_RESOLUTIONS:
		n = synthvid_resolutions(sv->cfg.vram_size, sv->want_w, sv->want_h,
					 sv->max_resolutions ? sv->max_resolutions
							     : SYNTHVID_MAX_RESOLUTIONS,
					 list, &def);
		synthvid_build_edid(edid, list, n, def);
		return synthvid_encode_resolution_resp(sv->buf, sizeof(sv->buf), edid, list, n,
						       def);
	default:
		return -EINVAL;
	}
}

/* Send what waits, in order, until the ring is full (->writable() brings
 * us back). */
static void flush(struct vgpu_synthvid *sv)
{
	while (sv->open && sv->send) {
		unsigned what = sv->send & -sv->send;
		int len = encode(sv, what), r = len;

		if (len >= 0)
			r = hv_vmbus_send(sv->ch, HV_VMPKT_DATA_INBAND, 0, ++sv->next_trans_id,
					  sv->buf, len);
		if (r == -EAGAIN)
			return;
		if (r < 0)
			log_warn("cannot send message %#x to the guest: %s", what, strerror(-r));
		sv->send &= ~what;
	}
}

static void queue(struct vgpu_synthvid *sv, unsigned what)
{
	sv->send |= what;
	flush(sv);
}

static void on_version(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	uint32_t v = m->u.version_req.version;
	/* WIN8 and WIN10 are 32 bpp; WIN7's 16 bpp we cannot show, and a
	 * refusal makes an old guest give up cleanly (Linux 6.1 no longer
	 * asks for it). */
	bool ok = v == SYNTHVID_VERSION_WIN8 || v == SYNTHVID_VERSION_WIN10;

	sv->negotiated = ok;
	sv->version = ok ? v : 0;
	sv->resp_version = v;
	sv->resp_accepted = ok;
	event(sv, "%s synthetic video %u.%u", ok ? "guest speaks" : "refusing",
	      SYNTHVID_VERSION_MAJOR(v), SYNTHVID_VERSION_MINOR(v));
	/* Hyper-V tells a new guest what it wants right away. */
	queue(sv, ok ? SEND_VERSION | SEND_FEATURE : SEND_VERSION);
}

static void on_vram(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	const struct synthvid_vram_location *v = &m->u.vram;
	uint64_t gpa = v->vram_gpa, base = sv->cfg.mmio_base, window = sv->cfg.mmio_size;
	bool moved;
	int r;

	if (!v->is_vram_gpa_specified) {
		/* "Where the host put it": Hyper-V's generation 1 PCI BAR,
		 * which we do not have.  Nothing moves. */
		sv->vram_ack_ctx = v->user_ctx;
		queue(sv, SEND_VRAM_ACK);
		return;
	}
	/*
	 * hyperv_drm allocates mmio_megabytes from the VMBus window,
	 * 1 MiB-aligned (hyperv_setup_vram()).  A place outside it is not
	 * acknowledged: hyperv_drm goes on without VRAM after 10 s,
	 * hyperv_fb fails its probe.
	 */
	if (gpa % VRAM_ALIGN || gpa < base || gpa - base > window ||
	    sv->cfg.vram_size > window - (gpa - base)) {
		bad(sv, "VRAM location 0x%" PRIx64 " (+0x%zx) is not inside the MMIO window "
			"0x%" PRIx64 "+0x%" PRIx64 " and page-aligned", gpa, sv->cfg.vram_size,
		    base, window);
		return;
	}
	if (sv->cfg.map_vram) {
		r = sv->cfg.map_vram(sv->cfg.data, gpa);
		if (r < 0) {
			bad(sv, "cannot place the VRAM at 0x%" PRIx64 ": %s", gpa, strerror(-r));
			return;
		}
	}
	moved = sv->vram_gpa != gpa;
	sv->vram_gpa = gpa;
	if (moved)
		event(sv, "VRAM at 0x%" PRIx64, gpa);
	sv->vram_ack_ctx = v->user_ctx;
	queue(sv, SEND_VRAM_ACK);
	if (moved && sv->mode.valid)
		notify_mode(sv);
}

static void on_situation(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	const struct synthvid_video_output *o = &m->u.situ.video_output[0];
	struct vgpu_mode mode;

	if (synthvid_situation_mode(&m->u.situ, sv->cfg.vram_size, &mode) < 0) {
		bad(sv, "situation update refused: %u outputs, active %u, %ux%u, %u bpp, pitch %u, "
			"VRAM offset %u", m->u.situ.video_output_count, o->active, o->width_pixels,
		    o->height_pixels, o->depth_bits, o->pitch_bytes, o->vram_offset);
		return;
	}
	if (mode.valid != sv->mode.valid || mode.width != sv->mode.width ||
	    mode.height != sv->mode.height || mode.stride != sv->mode.stride ||
	    mode.vram_offset != sv->mode.vram_offset) {
		if (mode.valid)
			event(sv, "mode %ux%u, pitch %u, VRAM offset %" PRIu64, mode.width,
			      mode.height, mode.stride, mode.vram_offset);
		else
			event(sv, "display off");
	}
	sv->mode = mode;
	notify_mode(sv);
	/* Linux ignores the ack; Hyper-V's protocol has one. */
	sv->situ_ack_ctx = m->u.situ.user_ctx;
	queue(sv, SEND_SITU_ACK);
}

static void on_pointer_position(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	const struct synthvid_pointer_position *p = &m->u.ptr_pos;
	const struct vgpu_display_ops *d = sv->cfg.display;

	if (p->video_output) {
		bad(sv, "pointer position on output %u", p->video_output);
		return;
	}
	if (d && d->pointer_position)
		d->pointer_position(sv->cfg.display_data, p->image_x, p->image_y, p->is_visible);
}

static void on_pointer_shape(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	const struct synthvid_pointer_shape *s = &m->u.ptr_shape.hdr;
	const struct vgpu_display_ops *d = sv->cfg.display;
	struct synthvid_cursor *c = &sv->cursor;
	int r = synthvid_cursor_add(c, m);

	if (r == -ENOTSUP) {
		if (!sv->mono_warned)
			log_warn("monochrome pointer shapes are not supported");
		sv->mono_warned = true;
		return;
	}
	if (r < 0) {
		bad(sv, "pointer shape part %u, %ux%u, with %u bytes refused", s->part_idx,
		    s->width, s->height, m->u.ptr_shape.data_len);
		return;
	}
	if (r == 1 && d && d->pointer_shape)
		d->pointer_shape(sv->cfg.display_data, c->width, c->height, c->hot_x, c->hot_y, c->argb);
}

static void on_dirt(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	const struct vgpu_display_ops *d = sv->cfg.display;
	unsigned n;

	sv->dirt_messages++;
	if (m->u.dirt.hdr.video_output) {
		bad(sv, "dirt on output %u", m->u.dirt.hdr.video_output);
		return;
	}
	/* What fits is still used. */
	if (m->u.dirt.hdr.dirt_count > m->u.dirt.nrects)
		bad(sv, "dirt message claims %u rectangles and holds %u", m->u.dirt.hdr.dirt_count,
		    m->u.dirt.nrects);
	if (!sv->mode.valid)
		return;
	n = synthvid_clip_dirt(m, sv->mode.width, sv->mode.height, sv->rects);
	sv->dirt_rects += n;
	if (n && d && d->damage)
		d->damage(sv->cfg.display_data, sv->rects, n);
}

static void on_resolution_request(struct vgpu_synthvid *sv, const struct synthvid_msg *m)
{
	sv->max_resolutions = m->u.res_req.maximum_resolution_count;
	queue(sv, SEND_RESOLUTIONS);
}

static void sv_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data)
{
	struct vgpu_synthvid *sv = data;
	struct synthvid_msg m;
	int r;

	if (pkt->type == HV_VMPKT_COMP)
		return;
	if (pkt->type != HV_VMPKT_DATA_INBAND) {
		bad(sv, "packet of type %u", pkt->type);
		return;
	}
	r = synthvid_parse(pkt->data, pkt->len, &m);
	if (r == -ENOTSUP) {
		bad(sv, "message of unknown type %u", m.type);
		return;
	}
	if (r < 0) {
		bad(sv, "malformed message (%u bytes, type %u)", pkt->len, m.type);
		return;
	}
	if (m.type != SYNTHVID_VERSION_REQUEST && !sv->negotiated) {
		bad(sv, "%s before version negotiation", synthvid_msg_type_name(m.type));
		return;
	}
	switch (m.type) {
	case SYNTHVID_VERSION_REQUEST:
		on_version(sv, &m);
		break;
	case SYNTHVID_VRAM_LOCATION:
		on_vram(sv, &m);
		break;
	case SYNTHVID_SITUATION_UPDATE:
		on_situation(sv, &m);
		break;
	case SYNTHVID_POINTER_POSITION:
		on_pointer_position(sv, &m);
		break;
	case SYNTHVID_POINTER_SHAPE:
		on_pointer_shape(sv, &m);
		break;
	case SYNTHVID_DIRT:
		on_dirt(sv, &m);
		break;
	case SYNTHVID_RESOLUTION_REQUEST:
		on_resolution_request(sv, &m);
		break;
	default:
		bad(sv, "%s from the guest", synthvid_msg_type_name(m.type));
		break;
	}
}

/* Forget the connection: a new open starts from version negotiation. */
static void sv_reset(struct vgpu_synthvid *sv)
{
	sv->negotiated = false;
	sv->version = 0;
	sv->send = 0;
	sv->max_resolutions = 0;
	synthvid_cursor_reset(&sv->cursor);
	if (sv->mode.valid) {
		/* The guest's surface went with its driver. */
		sv->mode = (struct vgpu_mode){ .valid = false };
		notify_mode(sv);
	}
}

static int sv_open(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_synthvid *sv = data;

	sv_reset(sv);
	sv->open = true;
	return 0;
}

static void sv_writable(struct hv_vmbus_channel *ch, void *data)
{
	flush(data);
}

static void sv_close(struct hv_vmbus_channel *ch, void *data)
{
	struct vgpu_synthvid *sv = data;

	sv->open = false;
	sv_reset(sv);
}

static const struct hv_vmbus_device_ops sv_ops = {
	.name = "synthvid",
	.open = sv_open,
	.packet = sv_packet,
	.writable = sv_writable,
	.close = sv_close,
};

int vgpu_synthvid_new(const struct vgpu_synthvid_config *cfg, struct vgpu_synthvid **ret)
{
	struct hv_vmbus_offer offer = {
		.chn_flags = CHANNEL_NAMED_PIPE_MODE,
		.max_packet = SYNTHVID_MAX_PACKET,
	};
	struct vgpu_synthvid *sv;
	uint32_t w, h;
	int r;

	if (!cfg || !cfg->vmbus || !cfg->vram || !ret)
		return -EINVAL;
	/* mmio_megabytes is how much VRAM the guest maps. */
	if (!cfg->vram_size || cfg->vram_size % MiB || cfg->vram_size / MiB > UINT16_MAX)
		return -EINVAL;
	if (cfg->mmio_size < cfg->vram_size || cfg->mmio_base + cfg->mmio_size < cfg->mmio_base)
		return -EINVAL;
	w = cfg->width ? cfg->width : DEFAULT_WIDTH;
	h = cfg->height ? cfg->height : DEFAULT_HEIGHT;
	if (!synthvid_resolution_ok(cfg->vram_size, w, h))
		return -EINVAL;

	offer.mmio_megabytes = cfg->vram_size / MiB;
	offer.user_def[0] = PIPE_TYPE_MESSAGE;
	if (hv_guid_parse(VGPU_SYNTHVID_CLASS, &offer.if_type) < 0 ||
	    hv_guid_parse(SYNTHVID_INSTANCE, &offer.if_instance) < 0)
		return -EINVAL;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	sv->cfg = *cfg;
	sv->want_w = w;
	sv->want_h = h;
	synthvid_cursor_reset(&sv->cursor);
	r = hv_vmbus_add_device(cfg->vmbus, &offer, &sv_ops, sv, &sv->ch);
	if (r < 0) {
		free(sv);
		return r;
	}
	*ret = sv;
	return 0;
}

void vgpu_synthvid_free(struct vgpu_synthvid *sv)
{
	if (!sv)
		return;
	/* Removing the device may close the channel: no display calls from
	 * a device going away. */
	sv->cfg.display = NULL;
	hv_vmbus_remove_device(sv->ch);
	free(sv);
}

void vgpu_synthvid_get_mode(struct vgpu_synthvid *sv, struct vgpu_mode *ret)
{
	*ret = sv->mode;
}

int vgpu_synthvid_request_resolution(struct vgpu_synthvid *sv, uint32_t width, uint32_t height)
{
	if (!synthvid_resolution_ok(sv->cfg.vram_size, width, height))
		return -EINVAL;
	if (!sv->open || !sv->negotiated)
		return -ENOTCONN;
	log_info("asking the guest for %ux%u", width, height);
	sv->want_w = width;
	sv->want_h = height;
	queue(sv, SEND_RESOLUTIONS);
	return 0;
}

void vgpu_synthvid_get_stats(struct vgpu_synthvid *sv, struct vgpu_synthvid_stats *ret)
{
	*ret = (struct vgpu_synthvid_stats){
		.open = sv->open,
		.negotiated = sv->negotiated,
		.version = sv->version ? (uint32_t)SYNTHVID_VERSION_MAJOR(sv->version) << 16 |
						 SYNTHVID_VERSION_MINOR(sv->version)
				       : 0,
		.vram_gpa = sv->vram_gpa,
		.dirt_messages = sv->dirt_messages,
		.dirt_rects = sv->dirt_rects,
		.bad_messages = sv->bad_messages,
	};
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * RemoteFX surface bits (MS-RDPBCGR 2.2.9.2.1, MS-RDPRFX) for clients
 * without the graphics pipeline: the damaged tiles, encoded by rcc, as
 * Stream Surface Bits commands, bracketed by frame markers when the client
 * acknowledges frames.  A client without RemoteFX gets planar bitmap
 * updates instead (bitmap.c).
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>

#include <freerdp/update.h>

#include "log.h"
#include "session.h"

LOG_SCOPE("rdp.legacy");

/* Room for the fast-path and surface-bits headers around one message. */
#define LEGACY_HEADROOM 1024
#define LEGACY_MIN_MSG (16 * 1024)

int legacy_start(struct session *s)
{
	rdpSettings *st = s->ctx.settings;
	struct rcc_rfx_config cfg = { .width = s->width, .height = s->height };
	int r;

	if (!st->RemoteFxCodec || !st->SurfaceCommandsEnabled) {
		rcc_rfx_free(s->rfx);
		s->rfx = NULL;
		return bitmap_start(s);
	}
	rcc_planar_free(s->planar);
	s->planar = NULL;
	s->legacy_planar = false;
	if (s->rfx) {
		r = rcc_rfx_reset(s->rfx, s->width, s->height);
	} else {
		r = rcc_rfx_new(&cfg, &s->rfx);
	}
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: cannot set up RemoteFX for %ux%u", s->host,
				 s->width, s->height);
	/* Frame markers bracket each frame when the client asked for them;
	 * it acknowledges frames only if it also sent the frame-ack capset. */
	s->legacy_ack = st->SurfaceFrameMarkerEnabled && st->FrameAcknowledge > 0;
	rcc_pacer_reset(s->pacer);
	rcc_pacer_set_max_unacked(s->pacer, s->legacy_ack ? SESSION_MAX_UNACKED : 0);
	rcc_damage_add_all(s->damage);
	log_info("%s: output: RemoteFX surface bits %ux%u (codec id %u%s)", s->host, s->width,
		 s->height, st->RemoteFxCodecId, s->legacy_ack ? ", frame acks" : "");
	return 0;
}

void legacy_stop(struct session *s)
{
	rcc_rfx_free(s->rfx);
	s->rfx = NULL;
	rcc_planar_free(s->planar);
	s->planar = NULL;
	s->legacy_planar = false;
}

int legacy_send_frame(struct session *s, const struct rcc_surface *surf)
{
	rdpSettings *st = s->ctx.settings;
	rdpUpdate *update = s->ctx.update;
	struct rcc_rect rects[SESSION_MAX_RECTS];
	const struct rcc_buf *msgs;
	SURFACE_BITS_COMMAND cmd = { 0 };
	unsigned i, n, nmsgs;
	size_t max_size;
	uint32_t id = 0;
	BOOL ok = TRUE;
	int r;

	if (s->legacy_planar)
		return bitmap_send_frame(s, surf);
	if (!s->rfx)
		return 0;
	n = rcc_damage_take(s->damage, surf, rects, SESSION_MAX_RECTS);
	if (!n)
		return 0;
	max_size = st->MultifragMaxRequestSize > LEGACY_MIN_MSG + LEGACY_HEADROOM
			   ? st->MultifragMaxRequestSize - LEGACY_HEADROOM
			   : LEGACY_MIN_MSG;
	r = rcc_rfx_encode(s->rfx, surf, rects, n, max_size, &msgs, &nmsgs);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: RemoteFX encoding failed", s->host);
	if (!nmsgs)
		return 0;
	cmd.cmdType = CMDTYPE_STREAM_SURFACE_BITS;
	cmd.destRight = s->width;
	cmd.destBottom = s->height;
	cmd.bmp.bpp = 32;
	cmd.bmp.codecID = (UINT16)st->RemoteFxCodecId;
	cmd.bmp.width = (UINT16)s->width;
	cmd.bmp.height = (UINT16)s->height;
	/* Already compressed: bulk compression would only cost time. */
	cmd.skipCompression = TRUE;
	if (s->legacy_ack)
		id = ++s->frame_id;
	for (i = 0; i < nmsgs && ok; i++) {
		cmd.bmp.bitmapData = (BYTE *)msgs[i].data;
		cmd.bmp.bitmapDataLength = (UINT32)msgs[i].len;
		if (s->legacy_ack)
			ok = update->SurfaceFrameBits(&s->ctx, &cmd, i == 0, i + 1 == nmsgs, id);
		else
			ok = update->SurfaceBits(&s->ctx, &cmd);
		s->bytes += msgs[i].len;
	}
	if (!ok) {
		log_err("%s: sending RemoteFX surface bits failed", s->host);
		return -EIO;
	}
	if (s->legacy_ack)
		rcc_pacer_sent(s->pacer, id, now_ns());
	s->frames++;
	return 0;
}

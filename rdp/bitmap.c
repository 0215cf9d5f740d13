// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Bitmap Updates (MS-RDPBCGR 2.2.9.1.1.3.1.2) with planar tiles, for
 * clients that take neither the graphics pipeline nor RemoteFX: xfreerdp
 * `-gfx` without `/rfx`, a client whose bitmap codecs lack RemoteFX, or one
 * whose multifragment limit was too small for RemoteFX (FreeRDP's
 * capabilities.c then turns RemoteFX off).
 *
 * The tiles rcc's damage tracker confirms changed are encoded with RDP 6.0
 * bitmap compression (32 bpp, MS-RDPEGDI 2.2.2.5.1), or with interleaved RLE
 * in 15, 16 and 24 bpp sessions (MS-RDPBCGR 2.2.9.1.1.3.1.2.4: what
 * xfreerdp asks for without codecs unless given /bpp:32, and mstsc at
 * "High Color"), and packed into fast-path
 * bitmap updates no larger than the client's MultifragMaxRequestSize:
 * FreeRDP refuses a bigger one (fastpath_send_update_pdu) and cuts the rest
 * into fast-path fragments.  A client that acknowledges frames gets each
 * frame between surface frame markers, as the RemoteFX path does, and the
 * pacer waits for its acks; others are paced by rate alone.
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <inttypes.h>

#include <freerdp/update.h>

#include "log.h"
#include "session.h"

LOG_SCOPE("rdp.bitmap");

/* TS_UPDATE_BITMAP_DATA: updateType, numberRectangles. */
#define UPDATE_HEADER 4
/* TS_BITMAP_DATA before its data: the rectangle, size, bpp, flags, length
 * (18 bytes), and the TS_CD_HEADER (8) unless the client said
 * NO_BITMAP_COMPRESSION_HDR (every client since RDP 5.0 does). */
#define RECT_HEADER 18
#define CD_HEADER 8
/* Tiles per update at most (numberRectangles is 16-bit; smaller batches
 * keep the stream buffer small). */
#define BATCH 128

static size_t rect_overhead(const rdpSettings *st)
{
	return RECT_HEADER + (st->NoBitmapCompressionHeader ? 0 : CD_HEADER);
}

/* The largest tile whose worst case (raw planes, or bare pixels) fits one
 * update: 64 for any limit FreeRDP lets a client have (at least 16256
 * bytes, FASTPATH_FRAGMENT_SAFE_SIZE), smaller only for an alpha plane
 * under a tiny limit.  0: not even 8x8 fits. */
static uint32_t choose_tile(size_t limit, size_t overhead, bool alpha, uint32_t bpp)
{
	for (uint32_t t = RCC_PLANAR_TILE_MAX; t >= 8; t /= 2) {
		size_t max = bpp == 32 ? rcc_planar_max_size(t, t, alpha)
				       : rcc_interleaved_max_size(t, t, bpp);

		if (UPDATE_HEADER + overhead + max <= limit)
			return t;
	}
	return 0;
}

int bitmap_start(struct session *s)
{
	rdpSettings *st = s->ctx.settings;
	size_t limit = st->MultifragMaxRequestSize;
	struct rcc_planar_config cfg = {
		.width = s->width,
		.height = s->height,
		/* TS_BITMAP_DATA rows go bottom-up; widths a multiple of 4 as
		 * FreeRDP's shadow server sends them, the client draws only up
		 * to destRight. */
		.top_down = false,
		.pad4 = true,
		.alpha = !st->DrawAllowSkipAlpha,
		.bpp = st->ColorDepth,
	};
	int r;

	if (st->ColorDepth != 32 && st->ColorDepth != 24 && st->ColorDepth != 16 &&
	    st->ColorDepth != 15) {
		/* 8 bpp would need a palette (MS-RDPBCGR 2.2.9.1.1.3.1.1). */
		log_err("%s: the client has neither the graphics pipeline nor RemoteFX, and a "
			"%" PRIu32 " bpp session: skyrdp's bitmap updates are 15, 16, 24 or 32 bpp",
			s->host, st->ColorDepth);
		return -EPROTONOSUPPORT;
	}
	cfg.alpha = cfg.alpha && cfg.bpp == 32;
	if (!st->FastPathOutput) {
		log_err("%s: the client takes no fast-path output: no bitmap updates", s->host);
		return -EPROTONOSUPPORT;
	}
	cfg.tile = choose_tile(limit, rect_overhead(st), cfg.alpha, cfg.bpp);
	if (!cfg.tile) {
		log_err("%s: the client's multifragment limit (%zu bytes) holds no bitmap tile",
			s->host, limit);
		return -EPROTONOSUPPORT;
	}
	rcc_planar_free(s->planar);
	s->planar = NULL;
	r = rcc_planar_new(&cfg, &s->planar);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: cannot set up planar tiles for %ux%u", s->host,
				 s->width, s->height);
	s->legacy_planar = true;
	/* Same as RemoteFX surface bits: frame markers when the client asked
	 * for them, acknowledged when it sent the frame-ack capset. */
	s->legacy_ack = st->SurfaceFrameMarkerEnabled && st->FrameAcknowledge > 0;
	rcc_pacer_reset(s->pacer);
	rcc_pacer_set_max_unacked(s->pacer, s->legacy_ack ? SESSION_MAX_UNACKED : 0);
	rcc_damage_add_all(s->damage);
	log_info("%s: output: %s bitmap updates (client has %s), %ux%u, %ux%u tiles, "
		 "updates up to %zu bytes%s%s",
		 s->host, cfg.bpp == 32 ? "planar" : cfg.bpp == 24 ? "interleaved 24 bpp"
			  : cfg.bpp == 16 ? "interleaved 16 bpp" : "interleaved 15 bpp",
		 st->SupportGraphicsPipeline ? "no RemoteFX, and its pipeline did not come up"
					     : "neither GFX nor RemoteFX",
		 s->width, s->height, cfg.tile, cfg.tile, limit, cfg.alpha ? ", alpha plane" : "",
		 s->legacy_ack ? ", frame acks" : "");
	return 0;
}

static bool send_marker(struct session *s, UINT32 action, uint32_t id)
{
	SURFACE_FRAME_MARKER m = { .frameAction = action, .frameId = id };

	return s->ctx.update->SurfaceFrameMarker(&s->ctx, &m);
}

int bitmap_send_frame(struct session *s, const struct rcc_surface *surf)
{
	rdpSettings *st = s->ctx.settings;
	rdpUpdate *update = s->ctx.update;
	const size_t limit = st->MultifragMaxRequestSize, overhead = rect_overhead(st);
	/* bitmap_start() allowed 15, 16, 24 and 32 only; 15 bpp takes 2 bytes. */
	const uint32_t bpp = st->ColorDepth, bytes_pp = (bpp + 7) / 8;
	BITMAP_DATA rects[BATCH];
	BITMAP_UPDATE bu = { .rectangles = rects, .skipCompression = TRUE };
	const struct rcc_planar_tile *t;
	size_t size = UPDATE_HEADER;
	unsigned n, k = 0;
	uint32_t id = 0;
	bool ok = true;
	int r;

	if (!s->planar)
		return 0;
	r = rcc_planar_encode_damage(s->planar, s->damage, surf, &t, &n);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: planar encoding failed", s->host);
	if (!n)
		return 0;
	if (s->legacy_ack) {
		id = ++s->frame_id;
		ok = send_marker(s, SURFACECMD_FRAMEACTION_BEGIN, id);
	}
	for (unsigned i = 0; i < n && ok; i++) {
		size_t one = overhead + t[i].len;

		/* choose_tile() made sure one tile fits an update by itself. */
		if (k && (k == BATCH || size + one > limit)) {
			bu.number = bu.count = k;
			ok = update->BitmapUpdate(&s->ctx, &bu);
			k = 0;
			size = UPDATE_HEADER;
			if (!ok)
				break;
		}
		rects[k++] = (BITMAP_DATA){
			.destLeft = t[i].x,
			.destTop = t[i].y,
			.destRight = t[i].x + t[i].w - 1,
			.destBottom = t[i].y + t[i].h - 1,
			.width = t[i].coded_w,
			.height = t[i].h,
			.bitsPerPixel = bpp,
			.bitmapLength = (UINT32)t[i].len,
			.cbCompMainBodySize = (UINT32)t[i].len,
			.cbScanWidth = t[i].coded_w * bytes_pp,
			.cbUncompressedSize = t[i].coded_w * t[i].h * bytes_pp,
			.bitmapDataStream = (BYTE *)t[i].data,
			.compressed = !t[i].uncompressed,
		};
		size += one;
		s->bytes += t[i].len;
	}
	if (ok && k) {
		bu.number = bu.count = k;
		ok = update->BitmapUpdate(&s->ctx, &bu);
	}
	if (ok && s->legacy_ack)
		ok = send_marker(s, SURFACECMD_FRAMEACTION_END, id);
	if (!ok) {
		log_err("%s: sending bitmap updates failed", s->host);
		return -EIO;
	}
	if (s->legacy_ack)
		rcc_pacer_sent(s->pacer, id, now_ns());
	s->frames++;
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The graphics pipeline (MS-RDPEGFX) with AVC420 frames from rcc, one
 * surface and stream per band of the desktop (bands.h; RemoteFX or planar
 * tiles on one surface for clients without AVC), and the display-control
 * channel (MS-RDPEDISP) that asks the guest for the client's window size.
 *
 * FreeRDP 2 runs each of these channels on a thread of its own; their
 * callbacks here only post to the session and wake its loop (session.h),
 * except CapsConfirm, which must answer CapsAdvertise before anything else
 * goes out on the channel and does so from the channel's thread, as
 * freerdp-shadow does.
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include <freerdp/channels/disp.h>
#include <freerdp/codec/color.h>

#include "caps.h"
#include "log.h"
#include "session.h"

LOG_SCOPE("rdp.gfx");

/* RemoteFX and planar: one surface.  AVC420: surface i is band i. */
#define SURFACE_ID 0
/* MS-RDPEDISP 2.2.2.2: the client's monitor sizes; the display socket's
 * resolution requests go up to 7680x4320. */
#define DISP_MAX_W 7680u
#define DISP_MAX_H 4320u

static const char *caps_name(UINT32 v)
{
	switch (v) {
	case RDPGFX_CAPVERSION_8: return "8.0";
	case RDPGFX_CAPVERSION_81: return "8.1";
	case RDPGFX_CAPVERSION_10: return "10.0";
	case RDPGFX_CAPVERSION_101: return "10.1";
	case RDPGFX_CAPVERSION_102: return "10.2";
	case RDPGFX_CAPVERSION_103: return "10.3";
	case RDPGFX_CAPVERSION_104: return "10.4";
	case RDPGFX_CAPVERSION_105: return "10.5";
	case RDPGFX_CAPVERSION_106:
	case RDPGFX_CAPVERSION_106_ERR: return "10.6";
	case RDPGFX_CAPVERSION_107: return "10.7";
	default: return "?";
	}
}

/* --- channel threads ------------------------------------------------------ */

static UINT on_caps_advertise(RdpgfxServerContext *ctx, const RDPGFX_CAPS_ADVERTISE_PDU *pdu)
{
	struct session *s = ctx->custom;
	RDPGFX_CAPS_CONFIRM_PDU confirm;
	RDPGFX_CAPSET caps;
	bool avc;
	UINT rc;
	int i;

	i = gfx_caps_choose(pdu->capsSets, pdu->capsSetCount, &avc);
	if (i < 0) {
		log_warn("%s: no RDPGFX capability set we know (%u offered)", s->host,
			 pdu->capsSetCount);
		return CHANNEL_RC_UNSUPPORTED_VERSION;
	}
	caps = pdu->capsSets[i];
	/* Confirm what the client offered, minus AVC where we will not use
	 * it, so it never waits for AVC frames that do not come. */
	if (!avc && caps.version == RDPGFX_CAPVERSION_81)
		caps.flags &= ~RDPGFX_CAPS_FLAG_AVC420_ENABLED;
	else if (!avc && caps.version >= RDPGFX_CAPVERSION_10 &&
		 caps.version != RDPGFX_CAPVERSION_101)
		caps.flags |= RDPGFX_CAPS_FLAG_AVC_DISABLED;
	confirm.capsSet = &caps;
	rc = ctx->CapsConfirm(ctx, &confirm);
	if (rc != CHANNEL_RC_OK)
		return rc;
	log_info("%s: RDPGFX %s confirmed (flags 0x%" PRIx32 "), %s", s->host,
		 caps_name(caps.version), caps.flags,
		 avc ? "AVC420" : "no AVC");
	pthread_mutex_lock(&s->lock);
	s->posted.caps = true;
	s->posted.caps_avc = avc;
	pthread_mutex_unlock(&s->lock);
	session_wake(s);
	return CHANNEL_RC_OK;
}

static UINT on_frame_ack(RdpgfxServerContext *ctx, const RDPGFX_FRAME_ACKNOWLEDGE_PDU *pdu)
{
	struct session *s = ctx->custom;

	pthread_mutex_lock(&s->lock);
	s->posted.ack = true;
	s->posted.ack_id = pdu->frameId;
	s->posted.queue_depth = pdu->queueDepth;
	pthread_mutex_unlock(&s->lock);
	session_wake(s);
	return CHANNEL_RC_OK;
}

static UINT on_monitor_layout(DispServerContext *ctx, const DISPLAY_CONTROL_MONITOR_LAYOUT_PDU *pdu)
{
	struct session *s = ctx->custom;
	const DISPLAY_CONTROL_MONITOR_LAYOUT *m = NULL;
	uint32_t i, w, h;

	for (i = 0; i < pdu->NumMonitors; i++) {
		if (!m || (pdu->Monitors[i].Flags & DISPLAY_CONTROL_MONITOR_PRIMARY))
			m = &pdu->Monitors[i];
	}
	if (!m)
		return CHANNEL_RC_OK;
	/* One monitor: the VM has one.  Sizes come from the client: clamp. */
	w = MAX(1u, MIN(m->Width, DISP_MAX_W));
	h = MAX(1u, MIN(m->Height, DISP_MAX_H));
	pthread_mutex_lock(&s->lock);
	s->posted.layout = true;
	s->posted.layout_w = w;
	s->posted.layout_h = h;
	pthread_mutex_unlock(&s->lock);
	session_wake(s);
	return CHANNEL_RC_OK;
}

/* --- main thread ---------------------------------------------------------- */

/* Both called from inside Open(), on the main thread. */
static BOOL on_gfx_channel_id(RdpgfxServerContext *ctx, UINT32 id)
{
	((struct session *)ctx->custom)->gfx_channel_id = id;
	return TRUE;
}

static BOOL on_disp_channel_id(DispServerContext *ctx, UINT32 id)
{
	((struct session *)ctx->custom)->disp_channel_id = id;
	return TRUE;
}

/*
 * The client answered a dynamic channel's creation (the VCM calls this
 * from WTSVirtualChannelManagerCheckFileDescriptor, on the main thread).
 * Display control's caps go out only to a client that has the channel:
 * sent earlier they reach a client without it as data for an unknown
 * channel.  A client refusing the pipeline gets surface bits at once.
 */
BOOL gfx_dvc_created(void *data, UINT32 id, INT32 status)
{
	struct session *s = data;

	if (s->disp && id == s->disp_channel_id) {
		if (status < 0)
			log_debug("%s: the client has no display control channel", s->host);
		else if (s->disp->DisplayControlCaps(s->disp) != CHANNEL_RC_OK)
			log_warn("%s: sending the display control caps failed", s->host);
	}
	if (s->gfx && id == s->gfx_channel_id && status < 0) {
		log_info("%s: the client refused the graphics pipeline channel", s->host);
		s->gfx_refused = true;
	}
	return TRUE;
}

int gfx_open(struct session *s)
{
	s->gfx = rdpgfx_server_context_new(s->vcm);
	if (!s->gfx)
		return -ENOMEM;
	s->gfx->rdpcontext = &s->ctx;
	s->gfx->custom = s;
	s->gfx->CapsAdvertise = on_caps_advertise;
	s->gfx->FrameAcknowledge = on_frame_ack;
	s->gfx->ChannelIdAssigned = on_gfx_channel_id;
	if (!s->gfx->Open(s->gfx)) {
		rdpgfx_server_context_free(s->gfx);
		s->gfx = NULL;
		return -EIO;
	}
	return 0;
}

void gfx_close(struct session *s)
{
	if (s->gfx) {
		/* Joins the channel thread: no callback runs after this. */
		s->gfx->Close(s->gfx);
		rdpgfx_server_context_free(s->gfx);
		s->gfx = NULL;
	}
	s->gfx_surfaces = 0;
	gfx_free_h264(s);
}

void gfx_free_h264(struct session *s)
{
	unsigned i;

	for (i = 0; i < BANDS_MAX; i++) {
		rcc_h264_free(s->h264[i]);
		s->h264[i] = NULL;
	}
}

void gfx_force_idr(struct session *s)
{
	unsigned i;

	for (i = 0; i < BANDS_MAX; i++)
		if (s->h264[i])
			rcc_h264_force_idr(s->h264[i]);
}

int disp_open(struct session *s)
{
	UINT rc;

	s->disp = disp_server_context_new(s->vcm);
	if (!s->disp)
		return -ENOMEM;
	s->disp->rdpcontext = &s->ctx;
	s->disp->custom = s;
	s->disp->MaxNumMonitors = 1;
	s->disp->MaxMonitorAreaFactorA = DISP_MAX_W;
	s->disp->MaxMonitorAreaFactorB = DISP_MAX_H;
	s->disp->DispMonitorLayout = on_monitor_layout;
	s->disp->ChannelIdAssigned = on_disp_channel_id;
	/* The caps follow once the client has the channel (gfx_dvc_created). */
	rc = s->disp->Open(s->disp);
	if (rc != CHANNEL_RC_OK) {
		disp_server_context_free(s->disp);
		s->disp = NULL;
		return -EIO;
	}
	return 0;
}

void disp_close(struct session *s)
{
	if (s->disp) {
		s->disp->Close(s->disp);
		disp_server_context_free(s->disp);
		s->disp = NULL;
	}
}

/*
 * AVC420 goes in bands (bands.h): a surface and an H.264 stream each, all
 * mapped to the one output, so a frame costs x264 and the client's decoder
 * only the bands it touches (FreeRDP's gdi/gfx.c keeps a decoder per
 * surface and composes mapped surfaces at their outputOrigin).  Not under
 * a --link cap: each stream would get the whole cap.  RemoteFX and planar
 * are tiles already: one surface.
 */
static void gfx_layout(struct session *s)
{
	if (s->gfx_avc && s->cfg->link == RCC_LINK_LAN && s->height) {
		s->gfx_nbands = bands_layout(s->height, s->gfx_bands);
	} else {
		s->gfx_nbands = 1;
		s->gfx_bands[0] = (struct band){ .y = 0, .h = s->height };
	}
}

/* "AVC420 1920x1080 in 4 bands of 272 rows (the last 264)" and the like. */
static void gfx_log_output(struct session *s, const char *what)
{
	const struct band *last = &s->gfx_bands[s->gfx_nbands - 1];
	char bands[64] = "";

	if (s->gfx_nbands > 1 && last->h != s->gfx_bands[0].h)
		snprintf(bands, sizeof(bands), " in %u bands of %u rows (the last %u)",
			 s->gfx_nbands, s->gfx_bands[0].h, last->h);
	else if (s->gfx_nbands > 1)
		snprintf(bands, sizeof(bands), " in %u bands of %u rows", s->gfx_nbands,
			 s->gfx_bands[0].h);
	log_info("%s: %s: graphics pipeline, %s %ux%u%s at up to %u fps%s", s->host, what,
		 s->gfx_avc ? "AVC420" : s->gfx_planar ? "planar" : "RemoteFX", s->width, s->height,
		 bands, s->cfg->fps, s->gfx_planar ? " (no AVC; --lossless)" : "");
}

/* Delete the client's surfaces; -EIO when one could not be. */
static int delete_surfaces(struct session *s)
{
	UINT rc = CHANNEL_RC_OK;

	while (s->gfx_surfaces) {
		RDPGFX_DELETE_SURFACE_PDU del = { .surfaceId = (UINT16)--s->gfx_surfaces };
		UINT r = s->gfx->DeleteSurface(s->gfx, &del);

		if (rc == CHANNEL_RC_OK)
			rc = r;
	}
	return rc == CHANNEL_RC_OK ? 0 : -EIO;
}

static int make_surface(struct session *s)
{
	RDPGFX_RESET_GRAPHICS_PDU reset = { 0 };
	struct rcc_h264_config cfg = {
		.width = s->width,
		.fps = s->cfg->fps,
		.crf = 23,
		.link = s->cfg->link,
		.keyint = 300,
		.threads = 1,
	};
	MONITOR_DEF mon = {
		.left = 0,
		.top = 0,
		.right = (INT32)s->width - 1,
		.bottom = (INT32)s->height - 1,
		.flags = MONITOR_PRIMARY,
	};
	unsigned i;
	UINT rc;
	int r;

	reset.width = s->width;
	reset.height = s->height;
	reset.monitorCount = 1;
	reset.monitorDefArray = &mon;
	rc = s->gfx->ResetGraphics(s->gfx, &reset);
	if (rc != CHANNEL_RC_OK)
		goto fail;
	for (i = 0; i < s->gfx_nbands; i++) {
		RDPGFX_CREATE_SURFACE_PDU create = {
			.surfaceId = (UINT16)i,
			.width = (UINT16)s->width,
			.height = (UINT16)s->gfx_bands[i].h,
			.pixelFormat = GFX_PIXEL_FORMAT_XRGB_8888,
		};
		RDPGFX_MAP_SURFACE_TO_OUTPUT_PDU map = {
			.surfaceId = (UINT16)i,
			.outputOriginY = s->gfx_bands[i].y,
		};

		rc = s->gfx->CreateSurface(s->gfx, &create);
		if (rc != CHANNEL_RC_OK)
			goto fail;
		s->gfx_surfaces = i + 1;
		rc = s->gfx->MapSurfaceToOutput(s->gfx, &map);
		if (rc != CHANNEL_RC_OK)
			goto fail;
	}

	gfx_free_h264(s);
	if (s->gfx_avc) {
		for (i = 0; i < s->gfx_nbands; i++) {
			cfg.height = s->gfx_bands[i].h;
			r = rcc_h264_new(&cfg, &s->h264[i]);
			if (r < 0)
				return log_errno(LOG_ERR, r, "%s: no H.264 encoder for %ux%u",
						 s->host, cfg.width, cfg.height);
		}
	} else if (s->gfx_planar) {
		/* RDPGFX planar rows are top-down (gdi/gfx.c decodes them
		 * unflipped); a dynamic channel takes any tile size, 64x64
		 * keeps them on rcc's hashed tiles. */
		struct rcc_planar_config pcfg = { .width = s->width, .height = s->height,
						  .top_down = true };

		r = s->planar ? rcc_planar_reset(s->planar, s->width, s->height)
			      : rcc_planar_new(&pcfg, &s->planar);
		if (r < 0)
			return log_errno(LOG_ERR, r, "%s: no planar encoder for %ux%u", s->host,
					 s->width, s->height);
	} else {
		struct rcc_rfx_config rcfg = { .width = s->width, .height = s->height };

		/* A new surface is a new RemoteFX context on the client: the
		 * headers go out again. */
		r = s->rfx ? rcc_rfx_reset(s->rfx, s->width, s->height)
			   : rcc_rfx_new(&rcfg, &s->rfx);
		if (r < 0)
			return log_errno(LOG_ERR, r, "%s: no RemoteFX encoder for %ux%u", s->host,
					 s->width, s->height);
	}
	rcc_pacer_reset(s->pacer);
	rcc_pacer_set_max_unacked(s->pacer, SESSION_MAX_UNACKED);
	rcc_damage_add_all(s->damage);
	return 0;
fail:
	log_err("%s: RDPGFX surface setup failed: channel error %u", s->host, rc);
	return -EIO;
}

int gfx_start(struct session *s)
{
	/*
	 * Without AVC: RemoteFX, which every RDPGFX client decodes (no capset
	 * flag turns it off, MS-RDPEGFX 2.2.3); planar with --lossless, where
	 * exact pixels matter more than bytes (office content costs ~2.7x
	 * RemoteFX's bytes, full motion ~20x: docs/rdp.md).
	 */
	s->gfx_planar = !s->gfx_avc && s->cfg->lossless;
	delete_surfaces(s);
	gfx_layout(s);
	gfx_log_output(s, "output");
	return make_surface(s);
}

int gfx_resize(struct session *s)
{
	int r = delete_surfaces(s);

	if (r < 0)
		return r;
	gfx_layout(s);
	if (s->gfx_nbands > 1)
		gfx_log_output(s, "new size");
	return make_surface(s);
}

/* MS-RDPEGFX 2.2.2.11: hours, minutes, seconds, milliseconds of UTC. */
static UINT32 gfx_timestamp(void)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return (UINT32)tm.tm_hour << 22 | (UINT32)tm.tm_min << 16 | (UINT32)tm.tm_sec << 10 |
	       (UINT32)(ts.tv_nsec / 1000000);
}

/* Clients whose pipeline has no AVC (FreeRDP's bare /gfx, /gfx:RFX) take
 * RemoteFX tiles in it (RDPGFX_CODECID_CAVIDEO, MS-RDPEGFX 2.2.2.1). */
static int gfx_send_rfx(struct session *s, const struct rcc_surface *surf,
			const struct rcc_rect *rects, unsigned n)
{
	RDPGFX_SURFACE_COMMAND cmd = { 0 };
	RDPGFX_START_FRAME_PDU start;
	RDPGFX_END_FRAME_PDU end;
	const struct rcc_buf *msgs;
	unsigned i, nmsgs;
	UINT rc;
	int r;

	/* No fragment limit on a dynamic channel: one message a frame. */
	r = rcc_rfx_encode(s->rfx, surf, rects, n, 64 * MiB, &msgs, &nmsgs);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: RemoteFX encoding failed", s->host);
	if (!nmsgs)
		return 0;
	start.frameId = end.frameId = ++s->frame_id;
	start.timestamp = gfx_timestamp();
	rc = s->gfx->StartFrame(s->gfx, &start);
	cmd.surfaceId = SURFACE_ID;
	cmd.codecId = RDPGFX_CODECID_CAVIDEO;
	cmd.format = PIXEL_FORMAT_BGRX32;
	cmd.right = s->width;
	cmd.bottom = s->height;
	cmd.width = s->width;
	cmd.height = s->height;
	for (i = 0; i < nmsgs && rc == CHANNEL_RC_OK; i++) {
		cmd.data = (BYTE *)msgs[i].data;
		cmd.length = (UINT32)msgs[i].len;
		rc = s->gfx->SurfaceCommand(s->gfx, &cmd);
		s->bytes += msgs[i].len;
	}
	if (rc == CHANNEL_RC_OK)
		rc = s->gfx->EndFrame(s->gfx, &end);
	if (rc != CHANNEL_RC_OK) {
		log_err("%s: sending a RemoteFX frame failed: channel error %u", s->host, rc);
		return -EIO;
	}
	rcc_pacer_sent(s->pacer, start.frameId, now_ns());
	s->frames++;
	return 0;
}

/* Planar tiles (RDPGFX_CODECID_PLANAR), one WireToSurface1 each: only
 * those whose hash changed, taken from the damage unmerged. */
static int gfx_send_planar(struct session *s, const struct rcc_surface *surf)
{
	RDPGFX_SURFACE_COMMAND cmd = { 0 };
	RDPGFX_START_FRAME_PDU start;
	RDPGFX_END_FRAME_PDU end;
	const struct rcc_planar_tile *t;
	unsigned i, n;
	UINT rc;
	int r;

	r = rcc_planar_encode_damage(s->planar, s->damage, surf, &t, &n);
	if (r < 0)
		return log_errno(LOG_ERR, r, "%s: planar encoding failed", s->host);
	if (!n)
		return 0;
	start.frameId = end.frameId = ++s->frame_id;
	start.timestamp = gfx_timestamp();
	rc = s->gfx->StartFrame(s->gfx, &start);
	cmd.surfaceId = SURFACE_ID;
	cmd.codecId = RDPGFX_CODECID_PLANAR;
	cmd.format = PIXEL_FORMAT_BGRX32;
	for (i = 0; i < n && rc == CHANNEL_RC_OK; i++) {
		cmd.left = t[i].x;
		cmd.top = t[i].y;
		cmd.right = t[i].x + t[i].w;
		cmd.bottom = t[i].y + t[i].h;
		cmd.width = t[i].w;
		cmd.height = t[i].h;
		cmd.data = (BYTE *)t[i].data;
		cmd.length = (UINT32)t[i].len;
		rc = s->gfx->SurfaceCommand(s->gfx, &cmd);
		s->bytes += t[i].len;
	}
	if (rc == CHANNEL_RC_OK)
		rc = s->gfx->EndFrame(s->gfx, &end);
	if (rc != CHANNEL_RC_OK) {
		log_err("%s: sending a planar frame failed: channel error %u", s->host, rc);
		return -EIO;
	}
	rcc_pacer_sent(s->pacer, start.frameId, now_ns());
	s->frames++;
	return 0;
}

/* One band's AVC420 frame as a WireToSurface1 to its surface, with the
 * StartFrame and EndFrame PDUs where given (one channel message). */
static UINT gfx_send_band(struct session *s, unsigned band, const struct rcc_rect *rects,
			  unsigned n, const struct rcc_frame *f,
			  const RDPGFX_START_FRAME_PDU *start, const RDPGFX_END_FRAME_PDU *end)
{
	RECTANGLE_16 region[SESSION_MAX_RECTS];
	RDPGFX_H264_QUANT_QUALITY quant[SESSION_MAX_RECTS];
	RDPGFX_AVC420_BITMAP_STREAM avc = { 0 };
	RDPGFX_SURFACE_COMMAND cmd = { 0 };
	int qp = MAX(0, MIN(51, f->qp));
	unsigned i;

	for (i = 0; i < n; i++) {
		region[i] = (RECTANGLE_16){
			.left = (UINT16)rects[i].x,
			.top = (UINT16)rects[i].y,
			.right = (UINT16)(rects[i].x + rects[i].w),
			.bottom = (UINT16)(rects[i].y + rects[i].h),
		};
		/* MS-RDPEGFX 2.2.4.4.1: progressive off, quality from the QP. */
		quant[i] = (RDPGFX_H264_QUANT_QUALITY){
			.qp = (BYTE)qp,
			.qualityVal = (BYTE)(100 - qp * 100 / 51),
		};
	}
	avc.meta.numRegionRects = n;
	avc.meta.regionRects = region;
	avc.meta.quantQualityVals = quant;
	avc.data = (BYTE *)f->data;
	avc.length = (UINT32)f->len;

	cmd.surfaceId = (UINT16)band;
	cmd.codecId = RDPGFX_CODECID_AVC420;
	cmd.format = PIXEL_FORMAT_BGRX32;
	cmd.right = s->width;
	cmd.bottom = s->gfx_bands[band].h;
	cmd.width = s->width;
	cmd.height = s->gfx_bands[band].h;
	cmd.extra = &avc;
	if (f->idr)
		log_debug("%s: IDR frame %u, band %u, %zu bytes, QP %d", s->host, s->frame_id,
			  band, f->len, qp);
	return s->gfx->SurfaceFrameCommand(s->gfx, &cmd, start, end);
}

/*
 * AVC420: each band the damage touches is encoded on its own (its part of
 * the damage, in its coordinates) and all of them go in one frame, so the
 * client acknowledges one frame as before.
 */
static int gfx_send_avc(struct session *s, const struct rcc_surface *surf,
			const struct rcc_rect *rects, unsigned n)
{
	struct rcc_rect brects[BANDS_MAX][SESSION_MAX_RECTS];
	struct rcc_frame f[BANDS_MAX];
	unsigned nrects[BANDS_MAX], send[BANDS_MAX];
	RDPGFX_START_FRAME_PDU start;
	RDPGFX_END_FRAME_PDU end;
	unsigned i, k, nsend = 0;
	UINT rc = CHANNEL_RC_OK;
	int r;

	for (i = 0; i < s->gfx_nbands; i++) {
		struct rcc_surface view;

		nrects[i] = bands_clip(rects, n, &s->gfx_bands[i], brects[i]);
		if (!nrects[i])
			continue;
		r = bands_view(surf, &s->gfx_bands[i], &view);
		if (r == 0)
			r = rcc_h264_encode(s->h264[i], &view, brects[i], nrects[i], &f[i]);
		if (r < 0)
			return log_errno(LOG_ERR, r, "%s: H.264 encoding failed", s->host);
		if (f[i].len)
			send[nsend++] = i;
	}
	if (!nsend)
		return 0;
	start.frameId = end.frameId = ++s->frame_id;
	start.timestamp = gfx_timestamp();
	for (k = 0; k < nsend && rc == CHANNEL_RC_OK; k++) {
		i = send[k];
		rc = gfx_send_band(s, i, brects[i], nrects[i], &f[i], k == 0 ? &start : NULL,
				   k == nsend - 1 ? &end : NULL);
		s->bytes += f[i].len;
	}
	if (rc != CHANNEL_RC_OK) {
		log_err("%s: sending an AVC420 frame failed: channel error %u", s->host, rc);
		return -EIO;
	}
	rcc_pacer_sent(s->pacer, start.frameId, now_ns());
	s->frames++;
	return 0;
}

int gfx_send_frame(struct session *s, const struct rcc_surface *surf)
{
	struct rcc_rect rects[SESSION_MAX_RECTS];
	unsigned n;

	if (!s->gfx_surfaces || (!s->h264[0] && !s->rfx && !s->planar))
		return 0;
	if (s->gfx_planar)
		return s->planar ? gfx_send_planar(s, surf) : 0;
	n = rcc_damage_take(s->damage, surf, rects, SESSION_MAX_RECTS);
	if (!n)
		return 0;
	if (!s->gfx_avc)
		return gfx_send_rfx(s, surf, rects, n);
	return gfx_send_avc(s, surf, rects, n);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * RemoteFX (MS-RDPRFX) through FreeRDP's encoder, for clients that offer
 * no AVC: legacy SurfaceBits, or RDPGFX without H.264.  Only damage is
 * worth encoding: a full 1080p frame costs ~30-60 ms and 0.5-1 MB
 * (../shared/research/remote-display.md §3).  The messages of one encode
 * are written back to back into one buffer.
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <stdlib.h>

#include <freerdp/codec/color.h>
#include <freerdp/codec/rfx.h>
#include <winpr/stream.h>

#include "rcc.h"

struct rcc_rfx {
	RFX_CONTEXT *ctx;
	uint32_t width, height;
	wStream *stream;
	RFX_RECT *rects;
	unsigned rects_cap;
	struct rcc_buf *msgs;
	size_t msgs_cap;
};

static bool size_ok(uint32_t width, uint32_t height)
{
	return width && height && width <= 4096 && height <= 4096;
}

int rcc_rfx_new(const struct rcc_rfx_config *cfg, struct rcc_rfx **ret)
{
	struct rcc_rfx *x;

	if (!size_ok(cfg->width, cfg->height))
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->ctx = rfx_context_new(TRUE);
	x->stream = Stream_New(NULL, 64 * KiB);
	if (!x->ctx || !x->stream) {
		rcc_rfx_free(x);
		return -ENOMEM;
	}
	x->ctx->mode = cfg->rlgr1 ? RLGR1 : RLGR3;
	rfx_context_set_pixel_format(x->ctx, PIXEL_FORMAT_BGRX32);
	rcc_rfx_reset(x, cfg->width, cfg->height);
	*ret = x;
	return 0;
}

void rcc_rfx_free(struct rcc_rfx *x)
{
	if (!x)
		return;
	rfx_context_free(x->ctx);
	if (x->stream)
		Stream_Free(x->stream, TRUE);
	free(x->rects);
	free(x->msgs);
	free(x);
}

int rcc_rfx_reset(struct rcc_rfx *x, uint32_t width, uint32_t height)
{
	if (!size_ok(width, height))
		return -EINVAL;
	x->width = width;
	x->height = height;
	return rfx_context_reset(x->ctx, width, height) ? 0 : -EIO;
}

/*
 * rfx_encode_messages_ex() hands back an array of messages that share one
 * rects array (owned by nobody: shadow_client.c frees messages[0].rects) and
 * whose tiles go back to the context's pools through rfx_message_free().
 * A tile bigger than the limit leaves an empty message (no tiles, no rects)
 * in front of it, so look for the rects and skip the empty ones.
 */
static void free_messages(RFX_CONTEXT *ctx, RFX_MESSAGE *m, size_t n)
{
	RFX_RECT *shared = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!shared)
			shared = m[i].rects;
		rfx_message_free(ctx, &m[i]);
	}
	free(shared);
	free(m);
}

int rcc_rfx_encode(struct rcc_rfx *x, const struct rcc_surface *s, const struct rcc_rect *rects,
		   unsigned n, size_t max_size, const struct rcc_buf **msgs, unsigned *nmsgs)
{
	RFX_MESSAGE *m;
	size_t count = 0, pos;
	unsigned nr = 0, nm = 0;
	int r = 0;

	if (!s->pixels || s->width != x->width || s->height != x->height ||
	    s->stride < s->width * 4 || max_size < 16 * KiB || max_size > UINT32_MAX)
		return -EINVAL;
	*msgs = NULL;
	*nmsgs = 0;

	if (n > x->rects_cap) {
		RFX_RECT *nr_ = reallocarray(x->rects, n, sizeof(*x->rects));

		if (!nr_)
			return -ENOMEM;
		x->rects = nr_;
		x->rects_cap = n;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t x1 = MIN((uint64_t)rects[i].x + rects[i].w, s->width);
		uint64_t y1 = MIN((uint64_t)rects[i].y + rects[i].h, s->height);

		if (rects[i].x >= x1 || rects[i].y >= y1)
			continue;
		x->rects[nr++] = (RFX_RECT){ rects[i].x, rects[i].y, x1 - rects[i].x,
					     y1 - rects[i].y };
	}
	if (!nr)
		return 0;

	m = rfx_encode_messages_ex(x->ctx, x->rects, nr, s->pixels, s->width, s->height, s->stride,
				   &count, max_size);
	if (!m)
		return -EIO;

	if (count > x->msgs_cap) {
		struct rcc_buf *b = reallocarray(x->msgs, count, sizeof(*x->msgs));

		if (!b) {
			r = -ENOMEM;
			goto out;
		}
		x->msgs = b;
		x->msgs_cap = count;
	}
	Stream_SetPosition(x->stream, 0);
	for (size_t i = 0; i < count; i++) {
		if (!m[i].numTiles)
			continue;
		if (!rfx_write_message(x->ctx, x->stream, &m[i])) {
			r = -EIO;
			goto out;
		}
		/* Offsets for now: the stream may move while it grows. */
		x->msgs[nm++].len = Stream_GetPosition(x->stream);
	}
	pos = 0;
	for (unsigned i = 0; i < nm; i++) {
		size_t end = x->msgs[i].len;

		x->msgs[i].data = Stream_Buffer(x->stream) + pos;
		x->msgs[i].len = end - pos;
		pos = end;
	}
	*msgs = x->msgs;
	*nmsgs = nm;
out:
	free_messages(x->ctx, m, count);
	return r;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * AVC420 for RDPGFX: BGRX -> I420 (BT.709 full range, the matrix RDPGFX
 * clients decode with) -> x264 ultrafast/zerolatency, Annex-B with SPS/PPS
 * before every IDR so a client can join at any IDR.  Ultrafast measured
 * 4-10x faster than FreeRDP's own libavcodec path (preset medium) at a
 * modest size cost (../shared/research/remote-display.md §3).
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/codec/color.h>
#include <freerdp/primitives.h>
#include <x264.h>

#include "rcc.h"

struct rcc_h264 {
	x264_t *x264;
	x264_param_t param;
	x264_picture_t pic;
	primitives_t *prims;
	uint32_t width, height;	  /* surface */
	uint32_t cwidth, cheight; /* coded, 16-aligned */
	bool converted;		  /* the picture holds a whole surface */
	bool force_idr;
	uint64_t pts;
};

/* VBV cap in kbit/s per link, 0 for none (xrdp's gfx.toml uses similar tiers). */
static uint32_t link_kbps(enum rcc_link link)
{
	switch (link) {
	case RCC_LINK_BROADBAND:
		return 10000;
	case RCC_LINK_WAN:
		return 2000;
	case RCC_LINK_LAN:
	default:
		return 0;
	}
}

static void apply_link(x264_param_t *p, enum rcc_link link)
{
	uint32_t kbps = link_kbps(link);

	p->rc.i_vbv_max_bitrate = (int)kbps;
	/* A quarter second of buffer: an IDR may burst, a backlog may not. */
	p->rc.i_vbv_buffer_size = (int)(kbps / 4);
}

int rcc_h264_new(const struct rcc_h264_config *cfg, struct rcc_h264 **ret)
{
	struct rcc_h264 *e;
	x264_param_t *p;
	uint32_t fps = cfg->fps ? cfg->fps : 30;
	uint32_t keyint = cfg->keyint ? cfg->keyint : 300;
	int crf = cfg->crf ? cfg->crf : 23;

	if (!cfg->width || !cfg->height || cfg->width > 4096 || cfg->height > 4096 || fps > 240 ||
	    crf < 0 || crf > 51 || cfg->threads > 64 || cfg->link > RCC_LINK_WAN)
		return -EINVAL;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->width = cfg->width;
	e->height = cfg->height;
	e->cwidth = ALIGN_UP(cfg->width, 16u);
	e->cheight = ALIGN_UP(cfg->height, 16u);
	e->prims = primitives_get();

	p = &e->param;
	if (x264_param_default_preset(p, "ultrafast", "zerolatency") < 0)
		goto fail_io;
	p->i_log_level = X264_LOG_NONE; /* only the caller logs */
	p->i_csp = X264_CSP_I420;
	p->i_width = (int)e->cwidth;
	p->i_height = (int)e->cheight;
	p->i_fps_num = fps;
	p->i_fps_den = 1;
	p->i_timebase_num = 1;
	p->i_timebase_den = fps;
	p->b_vfr_input = 0;
	p->i_threads = cfg->threads ? (int)cfg->threads : X264_THREADS_AUTO;
	p->i_keyint_max = (int)keyint;
	p->b_intra_refresh = 0;
	p->i_bframe = 0;
	/* Every IDR carries SPS/PPS: a client may start at any of them. */
	p->b_repeat_headers = 1;
	p->b_annexb = 1;
	p->b_aud = 0;
	/* Damage tells x264 which macroblocks are unchanged: it skips their
	 * analysis (X264_MBINFO_CONSTANT), the bulk of an office frame. */
	p->analyse.b_mb_info = 1;
	p->rc.i_rc_method = X264_RC_CRF;
	p->rc.f_rf_constant = (float)crf;
	apply_link(p, cfg->link);
	/* Informative only: RDPGFX clients use a fixed matrix regardless. */
	p->vui.b_fullrange = 1;
	p->vui.i_colorprim = 1;
	p->vui.i_transfer = 1;
	p->vui.i_colmatrix = 1;

	if (x264_picture_alloc(&e->pic, X264_CSP_I420, (int)e->cwidth, (int)e->cheight) < 0) {
		free(e);
		return -ENOMEM;
	}
	/* Black until the first frame fills the picture and its padding. */
	memset(e->pic.img.plane[0], 0, (size_t)e->pic.img.i_stride[0] * e->cheight);
	memset(e->pic.img.plane[1], 128, (size_t)e->pic.img.i_stride[1] * e->cheight / 2);
	memset(e->pic.img.plane[2], 128, (size_t)e->pic.img.i_stride[2] * e->cheight / 2);

	e->x264 = x264_encoder_open(p);
	if (!e->x264)
		goto fail_io;
	*ret = e;
	return 0;

fail_io:
	rcc_h264_free(e);
	return -EIO;
}

void rcc_h264_free(struct rcc_h264 *e)
{
	if (!e)
		return;
	if (e->x264)
		x264_encoder_close(e->x264);
	x264_picture_clean(&e->pic);
	free(e);
}

void rcc_h264_force_idr(struct rcc_h264 *e)
{
	e->force_idr = true;
}

int rcc_h264_set_link(struct rcc_h264 *e, enum rcc_link link)
{
	x264_param_t p;
	x264_t *x;

	if (link > RCC_LINK_WAN)
		return -EINVAL;
	/* x264 can change a VBV cap but not turn one on or off: reopen. */
	if (!link_kbps(link) != !e->param.rc.i_vbv_max_bitrate) {
		p = e->param;
		apply_link(&p, link);
		x = x264_encoder_open(&p);
		if (!x)
			return -EIO;
		x264_encoder_close(e->x264);
		e->x264 = x;
	} else {
		x264_encoder_parameters(e->x264, &p);
		apply_link(&p, link);
		if (x264_encoder_reconfig(e->x264, &p) < 0)
			return -EIO;
	}
	/* e->param stays what we asked for, for the next reopen. */
	apply_link(&e->param, link);
	return 0;
}

void rcc_h264_coded_size(const struct rcc_h264 *e, uint32_t *width, uint32_t *height)
{
	*width = e->cwidth;
	*height = e->cheight;
}

/*
 * Repeat the last column and row into the coded picture's padding, as x264
 * does for its own: a hard edge against black would cost bits and, through
 * chroma, darken the surface's last pixels.  Rows y0..y1 changed; x1 is
 * where the conversion ended.
 */
static void pad(struct rcc_h264 *e, uint32_t x1, uint32_t y0, uint32_t y1)
{
	const x264_image_t *img = &e->pic.img;
	uint32_t cw = (e->width + 1) / 2, ch = (e->height + 1) / 2;

	if (x1 == e->width && e->cwidth > e->width) {
		for (uint32_t y = y0; y < y1; y++) {
			uint8_t *row = img->plane[0] + (size_t)y * img->i_stride[0];

			memset(row + e->width, row[e->width - 1], e->cwidth - e->width);
		}
		for (uint32_t y = y0 / 2; y < (y1 + 1) / 2; y++) {
			for (int p = 1; p < 3; p++) {
				uint8_t *row = img->plane[p] + (size_t)y * img->i_stride[p];

				memset(row + cw, row[cw - 1], e->cwidth / 2 - cw);
			}
		}
	}
	if (y1 == e->height && e->cheight > e->height) {
		for (uint32_t y = e->height; y < e->cheight; y++)
			memcpy(img->plane[0] + (size_t)y * img->i_stride[0],
			       img->plane[0] + (size_t)(e->height - 1) * img->i_stride[0],
			       e->cwidth);
		for (uint32_t y = ch; y < e->cheight / 2; y++)
			for (int p = 1; p < 3; p++)
				memcpy(img->plane[p] + (size_t)y * img->i_stride[p],
				       img->plane[p] + (size_t)(ch - 1) * img->i_stride[p],
				       e->cwidth / 2);
	}
}

/* MS-RDPEGFX's BT.709 full-range matrix, as FreeRDP's prim_YUV.c has it. */
static uint8_t rgb2y(int r, int g, int b)
{
	return (uint8_t)((54 * r + 183 * g + 18 * b) >> 8);
}

static uint8_t rgb2u(int r, int g, int b)
{
	return (uint8_t)(((-29 * r - 99 * g + 128 * b) >> 8) + 128);
}

static uint8_t rgb2v(int r, int g, int b)
{
	return (uint8_t)(((128 * r - 116 * g - 12 * b) >> 8) + 128);
}

/*
 * Plain C for the ragged parts: FreeRDP's own C path averages an edge's
 * one or two pixels as if they were four, halving the chroma of a surface's
 * odd last column or row.  x0 and y0 are even.
 */
static void convert_c(struct rcc_h264 *e, const struct rcc_surface *s, uint32_t x0, uint32_t y0,
		      uint32_t x1, uint32_t y1)
{
	const x264_image_t *img = &e->pic.img;

	for (uint32_t y = y0; y < y1; y += 2) {
		uint32_t rows = MIN(2u, y1 - y);

		for (uint32_t x = x0; x < x1; x += 2) {
			uint32_t cols = MIN(2u, x1 - x);
			int r = 0, g = 0, b = 0, n = (int)(rows * cols);

			for (uint32_t dy = 0; dy < rows; dy++) {
				for (uint32_t dx = 0; dx < cols; dx++) {
					const uint8_t *p = s->pixels + (size_t)(y + dy) * s->stride +
							   (size_t)(x + dx) * 4;

					img->plane[0][(size_t)(y + dy) * img->i_stride[0] + x + dx] =
						rgb2y(p[2], p[1], p[0]);
					b += p[0];
					g += p[1];
					r += p[2];
				}
			}
			r /= n;
			g /= n;
			b /= n;
			img->plane[1][(size_t)(y / 2) * img->i_stride[1] + x / 2] = rgb2u(r, g, b);
			img->plane[2][(size_t)(y / 2) * img->i_stride[2] + x / 2] = rgb2v(r, g, b);
		}
	}
}

static int convert(struct rcc_h264 *e, const struct rcc_surface *s, uint32_t x0, uint32_t y0,
		   uint32_t x1, uint32_t y1)
{
	const x264_image_t *img = &e->pic.img;
	uint32_t w16, h2;

	/*
	 * Even origin for 4:2:0.  The bulk (16-pixel x origin and width, even
	 * height) goes to FreeRDP's SSSE3 conversion, ~6x faster than C; the
	 * surface's ragged right column and odd last row go to convert_c.
	 */
	x0 = ALIGN_DOWN(x0, 16u);
	y0 = ALIGN_DOWN(y0, 2u);
	x1 = MIN(ALIGN_UP(x1, 16u), s->width);
	y1 = MIN(ALIGN_UP(y1, 2u), s->height);
	w16 = ALIGN_DOWN(x1 - x0, 16u);
	h2 = ALIGN_DOWN(y1 - y0, 2u);

	if (w16 && h2) {
		BYTE *dst[3] = {
			img->plane[0] + (size_t)y0 * img->i_stride[0] + x0,
			img->plane[1] + (size_t)(y0 / 2) * img->i_stride[1] + x0 / 2,
			img->plane[2] + (size_t)(y0 / 2) * img->i_stride[2] + x0 / 2,
		};
		UINT32 dst_step[3] = { img->i_stride[0], img->i_stride[1], img->i_stride[2] };
		prim_size_t roi = { w16, h2 };

		if (e->prims->RGBToYUV420_8u_P3AC4R(s->pixels + (size_t)y0 * s->stride +
							    (size_t)x0 * 4,
						    PIXEL_FORMAT_BGRX32, s->stride, dst, dst_step,
						    &roi) != PRIMITIVES_SUCCESS)
			return -EIO;
	}
	if (x0 + w16 < x1)
		convert_c(e, s, x0 + w16, y0, x1, y1);
	if (y0 + h2 < y1)
		convert_c(e, s, x0, y0 + h2, x0 + w16, y1);
	pad(e, x1, y0, y1);
	return 0;
}

/* Clear X264_MBINFO_CONSTANT on the macroblocks a conversion touched. */
static void mark_changed(struct rcc_h264 *e, uint8_t *mb, uint32_t x0, uint32_t y0, uint32_t x1,
			 uint32_t y1)
{
	uint32_t mbw = e->cwidth / 16;

	/* The padding lies in the same macroblocks as the last pixels. */
	for (uint32_t my = y0 / 16; my < ALIGN_UP(y1, 16u) / 16; my++)
		memset(mb + (size_t)my * mbw + x0 / 16, 0, ALIGN_UP(x1, 16u) / 16 - x0 / 16);
}

int rcc_h264_encode(struct rcc_h264 *e, const struct rcc_surface *s, const struct rcc_rect *damage,
		    unsigned ndamage, struct rcc_frame *ret)
{
	x264_picture_t out;
	x264_nal_t *nals;
	uint8_t *mb;
	int nnal, size, r;

	if (!s->pixels || s->width != e->width || s->height != e->height ||
	    s->stride < s->width * 4)
		return -EINVAL;

	/* Owned by x264 once passed: it frees it with the frame. */
	mb = malloc((size_t)(e->cwidth / 16) * (e->cheight / 16));
	if (!mb)
		return -ENOMEM;
	memset(mb, X264_MBINFO_CONSTANT, (size_t)(e->cwidth / 16) * (e->cheight / 16));
	if (!damage || !e->converted) {
		r = convert(e, s, 0, 0, s->width, s->height);
		if (r < 0)
			goto fail;
		mark_changed(e, mb, 0, 0, e->cwidth, e->cheight);
		e->converted = true;
	} else {
		for (unsigned i = 0; i < ndamage; i++) {
			uint64_t x1 = MIN((uint64_t)damage[i].x + damage[i].w, s->width);
			uint64_t y1 = MIN((uint64_t)damage[i].y + damage[i].h, s->height);

			if (damage[i].x >= x1 || damage[i].y >= y1)
				continue;
			r = convert(e, s, damage[i].x, damage[i].y, x1, y1);
			if (r < 0)
				goto fail;
			mark_changed(e, mb, damage[i].x, damage[i].y, x1, y1);
		}
	}
	e->pic.prop.mb_info = mb;
	e->pic.prop.mb_info_free = free;

	e->pic.i_type = e->force_idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	e->pic.i_qpplus1 = X264_QP_AUTO;
	e->pic.i_pts = (int64_t)e->pts;
	size = x264_encoder_encode(e->x264, &nals, &nnal, &e->pic, &out);
	e->pic.prop.mb_info = NULL;
	if (size < 0)
		return -EIO;
	e->force_idr = false;

	*ret = (struct rcc_frame){ .pts = e->pts };
	e->pts++;
	if (size > 0) {
		/* x264 lays a frame's NAL payloads out back to back. */
		ret->data = nals[0].p_payload;
		ret->len = (size_t)size;
		ret->idr = out.b_keyframe;
		ret->qp = out.i_qpplus1 - 1; /* the frame QP; ultrafast has no AQ */
		ret->pts = (uint64_t)out.i_pts;
	}
	return 0;

fail:
	free(mb);
	return r;
}

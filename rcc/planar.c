// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Planar tiles (RDP 6.0 bitmap compression, MS-RDPEGDI 2.2.2.5.1) through
 * FreeRDP's encoder, for clients that take neither AVC nor RemoteFX.
 *
 * Each tile is first copied into a scratch tile: that turns the rows round
 * for RDPGFX (FreeRDP's encoder always writes them bottom-up, as bitmap
 * updates want; RDPGFX's planar is top-down, FreeRDP's gdi/gfx.c decodes
 * it without flipping) and pads the width to 4 where asked.  FreeRDP's RLE
 * grows incompressible rows by about 1/15, so a tile whose RLE is larger
 * than its raw planes is written raw (format header without RLE, planes,
 * one pad byte), here.  The tiles of one encode lie back to back in one
 * buffer.
 *
 * At 15, 16 or 24 bpp the tiles go through our interleaved RLE encoder
 * (interleaved.c), or as bare pixels where the RLE would be bigger.
 */
/* Before FreeRDP's headers: theirs define MIN/MAX only if still unset. */
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/codec/color.h>
#include <freerdp/codec/planar.h>

#include "rcc.h"

struct rcc_planar {
	BITMAP_PLANAR_CONTEXT *ctx;
	uint32_t bpp; /* 32 (planar), or 24/16/15 for interleaved RLE */
	uint32_t width, height, tile;
	bool top_down, alpha, pad4;
	uint8_t *scratch;	 /* tile x tile BGRX */
	uint8_t *out;
	size_t out_len, out_cap;
	struct rcc_planar_tile *tiles;
	size_t ntiles, tiles_cap;
	struct rcc_rect *rects; /* the damage tracker's tiles, unmerged */
	unsigned rects_max;
};

static bool size_ok(uint32_t width, uint32_t height)
{
	return width && height && width <= 4096 && height <= 4096;
}

size_t rcc_planar_max_size(uint32_t coded_w, uint32_t h, bool alpha)
{
	/* Format header, the planes, Pad1 (no RLE). */
	return 2 + (size_t)coded_w * h * (alpha ? 4 : 3);
}

static uint32_t interleaved_bytes_pp(uint32_t bpp)
{
	return bpp == 24 ? 3 : 2;
}

size_t rcc_interleaved_max_size(uint32_t coded_w, uint32_t h, uint32_t bpp)
{
	return (size_t)coded_w * h * interleaved_bytes_pp(bpp);
}

uint32_t rcc_planar_tile(const struct rcc_planar *p)
{
	return p->tile;
}

int rcc_planar_new(const struct rcc_planar_config *cfg, struct rcc_planar **ret)
{
	uint32_t tile = cfg->tile ? cfg->tile : RCC_PLANAR_TILE_MAX;
	struct rcc_planar *p;
	DWORD flags;
	int r;

	uint32_t bpp = cfg->bpp ? cfg->bpp : 32;

	if (!size_ok(cfg->width, cfg->height) || tile < 4 || tile > RCC_PLANAR_TILE_MAX ||
	    tile % 4)
		return -EINVAL;
	if (bpp != 32 && bpp != 24 && bpp != 16 && bpp != 15)
		return -EINVAL;
	/* Interleaved RLE exists only in bitmap updates: bottom-up, widths of 4. */
	if (bpp != 32 && (cfg->top_down || !cfg->pad4))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->tile = tile;
	p->bpp = bpp;
	p->top_down = cfg->top_down;
	p->alpha = cfg->alpha;
	p->pad4 = cfg->pad4;
	if (bpp == 32) {
		/* RGB (colour loss level 0: lossless), RLE, no alpha plane unless asked. */
		flags = PLANAR_FORMAT_HEADER_RLE | (cfg->alpha ? 0 : PLANAR_FORMAT_HEADER_NA);
		p->ctx = freerdp_bitmap_planar_context_new(flags, tile, tile);
	}
	p->scratch = malloc((size_t)tile * tile * 4);
	if ((bpp == 32 && !p->ctx) || !p->scratch) {
		rcc_planar_free(p);
		return -ENOMEM;
	}
	r = rcc_planar_reset(p, cfg->width, cfg->height);
	if (r < 0) {
		rcc_planar_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void rcc_planar_free(struct rcc_planar *p)
{
	if (!p)
		return;
	freerdp_bitmap_planar_context_free(p->ctx);
	free(p->scratch);
	free(p->out);
	free(p->tiles);
	free(p->rects);
	free(p);
}

int rcc_planar_reset(struct rcc_planar *p, uint32_t width, uint32_t height)
{
	unsigned n;
	struct rcc_rect *r;

	if (!size_ok(width, height))
		return -EINVAL;
	n = ((width + RCC_TILE - 1) / RCC_TILE) * ((height + RCC_TILE - 1) / RCC_TILE);
	if (n > p->rects_max) {
		r = reallocarray(p->rects, n, sizeof(*r));
		if (!r)
			return -ENOMEM;
		p->rects = r;
		p->rects_max = n;
	}
	p->width = width;
	p->height = height;
	return 0;
}

static int reserve_out(struct rcc_planar *p, size_t more)
{
	size_t cap = p->out_cap ? p->out_cap : 64 * KiB;
	uint8_t *b;

	if (p->out_len + more <= p->out_cap)
		return 0;
	while (cap < p->out_len + more)
		cap *= 2;
	b = realloc(p->out, cap);
	if (!b)
		return -ENOMEM;
	p->out = b;
	p->out_cap = cap;
	return 0;
}

static int reserve_tiles(struct rcc_planar *p)
{
	size_t cap = p->tiles_cap ? p->tiles_cap * 2 : 64;
	struct rcc_planar_tile *t;

	if (p->ntiles < p->tiles_cap)
		return 0;
	t = reallocarray(p->tiles, cap, sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->tiles = t;
	p->tiles_cap = cap;
	return 0;
}

/* Into the scratch tile: rows in the order the encoder wants them (it
 * reads the last row first), the last column repeated into the padding. */
static void fill_scratch(struct rcc_planar *p, const struct rcc_surface *s, uint32_t x,
			 uint32_t y, uint32_t w, uint32_t h, uint32_t cw)
{
	for (uint32_t row = 0; row < h; row++) {
		uint32_t src_row = p->top_down ? y + h - 1 - row : y + row;
		const uint8_t *src = s->pixels + (size_t)src_row * s->stride + (size_t)x * 4;
		uint8_t *dst = p->scratch + (size_t)row * cw * 4;

		memcpy(dst, src, (size_t)w * 4);
		for (uint32_t c = w; c < cw; c++)
			memcpy(dst + (size_t)c * 4, src + (size_t)(w - 1) * 4, 4);
	}
}

/* Raw planes (MS-RDPEGDI 2.2.2.5.1: alpha, red, green, blue, Pad1), rows
 * in the same order as FreeRDP's encoder writes them: scratch's last first. */
static size_t write_raw(struct rcc_planar *p, uint32_t cw, uint32_t h, uint8_t *dst)
{
	static const unsigned byte_of[3] = { 2, 1, 0 }; /* R, G, B in BGRX */
	size_t plane = (size_t)cw * h;
	uint8_t *o = dst;

	*o++ = p->alpha ? 0 : PLANAR_FORMAT_HEADER_NA;
	if (p->alpha) {
		memset(o, 0xff, plane);
		o += plane;
	}
	for (unsigned c = 0; c < 3; c++) {
		for (uint32_t row = h; row-- > 0;) {
			const uint8_t *src = p->scratch + (size_t)row * cw * 4 + byte_of[c];

			for (uint32_t i = 0; i < cw; i++)
				*o++ = src[(size_t)i * 4];
		}
	}
	*o++ = 0;
	return (size_t)(o - dst);
}

/*
 * Whether FreeRDP's RLE output holds every plane whole, walked the way
 * planar_decompress() skips a plane (MS-RDPEGDI 2.2.2.5.1.1: a control byte
 * with nRunLength 1 or 2 is a long run).  FreeRDP 2.11 budgets 4 bytes a
 * pixel for all planes, which tiles narrower than 3 pixels outgrow: it then
 * drops the last plane and still reports success (a 1-pixel-wide tile).
 */
static bool rle_complete(const uint8_t *d, size_t len, uint32_t cw, uint32_t h, unsigned planes)
{
	size_t used = 1;

	for (unsigned p = 0; p < planes; p++) {
		for (uint32_t row = 0; row < h; row++) {
			for (uint32_t x = 0; x < cw;) {
				unsigned run, raw;

				if (used >= len)
					return false;
				run = d[used] & 0x0f;
				raw = d[used] >> 4;
				used++;
				if (run == 1 || run == 2) {
					run = raw + 16 * run;
					raw = 0;
				}
				used += raw;
				x += raw + run;
				if (x > cw || used > len)
					return false;
			}
		}
	}
	return used == len;
}

/* Interleaved RLE into dst, else the bare pixels when the RLE would be
 * bigger.  Returns the length and sets *uncompressed. */
static size_t interleave(struct rcc_planar *p, uint32_t cw, uint32_t h, uint8_t *dst,
			 bool *uncompressed)
{
	size_t raw = rcc_interleaved_max_size(cw, h, p->bpp);
	size_t len = rcc_interleaved_encode(p->scratch, (size_t)cw * 4, cw, h, p->bpp, dst, raw);

	*uncompressed = !len;
	return len ? len : rcc_interleaved_pixels(p->scratch, (size_t)cw * 4, cw, h, p->bpp, dst,
						  raw);
}

static int encode_tile(struct rcc_planar *p, const struct rcc_surface *s, uint32_t x, uint32_t y,
		       uint32_t w, uint32_t h)
{
	uint32_t cw = p->pad4 ? ALIGN_UP(w, 4u) : w;
	size_t raw = rcc_planar_max_size(cw, h, p->alpha);
	/* FreeRDP writes its RLE planes unchecked; it bounds them by 4 bytes a pixel. */
	size_t room = p->bpp != 32 ? rcc_interleaved_max_size(cw, h, p->bpp)
				   : MAX(raw, 2 + (size_t)cw * h * 4);
	struct rcc_planar_tile *t;
	bool uncompressed = false;
	UINT32 len = 0;
	uint8_t *dst;
	int r;

	r = reserve_out(p, room);
	if (r < 0)
		return r;
	r = reserve_tiles(p);
	if (r < 0)
		return r;
	fill_scratch(p, s, x, y, w, h, cw);
	dst = p->out + p->out_len;
	if (p->bpp != 32)
		len = (UINT32)interleave(p, cw, h, dst, &uncompressed);
	else if (!freerdp_bitmap_compress_planar(p->ctx, p->scratch, PIXEL_FORMAT_BGRX32, cw, h,
						 cw * 4, dst, &len) ||
		 len > raw || !rle_complete(dst, len, cw, h, p->alpha ? 4 : 3))
		len = (UINT32)write_raw(p, cw, h, dst);
	t = &p->tiles[p->ntiles++];
	/* data is set once the buffer stops moving. */
	*t = (struct rcc_planar_tile){ .x = x, .y = y, .w = w, .h = h, .coded_w = cw,
				       .data = NULL, .len = len, .uncompressed = uncompressed };
	p->out_len += len;
	return 0;
}

int rcc_planar_encode(struct rcc_planar *p, const struct rcc_surface *s,
		      const struct rcc_rect *rects, unsigned n,
		      const struct rcc_planar_tile **tiles, unsigned *ntiles)
{
	size_t pos = 0;
	int r;

	*tiles = NULL;
	*ntiles = 0;
	if (!s->pixels || s->width != p->width || s->height != p->height ||
	    s->stride < s->width * 4)
		return -EINVAL;
	p->out_len = 0;
	p->ntiles = 0;
	for (unsigned i = 0; i < n; i++) {
		/* 64-bit ends: x + w may overflow 32 bits. */
		uint64_t x1 = MIN((uint64_t)rects[i].x + rects[i].w, s->width);
		uint64_t y1 = MIN((uint64_t)rects[i].y + rects[i].h, s->height);

		if (rects[i].x >= x1 || rects[i].y >= y1)
			continue;
		for (uint32_t y = rects[i].y; y < y1;) {
			uint32_t ye = MIN((uint64_t)(y / p->tile + 1) * p->tile, y1);

			for (uint32_t x = rects[i].x; x < x1;) {
				uint32_t xe = MIN((uint64_t)(x / p->tile + 1) * p->tile, x1);

				r = encode_tile(p, s, x, y, xe - x, ye - y);
				if (r < 0)
					return r;
				x = xe;
			}
			y = ye;
		}
	}
	if (p->ntiles > UINT_MAX)
		return -E2BIG;
	for (size_t i = 0; i < p->ntiles; i++) {
		p->tiles[i].data = p->out + pos;
		pos += p->tiles[i].len;
	}
	*tiles = p->tiles;
	*ntiles = (unsigned)p->ntiles;
	return 0;
}

int rcc_planar_encode_damage(struct rcc_planar *p, struct rcc_damage *d,
			     const struct rcc_surface *s, const struct rcc_planar_tile **tiles,
			     unsigned *ntiles)
{
	unsigned n;

	*tiles = NULL;
	*ntiles = 0;
	if (s->width != p->width || s->height != p->height)
		return -EINVAL;
	/* As many rectangles as tiles: rcc_damage_take never has to merge, so
	 * no unchanged tile rides along. */
	n = rcc_damage_take(d, s, p->rects, p->rects_max);
	return rcc_planar_encode(p, s, p->rects, n, tiles, ntiles);
}

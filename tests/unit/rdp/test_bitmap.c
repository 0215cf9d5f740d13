// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * rdp/bitmap.c against a fake rdpUpdate: every Bitmap Update it sends fits
 * the client's MultifragMaxRequestSize (counted as FreeRDP's update.c writes
 * it), the frame markers bracket each frame when the client acknowledges
 * frames, and the tiles, decoded and painted the way FreeRDP's client does
 * (gdi/graphics.c: planar or interleaved RLE, bottom-up, clipped to
 * destRight/destBottom), give back the guest's picture (exactly at 24 and
 * 32 bpp).
 */
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <freerdp/codec/color.h>
#include <freerdp/codec/interleaved.h>
#include <freerdp/codec/planar.h>

#include "session.h"

#define SAFE_SIZE 0x3F80 /* FreeRDP's FASTPATH_FRAGMENT_SAFE_SIZE */

static struct {
	struct session s;
	rdpUpdate update;
	uint8_t *src, *out;
	uint32_t w, h;
	unsigned updates, markers, frames_begun;
	uint32_t open_frame; /* the frame id between BEGIN and END, or 0 */
	bool fail_updates;
	BITMAP_PLANAR_CONTEXT *dec;
	BITMAP_INTERLEAVED_CONTEXT *idec;
	unsigned uncompressed; /* tiles sent as bare pixels */
} t;

static uint8_t *px(uint8_t *fb, uint32_t x, uint32_t y)
{
	return fb + ((size_t)y * t.w + x) * 4;
}

/* As gdi_Bitmap_Decompress (libfreerdp/gdi/graphics.c): planar at 32 bpp,
 * interleaved RLE below, bare pixels (rows bottom-up) when not compressed;
 * into a BGRA bitmap of the coded width. */
static void decode(const BITMAP_DATA *b, uint8_t *tile)
{
	uint32_t fmt = b->bitsPerPixel == 24 ? PIXEL_FORMAT_BGR24
		       : b->bitsPerPixel == 16 ? PIXEL_FORMAT_RGB16 : PIXEL_FORMAT_RGB15;

	if (b->bitsPerPixel == 32) {
		assert_true(b->compressed);
		assert_true(planar_decompress(t.dec, b->bitmapDataStream, b->bitmapLength, b->width,
					      b->height, tile, PIXEL_FORMAT_BGRA32, 0, 0, 0,
					      b->width, b->height, TRUE));
	} else if (b->compressed) {
		assert_true(interleaved_decompress(t.idec, b->bitmapDataStream, b->bitmapLength,
						   b->width, b->height, b->bitsPerPixel, tile,
						   PIXEL_FORMAT_BGRA32, 0, 0, 0, b->width, b->height,
						   NULL));
	} else {
		assert_int_equal(b->bitmapLength,
				 (size_t)b->width * b->height * ((b->bitsPerPixel + 7) / 8));
		assert_true(freerdp_image_copy(tile, PIXEL_FORMAT_BGRA32, 0, 0, 0, b->width,
					       b->height, b->bitmapDataStream, fmt, 0, 0, 0, NULL,
					       FREERDP_FLIP_VERTICAL));
		t.uncompressed++;
	}
}

static BOOL fake_bitmap_update(rdpContext *ctx, const BITMAP_UPDATE *bu)
{
	rdpSettings *st = ctx->settings;
	size_t size = 4;
	uint8_t tile[64 * 64 * 4];

	assert_ptr_equal(ctx, &t.s.ctx);
	if (t.fail_updates)
		return FALSE;
	t.updates++;
	if (t.s.legacy_ack)
		assert_int_not_equal(t.open_frame, 0);
	assert_true(bu->number >= 1 && bu->number <= UINT16_MAX);
	for (UINT32 i = 0; i < bu->number; i++) {
		const BITMAP_DATA *b = &bu->rectangles[i];
		uint32_t dw = b->destRight - b->destLeft + 1, dh = b->destBottom - b->destTop + 1;

		/* update.c: 18 bytes, the TS_CD_HEADER unless the client said
		 * NO_BITMAP_COMPRESSION_HDR, then the data. */
		size += 18 + (st->NoBitmapCompressionHeader ? 0 : 8) + b->bitmapLength;
		assert_int_equal(b->bitsPerPixel, st->ColorDepth);
		assert_int_equal(b->width % 4, 0);
		assert_true(b->width <= 64 && b->height <= 64);
		assert_true(b->bitmapLength <= UINT16_MAX);
		assert_true(b->cbUncompressedSize <= UINT16_MAX);
		assert_true(dw <= b->width && dh == b->height);
		assert_true(b->destRight < t.w && b->destBottom < t.h);
		decode(b, tile);
		for (uint32_t y = 0; y < dh; y++)
			memcpy(px(t.out, b->destLeft, b->destTop + y),
			       tile + (size_t)y * b->width * 4, (size_t)dw * 4);
	}
	/* fastpath_send_update_pdu() refuses anything bigger. */
	assert_true(size <= st->MultifragMaxRequestSize);
	return TRUE;
}

static BOOL fake_marker(rdpContext *ctx, const SURFACE_FRAME_MARKER *m)
{
	(void)ctx;
	t.markers++;
	if (m->frameAction == SURFACECMD_FRAMEACTION_BEGIN) {
		assert_int_equal(t.open_frame, 0);
		assert_int_not_equal(m->frameId, 0);
		t.open_frame = m->frameId;
		t.frames_begun++;
	} else {
		assert_int_equal(m->frameAction, SURFACECMD_FRAMEACTION_END);
		assert_int_equal(m->frameId, t.open_frame);
		t.open_frame = 0;
	}
	return TRUE;
}

/* A session of w x h as session.c leaves it at activation. */
static void setup(uint32_t w, uint32_t h, uint32_t limit, bool acks)
{
	rdpSettings *st;

	memset(&t, 0, sizeof(t));
	t.w = w;
	t.h = h;
	st = freerdp_settings_new(FREERDP_SETTINGS_SERVER_MODE);
	assert_non_null(st);
	st->ColorDepth = 32;
	st->FastPathOutput = TRUE;
	st->MultifragMaxRequestSize = limit;
	st->NoBitmapCompressionHeader = TRUE;
	st->DrawAllowSkipAlpha = TRUE;
	st->SurfaceFrameMarkerEnabled = acks;
	st->FrameAcknowledge = acks ? 2 : 0;
	t.update.BitmapUpdate = fake_bitmap_update;
	t.update.SurfaceFrameMarker = fake_marker;
	t.s.ctx.settings = st;
	t.s.ctx.update = &t.update;
	snprintf(t.s.host, sizeof(t.s.host), "test");
	t.s.width = w;
	t.s.height = h;
	assert_int_equal(rcc_damage_new(w, h, &t.s.damage), 0);
	assert_int_equal(rcc_pacer_new(30, SESSION_MAX_UNACKED, &t.s.pacer), 0);
	t.src = malloc((size_t)w * h * 4);
	t.out = calloc((size_t)w * h, 4);
	assert_non_null(t.src);
	assert_non_null(t.out);
	t.dec = freerdp_bitmap_planar_context_new(0, 64, 64);
	t.idec = bitmap_interleaved_context_new(FALSE);
	assert_non_null(t.dec);
	assert_non_null(t.idec);
}

static void teardown(void)
{
	rcc_planar_free(t.s.planar);
	rcc_damage_free(t.s.damage);
	rcc_pacer_free(t.s.pacer);
	freerdp_settings_free(t.s.ctx.settings);
	freerdp_bitmap_planar_context_free(t.dec);
	bitmap_interleaved_context_free(t.idec);
	free(t.src);
	free(t.out);
}

static struct rcc_surface surface(void)
{
	return (struct rcc_surface){ t.src, t.w, t.h, t.w * 4 };
}

/* Noise: every tile is raw, the biggest a tile gets. */
static void fill(uint32_t seed, bool noise)
{
	for (uint32_t y = 0; y < t.h; y++)
		for (uint32_t x = 0; x < t.w; x++) {
			uint8_t *p = px(t.src, x, y);

			seed = seed * 1103515245u + 12345u;
			p[0] = noise ? (uint8_t)(seed >> 16) : (uint8_t)(x / 7);
			p[1] = noise ? (uint8_t)(seed >> 8) : (uint8_t)(y / 3);
			p[2] = noise ? (uint8_t)(seed >> 24) : (x / 40 + y / 30) % 2 ? 0xff : 0x10;
			p[3] = 0;
		}
}

static void check_picture(void)
{
	for (uint32_t y = 0; y < t.h; y++)
		for (uint32_t x = 0; x < t.w; x++) {
			const uint8_t *a = px(t.src, x, y), *b = px(t.out, x, y);

			if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || b[3] != 0xff)
				fail_msg("(%u,%u): %02x%02x%02x%02x, want %02x%02x%02x", x, y, b[3],
					 b[2], b[1], b[0], a[2], a[1], a[0]);
		}
}

/* The smallest limit a client can have: a noisy full frame is cut into
 * many updates, each under it, bracketed by one pair of markers. */
static void test_small_limit(void **state)
{
	struct rcc_surface s;

	(void)state;
	setup(1022, 766, SAFE_SIZE, true);
	fill(1, true);
	s = surface();
	assert_int_equal(bitmap_start(&t.s), 0);
	assert_true(t.s.legacy_planar && t.s.legacy_ack);
	assert_int_equal(rcc_planar_tile(t.s.planar), 64);
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	/* 16 x 12 raw tiles of up to 12290 bytes: one an update. */
	assert_int_equal(t.updates, 12 * 16);
	assert_int_equal(t.frames_begun, 1);
	assert_int_equal(t.open_frame, 0);
	assert_int_equal(rcc_pacer_unacked(t.s.pacer), 1);
	assert_int_equal(t.s.frames, 1);
	check_picture();

	/* Office-like content packs several tiles an update. */
	fill(2, false);
	rcc_damage_add_all(t.s.damage);
	t.updates = 0;
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	assert_true(t.updates >= 1 && t.updates < 12 * 16 / 4);
	check_picture();

	/* Nothing changed, nothing sent. */
	t.updates = t.markers = 0;
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	assert_int_equal(t.updates + t.markers, 0);
	teardown();
}

/* A client without DRAW_ALLOW_SKIP_ALPHA gets an alpha plane: a 64x64 raw
 * tile (16386 bytes) no longer fits the smallest limit, so 32x32 tiles;
 * and the TS_CD_HEADER counts where the client wants it. */
static void test_alpha_and_header(void **state)
{
	struct rcc_surface s;

	(void)state;
	setup(300, 200, SAFE_SIZE, false);
	t.s.ctx.settings->DrawAllowSkipAlpha = FALSE;
	t.s.ctx.settings->NoBitmapCompressionHeader = FALSE;
	fill(3, true);
	s = surface();
	assert_int_equal(bitmap_start(&t.s), 0);
	assert_int_equal(rcc_planar_tile(t.s.planar), 32);
	assert_false(t.s.legacy_ack);
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	assert_int_equal(t.markers, 0);
	assert_true(t.updates > 1);
	check_picture();
	teardown();

	/* With a big limit the whole frame is one update of 64x64 tiles. */
	setup(300, 200, 4 * 1024 * 1024, false);
	t.s.ctx.settings->DrawAllowSkipAlpha = FALSE;
	fill(4, true);
	s = surface();
	assert_int_equal(bitmap_start(&t.s), 0);
	assert_int_equal(rcc_planar_tile(t.s.planar), 64);
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	assert_int_equal(t.updates, 1);
	check_picture();
	teardown();
}

/* Only the changed tile goes out, however much is reported. */
static void test_damage_only(void **state)
{
	struct rcc_rect all = { 0, 0, 640, 480 };
	struct rcc_surface s;

	(void)state;
	setup(640, 480, SAFE_SIZE, true);
	fill(5, false);
	s = surface();
	assert_int_equal(bitmap_start(&t.s), 0);
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	px(t.src, 300, 200)[2] ^= 0x80;
	rcc_damage_add(t.s.damage, &all, 1);
	t.updates = 0;
	assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
	assert_int_equal(t.updates, 1);
	assert_int_equal(t.frames_begun, 2);
	check_picture();
	/* A failed send ends the session's output with an error. */
	px(t.src, 10, 10)[0] ^= 0x80;
	rcc_damage_add(t.s.damage, &all, 1);
	t.fail_updates = true;
	assert_int_equal(bitmap_send_frame(&t.s, &s), -EIO);
	teardown();
}

/* 24, 16 and 15 bpp sessions: interleaved RLE (bare pixels for noise),
 * every update under the smallest limit; 24 bpp exact, 16 and 15 bpp the
 * high bits of each colour. */
static void test_depths(void **state)
{
	static const uint32_t depths[] = { 24, 16, 15 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(depths); i++) {
		uint32_t bpp = depths[i];
		uint32_t fmt = bpp == 24 ? PIXEL_FORMAT_BGR24
			       : bpp == 16 ? PIXEL_FORMAT_RGB16 : PIXEL_FORMAT_RGB15;
		struct rcc_surface s;

		for (int noise = 0; noise < 2; noise++) {
			setup(1022, 766, SAFE_SIZE, true);
			t.s.ctx.settings->ColorDepth = bpp;
			fill(6 + (uint32_t)noise, noise);
			s = surface();
			assert_int_equal(bitmap_start(&t.s), 0);
			assert_int_equal(rcc_planar_tile(t.s.planar), 64);
			assert_int_equal(bitmap_send_frame(&t.s, &s), 0);
			assert_int_equal(t.frames_begun, 1);
			if (noise && bpp == 24)
				assert_true(t.uncompressed > 12 * 16 / 2);
			if (!noise)
				assert_int_equal(t.uncompressed, 0);
			/* What the client can show: the source through the
			 * session's format and back, as FreeRDP converts it. */
			for (uint32_t y = 0; y < t.h; y++)
				for (uint32_t x = 0; x < t.w; x++) {
					const uint8_t *o = px(t.out, x, y);
					UINT32 c = FreeRDPConvertColor(
						ReadColor(px(t.src, x, y), PIXEL_FORMAT_BGRX32),
						PIXEL_FORMAT_BGRX32, fmt, NULL);
					BYTE r, g, b, a;

					SplitColor(c, fmt, &r, &g, &b, &a, NULL);
					if (o[0] != b || o[1] != g || o[2] != r)
						fail_msg("%u bpp (%u,%u): %02x%02x%02x, want %02x%02x%02x",
							 bpp, x, y, o[2], o[1], o[0], r, g, b);
				}
			teardown();
		}
	}
}

/* Clients the bitmap path cannot serve are refused with a reason. */
static void test_refused(void **state)
{
	(void)state;
	setup(64, 64, SAFE_SIZE, true);
	t.s.ctx.settings->ColorDepth = 8;
	assert_int_equal(bitmap_start(&t.s), -EPROTONOSUPPORT);
	t.s.ctx.settings->ColorDepth = 32;
	t.s.ctx.settings->FastPathOutput = FALSE;
	assert_int_equal(bitmap_start(&t.s), -EPROTONOSUPPORT);
	t.s.ctx.settings->FastPathOutput = TRUE;
	t.s.ctx.settings->MultifragMaxRequestSize = 200;
	assert_int_equal(bitmap_start(&t.s), -EPROTONOSUPPORT);
	assert_null(t.s.planar);
	assert_false(t.s.legacy_planar);
	teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_limit),
		cmocka_unit_test(test_alpha_and_header),
		cmocka_unit_test(test_damage_only),
		cmocka_unit_test(test_depths),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

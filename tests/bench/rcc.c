// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * bench-rcc: encode cost per core at 1920x1080, on two synthetic contents
 * (../shared/research/remote-display.md §3 measured the same pair):
 *
 *   office       a static desktop; per frame one typed glyph, a cursor
 *                move, a clock every second, and a spreadsheet the "guest"
 *                reports as redrawn every 30 frames without changing it
 *   full-motion  a moving gradient with light noise (+-4) over the whole screen
 *   noisy        the same with +-8 noise: a worst case for every encoder
 *
 * Encoders: ours (rcc: damage -> BT.709 conversion of the damage -> x264
 * ultrafast/zerolatency), the peer (x264 preset medium/zerolatency, what
 * FreeRDP's libavcodec path uses, on a full-frame conversion as FreeRDP's
 * avc420_compress does), RemoteFX (rcc_rfx on the same damage), planar
 * and 16 bpp interleaved RLE (rcc_planar on the tiles the hash confirms, as
 * bitmap updates).  All at CRF 23, one x264 thread, the process pinned to
 * one CPU; cost is the process's CPU time (all threads), so other load on
 * the machine matters less than for wall time.  Figures only, never a verdict.
 *
 * Usage: bench-rcc [frames-per-content]   (default 150)
 */
#include "util.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freerdp/codec/color.h>
#include <freerdp/primitives.h>
#include <libyuv.h>
#include <x264.h>

#include "rcc.h"

#define W 1920u
#define H 1080u

struct content {
	const char *name;
	uint8_t *fb;	     /* BGRX, stride W * 4 */
	uint8_t *bg;	     /* office: the desktop without cursor */
	struct rcc_rect dmg[8];
	unsigned ndmg;
	uint64_t reported_px;
	uint32_t cx, cy; /* office: cursor */
	uint32_t noise;	 /* motion: +-noise on every pixel */
	void (*next)(struct content *c, unsigned frame);
};

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void rect_fill(uint8_t *fb, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint32_t v)
{
	for (uint32_t y = y0; y < y0 + h && y < H; y++)
		for (uint32_t x = x0; x < x0 + w && x < W; x++)
			memcpy(fb + ((size_t)y * W + x) * 4, &v, 4);
}

static void rect_copy(uint8_t *dst, const uint8_t *src, uint32_t x0, uint32_t y0, uint32_t w,
		      uint32_t h)
{
	for (uint32_t y = y0; y < y0 + h && y < H; y++)
		memcpy(dst + ((size_t)y * W + x0) * 4, src + ((size_t)y * W + x0) * 4,
		       (size_t)MIN(w, W - x0) * 4);
}

static void damage(struct content *c, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	c->dmg[c->ndmg++] = (struct rcc_rect){ x, y, w, h };
	c->reported_px += (uint64_t)w * h;
}

/* A glyph-like 8x14 pattern, different per character. */
static void glyph(uint8_t *fb, uint32_t x0, uint32_t y0, unsigned ch)
{
	for (uint32_t y = 0; y < 14; y++)
		for (uint32_t x = 0; x < 8; x++)
			if (((ch * 2654435761u) >> ((x + y * 3) % 29)) & 1 && y > 2 && x < 7)
				rect_fill(fb, x0 + x, y0 + y, 1, 1, 0x00202020);
}

static void office_init(struct content *c)
{
	/* Wallpaper, two windows with title bars, text lines and a grid. */
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++) {
			uint32_t v = (uint32_t)(0x30 + y * 0x40 / H) << 16 |
				     (uint32_t)(0x50 + x * 0x30 / W) << 8 | 0x90;

			memcpy(c->bg + ((size_t)y * W + x) * 4, &v, 4);
		}
	rect_fill(c->bg, 0, H - 40, W, 40, 0x00202830); /* panel */
	rect_fill(c->bg, 100, 80, 900, 800, 0x00ffffff);
	rect_fill(c->bg, 100, 80, 900, 28, 0x003050a0);
	for (unsigned line = 0; line < 40; line++)
		for (unsigned col = 0; col < 100; col++)
			if ((line * 7 + col * 13) % 11)
				glyph(c->bg, 120 + col * 8, 130 + line * 18, line * 100 + col);
	rect_fill(c->bg, 1050, 150, 760, 700, 0x00f8f8f8);
	rect_fill(c->bg, 1050, 150, 760, 28, 0x00405060);
	for (uint32_t y = 200; y < 850; y += 22)
		rect_fill(c->bg, 1050, y, 760, 1, 0x00c0c0c0);
	for (uint32_t x = 1050; x < 1810; x += 95)
		rect_fill(c->bg, x, 200, 1, 650, 0x00c0c0c0);
	for (uint32_t y = 204; y < 840; y += 22)
		for (uint32_t x = 1056; x < 1800; x += 95)
			for (unsigned k = 0; k < 6; k++)
				glyph(c->bg, x + k * 8, y, x * y + k);
	memcpy(c->fb, c->bg, (size_t)W * H * 4);
	c->cx = 600;
	c->cy = 500;
}

static void office_next(struct content *c, unsigned frame)
{
	uint32_t gx = 120 + (frame % 100) * 8, gy = 130 + 40 * 18 + (frame / 100 % 4) * 18;

	c->ndmg = 0;
	/* Typing: one glyph; the toolkit reports the whole line. */
	glyph(c->bg, gx, gy, frame + 7);
	rect_copy(c->fb, c->bg, 120, gy, 800, 18);
	damage(c, 120, gy, 800, 18);
	/* Cursor: restore, move, draw; old and new positions reported. */
	rect_copy(c->fb, c->bg, c->cx, c->cy, 16, 16);
	damage(c, c->cx, c->cy, 16, 16);
	c->cx = 600 + (frame * 3) % 300;
	c->cy = 500 + (frame * 2) % 200;
	rect_fill(c->fb, c->cx, c->cy, 12, 16, 0x00000000);
	damage(c, c->cx, c->cy, 16, 16);
	/* A clock in the panel, once a second. */
	if (frame % 30 == 0) {
		rect_fill(c->bg, W - 120, H - 30, 100, 20, 0x00202830);
		for (unsigned k = 0; k < 5; k++)
			glyph(c->bg, W - 115 + k * 9, H - 28, frame / 30 + k);
		rect_copy(c->fb, c->bg, W - 120, H - 30, 100, 20);
		damage(c, W - 120, H - 30, 100, 20);
	}
	/* The spreadsheet "redrawn" identically: reported, not changed. */
	if (frame % 30 == 15)
		damage(c, 1050, 150, 760, 700);
}

static uint32_t rng = 1;

/* The first frame of a content, the same for every encoder. */
static void reset(struct content *c)
{
	if (c->bg) {
		office_init(c);
	} else {
		rng = 1;
		c->next(c, 0);
	}
}

static void motion_next(struct content *c, unsigned frame)
{
	for (uint32_t y = 0; y < H; y++) {
		uint32_t *row = (uint32_t *)(c->fb + (size_t)y * W * 4);

		for (uint32_t x = 0; x < W; x++) {
			uint32_t u = x + frame * 8, v = y + frame * 5;
			int n;

			rng = rng * 1103515245u + 12345u;
			n = (int)((rng >> 16) % (2 * c->noise + 1)) - (int)c->noise;
			row[x] = (uint32_t)MIN(255, MAX(0, (int)((u * 255 / W) & 0xff) + n)) << 16 |
				 (uint32_t)MIN(255, MAX(0, (int)((v * 255 / H) & 0xff) + n)) << 8 |
				 (uint32_t)MIN(255, MAX(0, (int)(((u + v) / 4) & 0xff) + n));
		}
	}
	c->ndmg = 0;
	damage(c, 0, 0, W, H);
}

struct result {
	double cpu, wall;   /* frames after the first */
	double first_cpu;   /* the first frame: an IDR, or every tile for RemoteFX */
	uint64_t bytes, first_bytes;
	unsigned frames;
};

static void account(struct result *r, unsigned frame, double t0, double w0)
{
	if (frame == 0) {
		r->first_cpu = cpu_s() - t0;
		return;
	}
	r->cpu += cpu_s() - t0;
	r->wall += wall_s() - w0;
}

static void print_result(const char *enc, const char *content, const struct result *r)
{
	double fps = (r->frames - 1) / r->cpu;
	double mbit = (double)(r->bytes - r->first_bytes) * 8 / (r->frames - 1) * 30 / 1e6;

	printf("%-22s %-11s %7.1f fps/core %6.2f ms/frame %8.1f KB/frame %7.2f Mbit/s@30 | first"
	       " frame %6.1f ms %6.1f KB | wall %.1f fps\n",
	       enc, content, fps, r->cpu * 1000 / (r->frames - 1),
	       (double)(r->bytes - r->first_bytes) / (r->frames - 1) / 1024, mbit,
	       r->first_cpu * 1000, r->first_bytes / 1024.0, (r->frames - 1) / r->wall);
}

/* Ours: damage -> rcc_h264 (damage-only conversion). */
static int run_ours(struct content *c, unsigned frames, struct result *r)
{
	struct rcc_h264_config cfg = { .width = W, .height = H, .threads = 1 };
	struct rcc_surface s = { c->fb, W, H, W * 4 };
	struct rcc_damage *d;
	struct rcc_h264 *e;
	struct rcc_rect rects[16];
	struct rcc_frame fr;
	uint64_t confirmed = 0;
	int ret;

	*r = (struct result){ 0 };
	if ((ret = rcc_h264_new(&cfg, &e)) < 0 || (ret = rcc_damage_new(W, H, &d)) < 0)
		return ret;
	c->reported_px = 0;
	for (unsigned i = 0; i < frames; i++) {
		double t0, w0;
		unsigned n;

		if (i)
			c->next(c, i);
		t0 = cpu_s();
		w0 = wall_s();
		if (i == 0)
			rcc_damage_add_all(d);
		else
			rcc_damage_add(d, c->dmg, c->ndmg);
		n = rcc_damage_take(d, &s, rects, 16);
		for (unsigned k = 0; i && k < n; k++)
			confirmed += (uint64_t)rects[k].w * rects[k].h;
		ret = rcc_h264_encode(e, &s, rects, n, &fr);
		account(r, i, t0, w0);
		if (ret < 0)
			return ret;
		r->bytes += fr.len;
		if (i == 0)
			r->first_bytes = fr.len;
	}
	r->frames = frames;
	printf("  (%s damage after the first frame: reported %.1f Mpx, kept by the tile hash"
	       " %.1f Mpx, tile-aligned)\n",
	       c->name,
	       c->reported_px / 1e6, confirmed / 1e6);
	rcc_h264_free(e);
	rcc_damage_free(d);
	return 0;
}

/* The peer: full-frame conversion + x264 at another preset. */
static int run_x264(struct content *c, unsigned frames, const char *preset, struct result *r)
{
	x264_param_t p;
	x264_picture_t pic, out;
	x264_nal_t *nals;
	x264_t *x;
	primitives_t *prims = primitives_get();
	int nnal, size;

	*r = (struct result){ 0 };
	if (x264_param_default_preset(&p, preset, "zerolatency") < 0)
		return -EINVAL;
	p.i_log_level = X264_LOG_NONE;
	p.i_width = W;
	p.i_height = ALIGN_UP(H, 16u);
	p.i_csp = X264_CSP_I420;
	p.i_fps_num = 30;
	p.i_fps_den = 1;
	p.i_threads = 1;
	p.i_keyint_max = 300;
	p.b_repeat_headers = 1;
	p.b_annexb = 1;
	p.rc.i_rc_method = X264_RC_CRF;
	p.rc.f_rf_constant = 23;
	if (x264_picture_alloc(&pic, X264_CSP_I420, p.i_width, p.i_height) < 0)
		return -ENOMEM;
	x = x264_encoder_open(&p);
	if (!x)
		return -EIO;
	for (unsigned i = 0; i < frames; i++) {
		BYTE *dst[3] = { pic.img.plane[0], pic.img.plane[1], pic.img.plane[2] };
		UINT32 step[3] = { pic.img.i_stride[0], pic.img.i_stride[1], pic.img.i_stride[2] };
		prim_size_t roi = { W, H };
		double t0, w0;

		if (i)
			c->next(c, i);
		t0 = cpu_s();
		w0 = wall_s();
		prims->RGBToYUV420_8u_P3AC4R(c->fb, PIXEL_FORMAT_BGRX32, W * 4, dst, step, &roi);
		pic.i_pts = i;
		size = x264_encoder_encode(x, &nals, &nnal, &pic, &out);
		account(r, i, t0, w0);
		if (size < 0)
			return -EIO;
		r->bytes += (uint64_t)size;
		if (i == 0)
			r->first_bytes = (uint64_t)size;
	}
	r->frames = frames;
	x264_encoder_close(x);
	x264_picture_clean(&pic);
	return 0;
}

/* RemoteFX on the same (hash-confirmed) damage. */
static int run_rfx(struct content *c, unsigned frames, struct result *r)
{
	struct rcc_rfx_config cfg = { .width = W, .height = H };
	struct rcc_surface s = { c->fb, W, H, W * 4 };
	struct rcc_damage *d;
	struct rcc_rfx *x;
	struct rcc_rect rects[16];
	const struct rcc_buf *m;
	unsigned nm;
	int ret;

	*r = (struct result){ 0 };
	if ((ret = rcc_rfx_new(&cfg, &x)) < 0 || (ret = rcc_damage_new(W, H, &d)) < 0)
		return ret;
	for (unsigned i = 0; i < frames; i++) {
		double t0, w0;
		unsigned n;

		if (i)
			c->next(c, i);
		t0 = cpu_s();
		w0 = wall_s();
		if (i == 0)
			rcc_damage_add_all(d);
		else
			rcc_damage_add(d, c->dmg, c->ndmg);
		n = rcc_damage_take(d, &s, rects, 16);
		ret = rcc_rfx_encode(x, &s, rects, n, 0x3F0000 - 1024, &m, &nm);
		account(r, i, t0, w0);
		if (ret < 0)
			return ret;
		for (unsigned k = 0; k < nm; k++) {
			r->bytes += m[k].len;
			if (i == 0)
				r->first_bytes += m[k].len;
		}
	}
	r->frames = frames;
	rcc_rfx_free(x);
	rcc_damage_free(d);
	return 0;
}

/* Planar (lossless; bpp 32) or interleaved RLE (bpp 16) on the tiles the
 * hash confirms: what a client with neither AVC nor RemoteFX gets as bitmap
 * updates in a 32 or a 16 bpp session. */
static int run_planar(struct content *c, unsigned frames, uint32_t bpp, struct result *r)
{
	struct rcc_planar_config cfg = { .width = W, .height = H, .pad4 = true, .bpp = bpp };
	struct rcc_surface s = { c->fb, W, H, W * 4 };
	const struct rcc_planar_tile *t;
	struct rcc_damage *d;
	struct rcc_planar *p;
	unsigned n;
	int ret;

	*r = (struct result){ 0 };
	if ((ret = rcc_planar_new(&cfg, &p)) < 0 || (ret = rcc_damage_new(W, H, &d)) < 0)
		return ret;
	for (unsigned i = 0; i < frames; i++) {
		double t0, w0;

		if (i)
			c->next(c, i);
		t0 = cpu_s();
		w0 = wall_s();
		if (i == 0)
			rcc_damage_add_all(d);
		else
			rcc_damage_add(d, c->dmg, c->ndmg);
		ret = rcc_planar_encode_damage(p, d, &s, &t, &n);
		account(r, i, t0, w0);
		if (ret < 0)
			return ret;
		for (unsigned k = 0; k < n; k++) {
			r->bytes += t[k].len;
			if (i == 0)
				r->first_bytes += t[k].len;
		}
	}
	r->frames = frames;
	rcc_planar_free(p);
	rcc_damage_free(d);
	return 0;
}

static void conversions(struct content *c)
{
	uint8_t *y = malloc((size_t)W * H), *u = malloc((size_t)W * H / 4),
		*v = malloc((size_t)W * H / 4);
	BYTE *dst[3] = { y, u, v };
	UINT32 step[3] = { W, W / 2, W / 2 };
	prim_size_t roi = { W, H };
	primitives_t *prims = primitives_get();
	double t0;
	const int n = 50;

	t0 = cpu_s();
	for (int i = 0; i < n; i++)
		ARGBToI420(c->fb, W * 4, y, W, u, W / 2, v, W / 2, W, H);
	printf("full-frame BGRX->I420: libyuv ARGBToI420 (BT.601 limited) %.2f ms",
	       (cpu_s() - t0) * 1000 / n);
	t0 = cpu_s();
	for (int i = 0; i < n; i++)
		prims->RGBToYUV420_8u_P3AC4R(c->fb, PIXEL_FORMAT_BGRX32, W * 4, dst, step, &roi);
	printf(", FreeRDP primitives (BT.709 full, what we use) %.2f ms\n", (cpu_s() - t0) * 1000 / n);
	free(y);
	free(u);
	free(v);
}

int main(int argc, char **argv)
{
	unsigned frames = argc > 1 ? (unsigned)atoi(argv[1]) : 150;
	struct content office = { .name = "office", .next = office_next };
	struct content motion = { .name = "full-motion", .next = motion_next, .noise = 4 };
	struct content noisy = { .name = "noisy", .next = motion_next, .noise = 8 };
	struct content *all[] = { &office, &motion, &noisy };
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (frames < 2)
		frames = 2;
	/* One core: x264 uses one thread; RemoteFX's pool is folded onto it. */
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("sched_setaffinity (continuing unpinned)");

	office.fb = malloc((size_t)W * H * 4);
	office.bg = malloc((size_t)W * H * 4);
	motion.fb = malloc((size_t)W * H * 4);
	noisy.fb = malloc((size_t)W * H * 4);
	if (!office.fb || !office.bg || !motion.fb || !noisy.fb)
		return 1;

	printf("bench-rcc: 1920x1080, %u frames per content, CRF 23, x264 threads=1, pinned to CPU %d\n",
	       frames, cpu);
	reset(&motion);
	conversions(&motion);

	for (unsigned k = 0; k < ARRAY_SIZE(all); k++) {
		struct content *c = all[k];
		struct result ours, peer, rfx, planar, il16;
		/* Medium is slow on full motion: fewer frames keep the run short. */
		unsigned peer_frames = c != &office ? MAX(2u, frames / 3) : frames;

		reset(c);
		if (run_ours(c, frames, &ours) < 0)
			return 1;
		reset(c);
		if (run_x264(c, peer_frames, "medium", &peer) < 0)
			return 1;
		reset(c);
		if (run_rfx(c, peer_frames, &rfx) < 0)
			return 1;
		reset(c);
		if (run_planar(c, peer_frames, 32, &planar) < 0)
			return 1;
		reset(c);
		if (run_planar(c, peer_frames, 16, &il16) < 0)
			return 1;
		print_result("x264 ultrafast (ours)", c->name, &ours);
		print_result("x264 medium (FreeRDP)", c->name, &peer);
		print_result("RemoteFX RLGR3", c->name, &rfx);
		print_result("planar (lossless)", c->name, &planar);
		print_result("interleaved RLE, 16 bpp", c->name, &il16);
		printf("  ratio planar/RemoteFX: %.2fx the fps, %.2fx the bytes per frame\n",
		       ((planar.frames - 1) / planar.cpu) / ((rfx.frames - 1) / rfx.cpu),
		       ((double)(planar.bytes - planar.first_bytes) / (planar.frames - 1)) /
			       ((double)(rfx.bytes - rfx.first_bytes) / (rfx.frames - 1)));
		printf("  ratio interleaved 16 bpp/planar: %.2fx the fps, %.2fx the bytes per frame\n",
		       ((il16.frames - 1) / il16.cpu) / ((planar.frames - 1) / planar.cpu),
		       ((double)(il16.bytes - il16.first_bytes) / (il16.frames - 1)) /
			       ((double)(planar.bytes - planar.first_bytes) / (planar.frames - 1)));
		printf("  ratio ours/medium: %.1fx the fps, %.2fx the bitrate\n\n",
		       ((ours.frames - 1) / ours.cpu) / ((peer.frames - 1) / peer.cpu),
		       ((double)(ours.bytes - ours.first_bytes) / (ours.frames - 1)) /
			       ((double)(peer.bytes - peer.first_bytes) / (peer.frames - 1)));
	}
	free(office.fb);
	free(office.bg);
	free(motion.fb);
	free(noisy.fb);
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Render-capture-compress: a framebuffer and its damage in, compressed
 * frames out.  Knows nothing of hv/ or of RDP sessions (docs/ARCHITECTURE.md):
 * rdp/ feeds it pixels it mapped from a display socket and sends what it
 * returns.  Single-threaded per session unless a function says otherwise.
 *
 *   struct rcc_damage      - damage accumulation, confirmed by a tile hash
 *   struct rcc_h264        - BGRX -> I420 (BT.709 full) -> x264 (AVC420 Annex-B)
 *   struct rcc_rfx         - RemoteFX tiles for clients without AVC (FreeRDP codec)
 *   struct rcc_planar      - planar (lossless) tiles for clients without AVC or RemoteFX
 *   struct rcc_pacer       - frame pacing and unacknowledged-frame flow control
 *
 * Threads: x264 and FreeRDP's RemoteFX encoder may start worker threads of
 * their own (rcc_h264_config.threads; RemoteFX uses WinPR's thread pool).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rcc_rect {
	uint32_t x, y, w, h;
};

/* A read-only view of a BGRX (XRGB8888 little-endian) framebuffer. */
struct rcc_surface {
	const uint8_t *pixels;
	uint32_t width, height, stride;
};

/* --- damage ------------------------------------------------------------- */

/* Tiles of RCC_TILE x RCC_TILE pixels (the RemoteFX tile size). */
#define RCC_TILE 64u

struct rcc_damage;
/* A tracker for a width x height surface (1..65535 each); -EINVAL, -ENOMEM. */
int rcc_damage_new(uint32_t width, uint32_t height, struct rcc_damage **ret);
void rcc_damage_free(struct rcc_damage *d);
/* Rectangles the guest said changed (clipped; empty ones ignored).  A hint:
 * rcc_damage_take keeps only the tiles whose contents really changed. */
void rcc_damage_add(struct rcc_damage *d, const struct rcc_rect *r, unsigned n);
/* Everything must be sent again (new mode, IDR, a new client): unlike
 * rcc_damage_add, the next take returns every tile, changed or not. */
void rcc_damage_add_all(struct rcc_damage *d);
/*
 * Take the accumulated damage: hash each touched tile of s, drop tiles
 * whose hash did not change since the last take (guests over-report),
 * and merge the rest into at most max rectangles (tile-aligned, clipped to
 * the surface; they do not overlap, but may cover unchanged tiles when
 * merging was needed).  Returns how many rectangles were written to out
 * (0: no real change, or max == 0); the accumulated damage is cleared.
 * s must have the tracker's width and height (a smaller s is clipped).
 */
unsigned rcc_damage_take(struct rcc_damage *d, const struct rcc_surface *s, struct rcc_rect *out,
			 unsigned max);
/* Whether any damage is waiting for rcc_damage_take. */
bool rcc_damage_pending(const struct rcc_damage *d);

/* --- H.264 (AVC420) ----------------------------------------------------- */

/* Link profiles: caps for x264's VBV (maxrate/bufsize), from LAN down. */
enum rcc_link {
	RCC_LINK_LAN,       /* CRF only, no cap */
	RCC_LINK_BROADBAND, /* 10 Mbit/s */
	RCC_LINK_WAN,       /* 2 Mbit/s */
};

/*
 * The coded picture is the surface rounded up to 16 pixels each way
 * (MS-RDPEGFX 2.2.4.4: an AVC420 bitstream's width and height MUST be
 * multiples of 16 and are cropped by the metablock's region rects), so any
 * width and height work; the padding is black and never shown.
 *
 * Colour: BT.709 full range, converted by FreeRDP's primitives, because
 * RDPGFX clients decode AVC420 with that fixed matrix (MS-RDPEGFX 3.3.8.3.1,
 * FreeRDP's prim_YUV.c) and ignore the stream's VUI.  libyuv's ARGBToI420
 * (BT.601 limited) would show washed-out, shifted colours.
 */
struct rcc_h264_config {
	uint32_t width, height;  /* surface size, 1..4096 each */
	uint32_t fps;            /* target rate, for rate control (default 30) */
	int crf;                 /* default 23 */
	enum rcc_link link;
	uint32_t keyint;         /* frames between IDRs (default 300) */
	unsigned threads;        /* 0: x264 decides; 1 for one core per session */
};

struct rcc_h264;
/* -EINVAL for a bad size or value, -ENOMEM, -EIO when x264 refuses. */
int rcc_h264_new(const struct rcc_h264_config *cfg, struct rcc_h264 **ret);
void rcc_h264_free(struct rcc_h264 *e);
/* The next frame will be an IDR (a new client, a lost frame). */
void rcc_h264_force_idr(struct rcc_h264 *e);
/* Change the VBV cap from the next frame on.  x264 cannot turn VBV on or
 * off in a running encoder, so a change to or from RCC_LINK_LAN reopens
 * it and the next frame is an IDR.  -EIO when x264 refuses. */
int rcc_h264_set_link(struct rcc_h264 *e, enum rcc_link link);
/* The coded (16-aligned) picture size. */
void rcc_h264_coded_size(const struct rcc_h264 *e, uint32_t *width, uint32_t *height);

struct rcc_frame {
	const uint8_t *data; /* Annex-B NAL units, valid until the next encode */
	size_t len;
	bool idr;
	int qp;              /* average QP of the frame, for RDPGFX quant_quality */
	uint64_t pts;
};
/*
 * Convert the surface and encode one frame.  damage == NULL converts the
 * whole surface; otherwise only the given rectangles are converted (rounded
 * out to 16 pixels across, 2 down) into the persistent picture, x264 is told
 * the other macroblocks are unchanged (X264_MBINFO_CONSTANT: it skips their
 * analysis), and ndamage == 0 re-encodes the last picture (e.g. a forced
 * IDR).  The first frame always converts everything.  s must have the configured size (-EINVAL).
 * 0 with *ret filled (len may be 0 when x264 buffered nothing: never with
 * zerolatency), -errno on failure.
 */
int rcc_h264_encode(struct rcc_h264 *e, const struct rcc_surface *s, const struct rcc_rect *damage,
		    unsigned ndamage, struct rcc_frame *ret);

/* --- RemoteFX (MS-RDPRFX), for SurfaceBits to clients without AVC ------ */

struct rcc_rfx_config {
	uint32_t width, height; /* surface size, 1..4096 */
	bool rlgr1;             /* entropy coder RLGR1 instead of RLGR3 (the default) */
};

/* One encoded RemoteFX message, ready for a TS_SURFCMD_STREAM_SURF_BITS. */
struct rcc_buf {
	const uint8_t *data;
	size_t len;
};

struct rcc_rfx;
/* -EINVAL, -ENOMEM. */
int rcc_rfx_new(const struct rcc_rfx_config *cfg, struct rcc_rfx **ret);
void rcc_rfx_free(struct rcc_rfx *x);
/* Start over for a new client or a new size: the next message carries the
 * RemoteFX headers again (sync, context, versions, channels) and the frame
 * index restarts at 0.  -EINVAL for a bad size. */
int rcc_rfx_reset(struct rcc_rfx *x, uint32_t width, uint32_t height);
/*
 * Encode the tiles covering rects of s into RemoteFX messages of at most
 * about max_size bytes each (the client's MultifragMaxRequestSize less the
 * PDU headers; at least 16 KiB: a single tile is never split, so one tile
 * that compresses badly can still exceed a tiny max_size).  On success
 * *msgs and *nmsgs describe the messages, valid until the next call; send each
 * as one SurfaceBits / SurfaceFrameBits (first = index 0, last = nmsgs - 1)
 * with codecID = the negotiated RemoteFX codec id, bpp 32, destLeft/Top 0,
 * destRight/Bottom and width/height = the surface size: tile and rect
 * coordinates are absolute.  n == 0 gives *nmsgs == 0.
 * -EINVAL (bad size, surface mismatch), -ENOMEM, -EIO (FreeRDP failed).
 */
int rcc_rfx_encode(struct rcc_rfx *x, const struct rcc_surface *s, const struct rcc_rect *rects,
		   unsigned n, size_t max_size, const struct rcc_buf **msgs, unsigned *nmsgs);

/* --- planar (MS-RDPEGDI 2.2.2.5.1), for clients with neither AVC nor RemoteFX --
 *
 * RDP 6.0 bitmap compression: lossless, per-plane RLE of row deltas, through
 * FreeRDP's encoder; a tile whose RLE would be larger than its raw planes
 * (noise) goes raw.  Two users: Bitmap Updates (TS_BITMAP_DATA, rows
 * bottom-up) and RDPGFX_CODECID_PLANAR (rows top-down).
 *
 * Sessions of 15, 16 or 24 bpp take interleaved RLE instead (MS-RDPBCGR
 * 2.2.9.1.1.3.1.2.4, the RDP 4.0/5.0 bitmap compression; our encoder,
 * interleaved.c), in bitmap updates only; a tile whose RLE would be larger
 * than its pixels goes uncompressed.
 */

/* Tiles are at most this big: TS_CD_HEADER's cbUncompressedSize is 16-bit
 * (MS-RDPBCGR 2.2.9.1.1.3.1.2.3), and 64x64 is what FreeRDP's shadow server
 * sends in bitmap updates. */
#define RCC_PLANAR_TILE_MAX 64u

struct rcc_planar_config {
	uint32_t width, height; /* surface size, 1..4096 */
	uint32_t tile;          /* tile edge, 4..64 and a multiple of 4; 0: 64 */
	bool top_down;          /* rows top-down (RDPGFX); else bottom-up (bitmap updates) */
	bool alpha;             /* an alpha plane (0xFF): clients without DRAW_ALLOW_SKIP_ALPHA */
	bool pad4;              /* code widths rounded up to 4, the last column repeated */
	uint32_t bpp;           /* 0 or 32: planar; 24, 16, 15: interleaved RLE, which
				 * needs !top_down and pad4 */
};

/* One encoded tile: it covers x, y, w, h of the surface; coded_w is w, or
 * w rounded up to 4 with pad4 (the client draws only w of them).  With
 * interleaved RLE, uncompressed says data is the tile's bare pixels in the
 * session's bpp (rows bottom-up; BGR24, RGB16 or RGB15, little-endian). */
struct rcc_planar_tile {
	uint32_t x, y, w, h, coded_w;
	const uint8_t *data;
	size_t len;
	bool uncompressed;
};

struct rcc_planar;
/* -EINVAL for a bad size or tile, -ENOMEM. */
int rcc_planar_new(const struct rcc_planar_config *cfg, struct rcc_planar **ret);
void rcc_planar_free(struct rcc_planar *p);
/* A new surface size (-EINVAL, -ENOMEM); the tile and options stay. */
int rcc_planar_reset(struct rcc_planar *p, uint32_t width, uint32_t height);
/* The tile edge in use. */
uint32_t rcc_planar_tile(const struct rcc_planar *p);
/* The most bytes a tile coded coded_w x h can take (its raw planes). */
size_t rcc_planar_max_size(uint32_t coded_w, uint32_t h, bool alpha);
/* The same for interleaved RLE at bpp 15, 16 or 24 (its bare pixels). */
size_t rcc_interleaved_max_size(uint32_t coded_w, uint32_t h, uint32_t bpp);
/*
 * A w x h BGRX picture (rows top-down, stride bytes apart; the X bytes are
 * ignored) at bpp 15, 16 or 24, as TS_BITMAP_DATA carries it: rows
 * bottom-up, pixels truncated to the depth (little-endian RGB 5:5:5, 5:6:5,
 * or B, G, R bytes).  _encode writes interleaved RLE, _pixels the bare
 * pixels.  Both write at most cap bytes to dst and return the length, or 0
 * when it would not fit (or for no pixels, a bad bpp, over 65535 pixels).
 */
size_t rcc_interleaved_encode(const uint8_t *bgrx, size_t stride, uint32_t w, uint32_t h,
			      uint32_t bpp, uint8_t *dst, size_t cap);
size_t rcc_interleaved_pixels(const uint8_t *bgrx, size_t stride, uint32_t w, uint32_t h,
			      uint32_t bpp, uint8_t *dst, size_t cap);
/*
 * Encode rects of s (clipped to the surface) as tiles: each rectangle is cut
 * on the grid of tile x tile cells from the surface origin, so tiles of
 * RCC_TILE-aligned damage line up with rcc_damage's hashed tiles.
 * Overlapping rectangles give overlapping tiles.  On success *tiles and
 * *ntiles describe them, valid until the next call; n == 0 gives none.
 * -EINVAL (surface mismatch), -ENOMEM.
 */
int rcc_planar_encode(struct rcc_planar *p, const struct rcc_surface *s,
		      const struct rcc_rect *rects, unsigned n,
		      const struct rcc_planar_tile **tiles, unsigned *ntiles);
/*
 * Take d's damage (rcc_damage_take) without merging, so only the tiles
 * whose hash changed are encoded, and encode it as rcc_planar_encode does.
 * d must track s's size.
 */
int rcc_planar_encode_damage(struct rcc_planar *p, struct rcc_damage *d,
			     const struct rcc_surface *s, const struct rcc_planar_tile **tiles,
			     unsigned *ntiles);

/* --- pacing ------------------------------------------------------------- */

struct rcc_pacer;
/* target_fps frames per second at most (1..1000), and at most max_unacked
 * frames sent but not acknowledged by the client (0: no limit).  -EINVAL,
 * -ENOMEM. */
int rcc_pacer_new(uint32_t target_fps, uint32_t max_unacked, struct rcc_pacer **ret);
void rcc_pacer_free(struct rcc_pacer *p);
/* Nanoseconds from now_ns until a frame may be sent (0: now;
 * UINT64_MAX: blocked until an acknowledgement). */
uint64_t rcc_pacer_wait(const struct rcc_pacer *p, uint64_t now_ns);
void rcc_pacer_sent(struct rcc_pacer *p, uint32_t frame_id, uint64_t now_ns);
/* The client acknowledged frame_id (and everything before it).  Ids are
 * compared wrap-safe; an ack for a frame not sent yet, or older than the
 * last ack, is ignored (the client is not trusted). */
void rcc_pacer_acked(struct rcc_pacer *p, uint32_t frame_id, uint64_t now_ns);
uint32_t rcc_pacer_unacked(const struct rcc_pacer *p);
/* Change the limit (0: none), e.g. when an RDPGFX client sends
 * SUSPEND_FRAME_ACKNOWLEDGEMENT as its queueDepth and stops acking. */
void rcc_pacer_set_max_unacked(struct rcc_pacer *p, uint32_t max_unacked);
/* Forget the frames in flight (a new client, a channel reset). */
void rcc_pacer_reset(struct rcc_pacer *p);
/* Smoothed send-to-ack time (RFC 6298 style), 0 until the first ack. */
uint64_t rcc_pacer_rtt_ns(const struct rcc_pacer *p);

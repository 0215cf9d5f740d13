// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Damage on a grid of RCC_TILE tiles.  Guests report more than they change
 * (whole windows, whole scanouts), so a report only marks tiles; the take
 * hashes each marked tile and keeps those whose contents differ from the
 * last take.  The kept tiles are merged into a few rectangles because each
 * rectangle costs a metablock entry (RDPGFX) or a region rect (RemoteFX).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rcc.h"
#include "util.h"

/* Above this many rectangles the pairwise merge (cubic) is not worth it. */
#define GREEDY_MAX 64u

enum {
	TILE_MARKED = 1 << 0, /* reported by the guest, to be confirmed */
	TILE_FORCED = 1 << 1, /* send even if unchanged */
	TILE_HASHED = 1 << 2, /* hash[] holds the contents of the last take */
	TILE_DIRTY = 1 << 3,  /* confirmed in this take */
};

struct rcc_damage {
	uint32_t width, height;
	uint32_t cols, rows;
	bool pending;
	uint8_t *state;	 /* cols * rows TILE_* */
	uint64_t *hash;	 /* cols * rows */
	struct rcc_rect *work; /* cols * rows: merge scratch */
	unsigned *open;	       /* 2 * cols: runs of the previous and current row */
};

int rcc_damage_new(uint32_t width, uint32_t height, struct rcc_damage **ret)
{
	struct rcc_damage *d;
	size_t n;

	/* RemoteFX and RDPGFX rectangles are 16-bit. */
	if (!width || !height || width > UINT16_MAX || height > UINT16_MAX)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->width = width;
	d->height = height;
	d->cols = (width + RCC_TILE - 1) / RCC_TILE;
	d->rows = (height + RCC_TILE - 1) / RCC_TILE;
	n = (size_t)d->cols * d->rows;
	d->state = calloc(n, sizeof(*d->state));
	d->hash = calloc(n, sizeof(*d->hash));
	d->work = calloc(n, sizeof(*d->work));
	d->open = calloc(2 * (size_t)d->cols, sizeof(*d->open));
	if (!d->state || !d->hash || !d->work || !d->open) {
		rcc_damage_free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

void rcc_damage_free(struct rcc_damage *d)
{
	if (!d)
		return;
	free(d->state);
	free(d->hash);
	free(d->work);
	free(d->open);
	free(d);
}

void rcc_damage_add(struct rcc_damage *d, const struct rcc_rect *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		/* 64-bit ends: x + w may overflow 32 bits in a hostile report. */
		uint64_t x1 = MIN((uint64_t)r[i].x + r[i].w, d->width);
		uint64_t y1 = MIN((uint64_t)r[i].y + r[i].h, d->height);

		if (r[i].x >= x1 || r[i].y >= y1)
			continue;
		for (uint32_t ty = r[i].y / RCC_TILE; ty <= (y1 - 1) / RCC_TILE; ty++)
			for (uint32_t tx = r[i].x / RCC_TILE; tx <= (x1 - 1) / RCC_TILE; tx++)
				d->state[(size_t)ty * d->cols + tx] |= TILE_MARKED;
		d->pending = true;
	}
}

void rcc_damage_add_all(struct rcc_damage *d)
{
	size_t n = (size_t)d->cols * d->rows;

	for (size_t i = 0; i < n; i++)
		d->state[i] |= TILE_MARKED | TILE_FORCED;
	d->pending = true;
}

bool rcc_damage_pending(const struct rcc_damage *d)
{
	return d->pending;
}

static uint64_t tile_hash(const struct rcc_surface *s, uint32_t x, uint32_t y, uint32_t w,
			  uint32_t h)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	for (uint32_t row = 0; row < h; row++)
		XXH3_64bits_update(&st, s->pixels + (size_t)(y + row) * s->stride + (size_t)x * 4,
				   (size_t)w * 4);
	return XXH3_64bits_digest(&st);
}

static uint64_t area(const struct rcc_rect *r)
{
	return (uint64_t)r->w * r->h;
}

static struct rcc_rect bbox(const struct rcc_rect *a, const struct rcc_rect *b)
{
	uint32_t x0 = MIN(a->x, b->x), y0 = MIN(a->y, b->y);
	uint32_t x1 = MAX(a->x + a->w, b->x + b->w), y1 = MAX(a->y + a->h, b->y + b->h);

	return (struct rcc_rect){ x0, y0, x1 - x0, y1 - y0 };
}

static bool overlaps(const struct rcc_rect *a, const struct rcc_rect *b)
{
	return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h &&
	       b->y < a->y + a->h;
}

/*
 * Rectangles in tile units from horizontal runs of dirty tiles; a run with
 * the same columns as one ending on the row above extends it downwards.
 * With whole_rows each row is one run from its first to its last dirty tile.
 * Both rows' runs come sorted by x, so one pass pairs them up.
 */
static unsigned runs(struct rcc_damage *d, bool whole_rows)
{
	struct rcc_rect *w = d->work;
	unsigned *prev = d->open, *cur = d->open + d->cols, *swap_ptr;
	unsigned n = 0, nprev = 0;

	for (uint32_t ty = 0; ty < d->rows; ty++) {
		const uint8_t *row = d->state + (size_t)ty * d->cols;
		unsigned ncur = 0, p = 0;

		for (uint32_t tx = 0; tx < d->cols;) {
			uint32_t end;

			if (!(row[tx] & TILE_DIRTY)) {
				tx++;
				continue;
			}
			if (whole_rows) {
				end = d->cols;
				while (!(row[end - 1] & TILE_DIRTY))
					end--;
			} else {
				for (end = tx + 1; end < d->cols && (row[end] & TILE_DIRTY); end++)
					;
			}
			while (p < nprev && w[prev[p]].x < tx)
				p++;
			if (p < nprev && w[prev[p]].x == tx && w[prev[p]].w == end - tx) {
				w[prev[p]].h++;
				cur[ncur++] = prev[p++];
			} else {
				w[n] = (struct rcc_rect){ tx, ty, end - tx, 1 };
				cur[ncur++] = n++;
			}
			tx = end;
		}
		swap_ptr = prev;
		prev = cur;
		cur = swap_ptr;
		nprev = ncur;
	}
	return n;
}

/*
 * Merge the pair whose bounding box adds the least uncovered area, until
 * n <= max.  A bounding box may swallow a third rectangle; that one is
 * folded in too so the result never overlaps.
 */
static unsigned merge_greedy(struct rcc_rect *r, unsigned n, unsigned max)
{
	while (n > max) {
		uint64_t best = UINT64_MAX;
		unsigned bi = 0, bj = 1;

		for (unsigned i = 0; i < n; i++) {
			for (unsigned j = i + 1; j < n; j++) {
				struct rcc_rect b = bbox(&r[i], &r[j]);
				uint64_t cost = area(&b) - area(&r[i]) - area(&r[j]);

				if (cost < best) {
					best = cost;
					bi = i;
					bj = j;
				}
			}
		}
		r[bi] = bbox(&r[bi], &r[bj]);
		r[bj] = r[--n];
		/* Absorb whatever the grown box now touches, until stable. */
		for (bool again = true; again;) {
			again = false;
			for (unsigned k = 0; k < n; k++) {
				if (k == bi || !overlaps(&r[bi], &r[k]))
					continue;
				r[bi] = bbox(&r[bi], &r[k]);
				r[k] = r[--n];
				if (bi == n)
					bi = k;
				again = true;
				break;
			}
		}
	}
	return n;
}

unsigned rcc_damage_take(struct rcc_damage *d, const struct rcc_surface *s, struct rcc_rect *out,
			 unsigned max)
{
	uint32_t sw = MIN(s->width, d->width), sh = MIN(s->height, d->height);
	unsigned ndirty = 0, n;

	if (!d->pending)
		return 0;
	d->pending = false;

	for (uint32_t ty = 0; ty < d->rows; ty++) {
		for (uint32_t tx = 0; tx < d->cols; tx++) {
			uint8_t *st = &d->state[(size_t)ty * d->cols + tx];
			uint32_t x = tx * RCC_TILE, y = ty * RCC_TILE;
			bool dirty;

			if (!(*st & TILE_MARKED)) {
				*st &= ~TILE_DIRTY;
				continue;
			}
			if (x < sw && y < sh) {
				uint64_t h = tile_hash(s, x, y, MIN(RCC_TILE, sw - x),
						       MIN(RCC_TILE, sh - y));
				uint64_t *old = &d->hash[(size_t)ty * d->cols + tx];

				dirty = !(*st & TILE_HASHED) || *old != h || (*st & TILE_FORCED);
				*old = h;
				*st |= TILE_HASHED;
			} else {
				/* Outside a short surface: nothing to hash, nothing to see. */
				dirty = *st & TILE_FORCED;
			}
			*st &= ~(TILE_MARKED | TILE_FORCED | TILE_DIRTY);
			if (dirty) {
				*st |= TILE_DIRTY;
				ndirty++;
			}
		}
	}
	if (!ndirty || !max)
		return 0;

	n = runs(d, false);
	if (n > max && n > GREEDY_MAX)
		n = runs(d, true);
	if (n > max && n <= GREEDY_MAX)
		n = merge_greedy(d->work, n, max);
	if (n > max) {
		struct rcc_rect b = d->work[0];

		for (unsigned i = 1; i < n; i++)
			b = bbox(&b, &d->work[i]);
		d->work[0] = b;
		n = 1;
	}

	for (unsigned i = 0; i < n; i++) {
		const struct rcc_rect *t = &d->work[i];
		uint32_t x = t->x * RCC_TILE, y = t->y * RCC_TILE;

		out[i] = (struct rcc_rect){
			.x = x,
			.y = y,
			.w = MIN((t->x + t->w) * RCC_TILE, d->width) - x,
			.h = MIN((t->y + t->h) * RCC_TILE, d->height) - y,
		};
	}
	return n;
}

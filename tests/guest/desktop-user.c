// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The desktop's drawing ("desktop" / "desktop=anim"), at CPL3 where this
 * KVM runs code natively: everything is drawn here, straight into the
 * VRAM (struct desk_info.fb, identity-mapped), and the kernel
 * (kernel/desktop.c) only sends the changed rectangles and hands back
 * input, through SYS_DESKTOP once per frame (guest.h).
 *
 * The screen is a scene redrawn per rectangle: each changed rectangle is
 * rendered whole (wallpaper, windows, text, pointer) with everything
 * clipped to it, so no pixel is ever read back.  What is drawn is a pure
 * function of the mode and the state (clock text, typed text, pointer;
 * in "desktop=anim" the frame number and the millisecond stamp), which
 * a golden-image test relies on.  Layout: README.md.
 */
#include <stdbool.h>
#include <stddef.h>

#include "font.h"
#include "guest.h"

#define WLTIMEDELTA 116444736000000000ull /* 100 ns units, 1601 -> 1970 */

/* ---- "desktop" layout (README.md) ---- */
#define WIN_X 64
#define WIN_Y 112
#define WIN_W 512
#define WIN_H 240
#define TITLE_H 24
#define CLOCK_W (8 * FONT_CELL_W * 2)
#define CLOCK_H (FONT_H * 2)
#define CLOCK_X (WIN_X + WIN_W - 8 - CLOCK_W)
#define CLOCK_Y (WIN_Y + 5)
#define FIELD_X 80
#define FIELD_Y 176
#define FIELD_W 400
#define FIELD_H 32
#define BTN_X 492
#define BTN_Y 176
#define BTN_W 68
#define BTN_H 32
#define TEXT_MAX 32

/* ---- "desktop=anim" layout ---- */
#define CELL 32
#define CELLS_W (16 * CELL)
#define CELLS_H (2 * CELL)
#define VID_W 256
#define VID_H 144
#define VID_Y 96
#define MW_W 240
#define MW_H 120
#define BANNER_H 32
#define FPS 30

#define WHITE 0xffffff
#define BLACK 0x000000

static struct desk_info *di;
static uint32_t *fb;
static int W, H, stride; /* stride in pixels */
static struct desk_rect clip;
static struct desk_sync sync;

/* State that the picture shows. */
static char clock_text[9] = "00:00:00";
static char text[TEXT_MAX + 1];
static int text_len;
static int ptr_x, ptr_y;
static bool ptr_visible;
static uint8_t ptr_buttons;
static uint32_t frame;
static uint32_t stamp_ms; /* anim: the millisecond cells */
static int mw_x, mw_y;    /* anim: the moving window */

static inline uint64_t sys(uint64_t nr, uint64_t a, uint64_t b)
{
	asm volatile("int3" : "+a"(nr) : "D"(a), "S"(b) : "memory");
	return nr;
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline int imin(int a, int b)
{
	return a < b ? a : b;
}

static inline int imax(int a, int b)
{
	return a > b ? a : b;
}

/* ---- output lines ---- */

struct line {
	char b[160];
	unsigned n;
};

static void put_s(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b))
		l->b[l->n++] = *s++;
}

static void put_u(struct line *l, uint64_t v)
{
	char d[20];
	unsigned n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && l->n < sizeof(l->b))
		l->b[l->n++] = d[--n];
}

static void print(struct line *l)
{
	put_s(l, "\n");
	sys(SYS_PRINT, (uint64_t)(uintptr_t)l->b, l->n);
	l->n = 0;
}

/* ---- drawing, clipped to `clip` ---- */

static void fill(int x, int y, int w, int h, uint32_t color)
{
	int x1 = imax(x, clip.x), y1 = imax(y, clip.y);
	int x2 = imin(x + w, clip.x + clip.w), y2 = imin(y + h, clip.y + clip.h);

	for (int yy = y1; yy < y2; yy++) {
		uint32_t *p = fb + (long)yy * stride;

		for (int xx = x1; xx < x2; xx++)
			p[xx] = color;
	}
}

static void frame_rect(int x, int y, int w, int h, uint32_t color)
{
	fill(x, y, w, 1, color);
	fill(x, y + h - 1, w, 1, color);
	fill(x, y, 1, h, color);
	fill(x + w - 1, y, 1, h, color);
}

static bool clip_meets(int x, int y, int w, int h)
{
	return x < clip.x + clip.w && x + w > clip.x && y < clip.y + clip.h && y + h > clip.y;
}

static void draw_char(int x, int y, char c, int scale, uint32_t color)
{
	const uint8_t *g;

	if (!clip_meets(x, y, FONT_W * scale, FONT_H * scale))
		return;
	if (c < FONT_FIRST || c > FONT_LAST)
		c = '?';
	g = font_glyphs[c - FONT_FIRST];
	for (int row = 0; row < FONT_H; row++)
		for (int col = 0; col < FONT_W; col++)
			if (g[row] & (0x10 >> col))
				fill(x + col * scale, y + row * scale, scale, scale, color);
}

static void draw_text(int x, int y, const char *s, int scale, uint32_t color)
{
	for (; *s; s++, x += FONT_CELL_W * scale)
		draw_char(x, y, *s, scale, color);
}

/* A vertical gradient with a faint 32-pixel checkerboard and diagonal
 * lines: deterministic, and shows misplaced pixels. */
static void wallpaper(void)
{
	int y2 = clip.y + clip.h, x2 = clip.x + clip.w;

	for (int y = clip.y; y < y2; y++) {
		uint32_t r = 0x18 + (uint32_t)y * 0x28 / (uint32_t)H;
		uint32_t g = 0x30 + (uint32_t)y * 0x38 / (uint32_t)H;
		uint32_t b = 0x58 + (uint32_t)y * 0x60 / (uint32_t)H;
		uint32_t base = r << 16 | g << 8 | b, lite = base + 0x0a0a0a;
		uint32_t *p = fb + (long)y * stride;

		for (int x = clip.x; x < x2; x++) {
			if (((x + y) & 63) == 0)
				p[x] = 0x5878a8;
			else
				p[x] = (((x >> 5) ^ (y >> 5)) & 1) ? lite : base;
		}
	}
}

/* 12 x 19, hot spot at the tip: X black, o white. */
static const char *const pointer_image[] = {
	"X           ",
	"XX          ",
	"XoX         ",
	"XooX        ",
	"XoooX       ",
	"XooooX      ",
	"XoooooX     ",
	"XooooooX    ",
	"XoooooooX   ",
	"XooooooooX  ",
	"XoooooooooX ",
	"XooooooXXXXX",
	"XoooXooX    ",
	"XooXXooX    ",
	"XoX  XooX   ",
	"XX   XooX   ",
	"X     XooX  ",
	"      XooX  ",
	"       XX   ",
};
#define PTR_W 12
#define PTR_H 19

static void draw_pointer(void)
{
	if (!ptr_visible || !clip_meets(ptr_x, ptr_y, PTR_W, PTR_H))
		return;
	for (int r = 0; r < PTR_H; r++)
		for (int c = 0; c < PTR_W; c++)
			if (pointer_image[r][c] != ' ')
				fill(ptr_x + c, ptr_y + r, 1, 1, pointer_image[r][c] == 'X' ? BLACK : WHITE);
}

/* ---- "desktop" ---- */

static void render_desktop(void)
{
	wallpaper();
	/* shadow, frame, title bar with the clock */
	fill(WIN_X + 6, WIN_Y + WIN_H, WIN_W, 6, 0x0c1420);
	fill(WIN_X + WIN_W, WIN_Y + 6, 6, WIN_H - 6, 0x0c1420);
	frame_rect(WIN_X, WIN_Y, WIN_W, WIN_H, 0x202020);
	fill(WIN_X + 1, WIN_Y + 1, WIN_W - 2, TITLE_H, 0x2a5caa);
	draw_text(WIN_X + 8, WIN_Y + 5, "Skylight", 2, WHITE);
	draw_text(CLOCK_X, CLOCK_Y, clock_text, 2, WHITE);
	fill(WIN_X + 1, WIN_Y + 1 + TITLE_H, WIN_W - 2, WIN_H - 2 - TITLE_H, 0xe8e8e8);
	draw_text(FIELD_X, FIELD_Y - 24, "Type here:", 2, 0x202020);
	/* the text field and its caret */
	frame_rect(FIELD_X, FIELD_Y, FIELD_W, FIELD_H, 0x606060);
	fill(FIELD_X + 1, FIELD_Y + 1, FIELD_W - 2, FIELD_H - 2, WHITE);
	draw_text(FIELD_X + 6, FIELD_Y + 8, text, 2, BLACK);
	fill(FIELD_X + 6 + text_len * FONT_CELL_W * 2, FIELD_Y + 6, 2, FIELD_H - 12, BLACK);
	/* the Clear button */
	frame_rect(BTN_X, BTN_Y, BTN_W, BTN_H, 0x606060);
	fill(BTN_X + 1, BTN_Y + 1, BTN_W - 2, BTN_H - 2, 0xc8c8c8);
	draw_text(BTN_X + 4, BTN_Y + 8, "Clear", 2, 0x202020);
	draw_text(FIELD_X, FIELD_Y + 56, "Type into the field; Enter prints it, Clear empties it.", 1,
		  0x303030);
	draw_text(FIELD_X, FIELD_Y + 72,
		  "Synthetic video, keyboard and mouse over VMBus (Hyper-V protocols).", 1,
		  0x303030);
	draw_pointer();
}

/* ---- "desktop=anim" ---- */

static int vid_x(void)
{
	return imax(W - VID_W - 32, 0);
}

static int tri(uint32_t t, int n)
{
	uint32_t m;

	if (n <= 0)
		return 0;
	m = t % (2u * (uint32_t)n);
	return m < (uint32_t)n ? (int)m : 2 * n - (int)m;
}

static void anim_window_pos(uint32_t f, int *x, int *y)
{
	int ylo = CELLS_H + 8, yhi = H - BANNER_H - 16 - MW_H;

	*x = tri(f * 5, W - MW_W);
	*y = ylo + tri(f * 3, yhi - ylo);
}

static void render_anim(void)
{
	static const char banner[] = "  Skylight test guest  *  desktop=anim  *  synthetic video over VMBus  *";
	int vx = vid_x(), bw = (int)(sizeof(banner) - 1) * FONT_CELL_W * 2, by = H - BANNER_H - 8;
	char num[11];
	int n = 0;

	wallpaper();
	/* the "video": every pixel changes every frame */
	frame_rect(vx - 2, VID_Y - 2, VID_W + 4, VID_H + 4, 0x101010);
	frame_rect(vx - 1, VID_Y - 1, VID_W + 2, VID_H + 2, 0x101010);
	if (clip_meets(vx, VID_Y, VID_W, VID_H)) {
		int y1 = imax(VID_Y, clip.y), y2 = imin(VID_Y + VID_H, clip.y + clip.h);
		int x1 = imax(vx, clip.x), x2 = imin(vx + VID_W, clip.x + clip.w);

		for (int y = y1; y < y2; y++) {
			uint32_t *p = fb + (long)y * stride, v = (uint32_t)(y - VID_Y);

			for (int x = x1; x < x2; x++) {
				uint32_t u = (uint32_t)(x - vx);
				uint32_t r = (u + frame * 3) & 0xff, g = (v * 2 + frame * 5) & 0xff;
				uint32_t b = ((u ^ v) + frame * 7) & 0xff;

				p[x] = ((u + frame * 6) & 63) < 4 ? WHITE : r << 16 | g << 8 | b;
			}
		}
	}
	/* the scrolling banner */
	fill(0, by, W, BANNER_H, 0x101820);
	for (int x = -(int)((frame * 4) % (uint32_t)bw); x < W; x += bw)
		draw_text(x, by + 8, banner, 2, 0xf0d040);
	/* the moving window, with the frame number */
	frame_rect(mw_x, mw_y, MW_W, MW_H, 0x202020);
	fill(mw_x + 1, mw_y + 1, MW_W - 2, TITLE_H, 0xaa5c2a);
	draw_text(mw_x + 8, mw_y + 5, "Moving window", 2, WHITE);
	fill(mw_x + 1, mw_y + 1 + TITLE_H, MW_W - 2, MW_H - 2 - TITLE_H, 0xe8e8e8);
	for (uint32_t v = frame; n == 0 || v; v /= 10)
		num[n++] = (char)('0' + v % 10);
	num[n] = 0;
	for (int i = 0; i < n / 2; i++) {
		char t = num[i];

		num[i] = num[n - 1 - i];
		num[n - 1 - i] = t;
	}
	draw_text(mw_x + 16, mw_y + 48, "frame", 2, 0x202020);
	draw_text(mw_x + 16 + 6 * FONT_CELL_W * 2, mw_y + 48, num, 2, 0x202020);
	/* the cells: frame counter and millisecond stamp, MSB first */
	for (int i = 0; i < 16; i++) {
		fill(i * CELL, 0, CELL, CELL, (frame >> (15 - i)) & 1 ? WHITE : BLACK);
		fill(i * CELL, CELL, CELL, CELL, (stamp_ms >> (15 - i)) & 1 ? WHITE : BLACK);
	}
	draw_pointer();
}

/* ---- frames ---- */

static void dirty(int x, int y, int w, int h)
{
	struct desk_rect *r;

	x = imax(x, 0);
	y = imax(y, 0);
	w = imin(x + w, W) - x;
	h = imin(y + h, H) - y;
	if (w <= 0 || h <= 0)
		return;
	for (uint32_t i = 0; i < sync.nrects; i++) {
		r = &sync.rects[i];
		if (x >= r->x && y >= r->y && x + w <= r->x + r->w && y + h <= r->y + r->h)
			return; /* already covered */
	}
	if (sync.nrects < DESK_MAX_RECTS) {
		sync.rects[sync.nrects++] = (struct desk_rect){ x, y, w, h };
		return;
	}
	/* Out of rectangles: grow the last one. */
	r = &sync.rects[DESK_MAX_RECTS - 1];
	w = imax(r->x + r->w, x + w);
	h = imax(r->y + r->h, y + h);
	r->x = imin(r->x, x);
	r->y = imin(r->y, y);
	r->w = w - r->x;
	r->h = h - r->y;
}

/* desktop=office: the ordinary desktop, a line being typed into its
 * text field (one character a frame), and the frame/clock cells. */
static void render_office(void)
{
	render_desktop();
	for (int i = 0; i < 16; i++) {
		fill(i * CELL, 0, CELL, CELL, (frame >> (15 - i)) & 1 ? WHITE : BLACK);
		fill(i * CELL, CELL, CELL, CELL, (stamp_ms >> (15 - i)) & 1 ? WHITE : BLACK);
	}
}

static void present(void)
{
	for (uint32_t i = 0; i < sync.nrects; i++) {
		clip = sync.rects[i];
		if (di->anim == DESK_ANIM_OFFICE)
			render_office();
		else if (di->anim)
			render_anim();
		else
			render_desktop();
	}
}

static void set_mode(void)
{
	W = (int)di->width;
	H = (int)di->height;
	stride = (int)(di->pitch / 4);
	fb = (uint32_t *)(uintptr_t)di->fb;
	ptr_x = imin(ptr_x, W - 1);
	ptr_y = imin(ptr_y, H - 1);
	sync.nrects = 0;
	dirty(0, 0, W, H);
}

/* Milliseconds: Unix time from the time-sync samples (the host's clock)
 * advanced by the TSC, or the TSC alone (since boot) before a sample. */
static uint64_t now_ms(uint64_t t)
{
	uint64_t per_ms = di->tsc_hz / 1000;

	if (di->host_time > WLTIMEDELTA) {
		uint64_t base = (di->host_time - WLTIMEDELTA) / 10000;

		return t >= di->host_time_tsc ? base + (t - di->host_time_tsc) / per_ms :
						 base - (di->host_time_tsc - t) / per_ms;
	}
	return t / per_ms;
}

static bool update_clock(uint64_t ms)
{
	uint64_t s = ms / 1000;
	char c[9];
	bool changed = false;

	c[0] = (char)('0' + s / 3600 % 24 / 10);
	c[1] = (char)('0' + s / 3600 % 24 % 10);
	c[2] = ':';
	c[3] = (char)('0' + s / 60 % 60 / 10);
	c[4] = (char)('0' + s / 60 % 60 % 10);
	c[5] = ':';
	c[6] = (char)('0' + s % 60 / 10);
	c[7] = (char)('0' + s % 60 % 10);
	for (int i = 0; i < 8; i++) {
		changed |= clock_text[i] != c[i];
		clock_text[i] = c[i];
	}
	return changed;
}

static bool inside(int x, int y, int rx, int ry, int rw, int rh)
{
	return x >= rx && x < rx + rw && y >= ry && y < ry + rh;
}

static void text_changed(void)
{
	dirty(FIELD_X, FIELD_Y, FIELD_W, FIELD_H);
}

static void key(char c)
{
	struct line l = { .n = 0 };

	if (di->anim)
		return;
	if (c == '\n') {
		put_s(&l, "desktop: enter '");
		put_s(&l, text);
		put_s(&l, "'");
		print(&l);
		text_len = 0;
		text[0] = 0;
	} else if (c == '\b') {
		if (text_len)
			text[--text_len] = 0;
	} else if (c >= ' ' && c <= '~' && text_len < TEXT_MAX) {
		text[text_len++] = c;
		text[text_len] = 0;
	}
	text_changed();
}

static void pointer(const struct desk_event *e)
{
	bool pressed = e->buttons & ~ptr_buttons & 1;

	if (ptr_visible)
		dirty(ptr_x, ptr_y, PTR_W, PTR_H);
	ptr_x = imin(imax(e->x, 0), W - 1);
	ptr_y = imin(imax(e->y, 0), H - 1);
	ptr_visible = true;
	ptr_buttons = e->buttons;
	dirty(ptr_x, ptr_y, PTR_W, PTR_H);
	if (pressed && !di->anim && inside(ptr_x, ptr_y, BTN_X, BTN_Y, BTN_W, BTN_H)) {
		text_len = 0;
		text[0] = 0;
		text_changed();
	}
}

/* SYS_DESKTOP, then the events it brought. */
static void sync_frame(uint64_t deadline)
{
	sync.deadline = deadline;
	sys(SYS_DESKTOP, (uint64_t)(uintptr_t)&sync, 0);
	sync.nrects = 0;
	if (sync.quit)
		sys(SYS_EXIT, 0, 0);
	for (uint32_t i = 0; i < sync.nevents && i < DESK_MAX_EVENTS; i++) {
		const struct desk_event *e = &sync.events[i];

		switch (e->type) {
		case DESK_EV_KEY:
			key(e->ch);
			break;
		case DESK_EV_POINTER:
			pointer(e);
			break;
		case DESK_EV_MODE:
		case DESK_EV_REDRAW:
			set_mode();
			break;
		}
	}
}

static __attribute__((noreturn)) void run_desktop(void)
{
	struct line l = { .n = 0 };
	uint64_t per_ms = di->tsc_hz / 1000;

	update_clock(now_ms(tsc()));
	present();
	sync_frame(0);
	put_s(&l, "desktop: clock at ");
	put_u(&l, CLOCK_X);
	put_s(&l, ",");
	put_u(&l, CLOCK_Y);
	put_s(&l, " ");
	put_u(&l, CLOCK_W);
	put_s(&l, "x");
	put_u(&l, CLOCK_H);
	print(&l);
	put_s(&l, "desktop: ready");
	print(&l);
	for (;;) {
		uint64_t t = tsc(), ms = now_ms(t);

		if (update_clock(ms))
			dirty(CLOCK_X, CLOCK_Y, CLOCK_W, CLOCK_H);
		present();
		/* Until the next second (the hlt may end up to a tick late). */
		sync_frame(t + (1000 - ms % 1000) * per_ms + per_ms);
	}
}

static __attribute__((noreturn)) void run_anim(void)
{
	struct line l = { .n = 0 };
	uint64_t period = di->tsc_hz / FPS, margin = di->tsc_hz / 100 + di->tsc_hz / 1000;
	uint64_t t0 = tsc();
	int old_x, old_y;

	anim_window_pos(0, &mw_x, &mw_y);
	for (;;) {
		uint64_t next;
		int64_t left;

		stamp_ms = (uint32_t)(now_ms(tsc()) & 0xffff);
		dirty(0, 0, CELLS_W, CELLS_H);
		if (di->anim == DESK_ANIM_OFFICE) {
			static const char typed[] = "The quick brown fox jumps over";

			/* Typing: a character a frame, the line restarting when full. */
			text_len = (int)(frame % (sizeof(typed) - 1)) + 1;
			for (int i = 0; i < text_len; i++)
				text[i] = typed[i];
			text[text_len] = 0;
			text_changed();
		} else {
			old_x = mw_x;
			old_y = mw_y;
			anim_window_pos(frame, &mw_x, &mw_y);
			dirty(vid_x(), VID_Y, VID_W, VID_H);
			dirty(0, H - BANNER_H - 8, W, BANNER_H);
			dirty(imin(old_x, mw_x), imin(old_y, mw_y),
			      MW_W + (old_x > mw_x ? old_x - mw_x : mw_x - old_x),
			      MW_H + (old_y > mw_y ? old_y - mw_y : mw_y - old_y));
		}
		present();
		/* Halt in the kernel until a tick before the frame's time, then
		 * spin here (the kernel's hlt ends on 10 ms ticks). */
		next = t0 + (uint64_t)(frame + 1) * period;
		left = (int64_t)(next - tsc());
		sync_frame(left > (int64_t)margin ? next - margin : 0);
		while ((int64_t)(next - tsc()) > 0)
			asm volatile("pause" ::: "memory");
		if (tsc() - next > 4 * period) /* far behind: do not catch up in a burst */
			t0 = tsc() - (uint64_t)(frame + 1) * period;
		if (frame == 0) {
			put_s(&l, "desktop: ready");
			print(&l);
		}
		frame++;
		if (frame % 100 == 0) {
			put_s(&l, "desktop: frame ");
			put_u(&l, frame);
			print(&l);
		}
	}
}

void desktop_user_main(struct desk_info *info)
{
	di = info;
	ptr_x = (int)di->width / 2;
	ptr_y = (int)di->height / 2;
	set_mode();
	if (di->anim)
		run_anim();
	run_desktop();
}

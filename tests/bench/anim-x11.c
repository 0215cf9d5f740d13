// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * anim-x11: the test guest's `desktop=anim` animation (tests/guest/README.md)
 * drawn on an X display (the root window), for tests/bench/rdp.py's peer,
 * freerdp-shadow-cli:
 *
 * - cells at 0,0: two rows of sixteen 32x32 cells, white = 1, MSB left; row 1
 *   the frame number mod 65536, row 2 CLOCK_REALTIME in ms mod 65536 when
 *   the frame is drawn;
 * - "video": 256x144 at (width - 288, 96) in which every pixel changes
 *   every frame;
 * - a 240x120 window bouncing 5 px/frame across, 3 px/frame down;
 * - a banner 32 px high at the bottom whose stripes scroll 4 px/frame left.
 *
 * 30 frames per second (--fps N), until killed.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>

#define CELL 32
#define VIDEO_W 256
#define VIDEO_H 144
#define WIN_W 240
#define WIN_H 120

static uint64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void draw_row(Display *dpy, Window w, GC gc, int y, unsigned v)
{
	for (int i = 0; i < 16; i++) {
		int bit = v >> (15 - i) & 1;

		XSetForeground(dpy, gc, bit ? 0xffffff : 0x000000);
		XFillRectangle(dpy, w, gc, i * CELL, y, CELL, CELL);
	}
}

int main(int argc, char **argv)
{
	int fps = 30;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fps") && i + 1 < argc) {
			fps = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: anim-x11 [--fps N]\n");
			return 2;
		}
	}
	if (fps <= 0)
		fps = 30;

	Display *dpy = XOpenDisplay(NULL);

	if (!dpy) {
		fprintf(stderr, "anim-x11: cannot open the display\n");
		return 1;
	}
	int scr = DefaultScreen(dpy);
	Window root = RootWindow(dpy, scr);
	int width = DisplayWidth(dpy, scr), height = DisplayHeight(dpy, scr);
	GC gc = XCreateGC(dpy, root, 0, NULL);
	Visual *vis = DefaultVisual(dpy, scr);
	int depth = DefaultDepth(dpy, scr);
	uint32_t *pix = malloc(VIDEO_W * VIDEO_H * 4);

	if (!pix || width < 640 || height < 400) {
		fprintf(stderr, "anim-x11: the screen is too small (%dx%d)\n", width, height);
		return 1;
	}
	XImage *img = XCreateImage(dpy, vis, depth, ZPixmap, 0, (char *)pix, VIDEO_W, VIDEO_H,
				   32, VIDEO_W * 4);

	if (!img) {
		fprintf(stderr, "anim-x11: XCreateImage failed\n");
		return 1;
	}

	/* The background, once. */
	XSetForeground(dpy, gc, 0x3a6ea5);
	XFillRectangle(dpy, root, gc, 0, 0, width, height);
	XSetForeground(dpy, gc, 0x000000);
	XFillRectangle(dpy, root, gc, width - 290, 94, VIDEO_W + 4, VIDEO_H + 4);

	int wx = 0, wy = 72, dx = 5, dy = 3;
	int vx = width - 288, vy = 96;
	int banner_y = height - 40;
	struct timespec next;
	long period = 1000000000L / fps;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned frame = 0;; frame++) {
		/* Moving window: erase the old place, draw the new one. */
		XSetForeground(dpy, gc, 0x3a6ea5);
		XFillRectangle(dpy, root, gc, wx, wy, WIN_W, WIN_H);
		wx += dx;
		wy += dy;
		if (wx < 0 || wx > width - WIN_W) {
			dx = -dx;
			wx += 2 * dx;
		}
		if (wy < 72 || wy > height - 168) {
			dy = -dy;
			wy += 2 * dy;
		}
		XSetForeground(dpy, gc, 0xe0e0e0);
		XFillRectangle(dpy, root, gc, wx, wy, WIN_W, WIN_H);
		XSetForeground(dpy, gc, 0x1f3f7f);
		XFillRectangle(dpy, root, gc, wx, wy, WIN_W, 20);
		XSetForeground(dpy, gc, 0x000000);
		char text[32];

		snprintf(text, sizeof(text), "frame %u", frame);
		XDrawString(dpy, root, gc, wx + 10, wy + 60, text, (int)strlen(text));
		XSetForeground(dpy, gc, 0xffffff);
		XDrawString(dpy, root, gc, wx + 6, wy + 14, "Moving window", 13);

		/* Video: every pixel changes. */
		for (int y = 0; y < VIDEO_H; y++)
			for (int x = 0; x < VIDEO_W; x++)
				pix[y * VIDEO_W + x] = ((x + frame * 3) & 0xff) << 16 |
						       ((y + frame * 5) & 0xff) << 8 |
						       ((x ^ y ^ frame) & 0xff);
		XPutImage(dpy, root, gc, img, 0, 0, vx, vy, VIDEO_W, VIDEO_H);

		/* Banner: stripes and text scrolling left 4 px a frame. */
		XSetForeground(dpy, gc, 0x101820);
		XFillRectangle(dpy, root, gc, 0, banner_y, width, 32);
		XSetForeground(dpy, gc, 0xf0c040);
		for (int x = -(int)(frame * 4 % 160); x < width; x += 160) {
			XFillRectangle(dpy, root, gc, x, banner_y + 4, 40, 4);
			XDrawString(dpy, root, gc, x + 50, banner_y + 22, "Skylight banner", 15);
		}

		/* Cells last, stamped as late as possible. */
		draw_row(dpy, root, gc, 0, frame & 0xffff);
		draw_row(dpy, root, gc, CELL, (unsigned)(realtime_ms() & 0xffff));
		XSync(dpy, False);

		next.tv_nsec += period;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

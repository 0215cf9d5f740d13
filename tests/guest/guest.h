/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * What the test guest's kernel (CPL0, kernel/) and its user code (CPL3,
 * user.c) share: the system-call ABI and the per-CPU job.  Also included by
 * assembly, so only #defines outside the __ASSEMBLER__ guard.
 *
 * System calls: this KVM (PVM, TESTING.md §1) does not deliver `syscall` or
 * `int $n` (n >= 0x20) from CPL3, but does deliver exceptions raised there
 * through the IDT, so the gate is `int3`: vector 3, a DPL 3 interrupt gate.
 * rax = call number, arguments in rdi, rsi, rdx; the result comes back in
 * rax, every other register is preserved.  An int3 taken at CPL0 is a
 * breakpoint exception like any other.
 */

#define GUEST_MAX_CPUS 64

#define SYS_EXIT   0 /* leave user mode: enter_user() returns in the kernel */
#define SYS_REPORT 1 /* rdi = this CPU's result; stored in its job, done = 1 */
#define SYS_PRINT  2 /* rdi = text, rsi = its length (at most 256 bytes): to COM1 */
#define SYS_DESKTOP 3 /* rdi = struct desk_sync *: the desktop's frame call (kernel/desktop.c) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * One per CPU, written by the kernel and read at CPL3 (all pages are user
 * pages).  The kernel fills base/first/count/ncpus, then sets go; SYS_REPORT
 * sets result, then done.
 */
struct guest_job {
	uint64_t base;  /* the fill region's first byte (identity-mapped) */
	uint64_t first; /* this CPU's words: [first, first + count) */
	uint64_t count;
	uint32_t ncpus; /* CPUs taking part: jobs [0, ncpus) */
	volatile uint32_t go;
	volatile uint64_t result;
	volatile uint32_t done;
} __attribute__((aligned(64)));

extern struct guest_job guest_jobs[GUEST_MAX_CPUS];

#define DESK_ANIM_MOTION 1 /* full motion: video, banner, moving window */
#define DESK_ANIM_OFFICE 2 /* the desktop with a line typed at 30 characters a second */

/*
 * The desktop ("desktop" / "desktop=anim", kernel/desktop.c at CPL0,
 * desktop-user.c at CPL3).  The kernel drives the synthetic video,
 * keyboard and mouse; the user code draws into the VRAM and calls
 * SYS_DESKTOP once per frame: the kernel sends the rectangles as one
 * SYNTHVID_DIRT, serves the bus, waits (hlt) until the TSC passes
 * `deadline` or input arrives, and hands back the input events.
 */
#define DESK_MAX_RECTS 16
#define DESK_MAX_EVENTS 32

struct desk_rect {
	int32_t x, y, w, h;
};

enum {
	DESK_EV_KEY = 1,     /* ch: ASCII, '\n' for Enter, '\b' for Backspace */
	DESK_EV_POINTER = 2, /* x, y: screen pixels; buttons: bit 0 left, 1 right, 2 middle */
	DESK_EV_MODE = 3,    /* the mode changed: x, y = width, height; redraw everything */
	DESK_EV_REDRAW = 4,  /* the host asked for the whole screen again */
};

struct desk_event {
	uint8_t type;
	char ch;
	uint8_t buttons;
	int8_t wheel;
	int32_t x, y;
};

struct desk_sync {
	/* in */
	uint32_t nrects;
	struct desk_rect rects[DESK_MAX_RECTS];
	uint64_t deadline; /* TSC; 0: do not wait */
	/* out */
	uint32_t nevents;
	uint32_t quit;     /* the host asked for a shutdown: SYS_EXIT now */
	struct desk_event events[DESK_MAX_EVENTS];
};

/* Written by the kernel, read at CPL3 (between system calls). */
struct desk_info {
	uint32_t width, height, pitch; /* the current mode; pitch in bytes */
	uint32_t anim;                 /* DESK_ANIM_*: "desktop=anim" / "desktop=office" */
	uint64_t fb;                   /* the VRAM, identity-mapped */
	uint64_t tsc_hz;               /* 2^32 if the host does not say */
	uint64_t host_time;            /* time sync: 100 ns units since 1601, 0 if none yet */
	uint64_t host_time_tsc;        /* the TSC when host_time was taken */
};

/* User-mode entry points (user.c); none returns. */
/* CPU 0: its slice, then the others' results; reports the total. */
__attribute__((noreturn)) void user_bsp_main(struct guest_job *jobs);
/* An AP: waits for go, reports its slice's partial sum. */
__attribute__((noreturn)) void user_ap_main(struct guest_job *job);
/* "noexit": spin with pause at CPL3 (native speed here) forever. */
__attribute__((noreturn)) void user_spin(void);
/* The desktop (desktop-user.c); returns to the kernel with SYS_EXIT. */
__attribute__((noreturn)) void desktop_user_main(struct desk_info *info);
#endif

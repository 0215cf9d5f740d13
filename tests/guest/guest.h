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

/* User-mode entry points (user.c); none returns. */
/* CPU 0: its slice, then the others' results; reports the total. */
__attribute__((noreturn)) void user_bsp_main(struct guest_job *jobs);
/* An AP: waits for go, reports its slice's partial sum. */
__attribute__((noreturn)) void user_ap_main(struct guest_job *job);
/* "noexit": spin with pause at CPL3 (native speed here) forever. */
__attribute__((noreturn)) void user_spin(void);
#endif

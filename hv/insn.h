/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Completion of instructions a software-only KVM refuses to emulate
 * (docs/software-kvm.md).  When KVM reports KVM_INTERNAL_ERROR_EMULATION,
 * skyvm decodes the instruction at RIP with Zydis and carries out its
 * architectural effect here: registers, flags, guest memory (through the
 * guest's own page tables, hv/mmu.c), and x87/SSE/AVX state in KVM's
 * XSAVE image.  Pure apart from guest RAM, so unit tests drive it with a
 * fake guest.  An instruction it does not know is reported, never guessed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

struct hv_xsave_layout;

/* General-purpose registers in x86 encoding order. */
enum hv_gpr {
	HV_RAX, HV_RCX, HV_RDX, HV_RBX, HV_RSP, HV_RBP, HV_RSI, HV_RDI,
	HV_R8, HV_R9, HV_R10, HV_R11, HV_R12, HV_R13, HV_R14, HV_R15,
};

enum hv_seg { HV_ES, HV_CS, HV_SS, HV_DS, HV_FS, HV_GS, HV_NSEG };

#define HV_RFLAGS_CF (1ull << 0)
#define HV_RFLAGS_PF (1ull << 2)
#define HV_RFLAGS_AF (1ull << 4)
#define HV_RFLAGS_ZF (1ull << 6)
#define HV_RFLAGS_SF (1ull << 7)
#define HV_RFLAGS_TF (1ull << 8)
#define HV_RFLAGS_OF (1ull << 11)
#define HV_RFLAGS_ARITH (HV_RFLAGS_CF | HV_RFLAGS_PF | HV_RFLAGS_AF | HV_RFLAGS_ZF | HV_RFLAGS_SF | HV_RFLAGS_OF)

/* What the completer reads and changes of a vCPU. */
struct hv_insn_cpu {
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t xcr0, xss;
	uint64_t seg_base[HV_NSEG];
	unsigned cpl;
	bool cs_l, cs_db; /* CS.L and CS.D/B: the code size */
	/*
	 * x87/SSE/AVX state in KVM_GET_XSAVE's standard format, fetched only
	 * when an instruction needs it: the completer calls get_xsave once.
	 */
	int (*get_xsave)(void *ctx, uint8_t **ret_state, size_t *ret_len);
	/* XCR0 and IA32_XSS, wanted only by the XSAVE family; if NULL, the
	 * xcr0 and xss fields above are used as they are. */
	int (*get_xcrs)(void *ctx, uint64_t *ret_xcr0, uint64_t *ret_xss);
	void *ctx;
	const struct hv_xsave_layout *xsave_layout; /* NULL: no XSAVE support */
	uint32_t mxcsr_mask;
};

enum hv_insn_status {
	HV_INSN_DONE,     /* registers (and memory, XSAVE state) updated, RIP advanced */
	HV_INSN_FAULT,    /* raise exception fault_vector; RIP not advanced */
	HV_INSN_SOFT_INT, /* deliver INT n / INT3 / INTO: vector, RIP advanced */
	HV_INSN_UNKNOWN,  /* not completed: stop the VM with text as the report */
};

struct hv_insn_outcome {
	enum hv_insn_status status;
	uint8_t vector;        /* FAULT and SOFT_INT */
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2;          /* for #PF */
	bool xsave_dirty;      /* the XSAVE state changed: write it back */
	unsigned mnemonic;     /* Zydis mnemonic, for per-mnemonic counts */
	unsigned length;       /* instruction length, 0 if it did not decode */
	char text[128];        /* "lock cmpxchg16b [rbp+0x20]", or why it failed */
};

/* Longest x86 instruction. */
#define HV_INSN_MAX_LEN 15

/*
 * Complete the instruction at cpu->rip, whose bytes (up to
 * HV_INSN_MAX_LEN, fewer if the next page is not mapped) are code[0..len).
 * Always fills *out; returns 0, or -errno for a host-side failure.
 */
int hv_insn_complete(struct hv_insn_cpu *cpu, const struct hv_guest_mem *mem, const uint8_t *code,
		     size_t len, struct hv_insn_outcome *out);

/* Read up to max instruction bytes at CS:RIP through the guest's page
 * tables; returns how many (0 if RIP itself is not mapped). */
size_t hv_insn_fetch(const struct hv_insn_cpu *cpu, const struct hv_guest_mem *mem, uint8_t *buf,
		     size_t max);

/* Mnemonic name for statistics ("cmpxchg16b"); the table has
 * hv_insn_mnemonic_count() entries. */
const char *hv_insn_mnemonic_name(unsigned mnemonic);
unsigned hv_insn_mnemonic_count(void);

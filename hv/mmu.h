/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Guest linear -> guest physical translation, done the way the processor
 * does it (Intel SDM vol. 3 ch. 4: 4-level paging; paging off), with its
 * permission checks and page-fault error codes, and setting accessed and
 * dirty bits.  Used when skyvm itself carries out a guest instruction.
 * Pure: it reads and updates page tables through struct hv_guest_mem only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "memory.h"

#define HV_CR0_PE (1ull << 0)
#define HV_CR0_MP (1ull << 1)
#define HV_CR0_EM (1ull << 2)
#define HV_CR0_TS (1ull << 3)
#define HV_CR0_WP (1ull << 16)
#define HV_CR0_AM (1ull << 18)
#define HV_CR0_PG (1ull << 31)
#define HV_CR4_PAE (1ull << 5)
#define HV_CR4_OSFXSR (1ull << 9)
#define HV_CR4_LA57 (1ull << 12)
#define HV_CR4_OSXSAVE (1ull << 18)
#define HV_CR4_SMEP (1ull << 20)
#define HV_CR4_SMAP (1ull << 21)
#define HV_EFER_LME (1ull << 8)
#define HV_EFER_LMA (1ull << 10)
#define HV_EFER_NXE (1ull << 11)
#define HV_RFLAGS_AC (1ull << 18)

/* #PF error code bits (SDM vol. 3 §4.7). */
#define HV_PF_PRESENT (1u << 0)
#define HV_PF_WRITE   (1u << 1)
#define HV_PF_USER    (1u << 2)
#define HV_PF_RSVD    (1u << 3)
#define HV_PF_FETCH   (1u << 4)

enum hv_access {
	HV_ACCESS_READ,
	HV_ACCESS_WRITE,
	HV_ACCESS_FETCH,
};

struct hv_mmu {
	const struct hv_guest_mem *mem;
	uint64_t cr0, cr3, cr4, efer, rflags;
	unsigned cpl;
};

/*
 * Translate la for one access of kind acc.  A user-mode access is one made
 * at CPL 3.  Returns 0 with *ret_gpa; -EFAULT for a guest page fault with
 * *ret_pf_error set (the caller raises #PF with CR2 = la); -ENOTSUP for a
 * paging mode we don't walk (32-bit, PAE without long mode, 5-level);
 * -ERANGE if a paging structure lies outside guest RAM (the real processor
 * would read MMIO there: skyvm reports it instead of guessing).
 */
int hv_mmu_translate(const struct hv_mmu *m, uint64_t la, enum hv_access acc, uint64_t *ret_gpa,
		     uint32_t *ret_pf_error);

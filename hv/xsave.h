/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The XSAVE feature set's memory images, as pure functions (Intel SDM
 * vol. 1 ch. 13 "Managing State Using the XSAVE Feature Set").  Used to
 * complete FXSAVE, FXRSTOR and the XSAVE/XRSTOR family for a software-only KVM that
 * refuses them (docs/software-kvm.md).
 *
 * "state" is a vCPU's extended state as KVM_GET_XSAVE/KVM_SET_XSAVE hold it:
 * the standard (non-compacted) format, legacy region at 0, XSAVE header at
 * 512 whose XSTATE_BV says which components are not in their init
 * configuration (XINUSE), user components at their CPUID.(0xD,i).EBX
 * offsets.  "area" is the guest's memory operand, copied into a host buffer
 * by the caller (which reads it first, so that bytes an instruction does
 * not write keep their values, and writes it back afterwards).
 *
 * The functions act as in 64-bit mode: XMM8-15 (and the upper halves of
 * the AVX/AVX-512 registers 8-15) are always stored and loaded, where
 * outside 64-bit mode the SDM leaves those bytes and registers alone
 * (§13.13); a 32-bit guest cannot see the difference in its registers.
 * XINUSE is XSTATE_BV of state.  XSAVEOPT stores like XSAVE (its init and
 * modified optimisations are optional) and XSAVES does not use the
 * modified optimisation; XSAVEC/XSAVES skip components not in use, as
 * their XSTATE_BV must say so anyway.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuid.h"

#define HV_XSAVE_LEGACY_SIZE 512
#define HV_XSAVE_HEADER_OFF 512
#define HV_XSAVE_HEADER_SIZE 64
#define HV_XSAVE_EXT_OFF 576 /* first byte after the header */
#define HV_XSAVE_NCOMP 64
#define HV_XCOMP_BV_COMPACTED (1ull << 63)

struct hv_xsave_layout {
	uint64_t user_mask;       /* CPUID.(0xD,0).EDX:EAX: what XCR0 may enable */
	uint64_t supervisor_mask; /* CPUID.(0xD,1).EDX:ECX: what IA32_XSS may enable */
	uint32_t offset[HV_XSAVE_NCOMP]; /* standard-format offset, i >= 2 (CPUID.(0xD,i).EBX) */
	uint32_t size[HV_XSAVE_NCOMP];   /* CPUID.(0xD,i).EAX */
	bool align64[HV_XSAVE_NCOMP];    /* CPUID.(0xD,i).ECX[1]: 64-byte aligned when compacted */
	uint32_t std_size;        /* standard-format size for all of user_mask */
	bool xsavec;              /* CPUID.(0xD,1).EAX[1]: the compacted form exists, so XRSTOR
				   * honours XCOMP_BV[63] (SDM vol. 1 §13.8, footnote 2) */
};

/* Fill *ret from leaf 0xD of c.  -ENOENT if c has no leaf 0xD or one
 * without x87 (XSAVE hidden), -EINVAL if a component of 0xD.0/0xD.1 has no
 * usable subleaf; *ret is untouched on failure. */
int hv_xsave_layout_from_cpuid(const struct hv_cpuid *c, struct hv_xsave_layout *ret);

enum hv_xsave_form {
	HV_XSAVE_STANDARD,  /* XSAVE, XSAVEOPT, XRSTOR with XCOMP_BV[63] = 0 */
	HV_XSAVE_COMPACTED, /* XSAVEC, XSAVES, XRSTOR(S) with XCOMP_BV[63] = 1 */
};

/* Bytes of memory an XSAVE* of rfbm in form writes or needs. */
size_t hv_xsave_area_size(const struct hv_xsave_layout *l, uint64_t rfbm, enum hv_xsave_form form);

enum hv_xsave_op {
	HV_OP_XSAVE,    /* also XSAVEOPT: both store every component of RFBM */
	HV_OP_XSAVEC,
	HV_OP_XSAVES,
};

/*
 * The processor's MXCSR_MASK as state records it (bytes 28..31); 0 means
 * the default 0xFFBF (SDM vol. 1 §11.6.6).  MXCSR bits outside it are
 * reserved: loading one is a #GP.
 */
uint32_t hv_xsave_mxcsr_mask(const uint8_t *state);

/*
 * XSAVE/XSAVEOPT/XSAVEC/XSAVES: store the components of rfbm (the caller
 * computes RFBM = (XCR0 [| IA32_XSS for XSAVES]) & EDX:EAX) from state
 * into area, following the SDM's rules for the header (XSTATE_BV,
 * XCOMP_BV) and the init optimisation of the compacted forms.  Bytes the
 * instruction does not write (416..511, components not stored, the rest
 * of the header) keep what area held.
 * -ERANGE if area_len < hv_xsave_area_size() or state_len is too short,
 * -EOPNOTSUPP for a component state does not hold (a supervisor one in
 * use) or that op cannot store (rfbm outside l's masks, or a supervisor
 * bit for XSAVE/XSAVEC: a caller bug).  area is untouched on failure.
 *
 * hv_xsave_store() is the REX.W = 1 form (XSAVE64 etc.: 64-bit FIP/FDP in
 * the x87 image, SDM vol. 1 §13.5.1), what 64-bit kernels use;
 * hv_xsave_store_ex() takes REX.W, and rex_w = false gives FIP[31:0] and
 * FDP[31:0] with FCS = FDS = 0 (state, KVM's 64-bit image, holds no
 * selectors; CPUs with CPUID.(7,0):EBX[13] store 0 too).
 */
int hv_xsave_store(const struct hv_xsave_layout *l, enum hv_xsave_op op, const uint8_t *state,
		   size_t state_len, uint64_t rfbm, uint8_t *area, size_t area_len);
int hv_xsave_store_ex(const struct hv_xsave_layout *l, enum hv_xsave_op op, bool rex_w,
		      const uint8_t *state, size_t state_len, uint64_t rfbm, uint8_t *area,
		      size_t area_len);

/*
 * XRSTOR (supervisor = false) / XRSTORS (true): area must hold at least
 * the header; *ret_len gets how many bytes of area the restore needs
 * (the caller reads that much and calls again).  Returns 0 with state
 * updated (components of rfbm loaded or put in their init configuration,
 * XSTATE_BV in state updated), -EAGAIN if area_len < *ret_len, -EINVAL for
 * what the SDM makes a #GP (§13.8.1 standard form: XSTATE_BV bits outside
 * xcr0, header bytes 8..23 not zero; §13.8.2/§13.12 compacted form:
 * XCOMP_BV[62:0] outside xcr0 (| xss for XRSTORS), XSTATE_BV bits outside
 * XCOMP_BV, header bytes 16..63 not zero; XRSTORS with XCOMP_BV[63] = 0;
 * MXCSR reserved bits set), -ERANGE if state_len is too short,
 * -EOPNOTSUPP for a supervisor component to be loaded from area (state
 * does not hold those) or for xcr0/xss/rfbm outside l.  state is
 * untouched on failure.  Like hardware, the standard form executes when
 * l->xsavec is false whatever XCOMP_BV[63] says (and so faults on it).
 * After a change to MXCSR, XSTATE_BV[1] in state is set if MXCSR is not
 * 1F80H (XINUSE[1] may be 1 in the init configuration, §13.8.3): with it
 * clear, KVM would drop or re-initialise MXCSR.
 *
 * hv_xrstor_load() is the REX.W = 1 form (XRSTOR64 etc.); with rex_w =
 * false, hv_xrstor_load_ex() takes FIP[31:0]/FDP[31:0] and ignores the
 * FCS/FDS bytes.
 */
int hv_xrstor_load(const struct hv_xsave_layout *l, bool supervisor, uint8_t *state,
		   size_t state_len, uint64_t rfbm, uint64_t xcr0, uint64_t xss,
		   const uint8_t *area, size_t area_len, size_t *ret_len);
int hv_xrstor_load_ex(const struct hv_xsave_layout *l, bool supervisor, bool rex_w,
		      uint8_t *state, size_t state_len, uint64_t rfbm, uint64_t xcr0,
		      uint64_t xss, const uint8_t *area, size_t area_len, size_t *ret_len);

/* FXSAVE / FXRSTOR (64-bit form, REX.W=1 "FXSAVE64" or not: fxsave64 is
 * true for the 64-bit FIP/FDP layout) on the 512-byte legacy image.
 * hv_fxsave_store writes bytes 0..415 (the x87 part of state as it is,
 * MXCSR, MXCSR_MASK, XMM0-15), never 416..511.  hv_fxrstor_load returns
 * -EINVAL (a #GP) for MXCSR bits outside mxcsr_mask (0 means 0xFFBF),
 * -ERANGE if state_len < 512; it leaves MXCSR_MASK alone and, if state
 * holds the header, sets XSTATE_BV[1:0]. */
void hv_fxsave_store(const uint8_t *state, bool fxsave64, uint8_t area[512]);
int hv_fxrstor_load(uint8_t *state, size_t state_len, bool fxsave64, const uint8_t area[512],
		    uint32_t mxcsr_mask);

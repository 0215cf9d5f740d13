// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * XSAVE-area images (Intel SDM vol. 1 ch. 13; vol. 2 FXSAVE, FXRSTOR,
 * XSAVE*, XRSTOR*).  Section numbers below are those of SDM vol. 1.
 */
#include <errno.h>
#include <string.h>

#include "util.h"
#include "xsave.h"

/* Legacy region (Table 13-1; vol. 2 FXSAVE, Tables 3-43..3-45). */
#define FX_FCW 0
#define FX_FIP 8        /* FIP[63:0], or FIP[31:0] + FCS */
#define FX_FCS 12
#define FX_FDP 16       /* FDP[63:0], or FDP[31:0] + FDS */
#define FX_FDS 20
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST 32        /* ST0-7: bytes 32..159 */
#define FX_XMM 160      /* XMM0-15: bytes 160..415 */
#define FX_X87_LO 24    /* x87 state: bytes 0..23 ... */
#define FX_X87_END 160  /* ... and 32..159 (§13.5.1) */
#define FX_XMM_END 416  /* 416..511 are never written (§13.4.1) */

#define HDR_XSTATE_BV (HV_XSAVE_HEADER_OFF + 0)
#define HDR_XCOMP_BV (HV_XSAVE_HEADER_OFF + 8)

#define C_X87 (1ull << 0)
#define C_SSE (1ull << 1)
#define C_AVX (1ull << 2)
#define C_LEGACY (C_X87 | C_SSE)
#define C_EXT (~C_LEGACY & ~HV_XCOMP_BV_COMPACTED) /* components 2..62 */

#define FCW_INIT 0x037f    /* §13.6 x87 initial configuration */
#define MXCSR_INIT 0x1f80
#define MXCSR_MASK_DEFAULT 0xffbf /* §11.6.6: MXCSR_MASK 0 means this */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int hv_xsave_layout_from_cpuid(const struct hv_cpuid *c, struct hv_xsave_layout *ret)
{
	/* find() does not modify; the cast only shares its code. */
	struct hv_cpuid *cc = (struct hv_cpuid *)c;
	const struct hv_cpuid_entry *e0 = hv_cpuid_find(cc, 0xd, 0), *e1;
	struct hv_xsave_layout l = { 0 };
	uint64_t std_end = HV_XSAVE_EXT_OFF;

	if (!e0)
		return -ENOENT;
	l.user_mask = ((uint64_t)e0->edx << 32 | e0->eax) & ~HV_XCOMP_BV_COMPACTED;
	e1 = hv_cpuid_find(cc, 0xd, 1);
	if (e1) {
		l.xsavec = e1->eax & (1u << 1);
		/* x87 and SSE are user components whatever 0xD.1 says. */
		l.supervisor_mask = ((uint64_t)e1->edx << 32 | e1->ecx) & C_EXT;
	}
	/* XCR0[0] is always 1 where XSAVE exists (§13.3): an empty leaf (as
	 * hv_cpuid_apply() leaves it when hiding xsave) is no XSAVE. */
	if (!(l.user_mask & C_X87))
		return -ENOENT;
	if (l.user_mask & l.supervisor_mask)
		return -EINVAL;

	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
		bool user = l.user_mask & (1ull << i);
		const struct hv_cpuid_entry *e;

		if (!user && !(l.supervisor_mask & (1ull << i)))
			continue;
		e = hv_cpuid_find(cc, 0xd, i);
		if (!e || e->eax == 0)
			return -EINVAL;
		l.size[i] = e->eax;
		l.align64[i] = e->ecx & (1u << 1);
		if (user) {
			/* A user component lives in the extended region (§13.4.3). */
			if (e->ebx < HV_XSAVE_EXT_OFF || (uint64_t)e->ebx + e->eax > UINT32_MAX)
				return -EINVAL;
			l.offset[i] = e->ebx;
			std_end = MAX(std_end, (uint64_t)e->ebx + e->eax);
		}
	}
	l.std_size = (uint32_t)MAX(std_end, (uint64_t)e0->ecx);
	*ret = l;
	return 0;
}

/* End of the standard-format image of the user components in mask. */
static size_t std_end(const struct hv_xsave_layout *l, uint64_t mask)
{
	size_t end = HV_XSAVE_EXT_OFF;

	mask &= l->user_mask & C_EXT;
	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++)
		if (mask & (1ull << i))
			end = MAX(end, (size_t)l->offset[i] + l->size[i]);
	return end;
}

/*
 * Compacted format (§13.4.3): the components of xcomp_bv, in order from
 * offset 576, each 64-byte aligned if CPUID.(0xD,i).ECX[1].  Fills loc[i]
 * for i in xcomp_bv (if loc) and returns the end of the last one.
 */
static size_t compacted_walk(const struct hv_xsave_layout *l, uint64_t xcomp_bv,
			     size_t loc[HV_XSAVE_NCOMP])
{
	size_t off = HV_XSAVE_EXT_OFF;

	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
		if (!(xcomp_bv & (1ull << i)))
			continue;
		if (l->align64[i])
			off = ALIGN_UP(off, (size_t)64);
		if (loc)
			loc[i] = off;
		off += l->size[i];
	}
	return off;
}

size_t hv_xsave_area_size(const struct hv_xsave_layout *l, uint64_t rfbm, enum hv_xsave_form form)
{
	if (form == HV_XSAVE_STANDARD)
		return std_end(l, rfbm);
	return compacted_walk(l, rfbm & (l->user_mask | l->supervisor_mask), NULL);
}

uint32_t hv_xsave_mxcsr_mask(const uint8_t *state)
{
	uint32_t m = get32(state + FX_MXCSR_MASK);

	return m ? m : MXCSR_MASK_DEFAULT;
}

/*
 * x87 image (§13.5.1; vol. 2 FXSAVE).  state is KVM's image, always in
 * the REX.W = 1 layout; without REX.W bytes 8..23 hold FIP[31:0], FCS,
 * FDP[31:0], FDS.  We hold no FCS/FDS and store them as 0, as processors
 * with CPUID.(7,0):EBX[13] ("deprecates FCS and FDS") do.
 */
static void x87_store(uint8_t *area, const uint8_t *state, bool in_use, bool rex_w)
{
	uint8_t x[FX_X87_END];

	if (in_use) {
		memcpy(x, state, sizeof(x));
	} else {
		/* §13.6: FCW 037FH, FSW 0, FTW FFFFH (abridged: 0), FOP, FIP,
		 * FDP, FCS, FDS and ST0-7 all 0. */
		memset(x, 0, sizeof(x));
		put16(x + FX_FCW, FCW_INIT);
	}
	if (!rex_w) {
		put32(x + FX_FCS, 0);
		put32(x + FX_FDS, 0);
	}
	memcpy(area, x, FX_X87_LO);
	memcpy(area + FX_ST, x + FX_ST, FX_X87_END - FX_ST);
}

static void x87_load(uint8_t *state, const uint8_t *area, bool rex_w)
{
	memcpy(state, area, FX_X87_LO);
	memcpy(state + FX_ST, area + FX_ST, FX_X87_END - FX_ST);
	if (!rex_w) {
		/* 32-bit offsets; the selectors have nowhere to go. */
		put32(state + FX_FCS, 0);
		put32(state + FX_FDS, 0);
	}
}

static void x87_init(uint8_t *state)
{
	memset(state, 0, FX_X87_LO);
	memset(state + FX_ST, 0, FX_X87_END - FX_ST);
	put16(state + FX_FCW, FCW_INIT);
}

static void xmm_store(uint8_t *area, const uint8_t *state, bool in_use)
{
	if (in_use)
		memcpy(area + FX_XMM, state + FX_XMM, FX_XMM_END - FX_XMM);
	else
		memset(area + FX_XMM, 0, FX_XMM_END - FX_XMM);
}

/* MXCSR and MXCSR_MASK, bytes 24..31 (§13.5.2). */
static void mxcsr_store(uint8_t *area, const uint8_t *state)
{
	memcpy(area + FX_MXCSR, state + FX_MXCSR, 8);
}

int hv_xsave_store_ex(const struct hv_xsave_layout *l, enum hv_xsave_op op, bool rex_w,
		      const uint8_t *state, size_t state_len, uint64_t rfbm, uint8_t *area,
		      size_t area_len)
{
	uint64_t can = l->user_mask | (op == HV_OP_XSAVES ? l->supervisor_mask : 0);
	bool compacted = op != HV_OP_XSAVE;
	uint64_t inuse, state_bv;
	size_t off;

	if (rfbm & ~can)
		return -EOPNOTSUPP;
	if (area_len < hv_xsave_area_size(l, rfbm, compacted ? HV_XSAVE_COMPACTED
							     : HV_XSAVE_STANDARD))
		return -ERANGE;
	if (state_len < std_end(l, rfbm))
		return -ERANGE;
	state_bv = get64(state + HDR_XSTATE_BV);
	/* state holds no supervisor component: one it says is in use we
	 * cannot store; the others are in their init configuration. */
	if (state_bv & rfbm & l->supervisor_mask)
		return -EOPNOTSUPP;
	inuse = state_bv & l->user_mask;

	if (!compacted) {
		/*
		 * §13.7: every component of RFBM, whatever XINUSE says (one
		 * not in use is in its init configuration); MXCSR and
		 * MXCSR_MASK if RFBM[1] or RFBM[2]; XSTATE_BV[i] = XINUSE[i]
		 * for i in RFBM, the rest of XSTATE_BV and of the header as
		 * memory had them.
		 */
		if (rfbm & C_X87)
			x87_store(area, state, inuse & C_X87, rex_w);
		if (rfbm & (C_SSE | C_AVX))
			mxcsr_store(area, state);
		if (rfbm & C_SSE)
			xmm_store(area, state, inuse & C_SSE);
		for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
			uint8_t *dst = area + l->offset[i];

			if (!(rfbm & (1ull << i)))
				continue;
			if (inuse & (1ull << i))
				memcpy(dst, state + l->offset[i], l->size[i]);
			else
				memset(dst, 0, l->size[i]); /* §13.6: user components init to 0 */
		}
		put64(area + HDR_XSTATE_BV,
		      (get64(area + HDR_XSTATE_BV) & ~rfbm) | (inuse & rfbm));
		return 0;
	}

	/*
	 * §13.10 (XSAVEC), §13.11 (XSAVES): only the components of RFBM in
	 * use, except that SSE (XMM0-15, MXCSR, MXCSR_MASK) is stored and
	 * XSTATE_BV[1] set if RFBM[1] and MXCSR != 1F80H; RFBM[2] does not
	 * matter for MXCSR.  XSTATE_BV = what was stored (0 outside RFBM),
	 * XCOMP_BV = RFBM | bit 63; no other header byte is written.
	 */
	inuse &= rfbm;
	if ((rfbm & C_SSE) && get32(state + FX_MXCSR) != MXCSR_INIT)
		inuse |= C_SSE;
	if (inuse & C_X87)
		x87_store(area, state, true, rex_w);
	if (inuse & C_SSE) {
		mxcsr_store(area, state);
		xmm_store(area, state, state_bv & C_SSE);
	}
	off = HV_XSAVE_EXT_OFF;
	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
		if (!(rfbm & (1ull << i)))
			continue;
		if (l->align64[i])
			off = ALIGN_UP(off, (size_t)64);
		if (inuse & (1ull << i))
			memcpy(area + off, state + l->offset[i], l->size[i]);
		off += l->size[i];
	}
	put64(area + HDR_XSTATE_BV, inuse);
	put64(area + HDR_XCOMP_BV, rfbm | HV_XCOMP_BV_COMPACTED);
	return 0;
}

int hv_xsave_store(const struct hv_xsave_layout *l, enum hv_xsave_op op, const uint8_t *state,
		   size_t state_len, uint64_t rfbm, uint8_t *area, size_t area_len)
{
	return hv_xsave_store_ex(l, op, true, state, state_len, rfbm, area, area_len);
}

int hv_xrstor_load_ex(const struct hv_xsave_layout *l, bool supervisor, bool rex_w,
		      uint8_t *state, size_t state_len, uint64_t rfbm, uint64_t xcr0,
		      uint64_t xss, const uint8_t *area, size_t area_len, size_t *ret_len)
{
	uint64_t allowed = xcr0 | (supervisor ? xss : 0);
	size_t loc[HV_XSAVE_NCOMP] = { 0 };
	uint64_t xstate_bv, xcomp_bv, load, state_bv;
	bool compacted, mxcsr_load, mxcsr_init;
	uint32_t mxcsr = 0;
	size_t need;

	if (area_len < HV_XSAVE_EXT_OFF) {
		if (ret_len)
			*ret_len = HV_XSAVE_EXT_OFF;
		return -EAGAIN;
	}
	if ((xcr0 & ~l->user_mask) || (supervisor && (xss & ~l->supervisor_mask)) ||
	    (rfbm & ~allowed))
		return -EOPNOTSUPP;
	if (state_len < std_end(l, rfbm))
		return -ERANGE;

	xstate_bv = get64(area + HDR_XSTATE_BV);
	xcomp_bv = get64(area + HDR_XCOMP_BV);
	/* §13.8: XCOMP_BV[63] picks the form where the compacted one exists
	 * (footnote 2); XRSTORS has only the compacted form (§13.12). */
	compacted = supervisor || (l->xsavec && (xcomp_bv & HV_XCOMP_BV_COMPACTED));
	if (!compacted) {
		/* §13.8.1: XSTATE_BV within XCR0, header bytes 23:8 zero
		 * (so XCOMP_BV = 0); bytes 63:24 are not checked. */
		if ((xstate_bv & ~xcr0) || xcomp_bv || get64(area + HV_XSAVE_HEADER_OFF + 16))
			return -EINVAL;
	} else {
		/* §13.8.2, §13.12: XCOMP_BV[63] set (XRSTORS), XCOMP_BV[62:0]
		 * within XCR0 (| IA32_XSS), XSTATE_BV (bit 63 included) within
		 * XCOMP_BV, header bytes 63:16 zero. */
		if (!(xcomp_bv & HV_XCOMP_BV_COMPACTED) ||
		    (xcomp_bv & ~HV_XCOMP_BV_COMPACTED & ~allowed) || (xstate_bv & ~xcomp_bv) ||
		    !all_zero(area + HV_XSAVE_HEADER_OFF + 16, HV_XSAVE_HEADER_SIZE - 16))
			return -EINVAL;
	}

	load = rfbm & xstate_bv;
	/* state holds no supervisor component: initialising one is nothing
	 * to do here, loading one from memory we cannot. */
	if (load & l->supervisor_mask)
		return -EOPNOTSUPP;

	/* MXCSR: the standard form loads it if RFBM[1] or RFBM[2] whatever
	 * XSTATE_BV says (§13.8.1); the compacted form loads it with SSE and
	 * sets it to 1F80H when it initialises SSE (§13.8.2, §13.12). */
	mxcsr_load = compacted ? (load & C_SSE) : (rfbm & (C_SSE | C_AVX));
	mxcsr_init = compacted && (rfbm & C_SSE) && !(xstate_bv & C_SSE);
	if (mxcsr_load) {
		mxcsr = get32(area + FX_MXCSR);
		if (mxcsr & ~hv_xsave_mxcsr_mask(state))
			return -EINVAL;
	} else if (mxcsr_init) {
		mxcsr = MXCSR_INIT;
	}

	/* What the restore reads: the header and the components it loads. */
	need = HV_XSAVE_EXT_OFF;
	if (compacted)
		compacted_walk(l, xcomp_bv & C_EXT, loc);
	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
		if (!(load & (1ull << i)))
			continue;
		if (!compacted)
			loc[i] = l->offset[i];
		need = MAX(need, loc[i] + l->size[i]);
	}
	if (ret_len)
		*ret_len = need;
	if (area_len < need)
		return -EAGAIN;

	/* Checks done: from here on nothing fails. */
	if (rfbm & C_X87) {
		if (load & C_X87)
			x87_load(state, area, rex_w);
		else
			x87_init(state);
	}
	if (rfbm & C_SSE) {
		if (load & C_SSE)
			memcpy(state + FX_XMM, area + FX_XMM, FX_XMM_END - FX_XMM);
		else
			memset(state + FX_XMM, 0, FX_XMM_END - FX_XMM);
	}
	if (mxcsr_load || mxcsr_init)
		put32(state + FX_MXCSR, mxcsr);
	for (unsigned i = 2; i < HV_XSAVE_NCOMP - 1; i++) {
		uint8_t *dst = state + l->offset[i];

		if (!(rfbm & l->user_mask & (1ull << i)))
			continue;
		if (load & (1ull << i))
			memcpy(dst, area + loc[i], l->size[i]);
		else
			memset(dst, 0, l->size[i]);
	}

	/* §13.8.3: XINUSE[i] = XSTATE_BV[i] for i in RFBM (1 allowed where
	 * 0 is).  Keep MXCSR alive: KVM takes it from the image only with
	 * FP/SSE/AVX in XSTATE_BV and a compacted XRSTOR(S) of the image
	 * would reset it without SSE.  XSTATE_BV[1] clear meant XMM0-15 in
	 * their init configuration, so setting it changes no register. */
	state_bv = get64(state + HDR_XSTATE_BV);
	state_bv = (state_bv & ~(rfbm & l->user_mask)) | (load & l->user_mask);
	if ((mxcsr_load || mxcsr_init) && mxcsr != MXCSR_INIT && (l->user_mask & C_SSE) &&
	    !(state_bv & C_SSE)) {
		memset(state + FX_XMM, 0, FX_XMM_END - FX_XMM);
		state_bv |= C_SSE;
	}
	put64(state + HDR_XSTATE_BV, state_bv);
	return 0;
}

int hv_xrstor_load(const struct hv_xsave_layout *l, bool supervisor, uint8_t *state,
		   size_t state_len, uint64_t rfbm, uint64_t xcr0, uint64_t xss,
		   const uint8_t *area, size_t area_len, size_t *ret_len)
{
	return hv_xrstor_load_ex(l, supervisor, true, state, state_len, rfbm, xcr0, xss, area,
				 area_len, ret_len);
}

/* FXSAVE (vol. 2): x87, MXCSR, MXCSR_MASK, XMM0-15; bytes 416..511 are
 * reserved or for software and not written. */
void hv_fxsave_store(const uint8_t *state, bool fxsave64, uint8_t area[512])
{
	x87_store(area, state, true, fxsave64);
	mxcsr_store(area, state);
	xmm_store(area, state, true);
}

/* FXRSTOR (vol. 2): #GP for reserved MXCSR bits, before anything loads. */
int hv_fxrstor_load(uint8_t *state, size_t state_len, bool fxsave64, const uint8_t area[512],
		    uint32_t mxcsr_mask)
{
	uint32_t mxcsr = get32(area + FX_MXCSR);

	if (state_len < HV_XSAVE_LEGACY_SIZE)
		return -ERANGE;
	if (mxcsr & ~(mxcsr_mask ? mxcsr_mask : MXCSR_MASK_DEFAULT))
		return -EINVAL;
	x87_load(state, area, fxsave64);
	put32(state + FX_MXCSR, mxcsr);
	memcpy(state + FX_XMM, area + FX_XMM, FX_XMM_END - FX_XMM);
	/* Loaded from memory: tracked as in use (cf. §13.8.3). */
	if (state_len >= HV_XSAVE_EXT_OFF)
		put64(state + HDR_XSTATE_BV, get64(state + HDR_XSTATE_BV) | C_LEGACY);
	return 0;
}

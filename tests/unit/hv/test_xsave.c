// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpuid.h"
#include "xsave.h"

#define SIG HV_CPUID_FLAG_SIGNIFICANT_INDEX
#define BUF_LEN 12288
#define HDR 512
#define BIT(i) (1ull << (i))
#define COMPACT HV_XCOMP_BV_COMPACTED

/* Component numbers (SDM vol. 1 §13.1). */
enum { X87, SSE, AVX, BNDREGS, BNDCSR, OPMASK, ZMM_HI256, HI16_ZMM, PT, PKRU,
       CET_U = 11, CET_S, TILECFG = 17, TILEDATA };

/* Standard offsets and sizes of the synthetic table below (an AVX-512,
 * MPX and AMX part, as on Sapphire Rapids plus MPX). */
#define OFF_AVX 576
#define OFF_BNDREGS 960
#define OFF_BNDCSR 1024
#define OFF_OPMASK 1088
#define OFF_ZMM_HI256 1152
#define OFF_HI16_ZMM 1664
#define OFF_PKRU 2688
#define OFF_TILECFG 2752
#define OFF_TILEDATA 2816
#define USER_MASK (BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(BNDREGS) | BIT(BNDCSR) | BIT(OPMASK) | \
		   BIT(ZMM_HI256) | BIT(HI16_ZMM) | BIT(PKRU) | BIT(TILECFG) | BIT(TILEDATA))
#define SUP_MASK (BIT(PT) | BIT(CET_U) | BIT(CET_S))

/* Values make_state() puts in the x87/SSE image. */
#define S_FIP 0x00007fff12345678ull
#define S_FDP 0x00007ffe87654320ull
#define S_MXCSR 0x1fa0u /* default | PE */

static void add(struct hv_cpuid *c, uint32_t fn, uint32_t idx, uint32_t a, uint32_t b,
		uint32_t cx, uint32_t d)
{
	assert_true(c->nent < HV_CPUID_MAX);
	c->ent[c->nent++] = (struct hv_cpuid_entry){ fn, idx, SIG, a, b, cx, d };
}

static struct hv_cpuid *table(void)
{
	struct hv_cpuid *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	add(c, 1, 0, 0x000806f8, 0, 1u << 26, 0);
	add(c, 0xd, 0, (uint32_t)USER_MASK, 0x340, 0x2b00, 0);
	add(c, 0xd, 1, 0xf, 0, (uint32_t)SUP_MASK, 0);
	add(c, 0xd, AVX, 256, OFF_AVX, 0, 0);
	add(c, 0xd, BNDREGS, 64, OFF_BNDREGS, 0, 0);
	add(c, 0xd, BNDCSR, 64, OFF_BNDCSR, 0, 0);
	add(c, 0xd, OPMASK, 64, OFF_OPMASK, 0, 0);
	add(c, 0xd, ZMM_HI256, 512, OFF_ZMM_HI256, 0, 0);
	add(c, 0xd, HI16_ZMM, 1024, OFF_HI16_ZMM, 0, 0);
	add(c, 0xd, PT, 72, 0, 1, 0);
	add(c, 0xd, PKRU, 8, OFF_PKRU, 0, 0);
	add(c, 0xd, CET_U, 16, 0, 1, 0);
	add(c, 0xd, CET_S, 24, 0, 1, 0);
	add(c, 0xd, TILECFG, 64, OFF_TILECFG, 2, 0);
	add(c, 0xd, TILEDATA, 8192, OFF_TILEDATA, 6, 0);
	return c;
}

static struct hv_xsave_layout layout(void)
{
	struct hv_cpuid *c = table();
	struct hv_xsave_layout l;

	assert_int_equal(hv_xsave_layout_from_cpuid(c, &l), 0);
	free(c);
	return l;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void pattern(uint8_t *b, size_t off, size_t len, uint8_t seed)
{
	for (size_t k = 0; k < len; k++)
		b[off + k] = (uint8_t)(seed + k);
}

static bool is_fill(const uint8_t *b, size_t off, size_t len, uint8_t v)
{
	for (size_t k = 0; k < len; k++)
		if (b[off + k] != v)
			return false;
	return true;
}

static uint8_t *buf(uint8_t fill)
{
	uint8_t *b = malloc(BUF_LEN);

	assert_non_null(b);
	memset(b, fill, BUF_LEN);
	return b;
}

/* A vCPU image, every register distinct, with XSTATE_BV = bv. */
static uint8_t *make_state(uint64_t bv)
{
	uint8_t *s = buf(0);

	s[0] = 0x7f, s[1] = 0x02;   /* FCW 027FH */
	s[2] = 0x20, s[3] = 0x38;   /* FSW */
	s[4] = 0x81;                /* abridged FTW: ST0, ST7 valid */
	s[6] = 0xdd, s[7] = 0x07;   /* FOP */
	wr64(s + 8, S_FIP);
	wr64(s + 16, S_FDP);
	wr32(s + 24, S_MXCSR);
	wr32(s + 28, 0xffff);       /* MXCSR_MASK */
	pattern(s, 32, 128, 0x10);  /* ST0-7 */
	pattern(s, 160, 256, 0x40); /* XMM0-15 */
	memset(s + 416, 0xee, 96);  /* never copied anywhere */
	wr64(s + HDR, bv);
	pattern(s, OFF_AVX, 256, 0x61);
	pattern(s, OFF_BNDREGS, 64, 0x71);
	pattern(s, OFF_BNDCSR, 64, 0x75);
	pattern(s, OFF_OPMASK, 64, 0x81);
	pattern(s, OFF_ZMM_HI256, 512, 0x91);
	pattern(s, OFF_HI16_ZMM, 1024, 0xa1);
	pattern(s, OFF_PKRU, 8, 0xb1);
	pattern(s, OFF_TILECFG, 64, 0xc1);
	pattern(s, OFF_TILEDATA, 8192, 0xd1);
	return s;
}

static void test_layout(void **unused)
{
	struct hv_xsave_layout l = layout();
	struct hv_cpuid *c;

	assert_int_equal(l.user_mask, USER_MASK);
	assert_int_equal(l.supervisor_mask, SUP_MASK);
	assert_true(l.xsavec);
	assert_int_equal(l.offset[AVX], 576);
	assert_int_equal(l.size[AVX], 256);
	assert_int_equal(l.offset[HI16_ZMM], 1664);
	assert_int_equal(l.size[HI16_ZMM], 1024);
	assert_int_equal(l.offset[PT], 0);
	assert_int_equal(l.size[PT], 72);
	assert_false(l.align64[PKRU]);
	assert_true(l.align64[TILECFG]);
	assert_true(l.align64[TILEDATA]);
	assert_int_equal(l.std_size, 2816 + 8192);

	/* Standard: the end of the last component. */
	assert_int_equal(hv_xsave_area_size(&l, 3, HV_XSAVE_STANDARD), 576);
	assert_int_equal(hv_xsave_area_size(&l, 7, HV_XSAVE_STANDARD), 832);
	assert_int_equal(hv_xsave_area_size(&l, BIT(PKRU) | 3, HV_XSAVE_STANDARD), 2696);
	assert_int_equal(hv_xsave_area_size(&l, USER_MASK, HV_XSAVE_STANDARD), 11008);
	/* Compacted: AVX 576..832, opmask 832..896, PKRU 896..904, TILECFG
	 * aligned up to 960..1024, TILEDATA 1024..9216. */
	assert_int_equal(hv_xsave_area_size(&l, 3, HV_XSAVE_COMPACTED), 576);
	assert_int_equal(hv_xsave_area_size(&l, 7, HV_XSAVE_COMPACTED), 832);
	assert_int_equal(hv_xsave_area_size(&l, 0x20227, HV_XSAVE_COMPACTED), 1024);
	assert_int_equal(hv_xsave_area_size(&l, 0x60227, HV_XSAVE_COMPACTED), 9216);
	/* With PT (72 bytes) at 896: PKRU 968..976, TILECFG 1024..1088. */
	assert_int_equal(hv_xsave_area_size(&l, 0x20327, HV_XSAVE_COMPACTED), 1088);
	/* The first component sits at 576 whatever its alignment. */
	assert_int_equal(hv_xsave_area_size(&l, BIT(TILECFG), HV_XSAVE_COMPACTED), 640);

	/* No leaf 0xD; a component without its subleaf. */
	c = table();
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->ent[i].function == 0xd && c->ent[i].index == PKRU)
			c->ent[i].index = 30;
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(hv_xsave_layout_from_cpuid(c, &l), -EINVAL);
	assert_int_equal(l.user_mask, 0x5a5a5a5a5a5a5a5aull);
	free(c);
	c = table();
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->ent[i].function == 0xd)
			c->ent[i].eax = c->ent[i].ebx = c->ent[i].ecx = c->ent[i].edx = 0;
	assert_int_equal(hv_xsave_layout_from_cpuid(c, &l), -ENOENT);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->ent[i].function == 0xd)
			c->ent[i].function = 0xe;
	assert_int_equal(hv_xsave_layout_from_cpuid(c, &l), -ENOENT);
	assert_int_equal(l.user_mask, 0x5a5a5a5a5a5a5a5aull);
	free(c);
}

/* XSAVE (standard form) of x87, SSE and AVX. */
static void test_xsave_standard(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint8_t *s = make_state(BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(OPMASK));
	uint8_t *a = buf(0xcc);

	wr64(a + HDR, 0xffff000000000200ull);  /* old XSTATE_BV: PKRU, high bits */
	memset(a + HDR + 8, 0xdd, 56);          /* XCOMP_BV and reserved: not ours */
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, 7, a, 831), -ERANGE);
	assert_true(is_fill(a, 0, 512, 0xcc));
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, 7, a, 832), 0);

	assert_memory_equal(a, s, 416);          /* x87, MXCSR, mask, XMM */
	assert_int_equal(rd64(a + 8), S_FIP);    /* REX.W form: 64-bit FIP */
	assert_true(is_fill(a, 416, 96, 0xcc));  /* 416..511 never written */
	assert_int_equal(rd64(a + HDR), 0xffff000000000207ull);
	assert_true(is_fill(a, HDR + 8, 56, 0xdd));
	assert_memory_equal(a + OFF_AVX, s + OFF_AVX, 256);
	assert_true(is_fill(a, 832, BUF_LEN - 832, 0xcc)); /* opmask not in RFBM */
	free(a);

	/* SSE not in use: XMM stored as their init value 0, XSTATE_BV[1] = 0
	 * (MXCSR is not part of XINUSE[1], §13.7). */
	wr64(s + HDR, BIT(X87) | BIT(AVX));
	a = buf(0xcc);
	wr64(a + HDR, 0);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, 7, a, 832), 0);
	assert_true(is_fill(a, 160, 256, 0));
	assert_int_equal(rd32(a + 24), S_MXCSR);
	assert_int_equal(rd64(a + HDR), BIT(X87) | BIT(AVX));
	free(a);

	/* RFBM = AVX only: MXCSR and MXCSR_MASK are stored too, x87 and XMM
	 * are not; XSTATE_BV[0] and [1] keep what memory had. */
	a = buf(0xcc);
	wr64(a + HDR, 3);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, BIT(AVX), a, 832), 0);
	assert_true(is_fill(a, 0, 24, 0xcc));
	assert_int_equal(rd32(a + 24), S_MXCSR);
	assert_int_equal(rd32(a + 28), 0xffff);
	assert_true(is_fill(a, 32, 480, 0xcc));
	assert_int_equal(rd64(a + HDR), 7);
	free(a);

	/* RFBM = x87 only: no MXCSR; x87 not in use is stored as init. */
	wr64(s + HDR, 0);
	a = buf(0xcc);
	wr64(a + HDR, 0xff);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, 1, a, 576), 0);
	assert_int_equal(rd32(a + 0), 0x037f); /* FCW 037FH, FSW 0 */
	assert_true(is_fill(a, 4, 20, 0));      /* FTW, FOP, FIP, FDP */
	assert_true(is_fill(a, 24, 8, 0xcc));
	assert_true(is_fill(a, 32, 128, 0));
	assert_true(is_fill(a, 160, 352, 0xcc));
	assert_int_equal(rd64(a + HDR), 0xfe);
	free(a);

	/* Components state cannot give: a short state, a supervisor one. */
	a = buf(0xcc);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, 831, 7, a, 832), -ERANGE);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, BIT(PT) | 3, a, BUF_LEN),
			 -EOPNOTSUPP);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVE, s, BUF_LEN, BIT(10) | 3, a, BUF_LEN),
			 -EOPNOTSUPP);
	assert_true(is_fill(a, 0, BUF_LEN, 0xcc));
	free(a);
	free(s);
}

/* Without REX.W the x87 image has 32-bit FIP/FDP and (zero) selectors. */
static void test_xsave_32bit_fip(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint8_t *s = make_state(3), *d = buf(0);
	uint8_t *a = buf(0xcc);
	size_t need;

	wr32(d + 28, 0xffff);
	wr64(a + HDR, 0);

	assert_int_equal(hv_xsave_store_ex(&l, HV_OP_XSAVE, false, s, BUF_LEN, 3, a, 576), 0);
	assert_int_equal(rd32(a + 8), 0x12345678);
	assert_int_equal(rd32(a + 12), 0);  /* FCS */
	assert_int_equal(rd32(a + 16), 0x87654320);
	assert_int_equal(rd32(a + 20), 0);  /* FDS */
	assert_memory_equal(a, s, 8);
	assert_memory_equal(a + 24, s + 24, 416 - 24);

	/* XRSTOR without REX.W: FCS/FDS ignored, offsets zero-extended. */
	wr32(a + 12, 0x0023);
	wr32(a + 20, 0x002b);
	wr64(a + HDR + 8, 0);
	memset(a + HDR + 16, 0, 48);
	assert_int_equal(hv_xrstor_load_ex(&l, false, false, d, BUF_LEN, 3, USER_MASK, 0, a, 576,
					   &need), 0);
	assert_memory_equal(d, s, 8);
	assert_int_equal(rd64(d + 8), 0x12345678);
	assert_int_equal(rd64(d + 16), 0x87654320);
	assert_memory_equal(d + 24, s + 24, 416 - 24);
	assert_int_equal(rd64(d + HDR), 3);
	free(a);
	free(s);
	free(d);
}

/* XSAVEC: compaction, 64-byte alignment, components not in use skipped. */
static void test_xsavec(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint64_t rfbm = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(OPMASK) | BIT(PKRU) | BIT(TILECFG);
	uint64_t inuse = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(PKRU) | BIT(TILECFG);
	uint8_t *s = make_state(inuse | BIT(ZMM_HI256));
	uint8_t *a = buf(0xcc);

	wr64(a + HDR, ~0ull);
	memset(a + HDR + 16, 0xdd, 48);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, rfbm, a, 1023), -ERANGE);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, rfbm, a, 1024), 0);

	assert_memory_equal(a, s, 416);
	assert_true(is_fill(a, 416, 96, 0xcc));
	/* XSTATE_BV = RFBM & XINUSE (not read from memory); XCOMP_BV = RFBM
	 * with bit 63; bytes 16..63 of the header untouched (§13.10). */
	assert_int_equal(rd64(a + HDR), inuse);
	assert_int_equal(rd64(a + HDR + 8), rfbm | COMPACT);
	assert_true(is_fill(a, HDR + 16, 48, 0xdd));
	assert_memory_equal(a + 576, s + OFF_AVX, 256);
	assert_true(is_fill(a, 832, 64, 0xcc));           /* opmask: not in use */
	assert_memory_equal(a + 896, s + OFF_PKRU, 8);
	assert_true(is_fill(a, 904, 56, 0xcc));           /* alignment padding */
	assert_memory_equal(a + 960, s + OFF_TILECFG, 64); /* ceil(904, 64) */
	assert_true(is_fill(a, 1024, BUF_LEN - 1024, 0xcc));
	free(a);

	/* SSE not in use and MXCSR = 1F80H: neither XMM nor MXCSR stored. */
	wr64(s + HDR, BIT(AVX));
	wr32(s + 24, 0x1f80);
	a = buf(0xcc);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, 7, a, 832), 0);
	assert_true(is_fill(a, 0, 512, 0xcc));
	assert_int_equal(rd64(a + HDR), BIT(AVX));
	assert_int_equal(rd64(a + HDR + 8), 7 | COMPACT);
	free(a);

	/* SSE not in use but MXCSR != 1F80H: all of SSE is stored (XMM as
	 * their init value) and XSTATE_BV[1] set (§13.10). */
	wr32(s + 24, S_MXCSR);
	a = buf(0xcc);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, 7, a, 832), 0);
	assert_int_equal(rd32(a + 24), S_MXCSR);
	assert_int_equal(rd32(a + 28), 0xffff);
	assert_true(is_fill(a, 160, 256, 0));
	assert_true(is_fill(a, 0, 24, 0xcc));
	assert_int_equal(rd64(a + HDR), BIT(SSE) | BIT(AVX));
	free(a);

	/* RFBM[2] alone does not make XSAVEC store MXCSR. */
	a = buf(0xcc);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, BIT(AVX), a, 832), 0);
	assert_true(is_fill(a, 0, 512, 0xcc));
	assert_int_equal(rd64(a + HDR), BIT(AVX));
	assert_int_equal(rd64(a + HDR + 8), BIT(AVX) | COMPACT);

	/* XSAVEC cannot store supervisor components. */
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, BIT(PT) | 7, a, BUF_LEN),
			 -EOPNOTSUPP);
	free(a);
	free(s);
}

/* XSAVES: supervisor components get their place in the compacted area. */
static void test_xsaves(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint64_t rfbm = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(OPMASK) | BIT(PT) | BIT(PKRU) |
			BIT(CET_U) | BIT(TILECFG);
	uint64_t inuse = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(PKRU) | BIT(TILECFG);
	uint8_t *s = make_state(inuse);
	uint8_t *a = buf(0xcc);

	/* AVX 576, opmask 832, PT 896..968, PKRU 968, CET_U 976..992,
	 * TILECFG ceil(992, 64) = 1024..1088. */
	assert_int_equal(hv_xsave_area_size(&l, rfbm, HV_XSAVE_COMPACTED), 1088);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVES, s, BUF_LEN, rfbm, a, 1087), -ERANGE);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVES, s, BUF_LEN, rfbm, a, 1088), 0);
	assert_int_equal(rd64(a + HDR), inuse);
	assert_int_equal(rd64(a + HDR + 8), rfbm | COMPACT);
	assert_memory_equal(a, s, 416);
	assert_memory_equal(a + 576, s + OFF_AVX, 256);
	assert_true(is_fill(a, 832, 136, 0xcc));  /* opmask, PT: init */
	assert_memory_equal(a + 968, s + OFF_PKRU, 8);
	assert_true(is_fill(a, 976, 48, 0xcc));   /* CET_U, padding */
	assert_memory_equal(a + 1024, s + OFF_TILECFG, 64);
	assert_true(is_fill(a, 1088, BUF_LEN - 1088, 0xcc));
	free(a);

	/* A supervisor component in use: state does not hold it. */
	wr64(s + HDR, inuse | BIT(PT));
	a = buf(0xcc);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVES, s, BUF_LEN, rfbm, a, BUF_LEN),
			 -EOPNOTSUPP);
	assert_true(is_fill(a, 0, BUF_LEN, 0xcc));
	/* ... but not asked for: fine. */
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVES, s, BUF_LEN, rfbm & ~BIT(PT), a, BUF_LEN),
			 0);
	assert_int_equal(rd64(a + HDR), inuse);
	free(a);
	free(s);
}

/* XRSTOR, standard form. */
static void test_xrstor_standard(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint64_t rfbm = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(OPMASK);
	uint8_t *d = make_state(rfbm | BIT(ZMM_HI256));
	uint8_t *a = buf(0), *before = buf(0);
	size_t need = 0;

	pattern(a, 0, 24, 0x01);       /* x87 */
	wr32(a + 24, 0x1fc0);          /* MXCSR: DAZ */
	wr32(a + 28, 0x1234);          /* MXCSR_MASK: ignored */
	pattern(a, 32, 128, 0x21);
	pattern(a, 160, 256, 0x31);
	pattern(a, 576, 256, 0x41);    /* AVX */
	pattern(a, OFF_OPMASK, 64, 0x51);
	/* SSE and opmask to be initialised; bytes 24..63 of the header are
	 * not checked by the standard form (§13.8.1). */
	wr64(a + HDR, BIT(X87) | BIT(AVX));
	a[HDR + 40] = 0x77;
	memcpy(before, d, BUF_LEN);

	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 575,
					&need), -EAGAIN);
	assert_int_equal(need, 576);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 576,
					&need), -EAGAIN);
	assert_int_equal(need, 832); /* AVX; opmask is initialised, not read */
	assert_memory_equal(d, before, BUF_LEN);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 832,
					&need), 0);

	assert_memory_equal(d, a, 24);
	assert_memory_equal(d + 32, a + 32, 128);
	assert_true(is_fill(d, 160, 256, 0));          /* XMM: init */
	assert_int_equal(rd32(d + 24), 0x1fc0);        /* MXCSR loaded anyway */
	assert_int_equal(rd32(d + 28), 0xffff);        /* MXCSR_MASK untouched */
	assert_memory_equal(d + 416, before + 416, 96);
	assert_memory_equal(d + OFF_AVX, a + OFF_AVX, 256);
	assert_true(is_fill(d, OFF_OPMASK, 64, 0));    /* opmask: init */
	assert_memory_equal(d + OFF_ZMM_HI256, before + OFF_ZMM_HI256, BUF_LEN - OFF_ZMM_HI256);
	/* XSTATE_BV[i] = XSTATE_BV of memory for i in RFBM; [1] stays set as
	 * MXCSR != 1F80H; ZMM_Hi256 (not in RFBM) kept. */
	assert_int_equal(rd64(d + HDR), BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(ZMM_HI256));

	/* x87 initialised: FCW 037FH, the rest 0; MXCSR is not x87. */
	wr64(a + HDR, 0);
	wr32(a + 24, 0x1f80);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 576,
					&need), 0);
	assert_int_equal(need, 576);
	assert_int_equal(rd32(d + 0), 0x037f);
	assert_true(is_fill(d, 4, 20, 0));
	assert_true(is_fill(d, 32, 128, 0));
	assert_int_equal(rd32(d + 24), 0x1f80);
	assert_true(is_fill(d, OFF_AVX, 256, 0));
	assert_int_equal(rd64(d + HDR), BIT(ZMM_HI256));

	/* RFBM = AVX alone loads MXCSR too, with XSTATE_BV[1] = XSTATE_BV[2]
	 * = 0; XSTATE_BV[1] of state is set to keep it. */
	wr32(a + 24, 0x9fc0);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, BIT(AVX), USER_MASK, 0, a, 576,
					&need), 0);
	assert_int_equal(rd32(d + 24), 0x9fc0);
	assert_int_equal(rd32(d + 0), 0x037f);
	assert_int_equal(rd64(d + HDR), BIT(SSE) | BIT(ZMM_HI256));
	free(a);
	free(d);
	free(before);
}

/* Each #GP of XRSTOR(S), and the state left alone. */
static void test_xrstor_faults(void **unused)
{
	struct hv_xsave_layout l = layout(), nocompact = l;
	uint8_t *d = make_state(7), *a = buf(0), *before = buf(0);
	size_t need;

#define LOAD(sup, rfbm, xcr0, xss) \
	hv_xrstor_load(&l, sup, d, BUF_LEN, rfbm, xcr0, xss, a, BUF_LEN, &need)

	memcpy(before, d, BUF_LEN);
	wr32(a + 24, 0x1f80);

	/* Standard form: XSTATE_BV outside XCR0, bytes 8..23 not zero. */
	wr64(a + HDR, BIT(OPMASK) | 7);
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr64(a + HDR, 7);
	wr64(a + HDR + 8, 4);
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr64(a + HDR + 8, 0);
	a[HDR + 23] = 1;
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	a[HDR + 23] = 0;
	/* MXCSR reserved bits (mask 0xFFFF from state). */
	wr32(a + 24, 0x10000);
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	assert_int_equal(LOAD(false, BIT(AVX), 7, 0), -EINVAL);
	assert_int_equal(LOAD(false, 1, 7, 0), 0); /* not loaded: no check */
	memcpy(d, before, BUF_LEN);
	/* A zero MXCSR_MASK means 0xFFBF: DAZ is reserved. */
	wr32(a + 24, 0x1fc0);
	wr32(d + 28, 0);
	assert_int_equal(hv_xsave_mxcsr_mask(d), 0xffbf);
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr32(d + 28, 0xffff);
	assert_int_equal(hv_xsave_mxcsr_mask(d), 0xffff);
	wr32(a + 24, 0x1f80);

	/* Compacted form. */
	wr64(a + HDR + 8, COMPACT | 7);
	wr64(a + HDR, 7);
	assert_int_equal(LOAD(false, 7, 7, 0), 0);
	memcpy(d, before, BUF_LEN);
	wr64(a + HDR + 8, COMPACT | BIT(OPMASK) | 7); /* XCOMP_BV outside XCR0 */
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr64(a + HDR + 8, COMPACT | 3);               /* XSTATE_BV outside XCOMP_BV */
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr64(a + HDR + 8, COMPACT | 7);
	a[HDR + 16] = 1;                              /* bytes 16..63 */
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	a[HDR + 16] = 0;
	a[HDR + 63] = 0x80;
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	a[HDR + 63] = 0;
	wr32(a + 24, 0x10000);                        /* MXCSR with SSE */
	assert_int_equal(LOAD(false, 7, 7, 0), -EINVAL);
	wr32(a + 24, 0x1f80);
	/* XSTATE_BV[63] is within XCOMP_BV (bit 63 set): no fault. */
	wr64(a + HDR, COMPACT | 7);
	assert_int_equal(LOAD(false, 7, 7, 0), 0);
	memcpy(d, before, BUF_LEN);
	wr64(a + HDR, 7);

	/* Without the compaction extensions XCOMP_BV[63] does not select the
	 * compacted form: the standard form's check of bytes 8..23 faults. */
	nocompact.xsavec = false;
	assert_int_equal(hv_xrstor_load(&nocompact, false, d, BUF_LEN, 7, 7, 0, a, BUF_LEN, &need),
			 -EINVAL);

	/* XRSTORS: compacted form only; XCOMP_BV within XCR0 | IA32_XSS. */
	wr64(a + HDR + 8, 7);
	assert_int_equal(LOAD(true, 7, 7, BIT(CET_U)), -EINVAL);
	wr64(a + HDR + 8, 0);
	assert_int_equal(LOAD(true, 7, 7, BIT(CET_U)), -EINVAL);
	wr64(a + HDR + 8, COMPACT | BIT(CET_U) | 7);
	assert_int_equal(LOAD(true, 7, 7, 0), -EINVAL);
	assert_int_equal(LOAD(false, 7, 7, BIT(CET_U)), -EINVAL); /* XRSTOR: XCR0 only */
	assert_memory_equal(d, before, BUF_LEN);
	/* CET_U initialised: nothing state has to hold. */
	assert_int_equal(LOAD(true, BIT(CET_U) | 7, 7, BIT(CET_U)), 0);
	memcpy(d, before, BUF_LEN);
	/* CET_U loaded from memory: state cannot take it. */
	wr64(a + HDR, BIT(CET_U) | 7);
	assert_int_equal(LOAD(true, BIT(CET_U) | 7, 7, BIT(CET_U)), -EOPNOTSUPP);
	assert_memory_equal(d, before, BUF_LEN);
	assert_int_equal(LOAD(true, 7, 7, BIT(CET_U)), 0); /* not in RFBM */
	memcpy(d, before, BUF_LEN);

	/* Caller errors: XCR0 outside the layout, RFBM outside XCR0, short
	 * state. */
	wr64(a + HDR, 7);
	wr64(a + HDR + 8, 0);
	assert_int_equal(LOAD(false, 7, 7 | BIT(10), 0), -EOPNOTSUPP);
	assert_int_equal(LOAD(false, 0xf, 7, 0), -EOPNOTSUPP);
	assert_int_equal(hv_xrstor_load(&l, false, d, 831, 7, 7, 0, a, BUF_LEN, &need), -ERANGE);
	assert_memory_equal(d, before, BUF_LEN);
#undef LOAD
	free(a);
	free(d);
	free(before);
}

/* XRSTOR, compacted form: what XSAVEC stored comes back. */
static void test_xrstor_compacted(void **unused)
{
	struct hv_xsave_layout l = layout();
	uint64_t rfbm = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(OPMASK) | BIT(PKRU) | BIT(TILECFG);
	uint64_t inuse = BIT(X87) | BIT(SSE) | BIT(AVX) | BIT(PKRU) | BIT(TILECFG);
	uint8_t *s = make_state(inuse), *d = make_state(USER_MASK), *a = buf(0);
	size_t need = 0;

	for (size_t i = 0; i < BUF_LEN; i++)
		d[i] ^= 0x5a;
	wr64(d + HDR, USER_MASK);
	wr32(d + 24, 0x1f80);
	wr32(d + 28, 0xffff);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVEC, s, BUF_LEN, rfbm, a, 1024), 0);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 960,
					&need), -EAGAIN);
	assert_int_equal(need, 1024);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 1024,
					&need), 0);
	assert_memory_equal(d, s, 416);
	assert_memory_equal(d + OFF_AVX, s + OFF_AVX, 256);
	assert_true(is_fill(d, OFF_OPMASK, 64, 0));
	assert_memory_equal(d + OFF_PKRU, s + OFF_PKRU, 8);
	assert_memory_equal(d + OFF_TILECFG, s + OFF_TILECFG, 64);
	assert_int_equal(d[OFF_BNDREGS], (uint8_t)(0x71 ^ 0x5a)); /* not in RFBM */
	assert_int_equal(rd64(d + HDR), (USER_MASK & ~rfbm) | inuse);

	/* XSTATE_BV[1] = 0: MXCSR set to 1F80H, whatever memory holds (no
	 * check of it either), XMM initialised. */
	wr64(a + HDR, BIT(AVX));
	wr32(a + 24, 0xffffffff);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, rfbm, USER_MASK, 0, a, 1024,
					&need), 0);
	assert_int_equal(need, 832);
	assert_int_equal(rd32(d + 24), 0x1f80);
	assert_true(is_fill(d, 160, 256, 0));
	assert_int_equal(rd32(d + 0), 0x037f);
	assert_true(is_fill(d, OFF_PKRU, 8, 0));
	assert_int_equal(rd64(d + HDR) & rfbm, BIT(AVX));

	/* RFBM[2] alone does not touch MXCSR in the compacted form. */
	wr32(d + 24, S_MXCSR);
	assert_int_equal(hv_xrstor_load(&l, false, d, BUF_LEN, BIT(AVX), USER_MASK, 0, a, 1024,
					&need), 0);
	assert_int_equal(rd32(d + 24), S_MXCSR);

	/* XRSTORS of an XSAVES image with a supervisor component (in its
	 * init configuration) in the middle. */
	rfbm |= BIT(PT);
	memset(a, 0, BUF_LEN);
	assert_int_equal(hv_xsave_store(&l, HV_OP_XSAVES, s, BUF_LEN, rfbm, a, 1088), 0);
	assert_int_equal(hv_xrstor_load(&l, true, d, BUF_LEN, rfbm, USER_MASK, BIT(PT), a, 1088,
					&need), 0);
	assert_int_equal(need, 1088);
	assert_memory_equal(d, s, 416);
	assert_memory_equal(d + OFF_PKRU, s + OFF_PKRU, 8);
	assert_memory_equal(d + OFF_TILECFG, s + OFF_TILECFG, 64);
	free(a);
	free(s);
	free(d);
}

/* FXSAVE / FXRSTOR in both layouts. */
static void test_fxsave(void **unused)
{
	uint8_t *s = make_state(0), *d = buf(0), *a = buf(0xcc);

	/* 64-bit layout: the image as it is, up to byte 415. */
	hv_fxsave_store(s, true, a);
	assert_memory_equal(a, s, 416);
	assert_true(is_fill(a, 416, 96, 0xcc));
	wr32(d + 28, 0xffbf);
	assert_int_equal(hv_fxrstor_load(d, BUF_LEN, true, a, 0xffff), 0);
	assert_memory_equal(d, s, 28);
	assert_int_equal(rd32(d + 28), 0xffbf); /* MXCSR_MASK left alone */
	assert_memory_equal(d + 32, s + 32, 416 - 32);
	assert_true(is_fill(d, 416, 96, 0));
	assert_int_equal(rd64(d + HDR), 3);

	/* 32-bit layout: FIP[31:0], FCS, FDP[31:0], FDS. */
	memset(a, 0xcc, BUF_LEN);
	hv_fxsave_store(s, false, a);
	assert_memory_equal(a, s, 8);
	assert_int_equal(rd32(a + 8), 0x12345678);
	assert_int_equal(rd32(a + 12), 0);
	assert_int_equal(rd32(a + 16), 0x87654320);
	assert_int_equal(rd32(a + 20), 0);
	assert_memory_equal(a + 24, s + 24, 416 - 24);
	assert_true(is_fill(a, 416, 96, 0xcc));
	wr32(a + 12, 0x0023);
	wr32(a + 20, 0x002b);
	memset(d, 0, BUF_LEN);
	assert_int_equal(hv_fxrstor_load(d, 512, false, a, 0xffff), 0);
	assert_int_equal(rd64(d + 8), 0x12345678);
	assert_int_equal(rd64(d + 16), 0x87654320);
	assert_memory_equal(d + 24, s + 24, 4);
	assert_memory_equal(d + 32, s + 32, 416 - 32);
	assert_true(is_fill(d, 416, BUF_LEN - 416, 0)); /* 512 bytes: no header */

	/* MXCSR reserved bits: #GP, nothing loaded. */
	memcpy(d, s, BUF_LEN);
	memset(a, 0, 512);
	wr32(a + 24, 0x1fc0);
	assert_int_equal(hv_fxrstor_load(d, BUF_LEN, true, a, 0), -EINVAL); /* 0xFFBF */
	assert_int_equal(hv_fxrstor_load(d, BUF_LEN, true, a, 0xffbf), -EINVAL);
	wr32(a + 24, 0x20000);
	assert_int_equal(hv_fxrstor_load(d, BUF_LEN, true, a, 0xffff), -EINVAL);
	assert_int_equal(hv_fxrstor_load(d, 511, true, a, 0x2ffff), -ERANGE);
	assert_memory_equal(d, s, BUF_LEN);
	assert_int_equal(hv_fxrstor_load(d, BUF_LEN, true, a, 0x2ffff), 0);
	assert_int_equal(rd32(d + 24), 0x20000);
	free(a);
	free(s);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_xsave_standard),
		cmocka_unit_test(test_xsave_32bit_fip),
		cmocka_unit_test(test_xsavec),
		cmocka_unit_test(test_xsaves),
		cmocka_unit_test(test_xrstor_standard),
		cmocka_unit_test(test_xrstor_faults),
		cmocka_unit_test(test_xrstor_compacted),
		cmocka_unit_test(test_fxsave),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

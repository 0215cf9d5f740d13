// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Instruction completion (hv/insn.c, hv/mmu.c) against a fake guest: 64 MiB
 * of RAM with 4-level page tables, the first 2 MiB in 4 KiB pages (one
 * not present, one read-only, one user) and the rest identity-mapped with
 * 2 MiB pages.  Expected results are worked out by hand from the SDM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake-mem.h"
#include "insn.h"
#include "mmu.h"
#include "xsave.h"

#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD   0x3000ull
#define PT   0x4000ull
#define CODE 0x10000ull     /* instructions are copied here */
#define DATA 0x20000ull     /* operands */
#define NOTPRESENT 0x30000ull
#define READONLY 0x31000ull
#define USERPAGE 0x32000ull

struct fixture {
	struct hv_guest_mem mem;
	struct hv_insn_cpu cpu;
	struct hv_insn_outcome out;
	uint8_t xstate[4096];
	bool xstate_fetched;
};

static struct fixture *fx;

/* x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM at the offsets real CPUs use. */
static const struct hv_xsave_layout layout = {
	.user_mask = 0xe7,
	.offset = { [2] = 576, [5] = 1088, [6] = 1152, [7] = 1664 },
	.size = { [2] = 256, [5] = 64, [6] = 512, [7] = 1024 },
	.std_size = 2688,
	.xsavec = true,
};

/* XMM/YMM register n, lane l (16 bytes) in the fixture's XSAVE image. */
static uint8_t *lane(unsigned n, unsigned l)
{
	if (l == 0)
		return fx->xstate + 160 + 16 * n;
	if (l == 1)
		return fx->xstate + 576 + 16 * n;
	return fx->xstate + 1152 + 32 * n + 16 * (l - 2);
}

static void fill_lane(unsigned n, unsigned l, uint8_t v)
{
	memset(lane(n, l), v, 16);
}

static bool lane_is(unsigned n, unsigned l, uint8_t v)
{
	for (unsigned i = 0; i < 16; i++)
		if (lane(n, l)[i] != v)
			return false;
	return true;
}

static void pte(uint64_t table, unsigned i, uint64_t v)
{
	memcpy(fx->mem.host + table + i * 8, &v, 8);
}

static uint64_t pte_get(uint64_t table, unsigned i)
{
	uint64_t v;

	memcpy(&v, fx->mem.host + table + i * 8, 8);
	return v;
}

static int get_xsave(void *ctx, uint8_t **ret, size_t *len)
{
	struct fixture *f = ctx;

	f->xstate_fetched = true;
	*ret = f->xstate;
	*len = sizeof(f->xstate);
	return 0;
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	assert_int_equal(fake_mem_new(&fx->mem, 64 << 20), 0);
	/* Upper levels allow user access; the leaves decide. */
	pte(PML4, 0, PDPT | 7);
	pte(PDPT, 0, PD | 7);
	pte(PD, 0, PT | 7);
	for (unsigned i = 1; i < 512; i++)
		pte(PD, i, ((uint64_t)i << 21) | 0x83); /* P RW PS */
	for (unsigned i = 0; i < 512; i++)
		pte(PT, i, ((uint64_t)i << 12) | 3);
	pte(PT, NOTPRESENT >> 12, 0);
	pte(PT, READONLY >> 12, READONLY | 1);
	pte(PT, USERPAGE >> 12, USERPAGE | 7);
	fx->cpu = (struct hv_insn_cpu){
		.rip = CODE,
		.rflags = 0x2,
		.cr0 = HV_CR0_PG | HV_CR0_PE | HV_CR0_WP | HV_CR0_MP | (1ull << 5),
		.cr3 = PML4,
		.cr4 = HV_CR4_PAE | HV_CR4_OSFXSR | HV_CR4_OSXSAVE | HV_CR4_SMAP,
		.efer = HV_EFER_LME | HV_EFER_LMA | HV_EFER_NXE,
		.cs_l = true,
		.xcr0 = 3,
		.get_xsave = get_xsave,
		.ctx = fx,
		.xsave_layout = &layout,
	};
	/* x87 and SSE in their init state, MXCSR at its default. */
	fx->xstate[0] = 0x7f;
	fx->xstate[1] = 0x03;
	fx->xstate[24] = 0x80;
	fx->xstate[25] = 0x1f;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fake_mem_free(&fx->mem);
	free(fx);
	return 0;
}

/* Run one instruction from its bytes. */
static enum hv_insn_status run(const char *bytes, size_t len)
{
	memcpy(fx->mem.host + CODE, bytes, len);
	fx->cpu.rip = CODE;
	assert_int_equal(hv_insn_complete(&fx->cpu, &fx->mem, (const uint8_t *)bytes, len, &fx->out), 0);
	return fx->out.status;
}
#define RUN(b) run(b, sizeof(b) - 1)

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(fx->mem.host + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, fx->mem.host + gpa, 8);
	return v;
}

static void test_popcnt(void **state)
{
	fx->cpu.gpr[HV_RBX] = 0;
	fx->cpu.rflags = 0x2 | HV_RFLAGS_CF | HV_RFLAGS_OF | HV_RFLAGS_SF;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\xc3"), HV_INSN_DONE); /* popcnt rax, rbx */
	assert_int_equal(fx->cpu.gpr[HV_RAX], 0);
	assert_int_equal(fx->cpu.rflags, 0x2 | HV_RFLAGS_ZF);
	assert_int_equal(fx->cpu.rip, CODE + 5);
	assert_string_equal(fx->out.text, "popcnt rax, rbx");

	fx->cpu.gpr[HV_RBX] = 0xf0f0000000000001ull;
	fx->cpu.rflags = 0x2 | HV_RFLAGS_ZF | HV_RFLAGS_PF | HV_RFLAGS_AF;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\xc3"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 9);
	assert_int_equal(fx->cpu.rflags, 0x2);

	/* 32-bit destination zero-extends; the source is the low 32 bits. */
	fx->cpu.gpr[HV_RAX] = ~0ull;
	assert_int_equal(RUN("\xf3\x0f\xb8\xc3"), HV_INSN_DONE); /* popcnt eax, ebx */
	assert_int_equal(fx->cpu.gpr[HV_RAX], 1);
	/* 16-bit destination merges into the register. */
	fx->cpu.gpr[HV_RCX] = 0x1111222233334444ull;
	fx->cpu.gpr[HV_RBX] = 0xffff;
	assert_int_equal(RUN("\x66\xf3\x0f\xb8\xcb"), HV_INSN_DONE); /* popcnt cx, bx */
	assert_int_equal(fx->cpu.gpr[HV_RCX], 0x1111222233330010ull);
}

static void test_popcnt_memory(void **state)
{
	/* popcnt rax, [rsi] */
	put64(DATA, 0x8000000000000003ull);
	fx->cpu.gpr[HV_RSI] = DATA;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 3);

	/* An operand straddling two 4 KiB pages. */
	put64(DATA + 0x1000 - 4, 0);
	memset(fx->mem.host + DATA + 0x1000 - 4, 0xff, 8);
	fx->cpu.gpr[HV_RSI] = DATA + 0x1000 - 4;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 64);

	/* RIP-relative: [rip + 0x100] from the end of the 9-byte instruction. */
	put64(CODE + 9 + 0x100, 0xff);
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x05\x00\x01\x00\x00"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 8);

	/* FS base is added in 64-bit mode. */
	fx->cpu.seg_base[HV_FS] = DATA + 0x800;
	put64(DATA + 0x810, 0x7);
	assert_int_equal(RUN("\x64\xf3\x48\x0f\xb8\x04\x25\x10\x00\x00\x00"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 3);
}

static void test_page_faults(void **state)
{
	uint64_t rax = fx->cpu.gpr[HV_RAX] = 0x1234;

	/* Not present: #PF, error code 0 (supervisor read), CR2 = address. */
	fx->cpu.gpr[HV_RSI] = NOTPRESENT + 8;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 14);
	assert_true(fx->out.has_error_code);
	assert_int_equal(fx->out.error_code, 0);
	assert_int_equal(fx->out.cr2, NOTPRESENT + 8);
	assert_int_equal(fx->cpu.rip, CODE); /* not advanced */
	assert_int_equal(fx->cpu.gpr[HV_RAX], rax);

	/* The second page of a straddling operand faults: CR2 is that page. */
	fx->cpu.gpr[HV_RSI] = NOTPRESENT - 4;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.cr2, NOTPRESENT);

	/* A supervisor write to a read-only page with CR0.WP: P|W. */
	fx->cpu.gpr[HV_RSI] = READONLY;
	assert_int_equal(RUN("\xf0\x48\x0f\xc7\x0e"), HV_INSN_FAULT); /* lock cmpxchg16b [rsi] */
	assert_int_equal(fx->out.vector, 14);
	assert_int_equal(fx->out.error_code, HV_PF_PRESENT | HV_PF_WRITE);

	/* SMAP: a supervisor read of a user page without RFLAGS.AC. */
	fx->cpu.gpr[HV_RSI] = USERPAGE;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.error_code, HV_PF_PRESENT);
	fx->cpu.rflags |= HV_RFLAGS_AC;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_DONE);

	/* A user-mode access to a supervisor page. */
	fx->cpu.cpl = 3;
	fx->cpu.gpr[HV_RSI] = DATA;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.error_code, HV_PF_PRESENT | HV_PF_USER);
	fx->cpu.cpl = 0;

	/* A non-canonical address is a #GP(0), not a #PF. */
	fx->cpu.gpr[HV_RSI] = 0x0000800000000000ull;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 13);
	assert_int_equal(fx->out.error_code, 0);

	/* Memory outside guest RAM is reported, not guessed. */
	pte(PD, 100, (200ull << 21) | 0x83);
	fx->cpu.gpr[HV_RSI] = 100ull << 21;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_UNKNOWN);
	assert_non_null(strstr(fx->out.text, "outside guest RAM"));
}

static void test_accessed_dirty(void **state)
{
	pte(PT, (DATA >> 12) + 4, (DATA + 0x4000) | 3);
	fx->cpu.gpr[HV_RSI] = DATA + 0x4000;
	assert_int_equal(RUN("\xf3\x48\x0f\xb8\x06"), HV_INSN_DONE);
	assert_int_equal(pte_get(PT, (DATA >> 12) + 4) & 0x60, 0x20); /* A, not D */
	fx->cpu.gpr[HV_RSI] = DATA + 0x4000;
	RUN("\xf0\x48\x0f\xc7\x0e");
	assert_int_equal(pte_get(PT, (DATA >> 12) + 4) & 0x60, 0x60); /* A and D */
	assert_int_equal(pte_get(PML4, 0) & 0x20, 0x20);
}

static void test_cmpxchg16b(void **state)
{
	/* lock cmpxchg16b [rsi]: equal -> store RCX:RBX, ZF=1. */
	put64(DATA, 1);
	put64(DATA + 8, 2);
	fx->cpu.gpr[HV_RSI] = DATA;
	fx->cpu.gpr[HV_RAX] = 1;
	fx->cpu.gpr[HV_RDX] = 2;
	fx->cpu.gpr[HV_RBX] = 0xaaaa;
	fx->cpu.gpr[HV_RCX] = 0xbbbb;
	assert_int_equal(RUN("\xf0\x48\x0f\xc7\x0e"), HV_INSN_DONE);
	assert_int_equal(get64(DATA), 0xaaaa);
	assert_int_equal(get64(DATA + 8), 0xbbbb);
	assert_true(fx->cpu.rflags & HV_RFLAGS_ZF);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 1);

	/* Not equal -> RDX:RAX = memory, ZF=0, memory unchanged. */
	assert_int_equal(RUN("\xf0\x48\x0f\xc7\x0e"), HV_INSN_DONE);
	assert_false(fx->cpu.rflags & HV_RFLAGS_ZF);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 0xaaaa);
	assert_int_equal(fx->cpu.gpr[HV_RDX], 0xbbbb);
	assert_int_equal(get64(DATA), 0xaaaa);

	/* A misaligned m128 is a #GP(0). */
	fx->cpu.gpr[HV_RSI] = DATA + 8;
	assert_int_equal(RUN("\xf0\x48\x0f\xc7\x0e"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 13);
}

static void test_cmpxchg8b(void **state)
{
	/* lock cmpxchg8b [rsi] compares EDX:EAX, stores ECX:EBX. */
	put64(DATA + 0x100, 0x0000000500000004ull);
	fx->cpu.gpr[HV_RSI] = DATA + 0x100;
	fx->cpu.gpr[HV_RAX] = 0xffffffff00000004ull;
	fx->cpu.gpr[HV_RDX] = 5;
	fx->cpu.gpr[HV_RBX] = 0x11;
	fx->cpu.gpr[HV_RCX] = 0x22;
	assert_int_equal(RUN("\xf0\x0f\xc7\x0e"), HV_INSN_DONE);
	assert_int_equal(get64(DATA + 0x100), 0x0000002200000011ull);
	assert_true(fx->cpu.rflags & HV_RFLAGS_ZF);
	assert_int_equal(RUN("\xf0\x0f\xc7\x0e"), HV_INSN_DONE);
	assert_false(fx->cpu.rflags & HV_RFLAGS_ZF);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 0x11); /* zero-extended */
	assert_int_equal(fx->cpu.gpr[HV_RDX], 0x22);
}

static void test_software_interrupts(void **state)
{
	assert_int_equal(RUN("\xcc"), HV_INSN_SOFT_INT);
	assert_int_equal(fx->out.vector, 3);
	assert_int_equal(fx->cpu.rip, CODE + 1); /* a trap: return after it */
	assert_int_equal(RUN("\xcd\x80"), HV_INSN_SOFT_INT);
	assert_int_equal(fx->out.vector, 0x80);
	assert_int_equal(fx->cpu.rip, CODE + 2);
	assert_int_equal(RUN("\xf1"), HV_INSN_SOFT_INT);
	assert_int_equal(fx->out.vector, 1);
}

static void test_fwait_and_x87_control(void **state)
{
	uint16_t v;

	assert_int_equal(RUN("\x9b"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.rip, CODE + 1);
	/* A pending unmasked exception (FSW.ES) makes FWAIT raise #MF. */
	fx->xstate[2] = 0x81;
	assert_int_equal(RUN("\x9b"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 16);
	/* FNCLEX clears it. */
	assert_int_equal(RUN("\xdb\xe2"), HV_INSN_DONE);
	assert_int_equal(fx->xstate[2], 0);
	assert_true(fx->out.xsave_dirty);
	/* CR0.TS with MP: #NM. */
	fx->cpu.cr0 |= HV_CR0_TS;
	assert_int_equal(RUN("\x9b"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 7);
	fx->cpu.cr0 &= ~HV_CR0_TS;
	/* FNINIT, then FNSTCW [rsi] reads 0x037f. */
	fx->xstate[0] = 0x40;
	assert_int_equal(RUN("\xdb\xe3"), HV_INSN_DONE);
	fx->cpu.gpr[HV_RSI] = DATA + 0x200;
	assert_int_equal(RUN("\xd9\x3e"), HV_INSN_DONE);
	memcpy(&v, fx->mem.host + DATA + 0x200, 2);
	assert_int_equal(v, 0x037f);
}

static void test_mxcsr(void **state)
{
	uint32_t v = 0x1f80 | 0x6000; /* round toward zero */

	memcpy(fx->mem.host + DATA + 0x300, &v, 4);
	fx->cpu.gpr[HV_RSI] = DATA + 0x300;
	assert_int_equal(RUN("\x0f\xae\x16"), HV_INSN_DONE); /* ldmxcsr [rsi] */
	assert_int_equal(fx->xstate[25], 0x7f);
	/* A reserved bit is a #GP(0). */
	v = 0x10000;
	memcpy(fx->mem.host + DATA + 0x300, &v, 4);
	assert_int_equal(RUN("\x0f\xae\x16"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 13);
	/* Without CR4.OSFXSR SSE instructions are #UD. */
	fx->cpu.cr4 &= ~HV_CR4_OSFXSR;
	assert_int_equal(RUN("\x0f\xae\x1e"), HV_INSN_FAULT); /* stmxcsr [rsi] */
	assert_int_equal(fx->out.vector, 6);
}

static void test_unknown(void **state)
{
	/* Decodes, but is not ours to complete: reported with its text. */
	assert_int_equal(RUN("\x0f\x58\xc1"), HV_INSN_UNKNOWN); /* addps xmm0, xmm1 */
	assert_non_null(strstr(fx->out.text, "addps xmm0, xmm1"));
	assert_non_null(strstr(fx->out.text, "not completed"));
	assert_int_equal(fx->cpu.rip, CODE);
	/* Does not decode at all. */
	assert_int_equal(run("\x0f", 1), HV_INSN_UNKNOWN);
	assert_non_null(strstr(fx->out.text, "undecodable"));
	assert_int_equal(fx->out.length, 0);
}

static void test_vector_moves(void **state)
{
	uint8_t buf[32];

	fx->cpu.xcr0 = 0xe7;
	/* vmovdqu ymm6, [rsi]: both lanes loaded, the ZMM part above zeroed. */
	for (unsigned i = 0; i < 32; i++)
		fx->mem.host[DATA + 0x400 + i] = (uint8_t)i;
	fill_lane(6, 2, 0xee);
	fx->cpu.gpr[HV_RSI] = DATA + 0x400;
	assert_int_equal(RUN("\xc5\xfe\x6f\x36"), HV_INSN_DONE);
	assert_memory_equal(lane(6, 0), fx->mem.host + DATA + 0x400, 16);
	assert_memory_equal(lane(6, 1), fx->mem.host + DATA + 0x410, 16);
	assert_true(lane_is(6, 2, 0));
	assert_true(fx->out.xsave_dirty);
	/* vmovdqu [rdi], ymm0 stores 32 bytes. */
	fill_lane(0, 0, 0x11);
	fill_lane(0, 1, 0x22);
	fx->cpu.gpr[HV_RDI] = DATA + 0x500;
	assert_int_equal(RUN("\xc5\xfe\x7f\x07"), HV_INSN_DONE);
	memset(buf, 0x11, 16);
	memset(buf + 16, 0x22, 16);
	assert_memory_equal(fx->mem.host + DATA + 0x500, buf, 32);
	/* movdqa needs a 16-byte aligned operand. */
	fx->cpu.gpr[HV_RSI] = DATA + 0x408;
	assert_int_equal(RUN("\x66\x0f\x6f\x06"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 13);
	/* vmovd eax, xmm0. */
	memcpy(lane(0, 0), "\x78\x56\x34\x12", 4);
	fx->cpu.gpr[HV_RAX] = ~0ull;
	assert_int_equal(RUN("\xc5\xf9\x7e\xc0"), HV_INSN_DONE);
	assert_int_equal(fx->cpu.gpr[HV_RAX], 0x12345678);
}

static void test_vector_arith(void **state)
{
	uint32_t d[4], want[4];

	fx->cpu.xcr0 = 0xe7;
	/* vpxor xmm3, xmm3, xmm0 zeroes ymm3's upper half (VEX). */
	fill_lane(0, 0, 0x0f);
	fill_lane(3, 0, 0xff);
	fill_lane(3, 1, 0x77);
	assert_int_equal(RUN("\xc5\xe1\xef\xd8"), HV_INSN_DONE);
	assert_true(lane_is(3, 0, 0xf0));
	assert_true(lane_is(3, 1, 0));
	/* Legacy pxor xmm1, xmm2 keeps the upper half (SSE encoding). */
	fill_lane(1, 0, 0xaa);
	fill_lane(1, 1, 0x55);
	fill_lane(2, 0, 0xff);
	assert_int_equal(RUN("\x66\x0f\xef\xca"), HV_INSN_DONE);
	assert_true(lane_is(1, 0, 0x55));
	assert_true(lane_is(1, 1, 0x55));
	/* vpaddd xmm0, xmm1, xmm2: dword adds wrap. */
	memcpy(lane(1, 0), (uint32_t[]){ 1, 0xffffffff, 3, 0x80000000 }, 16);
	memcpy(lane(2, 0), (uint32_t[]){ 2, 2, 0xfffffffd, 0x80000000 }, 16);
	assert_int_equal(RUN("\xc5\xf1\xfe\xc2"), HV_INSN_DONE);
	memcpy(d, lane(0, 0), 16);
	memcpy(want, (uint32_t[]){ 3, 1, 0, 0 }, 16);
	assert_memory_equal(d, want, 16);
	/* vprord xmm1, xmm1, 7 (EVEX). */
	memcpy(lane(1, 0), (uint32_t[]){ 0x80, 1, 0, 0xffffffff }, 16);
	assert_int_equal(RUN("\x62\xf1\x75\x08\x72\xc1\x07"), HV_INSN_DONE);
	memcpy(d, lane(1, 0), 16);
	memcpy(want, (uint32_t[]){ 1, 0x02000000, 0, 0xffffffff }, 16);
	assert_memory_equal(d, want, 16);
	/* vpshufd xmm0, xmm1, 0x93: dest dword i = src dword (imm >> 2i) & 3. */
	memcpy(lane(1, 0), (uint32_t[]){ 10, 11, 12, 13 }, 16);
	assert_int_equal(RUN("\xc5\xf9\x70\xc1\x93"), HV_INSN_DONE);
	memcpy(d, lane(0, 0), 16);
	memcpy(want, (uint32_t[]){ 13, 10, 11, 12 }, 16);
	assert_memory_equal(d, want, 16);
	/* vpaddd with an opmask is not completed: reported, not guessed. */
	assert_int_equal(RUN("\x62\xf1\x75\x09\xfe\x16"), HV_INSN_UNKNOWN);
	assert_non_null(strstr(fx->out.text, "masking"));
}

static void test_vector_permute(void **state)
{
	uint32_t t1[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, t2[8] = { 10, 11, 12, 13, 14, 15, 16, 17 };
	uint32_t idx[8] = { 15, 0, 8, 7, 1 | 16, 9, 3, 12 }, want[8] = { 17, 0, 10, 7, 1, 11, 3, 14 };
	uint32_t r[8];

	fx->cpu.xcr0 = 0xe7;
	/* vpermi2d ymm8, ymm6, ymm7: indexes in ymm8, tables ymm6:ymm7. */
	memcpy(lane(6, 0), t1, 16);
	memcpy(lane(6, 1), t1 + 4, 16);
	memcpy(lane(7, 0), t2, 16);
	memcpy(lane(7, 1), t2 + 4, 16);
	memcpy(lane(8, 0), idx, 16);
	memcpy(lane(8, 1), idx + 4, 16);
	assert_int_equal(RUN("\x62\x72\x4d\x28\x76\xc7"), HV_INSN_DONE);
	memcpy(r, lane(8, 0), 16);
	memcpy(r + 4, lane(8, 1), 16);
	assert_memory_equal(r, want, 32);
	/* vextracti128 xmm8, ymm8, 1. */
	assert_int_equal(RUN("\xc4\x43\x7d\x39\xc0\x01"), HV_INSN_DONE);
	assert_memory_equal(lane(8, 0), want + 4, 16);
	assert_true(lane_is(8, 1, 0));
	/* vzeroupper clears every upper half, keeps the XMM parts. */
	fill_lane(5, 0, 0x5a);
	fill_lane(5, 1, 0x5b);
	fill_lane(15, 2, 0x5c);
	assert_int_equal(RUN("\xc5\xf8\x77"), HV_INSN_DONE);
	assert_true(lane_is(5, 0, 0x5a));
	assert_true(lane_is(5, 1, 0));
	assert_true(lane_is(15, 2, 0));
	/* Without CR4.OSXSAVE, VEX instructions are #UD. */
	fx->cpu.cr4 &= ~HV_CR4_OSXSAVE;
	assert_int_equal(RUN("\xc5\xf8\x77"), HV_INSN_FAULT);
	assert_int_equal(fx->out.vector, 6);
}

static void test_fetch(void **state)
{
	uint8_t buf[HV_INSN_MAX_LEN];

	memcpy(fx->mem.host + NOTPRESENT - 3, "\xf3\x48\x0f", 3);
	fx->cpu.rip = NOTPRESENT - 3;
	/* Only the mapped part comes back. */
	assert_int_equal(hv_insn_fetch(&fx->cpu, &fx->mem, buf, sizeof(buf)), 3);
	fx->cpu.rip = CODE;
	assert_int_equal(hv_insn_fetch(&fx->cpu, &fx->mem, buf, sizeof(buf)), sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_popcnt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_popcnt_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accessed_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmpxchg16b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmpxchg8b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_software_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwait_and_x87_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mxcsr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vector_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vector_arith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vector_permute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

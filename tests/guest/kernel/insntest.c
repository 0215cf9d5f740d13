// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * "insn-test": execute at CPL0 the instructions a software-only KVM refuses
 * (docs/software-kvm.md) and check their architectural results, so the
 * same binary checks skyvm's completion here and the CPU on a real host.
 * Prints "insn: NAME ok" or "insn: NAME FAILED (...)", then
 * "insn: N of M passed".  Plain inline assembly: the C around it stays
 * free of FPU/SSE code (-mgeneral-regs-only).
 */
#include "kernel.h"

#define RFLAGS_ZF (1ull << 6)
#define RFLAGS_AC (1ull << 18)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXSAVE (1ull << 18)

static unsigned passed, total;

static void check(const char *name, bool ok, uint64_t got, uint64_t want)
{
	total++;
	if (ok) {
		passed++;
		kprintf("insn: %s ok\n", name);
	} else {
		kprintf("insn: %s FAILED (got 0x%llx, want 0x%llx)\n", name, (unsigned long long)got,
			(unsigned long long)want);
	}
}

static void test_popcnt(void)
{
	uint64_t out, flags, in = 0xf0f0000000000001ull;

	asm volatile("popcnt %2, %0; pushfq; pop %1" : "=r"(out), "=r"(flags) : "r"(in) : "cc");
	check("popcnt", out == 9 && !(flags & RFLAGS_ZF), out, 9);
	in = 0;
	asm volatile("popcnt %2, %0; pushfq; pop %1" : "=r"(out), "=r"(flags) : "r"(in) : "cc");
	check("popcnt-zero", out == 0 && (flags & RFLAGS_ZF), flags, RFLAGS_ZF);
}

static void test_cmpxchg16b(void)
{
	static volatile uint64_t m[2] __attribute__((aligned(16))) = { 1, 2 };
	uint64_t lo = 1, hi = 2;
	bool ok;

	asm volatile("lock cmpxchg16b %1; sete %0"
		     : "=q"(ok), "+m"(*m), "+a"(lo), "+d"(hi)
		     : "b"(0xaaull), "c"(0xbbull)
		     : "memory", "cc");
	check("cmpxchg16b-equal", ok && m[0] == 0xaa && m[1] == 0xbb, m[0], 0xaa);
	lo = 1;
	hi = 2;
	asm volatile("lock cmpxchg16b %1; sete %0"
		     : "=q"(ok), "+m"(*m), "+a"(lo), "+d"(hi)
		     : "b"(0x11ull), "c"(0x22ull)
		     : "memory", "cc");
	check("cmpxchg16b-differ", !ok && lo == 0xaa && hi == 0xbb && m[0] == 0xaa, lo, 0xaa);
}

static void test_int3(void)
{
	uint64_t marker = 0;

	expected_breakpoints = 1;
	asm volatile("int3; mov $0x5a, %0" : "=r"(marker) : : "memory");
	check("int3", expected_breakpoints == 0 && marker == 0x5a, expected_breakpoints, 0);
}

static void test_fpu(void)
{
	static uint8_t area[512] __attribute__((aligned(64)));
	uint64_t cr4;
	uint32_t mxcsr = 0, want = 0x1f80 | 0x6000;
	uint16_t fcw;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR));
	asm volatile("fninit; fwait");
	asm volatile("fnstcw %0" : "=m"(fcw));
	check("fninit+fnstcw", fcw == 0x037f, fcw, 0x037f);
	asm volatile("fxsave64 %0" : "=m"(area) : : "memory");
	check("fxsave", area[0] == 0x7f && area[1] == 0x03 && area[24] == 0x80 && area[25] == 0x1f,
	      area[0] | area[1] << 8, 0x37f);
	area[25] = (uint8_t)(want >> 8);
	asm volatile("fxrstor64 %0" : : "m"(area) : "memory");
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	check("fxrstor+stmxcsr", mxcsr == want, mxcsr, want);
	mxcsr = 0x1f80;
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	check("ldmxcsr", mxcsr == 0x1f80, mxcsr, 0x1f80);
}

static void test_xsave(void)
{
	static uint8_t area[4096] __attribute__((aligned(64)));
	uint64_t cr4, bv;
	uint32_t mxcsr = 0, want = 0x1f80 | 0x2000;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXSAVE));
	/* XCR0 = x87 | SSE. */
	asm volatile("xsetbv" : : "c"(0), "a"(3), "d"(0));
	for (unsigned i = 0; i < sizeof(area); i++)
		area[i] = 0;
	asm volatile("xsave64 %0" : "+m"(area) : "a"(3), "d"(0) : "memory");
	for (unsigned i = 0; i < 8; i++)
		((uint8_t *)&bv)[i] = area[512 + i];
	check("xsave", area[24] == 0x80 && area[25] == 0x1f && !(bv & ~3ull), bv, 3);
	area[24] = (uint8_t)want;
	area[25] = (uint8_t)(want >> 8);
	asm volatile("xrstor64 %0" : : "m"(area), "a"(3), "d"(0) : "memory");
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	check("xrstor", mxcsr == want, mxcsr, want);
	mxcsr = 0x1f80;
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
}

static void test_smap_flags(void)
{
	uint64_t f1, f2;

	asm volatile("stac; pushfq; pop %0; clac; pushfq; pop %1" : "=r"(f1), "=r"(f2) : : "cc");
	check("stac+clac", (f1 & RFLAGS_AC) && !(f2 & RFLAGS_AC), f1, RFLAGS_AC);
}

void insn_test(void)
{
	test_popcnt();
	test_cmpxchg16b();
	test_int3();
	test_fpu();
	test_xsave();
	test_smap_flags();
	kprintf("insn: %u of %u passed\n", passed, total);
}

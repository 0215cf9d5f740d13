// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Instruction completion (hv/insn.c, hv/mmu.c, hv/xsave.c) with everything
 * a hostile guest controls coming from the input: instruction bytes,
 * registers, control registers, page tables and memory contents, and the
 * FPU state image.  Guest RAM is 4 MiB; the input is laid out as
 *   [0,15) code | 16 x u64 GPRs | rflags cr0 cr3 cr4 efer xcr0 xss | cpl+mode |
 *   4096 bytes of XSAVE image | the rest copied to guest RAM from GPA 0.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-guest-mem.h"
#include "insn.h"
#include "mmu.h"
#include "xsave.h"

#define FUZZ_RAM (4u << 20)

static uint8_t xstate[4096];

static int get_xsave(void *ctx, uint8_t **ret, size_t *len)
{
	*ret = xstate;
	*len = sizeof(xstate);
	return 0;
}

static struct hv_xsave_layout layout;

static void layout_init(void)
{
	/* x87, SSE, AVX at their usual standard offsets. */
	memset(&layout, 0, sizeof(layout));
	layout.user_mask = 0x7;
	layout.offset[2] = 576;
	layout.size[2] = 256;
	layout.std_size = 832;
	layout.xsavec = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_guest_mem mem;
	struct hv_insn_cpu cpu = { 0 };
	struct hv_insn_outcome out;
	uint64_t v[16 + 7];
	size_t off = 0;

	if (!mem.host) {
		fuzz_guest_mem(&mem, FUZZ_RAM);
		layout_init();
	}
	if (size < HV_INSN_MAX_LEN + sizeof(v) + 1)
		return 0;
	off = HV_INSN_MAX_LEN;
	memcpy(v, data + off, sizeof(v));
	off += sizeof(v);
	memcpy(cpu.gpr, v, sizeof(cpu.gpr));
	cpu.rflags = v[16];
	cpu.cr0 = v[17];
	cpu.cr3 = v[18] % FUZZ_RAM;
	cpu.cr4 = v[19];
	cpu.efer = v[20];
	cpu.xcr0 = v[21];
	cpu.xss = v[22];
	cpu.cpl = data[off] & 3;
	cpu.cs_l = data[off] & 4;
	cpu.cs_db = data[off] & 8;
	off++;
	cpu.get_xsave = get_xsave;
	cpu.xsave_layout = (data[off - 1] & 16) ? NULL : &layout;
	memset(xstate, 0, sizeof(xstate));
	if (size > off) {
		size_t n = size - off < sizeof(xstate) ? size - off : sizeof(xstate);
		memcpy(xstate, data + off, n);
		off += n;
	}
	memset(mem.host, 0, 64 * 1024);
	if (size > off)
		memcpy(mem.host, data + off, size - off < FUZZ_RAM ? size - off : FUZZ_RAM);
	cpu.rip = 0x1000;

	if (hv_insn_complete(&cpu, &mem, data, HV_INSN_MAX_LEN, &out) < 0)
		return 0;
	/* The outcome is always explained. */
	if (out.status == HV_INSN_UNKNOWN && !out.text[0])
		__builtin_trap();
	return 0;
}

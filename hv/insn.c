// SPDX-License-Identifier: GPL-3.0-or-later
#include "insn.h"

#include <Zydis/Zydis.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mmu.h"
#include "util.h"
#include "xsave.h"

/* Exception vectors (SDM vol. 3 table 6-1). */
enum {
	VEC_DB = 1, VEC_BP = 3, VEC_OF = 4, VEC_UD = 6, VEC_NM = 7, VEC_SS = 12, VEC_GP = 13,
	VEC_PF = 14, VEC_MF = 16,
};

/* Offsets in the legacy region of an XSAVE/FXSAVE image (SDM vol. 1 §10.5.1). */
#define FX_FCW 0
#define FX_FSW 2
#define FX_FTW 4
#define FX_FOP 6
#define FX_FIP 8
#define FX_FDP 16
#define FX_MXCSR 24
#define FX_ST0 32
#define FSW_ES (1u << 7)

struct ictx {
	struct hv_insn_cpu *cpu;
	const struct hv_guest_mem *mem;
	struct hv_insn_outcome *out;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t *xstate;
	size_t xstate_len;
	/* The explicit operands without EVEX's opmask (vector handlers). */
	const ZydisDecodedOperand *vop[ZYDIS_MAX_OPERAND_COUNT];
	unsigned nvop;
};

/* Handlers return one of these; FAIL means *out already says why. */
enum { OK = 0, FAIL = -1 };

static int raise(struct ictx *c, uint8_t vector, bool has_error, uint32_t error)
{
	c->out->status = HV_INSN_FAULT;
	c->out->vector = vector;
	c->out->has_error_code = has_error;
	c->out->error_code = error;
	return FAIL;
}

static int unknown(struct ictx *c, const char *why)
{
	size_t n = strlen(c->out->text);

	c->out->status = HV_INSN_UNKNOWN;
	snprintf(c->out->text + n, sizeof(c->out->text) - n, "%s%s", n ? ": " : "", why);
	return FAIL;
}

/* --- registers ----------------------------------------------------------- */

static int gpr_index(ZydisRegister reg, unsigned *ret_width, bool *ret_high8)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);

	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return -1;
	*ret_width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg);
	*ret_high8 = reg >= ZYDIS_REGISTER_AH && reg <= ZYDIS_REGISTER_BH;
	return (int)(big - ZYDIS_REGISTER_RAX);
}

static bool reg_read(struct ictx *c, ZydisRegister reg, uint64_t *ret)
{
	unsigned width;
	bool high8;
	int i = gpr_index(reg, &width, &high8);
	uint64_t v;

	if (i < 0)
		return false;
	v = c->cpu->gpr[i];
	if (high8)
		v >>= 8;
	*ret = width >= 64 ? v : v & ((1ull << width) - 1);
	return true;
}

/* Writes follow the x86 rules: 32-bit results zero-extend, 8/16 merge. */
static bool reg_write(struct ictx *c, ZydisRegister reg, uint64_t v)
{
	unsigned width;
	bool high8;
	int i = gpr_index(reg, &width, &high8);
	uint64_t *r;

	if (i < 0)
		return false;
	r = &c->cpu->gpr[i];
	if (high8)
		*r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
	else if (width == 8)
		*r = (*r & ~0xffull) | (v & 0xff);
	else if (width == 16)
		*r = (*r & ~0xffffull) | (v & 0xffff);
	else if (width == 32)
		*r = v & 0xffffffffull;
	else
		*r = v;
	return true;
}

/* --- memory -------------------------------------------------------------- */

static bool mode64(const struct hv_insn_cpu *cpu)
{
	return cpu->cs_l && (cpu->efer & HV_EFER_LMA);
}

static bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* Effective and linear address of a memory operand (SDM vol. 1 §3.7.5). */
static int op_linear(struct ictx *c, const ZydisDecodedOperand *o, uint64_t *ret)
{
	uint64_t ea = 0, v;
	ZydisRegister seg = o->mem.segment;
	unsigned aw = c->in.address_width;

	if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
		ea = c->cpu->rip + c->in.length;
	} else if (o->mem.base != ZYDIS_REGISTER_NONE) {
		if (!reg_read(c, o->mem.base, &v))
			return unknown(c, "unsupported base register");
		ea = v;
	}
	if (o->mem.index != ZYDIS_REGISTER_NONE) {
		if (!reg_read(c, o->mem.index, &v))
			return unknown(c, "unsupported index register");
		ea += v * o->mem.scale;
	}
	if (o->mem.disp.has_displacement)
		ea += (uint64_t)o->mem.disp.value;
	if (aw < 64)
		ea &= (1ull << aw) - 1;

	if (mode64(c->cpu)) {
		/* Only FS and GS have bases in 64-bit mode. */
		if (seg == ZYDIS_REGISTER_FS)
			ea += c->cpu->seg_base[HV_FS];
		else if (seg == ZYDIS_REGISTER_GS)
			ea += c->cpu->seg_base[HV_GS];
		if (!canonical(ea))
			return raise(c, seg == ZYDIS_REGISTER_SS ? VEC_SS : VEC_GP, true, 0);
	} else {
		static const ZydisRegister segs[HV_NSEG] = {
			ZYDIS_REGISTER_ES, ZYDIS_REGISTER_CS, ZYDIS_REGISTER_SS,
			ZYDIS_REGISTER_DS, ZYDIS_REGISTER_FS, ZYDIS_REGISTER_GS,
		};
		for (unsigned i = 0; i < HV_NSEG; i++)
			if (segs[i] == seg)
				ea = (ea + c->cpu->seg_base[i]) & 0xffffffffull;
	}
	*ret = ea;
	return OK;
}

static struct hv_mmu mmu_of(const struct hv_insn_cpu *cpu, const struct hv_guest_mem *mem)
{
	return (struct hv_mmu){
		.mem = mem, .cr0 = cpu->cr0, .cr3 = cpu->cr3, .cr4 = cpu->cr4,
		.efer = cpu->efer, .rflags = cpu->rflags, .cpl = cpu->cpl,
	};
}

/*
 * Host pointers for [la, la + len) page by page, all translated before any
 * byte moves, so a fault leaves memory untouched.
 */
#define MAX_PAGES 4 /* an XSAVE area of up to 12 KiB */

struct span {
	uint8_t *host[MAX_PAGES + 1];
	size_t len[MAX_PAGES + 1];
	unsigned n;
};

static int mem_map(struct ictx *c, uint64_t la, size_t len, enum hv_access acc, struct span *s)
{
	struct hv_mmu m = mmu_of(c->cpu, c->mem);

	s->n = 0;
	while (len) {
		size_t chunk = MIN(len, (size_t)(4096 - (la & 4095)));
		uint64_t gpa;
		uint32_t err;
		int r;

		if (s->n > MAX_PAGES)
			return unknown(c, "memory operand too large");
		r = hv_mmu_translate(&m, la, acc, &gpa, &err);
		if (r == -EFAULT) {
			c->out->cr2 = la;
			return raise(c, VEC_PF, true, err);
		}
		if (r < 0)
			return unknown(c, r == -ENOTSUP ? "paging mode not supported"
						 : "page tables outside guest RAM");
		s->host[s->n] = hv_gpa_to_host(c->mem, gpa, chunk);
		if (!s->host[s->n])
			return unknown(c, "memory operand outside guest RAM (MMIO?)");
		s->len[s->n++] = chunk;
		la += chunk;
		len -= chunk;
	}
	return OK;
}

static int mem_read(struct ictx *c, uint64_t la, void *buf, size_t len)
{
	struct span s;
	uint8_t *p = buf;

	if (mem_map(c, la, len, HV_ACCESS_READ, &s) < 0)
		return FAIL;
	for (unsigned i = 0; i < s.n; i++) {
		memcpy(p, s.host[i], s.len[i]);
		p += s.len[i];
	}
	return OK;
}

static int mem_write(struct ictx *c, uint64_t la, const void *buf, size_t len)
{
	struct span s;
	const uint8_t *p = buf;

	if (mem_map(c, la, len, HV_ACCESS_WRITE, &s) < 0)
		return FAIL;
	for (unsigned i = 0; i < s.n; i++) {
		memcpy(s.host[i], p, s.len[i]);
		p += s.len[i];
	}
	return OK;
}

static const ZydisDecodedOperand *mem_operand(struct ictx *c)
{
	for (unsigned i = 0; i < c->in.operand_count_visible; i++)
		if (c->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			return &c->op[i];
	return NULL;
}

/* --- extended state ------------------------------------------------------ */

static int need_xstate(struct ictx *c)
{
	if (c->xstate)
		return OK;
	if (!c->cpu->get_xsave || c->cpu->get_xsave(c->cpu->ctx, &c->xstate, &c->xstate_len) < 0)
		return unknown(c, "cannot read the vCPU's FPU state");
	if (c->xstate_len < HV_XSAVE_EXT_OFF)
		return unknown(c, "FPU state image too small");
	return OK;
}

static uint16_t xs16(struct ictx *c, size_t off)
{
	uint16_t v;

	memcpy(&v, c->xstate + off, 2);
	return v;
}

static void xs_put16(struct ictx *c, size_t off, uint16_t v)
{
	memcpy(c->xstate + off, &v, 2);
	c->out->xsave_dirty = true;
}

static uint32_t xs32(struct ictx *c, size_t off)
{
	uint32_t v;

	memcpy(&v, c->xstate + off, 4);
	return v;
}

/* Mark component i in use in the image's XSTATE_BV. */
static void xs_in_use(struct ictx *c, unsigned comp)
{
	uint64_t bv;

	memcpy(&bv, c->xstate + HV_XSAVE_HEADER_OFF, 8);
	bv |= 1ull << comp;
	memcpy(c->xstate + HV_XSAVE_HEADER_OFF, &bv, 8);
	c->out->xsave_dirty = true;
}

/* #UD/#NM rules of x87 and SSE instructions (SDM vol. 1 §8.1.x, §13). */
static int check_x87(struct ictx *c, bool is_wait)
{
	uint64_t cr0 = c->cpu->cr0;

	if (is_wait)
		return (cr0 & HV_CR0_TS) && (cr0 & HV_CR0_MP) ? raise(c, VEC_NM, false, 0) : OK;
	if (cr0 & HV_CR0_EM)
		return raise(c, VEC_UD, false, 0);
	if (cr0 & HV_CR0_TS)
		return raise(c, VEC_NM, false, 0);
	return OK;
}

static int check_sse(struct ictx *c)
{
	uint64_t cr0 = c->cpu->cr0;

	if ((cr0 & HV_CR0_EM) || !(c->cpu->cr4 & HV_CR4_OSFXSR))
		return raise(c, VEC_UD, false, 0);
	if (cr0 & HV_CR0_TS)
		return raise(c, VEC_NM, false, 0);
	return OK;
}

static uint32_t mxcsr_mask(const struct ictx *c)
{
	/* A zero MXCSR_MASK means the default 0xFFBF (SDM vol. 1 §11.6.6). */
	return c->cpu->mxcsr_mask ? c->cpu->mxcsr_mask : 0xffbf;
}

/* --- instructions -------------------------------------------------------- */

/* CMPXCHG8B / CMPXCHG16B m64/m128 (SDM vol. 2A).  Done with the host's own
 * locked instruction on the guest page, so it is atomic against the other
 * vCPUs whatever the LOCK prefix says. */
static int do_cmpxchg_double(struct ictx *c)
{
	const ZydisDecodedOperand *o = mem_operand(c);
	bool wide = c->in.mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B;
	size_t size = wide ? 16 : 8;
	uint64_t la, *rax = &c->cpu->gpr[HV_RAX], *rdx = &c->cpu->gpr[HV_RDX];
	struct span s;
	bool equal;

	if (!o || op_linear(c, o, &la) < 0)
		return o ? FAIL : unknown(c, "no memory operand");
	if (wide && (la & 15))
		return raise(c, VEC_GP, true, 0);
	/* The destination is written either way, so it must be writable. */
	if (mem_map(c, la, size, HV_ACCESS_WRITE, &s) < 0)
		return FAIL;
	if (s.n != 1) {
		/* Only an unaligned CMPXCHG8B can straddle pages; no atomic host
		 * operation spans two mappings, so don't pretend. */
		return unknown(c, "locked operand crosses a page boundary");
	}
	if (wide) {
		uint64_t lo = *rax, hi = *rdx;

		__asm__ volatile("lock cmpxchg16b %1"
				 : "=@ccz"(equal), "+m"(*(volatile __int128 *)s.host[0]), "+a"(lo), "+d"(hi)
				 : "b"(c->cpu->gpr[HV_RBX]), "c"(c->cpu->gpr[HV_RCX])
				 : "memory");
		if (!equal) {
			*rax = lo;
			*rdx = hi;
		}
	} else {
		uint64_t cmp = (*rdx << 32) | (*rax & 0xffffffffull);
		uint64_t xchg = (c->cpu->gpr[HV_RCX] << 32) | (c->cpu->gpr[HV_RBX] & 0xffffffffull);

		__asm__ volatile("lock cmpxchgq %3, %1"
				 : "=@ccz"(equal), "+m"(*(volatile uint64_t *)s.host[0]), "+a"(cmp)
				 : "r"(xchg)
				 : "memory");
		if (!equal) {
			/* 32-bit register writes zero-extend in 64-bit mode. */
			*rax = cmp & 0xffffffffull;
			*rdx = cmp >> 32;
		}
	}
	c->cpu->rflags = (c->cpu->rflags & ~HV_RFLAGS_ZF) | (equal ? HV_RFLAGS_ZF : 0);
	return OK;
}

/* Read the r/m source operand of an ALU-style instruction. */
static int read_source(struct ictx *c, const ZydisDecodedOperand *o, uint64_t *ret)
{
	uint64_t la, v = 0;
	unsigned bytes = o->size / 8;

	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return reg_read(c, o->reg.value, ret) ? OK : unknown(c, "unsupported source register");
	if (o->type != ZYDIS_OPERAND_TYPE_MEMORY || bytes == 0 || bytes > 8)
		return unknown(c, "unsupported source operand");
	if (op_linear(c, o, &la) < 0 || mem_read(c, la, &v, bytes) < 0)
		return FAIL;
	*ret = v;
	return OK;
}

/* POPCNT r, r/m: ZF = (source == 0), OF SF AF CF PF cleared (SDM vol. 2B). */
static int do_popcnt(struct ictx *c)
{
	uint64_t src;

	if (read_source(c, &c->op[1], &src) < 0)
		return FAIL;
	if (!reg_write(c, c->op[0].reg.value, (uint64_t)__builtin_popcountll(src)))
		return unknown(c, "unsupported destination");
	c->cpu->rflags &= ~HV_RFLAGS_ARITH;
	if (!src)
		c->cpu->rflags |= HV_RFLAGS_ZF;
	return OK;
}

static int soft_int(struct ictx *c, uint8_t vector)
{
	c->out->status = HV_INSN_SOFT_INT;
	c->out->vector = vector;
	return FAIL; /* not DONE: the caller delivers it */
}

/* FWAIT: #NM if CR0.MP and CR0.TS; #MF if an unmasked x87 exception is
 * pending (FSW.ES); otherwise nothing (SDM vol. 2C "WAIT/FWAIT"). */
static int do_fwait(struct ictx *c)
{
	if (check_x87(c, true) < 0 || need_xstate(c) < 0)
		return FAIL;
	if (xs16(c, FX_FSW) & FSW_ES)
		return raise(c, VEC_MF, false, 0);
	return OK;
}

/* FNINIT: x87 to its initial state (SDM vol. 2A "FINIT/FNINIT"). */
static int do_fninit(struct ictx *c)
{
	if (check_x87(c, false) < 0 || need_xstate(c) < 0)
		return FAIL;
	xs_put16(c, FX_FCW, 0x037f);
	xs_put16(c, FX_FSW, 0);
	c->xstate[FX_FTW] = 0; /* abridged tag: all empty */
	xs_put16(c, FX_FOP, 0);
	memset(c->xstate + FX_FIP, 0, 8);
	memset(c->xstate + FX_FDP, 0, 8);
	xs_in_use(c, 0);
	return OK;
}

/* FNCLEX: clear the exception flags, ES and B in FSW. */
static int do_fnclex(struct ictx *c)
{
	if (check_x87(c, false) < 0 || need_xstate(c) < 0)
		return FAIL;
	xs_put16(c, FX_FSW, xs16(c, FX_FSW) & 0x7f00);
	return OK;
}

static int do_fnstcw_fnstsw(struct ictx *c, bool control)
{
	const ZydisDecodedOperand *o = &c->op[0];
	uint16_t v;
	uint64_t la;

	if (check_x87(c, false) < 0 || need_xstate(c) < 0)
		return FAIL;
	v = xs16(c, control ? FX_FCW : FX_FSW);
	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return reg_write(c, o->reg.value, v) ? OK : unknown(c, "unsupported destination");
	if (op_linear(c, o, &la) < 0)
		return FAIL;
	return mem_write(c, la, &v, 2);
}

static int do_fldcw(struct ictx *c)
{
	uint64_t la;
	uint16_t v;

	if (check_x87(c, false) < 0 || need_xstate(c) < 0)
		return FAIL;
	if (op_linear(c, &c->op[0], &la) < 0 || mem_read(c, la, &v, 2) < 0)
		return FAIL;
	xs_put16(c, FX_FCW, v);
	xs_in_use(c, 0);
	return OK;
}

/* LDMXCSR / STMXCSR (and their VEX forms). */
static int do_mxcsr(struct ictx *c, bool load)
{
	uint64_t la;
	uint32_t v;

	if (check_sse(c) < 0 || need_xstate(c) < 0)
		return FAIL;
	if (op_linear(c, mem_operand(c), &la) < 0)
		return FAIL;
	if (!load) {
		v = xs32(c, FX_MXCSR);
		return mem_write(c, la, &v, 4);
	}
	if (mem_read(c, la, &v, 4) < 0)
		return FAIL;
	if (v & ~mxcsr_mask(c))
		return raise(c, VEC_GP, true, 0);
	memcpy(c->xstate + FX_MXCSR, &v, 4);
	c->out->xsave_dirty = true;
	return OK;
}

/* FXSAVE / FXRSTOR m512 (SDM vol. 2A). */
static int do_fxsave(struct ictx *c, bool restore)
{
	const ZydisDecodedOperand *o = mem_operand(c);
	bool is64 = c->in.operand_width == 64;
	uint8_t area[512];
	uint64_t la;

	if (check_x87(c, false) < 0 || op_linear(c, o, &la) < 0)
		return FAIL;
	if (la & 15)
		return raise(c, VEC_GP, true, 0);
	if (need_xstate(c) < 0)
		return FAIL;
	if (!restore) {
		/* Bytes 464..511 are available to software: keep them. */
		if (mem_read(c, la, area, sizeof(area)) < 0)
			return FAIL;
		hv_fxsave_store(c->xstate, is64, area);
		return mem_write(c, la, area, sizeof(area));
	}
	if (mem_read(c, la, area, sizeof(area)) < 0)
		return FAIL;
	if (hv_fxrstor_load(c->xstate, c->xstate_len, is64, area, mxcsr_mask(c)) < 0)
		return raise(c, VEC_GP, true, 0);
	c->out->xsave_dirty = true;
	return OK;
}

/* The XSAVE family (SDM vol. 1 §13.7-13.12, vol. 2 entries). */
static int do_xsave_family(struct ictx *c)
{
	const struct hv_xsave_layout *l = c->cpu->xsave_layout;
	const ZydisDecodedOperand *o = mem_operand(c);
	ZydisMnemonic mn = c->in.mnemonic;
	bool supervisor = mn == ZYDIS_MNEMONIC_XSAVES || mn == ZYDIS_MNEMONIC_XSAVES64 ||
			  mn == ZYDIS_MNEMONIC_XRSTORS || mn == ZYDIS_MNEMONIC_XRSTORS64;
	bool restore = mn == ZYDIS_MNEMONIC_XRSTOR || mn == ZYDIS_MNEMONIC_XRSTOR64 ||
		       mn == ZYDIS_MNEMONIC_XRSTORS || mn == ZYDIS_MNEMONIC_XRSTORS64;
	uint64_t edx_eax = (c->cpu->gpr[HV_RDX] << 32) | (c->cpu->gpr[HV_RAX] & 0xffffffffull);
	uint64_t rfbm, la;
	uint8_t buf[HV_XSAVE_EXT_OFF + 12 * 1024];
	size_t need = 0;
	int r;

	if (!l)
		return unknown(c, "no XSAVE layout for this vCPU");
	if (!(c->cpu->cr4 & HV_CR4_OSXSAVE))
		return raise(c, VEC_UD, false, 0);
	if (c->cpu->cr0 & HV_CR0_TS)
		return raise(c, VEC_NM, false, 0);
	if (supervisor && c->cpu->cpl != 0)
		return raise(c, VEC_GP, true, 0);
	if (op_linear(c, o, &la) < 0)
		return FAIL;
	if (la & 63)
		return raise(c, VEC_GP, true, 0);
	if (need_xstate(c) < 0)
		return FAIL;
	if (c->cpu->get_xcrs && c->cpu->get_xcrs(c->cpu->ctx, &c->cpu->xcr0, &c->cpu->xss) < 0)
		return unknown(c, "cannot read XCR0 / IA32_XSS");
	rfbm = (c->cpu->xcr0 | (supervisor ? c->cpu->xss : 0)) & edx_eax;

	if (!restore) {
		enum hv_xsave_op op = mn == ZYDIS_MNEMONIC_XSAVEC || mn == ZYDIS_MNEMONIC_XSAVEC64
				      ? HV_OP_XSAVEC
				      : supervisor ? HV_OP_XSAVES : HV_OP_XSAVE;

		need = hv_xsave_area_size(l, rfbm, op == HV_OP_XSAVE ? HV_XSAVE_STANDARD
								   : HV_XSAVE_COMPACTED);
		if (need > sizeof(buf))
			return unknown(c, "XSAVE area larger than supported");
		if (mem_read(c, la, buf, need) < 0)
			return FAIL;
		r = hv_xsave_store_ex(l, op, c->in.operand_width == 64, c->xstate, c->xstate_len, rfbm,
				      buf, need);
		if (r < 0)
			return unknown(c, r == -EOPNOTSUPP ? "supervisor state component not held"
							   : "XSAVE store failed");
		return mem_write(c, la, buf, need);
	}

	/* XRSTOR(S): the header says how much more to read. */
	need = HV_XSAVE_EXT_OFF;
	for (int pass = 0; pass < 2; pass++) {
		size_t len = need;

		if (len > sizeof(buf))
			return unknown(c, "XSAVE area larger than supported");
		if (mem_read(c, la, buf, len) < 0)
			return FAIL;
		r = hv_xrstor_load_ex(l, supervisor, c->in.operand_width == 64, c->xstate,
				      c->xstate_len, rfbm, c->cpu->xcr0, c->cpu->xss, buf, len, &need);
		if (r != -EAGAIN)
			break;
	}
	if (r == -EINVAL) {
		/* Say why in the outcome: a #GP here is usually a header the
		 * guest built for another XCR0/XSS. */
		size_t n = strlen(c->out->text);
		uint64_t hdr[2] = { 0, 0 };

		memcpy(hdr, buf + HV_XSAVE_HEADER_OFF, MIN(sizeof(hdr), sizeof(buf) - HV_XSAVE_HEADER_OFF));
		snprintf(c->out->text + n, sizeof(c->out->text) - n,
			 " [#GP: xstate_bv=%#llx xcomp_bv=%#llx xcr0=%#llx xss=%#llx]",
			 (unsigned long long)hdr[0], (unsigned long long)hdr[1],
			 (unsigned long long)c->cpu->xcr0, (unsigned long long)c->cpu->xss);
		return raise(c, VEC_GP, true, 0);
	}
	if (r < 0)
		return unknown(c, r == -EOPNOTSUPP ? "supervisor state component not held"
						   : "XRSTOR failed");
	c->out->xsave_dirty = true;
	return OK;
}


/* --- vector registers (SSE/AVX/AVX-512 data) ------------------------------- */

/*
 * XMM/YMM/ZMM n lives in the XSAVE image in 16-byte lanes: lane 0 in the
 * legacy region (XMM0-15 at 160), lane 1 in component 2 (AVX, YMM_Hi128),
 * lanes 2-3 in component 6 (ZMM_Hi256), and registers 16-31 whole in
 * component 7 (Hi16_ZMM) (SDM vol. 1 §13.2-13.5).
 */
#define VEC_MAX 64

static uint8_t *vec_lane(struct ictx *c, unsigned reg, unsigned lane, unsigned *ret_comp)
{
	const struct hv_xsave_layout *l = c->cpu->xsave_layout;
	size_t off;
	unsigned comp;

	if (reg < 16 && lane == 0) {
		off = 160 + 16 * reg;
		comp = 1;
	} else if (!l) {
		return NULL;
	} else if (reg < 16 && lane == 1) {
		comp = 2;
		off = l->offset[2] + 16 * reg;
	} else if (reg < 16) {
		comp = 6;
		off = l->offset[6] + 32 * reg + 16 * (lane - 2);
	} else {
		comp = 7;
		off = l->offset[7] + 64 * (reg - 16) + 16 * lane;
	}
	if (comp >= 2 && (!(l->user_mask & (1ull << comp)) || !l->size[comp]))
		return NULL;
	if (off + 16 > c->xstate_len)
		return NULL;
	*ret_comp = comp;
	return c->xstate + off;
}

/* Register number and width in bytes of an XMM/YMM/ZMM register, or -1. */
static int vec_reg(ZydisRegister r, unsigned *ret_bytes)
{
	if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM31) {
		*ret_bytes = 16;
		return (int)(r - ZYDIS_REGISTER_XMM0);
	}
	if (r >= ZYDIS_REGISTER_YMM0 && r <= ZYDIS_REGISTER_YMM31) {
		*ret_bytes = 32;
		return (int)(r - ZYDIS_REGISTER_YMM0);
	}
	if (r >= ZYDIS_REGISTER_ZMM0 && r <= ZYDIS_REGISTER_ZMM31) {
		*ret_bytes = 64;
		return (int)(r - ZYDIS_REGISTER_ZMM0);
	}
	return -1;
}

static int vec_read_reg(struct ictx *c, unsigned reg, unsigned bytes, uint8_t *v)
{
	for (unsigned lane = 0; lane < bytes / 16; lane++) {
		unsigned comp;
		uint8_t *p = vec_lane(c, reg, lane, &comp);

		if (!p)
			return unknown(c, "vector register not in the XSAVE layout");
		memcpy(v + 16 * lane, p, 16);
	}
	return OK;
}

/*
 * Write bytes of v to register reg.  VEX- and EVEX-encoded instructions
 * zero the register above what they write, up to the widest one; legacy
 * SSE encodings leave the upper part alone (SDM vol. 1 §14.1.3).
 */
static int vec_write_reg(struct ictx *c, unsigned reg, unsigned bytes, const uint8_t *v)
{
	bool zero_upper = c->in.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY;
	unsigned lanes = zero_upper ? VEC_MAX / 16 : bytes / 16;

	for (unsigned lane = 0; lane < lanes; lane++) {
		unsigned comp;
		uint8_t *p = vec_lane(c, reg, lane, &comp);

		if (!p) {
			if (lane * 16 < bytes)
				return unknown(c, "vector register not in the XSAVE layout");
			continue; /* a component the vCPU doesn't have is all zero */
		}
		if (lane * 16 < bytes)
			memcpy(p, v + 16 * lane, 16);
		else
			memset(p, 0, 16);
		xs_in_use(c, comp);
	}
	return OK;
}

/* Read a vector operand (register or memory) of its own size. */
static int vec_read(struct ictx *c, const ZydisDecodedOperand *o, uint8_t *v, unsigned *ret_bytes)
{
	unsigned bytes;
	uint64_t la;
	int reg;

	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		reg = vec_reg(o->reg.value, &bytes);
		if (reg < 0)
			return unknown(c, "unsupported vector operand");
		*ret_bytes = bytes;
		return vec_read_reg(c, (unsigned)reg, bytes, v);
	}
	if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return unknown(c, "unsupported vector operand");
	bytes = o->size / 8;
	if (bytes == 0 || bytes > VEC_MAX)
		return unknown(c, "unsupported vector operand size");
	*ret_bytes = bytes;
	if (op_linear(c, o, &la) < 0)
		return FAIL;
	return mem_read(c, la, v, bytes);
}

static int vec_write(struct ictx *c, const ZydisDecodedOperand *o, const uint8_t *v, unsigned bytes)
{
	uint64_t la;
	unsigned rbytes;
	int reg;

	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		reg = vec_reg(o->reg.value, &rbytes);
		if (reg < 0)
			return unknown(c, "unsupported vector destination");
		return vec_write_reg(c, (unsigned)reg, MIN(bytes, rbytes), v);
	}
	if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return unknown(c, "unsupported vector destination");
	if (op_linear(c, o, &la) < 0)
		return FAIL;
	return mem_write(c, la, v, bytes);
}

/* #UD/#NM rules for SSE and AVX, masking and broadcast we don't do; also
 * collects the explicit operands, leaving out EVEX's opmask register. */
static int vec_check(struct ictx *c)
{
	c->nvop = 0;
	for (unsigned i = 0; i < c->in.operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &c->op[i];

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && o->reg.value >= ZYDIS_REGISTER_K0 &&
		    o->reg.value <= ZYDIS_REGISTER_K7)
			continue;
		c->vop[c->nvop++] = o;
	}
	while (c->nvop < ZYDIS_MAX_OPERAND_COUNT)
		c->vop[c->nvop++] = &c->op[ZYDIS_MAX_OPERAND_COUNT - 1];
	if (c->in.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY)
		return check_sse(c) < 0 ? FAIL : need_xstate(c);
	if (!(c->cpu->cr4 & HV_CR4_OSXSAVE))
		return raise(c, VEC_UD, false, 0);
	if (c->cpu->cr0 & HV_CR0_TS)
		return raise(c, VEC_NM, false, 0);
	if (c->in.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX &&
	    ((c->in.avx.mask.reg != ZYDIS_REGISTER_NONE && c->in.avx.mask.reg != ZYDIS_REGISTER_K0) ||
	     c->in.avx.broadcast.mode != ZYDIS_BROADCAST_MODE_INVALID))
		return unknown(c, "EVEX masking or broadcast not completed");
	return need_xstate(c);
}

/* MOVDQU/MOVDQA/MOVUPS/MOVAPS and their VEX/EVEX forms. */
static int do_vmov(struct ictx *c, bool aligned)
{
	uint8_t v[VEC_MAX];
	unsigned bytes;

	if (vec_check(c) < 0)
		return FAIL;
	if (aligned) {
		for (unsigned i = 0; i < 2; i++) {
			uint64_t la;
			if (c->vop[i]->type == ZYDIS_OPERAND_TYPE_MEMORY) {
				if (op_linear(c, c->vop[i], &la) < 0)
					return FAIL;
				if (la & (c->vop[i]->size / 8 - 1))
					return raise(c, VEC_GP, true, 0);
			}
		}
	}
	if (vec_read(c, c->vop[1], v, &bytes) < 0)
		return FAIL;
	return vec_write(c, c->vop[0], v, bytes);
}

/* MOVD/MOVQ between a GPR or memory and an XMM register. */
static int do_vmovdq_scalar(struct ictx *c)
{
	const ZydisDecodedOperand *d, *s;
	uint8_t v[VEC_MAX] = { 0 };
	unsigned bytes = c->in.mnemonic == ZYDIS_MNEMONIC_MOVD || c->in.mnemonic == ZYDIS_MNEMONIC_VMOVD ? 4 : 8;
	uint64_t x = 0, la;
	unsigned rb;

	if (vec_check(c) < 0)
		return FAIL;
	d = c->vop[0];
	s = c->vop[1];
	if (d->type == ZYDIS_OPERAND_TYPE_REGISTER && vec_reg(d->reg.value, &rb) >= 0) {
		if (s->type == ZYDIS_OPERAND_TYPE_REGISTER && vec_reg(s->reg.value, &rb) >= 0) {
			if (vec_read(c, s, v, &rb) < 0)
				return FAIL;
			memset(v + bytes, 0, sizeof(v) - bytes);
		} else {
			if (read_source(c, s, &x) < 0)
				return FAIL;
			memcpy(v, &x, bytes);
		}
		/* The XMM register is zeroed above the scalar. */
		return vec_write_reg(c, (unsigned)vec_reg(d->reg.value, &rb), 16, v);
	}
	if (vec_read(c, s, v, &rb) < 0)
		return FAIL;
	memcpy(&x, v, bytes);
	if (d->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return reg_write(c, d->reg.value, x) ? OK : unknown(c, "unsupported destination");
	if (op_linear(c, d, &la) < 0)
		return FAIL;
	return mem_write(c, la, &x, bytes);
}

enum vec_op { V_XOR, V_AND, V_OR, V_ANDN, V_ADDD, V_ADDQ, V_SUBD, V_SUBQ };

/* Two-source lane-wise operations: legacy "op x1, x2/m" or VEX/EVEX
 * "op x1, x2, x3/m". */
static int do_vbinop(struct ictx *c, enum vec_op op)
{
	bool legacy = c->in.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY;
	const ZydisDecodedOperand *a, *b;
	uint8_t x[VEC_MAX], y[VEC_MAX];
	unsigned bx, by;

	if (vec_check(c) < 0)
		return FAIL;
	a = legacy ? c->vop[0] : c->vop[1];
	b = legacy ? c->vop[1] : c->vop[2];
	if (vec_read(c, a, x, &bx) < 0 || vec_read(c, b, y, &by) < 0)
		return FAIL;
	if (bx != by)
		return unknown(c, "mismatched vector widths");
	for (unsigned i = 0; i < bx; i += 8) {
		uint64_t p, q, r;
		memcpy(&p, x + i, 8);
		memcpy(&q, y + i, 8);
		switch (op) {
		case V_XOR: r = p ^ q; break;
		case V_AND: r = p & q; break;
		case V_OR: r = p | q; break;
		case V_ANDN: r = ~p & q; break;
		case V_ADDQ: r = p + q; break;
		case V_SUBQ: r = p - q; break;
		case V_ADDD:
			r = (uint64_t)(uint32_t)((uint32_t)p + (uint32_t)q) |
			    (uint64_t)(uint32_t)((uint32_t)(p >> 32) + (uint32_t)(q >> 32)) << 32;
			break;
		case V_SUBD:
		default:
			r = (uint64_t)(uint32_t)((uint32_t)p - (uint32_t)q) |
			    (uint64_t)(uint32_t)((uint32_t)(p >> 32) - (uint32_t)(q >> 32)) << 32;
			break;
		}
		memcpy(x + i, &r, 8);
	}
	return vec_write(c, c->vop[0], x, bx);
}

/* VPRORD/VPROLD x1, x2/m, imm8 (EVEX): rotate each dword. */
static int do_vprotd(struct ictx *c, bool right)
{
	uint8_t v[VEC_MAX];
	unsigned bytes, n;

	if (vec_check(c) < 0 || vec_read(c, c->vop[1], v, &bytes) < 0)
		return FAIL;
	n = (unsigned)c->vop[2]->imm.value.u & 31;
	for (unsigned i = 0; i < bytes; i += 4) {
		uint32_t d;
		memcpy(&d, v + i, 4);
		if (n)
			d = right ? (d >> n) | (d << (32 - n)) : (d << n) | (d >> (32 - n));
		memcpy(v + i, &d, 4);
	}
	return vec_write(c, c->vop[0], v, bytes);
}

/* PSHUFD/VPSHUFD x1, x2/m, imm8: dwords within each 128-bit lane. */
static int do_pshufd(struct ictx *c)
{
	uint8_t v[VEC_MAX], r[VEC_MAX];
	unsigned bytes, imm;

	if (vec_check(c) < 0 || vec_read(c, c->vop[1], v, &bytes) < 0)
		return FAIL;
	imm = (unsigned)c->vop[2]->imm.value.u;
	for (unsigned lane = 0; lane < bytes; lane += 16)
		for (unsigned i = 0; i < 4; i++)
			memcpy(r + lane + 4 * i, v + lane + 4 * ((imm >> (2 * i)) & 3), 4);
	return vec_write(c, c->vop[0], r, bytes);
}

/* VPERMI2D x1, x2, x3/m (EVEX): x1 holds indexes into the table x2:x3
 * and receives the result (SDM vol. 2C "VPERMI2W/D/Q/PS/PD"). */
static int do_vpermi2d(struct ictx *c)
{
	uint8_t idx[VEC_MAX], t1[VEC_MAX], t2[VEC_MAX], r[VEC_MAX];
	unsigned b0, b1, b2, n;

	if (vec_check(c) < 0 || vec_read(c, c->vop[0], idx, &b0) < 0 ||
	    vec_read(c, c->vop[1], t1, &b1) < 0 || vec_read(c, c->vop[2], t2, &b2) < 0)
		return FAIL;
	if (b0 != b1 || b0 != b2)
		return unknown(c, "mismatched vector widths");
	n = b0 / 4; /* dwords per table */
	for (unsigned i = 0; i < n; i++) {
		uint32_t k;
		memcpy(&k, idx + 4 * i, 4);
		k &= 2 * n - 1;
		memcpy(r + 4 * i, (k < n ? t1 : t2) + 4 * (k % n), 4);
	}
	return vec_write(c, c->vop[0], r, b0);
}

/* VEXTRACTI128 / VEXTRACTF128 x/m128, ymm, imm8. */
static int do_vextract128(struct ictx *c)
{
	uint8_t v[VEC_MAX];
	unsigned bytes;

	if (vec_check(c) < 0 || vec_read(c, c->vop[1], v, &bytes) < 0)
		return FAIL;
	if (bytes < 32)
		return unknown(c, "unsupported vector operand size");
	return vec_write(c, c->vop[0], v + 16 * (c->vop[2]->imm.value.u & 1), 16);
}

/* VZEROUPPER: bits 128 and up of registers 0-15 (all of 0-7 outside
 * 64-bit mode) become zero. */
static int do_vzeroupper(struct ictx *c)
{
	unsigned nregs = mode64(c->cpu) ? 16 : 8;

	if (vec_check(c) < 0)
		return FAIL;
	for (unsigned reg = 0; reg < nregs; reg++)
		for (unsigned lane = 1; lane < VEC_MAX / 16; lane++) {
			unsigned comp;
			uint8_t *p = vec_lane(c, reg, lane, &comp);
			if (p) {
				memset(p, 0, 16);
				c->out->xsave_dirty = true;
			}
		}
	return OK;
}

/* CLAC / STAC: RFLAGS.AC for SMAP; #UD outside CPL 0 (SDM vol. 2A). */
static int do_ac(struct ictx *c, bool set)
{
	if (c->cpu->cpl != 0)
		return raise(c, VEC_UD, false, 0);
	c->cpu->rflags = (c->cpu->rflags & ~HV_RFLAGS_AC) | (set ? HV_RFLAGS_AC : 0);
	return OK;
}

static int execute(struct ictx *c)
{
	switch (c->in.mnemonic) {
	case ZYDIS_MNEMONIC_MOVDQU:
	case ZYDIS_MNEMONIC_MOVUPS:
	case ZYDIS_MNEMONIC_VMOVDQU:
	case ZYDIS_MNEMONIC_VMOVDQU8:
	case ZYDIS_MNEMONIC_VMOVDQU16:
	case ZYDIS_MNEMONIC_VMOVDQU32:
	case ZYDIS_MNEMONIC_VMOVDQU64:
	case ZYDIS_MNEMONIC_VMOVUPS:
		return do_vmov(c, false);
	case ZYDIS_MNEMONIC_MOVDQA:
	case ZYDIS_MNEMONIC_MOVAPS:
	case ZYDIS_MNEMONIC_VMOVDQA:
	case ZYDIS_MNEMONIC_VMOVDQA32:
	case ZYDIS_MNEMONIC_VMOVDQA64:
	case ZYDIS_MNEMONIC_VMOVAPS:
		return do_vmov(c, true);
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
	case ZYDIS_MNEMONIC_VMOVD:
	case ZYDIS_MNEMONIC_VMOVQ:
		return do_vmovdq_scalar(c);
	case ZYDIS_MNEMONIC_PXOR:
	case ZYDIS_MNEMONIC_VPXOR:
	case ZYDIS_MNEMONIC_VPXORD:
	case ZYDIS_MNEMONIC_VPXORQ:
	case ZYDIS_MNEMONIC_XORPS:
	case ZYDIS_MNEMONIC_VXORPS:
		return do_vbinop(c, V_XOR);
	case ZYDIS_MNEMONIC_PAND:
	case ZYDIS_MNEMONIC_VPAND:
		return do_vbinop(c, V_AND);
	case ZYDIS_MNEMONIC_POR:
	case ZYDIS_MNEMONIC_VPOR:
		return do_vbinop(c, V_OR);
	case ZYDIS_MNEMONIC_PANDN:
	case ZYDIS_MNEMONIC_VPANDN:
		return do_vbinop(c, V_ANDN);
	case ZYDIS_MNEMONIC_PADDD:
	case ZYDIS_MNEMONIC_VPADDD:
		return do_vbinop(c, V_ADDD);
	case ZYDIS_MNEMONIC_PADDQ:
	case ZYDIS_MNEMONIC_VPADDQ:
		return do_vbinop(c, V_ADDQ);
	case ZYDIS_MNEMONIC_PSUBD:
	case ZYDIS_MNEMONIC_VPSUBD:
		return do_vbinop(c, V_SUBD);
	case ZYDIS_MNEMONIC_PSUBQ:
	case ZYDIS_MNEMONIC_VPSUBQ:
		return do_vbinop(c, V_SUBQ);
	case ZYDIS_MNEMONIC_VPRORD:
		return do_vprotd(c, true);
	case ZYDIS_MNEMONIC_VPROLD:
		return do_vprotd(c, false);
	case ZYDIS_MNEMONIC_PSHUFD:
	case ZYDIS_MNEMONIC_VPSHUFD:
		return do_pshufd(c);
	case ZYDIS_MNEMONIC_VPERMI2D:
		return do_vpermi2d(c);
	case ZYDIS_MNEMONIC_VEXTRACTI128:
	case ZYDIS_MNEMONIC_VEXTRACTF128:
		return do_vextract128(c);
	case ZYDIS_MNEMONIC_VZEROUPPER:
		return do_vzeroupper(c);
	case ZYDIS_MNEMONIC_CLAC:
		return do_ac(c, false);
	case ZYDIS_MNEMONIC_STAC:
		return do_ac(c, true);
	case ZYDIS_MNEMONIC_CMPXCHG16B:
	case ZYDIS_MNEMONIC_CMPXCHG8B:
		return do_cmpxchg_double(c);
	case ZYDIS_MNEMONIC_POPCNT:
		return do_popcnt(c);
	case ZYDIS_MNEMONIC_INT3:
		return soft_int(c, VEC_BP);
	case ZYDIS_MNEMONIC_INT1:
		return soft_int(c, VEC_DB);
	case ZYDIS_MNEMONIC_INT:
		return soft_int(c, (uint8_t)c->op[0].imm.value.u);
	case ZYDIS_MNEMONIC_INTO:
		if (mode64(c->cpu))
			return raise(c, VEC_UD, false, 0);
		return (c->cpu->rflags & HV_RFLAGS_OF) ? soft_int(c, VEC_OF) : OK;
	case ZYDIS_MNEMONIC_FWAIT:
		return do_fwait(c);
	case ZYDIS_MNEMONIC_FNINIT:
		return do_fninit(c);
	case ZYDIS_MNEMONIC_FNCLEX:
		return do_fnclex(c);
	case ZYDIS_MNEMONIC_FNSTCW:
		return do_fnstcw_fnstsw(c, true);
	case ZYDIS_MNEMONIC_FNSTSW:
		return do_fnstcw_fnstsw(c, false);
	case ZYDIS_MNEMONIC_FLDCW:
		return do_fldcw(c);
	case ZYDIS_MNEMONIC_LDMXCSR:
	case ZYDIS_MNEMONIC_VLDMXCSR:
		return do_mxcsr(c, true);
	case ZYDIS_MNEMONIC_STMXCSR:
	case ZYDIS_MNEMONIC_VSTMXCSR:
		return do_mxcsr(c, false);
	case ZYDIS_MNEMONIC_FXSAVE:
	case ZYDIS_MNEMONIC_FXSAVE64:
		return do_fxsave(c, false);
	case ZYDIS_MNEMONIC_FXRSTOR:
	case ZYDIS_MNEMONIC_FXRSTOR64:
		return do_fxsave(c, true);
	case ZYDIS_MNEMONIC_XSAVE:
	case ZYDIS_MNEMONIC_XSAVE64:
	case ZYDIS_MNEMONIC_XSAVEOPT:
	case ZYDIS_MNEMONIC_XSAVEOPT64:
	case ZYDIS_MNEMONIC_XSAVEC:
	case ZYDIS_MNEMONIC_XSAVEC64:
	case ZYDIS_MNEMONIC_XSAVES:
	case ZYDIS_MNEMONIC_XSAVES64:
	case ZYDIS_MNEMONIC_XRSTOR:
	case ZYDIS_MNEMONIC_XRSTOR64:
	case ZYDIS_MNEMONIC_XRSTORS:
	case ZYDIS_MNEMONIC_XRSTORS64:
		return do_xsave_family(c);
	default:
		return unknown(c, "instruction not completed by skyvm");
	}
}

int hv_insn_complete(struct hv_insn_cpu *cpu, const struct hv_guest_mem *mem, const uint8_t *code,
		     size_t len, struct hv_insn_outcome *out)
{
	struct ictx c = { .cpu = cpu, .mem = mem, .out = out };
	ZydisDecoder dec;
	ZydisFormatter fmt;
	ZydisMachineMode mode;
	ZydisStackWidth sw;

	memset(out, 0, sizeof(*out));
	if (mode64(cpu)) {
		mode = ZYDIS_MACHINE_MODE_LONG_64;
		sw = ZYDIS_STACK_WIDTH_64;
	} else if (cpu->cs_db) {
		mode = (cpu->efer & HV_EFER_LMA) ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32
						 : ZYDIS_MACHINE_MODE_LEGACY_32;
		sw = ZYDIS_STACK_WIDTH_32;
	} else {
		mode = (cpu->cr0 & HV_CR0_PE) ? ZYDIS_MACHINE_MODE_LEGACY_16
					      : ZYDIS_MACHINE_MODE_REAL_16;
		sw = ZYDIS_STACK_WIDTH_16;
	}
	if (ZYAN_FAILED(ZydisDecoderInit(&dec, mode, sw)) ||
	    ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, code, len, &c.in, c.op))) {
		char hex[HV_INSN_MAX_LEN * 3 + 1] = "";
		for (size_t i = 0; i < len && i < HV_INSN_MAX_LEN; i++)
			snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x%s", code[i], i + 1 < len ? " " : "");
		snprintf(out->text, sizeof(out->text), "undecodable bytes %s", hex);
		out->status = HV_INSN_UNKNOWN;
		return 0;
	}
	out->mnemonic = c.in.mnemonic;
	out->length = c.in.length;
	if (ZYAN_FAILED(ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL)) ||
	    ZYAN_FAILED(ZydisFormatterFormatInstruction(&fmt, &c.in, c.op, c.in.operand_count_visible,
							out->text, sizeof(out->text), cpu->rip, NULL)))
		snprintf(out->text, sizeof(out->text), "%s", ZydisMnemonicGetString(c.in.mnemonic));

	if (execute(&c) < 0) {
		if (out->status == HV_INSN_SOFT_INT)
			cpu->rip += c.in.length;
		if (!mode64(cpu))
			cpu->rip &= 0xffffffffull;
		return 0;
	}
	out->status = HV_INSN_DONE;
	cpu->rip += c.in.length;
	if (!mode64(cpu))
		cpu->rip &= 0xffffffffull;
	/* Completing an instruction clears RF, as executing it would. */
	cpu->rflags &= ~(1ull << 16);
	return 0;
}

size_t hv_insn_fetch(const struct hv_insn_cpu *cpu, const struct hv_guest_mem *mem, uint8_t *buf,
		     size_t max)
{
	struct hv_mmu m = mmu_of(cpu, mem);
	uint64_t la = cpu->seg_base[HV_CS] * !mode64(cpu) + cpu->rip;
	size_t n = 0;

	while (n < max) {
		size_t chunk = MIN(max - n, (size_t)(4096 - ((la + n) & 4095)));
		uint64_t gpa;
		uint32_t err;
		const uint8_t *p;

		/* A fetch check without touching A bits would be purer, but the
		 * processor set them when it fetched this instruction anyway. */
		if (hv_mmu_translate(&m, la + n, HV_ACCESS_FETCH, &gpa, &err) < 0)
			break;
		p = hv_gpa_to_host(mem, gpa, chunk);
		if (!p)
			break;
		memcpy(buf + n, p, chunk);
		n += chunk;
	}
	return n;
}

const char *hv_insn_mnemonic_name(unsigned mnemonic)
{
	const char *s = mnemonic <= ZYDIS_MNEMONIC_MAX_VALUE ? ZydisMnemonicGetString(mnemonic) : NULL;

	return s ? s : "?";
}

unsigned hv_insn_mnemonic_count(void)
{
	return ZYDIS_MNEMONIC_MAX_VALUE + 1;
}

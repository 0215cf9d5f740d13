// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The KVM side of instruction completion (docs/software-kvm.md): on
 * KVM_INTERNAL_ERROR_EMULATION, gather the vCPU state hv_insn_complete()
 * needs, run it, and write back registers, FPU state, or the exception it
 * raised.  Runs on the vCPU's own thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "insn.h"
#include "log.h"
#include "mmu.h"
#include "vcpu.h"
#include "vm-internal.h"
#include "xsave.h"

LOG_SCOPE("hv.complete");

#define MSR_IA32_XSS 0xda0
#define XSAVE_MXCSR_MASK_OFF 28

static int complete_get_xsave(void *ctx, uint8_t **ret_state, size_t *ret_len)
{
	struct hv_vcpu *vcpu = ctx;
	struct hv_vm *vm = vcpu->vm;
	uint32_t mask;

	if (!vcpu->xsave_buf) {
		vcpu->xsave_buf = calloc(1, vm->xsave_size);
		if (!vcpu->xsave_buf)
			return -ENOMEM;
	}
	if (ioctl(vcpu->fd, vm->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		  vcpu->xsave_buf) < 0)
		return -errno;
	memcpy(&mask, vcpu->xsave_buf + XSAVE_MXCSR_MASK_OFF, 4);
	vcpu->insn_cpu->mxcsr_mask = mask;
	*ret_state = vcpu->xsave_buf;
	*ret_len = vm->xsave_size;
	return 0;
}

/* Only the XSAVE family asks: two more ioctls kept off the path of the
 * far more frequent vector instructions. */
static int complete_get_xcrs(void *ctx, uint64_t *ret_xcr0, uint64_t *ret_xss)
{
	struct hv_vcpu *vcpu = ctx;
	struct kvm_xcrs xcrs;
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;

	if (ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs) == 0) {
		for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (xcrs.xcrs[i].xcr == 0)
				*ret_xcr0 = xcrs.xcrs[i].value;
	}
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = MSR_IA32_XSS;
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) == 1)
		*ret_xss = m.hdr.entries[0].data;
	return 0;
}

static void regs_to_cpu(const struct kvm_regs *r, const struct kvm_sregs *s, struct hv_insn_cpu *c)
{
	const uint64_t g[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				 r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };

	memcpy(c->gpr, g, sizeof(g));
	c->rip = r->rip;
	c->rflags = r->rflags;
	c->cr0 = s->cr0;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	c->efer = s->efer;
	c->seg_base[HV_ES] = s->es.base;
	c->seg_base[HV_CS] = s->cs.base;
	c->seg_base[HV_SS] = s->ss.base;
	c->seg_base[HV_DS] = s->ds.base;
	c->seg_base[HV_FS] = s->fs.base;
	c->seg_base[HV_GS] = s->gs.base;
	c->cpl = s->cs.dpl;
	c->cs_l = s->cs.l;
	c->cs_db = s->cs.db;
}

static void cpu_to_regs(const struct hv_insn_cpu *c, struct kvm_regs *r)
{
	r->rax = c->gpr[HV_RAX]; r->rcx = c->gpr[HV_RCX]; r->rdx = c->gpr[HV_RDX];
	r->rbx = c->gpr[HV_RBX]; r->rsp = c->gpr[HV_RSP]; r->rbp = c->gpr[HV_RBP];
	r->rsi = c->gpr[HV_RSI]; r->rdi = c->gpr[HV_RDI];
	r->r8 = c->gpr[HV_R8]; r->r9 = c->gpr[HV_R9]; r->r10 = c->gpr[HV_R10];
	r->r11 = c->gpr[HV_R11]; r->r12 = c->gpr[HV_R12]; r->r13 = c->gpr[HV_R13];
	r->r14 = c->gpr[HV_R14]; r->r15 = c->gpr[HV_R15];
	r->rip = c->rip;
	r->rflags = c->rflags;
}

/* Deliver an exception or software interrupt through KVM's event
 * injection, so the guest's own IDT handler runs. */
static int inject(struct hv_vcpu *vcpu, const struct hv_insn_outcome *out, struct kvm_sregs *s)
{
	struct kvm_vcpu_events ev;

	if (out->vector == 14) {
		s->cr2 = out->cr2;
		if (ioctl(vcpu->fd, KVM_SET_SREGS, s) < 0)
			return -errno;
	}
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	if (out->vector < 32) {
		/* INT3/INT1/INTO are traps: RIP already points past them, so
		 * injecting them as exceptions pushes the right return address. */
		ev.exception.injected = 1;
		ev.exception.nr = out->vector;
		ev.exception.has_error_code = out->has_error_code;
		ev.exception.error_code = out->error_code;
		ev.exception.pending = 0;
	} else {
		ev.interrupt.injected = 1;
		ev.interrupt.nr = out->vector;
		ev.interrupt.soft = 0;
	}
	ev.flags = 0;
	return ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

bool hv_vcpu_complete_insn(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct hv_insn_cpu cpu = {
		.get_xsave = complete_get_xsave,
		.get_xcrs = complete_get_xcrs,
		.ctx = vcpu,
		.xsave_layout = vm->xsave_ok ? &vm->xsave_layout : NULL,
	};
	struct hv_insn_outcome out;
	uint8_t code[HV_INSN_MAX_LEN];
	uint64_t t0 = now_ns();
	size_t n;
	int r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_err("vcpu %u: cannot read registers to complete an instruction: %m", vcpu->index);
		return false;
	}
	regs_to_cpu(&regs, &sregs, &cpu);
	vcpu->insn_cpu = &cpu;
	n = hv_insn_fetch(&cpu, &vm->mem, code, sizeof(code));
	r = hv_insn_complete(&cpu, &vm->mem, code, n, &out);
	vcpu->insn_cpu = NULL;
	if (r < 0) {
		log_err("vcpu %u: instruction completion failed: %s", vcpu->index, strerror(-r));
		return false;
	}

	switch (out.status) {
	case HV_INSN_DONE:
		cpu_to_regs(&cpu, &regs);
		if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
			r = -errno;
		if (r == 0 && out.xsave_dirty &&
		    ioctl(vcpu->fd, KVM_SET_XSAVE, vcpu->xsave_buf) < 0)
			r = -errno;
		break;
	case HV_INSN_SOFT_INT:
		cpu_to_regs(&cpu, &regs);
		if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
			r = -errno;
		if (r == 0)
			r = inject(vcpu, &out, &sregs);
		break;
	case HV_INSN_FAULT:
		log_debug("vcpu %u: \"%s\" raises exception %u", vcpu->index, out.text, out.vector);
		r = inject(vcpu, &out, &sregs);
		break;
	case HV_INSN_UNKNOWN:
		log_err("vcpu %u: KVM refused the instruction at rip=0x%016llx and skyvm does not complete it: %s",
			vcpu->index, regs.rip, out.text);
		return false;
	}
	if (r < 0) {
		log_err("vcpu %u: cannot apply completed \"%s\": %s", vcpu->index, out.text, strerror(-r));
		return false;
	}
	if (out.mnemonic < vm->ncompletion_slots)
		atomic_fetch_add_explicit(&vm->completions[out.mnemonic], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&vm->completion_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&vm->completion_ns, now_ns() - t0, memory_order_relaxed);
	log_debug("vcpu %u: completed \"%s\" (%s)", vcpu->index, out.text,
		  out.status == HV_INSN_DONE ? "done" : out.status == HV_INSN_FAULT ? "fault" : "interrupt");
	return true;
}

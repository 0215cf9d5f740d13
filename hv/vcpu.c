// SPDX-License-Identifier: GPL-3.0-or-later
#include "vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "vm-internal.h"

LOG_SCOPE("hv.vcpu");

#define HV_SIG_KICK (SIGRTMIN + 0)

/* MSRs set at boot (Intel SDM vol. 4). */
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 1u
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_MTRR_ENABLE (1u << 11)
#define MTRR_TYPE_WB 6

/* Local APIC register offsets (SDM vol. 3 table 11-1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI (4u << 8)

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_install(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(HV_SIG_KICK, &sa, NULL);
}

static int vcpu_set_cpuid(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	struct hv_cpuid c = vm->cpuid;
	struct kvm_cpuid2 *kc;
	int r;

	hv_cpuid_set_vcpu(&c, vcpu->index, vm->ncpus);
	r = hv_cpuid_to_kvm(&c, &kc);
	if (r < 0)
		return r;
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, kc) < 0 ? -errno : 0;
	free(kc);
	return r;
}

static int vcpu_set_lapic(struct hv_vcpu *vcpu)
{
	struct kvm_lapic_state la;
	uint32_t v;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	/* LINT0 as ExtINT (the 8259 behind it), LINT1 as NMI: what PC firmware
	 * leaves for the OS (MP spec §3.6.2). */
	memcpy(&v, la.regs + APIC_LVT_LINT0, 4);
	v = (v & ~0x700u) | APIC_MODE_EXTINT;
	memcpy(la.regs + APIC_LVT_LINT0, &v, 4);
	memcpy(&v, la.regs + APIC_LVT_LINT1, 4);
	v = (v & ~0x700u) | APIC_MODE_NMI;
	memcpy(la.regs + APIC_LVT_LINT1, &v, 4);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &la) < 0 ? -errno : 0;
}

static int vcpu_set_boot_msrs(struct hv_vcpu *vcpu)
{
	static const struct kvm_msr_entry boot_msrs[] = {
		{ .index = MSR_IA32_MISC_ENABLE, .data = MSR_IA32_MISC_ENABLE_FAST_STRING },
		{ .index = MSR_MTRR_DEF_TYPE, .data = MSR_MTRR_ENABLE | MTRR_TYPE_WB },
	};
	/* struct kvm_msrs ends in a flexible array; give it room alongside. */
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + sizeof(boot_msrs)];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	memcpy(m.hdr.entries, boot_msrs, sizeof(boot_msrs));
	r = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return -errno;
	if (r != (int)ARRAY_SIZE(boot_msrs))
		log_debug("vcpu %u: KVM took %d of %zu boot MSRs", vcpu->index, r, ARRAY_SIZE(boot_msrs));
	return 0;
}

/*
 * The 64-bit boot protocol's entry state (Documentation/arch/x86/boot.rst
 * "64-bit BOOT PROTOCOL"): long mode, paging on with an identity map of the
 * kernel, zero page and command line, __BOOT_CS/__BOOT_DS, interrupts off.
 * APs woken through the MP mailbox start in the same state (ACPI 6.4
 * §5.2.12.19).
 */
static int vcpu_set_long_mode(struct hv_vcpu *vcpu, uint64_t rip, uint64_t rsi)
{
	struct kvm_sregs s;
	struct kvm_regs regs = {
		.rip = rip,
		.rsi = rsi,
		.rsp = HV_BOOT_STACK_GPA,
		.rflags = 0x2,
	};
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = HV_BOOT_CS,
		.type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = HV_BOOT_DS,
		.type = 0x3, .present = 1, .s = 1, .db = 1, .g = 1,
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = HV_GDT_GPA;
	s.gdt.limit = HV_BOOT_GDT_LIMIT;
	s.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	s.cr3 = HV_PML4_GPA;
	s.cr4 = 0x20;       /* PAE */
	s.efer = 0x500;     /* LMA LME */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int hv_vcpu_init(struct hv_vm *vm, struct hv_vcpu *vcpu, unsigned index)
{
	int r;

	pthread_once(&kick_once, kick_install);
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		vcpu->fd = -1;
		return -errno;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}
	r = vcpu_set_cpuid(vcpu);
	if (r < 0)
		return r;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) {
		vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		vcpu->sync_regs = true;
	}
	r = hv_hyperv_vp_init(&vm->hyperv, &vcpu->hvp, index);
	if (r < 0)
		return r;
	if (index == 0) {
		/* The guest reads the TSC frequency from HV_MSR_TSC_FREQUENCY. */
		r = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
		if (r > 0)
			vm->hyperv.tsc_hz = (uint64_t)r * 1000;
	}
	r = vcpu_set_lapic(vcpu);
	if (r < 0)
		return r;
	r = vcpu_set_boot_msrs(vcpu);
	if (r < 0)
		return r;
	if (index == 0) {
		r = vcpu_set_long_mode(vcpu, vm->kernel.entry, HV_ZERO_PAGE_GPA);
		if (r < 0)
			return r;
		vcpu->online = true;
	}
	return 0;
}

int hv_vcpu_wake_locked(struct hv_vm *vm, uint32_t apic_id, uint64_t rip)
{
	struct hv_vcpu *vcpu;

	if (apic_id >= vm->ncpus)
		return -ENOENT;
	vcpu = &vm->vcpus[apic_id];
	if (vcpu->online)
		return -EBUSY;
	vcpu->online = true;
	vcpu->wake_pending = true;
	vcpu->wake_rip = rip;
	pthread_cond_broadcast(&vm->cond);
	return 0;
}

/* Read up to 15 instruction bytes at the guest's RIP for a crash report. */
static size_t vcpu_fetch_code(struct hv_vcpu *vcpu, uint64_t rip, uint8_t *buf, size_t max)
{
	size_t n = 0;

	while (n < max) {
		struct kvm_translation t = { .linear_address = rip + n };
		uint64_t page_left;
		const uint8_t *p;
		size_t chunk;

		if (ioctl(vcpu->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
			break;
		page_left = 4096 - (t.physical_address & 4095);
		chunk = MIN(max - n, (size_t)page_left);
		p = hv_gpa_to_host(&vcpu->vm->mem, t.physical_address, chunk);
		if (!p)
			break;
		memcpy(buf + n, p, chunk);
		n += chunk;
	}
	return n;
}

static void vcpu_dump(struct hv_vcpu *vcpu, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t code[15];
	char hex[15 * 3 + 1] = "";
	size_t n;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_err("vcpu %u: %s (registers unavailable: %m)", vcpu->index, why);
		return;
	}
	log_err("vcpu %u: %s at rip=0x%016llx (cs=0x%04x cpl=%u)", vcpu->index, why, r.rip,
		s.cs.selector, s.cs.dpl);
	log_err("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", r.rax, r.rbx, r.rcx, r.rdx);
	log_err("  rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx", r.rsi, r.rdi, r.rbp, r.rsp);
	log_err("  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx", r.r8, r.r9, r.r10, r.r11);
	log_err("  r12=%016llx r13=%016llx r14=%016llx r15=%016llx", r.r12, r.r13, r.r14, r.r15);
	log_err("  rflags=%016llx cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx",
		r.rflags, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	log_err("  gdt=%016llx/%04x idt=%016llx/%04x tr=%04x", s.gdt.base, s.gdt.limit,
		s.idt.base, s.idt.limit, s.tr.selector);
	n = vcpu_fetch_code(vcpu, r.rip, code, sizeof(code));
	for (size_t i = 0; i < n; i++)
		snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x%s", code[i], i + 1 < n ? " " : "");
	log_err("  code: %s", n ? hex : "(rip not mapped)");
}

static void vcpu_report_internal_error(struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char buf[256] = "";
	size_t off = 0;
	unsigned n = MIN(run->internal.ndata, (unsigned)ARRAY_SIZE(run->internal.data));

	for (unsigned i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %llx",
					(unsigned long long)run->internal.data[i]);
	log_err("vcpu %u: KVM internal error, suberror %u%s, data:%s", vcpu->index,
		run->internal.suberror,
		run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "",
		buf);
	vcpu_dump(vcpu, "KVM internal error");
}

/* Returns false when the VM must end (the reason is already recorded). */
static bool vcpu_handle_exit(struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		atomic_fetch_add_explicit(&vcpu->exits_io, 1, memory_order_relaxed);
		/* data_offset and count come from KVM, which bounds them by the
		 * run page; a string instruction carries count elements. */
		for (uint32_t i = 0; i < run->io.count; i++)
			hv_platform_pio(vcpu, run->io.port, run->io.direction == KVM_EXIT_IO_OUT,
					data + (size_t)i * run->io.size, run->io.size);
		return true;
	}
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&vcpu->exits_mmio, 1, memory_order_relaxed);
		hv_platform_mmio(vcpu, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
				 MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data)));
		return true;
	case KVM_EXIT_X86_RDMSR: {
		uint64_t v = 0;
		atomic_fetch_add_explicit(&vcpu->exits_other, 1, memory_order_relaxed);
		if (hv_hyperv_rdmsr(&vcpu->vm->hyperv, &vcpu->hvp, run->msr.index, &v) < 0) {
			run->msr.error = 1; /* #GP, as for an MSR that doesn't exist */
			log_debug("vcpu %u: rdmsr 0x%x refused", vcpu->index, run->msr.index);
		} else {
			run->msr.data = v;
			run->msr.error = 0;
		}
		return true;
	}
	case KVM_EXIT_X86_WRMSR:
		atomic_fetch_add_explicit(&vcpu->exits_other, 1, memory_order_relaxed);
		run->msr.error = hv_hyperv_wrmsr(&vcpu->vm->hyperv, &vcpu->hvp, run->msr.index,
						 run->msr.data) < 0;
		if (run->msr.error)
			log_debug("vcpu %u: wrmsr 0x%x = 0x%llx refused", vcpu->index, run->msr.index,
				  (unsigned long long)run->msr.data);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_HLT:
		atomic_fetch_add_explicit(&vcpu->exits_other, 1, memory_order_relaxed);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_dump(vcpu, "triple fault");
		hv_vm_request_end(vcpu->vm, HV_END_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		/* A software-only KVM refuses some instructions; carry them out
		 * here (complete.c) and go on. */
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && hv_vcpu_complete_insn(vcpu))
			return true;
		vcpu_report_internal_error(vcpu);
		hv_vm_request_end(vcpu->vm, HV_END_INTERNAL_ERROR);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vcpu %u: VM entry failed, reason 0x%llx", vcpu->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump(vcpu, "VM entry failure");
		hv_vm_request_end(vcpu->vm, HV_END_INTERNAL_ERROR);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			hv_vm_request_end(vcpu->vm, HV_END_RESET);
		} else if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			hv_vm_request_end(vcpu->vm, HV_END_POWEROFF);
		} else {
			log_err("vcpu %u: unexpected system event %u", vcpu->index,
				run->system_event.type);
			hv_vm_request_end(vcpu->vm, HV_END_INTERNAL_ERROR);
		}
		return false;
	default:
		log_err("vcpu %u: unhandled KVM exit reason %u", vcpu->index, run->exit_reason);
		vcpu_dump(vcpu, "unhandled exit");
		hv_vm_request_end(vcpu->vm, HV_END_INTERNAL_ERROR);
		return false;
	}
}

/* Highest vector set in a 256-bit APIC register bank (ISR/IRR), or 0. */
static uint8_t apic_top_vector(const struct kvm_lapic_state *la, unsigned base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t v;

		memcpy(&v, la->regs + base + 0x10 * i, 4);
		if (v)
			return (uint8_t)(32 * i + 31 - __builtin_clz(v));
	}
	return 0;
}

static void vcpu_sample_timer(struct hv_vcpu *vcpu)
{
	struct kvm_lapic_state la;
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + 2 * sizeof(struct kvm_msr_entry)];
	} m;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &la) == 0) {
		memcpy(&vcpu->sample.lvt_timer, la.regs + 0x320, 4);
		vcpu->sample.isr_top = apic_top_vector(&la, 0x100);
		vcpu->sample.irr_top = apic_top_vector(&la, 0x200);
	}
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 2;
	m.hdr.entries[0].index = 0x6e0; /* IA32_TSC_DEADLINE */
	m.hdr.entries[1].index = 0x10;  /* IA32_TIME_STAMP_COUNTER */
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) == 2) {
		vcpu->sample.tsc_deadline = m.hdr.entries[0].data;
		vcpu->sample.tsc = m.hdr.entries[1].data;
	}
}

/* Answer a register sample request; vm->lock held, not in KVM_RUN. */
static void vcpu_sample_locked(struct hv_vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (!vcpu->sample_req)
		return;
	vcpu->sample = (struct hv_vcpu_info){ .index = vcpu->index, .online = vcpu->online };
	if (vcpu->online && ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0 &&
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) == 0) {
		vcpu->sample.sampled = true;
		vcpu->sample.rip = r.rip;
		vcpu->sample.rsp = r.rsp;
		vcpu->sample.rflags = r.rflags;
		vcpu->sample.cr0 = s.cr0;
		vcpu->sample.cr3 = s.cr3;
		vcpu->sample.cpl = s.cs.dpl;
		vcpu_sample_timer(vcpu);
	}
	vcpu->sample_req = false;
	pthread_cond_broadcast(&vcpu->vm->cond);
}

/* Wait until this vCPU may run; false when the VM is ending. */
static bool vcpu_wait_runnable(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	bool wake = false;
	uint64_t rip = 0;

	pthread_mutex_lock(&vm->lock);
	vcpu_sample_locked(vcpu);
	while (vm->state == HV_VM_PAUSED || (vm->state == HV_VM_RUNNING && !vcpu->online)) {
		pthread_cond_wait(&vm->cond, &vm->lock);
		vcpu_sample_locked(vcpu);
	}
	if (vm->state != HV_VM_RUNNING) {
		pthread_mutex_unlock(&vm->lock);
		return false;
	}
	if (vcpu->wake_pending) {
		wake = true;
		rip = vcpu->wake_rip;
		vcpu->wake_pending = false;
	}
	pthread_mutex_unlock(&vm->lock);

	if (wake) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
		int r = vcpu_set_long_mode(vcpu, rip, 0);

		if (r >= 0 && ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
			r = -errno;
		if (r < 0) {
			log_errno(LOG_ERR, r, "vcpu %u: cannot start the AP", vcpu->index);
			hv_vm_request_end(vm, HV_END_HOST_ERROR);
			return false;
		}
		log_debug("vcpu %u: woken at 0x%" PRIx64, vcpu->index, rip);
	}
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct hv_vcpu *vcpu = arg;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, HV_SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		/* Cleared before the state check: a kick that lands after the
		 * check makes the next KVM_RUN return at once (see hv_vcpu_kick). */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (!vcpu_wait_runnable(vcpu))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_err("vcpu %u: KVM_RUN: %m", vcpu->index);
			hv_vm_request_end(vcpu->vm, HV_END_HOST_ERROR);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int hv_vcpu_start_thread(struct hv_vcpu *vcpu)
{
	sigset_t set, old;
	int r;

	/* The thread starts with the kick signal blocked and unblocks it
	 * itself, so a kick can't arrive before its handler matters. */
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	r = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	vcpu->thread_started = true;
	return 0;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	if (!vcpu->run || !vcpu->thread_started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, HV_SIG_KICK);
}

void hv_vcpu_stop_thread(struct hv_vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
}

void hv_vcpu_finish(struct hv_vcpu *vcpu)
{
	hv_vcpu_stop_thread(vcpu);
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
	free(vcpu->xsave_buf);
	vcpu->xsave_buf = NULL;
	hv_hyperv_vp_finish(&vcpu->hvp);
}

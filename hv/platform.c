// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The boot platform's small devices: COM1, the ACPI hardware-reduced sleep
 * and reset registers, the debug console port, and the MP wakeup mailbox.
 * Runs on vCPU threads; anything shared takes a lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hyperv.h"
#include "layout.h"
#include "log.h"
#include "serial.h"
#include "vcpu.h"
#include "vm-internal.h"

LOG_SCOPE("hv.platform");

#define DEBUGCON_PORT 0xe9
#define POST_PORT 0x80
#define SLP_EN (1u << 5)          /* ACPI 6.4 §4.8.3.7 sleep control register */
#define SLP_TYP(v) (((v) >> 2) & 7)

static void pio_unhandled(struct hv_vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data,
			  unsigned size)
{
	/* Absent ISA devices float the bus: reads see all ones. */
	if (!is_write)
		memset(data, 0xff, size);
	log_debug("vcpu %u: unhandled %s port 0x%04x size %u", vcpu->index,
		  is_write ? "write to" : "read from", port, size);
}

/*
 * A hypercall from the guest's hypercall page (hyperv.c): RCX holds the
 * control word, RDX and R8 the input and output (TLFS §3.7); RAX gets the
 * result.  hv_hyperv_hypercall() checks the input and hands HvPostMessage
 * and HvSignalEvent to the VMBus host.
 */
static void hypercall(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm = vcpu->vm;
	uint64_t t0 = now_ns(), code;
	struct kvm_regs regs, *r = &regs;

	if (vcpu->sync_regs) {
		r = &vcpu->run->s.regs.regs;
	} else if (ioctl(vcpu->fd, KVM_GET_REGS, r) < 0) {
		log_err("vcpu %u: cannot read hypercall registers: %m", vcpu->index);
		return;
	}
	r->rax = hv_hyperv_hypercall(&vm->hyperv, &vcpu->hvp, r->rcx, r->rdx, r->r8);
	if ((r->rax & 0xffff) != HV_STATUS_SUCCESS)
		log_debug("vcpu %u: hypercall 0x%llx (input 0x%llx) failed with status %llu",
			  vcpu->index, r->rcx & 0xffff, r->rdx, r->rax & 0xffff);
	/* KVM advances RIP past the OUT when the vCPU re-enters
	 * (complete_fast_pio_out, after it loaded the synced registers), so
	 * these registers survive. */
	if (vcpu->sync_regs)
		vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	else if (ioctl(vcpu->fd, KVM_SET_REGS, r) < 0)
		log_err("vcpu %u: cannot return a hypercall status: %m", vcpu->index);
	/* Host-side cost per call, for the benchmark (tests/bench/vmbus.py). */
	code = r->rcx & 0xffff;
	if (code == HVCALL_POST_MESSAGE || code == HVCALL_SIGNAL_EVENT) {
		unsigned k = code == HVCALL_SIGNAL_EVENT;

		atomic_fetch_add_explicit(&vm->hypercall_ns[k], now_ns() - t0, memory_order_relaxed);
		atomic_fetch_add_explicit(&vm->hypercall_n[k], 1, memory_order_relaxed);
	}
}

static void acpi_sleep_write(struct hv_vcpu *vcpu, uint8_t v)
{
	if (!(v & SLP_EN))
		return;
	if (SLP_TYP(v) == HV_ACPI_S5_SLP_TYP) {
		log_info("guest powered off (ACPI S5)");
		hv_vm_request_end(vcpu->vm, HV_END_POWEROFF);
		return;
	}
	/* S1-S4 are not offered in the DSDT; a guest asking anyway stays up. */
	log_warn("vcpu %u: ignoring request for unsupported sleep type %u", vcpu->index,
		 SLP_TYP(v));
}

void hv_platform_pio(struct hv_vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data,
		     unsigned size)
{
	struct hv_vm *vm = vcpu->vm;

	if (port >= HV_COM1_PORT && port < HV_COM1_PORT + 8) {
		/* A wider access touches consecutive registers, byte by byte. */
		for (unsigned i = 0; i < size; i++)
			hv_serial_pio(vm->serial, (unsigned)(port - HV_COM1_PORT) + i, is_write, data + i);
		return;
	}
	switch (port) {
	case DEBUGCON_PORT:
		if (is_write) {
			if (vm->cfg.debugcon_tx)
				vm->cfg.debugcon_tx(data[0], vm->cfg.data);
		} else {
			memset(data, 0, size);
			data[0] = DEBUGCON_PORT; /* the read-back value QEMU's debugcon gives */
		}
		return;
	case HV_HYPERCALL_PORT:
		if (is_write)
			hypercall(vcpu);
		else
			memset(data, 0xff, size);
		return;
	case POST_PORT:
		if (!is_write)
			memset(data, 0xff, size);
		return;
	case HV_ACPI_SLEEP_CTL_PORT:
		if (is_write)
			acpi_sleep_write(vcpu, data[0]);
		else
			memset(data, 0, size);
		return;
	case HV_ACPI_SLEEP_STS_PORT:
		/* WAK_STS is write-1-to-clear; we never sleep, so it reads 0. */
		if (!is_write)
			memset(data, 0, size);
		return;
	case HV_ACPI_RESET_PORT:
		if (is_write && data[0] == HV_ACPI_RESET_VALUE) {
			log_info("guest requested a reset (ACPI reset register)");
			hv_vm_request_end(vm, HV_END_RESET);
		} else if (!is_write) {
			memset(data, 0, size);
		}
		return;
	}
	pio_unhandled(vcpu, port, is_write, data, size);
}

/*
 * ACPI 6.4 §5.2.12.19: the OS writes ApicId and WakeupVector, then Command =
 * 1; the AP acknowledges by clearing Command.  We clear it once the AP
 * thread has been told where to start, so the OS's poll sees acceptance.
 */
static void mailbox_access(struct hv_vcpu *vcpu, uint64_t off, bool is_write, uint8_t *data,
			   unsigned len)
{
	struct hv_vm *vm = vcpu->vm;
	uint8_t *mb = (uint8_t *)&vm->mailbox;

	pthread_mutex_lock(&vm->lock);
	if (off >= sizeof(vm->mailbox) || len > sizeof(vm->mailbox) - off) {
		/* The OS- and firmware-reserved parts of the page: RAZ/WI. */
		if (!is_write)
			memset(data, 0, len);
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	if (!is_write) {
		memcpy(data, mb + off, len);
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	memcpy(mb + off, data, len);
	if (off < sizeof(vm->mailbox.command) && vm->mailbox.command == HV_MP_WAKE_COMMAND_WAKEUP) {
		int r = hv_vcpu_wake_locked(vm, vm->mailbox.apic_id, vm->mailbox.wakeup_vector);

		if (r == 0) {
			vm->mailbox.command = 0;
			log_debug("MP mailbox: waking APIC id %u at 0x%" PRIx64, vm->mailbox.apic_id,
				  vm->mailbox.wakeup_vector);
		} else {
			/* Left set: the OS times out, as with firmware that can't
			 * wake that CPU.  Logged once per VM: a guest must not be
			 * able to flood the host log. */
			if (!vm->mailbox_warned)
				log_warn("MP mailbox: cannot wake APIC id %u: %s (further refusals not logged)",
					 vm->mailbox.apic_id, r == -EBUSY ? "already running" : "no such CPU");
			vm->mailbox_warned = true;
		}
	}
	pthread_mutex_unlock(&vm->lock);
}

void hv_platform_mmio(struct hv_vcpu *vcpu, uint64_t gpa, bool is_write, uint8_t *data,
		      unsigned len)
{
	if (gpa >= HV_MP_MAILBOX_GPA && gpa - HV_MP_MAILBOX_GPA < 4096) {
		mailbox_access(vcpu, gpa - HV_MP_MAILBOX_GPA, is_write, data, len);
		return;
	}
	if (!is_write)
		memset(data, 0xff, len);
	log_debug("vcpu %u: unhandled MMIO %s 0x%016" PRIx64 " len %u", vcpu->index,
		  is_write ? "write" : "read", gpa, len);
}

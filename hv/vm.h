/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * One KVM virtual machine: guest RAM (a memfd), the in-kernel irqchip and
 * PIT, the vCPU threads, and the legacy devices of the boot platform.
 *
 * Threads (docs/ARCHITECTURE.md): the main loop owns the hv_vm and calls
 * every function here; each vCPU thread runs KVM_RUN and handles port I/O
 * and MMIO exits synchronously.  When the VM ends (poweroff, reset, crash)
 * the vCPU that saw it posts hv_vm_config.on_exit to the main loop.
 */

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpuid.h"
#include "memory.h"

struct loop;
struct hv_serial;
struct hv_vm;

enum hv_vm_state {
	HV_VM_RUNNING,
	HV_VM_PAUSED,
	HV_VM_STOPPING, /* vCPU threads are winding down */
	HV_VM_STOPPED,
};

/* Why a VM ended; also picks skyvm's exit status (docs/guest-abi.md). */
enum hv_vm_end {
	HV_END_NONE = 0,
	HV_END_POWEROFF,       /* ACPI S5 from the guest */
	HV_END_STOP,           /* the operator asked (control socket, signal) */
	HV_END_RESET,          /* ACPI reset register or KVM system reset */
	HV_END_TRIPLE_FAULT,
	HV_END_INTERNAL_ERROR, /* KVM_EXIT_INTERNAL_ERROR, entry failure */
	HV_END_HOST_ERROR,     /* an ioctl failed on our side */
};

const char *hv_vm_end_to_string(enum hv_vm_end end);
const char *hv_vm_state_to_string(enum hv_vm_state state);

struct hv_vm_config {
	uint64_t mem_size;
	unsigned ncpus;
	const char *kernel_path;
	const char *initrd_path; /* may be NULL */
	const char *cmdline;     /* may be NULL */
	struct hv_cpuid_mask cpuid_mask;
	/* Bytes of device memory (VRAM) to create, a multiple of 1 MiB, at
	 * most HV_VMBUS_MMIO_SIZE; 0 for none. */
	uint64_t vram_size;
	/* Offer the VMBus echo device (tests and benchmarks, hv/vmbus-echo.h). */
	bool vmbus_echo;
	struct loop *loop;
	/* Called on the loop thread once, when the VM has ended. */
	void (*on_exit)(struct hv_vm *vm, enum hv_vm_end end, void *data);
	/* Serial transmit sink (called on vCPU threads with the UART lock). */
	void (*serial_tx)(const uint8_t *buf, size_t len, void *data);
	/* Bytes the guest writes to port 0xe9 (debugcon); may be NULL. */
	void (*debugcon_tx)(uint8_t byte, void *data);
	/* The guest answered a graceful shutdown request (hv_ic); may be NULL.
	 * Called on the loop thread. */
	void (*on_shutdown_ack)(struct hv_vm *vm, bool accepted, void *data);
	void *data;
};

struct hv_vm_stats {
	uint64_t exits_io, exits_mmio, exits_other;
};

struct hv_vm;

/* Create the VM, load the kernel and build boot data; vCPUs don't run yet.
 * Returns -errno; *ret_msg (static or NULL) names what failed. */
int hv_vm_new(const struct hv_vm_config *cfg, struct hv_vm **ret, const char **ret_msg);
/* Start the vCPU threads. */
int hv_vm_start(struct hv_vm *vm);
int hv_vm_pause(struct hv_vm *vm);
int hv_vm_resume(struct hv_vm *vm);
/* Ask the vCPUs to end with the given reason (first reason wins). */
void hv_vm_request_end(struct hv_vm *vm, enum hv_vm_end end);
/* Join the vCPU threads and free everything.  Accepts NULL. */
void hv_vm_free(struct hv_vm *vm);

enum hv_vm_state hv_vm_state(struct hv_vm *vm);
enum hv_vm_end hv_vm_end_reason(struct hv_vm *vm);
unsigned hv_vm_ncpus(const struct hv_vm *vm);
unsigned hv_vm_ncpus_online(struct hv_vm *vm);
uint64_t hv_vm_mem_size(const struct hv_vm *vm);
/* Guest RAM actually backed by host pages, from the memfd's block count. */
uint64_t hv_vm_mem_resident(const struct hv_vm *vm);
void hv_vm_get_stats(struct hv_vm *vm, struct hv_vm_stats *ret);
struct hv_serial *hv_vm_serial(struct hv_vm *vm);

/* Where a vCPU is, for operators and debugging (the "vcpus" command). */
struct hv_vcpu_info {
	unsigned index;
	bool online;   /* started (the BSP, or an AP the guest woke) */
	bool sampled;  /* the fields below are valid */
	uint64_t rip, rsp, rflags, cr0, cr3;
	unsigned cpl;
	/* Local APIC timer, for "why doesn't the guest tick": LVT timer,
	 * IA32_TSC_DEADLINE and the TSC now, and the highest vectors in
	 * service / requested (0 if none). */
	uint32_t lvt_timer;
	uint64_t tsc_deadline, tsc;
	uint8_t isr_top, irr_top;
};
/* Sample every vCPU's registers (each vCPU thread reads its own, between
 * two KVM_RUNs).  Returns how many entries it filled, or -ETIMEDOUT. */
int hv_vm_vcpu_info(struct hv_vm *vm, struct hv_vcpu_info *out, unsigned max, int timeout_ms);

/* Instructions skyvm completed for this VM because KVM refused them
 * (docs/software-kvm.md): totals, and fn called per mnemonic. */
struct hv_vm_completions {
	uint64_t count;
	uint64_t ns; /* time spent completing them, in the vCPU threads */
};
void hv_vm_get_completions(struct hv_vm *vm, struct hv_vm_completions *ret,
			   void (*fn)(const char *mnemonic, uint64_t count, void *data), void *data);

/* The VMBus host and the integration services (NULL without a loop). */
struct hv_vmbus *hv_vm_vmbus(struct hv_vm *vm);
struct hv_ic *hv_vm_ic(struct hv_vm *vm);
struct hv_vm_vmbus_stats {
	uint64_t hypercalls, bad_hypercalls;
	uint64_t posts, signals, busy; /* HvPostMessage accepted / HvSignalEvent / INSUFFICIENT_BUFFERS */
	uint64_t messages_delivered, messages_dropped, eoms; /* SynIC, all VPs */
	/* Host time spent handling the exits, from KVM_GET_REGS to KVM_SET_REGS. */
	uint64_t post_message_calls, post_message_ns, signal_event_calls, signal_event_ns;
};
void hv_vm_get_vmbus_stats(struct hv_vm *vm, struct hv_vm_vmbus_stats *ret);

/* The VRAM memfd, its host mapping and size; -ENODEV without one. */
int hv_vm_vram(struct hv_vm *vm, int *ret_fd, uint8_t **ret_host, size_t *ret_size);
/* Back guest-physical [gpa, gpa + VRAM size) with the VRAM, moving it if it
 * was elsewhere (loop thread).  gpa must be page-aligned and the range
 * inside the VMBus MMIO window: -ERANGE otherwise. */
int hv_vm_map_vram(struct hv_vm *vm, uint64_t gpa);

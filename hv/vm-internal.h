/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The VM's insides, shared by vm.c, vcpu.c and platform.c only. */

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "cpuid.h"
#include "memory.h"
#include "vm.h"
#include "hyperv.h"
#include "xsave.h"

struct hv_insn_cpu;
struct hv_vmbus;
struct hv_ic;
struct hv_vmbus_echo;
struct loop_source;
struct aml_buf;

/* A HvPostMessage waiting for the loop thread (vm-vmbus.c). */
struct hv_vm_vmbus_msg {
	uint32_t conn_id;
	uint32_t len;
	uint8_t payload[240];
};
/* Messages queued before HvPostMessage answers INSUFFICIENT_BUFFERS
 * (research §1.C.14: at least 16, FIFO). */
#define HV_VM_VMBUS_QUEUE 64

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned index; /* also its APIC id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	/* KVM_CAP_SYNC_REGS: KVM leaves the GPRs in run->s.regs at each exit,
	 * so the hypercall path needs no KVM_GET_REGS / KVM_SET_REGS. */
	bool sync_regs;
	/* Under vm->lock: the vCPU has been started (BSP at boot, an AP by the
	 * MP wakeup mailbox) and where it begins. */
	bool online;
	bool wake_pending;
	uint64_t wake_rip;
	atomic_uint_fast64_t exits_io, exits_mmio, exits_other;
	/* Under vm->lock: the main thread asks for a register sample, the
	 * vCPU thread takes it between two KVM_RUNs (hv_vm_vcpu_info()). */
	struct hv_hyperv_vp hvp;         /* Hyper-V virtual processor state */
	bool sample_req;
	struct hv_vcpu_info sample;
	uint8_t *xsave_buf;              /* KVM_GET_XSAVE image, for completions */
	struct hv_insn_cpu *insn_cpu;    /* during a completion */
};

/* ACPI 6.4 §5.2.12.19 Multiprocessor Wakeup mailbox, as the guest sees it. */
struct hv_mp_mailbox {
	uint16_t command;
	uint16_t reserved;
	uint32_t apic_id;
	uint64_t wakeup_vector;
};
#define HV_MP_WAKE_COMMAND_WAKEUP 1

struct hv_vm {
	struct hv_vm_config cfg;
	int kvm_fd, vm_fd, mem_fd;
	size_t run_size;
	struct hv_guest_mem mem;
	pthread_t memslot_thread; /* registers memslots during setup */
	bool memslot_thread_started;
	int memslot_err;
	pthread_t msr_filter_thread; /* installs the MSR filter during setup */
	bool msr_filter_thread_started;
	int msr_filter_err;
	struct hv_cpuid cpuid;
	struct hv_kernel kernel;
	struct hv_serial *serial;

	struct hv_vcpu *vcpus;
	unsigned ncpus;

	pthread_mutex_t lock; /* state, end, mailbox, vcpu online/wake */
	pthread_cond_t cond;
	enum hv_vm_state state;
	enum hv_vm_end end;
	uint64_t started_ns;
	struct hv_mp_mailbox mailbox;
	bool mailbox_warned;

	struct hv_hyperv hyperv;
	bool hyperv_init;

	/* Device memory (vm.c: hv_vm_map_vram()), loop thread only. */
	int vram_fd;
	uint8_t *vram;
	size_t vram_size;
	bool vram_mapped;
	uint64_t vram_gpa;

	/* VMBus host (vm-vmbus.c): the bus and ICs belong to the loop thread;
	 * vCPU threads fill the queue and event bits and poke vmbus_efd. */
	struct hv_vmbus *vmbus;
	struct hv_ic *ic;
	struct hv_vmbus_echo *echo;
	int vmbus_efd;
	struct loop_source *vmbus_src;
	pthread_mutex_t vmbus_lock; /* the queue */
	bool vmbus_lock_init;
	struct hv_vm_vmbus_msg *vmbus_q;
	unsigned vmbus_qhead, vmbus_qlen;
	atomic_uint_fast64_t vmbus_events[2048 / 64]; /* by relid */
	atomic_uint_fast64_t vmbus_live[2048 / 64];   /* relids that have a channel */
	atomic_uint_fast64_t vmbus_posts, vmbus_signals, vmbus_busy;
	/* Time in the hypercall exit handler: [0] HvPostMessage, [1] HvSignalEvent. */
	atomic_uint_fast64_t hypercall_ns[2], hypercall_n[2];

	/* Completion of refused instructions (complete.c). */
	struct hv_xsave_layout xsave_layout;
	bool xsave_ok;
	size_t xsave_size; /* bytes of KVM_GET_XSAVE(2) */
	atomic_uint_fast64_t *completions; /* per Zydis mnemonic */
	unsigned ncompletion_slots;
	atomic_uint_fast64_t completion_count, completion_ns;
};

/* complete.c: carry out the instruction KVM refused; false ends the VM. */
bool hv_vcpu_complete_insn(struct hv_vcpu *vcpu);

/* Copy between our CPUID table and KVM's (vm.c). */
int hv_cpuid_from_kvm(struct hv_cpuid *c, const struct kvm_cpuid2 *kc);
int hv_cpuid_to_kvm(const struct hv_cpuid *c, struct kvm_cpuid2 **ret);

/* vm-vmbus.c: set up / tear down the VMBus host and ICs (teardown after
 * the vCPU threads have stopped); the DSDT's VMBus device. */
int hv_vm_vmbus_setup(struct hv_vm *vm);
void hv_vm_vmbus_teardown(struct hv_vm *vm);
int hv_vm_dsdt_vmbus(struct aml_buf *b, void *data);

/* platform.c: the boot platform's port I/O and MMIO devices. */
void hv_platform_pio(struct hv_vcpu *vcpu, uint16_t port, bool is_write, uint8_t *data,
		     unsigned size);
void hv_platform_mmio(struct hv_vcpu *vcpu, uint64_t gpa, bool is_write, uint8_t *data,
		      unsigned len);

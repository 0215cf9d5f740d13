/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The Hyper-V guest interface, first part: the CPUID leaves that make a
 * guest recognise Hyper-V, and the synthetic MSRs it touches at boot
 * (TLFS; facts and Linux files in ../shared/research/hyperv-on-kvm.md
 * §1.A-B).  Pure state machines: skyvm routes MSR exits here.
 *
 * What this gives a Linux guest: TSC and LAPIC timer frequencies without
 * calibration (a hardware-reduced ACPI platform has no PIT to calibrate
 * against, arch/x86/kernel/acpi/boot.c: acpi_reduced_hw_init()), a reliable
 * TSC, VP indexes, a hypercall page, the two hypercalls VMBus needs
 * (HvPostMessage, HvSignalEvent) and the SynIC that carries the host's
 * messages and events back (research §1.C; TLFS §11).
 *
 * Locking: hv_hyperv.lock guards the partition MSRs and every VP's SynIC
 * state and message queue, so the VMBus host (loop thread) can deliver to
 * any VP while vCPU threads handle their own MSR exits.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuid.h"
#include "memory.h"

/* Synthetic MSRs (TLFS §2.4; include/asm-generic/hyperv-tlfs.h). */
#define HV_MSR_GUEST_OS_ID      0x40000000
#define HV_MSR_HYPERCALL        0x40000001
#define HV_MSR_VP_INDEX         0x40000002
#define HV_MSR_RESET            0x40000003
#define HV_MSR_TIME_REF_COUNT   0x40000020
#define HV_MSR_REFERENCE_TSC    0x40000021
#define HV_MSR_TSC_FREQUENCY    0x40000022
#define HV_MSR_APIC_FREQUENCY   0x40000023
#define HV_MSR_VP_ASSIST_PAGE   0x40000073
#define HV_MSR_SCONTROL         0x40000080
#define HV_MSR_SVERSION         0x40000081
#define HV_MSR_SIEFP            0x40000082
#define HV_MSR_SIMP             0x40000083
#define HV_MSR_EOM              0x40000084
#define HV_MSR_SINT0            0x40000090
#define HV_MSR_SINT15           0x4000009f
#define HV_MSR_TSC_INVARIANT_CONTROL 0x40000118
/* The range skyvm's MSR filter sends to userspace. */
#define HV_MSR_FIRST 0x40000000
#define HV_MSR_COUNT 0x200

/* The hypercall page's code exits to skyvm as an OUT to this 8-bit port
 * (research §1.B.7: not 0x7e, not a port the in-kernel PIT/PIC own; an
 * imm8 port leaves RDX, the input GPA, alone).  0xf0-0xff belonged to the
 * 387 coprocessor, which nothing modern touches. */
#define HV_HYPERCALL_PORT 0xf5
/* Hypercall status codes (TLFS appendix). */
#define HV_STATUS_SUCCESS 0
#define HV_STATUS_INVALID_HYPERCALL_CODE 2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 3
#define HV_STATUS_INVALID_ALIGNMENT 4
#define HV_STATUS_INVALID_PARAMETER 5
#define HV_STATUS_INVALID_CONNECTION_ID 18
#define HV_STATUS_INSUFFICIENT_BUFFERS 19

/* Hypercall codes (TLFS appendix; include/asm-generic/hyperv-tlfs.h). */
#define HVCALL_POST_MESSAGE 0x005c
#define HVCALL_SIGNAL_EVENT 0x005d
/* The control word in RCX (TLFS §3.7). */
#define HV_HYPERCALL_FAST_BIT (1ull << 16)
#define HV_HYPERCALL_REP_COMP_SHIFT 32

/* SynIC (TLFS §11.9): 16 SINTs; a message slot is 256 bytes, 240 of
 * payload; the event flags of a SINT are 2048 bits. */
#define HV_SYNIC_SINT_COUNT 16
#define HV_MESSAGE_SIZE 256
#define HV_MESSAGE_PAYLOAD_MAX 240
#define HV_EVENT_FLAGS_COUNT 2048
/* Message types (enum hv_message_type): the guest clears a slot to NONE. */
#define HV_MESSAGE_NONE 0
/* Messages a VP's queue holds while its slots are busy; a guest that
 * never frees its slots loses what overflows, nothing else. */
#define HV_SYNIC_QUEUE_MAX 64
#define HV_MAX_VPS 64

/* struct hv_message_header + payload, as it sits in the SIMP page. */
struct hv_message {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t message_flags; /* bit 0: msg_pending */
	uint16_t reserved;
	uint64_t sender;
	uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
};
#define HV_MESSAGE_FLAG_PENDING 1

/* What HvPostMessage's 256-byte input holds (struct hv_input_post_message). */
struct hv_post_message_input {
	uint32_t connection_id;
	uint32_t reserved;
	uint32_t message_type;
	uint32_t payload_size;
	uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
};

/* KVM's in-kernel LAPIC timer counts at 1 GHz (arch/x86/kvm/lapic.h
 * APIC_BUS_FREQUENCY). */
#define HV_APIC_FREQUENCY_HZ 1000000000ull

/* Where hypercalls and interrupts leave this module (set by skyvm; the
 * unit tests record them).  Called without hv_hyperv.lock held, except
 * interrupt(), which must not call back into this module. */
struct hv_hyperv_ops {
	/* Raise vector on the local APIC of VP vp (an MSI). */
	int (*interrupt)(void *data, uint32_t vp, uint8_t vector);
	/* HvPostMessage from VP vp: a HV_STATUS_* for the guest.  payload is
	 * a private copy, len <= HV_MESSAGE_PAYLOAD_MAX. */
	uint16_t (*post_message)(void *data, uint32_t vp, uint32_t connection_id,
				 uint32_t message_type, const void *payload, uint32_t len);
	/* HvSignalEvent from VP vp: a HV_STATUS_* for the guest. */
	uint16_t (*signal_event)(void *data, uint32_t vp, uint32_t connection_id);
};

/* A message waiting for its SINT's slot. */
struct hv_synic_pending {
	uint8_t sint;
	uint8_t len;
	uint32_t type;
	uint8_t payload[HV_MESSAGE_PAYLOAD_MAX];
};

/* Per virtual processor (one per vCPU; VP index = vCPU index = APIC id). */
struct hv_hyperv_vp {
	uint32_t index;
	uint64_t vp_assist;
	uint64_t scontrol, siefp, simp;
	uint64_t sint[HV_SYNIC_SINT_COUNT];
	/* Messages not yet in their slot, oldest first (under hv->lock). */
	struct hv_synic_pending *queue;
	unsigned nqueued;
	uint64_t delivered, dropped, eoms;
};

struct hv_hyperv {
	pthread_mutex_t lock;   /* everything below, and every VP's SynIC state */
	const struct hv_guest_mem *mem;
	uint64_t tsc_hz;
	uint64_t start_ns;      /* TIME_REF_COUNT counts from here */
	uint64_t guest_os_id;
	uint64_t hypercall;
	uint64_t reference_tsc;
	struct hv_hyperv_vp *vps[HV_MAX_VPS];
	unsigned nvps;
	const struct hv_hyperv_ops *ops;
	void *ops_data;
	uint64_t hypercalls, bad_hypercalls;
};

void hv_hyperv_init(struct hv_hyperv *hv, const struct hv_guest_mem *mem, uint64_t tsc_hz);
void hv_hyperv_finish(struct hv_hyperv *hv);
void hv_hyperv_set_ops(struct hv_hyperv *hv, const struct hv_hyperv_ops *ops, void *data);
/* Set up vp and make it reachable for delivery as VP index `index`
 * (< HV_MAX_VPS).  -ENOMEM, -EINVAL.  hv_hyperv_vp_finish() frees it. */
int hv_hyperv_vp_init(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t index);
void hv_hyperv_vp_finish(struct hv_hyperv_vp *vp);

/* Add leaves 0x40000000-0x40000005 ("Microsoft Hv") to c, which must not
 * hold any hypervisor leaves yet (hv_cpuid_apply() removes KVM's).
 * -ENOSPC if c is full. */
int hv_hyperv_cpuid(struct hv_cpuid *c, uint32_t nvcpus);

/* RDMSR/WRMSR of a synthetic MSR.  -EINVAL means the guest gets #GP
 * (unknown MSR, read-only MSR written, reserved bits set). */
int hv_hyperv_rdmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t *ret);
int hv_hyperv_wrmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t val);

/* The reference TSC page's contents (TLFS §12.7.3). */
struct hv_tsc_page {
	uint32_t tsc_sequence;
	uint32_t reserved;
	uint64_t tsc_scale;
	int64_t tsc_offset;
};
void hv_hyperv_tsc_page(uint64_t tsc_hz, struct hv_tsc_page *ret);

/* The code put in the guest's hypercall page; returns its length. */
unsigned hv_hyperv_hypercall_code(uint8_t *buf, unsigned max);

/*
 * A hypercall (the OUT in the hypercall page): control from RCX, input and
 * output GPAs from RDX and R8.  Returns the value for RAX: a status in bits
 * 15:0, reps completed in bits 43:32 (TLFS §3.8).
 */
uint64_t hv_hyperv_hypercall(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint64_t control,
			     uint64_t input, uint64_t output);

/*
 * SynIC delivery (TLFS §11.9-10), from any thread.  post: queue a message
 * of type for VP vp's SINT sint and put it in the slot as soon as the slot
 * is free (now, or at the guest's EOM).  0, -EINVAL (no such VP/SINT,
 * len > 240), -ENOBUFS (the VP's queue is full: the message is dropped).
 * signal: set event flag `flag` in VP vp's SIEF page for sint and raise the
 * SINT's vector.  0, -EINVAL, or -EAGAIN when the guest has not enabled
 * the SynIC, the SIEF page or that SINT (the flag is then lost, as on
 * Hyper-V).
 */
int hv_hyperv_post(struct hv_hyperv *hv, uint32_t vp, uint32_t sint, uint32_t type,
		   const void *payload, size_t len);
int hv_hyperv_signal(struct hv_hyperv *hv, uint32_t vp, uint32_t sint, uint32_t flag);

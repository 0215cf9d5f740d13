/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The Hyper-V guest interface, first part: the CPUID leaves that make a
 * guest recognise Hyper-V, and the synthetic MSRs it touches at boot
 * (TLFS; facts and Linux files in ../shared/research/hyperv-on-kvm.md
 * §1.A-B).  Pure state machines: skyvm routes MSR exits here.
 *
 * What this gives a Linux guest today: TSC and LAPIC timer frequencies
 * without calibration (a hardware-reduced ACPI platform has no PIT to
 * calibrate against, arch/x86/kernel/acpi/boot.c: acpi_reduced_hw_init()),
 * a reliable TSC, VP indexes, and a hypercall page.  Hypercalls themselves
 * (HvPostMessage, HvSignalEvent) and SynIC delivery come with the VMBus host.
 */

#include <pthread.h>
#include <stdbool.h>
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

/* KVM's in-kernel LAPIC timer counts at 1 GHz (arch/x86/kvm/lapic.h
 * APIC_BUS_FREQUENCY). */
#define HV_APIC_FREQUENCY_HZ 1000000000ull

struct hv_hyperv {
	pthread_mutex_t lock;   /* partition-wide MSRs below */
	const struct hv_guest_mem *mem;
	uint64_t tsc_hz;
	uint64_t start_ns;      /* TIME_REF_COUNT counts from here */
	uint64_t guest_os_id;
	uint64_t hypercall;
	uint64_t reference_tsc;
};

/* Per virtual processor (one per vCPU; VP index = vCPU index = APIC id). */
struct hv_hyperv_vp {
	uint32_t index;
	uint64_t vp_assist;
	uint64_t scontrol, siefp, simp;
	uint64_t sint[16];
};

void hv_hyperv_init(struct hv_hyperv *hv, const struct hv_guest_mem *mem, uint64_t tsc_hz);
void hv_hyperv_finish(struct hv_hyperv *hv);
void hv_hyperv_vp_init(struct hv_hyperv_vp *vp, uint32_t index);

/* Add leaves 0x40000000-0x40000005 ("Microsoft Hv") to c, which must not
 * hold any hypervisor leaves yet (hv_cpuid_apply() removes KVM's).
 * -ENOSPC if c is full. */
int hv_hyperv_cpuid(struct hv_cpuid *c, uint32_t nvcpus);

/* RDMSR/WRMSR of a synthetic MSR.  -EINVAL means the guest gets #GP
 * (unknown MSR, read-only MSR written, reserved bits set). */
int hv_hyperv_rdmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t *ret);
int hv_hyperv_wrmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t val);

/* The code put in the guest's hypercall page; returns its length. */
unsigned hv_hyperv_hypercall_code(uint8_t *buf, unsigned max);

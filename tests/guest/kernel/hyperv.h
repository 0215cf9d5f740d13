/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The Hyper-V guest interface the VMBus client needs (hyperv.c): CPUID
 * leaves, synthetic MSRs, the hypercall page, the SynIC message and event
 * pages, and the local APIC interrupts that announce them.  Values are the
 * TLFS's as Linux 6.1 spells them (include/asm-generic/hyperv-tlfs.h,
 * arch/x86/include/asm/hyperv-tlfs.h); the layouts are written out here.
 */

#include "kernel.h"

/* CPUID leaves (hyperv-tlfs.h HYPERV_CPUID_*). */
#define HV_CPUID_VENDOR   0x40000000 /* EBX ECX EDX = "Microsoft Hv" */
#define HV_CPUID_FEATURES 0x40000003
#define HV_CPUID_HINTS    0x40000004
/* 0x40000003.EAX */
#define HV_FEAT_SYNIC     (1u << 2)  /* HV_MSR_SYNIC_AVAILABLE */
#define HV_FEAT_HYPERCALL (1u << 5)  /* HV_MSR_HYPERCALL_AVAILABLE */
#define HV_FEAT_VP_INDEX  (1u << 6)  /* HV_MSR_VP_INDEX_AVAILABLE */
#define HV_FEAT_FREQ_MSRS (1u << 11) /* HV_ACCESS_FREQUENCY_MSRS */
/* 0x40000003.EBX */
#define HV_FEAT_POST_MESSAGES (1u << 4)
#define HV_FEAT_SIGNAL_EVENTS (1u << 5)
/* 0x40000004.EAX: EOI the LAPIC ourselves (HV_DEPRECATING_AEOI_RECOMMENDED) */
#define HV_HINT_DEPRECATING_AEOI (1u << 9)

/* Synthetic MSRs (HV_X64_MSR_*). */
#define HV_MSR_GUEST_OS_ID    0x40000000
#define HV_MSR_HYPERCALL      0x40000001
#define HV_MSR_VP_INDEX       0x40000002
#define HV_MSR_TSC_FREQUENCY  0x40000022
#define HV_MSR_APIC_FREQUENCY 0x40000023
#define HV_MSR_SCONTROL       0x40000080
#define HV_MSR_SIEFP          0x40000082
#define HV_MSR_SIMP           0x40000083
#define HV_MSR_EOM            0x40000084
#define HV_MSR_SINT0          0x40000090

#define HV_HYPERCALL_ENABLE (1ull << 0)
#define HV_SYNIC_ENABLE     (1ull << 0) /* SCONTROL, SIMP, SIEFP bit 0 */
#define HV_SINT_MASKED      (1ull << 16)
#define HV_SINT_AUTO_EOI    (1ull << 17)

/* Guest OS id, Linux's format (include/asm-generic/mshyperv.h
 * hv_generate_guest_id()): HV_LINUX_VENDOR_ID << 48 | version << 16. */
#define HV_LINUX_VENDOR_ID 0x8100ull
#define HV_GUEST_OS_VERSION 0x060100ull /* KERNEL_VERSION(6, 1, 0): the driver we mirror */

/* Hypercalls (HVCALL_*) and their status codes (HV_STATUS_*). */
#define HVCALL_POST_MESSAGE 0x005c
#define HVCALL_SIGNAL_EVENT 0x005d
#define HV_HYPERCALL_FAST_BIT (1ull << 16)
#define HV_HYPERCALL_REP_COMP_SHIFT 32
#define HV_STATUS_SUCCESS                0
#define HV_STATUS_INVALID_HYPERCALL_CODE 2
#define HV_STATUS_INVALID_ALIGNMENT      4
#define HV_STATUS_INVALID_PARAMETER      5
#define HV_STATUS_INSUFFICIENT_MEMORY    11
#define HV_STATUS_INVALID_CONNECTION_ID  18
#define HV_STATUS_INSUFFICIENT_BUFFERS   19

/* SynIC message slot (struct hv_message); one per SINT in the SIMP page. */
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT 240
#define HVMSG_NONE 0
#define HV_MSG_PENDING 1 /* message_flags bit 0 */
struct hv_message_header {
	uint32_t message_type;
	uint8_t payload_size;
	uint8_t message_flags;
	uint8_t reserved[2];
	uint64_t sender; /* port / connection id */
};

struct hv_message {
	struct hv_message_header header;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

/* HvPostMessage input (struct hv_input_post_message), 8-byte aligned. */
struct hv_input_post_message {
	uint32_t connectionid;
	uint32_t reserved;
	uint32_t message_type;
	uint32_t payload_size;
	uint8_t payload[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
};

_Static_assert(sizeof(struct hv_message_header) == 16, "hv_message_header");
_Static_assert(sizeof(struct hv_message) == 256, "hv_message");
_Static_assert(sizeof(struct hv_input_post_message) == 256, "hv_input_post_message");

/* The SINT VMBus uses (VMBUS_MESSAGE_SINT), the vector Linux programs in it
 * (HYPERVISOR_CALLBACK_VECTOR), and ours for the LAPIC timer that bounds
 * every hlt and for spurious interrupts. */
#define HV_VMBUS_SINT 2
#define HV_VMBUS_VECTOR 0xf3
#define HV_TIMER_VECTOR 0xec
#define HV_SPURIOUS_VECTOR 0xff
#define HV_TICK_HZ 100

struct hv_state {
	uint32_t max_leaf;
	uint32_t features, features_ebx, features_edx, hints;
	uint32_t vp_index;
	uint64_t tsc_hz;   /* 0 if unknown: TIMEOUT_TSC stands for a second */
	uint64_t apic_hz;  /* LAPIC timer input clock, 0 if unknown */
	bool auto_eoi;     /* SINT2 programmed with auto-EOI (hint 9 absent) */
	bool irqs;         /* LAPIC set up: interrupts on */
	bool timer;        /* its periodic timer runs: hlt always ends */
	bool x2apic;
	uint64_t apic_base;
	void *hypercall_page;
	struct hv_input_post_message *post_input; /* one page */
	struct hv_message *simp;                  /* SynIC message page */
	uint8_t *siefp;                           /* SynIC event flags page */
	/* Pages handed out by hv_alloc_pages(). */
	uint64_t pool_next, pool_end;
	uint64_t ram_end;  /* end of the highest usable e820 entry */
};

extern struct hv_state hv;
extern volatile uint64_t hv_vmbus_irqs, hv_timer_irqs;

/* Interrupt entries (hv-entry.S) and what they call. */
void hv_vmbus_irq_entry(void);
void hv_timer_irq_entry(void);
void hv_spurious_irq_entry(void);
void hv_vmbus_irq(void);
void hv_timer_irq(void);

/* A full barrier.  mfence is SSE2: a locked no-op works everywhere
 * (Linux's x86-64 smp_mb() is the same). */
static inline void hv_mb(void)
{
	asm volatile("lock; orl $0, (%%rsp)" ::: "memory", "cc");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t hv_gpa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Pool of zeroed pages (from the usable RAM given to hv_pool_init()). */
void hv_pool_init(uint64_t base, uint64_t size);
void *hv_alloc_pages(unsigned n); /* NULL when the pool is exhausted */
void hv_zero(void *p, size_t bytes); /* bytes: a multiple of 8 */

/* Time, from the TSC. */
uint64_t hv_ms_to_tsc(uint64_t ms);
void hv_udelay(uint64_t us);

/* Detect Hyper-V, write the guest OS id, enable the hypercall page, read
 * the VP index (arch/x86/hyperv/hv_init.c hyperv_init(), hv_cpu_init()).
 * Prints what it finds; false if this is not a usable Hyper-V. */
bool hv_init(void);
/* SIMP, SIEFP, SINT2 and SCONTROL on this CPU (drivers/hv/hv.c
 * hv_synic_enable_regs()), then the LAPIC and IDT for vector 0xf3. */
void hv_synic_init(void);
/* Interrupts: wait for one (or the next timer tick) unless pending() says
 * there is work already.  Without a usable LAPIC this is a short pause. */
void hv_idle(bool (*pending)(void));

/* Raw hypercall through the hypercall page: RCX = control, RDX = input,
 * R8 = output; returns RAX (status in bits 15:0). */
uint64_t hv_hypercall(uint64_t control, uint64_t input, uint64_t output);
/* HvPostMessage (drivers/hv/hv.c hv_post_message()): once, no retry. */
uint16_t hv_post_message(uint32_t conn_id, uint32_t type, const void *payload, uint32_t size);
/* HvSignalEvent, fast (arch/x86/include/asm/mshyperv.h
 * hv_do_fast_hypercall8()). */
uint16_t hv_signal_event(uint32_t conn_id);
/* The SINT2 slots. */
static inline volatile struct hv_message *hv_msg_slot(void)
{
	return &hv.simp[HV_VMBUS_SINT];
}

static inline volatile uint64_t *hv_event_flags(void)
{
	return (volatile uint64_t *)(hv.siefp + HV_VMBUS_SINT * 256);
}

/* vmbus_signal_eom() (include/asm-generic/mshyperv.h): free the slot,
 * then EOM if the hypervisor has more queued. */
void hv_signal_eom(volatile struct hv_message *m, uint32_t old_type);
const char *hv_status_name(uint16_t status);

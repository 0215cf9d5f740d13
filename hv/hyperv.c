// SPDX-License-Identifier: GPL-3.0-or-later
#include "hyperv.h"

#include <errno.h>
#include <string.h>

#include "util.h"

/* CPUID.0x40000003 bits (research §1.A; TLFS §2.4.4). */
#define HV_FEAT_SYNIC            (1u << 2)
#define HV_FEAT_HYPERCALL        (1u << 5)
#define HV_FEAT_VP_INDEX         (1u << 6)
#define HV_FEAT_FREQUENCY_MSRS   (1u << 11)
#define HV_FEAT_TSC_INVARIANT    (1u << 15)
#define HV_FEAT_EBX_POST_MESSAGES (1u << 4)
#define HV_FEAT_EBX_SIGNAL_EVENTS (1u << 5)
#define HV_FEAT_EDX_FREQUENCY_MSRS_AVAILABLE (1u << 8)
/* CPUID.0x40000004.EAX bit 9: AEOI deprecated; without it Linux's
 * vmbus ISR never EOIs the in-kernel LAPIC (research §1.C.13). */
#define HV_HINT_DEPRECATING_AEOI (1u << 9)

#define HYPERCALL_ENABLE (1ull << 0)
#define SINT_MASKED (1ull << 16)

void hv_hyperv_init(struct hv_hyperv *hv, const struct hv_guest_mem *mem, uint64_t tsc_hz)
{
	memset(hv, 0, sizeof(*hv));
	pthread_mutex_init(&hv->lock, NULL);
	hv->mem = mem;
	hv->tsc_hz = tsc_hz;
	hv->start_ns = now_ns();
}

void hv_hyperv_finish(struct hv_hyperv *hv)
{
	pthread_mutex_destroy(&hv->lock);
}

void hv_hyperv_vp_init(struct hv_hyperv_vp *vp, uint32_t index)
{
	memset(vp, 0, sizeof(*vp));
	vp->index = index;
	/* SINTs come out of reset masked (TLFS §11.8.4). */
	for (unsigned i = 0; i < 16; i++)
		vp->sint[i] = SINT_MASKED;
}

static int add_leaf(struct hv_cpuid *c, uint32_t fn, uint32_t a, uint32_t b, uint32_t cx, uint32_t d)
{
	if (c->nent >= HV_CPUID_MAX)
		return -ENOSPC;
	c->ent[c->nent++] = (struct hv_cpuid_entry){
		.function = fn, .eax = a, .ebx = b, .ecx = cx, .edx = d,
	};
	return 0;
}

int hv_hyperv_cpuid(struct hv_cpuid *c, uint32_t nvcpus)
{
	uint32_t sig[3];
	int r = 0;

	memcpy(sig, "Microsoft Hv", 12);
	/* Max leaf 0x40000005: 0x4000000A and above make Linux read nested
	 * features (research §1.A.2). */
	r |= add_leaf(c, 0x40000000, 0x40000005, sig[0], sig[1], sig[2]);
	r |= add_leaf(c, 0x40000001, 0x31237648 /* "Hv#1" */, 0, 0, 0);
	r |= add_leaf(c, 0x40000002, 0, 0, 0, 0);
	/*
	 * Only what skyvm implements: hypercall page, VP index, frequency
	 * MSRs and an invariant TSC.  TIME_REF_COUNT and REFERENCE_TSC are
	 * not advertised, so Linux keeps the (reliable) TSC as clocksource
	 * instead of an MSR read per clock read (research §1.B.8).  SynIC,
	 * PostMessages and SignalEvents arrive with the VMBus host.
	 */
	r |= add_leaf(c, 0x40000003,
		      HV_FEAT_HYPERCALL | HV_FEAT_VP_INDEX | HV_FEAT_FREQUENCY_MSRS |
			      HV_FEAT_TSC_INVARIANT,
		      0, 0, HV_FEAT_EDX_FREQUENCY_MSRS_AVAILABLE);
	r |= add_leaf(c, 0x40000004, HV_HINT_DEPRECATING_AEOI, 0, 0, 0);
	r |= add_leaf(c, 0x40000005, nvcpus, nvcpus, 0, 0);
	return r ? -ENOSPC : 0;
}

unsigned hv_hyperv_hypercall_code(uint8_t *buf, unsigned max)
{
	/* RCX control, RDX input GPA, R8 output GPA; RAX comes back as the
	 * status, set by skyvm before the vCPU resumes after the OUT. */
	static const uint8_t code[] = {
		0xe6, HV_HYPERCALL_PORT, /* out %al, $port */
		0xc3,                    /* ret */
	};

	if (max < sizeof(code))
		return 0;
	memcpy(buf, code, sizeof(code));
	/* The rest of the page traps if anything jumps there. */
	memset(buf + sizeof(code), 0xcc, max - sizeof(code));
	return sizeof(code);
}

int hv_hyperv_rdmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t *ret)
{
	int r = 0;

	pthread_mutex_lock(&hv->lock);
	switch (msr) {
	case HV_MSR_GUEST_OS_ID: *ret = hv->guest_os_id; break;
	case HV_MSR_HYPERCALL: *ret = hv->hypercall; break;
	case HV_MSR_VP_INDEX: *ret = vp->index; break;
	case HV_MSR_TIME_REF_COUNT: *ret = (now_ns() - hv->start_ns) / 100; break;
	case HV_MSR_REFERENCE_TSC: *ret = hv->reference_tsc; break;
	case HV_MSR_TSC_FREQUENCY: *ret = hv->tsc_hz; break;
	case HV_MSR_APIC_FREQUENCY: *ret = HV_APIC_FREQUENCY_HZ; break;
	case HV_MSR_VP_ASSIST_PAGE: *ret = vp->vp_assist; break;
	case HV_MSR_SCONTROL: *ret = vp->scontrol; break;
	case HV_MSR_SVERSION: *ret = 1; break;
	case HV_MSR_SIEFP: *ret = vp->siefp; break;
	case HV_MSR_SIMP: *ret = vp->simp; break;
	case HV_MSR_EOM: *ret = 0; break;
	case HV_MSR_TSC_INVARIANT_CONTROL: *ret = 0; break;
	default:
		if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15)
			*ret = vp->sint[msr - HV_MSR_SINT0];
		else
			r = -EINVAL;
	}
	pthread_mutex_unlock(&hv->lock);
	return r;
}

/* Writing the hypercall MSR with enable set puts the code in the page it
 * names (TLFS §3.13). */
static int hypercall_write(struct hv_hyperv *hv, uint64_t val)
{
	if (val & HYPERCALL_ENABLE) {
		uint64_t gpa = val & ~0xfffull;
		uint8_t *page = hv_gpa_to_host(hv->mem, gpa, 4096);

		if (!page)
			return -EINVAL;
		hv_hyperv_hypercall_code(page, 4096);
	}
	/* Bits 1 (locked) and 11:2 are kept as written by the guest. */
	hv->hypercall = val;
	return 0;
}

int hv_hyperv_wrmsr(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t msr, uint64_t val)
{
	int r = 0;

	pthread_mutex_lock(&hv->lock);
	switch (msr) {
	case HV_MSR_GUEST_OS_ID:
		hv->guest_os_id = val;
		/* Clearing the guest OS id disables the hypercall page. */
		if (!val)
			hv->hypercall &= ~HYPERCALL_ENABLE;
		break;
	case HV_MSR_HYPERCALL:
		r = hv->guest_os_id ? hypercall_write(hv, val) : -EINVAL;
		break;
	case HV_MSR_REFERENCE_TSC:
		hv->reference_tsc = val;
		break;
	case HV_MSR_VP_ASSIST_PAGE:
		/* Accepted though not advertised: Linux 6.1 hv_cpu_init() writes
		 * it on every CPU (research §1.B.6). */
		vp->vp_assist = val;
		break;
	case HV_MSR_SCONTROL: vp->scontrol = val; break;
	case HV_MSR_SIEFP: vp->siefp = val; break;
	case HV_MSR_SIMP: vp->simp = val; break;
	case HV_MSR_EOM: break;
	case HV_MSR_TSC_INVARIANT_CONTROL: break;
	default:
		if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15)
			vp->sint[msr - HV_MSR_SINT0] = val;
		else
			r = -EINVAL; /* read-only or unknown */
	}
	pthread_mutex_unlock(&hv->lock);
	return r;
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include "hyperv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* CPUID.0x40000003 bits (research §1.A; TLFS §2.4.4). */
#define HV_FEAT_TIME_REF_COUNT   (1u << 1)
#define HV_FEAT_SYNIC            (1u << 2)
#define HV_FEAT_REFERENCE_TSC    (1u << 9)
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
#define SINT_VECTOR(v) ((uint8_t)((v) & 0xff))
#define SCONTROL_ENABLE (1ull << 0)
#define SIMP_ENABLE (1ull << 0)   /* also SIEFP's enable bit */
#define PAGE_GPA(v) ((v) & ~0xfffull)

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

void hv_hyperv_set_ops(struct hv_hyperv *hv, const struct hv_hyperv_ops *ops, void *data)
{
	pthread_mutex_lock(&hv->lock);
	hv->ops = ops;
	hv->ops_data = data;
	pthread_mutex_unlock(&hv->lock);
}

int hv_hyperv_vp_init(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint32_t index)
{
	if (index >= HV_MAX_VPS)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->index = index;
	/* SINTs come out of reset masked (TLFS §11.8.4). */
	for (unsigned i = 0; i < HV_SYNIC_SINT_COUNT; i++)
		vp->sint[i] = SINT_MASKED;
	vp->queue = calloc(HV_SYNIC_QUEUE_MAX, sizeof(*vp->queue));
	if (!vp->queue)
		return -ENOMEM;
	pthread_mutex_lock(&hv->lock);
	hv->vps[index] = vp;
	if (index >= hv->nvps)
		hv->nvps = index + 1;
	pthread_mutex_unlock(&hv->lock);
	return 0;
}

void hv_hyperv_vp_finish(struct hv_hyperv_vp *vp)
{
	free(vp->queue);
	vp->queue = NULL;
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
	 * MSRs, an invariant TSC, the reference counter with its TSC page,
	 * the SynIC and the PostMessage / SignalEvent hypercalls.
	 * TIME_REF_COUNT is needed by hv_utils' time sync (hv_util.c
	 * hv_timesync_init() wants hv_read_reference_counter); it comes with
	 * REFERENCE_TSC, because the counter alone would make sched_clock an
	 * MSR exit per call (drivers/clocksource/hyperv_timer.c
	 * hv_init_clocksource(), research §1.B.8).  With TSC_INVARIANT Linux
	 * rates the Hyper-V clocksources below the TSC and keeps the TSC.
	 * Never synthetic timers (bit 3): the LAPIC timer is cheaper here.
	 */
	r |= add_leaf(c, 0x40000003,
		      HV_FEAT_TIME_REF_COUNT | HV_FEAT_SYNIC | HV_FEAT_HYPERCALL |
			      HV_FEAT_VP_INDEX | HV_FEAT_REFERENCE_TSC | HV_FEAT_FREQUENCY_MSRS |
			      HV_FEAT_TSC_INVARIANT,
		      HV_FEAT_EBX_POST_MESSAGES | HV_FEAT_EBX_SIGNAL_EVENTS, 0,
		      HV_FEAT_EDX_FREQUENCY_MSRS_AVAILABLE);
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

static void synic_deliver(struct hv_hyperv *hv, struct hv_hyperv_vp *vp);

/*
 * The reference TSC page (TLFS §12.7.3; struct ms_hyperv_tsc_page):
 * reference time in 100 ns = ((TSC * scale) >> 64) + offset.  The guest's
 * TSC counts from its creation at tsc_hz, so the offset is 0 and the
 * reference time is the guest's uptime, as TIME_REF_COUNT's is.  A
 * sequence of 0 tells the guest to use the MSR instead (no frequency).
 */
void hv_hyperv_tsc_page(uint64_t tsc_hz, struct hv_tsc_page *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!tsc_hz)
		return;
	ret->tsc_sequence = 1;
	ret->tsc_scale = (uint64_t)(((unsigned __int128)10000000u << 64) / tsc_hz);
	ret->tsc_offset = 0;
}

static int reference_tsc_write(struct hv_hyperv *hv, uint64_t val)
{
	struct hv_tsc_page page;
	void *p;

	if (val & 1) {
		p = hv_gpa_to_host(hv->mem, PAGE_GPA(val), 4096);
		if (!p)
			return -EINVAL;
		hv_hyperv_tsc_page(hv->tsc_hz, &page);
		memcpy(p, &page, sizeof(page));
	}
	hv->reference_tsc = val;
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
		r = reference_tsc_write(hv, val);
		break;
	case HV_MSR_VP_ASSIST_PAGE:
		/* Accepted though not advertised: Linux 6.1 hv_cpu_init() writes
		 * it on every CPU (research §1.B.6). */
		vp->vp_assist = val;
		break;
	/* Enabling the SynIC, a SIMP page or a SINT may let queued messages
	 * in; EOM says the guest freed a slot that had msg_pending set. */
	case HV_MSR_SCONTROL:
		vp->scontrol = val;
		synic_deliver(hv, vp);
		break;
	case HV_MSR_SIEFP: vp->siefp = val; break;
	case HV_MSR_SIMP:
		vp->simp = val;
		synic_deliver(hv, vp);
		break;
	case HV_MSR_EOM:
		vp->eoms++;
		synic_deliver(hv, vp);
		break;
	case HV_MSR_TSC_INVARIANT_CONTROL: break;
	default:
		if (msr >= HV_MSR_SINT0 && msr <= HV_MSR_SINT15) {
			vp->sint[msr - HV_MSR_SINT0] = val;
			synic_deliver(hv, vp);
		} else {
			r = -EINVAL; /* read-only or unknown */
		}
	}
	pthread_mutex_unlock(&hv->lock);
	return r;
}

/*
 * SynIC message delivery (TLFS §11.10.3), under hv->lock.
 *
 * The guest frees a slot by setting message_type to NONE, then, after a
 * full barrier, writes EOM only if msg_pending was set (Linux:
 * include/asm-generic/mshyperv.h vmbus_signal_eom()).  We mirror that:
 * finding a slot busy, we set msg_pending, then after a full barrier look
 * at message_type again.  Either we see it free and deliver now, or the
 * guest sees msg_pending and sends EOM, which brings us back here.  The
 * slot lives in ordinary guest RAM the guest chose (Linux allocates its
 * SIMP page), written directly as KVM's synic_deliver_msg() does.
 */
static bool slot_deliver(struct hv_hyperv *hv, struct hv_hyperv_vp *vp,
			 const struct hv_synic_pending *m, bool more)
{
	struct hv_message *slot;
	uint32_t type;

	slot = hv_gpa_to_host(hv->mem, PAGE_GPA(vp->simp) + (uint64_t)m->sint * HV_MESSAGE_SIZE,
			      HV_MESSAGE_SIZE);
	if (!slot)
		return false;
	type = __atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE);
	if (type != HV_MESSAGE_NONE) {
		__atomic_fetch_or(&slot->message_flags, HV_MESSAGE_FLAG_PENDING, __ATOMIC_SEQ_CST);
		type = __atomic_load_n(&slot->message_type, __ATOMIC_SEQ_CST);
		if (type != HV_MESSAGE_NONE)
			return false;
	}
	memcpy(slot->payload, m->payload, m->len);
	slot->payload_size = m->len;
	/* More waiting behind this one: have the guest EOM when done. */
	slot->message_flags = more ? HV_MESSAGE_FLAG_PENDING : 0;
	slot->reserved = 0;
	slot->sender = 0;
	__atomic_store_n(&slot->message_type, m->type, __ATOMIC_RELEASE);
	return true;
}

static void synic_deliver(struct hv_hyperv *hv, struct hv_hyperv_vp *vp)
{
	uint32_t blocked = 0, raise = 0;
	unsigned kept = 0;

	if (!vp->nqueued)
		return;
	if (!(vp->scontrol & SCONTROL_ENABLE) || !(vp->simp & SIMP_ENABLE))
		return;
	for (unsigned i = 0; i < vp->nqueued; i++) {
		struct hv_synic_pending *m = &vp->queue[i];
		bool more = false;

		if (!(blocked & (1u << m->sint)) && !(vp->sint[m->sint] & SINT_MASKED)) {
			for (unsigned j = i + 1; j < vp->nqueued && !more; j++)
				more = vp->queue[j].sint == m->sint;
			if (slot_deliver(hv, vp, m, more)) {
				vp->delivered++;
				raise |= 1u << m->sint;
				/* One message per slot until the guest frees it. */
				blocked |= 1u << m->sint;
				continue;
			}
		}
		/* Messages of a SINT stay in order behind the first that waits. */
		blocked |= 1u << m->sint;
		if (kept != i)
			vp->queue[kept] = *m;
		kept++;
	}
	vp->nqueued = kept;
	for (unsigned s = 0; s < HV_SYNIC_SINT_COUNT; s++)
		if ((raise & (1u << s)) && hv->ops && hv->ops->interrupt)
			hv->ops->interrupt(hv->ops_data, vp->index, SINT_VECTOR(vp->sint[s]));
}

int hv_hyperv_post(struct hv_hyperv *hv, uint32_t vpi, uint32_t sint, uint32_t type,
		   const void *payload, size_t len)
{
	struct hv_hyperv_vp *vp;
	struct hv_synic_pending *m;
	int r = 0;

	if (sint >= HV_SYNIC_SINT_COUNT || len > HV_MESSAGE_PAYLOAD_MAX ||
	    type == HV_MESSAGE_NONE)
		return -EINVAL;
	pthread_mutex_lock(&hv->lock);
	vp = vpi < hv->nvps ? hv->vps[vpi] : NULL;
	if (!vp || !vp->queue) {
		r = -EINVAL;
	} else if (vp->nqueued >= HV_SYNIC_QUEUE_MAX) {
		vp->dropped++;
		r = -ENOBUFS;
	} else {
		m = &vp->queue[vp->nqueued++];
		m->sint = (uint8_t)sint;
		m->len = (uint8_t)len;
		m->type = type;
		memcpy(m->payload, payload, len);
		synic_deliver(hv, vp);
	}
	pthread_mutex_unlock(&hv->lock);
	return r;
}

/* TLFS §11.10.2: the flag is set atomically in the SIEF page; the guest
 * clears it with an atomic exchange (Linux: vmbus_chan_sched()). */
int hv_hyperv_signal(struct hv_hyperv *hv, uint32_t vpi, uint32_t sint, uint32_t flag)
{
	struct hv_hyperv_vp *vp;
	uint32_t *word;
	uint8_t vector = 0;
	int r = 0;

	if (sint >= HV_SYNIC_SINT_COUNT || flag >= HV_EVENT_FLAGS_COUNT)
		return -EINVAL;
	pthread_mutex_lock(&hv->lock);
	vp = vpi < hv->nvps ? hv->vps[vpi] : NULL;
	if (!vp) {
		r = -EINVAL;
	} else if (!(vp->scontrol & SCONTROL_ENABLE) || !(vp->siefp & SIMP_ENABLE) ||
		   (vp->sint[sint] & SINT_MASKED)) {
		r = -EAGAIN;
	} else {
		word = hv_gpa_to_host(hv->mem,
				      PAGE_GPA(vp->siefp) + (uint64_t)sint * HV_MESSAGE_SIZE +
					      (flag / 32) * 4,
				      4);
		if (!word) {
			r = -EAGAIN;
		} else {
			__atomic_fetch_or(word, 1u << (flag % 32), __ATOMIC_SEQ_CST);
			vector = SINT_VECTOR(vp->sint[sint]);
		}
	}
	if (r == 0 && hv->ops && hv->ops->interrupt)
		hv->ops->interrupt(hv->ops_data, vpi, vector);
	pthread_mutex_unlock(&hv->lock);
	return r;
}

/*
 * HvPostMessage (TLFS §11.10.1): a 256-byte input page, 8-byte aligned
 * (QEMU checks the same), payload at most 240 bytes.  The input is copied
 * once, so the guest cannot change it under the VMBus host.
 */
static uint16_t hypercall_post_message(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, bool fast,
				       uint64_t input)
{
	struct hv_post_message_input in;
	const struct hv_hyperv_ops *ops;
	void *data;

	if (fast)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (input & 7)
		return HV_STATUS_INVALID_ALIGNMENT;
	if (hv_guest_read(hv->mem, input, &in, sizeof(in)) < 0)
		return HV_STATUS_INVALID_PARAMETER;
	if (in.payload_size > HV_MESSAGE_PAYLOAD_MAX)
		return HV_STATUS_INVALID_PARAMETER;
	/* Types with the high bit set are the hypervisor's own. */
	if (in.message_type == HV_MESSAGE_NONE || (in.message_type & 0x80000000u))
		return HV_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&hv->lock);
	ops = hv->ops;
	data = hv->ops_data;
	pthread_mutex_unlock(&hv->lock);
	if (!ops || !ops->post_message)
		return HV_STATUS_INVALID_CONNECTION_ID;
	return ops->post_message(data, vp->index, in.connection_id, in.message_type, in.payload,
				 in.payload_size);
}

/* HvSignalEvent (TLFS §11.10.2): connection id in bits 23:0 of the input,
 * flag number in bits 47:32 (Linux always passes 0, we accept only 0). */
static uint16_t hypercall_signal_event(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, bool fast,
				       uint64_t input)
{
	const struct hv_hyperv_ops *ops;
	uint64_t param = input;
	void *data;

	if (!fast) {
		if (input & 7)
			return HV_STATUS_INVALID_ALIGNMENT;
		if (hv_guest_read(hv->mem, input, &param, sizeof(param)) < 0)
			return HV_STATUS_INVALID_PARAMETER;
	}
	if ((param >> 32) & 0xffff)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if ((param & 0xffffffffu) >> 24)
		return HV_STATUS_INVALID_HYPERCALL_INPUT; /* reserved bits of the id */
	pthread_mutex_lock(&hv->lock);
	ops = hv->ops;
	data = hv->ops_data;
	pthread_mutex_unlock(&hv->lock);
	if (!ops || !ops->signal_event)
		return HV_STATUS_INVALID_CONNECTION_ID;
	return ops->signal_event(data, vp->index, (uint32_t)(param & 0xffffff));
}

uint64_t hv_hyperv_hypercall(struct hv_hyperv *hv, struct hv_hyperv_vp *vp, uint64_t control,
			     uint64_t input, uint64_t output)
{
	uint16_t code = control & 0xffff;
	bool fast = control & HV_HYPERCALL_FAST_BIT;
	uint16_t status;

	(void)output; /* neither call has output */
	__atomic_fetch_add(&hv->hypercalls, 1, __ATOMIC_RELAXED);
	/* Rep count (bits 43:32), rep start (59:48) and the variable header
	 * size (26:17) must be zero for simple calls (TLFS §3.7). */
	if ((control >> 32) & 0x0fff0fffull || (control >> 17) & 0x3ff) {
		status = HV_STATUS_INVALID_HYPERCALL_INPUT;
	} else {
		switch (code) {
		case HVCALL_POST_MESSAGE:
			status = hypercall_post_message(hv, vp, fast, input);
			break;
		case HVCALL_SIGNAL_EVENT:
			status = hypercall_signal_event(hv, vp, fast, input);
			break;
		default:
			status = HV_STATUS_INVALID_HYPERCALL_CODE;
		}
	}
	if (status != HV_STATUS_SUCCESS && status != HV_STATUS_INSUFFICIENT_BUFFERS)
		__atomic_fetch_add(&hv->bad_hypercalls, 1, __ATOMIC_RELAXED);
	return status;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Hyper-V enlightenments for the VMBus client, in the order Linux 6.1
 * sets them up: detection (arch/x86/kernel/cpu/mshyperv.c
 * ms_hyperv_platform()), guest OS id and hypercall page
 * (arch/x86/hyperv/hv_init.c hyperv_init()), VP index (hv_cpu_init()),
 * SynIC (drivers/hv/hv.c hv_synic_enable_regs()), and the vector 0xf3
 * handler (arch/x86/kernel/cpu/mshyperv.c sysvec_hyperv_callback()).
 * Only the BSP is set up.  Pages come from a pool of usable RAM above the
 * kernel that the caller hands over.
 */
#include "hyperv.h"

struct hv_state hv;
volatile uint64_t hv_vmbus_irqs, hv_timer_irqs;

/* Local APIC (SDM vol. 3 ch. 11): MMIO offsets; x2APIC MSR = 0x800 + off/16. */
#define MSR_APIC_BASE    0x1b
#define APIC_BASE_EXTD   (1ull << 10)
#define APIC_BASE_EN     (1ull << 11)
#define APIC_TPR         0x080
#define APIC_EOI         0x0b0
#define APIC_SVR         0x0f0
#define APIC_SVR_ENABLE  0x100
#define APIC_LVT_TIMER   0x320
#define APIC_LVT_PERIODIC (1u << 17)
#define APIC_TMICT       0x380
#define APIC_TDCR        0x3e0
#define APIC_TDCR_DIV1   0xb

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (hv.x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)phys(hv.apic_base + reg) = v;
}

void hv_zero(void *p, size_t bytes)
{
	volatile uint64_t *q = p;

	for (size_t i = 0; i < bytes / 8; i++)
		q[i] = 0;
}

void hv_pool_init(uint64_t base, uint64_t size)
{
	hv.pool_next = ALIGN_UP(base, 4096);
	hv.pool_end = hv.pool_next < base + size ? ALIGN_DOWN(base + size, 4096) : hv.pool_next;
}

void *hv_alloc_pages(unsigned n)
{
	uint64_t bytes = (uint64_t)n * 4096;
	void *p;

	if (!n || hv.pool_end - hv.pool_next < bytes)
		return NULL;
	p = phys(hv.pool_next);
	hv.pool_next += bytes;
	hv_zero(p, bytes);
	return p;
}

uint64_t hv_ms_to_tsc(uint64_t ms)
{
	uint64_t per_s = hv.tsc_hz ? hv.tsc_hz : TIMEOUT_TSC;

	return per_s / 1000 * ms;
}

void hv_udelay(uint64_t us)
{
	uint64_t per_s = hv.tsc_hz ? hv.tsc_hz : TIMEOUT_TSC;
	uint64_t t = per_s / 1000000 * us;

	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < t;)
		cpu_relax();
}

const char *hv_status_name(uint16_t status)
{
	switch (status) {
	case HV_STATUS_SUCCESS: return "success";
	case HV_STATUS_INVALID_HYPERCALL_CODE: return "invalid hypercall code";
	case 3: return "invalid hypercall input";
	case HV_STATUS_INVALID_ALIGNMENT: return "invalid alignment";
	case HV_STATUS_INVALID_PARAMETER: return "invalid parameter";
	case 6: return "access denied";
	case HV_STATUS_INSUFFICIENT_MEMORY: return "insufficient memory";
	case 17: return "invalid port id";
	case HV_STATUS_INVALID_CONNECTION_ID: return "invalid connection id";
	case HV_STATUS_INSUFFICIENT_BUFFERS: return "insufficient buffers";
	default: return "unknown status";
	}
}

bool hv_init(void)
{
	uint32_t r[4];
	char sig[13];
	uint64_t v;

	/* ms_hyperv_platform(): the hypervisor bit, the "Microsoft Hv"
	 * signature with a sane max leaf, and the two mandatory MSRs. */
	cpuid(1, r);
	if (!(r[2] & (1u << 31))) {
		kprintf("vmbus: no hypervisor (cpuid 1 ecx bit 31 clear)\n");
		return false;
	}
	cpuid(HV_CPUID_VENDOR, r);
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	sig[12] = 0;
	for (unsigned i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < ' ' || sig[i] > '~'))
			sig[i] = '?';
	hv.max_leaf = r[0];
	if (memcmp(sig, "Microsoft Hv", 12) || r[0] < 0x40000005 || r[0] > 0x4000ffff) {
		kprintf("vmbus: not Hyper-V (cpuid 0x40000000: \"%s\" max leaf 0x%x)\n", sig, r[0]);
		return false;
	}
	cpuid(HV_CPUID_FEATURES, r);
	hv.features = r[0];
	hv.features_ebx = r[1];
	hv.features_edx = r[3];
	cpuid(HV_CPUID_HINTS, r);
	hv.hints = r[0];
	kprintf("vmbus: hyperv max leaf 0x%x features 0x%x ebx 0x%x edx 0x%x hints 0x%x\n",
		hv.max_leaf, hv.features, hv.features_ebx, hv.features_edx, hv.hints);
	if (!(hv.features & HV_FEAT_HYPERCALL) || !(hv.features & HV_FEAT_VP_INDEX)) {
		kprintf("vmbus: no %s MSR (cpuid 0x40000003 eax)\n",
			hv.features & HV_FEAT_HYPERCALL ? "VP_INDEX" : "HYPERCALL");
		return false;
	}
	if (!(hv.features & HV_FEAT_SYNIC))
		kprintf("vmbus: SynIC not advertised, using it anyway\n");
	if (!(hv.features_ebx & HV_FEAT_POST_MESSAGES) || !(hv.features_ebx & HV_FEAT_SIGNAL_EVENTS))
		kprintf("vmbus: PostMessages/SignalEvents not advertised, using them anyway\n");

	/* ms_hyperv_init_platform(): frequencies without calibration. */
	if ((hv.features & HV_FEAT_FREQ_MSRS) && (hv.features_edx & (1u << 8))) {
		hv.tsc_hz = rdmsr(HV_MSR_TSC_FREQUENCY);
		hv.apic_hz = rdmsr(HV_MSR_APIC_FREQUENCY);
	}

	/* hyperv_init(): guest OS id first, then the hypercall page. */
	wrmsr(HV_MSR_GUEST_OS_ID, HV_LINUX_VENDOR_ID << 48 | HV_GUEST_OS_VERSION << 16);
	hv.hypercall_page = hv_alloc_pages(1);
	hv.post_input = hv_alloc_pages(1); /* hyperv_pcpu_input_arg */
	if (!hv.hypercall_page || !hv.post_input) {
		kprintf("vmbus: no memory for the hypercall pages\n");
		return false;
	}
	v = rdmsr(HV_MSR_HYPERCALL);
	v = (v & 0xfff) | HV_HYPERCALL_ENABLE | hv_gpa(hv.hypercall_page);
	wrmsr(HV_MSR_HYPERCALL, v);
	v = rdmsr(HV_MSR_HYPERCALL);
	if (!(v & HV_HYPERCALL_ENABLE) || (v & ~0xfffull) != hv_gpa(hv.hypercall_page)) {
		kprintf("vmbus: hypercall MSR reads back 0x%llx\n", (unsigned long long)v);
		return false;
	}
	kprintf("vmbus: hypercall page 0x%llx\n", (unsigned long long)hv_gpa(hv.hypercall_page));

	/* hv_cpu_init(): this CPU's VP index. */
	hv.vp_index = (uint32_t)rdmsr(HV_MSR_VP_INDEX);
	kprintf("vmbus: vp index %u tsc %llu Hz apic %llu Hz\n", hv.vp_index,
		(unsigned long long)hv.tsc_hz, (unsigned long long)hv.apic_hz);
	return true;
}

/* The LAPIC: software-enabled, vector 0xf3 and a periodic tick routed
 * through the IDT, interrupts on. */
static void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uint64_t count = hv.apic_hz / HV_TICK_HZ;

	if (!(base & APIC_BASE_EN)) {
		kprintf("vmbus: local APIC disabled, polling\n");
		return;
	}
	hv.x2apic = base & APIC_BASE_EXTD;
	hv.apic_base = base & 0xffffff000ull;
	idt_set_interrupt(HV_VMBUS_VECTOR, hv_vmbus_irq_entry);
	idt_set_interrupt(HV_TIMER_VECTOR, hv_timer_irq_entry);
	idt_set_interrupt(HV_SPURIOUS_VECTOR, hv_spurious_irq_entry);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | HV_SPURIOUS_VECTOR);
	if (!count)
		count = 10000000; /* KVM's LAPIC counts at 1 GHz: 10 ms */
	if (count > 0xffffffffull)
		count = 0xffffffffull;
	apic_write(APIC_TDCR, APIC_TDCR_DIV1);
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | HV_TIMER_VECTOR);
	apic_write(APIC_TMICT, (uint32_t)count);
	hv.irqs = true;
	hv.timer = true;
	asm volatile("sti" ::: "memory");
}

void hv_synic_init(void)
{
	uint64_t v;

	hv.simp = hv_alloc_pages(1);
	hv.siefp = hv_alloc_pages(1);
	if (!hv.simp || !hv.siefp) {
		kprintf("vmbus: FAILED: no memory for the SynIC pages\n");
		triple_fault();
	}
	/* Linux enables the vector's handler before it unmasks the SINT. */
	lapic_init();

	v = rdmsr(HV_MSR_SIMP);
	wrmsr(HV_MSR_SIMP, (v & 0xffe) | HV_SYNIC_ENABLE | hv_gpa(hv.simp));
	v = rdmsr(HV_MSR_SIEFP);
	wrmsr(HV_MSR_SIEFP, (v & 0xffe) | HV_SYNIC_ENABLE | hv_gpa(hv.siefp));
	/* auto_eoi = !(hints & HV_DEPRECATING_AEOI_RECOMMENDED) */
	hv.auto_eoi = !(hv.hints & HV_HINT_DEPRECATING_AEOI);
	v = rdmsr(HV_MSR_SINT0 + HV_VMBUS_SINT);
	v &= ~(0xffull | HV_SINT_MASKED | HV_SINT_AUTO_EOI);
	v |= HV_VMBUS_VECTOR | (hv.auto_eoi ? HV_SINT_AUTO_EOI : 0);
	wrmsr(HV_MSR_SINT0 + HV_VMBUS_SINT, v);
	v = rdmsr(HV_MSR_SCONTROL);
	wrmsr(HV_MSR_SCONTROL, v | HV_SYNIC_ENABLE);
	kprintf("vmbus: synic on: simp 0x%llx siefp 0x%llx sint%u vector 0x%x auto_eoi %u%s\n",
		(unsigned long long)hv_gpa(hv.simp), (unsigned long long)hv_gpa(hv.siefp),
		HV_VMBUS_SINT, HV_VMBUS_VECTOR, hv.auto_eoi, hv.x2apic ? " x2apic" : "");
}

/* sysvec_hyperv_callback(): the work is done by the polling loop; count,
 * and EOI unless the SINT does it. */
void hv_vmbus_irq(void)
{
	hv_vmbus_irqs++;
	if (!hv.auto_eoi)
		apic_write(APIC_EOI, 0);
}

void hv_timer_irq(void)
{
	hv_timer_irqs++;
	apic_write(APIC_EOI, 0);
}

void hv_idle(bool (*pending)(void))
{
	if (!hv.irqs || !hv.timer) {
		cpu_relax();
		return;
	}
	/* sti's one-instruction shadow covers hlt: an interrupt that arrives
	 * after the check still ends the hlt. */
	asm volatile("cli" ::: "memory");
	if (pending && pending())
		asm volatile("sti" ::: "memory");
	else
		asm volatile("sti; hlt" ::: "memory");
}

uint64_t hv_hypercall(uint64_t control, uint64_t input, uint64_t output)
{
	register uint64_t r8 asm("r8") = output;
	uint64_t status;

	/* arch/x86/include/asm/mshyperv.h hv_do_hypercall(). */
	asm volatile("call *%[page]"
		     : "=a"(status), "+c"(control), "+d"(input), "+r"(r8)
		     : [page] "r"(hv.hypercall_page)
		     : "cc", "memory", "r9", "r10", "r11");
	return status;
}

uint16_t hv_post_message(uint32_t conn_id, uint32_t type, const void *payload, uint32_t size)
{
	struct hv_input_post_message *in = hv.post_input;

	/* hv_post_message(): -EMSGSIZE before any hypercall. */
	if (size > HV_MESSAGE_PAYLOAD_BYTE_COUNT)
		return HV_STATUS_INVALID_PARAMETER;
	in->connectionid = conn_id;
	in->reserved = 0;
	in->message_type = type;
	in->payload_size = size;
	memcpy(in->payload, payload, size);
	return (uint16_t)hv_hypercall(HVCALL_POST_MESSAGE, hv_gpa(in), 0);
}

uint16_t hv_signal_event(uint32_t conn_id)
{
	return (uint16_t)hv_hypercall(HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT, conn_id, 0);
}

void hv_signal_eom(volatile struct hv_message *m, uint32_t old_type)
{
	uint32_t expected = old_type;

	/* cmpxchg: only free the slot we read; it is also the barrier that
	 * orders the free before reading msg_pending. */
	if (!__atomic_compare_exchange_n((uint32_t *)&m->header.message_type, &expected, HVMSG_NONE,
					 false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	if (m->header.message_flags & HV_MSG_PENDING)
		wrmsr(HV_MSR_EOM, 0);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Waking the APs through the ACPI 6.4 §5.2.12.19 Multiprocessor Wakeup
 * mailbox (INIT/SIPI needs real mode, which this KVM cannot run).  One AP at
 * a time: the BSP publishes the AP's index and stack, writes ApicId and
 * WakeupVector, then Command = 1 (wakeup), waits for the VMM to clear
 * Command (accepted), then for the AP to check in.  The mailbox may be
 * MMIO: only volatile 16/32/64-bit accesses.
 */
#include "kernel.h"

#define MB_COMMAND 0  /* u16 */
#define MB_APIC_ID 4  /* u32 */
#define MB_VECTOR  8  /* u64 */
#define MB_CMD_WAKEUP 1

static volatile uint32_t ap_ready;

static bool wait_until(volatile uint32_t *p, uint32_t v)
{
	for (uint64_t t0 = rdtsc(); *p != v;) {
		if (rdtsc() - t0 > TIMEOUT_TSC)
			return false;
		cpu_relax();
	}
	return true;
}

static bool mailbox_wake(uint64_t mailbox, uint32_t apic_id)
{
	volatile uint8_t *mb = phys(mailbox);
	volatile uint16_t *cmd = (volatile uint16_t *)(mb + MB_COMMAND);

	*(volatile uint32_t *)(mb + MB_APIC_ID) = apic_id;
	*(volatile uint64_t *)(mb + MB_VECTOR) = (uint64_t)(uintptr_t)ap_entry64;
	*cmd = MB_CMD_WAKEUP;
	for (uint64_t t0 = rdtsc(); *cmd != 0;) {
		if (rdtsc() - t0 > TIMEOUT_TSC)
			return false;
		cpu_relax();
	}
	return true;
}

/*
 * Wake up to max_cpus - 1 APs (0: all); returns the number of CPUs online.
 * The BSP is taken to be the MADT's first enabled processor (ACPI 6.4
 * §5.2.12: firmware lists the boot processor first).
 */
uint32_t smp_boot(const struct acpi_info *a, uint32_t max_cpus)
{
	uint32_t n = a->ncpus < GUEST_MAX_CPUS ? a->ncpus : GUEST_MAX_CPUS;
	uint32_t online = 1;

	if (max_cpus == 0 || max_cpus > n)
		max_cpus = n;
	if (max_cpus <= 1)
		return 1;
	if (!a->mailbox || a->mailbox >= MAPPED_END) {
		kprintf("smp: no wakeup mailbox\n");
		return 1;
	}

	for (uint32_t i = 1; i < n && online < max_cpus; i++) {
		uint32_t k = online;
		struct cpu *c = &cpu_areas[k].cpu;

		c->apic_id = a->apic_ids[i];
		c->job = &guest_jobs[k];
		ap_boot_cpu = k;
		ap_boot_stack = (uint64_t)(uintptr_t)c + CPU_SIZE;
		ap_ready = 0;
		asm volatile("" ::: "memory");
		if (!mailbox_wake(a->mailbox, c->apic_id)) {
			kprintf("cpu %u: wakeup not accepted\n", k);
			break;
		}
		if (!wait_until(&ap_ready, 1)) {
			kprintf("cpu %u: no response\n", k);
			break;
		}
		kprintf("cpu %u: online\n", k);
		online++;
	}
	return online;
}

void ap_main(uint32_t index)
{
	struct cpu *c = &cpu_areas[index].cpu;

	cpu_init(c, index);
	ap_ready = 1;
	enter_user((void (*)(void *))user_ap_main, c->job, user_stack_top(index));
	/* Done: park.  Interrupts stay off, so this hlt never returns. */
	for (;;)
		asm volatile("cli; hlt");
}

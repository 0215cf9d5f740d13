// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The test guest's kernel: boot information, descriptor tables, ACPI, the
 * APs, then the memory workload at CPL3, then power off.  Output lines are
 * an interface (README.md); keep them stable.
 */
#include "checksum.h"
#include "kernel.h"
#include "vmbus.h"

#define E820_MAX 128
#define CMDLINE_MAX 4096

struct e820 {
	uint64_t addr, size;
	uint32_t type;
};

struct options {
	uint64_t fill_mib;
	uint32_t cpus; /* 0: all */
	char fault;    /* 'p'f, 'u'd, 'g'p or 0 */
	bool panic, noexit, reboot, echo, insn_test;
	uint8_t vmbus; /* 0, 1 "vmbus", 2 "vmbus=hostile", 3 "vmbus=bench",
			* 4 "desktop", 5 "desktop=anim", 6 "desktop=hostile",
			* 7 "desktop=office" */
};

struct guest_job guest_jobs[GUEST_MAX_CPUS] __noinit;

static struct e820 e820[E820_MAX] __noinit;
static uint32_t n_e820;
static char cmdline[CMDLINE_MAX] __noinit;
static uint64_t rsdp_hint;

static void e820_add(uint64_t addr, uint64_t size, uint32_t type)
{
	if (n_e820 < E820_MAX)
		e820[n_e820++] = (struct e820){ addr, size, type };
}

static void cmdline_copy(uint64_t gpa)
{
	const char *s = phys(gpa);
	size_t i = 0;

	if (gpa && gpa < MAPPED_END - CMDLINE_MAX)
		for (; i < CMDLINE_MAX - 1 && s[i]; i++)
			cmdline[i] = s[i];
	cmdline[i] = '\0';
}

/* struct boot_params (arch/x86/include/uapi/asm/bootparam.h). */
static void boot_linux(const uint8_t *bp)
{
	uint32_t n = bp[0x1e8]; /* e820_entries */

	for (uint32_t i = 0; i < n && i < E820_MAX; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i; /* e820_table */
		e820_add(rd64(e), rd64(e + 8), rd32(e + 16));
	}
	/* hdr.cmd_line_ptr | ext_cmd_line_ptr << 32 */
	cmdline_copy(rd32(bp + 0x228) | (uint64_t)rd32(bp + 0x0c8) << 32);
	rsdp_hint = rd64(bp + 0x070); /* acpi_rsdp_addr */
}

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
static void boot_pvh(const uint8_t *si)
{
	if (rd32(si) != 0x336ec578) {
		kprintf("pvh: bad start_info magic\n");
		cmdline_copy(0);
		return;
	}
	cmdline_copy(rd64(si + 24));
	rsdp_hint = rd64(si + 32);
	if (rd32(si + 4) >= 1) { /* version 1: the memory map */
		uint64_t map = rd64(si + 40);
		uint32_t n = rd32(si + 48);

		for (uint32_t i = 0; map && i < n && i < E820_MAX; i++) {
			const uint8_t *e = phys(map + 24 * i);
			e820_add(rd64(e), rd64(e + 8), rd32(e + 16));
		}
	}
}

static bool parse_u64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

static bool word_is(const char *s, const char *end, const char *w)
{
	for (; s < end && *w; s++, w++)
		if (*s != *w)
			return false;
	return s == end && !*w;
}

static void options_parse(struct options *o)
{
	*o = (struct options){ .fill_mib = 16 };

	for (const char *s = cmdline; *s;) {
		const char *end, *eq;
		uint64_t v;

		while (*s == ' ')
			s++;
		for (end = s; *end && *end != ' '; end++)
			;
		for (eq = s; eq < end && *eq != '='; eq++)
			;
		if (word_is(s, end, "panic")) {
			o->panic = true;
		} else if (word_is(s, end, "noexit")) {
			o->noexit = true;
		} else if (word_is(s, end, "reboot")) {
			o->reboot = true;
		} else if (word_is(s, end, "echo")) {
			o->echo = true;
		} else if (word_is(s, end, "insn-test")) {
			o->insn_test = true;
		} else if (word_is(s, end, "vmbus")) {
			o->vmbus = 1;
		} else if (word_is(s, eq, "vmbus") && eq < end) {
			if (word_is(eq + 1, end, "hostile"))
				o->vmbus = 2;
			else if (word_is(eq + 1, end, "bench"))
				o->vmbus = 3;
		} else if (word_is(s, end, "desktop")) {
			o->vmbus = 4;
		} else if (word_is(s, eq, "desktop") && eq < end && word_is(eq + 1, end, "anim")) {
			o->vmbus = 5;
		} else if (word_is(s, eq, "desktop") && eq < end && word_is(eq + 1, end, "hostile")) {
			o->vmbus = 6;
		} else if (word_is(s, eq, "desktop") && eq < end && word_is(eq + 1, end, "office")) {
			o->vmbus = 7;
		} else if (word_is(s, eq, "fill")) {
			if (eq < end && parse_u64(eq + 1, end, &v))
				o->fill_mib = v;
		} else if (word_is(s, eq, "cpus")) {
			if (eq < end && parse_u64(eq + 1, end, &v))
				o->cpus = v > GUEST_MAX_CPUS ? GUEST_MAX_CPUS : (uint32_t)v;
		} else if (word_is(s, eq, "fault") && eq < end) {
			if (word_is(eq + 1, end, "pf") || word_is(eq + 1, end, "ud") ||
			    word_is(eq + 1, end, "gp"))
				o->fault = eq[1];
		}
		s = end;
	}
}

static void fault(char kind)
{
	switch (kind) {
	case 'p': /* #PF: 64 GiB is beyond our page tables */
		(void)*(volatile uint64_t *)phys(0x1000000000ull);
		break;
	case 'g': /* #GP: a non-canonical address */
		(void)*(volatile uint64_t *)phys(0x8000000000000000ull);
		break;
	case 'u': /* #UD */
		asm volatile("ud2");
		break;
	}
}

static const char *e820_name(uint32_t type)
{
	switch (type) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI data";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	default: return NULL;
	}
}

/* The largest usable stretch in [kernel end, MAPPED_END), 2 MiB aligned. */
static uint64_t fill_region(uint64_t *ret_size)
{
	uint64_t lo = ALIGN_UP((uint64_t)(uintptr_t)__kernel_end, SZ_2M);
	uint64_t best = 0, best_size = 0;

	for (uint32_t i = 0; i < n_e820; i++) {
		uint64_t s = e820[i].addr, e = e820[i].addr + e820[i].size;

		if (e820[i].type != 1 || e <= s)
			continue;
		s = ALIGN_UP(s < lo ? lo : s, SZ_2M);
		e = ALIGN_DOWN(e > MAPPED_END ? MAPPED_END : e, SZ_2M);
		if (e > s && e - s > best_size) {
			best = s;
			best_size = e - s;
		}
	}
	*ret_size = best_size;
	return best;
}

static void workload(const struct options *o, uint32_t ncpus)
{
	uint64_t size, base = fill_region(&size), mib = o->fill_mib;
	uint64_t words;

	if (mib > size / MIB) {
		kprintf("fill: %llu MiB does not fit, using %llu MiB\n", (unsigned long long)mib,
			(unsigned long long)(size / MIB));
		mib = size / MIB;
	}
	words = mib * SKYGUEST_WORDS_PER_MIB;

	for (uint32_t k = 0; k < ncpus; k++) {
		struct guest_job *j = &guest_jobs[k];

		j->base = base;
		j->first = words * k / ncpus;
		j->count = words * (k + 1) / ncpus - j->first;
		j->ncpus = ncpus;
		j->result = 0;
		j->done = 0;
		asm volatile("" ::: "memory");
		j->go = 1;
	}
	enter_user((void (*)(void *))user_bsp_main, guest_jobs, user_stack_top(0));
	kprintf("checksum: 0x%016llx (%llu MiB)\n", (unsigned long long)guest_jobs[0].result,
		(unsigned long long)mib);
}

/*
 * "echo": answer each line received on COM1 with "echo: <line>" until the
 * line "poweroff" (for console tests of the VMM).  Polls at CPL0: one exit
 * per LSR read, so only for tests.
 */
static void echo_lines(void)
{
	char line[128];
	unsigned n = 0;

	kprintf("echo: ready\n");
	for (;;) {
		int c = serial_getc();

		if (c < 0) {
			cpu_relax();
			continue;
		}
		if (c == '\r' || c == '\n') {
			line[n] = 0;
			if (n)
				kprintf("echo: %s\n", line);
			if (n == 8 && word_is(line, line + 8, "poweroff"))
				return;
			n = 0;
		} else if (n < sizeof(line) - 1) {
			line[n++] = (char)c;
		}
	}
}

/* "vmbus": the VMBus client (vmbus.c) takes over after the workload,
 * with the fill region as its memory; it never returns. */
static __noreturn void run_vmbus(const struct acpi_info *acpi, uint8_t mode)
{
	struct vmbus_config c = { .acpi = acpi, .hostile = mode == 2, .bench = mode == 3,
				  .desktop = mode >= 4 ? mode - 3 : 0 };

	c.mem_base = fill_region(&c.mem_size);
	for (uint32_t i = 0; i < n_e820; i++)
		if (e820[i].type == 1 && e820[i].addr + e820[i].size > c.ram_end)
			c.ram_end = e820[i].addr + e820[i].size;
	vmbus_main(&c);
}

__noreturn void kmain(uint32_t kind, uint64_t ptr);

void kmain(uint32_t kind, uint64_t ptr)
{
	struct cpu *bsp = &cpu_areas[0].cpu;
	struct acpi_info acpi;
	struct options o;
	uint32_t ncpus;

	for (uint32_t k = 0; k < GUEST_MAX_CPUS; k++)
		guest_jobs[k].go = 0;
	bsp->job = &guest_jobs[0];
	bsp->apic_id = 0;
	idt_init();
	cpu_init(bsp, 0);

	if (kind == BOOT_LINUX && ptr)
		boot_linux(phys(ptr));
	else if (kind == BOOT_PVH && ptr)
		boot_pvh(phys(ptr));
	else
		cmdline_copy(0);
	options_parse(&o);

	kprintf("Skylight test guest 1 (boot: %s)\n", kind == BOOT_PVH ? "pvh" : "linux");
	if (o.panic)
		triple_fault();
	if (o.fault)
		fault(o.fault);
	if (o.insn_test)
		insn_test();

	for (uint32_t i = 0; i < n_e820; i++) {
		const char *name = e820_name(e820[i].type);

		if (!e820[i].size)
			continue;
		kprintf("e820: [mem 0x%016llx-0x%016llx] ", (unsigned long long)e820[i].addr,
			(unsigned long long)(e820[i].addr + e820[i].size - 1));
		if (name)
			kprintf("%s\n", name);
		else
			kprintf("type %u\n", e820[i].type);
	}
	kprintf("cmdline: %s\n", cmdline);

	acpi_init(rsdp_hint, &acpi);
	kprintf("cpus: %u\n", acpi.ncpus);
	ncpus = smp_boot(&acpi, o.cpus);

	workload(&o, ncpus);
	if (o.vmbus)
		run_vmbus(&acpi, o.vmbus);
	if (o.echo)
		echo_lines();
	if (o.reboot)
		acpi_reset(&acpi);
	if (o.noexit)
		enter_user((void (*)(void *))user_spin, NULL, user_stack_top(0));
	acpi_power_off(&acpi);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Per-CPU descriptor tables: one shared GDT (head.S) with a TSS per CPU,
 * one shared IDT with the 32 exception vectors, our own page tables.
 */
#include "kernel.h"

_Static_assert(__builtin_offsetof(struct cpu, kernel_rsp) == CPU_KERNEL_RSP, "x86.h");
_Static_assert(__builtin_offsetof(struct cpu, tss) == CPU_TSS, "x86.h");
_Static_assert(sizeof(struct tss) == 104, "TSS");
_Static_assert(sizeof(union cpu_area) == CPU_SIZE, "x86.h");

union cpu_area cpu_areas[GUEST_MAX_CPUS] __noinit __attribute__((aligned(CPU_SIZE)));
static uint8_t user_stacks[GUEST_MAX_CPUS][USER_STACK_SIZE] __noinit
	__attribute__((aligned(16)));

struct idt_gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t type; /* P, DPL, 0xe = 64-bit interrupt gate */
	uint16_t offset1;
	uint32_t offset2;
	uint32_t reserved;
};

/* Vectors >= 32 are outside the limit: a stray interrupt becomes #GP with
 * error code (vector << 3) | 2, which exception_handler() reports.  Only
 * idt_set_interrupt() (the VMBus client) widens the limit to all 256. */
static struct idt_gate idt[256] __noinit;

struct idt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static const struct idt_desc idt_desc = { 32 * sizeof(idt[0]) - 1, (uint64_t)(uintptr_t)idt };
static const struct idt_desc idt_desc_full = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
static bool idt_full;

extern uint64_t pml4[];

void idt_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		uint64_t a = exception_stubs[v];

		idt[v] = (struct idt_gate){
			.offset0 = (uint16_t)a,
			.selector = KERNEL_CS,
			.type = v == 3 ? 0xee : 0x8e, /* int3: DPL 3, the system call */
			.offset1 = (uint16_t)(a >> 16),
			.offset2 = (uint32_t)(a >> 32),
		};
	}
}

/* An interrupt gate (DPL 0) for vector v >= 32, and this CPU's IDT limit
 * widened to all 256 vectors: the others are not present, so a stray
 * interrupt becomes #NP (exception 11) with error code (vector << 3) | 2. */
void idt_set_interrupt(uint8_t v, void (*handler)(void))
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	if (!idt_full) {
		memset(&idt[32], 0, sizeof(idt) - 32 * sizeof(idt[0]));
		idt_full = true;
	}
	idt[v] = (struct idt_gate){
		.offset0 = (uint16_t)a,
		.selector = KERNEL_CS,
		.type = 0x8e,
		.offset1 = (uint16_t)(a >> 16),
		.offset2 = (uint32_t)(a >> 32),
	};
	asm volatile("lidt %0" : : "m"(idt_desc_full) : "memory");
}

void *user_stack_top(uint32_t index)
{
	return user_stacks[index] + USER_STACK_SIZE;
}

void cpu_init(struct cpu *c, uint32_t index)
{
	uint64_t base = (uint64_t)(uintptr_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;
	uint64_t *d = &gdt[GDT_FIXED + 2 * index];
	uint64_t cr4;

	c->index = index;
	c->tss = (struct tss){
		.rsp = { (uint64_t)(uintptr_t)c + CPU_SIZE },
		.iomap_base = sizeof(struct tss), /* no I/O bitmap */
	};
	/* 64-bit available TSS (type 9), present. */
	d[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
	       (limit >> 16) << 48 | ((base >> 24) & 0xff) << 56;
	d[1] = base >> 32;

	/* Kernel code runs on user pages: SMEP/SMAP must be off. */
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & (CR4_SMEP | CR4_SMAP))
		asm volatile("mov %0, %%cr4" : : "r"(cr4 & ~(uint64_t)(CR4_SMEP | CR4_SMAP)));

	load_gdt();
	asm volatile("ltr %w0" : : "r"(TSS_SEL0 + 16 * index));
	asm volatile("lidt %0" : : "m"(idt_desc));
	asm volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
}

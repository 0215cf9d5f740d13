/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The test guest's kernel (CPL0): keep it small, it is emulated here. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "x86.h"

#define __noreturn __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))
/* Zeroed by nobody (the loader's bss zeroing is not relied on): for data
 * the kernel initialises before use, so the boot path need not clear it. */
#define __noinit __attribute__((section(".bss.noinit")))

#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define MIB (1ull << 20)
#define SZ_2M (2ull << 20)

/* Unaligned little-endian loads from tables handed to us. */
static inline uint16_t rd16(const void *p)
{
	uint16_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t rd32(const void *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd64(const void *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* Identity map: a GPA below MAPPED_END is its own address.  The asm hides
 * constant addresses from gcc's -Warray-bounds (it takes 0x40e for NULL+). */
static inline void *phys(uint64_t gpa)
{
	void *p = (void *)(uintptr_t)gpa;

	asm("" : "+r"(p));
	return p;
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Timeouts count TSC ticks: about a second at 1..4 GHz, whether the code
 * runs natively or at emulation speed. */
#define TIMEOUT_TSC (1ull << 32)

/* 64-bit TSS (SDM vol. 3 §8.7). */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu {
	uint64_t kernel_rsp; /* CPU_KERNEL_RSP: where SYS_EXIT resumes */
	uint32_t index;      /* 0 = the BSP, then in wakeup order */
	uint32_t apic_id;
	struct guest_job *job;
	uint64_t reserved;
	struct tss tss;      /* CPU_TSS */
};

union cpu_area {
	struct cpu cpu;
	uint8_t bytes[CPU_SIZE]; /* the kernel stack grows down from the end */
};

extern union cpu_area cpu_areas[GUEST_MAX_CPUS];

static inline struct cpu *this_cpu(void)
{
	uintptr_t sp;

	asm("mov %%rsp, %0" : "=r"(sp));
	return (struct cpu *)(sp & ~(uintptr_t)(CPU_SIZE - 1));
}

/* Saved by the exception and system-call entries (entry.S). */
struct regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* the CPU's frame */
};

/* Linker script. */
extern char __kernel_start[], __kernel_end[];

/* head.S / entry.S */
extern uint64_t gdt[];
extern const uint64_t exception_stubs[32];
extern volatile uint64_t ap_boot_stack;
extern volatile uint32_t ap_boot_cpu;
void ap_entry64(void);
void load_gdt(void);
/* Enter user mode at entry(arg) on stack top ustack; returns on SYS_EXIT. */
void enter_user(void (*entry)(void *), void *arg, void *ustack);
__noreturn void triple_fault(void);

/* printf.c */
void format(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* serial.c */
void serial_putc(char c);
int serial_getc(void); /* -1 if nothing received */
__printf(1, 2) void kprintf(const char *fmt, ...);

/* cpu.c */
void idt_init(void);
void idt_set_interrupt(uint8_t vector, void (*handler)(void));
void cpu_init(struct cpu *c, uint32_t index);
void *user_stack_top(uint32_t index);

/* traps.c */
void exception_handler(struct regs *r);
extern volatile uint32_t expected_breakpoints; /* traps.c */
/* insntest.c: run instructions a software KVM refuses, at CPL0. */
void insn_test(void);
void syscall_handler(struct regs *r);
/* kernel/desktop.c: SYS_DESKTOP */
uint64_t desktop_syscall(uint64_t arg);

/* acpi.c */
struct acpi_info {
	uint32_t ncpus; /* enabled LAPIC/x2APIC entries (1 without a MADT) */
	uint32_t apic_ids[GUEST_MAX_CPUS]; /* the first GUEST_MAX_CPUS of them */
	uint64_t mailbox;   /* MP wakeup mailbox GPA, 0 if none */
	/* Power off: SLEEP_CONTROL_REG if sleep_ctl, else PM1a_CNT. */
	bool sleep_ctl;
	uint8_t sleep_space; /* GAS address space: 0 memory, 1 I/O */
	uint64_t sleep_addr;
	uint16_t pm1a_cnt;
	uint8_t slp_typ;
	/* Reset: FADT RESET_REG (SystemIO only) if reset_port != 0. */
	uint16_t reset_port;
	uint8_t reset_value;
	const uint8_t *dsdt; /* checksummed, or NULL (the desktop reads its VMBS _CRS) */
};
void acpi_init(uint64_t rsdp_hint, struct acpi_info *ret);
__noreturn void acpi_power_off(const struct acpi_info *a);
__noreturn void acpi_reset(const struct acpi_info *a);

/* smp.c */
uint32_t smp_boot(const struct acpi_info *a, uint32_t max_cpus);
__noreturn void ap_main(uint32_t index);

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

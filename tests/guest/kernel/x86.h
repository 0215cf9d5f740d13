/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* x86-64 constants and the kernel's own layout; included by assembly too. */

/* Boot kinds: kmain()'s first argument. */
#define BOOT_LINUX 0 /* Linux 64-bit boot protocol: ptr = struct boot_params */
#define BOOT_PVH   1 /* Xen PVH: ptr = struct hvm_start_info */

/*
 * GDT selectors.  Kernel code/data match the Linux boot GDT (boot.rst:
 * __BOOT_CS 0x10, __BOOT_DS 0x18), so switching GDTs needs no far jump;
 * user data/code follow in the order sysret expects (STAR[63:48] = 0x23:
 * SS = 0x2b, CS = 0x33), as in Linux.  TSS k (16 bytes) at 0x40 + 16k.
 */
#define KERNEL_CS 0x10
#define KERNEL_DS 0x18
#define USER_DS   0x2b
#define USER_CS   0x33
#define TSS_SEL0  0x40
#define GDT_FIXED 8 /* descriptors before the TSSs */

/*
 * Per-CPU area: struct cpu at the bottom, the kernel stack above it up to
 * the top.  CPU_SIZE-aligned, so the current CPU is rsp & ~(CPU_SIZE - 1).
 */
#define CPU_SIZE       8192
#define CPU_KERNEL_RSP 0  /* offsetof(struct cpu, kernel_rsp) */
#define CPU_TSS        32 /* offsetof(struct cpu, tss) */
#define CPU_TSS_RSP0   (CPU_TSS + 4)
#define USER_STACK_SIZE 4096

/* rflags at CPL3: IF off (no interrupts are set up); IOPL would be dropped
 * by this KVM anyway (TESTING.md §1), so all port I/O stays at CPL0. */
#define USER_RFLAGS 0x002

#define CR0_PE   (1 << 0)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define CR4_SMEP (1 << 20)
#define CR4_SMAP (1 << 21)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_U   0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

/* Our page tables map GPA [0, MAPPED_END) 1:1 with 2 MiB pages. */
#define MAPPED_END 0x100000000
#define MMIO_HOLE  0xc0000000 /* mapped uncached from here */

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Boot entries of the test guest, its GDT and its page tables.
 *
 * The image is an ELF64 ET_EXEC linked (and loaded) at physical 1 MiB with
 * two entries:
 *
 *   linux_entry64 (e_entry): the Linux x86 64-bit boot protocol
 *     (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"): long mode,
 *     identity-mapped paging, interrupts off, CS = 0x10, DS/SS = 0x18,
 *     RSI = struct boot_params.  This is how skyvm boots it.
 *   pvh_entry32 (the XEN_ELFNOTE_PHYS32_ENTRY note): Xen PVH, as QEMU's
 *     -kernel boots an ELF with that note: 32-bit protected mode, paging off,
 *     EBX = struct hvm_start_info.  We enable long mode ourselves.
 *
 * The first port access of both entries writes 'S' to port 0xe9 (QEMU's
 * debugcon port), so that a VMM or benchmark can timestamp the guest's first
 * instructions; VMMs without a device there should ignore the write.
 */
#include "kernel/x86.h"
#include "guest.h"

	.section .text.head, "ax"

	.code64
	.globl linux_entry64
linux_entry64:
	movb	$'S', %al
	outb	%al, $0xe9
	cli
	cld
	mov	%rsi, %r12
	mov	$BOOT_LINUX, %r13d
	jmp	common64

	.code32
	.globl pvh_entry32
pvh_entry32:
	movb	$'S', %al
	outb	%al, $0xe9
	cli
	cld
	mov	%ebx, %esi
	lgdt	gdt_desc		/* first 6 bytes: limit, base low 32 */
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$KERNEL_CS, $pvh_entry64

	.code64
pvh_entry64:
	mov	$KERNEL_DS, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%esi, %r12d		/* zero-extends */
	mov	$BOOT_PVH, %r13d

common64:
	/* Clear .bss (small: the big per-CPU areas are .bss.noinit). */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
1:	cmp	%rcx, %rdi
	jae	2f
	movq	$0, (%rdi)
	add	$8, %rdi
	jmp	1b
2:	lea	cpu_areas + CPU_SIZE(%rip), %rsp	/* CPU 0's stack */
	mov	%r13d, %edi
	mov	%r12, %rsi
	call	kmain
	jmp	triple_fault

/*
 * Application processors, woken through the ACPI MP wakeup mailbox
 * (ACPI 6.4 §5.2.12.19): long mode, CPL0, the VMM's boot page tables and
 * GDT, interrupts off, RSP undefined.  The BSP wakes one AP at a time and
 * puts its index and stack top in ap_boot_cpu/ap_boot_stack first.
 */
	.globl ap_entry64
ap_entry64:
	cli
	cld
	mov	ap_boot_stack(%rip), %rsp
	mov	ap_boot_cpu(%rip), %edi
	call	ap_main
	jmp	triple_fault

/* The PVH entry point (include/xen/interface/elfnote.h), as Linux emits it
 * (arch/x86/platform/pvh/head.S): a pointer-sized descriptor. */
	.section .note.Xen, "a", @note
	.balign 4
	.long	4			/* namesz: "Xen\0" */
	.long	8			/* descsz */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.balign 4
	.quad	pvh_entry32
	.balign 4

	.data
	.balign 8
	.globl ap_boot_stack, ap_boot_cpu
ap_boot_stack:
	.quad	0
ap_boot_cpu:
	.long	0

/* GDT: see kernel/x86.h.  Accessed bits preset, so the CPU never writes it
 * (other than the TSS busy bits). */
	.balign 16
	.globl gdt
gdt:
	.quad	0			/* 0x00 */
	.quad	0			/* 0x08 */
	.quad	0x00af9b000000ffff	/* 0x10 kernel code, 64-bit */
	.quad	0x00cf93000000ffff	/* 0x18 kernel data */
	.quad	0x00cffb000000ffff	/* 0x20 user code, 32-bit (unused) */
	.quad	0x00cff3000000ffff	/* 0x28 user data */
	.quad	0x00affb000000ffff	/* 0x30 user code, 64-bit */
	.quad	0			/* 0x38 */
	.fill	2 * GUEST_MAX_CPUS, 8, 0 /* 0x40: 16-byte TSS descriptors */
gdt_end:
	.balign 8
	.word	0
	.word	0
	.word	0
	.globl gdt_desc
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/*
 * Page tables: GPA [0, 4 GiB) identity-mapped with 2 MiB pages, all user
 * pages (U) so CPL3 reaches everything; the MMIO hole [3 GiB, 4 GiB)
 * uncached.  Static, so nothing is computed at (emulated) CPL0.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad	pdpt + PTE_P + PTE_W + PTE_U
	.fill	511, 8, 0
pdpt:
	.quad	pd + 0x0000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x1000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x2000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x3000 + PTE_P + PTE_W + PTE_U
	.fill	508, 8, 0
pd:
	.set	addr, 0
	.rept	(MMIO_HOLE >> 21)
	.quad	addr + PTE_PS + PTE_P + PTE_W + PTE_U
	.set	addr, addr + 0x200000
	.endr
	.rept	((MAPPED_END - MMIO_HOLE) >> 21)
	.quad	addr + PTE_PS + PTE_PCD + PTE_PWT + PTE_P + PTE_W + PTE_U
	.set	addr, addr + 0x200000
	.endr

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Interrupt entries of the VMBus client (hyperv.c): the SynIC vector 0xf3
 * (Linux's sysvec_hyperv_callback), the LAPIC timer that bounds each hlt,
 * and the spurious vector.  Interrupts are only ever enabled at CPL0, on
 * the kernel stack; the C handlers save what the ABI says they keep.
 */

	.text

	.macro	IRQ name, handler
	.globl	\name
	.balign	16
\name:
	/* The frame is 40 bytes on a 16-aligned stack: 9 pushes realign it
	 * for the call. */
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	call	\handler
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
	.endm

	IRQ	hv_vmbus_irq_entry, hv_vmbus_irq
	IRQ	hv_timer_irq_entry, hv_timer_irq

	/* No EOI for a spurious interrupt (SDM vol. 3 §11.9). */
	.globl	hv_spurious_irq_entry
	.balign	16
hv_spurious_irq_entry:
	iretq

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Exception entries, the int3 system-call gate, the switch to user mode and
 * back, and the deliberate triple fault.  Register frame: struct regs
 * (kernel.h).
 */
#include "x86.h"
#include "guest.h"

	.text

	.macro	SAVE_REGS
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	.endm

	.macro	RESTORE_REGS
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	.endm

	/* Vectors whose frame carries an error code: 8 10-14 17 21 29 30. */
	.macro	EXC vec
	.balign	16
exc_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	exc_common
	.endm

	.irp	v, 0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	EXC	\v
	.endr

exc_common:
	SAVE_REGS
	mov	%rsp, %rdi
	call	exception_handler	/* returns only for an expected #BP */
	RESTORE_REGS
	add	$16, %rsp
	iretq

/*
 * Vector 3, a DPL 3 gate: from CPL3 it is the system call (guest.h), from
 * CPL0 a breakpoint exception.  SYS_EXIT drops the user frame and returns
 * from enter_user() on the kernel stack saved there.
 */
	.balign	16
exc_3:
	testb	$3, 8(%rsp)		/* CS of the interrupted code */
	jz	1f
	cmp	$SYS_EXIT, %rax
	je	2f
	pushq	$0
	pushq	$3
	SAVE_REGS
	mov	%rsp, %rdi
	call	syscall_handler
	RESTORE_REGS
	add	$16, %rsp
	iretq
1:	pushq	$0
	pushq	$3
	jmp	exc_common
2:	mov	%rsp, %rax
	and	$-CPU_SIZE, %rax
	mov	CPU_KERNEL_RSP(%rax), %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret

/*
 * void enter_user(void (*entry)(void *), void *arg, void *ustack)
 *
 * iretq to CPL3 at entry(arg) with rsp = ustack - 8 (as after a call).  The
 * TSS's RSP0 becomes the current kernel rsp, so traps from user mode land
 * below the registers saved here.
 */
	.globl	enter_user
enter_user:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rax
	and	$-CPU_SIZE, %rax
	mov	%rsp, CPU_KERNEL_RSP(%rax)
	mov	%rsp, CPU_TSS_RSP0(%rax)
	sub	$8, %rdx
	movq	$0, (%rdx)		/* return address: none */
	pushq	$USER_DS
	pushq	%rdx
	pushq	$USER_RFLAGS
	pushq	$USER_CS
	pushq	%rdi
	mov	%rsi, %rdi
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	iretq

/* void load_gdt(void): our GDT, and segment registers reloaded from it. */
	.globl	load_gdt
load_gdt:
	lgdt	gdt_desc(%rip)
	mov	$KERNEL_DS, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	pushq	$KERNEL_CS
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:	ret

/*
 * Make the VMM see a failure: with an empty IDT any exception escalates to
 * a triple fault (shutdown).  The exception is a #GP from a non-canonical
 * load, which an instruction emulator raises too (ud2 and int3 it may
 * refuse at CPL0 instead).
 */
	.globl	triple_fault
triple_fault:
	cli
	lidt	empty_idt(%rip)
	movabs	$0x8000000000000000, %rax
	mov	(%rax), %rax
1:	hlt
	jmp	1b

	.section .rodata
	.balign	8
	.globl	exception_stubs
exception_stubs:
	.irp	v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad	exc_\v
	.endr
	.balign	8
	.word	0, 0, 0
empty_idt:
	.word	0
	.quad	0

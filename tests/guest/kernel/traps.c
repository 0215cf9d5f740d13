// SPDX-License-Identifier: GPL-3.0-or-later
/* Exceptions are fatal: report, then triple-fault so the VMM sees it.
 * The one exception: a CPL0 breakpoint that insn-test expects. */
#include "kernel.h"

volatile uint32_t expected_breakpoints;

void exception_handler(struct regs *r)
{
	uint64_t cr2;

	if (r->vector == 3 && (r->cs & 3) == 0 && expected_breakpoints) {
		expected_breakpoints--;
		return;
	}

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("guest: exception %llu err=0x%llx rip=0x%016llx cr2=0x%016llx\n",
		(unsigned long long)r->vector, (unsigned long long)r->error,
		(unsigned long long)r->rip, (unsigned long long)cr2);
	kprintf("guest: cpu %u cs=0x%llx rsp=0x%016llx rflags=0x%llx\n", this_cpu()->index,
		(unsigned long long)r->cs, (unsigned long long)r->rsp,
		(unsigned long long)r->rflags);
	triple_fault();
}

/* From CPL3 only (entry.S); SYS_EXIT never gets here. */
void syscall_handler(struct regs *r)
{
	struct cpu *c = this_cpu();

	switch (r->rax) {
	case SYS_REPORT:
		c->job->result = r->rdi;
		asm volatile("" ::: "memory"); /* result before done (x86: TSO) */
		c->job->done = 1;
		r->rax = 0;
		break;
	case SYS_PRINT: {
		const char *s = (const char *)(uintptr_t)r->rdi;

		for (uint64_t i = 0; i < r->rsi && i < 256; i++)
			serial_putc(s[i]);
		r->rax = 0;
		break;
	}
	case SYS_DESKTOP:
		r->rax = desktop_syscall(r->rdi);
		break;
	default:
		kprintf("guest: cpu %u: bad system call %llu\n", c->index,
			(unsigned long long)r->rax);
		triple_fault();
	}
}

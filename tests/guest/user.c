// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The test guest's user code: runs at CPL3, where this KVM runs it at
 * native speed (TESTING.md §1).  No port I/O here (IOPL is 0): results go
 * to the kernel through the int3 system call (guest.h).
 */
#include "checksum.h"
#include "guest.h"

static inline uint64_t sys(uint64_t nr, uint64_t arg)
{
	asm volatile("int3" : "+a"(nr) : "D"(arg) : "memory");
	return nr;
}

static inline void relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* checksum.h, over this CPU's words, reading back what was written. */
static uint64_t run_slice(const struct guest_job *j)
{
	uint64_t *w = (uint64_t *)(uintptr_t)j->base;
	uint64_t end = j->first + j->count, sum = 0;

	for (uint64_t i = j->first; i < end; i++)
		w[i] = skyguest_word(i);
	/* The sum must come from memory, not from the values just computed. */
	asm volatile("" ::: "memory");
	for (uint64_t i = j->first; i < end; i++)
		sum += skyguest_term(i, w[i]);
	return sum;
}

void user_ap_main(struct guest_job *job)
{
	while (!job->go)
		relax();
	sys(SYS_REPORT, run_slice(job));
	sys(SYS_EXIT, 0);
	for (;;)
		relax();
}

void user_bsp_main(struct guest_job *jobs)
{
	uint64_t sum = run_slice(&jobs[0]);

	for (uint32_t k = 1; k < jobs[0].ncpus; k++) {
		while (!jobs[k].done)
			relax();
		sum += jobs[k].result;
	}
	sys(SYS_REPORT, sum);
	sys(SYS_EXIT, 0);
	for (;;)
		relax();
}

void user_spin(void)
{
	for (;;)
		relax();
}

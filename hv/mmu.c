// SPDX-License-Identifier: GPL-3.0-or-later
#include "mmu.h"

#include <errno.h>

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_XD  (1ull << 63)
/* Bits 51:12 of an entry hold the next table's or the page's address; we
 * take MAXPHYADDR as 52, so no address bit is reserved. */
#define PTE_ADDR 0x000ffffffffff000ull

static uint64_t *entry_ptr(const struct hv_mmu *m, uint64_t table, unsigned index)
{
	return hv_gpa_to_host(m->mem, table + (uint64_t)index * 8, 8);
}

int hv_mmu_translate(const struct hv_mmu *m, uint64_t la, enum hv_access acc, uint64_t *ret_gpa,
		     uint32_t *ret_pf_error)
{
	bool user = m->cpl == 3;
	bool write = acc == HV_ACCESS_WRITE, fetch = acc == HV_ACCESS_FETCH;
	bool all_rw = true, all_us = true, any_xd = false;
	uint64_t *ptes[4];
	uint64_t table, e = 0;
	uint32_t err;
	int level, nlevels = 0;
	uint64_t page_mask = 0xfff;

	if (!(m->cr0 & HV_CR0_PG)) {
		*ret_gpa = la & 0xffffffffull;
		if (m->efer & HV_EFER_LMA)
			return -ENOTSUP; /* long mode implies paging */
		return 0;
	}
	if (!(m->efer & HV_EFER_LMA) || !(m->cr4 & HV_CR4_PAE) || (m->cr4 & HV_CR4_LA57))
		return -ENOTSUP;

	err = (write ? HV_PF_WRITE : 0) | (user ? HV_PF_USER : 0) |
	      (fetch && ((m->efer & HV_EFER_NXE) || (m->cr4 & HV_CR4_SMEP)) ? HV_PF_FETCH : 0);

	/* SDM §4.5: PML4E (47:39), PDPTE (38:30), PDE (29:21), PTE (20:12). */
	table = m->cr3 & PTE_ADDR;
	for (level = 3; level >= 0; level--) {
		unsigned index = (la >> (12 + 9 * level)) & 0x1ff;
		uint64_t *p = entry_ptr(m, table, index);

		if (!p)
			return -ERANGE;
		e = __atomic_load_n(p, __ATOMIC_RELAXED);
		if (!(e & PTE_P)) {
			*ret_pf_error = err;
			return -EFAULT;
		}
		/* PS is reserved in a PML4E. */
		if (level == 3 && (e & PTE_PS)) {
			*ret_pf_error = err | HV_PF_PRESENT | HV_PF_RSVD;
			return -EFAULT;
		}
		if ((e & PTE_XD) && !(m->efer & HV_EFER_NXE)) {
			*ret_pf_error = err | HV_PF_PRESENT | HV_PF_RSVD;
			return -EFAULT;
		}
		ptes[nlevels++] = p;
		all_rw &= !!(e & PTE_RW);
		all_us &= !!(e & PTE_US);
		any_xd |= !!(e & PTE_XD);
		if ((level == 1 || level == 2) && (e & PTE_PS)) {
			page_mask = (1ull << (12 + 9 * level)) - 1;
			break;
		}
		table = e & PTE_ADDR;
	}

	/* Access rights, SDM §4.6. */
	{
		bool fault = false;

		if (user) {
			fault = !all_us || (write && !all_rw);
		} else {
			if (write && !all_rw && (m->cr0 & HV_CR0_WP))
				fault = true;
			if (all_us) {
				/* SMEP: no supervisor fetch from a user page; SMAP: no
				 * supervisor data access to one unless RFLAGS.AC. */
				if (fetch && (m->cr4 & HV_CR4_SMEP))
					fault = true;
				if (!fetch && (m->cr4 & HV_CR4_SMAP) && !(m->rflags & HV_RFLAGS_AC))
					fault = true;
			}
		}
		if (fetch && any_xd && (m->efer & HV_EFER_NXE))
			fault = true;
		if (fault) {
			*ret_pf_error = err | HV_PF_PRESENT;
			return -EFAULT;
		}
	}

	/* Accessed at every level, dirty on the leaf for a write (§4.8). */
	for (int i = 0; i < nlevels; i++)
		if (!(*ptes[i] & PTE_A))
			__atomic_fetch_or(ptes[i], PTE_A, __ATOMIC_RELAXED);
	if (write && !(*ptes[nlevels - 1] & PTE_D))
		__atomic_fetch_or(ptes[nlevels - 1], PTE_D, __ATOMIC_RELAXED);

	*ret_gpa = ((e & PTE_ADDR) & ~page_mask) | (la & page_mask);
	return 0;
}

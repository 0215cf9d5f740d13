// SPDX-License-Identifier: GPL-3.0-or-later
/* The Hyper-V CPUID leaves and synthetic MSRs (hv/hyperv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-mem.h"
#include "hyperv.h"

static void test_cpuid_leaves(void **state)
{
	struct hv_cpuid c = { .nent = 0 };
	struct hv_cpuid_entry *e;
	char sig[13] = "";

	assert_int_equal(hv_hyperv_cpuid(&c, 4), 0);
	e = hv_cpuid_find(&c, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000005);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_string_equal(sig, "Microsoft Hv");
	assert_int_equal(hv_cpuid_find(&c, 0x40000001, 0)->eax, 0x31237648);
	e = hv_cpuid_find(&c, 0x40000003, 0);
	/* Linux requires HYPERCALL and VP_INDEX to take Hyper-V at all. */
	assert_true(e->eax & (1u << 5));
	assert_true(e->eax & (1u << 6));
	assert_true(e->eax & (1u << 11));
	assert_true(e->edx & (1u << 8));
	/* Never: SynIC timers, partition id privilege, root partition. */
	assert_false(e->eax & (1u << 3));
	assert_false(e->ebx & (1u << 1));
	assert_false(e->ebx & (1u << 12));
	assert_int_equal(hv_cpuid_find(&c, 0x40000004, 0)->eax, 1u << 9);
	assert_int_equal(hv_cpuid_find(&c, 0x40000005, 0)->eax, 4);

	c.nent = HV_CPUID_MAX - 2;
	assert_int_equal(hv_hyperv_cpuid(&c, 1), -ENOSPC);
}

static void test_msrs(void **state)
{
	struct hv_guest_mem mem;
	struct hv_hyperv hv;
	struct hv_hyperv_vp vp;
	uint64_t v, t1, t2;

	assert_int_equal(fake_mem_new(&mem, 16 << 20), 0);
	hv_hyperv_init(&hv, &mem, 2100000000ull);
	hv_hyperv_vp_init(&vp, 3);

	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_VP_INDEX, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_VP_INDEX, 1), -EINVAL); /* read-only */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TSC_FREQUENCY, &v), 0);
	assert_int_equal(v, 2100000000ull);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_APIC_FREQUENCY, &v), 0);
	assert_int_equal(v, 1000000000ull);
	/* SINTs start masked. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_SINT0 + 2, &v), 0);
	assert_int_equal(v, 1ull << 16);
	/* Unknown MSRs in the range are a #GP. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, 0x400001ff, &v), -EINVAL);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, 0x40000150, 0), -EINVAL);
	/* TIME_REF_COUNT counts up in 100 ns units. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TIME_REF_COUNT, &t1), 0);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TIME_REF_COUNT, &t2), 0);
	assert_true(t2 >= t1);

	/* The hypercall page needs a guest OS id first (TLFS §3.13). */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, 0x5000 | 1), -EINVAL);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_GUEST_OS_ID, 0x8100ull << 48), 0);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, 0x5000 | 1), 0);
	assert_int_equal(mem.host[0x5000], 0xe6); /* out imm8, al */
	assert_int_equal(mem.host[0x5001], HV_HYPERCALL_PORT);
	assert_int_equal(mem.host[0x5002], 0xc3); /* ret */
	assert_int_equal(mem.host[0x5003], 0xcc);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_HYPERCALL, &v), 0);
	assert_int_equal(v, 0x5001);
	/* A page outside guest RAM is refused. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, (64ull << 20) | 1), -EINVAL);
	/* Clearing the OS id disables the page. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_GUEST_OS_ID, 0), 0);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_HYPERCALL, &v), 0);
	assert_int_equal(v & 1, 0);
	/* VP assist is accepted though not advertised. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_VP_ASSIST_PAGE, 0x7001), 0);

	hv_hyperv_finish(&hv);
	fake_mem_free(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_leaves),
		cmocka_unit_test(test_msrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

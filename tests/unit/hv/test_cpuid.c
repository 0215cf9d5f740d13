// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpuid.h"

#define SIG HV_CPUID_FLAG_SIGNIFICANT_INDEX

static void add(struct hv_cpuid *c, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a,
		uint32_t b, uint32_t cx, uint32_t d)
{
	assert_true(c->nent < HV_CPUID_MAX);
	c->ent[c->nent++] = (struct hv_cpuid_entry){ fn, idx, flags, a, b, cx, d };
}

/* Roughly what KVM_GET_SUPPORTED_CPUID says on an AVX-512 host. */
static struct hv_cpuid *host_cpuid(void)
{
	struct hv_cpuid *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	add(c, 0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	/* sse3 pclmul ssse3 fma cx16 pcid sse4.1/4.2 x2apic movbe popcnt
	 * tsc_deadline aes xsave avx f16c rdrand; no hypervisor bit yet. */
	add(c, 1, 0, 0, 0x000606a6, 0x00000800, 0x7ffafbff & ~(1u << 31), 0x0f8bfbff);
	add(c, 4, 0, SIG, 0x1c004121, 0, 0, 0);
	/* fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f/dq rdseed adx
	 * smap clflushopt clwb avx512cd sha avx512bw/vl */
	add(c, 7, 0, SIG, 0, 0xd19f27eb | (1u << 16), 0x0040565e, 0xbc000410);
	add(c, 0xb, 0, SIG, 1, 2, 0x100, 0);
	add(c, 0xb, 1, SIG, 5, 32, 0x201, 0);
	add(c, 0xb, 2, SIG, 0, 0, 2, 0);
	add(c, 0xd, 0, SIG, 0x2e7, 0xa88, 0xa88, 0);
	add(c, 0xd, 1, SIG, 0xf, 0, 0, 0);
	add(c, 0xd, 2, SIG, 0x100, 0x240, 0, 0);
	add(c, 0xd, 5, SIG, 0x40, 0x440, 0, 0);
	add(c, 0xd, 6, SIG, 0x200, 0x480, 0, 0);
	add(c, 0xd, 7, SIG, 0x400, 0x680, 0, 0);
	add(c, 0xd, 9, SIG, 0x8, 0xa80, 0, 0);
	add(c, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x40000001, 0, 0, 0x01007afb, 0, 0, 0);
	add(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800);
	return c;
}

static void test_feature_table(void **state)
{
	const struct hv_cpuid_feature *t;
	size_t n = hv_cpuid_features(&t);
	static const char *const must[] = {
		"sse3", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4_1", "sse4_2",
		"x2apic", "movbe", "popcnt", "tsc_deadline", "aes", "xsave", "osxsave", "avx",
		"f16c", "rdrand", "hypervisor", "fpu", "tsc", "msr", "pae", "mce", "cx8",
		"apic", "sep", "mtrr", "pge", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr",
		"sse", "sse2", "fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms",
		"invpcid", "rtm", "mpx", "avx512f", "avx512dq", "rdseed", "adx", "smap",
		"clflushopt", "clwb", "avx512cd", "sha_ni", "avx512bw", "avx512vl", "umip",
		"pku", "waitpkg", "vaes", "vpclmulqdq", "rdpid", "md_clear", "lahf_lm", "abm",
		"sse4a", "prefetchw", "syscall", "nx", "pdpe1gb", "rdtscp", "lm", "xsaveopt",
		"xsavec", "xsaves",
	};

	assert_true(n <= HV_CPUID_FEATURES_MAX);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		assert_true(hv_cpuid_feature_lookup(must[i], strlen(must[i])) >= 0);
	/* Names and bits are unique. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			assert_true(strcmp(t[i].name, t[j].name) != 0);
			assert_false(t[i].function == t[j].function && t[i].index == t[j].index &&
				     t[i].reg == t[j].reg && t[i].bit == t[j].bit);
		}
	/* A few bit positions against the SDM. */
	assert_int_equal(t[hv_cpuid_feature_lookup("avx2", 4)].bit, 5);
	assert_int_equal(t[hv_cpuid_feature_lookup("avx2", 4)].function, 7);
	assert_int_equal(t[hv_cpuid_feature_lookup("rdrand", 6)].bit, 30);
	assert_int_equal(t[hv_cpuid_feature_lookup("lm", 2)].bit, 29);
	assert_int_equal(t[hv_cpuid_feature_lookup("xsaves", 6)].index, 1);
	assert_int_equal(hv_cpuid_feature_lookup("avx5", 4), -ENOENT);
}

static void test_mask_parse(void **state)
{
	struct hv_cpuid_mask m, untouched;
	size_t bad = 99;

	assert_int_equal(hv_cpuid_mask_parse("", &m, &bad), 0);
	assert_false(hv_cpuid_mask_has(&m, "avx2"));
	assert_int_equal(hv_cpuid_mask_parse(NULL, &m, NULL), 0);
	assert_int_equal(bad, 99);

	assert_int_equal(hv_cpuid_mask_parse("-avx2,-avx512f,-rdrand", &m, &bad), 0);
	assert_true(hv_cpuid_mask_has(&m, "avx2"));
	assert_true(hv_cpuid_mask_has(&m, "avx512f"));
	assert_true(hv_cpuid_mask_has(&m, "rdrand"));
	assert_false(hv_cpuid_mask_has(&m, "avx"));

	assert_int_equal(hv_cpuid_mask_parse(" -avx2 , ,-AVX512F,", &m, &bad), 0);
	assert_true(hv_cpuid_mask_has(&m, "avx512f"));

	memset(&untouched, 0xa5, sizeof(untouched));
	m = untouched;
	assert_int_equal(hv_cpuid_mask_parse("-foo", &m, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	assert_int_equal(hv_cpuid_mask_parse("-avx2,-bogus,-rdrand", &m, &bad), -EINVAL);
	assert_int_equal(bad, 6);
	assert_int_equal(hv_cpuid_mask_parse("-avx2, avx", &m, &bad), -EINVAL); /* no '-' */
	assert_int_equal(bad, 7);
	assert_int_equal(hv_cpuid_mask_parse("+avx", &m, &bad), -EINVAL);
	assert_int_equal(hv_cpuid_mask_parse("-", &m, &bad), -EINVAL);
	assert_int_equal(hv_cpuid_mask_parse("-avx2x", &m, NULL), -EINVAL);
	assert_memory_equal(&m, &untouched, sizeof(m));
}

static void test_apply_defaults(void **state)
{
	struct hv_cpuid *c = host_cpuid(), *orig = host_cpuid();

	assert_int_equal(hv_cpuid_apply(c, NULL), 0);
	/* KVM leaves gone, nothing else. */
	assert_int_equal(c->nent, orig->nent - 2);
	for (uint32_t i = 0; i < c->nent; i++)
		assert_false(c->ent[i].function >= 0x40000000 && c->ent[i].function <= 0x4fffffff);
	assert_null(hv_cpuid_find(c, 0x40000000, 0));
	/* Hypervisor bit set; every other feature as before. */
	assert_true(hv_cpuid_has(c, "hypervisor"));
	assert_int_equal(hv_cpuid_find(c, 1, 0)->ecx, hv_cpuid_find(orig, 1, 0)->ecx | 1u << 31);
	assert_memory_equal(hv_cpuid_find(c, 7, 0), hv_cpuid_find(orig, 7, 0),
			    sizeof(struct hv_cpuid_entry));
	assert_memory_equal(hv_cpuid_find(c, 0xd, 0), hv_cpuid_find(orig, 0xd, 0),
			    sizeof(struct hv_cpuid_entry));
	assert_true(hv_cpuid_has(c, "avx512f"));
	free(c);
	free(orig);
}

static void test_apply_mask(void **state)
{
	struct hv_cpuid *c = host_cpuid();
	struct hv_cpuid_mask m;

	assert_true(hv_cpuid_has(c, "rdrand"));
	assert_int_equal(hv_cpuid_mask_parse("-avx2,-rdrand", &m, NULL), 0);
	assert_int_equal(hv_cpuid_apply(c, &m), 0);
	assert_false(hv_cpuid_has(c, "avx2"));
	assert_false(hv_cpuid_has(c, "rdrand"));
	assert_true(hv_cpuid_has(c, "avx"));
	assert_true(hv_cpuid_has(c, "avx512f")); /* avx2 is no prerequisite of it */
	assert_true(hv_cpuid_has(c, "xsave"));
	assert_int_equal(hv_cpuid_find(c, 0xd, 0)->eax, 0x2e7);
	free(c);

	/* -hypervisor: honoured. */
	c = host_cpuid();
	assert_int_equal(hv_cpuid_mask_parse("-hypervisor", &m, NULL), 0);
	assert_int_equal(hv_cpuid_apply(c, &m), 0);
	assert_false(hv_cpuid_has(c, "hypervisor"));
	free(c);
}

static void test_apply_dependents(void **state)
{
	static const char *const gone[] = {
		"xsave", "osxsave", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq",
		"avx512cd", "avx512bw", "avx512vl", "xsaveopt", "xsavec", "xsaves", "vaes",
		"vpclmulqdq", "pku", "ospke",
	};
	struct hv_cpuid *c = host_cpuid();
	struct hv_cpuid_mask m;

	assert_int_equal(hv_cpuid_mask_parse("-xsave", &m, NULL), 0);
	assert_int_equal(hv_cpuid_apply(c, &m), 0);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_false(hv_cpuid_has(c, gone[i]));
	assert_true(hv_cpuid_has(c, "sse4_2"));
	assert_true(hv_cpuid_has(c, "aes"));
	assert_true(hv_cpuid_has(c, "bmi2"));
	/* Leaf 0xD is all zero. */
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->ent[i].function == 0xd)
			assert_int_equal(c->ent[i].eax | c->ent[i].ebx | c->ent[i].ecx |
					 c->ent[i].edx, 0);
	free(c);

	/* -avx: AVX2/AVX-512 go, and so do their XSAVE components. */
	c = host_cpuid();
	assert_int_equal(hv_cpuid_mask_parse("-avx", &m, NULL), 0);
	assert_int_equal(hv_cpuid_apply(c, &m), 0);
	assert_false(hv_cpuid_has(c, "avx2"));
	assert_false(hv_cpuid_has(c, "fma"));
	assert_false(hv_cpuid_has(c, "avx512bw"));
	assert_true(hv_cpuid_has(c, "xsave"));
	assert_true(hv_cpuid_has(c, "xsaveopt"));
	assert_int_equal(hv_cpuid_find(c, 0xd, 0)->eax, 0x2e7 & ~(0x4u | 0xe0u));
	assert_int_equal(hv_cpuid_find(c, 0xd, 2)->eax, 0);
	assert_int_equal(hv_cpuid_find(c, 0xd, 5)->ebx, 0);
	assert_int_equal(hv_cpuid_find(c, 0xd, 9)->eax, 0x8); /* PKRU stays */
	assert_int_equal(hv_cpuid_find(c, 0xd, 1)->eax, 0xf);
	free(c);

	/* -sse2 takes the SSE3..SSE4.2 chain and AES with it. */
	c = host_cpuid();
	assert_int_equal(hv_cpuid_mask_parse("-sse2", &m, NULL), 0);
	assert_int_equal(hv_cpuid_apply(c, &m), 0);
	assert_false(hv_cpuid_has(c, "sse4_2"));
	assert_false(hv_cpuid_has(c, "aes"));
	assert_false(hv_cpuid_has(c, "sha_ni"));
	assert_true(hv_cpuid_has(c, "sse"));
	free(c);
}

static void test_apply_errors(void **state)
{
	struct hv_cpuid *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	add(c, 0, 0, 0, 0xd, 0, 0, 0);
	assert_int_equal(hv_cpuid_apply(c, NULL), -ENOENT);
	c->nent = HV_CPUID_MAX + 1;
	assert_int_equal(hv_cpuid_apply(c, NULL), -EINVAL);
	free(c);
}

static void test_set_vcpu(void **state)
{
	struct hv_cpuid *c = host_cpuid();
	const struct hv_cpuid_entry *e;

	assert_int_equal(hv_cpuid_apply(c, NULL), 0);
	hv_cpuid_set_vcpu(c, 3, 4);
	e = hv_cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH size etc. kept */
	assert_true(e->edx & (1u << 28));
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(hv_cpuid_find(c, 0xb, i)->edx, 3);
	e = hv_cpuid_find(c, 0xb, 0);
	assert_int_equal(e->ebx, 1);
	assert_int_equal((e->ecx >> 8) & 0xff, 1); /* SMT */
	e = hv_cpuid_find(c, 0xb, 1);
	assert_int_equal(e->eax, 2);               /* 4 cores: 2 bits */
	assert_int_equal(e->ebx, 4);
	assert_int_equal((e->ecx >> 8) & 0xff, 2); /* Core */
	e = hv_cpuid_find(c, 0xb, 2);
	assert_int_equal((e->ecx >> 8) & 0xff, 0); /* invalid */
	assert_int_equal(e->ecx & 0xff, 2);

	/* Another vCPU from the same template; one vCPU: no HTT. */
	hv_cpuid_set_vcpu(c, 0, 1);
	e = hv_cpuid_find(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1u << 28));
	assert_int_equal(hv_cpuid_find(c, 0xb, 1)->eax, 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_table),
		cmocka_unit_test(test_mask_parse),
		cmocka_unit_test(test_apply_defaults),
		cmocka_unit_test(test_apply_mask),
		cmocka_unit_test(test_apply_dependents),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_set_vcpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

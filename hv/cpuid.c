// SPDX-License-Identifier: GPL-3.0-or-later
#include "cpuid.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define F(n, fn, idx, r, b) { .name = (n), .function = (fn), .index = (idx), \
			      .reg = HV_CPUID_##r, .bit = (b) }

/* Bit numbers: Intel SDM Vol. 2A "CPUID", AMD APM Vol. 3 Appendix E;
 * names as in arch/x86/include/asm/cpufeatures.h where they differ. */
static const struct hv_cpuid_feature features[] = {
	/* CPUID.1:ECX */
	F("sse3", 1, 0, ECX, 0),
	F("pclmulqdq", 1, 0, ECX, 1),
	F("ssse3", 1, 0, ECX, 9),
	F("fma", 1, 0, ECX, 12),
	F("cx16", 1, 0, ECX, 13),
	F("pcid", 1, 0, ECX, 17),
	F("sse4_1", 1, 0, ECX, 19),
	F("sse4_2", 1, 0, ECX, 20),
	F("x2apic", 1, 0, ECX, 21),
	F("movbe", 1, 0, ECX, 22),
	F("popcnt", 1, 0, ECX, 23),
	F("tsc_deadline", 1, 0, ECX, 24),
	F("aes", 1, 0, ECX, 25),
	F("xsave", 1, 0, ECX, 26),
	F("osxsave", 1, 0, ECX, 27),
	F("avx", 1, 0, ECX, 28),
	F("f16c", 1, 0, ECX, 29),
	F("rdrand", 1, 0, ECX, 30),
	F("hypervisor", 1, 0, ECX, 31),
	/* CPUID.1:EDX */
	F("fpu", 1, 0, EDX, 0),
	F("vme", 1, 0, EDX, 1),
	F("de", 1, 0, EDX, 2),
	F("pse", 1, 0, EDX, 3),
	F("tsc", 1, 0, EDX, 4),
	F("msr", 1, 0, EDX, 5),
	F("pae", 1, 0, EDX, 6),
	F("mce", 1, 0, EDX, 7),
	F("cx8", 1, 0, EDX, 8),
	F("apic", 1, 0, EDX, 9),
	F("sep", 1, 0, EDX, 11),
	F("mtrr", 1, 0, EDX, 12),
	F("pge", 1, 0, EDX, 13),
	F("mca", 1, 0, EDX, 14),
	F("cmov", 1, 0, EDX, 15),
	F("pat", 1, 0, EDX, 16),
	F("pse36", 1, 0, EDX, 17),
	F("clflush", 1, 0, EDX, 19),
	F("mmx", 1, 0, EDX, 23),
	F("fxsr", 1, 0, EDX, 24),
	F("sse", 1, 0, EDX, 25),
	F("sse2", 1, 0, EDX, 26),
	F("ht", 1, 0, EDX, 28),
	/* CPUID.(7,0):EBX */
	F("fsgsbase", 7, 0, EBX, 0),
	F("bmi1", 7, 0, EBX, 3),
	F("hle", 7, 0, EBX, 4),
	F("avx2", 7, 0, EBX, 5),
	F("smep", 7, 0, EBX, 7),
	F("bmi2", 7, 0, EBX, 8),
	F("erms", 7, 0, EBX, 9),
	F("invpcid", 7, 0, EBX, 10),
	F("rtm", 7, 0, EBX, 11),
	F("mpx", 7, 0, EBX, 14),
	F("avx512f", 7, 0, EBX, 16),
	F("avx512dq", 7, 0, EBX, 17),
	F("rdseed", 7, 0, EBX, 18),
	F("adx", 7, 0, EBX, 19),
	F("smap", 7, 0, EBX, 20),
	F("avx512ifma", 7, 0, EBX, 21),
	F("clflushopt", 7, 0, EBX, 23),
	F("clwb", 7, 0, EBX, 24),
	F("avx512cd", 7, 0, EBX, 28),
	F("sha_ni", 7, 0, EBX, 29),
	F("avx512bw", 7, 0, EBX, 30),
	F("avx512vl", 7, 0, EBX, 31),
	/* CPUID.(7,0):ECX */
	F("avx512vbmi", 7, 0, ECX, 1),
	F("umip", 7, 0, ECX, 2),
	F("pku", 7, 0, ECX, 3),
	F("ospke", 7, 0, ECX, 4),
	F("waitpkg", 7, 0, ECX, 5),
	F("avx512_vbmi2", 7, 0, ECX, 6),
	F("gfni", 7, 0, ECX, 8),
	F("vaes", 7, 0, ECX, 9),
	F("vpclmulqdq", 7, 0, ECX, 10),
	F("avx512_vnni", 7, 0, ECX, 11),
	F("avx512_bitalg", 7, 0, ECX, 12),
	F("avx512_vpopcntdq", 7, 0, ECX, 14),
	F("la57", 7, 0, ECX, 16),
	F("rdpid", 7, 0, ECX, 22),
	/* CPUID.(7,0):EDX */
	F("md_clear", 7, 0, EDX, 10),
	/* CPUID.80000001h:ECX/EDX */
	F("lahf_lm", 0x80000001, 0, ECX, 0),
	F("abm", 0x80000001, 0, ECX, 5),
	F("sse4a", 0x80000001, 0, ECX, 6),
	F("prefetchw", 0x80000001, 0, ECX, 8),
	F("syscall", 0x80000001, 0, EDX, 11),
	F("nx", 0x80000001, 0, EDX, 20),
	F("pdpe1gb", 0x80000001, 0, EDX, 26),
	F("rdtscp", 0x80000001, 0, EDX, 27),
	F("lm", 0x80000001, 0, EDX, 29),
	/* CPUID.(0Dh,1):EAX */
	F("xsaveopt", 0xd, 1, EAX, 0),
	F("xsavec", 0xd, 1, EAX, 1),
	F("xsaves", 0xd, 1, EAX, 3),
};
_Static_assert(ARRAY_SIZE(features) <= HV_CPUID_FEATURES_MAX, "grow struct hv_cpuid_mask");

/* feature -> what it needs (arch/x86/kernel/cpu/cpuid-deps.c, abridged;
 * F16C is VEX-encoded and needs the OS's YMM state, hence avx). */
static const struct {
	const char *feature, *needs;
} deps[] = {
	{ "osxsave", "xsave" },
	{ "avx", "xsave" },
	{ "xsaveopt", "xsave" },
	{ "xsavec", "xsave" },
	{ "xsaves", "xsave" },
	{ "mpx", "xsave" },
	{ "pku", "xsave" },
	{ "ospke", "pku" },
	{ "avx2", "avx" },
	{ "fma", "avx" },
	{ "f16c", "avx" },
	{ "avx512f", "avx" },
	{ "vaes", "avx" },
	{ "vpclmulqdq", "avx" },
	{ "avx512dq", "avx512f" },
	{ "avx512ifma", "avx512f" },
	{ "avx512cd", "avx512f" },
	{ "avx512bw", "avx512f" },
	{ "avx512vl", "avx512f" },
	{ "avx512vbmi", "avx512f" },
	{ "avx512_vbmi2", "avx512f" },
	{ "avx512_vnni", "avx512f" },
	{ "avx512_bitalg", "avx512f" },
	{ "avx512_vpopcntdq", "avx512f" },
	{ "sse", "fxsr" },
	{ "sse2", "sse" },
	{ "sse3", "sse2" },
	{ "ssse3", "sse3" },
	{ "sse4_1", "ssse3" },
	{ "sse4_2", "sse4_1" },
	{ "aes", "sse2" },
	{ "pclmulqdq", "sse2" },
	{ "sha_ni", "sse2" },
	{ "gfni", "sse2" },
	{ "x2apic", "apic" },
	{ "tsc_deadline", "apic" },
};

/* XSAVE state components (XCR0 bits, SDM Vol. 1 §13.1) a feature owns. */
static const struct {
	const char *feature;
	uint64_t xcr0;
} xstate[] = {
	{ "avx", 1ull << 2 },                          /* YMM_Hi128 */
	{ "mpx", 1ull << 3 | 1ull << 4 },              /* BNDREGS, BNDCSR */
	{ "avx512f", 1ull << 5 | 1ull << 6 | 1ull << 7 }, /* opmask, ZMM */
	{ "pku", 1ull << 9 },                          /* PKRU */
};

size_t hv_cpuid_features(const struct hv_cpuid_feature **ret)
{
	*ret = features;
	return ARRAY_SIZE(features);
}

int hv_cpuid_feature_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (strlen(features[i].name) == len && strncasecmp(features[i].name, name, len) == 0)
			return (int)i;
	return -ENOENT;
}

static int lookup(const char *name)
{
	return hv_cpuid_feature_lookup(name, strlen(name));
}

static bool mask_test(const struct hv_cpuid_mask *m, int i)
{
	return i >= 0 && (m->clear[i / 64] & (1ull << (i % 64)));
}

static void mask_set(struct hv_cpuid_mask *m, int i)
{
	m->clear[i / 64] |= 1ull << (i % 64);
}

bool hv_cpuid_mask_has(const struct hv_cpuid_mask *m, const char *name)
{
	int i = lookup(name);

	return i >= 0 && mask_test(m, i);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int hv_cpuid_mask_parse(const char *spec, struct hv_cpuid_mask *ret, size_t *ret_bad_off)
{
	struct hv_cpuid_mask m = { 0 };
	const char *p = spec ? spec : "";

	while (*p) {
		const char *item, *end;
		int i;

		while (is_blank(*p))
			p++;
		item = p;
		end = p + strcspn(p, ",");
		p = *end ? end + 1 : end;
		while (end > item && is_blank(end[-1]))
			end--;
		if (end == item)
			continue;
		if (*item != '-')
			goto bad;
		i = hv_cpuid_feature_lookup(item + 1, (size_t)(end - item - 1));
		if (i < 0)
			goto bad;
		mask_set(&m, i);
		continue;
bad:
		if (ret_bad_off)
			*ret_bad_off = (size_t)(item - spec);
		return -EINVAL;
	}
	*ret = m;
	return 0;
}

static bool entry_matches(const struct hv_cpuid_entry *e, uint32_t function, uint32_t index)
{
	return e->function == function &&
	       (!(e->flags & HV_CPUID_FLAG_SIGNIFICANT_INDEX) || e->index == index);
}

struct hv_cpuid_entry *hv_cpuid_find(struct hv_cpuid *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent && i < HV_CPUID_MAX; i++)
		if (entry_matches(&c->ent[i], function, index))
			return &c->ent[i];
	return NULL;
}

static uint32_t *entry_reg(struct hv_cpuid_entry *e, enum hv_cpuid_reg r)
{
	switch (r) {
	case HV_CPUID_EAX:
		return &e->eax;
	case HV_CPUID_EBX:
		return &e->ebx;
	case HV_CPUID_ECX:
		return &e->ecx;
	case HV_CPUID_EDX:
	default:
		return &e->edx;
	}
}

bool hv_cpuid_has(const struct hv_cpuid *c, const char *name)
{
	const struct hv_cpuid_feature *f;
	struct hv_cpuid_entry *e;
	int i = lookup(name);

	if (i < 0)
		return false;
	f = &features[i];
	/* find() does not modify; the cast only shares its code. */
	e = hv_cpuid_find((struct hv_cpuid *)c, f->function, f->index);
	return e && (*entry_reg(e, f->reg) & (1u << f->bit));
}

/* Add to m everything that depends on something in m. */
static void mask_close(struct hv_cpuid_mask *m)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t d = 0; d < ARRAY_SIZE(deps); d++) {
			int f = lookup(deps[d].feature), n = lookup(deps[d].needs);

			if (f >= 0 && n >= 0 && mask_test(m, n) && !mask_test(m, f)) {
				mask_set(m, f);
				changed = true;
			}
		}
	}
}

static void zero_regs(struct hv_cpuid_entry *e)
{
	e->eax = e->ebx = e->ecx = e->edx = 0;
}

int hv_cpuid_apply(struct hv_cpuid *c, const struct hv_cpuid_mask *mask)
{
	struct hv_cpuid_mask m = { 0 };
	struct hv_cpuid_entry *leaf1;
	uint64_t xcr0_clear = 0;
	uint32_t n = 0;

	if (c->nent > HV_CPUID_MAX)
		return -EINVAL;
	if (!hv_cpuid_find(c, 1, 0))
		return -ENOENT;
	if (mask)
		m = *mask;
	mask_close(&m);

	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct hv_cpuid_feature *f = &features[i];

		if (!mask_test(&m, (int)i))
			continue;
		for (uint32_t j = 0; j < c->nent; j++)
			if (entry_matches(&c->ent[j], f->function, f->index))
				*entry_reg(&c->ent[j], f->reg) &= ~(1u << f->bit);
	}

	/* XSAVE state: no xsave, no leaf 0xD at all; otherwise drop the
	 * components of hidden features from 0xD.0 and their subleaves, so
	 * the guest's XCR0 (which KVM limits to 0xD.0) matches. */
	for (size_t i = 0; i < ARRAY_SIZE(xstate); i++)
		if (mask_test(&m, lookup(xstate[i].feature)))
			xcr0_clear |= xstate[i].xcr0;
	for (uint32_t j = 0; j < c->nent; j++) {
		struct hv_cpuid_entry *e = &c->ent[j];

		if (e->function != 0xd)
			continue;
		if (mask_test(&m, lookup("xsave")))
			zero_regs(e);
		else if (e->index == 0) {
			e->eax &= ~(uint32_t)xcr0_clear;
			e->edx &= ~(uint32_t)(xcr0_clear >> 32);
		} else if (e->index >= 2 && e->index < 64 && (xcr0_clear & (1ull << e->index)))
			zero_regs(e);
	}

	/* Drop the hypervisor leaves (KVM's signature and features). */
	for (uint32_t j = 0; j < c->nent; j++) {
		const struct hv_cpuid_entry *e = &c->ent[j];

		if (e->function >= HV_CPUID_HV_LEAF_FIRST && e->function <= HV_CPUID_HV_LEAF_LAST)
			continue;
		c->ent[n++] = *e;
	}
	c->nent = n;

	leaf1 = hv_cpuid_find(c, 1, 0);
	if (!mask_test(&m, lookup("hypervisor")))
		leaf1->ecx |= 1u << HV_CPUID_HYPERVISOR_BIT;
	return 0;
}

/* Smallest s with 2^s >= n. */
static uint32_t order_base_2(uint32_t n)
{
	uint32_t s = 0;

	while (s < 31 && (1u << s) < n)
		s++;
	return s;
}

void hv_cpuid_set_vcpu(struct hv_cpuid *c, uint32_t apic_id, uint32_t ncpus)
{
	uint32_t count;

	if (ncpus == 0)
		ncpus = 1;
	count = MIN(ncpus, 255u);
	for (uint32_t i = 0; i < c->nent && i < HV_CPUID_MAX; i++) {
		struct hv_cpuid_entry *e = &c->ent[i];

		switch (e->function) {
		case 1:
			/* SDM Vol. 2A CPUID.1:EBX: [31:24] initial APIC id,
			 * [23:16] addressable logical processor ids; EDX[28]. */
			e->ebx = (e->ebx & 0x0000ffff) | (apic_id & 0xff) << 24 | count << 16;
			if (ncpus > 1)
				e->edx |= 1u << 28;
			else
				e->edx &= ~(1u << 28);
			break;
		case 0xb:
		case 0x1f:
			/* V2 extended topology (SDM "CPUID leaf 0BH/1FH"):
			 * level 0 SMT with 1 thread, level 1 Core with ncpus;
			 * EAX the x2APIC id shift to the next level, ECX[15:8]
			 * the level type (1 SMT, 2 Core, 0 invalid). */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8 | 0;
			} else if (e->index == 1) {
				e->eax = order_base_2(ncpus);
				e->ebx = ncpus;
				e->ecx = 2u << 8 | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			e->edx = apic_id;
			break;
		case 0x8000001e:
			/* AMD APM: extended APIC id. */
			e->eax = apic_id;
			break;
		default:
			break;
		}
	}
}

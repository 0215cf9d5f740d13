/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The CPUID policy a guest sees, as pure functions over a table of leaves.
 *
 * struct hv_cpuid is our own type, not struct kvm_cpuid2, so this file needs
 * no <linux/kvm.h> and tests can build tables by hand; the VMM copies it
 * field by field to and from KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 (the
 * flag values are KVM's).
 *
 * The usual order:  KVM_GET_SUPPORTED_CPUID -> hv_cpuid_apply(mask) -> add
 * our own 0x4000xxxx (Hyper-V) leaves -> per vCPU: hv_cpuid_set_vcpu() ->
 * KVM_SET_CPUID2.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_CPUID_MAX 256 /* KVM_MAX_CPUID_ENTRIES */
/* Same value as KVM_CPUID_FLAG_SIGNIFCANT_INDEX: index selects a subleaf. */
#define HV_CPUID_FLAG_SIGNIFICANT_INDEX (1u << 0)

struct hv_cpuid_entry {
	uint32_t function;
	uint32_t index;
	uint32_t flags;
	uint32_t eax, ebx, ecx, edx;
};

struct hv_cpuid {
	uint32_t nent;
	struct hv_cpuid_entry ent[HV_CPUID_MAX];
};

enum hv_cpuid_reg {
	HV_CPUID_EAX,
	HV_CPUID_EBX,
	HV_CPUID_ECX,
	HV_CPUID_EDX,
};

/* A named feature bit (Linux's /proc/cpuinfo names where there is one). */
struct hv_cpuid_feature {
	const char *name;
	uint32_t function;
	uint32_t index;
	enum hv_cpuid_reg reg;
	uint8_t bit;
};

/* Leaves and bits apply() touches. */
#define HV_CPUID_HYPERVISOR_BIT 31 /* CPUID.1:ECX */
#define HV_CPUID_HV_LEAF_FIRST 0x40000000u /* hypervisor range, removed */
#define HV_CPUID_HV_LEAF_LAST  0x4fffffffu

/* The table of known features; returns its length. */
size_t hv_cpuid_features(const struct hv_cpuid_feature **ret);
/* Index into that table of the feature called name (first len bytes,
 * case-insensitive), or -ENOENT. */
int hv_cpuid_feature_lookup(const char *name, size_t len);

#define HV_CPUID_FEATURES_MAX 128
/* Features to hide, as a bitmap over hv_cpuid_features()' table. */
struct hv_cpuid_mask {
	uint64_t clear[HV_CPUID_FEATURES_MAX / 64];
};

/*
 * Parse a mask such as "-avx2,-avx512f,-rdrand": comma-separated feature
 * names, each prefixed by '-' (hide); blanks around items and empty items
 * are ignored, so "" and NULL give an empty mask.  -EINVAL for an unknown
 * name or a missing '-'; then, if ret_bad_off is not NULL, it gets the
 * offset in spec of the offending item (which runs to the next ',').
 * *ret is untouched on failure.
 */
int hv_cpuid_mask_parse(const char *spec, struct hv_cpuid_mask *ret, size_t *ret_bad_off);
/* True if the mask hides the named feature. */
bool hv_cpuid_mask_has(const struct hv_cpuid_mask *m, const char *name);

/*
 * Apply the policy to c (as KVM_GET_SUPPORTED_CPUID returned it):
 *  - clear the masked features and everything that depends on them
 *    (after arch/x86/kernel/cpu/cpuid-deps.c):
 *      xsave  -> osxsave avx xsaveopt xsavec xsaves mpx pku, and leaf 0xD
 *                is zeroed;
 *      avx    -> avx2 fma f16c avx512f vaes vpclmulqdq (and XCR0 YMM);
 *      avx512f -> every avx512*; (and XCR0 opmask/ZMM bits)
 *      fxsr -> sse -> sse2 -> sse3 -> ssse3 -> sse4_1 -> sse4_2, and
 *      sse2 -> aes pclmulqdq sha_ni gfni; apic -> x2apic tsc_deadline;
 *      pku -> ospke; mpx/pku also drop their XCR0 components;
 *  - remove every leaf in 0x40000000-0x4fffffff (KVM's "KVMKVMKVM" leaves
 *    and anything after them), so the guest sees no KVM signature; the VMM
 *    adds its own hypervisor leaves afterwards;
 *  - set the hypervisor bit CPUID.1:ECX[31], unless the mask hides
 *    "hypervisor".
 * m may be NULL (no mask).  -EINVAL if c->nent > HV_CPUID_MAX, -ENOENT if
 * c has no leaf 1.
 */
int hv_cpuid_apply(struct hv_cpuid *c, const struct hv_cpuid_mask *m);

/*
 * Per-vCPU fix-ups for the vCPU with APIC id apic_id out of ncpus, all in
 * one package as ncpus cores with one thread each:
 *  - leaf 1: EBX[31:24] initial APIC id, EBX[23:16] = ncpus (max 255),
 *    EDX.HTT set if ncpus > 1;
 *  - leaves 0xB and 0x1F, each existing subleaf: EDX = x2APIC id, and the
 *    levels rewritten to SMT (1 thread) / Core (ncpus) / invalid;
 *  - leaf 0x8000001E (AMD), if present: EAX = extended APIC id.
 */
void hv_cpuid_set_vcpu(struct hv_cpuid *c, uint32_t apic_id, uint32_t ncpus);

/* The entry for function/index (index ignored unless the entry has
 * HV_CPUID_FLAG_SIGNIFICANT_INDEX), or NULL. */
struct hv_cpuid_entry *hv_cpuid_find(struct hv_cpuid *c, uint32_t function, uint32_t index);
/* True if the named feature's bit is set in c. */
bool hv_cpuid_has(const struct hv_cpuid *c, const char *name);

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Just enough ACPI (6.4) to count CPUs, find the MP wakeup mailbox and
 * power off: RSDP -> XSDT (or RSDT) -> MADT ("APIC"), FADT ("FACP") ->
 * DSDT's \_S5 package.  Each table we use must pass its checksum; one that
 * fails is reported ("acpi: bad checksum SIG") and ignored.  Tables must lie
 * below 4 GiB (what we map).
 */
#include "kernel.h"

#define RSDP_SIG 0x2052545020445352ull /* "RSD PTR " */
#define ACPI_HDR_LEN 36

/* Sum of bytes mod 256, eight at a time (byte-lane adds without carries
 * between lanes): the tables are read at emulated speed. */
static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	const uint64_t hi = 0x8080808080808080ull;
	uint64_t acc = 0;
	uint8_t s = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = rd64(p + i);
		acc = ((acc & ~hi) + (x & ~hi)) ^ ((acc ^ x) & hi);
	}
	for (unsigned k = 0; k < 8; k++)
		s = (uint8_t)(s + (acc >> (8 * k)));
	for (; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static bool sig_is(const uint8_t *t, const char *sig)
{
	return rd32(t) == rd32(sig);
}

/* The table at gpa if it is mapped, has a sane length and checksum. */
static const uint8_t *table_get(uint64_t gpa)
{
	const uint8_t *t = phys(gpa);
	uint32_t len;

	if (!gpa || gpa >= MAPPED_END - ACPI_HDR_LEN)
		return NULL;
	len = rd32(t + 4);
	if (len < ACPI_HDR_LEN || len > MAPPED_END - gpa)
		return NULL;
	if (sum_bytes(t, len) != 0) {
		kprintf("acpi: bad checksum %c%c%c%c\n", t[0], t[1], t[2], t[3]);
		return NULL;
	}
	return t;
}

static const uint8_t *rsdp_scan(uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a + 36 <= start + len; a += 16) {
		if (rd64(phys(a)) == RSDP_SIG)
			return phys(a);
	}
	return NULL;
}

/* boot.rst/PVH hand us the RSDP; else the BIOS areas (ACPI 6.4 §5.2.5.1). */
static const uint8_t *rsdp_find(uint64_t hint)
{
	const uint8_t *r = NULL;

	if (hint && hint < MAPPED_END - 36 && rd64(phys(hint)) == RSDP_SIG)
		r = phys(hint);
	if (!r) {
		uint64_t ebda = (uint64_t)rd16(phys(0x40e)) << 4;

		if (ebda >= 0x80000 && ebda < 0xa0000)
			r = rsdp_scan(ebda, 1024);
	}
	if (!r)
		r = rsdp_scan(0xe0000, 0x20000);
	if (!r)
		return NULL;
	/* ACPI 1.0 checksum over 20 bytes; 2.0+ extended one over 36. */
	if (sum_bytes(r, 20) != 0 || (r[15] >= 2 && sum_bytes(r, 36) != 0)) {
		kprintf("acpi: bad checksum RSDP\n");
		return NULL;
	}
	return r;
}

static void madt_parse(const uint8_t *t, struct acpi_info *a)
{
	uint32_t len = rd32(t + 4);

	a->ncpus = 0;
	for (uint32_t off = 44; off + 2 <= len;) {
		const uint8_t *e = t + off;
		uint8_t elen = e[1];
		uint32_t id = 0;
		bool enabled = false;

		if (elen < 2 || off + elen > len)
			break;
		if (e[0] == 0 && elen >= 8) { /* Processor Local APIC */
			id = e[3];
			enabled = rd32(e + 4) & 1;
		} else if (e[0] == 9 && elen >= 16) { /* Processor Local x2APIC */
			id = rd32(e + 4);
			enabled = rd32(e + 8) & 1;
		} else if (e[0] == 0x10 && elen >= 16) { /* Multiprocessor Wakeup */
			a->mailbox = rd64(e + 8);
		}
		if (enabled) {
			if (a->ncpus < GUEST_MAX_CPUS)
				a->apic_ids[a->ncpus] = id;
			a->ncpus++;
		}
		off += elen;
	}
	if (a->ncpus == 0)
		a->ncpus = 1; /* we are running */
}

/* SWAR: does any byte of x equal '_'? */
static bool has_underscore(uint64_t x)
{
	x ^= 0x5f5f5f5f5f5f5f5full;
	return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
}

/*
 * SLP_TYPa from the DSDT's \_S5: NameSeg "_S5_", PackageOp (0x12),
 * PkgLength, NumElements, then the first element (ACPI 6.4 §20.2.5/§7.4.2).
 */
static bool s5_find(const uint8_t *dsdt, uint8_t *ret)
{
	uint32_t len = rd32(dsdt + 4);
	const uint8_t *end = dsdt + len, *p = dsdt + ACPI_HDR_LEN;

	for (; p + 8 <= end; p += 8) {
		if (!has_underscore(rd64(p)))
			continue;
		for (const uint8_t *q = p; q < p + 8 && q + 9 <= end; q++) {
			if (rd32(q) != rd32("_S5_") || q[4] != 0x12)
				continue;
			/* PkgLength (1 + its top two bits more bytes), NumElements */
			const uint8_t *e = q + 5 + 1 + (q[5] >> 6) + 1;
			if (e + 2 > end)
				return false;
			if (e[0] == 0x0a) /* BytePrefix */
				*ret = e[1];
			else if (e[0] <= 1) /* ZeroOp, OneOp */
				*ret = e[0];
			else
				return false;
			return true;
		}
	}
	return false;
}

static void fadt_parse(const uint8_t *f, struct acpi_info *a)
{
	uint32_t len = rd32(f + 4);
	uint64_t dsdt_gpa = 0;
	const uint8_t *dsdt;

	if (len >= 148)
		dsdt_gpa = rd64(f + 140); /* X_DSDT */
	if (!dsdt_gpa)
		dsdt_gpa = rd32(f + 40);
	if (len >= 68)
		a->pm1a_cnt = (uint16_t)rd32(f + 64);
	if (!a->pm1a_cnt && len >= 184 && f[172] == 1) /* X_PM1a_CNT_BLK, SystemIO */
		a->pm1a_cnt = (uint16_t)rd64(f + 176);
	/* HW_REDUCED_ACPI (flags bit 20) with SLEEP_CONTROL_REG (offset 244). */
	if (len >= 256 && (rd32(f + 112) & (1u << 20)) && rd64(f + 248) &&
	    (f[244] == 0 || f[244] == 1)) {
		a->sleep_ctl = true;
		a->sleep_space = f[244];
		a->sleep_addr = rd64(f + 248);
	}

	/* RESET_REG (offset 116, a GAS) and RESET_VALUE (128), when flags
	 * bit 10 RESET_REG_SUP says they are there (ACPI 6.4 §5.2.9). */
	if (len >= 129 && (rd32(f + 112) & (1u << 10)) && f[116] == 1 && rd64(f + 120)) {
		a->reset_port = (uint16_t)rd64(f + 120);
		a->reset_value = f[128];
	}

	dsdt = table_get(dsdt_gpa);
	a->dsdt = dsdt;
	if (dsdt && !s5_find(dsdt, &a->slp_typ))
		kprintf("acpi: no _S5_ package\n");
}

void acpi_init(uint64_t rsdp_hint, struct acpi_info *a)
{
	const uint8_t *rsdp, *root;
	bool xsdt;

	*a = (struct acpi_info){ .ncpus = 1, .slp_typ = 5 };
	rsdp = rsdp_find(rsdp_hint);
	if (!rsdp) {
		kprintf("acpi: no RSDP\n");
		return;
	}
	xsdt = rsdp[15] >= 2 && rd64(rsdp + 24);
	root = table_get(xsdt ? rd64(rsdp + 24) : rd32(rsdp + 16));
	if (!root)
		return;

	uint32_t n = (rd32(root + 4) - ACPI_HDR_LEN) / (xsdt ? 8 : 4);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + ACPI_HDR_LEN + i * (xsdt ? 8 : 4);
		uint64_t gpa = xsdt ? rd64(e) : rd32(e);
		const uint8_t *h, *t;

		if (!gpa || gpa >= MAPPED_END - ACPI_HDR_LEN)
			continue;
		h = phys(gpa);
		if (sig_is(h, "APIC")) {
			if ((t = table_get(gpa)))
				madt_parse(t, a);
		} else if (sig_is(h, "FACP")) {
			if ((t = table_get(gpa)))
				fadt_parse(t, a);
		}
	}
}

/*
 * S5 as Linux does it: on a HW-reduced platform write
 * (SLP_TYP << 2) | SLP_EN(bit 5) to SLEEP_CONTROL_REG
 * (drivers/acpi/acpica/hwesleep.c), else SLP_TYP << 10 | SLP_EN(bit 13)
 * to PM1a_CNT (hwsleep.c).
 */
void acpi_power_off(const struct acpi_info *a)
{
	if (a->sleep_ctl) {
		uint8_t v = (uint8_t)((a->slp_typ & 7) << 2 | 1 << 5);

		if (a->sleep_space == 1)
			outb((uint16_t)a->sleep_addr, v);
		else
			*(volatile uint8_t *)phys(a->sleep_addr) = v;
	} else if (a->pm1a_cnt) {
		outw(a->pm1a_cnt, (uint16_t)((a->slp_typ & 7) << 10 | 1 << 13));
	}
	/* A VMM may stop us asynchronously: give it a moment. */
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < TIMEOUT_TSC;)
		cpu_relax();
	kprintf("poweroff failed\n");
	triple_fault();
}

void acpi_reset(const struct acpi_info *a)
{
	if (a->reset_port)
		outb(a->reset_port, a->reset_value);
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < TIMEOUT_TSC;)
		cpu_relax();
	kprintf("reset failed\n");
	triple_fault();
}

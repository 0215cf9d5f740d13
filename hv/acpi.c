// SPDX-License-Identifier: GPL-3.0-or-later
#include "acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "util.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");
/* The tables sit in the e820-reserved range below 1 MiB. */
_Static_assert(HV_ACPI_GPA >= HV_EBDA_GPA && HV_ACPI_GPA + HV_ACPI_MAX <= HV_HIGH_MEM_GPA,
	       "layout.h: ACPI area");

/* System Description Table Header (ACPI 6.4 §5.2.6). */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} _packed_;
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");

/* RSDP, revision 2 (§5.2.5.3). */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} _packed_;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

/* Generic Address Structure (§5.2.3.2). */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} _packed_;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define ACPI_SPACE_SYSTEM_IO 1
#define ACPI_ACCESS_BYTE     1

/* FADT, revision 6 (§5.2.9, Table 5.9). */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} _packed_;
_Static_assert(sizeof(struct acpi_fadt) == HV_FADT_LEN, "FADT");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == HV_FADT_OFF_IAPC_BOOT, "FADT");
_Static_assert(offsetof(struct acpi_fadt, flags) == HV_FADT_OFF_FLAGS, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == HV_FADT_OFF_RESET_REG, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == HV_FADT_OFF_RESET_VALUE, "FADT");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == HV_FADT_OFF_MINOR, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == HV_FADT_OFF_X_DSDT, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == HV_FADT_OFF_SLEEP_CTL, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_status_reg) == HV_FADT_OFF_SLEEP_STS, "FADT");

/* MADT (§5.2.12) and the entries we emit. */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} _packed_;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");

struct acpi_madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags; /* bit 0: Enabled */
} _packed_;
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");

struct acpi_madt_ioapic {
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} _packed_;
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");

struct acpi_madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} _packed_;
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO");

struct acpi_madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} _packed_;
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI");

struct acpi_madt_mp_wakeup {
	uint8_t type, length;
	uint16_t mailbox_version; /* 0 */
	uint32_t reserved;
	uint64_t mailbox_address;
} _packed_;
_Static_assert(sizeof(struct acpi_madt_mp_wakeup) == 16, "MADT MP wakeup");

/* Revisions we claim: ACPI 6.4. */
#define FADT_REVISION  6
#define FADT_MINOR     4
#define MADT_REVISION  5
#define XSDT_REVISION  1
/* DSDT revision 2+: AML integers are 64 bits wide (§5.2.11.1). */
#define DSDT_REVISION  2

/* Bound on a table length hv_acpi_find() accepts from guest memory. */
#define ACPI_TABLE_MAX (16u * 1024 * 1024)

static uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += b[i];
	return s;
}

bool hv_acpi_checksum_ok(const void *table, size_t len)
{
	return acpi_sum(table, len) == 0;
}

static void header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, HV_ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, HV_ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "SKYL", 4);
	h->creator_revision = 1;
}

/* Fill the checksum of a table laid out at p (header first). */
static void header_sum(void *p)
{
	struct acpi_header *h = p;

	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_sum(p, h->length);
}

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_SPACE_SYSTEM_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = ACPI_ACCESS_BYTE,
		.address = port,
	};
}

static void fadt_build(struct acpi_fadt *f, uint64_t dsdt_gpa, bool cmos_rtc)
{
	header_init(&f->h, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR;
	/*
	 * HW-reduced (§4.1): no PM1/PM2/PM timer/GPE blocks, no SCI, no FACS
	 * (FIRMWARE_CTRL and X_FIRMWARE_CTRL stay 0).  The DSDT is given by
	 * X_DSDT alone; ACPICA warns when the 32- and 64-bit fields disagree.
	 */
	f->flags = HV_FADT_F_HW_REDUCED_ACPI | HV_FADT_F_RESET_REG_SUP;
	f->x_dsdt = dsdt_gpa;
	/*
	 * IAPC_BOOT_ARCH: there are no ISA legacy devices beyond COM1 (which
	 * the DSDT lists), no 8042 (Linux then skips i8042 probing), no VGA (no
	 * probing of 0xa0000/0x3c0 that would exit to the VMM), no PCI so no
	 * MSI and no ASPM; no CMOS RTC unless the VMM emulates one
	 * (arch/x86/kernel/acpi/boot.c: acpi_parse_fadt()).
	 */
	f->iapc_boot_arch = HV_FADT_BOOT_NO_VGA | HV_FADT_BOOT_NO_MSI | HV_FADT_BOOT_NO_ASPM |
			    (cmos_rtc ? 0 : HV_FADT_BOOT_NO_CMOS_RTC);
	f->reset_reg = gas_io8(HV_ACPI_RESET_PORT);
	f->reset_value = HV_ACPI_RESET_VALUE;
	f->sleep_control_reg = gas_io8(HV_ACPI_SLEEP_CTL_PORT);
	f->sleep_status_reg = gas_io8(HV_ACPI_SLEEP_STS_PORT);
	header_sum(f);
}

static size_t madt_size(const struct hv_acpi_config *cfg)
{
	return sizeof(struct acpi_madt) + cfg->ncpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +
	       sizeof(struct acpi_madt_lapic_nmi) +
	       (cfg->mp_wakeup_gpa ? sizeof(struct acpi_madt_mp_wakeup) : 0);
}

static void madt_build(uint8_t *p, const struct hv_acpi_config *cfg)
{
	struct acpi_madt *m = (struct acpi_madt *)p;
	size_t off = sizeof(*m);
	uint32_t ncpus = cfg->ncpus;

	header_init(&m->h, "APIC", (uint32_t)madt_size(cfg), MADT_REVISION);
	m->lapic_address = (uint32_t)HV_LAPIC_GPA;
	/* The in-kernel irqchip has the dual 8259s too (§5.2.12, Table 5.20). */
	m->flags = HV_MADT_PCAT_COMPAT;

	for (uint32_t i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic l = {
			.type = HV_MADT_LAPIC,
			.length = sizeof(l),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = 1, /* Enabled */
		};
		memcpy(p + off, &l, sizeof(l));
		off += sizeof(l);
	}

	/* IOAPIC id follows the LAPIC ids so none collide. */
	struct acpi_madt_ioapic io = {
		.type = HV_MADT_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = (uint8_t)ncpus,
		.address = (uint32_t)HV_IOAPIC_GPA,
		.gsi_base = 0,
	};
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);

	/* The PIT's IRQ0 arrives at IOAPIC pin 2, as on PC hardware
	 * (§5.2.12.5); flags 0: conforms to the bus (edge, high). */
	struct acpi_madt_iso iso = {
		.type = HV_MADT_ISO,
		.length = sizeof(iso),
		.bus = 0,
		.source = 0,
		.gsi = 2,
		.flags = 0,
	};
	memcpy(p + off, &iso, sizeof(iso));
	off += sizeof(iso);

	/* LINT1 of every processor (UID 0xff) is the NMI pin (§5.2.12.7). */
	struct acpi_madt_lapic_nmi nmi = {
		.type = HV_MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = 0xff,
		.flags = 0,
		.lint = 1,
	};
	memcpy(p + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);

	/* APs are woken through a mailbox, in long mode, instead of with
	 * INIT/SIPI into real mode, which a software-only KVM may lack. */
	if (cfg->mp_wakeup_gpa) {
		struct acpi_madt_mp_wakeup w = {
			.type = HV_MADT_MP_WAKEUP,
			.length = sizeof(w),
			.mailbox_address = cfg->mp_wakeup_gpa,
		};
		memcpy(p + off, &w, sizeof(w));
	}

	header_sum(m);
}

void hv_acpi_vmbus_device(struct aml_buf *b, uint64_t mmio_base, uint64_t mmio_len)
{
	size_t dev, crs;

	dev = aml_device_begin(b, "VMBS");
	aml_name(b, "_HID");
	aml_string(b, "VMBUS");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_irq_noflags(b, HV_VMBUS_IRQ);
	aml_qword_memory(b, AML_MEM_NONCACHEABLE, true, mmio_base, mmio_base + mmio_len - 1,
			 mmio_len);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
}

/* The DSDT's AML, after its header. */
static int dsdt_aml(struct aml_buf *b, const struct hv_acpi_config *cfg)
{
	size_t sb, dev, crs, pkg;
	int r;

	sb = aml_scope_begin(b, "\\_SB");
	{
		/* COM1, the 16550 UART (PNP0501) at 0x3f8, IRQ 4. */
		dev = aml_device_begin(b, "COM1");
		aml_name(b, "_HID");
		aml_eisaid(b, "PNP0501");
		aml_name(b, "_UID");
		aml_integer(b, 0);
		aml_name(b, "_CRS");
		crs = aml_restemplate_begin(b);
		aml_io(b, HV_COM1_PORT, HV_COM1_PORT, 1, 8);
		aml_irq_noflags(b, HV_COM1_IRQ);
		aml_restemplate_end(b, crs);
		aml_end(b, dev);

		if (cfg->dsdt_extra) {
			r = cfg->dsdt_extra(b, cfg->dsdt_extra_data);
			if (r < 0)
				return r;
		}
	}
	aml_end(b, sb);

	/* \_S5: SLP_TYPa, SLP_TYPb (§7.4.2).  HW-reduced OSPM uses only
	 * SLP_TYPa (hwesleep.c). */
	aml_name(b, "\\_S5");
	pkg = aml_package_begin(b, 2);
	aml_integer(b, HV_ACPI_S5_SLP_TYP);
	aml_integer(b, 0);
	aml_end(b, pkg);

	return aml_error(b);
}

int hv_acpi_build(const struct hv_guest_mem *mem, const struct hv_acpi_config *cfg,
		  uint64_t *ret_rsdp_gpa)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct aml_buf aml;
	size_t rsdp_off, xsdt_off, fadt_off, madt_off, dsdt_off, end;
	const size_t xsdt_len = sizeof(struct acpi_header) + 2 * sizeof(uint64_t);
	int r;

	if (!cfg || cfg->ncpus == 0 || cfg->ncpus > HV_MAX_VCPUS || cfg->mp_wakeup_gpa % 4096)
		return -EINVAL;
	/* Processor UIDs, APIC ids and the IOAPIC id are 8-bit. */
	_Static_assert(HV_MAX_VCPUS < 255, "8-bit APIC ids");
	if (!hv_gpa_to_host(mem, HV_ACPI_GPA, HV_ACPI_MAX))
		return -EFAULT;

	/* Tables in order, each 16-byte aligned. */
	rsdp_off = 0;
	xsdt_off = ALIGN_UP(rsdp_off + sizeof(struct acpi_rsdp), 16);
	fadt_off = ALIGN_UP(xsdt_off + xsdt_len, 16);
	madt_off = ALIGN_UP(fadt_off + sizeof(struct acpi_fadt), 16);
	dsdt_off = ALIGN_UP(madt_off + madt_size(cfg), 16);
	if (dsdt_off + sizeof(struct acpi_header) > HV_ACPI_MAX)
		return -E2BIG;

	aml_init(&aml, HV_ACPI_MAX - dsdt_off - sizeof(struct acpi_header));
	r = dsdt_aml(&aml, cfg);
	if (r < 0) {
		aml_finish(&aml);
		return r;
	}
	end = dsdt_off + sizeof(struct acpi_header) + aml.len;

	buf = calloc(1, HV_ACPI_MAX);
	if (!buf) {
		aml_finish(&aml);
		return -ENOMEM;
	}

	/* DSDT. */
	header_init((struct acpi_header *)(buf + dsdt_off), "DSDT",
		    (uint32_t)(end - dsdt_off), DSDT_REVISION);
	memcpy(buf + dsdt_off + sizeof(struct acpi_header), aml.data, aml.len);
	aml_finish(&aml);
	header_sum(buf + dsdt_off);

	/* FADT, MADT. */
	struct acpi_fadt fadt = { 0 };
	fadt_build(&fadt, HV_ACPI_GPA + dsdt_off, cfg->cmos_rtc);
	memcpy(buf + fadt_off, &fadt, sizeof(fadt));
	madt_build(buf + madt_off, cfg);

	/* XSDT: FADT, MADT (§5.2.8). */
	header_init((struct acpi_header *)(buf + xsdt_off), "XSDT", (uint32_t)xsdt_len,
		    XSDT_REVISION);
	uint64_t ents[2] = { HV_ACPI_GPA + fadt_off, HV_ACPI_GPA + madt_off };
	memcpy(buf + xsdt_off + sizeof(struct acpi_header), ents, sizeof(ents));
	header_sum(buf + xsdt_off);

	/* RSDP, at the start of the 0xe0000 area Linux also scans
	 * (drivers/acpi/acpica/tbxfroot.c: acpi_find_root_pointer()). */
	struct acpi_rsdp rsdp = {
		.revision = 2,
		.rsdt_address = 0, /* XSDT only */
		.length = sizeof(rsdp),
		.xsdt_address = HV_ACPI_GPA + xsdt_off,
	};
	memcpy(rsdp.signature, "RSD PTR ", 8);
	memcpy(rsdp.oem_id, HV_ACPI_OEM_ID, 6);
	rsdp.checksum = (uint8_t)-acpi_sum(&rsdp, 20);
	rsdp.ext_checksum = (uint8_t)-acpi_sum(&rsdp, sizeof(rsdp));
	memcpy(buf + rsdp_off, &rsdp, sizeof(rsdp));

	r = hv_guest_write(mem, HV_ACPI_GPA, buf, HV_ACPI_MAX);
	if (r < 0)
		return r;
	*ret_rsdp_gpa = HV_ACPI_GPA + rsdp_off;
	return 0;
}

/* Map a whole table whose header is at gpa, checking length and checksum. */
static int table_map(const struct hv_guest_mem *mem, uint64_t gpa, const uint8_t **ret,
		     uint32_t *ret_len)
{
	const struct acpi_header *h = hv_gpa_to_host(mem, gpa, sizeof(*h));
	const uint8_t *p;
	uint32_t len;

	if (!h)
		return -EFAULT;
	memcpy(&len, &h->length, sizeof(len));
	if (len < sizeof(*h) || len > ACPI_TABLE_MAX)
		return -EBADMSG;
	p = hv_gpa_to_host(mem, gpa, len);
	if (!p)
		return -EFAULT;
	if (!hv_acpi_checksum_ok(p, len))
		return -EBADMSG;
	*ret = p;
	*ret_len = len;
	return 0;
}

static int find_in_xsdt(const struct hv_guest_mem *mem, uint64_t xsdt_gpa, const char sig[4],
			uint64_t *ret_gpa, uint32_t *ret_len)
{
	const uint8_t *x, *t;
	uint32_t xlen, tlen;
	int r;

	r = table_map(mem, xsdt_gpa, &x, &xlen);
	if (r < 0)
		return r;
	if (memcmp(x, "XSDT", 4) != 0 || (xlen - sizeof(struct acpi_header)) % 8 != 0)
		return -EBADMSG;

	for (size_t off = sizeof(struct acpi_header); off < xlen; off += 8) {
		const char *s;
		uint64_t gpa;

		memcpy(&gpa, x + off, sizeof(gpa));
		s = hv_gpa_to_host(mem, gpa, 4);
		if (!s)
			return -EFAULT;
		if (memcmp(s, sig, 4) != 0)
			continue;
		r = table_map(mem, gpa, &t, &tlen);
		if (r < 0)
			return r;
		*ret_gpa = gpa;
		*ret_len = tlen;
		return 0;
	}
	return -ENOENT;
}

int hv_acpi_find(const struct hv_guest_mem *mem, uint64_t rsdp_gpa, const char sig[4],
		 uint64_t *ret_gpa, uint32_t *ret_len)
{
	const struct acpi_rsdp *rp;
	struct acpi_rsdp rsdp;
	const uint8_t *t;
	uint64_t gpa, dsdt;
	uint32_t len;
	int r;

	rp = hv_gpa_to_host(mem, rsdp_gpa, sizeof(rsdp));
	if (!rp)
		return -EFAULT;
	memcpy(&rsdp, rp, sizeof(rsdp));
	if (memcmp(rsdp.signature, "RSD PTR ", 8) != 0 || !hv_acpi_checksum_ok(&rsdp, 20) ||
	    rsdp.revision < 2 || rsdp.length < sizeof(rsdp) ||
	    !hv_acpi_checksum_ok(&rsdp, sizeof(rsdp)))
		return -EBADMSG;
	/* A longer RSDP (a future revision) must checksum over its length. */
	if (rsdp.length > sizeof(rsdp)) {
		if (rsdp.length > 4096)
			return -EBADMSG;
		rp = hv_gpa_to_host(mem, rsdp_gpa, rsdp.length);
		if (!rp)
			return -EFAULT;
		if (!hv_acpi_checksum_ok(rp, rsdp.length))
			return -EBADMSG;
	}

	if (memcmp(sig, "DSDT", 4) != 0)
		return find_in_xsdt(mem, rsdp.xsdt_address, sig, ret_gpa, ret_len);

	/* The DSDT hangs off the FADT (§5.2.9): X_DSDT, else DSDT. */
	r = find_in_xsdt(mem, rsdp.xsdt_address, "FACP", &gpa, &len);
	if (r < 0)
		return r;
	t = hv_gpa_to_host(mem, gpa, len);
	if (!t)
		return -EFAULT;
	dsdt = 0;
	if (len >= HV_FADT_OFF_X_DSDT + 8)
		memcpy(&dsdt, t + HV_FADT_OFF_X_DSDT, 8);
	if (!dsdt && len >= offsetof(struct acpi_fadt, dsdt) + 4) {
		uint32_t d32;

		memcpy(&d32, t + offsetof(struct acpi_fadt, dsdt), 4);
		dsdt = d32;
	}
	if (!dsdt)
		return -ENOENT;
	r = table_map(mem, dsdt, &t, &len);
	if (r < 0)
		return r;
	if (memcmp(t, "DSDT", 4) != 0)
		return -EBADMSG;
	*ret_gpa = dsdt;
	*ret_len = len;
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The ACPI tables skyvm hands the guest (ACPI 6.4 §5.2): RSDP, XSDT, FADT,
 * MADT and DSDT, written into guest RAM at HV_ACPI_GPA.  The platform is
 * hardware-reduced (§4.1): no PM1/GPE blocks, no FACS, no SCI.  Sleep and
 * reset go through the FADT's SLEEP_CONTROL/SLEEP_STATUS/RESET registers,
 * which are I/O ports the VMM decodes:
 *
 *   - reset: the guest writes HV_ACPI_RESET_VALUE to HV_ACPI_RESET_PORT
 *     (drivers/acpi/reboot.c: acpi_reboot()).
 *   - S5 (power off): Linux reads SLP_TYPa from \_S5 and, on a HW-reduced
 *     platform, writes (SLP_TYPa << 2) | SLP_EN (bit 5) to SLEEP_CONTROL
 *     (drivers/acpi/acpica/hwesleep.c: acpi_hw_extended_sleep()), i.e.
 *     HV_ACPI_S5_WRITE to HV_ACPI_SLEEP_CTL_PORT.  Its wake-status poll reads
 *     SLEEP_STATUS (bit 7 WAK_STS).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aml.h"
#include "layout.h"
#include "memory.h"

/* What the guest writes to SLEEP_CONTROL to enter S5 (ACPI 6.4 §4.8.3.7). */
#define HV_ACPI_SLEEP_TYP_SHIFT 2
#define HV_ACPI_SLEEP_TYP_MASK  0x1c
#define HV_ACPI_SLEEP_EN        0x20
#define HV_ACPI_S5_WRITE ((HV_ACPI_S5_SLP_TYP << HV_ACPI_SLEEP_TYP_SHIFT) | HV_ACPI_SLEEP_EN)

#define HV_ACPI_OEM_ID       "SKYLT "
#define HV_ACPI_OEM_TABLE_ID "SKYLIGHT"

/* FADT Flags (ACPI 6.4 §5.2.9, Table 5.10). */
#define HV_FADT_F_RESET_REG_SUP   (1u << 10)
#define HV_FADT_F_HW_REDUCED_ACPI (1u << 20)
/* FADT IAPC_BOOT_ARCH (§5.2.9.3, Table 5.11). */
#define HV_FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define HV_FADT_BOOT_8042           (1u << 1)
#define HV_FADT_BOOT_NO_VGA         (1u << 2)
#define HV_FADT_BOOT_NO_MSI         (1u << 3)
#define HV_FADT_BOOT_NO_ASPM        (1u << 4)
#define HV_FADT_BOOT_NO_CMOS_RTC    (1u << 5)

/* Byte offsets into the FADT of the fields tests and tools look at. */
#define HV_FADT_LEN              276
#define HV_FADT_OFF_IAPC_BOOT    109
#define HV_FADT_OFF_FLAGS        112
#define HV_FADT_OFF_RESET_REG    116
#define HV_FADT_OFF_RESET_VALUE  128
#define HV_FADT_OFF_MINOR        131
#define HV_FADT_OFF_X_DSDT       140
#define HV_FADT_OFF_SLEEP_CTL    244
#define HV_FADT_OFF_SLEEP_STS    256

/* MADT (§5.2.12) entry types. */
#define HV_MADT_LAPIC     0
#define HV_MADT_IOAPIC    1
#define HV_MADT_ISO       2
#define HV_MADT_LAPIC_NMI 4
#define HV_MADT_MP_WAKEUP 0x10 /* ACPI 6.4 §5.2.12.19 */
#define HV_MADT_PCAT_COMPAT 1u

struct hv_acpi_config {
	uint32_t ncpus; /* 1..HV_MAX_VCPUS; APIC ids 0..ncpus-1 */
	/* True if the VMM emulates a CMOS RTC at port 0x70; otherwise the
	 * FADT says "CMOS RTC not present". */
	bool cmos_rtc;
	/* GPA of the 4 KiB-aligned Multiprocessor Wakeup mailbox announced in
	 * the MADT (ACPI 6.4 §5.2.12.19, mailbox version 0; Linux:
	 * arch/x86/kernel/acpi/madt_wakeup.c), or 0 for none: then APs can
	 * only be started with INIT/SIPI. */
	uint64_t mp_wakeup_gpa;
	/*
	 * Optional: called inside the DSDT's Scope(\_SB) after the built-in
	 * devices, to append more Device()s (e.g. the VMBus device with its
	 * _CRS MMIO window).  Errors go into b (see aml.h) or are returned
	 * (negative errno); either aborts the build.
	 */
	int (*dsdt_extra)(struct aml_buf *b, void *data);
	void *dsdt_extra_data;
};

/*
 * Write the tables at HV_ACPI_GPA (at most HV_ACPI_MAX bytes) and return the
 * RSDP's GPA.  The whole area is cleared first.  -EINVAL for a bad config,
 * -E2BIG if the tables don't fit, -EFAULT if the area is not guest RAM,
 * -ENOMEM.  *ret_rsdp_gpa is untouched on failure.
 */
int hv_acpi_build(const struct hv_guest_mem *mem, const struct hv_acpi_config *cfg,
		  uint64_t *ret_rsdp_gpa);

/*
 * Device(VMBS) for a dsdt_extra callback: _HID "VMBUS" (what Linux 6.1's
 * only VMBus probe path matches: drivers/hv/vmbus_drv.c vmbus_acpi_device_ids),
 * and a _CRS, which vmbus_acpi_add() requires, holding an IRQ and the MMIO
 * window [mmio_base, mmio_base + mmio_len) as an address descriptor (only
 * those count for vmbus_walk_resources()).
 */
void hv_acpi_vmbus_device(struct aml_buf *b, uint64_t mmio_base, uint64_t mmio_len);

/* True if the bytes of table sum to zero (mod 256). */
bool hv_acpi_checksum_ok(const void *table, size_t len);

/*
 * Find the table with signature sig through the RSDP at rsdp_gpa (revision
 * 2, XSDT).  "FACP", "APIC", ... are looked up in the XSDT; "DSDT" through
 * the FADT's X_DSDT.  Every pointer and length read from guest memory is
 * bounds-checked and every checksum verified: -EFAULT for a pointer outside
 * RAM, -EBADMSG for a bad signature, length or checksum, -ENOENT if absent.
 * *ret_gpa and *ret_len are set only on success.
 */
int hv_acpi_find(const struct hv_guest_mem *mem, uint64_t rsdp_gpa, const char sig[4],
		 uint64_t *ret_gpa, uint32_t *ret_len);

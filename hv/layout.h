/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The guest-physical memory map skyvm presents (docs/guest-abi.md).  RAM
 * starts at 0 and runs up to HV_LOW_RAM_MAX; what does not fit below the
 * 32-bit MMIO hole continues at 4 GiB.
 */

#define HV_ZERO_PAGE_GPA  0x7000ull   /* struct boot_params */
#define HV_CMDLINE_GPA    0x20000ull
#define HV_CMDLINE_MAX    4096u       /* including the NUL */
#define HV_BOOT_STACK_GPA 0x8ff0ull   /* initial RSP: 4 KiB above the zero page */
#define HV_EBDA_GPA       0x9fc00ull  /* e820 reserves from here ... */
#define HV_ACPI_GPA       0xe0000ull  /* RSDP here (scan area), then the tables */
#define HV_ACPI_MAX       0x18000ull
/*
 * Boot GDT and identity page tables live in the e820-reserved area so that
 * they are still intact when an AP is woken long after the kernel reused
 * its low RAM (the ACPI MP wakeup protocol enters APs in long mode).
 */
#define HV_PML4_GPA       0xf8000ull  /* boot page tables: PML4, PDPT, 4 PDs */
#define HV_PDPT_GPA       0xf9000ull
#define HV_PD_GPA         0xfa000ull  /* 4 pages: identity map of 0..4 GiB */
#define HV_GDT_GPA        0xfe000ull  /* boot GDT: null, -, code64 0x10, data 0x18 */
#define HV_HIGH_MEM_GPA   0x100000ull /* 1 MiB: where RAM for kernels begins */

#define HV_MMIO_HOLE_GPA  0xc0000000ull /* 3 GiB .. 4 GiB: MMIO, no RAM */
#define HV_LOW_RAM_MAX    HV_MMIO_HOLE_GPA
#define HV_HIGH_RAM_GPA   0x100000000ull
/*
 * ACPI 6.4 §5.2.12.19 Multiprocessor Wakeup mailbox (4 KiB).  No memslot
 * backs it: every guest access exits to skyvm, which parks APs in userspace
 * until the OS writes a wakeup command (no real-mode INIT/SIPI needed).
 */
#define HV_MP_MAILBOX_GPA 0xfeb00000ull
/*
 * The VMBus device's MMIO window (its ACPI _CRS): guests allocate device
 * MMIO from it, hyperv_drm its framebuffer (research §1.D.17).
 */
#define HV_VMBUS_MMIO_GPA 0xe0000000ull
#define HV_VMBUS_MMIO_SIZE 0x10000000ull
/* IRQ named in the VMBus _CRS, as Hyper-V's firmware does; x86 Linux
 * ignores it (the SynIC vector is fixed) but the descriptor is expected. */
#define HV_VMBUS_IRQ 5
#define HV_IOAPIC_GPA     0xfec00000ull
#define HV_LAPIC_GPA      0xfee00000ull

/* I/O ports. */
#define HV_COM1_PORT      0x3f8
#define HV_COM1_IRQ       4
/* ACPI hardware-reduced registers (FADT SLEEP_CONTROL/SLEEP_STATUS/RESET). */
#define HV_ACPI_SLEEP_CTL_PORT 0x600
#define HV_ACPI_SLEEP_STS_PORT 0x601
#define HV_ACPI_RESET_PORT     0x604
#define HV_ACPI_RESET_VALUE    0x01
/* SLP_TYP our DSDT's \_S5 package names; SLP_EN is bit 5 (ACPI 6.4 §4.8.3.7). */
#define HV_ACPI_S5_SLP_TYP     5

#define HV_MAX_VCPUS      64
#define HV_MIN_MEM        (16ull << 20)
#define HV_MAX_MEM        (1ull << 40)

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 * arch/x86/include/uapi/asm/bootparam.h): load a kernel image, write the
 * zero page (struct boot_params), the e820 map, an identity-mapped page
 * table and a GDT, so the VMM can start vCPU 0 in long mode at the entry
 * point with RSI = HV_ZERO_PAGE_GPA, CS = HV_BOOT_CS, DS/ES/SS = HV_BOOT_DS,
 * CR3 = HV_PML4_GPA, RSP = HV_BOOT_STACK_GPA.
 *
 * Kernel images are untrusted input: every field is checked against the
 * file length and guest RAM before use.
 */

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* e820 types (arch/x86/include/asm/e820/types.h). */
#define HV_E820_RAM      1
#define HV_E820_RESERVED 2
#define HV_E820_ACPI     3
#define HV_E820_MAX      128 /* entries in boot_params.e820_table */

struct hv_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/*
 * The guest's memory map for ram_size bytes of RAM (layout.h):
 *   RAM      [0, HV_EBDA_GPA)
 *   reserved [HV_EBDA_GPA, 1 MiB)       EBDA, ACPI tables, BIOS area
 *   RAM      [1 MiB, low_end)           low_end = min(ram_size, HV_LOW_RAM_MAX)
 *   RAM      [4 GiB, 4 GiB + ram_size - low_end)   if any is left
 * -ERANGE unless HV_MIN_MEM <= ram_size <= HV_MAX_MEM; -ENOBUFS if max is
 * too small.  out and *ret_n are untouched on failure.
 */
int hv_e820_build(uint64_t ram_size, struct hv_e820_entry *out, size_t max, size_t *ret_n);

/* Boot protocol constants (boot.rst "THE REAL-MODE KERNEL HEADER"). */
#define HV_SETUP_HDR_OFF      0x1f1  /* setup header within boot_params/bzImage */
#define HV_SETUP_HDR_MAX      (0x290 - 0x1f1) /* room in boot_params for it */
#define HV_BOOT_MIN_VERSION   0x020c /* 2.12: xloadflags, XLF_KERNEL_64 */
#define HV_BOOT_ELF_VERSION   0x020f /* what we claim in a synthesized header */
#define HV_LOADFLAG_LOADED_HIGH   (1u << 0)
#define HV_LOADFLAG_KEEP_SEGMENTS (1u << 6)
#define HV_LOADFLAG_CAN_USE_HEAP  (1u << 7)
#define HV_XLF_KERNEL_64          (1u << 0)
#define HV_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)
#define HV_TYPE_OF_LOADER_OTHER   0xff
/* The 64-bit entry is 0x200 past the protected-mode code's start. */
#define HV_BZIMAGE_ENTRY64_OFF 0x200
/* Defaults for an ELF kernel, which carries no setup header. */
#define HV_ELF_INITRD_ADDR_MAX 0x7fffffffu

enum hv_kernel_kind {
	HV_KERNEL_BZIMAGE = 1,
	HV_KERNEL_ELF,
};

struct hv_kernel {
	enum hv_kernel_kind kind;
	uint64_t entry;      /* GPA of the 64-bit entry point */
	uint64_t load_start; /* GPA range the kernel occupies, including */
	uint64_t load_end;   /* bss/init_size; exclusive end */
	uint16_t version;    /* boot protocol version */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max; /* highest address an initrd byte may have */
	uint32_t cmdline_size;    /* longest command line, without the NUL */
	/* bzImage only: its setup header, bytes 0x1f1 .. end of header. */
	uint32_t setup_hdr_len;
	uint8_t setup_hdr[HV_SETUP_HDR_MAX];
};

/*
 * Load a kernel image into guest RAM and describe it in *ret.  Accepted:
 *   - bzImage, boot protocol >= 2.12 with XLF_KERNEL_64 and LOADED_HIGH; the
 *     protected-mode part goes to pref_address if relocatable, else 1 MiB;
 *   - ELF64 x86-64 ET_EXEC (vmlinux): each PT_LOAD at p_paddr, bss zeroed.
 * Errors: -ENOEXEC for anything that is not such an image, or is truncated,
 * corrupt, or would load below HV_HIGH_MEM_GPA; -E2BIG if it does not fit in
 * low RAM (below min(RAM size, HV_LOW_RAM_MAX)).  Guest RAM is written
 * only once the whole image has been validated; *ret only on success.
 */
int hv_kernel_load(const struct hv_guest_mem *mem, const void *image, size_t len,
		   struct hv_kernel *ret);

/*
 * Highest page-aligned GPA for an initrd of size bytes below
 * min(low RAM end, initrd_addr_max + 1) and at or above the kernel's end.
 * -E2BIG if it doesn't fit there, -EINVAL for size 0.
 */
int hv_initrd_place(const struct hv_guest_mem *mem, const struct hv_kernel *k, uint64_t size,
		    uint64_t *ret_gpa);

/*
 * Write the zero page at HV_ZERO_PAGE_GPA and the command line at
 * HV_CMDLINE_GPA.  cmdline may be NULL (empty); initrd_size 0 means none;
 * rsdp_gpa 0 means none.  The e820 map follows hv_e820_build(mem->size).
 * -E2BIG for a command line longer than HV_CMDLINE_MAX - 1 or the kernel's
 * cmdline_size, -ERANGE for an initrd the kernel can't reach (or a RAM size
 * hv_e820_build() refuses), -EFAULT if a range is not guest RAM.  Nothing
 * is written on failure.
 */
int hv_boot_params_build(const struct hv_guest_mem *mem, const struct hv_kernel *k,
			 const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size,
			 uint64_t rsdp_gpa);

/* Identity map of GPA 0..4 GiB with 2 MiB pages: PML4 at HV_PML4_GPA, one
 * PDPT at HV_PDPT_GPA, 4 PDs from HV_PD_GPA.  -EFAULT if not guest RAM. */
#define HV_BOOT_PT_FLAGS_PRESENT (1ull << 0)
#define HV_BOOT_PT_FLAGS_RW      (1ull << 1)
#define HV_BOOT_PT_FLAGS_PS      (1ull << 7)
int hv_boot_pagetables_build(const struct hv_guest_mem *mem);

/*
 * The boot GDT at HV_GDT_GPA (boot.rst "64-bit BOOT PROTOCOL": __BOOT_CS
 * 0x10 execute/read, __BOOT_DS 0x18 read/write, flat 4 GiB).  Entry 1 is an
 * unused null descriptor, as in Linux's boot GDT.  The VMM loads GDTR with
 * (HV_GDT_GPA, HV_BOOT_GDT_LIMIT) and the hidden segment parts to match
 * these descriptors.
 */
#define HV_BOOT_CS 0x10
#define HV_BOOT_DS 0x18
#define HV_BOOT_GDT_CODE64 0x00af9b000000ffffull /* L=1 G=1 P=1 type 0xb */
#define HV_BOOT_GDT_DATA   0x00cf93000000ffffull /* D/B=1 G=1 P=1 type 0x3 */
#define HV_BOOT_GDT_ENTRIES 4
#define HV_BOOT_GDT_LIMIT  (HV_BOOT_GDT_ENTRIES * 8 - 1)
int hv_boot_gdt_build(const struct hv_guest_mem *mem);

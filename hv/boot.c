// SPDX-License-Identifier: GPL-3.0-or-later
#include "boot.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "layout.h"
#include "util.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "x86 boot structures are little-endian");

#define PAGE_SIZE 4096ull

/* The fixed boot areas of layout.h must not overlap one another. */
#define DISJOINT(a, alen, b, blen) ((a) + (alen) <= (b) || (b) + (blen) <= (a))
#define PT_LEN (6 * PAGE_SIZE) /* PML4, PDPT, 4 PDs */
#define GDT_LEN (HV_BOOT_GDT_ENTRIES * 8)
_Static_assert(DISJOINT(HV_PML4_GPA, PT_LEN, HV_GDT_GPA, GDT_LEN), "layout.h");
_Static_assert(DISJOINT(HV_PML4_GPA, PT_LEN, HV_ZERO_PAGE_GPA, PAGE_SIZE), "layout.h");
_Static_assert(DISJOINT(HV_PML4_GPA, PT_LEN, HV_CMDLINE_GPA, HV_CMDLINE_MAX), "layout.h");
_Static_assert(DISJOINT(HV_PML4_GPA, PT_LEN, HV_ACPI_GPA, HV_ACPI_MAX), "layout.h");
_Static_assert(DISJOINT(HV_GDT_GPA, GDT_LEN, HV_ZERO_PAGE_GPA, PAGE_SIZE), "layout.h");
_Static_assert(DISJOINT(HV_GDT_GPA, GDT_LEN, HV_CMDLINE_GPA, HV_CMDLINE_MAX), "layout.h");
_Static_assert(DISJOINT(HV_GDT_GPA, GDT_LEN, HV_ACPI_GPA, HV_ACPI_MAX), "layout.h");
_Static_assert(DISJOINT(HV_ZERO_PAGE_GPA, PAGE_SIZE, HV_CMDLINE_GPA, HV_CMDLINE_MAX), "layout.h");
_Static_assert(HV_PML4_GPA + PT_LEN <= HV_HIGH_MEM_GPA && HV_GDT_GPA + GDT_LEN <= HV_HIGH_MEM_GPA &&
	       HV_CMDLINE_GPA + HV_CMDLINE_MAX <= HV_EBDA_GPA, "boot data below the kernel");

/*
 * struct setup_header (arch/x86/include/uapi/asm/bootparam.h), as it sits
 * at 0x1f1 in both the bzImage and boot_params; protocol 2.15.
 */
struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} _packed_;

#define HDR_OFF(f) (HV_SETUP_HDR_OFF + offsetof(struct setup_header, f))
_Static_assert(HDR_OFF(boot_flag) == 0x1fe, "setup_header");
_Static_assert(HDR_OFF(jump) == 0x200, "setup_header");
_Static_assert(HDR_OFF(header) == 0x202, "setup_header");
_Static_assert(HDR_OFF(version) == 0x206, "setup_header");
_Static_assert(HDR_OFF(type_of_loader) == 0x210, "setup_header");
_Static_assert(HDR_OFF(loadflags) == 0x211, "setup_header");
_Static_assert(HDR_OFF(ramdisk_image) == 0x218, "setup_header");
_Static_assert(HDR_OFF(heap_end_ptr) == 0x224, "setup_header");
_Static_assert(HDR_OFF(cmd_line_ptr) == 0x228, "setup_header");
_Static_assert(HDR_OFF(initrd_addr_max) == 0x22c, "setup_header");
_Static_assert(HDR_OFF(relocatable_kernel) == 0x234, "setup_header");
_Static_assert(HDR_OFF(xloadflags) == 0x236, "setup_header");
_Static_assert(HDR_OFF(cmdline_size) == 0x238, "setup_header");
_Static_assert(HDR_OFF(pref_address) == 0x258, "setup_header");
_Static_assert(HDR_OFF(init_size) == 0x260, "setup_header");
_Static_assert(HDR_OFF(kernel_info_offset) == 0x268, "setup_header");
_Static_assert(HV_SETUP_HDR_OFF + sizeof(struct setup_header) == 0x26c, "setup_header");

/* The header must reach init_size (2.10+) for us to use it. */
#define HDR_MIN_END (HDR_OFF(init_size) + 4)

/* struct boot_params, "the zero page" (bootparam.h, boot.rst "ZERO PAGE"). */
struct boot_params {
	uint8_t screen_info[0x40];
	uint8_t apm_bios_info[0x14];
	uint8_t _pad2[4];
	uint64_t tboot_addr;
	uint8_t ist_info[0x10];
	uint64_t acpi_rsdp_addr;
	uint8_t _pad3[8];
	uint8_t hd0_info[16];
	uint8_t hd1_info[16];
	uint8_t sys_desc_table[0x10];
	uint8_t olpc_ofw_header[0x10];
	uint32_t ext_ramdisk_image;
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t _pad4[112];
	uint32_t cc_blob_address;
	uint8_t edid_info[0x80];
	uint8_t efi_info[0x20];
	uint32_t alt_mem_k;
	uint32_t scratch;
	uint8_t e820_entries;
	uint8_t eddbuf_entries;
	uint8_t edd_mbr_sig_buf_entries;
	uint8_t kbd_status;
	uint8_t secure_boot;
	uint8_t _pad5[2];
	uint8_t sentinel;
	uint8_t _pad6[1];
	struct setup_header hdr;
	uint8_t _pad7[0x290 - HV_SETUP_HDR_OFF - sizeof(struct setup_header)];
	uint32_t edd_mbr_sig_buffer[16];
	struct hv_e820_entry e820_table[HV_E820_MAX];
	uint8_t _pad8[48];
	uint8_t eddbuf[0x1ec];
	uint8_t _pad9[276];
} _packed_;
_Static_assert(sizeof(struct boot_params) == 4096, "boot_params");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "boot_params");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "boot_params");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "boot_params");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "boot_params");
_Static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "boot_params");
_Static_assert(offsetof(struct boot_params, hdr) == HV_SETUP_HDR_OFF, "boot_params");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "boot_params");
_Static_assert(offsetof(struct boot_params, eddbuf) == 0xd00, "boot_params");
_Static_assert(sizeof(struct hv_e820_entry) == 20, "e820 entry");

#define BOOT_FLAG_MAGIC 0xaa55
#define HDRS_MAGIC      0x53726448 /* "HdrS" */

int hv_e820_build(uint64_t ram_size, struct hv_e820_entry *out, size_t max, size_t *ret_n)
{
	struct hv_e820_entry e[4];
	uint64_t low_end;
	size_t n = 0;

	if (ram_size < HV_MIN_MEM || ram_size > HV_MAX_MEM)
		return -ERANGE;
	low_end = MIN(ram_size, HV_LOW_RAM_MAX);

	e[n++] = (struct hv_e820_entry){ 0, HV_EBDA_GPA, HV_E820_RAM };
	/* EBDA, the ACPI tables at HV_ACPI_GPA and the BIOS area. */
	e[n++] = (struct hv_e820_entry){ HV_EBDA_GPA, HV_HIGH_MEM_GPA - HV_EBDA_GPA,
					 HV_E820_RESERVED };
	e[n++] = (struct hv_e820_entry){ HV_HIGH_MEM_GPA, low_end - HV_HIGH_MEM_GPA, HV_E820_RAM };
	if (ram_size > low_end)
		e[n++] = (struct hv_e820_entry){ HV_HIGH_RAM_GPA, ram_size - low_end, HV_E820_RAM };

	if (n > max)
		return -ENOBUFS;
	memcpy(out, e, n * sizeof(e[0]));
	*ret_n = n;
	return 0;
}

/* True if [gpa, gpa + size) lies within [HV_HIGH_MEM_GPA, low RAM end). */
static bool fits_low(const struct hv_guest_mem *mem, uint64_t gpa, uint64_t size)
{
	return gpa >= HV_HIGH_MEM_GPA && gpa <= mem->low_size && size <= mem->low_size - gpa;
}

static int bzimage_load(const struct hv_guest_mem *mem, const uint8_t *img, size_t len,
			struct hv_kernel *ret)
{
	struct setup_header h = { 0 };
	uint64_t setup_size, pm_len, need, load, align;
	size_t hdr_end;
	uint8_t *dst;

	/* The setup header runs to 0x202 + the byte at 0x201 (the jump's
	 * target), boot.rst "DETAILS OF HEADER FIELDS". */
	if (len < 0x202)
		return -ENOEXEC;
	hdr_end = 0x202 + (size_t)img[0x201];
	if (hdr_end < HDR_MIN_END || hdr_end > len)
		return -ENOEXEC;
	memcpy(&h, img + HV_SETUP_HDR_OFF, MIN(hdr_end, 0x26c) - HV_SETUP_HDR_OFF);

	if (h.header != HDRS_MAGIC || h.boot_flag != BOOT_FLAG_MAGIC)
		return -ENOEXEC;
	if (h.version < HV_BOOT_MIN_VERSION || !(h.xloadflags & HV_XLF_KERNEL_64) ||
	    !(h.loadflags & HV_LOADFLAG_LOADED_HIGH))
		return -ENOEXEC;

	/* setup_sects 0 means 4 (boot.rst); the boot sector adds one. */
	setup_size = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	if (setup_size < hdr_end || setup_size >= len)
		return -ENOEXEC;
	pm_len = len - setup_size;
	/* syssize counts 16-byte paragraphs of protected-mode code. */
	if ((uint64_t)h.syssize * 16 > pm_len)
		return -ENOEXEC;

	/* init_size: memory from the load address the kernel needs before it
	 * can look at the memory map. */
	need = MAX(pm_len, (uint64_t)h.init_size);

	/* A relocatable kernel goes at pref_address if that fits, else at the
	 * lowest kernel_alignment boundary above 1 MiB; a non-relocatable one
	 * at 1 MiB, from where it moves itself. */
	load = HV_HIGH_MEM_GPA;
	if (h.relocatable_kernel) {
		align = h.kernel_alignment;
		if (align < PAGE_SIZE || align > GiB || (align & (align - 1)))
			return -ENOEXEC;
		if (h.pref_address && h.pref_address < HV_HIGH_MEM_GPA)
			return -ENOEXEC;
		if (h.pref_address && fits_low(mem, h.pref_address, need))
			load = h.pref_address;
		else
			load = ALIGN_UP(HV_HIGH_MEM_GPA, align);
	}
	if (!fits_low(mem, load, need))
		return -E2BIG;
	dst = hv_gpa_to_host(mem, load, need);
	if (!dst)
		return -E2BIG;

	memcpy(dst, img + setup_size, pm_len);

	*ret = (struct hv_kernel){
		.kind = HV_KERNEL_BZIMAGE,
		.entry = load + HV_BZIMAGE_ENTRY64_OFF,
		.load_start = load,
		.load_end = load + need,
		.version = h.version,
		.loadflags = h.loadflags,
		.xloadflags = h.xloadflags,
		/* 0 would mean "not given": 0x37ffffff (boot.rst). */
		.initrd_addr_max = h.initrd_addr_max ? h.initrd_addr_max : 0x37ffffff,
		.cmdline_size = h.cmdline_size,
		.setup_hdr_len = (uint32_t)(MIN(hdr_end, 0x290) - HV_SETUP_HDR_OFF),
	};
	memcpy(ret->setup_hdr, img + HV_SETUP_HDR_OFF, ret->setup_hdr_len);
	return 0;
}

/* Most program headers we look at; vmlinux has a handful. */
#define ELF_MAX_PHDRS 64

static int elf_load(const struct hv_guest_mem *mem, const uint8_t *img, size_t len,
		    struct hv_kernel *ret)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	uint64_t lo = UINT64_MAX, hi = 0, entry = 0;
	bool found = false;
	size_t nload = 0;

	if (len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_type != ET_EXEC ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS)
		return -ENOEXEC;
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		return -ENOEXEC;
	memcpy(ph, img + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));

	/* Validate every PT_LOAD before writing any guest memory. */
	for (size_t i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_offset > len ||
		    p->p_filesz > len - p->p_offset)
			return -ENOEXEC;
		if (p->p_paddr < HV_HIGH_MEM_GPA || p->p_memsz > UINT64_MAX - p->p_paddr)
			return -ENOEXEC;
		if (!fits_low(mem, p->p_paddr, p->p_memsz) ||
		    !hv_gpa_to_host(mem, p->p_paddr, p->p_memsz))
			return -E2BIG;
		lo = MIN(lo, p->p_paddr);
		hi = MAX(hi, p->p_paddr + p->p_memsz);
		nload++;
	}
	if (!nload)
		return -ENOEXEC;

	/* Linux's vmlinux has a physical e_entry (phys_startup_64 in
	 * arch/x86/kernel/vmlinux.lds.S); otherwise translate a virtual one
	 * through the segment that holds it. */
	for (size_t i = 0; i < eh.e_phnum && !found; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type == PT_LOAD && p->p_memsz && eh.e_entry >= p->p_paddr &&
		    eh.e_entry - p->p_paddr < p->p_memsz) {
			entry = eh.e_entry;
			found = true;
		}
	}
	for (size_t i = 0; i < eh.e_phnum && !found; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type == PT_LOAD && p->p_memsz && eh.e_entry >= p->p_vaddr &&
		    eh.e_entry - p->p_vaddr < p->p_memsz) {
			entry = eh.e_entry - p->p_vaddr + p->p_paddr;
			found = true;
		}
	}
	if (!found)
		return -ENOEXEC;

	for (size_t i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint8_t *dst;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		dst = hv_gpa_to_host(mem, p->p_paddr, p->p_memsz);
		memcpy(dst, img + p->p_offset, p->p_filesz);
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}

	*ret = (struct hv_kernel){
		.kind = HV_KERNEL_ELF,
		.entry = entry,
		.load_start = lo,
		.load_end = hi,
		.version = HV_BOOT_ELF_VERSION,
		.loadflags = HV_LOADFLAG_LOADED_HIGH,
		.xloadflags = HV_XLF_KERNEL_64,
		.initrd_addr_max = HV_ELF_INITRD_ADDR_MAX,
		.cmdline_size = HV_CMDLINE_MAX - 1,
	};
	return 0;
}

int hv_kernel_load(const struct hv_guest_mem *mem, const void *image, size_t len,
		   struct hv_kernel *ret)
{
	const uint8_t *img = image;

	if (!img)
		return -ENOEXEC;
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return elf_load(mem, img, len, ret);
	if (len >= 0x206 && memcmp(img + 0x202, "HdrS", 4) == 0)
		return bzimage_load(mem, img, len, ret);
	return -ENOEXEC;
}

int hv_initrd_place(const struct hv_guest_mem *mem, const struct hv_kernel *k, uint64_t size,
		    uint64_t *ret_gpa)
{
	uint64_t top, gpa;

	if (size == 0)
		return -EINVAL;
	top = MIN(mem->low_size, (uint64_t)k->initrd_addr_max + 1);
	if (size > top)
		return -E2BIG;
	gpa = ALIGN_DOWN(top - size, PAGE_SIZE);
	if (gpa < ALIGN_UP(k->load_end, PAGE_SIZE) || gpa < HV_HIGH_MEM_GPA)
		return -E2BIG;
	*ret_gpa = gpa;
	return 0;
}

int hv_boot_params_build(const struct hv_guest_mem *mem, const struct hv_kernel *k,
			 const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size,
			 uint64_t rsdp_gpa)
{
	struct boot_params bp = { 0 };
	struct setup_header *h = &bp.hdr;
	size_t clen, ne;
	char *cdst;
	int r;

	if (!cmdline)
		cmdline = "";
	clen = strnlen(cmdline, HV_CMDLINE_MAX);
	if (clen > HV_CMDLINE_MAX - 1 || clen > k->cmdline_size)
		return -E2BIG;
	if (k->setup_hdr_len > sizeof(k->setup_hdr))
		return -EINVAL;
	if (initrd_size) {
		if (!hv_gpa_to_host(mem, initrd_gpa, initrd_size))
			return -EFAULT;
		if (!(k->xloadflags & HV_XLF_CAN_BE_LOADED_ABOVE_4G) &&
		    initrd_gpa + initrd_size - 1 > k->initrd_addr_max)
			return -ERANGE;
	}
	cdst = hv_gpa_to_host(mem, HV_CMDLINE_GPA, HV_CMDLINE_MAX);
	if (!cdst || !hv_gpa_to_host(mem, HV_ZERO_PAGE_GPA, sizeof(bp)))
		return -EFAULT;

	if (k->kind == HV_KERNEL_BZIMAGE) {
		/* The kernel's own header, then our changes (boot.rst
		 * "64-bit BOOT PROTOCOL": fill boot_params from the header). */
		memcpy((uint8_t *)&bp + HV_SETUP_HDR_OFF, k->setup_hdr, k->setup_hdr_len);
	} else {
		h->boot_flag = BOOT_FLAG_MAGIC;
		h->header = HDRS_MAGIC;
		h->version = HV_BOOT_ELF_VERSION;
		h->initrd_addr_max = k->initrd_addr_max;
		h->cmdline_size = k->cmdline_size;
		h->xloadflags = k->xloadflags;
	}
	h->type_of_loader = HV_TYPE_OF_LOADER_OTHER;
	/* LOADED_HIGH: the kernel is at >= 1 MiB.  CAN_USE_HEAP and
	 * KEEP_SEGMENTS only matter to the real-mode setup code and the 32-bit
	 * entry, both of which the 64-bit protocol skips; KEEP_SEGMENTS is
	 * obsolete since 5.8 anyway.  We give no heap_end_ptr, so clear
	 * CAN_USE_HEAP. */
	h->loadflags = (uint8_t)((k->loadflags | HV_LOADFLAG_LOADED_HIGH) &
				 ~HV_LOADFLAG_CAN_USE_HEAP);
	h->heap_end_ptr = 0;

	h->cmd_line_ptr = (uint32_t)HV_CMDLINE_GPA;
	bp.ext_cmd_line_ptr = (uint32_t)(HV_CMDLINE_GPA >> 32);
	if (initrd_size) {
		h->ramdisk_image = (uint32_t)initrd_gpa;
		bp.ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
		h->ramdisk_size = (uint32_t)initrd_size;
		bp.ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	} else {
		h->ramdisk_image = 0;
		h->ramdisk_size = 0;
	}
	/* Protocol 2.14's header field is void; boot_params has it at 0x070. */
	bp.acpi_rsdp_addr = rsdp_gpa;

	r = hv_e820_build(mem->size, bp.e820_table, HV_E820_MAX, &ne);
	if (r < 0)
		return r;
	bp.e820_entries = (uint8_t)ne;

	memcpy(cdst, cmdline, clen);
	memset(cdst + clen, 0, HV_CMDLINE_MAX - clen);
	return hv_guest_write(mem, HV_ZERO_PAGE_GPA, &bp, sizeof(bp));
}

int hv_boot_pagetables_build(const struct hv_guest_mem *mem)
{
	const uint64_t flags = HV_BOOT_PT_FLAGS_PRESENT | HV_BOOT_PT_FLAGS_RW;
	uint64_t *pml4, *pdpt, *pd;

	_Static_assert(HV_PDPT_GPA == HV_PML4_GPA + PAGE_SIZE, "page table layout");
	_Static_assert(HV_PD_GPA == HV_PDPT_GPA + PAGE_SIZE, "page table layout");
	pml4 = hv_gpa_to_host(mem, HV_PML4_GPA, PAGE_SIZE);
	pdpt = hv_gpa_to_host(mem, HV_PDPT_GPA, PAGE_SIZE);
	pd = hv_gpa_to_host(mem, HV_PD_GPA, 4 * PAGE_SIZE);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = HV_PDPT_GPA | flags;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (HV_PD_GPA + i * PAGE_SIZE) | flags;
	/* 4 PDs x 512 entries x 2 MiB = 4 GiB. */
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | flags | HV_BOOT_PT_FLAGS_PS;
	return 0;
}

int hv_boot_gdt_build(const struct hv_guest_mem *mem)
{
	uint64_t gdt[HV_BOOT_GDT_ENTRIES] = {
		[HV_BOOT_CS / 8] = HV_BOOT_GDT_CODE64,
		[HV_BOOT_DS / 8] = HV_BOOT_GDT_DATA,
	};

	return hv_guest_write(mem, HV_GDT_GPA, gdt, sizeof(gdt));
}

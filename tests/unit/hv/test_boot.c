// SPDX-License-Identifier: GPL-3.0-or-later
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot.h"
#include "fake-mem.h"
#include "layout.h"

#define MiB_ (1ull << 20)
#define GiB_ (1ull << 30)

/* ---- e820 ---- */

static void check_e820(uint64_t ram, size_t want_n)
{
	struct hv_e820_entry e[8];
	uint64_t low_end = ram < HV_LOW_RAM_MAX ? ram : HV_LOW_RAM_MAX, total = 0;
	size_t n = 99;

	assert_int_equal(hv_e820_build(ram, e, 8, &n), 0);
	assert_int_equal(n, want_n);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, HV_EBDA_GPA);
	assert_int_equal(e[0].type, HV_E820_RAM);
	assert_int_equal(e[1].addr, HV_EBDA_GPA);
	assert_int_equal(e[1].addr + e[1].size, 1 * MiB_);
	assert_int_equal(e[1].type, HV_E820_RESERVED);
	assert_int_equal(e[2].addr, 1 * MiB_);
	assert_int_equal(e[2].addr + e[2].size, low_end);
	assert_int_equal(e[2].type, HV_E820_RAM);
	if (n == 4) {
		assert_int_equal(e[3].addr, 4 * GiB_);
		assert_int_equal(e[3].size, ram - HV_LOW_RAM_MAX);
		assert_int_equal(e[3].type, HV_E820_RAM);
	}
	/* RAM entries add up to ram_size less the reserved hole. */
	for (size_t i = 0; i < n; i++)
		if (e[i].type == HV_E820_RAM)
			total += e[i].size;
	assert_int_equal(total, ram - (1 * MiB_ - HV_EBDA_GPA));
}

static void test_e820(void **state)
{
	struct hv_e820_entry e[8] = { { 0 } };
	size_t n = 99;

	check_e820(16 * MiB_, 3);
	check_e820(256 * MiB_, 3);
	check_e820(3 * GiB_, 3);
	check_e820(5 * GiB_, 4);

	assert_int_equal(hv_e820_build(16 * MiB_ - 4096, e, 8, &n), -ERANGE);
	assert_int_equal(hv_e820_build(HV_MAX_MEM + 4096, e, 8, &n), -ERANGE);
	assert_int_equal(hv_e820_build(0, e, 8, &n), -ERANGE);
	assert_int_equal(hv_e820_build(5 * GiB_, e, 3, &n), -ENOBUFS);
	assert_int_equal(n, 99);
	assert_int_equal(e[0].size, 0);
}

/* ---- synthetic kernels ---- */

#define ELF_LEN      0x2000
#define ELF_PADDR    0x1000000ull            /* 16 MiB */
#define ELF_VADDR    0xffffffff81000000ull
#define ELF_ENTRY_OFF 0x40

/* An ELF64 vmlinux look-alike: two PT_LOADs, the first with a bss, the
 * second's file data ending at EOF (so every truncation cuts something). */
static uint8_t *make_elf(size_t *len)
{
	uint8_t *img = calloc(1, ELF_LEN);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
			     EV_CURRENT },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = ELF_PADDR + ELF_ENTRY_OFF,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 3,
	};
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
		  .p_vaddr = ELF_VADDR, .p_paddr = ELF_PADDR,
		  .p_filesz = 0x800, .p_memsz = 0x3000, .p_align = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 0x10, .p_memsz = 0x10 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x1800,
		  .p_vaddr = ELF_VADDR + 0x200000, .p_paddr = ELF_PADDR + 0x200000,
		  .p_filesz = 0x800, .p_memsz = 0x800, .p_align = 0x1000 },
	};

	assert_non_null(img);
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + eh.e_phoff, ph, sizeof(ph));
	for (size_t i = 0x1000; i < ELF_LEN; i++)
		img[i] = (uint8_t)(i * 7 + 1);
	*len = ELF_LEN;
	return img;
}

static Elf64_Ehdr *elf_eh(uint8_t *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *elf_ph(uint8_t *img, int i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_LEN   ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_LEN      0x3000
#define BZ_LEN         (BZ_SETUP_LEN + BZ_PM_LEN)
#define BZ_PREF        0x1000000ull
#define BZ_INIT_SIZE   0x400000u

/* A bzImage with a protocol 2.15 header (boot.rst) and a dummy payload. */
static uint8_t *make_bzimage(size_t *len)
{
	uint8_t *img = calloc(1, BZ_LEN);

	assert_non_null(img);
	img[0x1f1] = BZ_SETUP_SECTS;
	wr32(img + 0x1f4, BZ_PM_LEN / 16);      /* syssize */
	wr16(img + 0x1fa, 0xffff);              /* vid_mode */
	wr16(img + 0x1fe, 0xaa55);              /* boot_flag */
	img[0x200] = 0xeb;                      /* jmp */
	img[0x201] = 0x26c - 0x202;             /* ... to the end of the header */
	memcpy(img + 0x202, "HdrS", 4);
	wr16(img + 0x206, 0x020f);              /* version */
	img[0x211] = HV_LOADFLAG_LOADED_HIGH | HV_LOADFLAG_CAN_USE_HEAP;
	wr32(img + 0x214, 0x100000);            /* code32_start */
	wr32(img + 0x22c, 0x7fffffff);          /* initrd_addr_max */
	wr32(img + 0x230, 0x200000);            /* kernel_alignment */
	img[0x234] = 1;                         /* relocatable_kernel */
	wr16(img + 0x236, HV_XLF_KERNEL_64 | HV_XLF_CAN_BE_LOADED_ABOVE_4G);
	wr32(img + 0x238, 2047);                /* cmdline_size */
	wr64(img + 0x258, BZ_PREF);             /* pref_address */
	wr32(img + 0x260, BZ_INIT_SIZE);        /* init_size */
	for (size_t i = BZ_SETUP_LEN; i < BZ_LEN; i++)
		img[i] = (uint8_t)(i * 13 + 5);
	*len = BZ_LEN;
	return img;
}

struct fixture {
	struct hv_guest_mem mem;
};

static int setup_mem(void **state, uint64_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fake_mem_new(&f->mem, size) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup64(void **state)
{
	return setup_mem(state, 64 * MiB_);
}

static int setup16(void **state)
{
	return setup_mem(state, 16 * MiB_);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_mem_free(&f->mem);
	free(f);
	return 0;
}

/* ---- ELF ---- */

static void test_elf_load(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_elf(&len), *g = f->mem.host;

	memset(g + ELF_PADDR, 0xcc, 0x400000); /* stale data the bss must hide */
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.kind, HV_KERNEL_ELF);
	assert_int_equal(k.entry, ELF_PADDR + ELF_ENTRY_OFF);
	assert_int_equal(k.load_start, ELF_PADDR);
	assert_int_equal(k.load_end, ELF_PADDR + 0x200800);
	assert_int_equal(k.version, HV_BOOT_ELF_VERSION);
	assert_int_equal(k.cmdline_size, HV_CMDLINE_MAX - 1);
	assert_memory_equal(g + ELF_PADDR, img + 0x1000, 0x800);
	for (size_t i = 0x800; i < 0x3000; i++)
		assert_int_equal(g[ELF_PADDR + i], 0);
	assert_int_equal(g[ELF_PADDR + 0x3000], 0xcc); /* nothing past memsz */
	assert_memory_equal(g + ELF_PADDR + 0x200000, img + 0x1800, 0x800);

	/* A virtual e_entry is translated through its segment. */
	elf_eh(img)->e_entry = ELF_VADDR + 0x200000 + 0x10;
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.entry, ELF_PADDR + 0x200000 + 0x10);
	/* ... and one in no segment is refused. */
	elf_eh(img)->e_entry = ELF_VADDR + 0x100000;
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), -ENOEXEC);
	free(img);
}

enum { E_NOEXEC = -ENOEXEC, E_2BIG = -E2BIG };

static void test_elf_errors(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k, untouched;
	size_t len;

	memset(&untouched, 0x5a, sizeof(untouched));
	for (int c = 0;; c++) {
		uint8_t *img = make_elf(&len);
		int want;

		switch (c) {
		case 0: img[EI_CLASS] = ELFCLASS32; want = E_NOEXEC; break;
		case 1: img[EI_DATA] = ELFDATA2MSB; want = E_NOEXEC; break;
		case 2: elf_eh(img)->e_machine = EM_386; want = E_NOEXEC; break;
		case 3: elf_eh(img)->e_type = ET_DYN; want = E_NOEXEC; break;
		case 4: elf_eh(img)->e_phentsize = 32; want = E_NOEXEC; break;
		case 5: elf_eh(img)->e_phnum = 0; want = E_NOEXEC; break;
		case 6: elf_eh(img)->e_phnum = 0xffff; want = E_NOEXEC; break;
		case 7: elf_eh(img)->e_phoff = ELF_LEN - 8; want = E_NOEXEC; break;
		case 8: elf_eh(img)->e_phoff = UINT64_MAX - 8; want = E_NOEXEC; break;
		case 9: elf_ph(img, 0)->p_filesz = 0x4000; want = E_NOEXEC; break; /* > memsz */
		case 10: elf_ph(img, 2)->p_offset = ELF_LEN; elf_ph(img, 2)->p_filesz = 1;
			 want = E_NOEXEC; break;
		case 11: elf_ph(img, 2)->p_offset = UINT64_MAX; want = E_NOEXEC; break;
		case 12: elf_ph(img, 0)->p_paddr = 0x7000; want = E_NOEXEC; break; /* < 1 MiB */
		case 13: elf_ph(img, 2)->p_paddr = UINT64_MAX - 0x100; want = E_NOEXEC; break;
		case 14: elf_ph(img, 2)->p_memsz = 128 * MiB_; want = E_2BIG; break;
		case 15: elf_ph(img, 2)->p_paddr = 64 * MiB_ - 0x400; want = E_2BIG; break;
		case 16: elf_ph(img, 2)->p_paddr = 5 * GiB_; want = E_2BIG; break;
		case 17: elf_ph(img, 0)->p_type = PT_NULL; elf_ph(img, 2)->p_type = PT_NULL;
			 want = E_NOEXEC; break;
		case 18: img[EI_VERSION] = 0; want = E_NOEXEC; break;
		default: free(img); return;
		}
		/* A bad second segment must not leave the first one written. */
		memset(f->mem.host + ELF_PADDR, 0xee, 0x1000);
		memcpy(&k, &untouched, sizeof(k));
		assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), want);
		assert_memory_equal(&k, &untouched, sizeof(k));
		assert_int_equal(f->mem.host[ELF_PADDR], 0xee);
		free(img);
	}
}

/* ---- bzImage ---- */

static void test_bzimage_load(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.kind, HV_KERNEL_BZIMAGE);
	assert_int_equal(k.load_start, BZ_PREF);
	assert_int_equal(k.entry, BZ_PREF + 0x200);
	assert_int_equal(k.load_end, BZ_PREF + BZ_INIT_SIZE);
	assert_int_equal(k.version, 0x020f);
	assert_int_equal(k.initrd_addr_max, 0x7fffffff);
	assert_int_equal(k.cmdline_size, 2047);
	assert_int_equal(k.setup_hdr_len, 0x26c - 0x1f1);
	assert_memory_equal(k.setup_hdr, img + 0x1f1, k.setup_hdr_len);
	assert_memory_equal(f->mem.host + BZ_PREF, img + BZ_SETUP_LEN, BZ_PM_LEN);

	/* Not relocatable: at 1 MiB. */
	img[0x234] = 0;
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.load_start, 1 * MiB_);
	assert_int_equal(k.entry, 1 * MiB_ + 0x200);
	assert_memory_equal(f->mem.host + 1 * MiB_, img + BZ_SETUP_LEN, BZ_PM_LEN);

	/* setup_sects 0 means 4. */
	img[0x234] = 1;
	img[0x1f1] = 0;
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.load_start, BZ_PREF);
	free(img);
}

/* 16 MiB of RAM: pref_address (16 MiB) is past the end, so the kernel goes
 * to the first kernel_alignment boundary above 1 MiB. */
static void test_bzimage_small_ram(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(k.load_start, 2 * MiB_);
	assert_int_equal(k.entry, 2 * MiB_ + 0x200);
	/* init_size larger than what is left: doesn't fit. */
	wr32(img + 0x260, 15 * MiB_);
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), -E2BIG);
	free(img);
}

static void test_bzimage_errors(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k, untouched;
	size_t len;

	memset(&untouched, 0x5a, sizeof(untouched));
	for (int c = 0;; c++) {
		uint8_t *img = make_bzimage(&len);
		size_t l = len;
		int want;

		switch (c) {
		case 0: wr16(img + 0x1fe, 0); want = E_NOEXEC; break;       /* boot_flag */
		case 1: wr16(img + 0x206, 0x0206); want = E_NOEXEC; break;  /* too old */
		case 2: wr16(img + 0x236, 0); want = E_NOEXEC; break;       /* no 64-bit entry */
		case 3: img[0x211] = 0; want = E_NOEXEC; break;             /* not LOADED_HIGH */
		case 4: img[0x201] = 0x10; want = E_NOEXEC; break;          /* header too short */
		case 5: img[0x201] = 0xff; l = 0x280; want = E_NOEXEC; break; /* header past EOF */
		case 6: img[0x1f1] = 0xff; want = E_NOEXEC; break;          /* setup past EOF */
		case 7: l = len - 16; want = E_NOEXEC; break;               /* truncated payload */
		case 8: wr32(img + 0x260, 0xffffffff); want = E_2BIG; break; /* init_size > RAM */
		case 9: wr64(img + 0x258, 0x8000); want = E_NOEXEC; break;  /* pref < 1 MiB */
		case 10: wr64(img + 0x258, UINT64_MAX - 0x1000); wr32(img + 0x260, 0xffffffff);
			 want = E_2BIG; break;
		case 11: wr32(img + 0x230, 0x1234); want = E_NOEXEC; break; /* bad alignment */
		case 12: wr32(img + 0x230, 0); want = E_NOEXEC; break;
		case 13: img[0x234] = 0; wr32(img + 0x260, 64 * MiB_); want = E_2BIG; break;
		default: free(img); return;
		}
		memcpy(&k, &untouched, sizeof(k));
		assert_int_equal(hv_kernel_load(&f->mem, img, l, &k), want);
		assert_memory_equal(&k, &untouched, sizeof(k));
		free(img);
	}
}

static void test_unknown_format(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	uint8_t junk[4096];

	memset(junk, 0, sizeof(junk));
	assert_int_equal(hv_kernel_load(&f->mem, junk, sizeof(junk), &k), -ENOEXEC);
	assert_int_equal(hv_kernel_load(&f->mem, junk, 0, &k), -ENOEXEC);
	assert_int_equal(hv_kernel_load(&f->mem, NULL, 0, &k), -ENOEXEC);
	memcpy(junk, "MZ", 2);
	assert_int_equal(hv_kernel_load(&f->mem, junk, sizeof(junk), &k), -ENOEXEC);
	memcpy(junk, ELFMAG, SELFMAG);
	assert_int_equal(hv_kernel_load(&f->mem, junk, 3, &k), -ENOEXEC);
	assert_int_equal(hv_kernel_load(&f->mem, junk, SELFMAG, &k), -ENOEXEC);
	assert_int_equal(hv_kernel_load(&f->mem, junk, sizeof(junk), &k), -ENOEXEC);
	memset(junk, 0, sizeof(junk));
	memcpy(junk + 0x202, "HdrS", 4);
	assert_int_equal(hv_kernel_load(&f->mem, junk, 0x206, &k), -ENOEXEC);
	assert_int_equal(hv_kernel_load(&f->mem, junk, sizeof(junk), &k), -ENOEXEC);
}

/* Every truncation of a valid image is refused, and no corruption of its
 * headers crashes or writes outside guest RAM (ASan watches). */
static void test_truncation_and_corruption(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t elen, blen;
	uint8_t *elf = make_elf(&elen), *bz = make_bzimage(&blen);
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };

	for (size_t l = 0; l < elen; l++)
		assert_true(hv_kernel_load(&f->mem, elf, l, &k) < 0);
	for (size_t l = 0; l < blen; l++)
		assert_true(hv_kernel_load(&f->mem, bz, l, &k) < 0);

	for (size_t off = 0; off < 0x100; off++)
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t *img = make_elf(&elen);
			int r;

			img[off] = vals[v];
			r = hv_kernel_load(&f->mem, img, elen, &k);
			assert_true(r == 0 || r == -ENOEXEC || r == -E2BIG);
			free(img);
		}
	for (size_t off = 0x1f1; off < 0x270; off++)
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t *img = make_bzimage(&blen);
			int r;

			img[off] = vals[v];
			r = hv_kernel_load(&f->mem, img, blen, &k);
			assert_true(r == 0 || r == -ENOEXEC || r == -E2BIG);
			free(img);
		}
	free(elf);
	free(bz);
}

/* ---- zero page ---- */

static const uint8_t *zp(struct fixture *f)
{
	return f->mem.host + HV_ZERO_PAGE_GPA;
}

static void test_boot_params_elf(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_elf(&len);
	const uint8_t *bp;
	const char *cmd = "console=ttyS0 root=/dev/vda";

	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	memset(f->mem.host + HV_ZERO_PAGE_GPA, 0x77, 4096);
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0x2000000, 0x1234, 0xe0000), 0);
	bp = zp(f);
	assert_int_equal(rd16(bp + 0x1fe), 0xaa55);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(rd16(bp + 0x206), 0x020f);
	assert_int_equal(bp[0x210], 0xff);                      /* type_of_loader */
	assert_int_equal(bp[0x211] & HV_LOADFLAG_LOADED_HIGH, HV_LOADFLAG_LOADED_HIGH);
	assert_int_equal(rd32(bp + 0x228), HV_CMDLINE_GPA);     /* cmd_line_ptr */
	assert_int_equal(rd32(bp + 0x0c8), 0);                  /* ext_cmd_line_ptr */
	assert_string_equal((const char *)f->mem.host + HV_CMDLINE_GPA, cmd);
	assert_int_equal(rd32(bp + 0x218), 0x2000000);          /* ramdisk_image */
	assert_int_equal(rd32(bp + 0x21c), 0x1234);             /* ramdisk_size */
	assert_int_equal(rd32(bp + 0x0c0), 0);
	assert_int_equal(rd32(bp + 0x0c4), 0);
	assert_int_equal(rd64(bp + 0x070), 0xe0000);            /* acpi_rsdp_addr */
	assert_int_equal(bp[0x1ef], 0);                         /* sentinel */
	/* e820: 3 entries of 20 bytes at 0x2d0. */
	assert_int_equal(bp[0x1e8], 3);
	assert_int_equal(rd64(bp + 0x2d0 + 2 * 20), 1 * MiB_);
	assert_int_equal(rd64(bp + 0x2d0 + 2 * 20 + 8), 63 * MiB_);
	assert_int_equal(rd32(bp + 0x2d0 + 2 * 20 + 16), HV_E820_RAM);
	assert_int_equal(rd32(bp + 0x2d0 + 1 * 20 + 16), HV_E820_RESERVED);
	assert_int_equal(rd64(bp + 0x2d0 + 3 * 20), 0);
	/* What we did not set is zero (the page held 0x77 before). */
	for (size_t i = 0x0cc; i < 0x1e8; i++)
		assert_int_equal(bp[i], 0);
	for (size_t i = 0x2d0 + 3 * 20; i < 4096; i++)
		assert_int_equal(bp[i], 0);

	/* No cmdline, no initrd, no RSDP. */
	assert_int_equal(hv_boot_params_build(&f->mem, &k, NULL, 0, 0, 0), 0);
	assert_int_equal(rd32(bp + 0x218), 0);
	assert_int_equal(rd32(bp + 0x21c), 0);
	assert_int_equal(rd64(bp + 0x070), 0);
	assert_string_equal((const char *)f->mem.host + HV_CMDLINE_GPA, "");
	free(img);
}

static void test_boot_params_bzimage(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);
	const uint8_t *bp = zp(f);
	char cmd[64];

	wr32(img + 0x238, 16); /* cmdline_size */
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(hv_boot_params_build(&f->mem, &k, "quiet", 0, 0, 0xe0000), 0);
	/* The kernel's own header fields survive. */
	assert_int_equal(bp[0x1f1], BZ_SETUP_SECTS);
	assert_int_equal(rd16(bp + 0x1fa), 0xffff);
	assert_int_equal(rd64(bp + 0x258), BZ_PREF);
	assert_int_equal(rd32(bp + 0x260), BZ_INIT_SIZE);
	assert_int_equal(rd16(bp + 0x206), 0x020f);
	/* ... with ours on top. */
	assert_int_equal(bp[0x210], 0xff);
	assert_int_equal(bp[0x211], HV_LOADFLAG_LOADED_HIGH); /* CAN_USE_HEAP dropped */
	assert_int_equal(rd32(bp + 0x228), HV_CMDLINE_GPA);
	assert_int_equal(rd64(bp + 0x070), 0xe0000);
	assert_int_equal(rd32(bp + 0x290), 0); /* nothing copied past the header */

	/* The kernel's cmdline_size (16) is the limit: 16 chars fit, 17 don't. */
	memset(cmd, 'x', sizeof(cmd));
	cmd[16] = 0;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0, 0, 0), 0);
	cmd[16] = 'x';
	cmd[17] = 0;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0, 0, 0), -E2BIG);
	assert_int_equal(strlen((const char *)f->mem.host + HV_CMDLINE_GPA), 16);

	/* An initrd past initrd_addr_max for a kernel that can't take it high. */
	wr16(img + 0x236, HV_XLF_KERNEL_64);
	wr32(img + 0x22c, 0x37ffffff);
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	/* (64 MiB of RAM: make initrd_addr_max smaller than RAM.) */
	k.initrd_addr_max = 0x2ffffff;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, "", 0x3000000, 0x1000, 0), -ERANGE);
	assert_int_equal(hv_boot_params_build(&f->mem, &k, "", 0x2fff000, 0x1000, 0), 0);
	/* An initrd outside RAM. */
	assert_int_equal(hv_boot_params_build(&f->mem, &k, "", 0x3fff000, 0x2000, 0), -EFAULT);
	free(img);
}

static void test_cmdline_too_long(void **state)
{
	struct fixture *f = *state;
	struct hv_kernel k;
	size_t len;
	uint8_t *img = make_elf(&len);
	char *cmd = malloc(HV_CMDLINE_MAX + 10);

	assert_non_null(cmd);
	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	memset(cmd, 'a', HV_CMDLINE_MAX + 9);
	cmd[HV_CMDLINE_MAX + 9] = 0;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0, 0, 0), -E2BIG);
	cmd[HV_CMDLINE_MAX] = 0;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0, 0, 0), -E2BIG);
	cmd[HV_CMDLINE_MAX - 1] = 0;
	assert_int_equal(hv_boot_params_build(&f->mem, &k, cmd, 0, 0, 0), 0);
	assert_int_equal(strlen((const char *)f->mem.host + HV_CMDLINE_GPA), HV_CMDLINE_MAX - 1);
	free(cmd);
	free(img);
}

/* Boot params, e820 and initrd placement for 16M, 256M, 3G and 5G guests. */
static void test_sizes(void **state)
{
	static const uint64_t sizes[] = { 16 * MiB_, 256 * MiB_, 3 * GiB_, 5 * GiB_ };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct hv_guest_mem mem;
		struct hv_kernel k;
		uint64_t initrd = 0, low_end = sizes[i] < HV_LOW_RAM_MAX ? sizes[i] : HV_LOW_RAM_MAX;
		uint64_t top;
		size_t len;
		uint8_t *img, *bp;

		assert_int_equal(fake_mem_new(&mem, sizes[i]), 0);
		img = make_bzimage(&len);
		assert_int_equal(hv_kernel_load(&mem, img, len, &k), 0);
		assert_int_equal(hv_initrd_place(&mem, &k, 3 * MiB_ + 5, &initrd), 0);
		top = low_end < 0x80000000ull ? low_end : 0x80000000ull;
		assert_int_equal(initrd, (top - (3 * MiB_ + 5)) & ~0xfffull);
		assert_true(initrd >= k.load_end);
		assert_int_equal(hv_boot_params_build(&mem, &k, "console=ttyS0", initrd,
						      3 * MiB_ + 5, 0xe0000), 0);
		bp = mem.host + HV_ZERO_PAGE_GPA;
		assert_int_equal(bp[0x1e8], sizes[i] > HV_LOW_RAM_MAX ? 4 : 3);
		assert_int_equal(rd64(bp + 0x2d0 + 2 * 20 + 8), low_end - 1 * MiB_);
		if (sizes[i] > HV_LOW_RAM_MAX) {
			assert_int_equal(rd64(bp + 0x2d0 + 3 * 20), 4 * GiB_);
			assert_int_equal(rd64(bp + 0x2d0 + 3 * 20 + 8), sizes[i] - HV_LOW_RAM_MAX);
		}
		assert_int_equal(rd32(bp + 0x218), (uint32_t)initrd);
		assert_int_equal(rd32(bp + 0x21c), 3 * MiB_ + 5);
		free(img);
		fake_mem_free(&mem);
	}
}

static void test_initrd_place(void **state)
{
	struct fixture *f = *state; /* 64 MiB */
	struct hv_kernel k;
	uint64_t gpa = 42;
	size_t len;
	uint8_t *img = make_elf(&len);

	assert_int_equal(hv_kernel_load(&f->mem, img, len, &k), 0);
	assert_int_equal(hv_initrd_place(&f->mem, &k, 4096, &gpa), 0);
	assert_int_equal(gpa, 64 * MiB_ - 4096);
	assert_int_equal(hv_initrd_place(&f->mem, &k, 4097, &gpa), 0);
	assert_int_equal(gpa, 64 * MiB_ - 8192);
	/* Exactly what is left above the kernel (which ends at 18 MiB + 2 KiB). */
	assert_int_equal(hv_initrd_place(&f->mem, &k, 64 * MiB_ - 18 * MiB_ - 4096, &gpa), 0);
	assert_int_equal(gpa, 18 * MiB_ + 4096);
	gpa = 42;
	assert_int_equal(hv_initrd_place(&f->mem, &k, 64 * MiB_ - 18 * MiB_, &gpa), -E2BIG);
	assert_int_equal(hv_initrd_place(&f->mem, &k, 1ull << 40, &gpa), -E2BIG);
	assert_int_equal(hv_initrd_place(&f->mem, &k, 0, &gpa), -EINVAL);
	assert_int_equal(gpa, 42);
	/* initrd_addr_max below RAM's end caps it. */
	k.initrd_addr_max = 0x1ffffff;
	assert_int_equal(hv_initrd_place(&f->mem, &k, 4096, &gpa), 0);
	assert_int_equal(gpa, 0x2000000 - 4096);
	free(img);
}

/* ---- page tables, GDT ---- */

static void test_pagetables_gdt(void **state)
{
	struct fixture *f = *state;
	const uint8_t *g = f->mem.host;
	struct hv_guest_mem tiny;

	memset(f->mem.host + HV_PML4_GPA, 0xff, 6 * 4096);
	assert_int_equal(hv_boot_pagetables_build(&f->mem), 0);
	assert_int_equal(rd64(g + HV_PML4_GPA), HV_PDPT_GPA | 3);
	for (int i = 1; i < 512; i++)
		assert_int_equal(rd64(g + HV_PML4_GPA + 8 * i), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd64(g + HV_PDPT_GPA + 8 * i), (HV_PD_GPA + 4096 * i) | 3);
	for (int i = 4; i < 512; i++)
		assert_int_equal(rd64(g + HV_PDPT_GPA + 8 * i), 0);
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(rd64(g + HV_PD_GPA + 8 * i), (i << 21) | 0x83);
	/* The last PD entry maps 4 GiB - 2 MiB. */
	assert_int_equal(rd64(g + HV_PD_GPA + 8 * 2047) & ~0xfffull, 4 * GiB_ - 2 * MiB_);

	memset(f->mem.host + HV_GDT_GPA, 0xff, 64);
	assert_int_equal(hv_boot_gdt_build(&f->mem), 0);
	assert_int_equal(rd64(g + HV_GDT_GPA), 0);
	assert_int_equal(rd64(g + HV_GDT_GPA + 8), 0);
	assert_int_equal(rd64(g + HV_GDT_GPA + HV_BOOT_CS), 0x00af9b000000ffffull);
	assert_int_equal(rd64(g + HV_GDT_GPA + HV_BOOT_DS), 0x00cf93000000ffffull);
	assert_int_equal(HV_BOOT_GDT_LIMIT, 31);
	assert_int_equal(rd64(g + HV_GDT_GPA + 32), 0xffffffffffffffffull); /* untouched */

	/* Guest RAM too small to hold them. */
	hv_guest_mem_init(&tiny, f->mem.host, 0x1000);
	assert_int_equal(hv_boot_pagetables_build(&tiny), -EFAULT);
	assert_int_equal(hv_boot_gdt_build(&tiny), HV_GDT_GPA < 0x1000 ? 0 : -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820),
		cmocka_unit_test_setup_teardown(test_elf_load, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_elf_errors, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_load, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_small_ram, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_errors, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_format, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_truncation_and_corruption, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_boot_params_elf, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_boot_params_bzimage, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_too_long, setup64, teardown),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test_setup_teardown(test_initrd_place, setup64, teardown),
		cmocka_unit_test_setup_teardown(test_pagetables_gdt, setup64, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

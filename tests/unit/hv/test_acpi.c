// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "acpi.h"
#include "fake-mem.h"
#include "layout.h"

#define MEM_SIZE (64ull << 20)

struct fixture {
	struct hv_guest_mem mem;
	uint64_t rsdp;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fake_mem_new(&f->mem, MEM_SIZE) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_mem_free(&f->mem);
	free(f);
	return 0;
}

static const uint8_t *table(struct fixture *f, const char *sig, uint32_t *len)
{
	uint64_t gpa;
	int r;

	r = hv_acpi_find(&f->mem, f->rsdp, sig, &gpa, len);
	assert_int_equal(r, 0);
	assert_true(gpa >= HV_ACPI_GPA && gpa + *len <= HV_ACPI_GPA + HV_ACPI_MAX);
	return f->mem.host + gpa;
}

static void build(struct fixture *f, uint32_t ncpus)
{
	struct hv_acpi_config cfg = { .ncpus = ncpus };

	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &f->rsdp), 0);
}

static void test_rsdp_xsdt(void **state)
{
	struct fixture *f = *state;
	const uint8_t *rsdp, *xsdt;
	uint32_t len;

	build(f, 4);
	assert_int_equal(f->rsdp, HV_ACPI_GPA);
	assert_int_equal(f->rsdp % 16, 0);
	rsdp = f->mem.host + f->rsdp;
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_true(hv_acpi_checksum_ok(rsdp, 20));
	assert_true(hv_acpi_checksum_ok(rsdp, 36));
	assert_int_equal(rsdp[15], 2);
	assert_memory_equal(rsdp + 9, "SKYLT ", 6);
	assert_int_equal(rd32(rsdp + 20), 36);
	assert_int_equal(rd32(rsdp + 16), 0); /* no RSDT */

	xsdt = f->mem.host + rd64(rsdp + 24);
	assert_memory_equal(xsdt, "XSDT", 4);
	len = rd32(xsdt + 4);
	assert_int_equal(len, 36 + 2 * 8);
	assert_true(hv_acpi_checksum_ok(xsdt, len));
	assert_memory_equal(xsdt + 10, "SKYLT ", 6);
	assert_memory_equal(f->mem.host + rd64(xsdt + 36), "FACP", 4);
	assert_memory_equal(f->mem.host + rd64(xsdt + 44), "APIC", 4);
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1);  /* SystemIO */
	assert_int_equal(g[1], 8);  /* bit width */
	assert_int_equal(g[2], 0);  /* bit offset */
	assert_int_equal(g[3], 1);  /* byte access */
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt(void **state)
{
	struct fixture *f = *state;
	const uint8_t *fadt;
	uint32_t len, flags;
	uint64_t dsdt_gpa;

	build(f, 2);
	fadt = table(f, "FACP", &len);
	assert_int_equal(len, 276);
	assert_int_equal(fadt[8], 6);             /* revision */
	assert_int_equal(fadt[HV_FADT_OFF_MINOR], 4);
	flags = rd32(fadt + HV_FADT_OFF_FLAGS);
	assert_true(flags & (1u << 20));           /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));           /* RESET_REG_SUP */
	check_gas_io8(fadt + HV_FADT_OFF_RESET_REG, HV_ACPI_RESET_PORT);
	assert_int_equal(fadt[HV_FADT_OFF_RESET_VALUE], HV_ACPI_RESET_VALUE);
	check_gas_io8(fadt + HV_FADT_OFF_SLEEP_CTL, HV_ACPI_SLEEP_CTL_PORT);
	check_gas_io8(fadt + HV_FADT_OFF_SLEEP_STS, HV_ACPI_SLEEP_STS_PORT);
	/* No FACS, DSDT only via X_DSDT. */
	assert_int_equal(rd32(fadt + 36), 0);
	assert_int_equal(rd32(fadt + 40), 0);
	assert_int_equal(rd64(fadt + 132), 0);
	dsdt_gpa = rd64(fadt + HV_FADT_OFF_X_DSDT);
	assert_memory_equal(f->mem.host + dsdt_gpa, "DSDT", 4);
	/* No 8042, no VGA, no CMOS RTC by default. */
	assert_int_equal(rd16(fadt + HV_FADT_OFF_IAPC_BOOT) & HV_FADT_BOOT_8042, 0);
	assert_true(rd16(fadt + HV_FADT_OFF_IAPC_BOOT) & HV_FADT_BOOT_NO_VGA);
	assert_true(rd16(fadt + HV_FADT_OFF_IAPC_BOOT) & HV_FADT_BOOT_NO_CMOS_RTC);
	/* No legacy PM blocks on a HW-reduced platform. */
	for (size_t off = 56; off < 88; off++)
		assert_int_equal(fadt[off], 0);

	/* S5 write value: (SLP_TYP << 2) | SLP_EN, as hwesleep.c computes it. */
	assert_int_equal(HV_ACPI_S5_WRITE, (HV_ACPI_S5_SLP_TYP << 2) | 0x20);
}

static void test_madt(void **state)
{
	struct fixture *f = *state;
	static const uint32_t counts[] = { 1, 4, HV_MAX_VCPUS };

	for (size_t c = 0; c < 2 * sizeof(counts) / sizeof(counts[0]); c++) {
		uint32_t ncpus = counts[c / 2], len, nlapic = 0, nioapic = 0, niso = 0, nwake = 0;
		struct hv_acpi_config cfg = {
			.ncpus = ncpus,
			.mp_wakeup_gpa = c % 2 ? HV_MP_MAILBOX_GPA : 0,
		};
		const uint8_t *madt, *p;

		assert_int_equal(hv_acpi_build(&f->mem, &cfg, &f->rsdp), 0);
		madt = table(f, "APIC", &len);
		assert_int_equal(rd32(madt + 36), HV_LAPIC_GPA);
		assert_int_equal(rd32(madt + 40) & 1, 1); /* PCAT_COMPAT */
		for (p = madt + 44; p < madt + len; p += p[1]) {
			assert_true(p[1] >= 2 && p + p[1] <= madt + len);
			switch (p[0]) {
			case 0: /* Processor Local APIC */
				assert_int_equal(p[1], 8);
				assert_int_equal(p[2], nlapic); /* UID */
				assert_int_equal(p[3], nlapic); /* APIC id */
				assert_int_equal(rd32(p + 4) & 1, 1);
				nlapic++;
				break;
			case 1: /* I/O APIC */
				assert_int_equal(p[1], 12);
				assert_int_equal(p[2], ncpus);
				assert_int_equal(rd32(p + 4), HV_IOAPIC_GPA);
				assert_int_equal(rd32(p + 8), 0);
				nioapic++;
				break;
			case 2: /* Interrupt Source Override */
				assert_int_equal(p[1], 10);
				assert_int_equal(p[2], 0);
				assert_int_equal(p[3], 0);
				assert_int_equal(rd32(p + 4), 2);
				niso++;
				break;
			case 4: /* Local APIC NMI */
				assert_int_equal(p[1], 6);
				break;
			case 0x10: /* Multiprocessor Wakeup */
				assert_int_equal(p[1], 16);
				assert_int_equal(rd16(p + 2), 0); /* mailbox version */
				assert_int_equal(rd64(p + 8), HV_MP_MAILBOX_GPA);
				nwake++;
				break;
			default:
				fail_msg("unexpected MADT entry type %u", p[0]);
			}
		}
		assert_true(p == madt + len);
		assert_int_equal(nlapic, ncpus);
		assert_int_equal(nioapic, 1);
		assert_int_equal(niso, 1);
		assert_int_equal(nwake, c % 2);
	}
}

static const uint8_t com1_crs[] = {
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO (Decode16, 0x3f8, 0x3f8, 1, 8) */
	0x22, 0x10, 0x00,                               /* IRQNoFlags () {4} */
	0x79,                                           /* EndTag */
};

static void test_dsdt(void **state)
{
	struct fixture *f = *state;
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a,
				      HV_ACPI_S5_SLP_TYP, 0x00 };
	static const uint8_t sb[] = { 0x10 };
	const uint8_t *dsdt, *p;
	uint32_t len;

	build(f, 1);
	dsdt = table(f, "DSDT", &len);
	assert_int_equal(dsdt[8], 2); /* 64-bit integers */
	assert_memory_equal(dsdt + 10, "SKYLT ", 6);
	assert_true(hv_acpi_checksum_ok(dsdt, len));
	/* Scope (\_SB) first, then Device (COM1) in it. */
	assert_memory_equal(dsdt + 36, sb, 1);
	assert_memory_equal(dsdt + 38, "\\_SB_", 5);
	p = find_bytes(dsdt, len, "\x5b\x82", 2);
	assert_non_null(p);
	assert_memory_equal(p + 3, "COM1", 4);
	assert_non_null(find_bytes(dsdt, len, hid, sizeof(hid)));
	assert_non_null(find_bytes(dsdt, len, "\x08_UID\x00", 6));
	assert_non_null(find_bytes(dsdt, len, com1_crs, sizeof(com1_crs)));
	assert_non_null(find_bytes(dsdt, len, s5, sizeof(s5)));
}

/* A stand-in for the VMBus device that will be added to the DSDT. */
static int vmbus_extra(struct aml_buf *b, void *data)
{
	size_t dev, crs;

	(*(int *)data)++;
	dev = aml_device_begin(b, "VMOD");
	aml_name(b, "_HID");
	aml_string(b, "VMBUS");
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_CRS");
	crs = aml_restemplate_begin(b);
	aml_memory32_fixed(b, true, 0xf8000000, 0x4000000);
	aml_qword_memory(b, AML_MEM_CACHEABLE, true, 0x1000000000ull, 0x10ffffffffull,
			 0x100000000ull);
	aml_restemplate_end(b, crs);
	aml_end(b, dev);
	return 0;
}

static int real_vmbus_extra(struct aml_buf *b, void *data)
{
	(void)data;
	hv_acpi_vmbus_device(b, HV_VMBUS_MMIO_GPA, HV_VMBUS_MMIO_SIZE);
	return 0;
}

static int failing_extra(struct aml_buf *b, void *data)
{
	return -ENOTSUP;
}

static int huge_extra(struct aml_buf *b, void *data)
{
	static uint8_t junk[4096];

	for (int i = 0; i < 64; i++)
		aml_bytes(b, junk, sizeof(junk));
	return 0;
}

static void test_dsdt_extra(void **state)
{
	struct fixture *f = *state;
	int calls = 0;
	struct hv_acpi_config cfg = { .ncpus = 2, .dsdt_extra = vmbus_extra,
				      .dsdt_extra_data = &calls };
	const uint8_t *dsdt;
	uint64_t rsdp = 0x1234;
	uint32_t len;

	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &f->rsdp), 0);
	assert_int_equal(calls, 1);
	dsdt = table(f, "DSDT", &len);
	assert_non_null(find_bytes(dsdt, len, "VMOD", 4));
	assert_non_null(find_bytes(dsdt, len, "\x0dVMBUS", 7));
	assert_non_null(find_bytes(dsdt, len, com1_crs, sizeof(com1_crs)));

	cfg.dsdt_extra = failing_extra;
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &rsdp), -ENOTSUP);
	assert_int_equal(rsdp, 0x1234);
	cfg.dsdt_extra = huge_extra;
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &rsdp), -E2BIG);
	assert_int_equal(rsdp, 0x1234);
}

static void test_bad_config(void **state)
{
	struct fixture *f = *state;
	struct hv_acpi_config cfg = { .ncpus = 0 };
	struct hv_guest_mem tiny;
	uint64_t rsdp = 7;

	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &rsdp), -EINVAL);
	cfg.ncpus = HV_MAX_VCPUS + 1;
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &rsdp), -EINVAL);
	cfg.ncpus = 1;
	cfg.mp_wakeup_gpa = HV_MP_MAILBOX_GPA + 8; /* not page-aligned */
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &rsdp), -EINVAL);
	cfg.mp_wakeup_gpa = 0;
	/* RAM that ends before the ACPI area. */
	cfg.ncpus = 1;
	hv_guest_mem_init(&tiny, f->mem.host, HV_ACPI_GPA + 100);
	assert_int_equal(hv_acpi_build(&tiny, &cfg, &rsdp), -EFAULT);
	assert_int_equal(rsdp, 7);
}

/* Recompute the checksum of a table we tampered with. */
static void fix_checksum(uint8_t *t)
{
	uint8_t s = 0;

	t[9] = 0;
	for (uint32_t i = 0; i < rd32(t + 4); i++)
		s += t[i];
	t[9] = (uint8_t)-s;
}

static void test_find_errors(void **state)
{
	struct fixture *f = *state;
	struct hv_guest_mem small;
	uint8_t *rsdp, *xsdt, *fadt;
	uint64_t gpa = 1, xsdt_gpa;
	uint32_t len = 1;

	build(f, 2);
	rsdp = f->mem.host + f->rsdp;
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "HPET", &gpa, &len), -ENOENT);
	assert_int_equal(hv_acpi_find(&f->mem, MEM_SIZE - 8, "APIC", &gpa, &len), -EFAULT);
	assert_int_equal(hv_acpi_find(&f->mem, 1ull << 40, "APIC", &gpa, &len), -EFAULT);
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp + 16, "APIC", &gpa, &len), -EBADMSG);

	/* Corrupt the MADT: its checksum fails. */
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "APIC", &gpa, &len), 0);
	f->mem.host[gpa + 40] ^= 0xff;
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "APIC", &gpa, &len), -EBADMSG);
	f->mem.host[gpa + 40] ^= 0xff;

	/* A MADT length past the end of RAM (here: RAM ends at 1 MiB), or
	 * absurd. */
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "APIC", &gpa, &len), 0);
	hv_guest_mem_init(&small, f->mem.host, HV_HIGH_MEM_GPA);
	wr32(f->mem.host + gpa + 4, 0x20000);
	assert_int_equal(hv_acpi_find(&small, f->rsdp, "APIC", &gpa, &len), -EFAULT);
	wr32(f->mem.host + gpa + 4, 0xffffffff);
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "APIC", &gpa, &len), -EBADMSG);
	wr32(f->mem.host + gpa + 4, 3);
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "APIC", &gpa, &len), -EBADMSG);

	/* An XSDT entry pointing outside RAM. */
	build(f, 2);
	xsdt_gpa = rd64(rsdp + 24);
	xsdt = f->mem.host + xsdt_gpa;
	wr64(xsdt + 36, 1ull << 45);
	fix_checksum(xsdt);
	assert_true(hv_acpi_checksum_ok(xsdt, rd32(xsdt + 4)));
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "FACP", &gpa, &len), -EFAULT);

	/* A DSDT pointer into nowhere. */
	build(f, 2);
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "FACP", &gpa, &len), 0);
	fadt = f->mem.host + gpa;
	wr64(fadt + HV_FADT_OFF_X_DSDT, MEM_SIZE + 4096);
	fix_checksum(fadt);
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "DSDT", &gpa, &len), -EFAULT);

	/* A bad RSDP checksum. */
	build(f, 2);
	rsdp[8] ^= 1;
	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, "FACP", &gpa, &len), -EBADMSG);
}

/* Disassemble the tables with ACPICA's iasl, if it is installed. */
static int run(const char *cmd)
{
	int r = system(cmd);

	return r == -1 ? -1 : WEXITSTATUS(r);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

static char *iasl_disassemble(struct fixture *f, char *dir, const char *sig)
{
	char path[512], cmd[1200];
	uint64_t gpa;
	uint32_t len;
	FILE *fp;

	assert_int_equal(hv_acpi_find(&f->mem, f->rsdp, sig, &gpa, &len), 0);
	snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
	fp = fopen(path, "we");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->mem.host + gpa, 1, len, fp), len);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, sig, sig);
	if (run(cmd) != 0) {
		snprintf(path, sizeof(path), "%s/%s.log", dir, sig);
		char *log = slurp(path);
		print_error("iasl failed:\n%s\n", log ? log : "");
		free(log);
		fail();
	}
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, sig);
	return slurp(path);
}

static void test_iasl(void **state)
{
	struct fixture *f = *state;
	int calls = 0;
	struct hv_acpi_config cfg = { .ncpus = 3, .dsdt_extra = vmbus_extra,
				      .dsdt_extra_data = &calls,
				      .mp_wakeup_gpa = HV_MP_MAILBOX_GPA };
	char dir[] = "/tmp/skylight-acpi-XXXXXX", cmd[600];
	char *dsl;

	if (run("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("iasl (acpica-tools) not installed; skipping\n");
		skip();
	}
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &f->rsdp), 0);
	assert_non_null(mkdtemp(dir));

	dsl = iasl_disassemble(f, dir, "DSDT");
	assert_non_null(dsl);
	assert_null(strstr(dsl, "Incorrect"));
	assert_non_null(strstr(dsl, "Scope (\\_SB)"));
	assert_non_null(strstr(dsl, "Device (COM1)"));
	assert_non_null(strstr(dsl, "Name (_HID, EisaId (\"PNP0501\")"));
	assert_non_null(strstr(dsl, "IO (Decode16,"));
	assert_non_null(strstr(dsl, "0x03F8,             // Range Minimum"));
	assert_non_null(strstr(dsl, "IRQNoFlags ()"));
	assert_non_null(strstr(dsl, "{4}"));
	assert_non_null(strstr(dsl, "Name (\\_S5, Package (0x02)"));
	assert_non_null(strstr(dsl, "Device (VMOD)"));
	assert_non_null(strstr(dsl, "Memory32Fixed (ReadWrite,"));
	assert_non_null(strstr(dsl, "QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, "
				    "Cacheable, ReadWrite,"));
	free(dsl);

	/* The real VMBus device skyvm builds. */
	cfg.dsdt_extra = real_vmbus_extra;
	assert_int_equal(hv_acpi_build(&f->mem, &cfg, &f->rsdp), 0);
	dsl = iasl_disassemble(f, dir, "DSDT");
	assert_non_null(dsl);
	assert_null(strstr(dsl, "Incorrect"));
	assert_non_null(strstr(dsl, "Device (VMBS)"));
	assert_non_null(strstr(dsl, "Name (_HID, \"VMBUS\")"));
	assert_non_null(strstr(dsl, "{5}"));
	assert_non_null(strstr(dsl, "QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, "
				    "NonCacheable, ReadWrite,"));
	assert_non_null(strstr(dsl, "0x00000000E0000000, // Range Minimum"));
	assert_non_null(strstr(dsl, "0x00000000EFFFFFFF, // Range Maximum"));
	assert_non_null(strstr(dsl, "0x0000000010000000, // Length"));
	free(dsl);

	dsl = iasl_disassemble(f, dir, "FACP");
	assert_non_null(dsl);
	assert_non_null(strstr(dsl, "Hardware Reduced (V5) : 1"));
	assert_non_null(strstr(dsl, "Reset Register Supported (V2) : 1"));
	assert_null(strstr(dsl, "Invalid"));
	free(dsl);

	dsl = iasl_disassemble(f, dir, "APIC");
	assert_non_null(dsl);
	assert_non_null(strstr(dsl, "Subtable Type : 01 [I/O APIC]"));
	assert_non_null(strstr(dsl, "Local Apic ID : 02"));
	/* Older iasl (20200925) shows the MP wakeup entry only raw. */
	assert_non_null(strstr(dsl, "Subtable Type : 10"));
	assert_null(strstr(dsl, "Incorrect"));
	free(dsl);

	if (!getenv("SKYLIGHT_KEEP_ACPI")) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		run(cmd);
	} else
		print_message("tables and disassembly kept in %s\n", dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rsdp_xsdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_extra, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iasl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

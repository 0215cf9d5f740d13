// SPDX-License-Identifier: GPL-3.0-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aml.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void expect_bytes(const struct aml_buf *b, const uint8_t *want, size_t n)
{
	assert_int_equal(aml_error(b), 0);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static void check_mem(const uint8_t *p, const uint8_t *want, size_t n)
{
	assert_memory_equal(p, want, n);
}

/* Decode a PkgLength (ACPI 6.4 §20.2.4) as ACPICA does; returns its value
 * and sets *nbytes. */
static size_t pkglen_decode(const uint8_t *p, size_t *nbytes)
{
	size_t n = (p[0] >> 6) + 1, v;

	if (n == 1) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0x0f;
	for (size_t i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = n;
	return v;
}

static void test_integers(void **state)
{
	static const struct {
		uint64_t v;
		uint8_t enc[9];
		size_t n;
	} cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 1, { 0x01 }, 1 },
		{ 2, { 0x0a, 0x02 }, 2 },
		{ 0xff, { 0x0a, 0xff }, 2 },
		{ 0x100, { 0x0b, 0x00, 0x01 }, 3 },
		{ 0xffff, { 0x0b, 0xff, 0xff }, 3 },
		{ 0x10000, { 0x0c, 0x00, 0x00, 0x01, 0x00 }, 5 },
		{ 0xfee00000, { 0x0c, 0x00, 0x00, 0xe0, 0xfe }, 5 },
		{ 0x100000000ull, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 }, 9 },
		{ UINT64_MAX, { 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml_buf b;

		aml_init(&b, 64);
		aml_integer(&b, cases[i].v);
		expect_bytes(&b, cases[i].enc, cases[i].n);
		aml_finish(&b);
	}
}

static void test_strings_and_names(void **state)
{
	struct aml_buf b;

	aml_init(&b, 256);
	aml_string(&b, "VMBUS");
	expect_bytes(&b, BYTES(0x0d, 'V', 'M', 'B', 'U', 'S', 0));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "_HID");
	expect_bytes(&b, BYTES('_', 'H', 'I', 'D'));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "\\_SB");
	expect_bytes(&b, BYTES('\\', '_', 'S', 'B', '_'));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "\\_SB.COM1");
	expect_bytes(&b, BYTES('\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "\\_SB.PCI0.SBRG");
	expect_bytes(&b, BYTES('\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
			       'S', 'B', 'R', 'G'));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "^^AB");
	expect_bytes(&b, BYTES('^', '^', 'A', 'B', '_', '_'));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name_string(&b, "\\");
	expect_bytes(&b, BYTES('\\', 0x00));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	expect_bytes(&b, BYTES(0x08, '_', 'U', 'I', 'D', 0x00));
	aml_finish(&b);

	static const char *const bad[] = { "", "a", "ABCDE", "1ABC", "A..B", "A.", ".A",
					   "\\\\A", "A-B", "\\_SB.com1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&b, 256);
		aml_name_string(&b, bad[i]);
		assert_int_equal(aml_error(&b), -EINVAL);
		aml_finish(&b);
	}
}

static void test_eisaid(void **state)
{
	struct aml_buf b;
	uint32_t v;

	/* iasl: EisaId ("PNP0501") -> 0x0105D041. */
	assert_true(aml_eisaid_value("PNP0501", &v));
	assert_int_equal(v, 0x0105d041);
	assert_true(aml_eisaid_value("PNP0A03", &v));
	assert_int_equal(v, 0x030ad041);
	assert_false(aml_eisaid_value("pnp0501", &v));
	assert_false(aml_eisaid_value("PNP050G", &v));
	assert_false(aml_eisaid_value("PNP05011", &v));

	aml_init(&b, 64);
	aml_eisaid(&b, "PNP0501");
	expect_bytes(&b, BYTES(0x0c, 0x41, 0xd0, 0x05, 0x01));
	aml_finish(&b);

	aml_init(&b, 64);
	aml_eisaid(&b, "PNP");
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_finish(&b);
}

/* PkgLength sizes 1-4 around each boundary, checked by decoding. */
static void test_pkglength(void **state)
{
	static const size_t bodies[] = { 0, 1, 61, 62, 63, 64, 4093, 4094, 4095,
					 (1u << 20) - 4, (1u << 20) - 3, 1u << 20 };
	static const size_t want_n[] = { 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4 };

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct aml_buf b;
		uint8_t *body = calloc(1, bodies[i] + 1);
		size_t mark, n, v;

		assert_non_null(body);
		memset(body, 0xa5, bodies[i]);
		aml_init(&b, 2u << 20);
		aml_byte(&b, 0x10);
		mark = b.len;
		aml_bytes(&b, body, bodies[i]);
		aml_end(&b, mark);
		assert_int_equal(aml_error(&b), 0);
		v = pkglen_decode(b.data + 1, &n);
		assert_int_equal(n, want_n[i]);
		assert_int_equal(v, bodies[i] + n);
		assert_int_equal(b.len, 1 + n + bodies[i]);
		if (bodies[i])
			assert_int_equal(b.data[1 + n], 0xa5);
		aml_finish(&b);
		free(body);
	}
}

static void test_device_package_buffer(void **state)
{
	struct aml_buf b;
	size_t m, m2;

	aml_init(&b, 256);
	m = aml_device_begin(&b, "COM1");
	aml_name(&b, "_UID");
	aml_integer(&b, 0);
	aml_end(&b, m);
	/* 5B 82 PkgLength(1+4+6=11) 'COM1' Name(_UID, Zero) */
	expect_bytes(&b, BYTES(0x5b, 0x82, 11, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0));
	aml_finish(&b);

	aml_init(&b, 256);
	m = aml_package_begin(&b, 2);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_end(&b, m);
	expect_bytes(&b, BYTES(0x12, 5, 2, 0x0a, 5, 0));
	aml_finish(&b);

	aml_init(&b, 256);
	m = aml_buffer_begin(&b);
	aml_bytes(&b, "abc", 3);
	aml_buffer_end(&b, m);
	/* 11 PkgLength(1+2+3) BufferSize(0A 03) 'abc' */
	expect_bytes(&b, BYTES(0x11, 6, 0x0a, 3, 'a', 'b', 'c'));
	aml_finish(&b);

	/* Nesting: Scope { Device {} } */
	aml_init(&b, 256);
	m = aml_scope_begin(&b, "\\_SB");
	m2 = aml_device_begin(&b, "DEV0");
	aml_end(&b, m2);
	aml_end(&b, m);
	expect_bytes(&b, BYTES(0x10, 13, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 5, 'D', 'E', 'V',
			       '0'));
	aml_finish(&b);
}

static void test_resources(void **state)
{
	struct aml_buf b;
	size_t m;
	uint8_t sum = 0;

	aml_init(&b, 256);
	m = aml_restemplate_begin(&b);
	aml_io(&b, 0x3f8, 0x3f8, 1, 8);
	aml_irq_noflags(&b, 4);
	aml_restemplate_end(&b, m);
	assert_int_equal(aml_error(&b), 0);
	/* Buffer(PkgLength, BufferSize 13) { IO, IRQ, EndTag } */
	assert_int_equal(b.len, 1 + 1 + 2 + 13);
	check_mem(b.data, BYTES(0x11, 16, 0x0a, 13, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
					  0x01, 0x08, 0x22, 0x10, 0x00, 0x79));
	for (size_t i = 4; i < b.len; i++)
		sum += b.data[i];
	assert_int_equal(sum, 0);
	aml_finish(&b);

	aml_init(&b, 256);
	aml_memory32_fixed(&b, true, 0xfed00000, 0x400);
	expect_bytes(&b, BYTES(0x86, 9, 0, 1, 0, 0, 0xd0, 0xfe, 0, 4, 0, 0));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_qword_memory(&b, AML_MEM_CACHEABLE, true, 0x1000000000ull, 0x10ffffffffull,
			 0x100000000ull);
	assert_int_equal(aml_error(&b), 0);
	assert_int_equal(b.len, 46);
	assert_int_equal(b.data[0], 0x8a);
	assert_int_equal(b.data[1] | b.data[2] << 8, 43);
	assert_int_equal(b.data[3], 0);       /* memory */
	assert_int_equal(b.data[4], 0x0d);    /* MAF MIF consumer */
	assert_int_equal(b.data[5], 0x03);    /* RW, cacheable */
	check_mem(b.data + 14, BYTES(0, 0, 0, 0, 0x10, 0, 0, 0));
	check_mem(b.data + 22, BYTES(0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0));
	check_mem(b.data + 38, BYTES(0, 0, 0, 0, 1, 0, 0, 0));
	aml_finish(&b);

	aml_init(&b, 256);
	aml_irq_noflags(&b, 16);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_finish(&b);
}

static void test_sticky_errors(void **state)
{
	struct aml_buf b;
	size_t m;

	aml_init(&b, 8);
	aml_bytes(&b, "12345678", 8);
	assert_int_equal(aml_error(&b), 0);
	aml_byte(&b, 1);
	assert_int_equal(aml_error(&b), -E2BIG);
	assert_int_equal(b.len, 8);
	aml_name_string(&b, "bad name");
	assert_int_equal(aml_error(&b), -E2BIG); /* the first error stays */
	aml_finish(&b);

	/* A PkgLength that no longer fits the maximum. */
	aml_init(&b, 70);
	aml_byte(&b, 0x10);
	m = b.len;
	for (int i = 0; i < 69; i++)
		aml_byte(&b, 0);
	aml_end(&b, m);
	assert_int_equal(aml_error(&b), -E2BIG);
	aml_finish(&b);

	/* Ends with a bogus mark. */
	aml_init(&b, 64);
	aml_end(&b, 10);
	assert_int_equal(aml_error(&b), -EINVAL);
	aml_finish(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings_and_names),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_pkglength),
		cmocka_unit_test(test_device_package_buffer),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_sticky_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

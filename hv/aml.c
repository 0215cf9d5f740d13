// SPDX-License-Identifier: GPL-3.0-or-later
#include "aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Opcodes and prefixes (ACPI 6.4 §20.3, Table 20.*). */
#define AML_ZERO_OP        0x00
#define AML_ONE_OP         0x01
#define AML_NAME_OP        0x08
#define AML_BYTE_PREFIX    0x0a
#define AML_WORD_PREFIX    0x0b
#define AML_DWORD_PREFIX   0x0c
#define AML_STRING_PREFIX  0x0d
#define AML_QWORD_PREFIX   0x0e
#define AML_SCOPE_OP       0x10
#define AML_BUFFER_OP      0x11
#define AML_PACKAGE_OP     0x12
#define AML_EXT_OP_PREFIX  0x5b
#define AML_DEVICE_OP      0x82 /* after ExtOpPrefix */
#define AML_ROOT_CHAR      '\\'
#define AML_PARENT_PREFIX  '^'
#define AML_DUAL_NAME      0x2e
#define AML_MULTI_NAME     0x2f
#define AML_NULL_NAME      0x00

/* PkgLength can say at most 2^28 - 1 (§20.2.4). */
#define AML_PKGLEN_MAX ((1u << 28) - 1)

void aml_init(struct aml_buf *b, size_t max)
{
	*b = (struct aml_buf){ .max = max };
}

void aml_finish(struct aml_buf *b)
{
	free(b->data);
	*b = (struct aml_buf){ 0 };
}

int aml_error(const struct aml_buf *b)
{
	return b->err;
}

static void aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Make room for n more bytes. */
static bool aml_reserve(struct aml_buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (b->err)
		return false;
	if (n > b->max || b->len > b->max - n) {
		aml_fail(b, -E2BIG);
		return false;
	}
	want = b->len + n;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	cap = cap > b->max ? b->max : cap;
	p = realloc(b->data, cap);
	if (!p) {
		aml_fail(b, -ENOMEM);
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (!n || !aml_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

/* Little-endian integer of n bytes into p. */
static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void aml_le(struct aml_buf *b, uint64_t v, size_t n)
{
	uint8_t t[8];

	put_le(t, v, n);
	aml_bytes(b, t, n);
}

/* Encode an Integer into t; return its length. */
static size_t integer_encode(uint8_t t[9], uint64_t v)
{
	if (v == 0) {
		t[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		t[0] = AML_ONE_OP;
		return 1;
	}
	/* OnesOp would be ambiguous (its width follows the DSDT revision). */
	if (v <= UINT8_MAX) {
		t[0] = AML_BYTE_PREFIX;
		put_le(t + 1, v, 1);
		return 2;
	}
	if (v <= UINT16_MAX) {
		t[0] = AML_WORD_PREFIX;
		put_le(t + 1, v, 2);
		return 3;
	}
	if (v <= UINT32_MAX) {
		t[0] = AML_DWORD_PREFIX;
		put_le(t + 1, v, 4);
		return 5;
	}
	t[0] = AML_QWORD_PREFIX;
	put_le(t + 1, v, 8);
	return 9;
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t t[9];

	aml_bytes(b, t, integer_encode(t, v));
}

void aml_string(struct aml_buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] > 0x7f) {
			aml_fail(b, -EINVAL);
			return;
		}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, n + 1);
}

static bool seg_char_ok(char c, bool lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !lead && c >= '0' && c <= '9';
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	uint8_t segs[255][4];
	size_t nsegs = 0;
	const char *p = path;

	if (b->err)
		return;
	if (*p == AML_ROOT_CHAR) {
		aml_byte(b, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			aml_byte(b, AML_PARENT_PREFIX);
			p++;
		}
	}
	while (*p) {
		size_t n = 0;

		if (nsegs == ARRAY_SIZE(segs))
			goto bad;
		memset(segs[nsegs], '_', 4);
		while (*p && *p != '.') {
			if (n == 4 || !seg_char_ok(*p, n == 0))
				goto bad;
			segs[nsegs][n++] = (uint8_t)*p++;
		}
		if (n == 0)
			goto bad;
		nsegs++;
		if (*p == '.') {
			p++;
			if (!*p)
				goto bad;
		}
	}

	switch (nsegs) {
	case 0:
		/* Only "\" (or "^") alone: the NullName. */
		if (p == path)
			goto bad;
		aml_byte(b, AML_NULL_NAME);
		break;
	case 1:
		break;
	case 2:
		aml_byte(b, AML_DUAL_NAME);
		break;
	default:
		aml_byte(b, AML_MULTI_NAME);
		aml_byte(b, (uint8_t)nsegs);
		break;
	}
	aml_bytes(b, segs, nsegs * 4);
	return;
bad:
	aml_fail(b, -EINVAL);
}

void aml_name(struct aml_buf *b, const char *path)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, path);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool aml_eisaid_value(const char *id, uint32_t *ret)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return false;
	/* Three letters in 5 bits each ('A' = 1), then four hex digits; the
	 * 32-bit result is stored big-endian (§19.6.35 EISAID). */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return false;
		v = (v << 5) | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0)
			return false;
		v = (v << 4) | (uint32_t)d;
	}
	*ret = __builtin_bswap32(v);
	return true;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v;

	if (!aml_eisaid_value(id, &v)) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le(b, v, 4);
}

/* Encode a PkgLength for `content` bytes that follow it (§20.2.4): the
 * length counts the PkgLength bytes themselves.  Returns 0 if too long. */
static size_t pkglen_encode(uint8_t t[4], size_t content)
{
	size_t n, total;

	if (content + 1 <= 0x3f) {
		t[0] = (uint8_t)(content + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = content + n;
		/* lead byte: 4 low bits; each following byte: 8 more. */
		if (total < (size_t)1 << (4 + 8 * (n - 1)))
			break;
	}
	if (n > 4 || content > AML_PKGLEN_MAX)
		return 0;
	total = content + n;
	t[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (size_t i = 1; i < n; i++)
		t[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Insert n bytes at offset at. */
static void aml_insert(struct aml_buf *b, size_t at, const uint8_t *p, size_t n)
{
	if (!aml_reserve(b, n))
		return;
	memmove(b->data + at + n, b->data + at, b->len - at);
	memcpy(b->data + at, p, n);
	b->len += n;
}

static bool mark_ok(struct aml_buf *b, size_t mark)
{
	if (b->err)
		return false;
	if (mark > b->len) {
		aml_fail(b, -EINVAL);
		return false;
	}
	return true;
}

void aml_end(struct aml_buf *b, size_t mark)
{
	uint8_t t[4];
	size_t n;

	if (!mark_ok(b, mark))
		return;
	n = pkglen_encode(t, b->len - mark);
	if (!n) {
		aml_fail(b, -E2BIG);
		return;
	}
	aml_insert(b, mark, t, n);
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_SCOPE_OP);
	mark = b->len;
	aml_name_string(b, path);
	return mark;
}

size_t aml_device_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	mark = b->len;
	aml_name_string(b, path);
	return mark;
}

size_t aml_package_begin(struct aml_buf *b, uint8_t nelems)
{
	size_t mark;

	aml_byte(b, AML_PACKAGE_OP);
	mark = b->len;
	aml_byte(b, nelems);
	return mark;
}

size_t aml_buffer_begin(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER_OP);
	return b->len;
}

void aml_buffer_end(struct aml_buf *b, size_t mark)
{
	uint8_t t[4 + 9];
	size_t body, nsize, npkg;

	if (!mark_ok(b, mark))
		return;
	/* Buffer := BufferOp PkgLength BufferSize ByteList (§20.2.5.4). */
	body = b->len - mark;
	nsize = integer_encode(t + 4, body);
	npkg = pkglen_encode(t, nsize + body);
	if (!npkg) {
		aml_fail(b, -E2BIG);
		return;
	}
	memmove(t + npkg, t + 4, nsize);
	aml_insert(b, mark, t, npkg + nsize);
}

size_t aml_restemplate_begin(struct aml_buf *b)
{
	return aml_buffer_begin(b);
}

void aml_restemplate_end(struct aml_buf *b, size_t mark)
{
	uint8_t sum = 0x79;

	if (!mark_ok(b, mark))
		return;
	/* End Tag (§6.4.2.9): checksum so all descriptor bytes sum to 0. */
	for (size_t i = mark; i < b->len; i++)
		sum += b->data[i];
	aml_byte(b, 0x79);
	aml_byte(b, (uint8_t)-sum);
	aml_buffer_end(b, mark);
}

void aml_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01 /* Decode16 */ };

	/* I/O Port Descriptor (§6.4.2.5), small item 0x08, length 7. */
	put_le(d + 2, min, 2);
	put_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	aml_bytes(b, d, sizeof(d));
}

void aml_irq_noflags(struct aml_buf *b, uint8_t irq)
{
	uint8_t d[3] = { 0x22 };

	/* IRQ Descriptor (§6.4.2.1), small item 0x04, length 2: mask only. */
	if (irq > 15) {
		aml_fail(b, -EINVAL);
		return;
	}
	put_le(d + 1, 1u << irq, 2);
	aml_bytes(b, d, sizeof(d));
}

void aml_memory32_fixed(struct aml_buf *b, bool rw, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0 };

	/* 32-bit Fixed Memory Range Descriptor (§6.4.3.4), large item 0x06. */
	d[3] = rw ? 1 : 0;
	put_le(d + 4, base, 4);
	put_le(d + 8, len, 4);
	aml_bytes(b, d, sizeof(d));
}

void aml_qword_memory(struct aml_buf *b, enum aml_mem_cache cache, bool rw,
		      uint64_t min, uint64_t max, uint64_t len)
{
	uint8_t d[46] = { 0x8a, 43, 0 };

	/* QWord Address Space Descriptor (§6.4.3.5.1), large item 0x0A. */
	d[3] = 0; /* Memory range */
	/* General flags: _MAF (bit 3), _MIF (bit 2), PosDecode (bit 1 clear),
	 * ResourceConsumer (bit 0, iasl's default). */
	d[4] = 1u << 3 | 1u << 2 | 1u << 0;
	/* Type-specific flags (Table 6.50): _RW bit 0, _MEM bits 2:1. */
	d[5] = (uint8_t)((rw ? 1 : 0) | ((unsigned)cache & 3) << 1);
	put_le(d + 6, 0, 8); /* _GRA */
	put_le(d + 14, min, 8);
	put_le(d + 22, max, 8);
	put_le(d + 30, 0, 8); /* _TRA */
	put_le(d + 38, len, 8);
	aml_bytes(b, d, sizeof(d));
}

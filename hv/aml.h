/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A tiny AML byte-code builder (ACPI 6.4 §20 "ACPI Machine Language
 * Specification"), enough for the DSDT skyvm hands the guest.
 *
 * Output goes into a growable buffer bounded by a maximum size.  Errors are
 * sticky: the first failure (-ENOMEM, -E2BIG, -EINVAL for a bad name) is
 * kept in the builder, later calls do nothing, and the caller checks
 * aml_error() once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are built as
 *
 *	size_t m = aml_device_begin(b, "COM1");
 *	... body ...
 *	aml_end(b, m);
 *
 * The end call measures the body and inserts the PkgLength (1-4 bytes) in
 * front of it.  Begin/end pairs nest like brackets.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* never grow past this many bytes */
	int err;    /* first error, sticky; 0 if none */
};

/* Start an empty builder that will hold at most max bytes. */
void aml_init(struct aml_buf *b, size_t max);
/* Free the bytes; the builder may be initialized again. */
void aml_finish(struct aml_buf *b);
/* 0, or the first error any call hit. */
int aml_error(const struct aml_buf *b);

/* Raw bytes. */
void aml_bytes(struct aml_buf *b, const void *p, size_t n);
void aml_byte(struct aml_buf *b, uint8_t v);

/* An Integer in its shortest encoding: ZeroOp, OneOp, BytePrefix, WordPrefix,
 * DWordPrefix or QWordPrefix (§20.2.3). */
void aml_integer(struct aml_buf *b, uint64_t v);
/* A String: StringPrefix, ASCII characters 0x01-0x7f, NUL (§20.2.3). */
void aml_string(struct aml_buf *b, const char *s);
/* A NameString (§20.2.2): optional '\' or '^'s, then dot-separated NameSegs
 * of 1-4 characters ([A-Z_][A-Z0-9_]*, padded with '_').  "\_SB.COM1",
 * "_HID", "^PCI0.SBRG".  Bad names set -EINVAL. */
void aml_name_string(struct aml_buf *b, const char *path);
/* Name(path, <the next object the caller emits>) (§20.2.5.1 DefName). */
void aml_name(struct aml_buf *b, const char *path);
/* EisaId("PNP0501"): the compressed 32-bit EISA id as a DWordConst, as iasl
 * emits it (§19.6.35).  Bad ids set -EINVAL. */
void aml_eisaid(struct aml_buf *b, const char *id);
/* The compressed value itself; false if id is not "AAA####" (A-Z, hex). */
bool aml_eisaid_value(const char *id, uint32_t *ret);

/* Scope(path) { ... }, Device(path) { ... }: close with aml_end(). */
size_t aml_scope_begin(struct aml_buf *b, const char *path);
size_t aml_device_begin(struct aml_buf *b, const char *path);
/* Package() { ... } with nelems elements: close with aml_end(). */
size_t aml_package_begin(struct aml_buf *b, uint8_t nelems);
/* Close a Scope, Device or Package: insert its PkgLength. */
void aml_end(struct aml_buf *b, size_t mark);

/* Buffer() { bytes }: the BufferSize is the body length; close with
 * aml_buffer_end(). */
size_t aml_buffer_begin(struct aml_buf *b);
void aml_buffer_end(struct aml_buf *b, size_t mark);

/*
 * ResourceTemplate() { ... } (§6.4): a Buffer of resource descriptors ended
 * by an EndTag whose checksum makes the descriptor bytes sum to zero.
 */
size_t aml_restemplate_begin(struct aml_buf *b);
void aml_restemplate_end(struct aml_buf *b, size_t mark);

/* IO(Decode16, min, max, align, len) (§6.4.2.5). */
void aml_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq } (§6.4.2.1, 2-byte form: edge, active high). */
void aml_irq_noflags(struct aml_buf *b, uint8_t irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len) (§6.4.3.4). */
void aml_memory32_fixed(struct aml_buf *b, bool rw, uint32_t base, uint32_t len);

/* The _MEM field of an address space descriptor (§6.4.3.5.4, Table 6.50). */
enum aml_mem_cache {
	AML_MEM_NONCACHEABLE = 0,
	AML_MEM_CACHEABLE = 1,
	AML_MEM_WRITECOMBINING = 2,
	AML_MEM_PREFETCHABLE = 3,
};
/* QWordMemory(ResourceConsumer, PosDecode, MinFixed, MaxFixed, cache, rw,
 * granularity 0, min, max, translation 0, len) (§6.4.3.5.1). */
void aml_qword_memory(struct aml_buf *b, enum aml_mem_cache cache, bool rw,
		      uint64_t min, uint64_t max, uint64_t len);

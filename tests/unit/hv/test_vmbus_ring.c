// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * VMBus ring buffers, host side (hv/vmbus-ring.c), against a small guest
 * side written here after Linux drivers/hv/ring_buffer.c: the guest writer
 * of hv_ringbuffer_write() + hv_signal_on_write(), the guest reader of
 * hv_pkt_iter_first() + hv_pkt_iter_close().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-mem.h"
#include "util.h"
#include "vmbus-ring.h"

#define PAGE 4096u
#define ALIGN8(x) (((x) + 7u) & ~7u)

/* Guest->host ring (the host reads): header, then three data pages that
 * are neither adjacent nor in order.  Host->guest ring: two pages. */
static const uint64_t g2h_pfns[] = { 0x100, 0x105, 0x102, 0x110 };
static const uint64_t h2g_pfns[] = { 0x200, 0x203, 0x201 };
#define G2H_SIZE (3 * PAGE)
#define H2G_SIZE (2 * PAGE)

/* The guest's view of one ring: its own mapping of the same pages. */
struct gring {
	struct hv_ring_header *h;
	uint8_t *pages[8];
	uint32_t size;
};

struct fixture {
	struct hv_guest_mem mem;
	struct hv_ring g2h, h2g; /* host side */
	struct gring gout, gin;  /* guest side: its outbound (g2h) and inbound (h2g) */
};

static void gring_init(struct gring *g, struct hv_guest_mem *mem, const uint64_t *pfns,
		       uint32_t n)
{
	g->h = (struct hv_ring_header *)(mem->host + pfns[0] * PAGE);
	for (uint32_t i = 1; i < n; i++)
		g->pages[i - 1] = mem->host + pfns[i] * PAGE;
	g->size = (n - 1) * PAGE;
	/* hv_ringbuffer_init(): indices 0, feat_pending_send_sz set. */
	memset(g->h, 0, PAGE);
	g->h->feature_bits = HV_RING_FEAT_PENDING_SEND_SZ;
}

/* Byte at a time, independent of the code under test. */
static uint32_t g_put(struct gring *g, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	for (uint32_t i = 0; i < len; i++) {
		g->pages[off / PAGE][off % PAGE] = s[i];
		off = (off + 1) % g->size;
	}
	return off;
}

static uint32_t g_get(struct gring *g, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;

	for (uint32_t i = 0; i < len; i++) {
		d[i] = g->pages[off / PAGE][off % PAGE];
		off = (off + 1) % g->size;
	}
	return off;
}

static uint32_t g_free(struct gring *g)
{
	uint32_t w = g->h->write_index, rd = g->h->read_index;

	return w >= rd ? g->size - (w - rd) : rd - w;
}

/* hv_ringbuffer_write() + hv_signal_on_write(). */
static int g_write(struct gring *g, uint16_t type, uint16_t flags, uint64_t tid,
		   const void *data, uint32_t len, bool *signal)
{
	uint32_t pktlen = 16 + ALIGN8(len), total = pktlen + 8;
	uint32_t w = g->h->write_index, off;
	struct hv_vmpacket_desc d = {
		.type = type, .offset8 = 2, .len8 = pktlen / 8, .flags = flags, .trans_id = tid,
	};
	uint64_t trailer = (uint64_t)w << 32;
	static const uint8_t zero[8];

	*signal = false;
	if (g_free(g) <= total)
		return -EAGAIN;
	off = g_put(g, w, &d, 16);
	off = g_put(g, off, data, len);
	off = g_put(g, off, zero, ALIGN8(len) - len);
	off = g_put(g, off, &trailer, 8);
	__atomic_store_n(&g->h->write_index, off, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*signal = !g->h->interrupt_mask && g->h->read_index == w;
	return 0;
}

/* One packet through hv_pkt_iter_first(), __hv_pkt_iter_next() and
 * hv_pkt_iter_close(); *signal is the latter's decision. */
static int g_read(struct gring *g, void *buf, uint32_t max, struct hv_vmpacket_desc *d,
		  uint32_t *len, uint64_t *trailer, bool *signal)
{
	uint32_t rd = g->h->read_index;
	uint32_t w = __atomic_load_n(&g->h->write_index, __ATOMIC_ACQUIRE);
	uint32_t avail = w >= rd ? w - rd : g->size - rd + w;
	uint32_t pkt_len, off, pending, curr, bytes_read;

	*signal = false;
	if (avail < 16)
		return 0;
	g_get(g, rd, d, 16);
	pkt_len = d->len8 * 8;
	off = d->offset8 * 8;
	assert_true(off >= 16 && off <= pkt_len && pkt_len + 8 <= avail);
	*len = pkt_len - off;
	assert_true(*len <= max);
	g_get(g, (rd + off) % g->size, buf, *len);
	g_get(g, (rd + pkt_len) % g->size, trailer, 8);

	bytes_read = pkt_len + 8;
	__atomic_store_n(&g->h->read_index, (rd + bytes_read) % g->size, __ATOMIC_RELEASE);
	if (!(g->h->feature_bits & HV_RING_FEAT_PENDING_SEND_SZ))
		return 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pending = g->h->pending_send_sz;
	if (!pending)
		return 1;
	curr = g_free(g);
	if (curr - bytes_read > pending)
		return 1;
	if (curr <= pending)
		return 1;
	*signal = true;
	return 1;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fake_mem_new(&f->mem, 16 << 20), 0);
	gring_init(&f->gout, &f->mem, g2h_pfns, 4);
	gring_init(&f->gin, &f->mem, h2g_pfns, 3);
	assert_int_equal(hv_ring_init(&f->g2h, &f->mem, g2h_pfns, 4), 0);
	assert_int_equal(hv_ring_init(&f->h2g, &f->mem, h2g_pfns, 3), 0);
	assert_int_equal(f->g2h.size, G2H_SIZE);
	assert_int_equal(f->h2g.size, H2G_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hv_ring_fini(&f->g2h);
	hv_ring_fini(&f->h2g);
	fake_mem_free(&f->mem);
	free(f);
	return 0;
}

/* Both ends of a ring at off, empty. */
static void park(struct gring *g, uint32_t off)
{
	g->h->write_index = off;
	g->h->read_index = off;
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static void test_init_bounds(void **state)
{
	struct hv_guest_mem mem;
	struct hv_ring r;
	uint64_t pfns[4] = { 0x10, 0x11, 0x12, 0x13 };
	uint64_t *many;

	assert_int_equal(fake_mem_new(&mem, 16 << 20), 0);
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 0), -EINVAL);
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 1), -EINVAL);
	assert_int_equal(hv_ring_init(&r, &mem, NULL, 2), -EINVAL);
	assert_int_equal(hv_ring_init(&r, &mem, pfns, HV_RING_MAX_PAGES + 1), -EINVAL);
	assert_null(r.pages);

	/* The last page of RAM is fine, the next one is not. */
	pfns[2] = (16 << 20) / PAGE - 1;
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 4), 0);
	assert_int_equal(r.npages, 3);
	assert_int_equal(r.size, 3 * PAGE);
	assert_ptr_equal(r.hdr, mem.host + 0x10 * PAGE);
	assert_ptr_equal(r.pages[1], mem.host + pfns[2] * PAGE);
	hv_ring_fini(&r);
	assert_null(r.pages);
	hv_ring_fini(&r); /* twice is harmless */

	pfns[2] = (16 << 20) / PAGE;
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 4), -EFAULT);
	/* The header page is checked too. */
	pfns[2] = 0x12;
	pfns[0] = 1ull << 40;
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 4), -EFAULT);
	/* PFNs whose GPA overflows 64 bits (they would wrap into RAM). */
	pfns[0] = 0x10;
	pfns[3] = (1ull << 52) | 0x13;
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 4), -EFAULT);
	pfns[3] = UINT64_MAX;
	assert_int_equal(hv_ring_init(&r, &mem, pfns, 4), -EFAULT);

	/* The largest ring (pages may alias: that only hurts the guest). */
	many = calloc(HV_RING_MAX_PAGES, sizeof(*many));
	assert_non_null(many);
	for (uint32_t i = 0; i < HV_RING_MAX_PAGES; i++)
		many[i] = 0x20 + (i & 1);
	assert_int_equal(hv_ring_init(&r, &mem, many, HV_RING_MAX_PAGES), 0);
	assert_int_equal(r.size, (HV_RING_MAX_PAGES - 1) * PAGE);
	hv_ring_fini(&r);
	free(many);

	/* A ring that was never set up refuses everything. */
	{
		struct hv_ring z = { 0 };
		struct hv_vmbus_packet pkt;
		uint8_t buf[64];
		bool sig;

		hv_ring_read_begin(&z);
		assert_int_equal(hv_ring_read(&z, buf, sizeof(buf), &pkt), -EBADMSG);
		assert_false(hv_ring_read_end(&z));
		assert_false(hv_ring_read_should_signal(&z));
		assert_int_equal(hv_ring_write(&z, HV_VMPKT_DATA_INBAND, 0, 1, NULL, 0, &sig),
				 -EBADMSG);
		assert_int_equal(hv_ring_bytes_to_read(&z), 0);
		assert_int_equal(hv_ring_bytes_free(&z), 0);
	}
	fake_mem_free(&mem);
}

static void test_packet_size(void **state)
{
	assert_int_equal(hv_ring_packet_size(0), 24);
	assert_int_equal(hv_ring_packet_size(1), 32);
	assert_int_equal(hv_ring_packet_size(8), 32);
	assert_int_equal(hv_ring_packet_size(9), 40);
	assert_int_equal(hv_ring_packet_size(4096), 4120);
	assert_int_equal(hv_ring_packet_size(UINT32_MAX), UINT32_MAX);
	assert_int_equal(hv_ring_packet_size(UINT32_MAX - 30), UINT32_MAX);
}

/* Read one packet from the host side and compare it with what the guest
 * wrote. */
static void expect_packet(struct hv_ring *r, uint16_t type, uint16_t flags, uint64_t tid,
			  const uint8_t *data, uint32_t len)
{
	static uint8_t buf[16384];
	struct hv_vmbus_packet pkt;
	struct hv_vmpacket_desc d;

	assert_int_equal(hv_ring_read(r, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.type, type);
	assert_int_equal(pkt.flags, flags);
	assert_int_equal(pkt.trans_id, tid);
	assert_int_equal(pkt.len, ALIGN8(len));
	assert_memory_equal(pkt.data, data, len);
	assert_ptr_equal(pkt.desc_data, buf);
	assert_ptr_equal(pkt.data, buf + 16);
	assert_int_equal(pkt.desc_len, 16 + ALIGN8(len));
	memcpy(&d, pkt.desc_data, 16);
	assert_int_equal(d.type, type);
	assert_int_equal(d.offset8, 2);
	assert_int_equal(d.len8, (16 + ALIGN8(len)) / 8);
	assert_int_equal(d.trans_id, tid);
}

static void test_g2h_roundtrip(void **state)
{
	struct fixture *f = *state;
	static const uint32_t sizes[] = { 0, 1, 7, 8, 100, 4000 };
	uint8_t data[4096];
	bool sig;
	uint32_t used = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		fill(data, sizes[i], i);
		assert_int_equal(g_write(&f->gout, HV_VMPKT_DATA_INBAND, i, 100 + i, data,
					 sizes[i], &sig), 0);
		/* Only the first one found the ring empty. */
		assert_int_equal(sig, i == 0);
		used += hv_ring_packet_size(sizes[i]);
	}
	assert_int_equal(hv_ring_bytes_to_read(&f->g2h), used);
	assert_int_equal(hv_ring_bytes_free(&f->g2h), G2H_SIZE - used);

	hv_ring_read_begin(&f->g2h);
	assert_int_equal(f->gout.h->interrupt_mask, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		fill(data, sizes[i], i);
		expect_packet(&f->g2h, HV_VMPKT_DATA_INBAND, i, 100 + i, data, sizes[i]);
		used -= hv_ring_packet_size(sizes[i]);
		/* read_index is published packet by packet. */
		assert_int_equal(hv_ring_bytes_to_read(&f->g2h), used);
	}
	assert_int_equal(hv_ring_read(&f->g2h, data, sizeof(data), &(struct hv_vmbus_packet){ 0 }),
			 0);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_int_equal(f->gout.h->interrupt_mask, 0);
	assert_false(hv_ring_read_should_signal(&f->g2h));
	assert_int_equal(f->gout.h->read_index, f->gout.h->write_index);
}

static void test_g2h_wrap(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[9000];
	struct {
		uint32_t at, len;
	} cases[] = {
		{ G2H_SIZE - 16, 200 },  /* descriptor fits, payload wraps */
		{ G2H_SIZE - 8, 200 },   /* descriptor itself wraps */
		{ G2H_SIZE - 216, 200 }, /* only the trailer wraps */
		{ G2H_SIZE - 224, 200 }, /* ends exactly at the end */
		{ PAGE - 24, 100 },      /* page 0x105 -> page 0x102 */
		{ 2 * PAGE - 8, 300 },   /* page 0x102 -> page 0x110 */
		{ PAGE - 8, 9000 },      /* all three pages, and wraps */
	};
	bool sig;

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		park(&f->gout, cases[i].at);
		fill(data, cases[i].len, i + 7);
		assert_int_equal(g_write(&f->gout, HV_VMPKT_COMP, 0, i, data, cases[i].len, &sig),
				 0);
		assert_true(sig);
		expect_packet(&f->g2h, HV_VMPKT_COMP, 0, i, data, cases[i].len);
		assert_int_equal(f->gout.h->read_index, f->gout.h->write_index);
		assert_int_equal(f->gout.h->read_index,
				 (cases[i].at + hv_ring_packet_size(cases[i].len)) % G2H_SIZE);
		assert_false(f->g2h.broken);
	}
}

/* Host writes, guest reads: payload from iovecs, zero padding, trailer. */
static void test_h2g_roundtrip(void **state)
{
	struct fixture *f = *state;
	uint8_t a[3] = { 1, 2, 3 }, b[10], c[5] = { 9, 9, 9, 9, 9 }, out[64], raw[8];
	struct iovec iov[] = {
		{ a, sizeof(a) }, { b, sizeof(b) }, { NULL, 0 }, { c, sizeof(c) },
	};
	struct hv_vmpacket_desc d;
	uint32_t len, at[] = { 0, H2G_SIZE - 40, PAGE - 16, H2G_SIZE - 8 };
	uint64_t trailer;
	bool sig, gsig;

	fill(b, sizeof(b), 3);
	for (unsigned i = 0; i < ARRAY_SIZE(at); i++) {
		park(&f->gin, at[i]);
		/* Stale bytes where the padding goes must not show through. */
		g_put(&f->gin, (at[i] + 16 + 18) % H2G_SIZE, "\xff\xff\xff\xff\xff\xff", 6);
		assert_int_equal(hv_ring_write(&f->h2g, HV_VMPKT_DATA_INBAND,
					       HV_VMPKT_FLAG_COMPLETION_REQUESTED, 0x1234 + i, iov,
					       ARRAY_SIZE(iov), &sig), 0);
		assert_true(sig);
		assert_int_equal(f->gin.h->write_index, (at[i] + 48) % H2G_SIZE);
		g_get(&f->gin, (at[i] + 16 + 18) % H2G_SIZE, raw, 6);
		assert_memory_equal(raw, "\0\0\0\0\0\0", 6);

		assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
		assert_false(gsig);
		assert_int_equal(d.type, HV_VMPKT_DATA_INBAND);
		assert_int_equal(d.flags, HV_VMPKT_FLAG_COMPLETION_REQUESTED);
		assert_int_equal(d.offset8, 2);
		assert_int_equal(d.len8, 5);
		assert_int_equal(d.trans_id, 0x1234 + i);
		assert_int_equal(len, 24);
		assert_memory_equal(out, a, 3);
		assert_memory_equal(out + 3, b, 10);
		assert_memory_equal(out + 13, c, 5);
		assert_int_equal(trailer, (uint64_t)at[i] << 32);
	}
	/* A packet with no payload at all. */
	assert_int_equal(hv_ring_write(&f->h2g, HV_VMPKT_COMP, 0, 7, NULL, 0, &sig), 0);
	assert_true(sig);
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_int_equal(len, 0);
	assert_int_equal(d.len8, 2);
	assert_int_equal(hv_ring_write(&f->h2g, HV_VMPKT_COMP, 0, 7, iov, -1, &sig), -EINVAL);
}

static void test_never_full(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[G2H_SIZE];
	struct iovec iov = { data, 0 };
	struct iovec huge[3] = { { data, SIZE_MAX / 2 }, { data, SIZE_MAX / 2 }, { data, 16 } };
	bool sig;

	/* A packet as large as the ring can never go in. */
	iov.iov_len = H2G_SIZE - 24;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, &iov, 1, &sig), -EMSGSIZE);
	assert_true(hv_ring_write_space_ok(&f->h2g, H2G_SIZE - 24)); /* let write say why */
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, huge, 3, &sig), -EMSGSIZE);
	assert_int_equal(f->gin.h->pending_send_sz, 0);

	/* 4096 in, 4096 free: a second 4096 would fill it exactly. */
	iov.iov_len = 4096 - 24;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, &iov, 1, &sig), 0);
	assert_int_equal(hv_ring_bytes_free(&f->h2g), 4096);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 2, &iov, 1, &sig), -EAGAIN);
	assert_int_equal(f->gin.h->pending_send_sz, 4096);
	assert_int_equal(f->gin.h->write_index, 4096);
	/* 8 bytes less fits, and leaves the last 8 free. */
	iov.iov_len = 4096 - 32;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 3, &iov, 1, &sig), 0);
	assert_false(sig);
	assert_int_equal(f->gin.h->pending_send_sz, 0);
	assert_int_equal(hv_ring_bytes_free(&f->h2g), 8);
	assert_int_equal(hv_ring_bytes_to_read(&f->h2g), H2G_SIZE - 8);
	iov.iov_len = 0;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 4, &iov, 1, &sig), -EAGAIN);
	assert_int_equal(f->gin.h->pending_send_sz, 24);

	/* The same rule holds for the guest's writer, and the host reads
	 * a ring filled up to its last 8 bytes. */
	park(&f->gout, 1000 * 8);
	assert_int_equal(g_write(&f->gout, 6, 0, 1, data, G2H_SIZE - 32, &sig), 0);
	assert_int_equal(hv_ring_bytes_to_read(&f->g2h), G2H_SIZE - 8);
	expect_packet(&f->g2h, 6, 0, 1, data, G2H_SIZE - 32);
}

static void test_write_signal(void **state)
{
	struct fixture *f = *state;
	uint8_t data[32] = { 0 }, out[64];
	struct iovec iov = { data, sizeof(data) };
	struct hv_vmpacket_desc d;
	uint32_t len;
	uint64_t trailer;
	bool sig, gsig;

	/* empty -> non-empty with the mask clear: signal. */
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, &iov, 1, &sig), 0);
	assert_true(sig);
	/* Already non-empty: no signal. */
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 2, &iov, 1, &sig), 0);
	assert_false(sig);
	/* The guest is draining (hv_begin_read()): no signal even when it
	 * has emptied the ring. */
	f->gin.h->interrupt_mask = 1;
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 3, &iov, 1, &sig), 0);
	assert_false(sig);
	/* Unmasked but not empty: no signal (hv_end_read() rechecks). */
	f->gin.h->interrupt_mask = 0;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 4, &iov, 1, &sig), 0);
	assert_false(sig);
	/* Drained and unmasked: signal again. */
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_int_equal(d.trans_id, 4);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 5, &iov, 1, &sig), 0);
	assert_true(sig);
}

static void test_read_begin_end(void **state)
{
	struct fixture *f = *state;
	uint8_t data[40] = { 1 }, buf[256];
	struct hv_vmbus_packet pkt;
	bool sig;

	hv_ring_read_begin(&f->g2h);
	assert_int_equal(f->gout.h->interrupt_mask, 1);
	/* Masked: the guest does not signal even on empty -> non-empty. */
	assert_int_equal(g_write(&f->gout, 6, 0, 1, data, sizeof(data), &sig), 0);
	assert_false(sig);
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), 0);
	/* A packet lands after our last look and before the unmask. */
	assert_int_equal(g_write(&f->gout, 6, 0, 2, data, sizeof(data), &sig), 0);
	assert_false(sig);
	assert_true(hv_ring_read_end(&f->g2h));
	assert_int_equal(f->gout.h->interrupt_mask, 0);
	/* Again. */
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 2);
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), 0);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));
	/* Idle and unmasked: the next packet is signalled. */
	assert_int_equal(g_write(&f->gout, 6, 0, 3, data, sizeof(data), &sig), 0);
	assert_true(sig);
}

/* Guest writes 1000-byte payloads (1024 in the ring) until the ring is
 * full; returns how many went in. */
static unsigned g_fill(struct fixture *f, unsigned max)
{
	static uint8_t data[1000];
	unsigned n = 0;
	bool sig;

	while (n < max && g_write(&f->gout, 6, 0, n, data, sizeof(data), &sig) == 0)
		n++;
	return n;
}

static unsigned h_drain(struct hv_ring *r, unsigned max)
{
	static uint8_t buf[2048];
	struct hv_vmbus_packet pkt;
	unsigned n = 0;

	while (n < max && hv_ring_read(r, buf, sizeof(buf), &pkt) == 1)
		n++;
	return n;
}

static void test_pending_reader(void **state)
{
	struct fixture *f = *state;

	/* Full (11 x 1024, 1024 free: a 12th does not fit): the blocked
	 * writer asks for 1024.  Draining crosses it: signal, once. */
	assert_int_equal(g_fill(f, 100), 11);
	assert_int_equal(hv_ring_bytes_free(&f->g2h), 1024);
	f->gout.h->pending_send_sz = 1024;
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(f->g2h.read_start_free, 1024);
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_true(hv_ring_read_should_signal(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));

	/* Nobody waiting: no signal. */
	f->gout.h->pending_send_sz = 0;
	assert_int_equal(g_fill(f, 100), 11);
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));

	/* There was room before we read: the writer was not blocked. */
	f->gout.h->pending_send_sz = 1024;
	assert_int_equal(g_fill(f, 2), 2);
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 2);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));

	/* Free space exactly pending_send_sz is "not enough" on both sides
	 * of the crossing (hv_pkt_iter_close()). */
	assert_int_equal(g_fill(f, 100), 11);
	f->gout.h->pending_send_sz = 3072;
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 2), 2); /* 3072 free: still blocked */
	assert_true(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 9);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_true(hv_ring_read_should_signal(&f->g2h));

	/* A writer that asks for more than the ring can ever give. */
	f->gout.h->pending_send_sz = G2H_SIZE;
	assert_int_equal(g_fill(f, 100), 11);
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));
}

/* The guest fills the ring while we drain: it blocked after we began
 * with plenty of room, and must still be woken. */
static void test_pending_during_drain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(g_fill(f, 2), 2);
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(f->g2h.read_start_free, G2H_SIZE - 2048);
	assert_int_equal(h_drain(&f->g2h, 1), 1);
	assert_int_equal(g_fill(f, 100), 10);
	f->gout.h->pending_send_sz = 1024;
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_true(hv_ring_read_should_signal(&f->g2h));

	/* Over two rounds: blocked again at the end of round one (the
	 * guest refilled after our last read), freed in round two. */
	assert_int_equal(g_fill(f, 100), 11);
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_int_equal(g_fill(f, 100), 11);
	assert_true(hv_ring_read_end(&f->g2h));
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(h_drain(&f->g2h, 100), 11);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_true(hv_ring_read_should_signal(&f->g2h));
}

/* -EAGAIN leaves pending_send_sz for the guest, whose reader signals on
 * the crossing; space_ok() then clears it. */
static void test_eagain_space_ok(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[1000], out[1024];
	struct iovec iov = { data, sizeof(data) };
	struct hv_vmpacket_desc d;
	uint32_t len;
	uint64_t trailer;
	unsigned n = 0;
	bool sig, gsig;

	while (hv_ring_write(&f->h2g, 6, 0, n, &iov, 1, &sig) == 0)
		n++;
	assert_int_equal(n, 7);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, n, &iov, 1, &sig), -EAGAIN);
	assert_false(sig);
	assert_int_equal(f->gin.h->pending_send_sz, 1024);
	assert_false(hv_ring_write_space_ok(&f->h2g, sizeof(data)));
	assert_int_equal(f->gin.h->pending_send_sz, 1024);

	/* The guest reads one packet: 1024 -> 2048 free crosses 1024. */
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_true(gsig);
	/* A second read is no crossing any more. */
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_false(gsig);
	assert_true(hv_ring_write_space_ok(&f->h2g, sizeof(data)));
	assert_int_equal(f->gin.h->pending_send_sz, 0);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, n, &iov, 1, &sig), 0);
	assert_false(sig);

	/* space_ok() on a full ring asks for the signal itself. */
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, n, &iov, 1, &sig), 0);
	f->gin.h->pending_send_sz = 0;
	assert_false(hv_ring_write_space_ok(&f->h2g, sizeof(data)));
	assert_int_equal(f->gin.h->pending_send_sz, 1024);
	/* And a successful write withdraws a stale request. */
	assert_int_equal(g_read(&f->gin, out, sizeof(out), &d, &len, &trailer, &gsig), 1);
	assert_true(gsig);
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, n, &iov, 1, &sig), 0);
	assert_int_equal(f->gin.h->pending_send_sz, 0);
}

static void test_corrupt_indices(void **state)
{
	struct fixture *f = *state;
	struct hv_vmbus_packet pkt;
	uint8_t buf[64] = { 0 };
	struct iovec iov = { buf, 8 };
	bool sig;

	/* Unaligned write_index. */
	f->gout.h->write_index = 12;
	assert_int_equal(hv_ring_bytes_to_read(&f->g2h), 0);
	assert_false(f->g2h.broken); /* the const helpers only look */
	hv_ring_read_begin(&f->g2h);
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), -EBADMSG);
	assert_true(f->g2h.broken);
	/* Broken for good, even once the guest repairs the index. */
	f->gout.h->write_index = 0;
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), -EBADMSG);
	assert_false(hv_ring_read_end(&f->g2h));
	assert_false(hv_ring_read_should_signal(&f->g2h));
	assert_int_equal(hv_ring_bytes_free(&f->g2h), 0);

	/* read_index == size. */
	hv_ring_fini(&f->g2h);
	assert_int_equal(hv_ring_init(&f->g2h, &f->mem, g2h_pfns, 4), 0);
	f->gout.h->read_index = G2H_SIZE;
	assert_int_equal(hv_ring_read(&f->g2h, buf, sizeof(buf), &pkt), -EBADMSG);
	/* Far beyond, on a fresh ring, noticed by read_end() too. */
	hv_ring_fini(&f->g2h);
	assert_int_equal(hv_ring_init(&f->g2h, &f->mem, g2h_pfns, 4), 0);
	f->gout.h->read_index = 0;
	hv_ring_read_begin(&f->g2h);
	f->gout.h->write_index = 0xfffffff8;
	assert_false(hv_ring_read_end(&f->g2h));
	assert_true(f->g2h.broken);

	/* The host->guest ring: the guest's read_index. */
	f->gin.h->read_index = 0x10000;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, &iov, 1, &sig), -EBADMSG);
	assert_true(f->h2g.broken);
	assert_true(hv_ring_write_space_ok(&f->h2g, 8));
	hv_ring_fini(&f->h2g);
	assert_int_equal(hv_ring_init(&f->h2g, &f->mem, h2g_pfns, 3), 0);
	f->gin.h->read_index = 0;
	f->gin.h->write_index = 4;
	assert_int_equal(hv_ring_write(&f->h2g, 6, 0, 1, &iov, 1, &sig), -EBADMSG);
	assert_false(sig);
}

/* Writes a descriptor at 0 and publishes write_index = w. */
static int read_raw(struct fixture *f, uint16_t offset8, uint16_t len8, uint32_t w,
		    struct hv_vmbus_packet *pkt)
{
	static uint8_t buf[16384];
	struct hv_vmpacket_desc d = {
		.type = 9, .offset8 = offset8, .len8 = len8, .flags = 0, .trans_id = 77,
	};

	hv_ring_fini(&f->g2h);
	assert_int_equal(hv_ring_init(&f->g2h, &f->mem, g2h_pfns, 4), 0);
	park(&f->gout, 0);
	g_put(&f->gout, 0, &d, sizeof(d));
	f->gout.h->write_index = w;
	return hv_ring_read(&f->g2h, buf, sizeof(buf), pkt);
}

static void test_bad_descriptors(void **state)
{
	struct fixture *f = *state;
	struct hv_vmbus_packet pkt;

	/* Fewer bytes published than a descriptor and trailer. */
	assert_int_equal(read_raw(f, 2, 2, 8, &pkt), -EBADMSG);
	assert_int_equal(read_raw(f, 2, 2, 16, &pkt), -EBADMSG);
	/* offset8 < 2: the payload would overlap the descriptor. */
	assert_int_equal(read_raw(f, 1, 4, 40, &pkt), -EBADMSG);
	assert_int_equal(read_raw(f, 0, 4, 40, &pkt), -EBADMSG);
	assert_true(f->g2h.broken);
	/* len8 < offset8. */
	assert_int_equal(read_raw(f, 5, 4, 40, &pkt), -EBADMSG);
	/* len8 beyond what was published (the trailer needs 8 too). */
	assert_int_equal(read_raw(f, 2, 5, 40, &pkt), -EBADMSG);
	assert_int_equal(read_raw(f, 2, 0xffff, 40, &pkt), -EBADMSG);
	assert_int_equal(read_raw(f, 2, 0xffff, G2H_SIZE - 8, &pkt), -EBADMSG);

	/* The edges that are fine: a GPA-direct style header longer than
	 * the descriptor and no payload; an empty payload. */
	assert_int_equal(read_raw(f, 4, 4, 40, &pkt), 1);
	assert_int_equal(pkt.type, 9);
	assert_int_equal(pkt.trans_id, 77);
	assert_int_equal(pkt.desc_len, 32);
	assert_int_equal(pkt.len, 0);
	assert_ptr_equal(pkt.data, pkt.desc_data + 32);
	assert_int_equal(read_raw(f, 2, 2, 24, &pkt), 1);
	assert_int_equal(pkt.len, 0);
	assert_int_equal(pkt.desc_len, 16);
	/* Exactly what was published, more than one packet's worth is also
	 * fine: the rest stays for the next read. */
	assert_int_equal(read_raw(f, 2, 5, 48, &pkt), 1);
	assert_int_equal(read_raw(f, 2, 5, 64, &pkt), 1);
	assert_int_equal(f->gout.h->read_index, 48);
	assert_int_equal(hv_ring_read(&f->g2h, (uint8_t[64]){ 0 }, 64, &pkt), -EBADMSG);
}

static void test_emsgsize_skip(void **state)
{
	struct fixture *f = *state;
	uint8_t data[500], small[64];
	struct hv_vmbus_packet pkt;
	bool sig;

	fill(data, sizeof(data), 1);
	assert_int_equal(g_write(&f->gout, 6, 0, 1, data, 500, &sig), 0);
	assert_int_equal(g_write(&f->gout, 6, 0, 2, data, 48, &sig), 0);
	assert_int_equal(g_write(&f->gout, 6, 0, 3, data, 49, &sig), 0);
	assert_int_equal(hv_ring_read(&f->g2h, small, sizeof(small), &pkt), -EMSGSIZE);
	assert_false(f->g2h.broken);
	assert_int_equal(f->gout.h->read_index, hv_ring_packet_size(500));
	/* Exactly the buffer's size (16 + 48) fits. */
	assert_int_equal(hv_ring_read(&f->g2h, small, sizeof(small), &pkt), 1);
	assert_int_equal(pkt.trans_id, 2);
	assert_memory_equal(pkt.data, data, 48);
	assert_int_equal(hv_ring_read(&f->g2h, small, sizeof(small), &pkt), -EMSGSIZE);
	assert_int_equal(hv_ring_read(&f->g2h, small, sizeof(small), &pkt), 0);
	/* No buffer at all: everything is skipped. */
	assert_int_equal(g_write(&f->gout, 6, 0, 4, data, 0, &sig), 0);
	assert_int_equal(hv_ring_read(&f->g2h, NULL, 0, &pkt), -EMSGSIZE);
	assert_int_equal(hv_ring_bytes_to_read(&f->g2h), 0);
}

/* Both directions at once, random sizes, many laps around each ring. */
static void test_stress(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[3000], out[4096];
	uint64_t x = 88172645463325252ull;
	uint64_t g_sent = 0, g_got = 0, h_sent = 0, h_got = 0;
	uint32_t g_len[4096], h_len[4096];

	for (int iter = 0; iter < 20000; iter++) {
		uint32_t len;
		bool sig;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (x >> 8) % sizeof(data);
		switch (x & 3) {
		case 0: /* guest sends */
			fill(data, len, (uint32_t)g_sent);
			if (g_write(&f->gout, 6, 0, g_sent, data, len, &sig) == 0)
				g_len[g_sent++ % 4096] = len;
			break;
		case 1: { /* host receives */
			struct hv_vmbus_packet pkt;
			int r = hv_ring_read(&f->g2h, out, sizeof(out), &pkt);

			assert_true(r >= 0);
			if (r) {
				assert_int_equal(pkt.trans_id, g_got);
				len = g_len[g_got++ % 4096];
				fill(data, len, (uint32_t)pkt.trans_id);
				assert_int_equal(pkt.len, ALIGN8(len));
				assert_memory_equal(pkt.data, data, len);
			} else {
				assert_int_equal(g_got, g_sent);
			}
			break;
		}
		case 2: { /* host sends */
			struct iovec iov[2] = { { data, len / 3 }, { data + len / 3, len - len / 3 } };
			int r;

			fill(data, len, (uint32_t)h_sent);
			r = hv_ring_write(&f->h2g, 6, 0, h_sent, iov, 2, &sig);
			assert_true(r == 0 || r == -EAGAIN);
			if (r == 0)
				h_len[h_sent++ % 4096] = len;
			break;
		}
		case 3: { /* guest receives */
			struct hv_vmpacket_desc d;
			uint64_t trailer;
			uint32_t glen;

			if (g_read(&f->gin, out, sizeof(out), &d, &glen, &trailer, &sig)) {
				assert_int_equal(d.trans_id, h_got);
				len = h_len[h_got++ % 4096];
				fill(data, len, (uint32_t)d.trans_id);
				assert_int_equal(glen, ALIGN8(len));
				assert_memory_equal(out, data, len);
			} else {
				assert_int_equal(h_got, h_sent);
			}
			break;
		}
		}
	}
	/* Enough traffic to have gone round both rings many times. */
	assert_true(g_got > 1000 && h_got > 500);
	assert_false(f->g2h.broken || f->h2g.broken);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_packet_size),
		T(test_g2h_roundtrip),
		T(test_g2h_wrap),
		T(test_h2g_roundtrip),
		T(test_never_full),
		T(test_write_signal),
		T(test_read_begin_end),
		T(test_pending_reader),
		T(test_pending_during_drain),
		T(test_eagain_space_ok),
		T(test_corrupt_indices),
		T(test_bad_descriptors),
		T(test_emsgsize_skip),
		T(test_stress),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

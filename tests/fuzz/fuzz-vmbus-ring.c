// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * VMBus rings (hv/vmbus-ring.c) with everything the guest controls coming
 * from the input: both ring headers, the guest->host ring's data, and
 * index rewrites between our reads.  Guest RAM is 1 MiB; the rings' data
 * pages are scattered and out of order.  The input is laid out as
 *   [0] read-ring data pages - 1 (mod 4) | [1] write-ring data pages - 1 |
 *   [2] flags | [3] read buffer size / 8 (0: 64 KiB) |
 *   read ring header: write_index read_index interrupt_mask pending_send_sz
 *     feature_bits (u32 each) |
 *   write ring header: write_index read_index interrupt_mask pending_send_sz |
 *   4 x u32 pokes, one after each of the first reads: low 2 bits pick
 *     write_index (1), read_index (2) or the next descriptor's len8 (3) of
 *     the read ring, the rest is the value |
 *   4 x {u16 payload length, u16 type} host writes |
 *   the read ring's data, then the write ring's.
 * Then one drain (begin, read until empty or broken, end, again if data
 * came, should_signal) and the host writes, each read back through a
 * second ring over the same pages when it went into an empty ring.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-guest-mem.h"
#include "vmbus-ring.h"

#define FUZZ_RAM (1u << 20)
#define PAGE 4096u
#define HDR_LEN 72u
#define FLAG_BAD_PFN 1u
#define FLAG_HIGH_PFN 2u

static const uint64_t read_pfns[] = { 1, 9, 3, 7, 5 };
static const uint64_t write_pfns[] = { 2, 10, 4, 8, 6 };

static uint8_t buf[65536];
static uint8_t payload[65536];

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* Pages of a ring from the input, zero past its end. */
static size_t load_ring(struct hv_guest_mem *mem, const uint64_t *pfns, uint32_t n,
			const uint8_t *data, size_t size)
{
	size_t used = 0;

	for (uint32_t i = 1; i <= n; i++) {
		uint8_t *p = mem->host + pfns[i] * PAGE;
		size_t k = size - used < PAGE ? size - used : PAGE;

		memcpy(p, data + used, k);
		memset(p + k, 0, PAGE - k);
		used += k;
	}
	return used;
}

static void check_packet(const struct hv_vmbus_packet *pkt, size_t max)
{
	uint32_t sum = 0;

	check(pkt->desc_data == buf);
	check(pkt->desc_len >= 16 && pkt->desc_len <= max);
	check(pkt->data >= buf + 16 && pkt->data + pkt->len == buf + pkt->desc_len);
	for (uint32_t i = 0; i < pkt->desc_len; i++)
		sum += pkt->desc_data[i];
	(void)sum;
}

static void drain(struct hv_ring *r, size_t max, const uint8_t *pokes)
{
	struct hv_vmbus_packet pkt;
	unsigned reads = 0;

	for (int round = 0; round < 2; round++) {
		hv_ring_read_begin(r);
		for (;;) {
			int n = hv_ring_read(r, buf, max, &pkt);

			check(n == 1 || n == 0 || n == -EMSGSIZE || n == -EBADMSG);
			check((n == -EBADMSG) == r->broken);
			if (n == 1)
				check_packet(&pkt, max);
			if (n == 0 || n == -EBADMSG || ++reads > 2048)
				break;
			if (reads <= 4) {
				uint32_t p = get32(pokes + 4 * (reads - 1));

				switch (p & 3) {
				case 1:
					r->hdr->write_index = p & ~3u;
					break;
				case 2:
					r->hdr->read_index = p & ~3u;
					break;
				case 3: {
					uint32_t at = r->hdr->read_index;

					if (at < r->size && !(at & 7))
						memcpy(r->pages[at / PAGE] + at % PAGE + 4,
						       (uint16_t[]){ p >> 16 }, 2);
					break;
				}
				}
			}
		}
		if (!hv_ring_read_end(r))
			break;
	}
	(void)hv_ring_read_should_signal(r);
	/* Either both counts describe the ring, or its indices are bad. */
	if (hv_ring_bytes_to_read(r) || hv_ring_bytes_free(r))
		check(hv_ring_bytes_to_read(r) + hv_ring_bytes_free(r) == r->size);
}

static void write_all(struct hv_ring *w, struct hv_ring *back, const uint8_t *ops)
{
	for (int i = 0; i < 4; i++) {
		uint16_t len = get16(ops + 4 * i), type = get16(ops + 4 * i + 2);
		struct iovec iov[2] = { { payload, len / 2 }, { payload + len / 2, len - len / 2 } };
		uint32_t old_w = w->hdr->write_index, old_r = w->hdr->read_index;
		struct hv_vmbus_packet pkt;
		bool sig;
		int r;

		memset(payload, i + 1, len);
		r = hv_ring_write(w, type, 0, i, iov, 2, &sig);
		check(r == 0 || r == -EAGAIN || r == -EMSGSIZE || r == -EBADMSG);
		check((r == -EBADMSG) == w->broken);
		check(r == 0 || !sig);
		if (r == -EAGAIN) {
			check(w->hdr->pending_send_sz == hv_ring_packet_size(len));
			(void)hv_ring_write_space_ok(w, len);
			continue;
		}
		if (r)
			continue;
		check(!(w->hdr->write_index & 7) && w->hdr->write_index < w->size);
		check(hv_ring_bytes_to_read(w) >= hv_ring_packet_size(len));
		/* Into an empty ring: it reads back exactly. */
		if (old_w != old_r)
			continue;
		check(sig == !w->hdr->interrupt_mask);
		check(hv_ring_read(back, buf, sizeof(buf), &pkt) == 1);
		check(pkt.type == type && pkt.trans_id == (uint64_t)i);
		check(pkt.len == ((len + 7u) & ~7u));
		for (uint32_t k = 0; k < len; k++)
			check(pkt.data[k] == (uint8_t)(i + 1));
		for (uint32_t k = len; k < pkt.len; k++)
			check(pkt.data[k] == 0);
		check(hv_ring_bytes_to_read(w) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_guest_mem mem;
	struct hv_ring rr, wr, back;
	struct hv_ring_header *h;
	uint64_t pfns[5];
	uint32_t rpages, wpages;
	size_t max, used;
	uint8_t flags;

	fuzz_guest_mem(&mem, FUZZ_RAM);
	if (size < HDR_LEN)
		return 0;
	rpages = 1 + data[0] % 4;
	wpages = 1 + data[1] % 4;
	flags = data[2];
	max = data[3] ? data[3] * 8u : sizeof(buf);

	memcpy(pfns, read_pfns, sizeof(pfns));
	if (flags & FLAG_BAD_PFN)
		pfns[rpages] = FUZZ_RAM / PAGE;
	if (flags & FLAG_HIGH_PFN)
		pfns[1] |= 1ull << 52;
	check(hv_ring_init(&rr, &mem, pfns, 1 + rpages) ==
	      (flags & (FLAG_BAD_PFN | FLAG_HIGH_PFN) ? -EFAULT : 0));
	check(hv_ring_init(&wr, &mem, write_pfns, 1 + wpages) == 0);
	check(hv_ring_init(&back, &mem, write_pfns, 1 + wpages) == 0);

	h = (struct hv_ring_header *)(mem.host + read_pfns[0] * PAGE);
	memset(h, 0, PAGE);
	h->write_index = get32(data + 4);
	h->read_index = get32(data + 8);
	h->interrupt_mask = get32(data + 12);
	h->pending_send_sz = get32(data + 16);
	h->feature_bits = get32(data + 20);
	h = (struct hv_ring_header *)(mem.host + write_pfns[0] * PAGE);
	memset(h, 0, PAGE);
	h->write_index = get32(data + 24);
	h->read_index = get32(data + 28);
	h->interrupt_mask = get32(data + 32);
	h->pending_send_sz = get32(data + 36);

	used = load_ring(&mem, read_pfns, rpages, data + HDR_LEN, size - HDR_LEN);
	load_ring(&mem, write_pfns, wpages, data + HDR_LEN + used, size - HDR_LEN - used);

	if (rr.hdr)
		drain(&rr, max, data + 40);
	(void)hv_ring_bytes_free(&wr);
	write_all(&wr, &back, data + 56);

	hv_ring_fini(&rr);
	hv_ring_fini(&wr);
	hv_ring_fini(&back);
	return 0;
}

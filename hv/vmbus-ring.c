// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * VMBus ring buffers, host side.  The guest side we must match is Linux
 * drivers/hv/ring_buffer.c (hv_ringbuffer_write(), hv_pkt_iter_first(),
 * hv_pkt_iter_close(), hv_signal_on_write()) and hv_begin_read() /
 * hv_end_read() in include/linux/hyperv.h.
 *
 * Everything in the header page and the data area belongs to the guest and
 * may change under us at any time: each operation loads the indices once,
 * checks them, copies what it parses into host memory, and only then looks
 * at it.  An impossible index or descriptor breaks the ring for good.
 */
#include "vmbus-ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RING_PAGE    4096u
#define DESC_SIZE    ((uint32_t)sizeof(struct hv_vmpacket_desc))
#define TRAILER_SIZE 8u
/* len8 is 16 bits: the most a descriptor can describe. */
#define MAX_PKT_LEN  (UINT16_MAX * 8u)
#define MAX_PAYLOAD  (MAX_PKT_LEN - DESC_SIZE)

_Static_assert(offsetof(struct hv_ring_header, feature_bits) == 64,
	       "struct hv_ring_buffer has feature_bits at 64");
_Static_assert(sizeof(struct hv_vmpacket_desc) == 16, "struct vmpacket_descriptor is 16 bytes");

static inline uint32_t load_acquire(volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void store_relaxed(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* virt_mb(): the Dekker-style handshakes (mask vs. write_index, our
 * read_index vs. the guest's pending_send_sz) need a full fence. */
static inline void full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline bool ring_dead(const struct hv_ring *r)
{
	return r->broken || !r->hdr;
}

static inline bool index_ok(const struct hv_ring *r, uint32_t i)
{
	return !(i & 7) && i < r->size;
}

/*
 * Both indices, each loaded once.  write_index with acquire: the guest
 * writer publishes it after its data (hv_ringbuffer_write()'s virt_mb()),
 * so data loads must not move above it.  read_index with acquire: the
 * guest reader publishes it after it is done with the bytes it frees
 * (hv_pkt_iter_close()'s virt_rmb()), so our stores there come after.
 */
static bool peek_indices(const struct hv_ring *r, uint32_t *w, uint32_t *rd)
{
	*w = load_acquire(&r->hdr->write_index);
	*rd = load_acquire(&r->hdr->read_index);
	return index_ok(r, *w) && index_ok(r, *rd);
}

static bool load_indices(struct hv_ring *r, uint32_t *w, uint32_t *rd)
{
	if (peek_indices(r, w, rd))
		return true;
	r->broken = true;
	return false;
}

/* Bytes between rd and w; w == rd is empty, so never size. */
static inline uint32_t ring_used(const struct hv_ring *r, uint32_t w, uint32_t rd)
{
	return w >= rd ? w - rd : r->size - rd + w;
}

static inline uint32_t ring_free(const struct hv_ring *r, uint32_t w, uint32_t rd)
{
	return r->size - ring_used(r, w, rd);
}

static inline uint32_t ring_advance(const struct hv_ring *r, uint32_t off, uint32_t len)
{
	/* off < size and len <= size (both < 2^28): one wrap at most. */
	off += len;
	return off >= r->size ? off - r->size : off;
}

/* Copy out of / into the data area from byte off (< size), len <= size
 * bytes, a page at a time: the pages are not contiguous in the host. */
static void ring_copy_out(const struct hv_ring *r, uint32_t off, void *dst, uint32_t len)
{
	uint8_t *d = dst;

	while (len) {
		uint32_t in = off % RING_PAGE;
		uint32_t n = MIN(len, RING_PAGE - in);

		memcpy(d, r->pages[off / RING_PAGE] + in, n);
		d += n;
		len -= n;
		off = ring_advance(r, off, n);
	}
}

static uint32_t ring_copy_in(struct hv_ring *r, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	while (len) {
		uint32_t in = off % RING_PAGE;
		uint32_t n = MIN(len, RING_PAGE - in);

		memcpy(r->pages[off / RING_PAGE] + in, s, n);
		s += n;
		len -= n;
		off = ring_advance(r, off, n);
	}
	return off;
}

int hv_ring_init(struct hv_ring *r, const struct hv_guest_mem *mem, const uint64_t *pfns,
		 uint32_t npages)
{
	uint8_t **pages;
	void *hdr = NULL;

	memset(r, 0, sizeof(*r));
	if (!pfns || npages < 2 || npages > HV_RING_MAX_PAGES)
		return -EINVAL;
	pages = calloc(npages - 1, sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	for (uint32_t i = 0; i < npages; i++) {
		void *p = NULL;

		if (pfns[i] <= UINT64_MAX >> 12)
			p = hv_gpa_to_host(mem, pfns[i] << 12, RING_PAGE);
		if (!p) {
			free(pages);
			return -EFAULT;
		}
		if (i == 0)
			hdr = p;
		else
			pages[i - 1] = p;
	}
	r->hdr = hdr;
	r->pages = pages;
	r->npages = npages - 1;
	r->size = (npages - 1) * RING_PAGE;
	return 0;
}

void hv_ring_fini(struct hv_ring *r)
{
	free(r->pages);
	memset(r, 0, sizeof(*r));
}

uint32_t hv_ring_bytes_to_read(const struct hv_ring *r)
{
	uint32_t w, rd;

	if (ring_dead(r) || !peek_indices(r, &w, &rd))
		return 0;
	return ring_used(r, w, rd);
}

uint32_t hv_ring_bytes_free(const struct hv_ring *r)
{
	uint32_t w, rd;

	if (ring_dead(r) || !peek_indices(r, &w, &rd))
		return 0;
	return ring_free(r, w, rd);
}

uint32_t hv_ring_packet_size(uint32_t payload_len)
{
	uint64_t n = DESC_SIZE + ALIGN_UP((uint64_t)payload_len, 8) + TRAILER_SIZE;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Reading: the guest->host ring. */

void hv_ring_read_begin(struct hv_ring *r)
{
	if (ring_dead(r))
		return;
	/* hv_begin_read(): the guest stops signalling while we drain. */
	store_relaxed(&r->hdr->interrupt_mask, 1);
	full_barrier();
	r->read_start_free = hv_ring_bytes_free(r);
}

/* Free the packet's bytes: the guest writer may reuse them as soon as it
 * sees the new read_index, so every load from them comes before (release). */
static void consume(struct hv_ring *r, uint32_t next, uint32_t len)
{
	store_release(&r->hdr->read_index, next);
	r->read_bytes += len;
}

int hv_ring_read(struct hv_ring *r, void *buf, size_t max, struct hv_vmbus_packet *pkt)
{
	struct hv_vmpacket_desc d;
	uint32_t w, rd, avail, len, off, next;

	if (ring_dead(r) || !load_indices(r, &w, &rd))
		return -EBADMSG;
	avail = ring_used(r, w, rd);
	if (!avail)
		return 0;
	/* Writers publish whole packets only: a descriptor and a trailer at
	 * least (hv_ringbuffer_write()). */
	if (avail < DESC_SIZE + TRAILER_SIZE)
		goto bad;
	ring_copy_out(r, rd, &d, DESC_SIZE);
	len = d.len8 * 8u;
	off = d.offset8 * 8u;
	/* hv_pkt_iter_first() clamps such descriptors; a host cannot tell
	 * where the next packet starts, so it gives up on the ring. */
	if (off < DESC_SIZE || d.offset8 > d.len8 || len + TRAILER_SIZE > avail)
		goto bad;
	next = ring_advance(r, rd, len + TRAILER_SIZE);
	if (len > max) {
		consume(r, next, len + TRAILER_SIZE);
		return -EMSGSIZE;
	}
	/* One copy, then the descriptor we checked on top of it: the guest
	 * may have rewritten the ring's copy in between. */
	ring_copy_out(r, rd, buf, len);
	memcpy(buf, &d, DESC_SIZE);
	consume(r, next, len + TRAILER_SIZE);

	pkt->type = d.type;
	pkt->flags = d.flags;
	pkt->trans_id = d.trans_id;
	pkt->desc_data = buf;
	pkt->desc_len = len;
	pkt->data = (const uint8_t *)buf + off;
	pkt->len = len - off;
	return 1;

bad:
	r->broken = true;
	return -EBADMSG;
}

/*
 * hv_pkt_iter_close()'s rule, from the host: signal a guest writer that
 * asked for pending_send_sz bytes (hv_sock keeps it set) when free space
 * goes from "not enough" (<= pending) to "enough" (> pending: a ring is
 * never filled exactly).  "Before" is the free space now less what we
 * read, so guest writes during the drain count as well.  Evaluated at the
 * end of each round, as Linux does per batch: a writer still blocked after
 * one round is caught by the next.
 */
static void note_pending(struct hv_ring *r)
{
	uint32_t w, rd, pending, now;
	int64_t before;

	if (!r->read_bytes)
		return;
	/* Our read_index store before the load of pending_send_sz: the
	 * guest sets it, fences, then rechecks read_index. */
	full_barrier();
	pending = load_acquire(&r->hdr->pending_send_sz);
	if (pending && load_indices(r, &w, &rd)) {
		now = ring_free(r, w, rd);
		before = (int64_t)now - (int64_t)r->read_bytes;
		if (before <= pending && now > pending)
			r->read_signal = true;
	}
	r->read_bytes = 0;
}

bool hv_ring_read_end(struct hv_ring *r)
{
	uint32_t w, rd;

	if (ring_dead(r))
		return false;
	note_pending(r);
	/* hv_end_read(): unmask, fence, and look again: a packet that came
	 * while masked was not signalled. */
	store_relaxed(&r->hdr->interrupt_mask, 0);
	full_barrier();
	if (!load_indices(r, &w, &rd))
		return false;
	return w != rd;
}

bool hv_ring_read_should_signal(struct hv_ring *r)
{
	bool s;

	if (ring_dead(r)) {
		r->read_signal = false;
		return false;
	}
	note_pending(r);
	s = r->read_signal;
	r->read_signal = false;
	return s;
}

/* Writing: the host->guest ring. */

/* Whether a packet of total bytes fits; if not, ask the guest for a signal
 * once it does (hv_pkt_iter_close() signals when free space crosses our
 * pending_send_sz) and look again, in case it read in between.  When it
 * fits, a request we left is withdrawn.  false with the ring broken. */
static bool make_room(struct hv_ring *r, uint32_t total, uint32_t *w, bool *fits)
{
	uint32_t rd;

	if (!load_indices(r, w, &rd))
		return false;
	if (ring_free(r, *w, rd) <= total) {
		store_relaxed(&r->hdr->pending_send_sz, total);
		full_barrier();
		if (!load_indices(r, w, &rd))
			return false;
		if (ring_free(r, *w, rd) <= total) {
			*fits = false;
			return true;
		}
	}
	if (__atomic_load_n(&r->hdr->pending_send_sz, __ATOMIC_RELAXED))
		store_relaxed(&r->hdr->pending_send_sz, 0);
	*fits = true;
	return true;
}

static int packet_total(const struct hv_ring *r, uint64_t payload, uint32_t *total)
{
	if (payload > MAX_PAYLOAD)
		return -EMSGSIZE;
	*total = hv_ring_packet_size((uint32_t)payload);
	/* Free space is at most size, and must exceed the packet. */
	if (*total >= r->size)
		return -EMSGSIZE;
	return 0;
}

int hv_ring_write(struct hv_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		  const struct iovec *iov, int iovcnt, bool *signal)
{
	static const uint8_t zeros[8];
	struct hv_vmpacket_desc d;
	uint64_t payload = 0, trailer;
	uint32_t total, w, off, rd;
	bool fits;
	int ret;

	*signal = false;
	if (ring_dead(r))
		return -EBADMSG;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		payload += iov[i].iov_len;
		if (payload > MAX_PAYLOAD)
			return -EMSGSIZE;
	}
	ret = packet_total(r, payload, &total);
	if (ret < 0)
		return ret;
	if (!make_room(r, total, &w, &fits))
		return -EBADMSG;
	if (!fits)
		return -EAGAIN;

	d = (struct hv_vmpacket_desc){
		.type = type,
		.offset8 = DESC_SIZE / 8,
		.len8 = (total - TRAILER_SIZE) / 8,
		.flags = flags,
		.trans_id = trans_id,
	};
	off = ring_copy_in(r, w, &d, DESC_SIZE);
	for (int i = 0; i < iovcnt; i++)
		off = ring_copy_in(r, off, iov[i].iov_base, iov[i].iov_len);
	/* Pad with zeros, not with whatever was in the ring. */
	off = ring_copy_in(r, off, zeros, ALIGN_UP(payload, 8) - payload);
	/* The trailer: the old write index in the upper half (Linux writes
	 * hv_get_ring_bufferindices() and never reads it back). */
	trailer = (uint64_t)w << 32;
	off = ring_copy_in(r, off, &trailer, TRAILER_SIZE);
	store_release(&r->hdr->write_index, off);

	/* hv_signal_on_write(): only the empty -> non-empty transition of an
	 * unmasked ring is signalled.  The fence orders our write_index store
	 * before the loads, against the reader's unmask-then-recheck. */
	full_barrier();
	if (load_acquire(&r->hdr->interrupt_mask))
		return 0;
	rd = load_acquire(&r->hdr->read_index);
	*signal = rd == w;
	return 0;
}

bool hv_ring_write_space_ok(struct hv_ring *r, uint32_t payload_len)
{
	uint32_t total, w;
	bool fits;

	/* A broken ring or an impossible packet "fits": the retried write
	 * then reports why, instead of the caller waiting for a signal that
	 * never comes. */
	if (ring_dead(r) || packet_total(r, payload_len, &total) < 0)
		return true;
	if (!make_room(r, total, &w, &fits))
		return true;
	return fits;
}

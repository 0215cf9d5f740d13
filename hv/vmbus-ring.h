/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * VMBus ring buffers, host side (Linux drivers/hv/ring_buffer.c and
 * include/linux/hyperv.h are the guest side we must match).
 *
 * A channel's rings live in one GPADL the guest gave us: the first
 * `downstream_offset` pages are the guest->host ring (the guest's
 * "outbound"; we read it), the rest the host->guest ring (we write it).
 * Each ring is a 4 KiB header page, then data; the data area wraps.  The
 * guest can rewrite any byte of either ring at any time, so every index
 * and length read from guest memory is read once, checked, and never
 * trusted twice.
 *
 * Not thread-safe: one thread (the VM's loop) owns a ring.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "memory.h"

/* The header page (struct hv_ring_buffer in include/linux/hyperv.h). */
struct hv_ring_header {
	uint32_t write_index;     /* byte offset into data, next write */
	uint32_t read_index;      /* byte offset into data, next read */
	uint32_t interrupt_mask;  /* set by the reader: "don't signal me" */
	uint32_t pending_send_sz; /* set by a blocked writer: "signal me when this much is free" */
	uint32_t reserved1[12];
	uint32_t feature_bits;    /* bit 0: feat_pending_send_sz */
};
#define HV_RING_FEAT_PENDING_SEND_SZ 1u

/* Packet descriptor (struct vmpacket_descriptor), 16 bytes; offset8 and
 * len8 count 8-byte units from the descriptor's start; the packet is
 * followed by an 8-byte trailer (the writer's old write_index << 32). */
struct hv_vmpacket_desc {
	uint16_t type;
	uint16_t offset8;
	uint16_t len8;
	uint16_t flags;
	uint64_t trans_id;
};

/* Packet types (enum vmbus_packet_type) and flags. */
#define HV_VMPKT_DATA_INBAND          6
#define HV_VMPKT_DATA_USING_XFER_PAGES 7
#define HV_VMPKT_DATA_USING_GPA_DIRECT 9
#define HV_VMPKT_COMP                 11
#define HV_VMPKT_FLAG_COMPLETION_REQUESTED 1

/* Most pages a ring (header included) may have: 256 MiB. */
#define HV_RING_MAX_PAGES 65536u

/* One direction. */
struct hv_ring {
	volatile struct hv_ring_header *hdr; /* in guest RAM */
	uint8_t **pages;   /* host pointers of the data pages, in ring order */
	uint32_t npages;   /* data pages */
	uint32_t size;     /* data bytes = npages * 4096 */
	bool broken;       /* the guest corrupted it: nothing more is read or written */
	/* Reader side: free space when the current drain began
	 * (informational: the pending_send_sz crossing rule uses read_bytes). */
	uint32_t read_start_free;
	/* Reader side, private: bytes consumed since the crossing rule was
	 * last evaluated (hv_pkt_iter_close() compares the free space less
	 * these bytes, so guest writes during the drain count), and its
	 * verdict, kept across read_begin() until read_should_signal(). */
	uint64_t read_bytes;
	bool read_signal;
};

/* A packet read from the guest->host ring.  data/len are the payload
 * (from offset8); desc_data/desc_len the whole packet from its descriptor
 * (GPA-direct packets carry their page ranges between the two). */
struct hv_vmbus_packet {
	uint16_t type;
	uint16_t flags;
	uint64_t trans_id;
	const uint8_t *data;
	uint32_t len;
	const uint8_t *desc_data;
	uint32_t desc_len;
};

/*
 * Set up one ring over pfns[0..npages) (pfns[0] is the header page).
 * Every PFN must be guest RAM; npages >= 2 and <= HV_RING_MAX_PAGES.
 * -EINVAL / -EFAULT otherwise; -ENOMEM.  hv_ring_fini() frees it.
 */
int hv_ring_init(struct hv_ring *r, const struct hv_guest_mem *mem, const uint64_t *pfns,
		 uint32_t npages);
void hv_ring_fini(struct hv_ring *r);

/*
 * Reading (the guest->host ring).  A drain is:
 *   hv_ring_read_begin(r);           // interrupt_mask = 1, note free space
 *   while ((n = hv_ring_read(r, buf, sizeof(buf), &pkt)) > 0) handle(pkt);
 *   if (hv_ring_read_end(r)) goto again; // mask cleared, data arrived meanwhile
 *   if (hv_ring_read_should_signal(r)) signal the guest;
 * hv_ring_read() returns 1 and fills *pkt (pointing into buf) for a
 * packet, 0 when the ring is empty, -EMSGSIZE for a well-formed packet
 * larger than max (it is consumed and skipped), or -EBADMSG when the
 * indices or the descriptor are impossible (the ring is then broken).
 */
void hv_ring_read_begin(struct hv_ring *r);
int hv_ring_read(struct hv_ring *r, void *buf, size_t max, struct hv_vmbus_packet *pkt);
bool hv_ring_read_end(struct hv_ring *r);
bool hv_ring_read_should_signal(struct hv_ring *r);

/*
 * Writing (the host->guest ring): one packet of the given type, flags and
 * transaction id whose payload is the concatenation of iov[0..iovcnt).
 * Returns 0 and sets *signal when the guest must be interrupted (its ring
 * was empty and its interrupt_mask clear); -EAGAIN when there is no room
 * (pending_send_sz is then set so the guest signals us once it has read
 * enough; hv_ring_write_space_ok() tells whether to retry); -EMSGSIZE if
 * the packet can never fit; -EBADMSG if the ring is broken.
 */
int hv_ring_write(struct hv_ring *r, uint16_t type, uint16_t flags, uint64_t trans_id,
		  const struct iovec *iov, int iovcnt, bool *signal);
/* Bytes a packet with this payload length takes in a ring (descriptor,
 * payload padded to 8, trailer). */
uint32_t hv_ring_packet_size(uint32_t payload_len);
/* Whether a packet of payload_len would fit now; clears pending_send_sz if so. */
bool hv_ring_write_space_ok(struct hv_ring *r, uint32_t payload_len);

/* Byte counts, from indices read once (0 for a broken ring). */
uint32_t hv_ring_bytes_to_read(const struct hv_ring *r);
uint32_t hv_ring_bytes_free(const struct hv_ring *r);

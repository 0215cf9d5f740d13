/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The guest's side of opening and closing a VMBus channel, for tests that
 * drive a device over the real bus with fake RAM (fake-mem.h) playing the
 * guest: one GPADL over both rings, outbound first, then OPENCHANNEL, as
 * Linux's vmbus_establish_gpadl() and __vmbus_open() do; and CLOSECHANNEL
 * plus GPADL_TEARDOWN.  host_msg finds the last message of a type the
 * test's fake host captured (each test keeps its own capture policy).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake-mem.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define FG_PAGE 4096u

/* A channel's rings as the guest sees them: out (guest->host) then in. */
struct fg_rings {
	uint32_t relid;
	unsigned ring_pages;  /* per direction, header page included */
	uint64_t *pfns;       /* room for 2 * ring_pages */
	struct hv_ring *out, *in;
};

static inline void fg_guest_msg(struct hv_vmbus *vb, const void *m, size_t len)
{
	hv_vmbus_message(vb, HV_VMBUS_MESSAGE_CONNECTION_ID_4, m, len);
}

/* Rings at PFNs first_pfn.. (cleared, feat_pending_send_sz set as
 * hv_ringbuffer_init() does), GPADL `gpadl`, OPENCHANNEL with openid. */
static inline void fg_open_channel(struct hv_vmbus *vb, const struct hv_guest_mem *mem,
				   const void *(*host_msg)(uint32_t type), const struct fg_rings *r,
				   uint32_t gpadl, uint32_t openid, uint64_t first_pfn)
{
	uint8_t m[HV_VMBUS_MSG_MAX] = { 0 };
	struct hv_vmbus_msg_gpadl_header *gh = (void *)m;
	struct hv_vmbus_msg_open op = { .hdr.msgtype = HV_CHANNELMSG_OPENCHANNEL };
	const struct hv_vmbus_msg_open_result *res;
	unsigned n = 2 * r->ring_pages;

	gh->hdr.msgtype = HV_CHANNELMSG_GPADL_HEADER;
	gh->child_relid = r->relid;
	gh->gpadl = gpadl;
	gh->range_buflen = (uint16_t)(8 + 8 * n);
	gh->rangecount = 1;
	gh->byte_count = n * FG_PAGE;
	for (unsigned i = 0; i < n; i++) {
		r->pfns[i] = first_pfn + i;
		gh->pfn[i] = r->pfns[i];
		memset(mem->host + r->pfns[i] * FG_PAGE, 0, FG_PAGE);
	}
	wr32(mem->host + r->pfns[0] * FG_PAGE + 64, HV_RING_FEAT_PENDING_SEND_SZ);
	wr32(mem->host + r->pfns[r->ring_pages] * FG_PAGE + 64, HV_RING_FEAT_PENDING_SEND_SZ);
	fg_guest_msg(vb, gh, sizeof(*gh) + 8 * n);
	assert_non_null(host_msg(HV_CHANNELMSG_GPADL_CREATED));

	assert_int_equal(hv_ring_init(r->out, mem, r->pfns, r->ring_pages), 0);
	assert_int_equal(hv_ring_init(r->in, mem, r->pfns + r->ring_pages, r->ring_pages), 0);
	op.child_relid = r->relid;
	op.openid = openid;
	op.ringbuffer_gpadlhandle = gpadl;
	op.downstream_ringbuffer_pageoffset = r->ring_pages;
	fg_guest_msg(vb, &op, sizeof(op));
	res = host_msg(HV_CHANNELMSG_OPENCHANNEL_RESULT);
	assert_non_null(res);
	assert_int_equal(res->child_relid, r->relid);
	assert_int_equal(res->status, 0);
}

/* CLOSECHANNEL, then GPADL_TEARDOWN answered with TORNDOWN; the rings go. */
static inline void fg_close_channel(struct hv_vmbus *vb, const void *(*host_msg)(uint32_t type),
				    const struct fg_rings *r, uint32_t gpadl)
{
	struct hv_vmbus_msg_close m = {
		.hdr.msgtype = HV_CHANNELMSG_CLOSECHANNEL, .child_relid = r->relid,
	};
	struct hv_vmbus_msg_gpadl_teardown t = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_TEARDOWN, .child_relid = r->relid, .gpadl = gpadl,
	};

	fg_guest_msg(vb, &m, sizeof(m));
	fg_guest_msg(vb, &t, sizeof(t));
	assert_non_null(host_msg(HV_CHANNELMSG_GPADL_TORNDOWN));
	hv_ring_fini(r->out);
	hv_ring_fini(r->in);
}

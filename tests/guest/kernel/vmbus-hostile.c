// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * "vmbus=hostile": after the normal handshake, everything a broken or
 * malicious guest could send the VMBus host -- bad hypercall inputs,
 * unknown and truncated messages, absurd GPADLs and OPENCHANNELs,
 * corrupted ring indices, floods, bad INITIATE_CONTACTs -- each followed
 * by a short wait for whatever the host answers, which is printed.  Then
 * "vmbus: hostile done", and the proof that the host still works: a new
 * INITIATE_CONTACT and REQUESTOFFERS ("vmbus: hostile survived"), the
 * channels opened again ("vmbus: ready"), and the normal service loop.
 *
 * No line here contains the word the tests take for a guest failure; a
 * host that stops answering the final handshake fails the guest as usual.
 */
#include "vmbus.h"

#define WAIT_MS 1500
#define BENIGN_MSGTYPE 0x7777 /* an unknown message type: refused, harmless */

static uint8_t buf[HV_MESSAGE_PAYLOAD_BYTE_COUNT] __attribute__((aligned(8)));
static uint32_t hb_relid;      /* the channel the GPADL tests use */
static uint8_t *pages;         /* 40 pages of RAM for valid GPADLs */

static __printf(1, 2) void say(const char *fmt, ...)
{
	va_list ap;

	kprintf("vmbus: hostile ");
	va_start(ap, fmt);
	vmbus_vprint(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

static uint64_t beyond_ram(void)
{
	return ALIGN_UP(hv.ram_end, 4096) + (1ull << 30);
}

/* ---- hypercalls with bad inputs ---- */

static void benign_input(void)
{
	struct hv_input_post_message *in = hv.post_input;

	hv_zero(in, 4096);
	in->connectionid = vmbus_msg_conn_id;
	in->message_type = 1;
	in->payload_size = 8;
	__builtin_memcpy(in->payload, &(uint32_t){ BENIGN_MSGTYPE }, 4);
}

static void call(const char *what, uint64_t control, uint64_t input, uint64_t output)
{
	uint16_t st = (uint16_t)hv_hypercall(control, input, output);

	say("hypercall %s: status %u (%s)", what, st, hv_status_name(st));
	benign_input();
}

static void hypercalls(void)
{
	struct hv_input_post_message *in = hv.post_input;
	uint64_t good = hv_gpa(in), post = HVCALL_POST_MESSAGE;
	uint64_t sig = HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT;
	struct vmbus_channel *hb = vmbus_find_ic(IC_HEARTBEAT);
	uint32_t hb_conn = hb ? hb->conn_id : 0x10001;

	benign_input();
	call("post, input not 8-aligned", post, good + 4, 0);
	call("post, input beyond RAM", post, beyond_ram(), 0);
	call("post, input across the end of RAM", post, hv.ram_end - 128, 0);
	call("post, input at 2^64-4096", post, 0xfffffffffffff000ull, 0);
	in->payload_size = 241;
	call("post, payload_size 241", post, good, 0);
	in->payload_size = 0xffffffff;
	call("post, payload_size 0xffffffff", post, good, 0);
	in->message_type = 0;
	call("post, message_type 0", post, good, 0);
	in->message_type = 0xffffffff;
	call("post, message_type 0xffffffff", post, good, 0);
	in->connectionid = 0;
	call("post, connection id 0", post, good, 0);
	in->connectionid = 2;
	call("post, connection id 2", post, good, 0);
	in->connectionid = 0xffffffff;
	call("post, connection id 0xffffffff", post, good, 0);
	in->connectionid = hb_conn;
	call("post, an event connection id", post, good, 0);
	call("post, fast bit set", post | HV_HYPERCALL_FAST_BIT, good, 0);
	call("post, rep count 5", post | 5ull << HV_HYPERCALL_REP_COMP_SHIFT, good, 0);
	call("post, output beyond RAM", post, good, beyond_ram());
	call("code 0x0000", 0x0000, good, 0);
	call("code 0x0001", 0x0001, good, 0);
	call("code 0x005e", 0x005e, good, 0);
	call("code 0x0099", 0x0099, good, 0);
	call("code 0xffff", 0xffff, good, 0);
	in->connectionid = hb_conn;
	call("signal event, slow form", HVCALL_SIGNAL_EVENT, good, 0);
	call("signal event, connection id 0", sig, 0, 0);
	call("signal event, connection id 0xffffffff", sig, 0xffffffff, 0);
	call("signal event, relid 0", sig, 0x10000, 0);
	call("signal event, relid 2047 (not offered)", sig, 0x10000 + 2047, 0);
	call("signal event, relid 2048", sig, 0x10000 + 2048, 0);
	call("signal event, the message connection", sig, vmbus_msg_conn_id, 0);
	call("signal event, flag number 5", sig, hb_conn | 5ull << 32, 0);
}

/* ---- malformed channel messages ---- */

struct tally {
	unsigned sent, refused;
};

static void post_raw(struct tally *t, uint32_t msgtype, uint32_t len)
{
	uint16_t st;

	if (len >= 4)
		__builtin_memcpy(buf, &msgtype, 4);
	st = vmbus_post_msg(buf, len);
	t->sent++;
	if (st)
		t->refused++;
}

static void fill(uint8_t pattern)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(pattern + i);
}

static void report(const char *what, const struct tally *t)
{
	vmbus_settle(200);
	say("%s: %u sent, %u refused by HvPostMessage", what, t->sent, t->refused);
}

static void messages(void)
{
	static const uint32_t unknown[] = { 0, 18, 19, 20, 25, 26, 0x7fffffff, 0xffffffff };
	static const uint32_t to_guest[] = { 1, 2, 4, 6, 10, 12, 15, 17, 23, 24 };
	/* Guest-to-host types, each cut short of its struct (never at a
	 * size that would make it valid). */
	static const struct {
		uint32_t type, len;
	} cut[] = {
		{ CHANNELMSG_REQUESTOFFERS, 0 }, { CHANNELMSG_REQUESTOFFERS, 4 },
		{ CHANNELMSG_REQUESTOFFERS, 7 },
		{ CHANNELMSG_OPENCHANNEL, 8 }, { CHANNELMSG_OPENCHANNEL, 12 },
		{ CHANNELMSG_OPENCHANNEL, 147 },
		{ CHANNELMSG_CLOSECHANNEL, 8 }, { CHANNELMSG_CLOSECHANNEL, 11 },
		{ CHANNELMSG_GPADL_HEADER, 8 }, { CHANNELMSG_GPADL_HEADER, 19 },
		{ CHANNELMSG_GPADL_HEADER, 27 },
		{ CHANNELMSG_GPADL_BODY, 8 }, { CHANNELMSG_GPADL_BODY, 15 },
		{ CHANNELMSG_GPADL_TEARDOWN, 8 }, { CHANNELMSG_GPADL_TEARDOWN, 15 },
		{ CHANNELMSG_RELID_RELEASED, 8 }, { CHANNELMSG_RELID_RELEASED, 11 },
		{ CHANNELMSG_INITIATE_CONTACT, 8 }, { CHANNELMSG_INITIATE_CONTACT, 39 },
		{ CHANNELMSG_UNLOAD, 0 }, { CHANNELMSG_UNLOAD, 4 }, { CHANNELMSG_UNLOAD, 7 },
		{ CHANNELMSG_TL_CONNECT_REQUEST, 8 }, { CHANNELMSG_TL_CONNECT_REQUEST, 39 },
		{ CHANNELMSG_MODIFYCHANNEL, 8 }, { CHANNELMSG_MODIFYCHANNEL, 15 },
	};
	struct tally t = { 0 };

	for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		fill(0xa5);
		post_raw(&t, unknown[i], 8);
		post_raw(&t, unknown[i], HV_MESSAGE_PAYLOAD_BYTE_COUNT);
	}
	report("unknown message types", &t);

	t = (struct tally){ 0 };
	for (unsigned i = 0; i < sizeof(to_guest) / sizeof(to_guest[0]); i++) {
		fill(0x3c);
		post_raw(&t, to_guest[i], HV_MESSAGE_PAYLOAD_BYTE_COUNT);
	}
	report("host-to-guest message types", &t);

	/* Truncated messages carry plausible fields (our real relid, the
	 * version we speak) in the bytes they have. */
	t = (struct tally){ 0 };
	for (unsigned i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		hv_zero(buf, sizeof(buf));
		__builtin_memcpy(buf + 8, &hb_relid, 4);
		if (cut[i].type == CHANNELMSG_INITIATE_CONTACT)
			__builtin_memcpy(buf + 8, &vmbus_version, 4);
		post_raw(&t, cut[i].type, cut[i].len);
	}
	report("truncated messages", &t);
}

/* ---- GPADLs ---- */

static struct vmbus_msg_gpadl_header *gpadl_msg(uint32_t relid, uint32_t handle, uint16_t rangecount,
						uint16_t range_buflen, uint32_t byte_count,
						uint32_t byte_offset)
{
	struct vmbus_msg_gpadl_header *h = (void *)buf;

	hv_zero(buf, sizeof(buf));
	h->hdr.msgtype = CHANNELMSG_GPADL_HEADER;
	h->child_relid = relid;
	h->gpadl = handle;
	h->rangecount = rangecount;
	h->range_buflen = range_buflen;
	h->byte_count = byte_count;
	h->byte_offset = byte_offset;
	return h;
}

static void gpadl_wait(const char *what, uint32_t relid, uint32_t handle, uint32_t len)
{
	uint16_t st;

	vmbus_expect(CHANNELMSG_GPADL_CREATED, relid, handle);
	st = vmbus_post_msg(buf, len);
	if (st) {
		vmbus_expect(0, 0, 0);
		say("gpadl %s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
	} else if (vmbus_wait_reply(WAIT_MS, NULL)) {
		say("gpadl %s: status 0x%x", what, rd32(vmbus_reply + 16));
	} else {
		say("gpadl %s: no answer", what);
	}
}

static void body(uint32_t handle, uint64_t first_pfn, uint32_t n)
{
	struct vmbus_msg_gpadl_body *b = (void *)buf;

	hv_zero(buf, sizeof(buf));
	b->hdr.msgtype = CHANNELMSG_GPADL_BODY;
	b->gpadl = handle;
	for (uint32_t i = 0; i < n; i++)
		b->pfn[i] = first_pfn + i;
	vmbus_post_msg(buf, sizeof(*b) + 8 * n);
}

static void teardown(const char *what, uint32_t relid, uint32_t handle)
{
	struct vmbus_msg_gpadl_teardown m = {
		.hdr.msgtype = CHANNELMSG_GPADL_TEARDOWN, .child_relid = relid, .gpadl = handle,
	};

	vmbus_expect(CHANNELMSG_GPADL_TORNDOWN, VMBUS_ANY, handle);
	vmbus_post_msg(&m, sizeof(m));
	say("teardown %s: %s", what, vmbus_wait_reply(WAIT_MS, NULL) ? "torn down" : "no answer");
}

static uint32_t valid_gpadl;

static void gpadls(void)
{
	uint64_t pfn = hv_gpa(pages) >> 12, far = (beyond_ram() >> 12) + 0x100000;
	struct vmbus_msg_gpadl_header *h;
	uint32_t id, st;

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 0, 16, 4096, 0);
	h->pfn[0] = pfn;
	gpadl_wait("rangecount 0", hb_relid, id, sizeof(*h) + 8);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 2, 32, 4096, 0);
	h->pfn[0] = pfn;          /* range 0: one page */
	h->pfn[1] = 4096;         /* range 1: byte_count, byte_offset 0 */
	h->pfn[2] = pfn + 1;
	gpadl_wait("rangecount 2", hb_relid, id, sizeof(*h) + 24);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, 8 + 16, 3 * 4096, 0);
	h->pfn[0] = pfn;
	h->pfn[1] = pfn + 1;
	gpadl_wait("byte_count of 3 pages over 2 PFNs", hb_relid, id, sizeof(*h) + 16);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, 8 + 8, 4096, 4095);
	h->pfn[0] = pfn;
	gpadl_wait("byte_offset 4095, one PFN for two pages", hb_relid, id, sizeof(*h) + 8);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, 8 + 8 * 30, 2 * 4096, 0);
	h->pfn[0] = pfn;
	h->pfn[1] = pfn + 1;
	gpadl_wait("range_buflen for 30 PFNs, 2 sent", hb_relid, id, sizeof(*h) + 16);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, (uint16_t)(8 + 8 * 60000), 60000u * 4096, 0);
	for (uint32_t i = 0; i < VMBUS_GPADL_HEADER_PFNS; i++)
		h->pfn[i] = pfn + (i % 40);
	gpadl_wait("60000 pages declared, 26 sent", hb_relid, id, sizeof(*h) + 8 * VMBUS_GPADL_HEADER_PFNS);
	body(id, far, VMBUS_GPADL_BODY_PFNS);
	body(id, far, VMBUS_GPADL_BODY_PFNS);
	teardown("of the 60000-page GPADL", hb_relid, id);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, 8 + 32, 4 * 4096, 0);
	for (uint32_t i = 0; i < 4; i++)
		h->pfn[i] = far + i;
	gpadl_wait("PFNs beyond RAM", hb_relid, id, sizeof(*h) + 32);

	id = vmbus_next_gpadl();
	h = gpadl_msg(hb_relid, id, 1, 8 + 8, 4096, 0);
	h->pfn[0] = 0xfffffffffffffull;
	gpadl_wait("PFN 2^52-1", hb_relid, id, sizeof(*h) + 8);

	body(0xdead0001, pfn, VMBUS_GPADL_BODY_PFNS);
	vmbus_settle(200);
	say("gpadl body for an unknown handle: sent");

	h = gpadl_msg(hb_relid, 0, 1, 8 + 8, 4096, 0);
	h->pfn[0] = pfn;
	gpadl_wait("handle 0", hb_relid, 0, sizeof(*h) + 8);

	id = vmbus_next_gpadl();
	h = gpadl_msg(2000, id, 1, 8 + 8, 4096, 0);
	h->pfn[0] = pfn;
	gpadl_wait("relid 2000 (not offered)", 2000, id, sizeof(*h) + 8);

	id = vmbus_next_gpadl();
	h = gpadl_msg(0, id, 1, 8 + 8, 4096, 0);
	h->pfn[0] = pfn;
	gpadl_wait("relid 0", 0, id, sizeof(*h) + 8);

	id = vmbus_next_gpadl();
	gpadl_msg(hb_relid, id, 1, 8, 0, 0);
	gpadl_wait("no pages", hb_relid, id, sizeof(*h));

	/* A valid one over header and body, then the same handle again. */
	valid_gpadl = vmbus_next_gpadl();
	st = vmbus_establish_gpadl(hb_relid, hv_gpa(pages), 40, valid_gpadl, WAIT_MS, NULL);
	if (st == VMBUS_ANY)
		say("gpadl valid, 40 pages: no answer");
	else
		say("gpadl valid, 40 pages: status 0x%x", st);
	h = gpadl_msg(hb_relid, valid_gpadl, 1, 8 + 8, 4096, 0);
	h->pfn[0] = pfn;
	gpadl_wait("handle already in use", hb_relid, valid_gpadl, sizeof(*h) + 8);
	body(valid_gpadl, pfn, 5);
	vmbus_settle(200);
	say("gpadl body after completion: sent");
	teardown("of an unknown handle", hb_relid, 0xdead0002);
}

/* ---- OPENCHANNEL ---- */

static void open_case(const char *what, uint32_t relid, uint32_t openid, uint32_t gpadl,
		      uint32_t target_vp, uint32_t offset)
{
	struct vmbus_msg_open m = {
		.hdr.msgtype = CHANNELMSG_OPENCHANNEL,
		.child_relid = relid,
		.openid = openid,
		.ringbuffer_gpadlhandle = gpadl,
		.target_vp = target_vp,
		.downstream_ringbuffer_pageoffset = offset,
	};
	uint16_t st;

	vmbus_expect(CHANNELMSG_OPENCHANNEL_RESULT, relid, openid);
	st = vmbus_post_msg(&m, sizeof(m));
	if (st) {
		vmbus_expect(0, 0, 0);
		say("open %s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
	} else if (vmbus_wait_reply(WAIT_MS, NULL)) {
		say("open %s: status 0x%x", what, rd32(vmbus_reply + 16));
	} else {
		say("open %s: no answer", what);
	}
}

static void opens(void)
{
	struct vmbus_channel *ts = vmbus_find_ic(IC_TIMESYNC), *hb = vmbus_find_ic(IC_HEARTBEAT);
	struct vmbus_msg_relid close = { .hdr.msgtype = CHANNELMSG_CLOSECHANNEL };
	uint32_t gp, st, openid = 0x100;

	if (!ts || !hb || !ts->open) {
		say("open tests skipped (no open timesync channel)");
		return;
	}
	/* vmbus_close_internal(): CLOSECHANNEL, then tear down the ring GPADL. */
	close.child_relid = ts->relid;
	ts->open = false;
	vmbus_post_msg(&close, sizeof(close));
	teardown("of the closed timesync rings", ts->relid, ts->gpadl);

	gp = vmbus_next_gpadl();
	st = vmbus_establish_gpadl(ts->relid, hv_gpa(pages), 8, gp, WAIT_MS, NULL);
	say("gpadl for the open tests: status 0x%x", st);
	open_case("relid 2000 (not offered)", 2000, openid++, gp, hv.vp_index, 4);
	open_case("relid 0", 0, openid++, gp, hv.vp_index, 4);
	open_case("target_vp 9999", ts->relid, openid++, gp, 9999, 4);
	open_case("downstream offset 100 of 8 pages", ts->relid, openid++, gp, hv.vp_index, 100);
	open_case("downstream offset 0", ts->relid, openid++, gp, hv.vp_index, 0);
	open_case("downstream offset 8 of 8 pages", ts->relid, openid++, gp, hv.vp_index, 8);
	open_case("unknown gpadl", ts->relid, openid++, 0xdead0003, hv.vp_index, 4);
	open_case("another channel's gpadl", ts->relid, openid++, hb->gpadl, hv.vp_index, 4);
	open_case("a channel already open", hb->relid, openid++, hb->gpadl, hv.vp_index, 4);
}

/* ---- corrupted rings ---- */

static void ring_case(const char *what, struct vmbus_channel *ch)
{
	uint16_t st = hv_signal_event(ch->conn_id);

	vmbus_settle(300);
	say("ring %s, relid %u: signalled (status %u)", what, ch->relid, st);
	ch->broken = true; /* ours to ignore from now on */
}

static void rings(void)
{
	struct vmbus_channel *hb = vmbus_find_ic(IC_HEARTBEAT), *sd = vmbus_find_ic(IC_SHUTDOWN);
	struct vmbus_channel *kvp = vmbus_find_ic(IC_KVP);

	if (hb && hb->open && !hb->broken) {
		hb->out->write_index = 3;
		ring_case("write_index 3 (unaligned)", hb);
	}
	if (kvp && kvp->open && !kvp->broken) {
		kvp->out->write_index = kvp->out_size + 8;
		kvp->in->read_index = 0xfffffff0;
		kvp->in->pending_send_sz = 0xffffffff;
		ring_case("write_index past the end, garbage read_index and pending_send_sz", kvp);
	}
	if (sd && sd->open && !sd->broken && sd->out_write + 32 <= sd->out_size) {
		struct vmpacket_descriptor d = {
			.type = VM_PKT_DATA_INBAND, .offset8 = 2, .len8 = 0xffff, .trans_id = 1,
		};
		volatile uint64_t *p = (volatile uint64_t *)(sd->out_data + sd->out_write);
		uint64_t w[2];

		__builtin_memcpy(w, &d, sizeof(w));
		p[0] = w[0];
		p[1] = w[1];
		p[2] = 0;
		p[3] = (uint64_t)sd->out_write << 32;
		hv_mb();
		sd->out->write_index = sd->out_write + 32;
		ring_case("descriptor len8 0xffff", sd);
	}
}

/* ---- floods ---- */

static void floods(void)
{
	struct vmbus_channel *hb = vmbus_find_ic(IC_HEARTBEAT);
	uint32_t benign = BENIGN_MSGTYPE;
	unsigned ok = 0, busy = 0, other = 0;

	hv_zero(buf, 8);
	__builtin_memcpy(buf, &benign, 4);
	for (unsigned i = 0; i < 1000; i++) {
		uint16_t st = hv_post_message(vmbus_msg_conn_id, 1, buf, 8);

		if (st == HV_STATUS_SUCCESS)
			ok++;
		else if (st == HV_STATUS_INSUFFICIENT_BUFFERS)
			busy++;
		else
			other++;
	}
	say("flood of 1000 HvPostMessage: %u accepted, %u insufficient buffers, %u other", ok, busy,
	    other);
	vmbus_settle(500);
	ok = other = 0;
	for (unsigned i = 0; hb && i < 1000; i++) {
		if (hv_signal_event(hb->conn_id) == HV_STATUS_SUCCESS)
			ok++;
		else
			other++;
	}
	say("flood of 1000 HvSignalEvent: %u accepted, %u refused", ok, other);
	vmbus_settle(500);
}

/* ---- INITIATE_CONTACT and UNLOAD ---- */

static void contact(const char *what, uint32_t conn, uint32_t version, uint32_t vcpu, uint64_t sint_or_page,
		    uint64_t monitor)
{
	struct vmbus_msg_initiate_contact m = {
		.hdr.msgtype = CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = version,
		.target_vcpu = vcpu,
		.interrupt_page = sint_or_page,
		.monitor_page1 = monitor,
		.monitor_page2 = monitor + 4096,
	};
	uint16_t st;

	vmbus_expect(CHANNELMSG_VERSION_RESPONSE, VMBUS_ANY, VMBUS_ANY);
	st = hv_post_message(conn, 1, &m, sizeof(m));
	if (st) {
		vmbus_expect(0, 0, 0);
		say("contact %s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
	} else if (vmbus_wait_reply(WAIT_MS, NULL)) {
		say("contact %s: version_supported %u", what, vmbus_reply[8]);
	} else {
		say("contact %s: no answer", what);
	}
}

static void contacts(void)
{
	uint64_t mon = hv_gpa(pages);
	struct vmbus_msg_header unload = { .msgtype = CHANNELMSG_UNLOAD };

	/* channel_mgmt.c vmbus_initiate_unload(), as on kexec. */
	vmbus_expect(CHANNELMSG_UNLOAD_RESPONSE, VMBUS_ANY, VMBUS_ANY);
	vmbus_post_msg(&unload, sizeof(unload));
	say("unload: %s", vmbus_wait_reply(WAIT_MS, NULL) ? "UNLOAD_RESPONSE" : "no answer");

	contact("version 0xffffffff", 4, 0xffffffff, hv.vp_index, HV_VMBUS_SINT, mon);
	contact("version 0", 4, 0, hv.vp_index, HV_VMBUS_SINT, mon);
	contact("5.2, target_vcpu 9999", 4, VMBUS_VERSION(5, 2), 9999, HV_VMBUS_SINT, mon);
	contact("5.2, msg_sint 16", 4, VMBUS_VERSION(5, 2), hv.vp_index, 16, mon);
	contact("5.2, monitor pages beyond RAM", 4, VMBUS_VERSION(5, 2), hv.vp_index, HV_VMBUS_SINT,
		beyond_ram());
	contact("4.0, interrupt page beyond RAM", 1, VMBUS_VERSION(4, 0), hv.vp_index, beyond_ram(),
		mon);
}

void vmbus_hostile(void)
{
	struct vmbus_channel *hb = vmbus_find_ic(IC_HEARTBEAT);

	pages = hv_alloc_pages(40);
	if (!pages || !hb)
		vmbus_fail("hostile mode: no memory or no heartbeat channel");
	hb_relid = hb->relid;
	kprintf("vmbus: hostile start\n");
	hypercalls();
	messages();
	gpadls();
	opens();
	rings();
	floods();
	contacts();
	kprintf("vmbus: hostile done\n");

	/* Does the bus still work?  A fresh contact resets it. */
	vmbus_connect();
	vmbus_request_offers();
	kprintf("vmbus: hostile survived\n");
	vmbus_open_ics();
}

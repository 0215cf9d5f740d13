// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The integration services (hv/vmbus-ic.c) over a real VMBus host
 * (hv/vmbus.c) and event loop, with fake RAM playing the guest: it
 * connects, takes the offers, opens each IC channel with a GPADL and an
 * OPENCHANNEL as Linux's vmbus_open() does, and answers requests in its
 * rings as Linux's hv_utils would (ic-guest.h) -- or badly, or not at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-guest.h"
#include "fake-mem.h"
#include "ic-guest.h"
#include "ic-proto.h"
#include "loop.h"
#include "util.h"
#include "vmbus-ic.h"
#include "vmbus-proto.h"
#include "vmbus-ring.h"
#include "vmbus.h"

#define PAGE 4096u
#define RAM (8u << 20)
#define RING_PAGES 4u /* per direction, header page included: Linux's 3 data pages */
#define MS UINT64_C(1000000)

enum gmode {
	G_ANSWER,   /* as Linux does */
	G_IGNORE,   /* read, never answer */
	G_GARBAGE,  /* answer with a broken packet */
	G_WRONG_ID, /* answer with another transaction id */
	G_REFUSE,   /* answer with HV_E_FAIL */
	G_MUTATE,   /* a good answer with random bytes changed, or cut short */
};

struct gchan {
	uint32_t relid;
	struct hv_ring out; /* guest->host: the guest writes */
	struct hv_ring in;  /* host->guest: the guest reads */
	uint64_t pfns[2 * RING_PAGES];
	bool open, paused;
	enum gmode mode;
	struct ic_guest g;
	unsigned received;
	uint16_t last_type;
	uint64_t last_trans, prev_trans;
	uint8_t last[IC_MAX_REQUEST_SIZE + 8], prev[IC_MAX_REQUEST_SIZE + 8];
	uint32_t last_len, prev_len;
};

static const struct icg_pair pairs[] = {
	{ IC_KVP_POOL_AUTO, "FullyQualifiedDomainName", "guest.example" },
	{ IC_KVP_POOL_AUTO, "OSName", "Linux 😀" },
	{ IC_KVP_POOL_GUEST, "role", "web" },
};

static struct {
	struct hv_guest_mem mem;
	struct hv_vmbus *vb;
	struct loop *loop;
	struct hv_ic *ic;
	uint64_t timeout_ns, ref_base;
	uint8_t msgs[64][HV_VMBUS_MSG_MAX];
	unsigned nmsgs;
	struct gchan ch[HV_IC_COUNT];
	unsigned acks;
	bool accepted;
} T;

static int post_message(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	assert_true(len <= HV_VMBUS_MSG_MAX);
	assert_true(T.nmsgs < 64);
	memset(T.msgs[T.nmsgs], 0, HV_VMBUS_MSG_MAX);
	memcpy(T.msgs[T.nmsgs++], msg, len);
	return 0;
}

static int signal_event(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	return 0; /* the guest polls its rings */
}

static const struct hv_vmbus_host_ops host_ops = {
	.post_message = post_message,
	.signal_event = signal_event,
};

static void on_ack(void *data, bool accepted)
{
	T.acks++;
	T.accepted = accepted;
}

/* The last message of a type the host posted, or NULL. */
static const void *host_msg(uint32_t type)
{
	for (unsigned i = T.nmsgs; i-- > 0;)
		if (rd32(T.msgs[i]) == type)
			return T.msgs[i];
	return NULL;
}

static void guest_msg(const void *m, size_t len)
{
	fg_guest_msg(T.vb, m, len);
}

/* Deterministic: a failure reproduces. */
static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static void guest_send(struct gchan *c, uint64_t trans_id, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	bool sig;

	assert_int_equal(hv_ring_write(&c->out, HV_VMPKT_DATA_INBAND, 0, trans_id, &iov, 1, &sig),
			 0);
	hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + c->relid);
}

static void guest_packet(struct gchan *c, const struct hv_vmbus_packet *pkt)
{
	uint8_t buf[sizeof(c->last)];

	assert_int_equal(pkt->type, HV_VMPKT_DATA_INBAND);
	assert_int_equal(pkt->flags, HV_VMPKT_FLAG_COMPLETION_REQUESTED);
	assert_true(pkt->len <= sizeof(buf));
	c->received++;
	c->prev_trans = c->last_trans;
	c->prev_len = c->last_len;
	memcpy(c->prev, c->last, c->last_len);
	c->last_type = rd16(pkt->data + 12);
	c->last_trans = pkt->trans_id;
	c->last_len = pkt->len;
	memcpy(c->last, pkt->data, pkt->len);
	memcpy(buf, pkt->data, pkt->len);
	switch (c->mode) {
	case G_IGNORE:
		return;
	case G_GARBAGE:
		/* The right transaction, a pipe header claiming more than
		 * there is. */
		wr32(buf + 4, 0x10000);
		guest_send(c, pkt->trans_id, buf, pkt->len);
		return;
	case G_WRONG_ID:
		ic_guest_answer(&c->g, buf, pkt->len);
		guest_send(c, pkt->trans_id + 1000, buf, pkt->len);
		return;
	case G_REFUSE:
		ic_guest_answer(&c->g, buf, pkt->len);
		buf[25] = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
		wr32(buf + 20, IC_E_FAIL);
		guest_send(c, pkt->trans_id, buf, pkt->len);
		return;
	case G_MUTATE: {
		uint32_t len = pkt->len;

		ic_guest_answer(&c->g, buf, len);
		for (unsigned n = rnd() % 4 + 1; n; n--) {
			uint32_t at = rnd() % (rnd() % 2 ? len : IC_HDR_SIZE + 24);

			if (at < len)
				buf[at] = rnd();
		}
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		guest_send(c, pkt->trans_id, buf, len ? len : 1);
		return;
	}
	case G_ANSWER:
		if (ic_guest_answer(&c->g, buf, pkt->len))
			guest_send(c, pkt->trans_id, buf, pkt->len);
		return;
	}
}

static void guest_poll(void)
{
	uint8_t buf[8192];

	for (unsigned i = 0; i < HV_IC_COUNT; i++) {
		struct gchan *c = &T.ch[i];
		struct hv_vmbus_packet pkt;

		if (!c->open || c->paused)
			continue;
		do {
			hv_ring_read_begin(&c->in);
			while (hv_ring_read(&c->in, buf, sizeof(buf), &pkt) > 0)
				guest_packet(c, &pkt);
		} while (hv_ring_read_end(&c->in));
	}
}

/* Run the loop and the guest until pred() holds or ms passed. */
static bool run_until(bool (*pred)(void), unsigned ms)
{
	uint64_t end = now_ns() + ms * MS;

	while (now_ns() < end) {
		if (pred && pred())
			return true;
		loop_run_once(T.loop, 1);
		guest_poll();
	}
	return pred ? pred() : true;
}

static struct hv_ic_status st(void)
{
	struct hv_ic_status s;

	hv_ic_get_status(T.ic, &s);
	return s;
}

static bool all_negotiated(void)
{
	struct hv_ic_status s = st();

	for (unsigned i = 0; i < HV_IC_COUNT; i++)
		if (!s.svc[i].negotiated)
			return false;
	return true;
}

static struct fg_rings rings(enum hv_ic_kind k)
{
	struct gchan *c = &T.ch[k];

	return (struct fg_rings){ c->relid, RING_PAGES, c->pfns, &c->out, &c->in };
}

static void open_channel(enum hv_ic_kind k)
{
	struct fg_rings r = rings(k);

	fg_open_channel(T.vb, &T.mem, host_msg, &r, 0x100 + k, k, 0x400 + 16 * k);
	T.ch[k].open = true;
}

static void close_channel(enum hv_ic_kind k)
{
	struct fg_rings r = rings(k);

	/* vmbus_close(): close, then tear the ring GPADL down. */
	fg_close_channel(T.vb, host_msg, &r, 0x100 + k);
	T.ch[k].open = false;
}

static const char *const class_guids[HV_IC_COUNT] = {
	[HV_IC_HEARTBEAT] = "57164f39-9115-4e78-ab55-382f3bd5422d",
	[HV_IC_SHUTDOWN] = "0e0b6031-5213-4934-818b-38d90ced39db",
	[HV_IC_TIMESYNC] = "9527e630-d0ae-497b-adce-e80ab0175caf",
	[HV_IC_KVP] = "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6",
};

static int setup_with(uint64_t timeout_ns)
{
	struct hv_vmbus_config vcfg = { .mem = &T.mem, .ops = &host_ops, .nvps = 1 };
	struct hv_vmbus_msg_initiate_contact ic = {
		.hdr.msgtype = HV_CHANNELMSG_INITIATE_CONTACT,
		.vmbus_version_requested = HV_VMBUS_VERSION_WIN10_V5_3,
		.msg_sint = HV_VMBUS_MESSAGE_SINT,
	};
	struct hv_vmbus_msg_header ro = { .msgtype = HV_CHANNELMSG_REQUESTOFFERS };
	const struct hv_vmbus_msg_version_response *vr;
	struct hv_ic_config cfg;
	unsigned offers = 0;

	memset(&T, 0, sizeof(T));
	assert_int_equal(fake_mem_new(&T.mem, RAM), 0);
	assert_int_equal(hv_vmbus_new(&vcfg, &T.vb), 0);
	assert_int_equal(loop_new(&T.loop), 0);
	T.ref_base = now_ns() - 1000 * MS;
	cfg = (struct hv_ic_config){
		.loop = T.loop,
		.vmbus = T.vb,
		.heartbeat_period_ns = 10 * MS,
		.kvp_period_ns = 60000 * MS,
		.request_timeout_ns = timeout_ns,
		.ref_time_base_ns = T.ref_base,
		.on_shutdown_ack = on_ack,
	};
	assert_int_equal(hv_ic_new(&cfg, &T.ic), 0);

	guest_msg(&ic, sizeof(ic));
	vr = host_msg(HV_CHANNELMSG_VERSION_RESPONSE);
	assert_non_null(vr);
	assert_int_equal(vr->version_supported, 1);
	guest_msg(&ro, sizeof(ro));
	for (unsigned i = 0; i < T.nmsgs; i++) {
		const struct hv_vmbus_msg_offer *o = (const void *)T.msgs[i];

		if (o->hdr.msgtype != HV_CHANNELMSG_OFFERCHANNEL)
			continue;
		for (unsigned k = 0; k < HV_IC_COUNT; k++) {
			struct hv_guid g;

			assert_int_equal(hv_guid_parse(class_guids[k], &g), 0);
			if (memcmp(g.b, o->if_type, 16))
				continue;
			T.ch[k].relid = o->child_relid;
			/* A message-mode pipe, as Hyper-V offers its ICs. */
			assert_int_equal(o->chn_flags, 0x10);
			assert_int_equal(rd32(o->user_def), 4);
			offers++;
		}
	}
	assert_int_equal(offers, HV_IC_COUNT);

	T.ch[HV_IC_HEARTBEAT].g = (struct ic_guest){ .versions = icg_hb, .nversions = 2 };
	T.ch[HV_IC_SHUTDOWN].g = (struct ic_guest){ .versions = icg_sd, .nversions = 4 };
	T.ch[HV_IC_TIMESYNC].g = (struct ic_guest){ .versions = icg_ts, .nversions = 3 };
	T.ch[HV_IC_KVP].g = (struct ic_guest){
		.versions = icg_kvp, .nversions = 3,
		.pairs = pairs, .npairs = 3, .kvp_daemon = true,
	};
	for (unsigned k = 0; k < HV_IC_COUNT; k++)
		open_channel(k);
	assert_true(run_until(all_negotiated, 2000));
	return 0;
}

static int setup(void **state)
{
	return setup_with(0);
}

static int setup_fast_timeout(void **state)
{
	return setup_with(50 * MS);
}

static int teardown(void **state)
{
	hv_ic_free(T.ic);
	hv_vmbus_free(T.vb);
	loop_free(T.loop);
	for (unsigned k = 0; k < HV_IC_COUNT; k++) {
		hv_ring_fini(&T.ch[k].out);
		hv_ring_fini(&T.ch[k].in);
	}
	fake_mem_free(&T.mem);
	return 0;
}

static void test_handshake(void **state)
{
	struct hv_ic_status s = st();

	for (unsigned k = 0; k < HV_IC_COUNT; k++) {
		assert_true(s.svc[k].open);
		assert_int_equal(s.svc[k].framework_version, IC_VERSION(3, 0));
		assert_int_equal(s.svc[k].errors, 0);
		assert_true(s.svc[k].requests >= 1);
		assert_true(s.svc[k].responses >= 1);
	}
	assert_int_equal(s.svc[HV_IC_HEARTBEAT].message_version, IC_VERSION(3, 0));
	assert_int_equal(s.svc[HV_IC_SHUTDOWN].message_version, IC_VERSION(3, 2));
	assert_int_equal(s.svc[HV_IC_TIMESYNC].message_version, IC_VERSION(4, 0));
	assert_int_equal(s.svc[HV_IC_KVP].message_version, IC_VERSION(4, 0));
	assert_string_equal(hv_ic_kind_to_string(HV_IC_KVP), "kvp");
	/* Nothing before the negotiation. */
	for (unsigned k = 0; k < HV_IC_COUNT; k++)
		assert_true(T.ch[k].received >= 1);
}

static bool three_heartbeats(void)
{
	return st().heartbeat_seq >= 3;
}

static void test_heartbeat(void **state)
{
	struct hv_ic_status s;

	assert_true(run_until(three_heartbeats, 2000));
	s = st();
	assert_true(s.heartbeat_last_ns > 0 && s.heartbeat_last_ns <= now_ns());
	assert_int_equal(s.svc[HV_IC_HEARTBEAT].errors, 0);
	assert_true(s.svc[HV_IC_HEARTBEAT].responses >= 4);
}

static bool one_sample(void)
{
	return T.ch[HV_IC_TIMESYNC].g.samples >= 1;
}

static void test_timesync(void **state)
{
	struct gchan *c = &T.ch[HV_IC_TIMESYNC];
	struct timespec ts;
	uint64_t now_ft, ref;

	assert_true(run_until(one_sample, 2000));
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ft = ic_filetime(ts.tv_sec, ts.tv_nsec);
	ref = (now_ns() - T.ref_base) / 100;
	/* The first sample after the negotiation says SYNC. */
	assert_int_equal(c->g.ts_flags, IC_TIMESYNC_FLAG_SYNC);
	assert_true(c->g.parenttime <= now_ft && c->g.parenttime > now_ft - 10000000);
	assert_true(c->g.reftime <= ref && c->g.reftime > ref - 10000000);
	assert_true(c->g.reftime >= 10000000); /* the base is 1 s in the past */
	assert_int_equal(st().timesync_samples, 1);
	run_until(NULL, 50);
	assert_int_equal(st().svc[HV_IC_TIMESYNC].errors, 0);
}

static bool kvp_done(void)
{
	return st().kvp_last_ns != 0;
}

struct kv_seen {
	unsigned n;
	char s[8][96];
};

static void collect(const char *pool, const char *key, const char *value, void *data)
{
	struct kv_seen *k = data;

	assert_true(k->n < 8);
	snprintf(k->s[k->n++], sizeof(k->s[0]), "%s/%s=%s", pool, key, value);
}

static void test_kvp(void **state)
{
	struct kv_seen k = { 0 };

	assert_true(run_until(kvp_done, 2000));
	assert_int_equal(st().kvp_pairs, 3);
	hv_ic_kvp_for_each(T.ic, collect, &k);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.s[0], "auto/FullyQualifiedDomainName=guest.example");
	assert_string_equal(k.s[1], "auto/OSName=Linux 😀");
	assert_string_equal(k.s[2], "guest/role=web");
	assert_int_equal(st().svc[HV_IC_KVP].errors, 0);
	/* Two pairs and the end of the pool, one pair and the end: five
	 * requests after the negotiation. */
	assert_int_equal(st().svc[HV_IC_KVP].requests, 6);
}

static void test_kvp_no_daemon(void **state)
{
	/* Reopen with a guest without its daemon: HV_E_FAIL at once. */
	close_channel(HV_IC_KVP);
	assert_false(st().svc[HV_IC_KVP].open);
	T.ch[HV_IC_KVP].g.kvp_daemon = false;
	open_channel(HV_IC_KVP);
	assert_true(run_until(kvp_done, 2000));
	assert_int_equal(st().kvp_pairs, 0);
	assert_int_equal(st().svc[HV_IC_KVP].errors, 0);
}

static bool acked(void)
{
	return T.acks > 0;
}

static void test_shutdown(void **state)
{
	struct gchan *c = &T.ch[HV_IC_SHUTDOWN];

	assert_int_equal(hv_ic_request_shutdown(T.ic, false, "maintenance"), 0);
	assert_int_equal(hv_ic_request_shutdown(T.ic, true, "again"), -EBUSY);
	assert_true(run_until(acked, 2000));
	assert_true(T.accepted);
	assert_int_equal(c->g.shutdowns, 1);
	assert_int_equal(c->g.shutdown_flags, 0);
	assert_int_equal(rd32(c->last + IC_HDR_SIZE), IC_SHUTDOWN_REASON_PLANNED);
	assert_int_equal(rd16(c->last + IC_HDR_SIZE + 12), 'm');

	T.acks = 0;
	assert_int_equal(hv_ic_request_shutdown(T.ic, true, NULL), 0);
	assert_true(run_until(acked, 2000));
	assert_true(T.accepted);
	assert_int_equal(c->g.shutdown_flags, IC_SHUTDOWN_FLAG_RESTART);

	/* The guest says no. */
	T.acks = 0;
	c->mode = G_REFUSE;
	assert_int_equal(hv_ic_request_shutdown(T.ic, false, "x"), 0);
	assert_true(run_until(acked, 2000));
	assert_false(T.accepted);
	assert_int_equal(st().svc[HV_IC_SHUTDOWN].errors, 0);

	/* Closed: nothing to ask. */
	close_channel(HV_IC_SHUTDOWN);
	assert_int_equal(hv_ic_request_shutdown(T.ic, false, "x"), -ENOTCONN);
}

static bool hb_errors_3(void)
{
	return st().svc[HV_IC_HEARTBEAT].errors >= 3;
}

static void test_hostile(void **state)
{
	struct gchan *c = &T.ch[HV_IC_HEARTBEAT];
	uint64_t seq;

	assert_true(run_until(three_heartbeats, 2000));
	/* Broken answers: each counts, the next request still goes. */
	c->mode = G_GARBAGE;
	assert_true(run_until(hb_errors_3, 2000));
	assert_true(st().svc[HV_IC_SHUTDOWN].errors == 0);
	/* Answers to transactions never asked: counted, and the request
	 * times out. */
	c->mode = G_WRONG_ID;
	run_until(NULL, 200);
	assert_true(st().svc[HV_IC_HEARTBEAT].errors >= 6);
	/* Back to normal. */
	c->mode = G_ANSWER;
	seq = st().heartbeat_seq;
	run_until(NULL, 200);
	assert_true(st().heartbeat_seq > seq);

	/* Packets that are not in-band data. */
	{
		uint64_t e = st().svc[HV_IC_HEARTBEAT].errors;
		struct iovec iov = { .iov_base = "x", .iov_len = 1 };
		bool sig;

		hv_ring_write(&c->out, HV_VMPKT_DATA_USING_GPA_DIRECT, 0, 1, &iov, 1, &sig);
		hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + c->relid);
		assert_int_equal(st().svc[HV_IC_HEARTBEAT].errors, e + 1);
	}
}

static bool hb_timed_out(void)
{
	return st().svc[HV_IC_HEARTBEAT].errors >= 1;
}

static void test_timeout_and_late_answer(void **state)
{
	struct gchan *c = &T.ch[HV_IC_HEARTBEAT];
	uint8_t buf[sizeof(c->last)];
	uint64_t trans, e, seq;
	uint32_t len;

	/* Unanswered: the request times out, and the next one goes at once
	 * (the guest has read it when this returns). */
	c->mode = G_IGNORE;
	assert_true(run_until(hb_timed_out, 2000));
	e = st().svc[HV_IC_HEARTBEAT].errors;
	seq = st().heartbeat_seq;
	assert_true(c->prev_trans < c->last_trans);
	/* The late answer to the one that timed out is dropped quietly. */
	trans = c->prev_trans;
	len = c->prev_len;
	memcpy(buf, c->prev, len);
	ic_guest_answer(&c->g, buf, len);
	guest_send(c, trans, buf, len);
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].errors, e);
	assert_int_equal(st().heartbeat_seq, seq);
	/* Once more: now it is just wrong. */
	guest_send(c, trans, buf, len);
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].errors, e + 1);
	c->mode = G_ANSWER;
	run_until(NULL, 150);
	assert_true(st().heartbeat_seq > seq);
}

static bool negotiated_hb(void)
{
	return st().svc[HV_IC_HEARTBEAT].negotiated;
}

static void test_close_reopen(void **state)
{
	struct hv_ic_status s;

	close_channel(HV_IC_HEARTBEAT);
	s = st();
	assert_false(s.svc[HV_IC_HEARTBEAT].open);
	assert_false(s.svc[HV_IC_HEARTBEAT].negotiated);
	assert_int_equal(s.svc[HV_IC_HEARTBEAT].message_version, 0);
	run_until(NULL, 30);

	/* Reopen: a new negotiation first (a v1-only guest this time). */
	T.ch[HV_IC_HEARTBEAT].g = (struct ic_guest){ .versions = icg_hb + 1, .nversions = 1 };
	T.ch[HV_IC_HEARTBEAT].received = 0;
	open_channel(HV_IC_HEARTBEAT);
	assert_true(run_until(negotiated_hb, 2000));
	assert_int_equal(T.ch[HV_IC_HEARTBEAT].last_type, IC_MSGTYPE_NEGOTIATE);
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].message_version, IC_VERSION(1, 0));
	assert_true(run_until(three_heartbeats, 2000));
}

static void test_ring_full(void **state)
{
	struct gchan *c = &T.ch[HV_IC_HEARTBEAT];
	struct hv_ring_header *h = (void *)(T.mem.host + c->pfns[RING_PAGES] * PAGE);
	uint64_t req;
	uint32_t w;

	/* Right after an answer: nothing outstanding, the guest has read
	 * everything.  Now its ring looks full and it stops reading. */
	assert_true(run_until(three_heartbeats, 2000));
	c->paused = true;
	w = h->write_index;
	assert_int_equal(h->read_index, w);
	h->read_index = (w + 8) % ((RING_PAGES - 1) * PAGE);
	req = st().svc[HV_IC_HEARTBEAT].requests;
	run_until(NULL, 100);
	/* Nothing went: the next heartbeat waits for room. */
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].requests, req);
	assert_true(h->pending_send_sz > 0);
	/* The guest catches up and signals: ->writable() sends it. */
	h->read_index = w;
	c->paused = false;
	hv_vmbus_signal(T.vb, HV_VMBUS_EVENT_CONNECTION_BASE + c->relid);
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].requests, req + 1);
	req = st().heartbeat_seq;
	run_until(NULL, 100);
	assert_true(st().heartbeat_seq > req);
	assert_int_equal(st().svc[HV_IC_HEARTBEAT].errors, 0);
}

static bool kvp_errors(void)
{
	return st().svc[HV_IC_KVP].errors > 0;
}

static void test_kvp_bad_utf16(void **state)
{
	static const struct icg_pair bad[] = {
		{ IC_KVP_POOL_AUTO, "ok", "fine" },
		{ IC_KVP_POOL_AUTO, "\xed\xa0\x80", "lone surrogate" }, /* encoded as 0xd800 */
	};

	/* A guest whose second key is an unpaired surrogate: the round is
	 * dropped, the last good set kept. */
	assert_true(run_until(kvp_done, 2000));
	close_channel(HV_IC_KVP);
	T.ch[HV_IC_KVP].g.pairs = bad;
	T.ch[HV_IC_KVP].g.npairs = 2;
	open_channel(HV_IC_KVP);
	assert_true(run_until(kvp_errors, 2000));
	assert_int_equal(st().kvp_pairs, 3);
}

static void test_mutated_answers(void **state)
{
	struct hv_ic_status s;
	uint64_t seq, errors = 0;

	/* Every service gets damaged answers for a while: errors, never a
	 * crash; a KVP round or shutdown may end early. */
	for (unsigned k = 0; k < HV_IC_COUNT; k++)
		T.ch[k].mode = G_MUTATE;
	assert_int_equal(hv_ic_request_shutdown(T.ic, false, "x"), 0);
	run_until(NULL, 400);
	s = st();
	for (unsigned k = 0; k < HV_IC_COUNT; k++)
		errors += s.svc[k].errors;
	assert_true(errors > 5);
	assert_int_equal(T.acks, 1);
	/* Then good answers again: the heartbeat goes on. */
	for (unsigned k = 0; k < HV_IC_COUNT; k++)
		T.ch[k].mode = G_ANSWER;
	seq = st().heartbeat_seq;
	run_until(NULL, 200);
	assert_true(st().heartbeat_seq > seq);
	assert_true(st().svc[HV_IC_HEARTBEAT].negotiated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timesync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvp_no_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvp_bad_utf16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup_fast_timeout, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_late_answer, setup_fast_timeout,
						teardown),
		cmocka_unit_test_setup_teardown(test_mutated_answers, setup_fast_timeout, teardown),
		cmocka_unit_test_setup_teardown(test_close_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * "vmbus=bench": after the normal handshake and the IC channels, open the
 * echo device's channel (skyvm --vmbus-echo, hv/vmbus-echo.h) and time,
 * with the TSC, what a VMBus driver pays per operation:
 *
 *   cpl0-insn          one plain instruction (context: is CPL0 emulated?)
 *   pio-exit           inb from port 0x80: a plain exit to skyvm's userspace
 *                      and back, the peer the other figures are compared to
 *   signal-event       HvSignalEvent (fast) on the echo channel's connection id
 *   message-roundtrip  GPADL_HEADER -> GPADL_CREATED, GPADL_TEARDOWN ->
 *                      GPADL_TORNDOWN: per message round trip
 *   echo-roundtrip     one 64-byte in-band packet to the echo device and back
 *   ring-throughput    ~4000-byte packets streamed through the echo device
 *
 * one "bench: NAME ..." line each, then "bench: done"; tests/bench/vmbus.py
 * reads them.  Figures only: nothing here judges them.  Each measurement
 * stops after BENCH_MS whatever its count (CPL0 code may be emulated at
 * about 1 us per instruction), and every wait for the host gives up after
 * WAIT_MS with "vmbus: FAILED: ...".  Averages are integer arithmetic
 * (-mgeneral-regs-only).  Replies are polled for (the SINT2 slot, the
 * inbound ring) rather than waited for with hlt, so the figures do not
 * include the wakeup from hlt; the 0xf3 interrupts still arrive and are
 * handled as usual.
 */
#include "vmbus.h"

#define BENCH_MS 2000        /* each measurement: at most this long */
#define WAIT_MS 5000         /* one answer from the host */
#define ECHO_RING_PAGES 16   /* per direction: a header page, 15 data pages */
#define INSN_ITERS 2000000
#define PIO_ITERS 2000
#define SIGNAL_ITERS 2000
#define MESSAGE_PAIRS 500
#define ECHO_ITERS 2000
#define ECHO_SMALL 64
#define STREAM_PAYLOAD 4000
/* Packets in flight at most: the out ring holds 15 of them, the in ring
 * 15 more; the echo device keeps up to 256 KiB waiting beyond that and
 * drops the rest, so stay well below. */
#define STREAM_MAX_INFLIGHT 32
#define POST_PORT 0x80

/* 0f6d2b3a-5c1e-4a8b-9e27-51c7d8a4b6e0 (HV_VMBUS_ECHO_CLASS) as guid_t. */
static const struct vmbus_guid echo_class = { {
	0x3a, 0x2b, 0x6d, 0x0f, 0x1e, 0x5c, 0x8b, 0x4a,
	0x9e, 0x27, 0x51, 0xc7, 0xd8, 0xa4, 0xb6, 0xe0,
} };

static struct vmbus_channel *echo;
static uint8_t *tx, *rx;     /* packet buffers, a page each (and a spare) */
static uint8_t *gpadl_page;  /* the page the message round trips describe */
static uint64_t bench_limit; /* BENCH_MS in TSC ticks */

/* TSC ticks to ns without overflow (no 128-bit division in a freestanding
 * kernel): whole seconds, then the remainder. */
static uint64_t ticks_to_ns(uint64_t t)
{
	return t / hv.tsc_hz * 1000000000ull + t % hv.tsc_hz * 1000000000ull / hv.tsc_hz;
}

static void report(const char *name, uint64_t ticks, uint64_t n)
{
	uint64_t ns = ticks_to_ns(ticks);

	kprintf("bench: %s ns=%llu n=%llu\n", name, (unsigned long long)(n ? ns / n : 0),
		(unsigned long long)n);
}

static bool timed_out(uint64_t t0)
{
	return rdtsc() - t0 > hv_ms_to_tsc(WAIT_MS);
}

/* ---- the echo channel ---- */

/* vmbus_open() with ECHO_RING_PAGES per direction, as open_ic() does it. */
static void open_echo(void)
{
	struct vmbus_msg_open m = { .hdr.msgtype = CHANNELMSG_OPENCHANNEL };
	const struct vmbus_msg_open_result *r = (const void *)vmbus_reply;
	uint8_t *p = hv_alloc_pages(2 * ECHO_RING_PAGES);
	uint32_t st;
	uint16_t pst;

	for (unsigned i = 0; i < vmbus_nchannels && !echo; i++)
		if (!memcmp(&vmbus_channels[i].type, &echo_class, sizeof(echo_class)) &&
		    !vmbus_channels[i].rescinded)
			echo = &vmbus_channels[i];
	if (!echo)
		vmbus_fail("bench: no echo device offer (skyvm --vmbus-echo)");
	tx = hv_alloc_pages(2);
	rx = hv_alloc_pages(2);
	gpadl_page = hv_alloc_pages(1);
	if (!p || !tx || !rx || !gpadl_page)
		vmbus_fail("bench: no memory for the echo rings");

	echo->gpadl = vmbus_next_gpadl();
	st = vmbus_establish_gpadl(echo->relid, hv_gpa(p), 2 * ECHO_RING_PAGES, echo->gpadl, 30000,
				   "GPADL_CREATED");
	if (st)
		vmbus_fail("echo relid %u: GPADL 0x%x refused: status 0x%x", echo->relid, echo->gpadl,
			   st);
	echo->out = (volatile struct hv_ring_buffer *)p;
	echo->out_data = p + RING_HEADER_SIZE;
	echo->out_size = (ECHO_RING_PAGES - 1) * 4096;
	echo->in = (volatile struct hv_ring_buffer *)(p + ECHO_RING_PAGES * 4096);
	echo->in_data = p + ECHO_RING_PAGES * 4096 + RING_HEADER_SIZE;
	echo->in_size = (ECHO_RING_PAGES - 1) * 4096;
	echo->out->feature_bits = 1;
	echo->in->feature_bits = 1;
	echo->out_write = echo->in_read = echo->in_committed = 0;
	echo->max_pkt = 8192;

	m.child_relid = echo->relid;
	m.openid = echo->relid;
	m.ringbuffer_gpadlhandle = echo->gpadl;
	m.target_vp = hv.vp_index;
	m.downstream_ringbuffer_pageoffset = ECHO_RING_PAGES;
	vmbus_expect(CHANNELMSG_OPENCHANNEL_RESULT, echo->relid, echo->relid);
	pst = vmbus_post_msg(&m, sizeof(m));
	if (pst)
		vmbus_fail("echo OPENCHANNEL: HvPostMessage status %u (%s)", pst, hv_status_name(pst));
	if (!vmbus_wait_reply(30000, "OPENCHANNEL_RESULT"))
		vmbus_fail("echo relid %u rescinded while opening", echo->relid);
	if (r->status)
		vmbus_fail("echo relid %u: OPENCHANNEL refused: status 0x%x", echo->relid, r->status);
	echo->open = true;
	kprintf("vmbus: open echo relid %u\n", echo->relid);
}

/* vmbus_close(): CLOSECHANNEL, then the GPADL's teardown.  The bench
 * leaves nothing behind for the service loop that follows. */
static void close_echo(void)
{
	struct vmbus_msg_relid c = { .hdr.msgtype = CHANNELMSG_CLOSECHANNEL,
				     .child_relid = echo->relid };
	struct vmbus_msg_gpadl_teardown t = { .hdr.msgtype = CHANNELMSG_GPADL_TEARDOWN,
					      .child_relid = echo->relid, .gpadl = echo->gpadl };
	uint16_t st;

	echo->open = false;
	st = vmbus_post_msg(&c, sizeof(c));
	if (st)
		vmbus_fail("echo CLOSECHANNEL: HvPostMessage status %u (%s)", st, hv_status_name(st));
	vmbus_expect(CHANNELMSG_GPADL_TORNDOWN, VMBUS_ANY, echo->gpadl);
	st = vmbus_post_msg(&t, sizeof(t));
	if (st)
		vmbus_fail("echo GPADL_TEARDOWN: HvPostMessage status %u (%s)", st, hv_status_name(st));
	if (!vmbus_wait_reply(WAIT_MS, "GPADL_TORNDOWN"))
		vmbus_fail("echo relid %u rescinded while closing", echo->relid);
}

/* ---- the measurements ---- */

/* Context for the rest: what one plain instruction costs at CPL0 here
 * (well under a nanosecond natively, about a microsecond where the kernel
 * is emulated), in picoseconds. */
static void bench_insn(void)
{
	uint64_t t0 = rdtsc(), n = 0;

	while (n < INSN_ITERS && rdtsc() - t0 < bench_limit / 4) {
		uint64_t k = 1000;

		asm volatile("1: dec %0; jnz 1b" : "+r"(k) : : "cc");
		n += 2000; /* dec + jnz, 1000 times */
	}
	kprintf("bench: cpl0-insn ps=%llu n=%llu\n",
		(unsigned long long)(n ? ticks_to_ns(rdtsc() - t0) * 1000 / n : 0),
		(unsigned long long)n);
}

static void bench_pio(void)
{
	uint64_t t0 = rdtsc(), n = 0;

	while (n < PIO_ITERS && rdtsc() - t0 < bench_limit) {
		for (unsigned k = 0; k < 16; k++)
			(void)inb(POST_PORT);
		n += 16;
	}
	report("pio-exit", rdtsc() - t0, n);
}

static void bench_signal(void)
{
	uint64_t t0 = rdtsc(), n = 0;

	while (n < SIGNAL_ITERS && rdtsc() - t0 < bench_limit) {
		for (unsigned k = 0; k < 16; k++) {
			uint16_t st = hv_signal_event(echo->conn_id);

			if (st)
				vmbus_fail("bench: HvSignalEvent conn 0x%x: status %u (%s)",
					   echo->conn_id, st, hv_status_name(st));
		}
		n += 16;
	}
	report("signal-event", rdtsc() - t0, n);
}

/* The reply vmbus_expect() asked for, by polling the SINT2 slot; a
 * message there goes through vmbus_service() (which copies it out, frees
 * the slot and writes EOM only if msg_pending, as vmbus_signal_eom()
 * does), the full pass only then: it is long where CPL0 is emulated. */
static void poll_reply(const char *what)
{
	uint64_t t0 = rdtsc();

	for (;;) {
		if (hv_msg_slot()->header.message_type != HVMSG_NONE) {
			vmbus_service();
			if (vmbus_reply_done())
				break;
		}
		if (timed_out(t0))
			vmbus_fail("timeout waiting for %s", what);
		cpu_relax();
	}
	if (!vmbus_reply_len)
		vmbus_fail("echo relid %u rescinded during the bench", echo->relid);
}

static void post(const void *msg, uint32_t len, const char *what)
{
	uint16_t st = vmbus_post_msg(msg, len);

	if (st)
		vmbus_fail("bench %s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
}

static void bench_messages(void)
{
	uint64_t buf[(sizeof(struct vmbus_msg_gpadl_header) + 8 + 7) / 8];
	struct vmbus_msg_gpadl_header *h = (void *)buf;
	struct vmbus_msg_gpadl_teardown t = { .hdr.msgtype = CHANNELMSG_GPADL_TEARDOWN,
					      .child_relid = echo->relid };
	uint64_t t0 = rdtsc(), n = 0;

	while (n < 2 * MESSAGE_PAIRS && rdtsc() - t0 < bench_limit) {
		uint32_t handle = vmbus_next_gpadl(), status;

		/* create_gpadl_header() for one page. */
		hv_zero(buf, sizeof(buf));
		h->hdr.msgtype = CHANNELMSG_GPADL_HEADER;
		h->child_relid = echo->relid;
		h->gpadl = handle;
		h->range_buflen = 8 + 8;
		h->rangecount = 1;
		h->byte_count = 4096;
		h->byte_offset = 0;
		h->pfn[0] = hv_gpa(gpadl_page) >> 12;
		vmbus_expect(CHANNELMSG_GPADL_CREATED, echo->relid, handle);
		post(h, sizeof(*h) + 8, "GPADL_HEADER");
		poll_reply("GPADL_CREATED");
		status = rd32(vmbus_reply + 16);
		if (status)
			vmbus_fail("bench: GPADL 0x%x refused: status 0x%x", handle, status);

		t.gpadl = handle;
		vmbus_expect(CHANNELMSG_GPADL_TORNDOWN, VMBUS_ANY, handle);
		post(&t, sizeof(t), "GPADL_TEARDOWN");
		poll_reply("GPADL_TORNDOWN");
		n += 2;
	}
	report("message-roundtrip", rdtsc() - t0, n);
}

/* The next packet from the echo device, polled for; fatal on a timeout, a
 * broken ring or a packet that is not the one we sent. */
static void recv_echo(uint64_t seq, uint32_t want_len, uint64_t t0)
{
	uint32_t len = 0;
	uint64_t tid = 0;
	int r;

	while (!(r = vmbus_recvpacket(echo, rx, 8192, &len, &tid))) {
		if (echo->broken)
			vmbus_fail("bench: echo ring broken");
		if (timed_out(t0))
			vmbus_fail("timeout waiting for echo packet %llu", (unsigned long long)seq);
		cpu_relax();
	}
	if (r < 0)
		vmbus_fail("bench: echo packet %llu malformed", (unsigned long long)seq);
	if (tid != seq || len != want_len || rd64(rx) != seq)
		vmbus_fail("bench: echo packet %llu came back as %llu (%u bytes, want %u)",
			   (unsigned long long)seq, (unsigned long long)tid, len, want_len);
}

static void bench_echo(void)
{
	uint64_t t0 = rdtsc(), n = 0;

	for (uint32_t i = 0; i < ECHO_SMALL; i++)
		tx[i] = (uint8_t)i;
	while (n < ECHO_ITERS && rdtsc() - t0 < bench_limit) {
		__builtin_memcpy(tx, &n, 8);
		/* vmbus_sendpacket(): signals the host only if its ring was
		 * empty and it has not masked the interrupt. */
		if (vmbus_sendpacket(echo, tx, ECHO_SMALL, n) < 0)
			vmbus_fail("bench: no room for echo packet %llu%s", (unsigned long long)n,
				   echo->broken ? " (ring broken)" : "");
		recv_echo(n, ECHO_SMALL, rdtsc());
		n++;
	}
	report("echo-roundtrip", rdtsc() - t0, n);
}

/* Stream for BENCH_MS: keep the outbound ring fed (vmbus_sendpacket()
 * refuses what does not fit and signals as Linux does), take the echoes
 * as they come (vmbus_recvpacket() signals the host when it waits for
 * room), then drain what is still in flight. */
static void bench_stream(void)
{
	uint64_t t0 = rdtsc(), last = t0, sent = 0, recvd = 0, bytes = 0, ticks, ns;

	for (uint32_t i = 0; i < STREAM_PAYLOAD; i++)
		tx[i] = (uint8_t)(i * 7);
	for (;;) {
		uint64_t now = rdtsc();
		bool sending = now - t0 < bench_limit, progress = false;
		uint32_t len = 0;
		uint64_t tid = 0;
		int r;

		if (!sending && recvd == sent)
			break;
		while ((r = vmbus_recvpacket(echo, rx, 8192, &len, &tid)) != 0) {
			if (r < 0 || tid != recvd || len != STREAM_PAYLOAD || rd64(rx) != recvd)
				vmbus_fail("bench: stream packet %llu came back as %llu (%u bytes)",
					   (unsigned long long)recvd, (unsigned long long)tid, len);
			recvd++;
			bytes += len;
			progress = true;
		}
		while (sending && sent - recvd < STREAM_MAX_INFLIGHT) {
			__builtin_memcpy(tx, &sent, 8);
			if (vmbus_sendpacket(echo, tx, STREAM_PAYLOAD, sent) < 0)
				break;
			sent++;
			progress = true;
		}
		if (echo->broken)
			vmbus_fail("bench: echo ring broken");
		if (progress) {
			last = now;
		} else {
			if (now - last > hv_ms_to_tsc(WAIT_MS))
				vmbus_fail("timeout waiting for echo packet %llu (%llu sent)",
					   (unsigned long long)recvd, (unsigned long long)sent);
			cpu_relax();
		}
	}
	ticks = rdtsc() - t0;
	ns = ticks_to_ns(ticks);
	/* MB/s (10^6 bytes) with three decimals: bytes * 10^6 / ns thousandths. */
	ns = ns ? ns : 1;
	kprintf("bench: ring-throughput MBps=%llu.%03llu bytes=%llu packet=%u ns=%llu\n",
		(unsigned long long)(bytes * 1000000 / ns / 1000),
		(unsigned long long)(bytes * 1000000 / ns % 1000), (unsigned long long)bytes,
		STREAM_PAYLOAD, (unsigned long long)ns);
}

void vmbus_bench(void)
{
	if (!hv.tsc_hz)
		vmbus_fail("bench: TSC frequency unknown (HV_X64_MSR_TSC_FREQUENCY not offered)");
	bench_limit = hv_ms_to_tsc(BENCH_MS);
	open_echo();
	kprintf("bench: start tsc %llu Hz\n", (unsigned long long)hv.tsc_hz);
	/* Between measurements: answer the integration services. */
	vmbus_service();
	bench_insn();
	bench_pio();
	vmbus_service();
	bench_signal();
	vmbus_service();
	bench_messages();
	vmbus_service();
	bench_echo();
	vmbus_service();
	bench_stream();
	close_echo();
	kprintf("vmbus: interrupts: sint2 %llu timer %llu\n", (unsigned long long)hv_vmbus_irqs,
		(unsigned long long)hv_timer_irqs);
	kprintf("bench: done\n");
}

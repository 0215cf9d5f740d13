// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The VMBus client ("vmbus" on the command line), step by step as Linux
 * 6.1's hv_vmbus does it, at CPL0 on the BSP:
 *
 *   hyperv.c         hypercall page, SynIC (hv_init.c, hv.c)
 *   vmbus_connect()  INITIATE_CONTACT down the version list (connection.c)
 *   vmbus_request_offers()  REQUESTOFFERS, OFFERCHANNEL... (channel_mgmt.c)
 *   open_ic()        GPADL for the rings, OPENCHANNEL (channel.c)
 *   serve()          messages, events and rings (vmbus_drv.c vmbus_isr(),
 *                    ring_buffer.c), answered by vmbus-ic.c (hv_util.c)
 *
 * Nothing here blocks for ever: each wait for the host has a timeout and
 * then fails the guest with a "vmbus: FAILED: ..." line.  Messages are
 * taken from the SINT2 slot by polling in the service loop; the 0xf3
 * interrupt (and a 10 ms LAPIC tick) ends the hlt between passes, and
 * the interrupts are counted to show that delivery works.  Everything the
 * host writes (message sizes, ring indices, packet lengths) is checked
 * before use.
 */
#include "vmbus.h"

struct vmbus_channel vmbus_channels[VMBUS_MAX_CHANNELS] __noinit;
unsigned vmbus_nchannels;
const struct vmbus_config *vmbus_cfg;
uint32_t vmbus_version, vmbus_msg_conn_id;
bool vmbus_offers_done;
uint8_t vmbus_reply[HV_MESSAGE_PAYLOAD_BYTE_COUNT] __attribute__((aligned(8)));
uint32_t vmbus_reply_len;

/* The one request in flight (we never have two). */
static struct {
	uint32_t want, relid, id;
	bool done;
} pend;

static uint32_t next_gpadl = VMBUS_FIRST_GPADL;
static uint8_t *int_page;      /* vmbus_connection.int_page: recv half, send half */
static uint8_t *monitor_pages[2];
static uint8_t msgbuf[HV_MESSAGE_PAYLOAD_BYTE_COUNT] __attribute__((aligned(8)));
static unsigned notes;         /* rate limit for complaints about the host */
static uint64_t events, stray_events, signal_errors;

static void serial_put(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void vmbus_vprint(const char *fmt, va_list ap)
{
	format(serial_put, NULL, fmt, ap);
}

void vmbus_fail(const char *fmt, ...)
{
	va_list ap;

	kprintf("vmbus: FAILED: ");
	va_start(ap, fmt);
	format(serial_put, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
	triple_fault();
}

/* What the host did wrong, at most 32 lines in all. */
static __printf(1, 2) void note(const char *fmt, ...)
{
	va_list ap;

	if (notes >= 32)
		return;
	if (++notes == 32) {
		kprintf("vmbus: (further complaints not shown)\n");
		return;
	}
	kprintf("vmbus: ");
	va_start(ap, fmt);
	format(serial_put, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
}

void vmbus_format_guid(const struct vmbus_guid *g, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	/* guid_t: u32, u16, u16 little-endian, then 8 bytes in order. */
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned n = 0;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[g->b[order[i]] >> 4];
		out[n++] = hex[g->b[order[i]] & 15];
	}
	out[n] = 0;
}

const char *vmbus_ic_name(int ic)
{
	static const char *const names[IC_COUNT] = { "heartbeat", "shutdown", "timesync", "kvp" };

	return ic >= 0 && ic < IC_COUNT ? names[ic] : "device";
}

struct vmbus_channel *vmbus_find_channel(uint32_t relid)
{
	for (unsigned i = 0; i < vmbus_nchannels; i++)
		if (vmbus_channels[i].relid == relid)
			return &vmbus_channels[i];
	return NULL;
}

struct vmbus_channel *vmbus_find_ic(int ic)
{
	for (unsigned i = 0; i < vmbus_nchannels; i++)
		if (vmbus_channels[i].ic == ic && !vmbus_channels[i].rescinded)
			return &vmbus_channels[i];
	return NULL;
}

uint32_t vmbus_next_gpadl(void)
{
	return next_gpadl++;
}

/* connection.c vmbus_post_msg(): retry while the host is short of
 * buffers (and on INVALID_CONNECTION_ID, except for INITIATE_CONTACT,
 * which then means "an older host": the caller tries the next version). */
uint16_t vmbus_post_msg(const void *msg, uint32_t len)
{
	uint32_t msgtype = len >= 4 ? rd32(msg) : 0;
	uint64_t usec = 1;
	uint16_t st = 0;

	for (unsigned retries = 0; retries < 100; retries++) {
		st = hv_post_message(vmbus_msg_conn_id, 1, msg, len);
		switch (st) {
		case HV_STATUS_SUCCESS:
			return st;
		case HV_STATUS_INVALID_CONNECTION_ID:
			if (msgtype == CHANNELMSG_INITIATE_CONTACT)
				return st;
			break;
		case HV_STATUS_INSUFFICIENT_MEMORY:
		case HV_STATUS_INSUFFICIENT_BUFFERS:
			break;
		default:
			return st;
		}
		hv_udelay(usec);
		if (retries < 22)
			usec *= 2;
	}
	return st;
}

static void post_or_fail(const void *msg, uint32_t len, const char *what)
{
	uint16_t st = vmbus_post_msg(msg, len);

	if (st == HV_STATUS_INVALID_HYPERCALL_CODE)
		vmbus_fail("%s: HvPostMessage status 2 (invalid hypercall code): no VMBus host", what);
	if (st)
		vmbus_fail("%s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
}

/* ---- rings (ring_buffer.c) ---- */

static __printf(2, 3) void ring_broken(struct vmbus_channel *ch, const char *fmt, ...)
{
	va_list ap;

	ch->broken = true;
	kprintf("vmbus: relid %u ring broken: ", ch->relid);
	va_start(ap, fmt);
	format(serial_put, NULL, fmt, ap);
	va_end(ap);
	kprintf("\n");
}

/* Ring offsets and sizes are multiples of 8: copy 8 bytes at a time. */
static uint32_t ring_put(volatile uint8_t *data, uint32_t size, uint32_t off, const uint8_t *src,
			 uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = 0;

		if (len - i >= 8)
			w = rd64(src + i);
		else
			for (uint32_t k = 0; k < len - i; k++)
				w |= (uint64_t)src[i + k] << (8 * k);
		*(volatile uint64_t *)(data + off) = w;
		off += 8;
		if (off >= size)
			off = 0;
	}
	return off;
}

static void ring_get(const volatile uint8_t *data, uint32_t size, uint32_t off, uint8_t *dst,
		     uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = *(const volatile uint64_t *)(data + off);

		__builtin_memcpy(dst + i, &w, 8);
		off += 8;
		if (off >= size)
			off = 0;
	}
}

/* hv_get_bytes_to_write() */
static uint32_t bytes_to_write(uint32_t write, uint32_t read, uint32_t size)
{
	return write >= read ? size - (write - read) : read - write;
}

bool vmbus_ring_has_data(const struct vmbus_channel *ch)
{
	return ch->open && !ch->broken && ch->in->write_index != ch->in_read;
}

bool vmbus_out_drained(const struct vmbus_channel *ch)
{
	return !ch->open || ch->broken || ch->out->read_index == ch->out_write;
}

static void set_bit_atomic(uint8_t *base, uint32_t bit)
{
	__atomic_fetch_or((uint64_t *)(base + bit / 64 * 8), 1ull << (bit % 64), __ATOMIC_SEQ_CST);
}

/* channel.c vmbus_setevent() / connection.c vmbus_set_event(). */
void vmbus_setevent(struct vmbus_channel *ch)
{
	uint8_t *send_int_page = int_page + 2048;
	uint16_t st;

	if (ch->monitor_allocated) {
		/* vmbus_send_interrupt(), then the channel's pending bit in the
		 * child-to-parent monitor page (struct hv_monitor_page:
		 * trigger_group[] at offset 8, 8 bytes each, pending first). */
		set_bit_atomic(send_int_page, ch->relid);
		set_bit_atomic(monitor_pages[1] + 8 + (ch->monitor_id / 32) * 8, ch->monitor_id % 32);
		return;
	}
	if (!ch->dedicated_interrupt)
		set_bit_atomic(send_int_page, ch->relid);
	st = hv_signal_event(ch->conn_id);
	if (st && signal_errors++ < 4)
		note("HvSignalEvent relid %u conn 0x%x: status %u (%s)", ch->relid, ch->conn_id, st,
		     hv_status_name(st));
}

/* vmbus_sendpacket() -> hv_ringbuffer_write(): descriptor, payload padded
 * to 8, trailer; never fill the ring completely; then
 * hv_signal_on_write(): signal only if the host's ring was empty and it
 * has not masked interrupts. */
int vmbus_sendpacket(struct vmbus_channel *ch, const void *data, uint32_t len, uint64_t trans_id)
{
	return vmbus_sendpacket_flags(ch, data, len, trans_id, 0);
}

int vmbus_sendpacket_flags(struct vmbus_channel *ch, const void *data, uint32_t len,
			   uint64_t trans_id, uint16_t flags)
{
	struct vmpacket_descriptor d;
	uint32_t pktlen = sizeof(d) + len, aligned = (uint32_t)ALIGN_UP(pktlen, 8);
	uint32_t size = ch->out_size, old = ch->out_write, write = old, read;
	uint64_t trailer = (uint64_t)old << 32;

	if (!ch->open || ch->broken || len > size)
		return -1;
	read = ch->out->read_index;
	if (read >= size || (read & 7)) {
		ring_broken(ch, "host wrote read_index 0x%x (size 0x%x)", read, size);
		return -1;
	}
	if (bytes_to_write(write, read, size) <= aligned + 8)
		return -1; /* -EAGAIN */
	d = (struct vmpacket_descriptor){
		.type = VM_PKT_DATA_INBAND,
		.offset8 = sizeof(d) >> 3,
		.len8 = (uint16_t)(aligned >> 3),
		.flags = flags,
		.trans_id = trans_id,
	};
	write = ring_put(ch->out_data, size, write, (const uint8_t *)&d, sizeof(d));
	write = ring_put(ch->out_data, size, write, data, len);
	write = ring_put(ch->out_data, size, write, (const uint8_t *)&trailer, 8);
	hv_mb(); /* the packet before the index */
	ch->out->write_index = write;
	ch->out_write = write;

	hv_mb();
	if (ch->out->interrupt_mask)
		return 0;
	asm volatile("" ::: "memory"); /* interrupt_mask before read_index */
	if (old == ch->out->read_index)
		vmbus_setevent(ch);
	return 0;
}

/* hv_pkt_iter_close(): publish the read index; signal the host if it is
 * waiting for room (pending_send_sz) and this read crossed its mark. */
static void iter_close(struct vmbus_channel *ch)
{
	uint32_t size = ch->in_size, start = ch->in_committed, pending, write, curr, bytes_read;

	asm volatile("" ::: "memory");
	ch->in->read_index = ch->in_read;
	ch->in_committed = ch->in_read;
	if (!(ch->in->feature_bits & 1))
		return;
	hv_mb();
	pending = ch->in->pending_send_sz;
	if (!pending)
		return;
	write = ch->in->write_index;
	if (write >= size)
		return;
	curr = bytes_to_write(write, ch->in_read, size);
	bytes_read = ch->in_read >= start ? ch->in_read - start : size - start + ch->in_read;
	if (curr - bytes_read > pending)
		return; /* there was room before this read */
	if (curr <= pending)
		return; /* still not enough */
	vmbus_setevent(ch);
}

/* hv_ringbuffer_read() with hv_pkt_iter_first()'s clamping of len8 and
 * offset8.  Unlike Linux, a packet larger than max is skipped rather
 * than left in the ring for ever, and one running past the write index
 * empties the ring. */
int vmbus_recvpacket(struct vmbus_channel *ch, void *buf, uint32_t max, uint32_t *len,
		     uint64_t *trans_id)
{
	struct vmpacket_descriptor d;
	uint32_t size = ch->in_size, read = ch->in_read, write, avail, pkt_len, off;

	if (!ch->open || ch->broken)
		return 0;
	write = ch->in->write_index; /* virt_load_acquire(): x86 loads are ordered */
	asm volatile("" ::: "memory");
	if (write >= size || (write & 7)) {
		ring_broken(ch, "host wrote write_index 0x%x (size 0x%x)", write, size);
		return 0;
	}
	avail = write >= read ? write - read : size - read + write;
	if (avail < sizeof(d))
		return 0;
	ring_get(ch->in_data, size, read, (uint8_t *)&d, sizeof(d));
	pkt_len = (uint32_t)d.len8 << 3;
	off = (uint32_t)d.offset8 << 3;
	ch->last_type = d.type;
	if (pkt_len < sizeof(d) || pkt_len > avail)
		pkt_len = avail;
	if (off < sizeof(d) || off > pkt_len)
		off = sizeof(d);
	if (pkt_len + 8 > avail) {
		note("relid %u: packet of %u bytes runs past the write index, ring emptied", ch->relid,
		     pkt_len);
		ch->in_read = write;
		iter_close(ch);
		return -1;
	}
	if (pkt_len - off > max) {
		note("relid %u: packet of %u bytes skipped (max %u)", ch->relid, pkt_len - off, max);
	} else {
		ring_get(ch->in_data, size, (read + off) % size, buf, pkt_len - off);
		*len = pkt_len - off;
		*trans_id = d.trans_id;
	}
	ch->in_read = (read + pkt_len + 8) % size;
	iter_close(ch);
	return pkt_len - off > max ? -1 : 1;
}

/* ---- channel management messages (channel_mgmt.c) ---- */

/* channel_message_table[].min_payload_len */
static const uint8_t min_len[CHANNELMSG_COUNT] = {
	[CHANNELMSG_OFFERCHANNEL] = sizeof(struct vmbus_msg_offer),
	[CHANNELMSG_RESCIND_CHANNELOFFER] = sizeof(struct vmbus_msg_relid),
	[CHANNELMSG_OPENCHANNEL_RESULT] = sizeof(struct vmbus_msg_open_result),
	[CHANNELMSG_GPADL_CREATED] = sizeof(struct vmbus_msg_gpadl_created),
	[CHANNELMSG_GPADL_TORNDOWN] = sizeof(struct vmbus_msg_gpadl_torndown),
	[CHANNELMSG_VERSION_RESPONSE] = sizeof(struct vmbus_msg_version_response),
	[CHANNELMSG_MODIFYCHANNEL_RESPONSE] = 16,
};

/* vmbus_onoffer() + vmbus_setup_channel_state() */
static void on_offer(const struct vmbus_msg_offer *o)
{
	struct vmbus_channel *ch;
	char type[37], inst[37];
	uint32_t relid = o->child_relid;

	vmbus_format_guid(&o->if_type, type);
	vmbus_format_guid(&o->if_instance, inst);
	kprintf("vmbus: offer %s relid %u instance %s conn 0x%x%s\n", type, relid, inst,
		o->connection_id, (o->monitor_flags & VMBUS_OFFER_MONITOR_ALLOCATED) ? " monitored" : "");
	if (!relid || relid > VMBUS_MAX_RELID) {
		note("offer with relid %u ignored", relid);
		return;
	}
	if (vmbus_find_channel(relid)) {
		note("second offer for relid %u ignored", relid);
		return;
	}
	if (vmbus_nchannels == VMBUS_MAX_CHANNELS) {
		note("more than %u offers, relid %u ignored", VMBUS_MAX_CHANNELS, relid);
		return;
	}
	ch = &vmbus_channels[vmbus_nchannels++];
	hv_zero(ch, sizeof(*ch));
	ch->relid = relid;
	ch->conn_id = o->connection_id;
	ch->monitor_id = o->monitorid;
	ch->monitor_allocated = o->monitor_flags & VMBUS_OFFER_MONITOR_ALLOCATED;
	ch->dedicated_interrupt = o->interrupt_flags & VMBUS_OFFER_DEDICATED_INTERRUPT;
	ch->type = o->if_type;
	ch->instance = o->if_instance;
	ch->mmio_megabytes = o->mmio_megabytes;
	ch->ic = ic_kind_of(&o->if_type);
}

static void finish_pending(uint32_t len)
{
	vmbus_reply_len = len;
	pend.done = true;
	pend.want = 0;
}

/* vmbus_onoffer_rescind(): stop using the channel (vmbus_close_internal()
 * sends CLOSECHANNEL for an open one), then hv_process_channel_removal()
 * -> vmbus_release_relid(). */
static void on_rescind(uint32_t relid)
{
	struct vmbus_channel *ch = vmbus_find_channel(relid);
	struct vmbus_msg_relid m = { .child_relid = relid };

	kprintf("vmbus: rescind relid %u\n", relid);
	if (!ch || ch->rescinded) {
		note("rescind of unknown relid %u ignored", relid);
		return;
	}
	ch->rescinded = true;
	if (pend.want && pend.relid == relid)
		finish_pending(0);
	if (ch->open) {
		ch->open = false;
		m.hdr.msgtype = CHANNELMSG_CLOSECHANNEL;
		vmbus_post_msg(&m, sizeof(m));
	}
	m.hdr.msgtype = CHANNELMSG_RELID_RELEASED;
	vmbus_post_msg(&m, sizeof(m));
}

static bool reply_matches(uint32_t type, uint32_t len)
{
	const uint8_t *p = msgbuf;

	if (!pend.want || pend.done || pend.want != type)
		return false;
	switch (type) {
	case CHANNELMSG_OPENCHANNEL_RESULT: /* vmbus_onopen_result() */
	case CHANNELMSG_GPADL_CREATED:      /* vmbus_ongpadl_created() */
		return (pend.relid == VMBUS_ANY || rd32(p + 8) == pend.relid) &&
		       (pend.id == VMBUS_ANY || rd32(p + 12) == pend.id);
	case CHANNELMSG_GPADL_TORNDOWN:     /* vmbus_ongpadl_torndown() */
		return pend.id == VMBUS_ANY || rd32(p + 8) == pend.id;
	default:                            /* VERSION_RESPONSE, UNLOAD_RESPONSE */
		(void)len;
		return true;
	}
}

/* vmbus_on_msg_dpc(): check the type and size, then dispatch. */
static void on_channel_message(uint32_t len)
{
	uint32_t type = rd32(msgbuf);

	if (type >= CHANNELMSG_COUNT) {
		note("message type %u from the host ignored", type);
		return;
	}
	if (len < min_len[type]) {
		note("message type %u of %u bytes (< %u) ignored", type, len, min_len[type]);
		return;
	}
	switch (type) {
	case CHANNELMSG_OFFERCHANNEL:
		on_offer((const struct vmbus_msg_offer *)msgbuf);
		return;
	case CHANNELMSG_RESCIND_CHANNELOFFER:
		on_rescind(rd32(msgbuf + 8));
		return;
	case CHANNELMSG_ALLOFFERS_DELIVERED:
		if (!vmbus_offers_done)
			kprintf("vmbus: all offers delivered (%u channels)\n", vmbus_nchannels);
		vmbus_offers_done = true;
		return;
	case CHANNELMSG_OPENCHANNEL_RESULT:
	case CHANNELMSG_GPADL_CREATED:
	case CHANNELMSG_GPADL_TORNDOWN:
	case CHANNELMSG_VERSION_RESPONSE:
	case CHANNELMSG_UNLOAD_RESPONSE:
		if (reply_matches(type, len)) {
			memcpy(vmbus_reply, msgbuf, sizeof(vmbus_reply));
			finish_pending(len ? len : 1);
		} else {
			note("unexpected message type %u (%u bytes, 0x%x 0x%x) ignored", type, len,
			     rd32(msgbuf + 8), rd32(msgbuf + 12));
		}
		return;
	default: /* no handler in Linux's table either */
		note("message type %u from the host ignored", type);
		return;
	}
}

/* One message from the SINT2 slot: copy it out, free the slot
 * (vmbus_signal_eom()), handle the copy. */
static void take_message(volatile struct hv_message *m, uint32_t type)
{
	uint32_t size = m->header.payload_size;
	uint32_t len = size > HV_MESSAGE_PAYLOAD_BYTE_COUNT ? HV_MESSAGE_PAYLOAD_BYTE_COUNT : size;

	asm volatile("" ::: "memory");
	for (uint32_t i = 0; i < sizeof(msgbuf); i++)
		msgbuf[i] = i < len ? m->payload[i] : 0;
	hv_signal_eom(m, type);
	if (type != 1) {
		note("SynIC message type 0x%x ignored", type);
		return;
	}
	if (size > HV_MESSAGE_PAYLOAD_BYTE_COUNT) {
		note("SynIC message payload_size %u ignored", size);
		return;
	}
	on_channel_message(len);
}

static void channel_callback(struct vmbus_channel *ch)
{
	if (ch->ic != IC_NONE)
		ic_on_channel(ch);
	else if (ch->callback)
		ch->callback(ch);
}

bool vmbus_service(void)
{
	volatile struct hv_message *m = hv_msg_slot();
	volatile uint64_t *ev = hv_event_flags();
	bool did = false;

	/* vmbus_isr() -> vmbus_on_msg_dpc() */
	for (unsigned n = 0; n < 64; n++) {
		uint32_t type = m->header.message_type;

		if (type == HVMSG_NONE)
			break;
		take_message(m, type);
		did = true;
	}
	/* vmbus_isr() -> vmbus_chan_sched(): the SIEF flags of SINT2 */
	for (uint32_t w = 0; w < (VMBUS_MAX_RELID + 1) / 64; w++) {
		uint64_t bits;

		if (!ev[w])
			continue;
		bits = __atomic_exchange_n((uint64_t *)&ev[w], 0, __ATOMIC_SEQ_CST);
		for (uint32_t b = 0; bits; b++, bits >>= 1) {
			struct vmbus_channel *ch;

			if (!(bits & 1) || (w == 0 && b == 0))
				continue;
			ch = vmbus_find_channel(w * 64 + b);
			if (ch && ch->open && !ch->broken) {
				events++;
				channel_callback(ch);
				did = true;
			} else {
				stray_events++;
			}
		}
	}
	/* Fallback: a ring with data but no event (or a late one). */
	for (unsigned i = 0; i < vmbus_nchannels; i++) {
		struct vmbus_channel *ch = &vmbus_channels[i];

		if (vmbus_ring_has_data(ch)) {
			channel_callback(ch);
			did = true;
		}
	}
	return did;
}

static bool work_pending(void)
{
	volatile uint64_t *ev = hv_event_flags();

	if (hv_msg_slot()->header.message_type != HVMSG_NONE)
		return true;
	for (uint32_t w = 0; w < (VMBUS_MAX_RELID + 1) / 64; w++)
		if (ev[w])
			return true;
	for (unsigned i = 0; i < vmbus_nchannels; i++)
		if (vmbus_ring_has_data(&vmbus_channels[i]))
			return true;
	return false;
}

static bool wait_until(bool (*cond)(void), uint64_t timeout_ms)
{
	uint64_t t0 = rdtsc(), limit = hv_ms_to_tsc(timeout_ms);

	for (;;) {
		vmbus_service();
		if (cond())
			return true;
		if (rdtsc() - t0 > limit)
			return false;
		hv_idle(work_pending);
	}
}

static bool never(void)
{
	return false;
}

void vmbus_settle(uint64_t ms)
{
	wait_until(never, ms);
}

void vmbus_expect(uint32_t want, uint32_t relid, uint32_t id)
{
	pend.want = want;
	pend.relid = relid;
	pend.id = id;
	pend.done = false;
	vmbus_reply_len = 0;
}

bool vmbus_reply_done(void)
{
	return pend.done;
}

bool vmbus_wait_reply(uint64_t timeout_ms, const char *what)
{
	if (!pend.done && !wait_until(vmbus_reply_done, timeout_ms)) {
		pend.want = 0;
		if (what)
			vmbus_fail("timeout waiting for %s", what);
		return false;
	}
	return vmbus_reply_len != 0;
}

/* connection.c vmbus_connect() / vmbus_negotiate_version(). */
void vmbus_connect(void)
{
	static const uint32_t versions[] = {
		VMBUS_VERSION(5, 2), VMBUS_VERSION(5, 1), VMBUS_VERSION(5, 0),
		VMBUS_VERSION(4, 1), VMBUS_VERSION(4, 0), VMBUS_VERSION(3, 0),
	};

	if (!int_page) {
		int_page = hv_alloc_pages(1);
		monitor_pages[0] = hv_alloc_pages(1);
		monitor_pages[1] = hv_alloc_pages(1);
		if (!int_page || !monitor_pages[0] || !monitor_pages[1])
			vmbus_fail("no memory for the interrupt and monitor pages");
	}
	/* A new contact starts from nothing (the host resets the bus). */
	vmbus_nchannels = 0;
	vmbus_offers_done = false;
	vmbus_version = 0;
	ic_reset();

	for (unsigned i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		uint32_t v = versions[i];
		struct vmbus_msg_initiate_contact m = {
			.hdr.msgtype = CHANNELMSG_INITIATE_CONTACT,
			.vmbus_version_requested = v,
			.target_vcpu = hv.vp_index, /* hv_cpu_number_to_vp_number(VMBUS_CONNECT_CPU) */
			.monitor_page1 = hv_gpa(monitor_pages[0]),
			.monitor_page2 = hv_gpa(monitor_pages[1]),
		};
		const struct vmbus_msg_version_response *r = (const void *)vmbus_reply;
		uint16_t st;

		if (v >= VERSION_WIN10_V5) {
			m.interrupt_page = HV_VMBUS_SINT; /* msg_sint = 2, msg_vtl = 0 */
			vmbus_msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID_4;
		} else {
			m.interrupt_page = hv_gpa(int_page);
			vmbus_msg_conn_id = VMBUS_MESSAGE_CONNECTION_ID;
		}
		vmbus_expect(CHANNELMSG_VERSION_RESPONSE, VMBUS_ANY, VMBUS_ANY);
		st = vmbus_post_msg(&m, sizeof(m));
		if (st == HV_STATUS_INVALID_HYPERCALL_CODE)
			vmbus_fail("INITIATE_CONTACT: HvPostMessage status 2 (invalid hypercall code): no VMBus host");
		if (st) {
			kprintf("vmbus: version %u.%u: HvPostMessage status %u (%s)\n", v >> 16, v & 0xffff,
				st, hv_status_name(st));
			continue;
		}
		vmbus_wait_reply(30000, "VERSION_RESPONSE");
		if (r->version_supported) {
			vmbus_version = v;
			if (v >= VERSION_WIN10_V5)
				vmbus_msg_conn_id = r->msg_conn_id;
			kprintf("vmbus: version %u.%u\n", v >> 16, v & 0xffff);
			kprintf("vmbus: msg conn id %u\n", vmbus_msg_conn_id);
			return;
		}
		kprintf("vmbus: version %u.%u refused\n", v >> 16, v & 0xffff);
	}
	vmbus_fail("no VMBus version accepted");
}

static bool offers_done(void)
{
	return vmbus_offers_done;
}

/* channel_mgmt.c vmbus_request_offers() */
void vmbus_request_offers(void)
{
	struct vmbus_msg_header h = { .msgtype = CHANNELMSG_REQUESTOFFERS };

	vmbus_offers_done = false;
	post_or_fail(&h, sizeof(h), "REQUESTOFFERS");
	if (!wait_until(offers_done, 30000))
		vmbus_fail("timeout waiting for ALLOFFERS_DELIVERED");
}

/* channel.c create_gpadl_header() + __vmbus_establish_gpadl(). */
uint32_t vmbus_establish_gpadl(uint32_t relid, uint64_t gpa, uint32_t npages, uint32_t handle,
			       uint64_t timeout_ms, const char *what)
{
	uint64_t buf[HV_MESSAGE_PAYLOAD_BYTE_COUNT / 8];
	struct vmbus_msg_gpadl_header *h = (void *)buf;
	struct vmbus_msg_gpadl_body *b = (void *)buf;
	uint64_t pfn = gpa >> 12;
	uint32_t n = npages < VMBUS_GPADL_HEADER_PFNS ? npages : VMBUS_GPADL_HEADER_PFNS;
	uint16_t st;

	hv_zero(buf, sizeof(buf));
	h->hdr.msgtype = CHANNELMSG_GPADL_HEADER;
	h->child_relid = relid;
	h->gpadl = handle;
	h->rangecount = 1;
	h->range_buflen = (uint16_t)(8 + 8 * npages);
	h->byte_offset = 0;
	h->byte_count = npages * 4096;
	for (uint32_t i = 0; i < n; i++)
		h->pfn[i] = pfn + i;
	vmbus_expect(CHANNELMSG_GPADL_CREATED, relid, handle);
	st = vmbus_post_msg(h, sizeof(*h) + 8 * n);
	for (uint32_t done = n; !st && done < npages;) {
		uint32_t k = npages - done < VMBUS_GPADL_BODY_PFNS ? npages - done : VMBUS_GPADL_BODY_PFNS;

		hv_zero(buf, sizeof(buf));
		b->hdr.msgtype = CHANNELMSG_GPADL_BODY;
		b->gpadl = handle; /* msgnumber stays 0, as in Linux */
		for (uint32_t i = 0; i < k; i++)
			b->pfn[i] = pfn + done + i;
		st = vmbus_post_msg(b, sizeof(*b) + 8 * k);
		done += k;
	}
	if (st) {
		pend.want = 0;
		if (what)
			vmbus_fail("%s: HvPostMessage status %u (%s)", what, st, hv_status_name(st));
		return VMBUS_ANY;
	}
	if (!vmbus_wait_reply(timeout_ms, what))
		return VMBUS_ANY;
	return rd32(vmbus_reply + 16); /* creation_status */
}

/* vmbus_open() as util_probe() calls it: rings of IC_RING_PAGES per
 * direction in one GPADL (the guest->host ring first), OPENCHANNEL to our
 * VP, then hv_ringbuffer_init() state with feat_pending_send_sz. */
static void open_ic(struct vmbus_channel *ch)
{
	static uint8_t *ring_pages[IC_COUNT];
	const char *name = vmbus_ic_name(ch->ic);
	struct vmbus_msg_open m = { .hdr.msgtype = CHANNELMSG_OPENCHANNEL };
	const struct vmbus_msg_open_result *r = (const void *)vmbus_reply;
	uint8_t *p = ring_pages[ch->ic];
	uint32_t st;

	if (p)
		hv_zero(p, 2 * IC_RING_PAGES * 4096);
	else
		p = ring_pages[ch->ic] = hv_alloc_pages(2 * IC_RING_PAGES);
	if (!p)
		vmbus_fail("no memory for the %s rings", name);
	ch->gpadl = vmbus_next_gpadl();
	st = vmbus_establish_gpadl(ch->relid, hv_gpa(p), 2 * IC_RING_PAGES, ch->gpadl, 30000,
				   "GPADL_CREATED");
	if (st)
		vmbus_fail("%s relid %u: GPADL 0x%x refused: status 0x%x", name, ch->relid, ch->gpadl, st);

	ch->out = (volatile struct hv_ring_buffer *)p;
	ch->out_data = p + RING_HEADER_SIZE;
	ch->out_size = (IC_RING_PAGES - 1) * 4096;
	ch->in = (volatile struct hv_ring_buffer *)(p + IC_RING_PAGES * 4096);
	ch->in_data = p + IC_RING_PAGES * 4096 + RING_HEADER_SIZE;
	ch->in_size = (IC_RING_PAGES - 1) * 4096;
	ch->out->feature_bits = 1;
	ch->in->feature_bits = 1;
	ch->out_write = ch->in_read = ch->in_committed = 0;
	/* vmbus_recvpacket() buffer: a page, four for KVP (hv_kvp_init()). */
	ch->max_pkt = ch->ic == IC_KVP ? ch->in_size : 4096;

	m.child_relid = ch->relid;
	m.openid = ch->relid;
	m.ringbuffer_gpadlhandle = ch->gpadl;
	m.target_vp = hv.vp_index;
	m.downstream_ringbuffer_pageoffset = IC_RING_PAGES;
	vmbus_expect(CHANNELMSG_OPENCHANNEL_RESULT, ch->relid, ch->relid);
	post_or_fail(&m, sizeof(m), "OPENCHANNEL");
	if (!vmbus_wait_reply(30000, "OPENCHANNEL_RESULT"))
		vmbus_fail("%s relid %u rescinded while opening", name, ch->relid);
	if (r->status)
		vmbus_fail("%s relid %u: OPENCHANNEL refused: status 0x%x", name, ch->relid, r->status);
	ch->open = true;
	kprintf("vmbus: open %s relid %u\n", name, ch->relid);
}

void vmbus_open_ics(void)
{
	for (int k = 0; k < IC_COUNT; k++) {
		struct vmbus_channel *ch = vmbus_find_ic(k);

		if (!ch)
			vmbus_fail("no %s offer", vmbus_ic_name(k));
		open_ic(ch);
	}
	kprintf("vmbus: interrupts: sint2 %llu timer %llu\n", (unsigned long long)hv_vmbus_irqs,
		(unsigned long long)hv_timer_irqs);
	kprintf("vmbus: ready\n");
}

static bool shutdown_drained(void)
{
	struct vmbus_channel *ch = vmbus_find_ic(IC_SHUTDOWN);

	return !ch || vmbus_out_drained(ch);
}

/* After answering a shutdown request (hv_util.c schedules
 * orderly_poweroff()): give the host a second to read the answer. */
static __noreturn void finish_shutdown(void)
{
	wait_until(shutdown_drained, 1000);
	if (ic_restart_pending)
		acpi_reset(vmbus_cfg->acpi);
	acpi_power_off(vmbus_cfg->acpi);
}

void vmbus_main(const struct vmbus_config *cfg)
{
	vmbus_cfg = cfg;
	vmbus_nchannels = 0;
	hv.ram_end = cfg->ram_end;
	hv_pool_init(cfg->mem_base, cfg->mem_size);
	if (!hv_init())
		vmbus_fail("no usable Hyper-V interface");
	hv_synic_init();
	vmbus_connect();
	vmbus_request_offers();
	vmbus_open_ics();
	if (cfg->hostile)
		vmbus_hostile();
	if (cfg->bench)
		vmbus_bench();
	if (cfg->desktop)
		desktop_main(cfg->desktop);
	for (;;) {
		vmbus_service();
		if (ic_shutdown_pending || ic_restart_pending)
			finish_shutdown();
		hv_idle(work_pending);
	}
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The VMBus host: channel management as Linux's hv_vmbus expects it
 * (drivers/hv/connection.c, channel_mgmt.c, channel.c; layouts in
 * vmbus-proto.h), GPADLs, and the glue between the channels' rings
 * (vmbus-ring.c) and the devices.
 *
 * Everything in a message is the guest's: each message is copied once into
 * a local buffer, checked for its type's size, and every relid, GPADL
 * handle, PFN, page count and VP index in it is checked before use.  What
 * is refused is counted (hv_vmbus_errors()), logged rate-limited, and
 * answered with a failure status where the protocol has one, because the
 * guest waits for most answers without a timeout (research §1.E-F).
 *
 * Devices' callbacks may call back into the bus (send, or remove their own
 * channel, even from ->close()).  A channel is therefore never freed while
 * one of its callbacks runs (cb_depth); the free is deferred to its end.
 */
#include "vmbus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "vmbus-proto.h"

LOG_SCOPE("hv.vmbus");

#define PAGE_SIZE_4K 4096u
#define DEFAULT_MAX_PACKET 4096u
/* Room in a channel's receive buffer beyond the largest payload: the
 * descriptor and the page ranges of GPA-direct packets. */
#define PKT_HEADROOM 4096u
/* The largest max_packet a device may ask for. */
#define MAX_MAX_PACKET (1u << 20)
#define SINT_COUNT 16u

/* A GPADL, live or still being assembled from GPADL_BODY messages. */
struct hv_vmbus_gpadl {
	uint32_t handle;
	uint32_t relid;
	uint32_t npages;      /* PFNs the header announced */
	uint32_t have;        /* PFNs received so far */
	uint32_t byte_offset; /* of the data in the first page */
	uint32_t byte_count;
	bool complete;        /* GPADL_CREATED (success) was sent */
	bool failed;          /* a PFN is not RAM: fails once complete */
	bool in_use;          /* the rings of an open channel */
	bool teardown_pending; /* TORNDOWN goes out when the channel closes */
	uint64_t pfns[];
};

struct hv_vmbus_channel {
	struct hv_vmbus *vb;
	uint32_t relid;
	struct hv_vmbus_offer offer;
	/* NULL once hv_vmbus_remove_device() ran: the channel is then only a
	 * relid waiting for the guest's RELID_RELEASED. */
	const struct hv_vmbus_device_ops *ops;
	void *data;

	bool offered;     /* the guest got OFFERCHANNEL since the last reset */
	bool offer_pending; /* hot-added while its predecessor awaits RELID_RELEASED */
	bool open;        /* rings set up */
	bool killed;      /* we closed it for a protocol violation; the guest has not */
	bool kill_pending; /* the host->guest ring broke during a send */
	bool blocked;     /* a send said -EAGAIN */
	uint32_t blocked_len;
	uint32_t target_vp;
	uint32_t ring_gpadl;
	struct hv_ring in;  /* guest->host */
	struct hv_ring out; /* host->guest */
	/* Packets are copied here for ->packet(); it lives as long as the
	 * channel, so a device may close or remove it while it looks at one. */
	uint8_t *buf;
	size_t buf_size;

	unsigned cb_depth; /* device callbacks running on this channel */
	bool free_pending;
};

struct hv_vmbus {
	const struct hv_guest_mem *mem;
	const struct hv_vmbus_host_ops *ops;
	void *data;
	uint32_t nvps;

	enum hv_vmbus_state state;
	uint32_t version;
	/* Where messages go: INITIATE_CONTACT's target_vcpu and msg_sint. */
	uint32_t vp;
	uint32_t sint;

	struct hv_vmbus_channel *chans[HV_VMBUS_MAX_RELID + 1];
	struct hv_vmbus_gpadl *gpadls[HV_VMBUS_MAX_GPADLS];
	uint32_t ngpadls;
	uint64_t gpadl_pages;
	bool kill_pending;

	uint64_t errors;
	uint64_t post_failures;
	uint64_t notices;
};

/* A guest must not be able to flood the host log: the first 10 lines of a
 * kind, then every 1000th. */
static bool ratelimit_ok(uint64_t n)
{
	return n <= 10 || n % 1000 == 0;
}

/* Refused guest input: counted, and logged rate-limited. */
#define bad_input(vb, fmt, ...) \
	do { \
		struct hv_vmbus *_bi_vb = (vb); \
		if (ratelimit_ok(++_bi_vb->errors)) \
			log_warn("bad guest input (#%" PRIu64 "): " fmt, _bi_vb->errors, \
				 ##__VA_ARGS__); \
	} while (0)

/* Unusual but legitimate guest behaviour, rate-limited as well. */
#define notice(vb, fmt, ...) \
	do { \
		struct hv_vmbus *_n_vb = (vb); \
		if (ratelimit_ok(++_n_vb->notices)) \
			log_info(fmt, ##__VA_ARGS__); \
	} while (0)

static const char *const state_names[] = {
	[HV_VMBUS_DISCONNECTED] = "disconnected",
	[HV_VMBUS_CONNECTED] = "connected",
	[HV_VMBUS_OFFERED] = "offered",
	[HV_VMBUS_UNLOADED] = "unloaded",
};

const char *hv_vmbus_state_to_string(enum hv_vmbus_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unknown";
}

/* GUIDs */

/* Byte order of the text's 16 hex pairs in guid_t: the first three
 * fields are little-endian (include/linux/uuid.h GUID_INIT). */
static const uint8_t guid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hv_guid_parse(const char *s, struct hv_guid *ret)
{
	struct hv_guid g;
	unsigned pos = 0;

	if (!s || !ret)
		return -EINVAL;
	for (unsigned i = 0; i < 16; i++) {
		int hi, lo;

		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (s[pos] != '-')
				return -EINVAL;
			pos++;
		}
		hi = hexval(s[pos]);
		if (hi < 0)
			return -EINVAL;
		lo = hexval(s[pos + 1]);
		if (lo < 0)
			return -EINVAL;
		g.b[guid_order[i]] = (uint8_t)(hi << 4 | lo);
		pos += 2;
	}
	if (s[pos] != '\0')
		return -EINVAL;
	*ret = g;
	return 0;
}

void hv_guid_format(const struct hv_guid *g, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned pos = 0;

	for (unsigned i = 0; i < 16; i++) {
		uint8_t b = g->b[guid_order[i]];

		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[pos++] = '-';
		out[pos++] = hex[b >> 4];
		out[pos++] = hex[b & 15];
	}
	out[pos] = '\0';
}

/* Talking to the guest */

static uint32_t msgtype_of(const void *msg)
{
	uint32_t t;

	memcpy(&t, msg, sizeof(t));
	return t;
}

static void post(struct hv_vmbus *vb, const void *msg, size_t len)
{
	int r = vb->ops->post_message(vb->data, vb->vp, vb->sint, msg, len);

	if (r < 0 && ratelimit_ok(++vb->post_failures))
		log_warn("cannot post message type %u to VP %u SINT %u (#%" PRIu64 "): %s",
			 msgtype_of(msg), vb->vp, vb->sint, vb->post_failures, strerror(-r));
}

static void signal_guest(struct hv_vmbus_channel *ch)
{
	struct hv_vmbus *vb = ch->vb;
	int r = vb->ops->signal_event(vb->data, ch->target_vp, vb->sint, ch->relid);

	if (r < 0 && ratelimit_ok(++vb->post_failures))
		log_warn("cannot signal relid %u on VP %u (#%" PRIu64 "): %s", ch->relid,
			 ch->target_vp, vb->post_failures, strerror(-r));
}

static void send_open_result(struct hv_vmbus *vb, uint32_t relid, uint32_t openid,
			     uint32_t status)
{
	struct hv_vmbus_msg_open_result m = {
		.hdr.msgtype = HV_CHANNELMSG_OPENCHANNEL_RESULT,
		.child_relid = relid,
		.openid = openid,
		.status = status,
	};

	post(vb, &m, sizeof(m));
}

static void send_gpadl_created(struct hv_vmbus *vb, uint32_t relid, uint32_t gpadl,
			       uint32_t status)
{
	struct hv_vmbus_msg_gpadl_created m = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_CREATED,
		.child_relid = relid,
		.gpadl = gpadl,
		.creation_status = status,
	};

	post(vb, &m, sizeof(m));
}

static void send_gpadl_torndown(struct hv_vmbus *vb, uint32_t gpadl)
{
	struct hv_vmbus_msg_gpadl_torndown m = {
		.hdr.msgtype = HV_CHANNELMSG_GPADL_TORNDOWN,
		.gpadl = gpadl,
	};

	post(vb, &m, sizeof(m));
}

static void send_version_response(struct hv_vmbus *vb, bool ok)
{
	struct hv_vmbus_msg_version_response m = {
		.hdr.msgtype = HV_CHANNELMSG_VERSION_RESPONSE,
		.version_supported = ok,
		.connection_state = 0,
		.msg_conn_id = HV_VMBUS_MESSAGE_CONNECTION_ID_4,
	};

	post(vb, &m, sizeof(m));
}

static void send_modify_response(struct hv_vmbus *vb, uint32_t relid, uint32_t status)
{
	struct hv_vmbus_msg_modifychannel_response m = {
		.hdr.msgtype = HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE,
		.child_relid = relid,
		.status = status,
	};

	/* Only 5.3 guests wait for it (vmbus_send_modifychannel()). */
	if (vb->version >= HV_VMBUS_VERSION_WIN10_V5_3)
		post(vb, &m, sizeof(m));
}

static void send_offer(struct hv_vmbus *vb, struct hv_vmbus_channel *ch)
{
	const struct hv_vmbus_offer *o = &ch->offer;
	struct hv_vmbus_msg_offer m = {
		.hdr.msgtype = HV_CHANNELMSG_OFFERCHANNEL,
		.chn_flags = o->chn_flags,
		.mmio_megabytes = o->mmio_megabytes,
		.sub_channel_index = o->sub_channel_index,
		.child_relid = ch->relid,
		/* No monitor page: the guest always signals with
		 * HvSignalEvent on connection_id (research §1.G.29). */
		.monitorid = 0,
		.monitor_flags = 0,
		.interrupt_flags = HV_VMBUS_OFFER_DEDICATED_INTERRUPT,
		.connection_id = HV_VMBUS_EVENT_CONNECTION_BASE + ch->relid,
	};

	memcpy(m.if_type, o->if_type.b, sizeof(m.if_type));
	memcpy(m.if_instance, o->if_instance.b, sizeof(m.if_instance));
	memcpy(m.user_def, o->user_def, sizeof(m.user_def));
	post(vb, &m, sizeof(m));
	ch->offered = true;
}

static bool same_primary(const struct hv_vmbus_offer *a, const struct hv_vmbus_offer *b)
{
	return !a->sub_channel_index && !b->sub_channel_index &&
	       !memcmp(&a->if_type, &b->if_type, sizeof(a->if_type)) &&
	       !memcmp(&a->if_instance, &b->if_instance, sizeof(a->if_instance));
}

/*
 * Whether the guest still holds a rescinded channel with this offer's type
 * and instance: 6.1 would take a new offer for it as a channel coming back
 * from hibernation (channel_mgmt.c vmbus_onoffer(),
 * find_primary_channel_by_offer()), so it waits for RELID_RELEASED.
 */
static bool offer_blocked(struct hv_vmbus *vb, const struct hv_vmbus_offer *offer)
{
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		const struct hv_vmbus_channel *o = vb->chans[i];

		if (o && !o->ops && o->offered && same_primary(&o->offer, offer))
			return true;
	}
	return false;
}

/* Hot-added channels whose predecessor's relid the guest released. */
static void offer_pending(struct hv_vmbus *vb)
{
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (ch && ch->ops && ch->offer_pending && !offer_blocked(vb, &ch->offer)) {
			ch->offer_pending = false;
			send_offer(vb, ch);
		}
	}
}

/* GPADLs */

static struct hv_vmbus_gpadl *gpadl_find(struct hv_vmbus *vb, uint32_t handle)
{
	for (uint32_t i = 0; i < vb->ngpadls; i++)
		if (vb->gpadls[i]->handle == handle)
			return vb->gpadls[i];
	return NULL;
}

static void gpadl_free(struct hv_vmbus *vb, struct hv_vmbus_gpadl *g)
{
	for (uint32_t i = 0; i < vb->ngpadls; i++) {
		if (vb->gpadls[i] != g)
			continue;
		vb->gpadls[i] = vb->gpadls[--vb->ngpadls];
		vb->gpadls[vb->ngpadls] = NULL;
		break;
	}
	vb->gpadl_pages -= g->npages;
	free(g);
}

static void gpadl_free_all(struct hv_vmbus *vb)
{
	while (vb->ngpadls)
		gpadl_free(vb, vb->gpadls[vb->ngpadls - 1]);
}

/* GPADLs of a relid the guest released, unless an open channel uses them. */
static void gpadl_free_relid(struct hv_vmbus *vb, uint32_t relid)
{
	for (uint32_t i = 0; i < vb->ngpadls;) {
		struct hv_vmbus_gpadl *g = vb->gpadls[i];

		if (g->relid == relid && !g->in_use)
			gpadl_free(vb, g); /* the last one moved into slot i */
		else
			i++;
	}
}

static bool pfn_ok(const struct hv_vmbus *vb, uint64_t pfn)
{
	return pfn <= UINT64_MAX >> 12 && hv_gpa_to_host(vb->mem, pfn << 12, PAGE_SIZE_4K);
}

/* Append n PFNs from a message (src need not be aligned). */
static void gpadl_add_pfns(struct hv_vmbus *vb, struct hv_vmbus_gpadl *g, const void *src,
			   uint32_t n)
{
	memcpy(&g->pfns[g->have], src, (size_t)n * sizeof(uint64_t));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pfn = g->pfns[g->have + i];

		if (!g->failed && !pfn_ok(vb, pfn)) {
			bad_input(vb, "GPADL %#x: PFN %#" PRIx64 " (page %u) is not guest RAM",
				  g->handle, pfn, g->have + i);
			g->failed = true;
		}
	}
	g->have += n;
}

/* All PFNs are in: answer GPADL_CREATED (channel.c waits for it after
 * posting every body). */
static void gpadl_finish(struct hv_vmbus *vb, struct hv_vmbus_gpadl *g)
{
	if (g->failed) {
		send_gpadl_created(vb, g->relid, g->handle, HV_VMBUS_STATUS_FAILURE);
		gpadl_free(vb, g);
		return;
	}
	g->complete = true;
	send_gpadl_created(vb, g->relid, g->handle, 0);
}

/* Channels */

static struct hv_vmbus_channel *chan_get(struct hv_vmbus *vb, uint32_t relid)
{
	return relid && relid <= HV_VMBUS_MAX_RELID ? vb->chans[relid] : NULL;
}

/* A channel the guest may use: a live device, offered. */
static struct hv_vmbus_channel *chan_offered(struct hv_vmbus *vb, uint32_t relid)
{
	struct hv_vmbus_channel *ch = chan_get(vb, relid);

	return ch && ch->ops && ch->offered ? ch : NULL;
}

static const char *chan_name(const struct hv_vmbus_channel *ch)
{
	return ch->ops && ch->ops->name ? ch->ops->name : "-";
}

/* Tear down the rings; no callback.  Returns whether it was open. */
static bool chan_shut(struct hv_vmbus_channel *ch)
{
	struct hv_vmbus *vb = ch->vb;
	struct hv_vmbus_gpadl *g;

	if (!ch->open)
		return false;
	ch->open = false;
	ch->blocked = false;
	ch->kill_pending = false;
	hv_ring_fini(&ch->in);
	hv_ring_fini(&ch->out);
	g = gpadl_find(vb, ch->ring_gpadl);
	if (g && g->in_use) {
		g->in_use = false;
		/* A teardown that came while the rings were in use. */
		if (g->teardown_pending) {
			send_gpadl_torndown(vb, g->handle);
			gpadl_free(vb, g);
		}
	}
	return true;
}

static void relid_changed(struct hv_vmbus *vb, uint32_t relid, bool exists)
{
	if (vb->ops->relid_changed)
		vb->ops->relid_changed(vb->data, relid, exists);
}

static void chan_free(struct hv_vmbus_channel *ch)
{
	chan_shut(ch);
	ch->vb->chans[ch->relid] = NULL;
	relid_changed(ch->vb, ch->relid, false);
	free(ch->buf);
	free(ch);
}

/* Free now, or when the callback running on it returns.  true if freed. */
static bool chan_release(struct hv_vmbus_channel *ch)
{
	if (ch->cb_depth) {
		ch->free_pending = true;
		return false;
	}
	chan_free(ch);
	return true;
}

/* After a callback: true if the channel was freed meanwhile. */
static bool cb_done(struct hv_vmbus_channel *ch)
{
	if (--ch->cb_depth == 0 && ch->free_pending) {
		chan_free(ch);
		return true;
	}
	return false;
}

/* Close the rings and tell the device.  true if the channel is gone. */
static bool chan_close(struct hv_vmbus_channel *ch)
{
	if (!chan_shut(ch) || !ch->ops || !ch->ops->close)
		return false;
	ch->cb_depth++;
	ch->ops->close(ch, ch->data);
	return cb_done(ch);
}

/* The guest broke the protocol on this channel: close it on our side; the
 * guest gets nothing more on it until it closes and reopens. */
static bool chan_kill(struct hv_vmbus_channel *ch, const char *why)
{
	bad_input(ch->vb, "relid %u (%s): %s; closing the channel", ch->relid, chan_name(ch),
		  why);
	ch->killed = true;
	return chan_close(ch);
}

static void kill_pending_channels(struct hv_vmbus *vb)
{
	if (!vb->kill_pending)
		return;
	vb->kill_pending = false;
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (ch && ch->open && ch->kill_pending)
			chan_kill(ch, "corrupt host->guest ring");
	}
}

/* Close every channel, drop every GPADL and tombstone: the guest forgot
 * them all (new INITIATE_CONTACT, UNLOAD, VM reset). */
static void bus_reset(struct hv_vmbus *vb)
{
	/* GPADLs first: no TORNDOWN for deferred teardowns goes out. */
	gpadl_free_all(vb);
	vb->kill_pending = false;
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (!ch)
			continue;
		ch->offered = false;
		ch->offer_pending = false;
		ch->killed = false;
		if (!ch->ops)
			chan_release(ch);
		else
			chan_close(ch);
	}
	vb->state = HV_VMBUS_DISCONNECTED;
	vb->version = 0;
}

static void chan_check_writable(struct hv_vmbus_channel *ch)
{
	if (!ch->open || !ch->blocked || !hv_ring_write_space_ok(&ch->out, ch->blocked_len))
		return;
	ch->blocked = false;
	if (ch->ops && ch->ops->writable)
		ch->ops->writable(ch, ch->data);
}

/*
 * The guest signalled: offer room to a blocked sender, drain the
 * guest->host ring (the protocol in vmbus-ring.h, after hv_begin_read()/
 * hv_end_read() in include/linux/hyperv.h), and signal the guest if it
 * waits for room.  The guest can keep a drain going only by producing
 * packets, which is work for its own devices.  true if ch is gone.
 */
static bool chan_service(struct hv_vmbus_channel *ch)
{
	struct hv_vmbus *vb = ch->vb;
	struct hv_vmbus_packet pkt;
	int r;

	ch->cb_depth++;
	chan_check_writable(ch);
	while (ch->open) {
		hv_ring_read_begin(&ch->in);
		while (ch->open && (r = hv_ring_read(&ch->in, ch->buf, ch->buf_size, &pkt)) != 0) {
			if (r == -EMSGSIZE) {
				bad_input(vb, "relid %u (%s): packet over %zu bytes skipped",
					  ch->relid, chan_name(ch), ch->buf_size);
				continue;
			}
			if (r < 0) {
				chan_kill(ch, "corrupt guest->host ring");
				break;
			}
			if (pkt.len > ch->offer.max_packet) {
				bad_input(vb, "relid %u (%s): %u-byte packet over %u skipped",
					  ch->relid, chan_name(ch), pkt.len, ch->offer.max_packet);
				continue;
			}
			ch->ops->packet(ch, &pkt, ch->data);
		}
		if (!ch->open || !hv_ring_read_end(&ch->in))
			break;
	}
	if (ch->open && hv_ring_read_should_signal(&ch->in))
		signal_guest(ch);
	chan_check_writable(ch);
	return cb_done(ch);
}

/* Messages from the guest */

static int msg_initiate_contact(struct hv_vmbus *vb, const struct hv_vmbus_msg_initiate_contact *m)
{
	uint32_t v = m->vmbus_version_requested;
	uint32_t sint = HV_VMBUS_MESSAGE_SINT;
	bool ok;

	/* A new contact starts over (research §1.F.24, as QEMU does). */
	bus_reset(vb);
	/*
	 * Every version Linux 6.1 still knows (connection.c vmbus_versions[])
	 * up to 5.3, whose MODIFYCHANNEL_RESPONSE we send.  Not 1.1 and 0.13:
	 * their host->guest interrupts go through the shared interrupt page,
	 * which Linux dropped in 5.17 and we do not implement.
	 */
	switch (v) {
	case HV_VMBUS_VERSION_WIN10_V5_3:
	case HV_VMBUS_VERSION_WIN10_V5_2:
	case HV_VMBUS_VERSION_WIN10_V5_1:
	case HV_VMBUS_VERSION_WIN10_V5:
	case HV_VMBUS_VERSION_WIN10_RS3:
	case HV_VMBUS_VERSION_WIN10:
	case HV_VMBUS_VERSION_WIN8_1:
	case HV_VMBUS_VERSION_WIN8:
		ok = true;
		break;
	default:
		ok = false;
		notice(vb, "refusing VMBus version %u.%u", v >> 16, v & 0xffff);
		break;
	}
	/* From 5.0 the guest names the SINT; before, it is VMBUS_MESSAGE_SINT. */
	if (v >= HV_VMBUS_VERSION_WIN10_V5)
		sint = m->msg_sint;
	if (m->target_vcpu >= vb->nvps || sint >= SINT_COUNT) {
		bad_input(vb, "INITIATE_CONTACT: VP %u, SINT %u out of range", m->target_vcpu,
			  sint);
		vb->vp = 0;
		vb->sint = HV_VMBUS_MESSAGE_SINT;
		send_version_response(vb, false);
		return -EINVAL;
	}
	vb->vp = m->target_vcpu;
	vb->sint = sint;
	if (ok) {
		vb->state = HV_VMBUS_CONNECTED;
		vb->version = v;
		notice(vb, "guest connected: VMBus %u.%u, messages to VP %u SINT %u", v >> 16,
		       v & 0xffff, vb->vp, vb->sint);
	}
	send_version_response(vb, ok);
	return 0;
}

static int msg_request_offers(struct hv_vmbus *vb)
{
	if (vb->state != HV_VMBUS_CONNECTED) {
		bad_input(vb, "REQUESTOFFERS in state %s", hv_vmbus_state_to_string(vb->state));
		return -EPROTO;
	}
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (ch && ch->ops && !ch->offered)
			send_offer(vb, ch);
	}
	/* 6.1 ignores it; later kernels wait for it. */
	post(vb, &(struct hv_vmbus_msg_header){ .msgtype = HV_CHANNELMSG_ALLOFFERS_DELIVERED },
	     sizeof(struct hv_vmbus_msg_header));
	vb->state = HV_VMBUS_OFFERED;
	return 0;
}

static int msg_gpadl_header(struct hv_vmbus *vb, const struct hv_vmbus_msg_gpadl_header *m,
			    size_t len)
{
	struct hv_vmbus_gpadl *g;
	uint32_t npages, inline_pfns;
	uint64_t span, pages;
	int r = -EINVAL;

	/* __vmbus_establish_gpadl() matches the answer on (relid, gpadl). */
	if (!chan_offered(vb, m->child_relid)) {
		bad_input(vb, "GPADL_HEADER %#x for relid %u, which is not offered", m->gpadl,
			  m->child_relid);
		r = -ENOENT;
		goto fail;
	}
	/* Handle 0 means "no GPADL" in OPENCHANNEL and elsewhere; Linux
	 * numbers from 0xE1E10 (connection.c next_gpadl_handle). */
	if (!m->gpadl) {
		bad_input(vb, "GPADL_HEADER: handle 0");
		goto fail;
	}
	if (gpadl_find(vb, m->gpadl)) {
		bad_input(vb, "GPADL_HEADER: handle %#x is in use", m->gpadl);
		r = -EEXIST;
		goto fail;
	}
	/*
	 * create_gpadl_header(): one range, byte_offset 0, whole pages.  The
	 * page count comes from byte_count: range_buflen (8 + 8 per page) is
	 * 16 bits and wraps above 8190 pages, so it is only checked modulo
	 * 65536.
	 */
	span = (uint64_t)m->byte_offset + m->byte_count;
	pages = (span + PAGE_SIZE_4K - 1) / PAGE_SIZE_4K;
	if (m->rangecount != 1 || m->byte_offset >= PAGE_SIZE_4K || !m->byte_count ||
	    pages > HV_VMBUS_MAX_GPADL_PAGES || m->range_buflen != (uint16_t)(8 + 8 * pages)) {
		bad_input(vb, "GPADL_HEADER %#x: %u ranges, %u bytes at offset %u, range_buflen %u",
			  m->gpadl, m->rangecount, m->byte_count, m->byte_offset, m->range_buflen);
		goto fail;
	}
	npages = (uint32_t)pages;
	inline_pfns = (uint32_t)((len - sizeof(*m)) / sizeof(uint64_t));
	if (inline_pfns > npages) {
		bad_input(vb, "GPADL_HEADER %#x: %u PFNs for %u pages", m->gpadl, inline_pfns,
			  npages);
		goto fail;
	}
	if (vb->ngpadls >= HV_VMBUS_MAX_GPADLS ||
	    vb->gpadl_pages + npages > HV_VMBUS_MAX_GPADL_TOTAL_PAGES) {
		bad_input(vb, "GPADL_HEADER %#x: over the limit of %u GPADLs, %u pages", m->gpadl,
			  HV_VMBUS_MAX_GPADLS, HV_VMBUS_MAX_GPADL_TOTAL_PAGES);
		r = -ENOSPC;
		goto fail;
	}
	g = calloc(1, sizeof(*g) + (size_t)npages * sizeof(uint64_t));
	if (!g) {
		r = -ENOMEM;
		goto fail;
	}
	g->handle = m->gpadl;
	g->relid = m->child_relid;
	g->npages = npages;
	g->byte_offset = m->byte_offset;
	g->byte_count = m->byte_count;
	vb->gpadls[vb->ngpadls++] = g;
	vb->gpadl_pages += npages;
	gpadl_add_pfns(vb, g, m->pfn, inline_pfns);
	r = g->failed ? -EFAULT : 0;
	if (g->have == g->npages)
		gpadl_finish(vb, g);
	return r;

fail:
	send_gpadl_created(vb, m->child_relid, m->gpadl, HV_VMBUS_STATUS_FAILURE);
	return r;
}

static int msg_gpadl_body(struct hv_vmbus *vb, const struct hv_vmbus_msg_gpadl_body *m, size_t len)
{
	struct hv_vmbus_gpadl *g = gpadl_find(vb, m->gpadl);
	uint32_t n = (uint32_t)((len - sizeof(*m)) / sizeof(uint64_t));
	bool failed;

	/* msgnumber is not checked: Linux leaves it 0 and sends the bodies
	 * in order. */
	if (!g || g->complete) {
		bad_input(vb, "GPADL_BODY for %s GPADL %#x", g ? "complete" : "unknown", m->gpadl);
		return -ENOENT;
	}
	if (!n || n > g->npages - g->have) {
		bad_input(vb, "GPADL_BODY %#x: %u more PFNs with %u of %u in", m->gpadl, n,
			  g->have, g->npages);
		send_gpadl_created(vb, g->relid, g->handle, HV_VMBUS_STATUS_FAILURE);
		gpadl_free(vb, g);
		return -EINVAL;
	}
	failed = g->failed;
	gpadl_add_pfns(vb, g, m->pfn, n);
	failed = g->failed && !failed; /* this body brought the bad PFN */
	if (g->have == g->npages)
		gpadl_finish(vb, g);
	return failed ? -EFAULT : 0;
}

static int msg_gpadl_teardown(struct hv_vmbus *vb, const struct hv_vmbus_msg_gpadl_teardown *m)
{
	struct hv_vmbus_gpadl *g = gpadl_find(vb, m->gpadl);

	if (!g || g->relid != m->child_relid) {
		bad_input(vb, "GPADL_TEARDOWN of unknown GPADL %#x for relid %u", m->gpadl,
			  m->child_relid);
		return -ENOENT;
	}
	if (g->teardown_pending) {
		bad_input(vb, "GPADL_TEARDOWN %#x twice", m->gpadl);
		return -EBUSY;
	}
	if (g->in_use) {
		/* Linux closes the channel first; answer once it did. */
		notice(vb, "GPADL %#x torn down while its channel is open; deferred", m->gpadl);
		g->teardown_pending = true;
		return 0;
	}
	send_gpadl_torndown(vb, g->handle);
	gpadl_free(vb, g);
	return 0;
}

static int msg_open(struct hv_vmbus *vb, const struct hv_vmbus_msg_open *m)
{
	struct hv_vmbus_channel *ch = chan_offered(vb, m->child_relid);
	struct hv_vmbus_gpadl *g;
	uint32_t off;
	bool removed;
	int r = -EINVAL;

	if (!ch) {
		bad_input(vb, "OPENCHANNEL for relid %u, which is not offered", m->child_relid);
		r = -ENOENT;
		goto fail;
	}
	if (ch->open) {
		bad_input(vb, "OPENCHANNEL: relid %u is open", ch->relid);
		r = -EBUSY;
		goto fail;
	}
	if (m->target_vp >= vb->nvps) {
		bad_input(vb, "OPENCHANNEL relid %u: target VP %u out of range", ch->relid,
			  m->target_vp);
		goto fail;
	}
	g = gpadl_find(vb, m->ringbuffer_gpadlhandle);
	if (!g || !g->complete || g->relid != ch->relid || g->in_use || g->teardown_pending ||
	    g->byte_offset) {
		bad_input(vb, "OPENCHANNEL relid %u: GPADL %#x is not a usable ring", ch->relid,
			  m->ringbuffer_gpadlhandle);
		r = -ENOENT;
		goto fail;
	}
	/* The first `off` pages are the guest's outbound ring, the rest its
	 * inbound one; each is a header page and data (__vmbus_open()). */
	off = m->downstream_ringbuffer_pageoffset;
	if (off < 2 || off > g->npages || g->npages - off < 2) {
		bad_input(vb, "OPENCHANNEL relid %u: ring split at page %u of %u", ch->relid, off,
			  g->npages);
		goto fail;
	}
	r = hv_ring_init(&ch->in, vb->mem, g->pfns, off);
	if (r < 0)
		goto fail_log;
	r = hv_ring_init(&ch->out, vb->mem, g->pfns + off, g->npages - off);
	if (r < 0) {
		hv_ring_fini(&ch->in);
		goto fail_log;
	}
	g->in_use = true;
	ch->ring_gpadl = g->handle;
	ch->target_vp = m->target_vp;
	ch->open = true;
	ch->killed = false;
	ch->blocked = false;

	r = 0;
	if (ch->ops->open) {
		ch->cb_depth++;
		r = ch->ops->open(ch, ch->data);
		removed = !ch->ops;
		if (r < 0)
			chan_shut(ch); /* refused: no ->close() */
		if (cb_done(ch) || removed) {
			/* Removed from its own ->open(): the guest has a RESCIND. */
			send_open_result(vb, m->child_relid, m->openid, HV_VMBUS_STATUS_FAILURE);
			return -ENODEV;
		}
		if (r < 0) {
			log_info("relid %u (%s): the device refused the open: %s", ch->relid,
				 chan_name(ch), strerror(-r));
			send_open_result(vb, m->child_relid, m->openid, HV_VMBUS_STATUS_FAILURE);
			return r;
		}
	}
	send_open_result(vb, m->child_relid, m->openid, 0);
	return 0;

fail_log:
	bad_input(vb, "OPENCHANNEL relid %u: cannot map the rings: %s", ch->relid, strerror(-r));
fail:
	send_open_result(vb, m->child_relid, m->openid, HV_VMBUS_STATUS_FAILURE);
	return r;
}

static int msg_close(struct hv_vmbus *vb, const struct hv_vmbus_msg_close *m)
{
	struct hv_vmbus_channel *ch = chan_get(vb, m->child_relid);

	if (ch && !ch->ops)
		return 0; /* rescinded: we closed it already */
	if (!ch || !ch->offered) {
		bad_input(vb, "CLOSECHANNEL for relid %u, which is not offered", m->child_relid);
		return -ENOENT;
	}
	if (!ch->open) {
		if (ch->killed) {
			ch->killed = false;
			return 0;
		}
		bad_input(vb, "CLOSECHANNEL: relid %u is not open", ch->relid);
		return -EPROTO;
	}
	chan_close(ch);
	return 0;
}

static int msg_relid_released(struct hv_vmbus *vb, const struct hv_vmbus_msg_relid_released *m)
{
	struct hv_vmbus_channel *ch = chan_get(vb, m->child_relid);
	uint32_t relid = m->child_relid;

	if (!ch || !ch->offered) {
		bad_input(vb, "RELID_RELEASED for relid %u, which is not offered", m->child_relid);
		return -ENOENT;
	}
	if (!ch->ops) {
		/* The answer to our RESCIND: the relid is free again. */
		gpadl_free_relid(vb, relid);
		ch->offered = false;
		chan_release(ch);
		offer_pending(vb);
		return 0;
	}
	/* The guest gave up on a live channel (a failed probe,
	 * vmbus_add_channel_work()); it comes back with the next offers. */
	notice(vb, "guest released relid %u (%s) unasked", ch->relid, chan_name(ch));
	ch->offered = false;
	ch->killed = false;
	chan_close(ch);
	gpadl_free_relid(vb, relid);
	return 0;
}

static int msg_unload(struct hv_vmbus *vb)
{
	bus_reset(vb);
	vb->state = HV_VMBUS_UNLOADED;
	/* Required: unload, kexec and panic wait for it (vmbus_wait_for_unload()). */
	post(vb, &(struct hv_vmbus_msg_header){ .msgtype = HV_CHANNELMSG_UNLOAD_RESPONSE },
	     sizeof(struct hv_vmbus_msg_header));
	notice(vb, "guest unloaded the VMBus");
	return 0;
}

static int msg_modify(struct hv_vmbus *vb, const struct hv_vmbus_msg_modifychannel *m)
{
	struct hv_vmbus_channel *ch = chan_offered(vb, m->child_relid);

	if (!ch || !ch->open) {
		if (!ch || !ch->killed)
			bad_input(vb, "MODIFYCHANNEL: relid %u is not open", m->child_relid);
		send_modify_response(vb, m->child_relid, HV_VMBUS_STATUS_FAILURE);
		return -ENOENT;
	}
	if (m->target_vp >= vb->nvps) {
		bad_input(vb, "MODIFYCHANNEL relid %u: target VP %u out of range", ch->relid,
			  m->target_vp);
		send_modify_response(vb, m->child_relid, HV_VMBUS_STATUS_FAILURE);
		return -EINVAL;
	}
	/* Interrupts go to the new VP from now on, which is all 5.3's
	 * acknowledgement promises. */
	ch->target_vp = m->target_vp;
	send_modify_response(vb, m->child_relid, 0);
	return 0;
}

static int msg_tl_connect(struct hv_vmbus *vb, const struct hv_vmbus_msg_tl_connect_request *m)
{
	struct hv_guid svc;
	char s[37];

	/* hv_sock connect(): no service is offered on demand yet; 6.1 then
	 * times out the connect. */
	memcpy(svc.b, m->host_service_id, sizeof(svc.b));
	hv_guid_format(&svc, s);
	notice(vb, "hv_sock connect to service %s ignored", s);
	return 0;
}

/* The least a guest->host message of each type must carry; 0: the guest
 * does not send that type. */
static const uint8_t msg_min_len[HV_CHANNELMSG_COUNT] = {
	[HV_CHANNELMSG_REQUESTOFFERS] = sizeof(struct hv_vmbus_msg_header),
	[HV_CHANNELMSG_OPENCHANNEL] = sizeof(struct hv_vmbus_msg_open),
	[HV_CHANNELMSG_CLOSECHANNEL] = sizeof(struct hv_vmbus_msg_close),
	[HV_CHANNELMSG_GPADL_HEADER] = sizeof(struct hv_vmbus_msg_gpadl_header),
	[HV_CHANNELMSG_GPADL_BODY] = sizeof(struct hv_vmbus_msg_gpadl_body),
	[HV_CHANNELMSG_GPADL_TEARDOWN] = sizeof(struct hv_vmbus_msg_gpadl_teardown),
	[HV_CHANNELMSG_RELID_RELEASED] = sizeof(struct hv_vmbus_msg_relid_released),
	[HV_CHANNELMSG_INITIATE_CONTACT] = sizeof(struct hv_vmbus_msg_initiate_contact),
	[HV_CHANNELMSG_UNLOAD] = sizeof(struct hv_vmbus_msg_header),
	[HV_CHANNELMSG_TL_CONNECT_REQUEST] = sizeof(struct hv_vmbus_msg_tl_connect_request),
	[HV_CHANNELMSG_MODIFYCHANNEL] = sizeof(struct hv_vmbus_msg_modifychannel),
};

/* A refused request still gets its failure answer when it names enough to
 * be matched, so the guest does not wait forever. */
static void answer_refused(struct hv_vmbus *vb, uint32_t type, const uint8_t *b, size_t len)
{
	uint32_t a, c;

	if (type == HV_CHANNELMSG_INITIATE_CONTACT) {
		send_version_response(vb, false);
		return;
	}
	if (len < 16)
		return;
	memcpy(&a, b + 8, sizeof(a));
	memcpy(&c, b + 12, sizeof(c));
	if (type == HV_CHANNELMSG_OPENCHANNEL)
		send_open_result(vb, a, c, HV_VMBUS_STATUS_FAILURE);
	else if (type == HV_CHANNELMSG_GPADL_HEADER)
		send_gpadl_created(vb, a, c, HV_VMBUS_STATUS_FAILURE);
	else if (type == HV_CHANNELMSG_MODIFYCHANNEL)
		send_modify_response(vb, a, HV_VMBUS_STATUS_FAILURE);
}

int hv_vmbus_message(struct hv_vmbus *vb, uint32_t conn_id, const void *msg, size_t len)
{
	union {
		struct hv_vmbus_msg_header hdr;
		struct hv_vmbus_msg_initiate_contact initiate;
		struct hv_vmbus_msg_open open;
		struct hv_vmbus_msg_close close;
		struct hv_vmbus_msg_gpadl_header gpadl_header;
		struct hv_vmbus_msg_gpadl_body gpadl_body;
		struct hv_vmbus_msg_gpadl_teardown gpadl_teardown;
		struct hv_vmbus_msg_relid_released relid_released;
		struct hv_vmbus_msg_modifychannel modify;
		struct hv_vmbus_msg_tl_connect_request tl_connect;
		uint8_t b[HV_VMBUS_MSG_MAX];
		uint64_t align;
	} u;
	uint32_t type;

	kill_pending_channels(vb);
	if (!hv_vmbus_message_conn_valid(conn_id)) {
		bad_input(vb, "message on connection %u", conn_id);
		return -EINVAL;
	}
	if (!msg || len < sizeof(u.hdr) || len > HV_VMBUS_MSG_MAX) {
		bad_input(vb, "message of %zu bytes", len);
		return -EINVAL;
	}
	/* One copy: the guest may rewrite its buffer meanwhile. */
	memset(&u, 0, sizeof(u));
	memcpy(u.b, msg, len);
	type = u.hdr.msgtype;
	if (type >= HV_CHANNELMSG_COUNT || !msg_min_len[type]) {
		bad_input(vb, "message type %u", type);
		return -EINVAL;
	}
	if (len < msg_min_len[type]) {
		bad_input(vb, "message type %u: %zu bytes, need %u", type, len,
			  msg_min_len[type]);
		answer_refused(vb, type, u.b, len);
		return -EINVAL;
	}
	switch (type) {
	case HV_CHANNELMSG_INITIATE_CONTACT:
		return msg_initiate_contact(vb, &u.initiate);
	case HV_CHANNELMSG_UNLOAD:
		return msg_unload(vb);
	default:
		break;
	}
	if (vb->state != HV_VMBUS_CONNECTED && vb->state != HV_VMBUS_OFFERED) {
		bad_input(vb, "message type %u in state %s", type,
			  hv_vmbus_state_to_string(vb->state));
		answer_refused(vb, type, u.b, len);
		return -EPROTO;
	}
	switch (type) {
	case HV_CHANNELMSG_REQUESTOFFERS:
		return msg_request_offers(vb);
	case HV_CHANNELMSG_OPENCHANNEL:
		return msg_open(vb, &u.open);
	case HV_CHANNELMSG_CLOSECHANNEL:
		return msg_close(vb, &u.close);
	case HV_CHANNELMSG_GPADL_HEADER:
		return msg_gpadl_header(vb, &u.gpadl_header, len);
	case HV_CHANNELMSG_GPADL_BODY:
		return msg_gpadl_body(vb, &u.gpadl_body, len);
	case HV_CHANNELMSG_GPADL_TEARDOWN:
		return msg_gpadl_teardown(vb, &u.gpadl_teardown);
	case HV_CHANNELMSG_RELID_RELEASED:
		return msg_relid_released(vb, &u.relid_released);
	case HV_CHANNELMSG_MODIFYCHANNEL:
		return msg_modify(vb, &u.modify);
	case HV_CHANNELMSG_TL_CONNECT_REQUEST:
		return msg_tl_connect(vb, &u.tl_connect);
	}
	return -EINVAL; /* not reached: msg_min_len[] lists the types above */
}

int hv_vmbus_signal(struct hv_vmbus *vb, uint32_t conn_id)
{
	struct hv_vmbus_channel *ch;

	kill_pending_channels(vb);
	if (!hv_vmbus_event_conn_valid(conn_id)) {
		bad_input(vb, "signal on connection %#x", conn_id);
		return -EINVAL;
	}
	ch = chan_get(vb, conn_id - HV_VMBUS_EVENT_CONNECTION_BASE);
	if (!ch || !ch->offered) {
		bad_input(vb, "signal on relid %u, which is not offered",
			  conn_id - HV_VMBUS_EVENT_CONNECTION_BASE);
		return -ENOENT;
	}
	/* A signal queued before the CLOSECHANNEL the loop handled first, or
	 * on a channel we killed: nothing to read. */
	if (!ch->open)
		return -ENOTCONN;
	chan_service(ch);
	return 0;
}

bool hv_vmbus_message_conn_valid(uint32_t conn_id)
{
	return conn_id == HV_VMBUS_MESSAGE_CONNECTION_ID ||
	       conn_id == HV_VMBUS_MESSAGE_CONNECTION_ID_4;
}

bool hv_vmbus_event_conn_valid(uint32_t conn_id)
{
	return conn_id > HV_VMBUS_EVENT_CONNECTION_BASE &&
	       conn_id <= HV_VMBUS_EVENT_CONNECTION_BASE + HV_VMBUS_MAX_RELID;
}

/* The bus */

int hv_vmbus_new(const struct hv_vmbus_config *cfg, struct hv_vmbus **ret)
{
	struct hv_vmbus *vb;

	if (!cfg || !cfg->mem || !cfg->ops || !cfg->ops->post_message ||
	    !cfg->ops->signal_event || !cfg->nvps)
		return -EINVAL;
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return -ENOMEM;
	vb->mem = cfg->mem;
	vb->ops = cfg->ops;
	vb->data = cfg->data;
	vb->nvps = cfg->nvps;
	vb->state = HV_VMBUS_DISCONNECTED;
	vb->sint = HV_VMBUS_MESSAGE_SINT;
	*ret = vb;
	return 0;
}

void hv_vmbus_free(struct hv_vmbus *vb)
{
	if (!vb)
		return;
	gpadl_free_all(vb);
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (!ch)
			continue;
		ch->offered = false;
		if (chan_close(ch))
			continue;
		/* A device that removes itself from ->close() freed it. */
		if (vb->chans[i] == ch)
			chan_free(ch);
	}
	free(vb);
}

void hv_vmbus_reset(struct hv_vmbus *vb)
{
	bus_reset(vb);
	vb->vp = 0;
	vb->sint = HV_VMBUS_MESSAGE_SINT;
}

enum hv_vmbus_state hv_vmbus_get_state(const struct hv_vmbus *vb)
{
	return vb->state;
}

uint32_t hv_vmbus_version(const struct hv_vmbus *vb)
{
	return vb->version;
}

uint64_t hv_vmbus_errors(const struct hv_vmbus *vb)
{
	return vb->errors;
}

/* Devices */

int hv_vmbus_add_device(struct hv_vmbus *vb, const struct hv_vmbus_offer *offer,
			const struct hv_vmbus_device_ops *ops, void *data,
			struct hv_vmbus_channel **ret)
{
	struct hv_vmbus_channel *ch;
	uint32_t relid = 0;

	if (!vb || !offer || !ops || !ops->packet || offer->max_packet > MAX_MAX_PACKET)
		return -EINVAL;
	for (uint32_t i = HV_VMBUS_MAX_RELID; i >= 1; i--) {
		struct hv_vmbus_channel *o = vb->chans[i];

		if (!o)
			relid = i;
		/* A second primary with the same type and instance would be
		 * taken for a sub-channel (channel_mgmt.c vmbus_process_offer()). */
		else if (o->ops && same_primary(&o->offer, offer))
			return -EEXIST;
	}
	if (!relid)
		return -ENOSPC;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->vb = vb;
	ch->relid = relid;
	ch->offer = *offer;
	if (!ch->offer.max_packet)
		ch->offer.max_packet = DEFAULT_MAX_PACKET;
	ch->buf_size = ALIGN_UP((size_t)ch->offer.max_packet, 8) + PKT_HEADROOM;
	ch->buf = malloc(ch->buf_size);
	if (!ch->buf) {
		free(ch);
		return -ENOMEM;
	}
	ch->ops = ops;
	ch->data = data;
	vb->chans[relid] = ch;
	relid_changed(vb, relid, true);
	/* Hot-add: a guest past REQUESTOFFERS learns of it now, or once it
	 * released the channel this one replaces. */
	if (vb->state == HV_VMBUS_OFFERED) {
		if (offer_blocked(vb, offer))
			ch->offer_pending = true;
		else
			send_offer(vb, ch);
	}
	if (ret)
		*ret = ch;
	return 0;
}

void hv_vmbus_remove_device(struct hv_vmbus_channel *ch)
{
	const struct hv_vmbus_device_ops *ops;
	struct hv_vmbus *vb;
	void *data;
	bool was_open;

	if (!ch || !ch->ops)
		return;
	vb = ch->vb;
	ops = ch->ops;
	data = ch->data;
	/* From here on it is a tombstone: a nested remove returns at once
	 * and no callback runs any more. */
	ch->ops = NULL;
	ch->data = NULL;
	ch->cb_depth++;
	was_open = chan_shut(ch);
	if (was_open && ops->close)
		ops->close(ch, data);
	if (cb_done(ch))
		return;
	if (ch->free_pending)
		return; /* freed when the callback it runs in returns */
	if (ch->offered && (vb->state == HV_VMBUS_CONNECTED || vb->state == HV_VMBUS_OFFERED)) {
		struct hv_vmbus_msg_rescind m = {
			.hdr.msgtype = HV_CHANNELMSG_RESCIND_CHANNELOFFER,
			.child_relid = ch->relid,
		};

		/* The relid stays taken until the guest's RELID_RELEASED
		 * (channel_mgmt.c vmbus_onoffer_rescind()). */
		post(vb, &m, sizeof(m));
		ch->killed = false;
		return;
	}
	gpadl_free_relid(vb, ch->relid);
	chan_release(ch);
}

/* Channels, for devices and operators */

bool hv_vmbus_channel_is_open(const struct hv_vmbus_channel *ch)
{
	return ch->open;
}

uint32_t hv_vmbus_channel_relid(const struct hv_vmbus_channel *ch)
{
	return ch->relid;
}

const struct hv_vmbus_offer *hv_vmbus_channel_offer(const struct hv_vmbus_channel *ch)
{
	return &ch->offer;
}

struct hv_vmbus *hv_vmbus_channel_bus(const struct hv_vmbus_channel *ch)
{
	return ch->vb;
}

const char *hv_vmbus_channel_name(const struct hv_vmbus_channel *ch)
{
	return chan_name(ch);
}

void hv_vmbus_for_each_channel(struct hv_vmbus *vb,
			       void (*fn)(struct hv_vmbus_channel *ch, void *data), void *data)
{
	for (uint32_t i = 1; i <= HV_VMBUS_MAX_RELID; i++) {
		struct hv_vmbus_channel *ch = vb->chans[i];

		if (ch && ch->ops)
			fn(ch, data);
	}
}

int hv_vmbus_sendv(struct hv_vmbus_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		   const struct iovec *iov, int iovcnt)
{
	uint64_t len = 0;
	bool signal = false;
	int r;

	if (!ch || !ch->open || ch->kill_pending)
		return -ENOTCONN;
	if (iovcnt < 0 || (iovcnt && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	r = hv_ring_write(&ch->out, type, flags, trans_id, iov, iovcnt, &signal);
	if (r == -EAGAIN) {
		/* The ring set pending_send_sz: the guest signals once it
		 * read enough, and chan_service() calls ->writable(). */
		ch->blocked = true;
		ch->blocked_len = (uint32_t)MIN(len, (uint64_t)UINT32_MAX);
		return -EAGAIN;
	}
	if (r == -EBADMSG) {
		/* Not closed here, inside the device's own call: at the next
		 * message or signal. */
		ch->kill_pending = true;
		ch->vb->kill_pending = true;
		return -ENOTCONN;
	}
	if (r < 0)
		return r;
	if (signal)
		signal_guest(ch);
	return 0;
}

int hv_vmbus_send(struct hv_vmbus_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		  const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return hv_vmbus_sendv(ch, type, flags, trans_id, &iov, len ? 1 : 0);
}

static int gpadl_copy(struct hv_vmbus_channel *ch, uint32_t handle, uint64_t off, void *buf,
		      size_t len, bool to_guest)
{
	struct hv_vmbus *vb;
	struct hv_vmbus_gpadl *g;
	uint8_t *p = buf;
	uint64_t pos;

	if (!ch || !ch->ops)
		return -ENOENT;
	vb = ch->vb;
	g = gpadl_find(vb, handle);
	if (!g || !g->complete || g->relid != ch->relid)
		return -ENOENT;
	if (off > g->byte_count || len > g->byte_count - off)
		return -EFAULT;
	pos = g->byte_offset + off;
	while (len) {
		uint64_t page = pos / PAGE_SIZE_4K;
		uint32_t in = (uint32_t)(pos % PAGE_SIZE_4K);
		size_t n = MIN(len, (size_t)(PAGE_SIZE_4K - in));
		uint8_t *h = hv_gpa_to_host(vb->mem, (g->pfns[page] << 12) + in, n);

		if (!h)
			return -EFAULT;
		if (to_guest)
			memcpy(h, p, n);
		else
			memcpy(p, h, n);
		p += n;
		pos += n;
		len -= n;
	}
	return 0;
}

int hv_vmbus_gpadl_read(struct hv_vmbus_channel *ch, uint32_t gpadl, uint64_t off, void *dst,
			size_t len)
{
	return gpadl_copy(ch, gpadl, off, dst, len, false);
}

int hv_vmbus_gpadl_write(struct hv_vmbus_channel *ch, uint32_t gpadl, uint64_t off,
			 const void *src, size_t len)
{
	return gpadl_copy(ch, gpadl, off, (void *)src, len, true);
}

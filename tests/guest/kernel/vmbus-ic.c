// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The integration services, answered as Linux 6.1's hv_utils does
 * (drivers/hv/hv_util.c heartbeat/shutdown/timesync_onchannelcallback(),
 * drivers/hv/hv_kvp.c with tools/hv/hv_kvp_daemon.c's answers,
 * channel_mgmt.c vmbus_prep_negotiate_resp()): read one packet, rewrite
 * it in place, send all of it back with ICMSGHDRFLAG_TRANSACTION |
 * ICMSGHDRFLAG_RESPONSE and the request's transaction id.
 *
 * A packet is struct vmbuspipe_hdr (8 bytes), struct icmsg_hdr (20), then
 * the message (include/linux/hyperv.h); all fields are read and written
 * by offset.
 */
#include "vmbus.h"

bool ic_shutdown_pending, ic_restart_pending;

#define ICMSG_HDR 28            /* sizeof(vmbuspipe_hdr) + sizeof(icmsg_hdr) */
#define ICHDR_MSGTYPE 12        /* icmsg_hdr.icmsgtype */
#define ICHDR_MSGSIZE 18        /* icmsg_hdr.icmsgsize */
#define ICHDR_STATUS 20         /* icmsg_hdr.status */
#define ICHDR_FLAGS 25          /* icmsg_hdr.icflags */
#define ICMSGTYPE_NEGOTIATE 0
#define ICMSGTYPE_HEARTBEAT 1
#define ICMSGTYPE_KVPEXCHANGE 2
#define ICMSGTYPE_SHUTDOWN 3
#define ICMSGTYPE_TIMESYNC 4
#define ICMSGHDRFLAG_TRANSACTION 1
#define ICMSGHDRFLAG_RESPONSE 4
#define IC_VERSION_NEGOTIATION_MAX_VER_COUNT 100
#define HV_S_OK 0x00000000u
#define HV_E_FAIL 0x80004005u
#define HV_S_CONT 0x80070103u
#define WLTIMEDELTA 116444736000000000ull /* 100 ns units, 1601 -> 1970 */

/* KVP (include/uapi/linux/hyperv.h): struct hv_kvp_msg after ICMSG_HDR. */
#define KVP_OP_GET 0
#define KVP_OP_SET 1
#define KVP_OP_DELETE 2
#define KVP_OP_ENUMERATE 3
#define KVP_POOL_GUEST 1
#define KVP_POOL_AUTO 2
#define KVP_OFF_OP (ICMSG_HDR + 0)        /* hv_kvp_hdr.operation */
#define KVP_OFF_POOL (ICMSG_HDR + 1)
#define KVP_OFF_INDEX (ICMSG_HDR + 4)     /* hv_kvp_msg_enumerate.index */
#define KVP_OFF_TYPE (ICMSG_HDR + 8)      /* .data.value_type */
#define KVP_OFF_KEY_SIZE (ICMSG_HDR + 12)
#define KVP_OFF_VALUE_SIZE (ICMSG_HDR + 16)
#define KVP_OFF_KEY (ICMSG_HDR + 20)
#define KVP_MAX_KEY_SIZE 512
#define KVP_MAX_VALUE_SIZE 2048
#define KVP_OFF_VALUE (KVP_OFF_KEY + KVP_MAX_KEY_SIZE)
#define KVP_ENUM_END (KVP_OFF_VALUE + KVP_MAX_VALUE_SIZE)
#define REG_SZ 1

#define V(major, minor) VMBUS_VERSION(major, minor)
/* UTIL_FW_VERSION, UTIL_WS2K8_FW_VERSION and each service's list, best first. */
static const uint32_t fw_versions[] = { V(3, 0), V(1, 0) };
static const uint32_t hb_versions[] = { V(3, 0), V(1, 0) };
static const uint32_t sd_versions[] = { V(3, 2), V(3, 1), V(3, 0), V(1, 0) };
static const uint32_t ts_versions[] = { V(4, 0), V(3, 0), V(1, 0) };
static const uint32_t kvp_versions[] = { V(4, 0), V(3, 0), V(1, 0) };

static const struct {
	const uint32_t *v;
	unsigned n;
} srv_versions[IC_COUNT] = {
	[IC_HEARTBEAT] = { hb_versions, 2 },
	[IC_SHUTDOWN] = { sd_versions, 4 },
	[IC_TIMESYNC] = { ts_versions, 3 },
	[IC_KVP] = { kvp_versions, 3 },
};

/* guid_t bytes of HV_HEART_BEAT_GUID, HV_SHUTDOWN_GUID, HV_TS_GUID, HV_KVP_GUID. */
#define GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7) {{ \
	(a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, ((a) >> 24) & 0xff, \
	(b) & 0xff, ((b) >> 8) & 0xff, (c) & 0xff, ((c) >> 8) & 0xff, \
	d0, d1, d2, d3, d4, d5, d6, d7 }}
static const struct vmbus_guid ic_guids[IC_COUNT] = {
	[IC_HEARTBEAT] = GUID(0x57164f39, 0x9115, 0x4e78, 0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d),
	[IC_SHUTDOWN] = GUID(0x0e0b6031, 0x5213, 0x4934, 0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb),
	[IC_TIMESYNC] = GUID(0x9527e630, 0xd0ae, 0x497b, 0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf),
	[IC_KVP] = GUID(0xa9a0f4e7, 0x5a45, 0x4d96, 0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6),
};

/* tools/hv/hv_kvp_daemon.c: the KVP_POOL_AUTO items, in its key_index
 * order, and one item in the guest pool. */
static const char *const kvp_auto[][2] = {
	{ "FullyQualifiedDomainName", "skylight-test-guest" },
	{ "IntegrationServicesVersion", "3.1" },
	{ "NetworkAddressIPv4", "192.0.2.10" },
	{ "NetworkAddressIPv6", "" },
	{ "OSBuildNumber", "1" },
	{ "OSName", "Skylight test guest" },
	{ "OSMajorVersion", "1" },
	{ "OSMinorVersion", "0" },
	{ "OSVersion", "1" },
	{ "ProcessorArchitecture", "x86_64" },
};
static const char *const kvp_guest[][2] = {
	{ "SkylightTest", "1" },
};

/* Received packets are handled here, in place (util_probe(): recv_buffer,
 * 4 pages), with room for the 8-byte padding. */
static uint8_t *pkt;
#define PKT_MAX (4 * 4096)

static uint64_t heartbeats, timesync_samples;
uint64_t ic_host_time, ic_host_time_tsc;
static unsigned kvp_pools_listed; /* bit per pool: first enumeration printed */
static unsigned ic_notes;

static void wr16(uint8_t *p, uint16_t v)
{
	__builtin_memcpy(p, &v, 2);
}

static void wr32(uint8_t *p, uint32_t v)
{
	__builtin_memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	__builtin_memcpy(p, &v, 8);
}

static __printf(2, 3) void ic_note(const struct vmbus_channel *ch, const char *fmt, ...)
{
	va_list ap;

	if (ic_notes >= 16)
		return;
	ic_notes++;
	kprintf("vmbus: %s: ", vmbus_ic_name(ch->ic));
	va_start(ap, fmt);
	vmbus_vprint(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

int ic_kind_of(const struct vmbus_guid *type)
{
	for (int k = 0; k < IC_COUNT; k++)
		if (!memcmp(type, &ic_guids[k], sizeof(*type)))
			return k;
	return IC_NONE;
}

void ic_reset(void)
{
	if (!pkt)
		pkt = hv_alloc_pages(PKT_MAX / 4096 + 1);
	if (!pkt)
		vmbus_fail("no memory for the IC packet buffer");
	heartbeats = 0;
	timesync_samples = 0;
	kvp_pools_listed = 0;
}

/* channel_mgmt.c vmbus_prep_negotiate_resp(): the first of our framework
 * versions the host lists, then the first of our service versions; the
 * answer lists just those (counts 0 if none matched). */
static bool negotiate(uint32_t len, const uint32_t *fw, unsigned nfw, const uint32_t *srv,
		      unsigned nsrv, uint32_t *fw_out, uint32_t *srv_out)
{
	unsigned fcnt, mcnt, fmaj, fmin = 0, mmaj, mmin = 0;
	bool found = false;

	if (len < ICMSG_HDR + 4) /* offsetof(struct icmsg_negotiate, reserved) */
		return false;
	wr16(pkt + ICHDR_MSGSIZE, 0x10);
	fcnt = fmaj = rd16(pkt + ICMSG_HDR);
	mcnt = mmaj = rd16(pkt + ICMSG_HDR + 2);
	if (fcnt > IC_VERSION_NEGOTIATION_MAX_VER_COUNT || mcnt > IC_VERSION_NEGOTIATION_MAX_VER_COUNT ||
	    ICMSG_HDR + 8 + 4 * (fcnt + mcnt) > len)
		goto out;
	for (unsigned i = 0; i < nfw && !found; i++)
		for (unsigned j = 0; j < fcnt; j++) {
			const uint8_t *d = pkt + ICMSG_HDR + 8 + 4 * j;

			if (rd16(d) == fw[i] >> 16 && rd16(d + 2) == (fw[i] & 0xffff)) {
				fmaj = fw[i] >> 16;
				fmin = fw[i] & 0xffff;
				found = true;
				break;
			}
		}
	if (!found)
		goto out;
	found = false;
	for (unsigned i = 0; i < nsrv && !found; i++)
		for (unsigned j = fcnt; j < fcnt + mcnt; j++) {
			const uint8_t *d = pkt + ICMSG_HDR + 8 + 4 * j;

			if (rd16(d) == srv[i] >> 16 && rd16(d + 2) == (srv[i] & 0xffff)) {
				mmaj = srv[i] >> 16;
				mmin = srv[i] & 0xffff;
				found = true;
				break;
			}
		}
out:
	wr16(pkt + ICMSG_HDR, found);
	wr16(pkt + ICMSG_HDR + 2, found);
	wr16(pkt + ICMSG_HDR + 8, (uint16_t)fmaj);
	wr16(pkt + ICMSG_HDR + 10, (uint16_t)fmin);
	wr16(pkt + ICMSG_HDR + 12, (uint16_t)mmaj);
	wr16(pkt + ICMSG_HDR + 14, (uint16_t)mmin);
	*fw_out = fmaj << 16 | fmin;
	*srv_out = mmaj << 16 | mmin;
	return found;
}

/* utf8s_to_utf16s() for our ASCII strings, at most max_units characters
 * and a NUL unit; returns the bytes written (kvp_data->key_size). */
static uint32_t put_utf16(uint8_t *dst, const char *s, uint32_t max_units)
{
	uint32_t n = 0;

	for (; s[n] && n < max_units; n++)
		wr16(dst + 2 * n, (uint8_t)s[n]);
	wr16(dst + 2 * n, 0);
	return 2 * (n + 1);
}

/* hv_kvp.c kvp_respond_to_host() with the daemon's answer: the pair at
 * `index` of the pool, or HV_S_CONT past its end. */
static bool kvp(struct vmbus_channel *ch, uint32_t len)
{
	uint32_t status = HV_S_OK, index, count;
	const char *const (*items)[2];
	uint8_t op, pool;

	if (rd16(pkt + ICHDR_MSGTYPE) != ICMSGTYPE_KVPEXCHANGE) {
		ic_note(ch, "message type %u ignored", rd16(pkt + ICHDR_MSGTYPE));
		return false; /* hv_kvp_onchannelcallback(): no answer */
	}
	if (len < ICMSG_HDR + 4) {
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL);
		return true;
	}
	op = pkt[KVP_OFF_OP];
	pool = pkt[KVP_OFF_POOL];
	switch (op) {
	case KVP_OP_ENUMERATE:
		if (len < KVP_ENUM_END) {
			status = HV_E_FAIL;
			break;
		}
		index = rd32(pkt + KVP_OFF_INDEX);
		items = pool == KVP_POOL_AUTO ? kvp_auto : pool == KVP_POOL_GUEST ? kvp_guest : NULL;
		count = pool == KVP_POOL_AUTO ? sizeof(kvp_auto) / sizeof(kvp_auto[0]) :
			pool == KVP_POOL_GUEST ? sizeof(kvp_guest) / sizeof(kvp_guest[0]) : 0;
		if (index >= count) {
			status = HV_S_CONT; /* the daemon's "no more items" */
			if (pool < 8 && !(kvp_pools_listed & (1u << pool))) {
				kvp_pools_listed |= 1u << pool;
				kprintf("vmbus: kvp pool %u enumerated (%u items)\n", pool, count);
			}
			break;
		}
		wr32(pkt + KVP_OFF_KEY_SIZE,
		     put_utf16(pkt + KVP_OFF_KEY, items[index][0], KVP_MAX_KEY_SIZE / 2 - 2));
		wr32(pkt + KVP_OFF_VALUE_SIZE,
		     put_utf16(pkt + KVP_OFF_VALUE, items[index][1], KVP_MAX_VALUE_SIZE / 2 - 2));
		wr32(pkt + KVP_OFF_TYPE, REG_SZ);
		break;
	case KVP_OP_GET:
	case KVP_OP_SET:
	case KVP_OP_DELETE:
		status = HV_S_CONT; /* the daemon when the pool operation fails */
		break;
	default:
		status = HV_E_FAIL;
		break;
	}
	wr32(pkt + ICHDR_STATUS, status);
	return true;
}

static void print_utf16_ascii(const uint8_t *s, uint32_t max_units)
{
	char line[81];
	uint32_t n = 0;

	for (uint32_t i = 0; i < max_units && n < sizeof(line) - 1; i++) {
		uint16_t c = rd16(s + 2 * i);

		if (!c)
			break;
		line[n++] = c >= ' ' && c < 0x7f ? (char)c : '?';
	}
	line[n] = 0;
	if (n)
		kprintf(" (reason: %s)", line);
}

/* shutdown_onchannelcallback() */
static bool shutdown(struct vmbus_channel *ch, uint32_t len)
{
	uint32_t flags;

	if (rd16(pkt + ICHDR_MSGTYPE) != ICMSGTYPE_SHUTDOWN) {
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL);
		ic_note(ch, "message type %u refused", rd16(pkt + ICHDR_MSGTYPE));
		return true;
	}
	if (len < ICMSG_HDR + 12 + 2048) { /* struct shutdown_msg_data */
		ic_note(ch, "request of %u bytes ignored", len);
		return false;
	}
	flags = rd32(pkt + ICMSG_HDR + 8);
	switch (flags) {
	case 0:
	case 1:
		wr32(pkt + ICHDR_STATUS, HV_S_OK);
		kprintf("vmbus: shutdown requested");
		print_utf16_ascii(pkt + ICMSG_HDR + 12, 1024);
		kprintf("\n");
		ic_shutdown_pending = true;
		break;
	case 2:
	case 3:
		wr32(pkt + ICHDR_STATUS, HV_S_OK);
		kprintf("vmbus: restart requested\n");
		ic_restart_pending = true;
		break;
	case 4:
	case 5:
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL); /* hibernation_supported is false */
		kprintf("vmbus: hibernate request refused\n");
		break;
	default:
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL);
		kprintf("vmbus: shutdown request with flags 0x%x refused\n", flags);
		break;
	}
	return true;
}

/* timesync_onchannelcallback(): ictimesync_ref_data from 4.0 on,
 * ictimesync_data before.  We keep no clock; the first sample is shown. */
static bool timesync(struct vmbus_channel *ch, uint32_t len)
{
	bool v4 = ch->srv_version > V(3, 0);
	uint64_t parent = 0;
	uint8_t flags = 0;

	if (rd16(pkt + ICHDR_MSGTYPE) != ICMSGTYPE_TIMESYNC) {
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL);
		ic_note(ch, "message type %u refused", rd16(pkt + ICHDR_MSGTYPE));
		return true;
	}
	if (len < ICMSG_HDR + (v4 ? 22u : 25u)) {
		ic_note(ch, "sample of %u bytes ignored", len);
		return false;
	}
	parent = rd64(pkt + ICMSG_HDR);
	flags = pkt[ICMSG_HDR + (v4 ? 16 : 24)];
	ic_host_time = parent; /* for the desktop's clock */
	ic_host_time_tsc = rdtsc();
	if (timesync_samples++ == 0)
		kprintf("vmbus: timesync host time %llu (unix %llu) flags 0x%x\n",
			(unsigned long long)parent,
			(unsigned long long)(parent > WLTIMEDELTA ? (parent - WLTIMEDELTA) / 10000000 : 0),
			flags);
	return true;
}

/* heartbeat_onchannelcallback() */
static bool heartbeat(struct vmbus_channel *ch, uint32_t len)
{
	uint64_t seq;

	if (rd16(pkt + ICHDR_MSGTYPE) != ICMSGTYPE_HEARTBEAT) {
		wr32(pkt + ICHDR_STATUS, HV_E_FAIL);
		ic_note(ch, "message type %u refused", rd16(pkt + ICHDR_MSGTYPE));
		return true;
	}
	if (len < ICMSG_HDR + 8) {
		ic_note(ch, "request of %u bytes ignored", len);
		return false;
	}
	seq = rd64(pkt + ICMSG_HDR);
	wr64(pkt + ICMSG_HDR, seq + 1);
	if (heartbeats++ % 10 == 0)
		kprintf("vmbus: heartbeat %llu\n", (unsigned long long)seq);
	return true;
}

static void handle(struct vmbus_channel *ch, uint32_t len, uint64_t trans_id)
{
	bool reply;

	if (len < ICMSG_HDR) {
		ic_note(ch, "packet of %u bytes ignored", len);
		return;
	}
	/* The 8-byte padding sent after the packet: zeros, not stale bytes. */
	for (uint32_t i = len; i < ALIGN_UP(len, 8); i++)
		pkt[i] = 0;
	ch->requests++;
	if (rd16(pkt + ICHDR_MSGTYPE) == ICMSGTYPE_NEGOTIATE) {
		uint32_t fwv, srvv;

		if (negotiate(len, fw_versions, 2, srv_versions[ch->ic].v, srv_versions[ch->ic].n,
			      &fwv, &srvv)) {
			ch->fw_version = fwv;
			ch->srv_version = srvv;
			kprintf("vmbus: %s ic version %u.%u framework %u.%u\n", vmbus_ic_name(ch->ic),
				srvv >> 16, srvv & 0xffff, fwv >> 16, fwv & 0xffff);
		} else {
			kprintf("vmbus: %s ic negotiation: no common version\n", vmbus_ic_name(ch->ic));
		}
		reply = true;
	} else {
		switch (ch->ic) {
		case IC_HEARTBEAT: reply = heartbeat(ch, len); break;
		case IC_SHUTDOWN: reply = shutdown(ch, len); break;
		case IC_TIMESYNC: reply = timesync(ch, len); break;
		case IC_KVP: reply = kvp(ch, len); break;
		default: reply = false; break;
		}
	}
	if (!reply)
		return;
	pkt[ICHDR_FLAGS] = ICMSGHDRFLAG_TRANSACTION | ICMSGHDRFLAG_RESPONSE;
	if (vmbus_sendpacket(ch, pkt, len, trans_id) < 0)
		ic_note(ch, "answer of %u bytes not sent (ring full or broken)", len);
}

void ic_on_channel(struct vmbus_channel *ch)
{
	for (unsigned n = 0; n < 64 && !ic_shutdown_pending && !ic_restart_pending; n++) {
		uint32_t len = 0;
		uint64_t trans_id = 0;
		int r = vmbus_recvpacket(ch, pkt, ch->max_pkt < PKT_MAX ? ch->max_pkt : PKT_MAX, &len,
					 &trans_id);

		if (r == 0)
			return;
		if (r > 0)
			handle(ch, len, trans_id);
	}
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The integration services' response parsers (hv/ic-proto.c) with the
 * guest's answer coming from the input, as hv/vmbus-ic.c calls them.  The
 * input is laid out as
 *   [0] KVP pool asked | [1] low 2 bits: the negotiated time sync version
 *   (1.0, 3.0, 4.0, 4.0) | [2,4) unused | u32 KVP index asked |
 *   u64 heartbeat sequence sent | the packet payload the guest sent.
 * The payload is parsed as the answer to a version negotiation and to a
 * regular request of each of the four services.  Then the payload, as a
 * NUL-terminated string, goes through the shutdown message's UTF-8 to
 * UTF-16 conversion.
 *
 * Oracles besides the sanitizers: a KVP string that parsed converts back
 * to the exact UTF-16 the guest sent, negotiated versions are among those
 * offered, and any UTF-16 we produce decodes again.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ic-proto.h"

#define HDR 16u

static const uint32_t fw[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t hb[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t sd[] = { IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
				IC_VERSION(1, 0) };
static const uint32_t ts[] = { IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t kvp[] = { IC_VERSION(5, 0), IC_VERSION(4, 0), IC_VERSION(3, 0) };

static const struct {
	uint16_t msgtype;
	const uint32_t *v;
	unsigned n;
} svcs[] = {
	{ IC_MSGTYPE_HEARTBEAT, hb, 2 },
	{ IC_MSGTYPE_SHUTDOWN, sd, 4 },
	{ IC_MSGTYPE_TIMESYNC, ts, 3 },
	{ IC_MSGTYPE_KVPEXCHANGE, kvp, 3 },
};

static struct ic_response resp;

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static bool in(uint32_t v, const uint32_t *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/* A string the parser accepted must be the guest's UTF-16, exactly. */
static void check_roundtrip(const char *s, const uint8_t *u16, uint32_t size)
{
	uint8_t back[IC_KVP_MAX_VALUE_SIZE + 2];
	size_t n = ic_utf8_to_utf16le(s, back, sizeof(back));

	if (n != size || memcmp(back, u16, n))
		__builtin_trap();
}

static void check_kvp(const uint8_t *pkt)
{
	const uint8_t *b = pkt + IC_HDR_SIZE;
	uint32_t type = rd32(b + 8), key_size = rd32(b + 12), value_size = rd32(b + 16);

	check_roundtrip(resp.kvp.key, b + 20, key_size);
	if (type == IC_REG_SZ || type == IC_REG_EXPAND_SZ)
		check_roundtrip(resp.kvp.value, b + 20 + IC_KVP_MAX_KEY_SIZE, value_size);
	if (strlen(resp.kvp.key) >= sizeof(resp.kvp.key) ||
	    strlen(resp.kvp.value) >= sizeof(resp.kvp.value))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ts_pick[] = { IC_VERSION(1, 0), IC_VERSION(3, 0), IC_VERSION(4, 0),
					    IC_VERSION(4, 0) };
	const uint8_t *pkt;
	size_t len;
	uint8_t *u16;
	char *s, *back;
	size_t n;

	if (size < HDR)
		return 0;
	pkt = data + HDR;
	len = size - HDR;

	for (unsigned i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		struct ic_request rq = {
			.msgtype = IC_MSGTYPE_NEGOTIATE,
			.fw = fw, .nfw = 2, .msg = svcs[i].v, .nmsg = svcs[i].n,
		};
		int r = ic_parse_response(&rq, pkt, len, &resp);

		if (r == 0 && (!in(resp.fw, fw, 2) || !in(resp.msg, svcs[i].v, svcs[i].n)))
			__builtin_trap();

		rq = (struct ic_request){
			.msgtype = svcs[i].msgtype,
			.message = svcs[i].v[0],
			.seq = rd64(data + 8),
			.pool = data[0],
			.index = rd32(data + 4),
		};
		if (rq.msgtype == IC_MSGTYPE_TIMESYNC)
			rq.message = ts_pick[data[1] & 3];
		r = ic_parse_response(&rq, pkt, len, &resp);
		if (r < -4096 || r > 1)
			__builtin_trap();
		if (r == 0 && rq.msgtype == IC_MSGTYPE_KVPEXCHANGE)
			check_kvp(pkt);
		if (r == 0 && rq.msgtype == IC_MSGTYPE_HEARTBEAT && resp.seq != rq.seq + 1)
			__builtin_trap();
	}

	/* The shutdown message: arbitrary bytes as UTF-8. */
	s = malloc(len + 1);
	u16 = malloc(IC_SHUTDOWN_MSG_SIZE);
	back = malloc(IC_SHUTDOWN_MSG_SIZE / 2 * 3 + 1);
	if (!s || !u16 || !back)
		abort();
	memcpy(s, pkt, len);
	s[len] = 0;
	n = ic_utf8_to_utf16le(s, u16, IC_SHUTDOWN_MSG_SIZE);
	if (n < 2 || n > IC_SHUTDOWN_MSG_SIZE || n % 2)
		__builtin_trap();
	if (ic_utf16le_to_utf8(u16, n, back, IC_SHUTDOWN_MSG_SIZE / 2 * 3 + 1) < 0)
		__builtin_trap();
	free(s);
	free(u16);
	free(back);
	return 0;
}

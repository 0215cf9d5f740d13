/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A guest's integration services as Linux 6.1's hv_utils behaves (our own
 * code, after drivers/hv/hv_util.c, hv_kvp.c and vmbus_prep_negotiate_resp()
 * in channel_mgmt.c): it answers a host request by rewriting the request
 * buffer in place and returning all of it.  For the unit tests.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ic-proto.h"

/* The guest's own version lists, newest first, as Linux has them. */
static const uint32_t icg_fw[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t icg_hb[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t icg_sd[] = { IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
				   IC_VERSION(1, 0) };
static const uint32_t icg_ts[] = { IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t icg_kvp[] = { IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0) };

struct icg_pair {
	uint8_t pool;
	const char *key, *value;
};

struct ic_guest {
	/* Service versions it supports (one of the lists above). */
	const uint32_t *versions;
	unsigned nversions;
	uint32_t msg_version; /* what it negotiated */
	/* Shutdown: the last flags seen; hibernation unsupported. */
	uint32_t shutdown_flags;
	unsigned shutdowns;
	/* Time sync: the last sample. */
	uint64_t parenttime, reftime;
	uint8_t ts_flags;
	unsigned samples;
	/* KVP: the pairs its daemon reports; NULL = no daemon (HV_E_FAIL). */
	const struct icg_pair *pairs;
	unsigned npairs;
	bool kvp_daemon;
};

static inline uint16_t icg_get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t icg_get32(const uint8_t *p)
{
	return icg_get16(p) | (uint32_t)icg_get16(p + 2) << 16;
}

static inline uint64_t icg_get64(const uint8_t *p)
{
	return icg_get32(p) | (uint64_t)icg_get32(p + 4) << 32;
}

static inline void icg_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void icg_put32(uint8_t *p, uint32_t v)
{
	icg_put16(p, v);
	icg_put16(p + 2, v >> 16);
}

static inline void icg_put64(uint8_t *p, uint64_t v)
{
	icg_put32(p, v);
	icg_put32(p + 4, v >> 32);
}

/* Pick the first of `mine` the host offered in [from, from + n). */
static inline bool icg_pick(const uint8_t *vers, unsigned from, unsigned n, const uint32_t *mine,
			    unsigned nmine, uint32_t *ret)
{
	for (unsigned i = 0; i < nmine; i++) {
		for (unsigned j = from; j < from + n; j++) {
			const uint8_t *v = vers + 4 * j;

			if (IC_VERSION(icg_get16(v), icg_get16(v + 2)) == mine[i]) {
				*ret = mine[i];
				return true;
			}
		}
	}
	return false;
}

static inline void icg_negotiate(struct ic_guest *g, uint8_t *buf, size_t len)
{
	uint8_t *neg = buf + IC_HDR_SIZE;
	unsigned nfw = icg_get16(neg), nmsg = icg_get16(neg + 2);
	uint32_t fw = 0, msg = 0;
	bool ok = false;

	icg_put16(buf + 18, 0x10); /* icmsgsize, as Linux sets it */
	if (nfw <= IC_MAX_VERSIONS && nmsg <= IC_MAX_VERSIONS &&
	    IC_HDR_SIZE + 8 + 4 * (size_t)(nfw + nmsg) <= len)
		ok = icg_pick(neg + 8, 0, nfw, icg_fw, 2, &fw) &&
		     icg_pick(neg + 8, nfw, nmsg, g->versions, g->nversions, &msg);
	icg_put16(neg, ok);
	icg_put16(neg + 2, ok);
	icg_put16(neg + 8, fw >> 16);
	icg_put16(neg + 10, fw & 0xffff);
	icg_put16(neg + 12, msg >> 16);
	icg_put16(neg + 14, msg & 0xffff);
	if (ok)
		g->msg_version = msg;
}

/* UTF-8 (ASCII and 2/3/4-byte sequences, assumed valid) into UTF-16LE,
 * without the NUL, as utf8s_to_utf16s(); returns the units written. */
static inline unsigned icg_utf16(const char *s, uint8_t *dst, unsigned max_units)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned n = 0;

	while (*p && n < max_units) {
		uint32_t c;

		if (*p < 0x80) {
			c = *p++;
		} else if (*p < 0xe0) {
			c = (p[0] & 0x1f) << 6 | (p[1] & 0x3f);
			p += 2;
		} else if (*p < 0xf0) {
			c = (p[0] & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
			p += 3;
		} else {
			c = (p[0] & 0x07) << 18 | (p[1] & 0x3f) << 12 | (p[2] & 0x3f) << 6 |
			    (p[3] & 0x3f);
			p += 4;
		}
		if (c >= 0x10000) {
			if (n + 2 > max_units)
				break;
			c -= 0x10000;
			icg_put16(dst + 2 * n++, 0xd800 + (c >> 10));
			icg_put16(dst + 2 * n++, 0xdc00 + (c & 0x3ff));
		} else {
			icg_put16(dst + 2 * n++, c);
		}
	}
	return n;
}

static inline void icg_kvp_answer(struct ic_guest *g, uint8_t *buf)
{
	uint8_t *b = buf + IC_HDR_SIZE;
	uint8_t pool = b[1];
	uint32_t index = icg_get32(b + 4);
	unsigned seen = 0;

	if (b[0] != IC_KVP_OP_ENUMERATE || !g->kvp_daemon) {
		icg_put32(buf + 20, IC_E_FAIL);
		return;
	}
	for (unsigned i = 0; i < g->npairs; i++) {
		const struct icg_pair *p = &g->pairs[i];
		unsigned k, v;

		if (p->pool != pool || seen++ != index)
			continue;
		k = icg_utf16(p->key, b + 20, IC_KVP_MAX_KEY_SIZE / 2 - 2);
		v = icg_utf16(p->value, b + 20 + IC_KVP_MAX_KEY_SIZE,
			      IC_KVP_MAX_VALUE_SIZE / 2 - 2);
		icg_put32(b + 8, IC_REG_SZ);
		icg_put32(b + 12, 2 * (k + 1));
		icg_put32(b + 16, 2 * (v + 1));
		icg_put32(buf + 20, IC_S_OK);
		return;
	}
	icg_put32(buf + 20, IC_S_CONT);
}

/* Answer the request in buf[0..len) in place, as Linux does; the answer is
 * len bytes long.  Returns false if Linux would send nothing back. */
static inline bool ic_guest_answer(struct ic_guest *g, uint8_t *buf, size_t len)
{
	uint16_t type;

	if (len < IC_HDR_SIZE)
		return false;
	type = icg_get16(buf + 12);
	switch (type) {
	case IC_MSGTYPE_NEGOTIATE:
		icg_negotiate(g, buf, len);
		break;
	case IC_MSGTYPE_HEARTBEAT:
		if (len < IC_HDR_SIZE + 8)
			return false;
		icg_put64(buf + IC_HDR_SIZE, icg_get64(buf + IC_HDR_SIZE) + 1);
		break;
	case IC_MSGTYPE_SHUTDOWN:
		if (len < IC_HDR_SIZE + IC_SHUTDOWN_BODY_SIZE)
			return false;
		g->shutdown_flags = icg_get32(buf + IC_HDR_SIZE + 8);
		g->shutdowns++;
		icg_put32(buf + 20, g->shutdown_flags <= 3 ? IC_S_OK : IC_E_FAIL);
		break;
	case IC_MSGTYPE_TIMESYNC:
		g->parenttime = icg_get64(buf + IC_HDR_SIZE);
		if (g->msg_version > IC_VERSION(3, 0)) {
			g->reftime = icg_get64(buf + IC_HDR_SIZE + 8);
			g->ts_flags = buf[IC_HDR_SIZE + 16];
		} else {
			g->ts_flags = buf[IC_HDR_SIZE + 24];
		}
		g->samples++;
		break;
	case IC_MSGTYPE_KVPEXCHANGE:
		icg_kvp_answer(g, buf);
		break;
	default:
		icg_put32(buf + 20, IC_E_FAIL);
		break;
	}
	buf[25] = IC_FLAG_TRANSACTION | IC_FLAG_RESPONSE;
	return true;
}

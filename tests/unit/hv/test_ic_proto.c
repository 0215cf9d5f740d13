// SPDX-License-Identifier: GPL-3.0-or-later
/* The integration services' wire format (hv/ic-proto.c) against a guest
 * that answers as Linux's hv_utils does (ic-guest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-mem.h"
#include "ic-guest.h"
#include "ic-proto.h"

static const uint32_t fw[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t hb[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t sd[] = { IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
				IC_VERSION(1, 0) };
static const uint32_t ts[] = { IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t kvp[] = { IC_VERSION(5, 0), IC_VERSION(4, 0), IC_VERSION(3, 0) };

static uint8_t buf[IC_MAX_REQUEST_SIZE + 64];
static struct ic_response resp;

static struct ic_request negotiate_rq(const uint32_t *msg, unsigned nmsg)
{
	return (struct ic_request){
		.msgtype = IC_MSGTYPE_NEGOTIATE, .fw = fw, .nfw = 2, .msg = msg, .nmsg = nmsg,
	};
}

/* Negotiate msg[] with a guest supporting mine[]; returns the parse result. */
static int negotiate(const uint32_t *msg, unsigned nmsg, const uint32_t *mine, unsigned nmine)
{
	struct ic_guest g = { .versions = mine, .nversions = nmine };
	struct ic_request rq = negotiate_rq(msg, nmsg);
	int len = ic_encode_negotiate(buf, sizeof(buf), fw, 2, msg, nmsg);

	assert_true(len > 0);
	assert_true(ic_guest_answer(&g, buf, len));
	return ic_parse_response(&rq, buf, len, &resp);
}

static void test_negotiate_request(void **state)
{
	int len = ic_encode_negotiate(buf, sizeof(buf), fw, 2, sd, 4);

	assert_int_equal(len, IC_HDR_SIZE + 8 + 6 * 4);
	assert_int_equal(rd32(buf), IC_PIPE_FLAG_DATA);
	assert_int_equal(rd32(buf + 4), len - IC_PIPE_HDR_SIZE);
	assert_int_equal(rd16(buf + 12), IC_MSGTYPE_NEGOTIATE);
	assert_int_equal(rd16(buf + 18), 8 + 6 * 4);
	assert_int_equal(rd32(buf + 20), IC_S_OK);
	assert_int_equal(buf[25], IC_FLAG_TRANSACTION | IC_FLAG_REQUEST);
	assert_int_equal(rd16(buf + 28), 2);
	assert_int_equal(rd16(buf + 30), 4);
	/* 3.0, 1.0, then 3.2, 3.1, 3.0, 1.0 as (major, minor) u16 pairs. */
	assert_int_equal(rd16(buf + 36), 3);
	assert_int_equal(rd16(buf + 38), 0);
	assert_int_equal(rd16(buf + 40), 1);
	assert_int_equal(rd16(buf + 44), 3);
	assert_int_equal(rd16(buf + 46), 2);
	assert_int_equal(rd16(buf + 56), 1);

	assert_int_equal(ic_encode_negotiate(buf, 40, fw, 2, sd, 4), -ENOBUFS);
	assert_int_equal(ic_encode_negotiate(buf, sizeof(buf), fw, 0, sd, 4), -EINVAL);
	assert_int_equal(ic_encode_negotiate(buf, sizeof(buf), fw, 2, sd, 0), -EINVAL);
}

static void test_negotiate_choice(void **state)
{
	assert_int_equal(negotiate(hb, 2, icg_hb, 2), 0);
	assert_int_equal(resp.fw, IC_VERSION(3, 0));
	assert_int_equal(resp.msg, IC_VERSION(3, 0));
	assert_int_equal(resp.hdr.msgsize, 16);

	assert_int_equal(negotiate(sd, 4, icg_sd, 4), 0);
	assert_int_equal(resp.msg, IC_VERSION(3, 2));
	assert_int_equal(negotiate(ts, 3, icg_ts, 3), 0);
	assert_int_equal(resp.msg, IC_VERSION(4, 0));
	/* Linux has no KVP 5.0: it takes 4.0. */
	assert_int_equal(negotiate(kvp, 3, icg_kvp, 3), 0);
	assert_int_equal(resp.msg, IC_VERSION(4, 0));
	/* An old guest. */
	assert_int_equal(negotiate(ts, 3, icg_ts + 2, 1), 0);
	assert_int_equal(resp.msg, IC_VERSION(1, 0));
}

static void test_negotiate_bad(void **state)
{
	static const uint32_t v9[] = { IC_VERSION(9, 0) };
	struct ic_request rq = negotiate_rq(hb, 2);
	int len;

	/* Nothing in common: both counts come back 0. */
	assert_int_equal(negotiate(hb, 2, v9, 1), -ENOTSUP);

	/* The guest "picks" a version we never offered. */
	assert_int_equal(negotiate(hb, 2, icg_hb, 2), 0);
	len = IC_HDR_SIZE + 8 + 4 * 4;
	wr16(buf + IC_HDR_SIZE + 12, 7);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);

	/* icmsgsize too small for the two versions. */
	assert_int_equal(negotiate(hb, 2, icg_hb, 2), 0);
	wr16(buf + 18, 12);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);

	/* A failure status. */
	assert_int_equal(negotiate(hb, 2, icg_hb, 2), 0);
	wr32(buf + 20, IC_E_FAIL);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 1);
	assert_int_equal(resp.hdr.status, IC_E_FAIL);
}

static void test_header_checks(void **state)
{
	struct ic_request rq = { .msgtype = IC_MSGTYPE_HEARTBEAT, .seq = 5 };
	struct ic_guest g = { 0 };
	struct ic_versions v = { IC_VERSION(3, 0), IC_VERSION(3, 0) };
	int len = ic_encode_heartbeat(buf, sizeof(buf), &v, 5);
	uint8_t save[IC_HDR_SIZE + IC_HEARTBEAT_BODY_SIZE];

	assert_int_equal(len, IC_HDR_SIZE + IC_HEARTBEAT_BODY_SIZE);
	assert_true(ic_guest_answer(&g, buf, len));
	memcpy(save, buf, len);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);

	/* Every length below the headers. */
	for (int n = 0; n < (int)IC_HDR_SIZE; n++)
		assert_int_equal(ic_parse_response(&rq, buf, n, &resp), -EBADMSG);
	/* Pipe msgsize beyond the packet, below the icmsg_hdr. */
	wr32(buf + 4, len - IC_PIPE_HDR_SIZE + 1);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(buf + 4, IC_MSG_HDR_SIZE - 1);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(buf + 4, 0xffffffff);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	memcpy(buf, save, len);
	/* icmsgsize beyond the pipe message. */
	wr16(buf + 18, IC_HEARTBEAT_BODY_SIZE + 1);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	memcpy(buf, save, len);
	/* Not data, not a response. */
	wr32(buf, 2);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	memcpy(buf, save, len);
	buf[25] = IC_FLAG_TRANSACTION | IC_FLAG_REQUEST;
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	memcpy(buf, save, len);
	/* Another message type. */
	wr16(buf + 12, IC_MSGTYPE_TIMESYNC);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);
	memcpy(buf, save, len);
	/* Padding after the message is fine (packets are 8-byte multiples). */
	assert_int_equal(ic_parse_response(&rq, buf, len + 7, &resp), 0);
}

static void test_heartbeat(void **state)
{
	struct ic_versions v = { IC_VERSION(3, 0), IC_VERSION(3, 0) };
	struct ic_request rq = { .msgtype = IC_MSGTYPE_HEARTBEAT, .seq = 41 };
	struct ic_guest g = { 0 };
	int len = ic_encode_heartbeat(buf, sizeof(buf), &v, 41);

	assert_int_equal(rd16(buf + 8), 3);
	assert_int_equal(rd16(buf + 14), 3);
	assert_int_equal(rd64(buf + IC_HDR_SIZE), 41);
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_int_equal(resp.seq, 42);

	/* Wrong sequence: not our answer. */
	wr64(buf + IC_HDR_SIZE, 43);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);
	/* A body too short for the sequence number. */
	wr64(buf + IC_HDR_SIZE, 42);
	wr16(buf + 18, 7);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr16(buf + 18, 8);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	/* A failure status. */
	wr32(buf + 20, IC_E_FAIL);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 1);
}

static void test_shutdown(void **state)
{
	struct ic_versions v = { IC_VERSION(3, 0), IC_VERSION(3, 2) };
	struct ic_request rq = { .msgtype = IC_MSGTYPE_SHUTDOWN };
	struct ic_guest g = { 0 };
	uint8_t *b = buf + IC_HDR_SIZE;
	int len;

	len = ic_encode_shutdown(buf, sizeof(buf), &v, 0, IC_SHUTDOWN_REASON_PLANNED, 30,
				 "Bye, Grüße");
	assert_int_equal(len, IC_HDR_SIZE + IC_SHUTDOWN_BODY_SIZE);
	assert_int_equal(rd32(b), IC_SHUTDOWN_REASON_PLANNED);
	assert_int_equal(rd32(b + 4), 30);
	assert_int_equal(rd32(b + 8), 0);
	assert_int_equal(rd16(b + 12), 'B');
	assert_int_equal(rd16(b + 12 + 2 * 5), 'G');
	assert_int_equal(rd16(b + 12 + 2 * 7), 0xfc); /* ü */
	assert_int_equal(rd16(b + 12 + 2 * 9), 'e');
	assert_int_equal(rd16(b + 12 + 2 * 10), 0);
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_int_equal(g.shutdown_flags, 0);

	len = ic_encode_shutdown(buf, sizeof(buf), &v, IC_SHUTDOWN_FLAG_RESTART, 0, 0, NULL);
	assert_int_equal(rd16(b + 12), 0);
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_int_equal(g.shutdown_flags, IC_SHUTDOWN_FLAG_RESTART);

	/* Hibernation: this guest refuses. */
	len = ic_encode_shutdown(buf, sizeof(buf), &v, IC_SHUTDOWN_FLAG_HIBERNATE, 0, 0, "");
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 1);
	assert_int_equal(resp.hdr.status, IC_E_FAIL);

	/* A message too long for display_message is cut, NUL kept. */
	{
		char *m = malloc(5000);

		memset(m, 'x', 4999);
		m[4999] = 0;
		len = ic_encode_shutdown(buf, sizeof(buf), &v, 0, 0, 0, m);
		assert_int_equal(rd16(b + 12 + 2046), 0);
		assert_int_equal(rd16(b + 12 + 2044), 'x');
		free(m);
	}
}

static void test_timesync(void **state)
{
	struct ic_versions v4 = { IC_VERSION(3, 0), IC_VERSION(4, 0) };
	struct ic_versions v3 = { IC_VERSION(3, 0), IC_VERSION(3, 0) };
	struct ic_request rq = { .msgtype = IC_MSGTYPE_TIMESYNC };
	struct ic_guest g = { .msg_version = IC_VERSION(4, 0) };
	uint64_t t = ic_filetime(1700000000, 123456789);
	int len;

	assert_int_equal(ic_filetime(0, 0), IC_FILETIME_UNIX_EPOCH);
	assert_int_equal(t, IC_FILETIME_UNIX_EPOCH + UINT64_C(17000000000000000) + 1234567);

	len = ic_encode_timesync(buf, sizeof(buf), &v4, t, 777, IC_TIMESYNC_FLAG_SYNC);
	assert_int_equal(len, IC_HDR_SIZE + IC_TIMESYNC_V4_BODY_SIZE);
	assert_int_equal(rd16(buf + 12), IC_MSGTYPE_TIMESYNC);
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(g.parenttime, t);
	assert_int_equal(g.reftime, 777);
	assert_int_equal(g.ts_flags, IC_TIMESYNC_FLAG_SYNC);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);

	g.msg_version = IC_VERSION(3, 0);
	len = ic_encode_timesync(buf, sizeof(buf), &v3, t + 1, 777, IC_TIMESYNC_FLAG_SAMPLE);
	assert_int_equal(len, IC_HDR_SIZE + IC_TIMESYNC_V3_BODY_SIZE);
	assert_int_equal(rd64(buf + IC_HDR_SIZE + 8), 0); /* childtime */
	assert_true(ic_guest_answer(&g, buf, len));
	assert_int_equal(g.parenttime, t + 1);
	assert_int_equal(g.ts_flags, IC_TIMESYNC_FLAG_SAMPLE);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	/* Linux answers an unknown type with HV_E_FAIL. */
	wr32(buf + 20, IC_E_FAIL);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 1);
}

static const struct icg_pair pairs[] = {
	{ IC_KVP_POOL_AUTO, "FullyQualifiedDomainName", "guest.example" },
	{ IC_KVP_POOL_AUTO, "OSName", "Grüße 😀" },
	{ IC_KVP_POOL_GUEST, "empty", "" },
};

static int kvp_enum(struct ic_guest *g, uint8_t pool, uint32_t index, int *len)
{
	struct ic_versions v = { IC_VERSION(3, 0), IC_VERSION(4, 0) };
	struct ic_request rq = { .msgtype = IC_MSGTYPE_KVPEXCHANGE, .pool = pool, .index = index };

	*len = ic_encode_kvp_enumerate(buf, sizeof(buf), &v, pool, index);
	assert_int_equal(*len, IC_HDR_SIZE + IC_KVP_ENUM_BODY_SIZE);
	assert_int_equal(buf[IC_HDR_SIZE], IC_KVP_OP_ENUMERATE);
	assert_int_equal(buf[IC_HDR_SIZE + 1], pool);
	assert_int_equal(rd32(buf + IC_HDR_SIZE + 4), index);
	assert_true(ic_guest_answer(g, buf, *len));
	return ic_parse_response(&rq, buf, *len, &resp);
}

static void test_kvp_enumerate(void **state)
{
	struct ic_guest g = { .pairs = pairs, .npairs = 3, .kvp_daemon = true };
	int len;

	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_AUTO, 0, &len), 0);
	assert_string_equal(resp.kvp.key, "FullyQualifiedDomainName");
	assert_string_equal(resp.kvp.value, "guest.example");
	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_AUTO, 1, &len), 0);
	assert_string_equal(resp.kvp.key, "OSName");
	assert_string_equal(resp.kvp.value, "Grüße 😀");
	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_AUTO, 2, &len), 1);
	assert_int_equal(resp.hdr.status, IC_S_CONT);
	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_GUEST, 0, &len), 0);
	assert_string_equal(resp.kvp.key, "empty");
	assert_string_equal(resp.kvp.value, "");

	/* No daemon: HV_E_FAIL ends the pool at once. */
	g.kvp_daemon = false;
	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_AUTO, 0, &len), 1);
	assert_int_equal(resp.hdr.status, IC_E_FAIL);
}

static void test_kvp_bad(void **state)
{
	struct ic_guest g = { .pairs = pairs, .npairs = 3, .kvp_daemon = true };
	struct ic_request rq = { .msgtype = IC_MSGTYPE_KVPEXCHANGE, .pool = IC_KVP_POOL_AUTO };
	uint8_t save[IC_HDR_SIZE + IC_KVP_ENUM_BODY_SIZE];
	uint8_t *b = buf + IC_HDR_SIZE;
	int len;

	assert_int_equal(kvp_enum(&g, IC_KVP_POOL_AUTO, 0, &len), 0);
	memcpy(save, buf, len);
#define RESTORE() memcpy(buf, save, len)
	/* Key and value sizes: odd, zero, too large, without the NUL. */
	wr32(b + 12, 5);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(b + 12, 0);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(b + 12, IC_KVP_MAX_KEY_SIZE + 2);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(b + 12, 0xfffffffe);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(b + 12, 2 * 10); /* cuts "FullyQualifiedDomainName" without a NUL */
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	wr32(b + 16, IC_KVP_MAX_VALUE_SIZE + 2);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	/* The whole key area, 256 units with the NUL last: fine. */
	for (unsigned i = 0; i < 255; i++)
		wr16(b + 20 + 2 * i, 'k');
	wr16(b + 20 + 510, 0);
	wr32(b + 12, IC_KVP_MAX_KEY_SIZE);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_int_equal(strlen(resp.kvp.key), 255);
	RESTORE();
	/* An embedded NUL. */
	wr16(b + 20 + 4, 0);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	/* Unpaired surrogates, high then low. */
	wr16(b + 20, 0xd800);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	wr16(b + 20, 0xdc00);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	/* A high surrogate as the last character, before the NUL. */
	wr32(b + 12, 4);
	wr16(b + 20, 0xdbff);
	wr16(b + 22, 0);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	/* Pool, index and operation must be ours. */
	b[1] = IC_KVP_POOL_GUEST;
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);
	RESTORE();
	wr32(b + 4, 1);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);
	RESTORE();
	b[0] = 0;
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EPROTO);
	RESTORE();
	/* A body shorter than hv_kvp_msg_enumerate. */
	wr16(buf + 18, IC_KVP_ENUM_BODY_SIZE - 1);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	RESTORE();
	assert_int_equal(ic_parse_response(&rq, buf, len - 1, &resp), -EBADMSG);
	/* Value types: DWORD and QWORD become decimal strings. */
	wr32(b + 8, IC_REG_DWORD);
	wr32(b + 16, 4);
	wr32(b + 20 + IC_KVP_MAX_KEY_SIZE, 4000000000u);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_string_equal(resp.kvp.value, "4000000000");
	wr32(b + 16, 8);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
	wr32(b + 8, IC_REG_QWORD);
	wr64(b + 20 + IC_KVP_MAX_KEY_SIZE, UINT64_MAX);
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), 0);
	assert_string_equal(resp.kvp.value, "18446744073709551615");
	wr32(b + 8, 3); /* REG_BINARY */
	assert_int_equal(ic_parse_response(&rq, buf, len, &resp), -EBADMSG);
#undef RESTORE
}

static void test_utf(void **state)
{
	uint8_t u16[64];
	char out[64];
	size_t n;

	n = ic_utf8_to_utf16le("aé€😀", u16, sizeof(u16));
	assert_int_equal(n, 2 * 6);
	assert_int_equal(rd16(u16), 'a');
	assert_int_equal(rd16(u16 + 2), 0xe9);
	assert_int_equal(rd16(u16 + 4), 0x20ac);
	assert_int_equal(rd16(u16 + 6), 0xd83d);
	assert_int_equal(rd16(u16 + 8), 0xde00);
	assert_int_equal(rd16(u16 + 10), 0);
	assert_int_equal(ic_utf16le_to_utf8(u16, n, out, sizeof(out)), strlen("aé€😀"));
	assert_string_equal(out, "aé€😀");
	/* Too small: -ENOBUFS, never overflow. */
	assert_int_equal(ic_utf16le_to_utf8(u16, n, out, 5), -ENOBUFS);
	assert_int_equal(ic_utf16le_to_utf8(u16, n, out, 10), -ENOBUFS);
	assert_int_equal(ic_utf16le_to_utf8(u16, n, out, 11), strlen("aé€😀"));

	/* Invalid UTF-8 becomes U+FFFD: a stray continuation, an overlong
	 * NUL, a surrogate, a truncated sequence. */
	n = ic_utf8_to_utf16le("\x80" "\xc0\x80" "\xed\xa0\x80" "\xe2\x82", u16, sizeof(u16));
	for (size_t i = 0; i + 1 < n / 2; i++)
		assert_int_equal(rd16(u16 + 2 * i), 0xfffd);
	assert_int_equal(rd16(u16 + n - 2), 0);

	/* Cut at a character boundary: no half surrogate pair. */
	n = ic_utf8_to_utf16le("ab😀", u16, 8);
	assert_int_equal(n, 6);
	assert_int_equal(rd16(u16 + 4), 0);
	assert_int_equal(ic_utf8_to_utf16le("abc", u16, 2), 2);
	assert_int_equal(rd16(u16), 0);
	assert_int_equal(ic_utf8_to_utf16le("abc", u16, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate_request),
		cmocka_unit_test(test_negotiate_choice),
		cmocka_unit_test(test_negotiate_bad),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_timesync),
		cmocka_unit_test(test_kvp_enumerate),
		cmocka_unit_test(test_kvp_bad),
		cmocka_unit_test(test_utf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

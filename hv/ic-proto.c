// SPDX-License-Identifier: GPL-3.0-or-later
#include "ic-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put_version(uint8_t *p, uint32_t v)
{
	put16(p, IC_VERSION_MAJOR(v));
	put16(p + 2, IC_VERSION_MINOR(v));
}

static uint32_t get_version(const uint8_t *p)
{
	return IC_VERSION(get16(p), get16(p + 2));
}

/* Pipe header and icmsg_hdr of a request with body_len bytes of body; the
 * body is zeroed.  Returns the packet length. */
static int put_request(uint8_t *buf, size_t max, uint16_t msgtype, const struct ic_versions *v,
		       size_t body_len)
{
	size_t len = IC_HDR_SIZE + body_len;

	if (body_len > UINT16_MAX)
		return -EINVAL;
	if (max < len)
		return -ENOBUFS;
	memset(buf, 0, len);
	put32(buf, IC_PIPE_FLAG_DATA);
	put32(buf + 4, IC_MSG_HDR_SIZE + body_len);
	put_version(buf + 8, v ? v->framework : 0);
	put16(buf + 12, msgtype);
	put_version(buf + 14, v ? v->message : 0);
	put16(buf + 18, body_len);
	put32(buf + 20, IC_S_OK);
	buf[24] = 0; /* ictransaction_id: Hyper-V matches on the packet's id */
	buf[25] = IC_FLAG_TRANSACTION | IC_FLAG_REQUEST;
	return len;
}

int ic_encode_negotiate(uint8_t *buf, size_t max, const uint32_t *fw, unsigned nfw,
			const uint32_t *msg, unsigned nmsg)
{
	uint8_t *b;
	int len;

	if (!nfw || !nmsg || nfw + nmsg > IC_MAX_VERSIONS)
		return -EINVAL;
	len = put_request(buf, max, IC_MSGTYPE_NEGOTIATE, NULL, IC_NEGOTIATE_BODY_SIZE(nfw + nmsg));
	if (len < 0)
		return len;
	b = buf + IC_HDR_SIZE;
	put16(b, nfw);
	put16(b + 2, nmsg);
	b += 8;
	for (unsigned i = 0; i < nfw; i++, b += 4)
		put_version(b, fw[i]);
	for (unsigned i = 0; i < nmsg; i++, b += 4)
		put_version(b, msg[i]);
	return len;
}

int ic_encode_heartbeat(uint8_t *buf, size_t max, const struct ic_versions *v, uint64_t seq)
{
	int len = put_request(buf, max, IC_MSGTYPE_HEARTBEAT, v, IC_HEARTBEAT_BODY_SIZE);

	if (len < 0)
		return len;
	put64(buf + IC_HDR_SIZE, seq);
	return len;
}

int ic_encode_shutdown(uint8_t *buf, size_t max, const struct ic_versions *v, uint32_t flags,
		       uint32_t reason, uint32_t timeout_s, const char *message)
{
	int len = put_request(buf, max, IC_MSGTYPE_SHUTDOWN, v, IC_SHUTDOWN_BODY_SIZE);
	uint8_t *b = buf + IC_HDR_SIZE;

	if (len < 0)
		return len;
	put32(b, reason);
	put32(b + 4, timeout_s);
	put32(b + 8, flags);
	ic_utf8_to_utf16le(message ? message : "", b + 12, IC_SHUTDOWN_MSG_SIZE);
	return len;
}

int ic_encode_timesync(uint8_t *buf, size_t max, const struct ic_versions *v, uint64_t parenttime,
		       uint64_t reftime, uint8_t flags)
{
	bool v4 = v->message >= IC_VERSION(4, 0);
	int len = put_request(buf, max, IC_MSGTYPE_TIMESYNC, v,
			      v4 ? IC_TIMESYNC_V4_BODY_SIZE : IC_TIMESYNC_V3_BODY_SIZE);
	uint8_t *b = buf + IC_HDR_SIZE;

	if (len < 0)
		return len;
	put64(b, parenttime);
	if (v4) {
		/* ictimesync_ref_data: the guest adds the reference time that
		 * passed since vmreferencetime (hv_util.c adj_guesttime). */
		put64(b + 8, reftime);
		b[16] = flags;
	} else {
		/* ictimesync_data: childtime and roundtriptime stay 0. */
		b[24] = flags;
	}
	return len;
}

int ic_encode_kvp_enumerate(uint8_t *buf, size_t max, const struct ic_versions *v, uint8_t pool,
			    uint32_t index)
{
	int len = put_request(buf, max, IC_MSGTYPE_KVPEXCHANGE, v, IC_KVP_ENUM_BODY_SIZE);
	uint8_t *b = buf + IC_HDR_SIZE;

	if (len < 0)
		return len;
	/* hv_kvp_hdr, then hv_kvp_msg_enumerate with an empty (zeroed)
	 * value the guest fills in: Linux writes the UTF-16 without its
	 * NUL and counts on these zeroes (hv_kvp.c kvp_respond_to_host). */
	b[0] = IC_KVP_OP_ENUMERATE;
	b[1] = pool;
	put32(b + 4, index);
	return len;
}

uint64_t ic_filetime(int64_t sec, long nsec)
{
	return (uint64_t)(sec * 10000000 + nsec / 100) + IC_FILETIME_UNIX_EPOCH;
}

int ic_decode_hdr(const uint8_t *buf, size_t len, struct ic_hdr *h, const uint8_t **body,
		  size_t *body_len)
{
	if (len < IC_HDR_SIZE)
		return -EBADMSG;
	h->pipe_flags = get32(buf);
	h->pipe_msgsize = get32(buf + 4);
	h->framework = get_version(buf + 8);
	h->msgtype = get16(buf + 12);
	h->message = get_version(buf + 14);
	h->msgsize = get16(buf + 18);
	h->status = get32(buf + 20);
	h->trans_id = buf[24];
	h->flags = buf[25];
	if (h->pipe_flags != IC_PIPE_FLAG_DATA)
		return -EBADMSG;
	/* The packet may be longer (padding to 8 bytes), never shorter. */
	if (h->pipe_msgsize < IC_MSG_HDR_SIZE || h->pipe_msgsize > len - IC_PIPE_HDR_SIZE)
		return -EBADMSG;
	if (h->msgsize > h->pipe_msgsize - IC_MSG_HDR_SIZE)
		return -EBADMSG;
	if (!(h->flags & IC_FLAG_RESPONSE))
		return -EBADMSG;
	*body = buf + IC_HDR_SIZE;
	*body_len = h->msgsize;
	return 0;
}

static bool version_in(uint32_t v, const uint32_t *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static int parse_negotiate(const struct ic_request *rq, const uint8_t *b, size_t n,
			   struct ic_response *r)
{
	/* vmbus_prep_negotiate_resp() (channel_mgmt.c) answers with one
	 * framework and one message version, or both counts 0 when nothing
	 * matched, and sets icmsgsize to 16. */
	if (n < IC_NEGOTIATE_BODY_SIZE(0))
		return -EBADMSG;
	if (get16(b) != 1 || get16(b + 2) != 1)
		return -ENOTSUP;
	if (n < IC_NEGOTIATE_BODY_SIZE(2))
		return -EBADMSG;
	r->fw = get_version(b + 8);
	r->msg = get_version(b + 12);
	if (!version_in(r->fw, rq->fw, rq->nfw) || !version_in(r->msg, rq->msg, rq->nmsg))
		return -EPROTO;
	return 0;
}

static int format_u64(char *dst, size_t max, uint64_t v)
{
	int n = snprintf(dst, max, "%" PRIu64, v);

	return n < 0 || (size_t)n >= max ? -ENOBUFS : 0;
}

static int parse_kvp(const struct ic_request *rq, const uint8_t *b, size_t n,
		     struct ic_response *r)
{
	uint32_t type, key_size, value_size;
	const uint8_t *value;

	if (n < IC_KVP_ENUM_BODY_SIZE)
		return -EBADMSG;
	/* The guest answers in the request's buffer: header, pool and
	 * index come back as sent. */
	if (b[0] != IC_KVP_OP_ENUMERATE || b[1] != rq->pool || get32(b + 4) != rq->index)
		return -EPROTO;
	type = get32(b + 8);
	key_size = get32(b + 12);
	value_size = get32(b + 16);
	if (key_size > IC_KVP_MAX_KEY_SIZE || value_size > IC_KVP_MAX_VALUE_SIZE)
		return -EBADMSG;
	if (ic_utf16le_to_utf8(b + 20, key_size, r->kvp.key, sizeof(r->kvp.key)) < 0)
		return -EBADMSG;
	value = b + 20 + IC_KVP_MAX_KEY_SIZE;
	switch (type) {
	case IC_REG_SZ:
	case IC_REG_EXPAND_SZ:
		if (ic_utf16le_to_utf8(value, value_size, r->kvp.value, sizeof(r->kvp.value)) < 0)
			return -EBADMSG;
		return 0;
	case IC_REG_DWORD:
		if (value_size != 4)
			return -EBADMSG;
		return format_u64(r->kvp.value, sizeof(r->kvp.value), get32(value)) ? -EBADMSG : 0;
	case IC_REG_U64:
	case IC_REG_QWORD:
		if (value_size != 8)
			return -EBADMSG;
		return format_u64(r->kvp.value, sizeof(r->kvp.value), get64(value)) ? -EBADMSG : 0;
	default:
		return -EBADMSG;
	}
}

int ic_parse_response(const struct ic_request *rq, const uint8_t *buf, size_t len,
		      struct ic_response *r)
{
	const uint8_t *b;
	size_t n;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = ic_decode_hdr(buf, len, &r->hdr, &b, &n);
	if (ret < 0)
		return ret;
	if (r->hdr.msgtype != rq->msgtype)
		return -EPROTO;
	if (r->hdr.status != IC_S_OK)
		return 1;
	switch (rq->msgtype) {
	case IC_MSGTYPE_NEGOTIATE:
		return parse_negotiate(rq, b, n, r);
	case IC_MSGTYPE_HEARTBEAT:
		/* Linux checks only the sequence number is there (hv_util.c). */
		if (n < 8)
			return -EBADMSG;
		r->seq = get64(b);
		return r->seq == rq->seq + 1 ? 0 : -EPROTO;
	case IC_MSGTYPE_KVPEXCHANGE:
		return parse_kvp(rq, b, n, r);
	case IC_MSGTYPE_SHUTDOWN:
	case IC_MSGTYPE_TIMESYNC:
		/* Only the status matters. */
		return 0;
	default:
		return -EPROTO;
	}
}

static size_t put_utf8(char *dst, uint32_t c)
{
	if (c < 0x80) {
		dst[0] = c;
		return 1;
	}
	if (c < 0x800) {
		dst[0] = 0xc0 | c >> 6;
		dst[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		dst[0] = 0xe0 | c >> 12;
		dst[1] = 0x80 | (c >> 6 & 0x3f);
		dst[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	dst[0] = 0xf0 | c >> 18;
	dst[1] = 0x80 | (c >> 12 & 0x3f);
	dst[2] = 0x80 | (c >> 6 & 0x3f);
	dst[3] = 0x80 | (c & 0x3f);
	return 4;
}

int ic_utf16le_to_utf8(const uint8_t *src, size_t nbytes, char *dst, size_t max)
{
	size_t units = nbytes / 2, out = 0;
	char tmp[4];

	if (!max)
		return -ENOBUFS;
	dst[0] = 0;
	if (nbytes % 2 || !units || get16(src + nbytes - 2) != 0)
		return -EINVAL;
	for (size_t i = 0; i + 1 < units; i++) {
		uint32_t c = get16(src + 2 * i);
		size_t k;

		if (c == 0)
			return -EINVAL;
		if (c >= 0xdc00 && c <= 0xdfff)
			return -EILSEQ;
		if (c >= 0xd800 && c <= 0xdbff) {
			/* The NUL unit at the end is never a low surrogate. */
			uint32_t lo = get16(src + 2 * (i + 1));

			if (lo < 0xdc00 || lo > 0xdfff)
				return -EILSEQ;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		}
		k = put_utf8(tmp, c);
		if (out + k >= max) {
			dst[0] = 0;
			return -ENOBUFS;
		}
		memcpy(dst + out, tmp, k);
		out += k;
	}
	dst[out] = 0;
	return out;
}

/* One code point from s (at least one byte, NUL-terminated); *len gets the
 * bytes used.  Invalid sequences give U+FFFD for one byte. */
static uint32_t get_utf8(const unsigned char *s, size_t *len)
{
	uint32_t c = s[0], min;
	size_t n;

	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0xfffd;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0xfffd;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0xfffd;
	*len = n;
	return c;
}

size_t ic_utf8_to_utf16le(const char *src, uint8_t *dst, size_t max)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t units = max / 2, out = 0;

	if (!units)
		return 0;
	while (*s) {
		size_t len;
		uint32_t c = get_utf8(s, &len);
		size_t need = c >= 0x10000 ? 2 : 1;

		if (out + need + 1 > units)
			break;
		if (need == 2) {
			c -= 0x10000;
			put16(dst + 2 * out++, 0xd800 + (c >> 10));
			put16(dst + 2 * out++, 0xdc00 + (c & 0x3ff));
		} else {
			put16(dst + 2 * out++, c);
		}
		s += len;
	}
	put16(dst + 2 * out++, 0);
	return out * 2;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The wire format of the Hyper-V integration services (hv/vmbus-ic.c uses
 * it; unit tests and the ic fuzz target drive it directly).  Pure: buffers
 * in, buffers out, no state.
 *
 * Every IC packet is a VMBus in-band packet whose payload is
 *   struct vmbuspipe_hdr  (8 bytes: flags = 1 "data", msgsize = bytes after it)
 *   struct icmsg_hdr      (20 bytes)
 *   the message body      (icmsgsize bytes)
 * (include/linux/hyperv.h; ICMSG_HDR is the first two, 28 bytes).  Linux's
 * hv_utils answers a request by rewriting the request buffer in place and
 * sending all of it back (drivers/hv/hv_util.c, hv_kvp.c), so a response is
 * as long as its request.  Everything here is little-endian and read byte by
 * byte: a response is guest memory, it is never cast to a struct.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (major << 16) | minor, as Linux's hv_util.c writes versions. */
#define IC_VERSION(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define IC_VERSION_MAJOR(v) ((unsigned)((v) >> 16))
#define IC_VERSION_MINOR(v) ((unsigned)((v) & 0xffff))

#define IC_PIPE_HDR_SIZE 8u
#define IC_MSG_HDR_SIZE 20u
#define IC_HDR_SIZE (IC_PIPE_HDR_SIZE + IC_MSG_HDR_SIZE) /* ICMSG_HDR */

/* vmbuspipe_hdr.flags of a message-mode pipe data packet. */
#define IC_PIPE_FLAG_DATA 1u

/* icmsg_hdr.icmsgtype (ICMSGTYPE_* in include/linux/hyperv.h). */
#define IC_MSGTYPE_NEGOTIATE 0
#define IC_MSGTYPE_HEARTBEAT 1
#define IC_MSGTYPE_KVPEXCHANGE 2
#define IC_MSGTYPE_SHUTDOWN 3
#define IC_MSGTYPE_TIMESYNC 4

/* icmsg_hdr.icflags (ICMSGHDRFLAG_*). */
#define IC_FLAG_TRANSACTION 1u
#define IC_FLAG_REQUEST 2u
#define IC_FLAG_RESPONSE 4u

/* Status codes (include/uapi/linux/hyperv.h). */
#define IC_S_OK 0x00000000u
#define IC_E_FAIL 0x80004005u
#define IC_S_CONT 0x80070103u /* ERROR_NO_MORE_ITEMS: the end of a KVP enumeration */

/* The guest rejects negotiations listing more (IC_VERSION_NEGOTIATION_MAX_VER_COUNT). */
#define IC_MAX_VERSIONS 100u

/* Body sizes. */
#define IC_NEGOTIATE_BODY_SIZE(nversions) (8u + 4u * (nversions))
#define IC_HEARTBEAT_BODY_SIZE 40u  /* struct heartbeat_msg_data */
#define IC_SHUTDOWN_MSG_SIZE 2048u  /* display_message[] bytes */
#define IC_SHUTDOWN_BODY_SIZE (12u + IC_SHUTDOWN_MSG_SIZE) /* struct shutdown_msg_data */
#define IC_TIMESYNC_V3_BODY_SIZE 25u /* struct ictimesync_data */
/* struct ictimesync_ref_data is 22 bytes; Hyper-V pads it to 24. */
#define IC_TIMESYNC_V4_BODY_SIZE 24u

/* Shutdown flags (shutdown_msg_data.flags; hv_util.c shutdown_onchannelcallback). */
#define IC_SHUTDOWN_FLAG_FORCE 1u
#define IC_SHUTDOWN_FLAG_RESTART 2u
#define IC_SHUTDOWN_FLAG_HIBERNATE 4u
/* SHTDN_REASON_FLAG_PLANNED, the reason Hyper-V gives. */
#define IC_SHUTDOWN_REASON_PLANNED 0x80000000u

/* Time sync flags (ICTIMESYNCFLAG_*). */
#define IC_TIMESYNC_FLAG_SYNC 1u
#define IC_TIMESYNC_FLAG_SAMPLE 2u
/* 100 ns intervals from 1601-01-01 to 1970-01-01 (WLTIMEDELTA). */
#define IC_FILETIME_UNIX_EPOCH UINT64_C(116444736000000000)

/* KVP (include/uapi/linux/hyperv.h). */
#define IC_KVP_OP_ENUMERATE 3
#define IC_KVP_POOL_EXTERNAL 0
#define IC_KVP_POOL_GUEST 1
#define IC_KVP_POOL_AUTO 2
#define IC_KVP_MAX_KEY_SIZE 512u     /* HV_KVP_EXCHANGE_MAX_KEY_SIZE, UTF-16 bytes */
#define IC_KVP_MAX_VALUE_SIZE 2048u  /* HV_KVP_EXCHANGE_MAX_VALUE_SIZE */
/* hv_kvp_hdr + hv_kvp_msg_enumerate: what an enumerate request carries. */
#define IC_KVP_ENUM_BODY_SIZE (4u + 4u + 12u + IC_KVP_MAX_KEY_SIZE + IC_KVP_MAX_VALUE_SIZE)
/* Registry value types (REG_SZ ... in uapi/linux/hyperv.h; REG_QWORD is
 * Windows' 11, Linux's daemon calls 8 REG_U64). */
#define IC_REG_SZ 1u
#define IC_REG_EXPAND_SZ 2u
#define IC_REG_DWORD 4u
#define IC_REG_U64 8u
#define IC_REG_QWORD 11u
/* UTF-8 room for a converted key or value, NUL included: each UTF-16 code
 * unit becomes at most 3 bytes (a surrogate pair, two units, becomes 4). */
#define IC_KVP_KEY_UTF8_MAX (IC_KVP_MAX_KEY_SIZE / 2 * 3 + 1)
#define IC_KVP_VALUE_UTF8_MAX (IC_KVP_MAX_VALUE_SIZE / 2 * 3 + 1)

/* The largest request built here (a KVP enumeration). */
#define IC_MAX_REQUEST_SIZE (IC_HDR_SIZE + IC_KVP_ENUM_BODY_SIZE)

/* What a request's icmsg_hdr carries besides its type and body. */
struct ic_versions {
	uint32_t framework; /* 0 in a negotiation */
	uint32_t message;
};

/*
 * Encoders: write one request (pipe header, icmsg_hdr with TRANSACTION |
 * REQUEST, body) into buf.  Return its length, or -ENOBUFS if max is too
 * small, -EINVAL for bad arguments.
 */
int ic_encode_negotiate(uint8_t *buf, size_t max, const uint32_t *fw, unsigned nfw,
			const uint32_t *msg, unsigned nmsg);
int ic_encode_heartbeat(uint8_t *buf, size_t max, const struct ic_versions *v, uint64_t seq);
/* message: UTF-8 (invalid sequences become U+FFFD), stored as UTF-16LE and
 * cut to fit display_message with its terminating NUL. */
int ic_encode_shutdown(uint8_t *buf, size_t max, const struct ic_versions *v, uint32_t flags,
		       uint32_t reason, uint32_t timeout_s, const char *message);
/* Version 4.0 and later: struct ictimesync_ref_data with reftime; older:
 * struct ictimesync_data (hv_util.c timesync_onchannelcallback). */
int ic_encode_timesync(uint8_t *buf, size_t max, const struct ic_versions *v, uint64_t parenttime,
		       uint64_t reftime, uint8_t flags);
int ic_encode_kvp_enumerate(uint8_t *buf, size_t max, const struct ic_versions *v, uint8_t pool,
			    uint32_t index);

/* Windows FILETIME (100 ns since 1601) of a CLOCK_REALTIME instant. */
uint64_t ic_filetime(int64_t sec, long nsec);

/* A decoded pipe + icmsg header. */
struct ic_hdr {
	uint32_t pipe_flags;
	uint32_t pipe_msgsize;
	uint32_t framework; /* icverframe */
	uint16_t msgtype;
	uint32_t message;   /* icvermsg */
	uint16_t msgsize;   /* body bytes */
	uint32_t status;
	uint8_t trans_id;
	uint8_t flags;
};

/*
 * Decode the headers of a guest response of len bytes.  Checks that both
 * headers fit, the pipe header says data and its msgsize fits the packet
 * and holds the icmsg_hdr, icmsgsize fits in msgsize, and the flags say
 * RESPONSE.  On success *body / *body_len are the icmsgsize body bytes.
 * -EBADMSG for a malformed packet.
 */
int ic_decode_hdr(const uint8_t *buf, size_t len, struct ic_hdr *h, const uint8_t **body,
		  size_t *body_len);

/* What the host asked, for checking the answer. */
struct ic_request {
	uint16_t msgtype;
	uint32_t message; /* the negotiated message version (timesync layout) */
	/* Negotiation: the versions offered (the guest must pick from them). */
	const uint32_t *fw;
	unsigned nfw;
	const uint32_t *msg;
	unsigned nmsg;
	/* Heartbeat: the sequence number sent. */
	uint64_t seq;
	/* KVP enumeration. */
	uint8_t pool;
	uint32_t index;
};

struct ic_kvp_pair {
	char key[IC_KVP_KEY_UTF8_MAX];
	char value[IC_KVP_VALUE_UTF8_MAX];
};

struct ic_response {
	struct ic_hdr hdr;
	/* Negotiation: the versions the guest chose. */
	uint32_t fw, msg;
	/* Heartbeat: the guest's sequence number (seq + 1 from Linux). */
	uint64_t seq;
	/* KVP enumeration: the pair (when the status was OK). */
	struct ic_kvp_pair kvp;
};

/*
 * Parse a guest response to request rq.  Returns
 *   0          the guest said HV_S_OK and the body is valid (in *r);
 *   1          a well-formed answer with a failure status (r->hdr.status):
 *              for KVP the end of the pool, for shutdown a refusal;
 *   -EBADMSG   malformed: sizes, pipe header, missing RESPONSE flag,
 *              a body too short for the message, bad UTF-16;
 *   -EPROTO    well-formed but not an answer to rq (another message type,
 *              KVP operation/pool/index not echoed, heartbeat sequence not
 *              rq.seq + 1, negotiated versions not among those offered);
 *   -ENOTSUP   the guest supports none of the versions offered.
 */
int ic_parse_response(const struct ic_request *rq, const uint8_t *buf, size_t len,
		      struct ic_response *r);

/*
 * UTF-16LE (nbytes, which must be even, end with a NUL unit and contain no
 * earlier NUL) to a NUL-terminated UTF-8 string in dst[0..max).  Returns
 * the string length, -EILSEQ for an unpaired surrogate, -EINVAL for a
 * size that is odd, zero or without the terminator, -ENOBUFS if dst is
 * too small.
 */
int ic_utf16le_to_utf8(const uint8_t *src, size_t nbytes, char *dst, size_t max);
/* UTF-8 to UTF-16LE, at most max bytes including a NUL unit (max >= 2);
 * invalid UTF-8 becomes U+FFFD, the string is cut at a character boundary.
 * Returns the bytes written, NUL included. */
size_t ic_utf8_to_utf16le(const char *src, uint8_t *dst, size_t max);

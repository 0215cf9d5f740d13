/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The test guest's VMBus client ("vmbus" / "vmbus=hostile" / "vmbus=bench"
 * on the command line): channel management (vmbus.c), the integration
 * services (vmbus-ic.c), the hostile mode (vmbus-hostile.c), the
 * benchmark (vmbus-bench.c) and the desktop's devices ("desktop",
 * desktop.c).  Message layouts
 * are Linux 6.1's (include/linux/hyperv.h, struct vmbus_channel_*; all
 * __packed there), bit-fields written out as flag bytes.
 */

#include "hyperv.h"

/* What kmain() hands over. */
struct vmbus_config {
	const struct acpi_info *acpi;
	uint64_t mem_base, mem_size; /* usable RAM for our pages */
	uint64_t ram_end;            /* end of the highest usable e820 entry */
	bool hostile;
	bool bench;
	uint8_t desktop;             /* 1 "desktop", 2 "desktop=anim", 3 "desktop=hostile",
				      * 4 "desktop=office" */
};

__noreturn void vmbus_main(const struct vmbus_config *cfg);

/* enum vmbus_channel_message_type */
enum {
	CHANNELMSG_INVALID = 0,
	CHANNELMSG_OFFERCHANNEL = 1,
	CHANNELMSG_RESCIND_CHANNELOFFER = 2,
	CHANNELMSG_REQUESTOFFERS = 3,
	CHANNELMSG_ALLOFFERS_DELIVERED = 4,
	CHANNELMSG_OPENCHANNEL = 5,
	CHANNELMSG_OPENCHANNEL_RESULT = 6,
	CHANNELMSG_CLOSECHANNEL = 7,
	CHANNELMSG_GPADL_HEADER = 8,
	CHANNELMSG_GPADL_BODY = 9,
	CHANNELMSG_GPADL_CREATED = 10,
	CHANNELMSG_GPADL_TEARDOWN = 11,
	CHANNELMSG_GPADL_TORNDOWN = 12,
	CHANNELMSG_RELID_RELEASED = 13,
	CHANNELMSG_INITIATE_CONTACT = 14,
	CHANNELMSG_VERSION_RESPONSE = 15,
	CHANNELMSG_UNLOAD = 16,
	CHANNELMSG_UNLOAD_RESPONSE = 17,
	CHANNELMSG_TL_CONNECT_REQUEST = 21,
	CHANNELMSG_MODIFYCHANNEL = 22,
	CHANNELMSG_TL_CONNECT_RESULT = 23,
	CHANNELMSG_MODIFYCHANNEL_RESPONSE = 24,
	CHANNELMSG_COUNT = 25,
};

#define VMBUS_VERSION(major, minor) ((uint32_t)(major) << 16 | (uint32_t)(minor))
#define VERSION_WIN10_V5 VMBUS_VERSION(5, 0)
/* Connection ids (VMBUS_MESSAGE_CONNECTION_ID{,_4}). */
#define VMBUS_MESSAGE_CONNECTION_ID 1
#define VMBUS_MESSAGE_CONNECTION_ID_4 4
/* The first GPADL handle (connection.c vmbus_connection.next_gpadl_handle). */
#define VMBUS_FIRST_GPADL 0xe1e10
#define VMBUS_MAX_RELID 2047 /* the SIEF page has 2048 event flags */

struct vmbus_msg_header {
	uint32_t msgtype;
	uint32_t padding;
} __attribute__((packed));

struct vmbus_guid {
	uint8_t b[16]; /* guid_t: the first three fields little-endian */
};

/* struct vmbus_channel_offer_channel */
#define VMBUS_OFFER_MONITOR_ALLOCATED 1 /* monitor_flags bit 0 */
#define VMBUS_OFFER_DEDICATED_INTERRUPT 1 /* interrupt_flags bit 0 */
struct vmbus_msg_offer {
	struct vmbus_msg_header hdr;
	struct vmbus_guid if_type;
	struct vmbus_guid if_instance;
	uint64_t reserved1, reserved2;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[120];
	uint16_t sub_channel_index;
	uint16_t reserved3;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_flags;
	uint16_t interrupt_flags;
	uint32_t connection_id;
} __attribute__((packed));

struct vmbus_msg_relid { /* RESCIND_CHANNELOFFER, CLOSECHANNEL, RELID_RELEASED */
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
} __attribute__((packed));

struct vmbus_msg_open {
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t ringbuffer_gpadlhandle;
	uint32_t target_vp;
	uint32_t downstream_ringbuffer_pageoffset;
	uint8_t userdata[120];
} __attribute__((packed));

struct vmbus_msg_open_result {
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
} __attribute__((packed));

/* struct vmbus_channel_gpadl_header with its first struct gpa_range. */
struct vmbus_msg_gpadl_header {
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen;
	uint16_t rangecount;
	uint32_t byte_count;
	uint32_t byte_offset;
	uint64_t pfn[];
} __attribute__((packed));

struct vmbus_msg_gpadl_body {
	struct vmbus_msg_header hdr;
	uint32_t msgnumber;
	uint32_t gpadl;
	uint64_t pfn[];
} __attribute__((packed));

struct vmbus_msg_gpadl_created {
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status;
} __attribute__((packed));

struct vmbus_msg_gpadl_teardown {
	struct vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
} __attribute__((packed));

struct vmbus_msg_gpadl_torndown {
	struct vmbus_msg_header hdr;
	uint32_t gpadl;
} __attribute__((packed));

struct vmbus_msg_initiate_contact {
	struct vmbus_msg_header hdr;
	uint32_t vmbus_version_requested;
	uint32_t target_vcpu;
	uint64_t interrupt_page; /* from 5.0: byte 0 msg_sint, byte 1 msg_vtl */
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} __attribute__((packed));

struct vmbus_msg_version_response {
	struct vmbus_msg_header hdr;
	uint8_t version_supported;
	uint8_t connection_state;
	uint16_t padding;
	uint32_t msg_conn_id;
} __attribute__((packed));

_Static_assert(sizeof(struct vmbus_msg_offer) == 196, "offer");
_Static_assert(sizeof(struct vmbus_msg_open) == 148, "open");
_Static_assert(sizeof(struct vmbus_msg_gpadl_header) == 28, "gpadl header");
_Static_assert(sizeof(struct vmbus_msg_gpadl_body) == 16, "gpadl body");
_Static_assert(sizeof(struct vmbus_msg_initiate_contact) == 40, "initiate contact");
_Static_assert(sizeof(struct vmbus_msg_version_response) == 16, "version response");

/* PFNs per GPADL_HEADER / GPADL_BODY (channel.c create_gpadl_header()). */
#define VMBUS_GPADL_HEADER_PFNS 26
#define VMBUS_GPADL_BODY_PFNS 28

/* Ring buffers (struct hv_ring_buffer): a header page, then the data. */
struct hv_ring_buffer {
	uint32_t write_index;
	uint32_t read_index;
	uint32_t interrupt_mask;
	uint32_t pending_send_sz;
	uint32_t reserved1[12];
	uint32_t feature_bits; /* bit 0: feat_pending_send_sz */
};
#define RING_HEADER_SIZE 4096

/* struct vmpacket_descriptor; offset8/len8 in 8-byte units.  A packet is
 * followed by an 8-byte trailer (the writer's old write_index << 32). */
struct vmpacket_descriptor {
	uint16_t type;
	uint16_t offset8;
	uint16_t len8;
	uint16_t flags;
	uint64_t trans_id;
};
#define VM_PKT_DATA_INBAND 6
#define VM_PKT_COMP 11
#define VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED 1

/* hv_util.c: VMBUS_RING_SIZE(3 * HV_HYP_PAGE_SIZE) per direction, a header
 * page and three data pages. */
#define IC_RING_PAGES 4

enum ic_kind { IC_HEARTBEAT, IC_SHUTDOWN, IC_TIMESYNC, IC_KVP, IC_COUNT, IC_NONE = -1 };

struct vmbus_channel {
	uint32_t relid;
	uint32_t conn_id;       /* HvSignalEvent (the offer's connection_id) */
	uint8_t monitor_id;
	bool monitor_allocated;
	bool dedicated_interrupt;
	struct vmbus_guid type, instance;
	uint16_t mmio_megabytes; /* the offer's (synthetic video: its VRAM) */
	uint16_t last_type;     /* descriptor type of the last packet read */
	/* Called by vmbus_service() for a device's channel (not the ICs). */
	void (*callback)(struct vmbus_channel *ch);
	int ic;                 /* enum ic_kind */
	bool open;
	bool rescinded;
	bool broken;            /* ring corrupted: nothing more read or written */
	uint32_t gpadl;
	/* Rings: out = guest->host (the first pages of the GPADL), in = host->guest. */
	volatile struct hv_ring_buffer *out, *in;
	volatile uint8_t *out_data, *in_data;
	uint32_t out_size, in_size; /* data bytes */
	uint32_t out_write;     /* our copy of out->write_index */
	uint32_t in_read;       /* priv_read_index */
	uint32_t in_committed;  /* what we last wrote to in->read_index */
	uint32_t max_pkt;       /* largest payload we take (vmbus_recvpacket buflen) */
	/* Integration service state. */
	uint32_t fw_version, srv_version; /* 0 until negotiated */
	uint64_t requests;
};

#define VMBUS_MAX_CHANNELS 64
extern struct vmbus_channel vmbus_channels[VMBUS_MAX_CHANNELS];
extern unsigned vmbus_nchannels;
extern const struct vmbus_config *vmbus_cfg;
extern uint32_t vmbus_version, vmbus_msg_conn_id;
extern bool vmbus_offers_done;

/* vmbus.c, for the IC and hostile code. */
__noreturn __printf(1, 2) void vmbus_fail(const char *fmt, ...);
void vmbus_vprint(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void vmbus_format_guid(const struct vmbus_guid *g, char out[37]);
struct vmbus_channel *vmbus_find_channel(uint32_t relid);
struct vmbus_channel *vmbus_find_ic(int ic);
const char *vmbus_ic_name(int ic);
/* vmbus_post_msg(): HvPostMessage on the message connection, retried on
 * INSUFFICIENT_BUFFERS; returns the final status. */
uint16_t vmbus_post_msg(const void *msg, uint32_t len);
/* Process everything pending (messages, events, rings); true if anything was. */
bool vmbus_service(void);
/* Replies: vmbus_expect() before posting the request, then
 * vmbus_wait_reply(): true with the reply of type `want` matching (relid,
 * id) (VMBUS_ANY: anything) in vmbus_reply; false on timeout (fatal with
 * "timeout waiting for <what>" if what is not NULL) or if the channel was
 * rescinded meanwhile (vmbus_reply_len 0). */
#define VMBUS_ANY 0xffffffffu
extern uint8_t vmbus_reply[HV_MESSAGE_PAYLOAD_BYTE_COUNT];
extern uint32_t vmbus_reply_len;
void vmbus_expect(uint32_t want, uint32_t relid, uint32_t id);
bool vmbus_wait_reply(uint64_t timeout_ms, const char *what);
/* Whether that reply came (or its channel was rescinded): for callers that
 * poll vmbus_service() themselves instead of vmbus_wait_reply(). */
bool vmbus_reply_done(void);
/* Spin in the service loop for ms milliseconds. */
void vmbus_settle(uint64_t ms);
/* vmbus_connect(): INITIATE_CONTACT down the version list; fails on error. */
void vmbus_connect(void);
/* vmbus_request_offers(): REQUESTOFFERS, then ALLOFFERS_DELIVERED. */
void vmbus_request_offers(void);
/* Open the four IC channels (vmbus_open() as util_probe() calls it) and
 * print "vmbus: ready". */
void vmbus_open_ics(void);
uint32_t vmbus_next_gpadl(void);
/* __vmbus_establish_gpadl() for npages contiguous pages at gpa: GPADL_HEADER
 * and BODY messages, then GPADL_CREATED.  Returns its creation_status, or
 * VMBUS_ANY if a post failed or no answer came within timeout_ms (fatal if
 * what != NULL). */
uint32_t vmbus_establish_gpadl(uint32_t relid, uint64_t gpa, uint32_t npages, uint32_t handle,
			       uint64_t timeout_ms, const char *what);
/* hv_ringbuffer_write() of one in-band packet and the signal rules;
 * -1 if the ring is full or broken. */
int vmbus_sendpacket(struct vmbus_channel *ch, const void *data, uint32_t len, uint64_t trans_id);
/* The same with descriptor flags (VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED). */
int vmbus_sendpacket_flags(struct vmbus_channel *ch, const void *data, uint32_t len,
			   uint64_t trans_id, uint16_t flags);
/* hv_ringbuffer_read(): 1 and a packet (payload into buf), 0 if none, -1
 * for a packet skipped (too big or malformed). */
int vmbus_recvpacket(struct vmbus_channel *ch, void *buf, uint32_t max, uint32_t *len,
		     uint64_t *trans_id);
/* vmbus_setevent(): tell the host about the channel. */
void vmbus_setevent(struct vmbus_channel *ch);
bool vmbus_ring_has_data(const struct vmbus_channel *ch);
bool vmbus_out_drained(const struct vmbus_channel *ch);

/* vmbus-ic.c */
int ic_kind_of(const struct vmbus_guid *type);
void ic_on_channel(struct vmbus_channel *ch); /* drain and answer */
void ic_reset(void);
extern bool ic_shutdown_pending, ic_restart_pending;

/* vmbus-hostile.c */
void vmbus_hostile(void);

/* vmbus-bench.c: the "vmbus=bench" measurements with the echo device. */
void vmbus_bench(void);

/* desktop.c: the "desktop" mode; returns if it fails or at a shutdown. */
void desktop_main(uint8_t mode); /* vmbus_config.desktop */
extern uint64_t ic_host_time, ic_host_time_tsc; /* vmbus-ic.c: the last time sync sample */

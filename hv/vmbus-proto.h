/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * VMBus channel-management messages as they travel in SynIC messages
 * (HvPostMessage payloads from the guest, SynIC message slots to it).
 * The layouts are the guest's: Linux include/linux/hyperv.h, struct
 * vmbus_channel_* (all __packed, little-endian).  Bitfields there are
 * spelled out here as flag words.
 */

#include <assert.h>
#include <stdint.h>

#include "util.h"

/* A SynIC message carries at most 240 bytes (HV_MESSAGE_PAYLOAD_BYTE_COUNT). */
#define HV_VMBUS_MSG_MAX 240u

/* enum vmbus_channel_message_type */
enum hv_vmbus_msgtype {
	HV_CHANNELMSG_INVALID = 0,
	HV_CHANNELMSG_OFFERCHANNEL = 1,
	HV_CHANNELMSG_RESCIND_CHANNELOFFER = 2,
	HV_CHANNELMSG_REQUESTOFFERS = 3,
	HV_CHANNELMSG_ALLOFFERS_DELIVERED = 4,
	HV_CHANNELMSG_OPENCHANNEL = 5,
	HV_CHANNELMSG_OPENCHANNEL_RESULT = 6,
	HV_CHANNELMSG_CLOSECHANNEL = 7,
	HV_CHANNELMSG_GPADL_HEADER = 8,
	HV_CHANNELMSG_GPADL_BODY = 9,
	HV_CHANNELMSG_GPADL_CREATED = 10,
	HV_CHANNELMSG_GPADL_TEARDOWN = 11,
	HV_CHANNELMSG_GPADL_TORNDOWN = 12,
	HV_CHANNELMSG_RELID_RELEASED = 13,
	HV_CHANNELMSG_INITIATE_CONTACT = 14,
	HV_CHANNELMSG_VERSION_RESPONSE = 15,
	HV_CHANNELMSG_UNLOAD = 16,
	HV_CHANNELMSG_UNLOAD_RESPONSE = 17,
	HV_CHANNELMSG_TL_CONNECT_REQUEST = 21,
	HV_CHANNELMSG_MODIFYCHANNEL = 22,
	HV_CHANNELMSG_TL_CONNECT_RESULT = 23,
	HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE = 24,
	HV_CHANNELMSG_COUNT,
};

/* A failure status for OPENCHANNEL_RESULT, GPADL_CREATED and
 * MODIFYCHANNEL_RESPONSE: Linux only tests for non-zero; Hyper-V puts an
 * NTSTATUS there (STATUS_UNSUCCESSFUL). */
#define HV_VMBUS_STATUS_FAILURE 0xc0000001u

struct hv_vmbus_msg_header {
	uint32_t msgtype;
	uint32_t padding;
} _packed_;

/* struct vmbus_channel_offer_channel (host -> guest). */
#define HV_VMBUS_OFFER_MONITOR_ALLOCATED 1u  /* monitor_flags bit 0 */
#define HV_VMBUS_OFFER_DEDICATED_INTERRUPT 1u /* interrupt_flags bit 0 */
struct hv_vmbus_msg_offer {
	struct hv_vmbus_msg_header hdr;
	/* struct vmbus_channel_offer */
	uint8_t if_type[16];
	uint8_t if_instance[16];
	uint64_t reserved1;
	uint64_t reserved2;
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[120];
	uint16_t sub_channel_index;
	uint16_t reserved3;
	/* the rest of vmbus_channel_offer_channel */
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_flags;
	uint16_t interrupt_flags;
	uint32_t connection_id;
} _packed_;

/* struct vmbus_channel_rescind_offer (host -> guest). */
struct hv_vmbus_msg_rescind {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
} _packed_;

/* struct vmbus_channel_open_channel (guest -> host). */
struct hv_vmbus_msg_open {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t ringbuffer_gpadlhandle;
	uint32_t target_vp;
	uint32_t downstream_ringbuffer_pageoffset;
	uint8_t userdata[120];
} _packed_;

/* struct vmbus_channel_open_result (host -> guest). */
struct hv_vmbus_msg_open_result {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status;
} _packed_;

/* struct vmbus_channel_close_channel (guest -> host). */
struct hv_vmbus_msg_close {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
} _packed_;

/* struct vmbus_channel_gpadl_header with its one struct gpa_range
 * (guest -> host); the PFNs follow. */
struct hv_vmbus_msg_gpadl_header {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen; /* sizeof(gpa_range) + 8 * pages, all ranges */
	uint16_t rangecount;
	uint32_t byte_count;   /* range[0] */
	uint32_t byte_offset;
	uint64_t pfn[];
} _packed_;

/* struct vmbus_channel_gpadl_body (guest -> host). */
struct hv_vmbus_msg_gpadl_body {
	struct hv_vmbus_msg_header hdr;
	uint32_t msgnumber; /* Linux leaves it 0 */
	uint32_t gpadl;
	uint64_t pfn[];
} _packed_;

/* struct vmbus_channel_gpadl_created (host -> guest). */
struct hv_vmbus_msg_gpadl_created {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status;
} _packed_;

/* struct vmbus_channel_gpadl_teardown (guest -> host). */
struct hv_vmbus_msg_gpadl_teardown {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t gpadl;
} _packed_;

/* struct vmbus_channel_gpadl_torndown (host -> guest). */
struct hv_vmbus_msg_gpadl_torndown {
	struct hv_vmbus_msg_header hdr;
	uint32_t gpadl;
} _packed_;

/* struct vmbus_channel_relid_released (guest -> host). */
struct hv_vmbus_msg_relid_released {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
} _packed_;

/* struct vmbus_channel_initiate_contact (guest -> host).  Before 5.0 the
 * union is interrupt_page (a GPA); from 5.0 it is msg_sint, msg_vtl. */
struct hv_vmbus_msg_initiate_contact {
	struct hv_vmbus_msg_header hdr;
	uint32_t vmbus_version_requested;
	uint32_t target_vcpu;
	union {
		uint64_t interrupt_page;
		struct {
			uint8_t msg_sint;
			uint8_t msg_vtl;
			uint8_t reserved[6];
		};
	};
	uint64_t monitor_page1;
	uint64_t monitor_page2;
} _packed_;

/* struct vmbus_channel_version_response (host -> guest). */
struct hv_vmbus_msg_version_response {
	struct hv_vmbus_msg_header hdr;
	uint8_t version_supported;
	uint8_t connection_state; /* 0: connected */
	uint16_t padding;
	uint32_t msg_conn_id;     /* used by 5.0+ guests for later messages */
} _packed_;

/* struct vmbus_channel_tl_connect_request (guest -> host, hv_sock). */
struct hv_vmbus_msg_tl_connect_request {
	struct hv_vmbus_msg_header hdr;
	uint8_t guest_endpoint_id[16];
	uint8_t host_service_id[16];
} _packed_;

/* struct vmbus_channel_modifychannel (guest -> host, 4.1+). */
struct hv_vmbus_msg_modifychannel {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t target_vp;
} _packed_;

/* struct vmbus_channel_modifychannel_response (host -> guest, 5.3+). */
struct hv_vmbus_msg_modifychannel_response {
	struct hv_vmbus_msg_header hdr;
	uint32_t child_relid;
	uint32_t status;
} _packed_;

/* PFNs that fit in one GPADL_HEADER / GPADL_BODY (create_gpadl_header()). */
#define HV_VMBUS_GPADL_HEADER_PFNS \
	((HV_VMBUS_MSG_MAX - sizeof(struct hv_vmbus_msg_gpadl_header)) / sizeof(uint64_t))
#define HV_VMBUS_GPADL_BODY_PFNS \
	((HV_VMBUS_MSG_MAX - sizeof(struct hv_vmbus_msg_gpadl_body)) / sizeof(uint64_t))

/* The sizes Linux checks (channel_message_table[].min_payload_len) or
 * sends (sizeof() in vmbus_post_msg() calls). */
static_assert(sizeof(struct hv_vmbus_msg_header) == 8, "message header");
static_assert(sizeof(struct hv_vmbus_msg_offer) == 196, "vmbus_channel_offer_channel");
static_assert(sizeof(struct hv_vmbus_msg_rescind) == 12, "vmbus_channel_rescind_offer");
static_assert(sizeof(struct hv_vmbus_msg_open) == 148, "vmbus_channel_open_channel");
static_assert(sizeof(struct hv_vmbus_msg_open_result) == 20, "vmbus_channel_open_result");
static_assert(sizeof(struct hv_vmbus_msg_close) == 12, "vmbus_channel_close_channel");
static_assert(sizeof(struct hv_vmbus_msg_gpadl_header) == 28, "gpadl_header + gpa_range");
static_assert(sizeof(struct hv_vmbus_msg_gpadl_body) == 16, "vmbus_channel_gpadl_body");
static_assert(sizeof(struct hv_vmbus_msg_gpadl_created) == 20, "vmbus_channel_gpadl_created");
static_assert(sizeof(struct hv_vmbus_msg_gpadl_teardown) == 16, "vmbus_channel_gpadl_teardown");
static_assert(sizeof(struct hv_vmbus_msg_gpadl_torndown) == 12, "vmbus_channel_gpadl_torndown");
static_assert(sizeof(struct hv_vmbus_msg_relid_released) == 12, "vmbus_channel_relid_released");
static_assert(sizeof(struct hv_vmbus_msg_initiate_contact) == 40, "vmbus_channel_initiate_contact");
static_assert(sizeof(struct hv_vmbus_msg_version_response) == 16, "vmbus_channel_version_response");
static_assert(sizeof(struct hv_vmbus_msg_tl_connect_request) == 40, "tl_connect_request");
static_assert(sizeof(struct hv_vmbus_msg_modifychannel) == 16, "vmbus_channel_modifychannel");
static_assert(sizeof(struct hv_vmbus_msg_modifychannel_response) == 16, "modifychannel_response");
static_assert(HV_VMBUS_GPADL_HEADER_PFNS == 26, "26 PFNs in a GPADL_HEADER");
static_assert(HV_VMBUS_GPADL_BODY_PFNS == 28, "28 PFNs in a GPADL_BODY");

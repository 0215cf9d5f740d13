/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The VMBus host: the channel-management protocol a guest's hv_vmbus
 * speaks (Linux drivers/hv/connection.c, channel_mgmt.c, channel.c;
 * research hyperv-on-kvm.md §1.E-G), the channels' GPADLs and rings, and
 * the interface devices (VSPs) implement.  docs/vmbus.md says what is
 * implemented and how to add a device.
 *
 * Threads: everything here runs on the VM's loop thread.  The vCPU
 * threads only queue what hypercalls bring (hv/vmbus-host glue) and the
 * loop feeds it in with hv_vmbus_message() and hv_vmbus_signal().  The
 * core itself touches no KVM: it reaches the guest through guest memory
 * and the two callbacks of struct hv_vmbus_host_ops, so unit tests and
 * fuzz targets drive it with fake RAM.
 *
 * Every message, length, index, PFN and GPADL size comes from the guest and
 * is checked; a bad one is logged (rate-limited), answered with a failure
 * status where the protocol has one, and never crashes the host.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "memory.h"
#include "vmbus-ring.h"

struct hv_vmbus;
struct hv_vmbus_channel;

/* A GUID as Hyper-V writes it (guid_t: mixed-endian, the first three
 * fields little-endian). */
struct hv_guid {
	uint8_t b[16];
};
/* "f8615163-df3e-46c5-913f-f2d2f965ed0e" -> bytes as guid_t stores them.
 * -EINVAL if s is not a GUID. */
int hv_guid_parse(const char *s, struct hv_guid *ret);
/* 37 bytes: 36 characters and the NUL. */
void hv_guid_format(const struct hv_guid *g, char out[37]);

/* Protocol versions, (major << 16) | minor (VERSION_WIN* in hyperv.h). */
#define HV_VMBUS_VERSION_WS2008  ((0u << 16) | 13)
#define HV_VMBUS_VERSION_WIN7    ((1u << 16) | 1)
#define HV_VMBUS_VERSION_WIN8    ((2u << 16) | 4)
#define HV_VMBUS_VERSION_WIN8_1  ((3u << 16) | 0)
#define HV_VMBUS_VERSION_WIN10   ((4u << 16) | 0)
#define HV_VMBUS_VERSION_WIN10_RS3 ((4u << 16) | 1)
#define HV_VMBUS_VERSION_WIN10_V5  ((5u << 16) | 0)
#define HV_VMBUS_VERSION_WIN10_V5_1 ((5u << 16) | 1)
#define HV_VMBUS_VERSION_WIN10_V5_2 ((5u << 16) | 2)
#define HV_VMBUS_VERSION_WIN10_V5_3 ((5u << 16) | 3)

/* Connection ids the guest posts messages to (include/linux/hyperv.h
 * VMBUS_MESSAGE_CONNECTION_ID{,_4}); 4 is also what VERSION_RESPONSE
 * hands back as msg_conn_id for 5.x. */
#define HV_VMBUS_MESSAGE_CONNECTION_ID   1
#define HV_VMBUS_MESSAGE_CONNECTION_ID_4 4
/* The SINT VMBus messages arrive on (VMBUS_MESSAGE_SINT) and the vector
 * Linux programs into it (HYPERVISOR_CALLBACK_VECTOR). */
#define HV_VMBUS_MESSAGE_SINT 2
/* A channel's event connection id is this plus its relid. */
#define HV_VMBUS_EVENT_CONNECTION_BASE 0x10000u
/* relids are 1..HV_VMBUS_MAX_RELID (the guest's event bitmap has 2048 bits,
 * bit 0 unused). */
#define HV_VMBUS_MAX_RELID 2047u
/* Bounds on what a guest may make us hold. */
#define HV_VMBUS_MAX_GPADLS 256u          /* live or in assembly, per VM */
#define HV_VMBUS_MAX_GPADL_PAGES 65536u   /* per GPADL (256 MiB) */
#define HV_VMBUS_MAX_GPADL_TOTAL_PAGES (1u << 20) /* per VM (4 GiB) */

/* How the core reaches the guest. */
struct hv_vmbus_host_ops {
	/* Queue a SynIC message (type 1, HVMSG_NONE+1) of len <= 240 bytes
	 * for virtual processor vp on SINT sint.  0, or -errno if the guest
	 * cannot receive it (SynIC off, no such VP). */
	int (*post_message)(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len);
	/* Set event flag `flag` (a relid) in vp's SIEF page for sint and
	 * interrupt it. */
	int (*signal_event)(void *data, uint32_t vp, uint32_t sint, uint32_t flag);
	/* Optional: relid now has a channel (exists) or no longer has one, so
	 * HvSignalEvent can refuse ids of no channel on the vCPU thread. */
	void (*relid_changed)(void *data, uint32_t relid, bool exists);
};

/* What a device offers (struct vmbus_channel_offer_channel). */
struct hv_vmbus_offer {
	struct hv_guid if_type;     /* the device class */
	struct hv_guid if_instance; /* unique per device */
	uint16_t chn_flags;
	uint16_t mmio_megabytes;    /* for synthetic video: its VRAM */
	uint8_t user_def[120];      /* the offer's pipe/standard union */
	uint16_t sub_channel_index;
	/* Largest guest->host packet the device accepts (payload bytes); the
	 * core skips larger ones with a log line.  0 means 4096. */
	uint32_t max_packet;
};

/* A device (VSP).  Every callback runs on the loop thread; each gets the
 * channel and the data given to hv_vmbus_add_device(). */
struct hv_vmbus_device_ops {
	const char *name;
	/* The guest opened the channel (rings usable).  A negative return
	 * refuses the open (OPEN_RESULT carries a failure status). */
	int (*open)(struct hv_vmbus_channel *ch, void *data);
	/* One packet from the guest. */
	void (*packet)(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data);
	/* Room appeared in the host->guest ring after hv_vmbus_send() said
	 * -EAGAIN.  May be NULL. */
	void (*writable)(struct hv_vmbus_channel *ch, void *data);
	/* The channel closed (guest close, bus reset or unload, or the core
	 * killed it for a protocol violation).  The rings are gone. */
	void (*close)(struct hv_vmbus_channel *ch, void *data);
	/* Migration hooks: serialise device state into buf (returns bytes
	 * used or -errno) and back.  May be NULL for stateless devices. */
	int (*save)(struct hv_vmbus_channel *ch, void *buf, size_t max, void *data);
	int (*load)(struct hv_vmbus_channel *ch, const void *buf, size_t len, void *data);
};

struct hv_vmbus_config {
	const struct hv_guest_mem *mem;
	const struct hv_vmbus_host_ops *ops;
	void *data;
	uint32_t nvps; /* virtual processors: target_vcpu / target_vp must be below */
};

int hv_vmbus_new(const struct hv_vmbus_config *cfg, struct hv_vmbus **ret);
void hv_vmbus_free(struct hv_vmbus *vb); /* closes open channels; accepts NULL */

/* Add a device before or after the guest connected (then it is offered at
 * once).  The channel lives until hv_vmbus_remove_device(). */
int hv_vmbus_add_device(struct hv_vmbus *vb, const struct hv_vmbus_offer *offer,
			const struct hv_vmbus_device_ops *ops, void *data,
			struct hv_vmbus_channel **ret);
/* Rescind it (the guest answers RELID_RELEASED) and forget it. */
void hv_vmbus_remove_device(struct hv_vmbus_channel *ch);

/*
 * Guest input.  hv_vmbus_message(): a message posted to connection conn_id
 * (HvPostMessage: payload after the 16-byte hypercall input header, len <=
 * 240).  hv_vmbus_signal(): HvSignalEvent on conn_id.  Both return 0, or
 * -errno for input that was refused (and logged).
 */
int hv_vmbus_message(struct hv_vmbus *vb, uint32_t conn_id, const void *msg, size_t len);
int hv_vmbus_signal(struct hv_vmbus *vb, uint32_t conn_id);
/* Whether HvPostMessage / HvSignalEvent should accept conn_id (answered on
 * the vCPU thread: a pure function of the id). */
bool hv_vmbus_message_conn_valid(uint32_t conn_id);
bool hv_vmbus_event_conn_valid(uint32_t conn_id);

/* The guest reset or the VM is being reset: close every channel, drop
 * GPADLs, forget the connection. */
void hv_vmbus_reset(struct hv_vmbus *vb);

/* State for operators (the control socket). */
enum hv_vmbus_state {
	HV_VMBUS_DISCONNECTED,
	HV_VMBUS_CONNECTED,  /* version agreed */
	HV_VMBUS_OFFERED,    /* offers requested and sent */
	HV_VMBUS_UNLOADED,
};
const char *hv_vmbus_state_to_string(enum hv_vmbus_state s);
enum hv_vmbus_state hv_vmbus_get_state(const struct hv_vmbus *vb);
uint32_t hv_vmbus_version(const struct hv_vmbus *vb); /* 0 if none */
uint64_t hv_vmbus_errors(const struct hv_vmbus *vb);  /* bad guest input so far */

/* Channels, for devices and operators. */
bool hv_vmbus_channel_is_open(const struct hv_vmbus_channel *ch);
uint32_t hv_vmbus_channel_relid(const struct hv_vmbus_channel *ch);
const struct hv_vmbus_offer *hv_vmbus_channel_offer(const struct hv_vmbus_channel *ch);
struct hv_vmbus *hv_vmbus_channel_bus(const struct hv_vmbus_channel *ch);
/* The device's ops->name. */
const char *hv_vmbus_channel_name(const struct hv_vmbus_channel *ch);
/* Call fn for every channel, in relid order. */
void hv_vmbus_for_each_channel(struct hv_vmbus *vb,
			       void (*fn)(struct hv_vmbus_channel *ch, void *data), void *data);

/*
 * Send one packet to the guest on an open channel (payload = iov
 * concatenated), signalling the guest when the ring rules say so.
 * -EAGAIN: no room now (->writable() will be called); -ENOTCONN: not open;
 * -EMSGSIZE: can never fit.
 */
int hv_vmbus_sendv(struct hv_vmbus_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		   const struct iovec *iov, int iovcnt);
int hv_vmbus_send(struct hv_vmbus_channel *ch, uint16_t type, uint16_t flags, uint64_t trans_id,
		  const void *data, size_t len);

/* Access to guest memory a GPADL describes (for devices whose packets
 * name a GPADL, such as synthetic video's VRAM or storage buffers):
 * copy len bytes at byte offset off of GPADL handle `gpadl` of channel ch.
 * -ENOENT: no such GPADL; -EFAULT: outside it. */
int hv_vmbus_gpadl_read(struct hv_vmbus_channel *ch, uint32_t gpadl, uint64_t off, void *dst,
			size_t len);
int hv_vmbus_gpadl_write(struct hv_vmbus_channel *ch, uint32_t gpadl, uint64_t off,
			 const void *src, size_t len);

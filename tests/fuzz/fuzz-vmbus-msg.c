// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The VMBus channel-management engine (hv/vmbus.c) fed a sequence of guest
 * actions: channel messages, signals, writes into guest RAM (ring headers
 * and packets), and host-side device actions, on one bus with test devices
 * whose callbacks send, refuse and remove themselves.  The input is a list
 * of records, each an op byte (taken mod 8) and its arguments:
 *   0 [u8 len][len bytes]        message on connection 4
 *   1 [u8 len][len bytes]        message on connection 1
 *   2 [u8 relid]                 HvSignalEvent on BASE + relid (0xff: on 2)
 *   3 [u16 page][u16 off][u8 len][len bytes]  guest RAM write
 *   4 [u8 dev][u16 len]          the device sends len bytes
 *   5 [u8 dev]                   the device is removed
 *   6 [u8 dev][u8 mode]          a device is added (mode: MODE_* bits below)
 *   7                            VM reset (hv_vmbus_reset)
 * Guest RAM is 4 MiB, zeroed per input; NVPS VPs.  The host side checks
 * what the bus posts: sizes, VPs, SINTs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz-guest-mem.h"
#include "vmbus-proto.h"
#include "vmbus.h"

#define FUZZ_RAM (4u << 20)
#define NVPS 2
#define NDEVS 4

#define MODE_ECHO 1u          /* send every packet back */
#define MODE_REMOVE_PACKET 2u /* remove itself from ->packet() */
#define MODE_REMOVE_CLOSE 4u  /* ... from ->close() */
#define MODE_REFUSE 8u        /* ->open() fails */
#define MODE_SEND_OPEN 16u    /* ->open() sends */
#define MODE_SMALL 32u        /* max_packet 64 */
#define MODE_REMOVE_OPEN 64u  /* remove itself from ->open() */
#define MODE_GPADL 128u       /* packets {u32 gpadl, u32 off, u16 len, u16 write} */

struct fdev {
	struct hv_vmbus_channel *ch;
	unsigned mode;
};

static struct hv_guest_mem mem;
static struct fdev devs[NDEVS];
static uint8_t payload[65536];
static volatile uint8_t sink;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* What the bus may post: a known host->guest type of its exact size. */
static int f_post(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	static const uint8_t sizes[HV_CHANNELMSG_COUNT] = {
		[HV_CHANNELMSG_OFFERCHANNEL] = sizeof(struct hv_vmbus_msg_offer),
		[HV_CHANNELMSG_RESCIND_CHANNELOFFER] = sizeof(struct hv_vmbus_msg_rescind),
		[HV_CHANNELMSG_ALLOFFERS_DELIVERED] = sizeof(struct hv_vmbus_msg_header),
		[HV_CHANNELMSG_OPENCHANNEL_RESULT] = sizeof(struct hv_vmbus_msg_open_result),
		[HV_CHANNELMSG_GPADL_CREATED] = sizeof(struct hv_vmbus_msg_gpadl_created),
		[HV_CHANNELMSG_GPADL_TORNDOWN] = sizeof(struct hv_vmbus_msg_gpadl_torndown),
		[HV_CHANNELMSG_VERSION_RESPONSE] = sizeof(struct hv_vmbus_msg_version_response),
		[HV_CHANNELMSG_UNLOAD_RESPONSE] = sizeof(struct hv_vmbus_msg_header),
		[HV_CHANNELMSG_MODIFYCHANNEL_RESPONSE] =
			sizeof(struct hv_vmbus_msg_modifychannel_response),
	};
	uint32_t type;

	check(len >= 8 && len <= HV_VMBUS_MSG_MAX);
	memcpy(&type, msg, sizeof(type));
	check(type < HV_CHANNELMSG_COUNT && sizes[type] == len);
	check(vp < NVPS && sint < 16);
	return 0;
}

static int f_signal(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	check(vp < NVPS && sint < 16 && flag >= 1 && flag <= HV_VMBUS_MAX_RELID);
	return 0;
}

static const struct hv_vmbus_host_ops f_ops = {
	.post_message = f_post,
	.signal_event = f_signal,
};

static int d_open(struct hv_vmbus_channel *ch, void *data)
{
	struct fdev *d = data;

	check(d->ch == ch && hv_vmbus_channel_is_open(ch));
	if (d->mode & MODE_SEND_OPEN)
		hv_vmbus_send(ch, HV_VMPKT_DATA_INBAND, 0, 1, payload, 100);
	if (d->mode & MODE_REMOVE_OPEN) {
		hv_vmbus_remove_device(ch);
		d->ch = NULL;
		return 0;
	}
	return d->mode & MODE_REFUSE ? -EIO : 0;
}

static void d_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data)
{
	struct fdev *d = data;

	check(d->ch == ch && hv_vmbus_channel_is_open(ch));
	check(pkt->len <= hv_vmbus_channel_offer(ch)->max_packet);
	check(pkt->data >= pkt->desc_data &&
	      pkt->data + pkt->len == pkt->desc_data + pkt->desc_len);
	/* Every byte handed over must be readable (ASan). */
	for (uint32_t i = 0; i < pkt->desc_len; i++)
		sink += pkt->desc_data[i];
	if ((d->mode & MODE_GPADL) && pkt->len >= 12) {
		uint32_t h, off;
		uint16_t len, wr;
		int r;

		memcpy(&h, pkt->data, 4);
		memcpy(&off, pkt->data + 4, 4);
		memcpy(&len, pkt->data + 8, 2);
		memcpy(&wr, pkt->data + 10, 2);
		if (wr & 1)
			r = hv_vmbus_gpadl_write(ch, h, off, payload, len);
		else
			r = hv_vmbus_gpadl_read(ch, h, off, payload, len);
		check(r == 0 || r == -ENOENT || r == -EFAULT);
	}
	if (d->mode & MODE_ECHO)
		hv_vmbus_send(ch, HV_VMPKT_COMP, 0, pkt->trans_id, pkt->data, pkt->len);
	if (d->mode & MODE_REMOVE_PACKET) {
		hv_vmbus_remove_device(ch);
		d->ch = NULL;
		/* The packet outlives the removal. */
		sink += pkt->desc_data[0];
	}
}

static void d_writable(struct hv_vmbus_channel *ch, void *data)
{
	struct fdev *d = data;

	check(d->ch == ch);
	hv_vmbus_send(ch, HV_VMPKT_DATA_INBAND, 0, 2, payload, 8);
}

static void d_close(struct hv_vmbus_channel *ch, void *data)
{
	struct fdev *d = data;

	check(d->ch == ch && !hv_vmbus_channel_is_open(ch));
	check(hv_vmbus_send(ch, HV_VMPKT_DATA_INBAND, 0, 0, payload, 1) == -ENOTCONN);
	if (d->mode & MODE_REMOVE_CLOSE) {
		hv_vmbus_remove_device(ch);
		d->ch = NULL;
	}
}

static const struct hv_vmbus_device_ops d_ops = {
	.name = "fuzz",
	.open = d_open,
	.packet = d_packet,
	.writable = d_writable,
	.close = d_close,
};

static void add(struct hv_vmbus *vb, unsigned i, unsigned mode)
{
	struct hv_vmbus_offer o = { .max_packet = mode & MODE_SMALL ? 64 : 0 };

	if (devs[i].ch)
		return;
	o.if_type.b[0] = 0x42;
	o.if_instance.b[0] = (uint8_t)i;
	devs[i].mode = mode;
	check(hv_vmbus_add_device(vb, &o, &d_ops, &devs[i], &devs[i].ch) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_vmbus_config cfg = { .mem = &mem, .ops = &f_ops, .nvps = NVPS };
	const uint8_t *end = data + size;
	struct hv_vmbus *vb;

	fuzz_guest_mem(&mem, FUZZ_RAM);
	/* Fresh, zeroed RAM for every input. */
	madvise(mem.host, FUZZ_RAM, MADV_DONTNEED);
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	memset(devs, 0, sizeof(devs));
	check(hv_vmbus_new(&cfg, &vb) == 0);
	add(vb, 0, MODE_ECHO);
	add(vb, 1, MODE_SMALL);

	while (data < end) {
		unsigned op = *data++ % 8;
		size_t left = (size_t)(end - data);

		switch (op) {
		case 0:
		case 1: {
			size_t len;

			if (!left)
				break;
			len = MIN((size_t)data[0], left - 1);
			data++;
			hv_vmbus_message(vb, op ? 1 : 4, data, len);
			data += len;
			break;
		}
		case 2:
			if (!left)
				break;
			hv_vmbus_signal(vb, data[0] == 0xff ? 2
							    : HV_VMBUS_EVENT_CONNECTION_BASE + data[0]);
			data++;
			break;
		case 3: {
			uint16_t page, off;
			size_t len;

			if (left < 5)
				goto out;
			memcpy(&page, data, 2);
			memcpy(&off, data + 2, 2);
			len = MIN((size_t)data[4], left - 5);
			data += 5;
			page %= FUZZ_RAM / 4096;
			off %= 4096;
			memcpy(mem.host + (size_t)page * 4096 + off, data,
			       MIN(len, FUZZ_RAM - ((size_t)page * 4096 + off)));
			data += len;
			break;
		}
		case 4: {
			uint16_t len;
			struct fdev *d;

			if (left < 3)
				goto out;
			d = &devs[data[0] % NDEVS];
			memcpy(&len, data + 1, 2);
			data += 3;
			if (d->ch) {
				int r = hv_vmbus_send(d->ch, HV_VMPKT_DATA_INBAND, 0, len, payload,
						      len);

				check(r == 0 || r == -EAGAIN || r == -ENOTCONN || r == -EMSGSIZE);
			}
			break;
		}
		case 5:
			if (!left)
				break;
			hv_vmbus_remove_device(devs[*data % NDEVS].ch);
			devs[*data % NDEVS].ch = NULL;
			data++;
			break;
		case 6:
			if (left < 2)
				goto out;
			add(vb, data[0] % NDEVS, data[1]);
			data += 2;
			break;
		case 7:
			hv_vmbus_reset(vb);
			check(hv_vmbus_get_state(vb) == HV_VMBUS_DISCONNECTED);
			break;
		}
		check(hv_vmbus_get_state(vb) <= HV_VMBUS_UNLOADED);
	}
out:
	hv_vmbus_free(vb);
	return 0;
}

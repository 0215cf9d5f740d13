// SPDX-License-Identifier: GPL-3.0-or-later
#include "vmbus-echo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vmbus.h"

LOG_SCOPE("hv.echo");

/* Packets waiting for room in the host->guest ring: a guest that sends
 * without reading loses what does not fit here, nothing else. */
#define ECHO_BACKLOG_BYTES (256u << 10)
#define ECHO_MAX_PACKET 16384u

struct echo_pkt {
	struct echo_pkt *next;
	uint64_t trans_id;
	uint32_t len;
	uint8_t data[];
};

struct hv_vmbus_echo {
	struct hv_vmbus_channel *ch;
	struct echo_pkt *head, **tail;
	size_t backlog;
	uint64_t dropped;
};

static void echo_flush(struct hv_vmbus_echo *e)
{
	while (e->head) {
		struct echo_pkt *p = e->head;
		int r = hv_vmbus_send(e->ch, HV_VMPKT_DATA_INBAND, 0, p->trans_id, p->data, p->len);

		if (r == -EAGAIN)
			return; /* ->writable() brings us back */
		e->head = p->next;
		if (!e->head)
			e->tail = &e->head;
		e->backlog -= p->len;
		free(p);
	}
}

static void echo_drop_all(struct hv_vmbus_echo *e)
{
	while (e->head) {
		struct echo_pkt *p = e->head;

		e->head = p->next;
		free(p);
	}
	e->tail = &e->head;
	e->backlog = 0;
}

static int echo_open(struct hv_vmbus_channel *ch, void *data)
{
	(void)ch;
	echo_drop_all(data);
	return 0;
}

static void echo_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data)
{
	struct hv_vmbus_echo *e = data;
	struct echo_pkt *p;

	(void)ch;
	if (pkt->type != HV_VMPKT_DATA_INBAND)
		return;
	/* Straight back when nothing waits ahead of it. */
	if (!e->head && hv_vmbus_send(e->ch, HV_VMPKT_DATA_INBAND, 0, pkt->trans_id, pkt->data,
				      pkt->len) != -EAGAIN)
		return;
	if (e->backlog + pkt->len > ECHO_BACKLOG_BYTES || !(p = malloc(sizeof(*p) + pkt->len))) {
		if (!e->dropped++)
			log_warn("echo: the guest sends faster than it reads; dropping packets");
		return;
	}
	p->next = NULL;
	p->trans_id = pkt->trans_id;
	p->len = pkt->len;
	memcpy(p->data, pkt->data, pkt->len);
	*e->tail = p;
	e->tail = &p->next;
	e->backlog += pkt->len;
}

static void echo_writable(struct hv_vmbus_channel *ch, void *data)
{
	(void)ch;
	echo_flush(data);
}

static void echo_close(struct hv_vmbus_channel *ch, void *data)
{
	(void)ch;
	echo_drop_all(data);
}

static const struct hv_vmbus_device_ops echo_ops = {
	.name = "echo",
	.open = echo_open,
	.packet = echo_packet,
	.writable = echo_writable,
	.close = echo_close,
};

int hv_vmbus_echo_new(struct hv_vmbus *vb, struct hv_vmbus_echo **ret)
{
	struct hv_vmbus_offer offer = { .max_packet = ECHO_MAX_PACKET };
	struct hv_vmbus_echo *e;
	int r;

	if (hv_guid_parse(HV_VMBUS_ECHO_CLASS, &offer.if_type) < 0 ||
	    hv_guid_parse(HV_VMBUS_ECHO_INSTANCE, &offer.if_instance) < 0)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tail = &e->head;
	r = hv_vmbus_add_device(vb, &offer, &echo_ops, e, &e->ch);
	if (r < 0) {
		free(e);
		return r;
	}
	*ret = e;
	return 0;
}

void hv_vmbus_echo_free(struct hv_vmbus_echo *e)
{
	if (!e)
		return;
	hv_vmbus_remove_device(e->ch);
	echo_drop_all(e);
	free(e);
}

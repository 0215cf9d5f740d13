// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Frame pacing: at most target_fps frames a second, and a window of frames
 * sent but not acknowledged (RDPGFX FrameAcknowledge, SurfaceFrameAck), so
 * a slow client or link makes us skip frames instead of queueing latency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rcc.h"
#include "util.h"

/* Send times kept for the RTT estimate; acks beyond it just give no sample. */
#define SENT_RING 64u

struct rcc_pacer {
	uint64_t interval_ns;
	uint64_t due_ns; /* when the next frame is due on the target cadence */
	uint32_t max_unacked; /* 0: no limit */
	bool any_sent;
	uint32_t last_sent, last_acked;
	uint64_t last_sent_ns;
	uint64_t srtt_ns;
	struct {
		uint32_t id;
		uint64_t ns;
	} ring[SENT_RING];
};

int rcc_pacer_new(uint32_t target_fps, uint32_t max_unacked, struct rcc_pacer **ret)
{
	struct rcc_pacer *p;

	if (!target_fps || target_fps > 1000)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->interval_ns = 1000000000ull / target_fps;
	p->max_unacked = max_unacked;
	*ret = p;
	return 0;
}

void rcc_pacer_free(struct rcc_pacer *p)
{
	free(p);
}

void rcc_pacer_reset(struct rcc_pacer *p)
{
	/* A new client is a new link: its RTT and send times start afresh. */
	uint64_t interval_ns = p->interval_ns;
	uint32_t max_unacked = p->max_unacked;

	memset(p, 0, sizeof(*p));
	p->interval_ns = interval_ns;
	p->max_unacked = max_unacked;
}

void rcc_pacer_set_max_unacked(struct rcc_pacer *p, uint32_t max_unacked)
{
	p->max_unacked = max_unacked;
}

/* a is after b, modulo 2^32 (RFC 1982 serial numbers). */
static bool after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

uint32_t rcc_pacer_unacked(const struct rcc_pacer *p)
{
	if (!p->any_sent)
		return 0;
	return after(p->last_sent, p->last_acked) ? p->last_sent - p->last_acked : 0;
}

uint64_t rcc_pacer_wait(const struct rcc_pacer *p, uint64_t now_ns)
{
	uint64_t next;

	if (p->max_unacked && rcc_pacer_unacked(p) >= p->max_unacked)
		return UINT64_MAX;
	if (!p->any_sent)
		return 0;
	/*
	 * A source running at the target rate jitters around it; holding a
	 * frame that is a few ms early makes it merge with the next one, a
	 * skipped frame for the viewer (measured: 22 fps delivered of a 30 fps
	 * animation at --fps 30).  So a frame may go up to an eighth of an
	 * interval before it is due, and the cadence, not the last send time,
	 * sets the next due time: the average rate still never exceeds the
	 * target.
	 */
	next = p->due_ns - p->interval_ns / 8;
	return now_ns >= next ? 0 : next - now_ns;
}

void rcc_pacer_sent(struct rcc_pacer *p, uint32_t frame_id, uint64_t now_ns)
{
	if (!p->any_sent) {
		/* Everything before the first frame counts as acknowledged. */
		p->last_acked = frame_id - 1;
		p->due_ns = now_ns + p->interval_ns;
	} else {
		/* Keep the cadence, but never bank credit for an idle spell. */
		p->due_ns = MAX(p->due_ns + p->interval_ns,
				now_ns + p->interval_ns - p->interval_ns / 8);
	}
	p->any_sent = true;
	p->last_sent = frame_id;
	p->last_sent_ns = now_ns;
	p->ring[frame_id % SENT_RING].id = frame_id;
	p->ring[frame_id % SENT_RING].ns = now_ns;
}

void rcc_pacer_acked(struct rcc_pacer *p, uint32_t frame_id, uint64_t now_ns)
{
	uint64_t sample;

	if (!p->any_sent || !after(frame_id, p->last_acked) || after(frame_id, p->last_sent))
		return;
	p->last_acked = frame_id;

	if (p->ring[frame_id % SENT_RING].id != frame_id ||
	    now_ns < p->ring[frame_id % SENT_RING].ns)
		return;
	sample = now_ns - p->ring[frame_id % SENT_RING].ns;
	/* RFC 6298: srtt = 7/8 srtt + 1/8 sample. */
	p->srtt_ns = p->srtt_ns ? p->srtt_ns - p->srtt_ns / 8 + sample / 8 : sample;
}

uint64_t rcc_pacer_rtt_ns(const struct rcc_pacer *p)
{
	return p->srtt_ns;
}

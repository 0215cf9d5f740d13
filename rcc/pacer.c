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

/* Frames that may go back to back after an idle spell. */
#define BURST 2u

/* Send times kept for the RTT estimate; acks beyond it just give no sample. */
#define SENT_RING 64u

struct rcc_pacer {
	uint64_t interval_ns;
	/* Token bucket in time units: sending a frame costs interval_ns of
	 * credit, which refills at one ns per ns up to BURST intervals. */
	uint64_t credit_ns;   /* as of last_sent_ns */
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
	/*
	 * 2 % faster than the target: a source drawing at the same nominal
	 * rate on a clock a little faster than ours would otherwise run out
	 * of credit, and every frame would wait for the next one's worth --
	 * a phase offset of up to a whole interval, fixed for the session
	 * (measured: 24-28 ms median at --fps 30 in some runs, 9 in others;
	 * 5-6 ms in every run at --fps 31, tests/bench/rdp.py --content office).
	 */
	p->interval_ns = 1000000000ull / target_fps;
	p->interval_ns -= p->interval_ns / 50;
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

/* Credit at now_ns: what was left at the last send plus the time since. */
static uint64_t credit_at(const struct rcc_pacer *p, uint64_t now_ns)
{
	uint64_t c = p->credit_ns + (now_ns > p->last_sent_ns ? now_ns - p->last_sent_ns : 0);

	return MIN(c, (uint64_t)BURST * p->interval_ns);
}

/*
 * A token bucket, not a fixed cadence: a source running at the target
 * rate jitters around it, and a cadence of its own would hold each frame
 * until its tick -- a phase offset of up to a whole interval added to
 * every frame's latency (measured: 33 ms median at --fps 30 against
 * 10 ms at --fps 60, tests/bench/rdp.py).  With credit, a frame waits only
 * as long as it came early.  Frames never go closer than half an interval
 * apart, and the average never exceeds the target.
 */
uint64_t rcc_pacer_wait(const struct rcc_pacer *p, uint64_t now_ns)
{
	uint64_t credit, wait = 0, spacing;

	if (p->max_unacked && rcc_pacer_unacked(p) >= p->max_unacked)
		return UINT64_MAX;
	if (!p->any_sent)
		return 0;
	credit = credit_at(p, now_ns);
	if (credit < p->interval_ns)
		wait = p->interval_ns - credit;
	spacing = p->last_sent_ns + p->interval_ns / 2;
	if (now_ns < spacing)
		wait = MAX(wait, spacing - now_ns);
	return wait;
}

void rcc_pacer_sent(struct rcc_pacer *p, uint32_t frame_id, uint64_t now_ns)
{
	uint64_t credit;

	if (!p->any_sent) {
		/* Everything before the first frame counts as acknowledged. */
		p->last_acked = frame_id - 1;
		credit = p->interval_ns;
	} else {
		credit = credit_at(p, now_ns);
	}
	/* A caller that sends before rcc_pacer_wait() said so pays later. */
	p->credit_ns = credit >= p->interval_ns ? credit - p->interval_ns : 0;
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

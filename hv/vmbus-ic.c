// SPDX-License-Identifier: GPL-3.0-or-later
#include "vmbus-ic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ic-proto.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "vmbus.h"

LOG_SCOPE("hv.vmbus-ic");

#define NS_PER_S UINT64_C(1000000000)
#define DEFAULT_HEARTBEAT_NS (1 * NS_PER_S)
#define DEFAULT_KVP_NS (10 * NS_PER_S)
#define DEFAULT_TIMEOUT_NS (10 * NS_PER_S)
/* Longer than the 30 s Linux gives its KVP daemon (HV_UTIL_TIMEOUT). */
#define DEFAULT_KVP_TIMEOUT_NS (35 * NS_PER_S)
/* Hyper-V sends a time sample every 5 s. */
#define TIMESYNC_PERIOD_NS (5 * NS_PER_S)
/* A request that could not be written (ring full) is retried at least
 * this often, besides from ->writable(). */
#define RETRY_NS (NS_PER_S / 4)
/* What one guest may make us store. */
#define KVP_MAX_PAIRS 256u
/* Largest guest packet accepted: answers are as long as our requests. */
#define IC_MAX_PACKET 4096u
#define NEVER UINT64_MAX

/* Offer flags for a message-mode pipe channel, which Hyper-V's ICs are
 * (VMBUS_CHANNEL_NAMED_PIPE_MODE and VMBUS_PIPE_TYPE_MESSAGE in
 * include/linux/hyperv.h; Linux's hv_utils does not look at them). */
#define CHANNEL_NAMED_PIPE_MODE 0x10
#define PIPE_TYPE_MESSAGE 4

/* Framework versions (UTIL_FW_VERSION, UTIL_WS2K8_FW_VERSION). */
static const uint32_t fw_versions[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };

struct ic_kind_info {
	const char *name;
	const char *class_guid;    /* include/linux/hyperv.h HV_*_GUID */
	const char *instance_guid; /* ours, fixed so the guest sees the same device every boot */
	uint16_t msgtype;
	const uint32_t *versions;  /* what we offer; the guest picks (hv_util.c, hv_kvp.c lists) */
	unsigned nversions;
};

static const uint32_t hb_versions[] = { IC_VERSION(3, 0), IC_VERSION(1, 0) };
static const uint32_t sd_versions[] = { IC_VERSION(3, 2), IC_VERSION(3, 1), IC_VERSION(3, 0),
					IC_VERSION(1, 0) };
static const uint32_t ts_versions[] = { IC_VERSION(4, 0), IC_VERSION(3, 0), IC_VERSION(1, 0) };
/* Linux knows 4.0 (WIN8), 3.0 and 1.0; 5.0 only adds binary IP-info
 * messages, which we do not send. */
static const uint32_t kvp_versions[] = { IC_VERSION(5, 0), IC_VERSION(4, 0), IC_VERSION(3, 0) };

static const struct ic_kind_info kinds[HV_IC_COUNT] = {
	[HV_IC_HEARTBEAT] = {
		"heartbeat", "57164f39-9115-4e78-ab55-382f3bd5422d",
		"05597225-0fb7-469d-b415-6aed9796b59d", IC_MSGTYPE_HEARTBEAT,
		hb_versions, ARRAY_SIZE(hb_versions),
	},
	[HV_IC_SHUTDOWN] = {
		"shutdown", "0e0b6031-5213-4934-818b-38d90ced39db",
		"7c5ba0d5-3dad-435d-849f-e74bb275e378", IC_MSGTYPE_SHUTDOWN,
		sd_versions, ARRAY_SIZE(sd_versions),
	},
	[HV_IC_TIMESYNC] = {
		"timesync", "9527e630-d0ae-497b-adce-e80ab0175caf",
		"9f1be6c4-c1b5-43be-9487-077c3d539726", IC_MSGTYPE_TIMESYNC,
		ts_versions, ARRAY_SIZE(ts_versions),
	},
	[HV_IC_KVP] = {
		"kvp", "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6",
		"f464a5e3-59e7-4ba8-bfa7-33c853d6bfd3", IC_MSGTYPE_KVPEXCHANGE,
		kvp_versions, ARRAY_SIZE(kvp_versions),
	},
};

/* The pools enumerated, in order. */
static const uint8_t kvp_pools[] = { IC_KVP_POOL_AUTO, IC_KVP_POOL_GUEST };

struct ic_svc {
	struct hv_ic *ic;
	enum hv_ic_kind kind;
	struct hv_vmbus_channel *ch;
	struct loop_source *timer;
	bool open;
	bool negotiated;
	bool failed; /* negotiation failed: nothing more is sent until reopened */
	struct ic_versions v;
	uint64_t requests, responses, errors;

	/*
	 * The one request in flight.  busy: rq describes it; queued: not
	 * written yet (the ring was full), retried from ->writable() and
	 * the timer.  It counts as answered, failed or timed out only once.
	 */
	bool busy, queued;
	struct ic_request rq;
	uint64_t trans_id;
	uint64_t deadline_ns;
	/* A request that timed out: its late answer is dropped quietly. */
	uint64_t late_trans_id;
	/* When the next periodic request is due. */
	uint64_t next_ns;
};

struct kvp_pair {
	uint8_t pool;
	char *key, *value;
};

struct kvp_set {
	struct kvp_pair *v;
	unsigned n;
};

struct hv_ic {
	struct hv_ic_config cfg;
	struct ic_svc svc[HV_IC_COUNT];
	uint64_t next_trans_id;
	uint8_t buf[IC_MAX_REQUEST_SIZE];
	struct ic_response resp; /* scratch: it holds a KVP pair */

	uint64_t hb_next_seq;
	uint64_t hb_seq, hb_last_ns;

	bool sd_want;
	uint32_t sd_flags;
	char *sd_reason;

	bool ts_sync; /* the next sample is the first since negotiation */
	uint64_t ts_samples;

	struct kvp_set kvp;     /* as of the last complete enumeration */
	struct kvp_set kvp_new; /* being enumerated */
	bool kvp_round;
	unsigned kvp_pool; /* index into kvp_pools */
	uint32_t kvp_index;
	uint64_t kvp_last_ns;
};

static const char *msgtype_name(uint16_t t)
{
	switch (t) {
	case IC_MSGTYPE_NEGOTIATE:
		return "negotiate";
	case IC_MSGTYPE_HEARTBEAT:
		return "heartbeat";
	case IC_MSGTYPE_KVPEXCHANGE:
		return "kvp";
	case IC_MSGTYPE_SHUTDOWN:
		return "shutdown";
	case IC_MSGTYPE_TIMESYNC:
		return "timesync";
	default:
		return "unknown";
	}
}

const char *hv_ic_kind_to_string(enum hv_ic_kind k)
{
	return (unsigned)k < HV_IC_COUNT ? kinds[k].name : "unknown";
}

/* Guest mistakes: counted, and logged the first few times, then every
 * 1000th, so a hostile guest cannot flood the log. */
_printf_(2, 3) static void svc_err(struct ic_svc *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	s->errors++;
	if (s->errors > 5 && s->errors % 1000)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s (error %" PRIu64 ")", kinds[s->kind].name, msg, s->errors);
}

static uint64_t svc_timeout(const struct ic_svc *s)
{
	if (s->ic->cfg.request_timeout_ns)
		return s->ic->cfg.request_timeout_ns;
	return s->kind == HV_IC_KVP ? DEFAULT_KVP_TIMEOUT_NS : DEFAULT_TIMEOUT_NS;
}

static void kvp_set_clear(struct kvp_set *set)
{
	for (unsigned i = 0; i < set->n; i++) {
		free(set->v[i].key);
		free(set->v[i].value);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static void kvp_abort_round(struct hv_ic *ic)
{
	kvp_set_clear(&ic->kvp_new);
	ic->kvp_round = false;
}

static void shutdown_ack(struct hv_ic *ic, bool accepted)
{
	log_info("shutdown: the guest %s the request", accepted ? "accepted" : "did not accept");
	if (ic->cfg.on_shutdown_ack)
		ic->cfg.on_shutdown_ack(ic->cfg.data, accepted);
}

/* Whether s has a new request to make now. */
static bool svc_due(struct ic_svc *s, uint64_t now)
{
	struct hv_ic *ic = s->ic;

	if (!s->open || s->failed || s->busy)
		return false;
	if (!s->negotiated)
		return true;
	switch (s->kind) {
	case HV_IC_SHUTDOWN:
		return ic->sd_want;
	case HV_IC_KVP:
		if (ic->kvp_round)
			return true;
		return now >= s->next_ns;
	default:
		return now >= s->next_ns;
	}
}

/* Arm s's timer for the next thing it has to do. */
static void svc_arm(struct ic_svc *s)
{
	uint64_t now = now_ns(), when = NEVER;

	if (s->busy) {
		when = s->deadline_ns;
		if (s->queued)
			when = MIN(when, now + RETRY_NS);
	} else if (svc_due(s, now)) {
		when = now;
	} else if (s->open && s->negotiated && s->kind != HV_IC_SHUTDOWN) {
		when = s->next_ns;
	}
	if (when == NEVER)
		loop_timer_set(s->timer, LOOP_TIMER_OFF, 0);
	else
		loop_timer_set(s->timer, when > now ? when - now : 0, 0);
}

/* Encode the request in flight into ic->buf. */
static int svc_encode(struct ic_svc *s)
{
	struct hv_ic *ic = s->ic;
	const struct ic_kind_info *k = &kinds[s->kind];
	struct timespec ts;

	switch (s->rq.msgtype) {
	case IC_MSGTYPE_NEGOTIATE:
		return ic_encode_negotiate(ic->buf, sizeof(ic->buf), fw_versions,
					   ARRAY_SIZE(fw_versions), k->versions, k->nversions);
	case IC_MSGTYPE_HEARTBEAT:
		return ic_encode_heartbeat(ic->buf, sizeof(ic->buf), &s->v, s->rq.seq);
	case IC_MSGTYPE_SHUTDOWN:
		return ic_encode_shutdown(ic->buf, sizeof(ic->buf), &s->v, ic->sd_flags,
					  IC_SHUTDOWN_REASON_PLANNED, 0, ic->sd_reason);
	case IC_MSGTYPE_TIMESYNC:
		/* Sampled at each try: a sample that waited for ring space
		 * must not be stale. */
		clock_gettime(CLOCK_REALTIME, &ts);
		return ic_encode_timesync(ic->buf, sizeof(ic->buf), &s->v,
					  ic_filetime(ts.tv_sec, ts.tv_nsec),
					  (now_ns() - ic->cfg.ref_time_base_ns) / 100,
					  ic->ts_sync ? IC_TIMESYNC_FLAG_SYNC
						      : IC_TIMESYNC_FLAG_SAMPLE);
	case IC_MSGTYPE_KVPEXCHANGE:
		return ic_encode_kvp_enumerate(ic->buf, sizeof(ic->buf), &s->v, s->rq.pool,
					       s->rq.index);
	default:
		return -EINVAL;
	}
}

/* The request in flight ended without a usable answer. */
static void svc_request_failed(struct ic_svc *s)
{
	struct hv_ic *ic = s->ic;

	s->busy = s->queued = false;
	switch (s->rq.msgtype) {
	case IC_MSGTYPE_NEGOTIATE:
		s->failed = true;
		break;
	case IC_MSGTYPE_SHUTDOWN:
		shutdown_ack(ic, false);
		break;
	case IC_MSGTYPE_KVPEXCHANGE:
		/* Keep the last complete set; try again next period. */
		kvp_abort_round(ic);
		break;
	}
}

static void svc_try_send(struct ic_svc *s)
{
	int len, r;

	len = svc_encode(s);
	if (len < 0) {
		log_err("%s: cannot encode a request: %s", kinds[s->kind].name, strerror(-len));
		svc_request_failed(s);
		return;
	}
	/* Completion requested, as Hyper-V sends its IC requests. */
	r = hv_vmbus_send(s->ch, HV_VMPKT_DATA_INBAND, HV_VMPKT_FLAG_COMPLETION_REQUESTED,
			  s->trans_id, s->ic->buf, len);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		svc_err(s, "cannot send: %s", strerror(-r));
		svc_request_failed(s);
		return;
	}
	s->queued = false;
	s->requests++;
	if (s->rq.msgtype == IC_MSGTYPE_TIMESYNC) {
		s->ic->ts_samples++;
		s->ic->ts_sync = false;
	}
}

static void svc_start(struct ic_svc *s, const struct ic_request *rq, uint64_t now)
{
	s->rq = *rq;
	s->trans_id = ++s->ic->next_trans_id;
	s->busy = s->queued = true;
	s->deadline_ns = rq->msgtype == IC_MSGTYPE_NEGOTIATE ? NEVER : now + svc_timeout(s);
	svc_try_send(s);
}

static void svc_start_next(struct ic_svc *s, uint64_t now)
{
	struct hv_ic *ic = s->ic;
	const struct ic_kind_info *k = &kinds[s->kind];
	struct ic_request rq = { .msgtype = k->msgtype, .message = s->v.message };

	if (!svc_due(s, now))
		return;
	if (!s->negotiated) {
		rq.msgtype = IC_MSGTYPE_NEGOTIATE;
		rq.fw = fw_versions;
		rq.nfw = ARRAY_SIZE(fw_versions);
		rq.msg = k->versions;
		rq.nmsg = k->nversions;
		svc_start(s, &rq, now);
		return;
	}
	switch (s->kind) {
	case HV_IC_HEARTBEAT:
		rq.seq = ic->hb_next_seq++;
		s->next_ns = now + ic->cfg.heartbeat_period_ns;
		break;
	case HV_IC_SHUTDOWN:
		ic->sd_want = false;
		break;
	case HV_IC_TIMESYNC:
		s->next_ns = now + TIMESYNC_PERIOD_NS;
		break;
	case HV_IC_KVP:
		if (!ic->kvp_round) {
			kvp_set_clear(&ic->kvp_new);
			ic->kvp_round = true;
			ic->kvp_pool = 0;
			ic->kvp_index = 0;
			s->next_ns = now + ic->cfg.kvp_period_ns;
		}
		rq.pool = kvp_pools[ic->kvp_pool];
		rq.index = ic->kvp_index;
		break;
	default:
		return;
	}
	svc_start(s, &rq, now);
}

static void svc_timer(struct loop *l, void *data)
{
	struct ic_svc *s = data;
	uint64_t now = now_ns();

	if (s->busy && now >= s->deadline_ns) {
		svc_err(s, "%s request %" PRIu64 " got no answer in time",
			msgtype_name(s->rq.msgtype), s->trans_id);
		if (!s->queued)
			s->late_trans_id = s->trans_id;
		svc_request_failed(s);
	}
	if (s->busy && s->queued)
		svc_try_send(s);
	if (!s->busy)
		svc_start_next(s, now);
	svc_arm(s);
}

static void kvp_next_pool(struct hv_ic *ic, uint64_t now)
{
	ic->kvp_index = 0;
	if (++ic->kvp_pool < ARRAY_SIZE(kvp_pools))
		return;
	/* Both pools done: publish. */
	kvp_set_clear(&ic->kvp);
	ic->kvp = ic->kvp_new;
	ic->kvp_new = (struct kvp_set){ 0 };
	ic->kvp_round = false;
	ic->kvp_last_ns = now;
	log_debug("kvp: %u pairs", ic->kvp.n);
}

static void kvp_answer(struct ic_svc *s, int r, uint64_t now)
{
	struct hv_ic *ic = s->ic;
	struct kvp_set *set = &ic->kvp_new;
	struct kvp_pair *v, *p;

	if (r == 1) {
		/* Any failure status ends the pool: HV_S_CONT past the last
		 * item, HV_E_FAIL without a KVP daemon (hv_kvp.c). */
		kvp_next_pool(ic, now);
		return;
	}
	if (set->n >= KVP_MAX_PAIRS) {
		svc_err(s, "more than %u pairs, the rest are ignored", KVP_MAX_PAIRS);
		ic->kvp_pool = ARRAY_SIZE(kvp_pools) - 1;
		kvp_next_pool(ic, now);
		return;
	}
	v = realloc(set->v, (set->n + 1) * sizeof(*v));
	if (!v) {
		kvp_abort_round(ic);
		return;
	}
	set->v = v;
	p = &v[set->n];
	p->pool = s->rq.pool;
	p->key = strdup(ic->resp.kvp.key);
	p->value = strdup(ic->resp.kvp.value);
	if (!p->key || !p->value) {
		free(p->key);
		free(p->value);
		kvp_abort_round(ic);
		return;
	}
	set->n++;
	ic->kvp_index++;
}

static void svc_negotiated(struct ic_svc *s, uint64_t now)
{
	struct hv_ic *ic = s->ic;

	s->negotiated = true;
	s->v.framework = ic->resp.fw;
	s->v.message = ic->resp.msg;
	log_info("%s: framework %u.%u, message version %u.%u", kinds[s->kind].name,
		 IC_VERSION_MAJOR(s->v.framework), IC_VERSION_MINOR(s->v.framework),
		 IC_VERSION_MAJOR(s->v.message), IC_VERSION_MINOR(s->v.message));
	/* The first heartbeat, time (a SYNC sample) and enumeration go now. */
	s->next_ns = now;
	if (s->kind == HV_IC_TIMESYNC)
		ic->ts_sync = true;
}

static void ic_packet(struct hv_vmbus_channel *ch, const struct hv_vmbus_packet *pkt, void *data)
{
	struct ic_svc *s = data;
	struct hv_ic *ic = s->ic;
	uint64_t now = now_ns();
	int r;

	if (pkt->type == HV_VMPKT_COMP) {
		/* Completions carry nothing for us. */
		return;
	}
	if (pkt->type != HV_VMPKT_DATA_INBAND) {
		svc_err(s, "packet of type %u", pkt->type);
		return;
	}
	if (!s->busy || s->queued || pkt->trans_id != s->trans_id) {
		if (s->late_trans_id && pkt->trans_id == s->late_trans_id) {
			log_debug("%s: late answer to request %" PRIu64 " dropped",
				  kinds[s->kind].name, pkt->trans_id);
			s->late_trans_id = 0;
			return;
		}
		svc_err(s, "answer to transaction %" PRIu64 ", which is not outstanding",
			pkt->trans_id);
		return;
	}
	s->responses++;
	r = ic_parse_response(&s->rq, pkt->data, pkt->len, &ic->resp);
	if (r < 0 || (r == 1 && s->rq.msgtype != IC_MSGTYPE_KVPEXCHANGE &&
		      s->rq.msgtype != IC_MSGTYPE_SHUTDOWN)) {
		if (r == -ENOTSUP)
			log_warn("%s: the guest supports none of our versions",
				 kinds[s->kind].name);
		if (r == 1)
			svc_err(s, "%s request failed with status 0x%08x",
				msgtype_name(s->rq.msgtype), ic->resp.hdr.status);
		else
			svc_err(s, "bad answer (%u bytes) to a %s request: %s", pkt->len,
				msgtype_name(s->rq.msgtype), strerror(-r));
		svc_request_failed(s);
		svc_arm(s);
		return;
	}
	s->busy = false;
	switch (s->rq.msgtype) {
	case IC_MSGTYPE_NEGOTIATE:
		svc_negotiated(s, now);
		break;
	case IC_MSGTYPE_HEARTBEAT:
		ic->hb_seq = ic->resp.seq;
		ic->hb_last_ns = now;
		break;
	case IC_MSGTYPE_SHUTDOWN:
		shutdown_ack(ic, r == 0);
		break;
	case IC_MSGTYPE_KVPEXCHANGE:
		kvp_answer(s, r, now);
		break;
	}
	svc_arm(s);
}

static void svc_reset(struct ic_svc *s)
{
	s->negotiated = s->failed = false;
	s->busy = s->queued = false;
	s->v = (struct ic_versions){ 0 };
	s->late_trans_id = 0;
	s->next_ns = 0;
	switch (s->kind) {
	case HV_IC_SHUTDOWN:
		s->ic->sd_want = false;
		break;
	case HV_IC_KVP:
		kvp_abort_round(s->ic);
		break;
	default:
		break;
	}
}

static int ic_open(struct hv_vmbus_channel *ch, void *data)
{
	struct ic_svc *s = data;

	svc_reset(s);
	s->open = true;
	/* The negotiation goes from the timer, once the guest has its
	 * OPENCHANNEL_RESULT. */
	svc_arm(s);
	return 0;
}

static void ic_writable(struct hv_vmbus_channel *ch, void *data)
{
	struct ic_svc *s = data;

	if (s->busy && s->queued) {
		svc_try_send(s);
		svc_arm(s);
	}
}

static void ic_close(struct hv_vmbus_channel *ch, void *data)
{
	struct ic_svc *s = data;

	s->open = false;
	svc_reset(s);
	loop_timer_set(s->timer, LOOP_TIMER_OFF, 0);
}

/* One ops table per service, so operators see which channel is which. */
#define IC_OPS(n) { .name = n, .open = ic_open, .packet = ic_packet, \
		    .writable = ic_writable, .close = ic_close }
static const struct hv_vmbus_device_ops ic_ops[HV_IC_COUNT] = {
	[HV_IC_HEARTBEAT] = IC_OPS("heartbeat"),
	[HV_IC_SHUTDOWN] = IC_OPS("shutdown"),
	[HV_IC_TIMESYNC] = IC_OPS("timesync"),
	[HV_IC_KVP] = IC_OPS("kvp"),
};

int hv_ic_new(const struct hv_ic_config *cfg, struct hv_ic **ret)
{
	struct hv_ic *ic;
	int r;

	if (!cfg || !cfg->loop || !cfg->vmbus || !ret)
		return -EINVAL;
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return -ENOMEM;
	ic->cfg = *cfg;
	if (!ic->cfg.heartbeat_period_ns)
		ic->cfg.heartbeat_period_ns = DEFAULT_HEARTBEAT_NS;
	if (!ic->cfg.kvp_period_ns)
		ic->cfg.kvp_period_ns = DEFAULT_KVP_NS;

	for (unsigned i = 0; i < HV_IC_COUNT; i++) {
		struct ic_svc *s = &ic->svc[i];

		s->ic = ic;
		s->kind = i;
		r = loop_add_timer(cfg->loop, LOOP_TIMER_OFF, 0, svc_timer, s, &s->timer);
		if (r < 0)
			goto fail;
	}
	for (unsigned i = 0; i < HV_IC_COUNT; i++) {
		struct ic_svc *s = &ic->svc[i];
		struct hv_vmbus_offer offer = {
			.chn_flags = CHANNEL_NAMED_PIPE_MODE,
			.max_packet = IC_MAX_PACKET,
		};

		offer.user_def[0] = PIPE_TYPE_MESSAGE;
		if (hv_guid_parse(kinds[i].class_guid, &offer.if_type) < 0 ||
		    hv_guid_parse(kinds[i].instance_guid, &offer.if_instance) < 0) {
			r = -EINVAL;
			goto fail;
		}
		r = hv_vmbus_add_device(cfg->vmbus, &offer, &ic_ops[i], s, &s->ch);
		if (r < 0)
			goto fail;
	}
	*ret = ic;
	return 0;
fail:
	hv_ic_free(ic);
	return r;
}

void hv_ic_free(struct hv_ic *ic)
{
	if (!ic)
		return;
	/* Devices first: removing one may close its channel, and ->close()
	 * disarms the timer. */
	for (unsigned i = 0; i < HV_IC_COUNT; i++)
		if (ic->svc[i].ch)
			hv_vmbus_remove_device(ic->svc[i].ch);
	for (unsigned i = 0; i < HV_IC_COUNT; i++)
		loop_source_remove(ic->svc[i].timer);
	kvp_set_clear(&ic->kvp);
	kvp_set_clear(&ic->kvp_new);
	free(ic->sd_reason);
	free(ic);
}

void hv_ic_get_status(struct hv_ic *ic, struct hv_ic_status *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < HV_IC_COUNT; i++) {
		const struct ic_svc *s = &ic->svc[i];
		struct hv_ic_service_status *o = &ret->svc[i];

		o->open = s->open;
		o->negotiated = s->negotiated;
		o->framework_version = s->v.framework;
		o->message_version = s->v.message;
		o->requests = s->requests;
		o->responses = s->responses;
		o->errors = s->errors;
	}
	ret->heartbeat_seq = ic->hb_seq;
	ret->heartbeat_last_ns = ic->hb_last_ns;
	ret->timesync_samples = ic->ts_samples;
	ret->kvp_pairs = ic->kvp.n;
	ret->kvp_last_ns = ic->kvp_last_ns;
}

int hv_ic_request_shutdown(struct hv_ic *ic, bool reboot, const char *reason)
{
	struct ic_svc *s = &ic->svc[HV_IC_SHUTDOWN];
	char *copy;

	if (!s->open || !s->negotiated)
		return -ENOTCONN;
	if (ic->sd_want || s->busy)
		return -EBUSY;
	copy = strdup(reason ? reason : "");
	if (!copy)
		return -ENOMEM;
	free(ic->sd_reason);
	ic->sd_reason = copy;
	/* 0 powers off, RESTART reboots (hv_util.c shutdown_onchannelcallback);
	 * not forced: the guest shuts down in its own time. */
	ic->sd_flags = reboot ? IC_SHUTDOWN_FLAG_RESTART : 0;
	ic->sd_want = true;
	svc_arm(s);
	return 0;
}

void hv_ic_kvp_for_each(struct hv_ic *ic,
			void (*fn)(const char *pool, const char *key, const char *value,
				   void *data),
			void *data)
{
	for (unsigned i = 0; i < ic->kvp.n; i++) {
		const struct kvp_pair *p = &ic->kvp.v[i];

		fn(p->pool == IC_KVP_POOL_AUTO ? "auto" : "guest", p->key, p->value, data);
	}
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The integration services (Hyper-V "ICs"; the guest side is Linux's
 * hv_utils: drivers/hv/hv_util.c, hv_kvp.c, hv_utils_transport.c and
 * include/linux/hyperv.h): heartbeat, shutdown, time synchronisation and
 * key-value pair exchange, each a VMBus device speaking the ICMSG framing
 * with version negotiation.  The host drives them: it sends requests and
 * the guest answers.  All on the VM's loop thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct hv_vmbus;
struct hv_ic;

enum hv_ic_kind {
	HV_IC_HEARTBEAT,
	HV_IC_SHUTDOWN,
	HV_IC_TIMESYNC,
	HV_IC_KVP,
	HV_IC_COUNT,
};
const char *hv_ic_kind_to_string(enum hv_ic_kind k);

struct hv_ic_config {
	struct loop *loop;
	struct hv_vmbus *vmbus;
	/* Period of heartbeat requests and of KVP re-enumeration; 0 picks
	 * the defaults (1 s and 10 s). */
	uint64_t heartbeat_period_ns;
	uint64_t kvp_period_ns;
	/* How long a request may wait for its answer before it counts as an
	 * error and the next one may go; 0 picks 10 s (35 s for KVP: Linux
	 * answers a KVP request only after its daemon did, or its own 30 s
	 * timeout passed, drivers/hv/hv_kvp.c).  Version negotiation waits
	 * for as long as it takes (Linux's KVP driver negotiates only once
	 * its daemon is up, or after HV_UTIL_NEGO_TIMEOUT). */
	uint64_t request_timeout_ns;
	/* CLOCK_MONOTONIC ns at which the guest's partition reference
	 * counter (HV_MSR_TIME_REF_COUNT, 100 ns units) read 0: hv_hyperv's
	 * start_ns.  Time sync 4.0 samples carry that counter so the guest
	 * can correct for their age. */
	uint64_t ref_time_base_ns;
	/* Called (may be NULL) once per hv_ic_request_shutdown() that the
	 * guest answered: accepted is true when it said HV_S_OK (it is
	 * shutting down or restarting now), false for a refusal, a malformed
	 * answer or none within the request timeout.  Not called if the
	 * channel closes first.  It runs inside a VMBus or timer callback:
	 * it must not call hv_ic_free(). */
	void (*on_shutdown_ack)(void *data, bool accepted);
	void *data;
};

/* Create the four devices and add them to the bus (offered to the guest
 * when it asks for offers). */
int hv_ic_new(const struct hv_ic_config *cfg, struct hv_ic **ret);
/* Removes the devices from the bus: call it before hv_vmbus_free(). */
void hv_ic_free(struct hv_ic *ic); /* accepts NULL */

struct hv_ic_service_status {
	bool open;          /* the guest opened the channel */
	bool negotiated;    /* ICMSG version agreed */
	uint32_t framework_version; /* major << 16 | minor, 0 before */
	uint32_t message_version;
	uint64_t requests, responses, errors;
};

struct hv_ic_status {
	struct hv_ic_service_status svc[HV_IC_COUNT];
	/* Heartbeat: the guest's last sequence number, and when it came
	 * (CLOCK_MONOTONIC ns; 0 never). */
	uint64_t heartbeat_seq;
	uint64_t heartbeat_last_ns;
	/* Time sync: samples sent. */
	uint64_t timesync_samples;
	/* KVP: pairs known, and when the last enumeration finished. */
	unsigned kvp_pairs;
	uint64_t kvp_last_ns;
};
void hv_ic_get_status(struct hv_ic *ic, struct hv_ic_status *ret);

/*
 * Ask the guest to shut down (reboot: restart instead) with a message for
 * its log.  -ENOTCONN if the shutdown channel is not open and negotiated,
 * -EBUSY if a request is already waiting for its answer.
 */
int hv_ic_request_shutdown(struct hv_ic *ic, bool reboot, const char *reason);

/* The key-value pairs the guest reported (pool names: "auto" for the
 * guest's intrinsic items such as FullyQualifiedDomainName and
 * NetworkAddressIPv4, "guest" for items guest software set), in UTF-8. */
void hv_ic_kvp_for_each(struct hv_ic *ic,
			void (*fn)(const char *pool, const char *key, const char *value, void *data),
			void *data);

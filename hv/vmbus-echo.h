/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * An echo device for tests and benchmarks: every in-band packet the guest
 * sends comes back unchanged (same transaction id).  skyvm offers it only
 * with --vmbus-echo; the test guest's `vmbus=bench` mode measures ring
 * throughput and round trips with it.  It is also the smallest example of
 * a VMBus device (docs/vmbus.md).
 */

struct hv_vmbus;
struct hv_vmbus_echo;

/* Class and instance GUIDs of the echo channel. */
#define HV_VMBUS_ECHO_CLASS    "0f6d2b3a-5c1e-4a8b-9e27-51c7d8a4b6e0"
#define HV_VMBUS_ECHO_INSTANCE "0f6d2b3a-5c1e-4a8b-9e27-51c7d8a4b6e1"

int hv_vmbus_echo_new(struct hv_vmbus *vb, struct hv_vmbus_echo **ret);
void hv_vmbus_echo_free(struct hv_vmbus_echo *e); /* accepts NULL */

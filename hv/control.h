/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * skyvm's control protocol (docs/control.md): one JSON object per line on a
 * UNIX socket.  Request:  {"cmd": "status", "id": 7}
 * Reply:    {"id": 7, "ok": true, "result": {...}}
 *       or  {"id": 7, "ok": false, "error": "unknown command \"foo\""}
 * "id" is optional, any JSON scalar, and echoed back.
 */

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum hv_ctl_cmd {
	HV_CTL_STATUS,
	HV_CTL_PAUSE,
	HV_CTL_RESUME,
	HV_CTL_STOP,
	HV_CTL_CONSOLE, /* reply carries an fd: a stream socket to the serial port */
	HV_CTL_VCPUS,   /* where each vCPU is: RIP, RSP, CPL ... */
	HV_CTL_VMBUS,   /* the VMBus connection and its channels */
	HV_CTL_IC,      /* integration services: heartbeat, time sync, KVP pairs */
	HV_CTL_SHUTDOWN, /* ask the guest to shut down (or reboot) gracefully */
};

/* Longest "reason" a shutdown request may carry (bytes). */
#define HV_CTL_REASON_MAX 256
/* Longest "timeout_s" (a day). */
#define HV_CTL_TIMEOUT_MAX 86400

struct hv_ctl_request {
	enum hv_ctl_cmd cmd;
	struct json_object *id; /* a reference, or NULL; put with hv_ctl_request_finish() */
	/* shutdown: "reboot" (bool), "reason" (string), "timeout_s" (0 =
	 * wait forever; else stop the VM hard if it is still up then). */
	bool reboot;
	char reason[HV_CTL_REASON_MAX + 1];
	unsigned timeout_s;
};

/*
 * Parse one request line (without its newline).  Pure: no I/O, used by the
 * fuzzer.  On failure returns -errno, sets *ret_err to a message for the
 * client and, when the line was a JSON object with a usable "id", *ret_id to
 * a reference to it (else NULL).  *ret is set only on success.
 */
int hv_ctl_parse(const char *line, size_t len, struct hv_ctl_request *ret, const char **ret_err,
		 struct json_object **ret_id);
/* The same checks on an object already parsed by ipc_conn (which does
 * ipc_parse_line()'s work on each line); obj is borrowed. */
int hv_ctl_request_from_object(struct json_object *obj, struct hv_ctl_request *ret,
			       const char **ret_err, struct json_object **ret_id);
void hv_ctl_request_finish(struct hv_ctl_request *req);

const char *hv_ctl_cmd_to_string(enum hv_ctl_cmd cmd);

/* Build a reply; they take ownership of result and id (either may be NULL). */
struct json_object *hv_ctl_reply_ok(struct json_object *id, struct json_object *result);
struct json_object *hv_ctl_reply_error(struct json_object *id, const char *error);

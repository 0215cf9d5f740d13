/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The host API's request bodies (docs/api.md §3), checked strictly: pure
 * functions over the raw body, fuzzed by tests/fuzz/fuzz-hostapi.c.  Each
 * returns 0, or -EINVAL with a message naming the field in err (the 400
 * answer).
 */

#include <stddef.h>
#include <stdint.h>

#include "tokens.h"
#include "vm.h"

/* Request bodies are small; the server refuses more with 413. */
#define HOST_API_MAX_BODY (64 * 1024)

/* PUT /v1/vms/NAME: {"template": NAME, "memory_mb": N, "cpus": N}; the
 * sizes may be left out (0 here: the template's). */
struct host_vm_create {
	char template_name[HOST_NAME_MAX_LEN + 1];
	uint32_t memory_mb, cpus;
};
int host_api_parse_vm_create(const char *body, size_t len, struct host_vm_create *out,
			     char *err, size_t errlen);

/* POST /v1/tokens: {"user", "vm", "token", "expires": unix seconds}.
 * The token is printable ASCII of TOKENS_MIN_LEN..TOKENS_MAX_LEN bytes;
 * whether expires is in the future is the caller's check. */
struct host_token_req {
	char user[TOKENS_USER_MAX + 1];
	char vm[TOKENS_VM_MAX + 1];
	char token[TOKENS_MAX_LEN + 1];
	int64_t expires;
};
int host_api_parse_token(const char *body, size_t len, struct host_token_req *out, char *err,
			 size_t errlen);

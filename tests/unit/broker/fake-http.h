/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A fake of cluster/http.h for the broker's unit tests: responses are
 * plain structs the tests read back, requests are built by hand, and
 * http_client_request() answers as one host agent would (docs/api.md §3)
 * from an in-memory list of VMs.
 */

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define FAKE_MAX_HEADERS 16

struct fake_request {
	struct http_request req;
	const char *headers[FAKE_MAX_HEADERS][2];
	size_t nheaders;
	const char *query[FAKE_MAX_HEADERS][2];
	size_t nquery;
	char cookie_buf[256];
};

void fake_request_init(struct fake_request *f, const char *method, const char *path,
		       const char *body);
void fake_request_header(struct fake_request *f, const char *name, const char *value);
void fake_request_query(struct fake_request *f, const char *name, const char *value);

int fake_status(const struct http_response *resp);
const char *fake_body(const struct http_response *resp);
const char *fake_content_type(const struct http_response *resp);
const char *fake_header(const struct http_response *resp, const char *name);

/* The fake host. */
#define FAKE_VMS_MAX 64
struct fake_vm {
	char name[65];
	char state[16];
	char template[65];
	long long memory_mb, cpus;
	int started; /* how many times; "started" is "t<N>" */
};
struct fake_host {
	struct fake_vm vms[FAKE_VMS_MAX];
	size_t nvms;
	bool down;          /* every call: -ECONNREFUSED */
	int put_status;     /* answer PUT with this (0 = normal) */
	bool start_slow;    /* started VMs stay "starting" */
	unsigned calls;
	char last_url[512];
	char last_method[16];
	char last_token_user[65];
};
extern struct fake_host fake_host;
void fake_host_reset(void);
struct fake_vm *fake_host_vm(const char *name);

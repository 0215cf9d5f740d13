// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The host API (docs/api.md §3) on the HTTP server's threads: check who is
 * calling and what they sent, then do the work on the loop (hostd_call)
 * and answer.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "hostd.h"
#include "http.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

LOG_SCOPE("host.api");

#define BROKER_CN "broker"

enum action { ACT_NONE, ACT_START, ACT_STOP, ACT_RESTART };

struct op {
	const char *name;
	enum action action;
	struct host_vm_create create;
	const char *who;
	bool found;
	struct http_response *resp;
};

static struct http_response *vm_answer(int status, const struct host_vm *vm)
{
	struct json_object *o = host_vm_json(vm);

	return o ? http_response_json(status, o) : NULL;
}

static struct http_response *shutting_down(void)
{
	struct http_response *r = http_response_error(503, "the host agent is shutting down");

	if (r)
		http_response_header(r, "Retry-After", "30");
	return r;
}

static void do_report(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct json_object *o = hostd_report(h);

	op->resp = o ? http_response_json(200, o) : NULL;
}

static void do_templates(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return;
	for (size_t i = 0; i < h->templates.n; i++) {
		const struct host_template *t = &h->templates.items[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(t->name));
		json_object_object_add(o, "description", json_object_new_string(t->description));
		json_object_object_add(o, "memory_mb", json_object_new_int64(t->memory_mb));
		json_object_object_add(o, "cpus", json_object_new_int64(t->cpus));
		json_object_array_add(arr, o);
	}
	op->resp = http_response_json(200, arr);
}

static void do_get(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct host_vm *vm = hostd_vm_find(h, op->name);

	op->resp = vm ? vm_answer(200, vm) : http_response_error(404, "no VM %s", op->name);
}

static void do_put(struct hostd *h, void *arg)
{
	struct op *op = arg;
	const struct host_template *t;
	struct host_vm *vm;
	int r;

	if (h->shutting_down) {
		op->resp = shutting_down();
		return;
	}
	vm = hostd_vm_find(h, op->name);
	if (vm) {
		op->resp = http_response_error(409, "VM %s exists%s", op->name,
					       vm->delete_requested ? " (being deleted)" : "");
		return;
	}
	t = host_templates_find(&h->templates, op->create.template_name);
	if (!t) {
		op->resp = http_response_error(400, "template: no template %s on this host",
					       op->create.template_name);
		return;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return;
	snprintf(vm->name, sizeof(vm->name), "%s", op->name);
	snprintf(vm->template_name, sizeof(vm->template_name), "%s", t->name);
	vm->memory_mb = op->create.memory_mb ? op->create.memory_mb : t->memory_mb;
	vm->cpus = op->create.cpus ? op->create.cpus : t->cpus;
	vm->state = HOST_VM_OFF;
	r = hostd_vm_add(h, vm);
	if (r == -ENOSPC) {
		free(vm);
		op->resp = http_response_error(409, "this host has %d VMs already", HOST_VMS_MAX);
		return;
	}
	if (r < 0 || hostd_vm_save(h, vm) < 0) {
		if (r == 0)
			hostd_vm_forget(h, vm);
		else
			free(vm);
		op->resp = http_response_error(500, "cannot record VM %s", op->name);
		return;
	}
	log_info("vm %s: created by %s (template %s, %u MiB, %u vCPUs)", vm->name, op->who,
		 vm->template_name, vm->memory_mb, vm->cpus);
	op->resp = vm_answer(201, vm);
}

static void do_action(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct host_vm *vm = hostd_vm_find(h, op->name);
	bool wanted;
	int r = 0;

	if (!vm) {
		op->resp = http_response_error(404, "no VM %s", op->name);
		return;
	}
	if (h->shutting_down) {
		op->resp = shutting_down();
		return;
	}
	if (vm->delete_requested) {
		op->resp = http_response_error(409, "VM %s is being deleted", op->name);
		return;
	}
	wanted = vm->want_running;
	switch (op->action) {
	case ACT_START:
		log_info("vm %s: start requested by %s", vm->name, op->who);
		r = hostd_vm_start(h, vm);
		break;
	case ACT_STOP:
		log_info("vm %s: stop requested by %s", vm->name, op->who);
		vm->want_running = false;
		hostd_vm_stop(h, vm);
		break;
	case ACT_RESTART:
		log_info("vm %s: restart requested by %s", vm->name, op->who);
		r = hostd_vm_restart(h, vm);
		break;
	case ACT_NONE:
		break;
	}
	if (wanted != vm->want_running)
		hostd_vm_save(h, vm);
	if (r == -ENOENT)
		op->resp = http_response_error(409, "template %s is not on this host",
					       vm->template_name);
	else if (r < 0)
		op->resp = http_response_error(500, "cannot start VM %s: %s", vm->name,
					       strerror(-r));
	else
		op->resp = vm_answer(202, vm);
}

static void do_delete(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct host_vm *vm = hostd_vm_find(h, op->name);

	if (!vm) {
		op->resp = http_response_error(404, "no VM %s", op->name);
		return;
	}
	if (h->shutting_down) {
		op->resp = shutting_down();
		return;
	}
	if (!vm->delete_requested) {
		log_info("vm %s: delete requested by %s", vm->name, op->who);
		if (hostd_vm_unsave(h, vm) < 0) {
			op->resp = http_response_error(500, "cannot remove VM %s's record",
						       op->name);
			return;
		}
		hostd_vm_delete(h, vm); /* may free vm */
	}
	op->resp = http_response_new(204, NULL, NULL, 0);
}

static void do_vm_exists(struct hostd *h, void *arg)
{
	struct op *op = arg;
	struct host_vm *vm = hostd_vm_find(h, op->name);

	op->found = vm && !vm->delete_requested;
}

static struct http_response *call(struct hostd *h, void (*fn)(struct hostd *, void *),
				  struct op *op)
{
	int r = hostd_call(h, fn, op);

	if (r == -ESHUTDOWN)
		return shutting_down();
	if (r < 0)
		return http_response_error(500, "%s", strerror(-r));
	/* NULL (out of memory on the loop) becomes the server's 500. */
	return op->resp;
}

static bool is_json(const struct http_request *req)
{
	const char *ct = http_header(req, "Content-Type");

	return ct && !strncasecmp(ct, "application/json", 16) &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

static struct http_response *post_token(struct hostd *h, const struct http_request *req)
{
	struct host_token_req tok;
	struct op op = { 0 };
	char err[256];
	int r;

	if (host_api_parse_token(req->body, req->body_len, &tok, err, sizeof(err)) < 0)
		return http_response_error(400, "%s", err);
	if (tok.expires <= (int64_t)time(NULL))
		return http_response_error(400, "expires: %lld is in the past",
					   (long long)tok.expires);
	op.name = tok.vm;
	r = hostd_call(h, do_vm_exists, &op);
	if (r == -ESHUTDOWN)
		return shutting_down();
	if (r < 0)
		return http_response_error(500, "%s", strerror(-r));
	if (!op.found)
		return http_response_error(404, "no VM %s", tok.vm);
	/* The store is files renamed into place: safe off the loop. */
	r = tokens_put(h->tokens_dir, tok.user, tok.vm, tok.token, (time_t)tok.expires);
	explicit_bzero(tok.token, sizeof(tok.token));
	if (r < 0) {
		log_errno(LOG_ERR, r, "token for %s on vm %s: cannot store it", tok.user, tok.vm);
		return http_response_error(r == -EINVAL ? 400 : 500, "cannot store the token: %s",
					   strerror(-r));
	}
	log_info("token for %s on vm %s stored, valid until %lld", tok.user, tok.vm,
		 (long long)tok.expires);
	return http_response_new(204, NULL, NULL, 0);
}

static struct http_response *method_not_allowed(const char *allow)
{
	struct http_response *r = http_response_error(405, "method not allowed");

	if (r)
		http_response_header(r, "Allow", allow);
	return r;
}

static struct http_response *route_vm(struct hostd *h, const struct http_request *req,
				      const char *rest, const char *who)
{
	const char *slash = strchr(rest, '/');
	char name[HOST_NAME_MAX_LEN + 1];
	struct op op = { .name = name, .who = who };
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	char err[256];

	if (len == 0 || len > HOST_NAME_MAX_LEN)
		return http_response_error(404, "no such VM");
	memcpy(name, rest, len);
	name[len] = '\0';
	if (!host_name_valid(name))
		return http_response_error(404, "no such VM");
	if (slash) {
		const char *act = slash + 1;

		if (!strcmp(act, "start"))
			op.action = ACT_START;
		else if (!strcmp(act, "stop"))
			op.action = ACT_STOP;
		else if (!strcmp(act, "restart"))
			op.action = ACT_RESTART;
		else
			return http_response_error(404, "no such action");
		if (strcmp(req->method, "POST"))
			return method_not_allowed("POST");
		return call(h, do_action, &op);
	}
	if (!strcmp(req->method, "GET"))
		return call(h, do_get, &op);
	if (!strcmp(req->method, "DELETE"))
		return call(h, do_delete, &op);
	if (!strcmp(req->method, "PUT")) {
		if (!is_json(req))
			return http_response_error(415, "expected Content-Type: application/json");
		if (host_api_parse_vm_create(req->body, req->body_len, &op.create, err,
					     sizeof(err)) < 0)
			return http_response_error(400, "%s", err);
		return call(h, do_put, &op);
	}
	return method_not_allowed("GET, PUT, DELETE");
}

struct http_response *hostd_http_handler(const struct http_request *req, void *data)
{
	struct hostd *h = data;
	struct op op = { 0 };

	/* The server verified the certificate chain; only the broker's may act. */
	if (!req->client_cn || strcmp(req->client_cn, BROKER_CN)) {
		log_info("%s %s %s refused: client %s is not the broker", req->peer, req->method,
			 req->path, req->client_cn ? req->client_cn : "without certificate");
		return http_response_error(403, "only the broker may use this API");
	}
	if (!strncmp(req->path, "/v1/vms/", 8))
		return route_vm(h, req, req->path + 8, req->client_cn);
	if (!strcmp(req->path, "/v1/host")) {
		if (strcmp(req->method, "GET"))
			return method_not_allowed("GET");
		return call(h, do_report, &op);
	}
	if (!strcmp(req->path, "/v1/templates")) {
		if (strcmp(req->method, "GET"))
			return method_not_allowed("GET");
		return call(h, do_templates, &op);
	}
	if (!strcmp(req->path, "/v1/tokens")) {
		if (strcmp(req->method, "POST"))
			return method_not_allowed("POST");
		if (!is_json(req))
			return http_response_error(415, "expected Content-Type: application/json");
		return post_token(h, req);
	}
	return http_response_error(404, "no such resource");
}

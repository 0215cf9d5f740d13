// SPDX-License-Identifier: GPL-3.0-or-later
/* A fake of cluster/http.h for the broker's unit tests (fake-http.h). */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake-http.h"

struct http_response {
	int status;
	char *content_type;
	char *body;
	size_t len;
	char *headers[FAKE_MAX_HEADERS][2];
	size_t nheaders;
};

struct fake_host fake_host;

void fake_request_init(struct fake_request *f, const char *method, const char *path,
		       const char *body)
{
	memset(f, 0, sizeof(*f));
	f->req.method = method;
	f->req.path = path;
	f->req.body = body ? body : "";
	f->req.body_len = body ? strlen(body) : 0;
	f->req.peer = "192.0.2.1";
	f->req.impl = f;
}

void fake_request_header(struct fake_request *f, const char *name, const char *value)
{
	if (f->nheaders < FAKE_MAX_HEADERS) {
		f->headers[f->nheaders][0] = name;
		f->headers[f->nheaders++][1] = value;
	}
}

void fake_request_query(struct fake_request *f, const char *name, const char *value)
{
	if (f->nquery < FAKE_MAX_HEADERS) {
		f->query[f->nquery][0] = name;
		f->query[f->nquery++][1] = value;
	}
}

const char *http_header(const struct http_request *req, const char *name)
{
	struct fake_request *f = req->impl;
	size_t i;

	for (i = 0; i < f->nheaders; i++)
		if (!strcasecmp(f->headers[i][0], name))
			return f->headers[i][1];
	return NULL;
}

const char *http_cookie(const struct http_request *req, const char *name)
{
	struct fake_request *f = req->impl;
	const char *c = http_header(req, "Cookie");
	size_t n = strlen(name);

	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		if (!strncmp(c, name, n) && c[n] == '=') {
			const char *v = c + n + 1, *end = strchr(v, ';');
			size_t len = end ? (size_t)(end - v) : strlen(v);

			if (len >= sizeof(f->cookie_buf))
				return NULL;
			memcpy(f->cookie_buf, v, len);
			f->cookie_buf[len] = '\0';
			return f->cookie_buf;
		}
		c = strchr(c, ';');
	}
	return NULL;
}

const char *http_query(const struct http_request *req, const char *name)
{
	struct fake_request *f = req->impl;
	size_t i;

	for (i = 0; i < f->nquery; i++)
		if (!strcmp(f->query[i][0], name))
			return f->query[i][1];
	return NULL;
}

struct http_response *http_response_new(int status, const char *content_type, char *body,
					size_t len)
{
	struct http_response *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->status = status;
	r->content_type = content_type ? strdup(content_type) : NULL;
	/* Keep it NUL-terminated for the tests' string compares. */
	r->body = calloc(1, len + 1);
	if (body && len)
		memcpy(r->body, body, len);
	r->len = len;
	free(body);
	return r;
}

struct http_response *http_response_static(int status, const char *content_type,
					   const void *body, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return NULL;
	memcpy(copy, body, len);
	return http_response_new(status, content_type, copy, len);
}

struct http_response *http_response_json(int status, struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	struct http_response *r = http_response_new(status, "application/json", strdup(s),
						    strlen(s));

	json_object_put(obj);
	return r;
}

struct http_response *http_response_error(int status, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	return http_response_json(status, o);
}

int http_response_header(struct http_response *resp, const char *name, const char *value)
{
	if (resp->nheaders == FAKE_MAX_HEADERS)
		return -ENOMEM;
	resp->headers[resp->nheaders][0] = strdup(name);
	resp->headers[resp->nheaders++][1] = strdup(value);
	return 0;
}

void http_response_free(struct http_response *resp)
{
	size_t i;

	if (!resp)
		return;
	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i][0]);
		free(resp->headers[i][1]);
	}
	free(resp->content_type);
	free(resp->body);
	free(resp);
}

int fake_status(const struct http_response *resp)
{
	return resp ? resp->status : -1;
}

const char *fake_body(const struct http_response *resp)
{
	return resp ? resp->body : NULL;
}

const char *fake_content_type(const struct http_response *resp)
{
	return resp ? resp->content_type : NULL;
}

const char *fake_header(const struct http_response *resp, const char *name)
{
	size_t i;

	for (i = 0; resp && i < resp->nheaders; i++)
		if (!strcasecmp(resp->headers[i][0], name))
			return resp->headers[i][1];
	return NULL;
}

/* --- the fake host ------------------------------------------------------------- */

void fake_host_reset(void)
{
	memset(&fake_host, 0, sizeof(fake_host));
}

struct fake_vm *fake_host_vm(const char *name)
{
	size_t i;

	for (i = 0; i < fake_host.nvms; i++)
		if (!strcmp(fake_host.vms[i].name, name))
			return &fake_host.vms[i];
	return NULL;
}

static struct json_object *vm_json(const struct fake_vm *vm)
{
	struct json_object *o = json_object_new_object();
	char started[16];

	snprintf(started, sizeof(started), "t%d", vm->started);
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "template", json_object_new_string(vm->template));
	json_object_object_add(o, "memory_mb", json_object_new_int64(vm->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(vm->cpus));
	json_object_object_add(o, "state", json_object_new_string(vm->state));
	json_object_object_add(o, "started", vm->started ? json_object_new_string(started) : NULL);
	return o;
}

static struct json_object *err_json(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

int http_client_request(const struct http_client_config *cfg, const char *method,
			const char *url, struct json_object *body, long *status,
			struct json_object **reply)
{
	const char *path = strstr(url, "/v1/");
	struct json_object *rep = NULL;
	char name[65] = "", action[16] = "";
	struct fake_vm *vm;
	long st = 404;

	fake_host.calls++;
	snprintf(fake_host.last_url, sizeof(fake_host.last_url), "%s", url);
	snprintf(fake_host.last_method, sizeof(fake_host.last_method), "%s", method);
	if (reply)
		*reply = NULL;
	if (fake_host.down)
		return -ECONNREFUSED;
	if (!path)
		goto out;
	if (!strcmp(path, "/v1/tokens") && !strcmp(method, "POST")) {
		struct json_object *u;

		if (body && json_object_object_get_ex(body, "user", &u))
			snprintf(fake_host.last_token_user, sizeof(fake_host.last_token_user), "%s",
				 json_object_get_string(u));
		st = 204;
		goto out;
	}
	if (sscanf(path, "/v1/vms/%64[^/]/%15s", name, action) < 1)
		goto out;
	vm = fake_host_vm(name);
	if (!action[0] && !strcmp(method, "PUT")) {
		struct json_object *v;

		if (fake_host.put_status) {
			st = fake_host.put_status;
			rep = err_json("no such template");
			goto out;
		}
		if (vm) {
			st = 409;
			rep = err_json("exists");
			goto out;
		}
		vm = &fake_host.vms[fake_host.nvms++];
		memset(vm, 0, sizeof(*vm));
		snprintf(vm->name, sizeof(vm->name), "%s", name);
		snprintf(vm->state, sizeof(vm->state), "off");
		if (json_object_object_get_ex(body, "template", &v))
			snprintf(vm->template, sizeof(vm->template), "%s",
				 json_object_get_string(v));
		if (json_object_object_get_ex(body, "memory_mb", &v))
			vm->memory_mb = json_object_get_int64(v);
		if (json_object_object_get_ex(body, "cpus", &v))
			vm->cpus = json_object_get_int64(v);
		st = 201;
		rep = vm_json(vm);
		goto out;
	}
	if (!vm) {
		rep = err_json("no such VM");
		goto out;
	}
	if (!action[0] && !strcmp(method, "GET")) {
		st = 200;
		rep = vm_json(vm);
	} else if (!action[0] && !strcmp(method, "DELETE")) {
		*vm = fake_host.vms[--fake_host.nvms];
		st = 204;
	} else if (!strcmp(method, "POST") &&
		   (!strcmp(action, "start") || !strcmp(action, "restart"))) {
		vm->started++;
		snprintf(vm->state, sizeof(vm->state), "%s",
			 fake_host.start_slow ? "starting" : "running");
		st = 202;
		rep = vm_json(vm);
	} else if (!strcmp(method, "POST") && !strcmp(action, "stop")) {
		snprintf(vm->state, sizeof(vm->state), "off");
		st = 202;
		rep = vm_json(vm);
	} else {
		st = 405;
	}
out:
	if (status)
		*status = st;
	if (reply)
		*reply = rep;
	else
		json_object_put(rep);
	(void)cfg;
	return 0;
}

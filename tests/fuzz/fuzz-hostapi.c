// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyhostd's JSON input (host/api.c, host/vm.c, host/template.c): request
 * bodies come from the network, records and templates from files.  Every
 * input goes through all four parsers, from an exact-size copy so that a
 * read past the end is caught; what they accept must be within the limits
 * they promise, and a record must survive a round trip.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "template.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record(const char *buf, size_t size)
{
	struct host_vm vm, again;
	struct json_object *o;
	const char *s;
	char err[256];

	if (host_vm_record_parse(buf, size, &vm, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return;
	}
	if (!host_name_valid(vm.name) || !host_name_valid(vm.template_name) ||
	    vm.memory_mb < HOST_VM_MEM_MIN_MB || vm.memory_mb > HOST_VM_MEM_MAX_MB ||
	    vm.cpus < 1 || vm.cpus > HOST_VM_CPUS_MAX || vm.state != HOST_VM_OFF || vm.pid)
		abort();
	o = host_vm_record_json(&vm);
	s = json_object_to_json_string(o);
	if (host_vm_record_parse(s, strlen(s), &again, err, sizeof(err)) < 0 ||
	    strcmp(again.name, vm.name) || strcmp(again.template_name, vm.template_name) ||
	    again.memory_mb != vm.memory_mb || again.cpus != vm.cpus ||
	    again.want_running != vm.want_running)
		abort();
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct host_template t;
	struct host_vm_create c;
	struct host_token_req tok;
	char err[256];
	char *buf;

	if (size > HOST_API_MAX_BODY)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	if (host_api_parse_vm_create(buf, size, &c, err, sizeof(err)) == 0) {
		if (!host_name_valid(c.template_name) || c.cpus > HOST_VM_CPUS_MAX ||
		    (c.memory_mb && c.memory_mb < HOST_VM_MEM_MIN_MB) ||
		    c.memory_mb > HOST_VM_MEM_MAX_MB)
			abort();
	}
	if (host_api_parse_token(buf, size, &tok, err, sizeof(err)) == 0) {
		size_t n = strlen(tok.token);

		if (!host_name_valid(tok.user) || !host_name_valid(tok.vm) ||
		    n < TOKENS_MIN_LEN || n > TOKENS_MAX_LEN || tok.expires < 1)
			abort();
		for (size_t i = 0; i < n; i++)
			if (tok.token[i] <= 0x20 || tok.token[i] >= 0x7f)
				abort();
	}
	check_record(buf, size);
	if (host_template_parse(buf, size, NULL, "/templates", &t, err, sizeof(err)) == 0) {
		if (!host_name_valid(t.name) || t.kernel[0] != '/' || t.cpus < 1 ||
		    t.cpus > HOST_VM_CPUS_MAX || (t.width && (t.width < 640 || t.height < 480)))
			abort();
		for (const char *p = t.cmdline; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	}
	free(buf);
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* The HostReport (report.h). */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "report.h"
#include "util.h"

/* One "Key:   N kB" line's number, or -EINVAL. */
static int meminfo_field(const char *text, size_t len, const char *key, uint64_t *kb)
{
	size_t klen = strlen(key);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) && p[klen] == ':') {
			const char *q = p + klen + 1;
			uint64_t v = 0;
			bool digits = false;

			while (q < eol && *q == ' ')
				q++;
			while (q < eol && *q >= '0' && *q <= '9') {
				if (v > (UINT64_MAX - 9) / 10)
					return -EINVAL;
				v = v * 10 + (uint64_t)(*q++ - '0');
				digits = true;
			}
			if (!digits || eol - q != 3 || memcmp(q, " kB", 3))
				return -EINVAL;
			*kb = v;
			return 0;
		}
		p = eol + 1;
	}
	return -EINVAL;
}

int host_meminfo_parse(const char *text, size_t len, uint64_t *total_mb, uint64_t *avail_mb)
{
	uint64_t total, avail;

	if (meminfo_field(text, len, "MemTotal", &total) < 0 ||
	    meminfo_field(text, len, "MemAvailable", &avail) < 0)
		return -EINVAL;
	*total_mb = total / 1024;
	*avail_mb = avail / 1024;
	return 0;
}

uint64_t host_committed_mb(struct host_vm *const *vms, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (vms[i]->state != HOST_VM_OFF)
			sum += vms[i]->memory_mb;
	return sum;
}

uint64_t host_mem_free_mb(uint64_t total_mb, uint64_t avail_mb, uint64_t committed_mb)
{
	uint64_t free_mb = total_mb > committed_mb ? total_mb - committed_mb : 0;

	return MIN(free_mb, avail_mb);
}

struct json_object *host_report_json(const struct host_info *info, struct host_vm *const *vms,
				     size_t n)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	if (!o || !arr) {
		json_object_put(o);
		json_object_put(arr);
		return NULL;
	}
	json_object_object_add(o, "name", json_object_new_string(info->name));
	json_object_object_add(o, "api_url", json_object_new_string(info->api_url));
	json_object_object_add(o, "rdp_address", info->rdp_address ?
			       json_object_new_string(info->rdp_address) : NULL);
	json_object_object_add(o, "cpus", json_object_new_int64(info->cpus));
	json_object_object_add(o, "mem_total_mb",
			       json_object_new_int64((int64_t)info->mem_total_mb));
	json_object_object_add(o, "mem_free_mb",
			       json_object_new_int64((int64_t)info->mem_free_mb));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, host_vm_json(vms[i]));
	json_object_object_add(o, "vms", arr);
	return o;
}

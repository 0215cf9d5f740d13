/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The HostReport (docs/api.md §2): what skyhostd heartbeats to the broker
 * and answers on GET /v1/host.  Memory (docs/host.md): with --mem-total the
 * host offers that much to VMs and mem_free_mb is it minus the memory of
 * every VM that is not off; without it, mem_total_mb is MemTotal of
 * /proc/meminfo and mem_free_mb the smaller of MemAvailable and MemTotal
 * minus that committed memory.  Either is clamped at 0.
 */

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct json_object;

struct host_info {
	const char *name;
	const char *api_url;
	const char *rdp_address; /* NULL: no skyrdp on this host */
	unsigned cpus;
	uint64_t mem_total_mb;
	uint64_t mem_free_mb;
};

/* MemTotal and MemAvailable of /proc/meminfo's text, in MiB.  -EINVAL when
 * either is missing or malformed.  Pure. */
int host_meminfo_parse(const char *text, size_t len, uint64_t *total_mb, uint64_t *avail_mb);

/* Sum of memory_mb of the VMs that are not off. */
uint64_t host_committed_mb(struct host_vm *const *vms, size_t n);
/* mem_free_mb as above; avail_mb UINT64_MAX when the total is configured. */
uint64_t host_mem_free_mb(uint64_t total_mb, uint64_t avail_mb, uint64_t committed_mb);

struct json_object *host_report_json(const struct host_info *info, struct host_vm *const *vms,
				     size_t n);

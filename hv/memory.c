// SPDX-License-Identifier: GPL-3.0-or-later
#include "memory.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

void hv_guest_mem_init(struct hv_guest_mem *mem, uint8_t *host, uint64_t size)
{
	mem->host = host;
	mem->size = size;
	mem->low_size = size < HV_LOW_RAM_MAX ? size : HV_LOW_RAM_MAX;
}

void *hv_gpa_to_host(const struct hv_guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t high_size = mem->size - mem->low_size;

	if (gpa < mem->low_size) {
		if (len > mem->low_size - gpa)
			return NULL;
		return mem->host + gpa;
	}
	if (gpa >= HV_HIGH_RAM_GPA && gpa - HV_HIGH_RAM_GPA < high_size) {
		uint64_t off = gpa - HV_HIGH_RAM_GPA;
		if (len > high_size - off)
			return NULL;
		return mem->host + mem->low_size + off;
	}
	return NULL;
}

int hv_guest_write(const struct hv_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = hv_gpa_to_host(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int hv_guest_read(const struct hv_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = hv_gpa_to_host(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM as the host sees it: one contiguous host mapping (of a memfd).
 * Its first low_size bytes are GPA [0, low_size); the rest, if any, is GPA
 * [HV_HIGH_RAM_GPA, HV_HIGH_RAM_GPA + size - low_size).
 */
struct hv_guest_mem {
	uint8_t *host;
	uint64_t size;     /* total RAM bytes */
	uint64_t low_size; /* bytes below HV_LOW_RAM_MAX */
};

/* Split size into low/high parts per layout.h. */
void hv_guest_mem_init(struct hv_guest_mem *mem, uint8_t *host, uint64_t size);

/* Host pointer for [gpa, gpa + len), or NULL unless the whole range is RAM
 * within one of the two regions.  Every access to guest memory on behalf of
 * the guest goes through this check. */
void *hv_gpa_to_host(const struct hv_guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy in/out with the same bounds check; -EFAULT if out of range. */
int hv_guest_write(const struct hv_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int hv_guest_read(const struct hv_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

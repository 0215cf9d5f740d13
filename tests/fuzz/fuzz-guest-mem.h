/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Lazily backed fake guest RAM for fuzz targets, made once per process. */

#include <stdint.h>
#include <sys/mman.h>

#include "memory.h"

static inline void fuzz_guest_mem(struct hv_guest_mem *mem, uint64_t size)
{
	void *p;

	if (mem->host)
		return;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		__builtin_trap();
	hv_guest_mem_init(mem, p, size);
}

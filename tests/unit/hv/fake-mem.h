/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Fake guest RAM for unit tests: an anonymous, lazily backed mapping, so a
 * "5 GiB guest" costs only the pages a test touches. */

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "memory.h"

static inline int fake_mem_new(struct hv_guest_mem *mem, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	hv_guest_mem_init(mem, p, size);
	return 0;
}

static inline void fake_mem_free(struct hv_guest_mem *mem)
{
	if (mem->host)
		munmap(mem->host, mem->size);
	mem->host = NULL;
}

static inline uint64_t rd64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t rd32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t rd16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void wr64(void *p, uint64_t v) { memcpy(p, &v, sizeof(v)); }
static inline void wr32(void *p, uint32_t v) { memcpy(p, &v, sizeof(v)); }
static inline void wr16(void *p, uint16_t v) { memcpy(p, &v, sizeof(v)); }

/* Find needle in haystack; NULL if absent. */
static inline const uint8_t *find_bytes(const void *hay, size_t hlen, const void *needle,
					 size_t nlen)
{
	return memmem(hay, hlen, needle, nlen);
}

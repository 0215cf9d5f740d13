// SPDX-License-Identifier: GPL-3.0-or-later
/* The four functions a freestanding compiler may call on its own. */
#include "kernel.h"

void *memset(void *s, int c, size_t n)
{
	uint8_t *p = s;

	while (n--)
		*p++ = (uint8_t)c;
	return s;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp < sp) {
		while (n--)
			*dp++ = *sp++;
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *pa = a, *pb = b;

	for (; n; n--, pa++, pb++) {
		if (*pa != *pb)
			return *pa < *pb ? -1 : 1;
	}
	return 0;
}

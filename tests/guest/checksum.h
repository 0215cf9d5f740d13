/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The test guest's memory workload, one definition for both sides: the
 * guest's CPL3 code (user.c) and hosted tests that compute the line a guest
 * must print.  Plain C99 over <stdint.h>; no libc, no FPU.
 *
 * For "fill=N" the guest takes a region of N MiB (N * 131072 64-bit words,
 * word 0 at the region's start) and
 *
 *   1. writes word i (0 <= i < N * 131072) with  w(i) = splitmix64(i);
 *   2. after all its words are written, reads each back as r(i) and adds up
 *        checksum = sum over i of splitmix64(r(i) ^ i)   (mod 2^64)
 *
 * where splitmix64 is Vigna's SplitMix64 output function (below).  A sum is
 * independent of how the words are split between CPUs, so every CPU count
 * prints the same value; the per-word mix depends on both the value and its
 * index, so a lost, stale or misplaced word changes it.  With r(i) = w(i),
 * skyguest_checksum(N) is the expected value; the guest prints it as
 *
 *   checksum: 0x%016llx (N MiB)
 */

#include <stdint.h>

#define SKYGUEST_WORDS_PER_MIB (1024u * 1024u / 8u)

static inline uint64_t skyguest_splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The value written to word i. */
static inline uint64_t skyguest_word(uint64_t i)
{
	return skyguest_splitmix64(i);
}

/* What word i contributes to the checksum, given the value r read back. */
static inline uint64_t skyguest_term(uint64_t i, uint64_t r)
{
	return skyguest_splitmix64(r ^ i);
}

/* Expected partial sum over words [first, first + count). */
static inline uint64_t skyguest_checksum_range(uint64_t first, uint64_t count)
{
	uint64_t sum = 0;

	for (uint64_t i = first; i < first + count; i++)
		sum += skyguest_term(i, skyguest_word(i));
	return sum;
}

/* Expected checksum of a fill of mib MiB, whatever the CPU count. */
static inline uint64_t skyguest_checksum(uint64_t mib)
{
	return skyguest_checksum_range(0, mib * SKYGUEST_WORDS_PER_MIB);
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skylight-guest-checksum N: print the "checksum:" line the test guest
 * prints for fill=N (checksum.h).  --self-test checks checksum.h against
 * fixed values and checks that splitting the words between CPUs changes
 * nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

/* Values of this definition; changing them changes the guest ABI. */
static const struct {
	uint64_t mib, sum;
} known[] = {
	{ 0, 0 },
	{ 1, UINT64_C(0xb96c4a99a13c5688) },
	{ 16, UINT64_C(0x0f3506aaa81a5de3) },
};

static int self_test(void)
{
	int bad = 0;

	/* SplitMix64 reference outputs for seed 0 (Vigna's splitmix64.c). */
	if (skyguest_splitmix64(0) != UINT64_C(0xe220a8397b1dcdaf)) {
		fprintf(stderr, "splitmix64(0) = %016" PRIx64 "\n", skyguest_splitmix64(0));
		bad = 1;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		uint64_t s = skyguest_checksum(known[i].mib);

		if (s != known[i].sum) {
			fprintf(stderr, "checksum(%" PRIu64 ") = 0x%016" PRIx64 ", want 0x%016" PRIx64 "\n",
				known[i].mib, s, known[i].sum);
			bad = 1;
		}
	}
	/* Any split into slices gives the same sum. */
	uint64_t words = 3 * SKYGUEST_WORDS_PER_MIB, whole = skyguest_checksum(3);
	for (uint64_t n = 1; n <= 7; n++) {
		uint64_t sum = 0;

		for (uint64_t k = 0; k < n; k++) {
			uint64_t first = words * k / n;
			sum += skyguest_checksum_range(first, words * (k + 1) / n - first);
		}
		if (sum != whole) {
			fprintf(stderr, "split in %" PRIu64 ": 0x%016" PRIx64 "\n", n, sum);
			bad = 1;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long long mib;
	char *end;

	if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
		return self_test();
	if (argc != 2) {
		fprintf(stderr, "usage: %s MIB | --self-test\n", argv[0]);
		return 2;
	}
	errno = 0;
	mib = strtoull(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || mib > (1ull << 30)) {
		fprintf(stderr, "%s: bad size '%s'\n", argv[0], argv[1]);
		return 2;
	}
	printf("checksum: 0x%016" PRIx64 " (%llu MiB)\n", skyguest_checksum(mib), mib);
	return 0;
}

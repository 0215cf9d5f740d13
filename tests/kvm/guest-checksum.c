// SPDX-License-Identifier: GPL-3.0-or-later
/* Print the checksum the test guest must report for fill=N (tests/guest/checksum.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../guest/checksum.h"

int main(int argc, char **argv)
{
	char *end;
	unsigned long long mib;

	if (argc != 2 || !(mib = strtoull(argv[1], &end, 10)) || *end || mib > 1024 * 1024) {
		fprintf(stderr, "usage: guest-checksum MIB\n");
		return 64;
	}
	printf("0x%016" PRIx64 "\n", skyguest_checksum(mib));
	return 0;
}

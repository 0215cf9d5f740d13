// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * pki-tool: cluster/pki.c from the command line, for tests that need a
 * cluster CA and certificates (tests/kvm/test_hostd.py).
 *   pki-tool ca DIR NAME
 *   pki-tool issue CA_DIR CN CERT KEY [SAN]...
 */
#include <stdio.h>
#include <string.h>

#include "pki.h"

int main(int argc, char **argv)
{
	int r;

	if (argc == 4 && !strcmp(argv[1], "ca"))
		r = pki_ca_init(argv[2], argv[3]);
	else if (argc >= 6 && !strcmp(argv[1], "issue"))
		r = pki_issue(argv[2], argv[3], (const char *const *)argv + 6, (size_t)(argc - 6),
			      argv[4], argv[5]);
	else {
		fprintf(stderr, "usage: pki-tool ca DIR NAME\n"
				"       pki-tool issue CA_DIR CN CERT KEY [SAN]...\n");
		return 64;
	}
	if (r < 0) {
		fprintf(stderr, "pki-tool %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	return 0;
}

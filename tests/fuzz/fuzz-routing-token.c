// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What a client sends the broker's front door before logging on
 * (broker/frontdoor.c): its routing token (frontdoor_parse_routing_token)
 * and its X.224 Connection Request (frontdoor_parse_x224).  Every input
 * goes to both parsers, and, as a desktop name, to frontdoor_rdp_file,
 * whose loadbalanceinfo must parse back to the same name.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontdoor.h"

#define MSTS "Cookie: msts="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static void check_token(const char *s, size_t size)
{
	char out[65], small[8];
	size_t n, i;

	if (frontdoor_parse_routing_token(s, size, out, sizeof(out)) < 0)
		return;
	n = strlen(out);
	/* A name, and exactly what followed the prefix. */
	if (!n || n > 64 || out[0] == '-' || out[0] == '.')
		abort();
	for (i = 0; i < n; i++)
		if (!name_char(out[i]))
			abort();
	if (size < sizeof(MSTS) - 1 + n || memcmp(s, MSTS, sizeof(MSTS) - 1) ||
	    memcmp(s + sizeof(MSTS) - 1, out, n))
		abort();
	if (size != sizeof(MSTS) - 1 + n &&
	    (size != sizeof(MSTS) + 1 + n || memcmp(s + size - 2, "\r\n", 2)))
		abort();
	/* Too small an output is refused, never overrun. */
	if (frontdoor_parse_routing_token(s, size, small, sizeof(small)) == 0 &&
	    strlen(small) >= sizeof(small))
		abort();
}

static void check_x224(const uint8_t *data, size_t size)
{
	struct frontdoor_x224 x;
	size_t i, n;

	if (frontdoor_parse_x224(data, size, &x) < 0)
		return;
	n = strnlen(x.cookie, sizeof(x.cookie));
	if (n == sizeof(x.cookie) || (n && !x.have_cookie) || (x.have_cookie && x.routing_token))
		abort();
	for (i = 0; i < n; i++)
		if (x.cookie[i] < 0x20 || x.cookie[i] > 0x7e)
			abort();
	if (!x.have_protocols && x.protocols)
		abort();
}

static void check_rdp_file(const char *desktop)
{
	char *file = frontdoor_rdp_file("broker.example:3389", "alice", desktop), *lb, *end;
	char out[65], token[80];
	size_t n = strlen(desktop), i;
	bool valid = n && n <= 64 && desktop[0] != '-' && desktop[0] != '.';

	for (i = 0; i < n && valid; i++)
		valid = name_char(desktop[i]);
	/* A name makes a file; anything else (a newline above all) none. */
	if (!file) {
		if (valid && errno != ENOMEM)
			abort();
		return;
	}
	if (!valid)
		abort();
	snprintf(token, sizeof(token), MSTS "%s", desktop);
	if (!strstr(file, token))
		abort();
	lb = strstr(file, "\r\nloadbalanceinfo:s:");
	if (!lb)
		abort();
	lb += strlen("\r\nloadbalanceinfo:s:");
	end = strstr(lb, "\r\n");
	if (!end || frontdoor_parse_routing_token(lb, (size_t)(end - lb), out, sizeof(out)) < 0 ||
	    strcmp(out, desktop))
		abort();
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_token(s, size);
	check_x224(data, size);
	if (strlen(s) == size)
		check_rdp_file(s);
	free(s);
	return 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Placement (pure): where a new desktop goes.  The healthy host not in
 * maintenance with the most free memory that fits it; ties go to the name
 * that sorts first, so a choice is repeatable.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct placement_host {
	const char *name;
	bool healthy;
	bool maintenance;
	int64_t mem_free_mb; /* what the host reports, less what is promised already */
};

/* Index into hosts[0..n) of the chosen host, or -ENOSPC when none fits
 * memory_mb (or memory_mb is not positive). */
int placement_pick(const struct placement_host *hosts, size_t n, int64_t memory_mb);

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * VM templates: TEMPLATES/NAME.json, each
 *   {"name": NAME, "description": TEXT, "kernel": PATH, "initrd": PATH (optional),
 *    "cmdline": TEXT, "memory_mb": N, "cpus": N, "resolution": "WxH" (optional)}
 * NAME must be the file's name without ".json"; relative paths are taken
 * from the templates folder.  docs/host.md has the limits.
 */

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define HOST_TEMPLATE_DESC_MAX 1024
#define HOST_TEMPLATE_CMDLINE_MAX 4096
#define HOST_TEMPLATES_MAX 256
/* Template files are small; a bigger one is a mistake. */
#define HOST_TEMPLATE_FILE_MAX (64 * 1024)

struct host_template {
	char name[HOST_NAME_MAX_LEN + 1];
	char description[HOST_TEMPLATE_DESC_MAX + 1];
	char kernel[PATH_MAX];
	char initrd[PATH_MAX]; /* "" = none */
	char cmdline[HOST_TEMPLATE_CMDLINE_MAX + 1];
	uint32_t memory_mb, cpus;
	uint32_t width, height; /* 0 = skyvm's default */
};

/* Parse one template file's text.  file_stem is the file name without
 * ".json" (the name must match it) and dir the folder relative paths are
 * resolved against.  Pure: the kernel is not looked at.  -EINVAL with a
 * message in err. */
int host_template_parse(const char *text, size_t len, const char *file_stem, const char *dir,
			struct host_template *t, char *err, size_t errlen);

struct host_templates {
	struct host_template *items;
	size_t n;
};

/* Read every DIR/ *.json (sorted by name); files that do not parse, or
 * whose kernel or initrd is not a readable file, are logged and skipped.
 * Returns 0 (even with none) or -errno when DIR cannot be read. */
int host_templates_load(const char *dir, struct host_templates *ret);
void host_templates_free(struct host_templates *ts);
const struct host_template *host_templates_find(const struct host_templates *ts,
						const char *name);

// SPDX-License-Identifier: GPL-3.0-or-later
/* VM templates (template.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fields.h"
#include "log.h"
#include "template.h"
#include "util.h"

LOG_SCOPE("host.template");

static bool resolution_valid(const char *s)
{
	unsigned w, h;
	char end;

	/* skyvm --resolution's range (skyvm/skyvm.c). */
	return sscanf(s, "%ux%u%c", &w, &h, &end) == 2 && w >= 640 && h >= 480 && w <= 7680 &&
	       h <= 4320 && s[0] >= '0' && s[0] <= '9';
}

static const struct host_field template_fields[] = {
	{ "name", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "description", HOST_FIELD_STRING, false, 0, HOST_TEMPLATE_DESC_MAX, NULL },
	{ "kernel", HOST_FIELD_STRING, true, 1, PATH_MAX - 1, NULL },
	{ "initrd", HOST_FIELD_STRING, false, 1, PATH_MAX - 1, NULL },
	{ "cmdline", HOST_FIELD_STRING, false, 0, HOST_TEMPLATE_CMDLINE_MAX, NULL },
	{ "memory_mb", HOST_FIELD_INT, true, HOST_VM_MEM_MIN_MB, HOST_VM_MEM_MAX_MB, NULL },
	{ "cpus", HOST_FIELD_INT, true, 1, HOST_VM_CPUS_MAX, NULL },
	{ "resolution", HOST_FIELD_STRING, false, 7, 9, resolution_valid },
};

/* dir/path unless path is absolute; -ENAMETOOLONG past PATH_MAX. */
static int resolve(const char *dir, const char *path, char out[PATH_MAX])
{
	int n = path[0] == '/' ? snprintf(out, PATH_MAX, "%s", path) :
				 snprintf(out, PATH_MAX, "%s/%s", dir, path);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int host_template_parse(const char *text, size_t len, const char *file_stem, const char *dir,
			struct host_template *t, char *err, size_t errlen)
{
	struct json_object *obj;
	const char *res, *initrd;
	int r;

	r = host_json_parse(text, len, &obj, err, errlen);
	if (r < 0)
		return r;
	r = host_fields_check(obj, template_fields, ARRAY_SIZE(template_fields), err, errlen);
	if (r < 0)
		goto out;
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", host_field_str(obj, "name", ""));
	if (file_stem && strcmp(t->name, file_stem)) {
		snprintf(err, errlen, "name: \"%s\" is not the file's name \"%s.json\"", t->name,
			 file_stem);
		r = -EINVAL;
		goto out;
	}
	snprintf(t->description, sizeof(t->description), "%s",
		 host_field_str(obj, "description", ""));
	snprintf(t->cmdline, sizeof(t->cmdline), "%s", host_field_str(obj, "cmdline", ""));
	t->memory_mb = (uint32_t)host_field_int(obj, "memory_mb", 0);
	t->cpus = (uint32_t)host_field_int(obj, "cpus", 0);
	res = host_field_str(obj, "resolution", NULL);
	if (res)
		sscanf(res, "%ux%u", &t->width, &t->height);
	if (resolve(dir, host_field_str(obj, "kernel", ""), t->kernel) < 0) {
		snprintf(err, errlen, "kernel: path too long");
		r = -EINVAL;
		goto out;
	}
	initrd = host_field_str(obj, "initrd", NULL);
	if (initrd && resolve(dir, initrd, t->initrd) < 0) {
		snprintf(err, errlen, "initrd: path too long");
		r = -EINVAL;
		goto out;
	}
out:
	json_object_put(obj);
	return r;
}

static bool readable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct host_template *)a)->name,
		      ((const struct host_template *)b)->name);
}

int host_templates_load(const char *dir, struct host_templates *ret)
{
	struct host_templates ts = { 0 };
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	ts.items = calloc(HOST_TEMPLATES_MAX, sizeof(*ts.items));
	if (!ts.items) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name), len = 0;
		char stem[HOST_NAME_MAX_LEN + 1], err[256];
		struct host_template *t;
		char *text = NULL;
		int r;

		if (nlen <= 5 || strcmp(de->d_name + nlen - 5, ".json") || de->d_name[0] == '.')
			continue;
		if (nlen - 5 > HOST_NAME_MAX_LEN) {
			log_warn("template %s/%s: name too long, skipped", dir, de->d_name);
			continue;
		}
		memcpy(stem, de->d_name, nlen - 5);
		stem[nlen - 5] = '\0';
		if (ts.n == HOST_TEMPLATES_MAX) {
			log_warn("templates %s: more than %d, %s and later ones skipped", dir,
				 HOST_TEMPLATES_MAX, de->d_name);
			break;
		}
		r = read_file_at(dirfd(d), de->d_name, O_NOFOLLOW, HOST_TEMPLATE_FILE_MAX, &text,
				 &len);
		if (r < 0) {
			log_errno(LOG_WARN, r, "template %s/%s: skipped", dir, de->d_name);
			continue;
		}
		t = &ts.items[ts.n];
		r = host_template_parse(text, len, stem, dir, t, err, sizeof(err));
		free(text);
		if (r < 0) {
			log_warn("template %s/%s: %s; skipped", dir, de->d_name, err);
			continue;
		}
		if (!readable_file(t->kernel)) {
			log_warn("template %s: kernel %s is not a readable file; skipped", t->name,
				 t->kernel);
			continue;
		}
		if (t->initrd[0] && !readable_file(t->initrd)) {
			log_warn("template %s: initrd %s is not a readable file; skipped", t->name,
				 t->initrd);
			continue;
		}
		ts.n++;
	}
	closedir(d);
	qsort(ts.items, ts.n, sizeof(*ts.items), cmp_names);
	*ret = ts;
	return 0;
}

void host_templates_free(struct host_templates *ts)
{
	free(ts->items);
	ts->items = NULL;
	ts->n = 0;
}

const struct host_template *host_templates_find(const struct host_templates *ts,
						const char *name)
{
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->items[i].name, name))
			return &ts->items[i];
	return NULL;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * web-render SAMPLE.json OUTDIR: writes the broker's pages rendered from
 * sample JSON, and the static assets, as files for a visual check
 * (tests/e2e/web-preview.py).  SAMPLE.json is
 *   {"viewer": {"name","role","csrf"}, "pools": [...], "desktops": [...],
 *    "all_desktops": [...], "hosts": [...], "users": [...], "jobs": [...]}
 * and OUTDIR gets login.html, login-error.html, enroll.html, desktops.html,
 * desktops-empty.html, admin.html, admin-empty.html, error.html and
 * static/{app.css,app.js,icon.svg}.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "web.h"

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "web-render: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "web-render: writing %s failed\n", path);
		return -EIO;
	}
	return 0;
}

static int write_page(const char *dir, const char *name, char *html)
{
	int r;

	if (!html) {
		fprintf(stderr, "web-render: %s: out of memory\n", name);
		return -ENOMEM;
	}
	r = write_file(dir, name, html, strlen(html));
	free(html);
	return r;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int main(int argc, char **argv)
{
	static const char *const assets[] = { "app.css", "app.js", "icon.svg" };
	struct json_object *s, *vo, *empty;
	struct web_viewer v;
	char dir[4096];
	int r = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: web-render SAMPLE.json OUTDIR\n");
		return 2;
	}
	s = json_object_from_file(argv[1]);
	if (!json_object_is_type(s, json_type_object)) {
		fprintf(stderr, "web-render: %s: not a JSON object\n", argv[1]);
		return 1;
	}
	vo = get(s, "viewer");
	v.name = get_str(vo, "name");
	v.role = get_str(vo, "role");
	v.csrf = get_str(vo, "csrf");
	empty = json_object_new_array();

	snprintf(dir, sizeof(dir), "%s/static", argv[2]);
	if (mkdir(argv[2], 0755) && errno != EEXIST)
		return 1;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return 1;

	r |= write_page(argv[2], "login.html", web_page_login(NULL, true));
	r |= write_page(argv[2], "login-error.html",
			web_page_login("Wrong name or password.", true));
	r |= write_page(argv[2], "enroll.html", web_page_enroll(NULL));
	r |= write_page(argv[2], "desktops.html",
			web_page_desktops(&v, get(s, "pools"), get(s, "desktops")));
	r |= write_page(argv[2], "desktops-empty.html", web_page_desktops(&v, empty, empty));
	r |= write_page(argv[2], "admin.html",
			web_page_admin(&v, get(s, "hosts"), get(s, "all_desktops"),
				       get(s, "pools"), get(s, "users"), get(s, "jobs")));
	r |= write_page(argv[2], "admin-empty.html",
			web_page_admin(&v, empty, empty, empty, empty, empty));
	r |= write_page(argv[2], "error.html",
			web_page_error(404, "No such desktop: \"<b>nope</b>\""));
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		size_t len;
		const char *type;
		const void *data = web_static(assets[i], &type, &len);

		if (!data) {
			fprintf(stderr, "web-render: no asset %s\n", assets[i]);
			r = 1;
			continue;
		}
		r |= write_file(dir, assets[i], data, len);
	}
	json_object_put(empty);
	json_object_put(s);
	return r ? 1 : 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The broker's web pages: server-rendered HTML5 (no framework, no external
 * fonts or CDNs) with one small script that calls the REST API
 * (docs/api.md) with the page's CSRF token.  Pages render the same JSON
 * objects the API returns; every text taken from them is HTML-escaped.
 * Usable from a phone's width up.  Pure: no I/O.
 */

#include <stdbool.h>
#include <stddef.h>

struct json_object;

struct web_viewer {
	const char *name;   /* the logged-in user */
	const char *role;   /* "user" | "delegated_admin" | "admin" */
	const char *csrf;   /* the session's CSRF token */
	bool pam;           /* the broker also signs users in with PAM */
};

/* Each returns a malloc'd NUL-terminated HTML document, NULL on ENOMEM.
 * The lists are JSON arrays of the API's objects (docs/api.md); NULL or
 * anything but an array reads as empty, and v may be NULL.  The pages link
 * to / (login), /enroll, /desktops, /admin and /static/; serve them with
 * "Content-Security-Policy: default-src 'self'" (they need nothing more).
 * The hooks (ids, data-* attributes) the script and browser tests use are
 * listed at the top of web.c. */
char *web_page_login(const char *error, bool enroll);
char *web_page_enroll(const char *error);
/* "My desktops": the request form (pools, with cost per day as you choose
 * memory and CPUs) and the list with state and actions (connect = the .rdp
 * download, start, stop, restart, delete, properties).  */
char *web_page_desktops(const struct web_viewer *v, struct json_object *pools,
			struct json_object *desktops);
/* The admin console: hosts (health, load, maintenance switch), desktops,
 * pools (create/edit), users, job history. */
char *web_page_admin(const struct web_viewer *v, struct json_object *hosts,
		     struct json_object *desktops, struct json_object *pools,
		     struct json_object *users, struct json_object *jobs);
char *web_page_error(int status, const char *message);

/* Static assets under /static/ (the stylesheet, the script, an icon),
 * compiled in from broker/static/: path is the request path
 * ("/static/app.css") or the bare name ("app.css").  Returns the body (NUL
 * terminated, not counted in *len) and sets *content_type ("text/css;
 * charset=utf-8", "text/javascript; charset=utf-8", "image/svg+xml"), or
 * NULL for an unknown path, leaving the outputs alone. */
const void *web_static(const char *path, const char **content_type, size_t *len);

/* HTML-escape s (& < > " ') into a malloc'd string, fit for text and
 * quoted attributes; invalid UTF-8 and control characters (but tab and
 * newlines) become U+FFFD.  NULL gives "".  NULL on ENOMEM.  (The pages
 * also cut any one text at 2 KiB.) */
char *web_escape(const char *s);

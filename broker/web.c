// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's web pages (web.h): server-rendered HTML5 from the JSON the
 * REST API returns (docs/api.md).  The pages are served under
 * "Content-Security-Policy: default-src 'self'": one stylesheet
 * (/static/app.css), one script (/static/app.js, loaded with defer), no
 * inline script, style or event handler; data reaches the script through
 * data-* attributes and <meta name="csrf-token">.  Every text taken from the
 * JSON goes through put_esc() (HTML-escaped, invalid UTF-8 and control
 * characters replaced, length capped), every name in a URL through
 * put_url_seg() (percent-encoded).  A missing or mistyped field renders a
 * dash; a list that is not an array, or empty, renders an empty state.
 *
 * Page URLs the links assume: / (login), /enroll, /desktops, /admin,
 * /static/{app.css,app.js,icon.svg}.
 *
 * Stable hooks (browser tests and app.js rely on them):
 *   every page      body[data-page="login|enroll|desktops|admin|error"],
 *                   #error (role=alert, aria-live; prefilled by the server on
 *                   login/enroll), #status (aria-live=polite), main#main
 *   header          #viewer-name, #viewer-role, a#nav-desktops, a#nav-admin
 *                   (admins only), button#logout
 *   login           form#login: input#name, input#password,
 *                   button#login-submit; a#enroll-link when enrollment is on
 *   enroll          form#enroll: #name, #email, #password, #password2,
 *                   #enroll-submit; a#login-link
 *   desktops        form#request: select#pool (option[value=POOL] with
 *                   data-memory, data-cpus, data-expiry, data-gb-day,
 *                   data-cpu-day, data-kind, data-template,
 *                   data-description), #pool-info, #desktop-name
 *                   (its .field hidden and not required for a pooled
 *                   pool, whose desktops the broker names),
 *                   #description, #memory, #cpus, #expiry, #admins,
 *                   #request-submit, output#cost; #no-pools when there is
 *                   no pool (no form then)
 *                   table#desktops: tr[data-desktop=NAME][data-state=STATE]
 *                   (data-running-job=ID while a job runs), its cell
 *                   td[data-state] with .badge, progress[data-job-progress],
 *                   a[data-action="connect"] (href to the .rdp, download;
 *                   aria-disabled="true" and no href unless Running and
 *                   owned by the viewer), button[data-action=
 *                   "start|stop|restart|delete|properties"][data-desktop]
 *                   (disabled where the state forbids it), properties
 *                   panel tr.props#props-N (hidden) toggled by the button's
 *                   aria-controls; #no-desktops when empty
 *   admin           section#hosts table#hosts-table: tr[data-host=NAME]
 *                   [data-maintenance=true|false], td[data-health=ok|
 *                   not_responding], meter (memory used/total),
 *                   button[data-action="maintenance"][data-host][aria-pressed]
 *                   section#all-desktops table#admin-desktops: rows as on
 *                   the desktops page, plus an owner column
 *                   section#pools table#pools-table: tr[data-pool=NAME] (with the
 *                   pool's fields as data-*), button[data-action=
 *                   "edit-pool|delete-pool"][data-pool]; form#pool-create:
 *                   #pool-name, #pool-description, #pool-kind,
 *                   #pool-template, #pool-memory, #pool-cpus, #pool-max,
 *                   #pool-max-per-user, #pool-expiry, #pool-gb-day,
 *                   #pool-cpu-day, #pool-submit, #pool-cancel
 *                   section#users table#users-table: tr[data-user=NAME],
 *                   select[data-action="role"][data-user],
 *                   td[data-source=local|pam],
 *                   button[data-action="delete-user"][data-user];
 *                   form#user-create: #user-name, #user-email,
 *                   #user-source (only when PAM is on), #user-password,
 *                   #user-role, #user-submit
 *                   section#jobs table#jobs-table: tr[data-job=ID][data-state],
 *                   td[data-state] with .badge, progress,
 *                   [data-field="message"], [data-field="finished"]
 *                   empty sections: #no-hosts, #no-admin-desktops,
 *                   #no-pool-list, #no-users, #no-jobs
 *   error           h1#error-status, p#error-message
 */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "web.h"
#include "web-assets.h"

/* Caps on what one page shows: the API already bounds descriptions (1 KiB)
 * and job lists (500), these keep a page sane whatever the JSON says. */
#define TEXT_MAX 2048
#define URL_SEG_MAX 256
#define ROWS_MAX 1000

#define DASH "<span class=\"none\">\u2014</span>"

/* ---- an append-only string that remembers running out of memory ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void putn(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n >= b->cap - b->len || !b->p) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put(struct buf *b, const char *s)
{
	putn(b, s, strlen(s));
}

static _printf_(2, 3) void putf(struct buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		putn(b, small, n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	putn(b, big, n);
	free(big);
}

/* The finished document, or NULL (and nothing leaked) on ENOMEM. */
static char *finish(struct buf *b)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* ---- escaping ---- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), 0 if there is none.  *cp gets
 * the code point. */
static size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Append s HTML-escaped (& < > " '), valid for text and for quoted
 * attribute values.  Bytes that are not UTF-8 and control characters other
 * than tab and newlines become U+FFFD; past max bytes of s the rest becomes
 * an ellipsis. */
static void put_esc_max(struct buf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, run = 0;

	while (i < len && !b->oom) {
		uint32_t cp = 0;
		size_t n = utf8_seq(u + i, len - i, &cp);
		const char *rep = NULL;

		if (i + (n ? n : 1) > max) {
			putn(b, s + run, i - run);
			put(b, "\u2026");
			return;
		}
		if (n == 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		    (cp >= 0x7f && cp <= 0x9f))
			rep = "\ufffd";
		else if (cp == '&')
			rep = "&amp;";
		else if (cp == '<')
			rep = "&lt;";
		else if (cp == '>')
			rep = "&gt;";
		else if (cp == '"')
			rep = "&quot;";
		else if (cp == '\'')
			rep = "&#39;";
		if (rep) {
			putn(b, s + run, i - run);
			put(b, rep);
			i += n ? n : 1;
			run = i;
		} else {
			i += n;
		}
	}
	putn(b, s + run, i - run);
}

static void put_esc(struct buf *b, const char *s)
{
	put_esc_max(b, s, TEXT_MAX);
}

char *web_escape(const char *s)
{
	struct buf b = {0};

	put(&b, "");
	if (s)
		put_esc_max(&b, s, SIZE_MAX);
	return finish(&b);
}

/* A path segment: everything but RFC 3986 unreserved characters is
 * percent-encoded, so the result is safe in a URL and in an attribute. */
static void put_url_seg(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; s[i] && i < URL_SEG_MAX; i++) {
		unsigned char c = s[i];
		char enc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			putn(b, (const char *)&c, 1);
		else
			putn(b, enc, 3);
	}
}

/* ---- reading the JSON: wrong types read as absent ---- */

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jnum(struct json_object *o, const char *key, double *ret)
{
	struct json_object *v;
	double d;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int))
		d = (double)json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_double))
		d = json_object_get_double(v);
	else
		return false;
	if (!isfinite(d))
		return false;
	*ret = d;
	return true;
}

/* An integer (or an integral double) within +-2^53. */
static bool jint(struct json_object *o, const char *key, int64_t *ret)
{
	double d;

	if (!jnum(o, key, &d) || d > 9007199254740992.0 || d < -9007199254740992.0 ||
	    d != (double)(int64_t)d)
		return false;
	*ret = (int64_t)d;
	return true;
}

static bool jbool(struct json_object *o, const char *key, bool *ret)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return false;
	*ret = json_object_get_boolean(v);
	return true;
}

/* An id: an integer or a string; NULL if neither.  buf holds integers. */
static const char *jid(struct json_object *o, const char *key, char buf[24])
{
	int64_t id;
	const char *s = jstr(o, key);

	if (s)
		return s;
	if (jint(o, key, &id)) {
		snprintf(buf, 24, "%" PRId64, id);
		return buf;
	}
	return NULL;
}

static size_t jlen(struct json_object *list)
{
	size_t n;

	if (!json_object_is_type(list, json_type_array))
		return 0;
	n = json_object_array_length(list);
	return n;
}

/* The i-th element of list if it is an object, else NULL. */
static struct json_object *jrow(struct json_object *list, size_t i)
{
	struct json_object *o = json_object_array_get_idx(list, i);

	return json_object_is_type(o, json_type_object) ? o : NULL;
}

/* ---- formatted values ---- */

static void put_text(struct buf *b, struct json_object *o, const char *key)
{
	const char *s = jstr(o, key);

	if (s && *s)
		put_esc(b, s);
	else
		put(b, DASH);
}

/* An attribute value: the escaped string or empty. */
static void put_attr(struct buf *b, struct json_object *o, const char *key)
{
	const char *s = jstr(o, key);

	if (s)
		put_esc(b, s);
}

static void put_num_attr(struct buf *b, struct json_object *o, const char *key)
{
	double d;

	if (jnum(o, key, &d))
		putf(b, "%.10g", d);
}

static void put_mem_mb(struct buf *b, double mb)
{
	bool whole_gib = mb < 9e15 && mb == (double)(int64_t)mb && (int64_t)mb % 1024 == 0;

	if (mb >= 1024 && whole_gib)
		putf(b, "%.0f GiB", mb / 1024);
	else if (mb >= 1024)
		putf(b, "%.1f GiB", mb / 1024);
	else
		putf(b, "%.0f MiB", mb);
}

static void put_mem(struct buf *b, struct json_object *o, const char *key)
{
	double mb;

	if (jnum(o, key, &mb) && mb >= 0)
		put_mem_mb(b, mb);
	else
		put(b, DASH);
}

static void put_int(struct buf *b, struct json_object *o, const char *key)
{
	int64_t n;

	if (jint(o, key, &n))
		putf(b, "%" PRId64, n);
	else
		put(b, DASH);
}

static void put_money(struct buf *b, double d)
{
	putf(b, "%.2f", d);
}

static void put_money_field(struct buf *b, struct json_object *o, const char *key)
{
	double d;

	if (jnum(o, key, &d))
		put_money(b, d);
	else
		put(b, DASH);
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* An RFC 3339 UTC time ("2026-11-26T17:00:00Z") shown as
 * "2026-11-26 17:00 UTC" in a <time>; anything else as escaped text. */
static void put_time(struct buf *b, struct json_object *o, const char *key)
{
	const char *s = jstr(o, key);
	size_t n = s ? strlen(s) : 0;

	if (!s || !*s) {
		put(b, DASH);
		return;
	}
	if (n >= 17 && n <= 40 && s[n - 1] == 'Z' && is_digits(s, 4) && s[4] == '-' &&
	    is_digits(s + 5, 2) && s[7] == '-' && is_digits(s + 8, 2) && s[10] == 'T' &&
	    is_digits(s + 11, 2) && s[13] == ':' && is_digits(s + 14, 2)) {
		put(b, "<time datetime=\"");
		put_esc(b, s);
		put(b, "\">");
		putn(b, s, 10);
		put(b, " ");
		putn(b, s + 11, 5);
		put(b, " UTC</time>");
		return;
	}
	put_esc(b, s);
}

/* "a, b, c" from an array of strings; a dash if there are none. */
static void put_names(struct buf *b, struct json_object *o, const char *key)
{
	struct json_object *v;
	size_t i, n, shown = 0;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) {
		put(b, DASH);
		return;
	}
	n = json_object_array_length(v);
	for (i = 0; i < n && i < ROWS_MAX; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string))
			continue;
		if (shown++)
			put(b, ", ");
		put_esc(b, json_object_get_string(e));
	}
	if (!shown)
		put(b, DASH);
}

/* ---- states ---- */

struct badge {
	const char *state, *cls, *label;
};

/* app.js's BADGES mirrors these two tables. */
static const struct badge desktop_badges[] = {
	{ "Running", "ok", "Running" },
	{ "Provisioning", "busy", "Provisioning" },
	{ "Requested", "busy", "Requested" },
	{ "Migrating", "busy", "Migrating" },
	{ "Off", "off", "Off" },
	{ "Saved", "off", "Saved" },
	{ "HostNotResponding", "bad", "Host not responding" },
	{ "Expired", "dark", "Expired" },
};

static const struct badge job_badges[] = {
	{ "queued", "busy", "Queued" },
	{ "running", "busy", "Running" },
	{ "succeeded", "ok", "Succeeded" },
	{ "failed", "bad", "Failed" },
};

static void put_badge(struct buf *b, const struct badge *t, size_t n, const char *state)
{
	size_t i;

	if (!state || !*state) {
		put(b, DASH);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(t[i].state, state)) {
			putf(b, "<span class=\"badge %s\">%s</span>", t[i].cls, t[i].label);
			return;
		}
	}
	put(b, "<span class=\"badge off\">");
	put_esc(b, state);
	put(b, "</span>");
}

static bool state_is(const char *state, const char *a, const char *b2)
{
	return state && ((a && !strcmp(state, a)) || (b2 && !strcmp(state, b2)));
}

/* ---- the page frame ---- */

static const char *role_label(const char *role)
{
	if (!role)
		return NULL;
	if (!strcmp(role, "user"))
		return "User";
	if (!strcmp(role, "delegated_admin"))
		return "Delegated admin";
	if (!strcmp(role, "admin"))
		return "Admin";
	return NULL;
}

static bool viewer_is_admin(const struct web_viewer *v)
{
	return v && v->role && !strcmp(v->role, "admin");
}

static void page_begin(struct buf *b, const char *title, const char *page,
		       const struct web_viewer *v, bool script)
{
	put(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<meta name=\"referrer\" content=\"same-origin\">\n");
	if (v && v->csrf) {
		put(b, "<meta name=\"csrf-token\" content=\"");
		put_esc(b, v->csrf);
		put(b, "\">\n");
	}
	put(b, "<title>");
	put_esc(b, title);
	put(b, " \u00b7 Skylight</title>\n"
	       "<link rel=\"stylesheet\" href=\"/static/app.css\">\n"
	       "<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">\n");
	if (script)
		put(b, "<script src=\"/static/app.js\" defer></script>\n");
	putf(b, "</head>\n<body data-page=\"%s\">\n"
		"<a class=\"skip\" href=\"#main\">Skip to content</a>\n", page);
}

/* The header of the pages behind a login. */
static void page_header(struct buf *b, const struct web_viewer *v, const char *current)
{
	const char *role = v ? v->role : NULL;
	const char *label = role_label(role);

	put(b, "<header class=\"top\">\n<a class=\"brand\" href=\"/desktops\">"
	       "<img src=\"/static/icon.svg\" alt=\"\">Skylight</a>\n<nav aria-label=\"Main\">");
	putf(b, "<a id=\"nav-desktops\" href=\"/desktops\"%s>My desktops</a>",
	     !strcmp(current, "desktops") ? " aria-current=\"page\"" : "");
	if (viewer_is_admin(v))
		putf(b, "<a id=\"nav-admin\" href=\"/admin\"%s>Admin</a>",
		     !strcmp(current, "admin") ? " aria-current=\"page\"" : "");
	put(b, "</nav>\n<div class=\"who\"><span class=\"user\" id=\"viewer-name\">");
	if (v && v->name && *v->name)
		put_esc(b, v->name);
	else
		put(b, DASH);
	put(b, "</span><span class=\"role\" id=\"viewer-role\">");
	if (label)
		put(b, label);
	else if (role && *role)
		put_esc(b, role);
	else
		put(b, DASH);
	put(b, "</span><button type=\"button\" id=\"logout\">Log out</button></div>\n"
	       "</header>\n");
}

static void put_messages(struct buf *b, const char *error)
{
	put(b, "<div id=\"error\" class=\"error\" role=\"alert\" aria-live=\"assertive\">");
	if (error)
		put_esc(b, error);
	put(b, "</div>\n<div id=\"status\" class=\"status\" role=\"status\" "
	       "aria-live=\"polite\"></div>\n");
}

static const char noscript[] =
	"<noscript><p class=\"error\">These pages need JavaScript to talk to the broker.</p>"
	"</noscript>\n";

static char *page_end(struct buf *b)
{
	put(b, "</main>\n</body>\n</html>\n");
	return finish(b);
}

/* ---- login, enroll ---- */

/* Names: 1-64 of [A-Za-z0-9._-], not starting with - or . (docs/api.md).
 * The pattern is also valid under the 'v' flag browsers now use. */
#define NAME_PATTERN "[A-Za-z0-9_][A-Za-z0-9._\\-]{0,63}"
#define NAME_ATTRS "maxlength=\"64\" pattern=\"" NAME_PATTERN "\" autocapitalize=\"none\" " \
		   "spellcheck=\"false\" title=\"1-64 letters, digits, dots, dashes or " \
		   "underscores\""

static void narrow_begin(struct buf *b, const char *heading, const char *error)
{
	put(b, "<main id=\"main\" class=\"narrow\">\n<div class=\"login-brand\">"
	       "<img src=\"/static/icon.svg\" alt=\"\">Skylight</div>\n<div class=\"card\">\n<h1>");
	put(b, heading);
	put(b, "</h1>\n");
	put_messages(b, error);
	put(b, noscript);
}

char *web_page_login(const char *error, bool enroll)
{
	struct buf b = {0};

	page_begin(&b, "Log in", "login", NULL, true);
	narrow_begin(&b, "Log in", error);
	put(&b, "<form id=\"login\" class=\"stack\" method=\"post\">\n"
		"<div class=\"field\"><label for=\"name\">User name</label>"
		"<input id=\"name\" name=\"name\" autocomplete=\"username\" required "
		"maxlength=\"64\" autocapitalize=\"none\" spellcheck=\"false\" autofocus></div>\n"
		"<div class=\"field\"><label for=\"password\">Password</label>"
		"<input id=\"password\" name=\"password\" type=\"password\" "
		"autocomplete=\"current-password\" required maxlength=\"256\"></div>\n"
		"<button id=\"login-submit\" class=\"primary\" type=\"submit\">Log in</button>\n"
		"</form>\n</div>\n");
	if (enroll)
		put(&b, "<p class=\"links\">New here? "
			"<a id=\"enroll-link\" href=\"/enroll\">Create an account</a></p>\n");
	return page_end(&b);
}

char *web_page_enroll(const char *error)
{
	struct buf b = {0};

	page_begin(&b, "Create an account", "enroll", NULL, true);
	narrow_begin(&b, "Create an account", error);
	put(&b, "<form id=\"enroll\" class=\"stack\" method=\"post\">\n"
		"<div class=\"field\"><label for=\"name\">User name</label>"
		"<input id=\"name\" name=\"name\" autocomplete=\"username\" required "
		NAME_ATTRS " autofocus aria-describedby=\"name-hint\">"
		"<p class=\"hint\" id=\"name-hint\">Letters, digits, dots, dashes, underscores; "
		"up to 64.</p></div>\n"
		"<div class=\"field\"><label for=\"email\">Email <span class=\"muted\">"
		"(optional)</span></label><input id=\"email\" name=\"email\" type=\"email\" "
		"autocomplete=\"email\" maxlength=\"254\"></div>\n"
		"<div class=\"field\"><label for=\"password\">Password</label>"
		"<input id=\"password\" name=\"password\" type=\"password\" "
		"autocomplete=\"new-password\" required minlength=\"8\" maxlength=\"256\" "
		"aria-describedby=\"password-hint\"><p class=\"hint\" id=\"password-hint\">"
		"At least 8 characters.</p></div>\n"
		"<div class=\"field\"><label for=\"password2\">Confirm password</label>"
		"<input id=\"password2\" name=\"password2\" type=\"password\" "
		"autocomplete=\"new-password\" required minlength=\"8\" maxlength=\"256\"></div>\n"
		"<button id=\"enroll-submit\" class=\"primary\" type=\"submit\">Create account"
		"</button>\n</form>\n</div>\n"
		"<p class=\"links\">Already have an account? "
		"<a id=\"login-link\" href=\"/\">Log in</a></p>\n");
	return page_end(&b);
}

/* ---- tables ---- */

/* cols: the column headings, NULL-terminated. */
static void table_begin(struct buf *b, const char *id, const char *const *cols)
{
	putf(b, "<div class=\"table-wrap\"><table class=\"list\" id=\"%s\">\n<thead><tr>", id);
	for (; *cols; cols++)
		putf(b, "<th scope=\"col\">%s</th>", *cols);
	put(b, "</tr></thead>\n<tbody>\n");
}

static void table_end(struct buf *b)
{
	put(b, "</tbody>\n</table></div>\n");
}

/* ---- desktops ---- */

struct desk_opts {
	const char *table_id;    /* "desktops" or "admin-desktops" */
	const char *props_prefix;
	bool owner_column;
	const char *viewer;      /* the logged-in user: Connect is for the owner */
};

static void put_action(struct buf *b, const char *action, const char *label, const char *name,
		       bool enabled, bool danger)
{
	putf(b, "<button type=\"button\" data-action=\"%s\" data-desktop=\"", action);
	put_esc(b, name);
	putf(b, "\"%s%s>%s</button>", danger ? " class=\"danger\"" : "",
	     enabled ? "" : " disabled", label);
}

static void put_prop(struct buf *b, const char *label)
{
	putf(b, "<dt>%s</dt><dd>", label);
}

static void desktop_props(struct buf *b, struct json_object *d, const char *id, int cols)
{
	char idbuf[24];
	const char *job = jid(d, "job", idbuf);

	putf(b, "<tr class=\"props\" id=\"%s\" hidden><td class=\"whole\" colspan=\"%d\">"
		"<dl class=\"props\">", id, cols);
	put_prop(b, "Name");
	put_text(b, d, "name");
	put(b, "</dd>");
	put_prop(b, "Description");
	put_text(b, d, "description");
	put(b, "</dd>");
	put_prop(b, "Pool");
	put_text(b, d, "pool");
	put(b, "</dd>");
	put_prop(b, "Owner");
	put_text(b, d, "owner");
	put(b, "</dd>");
	put_prop(b, "Delegated admins");
	put_names(b, d, "admins");
	put(b, "</dd>");
	put_prop(b, "State");
	put_text(b, d, "state");
	put(b, "</dd>");
	put_prop(b, "Host");
	put_text(b, d, "host");
	put(b, "</dd>");
	put_prop(b, "VM");
	put_text(b, d, "vm");
	put(b, "</dd>");
	put_prop(b, "Memory");
	put_mem(b, d, "memory_mb");
	put(b, "</dd>");
	put_prop(b, "CPUs");
	put_int(b, d, "cpus");
	put(b, "</dd>");
	put_prop(b, "Cost per day");
	put_money_field(b, d, "cost_per_day");
	put(b, "</dd>");
	put_prop(b, "Created");
	put_time(b, d, "created");
	put(b, "</dd>");
	put_prop(b, "Expires");
	put_time(b, d, "expires");
	put(b, "</dd>");
	put_prop(b, "Running job");
	if (job)
		put_esc(b, job);
	else
		put(b, DASH);
	put(b, "</dd></dl></td></tr>\n");
}

static void desktop_row(struct buf *b, struct json_object *d, const struct desk_opts *o,
			size_t idx)
{
	const char *name = jstr(d, "name");
	const char *state = jstr(d, "state");
	const char *owner = jstr(d, "owner");
	char idbuf[24], props[48];
	const char *job = jid(d, "job", idbuf);
	bool running = state_is(state, "Running", NULL);
	/* No owner: on "my desktops" the row is the viewer's; in the admin
	 * console it is a pooled pool's unassigned spare (nobody's). */
	bool own = owner ? o->viewer && !strcmp(owner, o->viewer) : !o->owner_column;
	int cols = o->owner_column ? 9 : 8;

	snprintf(props, sizeof(props), "%s-%zu", o->props_prefix, idx);
	put(b, "<tr data-desktop=\"");
	put_esc(b, name);
	put(b, "\" data-state=\"");
	if (state)
		put_esc(b, state);
	put(b, "\"");
	if (job) {
		put(b, " data-running-job=\"");
		put_esc(b, job);
		put(b, "\"");
	}
	put(b, ">\n<td data-label=\"Name\" class=\"name\">");
	put_esc(b, name);
	put(b, "</td>\n<td data-label=\"State\" data-state=\"");
	if (state)
		put_esc(b, state);
	put(b, "\"><span class=\"state-cell\">");
	put_badge(b, desktop_badges, ARRAY_SIZE(desktop_badges), state);
	if (job) {
		put(b, "<progress data-job-progress=\"");
		put_esc(b, job);
		put(b, "\" max=\"100\" aria-label=\"Job progress\"></progress>");
	}
	put(b, "</span></td>\n");
	if (o->owner_column) {
		put(b, "<td data-label=\"Owner\">");
		put_text(b, d, "owner");
		put(b, "</td>\n");
	}
	put(b, "<td data-label=\"Host\">");
	put_text(b, d, "host");
	put(b, "</td>\n<td data-label=\"Memory\" class=\"num\">");
	put_mem(b, d, "memory_mb");
	put(b, "</td>\n<td data-label=\"CPUs\" class=\"num\">");
	put_int(b, d, "cpus");
	put(b, "</td>\n<td data-label=\"Cost/day\" class=\"num\">");
	put_money_field(b, d, "cost_per_day");
	put(b, "</td>\n<td data-label=\"Expires\">");
	put_time(b, d, "expires");
	put(b, "</td>\n<td data-label=\"Actions\"><div class=\"actions\">");
	if (running && own) {
		put(b, "<a class=\"button primary\" data-action=\"connect\" "
		       "href=\"/api/v1/desktops/");
		put_url_seg(b, name);
		put(b, "/rdp\" download>Connect</a>");
	} else {
		put(b, "<a class=\"button primary disabled\" data-action=\"connect\" "
		       "aria-disabled=\"true\">Connect</a>");
	}
	put_action(b, "start", "Start", name, state_is(state, "Off", "Saved"), false);
	put_action(b, "stop", "Stop", name, running, false);
	put_action(b, "restart", "Restart", name, running, false);
	put(b, "<button type=\"button\" data-action=\"properties\" data-desktop=\"");
	put_esc(b, name);
	putf(b, "\" aria-expanded=\"false\" aria-controls=\"%s\">Properties</button>", props);
	put_action(b, "delete", "Delete", name, true, true);
	put(b, "</div></td>\n</tr>\n");
	desktop_props(b, d, props, cols);
}

static void desktop_table(struct buf *b, struct json_object *list, const struct desk_opts *o,
			  const char *empty_id, const char *empty_text)
{
	static const char *const cols[] = {
		"Name", "State", "Host", "Memory", "CPUs", "Cost/day", "Expires", "Actions", NULL,
	};
	static const char *const cols_owner[] = {
		"Name", "State", "Owner", "Host", "Memory", "CPUs", "Cost/day", "Expires",
		"Actions", NULL,
	};
	size_t i, n = jlen(list), shown = 0;

	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *d = jrow(list, i);

		if (!jstr(d, "name"))
			continue;
		if (!shown++)
			table_begin(b, o->table_id, o->owner_column ? cols_owner : cols);
		desktop_row(b, d, o, i);
	}
	if (shown)
		table_end(b);
	else
		putf(b, "<p class=\"empty\" id=\"%s\">%s</p>\n", empty_id, empty_text);
}

/* The request form, its defaults taken from the first pool. */
static void request_form(struct buf *b, struct json_object *pools)
{
	size_t i, n = jlen(pools), shown = 0;
	struct json_object *first = NULL;
	double mem = NAN, cpus = NAN, gb = NAN, cpu = NAN, d;
	int64_t expiry = 0;
	bool pooled;

	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *p = jrow(pools, i);
		const char *kind = jstr(p, "kind");
		const char *tmpl = jstr(p, "template");

		if (!jstr(p, "name"))
			continue;
		if (!shown++) {
			first = p;
			put(b, "<form id=\"request\" class=\"grid\" method=\"post\">\n"
			       "<div class=\"field wide\"><label for=\"pool\">Pool</label>"
			       "<select id=\"pool\" name=\"pool\" required "
			       "aria-describedby=\"pool-info\">\n");
		}
		put(b, "<option value=\"");
		put_attr(b, p, "name");
		put(b, "\" data-memory=\"");
		put_num_attr(b, p, "memory_mb");
		put(b, "\" data-cpus=\"");
		put_num_attr(b, p, "cpus");
		put(b, "\" data-expiry=\"");
		put_num_attr(b, p, "expiry_days");
		put(b, "\" data-gb-day=\"");
		put_num_attr(b, p, "cost_per_gb_day");
		put(b, "\" data-cpu-day=\"");
		put_num_attr(b, p, "cost_per_cpu_day");
		put(b, "\" data-kind=\"");
		put_attr(b, p, "kind");
		put(b, "\" data-template=\"");
		put_attr(b, p, "template");
		put(b, "\" data-description=\"");
		put_attr(b, p, "description");
		put(b, "\">");
		put_esc(b, jstr(p, "name"));
		put(b, " \u2014 ");
		put_esc(b, kind ? kind : "?");
		put(b, " \u00b7 ");
		put_esc(b, tmpl ? tmpl : "?");
		if (jnum(p, "memory_mb", &d) && d >= 0) {
			put(b, " \u00b7 ");
			put_mem_mb(b, d);
		}
		if (jnum(p, "cpus", &d))
			putf(b, " \u00b7 %.0f CPU%s", d, d == 1 ? "" : "s");
		if (jnum(p, "cost_per_day", &d)) {
			put(b, " \u00b7 ");
			put_money(b, d);
			put(b, "/day");
		}
		put(b, "</option>\n");
	}
	if (!shown) {
		put(b, "<p class=\"empty\" id=\"no-pools\">No pools to request a desktop from yet. "
		       "An administrator creates them in the admin console.</p>\n");
		return;
	}
	jnum(first, "memory_mb", &mem);
	jnum(first, "cpus", &cpus);
	jnum(first, "cost_per_gb_day", &gb);
	jnum(first, "cost_per_cpu_day", &cpu);
	jint(first, "expiry_days", &expiry);

	put(b, "</select>\n<p class=\"hint\" id=\"pool-info\">");
	put_attr(b, first, "description");
	/* A pooled pool's desktops are interchangeable and named by the broker:
	 * no name to give (app.js toggles this as the pool changes). */
	pooled = jstr(first, "kind") && !strcmp(jstr(first, "kind"), "pooled");
	putf(b, "</p></div>\n"
		"<div class=\"field\"%s><label for=\"desktop-name\">Name</label>"
		"<input id=\"desktop-name\" name=\"name\"%s " NAME_ATTRS "></div>\n",
		pooled ? " hidden" : "", pooled ? "" : " required");
	put(b, "<div class=\"field\"><label for=\"memory\">Memory (MiB)</label>"
	       "<input id=\"memory\" name=\"memory_mb\" type=\"number\" required min=\"128\" "
	       "max=\"4194304\" step=\"1\" inputmode=\"numeric\" value=\"");
	if (isfinite(mem))
		putf(b, "%.0f", mem);
	put(b, "\"></div>\n<div class=\"field\"><label for=\"cpus\">CPUs</label>"
	       "<input id=\"cpus\" name=\"cpus\" type=\"number\" required min=\"1\" max=\"1024\" "
	       "step=\"1\" inputmode=\"numeric\" value=\"");
	if (isfinite(cpus))
		putf(b, "%.0f", cpus);
	putf(b, "\"></div>\n<div class=\"field\"><label for=\"expiry\">Expires after (days)"
		"</label><input id=\"expiry\" name=\"expiry_days\" type=\"number\" min=\"0\" "
		"max=\"36500\" step=\"1\" inputmode=\"numeric\" value=\"%" PRId64 "\" "
		"aria-describedby=\"expiry-hint\"><p class=\"hint\" id=\"expiry-hint\">"
		"0 = never</p></div>\n", expiry);
	put(b, "<div class=\"field wide\"><label for=\"description\">Description "
	       "<span class=\"muted\">(optional)</span></label>"
	       "<textarea id=\"description\" name=\"description\" maxlength=\"1024\" rows=\"2\">"
	       "</textarea></div>\n"
	       "<div class=\"field wide\"><label for=\"admins\">Delegated admins "
	       "<span class=\"muted\">(optional)</span></label>"
	       "<input id=\"admins\" name=\"admins\" maxlength=\"2048\" autocapitalize=\"none\" "
	       "spellcheck=\"false\" placeholder=\"bob, carol\" aria-describedby=\"admins-hint\">"
	       "<p class=\"hint\" id=\"admins-hint\">User names, separated by commas: they may "
	       "start, stop and delete this desktop.</p></div>\n"
	       "<div class=\"submit-row wide\"><button id=\"request-submit\" class=\"primary\" "
	       "type=\"submit\">Request desktop</button><p class=\"cost\">Cost per day: "
	       "<output id=\"cost\" for=\"pool memory cpus\" aria-live=\"polite\">");
	if (isfinite(mem) && isfinite(cpus) && isfinite(gb) && isfinite(cpu))
		put_money(b, mem / 1024 * gb + cpus * cpu);
	else
		put(b, "\u2014");
	put(b, "</output></p></div>\n</form>\n");
}

char *web_page_desktops(const struct web_viewer *v, struct json_object *pools,
			struct json_object *desktops)
{
	struct buf b = {0};
	bool admins = v && v->role && strcmp(v->role, "user");
	struct desk_opts o = {
		.table_id = "desktops",
		.props_prefix = "props",
		.owner_column = admins,
		.viewer = v ? v->name : NULL,
	};

	page_begin(&b, "My desktops", "desktops", v, true);
	page_header(&b, v, "desktops");
	put(&b, "<main id=\"main\">\n<h1>My desktops</h1>\n");
	put_messages(&b, NULL);
	put(&b, noscript);
	put(&b, "<section class=\"card\" id=\"desktop-list\" aria-labelledby=\"desktop-list-h\">"
		"\n<h2 id=\"desktop-list-h\">Desktops</h2>\n");
	desktop_table(&b, desktops, &o, "no-desktops",
		      "You have no desktops yet. Request one below.");
	put(&b, "</section>\n<section class=\"card\" id=\"request-section\" "
		"aria-labelledby=\"request-h\">\n<h2 id=\"request-h\">Request a desktop</h2>\n");
	request_form(&b, pools);
	put(&b, "</section>\n");
	return page_end(&b);
}

/* ---- admin ---- */

static void section_begin(struct buf *b, const char *id, const char *title)
{
	putf(b, "<section class=\"card\" id=\"%s\" aria-labelledby=\"%s-h\">\n"
		"<h2 id=\"%s-h\">%s</h2>\n", id, id, id, title);
}

static void hosts_section(struct buf *b, struct json_object *hosts)
{
	static const char *const cols[] = {
		"Name", "Health", "Memory used", "CPUs", "Desktops", "Last heartbeat",
		"RDP address", "Maintenance", NULL,
	};
	size_t i, n = jlen(hosts), shown = 0;

	section_begin(b, "hosts", "Hosts");
	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *h = jrow(hosts, i);
		const char *name = jstr(h, "name");
		const char *health = jstr(h, "health");
		bool maint = false;
		double total, free_mb;

		if (!name)
			continue;
		if (!shown++)
			table_begin(b, "hosts-table", cols);
		jbool(h, "maintenance", &maint);
		put(b, "<tr data-host=\"");
		put_esc(b, name);
		putf(b, "\" data-maintenance=\"%s\">\n<td data-label=\"Name\" class=\"name\">",
		     maint ? "true" : "false");
		put_esc(b, name);
		put(b, "</td>\n<td data-label=\"Health\" data-health=\"");
		if (health)
			put_esc(b, health);
		put(b, "\"><span class=\"state-cell\">");
		if (state_is(health, "ok", NULL))
			put(b, "<span class=\"badge ok\">OK</span>");
		else if (state_is(health, "not_responding", NULL))
			put(b, "<span class=\"badge bad\">Not responding</span>");
		else if (health && *health)
			put_badge(b, NULL, 0, health);
		else
			put(b, DASH);
		if (maint)
			put(b, "<span class=\"badge warn\">Maintenance</span>");
		put(b, "</span></td>\n<td data-label=\"Memory used\">");
		if (jnum(h, "mem_total_mb", &total) && jnum(h, "mem_free_mb", &free_mb) &&
		    total > 0 && free_mb >= 0 && free_mb <= total) {
			double used = total - free_mb;

			putf(b, "<div class=\"bar\"><meter min=\"0\" max=\"%.0f\" value=\"%.0f\" "
				"high=\"%.0f\" optimum=\"0\" aria-label=\"Memory used\"></meter>"
				"<span>", total, used, total * 0.85);
			put_mem_mb(b, used);
			put(b, " / ");
			put_mem_mb(b, total);
			put(b, "</span></div>");
		} else {
			put(b, DASH);
		}
		put(b, "</td>\n<td data-label=\"CPUs\" class=\"num\">");
		put_int(b, h, "cpus");
		put(b, "</td>\n<td data-label=\"Desktops\" class=\"num\">");
		put_int(b, h, "desktops");
		put(b, "</td>\n<td data-label=\"Last heartbeat\">");
		put_time(b, h, "last_heartbeat");
		put(b, "</td>\n<td data-label=\"RDP address\">");
		put_text(b, h, "rdp_address");
		put(b, "</td>\n<td data-label=\"Maintenance\"><div class=\"actions\">"
		       "<button type=\"button\" data-action=\"maintenance\" data-host=\"");
		put_esc(b, name);
		putf(b, "\" aria-pressed=\"%s\">%s</button></div></td>\n</tr>\n",
		     maint ? "true" : "false", maint ? "Leave maintenance" : "Enter maintenance");
	}
	if (shown)
		table_end(b);
	else
		put(b, "<p class=\"empty\" id=\"no-hosts\">No host has registered yet. A host "
		       "registers with its first heartbeat (skyhostd).</p>\n");
	put(b, "</section>\n");
}

static void pool_row(struct buf *b, struct json_object *p)
{
	const char *name = jstr(p, "name");
	const char *desc = jstr(p, "description");
	int64_t n;

	put(b, "<tr data-pool=\"");
	put_esc(b, name);
	put(b, "\" data-description=\"");
	put_attr(b, p, "description");
	put(b, "\" data-kind=\"");
	put_attr(b, p, "kind");
	put(b, "\" data-template=\"");
	put_attr(b, p, "template");
	put(b, "\" data-memory=\"");
	put_num_attr(b, p, "memory_mb");
	put(b, "\" data-cpus=\"");
	put_num_attr(b, p, "cpus");
	put(b, "\" data-max=\"");
	put_num_attr(b, p, "max_desktops");
	put(b, "\" data-max-per-user=\"");
	put_num_attr(b, p, "max_per_user");
	put(b, "\" data-expiry=\"");
	put_num_attr(b, p, "expiry_days");
	put(b, "\" data-gb-day=\"");
	put_num_attr(b, p, "cost_per_gb_day");
	put(b, "\" data-cpu-day=\"");
	put_num_attr(b, p, "cost_per_cpu_day");
	put(b, "\">\n<td data-label=\"Name\" class=\"name\">");
	put_esc(b, name);
	if (desc && *desc) {
		put(b, "<p class=\"hint\">");
		put_esc(b, desc);
		put(b, "</p>");
	}
	put(b, "</td>\n<td data-label=\"Kind\">");
	put_text(b, p, "kind");
	put(b, "</td>\n<td data-label=\"Template\">");
	put_text(b, p, "template");
	put(b, "</td>\n<td data-label=\"Memory\" class=\"num\">");
	put_mem(b, p, "memory_mb");
	put(b, "</td>\n<td data-label=\"CPUs\" class=\"num\">");
	put_int(b, p, "cpus");
	put(b, "</td>\n<td data-label=\"Desktops\" class=\"num\">");
	put_int(b, p, "desktops");
	put(b, " / ");
	put_int(b, p, "max_desktops");
	if (jint(p, "max_per_user", &n) && n > 0)
		putf(b, "<p class=\"hint\">at most %" PRId64 " a user</p>", n);
	put(b, "</td>\n<td data-label=\"Expiry\" class=\"num\">");
	if (jint(p, "expiry_days", &n) && n == 0)
		put(b, "never");
	else if (jint(p, "expiry_days", &n))
		putf(b, "%" PRId64 " days", n);
	else
		put(b, DASH);
	put(b, "</td>\n<td data-label=\"Cost\" class=\"num\">");
	put_money_field(b, p, "cost_per_gb_day");
	put(b, " /GiB \u00b7 ");
	put_money_field(b, p, "cost_per_cpu_day");
	put(b, " /CPU</td>\n<td data-label=\"Default cost/day\" class=\"num\">");
	put_money_field(b, p, "cost_per_day");
	put(b, "</td>\n<td data-label=\"Actions\"><div class=\"actions\">"
	       "<button type=\"button\" data-action=\"edit-pool\" data-pool=\"");
	put_esc(b, name);
	put(b, "\">Edit</button><button type=\"button\" class=\"danger\" "
	       "data-action=\"delete-pool\" data-pool=\"");
	put_esc(b, name);
	put(b, "\">Delete</button></div></td>\n</tr>\n");
}

static void field(struct buf *b, const char *id, const char *label, const char *input)
{
	putf(b, "<div class=\"field\"><label for=\"%s\">%s</label>%s</div>\n", id, label, input);
}

static void pools_section(struct buf *b, struct json_object *pools)
{
	static const char *const cols[] = {
		"Name", "Kind", "Template", "Memory", "CPUs", "Desktops", "Expiry", "Cost per day",
		"Default cost/day", "Actions", NULL,
	};
	size_t i, n = jlen(pools), shown = 0;

	section_begin(b, "pools", "Pools");
	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *p = jrow(pools, i);

		if (!jstr(p, "name"))
			continue;
		if (!shown++)
			table_begin(b, "pools-table", cols);
		pool_row(b, p);
	}
	if (shown)
		table_end(b);
	else
		put(b, "<p class=\"empty\" id=\"no-pool-list\">No pools yet. Create the first "
		       "one below.</p>\n");

	put(b, "<h3 id=\"pool-form-title\">Create a pool</h3>\n"
	       "<form id=\"pool-create\" class=\"grid\" method=\"post\" "
	       "aria-labelledby=\"pool-form-title\">\n");
	field(b, "pool-name", "Name", "<input id=\"pool-name\" name=\"name\" required "
	      NAME_ATTRS ">");
	field(b, "pool-kind", "Kind", "<select id=\"pool-kind\" name=\"kind\">"
	      "<option value=\"personal\">personal</option>"
	      "<option value=\"pooled\">pooled</option></select>");
	field(b, "pool-template", "Template", "<input id=\"pool-template\" name=\"template\" "
	      "required " NAME_ATTRS ">");
	field(b, "pool-memory", "Memory (MiB)", "<input id=\"pool-memory\" name=\"memory_mb\" "
	      "type=\"number\" required min=\"128\" max=\"4194304\" step=\"1\" value=\"4096\">");
	field(b, "pool-cpus", "CPUs", "<input id=\"pool-cpus\" name=\"cpus\" type=\"number\" "
	      "required min=\"1\" max=\"1024\" step=\"1\" value=\"2\">");
	field(b, "pool-max", "Max desktops", "<input id=\"pool-max\" name=\"max_desktops\" "
	      "type=\"number\" required min=\"0\" max=\"1000000\" step=\"1\" value=\"10\">");
	field(b, "pool-max-per-user", "Max per user (0 = no limit)", "<input "
	      "id=\"pool-max-per-user\" name=\"max_per_user\" type=\"number\" required "
	      "min=\"0\" max=\"1000000\" step=\"1\" value=\"0\">");
	field(b, "pool-expiry", "Expiry (days, 0 = never)", "<input id=\"pool-expiry\" "
	      "name=\"expiry_days\" type=\"number\" required min=\"0\" max=\"36500\" step=\"1\" "
	      "value=\"0\">");
	field(b, "pool-gb-day", "Cost per GiB per day", "<input id=\"pool-gb-day\" "
	      "name=\"cost_per_gb_day\" type=\"number\" required min=\"0\" step=\"any\" "
	      "value=\"0\">");
	field(b, "pool-cpu-day", "Cost per CPU per day", "<input id=\"pool-cpu-day\" "
	      "name=\"cost_per_cpu_day\" type=\"number\" required min=\"0\" step=\"any\" "
	      "value=\"0\">");
	put(b, "<div class=\"field wide\"><label for=\"pool-description\">Description</label>"
	       "<textarea id=\"pool-description\" name=\"description\" maxlength=\"1024\" "
	       "rows=\"2\"></textarea></div>\n"
	       "<div class=\"submit-row wide\"><button id=\"pool-submit\" class=\"primary\" "
	       "type=\"submit\">Create pool</button><button id=\"pool-cancel\" type=\"button\" "
	       "hidden>Cancel edit</button></div>\n</form>\n</section>\n");
}

static const char *const roles[] = { "user", "delegated_admin", "admin" };

static const char *source_label(const char *source)
{
	if (!strcmp(source, "local"))
		return "Password";
	if (!strcmp(source, "pam"))
		return "PAM";
	return source;
}

static void users_section(struct buf *b, const struct web_viewer *v, struct json_object *users)
{
	static const char *const cols[] = {
		"Name", "Role", "Sign-in", "Email", "Created", "Actions", NULL,
	};
	size_t i, j, n = jlen(users), shown = 0;

	section_begin(b, "users", "Users");
	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *u = jrow(users, i);
		const char *name = jstr(u, "name");
		const char *role = jstr(u, "role");
		bool self = v && v->name && name && !strcmp(v->name, name);
		bool known = false;

		if (!name)
			continue;
		if (!shown++)
			table_begin(b, "users-table", cols);
		put(b, "<tr data-user=\"");
		put_esc(b, name);
		put(b, "\">\n<td data-label=\"Name\" class=\"name\">");
		put_esc(b, name);
		put(b, "</td>\n<td data-label=\"Role\"><select data-action=\"role\" data-user=\"");
		put_esc(b, name);
		put(b, "\" aria-label=\"Role of ");
		put_esc(b, name);
		putf(b, "\"%s>", self ? " disabled" : "");
		for (j = 0; j < ARRAY_SIZE(roles); j++) {
			bool sel = role && !strcmp(role, roles[j]);

			known |= sel;
			putf(b, "<option value=\"%s\"%s>%s</option>", roles[j],
			     sel ? " selected" : "", role_label(roles[j]));
		}
		if (!known) {
			put(b, "<option value=\"\" selected disabled>");
			if (role && *role)
				put_esc(b, role);
			else
				put(b, "\u2014");
			put(b, "</option>");
		}
		put(b, "</select></td>\n<td data-label=\"Sign-in\" data-source=\"");
		put_attr(b, u, "source");
		put(b, "\">");
		if (jstr(u, "source"))
			put_esc(b, source_label(jstr(u, "source")));
		else
			put_text(b, u, "source");
		put(b, "</td>\n<td data-label=\"Email\">");
		put_text(b, u, "email");
		put(b, "</td>\n<td data-label=\"Created\">");
		put_time(b, u, "created");
		put(b, "</td>\n<td data-label=\"Actions\"><div class=\"actions\">"
		       "<button type=\"button\" class=\"danger\" data-action=\"delete-user\" "
		       "data-user=\"");
		put_esc(b, name);
		putf(b, "\"%s>Delete</button></div></td>\n</tr>\n", self ? " disabled" : "");
	}
	if (shown)
		table_end(b);
	else
		put(b, "<p class=\"empty\" id=\"no-users\">No users.</p>\n");

	put(b, "<h3 id=\"user-form-title\">Create a user</h3>\n"
	       "<form id=\"user-create\" class=\"grid\" method=\"post\" "
	       "aria-labelledby=\"user-form-title\">\n");
	field(b, "user-name", "Name", "<input id=\"user-name\" name=\"name\" required "
	      "autocomplete=\"off\" " NAME_ATTRS ">");
	field(b, "user-email", "Email (optional)", "<input id=\"user-email\" name=\"email\" "
	      "type=\"email\" maxlength=\"254\" autocomplete=\"off\">");
	/* PAM users have no password here: PAM checks it (docs/broker.md). */
	if (v && v->pam)
		field(b, "user-source", "Sign-in", "<select id=\"user-source\" name=\"source\">"
		      "<option value=\"local\">Password kept by the broker</option>"
		      "<option value=\"pam\">PAM (the host's accounts)</option></select>");
	field(b, "user-password", "Password", "<input id=\"user-password\" name=\"password\" "
	      "type=\"password\" required minlength=\"8\" maxlength=\"256\" "
	      "autocomplete=\"new-password\">");
	field(b, "user-role", "Role", "<select id=\"user-role\" name=\"role\">"
	      "<option value=\"user\">User</option>"
	      "<option value=\"delegated_admin\">Delegated admin</option>"
	      "<option value=\"admin\">Admin</option></select>");
	put(b, "<div class=\"submit-row wide\"><button id=\"user-submit\" class=\"primary\" "
	       "type=\"submit\">Create user</button></div>\n</form>\n</section>\n");
}

static void jobs_section(struct buf *b, struct json_object *jobs)
{
	static const char *const cols[] = {
		"ID", "Kind", "Desktop", "State", "Progress", "Message", "Host", "User", "Created",
		"Finished", NULL,
	};
	size_t i, n = jlen(jobs), shown = 0;

	section_begin(b, "jobs", "Jobs");
	for (i = 0; i < n && shown < ROWS_MAX; i++) {
		struct json_object *j = jrow(jobs, i);
		char idbuf[24];
		const char *id = jid(j, "id", idbuf);
		const char *state = jstr(j, "state");
		double progress;

		if (!id)
			continue;
		if (!shown++)
			table_begin(b, "jobs-table", cols);
		put(b, "<tr data-job=\"");
		put_esc(b, id);
		put(b, "\" data-state=\"");
		if (state)
			put_esc(b, state);
		put(b, "\">\n<td data-label=\"ID\" class=\"num\">");
		put_esc(b, id);
		put(b, "</td>\n<td data-label=\"Kind\">");
		put_text(b, j, "kind");
		put(b, "</td>\n<td data-label=\"Desktop\">");
		put_text(b, j, "desktop");
		put(b, "</td>\n<td data-label=\"State\" data-state=\"");
		if (state)
			put_esc(b, state);
		put(b, "\">");
		put_badge(b, job_badges, ARRAY_SIZE(job_badges), state);
		put(b, "</td>\n<td data-label=\"Progress\">");
		if (jnum(j, "progress", &progress)) {
			progress = progress < 0 ? 0 : progress > 100 ? 100 : progress;
			putf(b, "<progress max=\"100\" value=\"%.0f\" "
				"aria-label=\"Progress of job ", progress);
			put_esc(b, id);
			putf(b, "\">%.0f%%</progress>", progress);
		} else {
			put(b, DASH);
		}
		put(b, "</td>\n<td data-label=\"Message\" data-field=\"message\">");
		put_text(b, j, "message");
		put(b, "</td>\n<td data-label=\"Host\">");
		put_text(b, j, "host");
		put(b, "</td>\n<td data-label=\"User\">");
		put_text(b, j, "user");
		put(b, "</td>\n<td data-label=\"Created\">");
		put_time(b, j, "created");
		put(b, "</td>\n<td data-label=\"Finished\" data-field=\"finished\">");
		put_time(b, j, "finished");
		put(b, "</td>\n</tr>\n");
	}
	if (shown)
		table_end(b);
	else
		put(b, "<p class=\"empty\" id=\"no-jobs\">No jobs yet.</p>\n");
	put(b, "</section>\n");
}

char *web_page_admin(const struct web_viewer *v, struct json_object *hosts,
		     struct json_object *desktops, struct json_object *pools,
		     struct json_object *users, struct json_object *jobs)
{
	struct buf b = {0};
	struct desk_opts o = {
		.table_id = "admin-desktops",
		.props_prefix = "admin-props",
		.owner_column = true,
		.viewer = v ? v->name : NULL,
	};

	page_begin(&b, "Admin", "admin", v, true);
	page_header(&b, v, "admin");
	put(&b, "<main id=\"main\">\n<h1>Admin console</h1>\n"
		"<nav aria-label=\"Sections\"><ul class=\"subnav\">"
		"<li><a href=\"#hosts\">Hosts</a></li>"
		"<li><a href=\"#all-desktops\">Desktops</a></li>"
		"<li><a href=\"#pools\">Pools</a></li><li><a href=\"#users\">Users</a></li>"
		"<li><a href=\"#jobs\">Jobs</a></li></ul></nav>\n");
	put_messages(&b, NULL);
	put(&b, noscript);
	hosts_section(&b, hosts);
	section_begin(&b, "all-desktops", "Desktops");
	desktop_table(&b, desktops, &o, "no-admin-desktops", "No desktops yet.");
	put(&b, "</section>\n");
	pools_section(&b, pools);
	users_section(&b, v, users);
	jobs_section(&b, jobs);
	return page_end(&b);
}

/* ---- errors ---- */

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad request";
	case 401: return "Not logged in";
	case 403: return "Not allowed";
	case 404: return "Not found";
	case 405: return "Method not allowed";
	case 409: return "Conflict";
	case 413: return "Too large";
	case 429: return "Too many requests";
	case 500: return "Internal error";
	case 503: return "Unavailable";
	default: return "Error";
	}
}

char *web_page_error(int status, const char *message)
{
	struct buf b = {0};
	char title[48];

	if (status < 100 || status > 599)
		status = 500;
	snprintf(title, sizeof(title), "%d %s", status, reason(status));
	page_begin(&b, title, "error", NULL, false);
	put(&b, "<main id=\"main\" class=\"narrow\">\n<div class=\"login-brand\">"
		"<img src=\"/static/icon.svg\" alt=\"\">Skylight</div>\n<div class=\"card\">\n"
		"<h1 id=\"error-status\">");
	put(&b, title);
	put(&b, "</h1>\n<p id=\"error-message\">");
	if (message && *message)
		put_esc(&b, message);
	else
		put(&b, reason(status));
	put(&b, "</p>\n<p><a href=\"/\">Back to Skylight</a></p>\n</div>\n");
	return page_end(&b);
}

/* ---- static assets (broker/static/, embedded by tools/embed.py) ---- */

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (dot && !strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".svg"))
		return "image/svg+xml";
	return "application/octet-stream";
}

const void *web_static(const char *path, const char **ret_type, size_t *ret_len)
{
	size_t i;

	if (!path)
		return NULL;
	/* "/static/app.css" or "app.css" */
	if (!strncmp(path, "/static/", 8))
		path += 8;
	for (i = 0; i < ARRAY_SIZE(web_assets); i++) {
		if (strcmp(path, web_assets[i].name))
			continue;
		if (ret_type)
			*ret_type = content_type(web_assets[i].name);
		if (ret_len)
			*ret_len = web_assets[i].len;
		return web_assets[i].data;
	}
	return NULL;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * broker/web.c: every page renders from sample JSON with its hooks and
 * values, passes a strict little HTML checker (valid UTF-8, balanced tags,
 * quoted attributes, entities only where text needs them, unique ids, a
 * label for every field, nothing the Content-Security-Policy would block),
 * escapes hostile strings wherever they appear, survives odd JSON, shows
 * empty states, returns NULL (leaking nothing) when memory runs out, and
 * serves its embedded assets.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "web.h"

#define DASH "\u2014"

/* ---- allocation failures: the Nth malloc/realloc from here on fails ---- */

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static long fail_in = -1;

static bool should_fail(void)
{
	if (fail_in < 0)
		return false;
	return fail_in-- == 0;
}

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

/* ---- the HTML checker ---- */

static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		uint32_t c;
		int n;

		if (*u < 0x80) {
			u++;
			continue;
		} else if (*u >= 0xc2 && *u <= 0xdf) {
			n = 1;
			c = *u & 0x1f;
		} else if (*u >= 0xe0 && *u <= 0xef) {
			n = 2;
			c = *u & 0x0f;
		} else if (*u >= 0xf0 && *u <= 0xf4) {
			n = 3;
			c = *u & 0x07;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (u[i] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return false;
		u += n + 1;
	}
	return true;
}

static const char *const void_tags[] = {
	"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
	"source", "track", "wbr",
};

static bool is_void(const char *tag)
{
	for (size_t i = 0; i < sizeof(void_tags) / sizeof(void_tags[0]); i++)
		if (!strcmp(tag, void_tags[i]))
			return true;
	return false;
}

/* '&' at s starts one of the entities web.c writes. */
static size_t entity_len(const char *s)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };

	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (!strncmp(s, ents[i], strlen(ents[i])))
			return strlen(ents[i]);
	return 0;
}

#define MAX_IDS 512
#define NAME_LEN 64

struct doc {
	char ids[MAX_IDS][NAME_LEN];
	size_t n_ids;
	char label_for[MAX_IDS][NAME_LEN];
	size_t n_labels;
	char fields[MAX_IDS][NAME_LEN]; /* ids of inputs that need a label */
	size_t n_fields;
	int scripts;
	bool title;
};

struct attr {
	char name[NAME_LEN];
	char value[16384];
	bool has_value;
};

static const struct attr *find_attr(const struct attr *a, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a[i].name, name))
			return &a[i];
	return NULL;
}

static void copy_name(char dst[NAME_LEN], const char *src)
{
	assert_true(strlen(src) < NAME_LEN);
	strcpy(dst, src);
}

/* Check text (between tags, or an attribute value) up to end: no '<' or
 * '>', and '&' only as an entity. */
static void check_text(const char *s, const char *end)
{
	for (; s < end; s++) {
		if (*s == '<' || *s == '>')
			fail_msg("raw '%c' in text near: %.60s", *s, s);
		if (*s == '&' && !entity_len(s))
			fail_msg("bare '&' near: %.60s", s);
	}
}

static void check_html(const char *html)
{
	struct doc *d = calloc(1, sizeof(*d));
	char stack[64][NAME_LEN];
	int depth = 0;
	const char *p = html;
	const char *doctype = "<!DOCTYPE html>\n<html lang=\"en\">";

	assert_non_null(d);
	if (!valid_utf8(html))
		fail_msg("not valid UTF-8");
	if (strncmp(html, doctype, strlen(doctype)))
		fail_msg("no doctype and <html lang>");
	p += strlen("<!DOCTYPE html>");
	while (*p) {
		const char *lt = strchr(p, '<');
		struct attr attrs[32];
		size_t n_attrs = 0;
		char tag[NAME_LEN];
		size_t tl = 0;
		bool closing = false, self_closing = false;

		if (!lt) {
			check_text(p, p + strlen(p));
			break;
		}
		check_text(p, lt);
		p = lt + 1;
		if (!strncmp(p, "!--", 3)) {
			const char *e = strstr(p, "-->");

			assert_non_null(e);
			p = e + 3;
			continue;
		}
		if (*p == '/') {
			closing = true;
			p++;
		}
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
			assert_true(tl < NAME_LEN - 1);
			tag[tl++] = *p++;
		}
		tag[tl] = '\0';
		if (!tl)
			fail_msg("bad tag near: %.60s", lt);
		if (closing) {
			if (*p != '>')
				fail_msg("bad end tag near: %.60s", lt);
			p++;
			if (depth == 0 || strcmp(stack[depth - 1], tag))
				fail_msg("</%s> closes <%s>", tag,
					 depth ? stack[depth - 1] : "nothing");
			depth--;
			continue;
		}
		/* attributes */
		for (;;) {
			while (*p == ' ' || *p == '\n')
				p++;
			if (*p == '>') {
				p++;
				break;
			}
			if (p[0] == '/' && p[1] == '>') {
				self_closing = true;
				p += 2;
				break;
			}
			assert_true(n_attrs < 32);
			struct attr *a = &attrs[n_attrs++];
			size_t an = 0;

			memset(a, 0, sizeof(*a));
			while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') {
				assert_true(an < NAME_LEN - 1);
				a->name[an++] = *p++;
			}
			if (!an)
				fail_msg("bad attribute in <%s> near: %.60s", tag, p);
			if (find_attr(attrs, n_attrs - 1, a->name))
				fail_msg("duplicate attribute %s in <%s>", a->name, tag);
			if (*p == '=') {
				const char *q;

				if (p[1] != '"')
					fail_msg("unquoted %s= in <%s>", a->name, tag);
				p += 2;
				q = strchr(p, '"');
				assert_non_null(q);
				check_text(p, q);
				assert_true((size_t)(q - p) < sizeof(a->value));
				memcpy(a->value, p, q - p);
				a->has_value = true;
				p = q + 1;
				if (*p != ' ' && *p != '>' && *p != '/')
					fail_msg("junk after %s= in <%s>", a->name, tag);
			}
			/* What "default-src 'self'" would block. */
			if (!strcmp(a->name, "style") || !strncmp(a->name, "on", 2))
				fail_msg("inline %s in <%s>", a->name, tag);
		}
		if (!strcmp(tag, "style"))
			fail_msg("<style> block");
		if (!strcmp(tag, "script")) {
			const struct attr *src = find_attr(attrs, n_attrs, "src");

			if (!src || strcmp(src->value, "/static/app.js"))
				fail_msg("inline or foreign script");
			if (strncmp(p, "</script>", 9))
				fail_msg("script with content");
			d->scripts++;
		}
		if (!strcmp(tag, "link") || !strcmp(tag, "img")) {
			const char *which = !strcmp(tag, "img") ? "src" : "href";
			const struct attr *h = find_attr(attrs, n_attrs, which);

			if (!h || strncmp(h->value, "/static/", 8))
				fail_msg("<%s> not from /static/", tag);
		}
		if (!strcmp(tag, "title")) {
			if (!strncmp(p, "</title>", 8))
				fail_msg("empty <title>");
			d->title = true;
		}
		const struct attr *id = find_attr(attrs, n_attrs, "id");
		if (id) {
			for (size_t i = 0; i < d->n_ids; i++)
				if (!strcmp(d->ids[i], id->value))
					fail_msg("duplicate id %s", id->value);
			assert_true(d->n_ids < MAX_IDS);
			copy_name(d->ids[d->n_ids++], id->value);
		}
		if (!strcmp(tag, "label")) {
			const struct attr *f = find_attr(attrs, n_attrs, "for");

			assert_non_null(f);
			assert_true(d->n_labels < MAX_IDS);
			copy_name(d->label_for[d->n_labels++], f->value);
		}
		if (!strcmp(tag, "input") || !strcmp(tag, "select") || !strcmp(tag, "textarea")) {
			const struct attr *type = find_attr(attrs, n_attrs, "type");
			bool hidden = type && (!strcmp(type->value, "hidden") ||
					       !strcmp(type->value, "submit"));

			if (!hidden && !find_attr(attrs, n_attrs, "aria-label")) {
				if (!id)
					fail_msg("<%s> without id or aria-label", tag);
				assert_true(d->n_fields < MAX_IDS);
				copy_name(d->fields[d->n_fields++], id->value);
			}
		}
		if (!strcmp(tag, "button") && !find_attr(attrs, n_attrs, "type"))
			fail_msg("<button> without a type");
		if (!is_void(tag) && !self_closing) {
			assert_true(depth < 64);
			copy_name(stack[depth++], tag);
		}
	}
	if (depth)
		fail_msg("<%s> left open", stack[depth - 1]);
	if (!d->title)
		fail_msg("no <title>");
	for (size_t i = 0; i < d->n_fields; i++) {
		bool found = false;

		for (size_t j = 0; j < d->n_labels; j++)
			found |= !strcmp(d->fields[i], d->label_for[j]);
		if (!found)
			fail_msg("#%s has no label", d->fields[i]);
	}
	for (size_t j = 0; j < d->n_labels; j++) {
		bool found = false;

		for (size_t i = 0; i < d->n_ids; i++)
			found |= !strcmp(d->ids[i], d->label_for[j]);
		if (!found)
			fail_msg("label for missing #%s", d->label_for[j]);
	}
	free(d);
}

/* ---- helpers ---- */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#define assert_has(hay, needle)                                                    \
	do {                                                                       \
		if (!strstr((hay), (needle)))                                      \
			fail_msg("missing: %s", (needle));                          \
	} while (0)

#define assert_lacks(hay, needle)                                                  \
	do {                                                                       \
		if (strstr((hay), (needle)))                                       \
			fail_msg("unexpected: %s", (needle));                       \
	} while (0)

/* The <tr ...> opening with `start` up to its </tr>, as a new string. */
static char *row(const char *html, const char *start)
{
	const char *b = strstr(html, start), *e;

	if (!b)
		fail_msg("no row %s", start);
	e = strstr(b, "</tr>");
	assert_non_null(e);
	return strndup(b, e - b);
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static const struct web_viewer alice = { "alice", "user", "tok-123" };
static const struct web_viewer root = { "root", "admin", "tok-adm" };

static const char pools_json[] =
	"[{\"name\":\"win11\",\"description\":\"Windows 11 office desktop\","
	"\"kind\":\"personal\",\"template\":\"win11-base\",\"memory_mb\":4096,\"cpus\":2,"
	"\"max_desktops\":20,\"max_per_user\":0,\"expiry_days\":30,\"cost_per_gb_day\":0.5,"
	"\"cost_per_cpu_day\":1.25,\"desktops\":3,\"cost_per_day\":4.5},"
	"{\"name\":\"lab\",\"description\":\"Teaching lab\",\"kind\":\"pooled\","
	"\"template\":\"ubuntu\",\"memory_mb\":2048,\"cpus\":1,\"max_desktops\":50,"
	"\"max_per_user\":1,"
	"\"expiry_days\":0,\"cost_per_gb_day\":0.25,\"cost_per_cpu_day\":0.75,"
	"\"desktops\":0,\"cost_per_day\":1.25}]";

static const char desktops_json[] =
	"[{\"name\":\"alice-desk\",\"description\":\"my office\",\"pool\":\"win11\","
	"\"owner\":\"alice\",\"admins\":[\"bob\",\"carol\"],\"state\":\"Running\","
	"\"host\":\"node1\",\"vm\":\"d-alice-desk\",\"memory_mb\":6144,\"cpus\":4,"
	"\"created\":\"2026-01-02T03:04:05Z\",\"expires\":\"2026-11-26T17:00:00Z\","
	"\"cost_per_day\":8,\"job\":null},"
	"{\"name\":\"build\",\"description\":\"\",\"pool\":\"lab\",\"owner\":\"alice\","
	"\"admins\":[],\"state\":\"Provisioning\",\"host\":\"node2\",\"vm\":null,"
	"\"memory_mb\":2048,\"cpus\":1,\"created\":\"2026-01-03T00:00:00Z\",\"expires\":null,"
	"\"cost_per_day\":1.25,\"job\":17},"
	"{\"name\":\"old\",\"pool\":\"lab\",\"owner\":\"alice\",\"state\":\"Off\","
	"\"host\":null,\"memory_mb\":1536,\"cpus\":1,\"cost_per_day\":1.125,\"job\":null},"
	"{\"name\":\"bobs\",\"pool\":\"lab\",\"owner\":\"bob\",\"state\":\"Running\","
	"\"host\":\"node1\",\"memory_mb\":512,\"cpus\":1,\"cost_per_day\":0.875}]";

/* ---- escaping ---- */

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "a & b \"c\" 'd'", "a &amp; b &quot;c&quot; &#39;d&#39;" },
		{ "'; DROP TABLE users;--", "&#39;; DROP TABLE users;--" },
		{ "&amp;", "&amp;amp;" },
		{ "Z\xc3\xbcrich \xe6\xa1\x8c\xe9\x9d\xa2 \xf0\x9f\x96\xa5",
		  "Z\xc3\xbcrich \xe6\xa1\x8c\xe9\x9d\xa2 \xf0\x9f\x96\xa5" },
		/* not UTF-8: a lone continuation byte, an overlong '<', a
		 * surrogate, a truncated sequence */
		{ "a\x80z", "a\xef\xbf\xbdz" },
		{ "\xc0\xbc", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "x\xe6\xa1", "x\xef\xbf\xbd\xef\xbf\xbd" },
		/* control characters other than tab/newline; DEL and C1 */
		{ "a\x01" "b\tc\nd\x7f", "a\xef\xbf\xbd" "b\tc\nd\xef\xbf\xbd" },
		{ "\xc2\x85", "\xef\xbf\xbd" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = web_escape(cases[i].in);

		assert_non_null(e);
		assert_string_equal(e, cases[i].out);
		free(e);
	}
	char *e = web_escape(NULL);
	assert_non_null(e);
	assert_string_equal(e, "");
	free(e);

	/* web_escape itself does not cap */
	char *big = malloc(100001);
	assert_non_null(big);
	memset(big, '<', 100000);
	big[100000] = '\0';
	e = web_escape(big);
	assert_non_null(e);
	assert_int_equal(strlen(e), 400000);
	free(e);
	free(big);
}

/* ---- login, enroll, error ---- */

static void test_login(void **state)
{
	char *h = web_page_login("Wrong name or password.", true);

	assert_non_null(h);
	check_html(h);
	assert_has(h, "<body data-page=\"login\">");
	assert_has(h, "<form id=\"login\"");
	assert_has(h, "<input id=\"name\"");
	assert_has(h, "<input id=\"password\" name=\"password\" type=\"password\"");
	assert_has(h, "<button id=\"login-submit\"");
	assert_has(h, "aria-live=\"assertive\">Wrong name or password.</div>");
	assert_has(h, "<a id=\"enroll-link\" href=\"/enroll\">");
	assert_has(h, "<title>Log in \u00b7 Skylight</title>");
	assert_lacks(h, "csrf-token");
	assert_int_equal(count(h, "<script"), 1);
	free(h);

	h = web_page_login(NULL, false);
	assert_non_null(h);
	check_html(h);
	assert_lacks(h, "enroll-link");
	assert_has(h, "aria-live=\"assertive\"></div>");
	free(h);

	h = web_page_login("<script>alert('x')</script>", false);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	assert_int_equal(count(h, "<script"), 1);
	free(h);
}

static void test_enroll(void **state)
{
	char *h = web_page_enroll(NULL);

	assert_non_null(h);
	check_html(h);
	assert_has(h, "<body data-page=\"enroll\">");
	for (const char *const *s = (const char *const[]){ "<form id=\"enroll\"",
		     "<input id=\"name\"", "<input id=\"email\" name=\"email\" type=\"email\"",
		     "<input id=\"password\"", "<input id=\"password2\"",
		     "<button id=\"enroll-submit\"", "<a id=\"login-link\" href=\"/\"", NULL };
	     *s; s++)
		assert_has(h, *s);
	assert_has(h, "minlength=\"8\" maxlength=\"256\"");
	free(h);

	h = web_page_enroll("Name \"<b>\" taken & more");
	assert_non_null(h);
	check_html(h);
	assert_has(h, ">Name &quot;&lt;b&gt;&quot; taken &amp; more</div>");
	free(h);
}

static void test_error_page(void **state)
{
	char *h = web_page_error(404, "No desktop <b>x</b>");

	assert_non_null(h);
	check_html(h);
	assert_has(h, "<h1 id=\"error-status\">404 Not found</h1>");
	assert_has(h, "<p id=\"error-message\">No desktop &lt;b&gt;x&lt;/b&gt;</p>");
	assert_int_equal(count(h, "<script"), 0);
	free(h);

	h = web_page_error(7, NULL);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "<h1 id=\"error-status\">500 Internal error</h1>");
	free(h);
}

/* ---- my desktops ---- */

static void test_desktops(void **state)
{
	struct json_object *pools = parse(pools_json), *desks = parse(desktops_json);
	char *h = web_page_desktops(&alice, pools, desks), *r, expect[128];

	assert_non_null(h);
	check_html(h);
	assert_int_equal(count(h, "<script"), 1);
	assert_has(h, "<body data-page=\"desktops\">");
	assert_has(h, "<meta name=\"csrf-token\" content=\"tok-123\">");
	assert_has(h, "<title>My desktops \u00b7 Skylight</title>");
	assert_has(h, "<span class=\"user\" id=\"viewer-name\">alice</span>");
	assert_has(h, "id=\"viewer-role\">User</span>");
	assert_has(h, "<a id=\"nav-desktops\" href=\"/desktops\" aria-current=\"page\">");
	assert_lacks(h, "nav-admin");
	assert_has(h, "<button type=\"button\" id=\"logout\">");
	/* a plain user's list has no owner column */
	assert_lacks(h, "data-label=\"Owner\"");

	/* the request form, defaults from the first pool */
	for (const char *const *s = (const char *const[]){ "<form id=\"request\"",
		     "<select id=\"pool\"", "<input id=\"desktop-name\"",
		     "<textarea id=\"description\"",
		     "<input id=\"memory\"", "<input id=\"cpus\"", "<input id=\"expiry\"",
		     "<input id=\"admins\"", "<button id=\"request-submit\"", "<output id=\"cost\"",
		     NULL };
	     *s; s++)
		assert_has(h, *s);
	assert_has(h, "<option value=\"win11\" data-memory=\"4096\" data-cpus=\"2\" "
		      "data-expiry=\"30\" data-gb-day=\"0.5\" data-cpu-day=\"1.25\" "
		      "data-kind=\"personal\" data-template=\"win11-base\" "
		      "data-description=\"Windows 11 office desktop\">win11 \u2014 personal \u00b7 "
		      "win11-base \u00b7 4 GiB \u00b7 2 CPUs \u00b7 4.50/day</option>");
	assert_has(h, "<option value=\"lab\"");
	assert_has(h, "\u00b7 2 GiB \u00b7 1 CPU \u00b7 1.25/day</option>");
	assert_has(h, "name=\"memory_mb\" type=\"number\" required min=\"128\" max=\"4194304\" "
		      "step=\"1\" inputmode=\"numeric\" value=\"4096\"");
	assert_has(h, "inputmode=\"numeric\" value=\"2\"");
	assert_has(h, "value=\"30\" aria-describedby=\"expiry-hint\"");
	assert_has(h, "id=\"pool-info\">Windows 11 office desktop</p>");
	/* a personal first pool: the desktop's name is asked for */
	assert_has(h, "<div class=\"field\"><label for=\"desktop-name\">Name</label>"
		      "<input id=\"desktop-name\" name=\"name\" required ");
	snprintf(expect, sizeof(expect), "aria-live=\"polite\">%.2f</output>",
		 4096 / 1024.0 * 0.5 + 2 * 1.25);
	assert_has(h, expect);

	/* the list */
	assert_has(h, "<table class=\"list\" id=\"desktops\">");
	r = row(h, "<tr data-desktop=\"alice-desk\"");
	assert_has(r, "data-state=\"Running\">");
	assert_has(r, "<td data-label=\"State\" data-state=\"Running\">");
	assert_has(r, "<span class=\"badge ok\">Running</span>");
	assert_has(r, "<td data-label=\"Host\">node1</td>");
	assert_has(r, ">6 GiB</td>");
	assert_has(r, "<td data-label=\"CPUs\" class=\"num\">4</td>");
	assert_has(r, ">8.00</td>");
	assert_has(r, "<time datetime=\"2026-11-26T17:00:00Z\">2026-11-26 17:00 UTC</time>");
	assert_has(r, "<a class=\"button primary\" data-action=\"connect\" "
		      "href=\"/api/v1/desktops/alice-desk/rdp\" download>Connect</a>");
	assert_has(r, "data-action=\"start\" data-desktop=\"alice-desk\" disabled>");
	assert_has(r, "data-action=\"stop\" data-desktop=\"alice-desk\">");
	assert_has(r, "data-action=\"restart\" data-desktop=\"alice-desk\">");
	assert_has(r, "data-action=\"delete\" data-desktop=\"alice-desk\" class=\"danger\">");
	assert_has(r, "data-action=\"properties\" data-desktop=\"alice-desk\" "
		      "aria-expanded=\"false\" aria-controls=\"props-0\">");
	assert_lacks(r, "data-running-job");
	free(r);
	/* its properties panel */
	r = row(h, "<tr class=\"props\" id=\"props-0\" hidden>");
	assert_has(r, "<dt>Description</dt><dd>my office</dd>");
	assert_has(r, "<dt>Delegated admins</dt><dd>bob, carol</dd>");
	assert_has(r, "<dt>VM</dt><dd>d-alice-desk</dd>");
	assert_has(r, "<dt>Pool</dt><dd>win11</dd>");
	free(r);

	r = row(h, "<tr data-desktop=\"build\"");
	assert_has(r, "data-state=\"Provisioning\" data-running-job=\"17\">");
	assert_has(r, "<span class=\"badge busy\">Provisioning</span>");
	assert_has(r, "<progress data-job-progress=\"17\"");
	assert_has(r, "<a class=\"button primary disabled\" data-action=\"connect\" "
		      "aria-disabled=\"true\">");
	assert_has(r, "data-action=\"start\" data-desktop=\"build\" disabled>");
	assert_has(r, "data-action=\"stop\" data-desktop=\"build\" disabled>");
	assert_has(r, "<td data-label=\"Expires\"><span class=\"none\">" DASH "</span></td>");
	free(r);
	r = row(h, "<tr class=\"props\" id=\"props-1\" hidden>");
	assert_has(r, "<dt>Description</dt><dd><span class=\"none\">" DASH "</span></dd>");
	assert_has(r, "<dt>Delegated admins</dt><dd><span class=\"none\">" DASH);
	assert_has(r, "<dt>Running job</dt><dd>17</dd>");
	free(r);

	r = row(h, "<tr data-desktop=\"old\"");
	assert_has(r, "<span class=\"badge off\">Off</span>");
	assert_has(r, "data-action=\"start\" data-desktop=\"old\">");
	assert_has(r, "data-action=\"stop\" data-desktop=\"old\" disabled>");
	assert_has(r, ">1.5 GiB</td>");
	assert_has(r, ">1.12</td>");
	free(r);

	/* someone else's running desktop (delegated): no Connect */
	r = row(h, "<tr data-desktop=\"bobs\"");
	assert_has(r, "aria-disabled=\"true\">Connect</a>");
	assert_has(r, ">512 MiB</td>");
	free(r);

	free(h);

	/* a delegated admin sees the owner column */
	const struct web_viewer del = { "bob", "delegated_admin", "t" };
	h = web_page_desktops(&del, pools, desks);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "id=\"viewer-role\">Delegated admin</span>");
	r = row(h, "<tr data-desktop=\"bobs\"");
	assert_has(r, "<td data-label=\"Owner\">bob</td>");
	assert_has(r, "href=\"/api/v1/desktops/bobs/rdp\" download>");
	free(r);
	assert_has(h, "colspan=\"9\"");
	free(h);

	json_object_put(pools);
	json_object_put(desks);
}

static void test_desktop_badges(void **state)
{
	static const struct {
		const char *state, *badge;
	} cases[] = {
		{ "Running", "<span class=\"badge ok\">Running</span>" },
		{ "Provisioning", "<span class=\"badge busy\">Provisioning</span>" },
		{ "Requested", "<span class=\"badge busy\">Requested</span>" },
		{ "Migrating", "<span class=\"badge busy\">Migrating</span>" },
		{ "Off", "<span class=\"badge off\">Off</span>" },
		{ "Saved", "<span class=\"badge off\">Saved</span>" },
		{ "HostNotResponding", "<span class=\"badge bad\">Host not responding</span>" },
		{ "Expired", "<span class=\"badge dark\">Expired</span>" },
		{ "Weird<x>", "<span class=\"badge off\">Weird&lt;x&gt;</span>" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *list = json_object_new_array(), *d = json_object_new_object();
		char *h, *r;

		json_object_object_add(d, "name", json_object_new_string("d1"));
		json_object_object_add(d, "state", json_object_new_string(cases[i].state));
		json_object_array_add(list, d);
		h = web_page_desktops(&alice, NULL, list);
		assert_non_null(h);
		check_html(h);
		r = row(h, "<tr data-desktop=\"d1\"");
		assert_has(r, cases[i].badge);
		/* Saved desktops start again; only running ones stop */
		assert_true(!!strstr(r, "data-action=\"start\" data-desktop=\"d1\">") ==
			    (!strcmp(cases[i].state, "Off") || !strcmp(cases[i].state, "Saved")));
		assert_true(!!strstr(r, "data-action=\"stop\" data-desktop=\"d1\">") ==
			    !strcmp(cases[i].state, "Running"));
		free(r);
		free(h);
		json_object_put(list);
	}
}

/* A pooled first pool: the broker names the desktop it hands out. */
static void test_desktops_pooled_first(void **state)
{
	struct json_object *pools = parse("[{\"name\":\"lab\",\"kind\":\"pooled\","
					  "\"memory_mb\":2048,\"cpus\":1},"
					  "{\"name\":\"win11\",\"kind\":\"personal\"}]");
	char *h = web_page_desktops(&alice, pools, NULL);

	assert_non_null(h);
	check_html(h);
	assert_has(h, "<div class=\"field\" hidden><label for=\"desktop-name\">Name</label>"
		      "<input id=\"desktop-name\" name=\"name\" maxlength=\"64\"");
	assert_has(h, "data-kind=\"pooled\"");
	assert_has(h, "data-kind=\"personal\"");
	free(h);
	json_object_put(pools);
}

static void test_desktops_empty(void **state)
{
	struct json_object *empty = json_object_new_array();
	struct json_object *obj = json_object_new_object();
	char *h;

	h = web_page_desktops(&alice, empty, empty);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "<p class=\"empty\" id=\"no-desktops\">");
	assert_has(h, "<p class=\"empty\" id=\"no-pools\">");
	assert_lacks(h, "<form id=\"request\"");
	assert_lacks(h, "<table");
	free(h);

	/* NULL and non-arrays read as empty */
	h = web_page_desktops(&alice, NULL, obj);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "id=\"no-desktops\"");
	assert_has(h, "id=\"no-pools\"");
	free(h);

	/* no viewer at all: still a page */
	h = web_page_desktops(NULL, NULL, NULL);
	assert_non_null(h);
	check_html(h);
	assert_lacks(h, "csrf-token");
	assert_has(h, "id=\"viewer-name\"><span class=\"none\">" DASH);
	free(h);

	json_object_put(empty);
	json_object_put(obj);
}

/* Fields of the wrong type, nulls, junk elements: dashes, no crash. */
static void test_desktops_odd(void **state)
{
	struct json_object *desks = parse(
		"[42, \"str\", null, [], {}, {\"name\":7},"
		"{\"name\":\"odd\",\"state\":5,\"host\":7,\"memory_mb\":\"lots\",\"cpus\":null,"
		"\"admins\":\"bob\",\"expires\":true,\"cost_per_day\":\"x\",\"job\":{},"
		"\"description\":[1],\"owner\":false,\"created\":\"yesterday <3\"},"
		"{\"name\":\"odd2\",\"state\":null,\"memory_mb\":-5,\"cpus\":2.5,"
		"\"admins\":[1,null,\"eve\",{}],\"expires\":\"2026-13\",\"job\":\"j-9\"}]");
	struct json_object *pools = parse(
		"[7, {\"description\":\"no name\"}, {\"name\":\"p\",\"kind\":3,\"memory_mb\":\"x\","
		"\"cpus\":null,\"cost_per_gb_day\":\"free\",\"expiry_days\":1.5}]");
	char *h = web_page_desktops(&alice, pools, desks), *r;

	assert_non_null(h);
	check_html(h);
	/* only the two named desktops become rows */
	assert_int_equal(count(h, "<tr data-desktop="), 2);
	r = row(h, "<tr data-desktop=\"odd\"");
	assert_has(r, "data-state=\"\"");
	assert_has(r, "<td data-label=\"Host\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Memory\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"CPUs\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Cost/day\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Expires\"><span class=\"none\">" DASH);
	assert_lacks(r, "data-running-job");
	free(r);
	r = row(h, "<tr class=\"props\" id=\"props-6\" hidden>");
	assert_has(r, "<dt>Delegated admins</dt><dd><span class=\"none\">" DASH);
	assert_has(r, "<dt>Created</dt><dd>yesterday &lt;3</dd>");
	free(r);
	r = row(h, "<tr data-desktop=\"odd2\"");
	assert_has(r, "data-running-job=\"j-9\"");
	assert_has(r, "<td data-label=\"Memory\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"CPUs\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Expires\">2026-13</td>");
	free(r);
	r = row(h, "<tr class=\"props\" id=\"props-7\" hidden>");
	assert_has(r, "<dt>Delegated admins</dt><dd>eve</dd>");
	free(r);
	/* the one named pool, with what it has */
	assert_has(h, "<option value=\"p\" data-memory=\"\" data-cpus=\"\" data-expiry=\"1.5\" "
		      "data-gb-day=\"\" data-cpu-day=\"\" data-kind=\"\" data-template=\"\"");
	assert_has(h, ">p \u2014 ? \u00b7 ?</option>");
	assert_has(h, "aria-live=\"polite\">" DASH "</output>");
	free(h);
	json_object_put(desks);
	json_object_put(pools);
}

/* ---- hostile strings ---- */

static const char *const hostile[] = {
	"<script>alert(\"x\")</script>",
	"\"'><img src=x onerror=alert(1)>",
	"'; DROP TABLE users;--",
	"Tom & Jerry's \"desk\"",
	"\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe6\xa1\x8c\xe9\x9d\xa2 "
	"\xf0\x9f\x96\xa5\xef\xb8\x8f",
	"bad \xff\xfe utf8 \x01\x1b[31m",
	"javascript:alert(1)",
	"</td></tr></table><script src=//evil/x.js></script>",
};

/* What each hostile string must look like once escaped (for the ones
 * whose escaping is easy to spell). */
static const char *const hostile_escaped[] = {
	"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
	"&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;",
	"&#39;; DROP TABLE users;--",
	"Tom &amp; Jerry&#39;s &quot;desk&quot;",
	"\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe6\xa1\x8c\xe9\x9d\xa2 "
	"\xf0\x9f\x96\xa5\xef\xb8\x8f",
	"bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd[31m",
	"javascript:alert(1)",
	"&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script src=//evil/x.js&gt;&lt;/script&gt;",
};

static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

/* An object with every field of `names` set to s. */
static struct json_object *all_strings(const char *const *names, const char *s)
{
	struct json_object *o = json_object_new_object();

	for (; *names; names++)
		json_object_object_add(o, *names, str(s));
	return o;
}

static const char *const desktop_fields[] = {
	"name", "description", "pool", "owner", "state", "host", "vm", "created", "expires",
	"job", NULL,
};
static const char *const pool_fields[] = {
	"name", "description", "kind", "template", NULL,
};
static const char *const host_fields[] = {
	"name", "api_url", "rdp_address", "health", "last_heartbeat", NULL,
};
static const char *const user_fields[] = { "name", "role", "email", "created", NULL };
static const char *const job_fields[] = {
	"id", "kind", "desktop", "host", "user", "state", "message", "created", "finished", NULL,
};

static void test_hostile(void **state)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const char *s = hostile[i];
		struct json_object *desks = json_object_new_array();
		struct json_object *pools = json_object_new_array();
		struct json_object *hosts = json_object_new_array();
		struct json_object *users = json_object_new_array();
		struct json_object *jobs = json_object_new_array();
		struct json_object *d = all_strings(desktop_fields, s);
		struct json_object *admins = json_object_new_array();
		const struct web_viewer v = { s, s, s };
		const struct web_viewer va = { s, "admin", s };
		char *h;

		json_object_array_add(admins, str(s));
		json_object_array_add(admins, str(s));
		json_object_object_add(d, "admins", admins);
		json_object_array_add(desks, d);
		json_object_array_add(pools, all_strings(pool_fields, s));
		json_object_array_add(hosts, all_strings(host_fields, s));
		json_object_array_add(users, all_strings(user_fields, s));
		json_object_array_add(jobs, all_strings(job_fields, s));

		char *pages[5] = {
			web_page_desktops(&v, pools, desks),
			web_page_admin(&va, hosts, desks, pools, users, jobs),
			web_page_login(s, true),
			web_page_enroll(s),
			web_page_error(400, s),
		};
		for (size_t p = 0; p < 5; p++) {
			h = pages[p];
			assert_non_null(h);
			check_html(h);
			assert_int_equal(count(h, "<script"), p < 4 ? 1 : 0);
			assert_lacks(h, "<img src=x");
			assert_has(h, hostile_escaped[i]);
		}
		/* in a URL the name is percent-encoded (only Running desktops
		 * have the link, so check it on one) */
		json_object_object_add(d, "state", str("Running"));
		json_object_object_add(d, "owner", str(s));
		h = web_page_desktops(&v, pools, desks);
		assert_non_null(h);
		check_html(h);
		assert_has(h, "href=\"/api/v1/desktops/");
		assert_lacks(h, "href=\"/api/v1/desktops/<");
		assert_lacks(h, "href=\"/api/v1/desktops/&");
		free(h);

		/* the admin page shows it in every section: desktops (row and
		 * props), pools, hosts, users, jobs */
		assert_true(count(pages[1], hostile_escaped[i]) >= 20);
		for (size_t p = 0; p < 5; p++)
			free(pages[p]);
		json_object_put(desks);
		json_object_put(pools);
		json_object_put(hosts);
		json_object_put(users);
		json_object_put(jobs);
	}
}

static void test_percent_encoding(void **state)
{
	struct json_object *desks = parse("[{\"name\":\"a b/..?#&\\\"<\u00e9\","
					  "\"state\":\"Running\",\"owner\":\"alice\"}]");
	char *h = web_page_desktops(&alice, NULL, desks);

	assert_non_null(h);
	check_html(h);
	assert_has(h, "href=\"/api/v1/desktops/a%20b%2F..%3F%23%26%22%3C%C3%A9/rdp\"");
	free(h);
	json_object_put(desks);
}

/* A huge description is cut, not copied whole; the page stays bounded. */
static void test_long_strings(void **state)
{
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	struct json_object *desks = json_object_new_array(), *d;
	char *h;

	assert_non_null(big);
	/* 3-byte characters, so the cut has to land on a character boundary */
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "\xe6\xa1\x8c", 3);
	big[n - n % 3] = '\0';
	d = all_strings(desktop_fields, big);
	json_object_array_add(desks, d);
	h = web_page_desktops(&alice, NULL, desks);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "\xe6\xa1\x8c\xe2\x80\xa6");
	assert_true(strlen(h) < 200 * 1024);
	free(h);
	json_object_put(desks);
	free(big);
}

/* ---- admin ---- */

static const char hosts_json[] =
	"[{\"name\":\"node1\",\"api_url\":\"https://node1:8443\",\"rdp_address\":\"10.0.0.1:3389\","
	"\"health\":\"ok\",\"maintenance\":false,\"cpus\":32,\"mem_total_mb\":65536,"
	"\"mem_free_mb\":16384,\"desktops\":5,\"last_heartbeat\":\"2026-03-01T10:00:05Z\"},"
	"{\"name\":\"node2\",\"health\":\"not_responding\",\"maintenance\":true,\"cpus\":16,"
	"\"mem_total_mb\":32768,\"mem_free_mb\":40000,\"desktops\":0,\"last_heartbeat\":null}]";

static const char users_json[] =
	"[{\"name\":\"root\",\"role\":\"admin\",\"email\":\"root@example.org\","
	"\"created\":\"2025-12-01T00:00:00Z\",\"source\":\"local\"},"
	"{\"name\":\"alice\",\"role\":\"user\",\"email\":null,\"source\":\"pam\","
	"\"created\":\"2026-01-01T00:00:00Z\"},"
	"{\"name\":\"bob\",\"role\":\"delegated_admin\"},{\"name\":\"eve\",\"role\":\"pirate\"}]";

static const char jobs_json[] =
	"[{\"id\":17,\"kind\":\"provision\",\"desktop\":\"build\",\"host\":\"node2\","
	"\"user\":\"alice\",\"state\":\"running\",\"progress\":40,\"message\":\"copying disk\","
	"\"created\":\"2026-01-03T00:00:00Z\",\"finished\":null},"
	"{\"id\":16,\"kind\":\"stop\",\"desktop\":\"old\",\"host\":\"node1\",\"user\":\"alice\","
	"\"state\":\"failed\",\"progress\":250,\"message\":\"guest did not answer\","
	"\"created\":\"2026-01-02T00:00:00Z\",\"finished\":\"2026-01-02T00:00:30Z\"},"
	"{\"id\":15,\"kind\":\"start\",\"state\":\"succeeded\",\"progress\":100},"
	"{\"id\":14,\"state\":\"queued\",\"progress\":-3}]";

static void test_admin(void **state)
{
	struct json_object *hosts = parse(hosts_json), *desks = parse(desktops_json),
			   *pools = parse(pools_json), *users = parse(users_json),
			   *jobs = parse(jobs_json);
	char *h = web_page_admin(&root, hosts, desks, pools, users, jobs), *r;

	assert_non_null(h);
	check_html(h);
	assert_int_equal(count(h, "<script"), 1);
	assert_has(h, "<body data-page=\"admin\">");
	assert_has(h, "<meta name=\"csrf-token\" content=\"tok-adm\">");
	assert_has(h, "<a id=\"nav-admin\" href=\"/admin\" aria-current=\"page\">Admin</a>");
	assert_has(h, "<a id=\"nav-desktops\" href=\"/desktops\">");
	assert_has(h, "id=\"viewer-role\">Admin</span>");
	for (const char *const *s = (const char *const[]){ "<section class=\"card\" id=\"hosts\"",
		     "id=\"all-desktops\"", "id=\"pools\"", "id=\"users\"", "id=\"jobs\"", NULL };
	     *s; s++)
		assert_has(h, *s);

	/* hosts */
	r = row(h, "<tr data-host=\"node1\"");
	assert_has(r, "data-maintenance=\"false\"");
	assert_has(r, "<td data-label=\"Health\" data-health=\"ok\">");
	assert_has(r, "<span class=\"badge ok\">OK</span>");
	assert_has(r, "<meter min=\"0\" max=\"65536\" value=\"49152\"");
	assert_has(r, "48 GiB / 64 GiB");
	assert_has(r, "<td data-label=\"Desktops\" class=\"num\">5</td>");
	assert_has(r, "<td data-label=\"RDP address\">10.0.0.1:3389</td>");
	assert_has(r, "2026-03-01 10:00 UTC");
	assert_has(r, "data-action=\"maintenance\" data-host=\"node1\" aria-pressed=\"false\">"
		      "Enter maintenance</button>");
	free(r);
	r = row(h, "<tr data-host=\"node2\"");
	assert_has(r, "data-maintenance=\"true\"");
	assert_has(r, "data-health=\"not_responding\">");
	assert_has(r, "<span class=\"badge bad\">Not responding</span>");
	assert_has(r, "<span class=\"badge warn\">Maintenance</span>");
	/* free > total: no bar */
	assert_lacks(r, "<meter");
	assert_has(r, "<td data-label=\"Memory used\"><span class=\"none\">" DASH);
	assert_has(r, "aria-pressed=\"true\">Leave maintenance</button>");
	free(r);

	/* all desktops, with owners; Connect only for the viewer's own */
	assert_has(h, "<table class=\"list\" id=\"admin-desktops\">");
	assert_int_equal(count(h, "<tr data-desktop="), 4);
	r = row(h, "<tr data-desktop=\"alice-desk\"");
	assert_has(r, "<td data-label=\"Owner\">alice</td>");
	assert_has(r, "aria-disabled=\"true\">Connect</a>");
	assert_has(r, "aria-controls=\"admin-props-0\"");
	free(r);

	/* pools: rows carry their fields for the edit form */
	r = row(h, "<tr data-pool=\"win11\"");
	assert_has(r, "data-description=\"Windows 11 office desktop\" data-kind=\"personal\" "
		      "data-template=\"win11-base\" data-memory=\"4096\" data-cpus=\"2\" "
		      "data-max=\"20\" data-max-per-user=\"0\" data-expiry=\"30\" "
		      "data-gb-day=\"0.5\" data-cpu-day=\"1.25\"");
	/* no quota, no hint */
	assert_has(r, "<td data-label=\"Desktops\" class=\"num\">3 / 20</td>");
	assert_has(r, ">30 days</td>");
	assert_has(r, "0.50 /GiB \u00b7 1.25 /CPU");
	assert_has(r, "data-action=\"edit-pool\" data-pool=\"win11\"");
	assert_has(r, "data-action=\"delete-pool\" data-pool=\"win11\"");
	free(r);
	r = row(h, "<tr data-pool=\"lab\"");
	assert_has(r, "data-max=\"50\" data-max-per-user=\"1\"");
	assert_has(r, "<td data-label=\"Desktops\" class=\"num\">0 / 50<p class=\"hint\">at most 1 "
		      "a user</p></td>");
	free(r);
	r = row(h, "<tr data-pool=\"lab\"");
	assert_has(r, ">never</td>");
	free(r);
	for (const char *const *s = (const char *const[]){ "<form id=\"pool-create\"",
		     "<input id=\"pool-name\"", "<textarea id=\"pool-description\"",
		     "<select id=\"pool-kind\"", "<input id=\"pool-template\"",
		     "<input id=\"pool-memory\"", "<input id=\"pool-cpus\"",
		     "<input id=\"pool-max\"", "<input id=\"pool-max-per-user\"",
		     "<input id=\"pool-expiry\"", "<input id=\"pool-gb-day\"",
		     "<input id=\"pool-cpu-day\"", "<button id=\"pool-submit\"",
		     "<button id=\"pool-cancel\" type=\"button\" hidden>", NULL };
	     *s; s++)
		assert_has(h, *s);

	/* users: role select, nobody deletes or demotes themselves */
	r = row(h, "<tr data-user=\"root\"");
	assert_has(r, "data-action=\"role\" data-user=\"root\" aria-label=\"Role of root\" "
		      "disabled>");
	assert_has(r, "<option value=\"admin\" selected>Admin</option>");
	assert_has(r, "data-action=\"delete-user\" data-user=\"root\" disabled>");
	assert_has(r, "root@example.org");
	free(r);
	r = row(h, "<tr data-user=\"root\"");
	assert_has(r, "<td data-label=\"Sign-in\" data-source=\"local\">Password</td>");
	free(r);
	r = row(h, "<tr data-user=\"alice\"");
	assert_has(r, "<td data-label=\"Sign-in\" data-source=\"pam\">PAM</td>");
	assert_has(r, "<option value=\"user\" selected>User</option>");
	assert_has(r, "data-action=\"delete-user\" data-user=\"alice\">");
	assert_has(r, "<td data-label=\"Email\"><span class=\"none\">" DASH);
	free(r);
	r = row(h, "<tr data-user=\"bob\"");
	assert_has(r, "<option value=\"delegated_admin\" selected>Delegated admin</option>");
	assert_has(r, "<td data-label=\"Sign-in\" data-source=\"\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Created\"><span class=\"none\">" DASH);
	free(r);
	r = row(h, "<tr data-user=\"eve\"");
	assert_has(r, "<option value=\"\" selected disabled>pirate</option>");
	free(r);
	for (const char *const *s = (const char *const[]){ "<form id=\"user-create\"",
		     "<input id=\"user-name\"", "<input id=\"user-email\"",
		     "<input id=\"user-password\"", "<select id=\"user-role\"",
		     "<button id=\"user-submit\"", NULL };
	     *s; s++)
		assert_has(h, *s);
	/* without PAM, every user the console creates has a password */
	assert_lacks(h, "user-source");
	free(h);
	{
		const struct web_viewer root_pam = { "root", "admin", "tok-adm", .pam = true };

		h = web_page_admin(&root_pam, hosts, desks, pools, users, jobs);
		assert_non_null(h);
		check_html(h);
		assert_has(h, "<select id=\"user-source\" name=\"source\">"
			      "<option value=\"local\">Password kept by the broker</option>"
			      "<option value=\"pam\">PAM (the host's accounts)</option></select>");
	}

	/* jobs */
	r = row(h, "<tr data-job=\"17\"");
	assert_has(r, "data-state=\"running\">");
	assert_has(r, "<td data-label=\"State\" data-state=\"running\"><span class=\"badge busy\">"
		      "Running</span>");
	assert_has(r, "<progress max=\"100\" value=\"40\"");
	assert_has(r, ">40%</progress>");
	assert_has(r, "<td data-label=\"Message\" data-field=\"message\">copying disk</td>");
	assert_has(r, "<td data-label=\"Desktop\">build</td>");
	assert_has(r, "<td data-label=\"Kind\">provision</td>");
	assert_has(r, "<td data-label=\"Finished\" data-field=\"finished\"><span class=\"none\">");
	free(r);
	r = row(h, "<tr data-job=\"16\"");
	assert_has(r, "<span class=\"badge bad\">Failed</span>");
	assert_has(r, "value=\"100\""); /* 250 clamped */
	assert_has(r, "2026-01-02 00:00 UTC</time></td>");
	free(r);
	r = row(h, "<tr data-job=\"15\"");
	assert_has(r, "<span class=\"badge ok\">Succeeded</span>");
	assert_has(r, "<td data-label=\"Host\"><span class=\"none\">" DASH);
	free(r);
	r = row(h, "<tr data-job=\"14\"");
	assert_has(r, "<span class=\"badge busy\">Queued</span>");
	assert_has(r, "value=\"0\""); /* -3 clamped */
	free(r);

	free(h);
	json_object_put(hosts);
	json_object_put(desks);
	json_object_put(pools);
	json_object_put(users);
	json_object_put(jobs);
}

static void test_admin_empty_odd(void **state)
{
	struct json_object *empty = json_object_new_array();
	struct json_object *odd = parse("[1, null, {\"name\":null}, {\"id\":true}]");
	struct json_object *hosts = parse("[{\"name\":\"h\",\"health\":null,"
					  "\"maintenance\":\"yes\",\"mem_total_mb\":\"big\","
					  "\"cpus\":[],\"desktops\":{}}]");
	struct json_object *jobs = parse("[{\"id\":\"abc\",\"progress\":\"half\",\"state\":7}]");
	char *h, *r;

	h = web_page_admin(&root, empty, empty, empty, empty, empty);
	assert_non_null(h);
	check_html(h);
	for (const char *const *s = (const char *const[]){ "id=\"no-hosts\"",
		     "id=\"no-admin-desktops\"", "id=\"no-pool-list\"", "id=\"no-users\"",
		     "id=\"no-jobs\"", "<form id=\"pool-create\"", "<form id=\"user-create\"",
		     NULL };
	     *s; s++)
		assert_has(h, *s);
	assert_lacks(h, "<table");
	free(h);

	h = web_page_admin(&root, NULL, odd, odd, odd, odd);
	assert_non_null(h);
	check_html(h);
	assert_has(h, "id=\"no-hosts\"");
	assert_has(h, "id=\"no-admin-desktops\"");
	assert_has(h, "id=\"no-users\"");
	assert_has(h, "id=\"no-jobs\"");
	free(h);

	h = web_page_admin(NULL, hosts, NULL, NULL, NULL, jobs);
	assert_non_null(h);
	check_html(h);
	/* no viewer: no admin link, no csrf */
	assert_lacks(h, "nav-admin");
	assert_lacks(h, "csrf-token");
	r = row(h, "<tr data-host=\"h\"");
	assert_has(r, "data-maintenance=\"false\"");
	assert_has(r, "data-health=\"\"><span class=\"state-cell\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"CPUs\" class=\"num\"><span class=\"none\">" DASH);
	assert_has(r, "<td data-label=\"Desktops\" class=\"num\"><span class=\"none\">" DASH);
	assert_lacks(r, "<meter");
	free(r);
	r = row(h, "<tr data-job=\"abc\"");
	assert_has(r, "data-state=\"\"");
	assert_has(r, "<td data-label=\"Progress\"><span class=\"none\">" DASH);
	free(r);
	free(h);

	json_object_put(empty);
	json_object_put(odd);
	json_object_put(hosts);
	json_object_put(jobs);
}

/* ---- running out of memory ---- */

static void test_oom(void **state)
{
	struct json_object *hosts = parse(hosts_json), *desks = parse(desktops_json),
			   *pools = parse(pools_json), *users = parse(users_json),
			   *jobs = parse(jobs_json);
	long failures = 0;

	/* Fail the 0th, 1st, ... allocation until a page comes out whole.
	 * Every failure must be a NULL page (and, under ASan, no leak). */
	for (long n = 0;; n++) {
		char *h;

		fail_in = n;
		h = web_page_admin(&root, hosts, desks, pools, users, jobs);
		fail_in = -1;
		if (h) {
			check_html(h);
			free(h);
			break;
		}
		failures++;
		assert_true(n < 100);
	}
	assert_true(failures >= 1);

	fail_in = 0;
	char *e = web_escape("x");
	fail_in = -1;
	assert_null(e);

	json_object_put(hosts);
	json_object_put(desks);
	json_object_put(pools);
	json_object_put(users);
	json_object_put(jobs);
}

/* ---- static assets ---- */

static void test_static(void **state)
{
	static const struct {
		const char *path, *type, *contains;
	} cases[] = {
		{ "/static/app.css", "text/css; charset=utf-8", "@media (max-width: 720px)" },
		{ "/static/app.js", "text/javascript; charset=utf-8", "X-CSRF-Token" },
		{ "/static/icon.svg", "image/svg+xml",
		  "<svg xmlns=\"http://www.w3.org/2000/svg\"" },
		{ "app.js", "text/javascript; charset=utf-8", "'use strict';" },
	};
	static const char *const unknown[] = {
		"/static/nope.css", "/static/", "/static", "", "/static/../web.c",
		"/static/app.css/", "/static/APP.CSS", "/app.css", "/static/app.css?v=1",
		"/static//app.css", "/staticxapp.css", "static/app.css",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *type = NULL;
		size_t len = 0;
		const char *body = web_static(cases[i].path, &type, &len);

		assert_non_null(body);
		assert_non_null(type);
		assert_string_equal(type, cases[i].type);
		assert_true(len > 100);
		/* the embedded copy is NUL-terminated text, whole */
		assert_int_equal(strlen(body), len);
		assert_true(valid_utf8(body));
		assert_has(body, cases[i].contains);
		assert_has(body, "SPDX-License-Identifier: GPL-3.0-or-later");
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *type = "unchanged";
		size_t len = 12345;

		assert_null(web_static(unknown[i], &type, &len));
		assert_string_equal(type, "unchanged");
		assert_int_equal(len, 12345);
	}
	assert_null(web_static(NULL, NULL, NULL));

	/* every asset a page links to is served */
	char *h = web_page_desktops(&alice, NULL, NULL);
	assert_non_null(h);
	for (const char *p = h; (p = strstr(p, "\"/static/")); p++) {
		char path[64];
		const char *q = strchr(p + 1, '"');

		assert_non_null(q);
		assert_true((size_t)(q - p - 1) < sizeof(path));
		memcpy(path, p + 1, q - p - 1);
		path[q - p - 1] = '\0';
		assert_non_null(web_static(path, NULL, NULL));
	}
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_enroll),
		cmocka_unit_test(test_error_page),
		cmocka_unit_test(test_desktops),
		cmocka_unit_test(test_desktop_badges),
		cmocka_unit_test(test_desktops_pooled_first),
		cmocka_unit_test(test_desktops_empty),
		cmocka_unit_test(test_desktops_odd),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_admin_empty_odd),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_static),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

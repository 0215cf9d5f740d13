// SPDX-License-Identifier: GPL-3.0-or-later
/* Request bodies of the broker's APIs (apijson.h, docs/api.md). */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apijson.h"
#include "auth.h"
#include "util.h"

static int fail(char *err, size_t errsz, const char *fmt, ...) _printf_(3, 4);

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool apijson_name_valid(const char *s)
{
	size_t n;

	if (!s || !*s || *s == '-' || *s == '.')
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (n >= DB_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool apijson_utf8_valid(const char *s, size_t len, bool no_controls)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;

	while (p < end) {
		uint32_t cp, min;
		int more;

		if (*p == 0 || (no_controls && (*p < 0x20 || *p == 0x7f)))
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f, more = 1, min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f, more = 2, min = 0x800;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07, more = 3, min = 0x10000;
		} else {
			return false;
		}
		p++;
		if (end - p < more)
			return false;
		while (more--) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p++ & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

bool apijson_text_valid(const char *s, size_t len, size_t max)
{
	return len <= max && apijson_utf8_valid(s, len, false);
}

int apijson_parse(const char *body, size_t len, struct json_object **ret, char *err,
		  size_t errsz)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error jerr;
	size_t end;

	if (!body || len == 0)
		return fail(err, errsz, "a JSON object is required");
	if (len > INT32_MAX || memchr(body, '\0', len))
		return fail(err, errsz, "malformed JSON");
	tok = json_tokener_new_ex(APIJSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		if (jerr == json_tokener_error_depth)
			return fail(err, errsz, "malformed JSON: nested too deep");
		return fail(err, errsz, "malformed JSON");
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", body[end])) {
			json_object_put(o);
			return fail(err, errsz, "malformed JSON: data after the object");
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return fail(err, errsz, "the body must be a JSON object");
	}
	*ret = o;
	return 0;
}

/* --- fields --------------------------------------------------------------- */

enum ftype {
	F_STRING,
	F_INT,
	F_NUMBER,
	F_BOOL,
	F_ARRAY,
};

struct field {
	const char *name;
	enum ftype type;
	bool required;
};

static const char *type_word(enum ftype t)
{
	switch (t) {
	case F_STRING: return "a string";
	case F_INT: return "an integer";
	case F_NUMBER: return "a number";
	case F_BOOL: return "true or false";
	case F_ARRAY: return "an array";
	}
	return "?";
}

/* Unknown fields, missing required ones, wrong types. */
static int check_fields(struct json_object *o, const struct field *f, size_t n, bool strict,
			char *err, size_t errsz)
{
	size_t i;

	json_object_object_foreach(o, key, val) {
		for (i = 0; i < n; i++)
			if (!strcmp(key, f[i].name))
				break;
		if (i == n) {
			if (!strict)
				continue;
			/* Named in the message (and logs) only if it is a plain name. */
			if (!apijson_name_valid(key))
				return fail(err, errsz, "unknown field");
			return fail(err, errsz, "unknown field \"%s\"", key);
		}
		/* null is "not given" (and so missing when required). */
		if (!val) {
			if (f[i].required)
				return fail(err, errsz, "%s: required", key);
			continue;
		}
		switch (f[i].type) {
		case F_STRING:
			if (!json_object_is_type(val, json_type_string))
				goto type;
			if ((size_t)json_object_get_string_len(val) !=
			    strlen(json_object_get_string(val)))
				return fail(err, errsz, "%s: contains a NUL character", key);
			break;
		case F_INT:
			if (!json_object_is_type(val, json_type_int))
				goto type;
			break;
		case F_NUMBER:
			if (!json_object_is_type(val, json_type_int) &&
			    !json_object_is_type(val, json_type_double))
				goto type;
			break;
		case F_BOOL:
			if (!json_object_is_type(val, json_type_boolean))
				goto type;
			break;
		case F_ARRAY:
			if (!json_object_is_type(val, json_type_array))
				goto type;
			break;
		}
		continue;
type:
		return fail(err, errsz, "%s: must be %s", key, type_word(f[i].type));
	}
	for (i = 0; i < n; i++)
		if (f[i].required && !json_object_object_get_ex(o, f[i].name, NULL))
			return fail(err, errsz, "%s: required", f[i].name);
	return 0;
}

/* A field's value, NULL when absent or null. */
static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_string(v) : NULL;
}

/* An integer field in [min, max]: 1 if given, 0 if not. */
static int get_int(struct json_object *o, const char *key, int64_t min, int64_t max,
		   int64_t *ret, char *err, size_t errsz)
{
	struct json_object *v = get(o, key);
	int64_t x;

	if (!v)
		return 0;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return fail(err, errsz, "%s: must be from %lld to %lld", key, (long long)min,
			    (long long)max);
	*ret = x;
	return 1;
}

static int get_num(struct json_object *o, const char *key, double min, double max, double *ret,
		   char *err, size_t errsz)
{
	struct json_object *v = get(o, key);
	double x;

	if (!v)
		return 0;
	x = json_object_get_double(v);
	if (!isfinite(x) || x < min || x > max)
		return fail(err, errsz, "%s: must be from %g to %g", key, min, max);
	*ret = x;
	return 1;
}

static int check_name(struct json_object *o, const char *key, const char **ret, char *err,
		      size_t errsz)
{
	const char *s = get_str(o, key);

	if (!s)
		return 0;
	if (!apijson_name_valid(s))
		return fail(err, errsz, "%s: 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -",
			    key);
	*ret = s;
	return 1;
}

static int check_text(struct json_object *o, const char *key, size_t max, const char **ret,
		      char *err, size_t errsz)
{
	const char *s = get_str(o, key);

	if (!s)
		return 0;
	if (!apijson_text_valid(s, strlen(s), max))
		return fail(err, errsz, "%s: at most %zu bytes of UTF-8", key, max);
	*ret = s;
	return 1;
}

static bool email_valid(const char *s)
{
	size_t n = strlen(s), i, at = 0;

	if (n == 0)
		return true; /* no address */
	if (n > DB_EMAIL_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '<' || s[i] == '>' || s[i] == '"')
			return false;
		at += s[i] == '@';
	}
	return at == 1 && s[0] != '@' && s[n - 1] != '@';
}

/* --- bodies -------------------------------------------------------------- */

int apijson_login(struct json_object *o, struct apijson_login *out, char *err, size_t errsz)
{
	static const struct field f[] = {
		{ "name", F_STRING, true },
		{ "password", F_STRING, true },
	};
	int r;

	r = check_fields(o, f, ARRAY_SIZE(f), true, err, errsz);
	if (r < 0)
		return r;
	out->name = get_str(o, "name");
	out->password = get_str(o, "password");
	/* Bounded here; right or wrong is auth.c's to say (401, not 400). */
	if (strlen(out->name) > 256 || strlen(out->password) > 1024)
		return fail(err, errsz, "name or password too long");
	return 0;
}

int apijson_user(struct json_object *o, bool enroll, bool patch, struct apijson_user *out,
		 char *err, size_t errsz)
{
	/* password: required unless source is "pam" (checked below). */
	static const struct field fnew[] = {
		{ "name", F_STRING, true },
		{ "password", F_STRING, false },
		{ "role", F_STRING, true },
		{ "email", F_STRING, false },
		{ "source", F_STRING, false },
	};
	static const struct field fenroll[] = {
		{ "name", F_STRING, true },
		{ "password", F_STRING, true },
		{ "email", F_STRING, false },
	};
	static const struct field fpatch[] = {
		{ "role", F_STRING, false },
		{ "password", F_STRING, false },
		{ "email", F_STRING, false },
		{ "source", F_STRING, false },
	};
	const char *role, *source;
	int r;

	memset(out, 0, sizeof(*out));
	if (patch)
		r = check_fields(o, fpatch, ARRAY_SIZE(fpatch), true, err, errsz);
	else if (enroll)
		r = check_fields(o, fenroll, ARRAY_SIZE(fenroll), true, err, errsz);
	else
		r = check_fields(o, fnew, ARRAY_SIZE(fnew), true, err, errsz);
	if (r < 0)
		return r;
	if (!patch && (r = check_name(o, "name", &out->name, err, errsz)) < 0)
		return r;
	out->password = get_str(o, "password");
	if (out->password && !auth_password_acceptable(out->password))
		return fail(err, errsz, "password: 8-256 bytes of UTF-8 text");
	out->email = get_str(o, "email");
	if (out->email && !email_valid(out->email))
		return fail(err, errsz, "email: not an address");
	role = get_str(o, "role");
	if (role) {
		if (user_role_parse(role, &out->role) < 0)
			return fail(err, errsz, "role: user, delegated_admin or admin");
		out->has_role = true;
	}
	source = get_str(o, "source");
	if (source) {
		if (user_source_parse(source, &out->source) < 0)
			return fail(err, errsz, "source: local or pam");
		out->has_source = true;
	}
	/* PAM keeps PAM users' passwords: the broker takes none for them. */
	if (out->source == USER_SOURCE_PAM && out->password)
		return fail(err, errsz, "password: PAM users have none here");
	if (!patch && !enroll && out->source == USER_SOURCE_LOCAL && !out->password)
		return fail(err, errsz, "password: required");
	return 0;
}

int apijson_pool(struct json_object *o, bool create, struct db_pool *p, char *err,
		 size_t errsz)
{
	static const struct field f[] = {
		{ "name", F_STRING, false },
		{ "description", F_STRING, false },
		{ "kind", F_STRING, false },
		{ "template", F_STRING, false },
		{ "memory_mb", F_INT, false },
		{ "cpus", F_INT, false },
		{ "max_desktops", F_INT, false },
		{ "max_per_user", F_INT, false },
		{ "expiry_days", F_INT, false },
		{ "cost_per_gb_day", F_NUMBER, false },
		{ "cost_per_cpu_day", F_NUMBER, false },
	};
	static const char *const required[] = { "name", "template", "memory_mb", "cpus" };
	const char *s;
	size_t i;
	int r;

	r = check_fields(o, f, ARRAY_SIZE(f), true, err, errsz);
	if (r < 0)
		return r;
	if (create) {
		for (i = 0; i < ARRAY_SIZE(required); i++)
			if (!get(o, required[i]))
				return fail(err, errsz, "%s: required", required[i]);
	} else if (get(o, "name")) {
		return fail(err, errsz, "name: cannot be changed");
	}
	s = NULL;
	if ((r = check_name(o, "name", &s, err, errsz)) < 0)
		return r;
	if (s)
		snprintf(p->name, sizeof(p->name), "%s", s);
	s = NULL;
	if ((r = check_text(o, "description", DB_DESC_MAX, &s, err, errsz)) < 0)
		return r;
	if (s)
		snprintf(p->description, sizeof(p->description), "%s", s);
	s = get_str(o, "kind");
	if (s && pool_kind_parse(s, &p->kind) < 0)
		return fail(err, errsz, "kind: personal or pooled");
	s = NULL;
	if ((r = check_name(o, "template", &s, err, errsz)) < 0)
		return r;
	if (s)
		snprintf(p->template, sizeof(p->template), "%s", s);
	if ((r = get_int(o, "memory_mb", 1, APIJSON_MEMORY_MB_MAX, &p->memory_mb, err,
			 errsz)) < 0 ||
	    (r = get_int(o, "cpus", 1, APIJSON_CPUS_MAX, &p->cpus, err, errsz)) < 0 ||
	    (r = get_int(o, "max_desktops", 0, APIJSON_MAX_DESKTOPS_MAX, &p->max_desktops, err,
			 errsz)) < 0 ||
	    (r = get_int(o, "max_per_user", 0, APIJSON_MAX_DESKTOPS_MAX, &p->max_per_user, err,
			 errsz)) < 0 ||
	    (r = get_int(o, "expiry_days", 0, APIJSON_EXPIRY_DAYS_MAX, &p->expiry_days, err,
			 errsz)) < 0 ||
	    (r = get_num(o, "cost_per_gb_day", 0, APIJSON_COST_MAX, &p->cost_per_gb_day, err,
			 errsz)) < 0 ||
	    (r = get_num(o, "cost_per_cpu_day", 0, APIJSON_COST_MAX, &p->cost_per_cpu_day, err,
			 errsz)) < 0)
		return r;
	return 0;
}

int apijson_desktop(struct json_object *o, struct apijson_desktop *out, char *err,
		    size_t errsz)
{
	static const struct field f[] = {
		{ "pool", F_STRING, true },
		/* required in personal pools (broker.c): pooled ones name their own */
		{ "name", F_STRING, false },
		{ "description", F_STRING, false },
		{ "memory_mb", F_INT, false },
		{ "cpus", F_INT, false },
		{ "expiry_days", F_INT, false },
		{ "admins", F_ARRAY, false },
		{ "owner", F_STRING, false },
	};
	struct json_object *arr;
	size_t i, j, n;
	int r;

	memset(out, 0, sizeof(*out));
	out->memory_mb = out->cpus = out->expiry_days = -1;
	r = check_fields(o, f, ARRAY_SIZE(f), true, err, errsz);
	if (r < 0)
		return r;
	if ((r = check_name(o, "pool", &out->pool, err, errsz)) < 0 ||
	    (r = check_name(o, "name", &out->name, err, errsz)) < 0 ||
	    (r = check_name(o, "owner", &out->owner, err, errsz)) < 0 ||
	    (r = check_text(o, "description", DB_DESC_MAX, &out->description, err, errsz)) < 0 ||
	    (r = get_int(o, "memory_mb", 1, APIJSON_MEMORY_MB_MAX, &out->memory_mb, err,
			 errsz)) < 0 ||
	    (r = get_int(o, "cpus", 1, APIJSON_CPUS_MAX, &out->cpus, err, errsz)) < 0 ||
	    (r = get_int(o, "expiry_days", 0, APIJSON_EXPIRY_DAYS_MAX, &out->expiry_days, err,
			 errsz)) < 0)
		return r;
	arr = get(o, "admins");
	if (arr) {
		n = json_object_array_length(arr);
		if (n > DB_ADMINS_MAX)
			return fail(err, errsz, "admins: at most %d", DB_ADMINS_MAX);
		for (i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);
			const char *s = json_object_get_string(v);

			if (!json_object_is_type(v, json_type_string) || !apijson_name_valid(s))
				return fail(err, errsz, "admins: must be an array of user names");
			for (j = 0; j < out->nadmins; j++)
				if (!strcmp(out->admins[j], s))
					break;
			if (j == out->nadmins)
				out->admins[out->nadmins++] = s;
		}
	}
	return 0;
}

int apijson_desktop_patch(struct json_object *o, const char **description, char *err,
			  size_t errsz)
{
	static const struct field f[] = {
		{ "description", F_STRING, true },
	};
	int r;

	r = check_fields(o, f, ARRAY_SIZE(f), true, err, errsz);
	if (r < 0)
		return r;
	r = check_text(o, "description", DB_DESC_MAX, description, err, errsz);
	return r < 0 ? r : 0;
}

int apijson_maintenance(struct json_object *o, bool *on, char *err, size_t errsz)
{
	static const struct field f[] = {
		{ "on", F_BOOL, true },
	};
	int r;

	r = check_fields(o, f, ARRAY_SIZE(f), true, err, errsz);
	if (r < 0)
		return r;
	*on = json_object_get_boolean(get(o, "on"));
	return 0;
}

int apijson_empty(struct json_object *o, char *err, size_t errsz)
{
	return check_fields(o, NULL, 0, true, err, errsz);
}

/* "http(s)://" and printable ASCII without spaces. */
static bool url_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n > DB_URL_MAX || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '<' || s[i] == '>')
			return false;
	return true;
}

/* "ADDR:PORT" with an IPv4 literal, or "[IPv6]:PORT", or a DNS name. */
static bool address_valid(const char *s)
{
	size_t i, n = strlen(s);
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (n == 0 || n > DB_ADDR_MAX || !colon || colon == s)
		return false;
	if (parse_uint(colon + 1, 1, 65535, &port) < 0)
		return false;
	for (i = 0; s + i < colon; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

int apijson_host_report(struct json_object *o, struct db_host *h, struct apijson_vm *vms,
			size_t max, size_t *nvms, char *err, size_t errsz)
{
	static const struct field f[] = {
		{ "name", F_STRING, true },
		{ "api_url", F_STRING, true },
		{ "rdp_address", F_STRING, false }, /* null: the host runs no skyrdp */
		{ "cpus", F_INT, true },
		{ "mem_total_mb", F_INT, true },
		{ "mem_free_mb", F_INT, true },
		{ "vms", F_ARRAY, true },
	};
	static const struct field fvm[] = {
		{ "name", F_STRING, true },
		{ "state", F_STRING, true },
		{ "template", F_STRING, false },
		{ "memory_mb", F_INT, false },
		{ "cpus", F_INT, false },
		{ "restarts", F_INT, false },
	};
	static const char *const states[] = { "off", "starting", "running", "stopping", "crashed" };
	struct json_object *arr;
	const char *s = NULL;
	size_t i, j, n;
	int r;

	r = check_fields(o, f, ARRAY_SIZE(f), false, err, errsz);
	if (r < 0)
		return r;
	memset(h, 0, sizeof(*h));
	if ((r = check_name(o, "name", &s, err, errsz)) < 0)
		return r;
	snprintf(h->name, sizeof(h->name), "%s", s);
	s = get_str(o, "api_url");
	if (!url_valid(s))
		return fail(err, errsz, "api_url: an http(s) URL of at most %d bytes", DB_URL_MAX);
	snprintf(h->api_url, sizeof(h->api_url), "%s", s);
	s = get_str(o, "rdp_address");
	if (s && !address_valid(s))
		return fail(err, errsz, "rdp_address: ADDR:PORT");
	snprintf(h->rdp_address, sizeof(h->rdp_address), "%s", s ? s : "");
	if ((r = get_int(o, "cpus", 0, 1 << 16, &h->cpus, err, errsz)) < 0 ||
	    (r = get_int(o, "mem_total_mb", 0, INT64_C(1) << 40, &h->mem_total_mb, err,
			 errsz)) < 0 ||
	    (r = get_int(o, "mem_free_mb", 0, INT64_C(1) << 40, &h->mem_free_mb, err, errsz)) < 0)
		return r;
	arr = get(o, "vms");
	n = json_object_array_length(arr);
	if (n > max || n > APIJSON_VMS_MAX)
		return fail(err, errsz, "vms: at most %zu", MIN(max, (size_t)APIJSON_VMS_MAX));
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_object))
			return fail(err, errsz, "vms[%zu]: must be an object", i);
		r = check_fields(v, fvm, ARRAY_SIZE(fvm), false, err, errsz);
		if (r < 0)
			return r;
		vms[i].name = NULL;
		if ((r = check_name(v, "name", &vms[i].name, err, errsz)) < 0)
			return r;
		s = get_str(v, "state");
		for (j = 0; j < ARRAY_SIZE(states); j++)
			if (!strcmp(s, states[j]))
				break;
		if (j == ARRAY_SIZE(states))
			return fail(err, errsz, "vms[%zu].state: off, starting, running, stopping "
				    "or crashed", i);
		vms[i].state = states[j];
	}
	*nvms = n;
	return 0;
}

// SPDX-License-Identifier: GPL-3.0-or-later
/* Strict JSON input (fields.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "util.h"
#include "vm.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Blanks at text[from..len), counted without reading past len. */
static size_t blanks(const char *text, size_t from, size_t len)
{
	size_t i = from;

	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	return i - from;
}

int host_json_parse(const char *text, size_t len, struct json_object **ret, char *err,
		    size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error e;
	size_t end;

	if (len > INT32_MAX)
		return fail(err, errlen, "body too large");
	/* json-c would stop at a NUL and call the rest trailing garbage; say so. */
	if (memchr(text, '\0', len))
		return fail(err, errlen, "body is not JSON: NUL byte");
	tok = json_tokener_new_ex(HOST_JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || e != json_tokener_success) {
		size_t lead = blanks(text, 0, len);

		json_object_put(obj);
		/* json-c waits for more after a bare scalar ("null", "12"), as
		 * after a truncated object: tell the two apart. */
		if (lead < len && text[lead] != '{' && (e == json_tokener_continue ||
							 e == json_tokener_success))
			return fail(err, errlen, "body must be a JSON object");
		return fail(err, errlen, "body is not JSON: %s",
			    e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
	}
	if (end > len || blanks(text, end, len) != len - end) {
		json_object_put(obj);
		return fail(err, errlen, "body is not JSON: data after the object");
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return fail(err, errlen, "body must be a JSON object");
	}
	*ret = obj;
	return 0;
}

bool host_text_valid(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const struct host_field *find(const struct host_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

int host_fields_check(struct json_object *obj, const struct host_field *fields, size_t n,
		      char *err, size_t errlen)
{
	json_object_object_foreach(obj, key, val) {
		const struct host_field *f = find(fields, n, key);

		if (!f && (strlen(key) > 64 || !host_text_valid(key)))
			return fail(err, errlen, "unknown field");
		if (!f)
			return fail(err, errlen, "unknown field \"%s\"", key);
		switch (f->type) {
		case HOST_FIELD_INT: {
			int64_t v;

			/* json-c clamps big numbers to INT64_MIN/MAX, still out of range. */
			if (!json_object_is_type(val, json_type_int))
				return fail(err, errlen, "%s: expected an integer", key);
			v = json_object_get_int64(val);
			if (v < f->min || v > f->max)
				return fail(err, errlen, "%s: %lld is out of range %lld-%lld", key,
					    (long long)v, (long long)f->min, (long long)f->max);
			break;
		}
		case HOST_FIELD_STRING:
		case HOST_FIELD_NAME: {
			const char *s;
			size_t len;

			if (!json_object_is_type(val, json_type_string))
				return fail(err, errlen, "%s: expected a string", key);
			s = json_object_get_string(val);
			len = (size_t)json_object_get_string_len(val);
			if (strlen(s) != len)
				return fail(err, errlen, "%s: NUL character", key);
			if (f->type == HOST_FIELD_NAME) {
				if (!host_name_valid(s))
					return fail(err, errlen, "%s: not a valid name (1-64 of "
						    "A-Z a-z 0-9 . _ -, not starting with - or .)",
						    key);
				break;
			}
			if ((int64_t)len < f->min || (int64_t)len > f->max)
				return fail(err, errlen, "%s: length %zu is out of range %lld-%lld",
					    key, len, (long long)f->min, (long long)f->max);
			if (!(f->valid ? f->valid(s) : host_text_valid(s)))
				return fail(err, errlen, "%s: invalid characters", key);
			break;
		}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !json_object_object_get_ex(obj, fields[i].name, NULL))
			return fail(err, errlen, "%s: missing", fields[i].name);
	return 0;
}

const char *host_field_str(struct json_object *obj, const char *name, const char *def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return def;
	return json_object_get_string(v);
}

int64_t host_field_int(struct json_object *obj, const char *name, int64_t def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_int))
		return def;
	return json_object_get_int64(v);
}

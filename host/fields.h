/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Strict JSON input for skyhostd: request bodies, VM records and template
 * files all go through host_json_parse() (one object, nothing after it,
 * valid UTF-8, no NUL, bounded depth) and host_fields_check() (every member
 * known, of the right type, in range).  Errors are a message naming the
 * field, for the 400 answer or the log line.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_JSON_MAX_DEPTH 8

int host_json_parse(const char *text, size_t len, struct json_object **ret, char *err,
		    size_t errlen);

enum host_field_type {
	HOST_FIELD_STRING,  /* length in [min, max] bytes */
	HOST_FIELD_INT,     /* value in [min, max] */
	HOST_FIELD_NAME,    /* a string satisfying host_name_valid() */
};

struct host_field {
	const char *name;
	enum host_field_type type;
	bool required;
	int64_t min, max;
	/* Strings: a further check (NULL: host_text_valid). */
	bool (*valid)(const char *s);
};

/* -EINVAL with err filled when obj has a member not in fields, a member of
 * the wrong type or out of range, or lacks a required one. */
int host_fields_check(struct json_object *obj, const struct host_field *fields, size_t n,
		      char *err, size_t errlen);

/* Getters for checked objects: the member or def when absent. */
const char *host_field_str(struct json_object *obj, const char *name, const char *def);
int64_t host_field_int(struct json_object *obj, const char *name, int64_t def);

/* No control characters (below 0x20, 0x7f). */
bool host_text_valid(const char *s);

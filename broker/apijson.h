/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The request bodies of the broker's APIs (docs/api.md): strict parsing
 * and validation into plain structs, pure and fuzzed
 * (tests/fuzz/fuzz-broker-api.c).  Every function returns 0, or -EINVAL
 * with a message for the client in err that names the field.  Strings in
 * the results are borrowed from the JSON object.
 *
 * REST bodies (§1) are strict: unknown fields, wrong types and values out
 * of range are refused.  Host reports (§2) ignore fields they do not know,
 * so hosts may be newer than the broker.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct json_object;

#define APIJSON_ERR_MAX 160
/* Nesting depth of request bodies. */
#define APIJSON_DEPTH 8
#define APIJSON_VMS_MAX 1024
#define APIJSON_MEMORY_MB_MAX (1024 * 1024)
#define APIJSON_CPUS_MAX 256
#define APIJSON_MAX_DESKTOPS_MAX 100000
#define APIJSON_EXPIRY_DAYS_MAX 3650
#define APIJSON_COST_MAX 1e6

/* 1-64 of [A-Za-z0-9._-], not starting with '-' or '.'. */
bool apijson_name_valid(const char *s);
/* Valid UTF-8 of at most max bytes, no NUL. */
bool apijson_text_valid(const char *s, size_t len, size_t max);
/* Valid UTF-8 (shortest forms, no surrogates), no NUL; with no_controls,
 * no C0 control or DEL either (passwords). */
bool apijson_utf8_valid(const char *s, size_t len, bool no_controls);

/* Parse body[0..len) as one JSON object (strict JSON, valid UTF-8, depth
 * bounded, nothing but whitespace after it).  *ret is the caller's. */
int apijson_parse(const char *body, size_t len, struct json_object **ret, char *err,
		  size_t errsz);

struct apijson_login {
	const char *name, *password;
};
int apijson_login(struct json_object *o, struct apijson_login *out, char *err, size_t errsz);

/* POST /users (role required; password too unless source is "pam"),
 * /enroll (no role, no source); PATCH /users/{name} (every field
 * optional, name refused).  A password with source "pam" is refused. */
struct apijson_user {
	const char *name, *password, *email; /* NULL: not given */
	bool has_role, has_source;
	enum user_role role;
	enum user_source source; /* local unless has_source */
};
int apijson_user(struct json_object *o, bool enroll, bool patch, struct apijson_user *out,
		 char *err, size_t errsz);

/* POST /pools (create: name, template, memory_mb, cpus required; the rest
 * take defaults already in *p) or PATCH /pools/{name} (fields given
 * replace those in *p; name refused).  Strings are copied into *p. */
int apijson_pool(struct json_object *o, bool create, struct db_pool *p, char *err,
		 size_t errsz);

struct apijson_desktop {
	const char *pool, *name, *description, *owner; /* NULL: not given */
	int64_t memory_mb, cpus, expiry_days;           /* -1: not given */
	const char *admins[DB_ADMINS_MAX];
	size_t nadmins;
};
int apijson_desktop(struct json_object *o, struct apijson_desktop *out, char *err,
		    size_t errsz);
/* PATCH /desktops/{name}: {"description"} */
int apijson_desktop_patch(struct json_object *o, const char **description, char *err,
			  size_t errsz);
/* POST /hosts/{name}/maintenance: {"on": bool} */
int apijson_maintenance(struct json_object *o, bool *on, char *err, size_t errsz);
/* An action's body (start/stop/restart): empty object only. */
int apijson_empty(struct json_object *o, char *err, size_t errsz);

struct apijson_vm {
	const char *name;
	const char *state; /* "off" | "starting" | "running" | "stopping" | "crashed" */
};
/* A HostReport: host fields into *h (name, api_url, rdp_address, cpus,
 * mem_total_mb, mem_free_mb), its VMs into vms[0..*nvms). */
int apijson_host_report(struct json_object *o, struct db_host *h, struct apijson_vm *vms,
			size_t max, size_t *nvms, char *err, size_t errsz);

// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The broker's request bodies (broker/apijson.c): every REST body and
 * every host report goes through apijson_parse() and one of these
 * validators.  Each accepted result must keep the promises the API relies
 * on: names valid, text bounded UTF-8, numbers in range.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max)
{
	if (s && !apijson_text_valid(s, strlen(s), max))
		abort();
}

static void check_name(const char *s)
{
	if (s && !apijson_name_valid(s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct apijson_vm vms[APIJSON_VMS_MAX];
	char err[APIJSON_ERR_MAX];
	struct apijson_login login;
	struct apijson_user user;
	struct apijson_desktop desk;
	struct json_object *o = NULL;
	struct db_pool pool = { .memory_mb = 1, .cpus = 1 };
	struct db_host host;
	const char *desc;
	size_t nvms, i;
	bool on;

	if (apijson_parse((const char *)data, size, &o, err, sizeof(err)) < 0) {
		if (o || !err[0])
			abort();
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		abort();

	if (apijson_login(o, &login, err, sizeof(err)) == 0 && (!login.name || !login.password))
		abort();
	for (i = 0; i < 3; i++) {
		if (apijson_user(o, i == 1, i == 2, &user, err, sizeof(err)) < 0)
			continue;
		check_name(user.name);
		if (user.password && strlen(user.password) > 256)
			abort();
		/* PAM users (source "pam", POST /users only) have no password. */
		if (i < 2 && (!user.name || (!user.password && user.source != USER_SOURCE_PAM)))
			abort();
		if (user.source == USER_SOURCE_PAM && user.password)
			abort();
		if (i == 1 && user.has_source)
			abort();
	}
	for (i = 0; i < 2; i++) {
		if (apijson_pool(o, i == 0, &pool, err, sizeof(err)) < 0)
			continue;
		check_text(pool.description, DB_DESC_MAX);
		if (i == 0) {
			check_name(pool.name);
			check_name(pool.template);
		}
		if (pool.memory_mb < 1 || pool.memory_mb > APIJSON_MEMORY_MB_MAX || pool.cpus < 1 ||
		    pool.cost_per_gb_day < 0 || !(pool.cost_per_cpu_day <= APIJSON_COST_MAX))
			abort();
	}
	if (apijson_desktop(o, &desk, err, sizeof(err)) == 0) {
		check_name(desk.pool);
		check_name(desk.name);
		check_name(desk.owner);
		check_text(desk.description, DB_DESC_MAX);
		if (desk.nadmins > DB_ADMINS_MAX)
			abort();
		for (i = 0; i < desk.nadmins; i++)
			check_name(desk.admins[i]);
	}
	if (apijson_desktop_patch(o, &desc, err, sizeof(err)) == 0)
		check_text(desc, DB_DESC_MAX);
	apijson_maintenance(o, &on, err, sizeof(err));
	apijson_empty(o, err, sizeof(err));
	if (apijson_host_report(o, &host, vms, APIJSON_VMS_MAX, &nvms, err, sizeof(err)) == 0) {
		check_name(host.name);
		if (nvms > APIJSON_VMS_MAX)
			abort();
		for (i = 0; i < nvms; i++)
			if (!apijson_name_valid(vms[i].name) || !vms[i].state)
				abort();
	}
	json_object_put(o);
	return 0;
}

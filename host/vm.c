// SPDX-License-Identifier: GPL-3.0-or-later
/* The pure parts of skyhostd's VMs (vm.h). */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "fields.h"
#include "util.h"
#include "vm.h"

#define NS_PER_S UINT64_C(1000000000)

bool host_name_valid(const char *name)
{
	size_t n;

	if (!name || !*name || *name == '-' || *name == '.')
		return false;
	for (n = 0; name[n]; n++) {
		char c = name[n];

		if (n >= HOST_NAME_MAX_LEN)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

const char *host_vm_state_name(enum host_vm_state s)
{
	switch (s) {
	case HOST_VM_OFF: return "off";
	case HOST_VM_STARTING: return "starting";
	case HOST_VM_RUNNING: return "running";
	case HOST_VM_STOPPING: return "stopping";
	case HOST_VM_CRASHED: return "crashed";
	}
	return "?";
}

static bool desired_valid(const char *s)
{
	return !strcmp(s, "running") || !strcmp(s, "off");
}

static const struct host_field record_fields[] = {
	{ "name", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "template", HOST_FIELD_NAME, true, 0, 0, NULL },
	{ "memory_mb", HOST_FIELD_INT, true, HOST_VM_MEM_MIN_MB, HOST_VM_MEM_MAX_MB, NULL },
	{ "cpus", HOST_FIELD_INT, true, 1, HOST_VM_CPUS_MAX, NULL },
	{ "desired", HOST_FIELD_STRING, true, 2, 7, desired_valid },
};

int host_vm_record_parse(const char *text, size_t len, struct host_vm *vm, char *err,
			 size_t errlen)
{
	struct json_object *obj;
	int r;

	r = host_json_parse(text, len, &obj, err, errlen);
	if (r < 0)
		return r;
	r = host_fields_check(obj, record_fields, ARRAY_SIZE(record_fields), err, errlen);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", host_field_str(obj, "name", ""));
	snprintf(vm->template_name, sizeof(vm->template_name), "%s",
		 host_field_str(obj, "template", ""));
	vm->memory_mb = (uint32_t)host_field_int(obj, "memory_mb", 0);
	vm->cpus = (uint32_t)host_field_int(obj, "cpus", 0);
	vm->want_running = !strcmp(host_field_str(obj, "desired", ""), "running");
	vm->state = HOST_VM_OFF;
	json_object_put(obj);
	return 0;
}

struct json_object *host_vm_record_json(const struct host_vm *vm)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "template", json_object_new_string(vm->template_name));
	json_object_object_add(o, "memory_mb", json_object_new_int64(vm->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(vm->cpus));
	json_object_object_add(o, "desired",
			       json_object_new_string(vm->want_running ? "running" : "off"));
	return o;
}

static struct json_object *time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_object_new_string(buf);
}

struct json_object *host_vm_json(const struct host_vm *vm)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "template", json_object_new_string(vm->template_name));
	json_object_object_add(o, "memory_mb", json_object_new_int64(vm->memory_mb));
	json_object_object_add(o, "cpus", json_object_new_int64(vm->cpus));
	json_object_object_add(o, "state", json_object_new_string(host_vm_state_name(vm->state)));
	json_object_object_add(o, "pid", vm->pid > 0 ? json_object_new_int64(vm->pid) : NULL);
	json_object_object_add(o, "restarts", json_object_new_int64(vm->restarts));
	json_object_object_add(o, "last_exit",
			       vm->last_exit[0] ? json_object_new_string(vm->last_exit) : NULL);
	json_object_object_add(o, "started", vm->pid > 0 ? time_json(vm->started) : NULL);
	return o;
}

void host_exit_text(int wstatus, char *buf, size_t size)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, size, "killed by signal %d%s", WTERMSIG(wstatus),
			 WCOREDUMP(wstatus) ? " (core dumped)" : "");
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)wstatus);
}

unsigned host_backoff_s(unsigned streak)
{
	if (streak == 0)
		return 0;
	if (streak > 6)
		return HOST_BACKOFF_MAX_S;
	return MIN(1u << (streak - 1), (unsigned)HOST_BACKOFF_MAX_S);
}

int host_crash_record(struct host_crash_history *h, uint64_t now_ns, uint64_t ran_ns)
{
	const uint64_t window = HOST_CRASH_WINDOW_S * NS_PER_S;
	unsigned recent = 0;

	if (ran_ns >= window)
		h->streak = 0;
	h->streak++;
	h->times_ns[h->next] = now_ns;
	h->next = (h->next + 1) % HOST_CRASH_MAX;
	if (h->n < HOST_CRASH_MAX)
		h->n++;
	for (unsigned i = 0; i < h->n; i++)
		if (now_ns - h->times_ns[i] < window)
			recent++;
	if (recent >= HOST_CRASH_MAX)
		return -1;
	return (int)host_backoff_s(h->streak);
}

enum host_exit_action host_vm_exited(struct host_vm *vm, int wstatus, uint64_t now_ns,
				     unsigned *delay_s)
{
	bool requested = vm->stop_requested, restart = vm->restart_requested;
	uint64_t ran = now_ns - vm->spawned_ns;
	int delay;

	host_exit_text(wstatus, vm->last_exit, sizeof(vm->last_exit));
	vm->pid = 0;
	vm->started = 0;
	vm->stop_requested = false;
	vm->restart_requested = false;
	*delay_s = 0;
	if (requested) {
		vm->state = HOST_VM_OFF;
		return restart ? HOST_EXIT_START : HOST_EXIT_OFF;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		/* The guest powered off (or someone used skyvm's own stop). */
		vm->state = HOST_VM_OFF;
		vm->want_running = false;
		return HOST_EXIT_OFF;
	}
	vm->state = HOST_VM_CRASHED;
	delay = host_crash_record(&vm->crashes, now_ns, ran);
	if (delay < 0)
		return HOST_EXIT_GIVE_UP;
	vm->restarts++;
	*delay_s = (unsigned)delay;
	return HOST_EXIT_RESTART;
}

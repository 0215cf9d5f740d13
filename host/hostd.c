// SPDX-License-Identifier: GPL-3.0-or-later
/* skyhostd's state (hostd.h): the VM table and its records, the report,
 * and the hand-over of work to the loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "hostd.h"
#include "log.h"
#include "loop.h"
#include "report.h"
#include "util.h"

LOG_SCOPE("host.state");

#define RECORD_MAX (64 * 1024)

struct call {
	struct hostd *h;
	void (*fn)(struct hostd *h, void *arg);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void call_task(void *p)
{
	struct call *c = p;

	c->fn(c->h, c->arg);
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int hostd_call(struct hostd *h, void (*fn)(struct hostd *h, void *arg), void *arg)
{
	struct call c = {
		.h = h, .fn = fn, .arg = arg,
		.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	};
	int r;

	/* The loop runs every task posted before closing is set (main() keeps
	 * it running until the callers are gone). */
	if (atomic_load(&h->closing))
		return -ESHUTDOWN;
	r = loop_post(h->loop, call_task, &c);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c.lock);
	while (!c.done)
		pthread_cond_wait(&c.cond, &c.lock);
	pthread_mutex_unlock(&c.lock);
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.cond);
	return 0;
}

struct host_vm *hostd_vm_find(struct hostd *h, const char *name)
{
	for (size_t i = 0; i < h->nvms; i++)
		if (!strcmp(h->vms[i]->name, name))
			return h->vms[i];
	return NULL;
}

int hostd_vm_add(struct hostd *h, struct host_vm *vm)
{
	struct host_vm **v;

	if (h->nvms >= HOST_VMS_MAX)
		return -ENOSPC;
	v = realloc(h->vms, (h->nvms + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->vms = v;
	h->vms[h->nvms++] = vm;
	vm->owner = h;
	return 0;
}

void hostd_vm_forget(struct hostd *h, struct host_vm *vm)
{
	for (size_t i = 0; i < h->nvms; i++) {
		if (h->vms[i] == vm) {
			memmove(&h->vms[i], &h->vms[i + 1], (h->nvms - i - 1) * sizeof(*h->vms));
			h->nvms--;
			break;
		}
	}
	free(vm);
}

static char *record_path(const struct hostd *h, const char *name, const char *suffix)
{
	char *p;

	return asprintf(&p, "%s/%s.json%s", h->vms_dir, name, suffix) < 0 ? NULL : p;
}

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int hostd_vm_save(struct hostd *h, const struct host_vm *vm)
{
	_cleanup_free_ char *path = record_path(h, vm->name, "");
	_cleanup_free_ char *tmp = record_path(h, vm->name, ".tmp");
	_cleanup_free_ char *text = NULL;
	struct json_object *o = host_vm_record_json(vm);
	size_t len, done = 0;
	int fd, r = 0;

	if (!path || !tmp || !o ||
	    asprintf(&text, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY)) < 0) {
		json_object_put(o);
		text = NULL;
		return -ENOMEM;
	}
	json_object_put(o);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (done < len && r == 0) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		fsync_dir(h->vms_dir);
out:
	if (r < 0)
		log_errno(LOG_ERR, r, "vm %s: cannot write %s", vm->name, path);
	return r;
}

int hostd_vm_unsave(struct hostd *h, const struct host_vm *vm)
{
	_cleanup_free_ char *path = record_path(h, vm->name, "");

	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		return log_errno(LOG_ERR, -errno, "vm %s: cannot remove %s", vm->name, path);
	fsync_dir(h->vms_dir);
	return 0;
}

int hostd_vms_load(struct hostd *h)
{
	struct dirent *de;
	DIR *d = opendir(h->vms_dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name), len = 0;
		struct host_vm *vm;
		char err[256];
		char *text = NULL;
		int r;

		if (de->d_name[0] == '.' || nlen <= 5 || strcmp(de->d_name + nlen - 5, ".json"))
			continue;
		r = read_file_at(dirfd(d), de->d_name, O_NOFOLLOW, RECORD_MAX, &text, &len);
		if (r < 0) {
			log_errno(LOG_WARN, r, "VM record %s/%s: skipped", h->vms_dir, de->d_name);
			continue;
		}
		vm = calloc(1, sizeof(*vm));
		if (!vm) {
			free(text);
			closedir(d);
			return -ENOMEM;
		}
		r = host_vm_record_parse(text, len, vm, err, sizeof(err));
		free(text);
		if (r == 0 && (nlen - 5 != strlen(vm->name) ||
			       strncmp(de->d_name, vm->name, nlen - 5))) {
			snprintf(err, sizeof(err), "name \"%s\" is not the file's", vm->name);
			r = -EINVAL;
		}
		if (r == 0 && hostd_vm_find(h, vm->name)) {
			snprintf(err, sizeof(err), "a second record of %s", vm->name);
			r = -EEXIST;
		}
		if (r < 0) {
			log_warn("VM record %s/%s: %s; skipped", h->vms_dir, de->d_name, err);
			free(vm);
			continue;
		}
		r = hostd_vm_add(h, vm);
		if (r < 0) {
			log_errno(LOG_WARN, r, "VM record %s/%s: skipped", h->vms_dir, de->d_name);
			free(vm);
			continue;
		}
		if (!host_templates_find(&h->templates, vm->template_name))
			log_warn("vm %s: its template %s is not there (yet)", vm->name,
				 vm->template_name);
	}
	closedir(d);
	return 0;
}

static int read_meminfo(uint64_t *total_mb, uint64_t *avail_mb)
{
	_cleanup_close_ int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	return host_meminfo_parse(buf, (size_t)n, total_mb, avail_mb);
}

struct json_object *hostd_report(struct hostd *h)
{
	uint64_t committed = host_committed_mb(h->vms, h->nvms);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct host_info info = {
		.name = h->name,
		.api_url = h->api_url,
		.rdp_address = h->rdp_address,
		.cpus = cpus > 0 ? (unsigned)cpus : 1,
	};
	uint64_t total = 0, avail = 0;

	if (h->mem_total_mb) {
		info.mem_total_mb = h->mem_total_mb;
		info.mem_free_mb = host_mem_free_mb(h->mem_total_mb, UINT64_MAX, committed);
	} else if (read_meminfo(&total, &avail) == 0) {
		info.mem_total_mb = total;
		info.mem_free_mb = host_mem_free_mb(total, avail, committed);
	}
	return host_report_json(&info, h->vms, h->nvms);
}

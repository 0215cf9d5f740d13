// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyhostd's processes (hostd.h): one skyvm per VM and one skyrdp, all on
 * the loop thread.  A VM's one timer means what its state says: in
 * "starting" it probes the control socket (running once it answers), in
 * "stopping" it is the SIGKILL deadline, in "crashed" the restart.
 *
 * A stop asks skyvm for a guest shutdown through the shutdown integration
 * service with skyvm's own deadline (docs/control.md "shutdown" with
 * timeout_s); where the guest has no such service yet, it sends "stop".
 * Where the control socket does not answer, SIGTERM (skyvm stops the VM on
 * it).  SIGKILL comes --stop-timeout + 5 s after the request, for a skyvm
 * that is itself stuck.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostd.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "util.h"

LOG_SCOPE("host.supervisor");

#define NS_PER_S UINT64_C(1000000000)
#define PROBE_NS (100 * UINT64_C(1000000))
/* A skyvm still without a control socket this long is worth a warning. */
#define SLOW_START_S 60
#define KILL_GRACE_S 5
/* Beyond the stop timeout, how long SIGTERM's shutdown waits before SIGKILL. */
#define SHUTDOWN_GRACE_S 10
#define ARGV_MAX 32

static void vm_timer_cb(struct loop *l, void *data);

static void set_state(struct host_vm *vm, enum host_vm_state s, const char *why)
{
	if (vm->state == s)
		return;
	log_info("vm %s: %s -> %s%s%s", vm->name, host_vm_state_name(vm->state),
		 host_vm_state_name(s), why ? ": " : "", why ? why : "");
	vm->state = s;
}

static int arm(struct hostd *h, struct host_vm *vm, uint64_t first_ns, uint64_t period_ns)
{
	if (!vm->timer)
		return loop_add_timer(h->loop, first_ns, period_ns, vm_timer_cb, vm, &vm->timer);
	return loop_timer_set(vm->timer, first_ns, period_ns);
}

static void disarm(struct host_vm *vm)
{
	if (vm->timer)
		loop_timer_set(vm->timer, LOOP_TIMER_OFF, 0);
}

static void ctl_close(struct host_vm *vm)
{
	loop_source_remove(vm->ctl_src);
	vm->ctl_src = NULL;
	ipc_conn_free(vm->ctl);
	vm->ctl = NULL;
}

/*
 * Connect to a VM's control socket without blocking: a skyvm that stopped
 * accepting has a full backlog, where a blocking connect() would hang the
 * loop.  *ret_fd is nonblocking, close-on-exec.
 */
static int control_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static char *sock_path(const struct hostd *h, const struct host_vm *vm, const char *ext)
{
	char *p;

	return asprintf(&p, "%s/%s.%s", h->run_dir, vm->name, ext) < 0 ? NULL : p;
}

/*
 * fork + exec argv[0] with stdin on /dev/null, signals as a fresh process
 * has them, no inherited fds past stderr, and SIGTERM when skyhostd dies
 * (PR_SET_PDEATHSIG follows the forking thread: this is the main thread,
 * which lives as long as the process).  The child calls only
 * async-signal-safe functions: other threads may hold locks.
 */
static pid_t spawn(char *const argv[])
{
	pid_t parent = getpid(), pid;
	sigset_t none;

	sigemptyset(&none);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	{
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd >= 0 && fd != STDIN_FILENO) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
	}
	close_range(3, ~0U, 0);
	execvp(argv[0], argv);
	_exit(127);
}

static int vm_spawn(struct hostd *h, struct host_vm *vm)
{
	const struct host_template *t = host_templates_find(&h->templates, vm->template_name);
	char mem[32], cpus[16], res[32], vram[32];
	char *argv[ARGV_MAX];
	unsigned n = 0;
	pid_t pid;

	if (!t)
		return -ENOENT;
	snprintf(mem, sizeof(mem), "%uM", vm->memory_mb);
	snprintf(cpus, sizeof(cpus), "%u", vm->cpus);
	argv[n++] = (char *)h->skyvm;
	argv[n++] = "--kernel";
	argv[n++] = (char *)t->kernel;
	if (t->initrd[0]) {
		argv[n++] = "--initrd";
		argv[n++] = (char *)t->initrd;
	}
	argv[n++] = "--cmdline";
	argv[n++] = (char *)t->cmdline;
	argv[n++] = "--mem";
	argv[n++] = mem;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--name";
	argv[n++] = vm->name;
	argv[n++] = "--run-dir";
	argv[n++] = (char *)h->run_dir;
	/* The console is there through the control socket's "console". */
	argv[n++] = "--serial";
	argv[n++] = "none";
	if (t->width) {
		uint64_t bytes = (uint64_t)t->width * t->height * 4;

		snprintf(res, sizeof(res), "%ux%u", t->width, t->height);
		argv[n++] = "--resolution";
		argv[n++] = res;
		/* skyvm's default 32 MiB of VRAM holds up to 3840x2160. */
		if (bytes > 32 * MiB) {
			snprintf(vram, sizeof(vram), "%uM", (unsigned)(ALIGN_UP(bytes, MiB) / MiB));
			argv[n++] = "--vram";
			argv[n++] = vram;
		}
	}
	argv[n] = NULL;

	pid = spawn(argv);
	if (pid < 0)
		return (int)pid;
	vm->pid = pid;
	vm->spawned_ns = now_ns();
	vm->started = time(NULL);
	vm->stop_requested = false;
	log_info("vm %s: skyvm started, pid %d (template %s, %u MiB, %u vCPUs)", vm->name,
		 (int)pid, t->name, vm->memory_mb, vm->cpus);
	set_state(vm, HOST_VM_STARTING, NULL);
	if (arm(h, vm, PROBE_NS, PROBE_NS) < 0)
		log_warn("vm %s: no probe timer; it will show as starting", vm->name);
	return 0;
}

/* A spawn that failed leaves the VM crashed with the reason. */
static int vm_spawn_or_fail(struct hostd *h, struct host_vm *vm)
{
	int r = vm_spawn(h, vm);

	if (r < 0) {
		if (r == -ENOENT)
			snprintf(vm->last_exit, sizeof(vm->last_exit), "no template %s",
				 vm->template_name);
		else
			snprintf(vm->last_exit, sizeof(vm->last_exit), "cannot start: %s",
				 strerror(-r));
		log_err("vm %s: %s", vm->name, vm->last_exit);
		set_state(vm, HOST_VM_CRASHED, vm->last_exit);
	}
	return r;
}

int hostd_vm_start(struct hostd *h, struct host_vm *vm)
{
	switch (vm->state) {
	case HOST_VM_STARTING:
	case HOST_VM_RUNNING:
		vm->want_running = true;
		return 0;
	case HOST_VM_STOPPING:
		/* It comes back once it is down. */
		vm->want_running = true;
		vm->restart_requested = true;
		return 0;
	case HOST_VM_OFF:
	case HOST_VM_CRASHED:
		break;
	}
	disarm(vm);
	memset(&vm->crashes, 0, sizeof(vm->crashes));
	vm->want_running = true;
	return vm_spawn_or_fail(h, vm);
}

static void ctl_send(struct hostd *h, struct host_vm *vm, struct json_object *msg)
{
	int r = ipc_send(ipc_conn_fd(vm->ctl), msg, NULL, 0);

	json_object_put(msg);
	if (r < 0) {
		log_errno(LOG_WARN, r, "vm %s: control socket; sending SIGTERM", vm->name);
		ctl_close(vm);
		if (vm->pid > 0)
			kill(vm->pid, SIGTERM);
	}
}

static void ctl_line(struct ipc_conn *c, struct json_object *msg, int err, int *fds, size_t nfds,
		     void *data)
{
	struct host_vm *vm = data;
	struct json_object *v;
	struct json_object *stop;
	bool ok;

	if (!msg)
		return;
	ok = json_object_object_get_ex(msg, "ok", &v) && json_object_get_boolean(v);
	if (!json_object_object_get_ex(msg, "id", &v) || json_object_get_int(v) != 1)
		return;
	if (ok) {
		log_info("vm %s: guest asked to shut down", vm->name);
		return;
	}
	json_object_object_get_ex(msg, "error", &v);
	log_info("vm %s: no guest shutdown (%s); stopping the VM", vm->name,
		 v ? json_object_get_string(v) : "?");
	stop = json_object_new_object();
	json_object_object_add(stop, "cmd", json_object_new_string("stop"));
	json_object_object_add(stop, "id", json_object_new_int(2));
	ctl_send(vm->owner, vm, stop);
}

static void ctl_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct host_vm *vm = data;
	int r = ipc_conn_read(vm->ctl, ctl_line, vm);

	/* ctl_line may have closed it already. */
	if (r != 0 && vm->ctl)
		ctl_close(vm);
}

static void send_shutdown(struct hostd *h, struct host_vm *vm)
{
	struct json_object *msg;
	char *path = sock_path(h, vm, "sock");
	int fd = -1, r;

	r = path ? control_connect(path, &fd) : -ENOMEM;
	free(path);
	if (r >= 0) {
		r = ipc_conn_new(fd, &vm->ctl);
		if (r < 0)
			close(fd);
	}
	if (r >= 0) {
		r = loop_add_fd(h->loop, fd, EPOLLIN, ctl_readable, vm, &vm->ctl_src);
		if (r < 0)
			ctl_close(vm);
	}
	if (r < 0) {
		log_info("vm %s: control socket not reachable (%s); sending SIGTERM", vm->name,
			 strerror(-r));
		kill(vm->pid, SIGTERM);
		return;
	}
	msg = json_object_new_object();
	json_object_object_add(msg, "cmd", json_object_new_string("shutdown"));
	json_object_object_add(msg, "id", json_object_new_int(1));
	json_object_object_add(msg, "reason", json_object_new_string(
		h->shutting_down ? "the host agent is stopping" : "stop requested"));
	json_object_object_add(msg, "timeout_s", json_object_new_int((int)h->stop_timeout_s));
	ctl_send(h, vm, msg);
}

void hostd_vm_stop(struct hostd *h, struct host_vm *vm)
{
	vm->restart_requested = false;
	switch (vm->state) {
	case HOST_VM_OFF:
	case HOST_VM_STOPPING:
		return;
	case HOST_VM_CRASHED:
		/* No process: a pending restart is called off. */
		disarm(vm);
		set_state(vm, HOST_VM_OFF, "stop requested");
		return;
	case HOST_VM_STARTING:
	case HOST_VM_RUNNING:
		break;
	}
	vm->stop_requested = true;
	set_state(vm, HOST_VM_STOPPING,
		  h->shutting_down ? "host agent stopping" : "stop requested");
	arm(h, vm, (uint64_t)(h->stop_timeout_s + KILL_GRACE_S) * NS_PER_S, 0);
	send_shutdown(h, vm);
}

int hostd_vm_restart(struct hostd *h, struct host_vm *vm)
{
	switch (vm->state) {
	case HOST_VM_OFF:
	case HOST_VM_CRASHED:
		return hostd_vm_start(h, vm);
	case HOST_VM_STARTING:
	case HOST_VM_RUNNING:
		hostd_vm_stop(h, vm);
		break;
	case HOST_VM_STOPPING:
		break;
	}
	vm->want_running = true;
	vm->restart_requested = true;
	return 0;
}

static void vm_cleanup_files(struct hostd *h, struct host_vm *vm)
{
	const char *exts[] = { "sock", "display" };

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		char *p = sock_path(h, vm, exts[i]);

		if (p)
			unlink(p);
		free(p);
	}
}

static void vm_free_now(struct hostd *h, struct host_vm *vm)
{
	ctl_close(vm);
	loop_source_remove(vm->timer);
	vm->timer = NULL;
	vm_cleanup_files(h, vm);
	log_info("vm %s: deleted", vm->name);
	hostd_vm_forget(h, vm);
}

void hostd_vm_delete(struct hostd *h, struct host_vm *vm)
{
	vm->delete_requested = true;
	vm->want_running = false;
	hostd_vm_stop(h, vm);
	if (!vm->pid)
		vm_free_now(h, vm);
}

static void check_all_gone(struct hostd *h)
{
	if (!h->shutting_down || h->rdp.pid > 0)
		return;
	for (size_t i = 0; i < h->nvms; i++)
		if (h->vms[i]->pid > 0)
			return;
	log_info("every VM is down");
	loop_quit(h->loop, 0);
}

static void vm_timer_cb(struct loop *l, void *data)
{
	struct host_vm *vm = data;
	struct hostd *h = vm->owner;

	switch (vm->state) {
	case HOST_VM_STARTING: {
		char *path = sock_path(h, vm, "sock");
		int fd, r;

		r = path ? control_connect(path, &fd) : -ENOMEM;
		free(path);
		if (r >= 0) {
			close(fd);
			disarm(vm);
			set_state(vm, HOST_VM_RUNNING, NULL);
		} else if (now_ns() - vm->spawned_ns > SLOW_START_S * NS_PER_S &&
			   now_ns() - vm->spawned_ns <= SLOW_START_S * NS_PER_S + PROBE_NS) {
			log_warn("vm %s: no control socket after %d s", vm->name, SLOW_START_S);
		}
		break;
	}
	case HOST_VM_STOPPING:
		if (vm->pid > 0) {
			log_warn("vm %s: still up %u s after the stop request; SIGKILL", vm->name,
				 h->stop_timeout_s + KILL_GRACE_S);
			kill(vm->pid, SIGKILL);
		}
		break;
	case HOST_VM_CRASHED:
		if (!h->shutting_down && vm->want_running && !vm->pid) {
			log_info("vm %s: restarting after crash %u", vm->name, vm->restarts);
			vm_spawn_or_fail(h, vm);
		}
		break;
	case HOST_VM_OFF:
	case HOST_VM_RUNNING:
		disarm(vm);
		break;
	}
}

static void vm_exited(struct hostd *h, struct host_vm *vm, int wstatus)
{
	bool wanted = vm->want_running;
	enum host_vm_state old = vm->state;
	enum host_exit_action act;
	unsigned delay;

	ctl_close(vm);
	disarm(vm);
	act = host_vm_exited(vm, wstatus, now_ns(), &delay);
	/* host_vm_exited set the new state; log the transition from old. */
	log_info("vm %s: %s -> %s: skyvm %s", vm->name, host_vm_state_name(old),
		 host_vm_state_name(vm->state), vm->last_exit);
	if (vm->delete_requested) {
		vm_free_now(h, vm);
		check_all_gone(h);
		return;
	}
	if (wanted != vm->want_running && hostd_vm_save(h, vm) < 0)
		log_warn("vm %s: could not record that it is off", vm->name);
	if (h->shutting_down) {
		check_all_gone(h);
		return;
	}
	switch (act) {
	case HOST_EXIT_OFF:
		if (wanted && !vm->want_running)
			log_info("vm %s: the guest powered off", vm->name);
		break;
	case HOST_EXIT_START:
		vm_spawn_or_fail(h, vm);
		break;
	case HOST_EXIT_RESTART:
		log_warn("vm %s: crashed (%s); restart %u in %u s", vm->name, vm->last_exit,
			 vm->restarts, delay);
		if (arm(h, vm, (uint64_t)delay * NS_PER_S, 0) < 0)
			log_err("vm %s: no timer for the restart", vm->name);
		break;
	case HOST_EXIT_GIVE_UP:
		log_err("vm %s: crashed (%s), %d times within %d s; not restarting it", vm->name,
			vm->last_exit, HOST_CRASH_MAX, HOST_CRASH_WINDOW_S);
		break;
	}
}

/* --- skyrdp -------------------------------------------------------------- */

static void rdp_timer_cb(struct loop *l, void *data)
{
	struct hostd *h = data;

	if (!h->shutting_down && h->rdp.pid <= 0)
		hostd_rdp_start(h);
}

int hostd_rdp_start(struct hostd *h)
{
	char *argv[] = {
		(char *)h->skyrdp, "--listen", (char *)h->rdp_listen, "--run-dir",
		(char *)h->run_dir, "--state-dir", h->rdp_state_dir, "--tokens", h->tokens_dir,
		NULL,
	};
	pid_t pid = spawn(argv);

	if (pid < 0)
		return (int)pid;
	h->rdp.pid = pid;
	h->rdp.spawned_ns = now_ns();
	log_info("skyrdp started, pid %d, listening on %s", (int)pid, h->rdp_listen);
	return 0;
}

static void rdp_exited(struct hostd *h, int wstatus)
{
	char text[48];
	unsigned delay;
	int r;

	host_exit_text(wstatus, text, sizeof(text));
	h->rdp.pid = 0;
	if (h->shutting_down) {
		log_info("skyrdp: %s", text);
		check_all_gone(h);
		return;
	}
	if (now_ns() - h->rdp.spawned_ns >= HOST_CRASH_WINDOW_S * NS_PER_S)
		h->rdp.streak = 0;
	delay = host_backoff_s(++h->rdp.streak);
	log_warn("skyrdp: %s; restarting it in %u s", text, delay);
	if (!h->rdp.timer)
		r = loop_add_timer(h->loop, (uint64_t)delay * NS_PER_S, 0, rdp_timer_cb, h,
				   &h->rdp.timer);
	else
		r = loop_timer_set(h->rdp.timer, (uint64_t)delay * NS_PER_S, 0);
	if (r < 0)
		log_err("skyrdp: no timer to restart it");
}

void hostd_reap(struct hostd *h)
{
	int wstatus;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		bool found = false;

		for (size_t i = 0; i < h->nvms && !found; i++) {
			if (h->vms[i]->pid == pid) {
				found = true;
				vm_exited(h, h->vms[i], wstatus);
			}
		}
		if (!found && pid == h->rdp.pid) {
			found = true;
			rdp_exited(h, wstatus);
		}
		if (!found)
			log_debug("reaped unknown child %d", (int)pid);
	}
}

/* --- SIGTERM --------------------------------------------------------------- */

static void kill_all(struct hostd *h)
{
	for (size_t i = 0; i < h->nvms; i++) {
		if (h->vms[i]->pid > 0) {
			log_warn("vm %s: still up; SIGKILL", h->vms[i]->name);
			kill(h->vms[i]->pid, SIGKILL);
		}
	}
	if (h->rdp.pid > 0)
		kill(h->rdp.pid, SIGKILL);
}

static void shutdown_timer_cb(struct loop *l, void *data)
{
	kill_all(data);
}

void hostd_shutdown(struct hostd *h)
{
	if (h->shutting_down) {
		log_warn("second request to stop: killing what is left");
		kill_all(h);
		return;
	}
	h->shutting_down = true;
	log_info("stopping every VM%s", h->rdp.pid > 0 ? " and skyrdp" : "");
	for (size_t i = 0; i < h->nvms; i++) {
		struct host_vm *vm = h->vms[i];

		/* want_running stays as recorded: they come back with skyhostd. */
		if (vm->pid > 0)
			hostd_vm_stop(h, vm);
		else
			disarm(vm);
	}
	if (h->rdp.timer)
		loop_timer_set(h->rdp.timer, LOOP_TIMER_OFF, 0);
	if (h->rdp.pid > 0)
		kill(h->rdp.pid, SIGTERM);
	if (loop_add_timer(h->loop, (uint64_t)(h->stop_timeout_s + SHUTDOWN_GRACE_S) * NS_PER_S, 0,
			   shutdown_timer_cb, h, &h->shutdown_timer) < 0)
		log_warn("no shutdown deadline timer");
	check_all_gone(h);
}

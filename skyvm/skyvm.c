// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * skyvm: one process per VM.  The main thread runs the event loop (control
 * socket, console clients, stdin, signals); vCPU threads run the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "ipc.h"
#include "layout.h"
#include "log.h"
#include "loop.h"
#include "serial.h"
#include "vm.h"
#include "vmbus-ic.h"
#include "vmbus.h"
#include "display-server.h"
#include "input.h"
#include "synthvid.h"

LOG_SCOPE("skyvm");

#define SKYVM_MAX_CLIENTS 16
#define SKYVM_MAX_CONSOLES 8
#define SKYVM_EXIT_TRIPLE_FAULT 2
#define SKYVM_EXIT_INTERNAL_ERROR 3

struct skyvm;

struct client {
	struct skyvm *sky;
	struct ipc_conn *conn;
	struct loop_source *src;
	bool in_use;
};

struct console {
	struct skyvm *sky;
	int fd;
	struct loop_source *src;
};

struct skyvm {
	struct hv_vm_config cfg;
	const char *name;
	const char *control_path;
	bool no_reboot;
	struct loop *loop;
	struct hv_vm *vm;
	enum hv_vm_end end;
	unsigned boots;

	int serial_fd;       /* where guest serial output goes, or -1 */
	int debugcon_fd;
	bool stdin_raw;
	struct termios saved_tio;
	bool escape;         /* saw Ctrl-A on a raw stdin */
	struct loop_source *stdin_src;

	int control_fd;
	struct loop_source *control_src;
	int signal_fd;
	struct loop_source *signal_src;
	struct client clients[SKYVM_MAX_CLIENTS];

	pthread_mutex_t consoles_lock; /* consoles[] is read on vCPU threads */
	struct console *consoles[SKYVM_MAX_CONSOLES];

	/* Video: the display socket and the first resolution offered. */
	const char *display_path;
	char *control_path_buf, *display_path_buf;
	uint32_t width, height;
	/* The virtual GPU's devices and display server, per boot (they live on
	 * the VRAM of one hv_vm). */
	struct vgpu_synthvid *synthvid;
	struct vgpu_input input;
	struct vgpu_display_server *display;

	/* A graceful shutdown the operator asked for, and its deadline. */
	struct loop_source *shutdown_timer;
	unsigned shutdown_timeout_s;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: skyvm --kernel PATH [options]\n"
		"Run one virtual machine on KVM.\n\n"
		"  -k, --kernel PATH        bzImage or ELF64 vmlinux to boot (required)\n"
		"  -i, --initrd PATH        initial ramdisk\n"
		"  -a, --cmdline TEXT       kernel command line (alias --append)\n"
		"  -m, --mem SIZE           guest RAM, e.g. 256M, 2G (default 256M)\n"
		"  -c, --cpus N             vCPUs, 1-%d (default 1)\n"
		"      --cpu-features SPEC  hide CPUID features, e.g. -avx512f,-rdrand\n"
		"  -s, --serial WHERE       ttyS0 output: stdio (default), none, file:PATH\n"
		"      --debugcon PATH      write guest port 0xe9 bytes to PATH\n"
		"  -C, --control PATH       control socket (JSON lines) at PATH\n"
		"  -n, --name NAME          VM name shown in status (default \"vm\")\n"
		"  -D, --display PATH       display socket for viewers (docs/display.md)\n"
		"      --run-dir DIR        put the control and display sockets at\n"
		"                           DIR/NAME.sock and DIR/NAME.display (as skyctl\n"
		"                           vm ... NAME expects)\n"
		"      --vram SIZE          video memory, 8M-256M (default 32M); 0 = no video\n"
		"      --resolution WxH     the desktop size offered first (default 1024x768)\n"
		"      --no-reboot          exit when the guest resets instead of rebooting\n"
		"      --vmbus-echo         offer the VMBus echo device (tests, benchmarks)\n"
		"  -h, --help               show this help\n\n"
		"Exit status: 0 guest powered off or stopped; 1 host failure; 2 guest triple\n"
		"fault; 3 KVM internal error; 64 usage error; 65 bad kernel or initrd;\n"
		"66 a file could not be opened.\n",
		HV_MAX_VCPUS);
}

/* --- guest output -------------------------------------------------------- */

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* vCPU thread, UART lock held. */
static void serial_tx(const uint8_t *buf, size_t len, void *data)
{
	struct skyvm *sky = data;

	if (sky->serial_fd >= 0)
		write_all(sky->serial_fd, buf, len);
	pthread_mutex_lock(&sky->consoles_lock);
	for (unsigned i = 0; i < SKYVM_MAX_CONSOLES; i++) {
		/* Non-blocking: a console client that doesn't read loses output;
		 * it never stalls the guest. */
		if (sky->consoles[i])
			(void)!send(sky->consoles[i]->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	pthread_mutex_unlock(&sky->consoles_lock);
}

static void debugcon_tx(uint8_t byte, void *data)
{
	struct skyvm *sky = data;

	if (sky->debugcon_fd >= 0)
		write_all(sky->debugcon_fd, &byte, 1);
}

/* --- consoles ------------------------------------------------------------ */

static void console_free(struct console *c)
{
	struct skyvm *sky = c->sky;

	pthread_mutex_lock(&sky->consoles_lock);
	for (unsigned i = 0; i < SKYVM_MAX_CONSOLES; i++)
		if (sky->consoles[i] == c)
			sky->consoles[i] = NULL;
	pthread_mutex_unlock(&sky->consoles_lock);
	loop_source_remove(c->src);
	close(c->fd);
	free(c);
}

static void serial_feed(struct skyvm *sky, const uint8_t *buf, size_t len)
{
	if (sky->vm && hv_serial_rx(hv_vm_serial(sky->vm), buf, len) < len)
		log_debug("serial receive buffer full, input dropped");
}

static void console_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct console *c = data;
	uint8_t buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		serial_feed(c->sky, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	console_free(c);
}

static int console_new(struct skyvm *sky, int *ret_peer)
{
	int sv[2];
	struct console *c;
	unsigned slot;
	int r;

	pthread_mutex_lock(&sky->consoles_lock);
	for (slot = 0; slot < SKYVM_MAX_CONSOLES && sky->consoles[slot]; slot++)
		;
	pthread_mutex_unlock(&sky->consoles_lock);
	if (slot == SKYVM_MAX_CONSOLES)
		return -EBUSY;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->sky = sky;
	c->fd = sv[0];
	r = loop_add_fd(sky->loop, c->fd, EPOLLIN, console_readable, c, &c->src);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		free(c);
		return r;
	}
	pthread_mutex_lock(&sky->consoles_lock);
	sky->consoles[slot] = c;
	pthread_mutex_unlock(&sky->consoles_lock);
	*ret_peer = sv[1];
	return 0;
}

/* --- control socket ------------------------------------------------------ */

static void add_completion(const char *mnemonic, uint64_t count, void *data)
{
	json_object_object_add(data, mnemonic, json_object_new_uint64(count));
}

/* Instructions completed because KVM refused them (docs/software-kvm.md). */
static struct json_object *completions_json(struct hv_vm *vm)
{
	struct json_object *o = json_object_new_object(), *by = json_object_new_object();
	struct hv_vm_completions c;

	hv_vm_get_completions(vm, &c, add_completion, by);
	json_object_object_add(o, "total", json_object_new_uint64(c.count));
	json_object_object_add(o, "time_ns", json_object_new_uint64(c.ns));
	json_object_object_add(o, "by_mnemonic", by);
	return o;
}

static struct json_object *hex64(uint64_t v)
{
	char buf[19];

	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *vcpus_json(struct hv_vm *vm)
{
	struct hv_vcpu_info info[HV_MAX_VCPUS];
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	int n = hv_vm_vcpu_info(vm, info, HV_MAX_VCPUS, 1000);

	json_object_object_add(o, "complete", json_object_new_boolean(n >= 0));
	if (n < 0)
		n = (int)hv_vm_ncpus(vm);
	for (int i = 0; i < n; i++) {
		struct json_object *v = json_object_new_object();

		json_object_object_add(v, "index", json_object_new_int((int)info[i].index));
		json_object_object_add(v, "online", json_object_new_boolean(info[i].online));
		if (info[i].sampled) {
			json_object_object_add(v, "rip", hex64(info[i].rip));
			json_object_object_add(v, "rsp", hex64(info[i].rsp));
			json_object_object_add(v, "rflags", hex64(info[i].rflags));
			json_object_object_add(v, "cr0", hex64(info[i].cr0));
			json_object_object_add(v, "cr3", hex64(info[i].cr3));
			json_object_object_add(v, "cpl", json_object_new_int((int)info[i].cpl));
			json_object_object_add(v, "lapic_lvt_timer", hex64(info[i].lvt_timer));
			json_object_object_add(v, "tsc_deadline", hex64(info[i].tsc_deadline));
			json_object_object_add(v, "tsc", hex64(info[i].tsc));
			json_object_object_add(v, "isr_top", json_object_new_int(info[i].isr_top));
			json_object_object_add(v, "irr_top", json_object_new_int(info[i].irr_top));
		}
		json_object_array_add(arr, v);
	}
	json_object_object_add(o, "vcpus", arr);
	return o;
}

static struct json_object *video_json(struct skyvm *sky)
{
	struct json_object *o = json_object_new_object(), *in = json_object_new_object();
	struct vgpu_input_stats is;

	if (sky->synthvid) {
		struct vgpu_synthvid_stats vs;
		struct vgpu_mode m;

		vgpu_synthvid_get_stats(sky->synthvid, &vs);
		vgpu_synthvid_get_mode(sky->synthvid, &m);
		json_object_object_add(o, "connected", json_object_new_boolean(vs.negotiated));
		if (m.valid) {
			json_object_object_add(o, "width", json_object_new_int((int)m.width));
			json_object_object_add(o, "height", json_object_new_int((int)m.height));
			json_object_object_add(o, "stride", json_object_new_int((int)m.stride));
		}
		json_object_object_add(o, "vram_gpa", hex64(vs.vram_gpa));
		json_object_object_add(o, "dirt_messages", json_object_new_uint64(vs.dirt_messages));
		json_object_object_add(o, "dirt_rects", json_object_new_uint64(vs.dirt_rects));
		json_object_object_add(o, "bad_messages", json_object_new_uint64(vs.bad_messages));
	}
	if (sky->display) {
		struct vgpu_display_server_stats ds;

		vgpu_display_server_get_stats(sky->display, &ds);
		json_object_object_add(o, "viewers", json_object_new_int((int)ds.viewers));
	}
	vgpu_input_get_stats(sky->input.kb, sky->input.mouse, &is);
	json_object_object_add(in, "keyboard", json_object_new_boolean(is.keyboard_connected));
	json_object_object_add(in, "mouse", json_object_new_boolean(is.mouse_connected));
	json_object_object_add(in, "keys_sent", json_object_new_uint64(is.keys_sent));
	json_object_object_add(in, "mouse_sent", json_object_new_uint64(is.mouse_sent));
	json_object_object_add(in, "dropped", json_object_new_uint64(is.dropped));
	json_object_object_add(in, "bad_messages", json_object_new_uint64(is.bad_messages));
	json_object_object_add(o, "input", in);
	return o;
}

static struct json_object *status_json(struct skyvm *sky)
{
	struct json_object *o = json_object_new_object(), *exits;
	struct hv_vm_stats st;

	json_object_object_add(o, "name", json_object_new_string(sky->name));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "kernel", json_object_new_string(sky->cfg.kernel_path));
	json_object_object_add(o, "boots", json_object_new_int((int)sky->boots));
	if (!sky->vm) {
		json_object_object_add(o, "state", json_object_new_string("stopped"));
		return o;
	}
	json_object_object_add(o, "state",
			       json_object_new_string(hv_vm_state_to_string(hv_vm_state(sky->vm))));
	json_object_object_add(o, "vcpus", json_object_new_int((int)hv_vm_ncpus(sky->vm)));
	json_object_object_add(o, "vcpus_online",
			       json_object_new_int((int)hv_vm_ncpus_online(sky->vm)));
	json_object_object_add(o, "memory_bytes", json_object_new_uint64(hv_vm_mem_size(sky->vm)));
	json_object_object_add(o, "memory_resident_bytes",
			       json_object_new_uint64(hv_vm_mem_resident(sky->vm)));
	hv_vm_get_stats(sky->vm, &st);
	exits = json_object_new_object();
	json_object_object_add(exits, "io", json_object_new_uint64(st.exits_io));
	json_object_object_add(exits, "mmio", json_object_new_uint64(st.exits_mmio));
	json_object_object_add(exits, "other", json_object_new_uint64(st.exits_other));
	json_object_object_add(o, "exits", exits);
	json_object_object_add(o, "completions", completions_json(sky->vm));
	if (sky->synthvid || sky->input.kb)
		json_object_object_add(o, "video", video_json(sky));
	return o;
}

static struct json_object *guid_json(const struct hv_guid *g)
{
	char buf[37];

	hv_guid_format(g, buf);
	return json_object_new_string(buf);
}

static void add_channel(struct hv_vmbus_channel *ch, void *data)
{
	struct json_object *arr = data, *c = json_object_new_object();
	const struct hv_vmbus_offer *offer = hv_vmbus_channel_offer(ch);

	json_object_object_add(c, "relid", json_object_new_int((int)hv_vmbus_channel_relid(ch)));
	json_object_object_add(c, "device", json_object_new_string(hv_vmbus_channel_name(ch)));
	json_object_object_add(c, "class", guid_json(&offer->if_type));
	json_object_object_add(c, "instance", guid_json(&offer->if_instance));
	json_object_object_add(c, "open", json_object_new_boolean(hv_vmbus_channel_is_open(ch)));
	json_object_array_add(arr, c);
}

static struct json_object *vmbus_json(struct hv_vm *vm)
{
	struct json_object *o = json_object_new_object(), *chans = json_object_new_array(), *st;
	struct hv_vmbus *vb = hv_vm_vmbus(vm);
	struct hv_vm_vmbus_stats s;
	uint32_t v = hv_vmbus_version(vb);
	char ver[16];

	json_object_object_add(o, "state",
			       json_object_new_string(hv_vmbus_state_to_string(hv_vmbus_get_state(vb))));
	snprintf(ver, sizeof(ver), "%u.%u", v >> 16, v & 0xffff);
	json_object_object_add(o, "version", v ? json_object_new_string(ver) : NULL);
	json_object_object_add(o, "guest_errors", json_object_new_uint64(hv_vmbus_errors(vb)));
	hv_vmbus_for_each_channel(vb, add_channel, chans);
	json_object_object_add(o, "channels", chans);
	hv_vm_get_vmbus_stats(vm, &s);
	st = json_object_new_object();
	json_object_object_add(st, "hypercalls", json_object_new_uint64(s.hypercalls));
	json_object_object_add(st, "failed_hypercalls", json_object_new_uint64(s.bad_hypercalls));
	json_object_object_add(st, "messages_from_guest", json_object_new_uint64(s.posts));
	json_object_object_add(st, "events_from_guest", json_object_new_uint64(s.signals));
	json_object_object_add(st, "insufficient_buffers", json_object_new_uint64(s.busy));
	json_object_object_add(st, "messages_to_guest", json_object_new_uint64(s.messages_delivered));
	json_object_object_add(st, "messages_dropped", json_object_new_uint64(s.messages_dropped));
	json_object_object_add(st, "eoms", json_object_new_uint64(s.eoms));
	json_object_object_add(st, "post_message_calls", json_object_new_uint64(s.post_message_calls));
	json_object_object_add(st, "post_message_ns", json_object_new_uint64(s.post_message_ns));
	json_object_object_add(st, "signal_event_calls", json_object_new_uint64(s.signal_event_calls));
	json_object_object_add(st, "signal_event_ns", json_object_new_uint64(s.signal_event_ns));
	json_object_object_add(o, "stats", st);
	return o;
}

static void add_kvp(const char *pool, const char *key, const char *value, void *data)
{
	struct json_object *pools = data, *p;

	if (!json_object_object_get_ex(pools, pool, &p)) {
		p = json_object_new_object();
		json_object_object_add(pools, pool, p);
	}
	json_object_object_add(p, key, json_object_new_string(value));
}

static struct json_object *ic_json(struct hv_vm *vm)
{
	struct json_object *o = json_object_new_object(), *kvp = json_object_new_object();
	struct hv_ic *ic = hv_vm_ic(vm);
	struct hv_ic_status st;
	uint64_t now = now_ns();

	hv_ic_get_status(ic, &st);
	for (unsigned k = 0; k < HV_IC_COUNT; k++) {
		const struct hv_ic_service_status *s = &st.svc[k];
		struct json_object *j = json_object_new_object();
		char ver[16];

		json_object_object_add(j, "open", json_object_new_boolean(s->open));
		json_object_object_add(j, "negotiated", json_object_new_boolean(s->negotiated));
		if (s->negotiated) {
			snprintf(ver, sizeof(ver), "%u.%u", s->message_version >> 16,
				 s->message_version & 0xffff);
			json_object_object_add(j, "version", json_object_new_string(ver));
		}
		json_object_object_add(j, "requests", json_object_new_uint64(s->requests));
		json_object_object_add(j, "responses", json_object_new_uint64(s->responses));
		json_object_object_add(j, "errors", json_object_new_uint64(s->errors));
		if (k == HV_IC_HEARTBEAT) {
			json_object_object_add(j, "sequence", json_object_new_uint64(st.heartbeat_seq));
			if (st.heartbeat_last_ns)
				json_object_object_add(j, "age_ms",
						       json_object_new_uint64((now - st.heartbeat_last_ns) / 1000000));
		} else if (k == HV_IC_TIMESYNC) {
			json_object_object_add(j, "samples", json_object_new_uint64(st.timesync_samples));
		} else if (k == HV_IC_KVP) {
			json_object_object_add(j, "pairs", json_object_new_int((int)st.kvp_pairs));
		}
		json_object_object_add(o, hv_ic_kind_to_string((enum hv_ic_kind)k), j);
	}
	hv_ic_kvp_for_each(ic, add_kvp, kvp);
	json_object_object_add(o, "kvp_pairs", kvp);
	return o;
}

static void shutdown_deadline(struct loop *l, void *data)
{
	struct skyvm *sky = data;

	(void)l;
	if (!sky->vm)
		return;
	log_warn("the guest did not shut down within %u s of the request; stopping it",
		 sky->shutdown_timeout_s);
	sky->no_reboot = true;
	hv_vm_request_end(sky->vm, HV_END_STOP);
}

static int request_shutdown(struct skyvm *sky, const struct hv_ctl_request *req, const char **err)
{
	const char *reason = req->reason[0] ? req->reason : "shutdown requested by the host operator";
	int r;

	r = hv_ic_request_shutdown(hv_vm_ic(sky->vm), req->reboot, reason);
	if (r == -ENOTCONN) {
		*err = "the guest's shutdown integration service is not connected";
		return r;
	}
	if (r == -EBUSY) {
		*err = "a shutdown request is already waiting for the guest's answer";
		return r;
	}
	if (r < 0) {
		*err = "cannot send the shutdown request";
		return r;
	}
	log_info("asked the guest to %s: %s", req->reboot ? "restart" : "shut down", reason);
	/* A restart comes back as an ACPI reset: let it reboot in place. */
	sky->no_reboot = !req->reboot;
	if (req->timeout_s) {
		sky->shutdown_timeout_s = req->timeout_s;
		if (!sky->shutdown_timer)
			r = loop_add_timer(sky->loop, (uint64_t)req->timeout_s * 1000000000ull, 0,
					   shutdown_deadline, sky, &sky->shutdown_timer);
		else
			r = loop_timer_set(sky->shutdown_timer,
					   (uint64_t)req->timeout_s * 1000000000ull, 0);
		if (r < 0)
			log_errno(LOG_WARN, r, "cannot arm the shutdown deadline");
	}
	return 0;
}

static void client_close(struct client *c)
{
	loop_source_remove(c->src);
	ipc_conn_free(c->conn);
	c->src = NULL;
	c->conn = NULL;
	c->in_use = false;
}

static void client_reply(struct client *c, struct json_object *reply, const int *fds, size_t nfds)
{
	int r;

	if (!reply)
		return;
	r = ipc_send(ipc_conn_fd(c->conn), reply, fds, nfds);
	if (r < 0)
		log_debug("control client: reply not sent: %s", strerror(-r));
	json_object_put(reply);
}

static void client_handle(struct client *c, const struct hv_ctl_request *req, struct json_object *id)
{
	struct skyvm *sky = c->sky;
	int r, fd;

	log_debug("control: %s", hv_ctl_cmd_to_string(req->cmd));
	switch (req->cmd) {
	case HV_CTL_STATUS:
		client_reply(c, hv_ctl_reply_ok(id, status_json(sky)), NULL, 0);
		return;
	case HV_CTL_PAUSE:
	case HV_CTL_RESUME:
		if (!sky->vm) {
			client_reply(c, hv_ctl_reply_error(id, "the VM is not running"), NULL, 0);
			return;
		}
		r = req->cmd == HV_CTL_PAUSE ? hv_vm_pause(sky->vm) : hv_vm_resume(sky->vm);
		if (r == -EALREADY)
			client_reply(c, hv_ctl_reply_error(id, req->cmd == HV_CTL_PAUSE
							   ? "already paused" : "not paused"), NULL, 0);
		else if (r < 0)
			client_reply(c, hv_ctl_reply_error(id, "the VM is stopping"), NULL, 0);
		else
			client_reply(c, hv_ctl_reply_ok(id, status_json(sky)), NULL, 0);
		return;
	case HV_CTL_STOP:
		log_info("stop requested on the control socket");
		client_reply(c, hv_ctl_reply_ok(id, NULL), NULL, 0);
		sky->no_reboot = true;
		if (sky->vm)
			hv_vm_request_end(sky->vm, HV_END_STOP);
		return;
	case HV_CTL_VCPUS:
		if (!sky->vm) {
			client_reply(c, hv_ctl_reply_error(id, "the VM is not running"), NULL, 0);
			return;
		}
		client_reply(c, hv_ctl_reply_ok(id, vcpus_json(sky->vm)), NULL, 0);
		return;
	case HV_CTL_VMBUS:
	case HV_CTL_IC:
	case HV_CTL_SHUTDOWN:
		if (!sky->vm || !hv_vm_vmbus(sky->vm)) {
			client_reply(c, hv_ctl_reply_error(id, "the VM is not running"), NULL, 0);
			return;
		}
		if (req->cmd == HV_CTL_VMBUS) {
			client_reply(c, hv_ctl_reply_ok(id, vmbus_json(sky->vm)), NULL, 0);
		} else if (req->cmd == HV_CTL_IC) {
			client_reply(c, hv_ctl_reply_ok(id, ic_json(sky->vm)), NULL, 0);
		} else {
			const char *err = NULL;

			if (request_shutdown(sky, req, &err) < 0)
				client_reply(c, hv_ctl_reply_error(id, err), NULL, 0);
			else
				client_reply(c, hv_ctl_reply_ok(id, NULL), NULL, 0);
		}
		return;
	case HV_CTL_CONSOLE:
		r = console_new(sky, &fd);
		if (r < 0) {
			client_reply(c, hv_ctl_reply_error(id, r == -EBUSY ? "too many consoles"
									 : "cannot open a console"), NULL, 0);
			return;
		}
		client_reply(c, hv_ctl_reply_ok(id, NULL), &fd, 1);
		close(fd);
		return;
	}
}

static void client_line(struct ipc_conn *conn, struct json_object *msg, int err, int *fds,
			size_t nfds, void *data)
{
	struct client *c = data;
	struct hv_ctl_request req;
	struct json_object *id = NULL;
	const char *emsg = NULL;
	int r;

	/* Requests carry no fds; any that came along are closed by ipc_conn. */
	(void)fds;
	(void)nfds;
	if (err < 0) {
		log_warn("control: rejected a request: %s", err == -EMSGSIZE ? "line too long" : "malformed JSON");
		client_reply(c, hv_ctl_reply_error(NULL, err == -EMSGSIZE ? "request line too long"
									  : "request is not a JSON object"),
			     NULL, 0);
		return;
	}
	r = hv_ctl_request_from_object(msg, &req, &emsg, &id);
	if (r < 0) {
		log_warn("control: rejected a request: %s", emsg);
		client_reply(c, hv_ctl_reply_error(id, emsg), NULL, 0);
		return;
	}
	client_handle(c, &req, json_object_get(req.id));
	hv_ctl_request_finish(&req);
	(void)conn;
}

static void client_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct client *c = data;
	int r = ipc_conn_read(c->conn, client_line, c);

	if (r != 0 && c->in_use)
		client_close(c);
}

static void control_accept(struct loop *l, int fd, uint32_t events, void *data)
{
	struct skyvm *sky = data;
	struct client *c = NULL;
	int cfd, r;

	r = ipc_accept(fd, &cfd);
	if (r < 0)
		return;
	for (unsigned i = 0; i < SKYVM_MAX_CLIENTS; i++)
		if (!sky->clients[i].in_use) {
			c = &sky->clients[i];
			break;
		}
	if (!c) {
		struct json_object *e = hv_ctl_reply_error(NULL, "too many control clients");
		ipc_send(cfd, e, NULL, 0);
		json_object_put(e);
		close(cfd);
		log_warn("control: refused a client, %d already connected", SKYVM_MAX_CLIENTS);
		return;
	}
	r = ipc_conn_new(cfd, &c->conn);
	if (r < 0) {
		close(cfd);
		return;
	}
	c->sky = sky;
	c->in_use = true;
	r = loop_add_fd(sky->loop, cfd, EPOLLIN, client_readable, c, &c->src);
	if (r < 0) {
		ipc_conn_free(c->conn);
		c->conn = NULL;
		c->in_use = false;
	}
}

/* --- stdin and signals --------------------------------------------------- */

static void stdin_restore(struct skyvm *sky)
{
	if (sky->stdin_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &sky->saved_tio);
		sky->stdin_raw = false;
	}
}

static void stdin_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct skyvm *sky = data;
	uint8_t buf[256], out[256];
	size_t m = 0;
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		loop_source_remove(sky->stdin_src);
		sky->stdin_src = NULL;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		/* On a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A
		 * (QEMU's convention). */
		if (sky->stdin_raw && sky->escape) {
			sky->escape = false;
			if (buf[i] == 'x') {
				log_info("stop requested from the terminal");
				sky->no_reboot = true;
				if (sky->vm)
					hv_vm_request_end(sky->vm, HV_END_STOP);
				continue;
			}
			if (buf[i] != 0x01)
				continue;
		} else if (sky->stdin_raw && buf[i] == 0x01) {
			sky->escape = true;
			continue;
		}
		out[m++] = buf[i];
	}
	serial_feed(sky, out, m);
}

static void signal_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct skyvm *sky = data;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("stopping on signal %u", si.ssi_signo);
	sky->no_reboot = true;
	if (sky->vm)
		hv_vm_request_end(sky->vm, HV_END_STOP);
	else
		loop_quit(sky->loop, 0);
}

static void vm_exited(struct hv_vm *vm, enum hv_vm_end end, void *data)
{
	struct skyvm *sky = data;

	sky->end = end;
	loop_quit(sky->loop, 0);
}

/* --- virtual GPU --------------------------------------------------------- */

static int map_vram(void *data, uint64_t gpa)
{
	struct skyvm *sky = data;

	return hv_vm_map_vram(sky->vm, gpa);
}

static int request_resolution(void *data, uint32_t width, uint32_t height)
{
	struct skyvm *sky = data;

	return sky->synthvid ? vgpu_synthvid_request_resolution(sky->synthvid, width, height)
			     : -ENODEV;
}

/* Video, keyboard and mouse on this boot's VMBus, and the display socket
 * for viewers.  Without VRAM (--vram 0) the VM is headless. */
static int vgpu_setup(struct skyvm *sky)
{
	struct hv_vmbus *vb = hv_vm_vmbus(sky->vm);
	uint8_t *vram;
	size_t vram_size;
	int r, vram_fd;

	if (!vb)
		return 0;
	r = vgpu_keyboard_new(vb, &sky->input.kb);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot create the synthetic keyboard");
	r = vgpu_mouse_new(vb, &sky->input.mouse);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot create the synthetic mouse");
	if (hv_vm_vram(sky->vm, &vram_fd, &vram, &vram_size) < 0)
		return 0;
	if (sky->display_path) {
		struct vgpu_display_server_config dcfg = {
			.loop = sky->loop,
			.path = sky->display_path,
			.vram_fd = vram_fd,
			.vram_size = vram_size,
			.input = vgpu_input_ops(),
			.input_data = &sky->input,
			.resolution = request_resolution,
			.data = sky,
		};

		r = vgpu_display_server_new(&dcfg, &sky->display);
		if (r < 0)
			return log_errno(LOG_ERR, r, "cannot open the display socket %s",
					 sky->display_path);
	}
	{
		struct vgpu_synthvid_config vcfg = {
			.vmbus = vb,
			.loop = sky->loop,
			.vram = vram,
			.vram_size = vram_size,
			.mmio_base = HV_VMBUS_MMIO_GPA,
			.mmio_size = HV_VMBUS_MMIO_SIZE,
			.map_vram = map_vram,
			.width = sky->width,
			.height = sky->height,
			.display = sky->display ? vgpu_display_server_ops() : NULL,
			.display_data = sky->display,
			.data = sky,
		};

		r = vgpu_synthvid_new(&vcfg, &sky->synthvid);
		if (r < 0)
			return log_errno(LOG_ERR, r, "cannot create the synthetic video device");
	}
	return 0;
}

static void vgpu_teardown(struct skyvm *sky)
{
	vgpu_synthvid_free(sky->synthvid);
	sky->synthvid = NULL;
	vgpu_display_server_free(sky->display);
	sky->display = NULL;
	vgpu_mouse_free(sky->input.mouse);
	vgpu_keyboard_free(sky->input.kb);
	sky->input.mouse = NULL;
	sky->input.kb = NULL;
}

/* --- main ---------------------------------------------------------------- */

struct completion_line {
	char buf[1024];
	size_t len;
};

static void append_completion(const char *mnemonic, uint64_t count, void *data)
{
	struct completion_line *l = data;
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, " %s=%" PRIu64, mnemonic, count);

	if (n > 0 && l->len + (size_t)n < sizeof(l->buf))
		l->len += (size_t)n;
}

/* One line at exit when skyvm had to complete instructions for KVM. */
static void log_completions(struct hv_vm *vm)
{
	struct completion_line l = { .len = 0 };
	struct hv_vm_completions c;

	hv_vm_get_completions(vm, &c, append_completion, &l);
	if (c.count)
		log_info("completed %" PRIu64 " instructions KVM refused, in %" PRIu64 " ms:%s", c.count,
			 c.ns / 1000000, l.buf);
}

static int exit_status(enum hv_vm_end end)
{
	switch (end) {
	case HV_END_NONE:
	case HV_END_POWEROFF:
	case HV_END_STOP:
	case HV_END_RESET:
		return 0;
	case HV_END_TRIPLE_FAULT:
		return SKYVM_EXIT_TRIPLE_FAULT;
	case HV_END_INTERNAL_ERROR:
		return SKYVM_EXIT_INTERNAL_ERROR;
	case HV_END_HOST_ERROR:
		return 1;
	}
	return 1;
}

static int setup_error_status(int r)
{
	switch (r) {
	case -ENOENT:
	case -EACCES:
	case -EISDIR:
	case -EINVAL:
		return EX_NOINPUT;
	case -ENOEXEC:
	case -E2BIG:
		return EX_DATAERR;
	}
	return 1;
}

static int parse_args(int argc, char **argv, struct skyvm *sky)
{
	enum { OPT_CPU_FEATURES = 0x100, OPT_DEBUGCON, OPT_NO_REBOOT, OPT_VMBUS_ECHO, OPT_RUN_DIR,
	       OPT_VRAM, OPT_RESOLUTION };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "cpu-features", required_argument, NULL, OPT_CPU_FEATURES },
		{ "serial", required_argument, NULL, 's' },
		{ "debugcon", required_argument, NULL, OPT_DEBUGCON },
		{ "control", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
		{ "vmbus-echo", no_argument, NULL, OPT_VMBUS_ECHO },
		{ "display", required_argument, NULL, 'D' },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "vram", required_argument, NULL, OPT_VRAM },
		{ "resolution", required_argument, NULL, OPT_RESOLUTION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *serial = "stdio", *debugcon = NULL, *run_dir = NULL;
	uint64_t v;
	int c, r;

	sky->cfg.vram_size = 32ull << 20;
	sky->width = 1024;
	sky->height = 768;
	while ((c = getopt_long(argc, argv, "k:i:a:m:c:s:C:n:D:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': sky->cfg.kernel_path = optarg; break;
		case 'i': sky->cfg.initrd_path = optarg; break;
		case 'a': sky->cfg.cmdline = optarg; break;
		case 'm':
			r = parse_size(optarg, &v);
			if (r < 0 || v < HV_MIN_MEM || v > HV_MAX_MEM || v % 4096) {
				fprintf(stderr, "skyvm: --mem %s: expected a size from %llu MiB to %llu GiB in whole pages, e.g. 256M\n",
					optarg, HV_MIN_MEM >> 20, HV_MAX_MEM >> 30);
				return EX_USAGE;
			}
			sky->cfg.mem_size = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1, HV_MAX_VCPUS, &v) < 0) {
				fprintf(stderr, "skyvm: --cpus %s: expected 1 to %d\n", optarg, HV_MAX_VCPUS);
				return EX_USAGE;
			}
			sky->cfg.ncpus = (unsigned)v;
			break;
		case OPT_CPU_FEATURES: {
			size_t bad = 0;
			if (hv_cpuid_mask_parse(optarg, &sky->cfg.cpuid_mask, &bad) < 0) {
				fprintf(stderr, "skyvm: --cpu-features: unknown or malformed feature \"%.*s\" (expected e.g. -avx2,-rdrand)\n",
					(int)strcspn(optarg + bad, ","), optarg + bad);
				return EX_USAGE;
			}
			break;
		}
		case 's': serial = optarg; break;
		case OPT_DEBUGCON: debugcon = optarg; break;
		case 'C': sky->control_path = optarg; break;
		case 'n': sky->name = optarg; break;
		case OPT_NO_REBOOT: sky->no_reboot = true; break;
		case OPT_VMBUS_ECHO: sky->cfg.vmbus_echo = true; break;
		case 'D': sky->display_path = optarg; break;
		case OPT_RUN_DIR: run_dir = optarg; break;
		case OPT_VRAM:
			r = parse_size(optarg, &v);
			if (r < 0 || (v && (v < (8ull << 20) || v > (256ull << 20) || v % (1 << 20)))) {
				fprintf(stderr, "skyvm: --vram %s: expected 0 or 8M to 256M in whole MiB\n",
					optarg);
				return EX_USAGE;
			}
			sky->cfg.vram_size = v;
			break;
		case OPT_RESOLUTION: {
			unsigned w, h;
			char end;

			if (sscanf(optarg, "%ux%u%c", &w, &h, &end) != 2 || w < 640 || h < 480 ||
			    w > 7680 || h > 4320) {
				fprintf(stderr, "skyvm: --resolution %s: expected WxH from 640x480 to 7680x4320\n",
					optarg);
				return EX_USAGE;
			}
			sky->width = w;
			sky->height = h;
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skyvm: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (!sky->cfg.kernel_path) {
		fprintf(stderr, "skyvm: --kernel is required\n");
		usage(stderr);
		return EX_USAGE;
	}
	if ((uint64_t)sky->width * sky->height * 4 > sky->cfg.vram_size && sky->cfg.vram_size) {
		fprintf(stderr, "skyvm: --resolution %ux%u does not fit in --vram %" PRIu64 "M\n",
			sky->width, sky->height, sky->cfg.vram_size >> 20);
		return EX_USAGE;
	}
	if (run_dir) {
		/* A name with a '/' would place the sockets elsewhere. */
		if (strchr(sky->name, '/') || !sky->name[0] || sky->name[0] == '.') {
			fprintf(stderr, "skyvm: --name %s cannot name a socket in --run-dir\n", sky->name);
			return EX_USAGE;
		}
		if (mkdir(run_dir, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "skyvm: --run-dir %s: %m\n", run_dir);
			return EX_CANTCREAT;
		}
		if (!sky->control_path && asprintf(&sky->control_path_buf, "%s/%s.sock", run_dir, sky->name) > 0)
			sky->control_path = sky->control_path_buf;
		if (!sky->display_path && asprintf(&sky->display_path_buf, "%s/%s.display", run_dir, sky->name) > 0)
			sky->display_path = sky->display_path_buf;
	}
	if (!strcmp(serial, "stdio")) {
		sky->serial_fd = STDOUT_FILENO;
	} else if (!strcmp(serial, "none")) {
		sky->serial_fd = -1;
	} else if (!strncmp(serial, "file:", 5) && serial[5]) {
		sky->serial_fd = open(serial + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (sky->serial_fd < 0) {
			fprintf(stderr, "skyvm: --serial %s: %m\n", serial);
			return EX_NOINPUT;
		}
	} else {
		fprintf(stderr, "skyvm: --serial %s: expected stdio, none or file:PATH\n", serial);
		return EX_USAGE;
	}
	if (debugcon) {
		sky->debugcon_fd = open(debugcon, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (sky->debugcon_fd < 0) {
			fprintf(stderr, "skyvm: --debugcon %s: %m\n", debugcon);
			return EX_NOINPUT;
		}
	}
	return 0;
}

static int setup_loop(struct skyvm *sky)
{
	sigset_t mask;
	int sfd, r;

	r = loop_new(&sky->loop);
	if (r < 0)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sky->signal_fd = sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	r = loop_add_fd(sky->loop, sfd, EPOLLIN, signal_readable, sky, &sky->signal_src);
	if (r < 0)
		return r;

	if (sky->control_path) {
		r = ipc_listen(sky->control_path, &sky->control_fd);
		if (r < 0) {
			log_errno(LOG_ERR, r, "cannot listen on %s", sky->control_path);
			return r;
		}
		r = loop_add_fd(sky->loop, sky->control_fd, EPOLLIN, control_accept, sky,
				&sky->control_src);
		if (r < 0)
			return r;
	}

	if (sky->serial_fd == STDOUT_FILENO) {
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &sky->saved_tio) == 0) {
			struct termios raw = sky->saved_tio;
			cfmakeraw(&raw);
			raw.c_oflag |= OPOST | ONLCR; /* keep our own log lines readable */
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				sky->stdin_raw = true;
		}
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
		/* stdin may be a regular file or /dev/null, which epoll refuses:
		 * then there is simply no input. */
		if (loop_add_fd(sky->loop, STDIN_FILENO, EPOLLIN, stdin_readable, sky, &sky->stdin_src) < 0)
			sky->stdin_src = NULL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct skyvm sky = {
		.cfg = { .mem_size = 256ull << 20, .ncpus = 1 },
		.name = "vm",
		.serial_fd = -1,
		.debugcon_fd = -1,
		.control_fd = -1,
		.signal_fd = -1,
		.consoles_lock = PTHREAD_MUTEX_INITIALIZER,
	};
	int r, status;

	log_set_ident("skyvm");
	r = parse_args(argc, argv, &sky);
	if (r)
		return r;
	sky.cfg.serial_tx = serial_tx;
	sky.cfg.debugcon_tx = debugcon_tx;
	sky.cfg.on_exit = vm_exited;
	sky.cfg.data = &sky;

	r = setup_loop(&sky);
	if (r < 0) {
		status = 1;
		goto out;
	}
	sky.cfg.loop = sky.loop;

	for (;;) {
		const char *msg = NULL;

		r = hv_vm_new(&sky.cfg, &sky.vm, &msg);
		if (r < 0) {
			log_err("%s (--kernel %s%s%s): %s", msg ? msg : "cannot create the VM",
				sky.cfg.kernel_path, sky.cfg.initrd_path ? ", --initrd " : "",
				sky.cfg.initrd_path ? sky.cfg.initrd_path : "", strerror(-r));
			status = setup_error_status(r);
			goto out;
		}
		r = vgpu_setup(&sky);
		if (r < 0) {
			vgpu_teardown(&sky);
			hv_vm_free(sky.vm);
			sky.vm = NULL;
			status = 1;
			goto out;
		}
		sky.boots++;
		sky.end = HV_END_NONE;
		log_debug("booting %s: %" PRIu64 " MiB, %u vCPU(s)", sky.cfg.kernel_path,
			  sky.cfg.mem_size >> 20, sky.cfg.ncpus);
		r = hv_vm_start(sky.vm);
		if (r < 0)
			log_errno(LOG_ERR, r, "cannot start the vCPUs");
		loop_run(sky.loop);
		log_debug("guest RAM resident at exit: %" PRIu64 " KiB", hv_vm_mem_resident(sky.vm) >> 10);
		log_completions(sky.vm);
		/* Devices go before the VM: they still hold its bus and VRAM. */
		vgpu_teardown(&sky);
		hv_vm_free(sky.vm);
		sky.vm = NULL;
		if (sky.shutdown_timer)
			loop_timer_set(sky.shutdown_timer, LOOP_TIMER_OFF, 0);
		if (sky.end != HV_END_RESET || sky.no_reboot)
			break;
		log_info("rebooting");
	}
	status = exit_status(sky.end);
	if (status)
		log_err("VM ended: %s", hv_vm_end_to_string(sky.end));
out:
	stdin_restore(&sky);
	if (sky.control_path && sky.control_fd >= 0)
		unlink(sky.control_path);
	for (unsigned i = 0; i < SKYVM_MAX_CLIENTS; i++)
		if (sky.clients[i].in_use)
			client_close(&sky.clients[i]);
	for (unsigned i = 0; i < SKYVM_MAX_CONSOLES; i++)
		if (sky.consoles[i])
			console_free(sky.consoles[i]);
	loop_source_remove(sky.control_src);
	loop_source_remove(sky.signal_src);
	loop_source_remove(sky.stdin_src);
	closep(&sky.control_fd);
	closep(&sky.signal_fd);
	if (sky.serial_fd > STDERR_FILENO)
		close(sky.serial_fd);
	closep(&sky.debugcon_fd);
	loop_free(sky.loop);
	free(sky.control_path_buf);
	free(sky.display_path_buf);
	return status;
}

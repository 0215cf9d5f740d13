// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The VM's VMBus host, wired to KVM: hypercalls arrive on vCPU threads and
 * are queued for the loop thread, which owns the bus (hv/vmbus.c) and the
 * integration services (hv/vmbus-ic.c); SynIC interrupts go out as MSIs.
 *
 *   vCPU thread: OUT to the hypercall port -> hv_hyperv_hypercall()
 *     -> vmbus_post_message() / vmbus_signal_event() below: copy into a
 *        bounded queue / set a bit, wake the loop through an eventfd.
 *   loop thread: vmbus_wake() -> hv_vmbus_message() / hv_vmbus_signal()
 *     -> devices -> hv_vmbus_host_ops -> hv_hyperv_post()/_signal()
 *     -> KVM_SIGNAL_MSI to the target VP.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "acpi.h"
#include "layout.h"
#include "log.h"
#include "loop.h"
#include "vm-internal.h"
#include "vmbus-echo.h"
#include "vmbus-ic.h"
#include "vmbus.h"

LOG_SCOPE("hv.vmbus");

/* Local APIC MSI address (SDM vol. 3 §11.11.1): destination APIC id in
 * bits 19:12; data = vector, fixed delivery, edge. */
#define MSI_ADDR_BASE 0xfee00000u

static int vmbus_interrupt(void *data, uint32_t vp, uint8_t vector)
{
	struct hv_vm *vm = data;
	struct kvm_msi msi = {
		.address_lo = MSI_ADDR_BASE | (vp << 12),
		.data = vector,
	};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

static void vmbus_wake_loop(struct hv_vm *vm)
{
	uint64_t one = 1;

	/* A full eventfd counter (never, in practice) still wakes the loop. */
	if (write(vm->vmbus_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("cannot wake the VMBus host: %m");
}

/* HvPostMessage, on the calling vCPU's thread.  The queue is what
 * INSUFFICIENT_BUFFERS pushes back on; Linux retries (vmbus_post_msg()). */
static uint16_t vmbus_post_message(void *data, uint32_t vp, uint32_t conn_id, uint32_t type,
				   const void *payload, uint32_t len)
{
	struct hv_vm *vm = data;
	struct hv_vm_vmbus_msg *m;

	(void)vp;
	if (!hv_vmbus_message_conn_valid(conn_id) || type != 1)
		return HV_STATUS_INVALID_CONNECTION_ID;
	pthread_mutex_lock(&vm->vmbus_lock);
	if (vm->vmbus_qlen == HV_VM_VMBUS_QUEUE) {
		pthread_mutex_unlock(&vm->vmbus_lock);
		atomic_fetch_add_explicit(&vm->vmbus_busy, 1, memory_order_relaxed);
		return HV_STATUS_INSUFFICIENT_BUFFERS;
	}
	m = &vm->vmbus_q[(vm->vmbus_qhead + vm->vmbus_qlen++) % HV_VM_VMBUS_QUEUE];
	m->conn_id = conn_id;
	m->len = len;
	memcpy(m->payload, payload, len);
	pthread_mutex_unlock(&vm->vmbus_lock);
	atomic_fetch_add_explicit(&vm->vmbus_posts, 1, memory_order_relaxed);
	vmbus_wake_loop(vm);
	return HV_STATUS_SUCCESS;
}

/* HvSignalEvent: a bit per channel; many signals before the loop runs
 * collapse into one drain, which is all a ring needs. */
static uint16_t vmbus_signal_event(void *data, uint32_t vp, uint32_t conn_id)
{
	struct hv_vm *vm = data;
	uint32_t relid;

	(void)vp;
	if (!hv_vmbus_event_conn_valid(conn_id))
		return HV_STATUS_INVALID_CONNECTION_ID;
	relid = conn_id - HV_VMBUS_EVENT_CONNECTION_BASE;
	/* Only ids of channels that exist, as Hyper-V answers. */
	if (!(atomic_load_explicit(&vm->vmbus_live[relid / 64], memory_order_relaxed) &
	      (1ull << (relid % 64))))
		return HV_STATUS_INVALID_CONNECTION_ID;
	atomic_fetch_or_explicit(&vm->vmbus_events[relid / 64], 1ull << (relid % 64),
				 memory_order_seq_cst);
	atomic_fetch_add_explicit(&vm->vmbus_signals, 1, memory_order_relaxed);
	vmbus_wake_loop(vm);
	return HV_STATUS_SUCCESS;
}

static const struct hv_hyperv_ops vm_hyperv_ops = {
	.interrupt = vmbus_interrupt,
	.post_message = vmbus_post_message,
	.signal_event = vmbus_signal_event,
};

/* The loop thread's half. */
static void vmbus_wake(struct loop *l, int fd, uint32_t events, void *data)
{
	struct hv_vm *vm = data;
	struct hv_vm_vmbus_msg m;
	uint64_t v;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("cannot read the VMBus eventfd: %m");
	for (;;) {
		pthread_mutex_lock(&vm->vmbus_lock);
		if (!vm->vmbus_qlen) {
			pthread_mutex_unlock(&vm->vmbus_lock);
			break;
		}
		m = vm->vmbus_q[vm->vmbus_qhead];
		vm->vmbus_qhead = (vm->vmbus_qhead + 1) % HV_VM_VMBUS_QUEUE;
		vm->vmbus_qlen--;
		pthread_mutex_unlock(&vm->vmbus_lock);
		/* The core logs (rate-limited) and counts what it refuses. */
		hv_vmbus_message(vm->vmbus, m.conn_id, m.payload, m.len);
	}
	for (unsigned w = 0; w < ARRAY_SIZE(vm->vmbus_events); w++) {
		uint64_t bits = atomic_exchange_explicit(&vm->vmbus_events[w], 0,
							 memory_order_seq_cst);

		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);

			bits &= bits - 1;
			hv_vmbus_signal(vm->vmbus, HV_VMBUS_EVENT_CONNECTION_BASE + w * 64 + b);
		}
	}
}

static int bus_post_message(void *data, uint32_t vp, uint32_t sint, const void *msg, size_t len)
{
	struct hv_vm *vm = data;

	return hv_hyperv_post(&vm->hyperv, vp, sint, 1, msg, len);
}

static int bus_signal_event(void *data, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct hv_vm *vm = data;

	return hv_hyperv_signal(&vm->hyperv, vp, sint, flag);
}

static void bus_relid_changed(void *data, uint32_t relid, bool exists)
{
	struct hv_vm *vm = data;
	uint64_t bit = 1ull << (relid % 64);

	if (exists)
		atomic_fetch_or_explicit(&vm->vmbus_live[relid / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&vm->vmbus_live[relid / 64], ~bit, memory_order_relaxed);
}

static const struct hv_vmbus_host_ops vm_bus_ops = {
	.post_message = bus_post_message,
	.signal_event = bus_signal_event,
	.relid_changed = bus_relid_changed,
};

static void ic_shutdown_ack(void *data, bool accepted)
{
	struct hv_vm *vm = data;

	if (accepted)
		log_info("guest accepted the shutdown request and is shutting down");
	else
		log_warn("guest refused the shutdown request");
	if (vm->cfg.on_shutdown_ack)
		vm->cfg.on_shutdown_ack(vm, accepted, vm->cfg.data);
}

int hv_vm_dsdt_vmbus(struct aml_buf *b, void *data)
{
	(void)data;
	hv_acpi_vmbus_device(b, HV_VMBUS_MMIO_GPA, HV_VMBUS_MMIO_SIZE);
	return 0;
}

int hv_vm_vmbus_setup(struct hv_vm *vm)
{
	struct hv_vmbus_config bcfg = {
		.mem = &vm->mem,
		.ops = &vm_bus_ops,
		.data = vm,
		.nvps = vm->ncpus,
	};
	struct hv_ic_config icfg = {
		.loop = vm->cfg.loop,
		.on_shutdown_ack = ic_shutdown_ack,
		.data = vm,
		/* The guest's reference counter (TIME_REF_COUNT, the TSC page)
		 * counts from here, and time sync samples must agree with it. */
		.ref_time_base_ns = vm->hyperv.start_ns,
	};
	int r;

	pthread_mutex_init(&vm->vmbus_lock, NULL);
	vm->vmbus_lock_init = true;
	vm->vmbus_efd = -1;
	if (!vm->cfg.loop)
		return 0; /* no loop, no VMBus (a bare VM for tests) */
	vm->vmbus_q = calloc(HV_VM_VMBUS_QUEUE, sizeof(*vm->vmbus_q));
	if (!vm->vmbus_q)
		return -ENOMEM;
	vm->vmbus_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->vmbus_efd < 0)
		return -errno;
	r = loop_add_fd(vm->cfg.loop, vm->vmbus_efd, EPOLLIN, vmbus_wake, vm, &vm->vmbus_src);
	if (r < 0)
		return r;
	r = hv_vmbus_new(&bcfg, &vm->vmbus);
	if (r < 0)
		return r;
	icfg.vmbus = vm->vmbus;
	r = hv_ic_new(&icfg, &vm->ic);
	if (r < 0)
		return r;
	if (vm->cfg.vmbus_echo) {
		r = hv_vmbus_echo_new(vm->vmbus, &vm->echo);
		if (r < 0)
			return r;
	}
	hv_hyperv_set_ops(&vm->hyperv, &vm_hyperv_ops, vm);
	return 0;
}

/* After the vCPU threads are gone, on the loop thread. */
void hv_vm_vmbus_teardown(struct hv_vm *vm)
{
	if (vm->hyperv_init)
		hv_hyperv_set_ops(&vm->hyperv, NULL, NULL);
	hv_vmbus_echo_free(vm->echo);
	vm->echo = NULL;
	hv_ic_free(vm->ic);
	vm->ic = NULL;
	hv_vmbus_free(vm->vmbus);
	vm->vmbus = NULL;
	loop_source_remove(vm->vmbus_src);
	vm->vmbus_src = NULL;
	if (vm->vmbus_efd >= 0)
		close(vm->vmbus_efd);
	vm->vmbus_efd = -1;
	free(vm->vmbus_q);
	vm->vmbus_q = NULL;
	if (vm->vmbus_lock_init)
		pthread_mutex_destroy(&vm->vmbus_lock);
	vm->vmbus_lock_init = false;
}

struct hv_vmbus *hv_vm_vmbus(struct hv_vm *vm)
{
	return vm->vmbus;
}

struct hv_ic *hv_vm_ic(struct hv_vm *vm)
{
	return vm->ic;
}

void hv_vm_get_vmbus_stats(struct hv_vm *vm, struct hv_vm_vmbus_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->posts = atomic_load_explicit(&vm->vmbus_posts, memory_order_relaxed);
	ret->signals = atomic_load_explicit(&vm->vmbus_signals, memory_order_relaxed);
	ret->busy = atomic_load_explicit(&vm->vmbus_busy, memory_order_relaxed);
	ret->hypercalls = __atomic_load_n(&vm->hyperv.hypercalls, __ATOMIC_RELAXED);
	ret->bad_hypercalls = __atomic_load_n(&vm->hyperv.bad_hypercalls, __ATOMIC_RELAXED);
	ret->post_message_calls = atomic_load_explicit(&vm->hypercall_n[0], memory_order_relaxed);
	ret->post_message_ns = atomic_load_explicit(&vm->hypercall_ns[0], memory_order_relaxed);
	ret->signal_event_calls = atomic_load_explicit(&vm->hypercall_n[1], memory_order_relaxed);
	ret->signal_event_ns = atomic_load_explicit(&vm->hypercall_ns[1], memory_order_relaxed);
	pthread_mutex_lock(&vm->hyperv.lock);
	for (unsigned i = 0; i < vm->hyperv.nvps; i++) {
		const struct hv_hyperv_vp *vp = vm->hyperv.vps[i];

		if (!vp)
			continue;
		ret->messages_delivered += vp->delivered;
		ret->messages_dropped += vp->dropped;
		ret->eoms += vp->eoms;
	}
	pthread_mutex_unlock(&vm->hyperv.lock);
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "boot.h"
#include "cleanup.h"
#include "insn.h"
#include "layout.h"
#include "log.h"
#include "loop.h"
#include "serial.h"
#include "vcpu.h"
#include "vm-internal.h"

LOG_SCOPE("hv.vm");

#define KVM_MAX_CPUID_ENTRIES 256
/* Where KVM puts the real-mode TSS on Intel; unused by 64-bit guests but
 * KVM_SET_TSS_ADDR keeps it out of the way of our memory map. */
#define HV_KVM_TSS_GPA 0xfffbd000ull

const char *hv_vm_end_to_string(enum hv_vm_end end)
{
	switch (end) {
	case HV_END_NONE: return "none";
	case HV_END_POWEROFF: return "poweroff";
	case HV_END_STOP: return "stop";
	case HV_END_RESET: return "reset";
	case HV_END_TRIPLE_FAULT: return "triple-fault";
	case HV_END_INTERNAL_ERROR: return "internal-error";
	case HV_END_HOST_ERROR: return "host-error";
	}
	return "unknown";
}

const char *hv_vm_state_to_string(enum hv_vm_state state)
{
	switch (state) {
	case HV_VM_RUNNING: return "running";
	case HV_VM_PAUSED: return "paused";
	case HV_VM_STOPPING: return "stopping";
	case HV_VM_STOPPED: return "stopped";
	}
	return "unknown";
}

static int read_file(const char *path, size_t max, void **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ void *buf = NULL;
	struct stat st;
	size_t off = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -E2BIG;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + off, (size_t)st.st_size - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = off;
	return 0;
}

static int vm_set_memslot(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int vm_register_memslots(struct hv_vm *vm)
{
	int r = vm_set_memslot(vm, 0, 0, vm->mem.low_size, vm->mem.host);

	if (r < 0)
		return r;
	if (vm->mem.size > vm->mem.low_size)
		r = vm_set_memslot(vm, 1, HV_HIGH_RAM_GPA, vm->mem.size - vm->mem.low_size,
				   vm->mem.host + vm->mem.low_size);
	return r;
}

/*
 * Device memory (the synthetic video VRAM): a memfd of its own, which the
 * guest places inside the VMBus MMIO window (hyperv_drm picks the GPA and
 * reports it, research §1.D.17).  Viewers get the fd; KVM gets a memslot
 * wherever the guest put it.
 */
#define VRAM_SLOT 2

static int vm_setup_vram(struct hv_vm *vm, uint64_t size)
{
	void *host;

	vm->vram_fd = -1;
	if (!size)
		return 0;
	if (size > HV_VMBUS_MMIO_SIZE || size & 0xfffff)
		return -EINVAL;
	vm->vram_fd = memfd_create("skyvm-vram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->vram_fd < 0)
		return -errno;
	if (ftruncate(vm->vram_fd, (off_t)size) < 0)
		return -errno;
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vram_fd, 0);
	if (host == MAP_FAILED)
		return -errno;
	vm->vram = host;
	vm->vram_size = size;
	/* After our own mapping: its size never changes (viewers may map it
	 * without fearing SIGBUS), and nobody else can ever write it, not even
	 * a viewer reopening /proc/PID/fd/N read-write (docs/display.md). */
	if (fcntl(vm->vram_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

int hv_vm_vram(struct hv_vm *vm, int *ret_fd, uint8_t **ret_host, size_t *ret_size)
{
	if (!vm->vram)
		return -ENODEV;
	*ret_fd = vm->vram_fd;
	*ret_host = vm->vram;
	*ret_size = vm->vram_size;
	return 0;
}

int hv_vm_map_vram(struct hv_vm *vm, uint64_t gpa)
{
	int r;

	if (!vm->vram)
		return -ENODEV;
	if (gpa & 0xfff || gpa < HV_VMBUS_MMIO_GPA ||
	    gpa - HV_VMBUS_MMIO_GPA > HV_VMBUS_MMIO_SIZE - vm->vram_size)
		return -ERANGE;
	if (vm->vram_mapped && vm->vram_gpa == gpa)
		return 0;
	if (vm->vram_mapped) {
		/* A slot moves by being deleted and created again. */
		r = vm_set_memslot(vm, VRAM_SLOT, vm->vram_gpa, 0, vm->vram);
		if (r < 0)
			return r;
		vm->vram_mapped = false;
	}
	r = vm_set_memslot(vm, VRAM_SLOT, gpa, vm->vram_size, vm->vram);
	if (r < 0)
		return r;
	vm->vram_mapped = true;
	vm->vram_gpa = gpa;
	return 0;
}

static void *memslot_thread(void *arg)
{
	struct hv_vm *vm = arg;

	vm->memslot_err = vm_register_memslots(vm);
	return NULL;
}

static int vm_setup_memory(struct hv_vm *vm, uint64_t size)
{
	void *host;

	/* A memfd, so that guest RAM can later be handed to another process
	 * (migration, a display worker) by fd. */
	vm->mem_fd = memfd_create("skyvm-ram", MFD_CLOEXEC);
	if (vm->mem_fd < 0)
		return -errno;
	if (ftruncate(vm->mem_fd, (off_t)size) < 0)
		return -errno;
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (host == MAP_FAILED)
		return -errno;
	hv_guest_mem_init(&vm->mem, host, size);
	madvise(host, size, MADV_DONTDUMP);

	/*
	 * The first KVM_SET_USER_MEMORY_REGION of a VM costs a fixed ~6 ms on
	 * our software KVM whatever the size (tests/bench/boot.py); register
	 * the slots on a helper thread while this one loads the kernel and
	 * builds the vCPUs, which only touch the host mapping.  Joined in
	 * vm_join_memslots() before any vCPU runs.
	 */
	if (pthread_create(&vm->memslot_thread, NULL, memslot_thread, vm) == 0) {
		vm->memslot_thread_started = true;
		return 0;
	}
	return vm_register_memslots(vm);
}

static int vm_join_memslots(struct hv_vm *vm)
{
	if (vm->memslot_thread_started) {
		pthread_join(vm->memslot_thread, NULL);
		vm->memslot_thread_started = false;
	}
	return vm->memslot_err;
}

int hv_cpuid_from_kvm(struct hv_cpuid *c, const struct kvm_cpuid2 *kc)
{
	if (kc->nent > HV_CPUID_MAX)
		return -E2BIG;
	c->nent = kc->nent;
	for (uint32_t i = 0; i < kc->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &kc->entries[i];
		c->ent[i] = (struct hv_cpuid_entry){
			.function = e->function, .index = e->index, .flags = e->flags,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
	return 0;
}

int hv_cpuid_to_kvm(const struct hv_cpuid *c, struct kvm_cpuid2 **ret)
{
	struct kvm_cpuid2 *kc = calloc(1, sizeof(*kc) + c->nent * sizeof(kc->entries[0]));

	if (!kc)
		return -ENOMEM;
	kc->nent = c->nent;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct hv_cpuid_entry *e = &c->ent[i];
		kc->entries[i] = (struct kvm_cpuid_entry2){
			.function = e->function, .index = e->index, .flags = e->flags,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
	*ret = kc;
	return 0;
}

static int vm_setup_cpuid(struct hv_vm *vm, const struct hv_cpuid_mask *mask)
{
	_cleanup_free_ struct kvm_cpuid2 *kc = NULL;
	int r;

	kc = calloc(1, sizeof(*kc) + KVM_MAX_CPUID_ENTRIES * sizeof(kc->entries[0]));
	if (!kc)
		return -ENOMEM;
	kc->nent = KVM_MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, kc) < 0)
		return -errno;
	r = hv_cpuid_from_kvm(&vm->cpuid, kc);
	if (r < 0)
		return r;
	r = hv_cpuid_apply(&vm->cpuid, mask);
	if (r < 0)
		return r;
	r = hv_hyperv_cpuid(&vm->cpuid, vm->cfg.ncpus);
	if (r < 0)
		return r;
	/* What instruction completion needs to know of XSAVE (complete.c). */
	vm->xsave_ok = hv_xsave_layout_from_cpuid(&vm->cpuid, &vm->xsave_layout) == 0;
	/*
	 * A software-only KVM shows the guest the host's own standard CPUID
	 * leaves whatever KVM_SET_CPUID2 says (TESTING.md §1): PVM reports no
	 * XSAVEC in KVM_GET_SUPPORTED_CPUID while the guest sees it and uses
	 * compacted XRSTOR.  Completion must follow what the guest sees; on a
	 * hardware KVM these instructions never reach us, so this is safe.
	 */
	{
		uint32_t a = 0xd, b, c = 1, d;

		/* (<cpuid.h> would resolve to hv/cpuid.h here.) */
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		if (a & (1u << 1))
			vm->xsave_layout.xsavec = true;
	}
	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->xsave_size = r > (int)sizeof(struct kvm_xsave) ? (size_t)r : sizeof(struct kvm_xsave);
	return 0;
}

/*
 * Send the Hyper-V synthetic MSRs to userspace: an MSR filter denying the
 * range makes KVM exit with KVM_EXIT_X86_RDMSR/WRMSR even where the host
 * ignores unknown MSRs (research hyperv-on-kvm.md §1.B.5).
 */
static int vm_setup_msr_filter(struct hv_vm *vm)
{
	static uint8_t deny[HV_MSR_COUNT / 8]; /* all zero: every MSR filtered */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER },
	};
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = { {
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = HV_MSR_COUNT,
			.base = HV_MSR_FIRST,
			.bitmap = deny,
		} },
	};

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	return ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0 ? -errno : 0;
}

static void *msr_filter_thread(void *arg)
{
	struct hv_vm *vm = arg;

	vm->msr_filter_err = vm_setup_msr_filter(vm);
	return NULL;
}

static int vm_join_msr_filter(struct hv_vm *vm)
{
	if (vm->msr_filter_thread_started) {
		pthread_join(vm->msr_filter_thread, NULL);
		vm->msr_filter_thread_started = false;
	}
	return vm->msr_filter_err;
}

static int vm_load_boot_data(struct hv_vm *vm, const struct hv_vm_config *cfg, const char **msg)
{
	_cleanup_free_ void *kernel = NULL, *initrd = NULL;
	size_t kernel_len, initrd_len = 0;
	struct hv_acpi_config acfg = {
		.ncpus = cfg->ncpus,
		.mp_wakeup_gpa = HV_MP_MAILBOX_GPA,
		.dsdt_extra = hv_vm_dsdt_vmbus,
	};
	uint64_t rsdp = 0, initrd_gpa = 0;
	int r;

	r = read_file(cfg->kernel_path, vm->mem.size, &kernel, &kernel_len);
	if (r == -E2BIG) {
		*msg = "kernel image is larger than guest RAM";
		return r;
	}
	if (r < 0) {
		*msg = "cannot read kernel image";
		return r;
	}
	r = hv_kernel_load(&vm->mem, kernel, kernel_len, &vm->kernel);
	if (r < 0) {
		*msg = r == -E2BIG ? "kernel does not fit in guest RAM"
				   : "not a loadable kernel (bzImage or ELF64 vmlinux)";
		return r;
	}
	if (cfg->initrd_path) {
		r = read_file(cfg->initrd_path, vm->mem.size, &initrd, &initrd_len);
		if (r < 0) {
			*msg = r == -E2BIG ? "initrd is larger than guest RAM" : "cannot read initrd";
			return r;
		}
		r = hv_initrd_place(&vm->mem, &vm->kernel, initrd_len, &initrd_gpa);
		if (r < 0) {
			*msg = "initrd does not fit in guest RAM above the kernel";
			return r;
		}
		r = hv_guest_write(&vm->mem, initrd_gpa, initrd, initrd_len);
		if (r < 0) {
			*msg = "cannot place initrd";
			return r;
		}
	}
	r = hv_acpi_build(&vm->mem, &acfg, &rsdp);
	if (r < 0) {
		*msg = "cannot build ACPI tables";
		return r;
	}
	r = hv_boot_pagetables_build(&vm->mem);
	if (r >= 0)
		r = hv_boot_gdt_build(&vm->mem);
	if (r < 0) {
		*msg = "cannot build boot page tables";
		return r;
	}
	r = hv_boot_params_build(&vm->mem, &vm->kernel, cfg->cmdline, initrd_gpa, initrd_len, rsdp);
	if (r < 0) {
		*msg = r == -E2BIG ? "kernel command line too long" : "cannot build boot parameters";
		return r;
	}
	return 0;
}

static void serial_irq(bool level, void *data)
{
	struct hv_vm *vm = data;
	struct kvm_irq_level irq = { .irq = HV_COM1_IRQ, .level = level };

	/* ISA IRQs are edge-triggered at the IOAPIC; KVM wants level changes. */
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("KVM_IRQ_LINE(%d): %m", HV_COM1_IRQ);
}

static void serial_tx(const uint8_t *buf, size_t len, void *data)
{
	struct hv_vm *vm = data;

	if (vm->cfg.serial_tx)
		vm->cfg.serial_tx(buf, len, vm->cfg.data);
}

int hv_vm_new(const struct hv_vm_config *cfg, struct hv_vm **ret, const char **ret_msg)
{
	struct hv_vm *vm;
	const char *msg = NULL;
	int r;

	if (cfg->ncpus < 1 || cfg->ncpus > HV_MAX_VCPUS) {
		*ret_msg = "vCPU count out of range";
		return -EINVAL;
	}
	if (cfg->mem_size < HV_MIN_MEM || cfg->mem_size > HV_MAX_MEM || cfg->mem_size % 4096) {
		*ret_msg = "memory size out of range";
		return -EINVAL;
	}

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = vm->vmbus_efd = vm->vram_fd = -1;
	vm->state = HV_VM_PAUSED;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		r = -errno;
		msg = "cannot open /dev/kvm";
		goto fail;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		r = -ENOTSUP;
		msg = "unsupported KVM API version";
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = -errno;
		msg = "KVM_CREATE_VM failed";
		goto fail;
	}
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		r = r < 0 ? -errno : -EINVAL;
		msg = "KVM_GET_VCPU_MMAP_SIZE failed";
		goto fail;
	}
	vm->run_size = (size_t)r;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)HV_KVM_TSS_GPA) < 0)
		log_debug("KVM_SET_TSS_ADDR: %m (ignored)");
	/* Full in-kernel irqchip: PIC, IOAPIC and LAPICs in KVM (see
	 * docs/ARCHITECTURE.md for why not the split irqchip). */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		r = -errno;
		msg = "KVM_CREATE_IRQCHIP failed";
		goto fail;
	}
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		r = -errno;
		msg = "KVM_CREATE_PIT2 failed";
		goto fail;
	}

	/* KVM_X86_SET_MSR_FILTER waits for an SRCU grace period (~20 ms
	 * here); like the memslots it runs beside the rest of the setup and is
	 * joined before any vCPU runs. */
	if (pthread_create(&vm->msr_filter_thread, NULL, msr_filter_thread, vm) == 0) {
		vm->msr_filter_thread_started = true;
	} else {
		vm->msr_filter_err = vm_setup_msr_filter(vm);
	}
	hv_hyperv_init(&vm->hyperv, &vm->mem, 0);
	vm->hyperv_init = true;

	r = vm_setup_memory(vm, cfg->mem_size);
	if (r < 0) {
		msg = "cannot allocate guest RAM";
		goto fail;
	}
	r = vm_setup_vram(vm, cfg->vram_size);
	if (r < 0) {
		msg = "cannot allocate the video memory";
		goto fail;
	}
	vm->ncompletion_slots = hv_insn_mnemonic_count();
	vm->completions = calloc(vm->ncompletion_slots, sizeof(vm->completions[0]));
	if (!vm->completions) {
		r = -ENOMEM;
		goto fail;
	}
	r = vm_setup_cpuid(vm, &cfg->cpuid_mask);
	if (r < 0) {
		msg = "cannot build the CPUID policy";
		goto fail;
	}
	r = vm_load_boot_data(vm, cfg, &msg);
	if (r < 0)
		goto fail;

	r = hv_serial_new(serial_tx, serial_irq, vm, &vm->serial);
	if (r < 0) {
		msg = "cannot create the UART";
		goto fail;
	}

	vm->vcpus = calloc(cfg->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		r = -ENOMEM;
		goto fail;
	}
	vm->ncpus = cfg->ncpus;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		r = hv_vcpu_init(vm, &vm->vcpus[i], i);
		if (r < 0) {
			msg = "cannot create a vCPU";
			goto fail;
		}
	}
	r = hv_vm_vmbus_setup(vm);
	if (r < 0) {
		msg = "cannot set up the VMBus host";
		goto fail;
	}
	r = vm_join_memslots(vm);
	if (r < 0) {
		msg = "cannot register guest RAM with KVM";
		goto fail;
	}
	r = vm_join_msr_filter(vm);
	if (r < 0) {
		msg = "cannot route Hyper-V MSRs to userspace (KVM_X86_SET_MSR_FILTER)";
		goto fail;
	}
	*ret = vm;
	return 0;

fail:
	*ret_msg = msg;
	hv_vm_free(vm);
	return r;
}

int hv_vm_start(struct hv_vm *vm)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	vm->state = HV_VM_RUNNING;
	vm->started_ns = now_ns();
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		r = hv_vcpu_start_thread(&vm->vcpus[i]);
		if (r < 0) {
			hv_vm_request_end(vm, HV_END_HOST_ERROR);
			return r;
		}
	}
	return 0;
}

static void vm_kick_all(struct hv_vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		hv_vcpu_kick(&vm->vcpus[i]);
}

int hv_vm_pause(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != HV_VM_RUNNING) {
		int r = vm->state == HV_VM_PAUSED ? -EALREADY : -ESRCH;
		pthread_mutex_unlock(&vm->lock);
		return r;
	}
	vm->state = HV_VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	vm_kick_all(vm);
	return 0;
}

int hv_vm_resume(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != HV_VM_PAUSED) {
		int r = vm->state == HV_VM_RUNNING ? -EALREADY : -ESRCH;
		pthread_mutex_unlock(&vm->lock);
		return r;
	}
	vm->state = HV_VM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void vm_post_exit(void *arg)
{
	struct hv_vm *vm = arg;

	if (vm->cfg.on_exit)
		vm->cfg.on_exit(vm, vm->end, vm->cfg.data);
}

void hv_vm_request_end(struct hv_vm *vm, enum hv_vm_end end)
{
	bool first = false;

	pthread_mutex_lock(&vm->lock);
	if (vm->end == HV_END_NONE) {
		vm->end = end;
		first = true;
	}
	if (vm->state != HV_VM_STOPPED)
		vm->state = HV_VM_STOPPING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	vm_kick_all(vm);
	if (first && vm->cfg.loop && loop_post(vm->cfg.loop, vm_post_exit, vm) < 0)
		log_err("cannot post the VM exit to the main loop");
}

void hv_vm_free(struct hv_vm *vm)
{
	if (!vm)
		return;
	vm_join_memslots(vm);
	vm_join_msr_filter(vm);
	if (vm->vcpus) {
		pthread_mutex_lock(&vm->lock);
		vm->state = HV_VM_STOPPING;
		pthread_cond_broadcast(&vm->cond);
		pthread_mutex_unlock(&vm->lock);
		vm_kick_all(vm);
		for (unsigned i = 0; i < vm->ncpus; i++)
			hv_vcpu_stop_thread(&vm->vcpus[i]);
	}
	/* Devices may still post to VPs while closing: before the VPs go. */
	hv_vm_vmbus_teardown(vm);
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			hv_vcpu_finish(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	hv_serial_free(vm->serial);
	free(vm->completions);
	if (vm->hyperv_init)
		hv_hyperv_finish(&vm->hyperv);
	if (vm->mem.host)
		munmap(vm->mem.host, vm->mem.size);
	if (vm->vram)
		munmap(vm->vram, vm->vram_size);
	if (vm->vram_fd >= 0)
		close(vm->vram_fd);
	closep(&vm->mem_fd);
	closep(&vm->vm_fd);
	closep(&vm->kvm_fd);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

enum hv_vm_state hv_vm_state(struct hv_vm *vm)
{
	enum hv_vm_state s;

	pthread_mutex_lock(&vm->lock);
	s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

enum hv_vm_end hv_vm_end_reason(struct hv_vm *vm)
{
	enum hv_vm_end e;

	pthread_mutex_lock(&vm->lock);
	e = vm->end;
	pthread_mutex_unlock(&vm->lock);
	return e;
}

unsigned hv_vm_ncpus(const struct hv_vm *vm)
{
	return vm->ncpus;
}

unsigned hv_vm_ncpus_online(struct hv_vm *vm)
{
	unsigned n = 0;

	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		n += vm->vcpus[i].online;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

uint64_t hv_vm_mem_size(const struct hv_vm *vm)
{
	return vm->mem.size;
}

uint64_t hv_vm_mem_resident(const struct hv_vm *vm)
{
	struct stat st;

	if (fstat(vm->mem_fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

void hv_vm_get_stats(struct hv_vm *vm, struct hv_vm_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < vm->ncpus; i++) {
		ret->exits_io += atomic_load_explicit(&vm->vcpus[i].exits_io, memory_order_relaxed);
		ret->exits_mmio += atomic_load_explicit(&vm->vcpus[i].exits_mmio, memory_order_relaxed);
		ret->exits_other += atomic_load_explicit(&vm->vcpus[i].exits_other, memory_order_relaxed);
	}
}

struct hv_serial *hv_vm_serial(struct hv_vm *vm)
{
	return vm->serial;
}

void hv_vm_get_completions(struct hv_vm *vm, struct hv_vm_completions *ret,
			   void (*fn)(const char *mnemonic, uint64_t count, void *data), void *data)
{
	ret->count = atomic_load_explicit(&vm->completion_count, memory_order_relaxed);
	ret->ns = atomic_load_explicit(&vm->completion_ns, memory_order_relaxed);
	for (unsigned i = 0; fn && i < vm->ncompletion_slots; i++) {
		uint64_t n = atomic_load_explicit(&vm->completions[i], memory_order_relaxed);
		if (n)
			fn(hv_insn_mnemonic_name(i), n, data);
	}
}

int hv_vm_vcpu_info(struct hv_vm *vm, struct hv_vcpu_info *out, unsigned max, int timeout_ms)
{
	unsigned n = MIN(max, vm->ncpus);
	struct timespec deadline;
	bool pending;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < n; i++)
		vm->vcpus[i].sample_req = vm->vcpus[i].thread_started && vm->state != HV_VM_STOPPED;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	vm_kick_all(vm);

	pthread_mutex_lock(&vm->lock);
	for (;;) {
		pending = false;
		for (unsigned i = 0; i < n; i++)
			pending |= vm->vcpus[i].sample_req;
		if (!pending || r == ETIMEDOUT)
			break;
		r = pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline);
	}
	for (unsigned i = 0; i < n; i++) {
		if (vm->vcpus[i].sample_req) {
			vm->vcpus[i].sample_req = false;
			out[i] = (struct hv_vcpu_info){ .index = i, .online = vm->vcpus[i].online };
		} else {
			out[i] = vm->vcpus[i].sample;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return pending ? -ETIMEDOUT : (int)n;
}

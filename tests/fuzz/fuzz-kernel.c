// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The kernel loader (hv/boot.c) on arbitrary images, then the zero page
 * built from whatever it accepted.  Guest RAM is a lazily backed 64 MiB
 * mapping reused across inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "boot.h"
#include "layout.h"
#include "memory.h"

#define FUZZ_RAM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_guest_mem mem;
	struct hv_kernel k;
	uint64_t initrd = 0;

	if (!mem.host) {
		void *p = mmap(NULL, FUZZ_RAM, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			__builtin_trap();
		hv_guest_mem_init(&mem, p, FUZZ_RAM);
	}
	if (hv_kernel_load(&mem, data, size, &k) < 0)
		return 0;
	/* Whatever was accepted must lie in RAM and yield a zero page. */
	if (!hv_gpa_to_host(&mem, k.load_start, k.load_end - k.load_start))
		__builtin_trap();
	if (hv_initrd_place(&mem, &k, 4096, &initrd) < 0)
		initrd = 0;
	hv_boot_params_build(&mem, &k, "console=ttyS0", initrd, initrd ? 4096 : 0, HV_ACPI_GPA);
	return 0;
}

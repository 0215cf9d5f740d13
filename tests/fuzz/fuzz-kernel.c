// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The kernel loader (hv/boot.c) on arbitrary images, then the zero page
 * built from whatever it accepted.  Guest RAM is a lazily backed 64 MiB
 * mapping reused across inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "fuzz-guest-mem.h"
#include "layout.h"
#include "memory.h"

#define FUZZ_RAM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_guest_mem mem;
	struct hv_kernel k;
	uint64_t initrd = 0;

	fuzz_guest_mem(&mem, FUZZ_RAM);
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

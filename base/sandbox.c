// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The worker sandbox (sandbox.h), on libseccomp.  Names, not numbers: a
 * call this architecture lacks (e.g. iopl outside x86) is skipped.
 */
#include <errno.h>
#include <stddef.h>

#include <seccomp.h>

#include "sandbox.h"
#include "util.h"

static const char *const denied[] = {
	/* running programs */
	"execve", "execveat",
	/* other processes of the same user */
#if SANDBOX_DENIES_PTRACE
	"ptrace",
#endif
	"process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	/* namespaces and mounts */
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"open_by_handle_at", "name_to_handle_at",
	/* the kernel itself */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "bpf", "perf_event_open",
	"userfaultfd", "lookup_dcookie", "syslog", "vhangup", "uselib", "iopl", "ioperm",
	"keyctl", "add_key", "request_key",
	/* clocks and names */
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
	"setdomainname",
};

int sandbox_worker(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(denied) && r >= 0; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* libseccomp sets PR_SET_NO_NEW_PRIVS itself (SCMP_FLTATR_CTL_NNP). */
	if (r >= 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A seccomp filter for processes that parse what a network peer sends
 * (skyrdp's session workers): the system calls such a process never makes
 * but an attacker who took it over would want fail with EPERM.  That is
 * running programs (execve), reaching into other processes of the same
 * user (ptrace, process_vm_readv/writev: skyvm holds guest memory),
 * namespaces, mounts, kernel modules, keyrings, BPF, perf, userfaultfd,
 * clocks, reboot and the like: systemd's @mount @module @reboot @swap
 * @clock @raw-io @debug @obsolete, plus exec and namespaces.  Everything
 * else is allowed: a deny list, so a library's new system call never kills
 * a session.  PR_SET_NO_NEW_PRIVS comes with it.
 *
 * Sanitizer builds keep ptrace: LeakSanitizer stops the world with it.
 */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_DENIES_PTRACE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(leak_sanitizer)
#define SANDBOX_DENIES_PTRACE 0
#endif
#endif
#ifndef SANDBOX_DENIES_PTRACE
#define SANDBOX_DENIES_PTRACE 1
#endif

/* Apply the filter to the calling thread and the threads and children it
 * makes from now on (call it before making threads).  0, or -errno:
 * -ENOSYS / -EINVAL where the kernel has no seccomp filters. */
int sandbox_worker(void);

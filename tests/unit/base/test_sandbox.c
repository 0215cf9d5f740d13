// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The worker sandbox in a child process: what it denies fails with EPERM,
 * what a session worker does (files, sockets, threads, memory, time) still
 * works, and the filter holds in threads made afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

/* Child-side checks report the first failure as the exit status. */
#define CHECK(n, cond) do { if (!(cond)) return (n); } while (0)

/* Were exec allowed, the child would become /bin/false: exit status 1, a
 * failure the parent reports. */
static void *try_exec(void *arg)
{
	char *const argv[] = { "false", NULL };

	(void)arg;
	execv("/bin/false", argv);
	return (void *)(intptr_t)errno;
}

static int sandboxed_child(void)
{
	char buf[4096], *seccomp;
	struct timespec ts;
	pthread_t th;
	void *ret;
	int sv[2], fd;
	ssize_t n;
	char *const argv[] = { "false", NULL };
	struct iovec local = { buf, 1 }, remote = { buf, 1 };

	CHECK(10, sandbox_worker() == 0);
	/* Denied. */
	CHECK(11, execv("/bin/false", argv) < 0 && errno == EPERM);
	CHECK(12, unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
	CHECK(13, mount("none", "/tmp", "tmpfs", 0, NULL) < 0 && errno == EPERM);
	CHECK(14, process_vm_readv(getppid(), &local, 1, &remote, 1, 0) < 0 && errno == EPERM);
	CHECK(15, clock_settime(CLOCK_REALTIME, &(struct timespec){ 0, 0 }) < 0 && errno == EPERM);
#if SANDBOX_DENIES_PTRACE
	CHECK(16, ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 && errno == EPERM);
#endif
	/* A thread made afterwards is held too. */
	CHECK(17, pthread_create(&th, NULL, try_exec, NULL) == 0);
	CHECK(18, pthread_join(th, &ret) == 0 && (intptr_t)ret == EPERM);
	/* Still works: files, AF_UNIX sockets, memory, clocks. */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECK(20, fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK(21, n > 0);
	buf[n] = 0;
	seccomp = strstr(buf, "Seccomp:");
	CHECK(22, seccomp && strtol(seccomp + 8, NULL, 10) == 2); /* SECCOMP_MODE_FILTER */
	CHECK(23, strstr(buf, "NoNewPrivs:\t1") != NULL);
	CHECK(24, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(25, write(sv[0], "x", 1) == 1 && read(sv[1], buf, 1) == 1 && buf[0] == 'x');
	CHECK(26, mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
			  MAP_FAILED);
	CHECK(27, clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return 0;
}

static void test_sandbox(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sandboxed_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("check %d failed in the sandboxed child", WEXITSTATUS(status));
}

/* The parent is untouched by its child's filter. */
static void test_parent_unfiltered(void **state)
{
	char buf[4096], *seccomp;
	FILE *f = fopen("/proc/self/status", "re");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	seccomp = strstr(buf, "Seccomp:");
	assert_non_null(seccomp);
	assert_int_equal(strtol(seccomp + 8, NULL, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_parent_unfiltered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

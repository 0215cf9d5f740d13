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
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

/* A number field of /proc/self/status ("Seccomp", "Seccomp_filters"), -1
 * where the kernel has no such line. */
static long status_field(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

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

static int sandboxed_child(long filters_before)
{
	char buf[4096];
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
	CHECK(22, status_field("Seccomp") == 2); /* SECCOMP_MODE_FILTER */
	/* One filter more than the parent had (a container may add its own). */
	CHECK(23, filters_before < 0 || status_field("Seccomp_filters") == filters_before + 1);
	CHECK(24, strstr(buf, "NoNewPrivs:\t1") != NULL);
	CHECK(25, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(26, write(sv[0], "x", 1) == 1 && read(sv[1], buf, 1) == 1 && buf[0] == 'x');
	CHECK(27, mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
			  MAP_FAILED);
	CHECK(28, clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return 0;
}

static void test_sandbox(void **state)
{
	long mode = status_field("Seccomp"), filters = status_field("Seccomp_filters");
	pid_t pid;
	int status;

	(void)state;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
		printf("SKIP: this kernel has no seccomp (PR_GET_SECCOMP: %s)\n", strerror(errno));
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sandboxed_child(filters));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("check %d failed in the sandboxed child", WEXITSTATUS(status));
	/* The parent is untouched by its child's filter. */
	assert_int_equal(status_field("Seccomp"), mode);
	assert_int_equal(status_field("Seccomp_filters"), filters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

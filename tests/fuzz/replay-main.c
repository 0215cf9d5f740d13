// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Replays fuzz inputs through a libFuzzer target without libFuzzer, so that
 * `meson test` runs every corpus with any compiler (after systemd's
 * fuzz-main.c).  Each argument is a file, or a folder whose files (not its
 * subfolders) are all run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Exactly the input's size so ASan catches reads past it; malloc(0)
	 * may return NULL. */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		fprintf(stderr, "%s: out of memory\n", path);
		return -1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: short read\n", path);
			free(buf);
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);

	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int run_dir(const char *dir, unsigned *count)
{
	struct dirent **ents;
	int n, r = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *path;

		if (ents[i]->d_name[0] != '.' &&
		    asprintf(&path, "%s/%s", dir, ents[i]->d_name) >= 0) {
			if (!is_dir(path)) {
				if (run_file(path) < 0)
					r = -1;
				else
					(*count)++;
			}
			free(path);
		}
		free(ents[i]);
	}
	free(ents);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int r = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);

	for (int i = 1; i < argc; i++) {
		if (is_dir(argv[i])) {
			if (run_dir(argv[i], &count) < 0)
				r = -1;
		} else if (run_file(argv[i]) < 0) {
			r = -1;
		} else {
			count++;
		}
	}
	printf("%u inputs ran\n", count);
	/* An empty run is a misconfigured corpus, not a pass. */
	if (r < 0 || count == 0)
		return EXIT_FAILURE;
	return EXIT_SUCCESS;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Power-of-two alignment only. */
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) - 1, (a))

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

#define _unused_ __attribute__((unused))
#define _packed_ __attribute__((packed))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

/* Parse a size such as "256M", "1G", "4096" (bytes) into *ret.  Returns
 * -EINVAL for malformed text and -ERANGE on overflow; *ret is untouched on
 * failure. */
int parse_size(const char *s, uint64_t *ret);

/* Parse a decimal unsigned integer in [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* "dir/name", malloc'd; NULL on ENOMEM. */
char *path_join(const char *dir, const char *name);

/* mkdir -p: the missing parents get 0755, the last component mode (an
 * existing one is left as it is). */
int make_dir(const char *path, mode_t mode);

/* Read the whole regular file name (relative to dirfd, or AT_FDCWD), of at
 * most max bytes, into a malloc'd NUL-terminated buffer; oflags adds open
 * flags (O_NOFOLLOW).  *len (if not NULL) gets its length.  -EINVAL: not a
 * regular file; -EFBIG: over max; -EIO: it shrank while being read;
 * open/read's -errno. */
int read_file_at(int dirfd, const char *name, int oflags, size_t max, char **ret, size_t *len);

/* A listening TCP socket (nonblocking, close-on-exec, SO_REUSEADDR) for
 * "ADDR:PORT", "[ADDR6]:PORT" or ":PORT" (any address); numeric port.
 * Returns the fd, -EINVAL for a malformed spec, -EADDRNOTAVAIL for an
 * address that does not resolve, or bind/listen's -errno. */
int tcp_listen(const char *spec, int backlog);

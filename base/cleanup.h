/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Scope-bound cleanup, after systemd's alloc-util.h / fd-util.h. */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Define a cleanup function for a pointer type with its destructor. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)      \
	static inline void func##p(type *p)          \
	{                                            \
		if (*p)                              \
			func(*p);                    \
	}

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _tp_ = (p);    \
		(p) = NULL;                  \
		_tp_;                        \
	})

#define TAKE_FD(fd)                  \
	({                           \
		int _tf_ = (fd);     \
		(fd) = -1;           \
		_tf_;                \
	})

static inline int close_nointr(int fd)
{
	if (fd < 0)
		return 0;
	return close(fd) < 0 ? -errno : 0;
}

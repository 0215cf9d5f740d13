/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Logging with a per-file scope, after libvirt's VIR_LOG_INIT.  Each .c file
 * that logs says LOG_SCOPE("hv.vcpu"); the scope, file and line go with every
 * line.  Only the component that decides logs (STYLE.md §6): library code
 * returns -errno and lets its caller report.
 *
 * SKYLIGHT_LOG="debug" or "info,hv.vcpu=debug,base.loop=warn" sets levels.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

enum log_level {
	LOG_ERR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

#define LOG_SCOPE(name) static const char *const log_scope_ _unused_ = (name)

void log_msg(enum log_level level, const char *scope, const char *file, int line,
	     const char *fmt, ...) _printf_(5, 6);
bool log_enabled(enum log_level level, const char *scope);

/* Parse a SKYLIGHT_LOG-style spec; returns -EINVAL on a malformed spec. */
int log_parse_spec(const char *spec);
/* Send log lines to fd (default: stderr). */
void log_set_fd(int fd);
/* Program name put at the start of each line. */
void log_set_ident(const char *ident);

#define log_full(level, ...) \
	do { \
		if (log_enabled((level), log_scope_)) \
			log_msg((level), log_scope_, __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

#define log_err(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_full(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)

/* Log at level with strerror(-r) appended, and evaluate to r (negative). */
#define log_errno(level, r, fmt, ...) \
	({ \
		int _le_r_ = (r); \
		log_full((level), fmt ": %s", ##__VA_ARGS__, strerror(-_le_r_)); \
		_le_r_; \
	})

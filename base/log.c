// SPDX-License-Identifier: GPL-3.0-or-later
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_RULES 16

struct log_rule {
	char scope[32];
	enum log_level level;
};

static struct {
	enum log_level level;
	struct log_rule rules[LOG_MAX_RULES];
	unsigned n_rules;
	int fd;
	const char *ident;
	bool init;
} logcfg = { .level = LOG_INFO, .fd = 2, .ident = "skylight" };

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int parse_level(const char *s, size_t n, enum log_level *ret)
{
	for (unsigned i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strlen(level_names[i]) == n && !strncmp(s, level_names[i], n)) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_parse_spec(const char *spec)
{
	enum log_level level = logcfg.level;
	struct log_rule rules[LOG_MAX_RULES];
	unsigned n = 0;
	const char *p = spec;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		enum log_level l;

		if (!eq) {
			if (parse_level(p, len, &l) < 0)
				return -EINVAL;
			level = l;
		} else {
			size_t slen = (size_t)(eq - p);
			if (slen == 0 || slen >= sizeof(rules[0].scope) || n >= LOG_MAX_RULES)
				return -EINVAL;
			if (parse_level(eq + 1, len - slen - 1, &l) < 0)
				return -EINVAL;
			memcpy(rules[n].scope, p, slen);
			rules[n].scope[slen] = '\0';
			rules[n].level = l;
			n++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	logcfg.level = level;
	memcpy(logcfg.rules, rules, sizeof(rules[0]) * n);
	logcfg.n_rules = n;
	return 0;
}

static void log_init(void)
{
	const char *spec = getenv("SKYLIGHT_LOG");

	if (spec && log_parse_spec(spec) < 0)
		fprintf(stderr, "skylight: ignoring malformed SKYLIGHT_LOG=\"%s\"\n", spec);
}

bool log_enabled(enum log_level level, const char *scope)
{
	pthread_once(&log_once, log_init);
	for (unsigned i = 0; i < logcfg.n_rules; i++) {
		size_t n = strlen(logcfg.rules[i].scope);
		/* "hv" matches "hv" and "hv.vcpu". */
		if (!strncmp(scope, logcfg.rules[i].scope, n) && (scope[n] == '\0' || scope[n] == '.'))
			return level <= logcfg.rules[i].level;
	}
	return level <= logcfg.level;
}

void log_set_fd(int fd)
{
	logcfg.fd = fd;
}

void log_set_ident(const char *ident)
{
	logcfg.ident = ident;
}

void log_msg(enum log_level level, const char *scope, const char *file, int line,
	     const char *fmt, ...)
{
	char buf[2048];
	struct timespec ts;
	const char *base = strrchr(file, '/');
	va_list ap;
	int n, m;
	int saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "%s[%d]: %s %s %s:%d: ", logcfg.ident, (int)getpid(),
		     level_names[level], scope, base ? base + 1 : file, line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line so lines from vCPU threads do not interleave. */
	if (write(logcfg.fd, buf, (size_t)n) < 0) {
		/* Nothing better to do with a failed log write. */
	}
	errno = saved;
}

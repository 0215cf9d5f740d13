// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A tiny printf for the freestanding guest: %d %i %u %x %X %s %c %p %%,
 * flags '0' and '-', a width (digits or *), length l/ll/z.  Integer only
 * (-mgeneral-regs-only): no floating point.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"

static void pad(void (*put)(void *, char), void *ctx, char c, size_t n)
{
	while (n--)
		put(ctx, c);
}

void format(void (*put)(void *ctx, char c), void *ctx, const char *fmt, va_list ap)
{
	static const char digits[] = "0123456789abcdef0123456789ABCDEF";

	for (; *fmt; fmt++) {
		bool zero = false, left = false, neg = false, upper = false;
		unsigned base = 10, longs = 0;
		size_t width = 0, n = 0;
		char buf[24];
		const char *s = buf, *prefix = "";
		uint64_t v = 0;

		if (*fmt != '%') {
			put(ctx, *fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '0')
				zero = true;
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			width = w < 0 ? 0 : (size_t)w;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (size_t)(*fmt++ - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			longs++;

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t sv = longs ? va_arg(ap, long long) : va_arg(ap, int);
			neg = sv < 0;
			v = neg ? -(uint64_t)sv : (uint64_t)sv;
			break;
		}
		case 'u':
			v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			break;
		case 'p':
			base = 16;
			prefix = "0x";
			v = (uintptr_t)va_arg(ap, void *);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			zero = false;
			break;
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			n = 1;
			zero = false;
			break;
		case '%':
			buf[0] = '%';
			n = 1;
			zero = false;
			break;
		case '\0':
			return;
		default: /* unknown: print it as is */
			buf[0] = '%';
			buf[1] = *fmt;
			n = 2;
			zero = false;
			break;
		}

		if (s == buf && n == 0) {
			/* A number, written backwards from the end of buf. */
			char *p = buf + sizeof(buf);

			do {
				*--p = digits[(upper ? 16 : 0) + v % base];
				v /= base;
			} while (v);
			if (neg)
				prefix = "-";
			s = p;
			n = (size_t)(buf + sizeof(buf) - p);
		}

		size_t plen = 0;
		while (prefix[plen])
			plen++;
		size_t fill = width > n + plen ? width - n - plen : 0;

		if (!left && !zero)
			pad(put, ctx, ' ', fill);
		for (size_t i = 0; i < plen; i++)
			put(ctx, prefix[i]);
		if (!left && zero)
			pad(put, ctx, '0', fill);
		for (size_t i = 0; i < n; i++)
			put(ctx, s[i]);
		if (left)
			pad(put, ctx, ' ', fill);
	}
}

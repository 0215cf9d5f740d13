// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Output on COM1, an 8250/16550 at 0x3f8, by polling: wait for THRE (LSR
 * bit 5) before each byte.  No initialisation: the VMM's UART comes up
 * usable, and each port access costs an exit (~30 µs here).  Lines end in
 * a bare "\n".
 */
#include "kernel.h"

#define COM1      0x3f8
#define UART_LSR  5
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define THRE_SPINS 100000 /* a missing UART reads 0xff: THRE set */

void serial_putc(char c)
{
	for (unsigned i = 0; i < THRE_SPINS && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

int serial_getc(void)
{
	if (!(inb(COM1 + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1);
}

static void serial_put(void *ctx, char c)
{
	(void)ctx;
	serial_putc(c);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(serial_put, NULL, fmt, ap);
	va_end(ap);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An 8250/16550A UART (ttyS0 at 0x3f8, IRQ 4).  The vCPU threads touch the
 * registers through hv_serial_pio(); the main loop feeds received bytes with
 * hv_serial_rx().  Transmitted bytes go to a sink callback, called with the
 * UART lock held: it must not block for long or call back into the UART.
 *
 * Register model after the PC16550D data sheet; Linux's 8250 autoconfig
 * (drivers/tty/serial/8250/8250_port.c: autoconfig()) probes the scratch
 * register and the MCR loopback, so both behave as on real hardware.
 */

#define HV_SERIAL_RX_MAX 4096

struct hv_serial;

typedef void (*hv_serial_tx_fn)(const uint8_t *buf, size_t len, void *data);
/* Drive the IRQ line: level true = asserted. */
typedef void (*hv_serial_irq_fn)(bool level, void *data);

int hv_serial_new(hv_serial_tx_fn tx, hv_serial_irq_fn irq, void *data, struct hv_serial **ret);
void hv_serial_free(struct hv_serial *s);

/* One register access; offset 0..7 from the base port; is_write selects
 * direction; *val is one byte in or out. */
void hv_serial_pio(struct hv_serial *s, unsigned offset, bool is_write, uint8_t *val);

/* Queue received bytes; returns how many were taken (less than len when
 * the receive buffer is full). */
size_t hv_serial_rx(struct hv_serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive buffer. */
size_t hv_serial_rx_space(struct hv_serial *s);

// SPDX-License-Identifier: GPL-3.0-or-later
/* The 16550A model (hv/serial.c) as Linux's 8250 driver probes and drives it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serial.h"

struct sink {
	uint8_t tx[8192];
	size_t tx_len;
	bool irq;
	unsigned irq_changes;
};

static void tx(const uint8_t *buf, size_t len, void *data)
{
	struct sink *s = data;

	memcpy(s->tx + s->tx_len, buf, len);
	s->tx_len += len;
}

static void irq(bool level, void *data)
{
	struct sink *s = data;

	s->irq = level;
	s->irq_changes++;
}

static uint8_t rd(struct hv_serial *u, unsigned off)
{
	uint8_t v = 0;

	hv_serial_pio(u, off, false, &v);
	return v;
}

static void wr(struct hv_serial *u, unsigned off, uint8_t v)
{
	hv_serial_pio(u, off, true, &v);
}

static struct sink sink;

static int setup(void **state)
{
	struct hv_serial *u;

	memset(&sink, 0, sizeof(sink));
	assert_int_equal(hv_serial_new(tx, irq, &sink, &u), 0);
	state[0] = u;
	return 0;
}

static int teardown(void **state)
{
	hv_serial_free(state[0]);
	return 0;
}

static void test_scratch_and_divisor(void **state)
{
	struct hv_serial *u = state[0];

	/* autoconfig(): the scratch register holds what was written. */
	wr(u, 7, 0xa5);
	assert_int_equal(rd(u, 7), 0xa5);
	wr(u, 7, 0x5a);
	assert_int_equal(rd(u, 7), 0x5a);
	/* DLAB exposes the divisor latch at 0/1 without touching IER. */
	wr(u, 1, 0x03);
	wr(u, 3, 0x80);
	wr(u, 0, 0x01);
	wr(u, 1, 0x00);
	assert_int_equal(rd(u, 0), 0x01);
	assert_int_equal(rd(u, 1), 0x00);
	wr(u, 3, 0x03);
	assert_int_equal(rd(u, 1), 0x03);
}

static void test_loopback(void **state)
{
	struct hv_serial *u = state[0];

	/* Loopback: MCR outputs appear on MSR inputs, THR comes back on RBR. */
	wr(u, 4, 0x10 | 0x0a); /* LOOP | RTS | OUT2 */
	assert_int_equal(rd(u, 6) & 0xf0, 0x90); /* CTS | DCD */
	wr(u, 4, 0x10 | 0x05); /* LOOP | DTR | OUT1 */
	assert_int_equal(rd(u, 6) & 0xf0, 0x60); /* DSR | RI */
	wr(u, 0, 'Z');
	assert_true(rd(u, 5) & 0x01);
	assert_int_equal(rd(u, 0), 'Z');
	assert_false(rd(u, 5) & 0x01);
	wr(u, 4, 0x00);
}

static void test_tx_and_thri(void **state)
{
	struct hv_serial *u = state[0];

	wr(u, 1, 0x02); /* THRI enabled but OUT2 low: no IRQ on the bus */
	assert_false(sink.irq);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02);
	wr(u, 1, 0x00);
	wr(u, 4, 0x08); /* OUT2 gates the IRQ */
	assert_int_equal(rd(u, 2) & 0x0f, 0x01); /* no interrupt */
	wr(u, 1, 0x02); /* enable THRI with THR empty: interrupt at once */
	assert_true(sink.irq);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02);
	/* Reading IIR acknowledged it and dropped the line. */
	assert_int_equal(rd(u, 2) & 0x0f, 0x01);
	assert_false(sink.irq);
	wr(u, 0, 'h');
	wr(u, 0, 'i');
	assert_int_equal(sink.tx_len, 2);
	assert_memory_equal(sink.tx, "hi", 2);
	assert_true(sink.irq);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02);
	assert_int_equal(rd(u, 5) & 0x60, 0x60); /* THRE | TEMT */
}

static void test_rx_priority_and_bound(void **state)
{
	struct hv_serial *u = state[0];
	uint8_t big[HV_SERIAL_RX_MAX + 100];

	memset(big, 'x', sizeof(big));
	wr(u, 4, 0x08);
	wr(u, 1, 0x03); /* RDI | THRI */
	assert_int_equal(hv_serial_rx(u, (const uint8_t *)"ab", 2), 2);
	/* Received data outranks THR empty. */
	assert_int_equal(rd(u, 2) & 0x0f, 0x04);
	assert_int_equal(rd(u, 0), 'a');
	assert_int_equal(rd(u, 0), 'b');
	assert_int_not_equal(rd(u, 2) & 0x0f, 0x04);
	/* The buffer is bounded: excess input is refused, not queued. */
	assert_int_equal(hv_serial_rx(u, big, sizeof(big)), HV_SERIAL_RX_MAX);
	assert_int_equal(hv_serial_rx_space(u), 0);
	assert_int_equal(rd(u, 0), 'x');
	assert_int_equal(hv_serial_rx_space(u), 1);
	/* FCR "clear receive FIFO" empties it. */
	wr(u, 2, 0x03);
	assert_false(rd(u, 5) & 0x01);
	assert_int_equal(rd(u, 2) & 0xc0, 0xc0); /* FIFOs enabled */
}

static void test_out_of_range_offsets(void **state)
{
	struct hv_serial *u = state[0];
	uint8_t v = 0x12;

	hv_serial_pio(u, 8, true, &v);
	hv_serial_pio(u, 200, false, &v);
	assert_int_equal(v, 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scratch_and_divisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_and_thri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_priority_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_offsets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: GPL-3.0-or-later
#include "serial.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
	UART_IER = 1, UART_DLM = 1,
	UART_IIR = 2, UART_FCR = 2,
	UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08
#define IIR_NO_INT 0x01
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_FIFO   0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

struct hv_serial {
	pthread_mutex_t lock;
	hv_serial_tx_fn tx;
	hv_serial_irq_fn irq;
	void *data;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, msr;
	bool thri_pending; /* THR-empty interrupt latched until IIR read or THR write */
	bool irq_level;

	uint8_t rx[HV_SERIAL_RX_MAX]; /* ring */
	size_t rx_head, rx_len;
};

int hv_serial_new(hv_serial_tx_fn tx, hv_serial_irq_fn irq, void *data, struct hv_serial **ret)
{
	struct hv_serial *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->tx = tx;
	s->irq = irq;
	s->data = data;
	s->dll = 0x0c; /* 9600 baud, as the PC BIOS leaves it */
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	*ret = s;
	return 0;
}

void hv_serial_free(struct hv_serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t serial_iir(const struct hv_serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	/* Priority: received data above THR empty (16550 data sheet table 4). */
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void serial_update_irq(struct hv_serial *s)
{
	/* OUT2 gates the interrupt onto the ISA bus on PC UARTs. */
	bool level = !(serial_iir(s) & IIR_NO_INT) && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->irq)
			s->irq(level, s->data);
	}
}

static size_t serial_rx_locked(struct hv_serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && s->rx_len < HV_SERIAL_RX_MAX) {
		s->rx[(s->rx_head + s->rx_len) % HV_SERIAL_RX_MAX] = buf[n++];
		s->rx_len++;
	}
	return n;
}

static void serial_write(struct hv_serial *s, unsigned off, uint8_t v)
{
	if ((s->lcr & LCR_DLAB) && off <= 1) {
		if (off == UART_DLL)
			s->dll = v;
		else
			s->dlm = v;
		return;
	}
	switch (off) {
	case UART_THR:
		if (s->mcr & MCR_LOOP)
			serial_rx_locked(s, &v, 1);
		else if (s->tx)
			s->tx(&v, 1, s->data);
		/* Transmission is instantaneous, so THR is empty again at once. */
		s->thri_pending = true;
		break;
	case UART_IER:
		/* Enabling THRI with an empty THR raises the interrupt (8250_port.c
		 * relies on this in serial8250_start_tx()). */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & (FCR_ENABLE | 0xc8);
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_LSR:
		break; /* read-only; writes ignored */
	case UART_MSR:
		break;
	case UART_SCR:
		s->scr = v;
		break;
	}
}

static uint8_t serial_read(struct hv_serial *s, unsigned off)
{
	uint8_t v;

	if ((s->lcr & LCR_DLAB) && off <= 1)
		return off == UART_DLL ? s->dll : s->dlm;
	switch (off) {
	case UART_RBR:
		if (!s->rx_len)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % HV_SERIAL_RX_MAX;
		s->rx_len--;
		return v;
	case UART_IER:
		return s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & MCR_LOOP) {
			/* Loopback: modem outputs reflect onto the inputs. */
			v = 0;
			if (s->mcr & MCR_DTR)
				v |= MSR_DSR;
			if (s->mcr & MCR_RTS)
				v |= MSR_CTS;
			if (s->mcr & MCR_OUT1)
				v |= MSR_RI;
			if (s->mcr & MCR_OUT2)
				v |= MSR_DCD;
			return v;
		}
		return s->msr;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

void hv_serial_pio(struct hv_serial *s, unsigned offset, bool is_write, uint8_t *val)
{
	pthread_mutex_lock(&s->lock);
	if (offset < 8) {
		if (is_write)
			serial_write(s, offset, *val);
		else
			*val = serial_read(s, offset);
		serial_update_irq(s);
	} else if (!is_write) {
		*val = 0xff;
	}
	pthread_mutex_unlock(&s->lock);
}

size_t hv_serial_rx(struct hv_serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = serial_rx_locked(s, buf, len);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t hv_serial_rx_space(struct hv_serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = HV_SERIAL_RX_MAX - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

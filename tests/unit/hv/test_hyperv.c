// SPDX-License-Identifier: GPL-3.0-or-later
/* The Hyper-V CPUID leaves and synthetic MSRs (hv/hyperv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "fake-mem.h"
#include "hyperv.h"

static void test_cpuid_leaves(void **state)
{
	struct hv_cpuid c = { .nent = 0 };
	struct hv_cpuid_entry *e;
	char sig[13] = "";

	assert_int_equal(hv_hyperv_cpuid(&c, 4), 0);
	e = hv_cpuid_find(&c, 0x40000000, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, 0x40000005);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_string_equal(sig, "Microsoft Hv");
	assert_int_equal(hv_cpuid_find(&c, 0x40000001, 0)->eax, 0x31237648);
	e = hv_cpuid_find(&c, 0x40000003, 0);
	/* Linux requires HYPERCALL and VP_INDEX to take Hyper-V at all. */
	assert_true(e->eax & (1u << 5));
	assert_true(e->eax & (1u << 6));
	assert_true(e->eax & (1u << 11));
	assert_true(e->edx & (1u << 8));
	/* SynIC, reference counter + TSC page, and the two hypercalls. */
	assert_true(e->eax & (1u << 1));
	assert_true(e->eax & (1u << 2));
	assert_true(e->eax & (1u << 9));
	assert_int_equal(e->ebx, (1u << 4) | (1u << 5));
	/* Never: SynIC timers, partition id privilege, root partition. */
	assert_false(e->eax & (1u << 3));
	assert_false(e->ebx & (1u << 1));
	assert_false(e->ebx & (1u << 12));
	assert_int_equal(hv_cpuid_find(&c, 0x40000004, 0)->eax, 1u << 9);
	assert_int_equal(hv_cpuid_find(&c, 0x40000005, 0)->eax, 4);

	c.nent = HV_CPUID_MAX - 2;
	assert_int_equal(hv_hyperv_cpuid(&c, 1), -ENOSPC);
}

static void test_msrs(void **state)
{
	struct hv_guest_mem mem;
	struct hv_hyperv hv;
	struct hv_hyperv_vp vp;
	uint64_t v, t1, t2;

	assert_int_equal(fake_mem_new(&mem, 16 << 20), 0);
	hv_hyperv_init(&hv, &mem, 2100000000ull);
	assert_int_equal(hv_hyperv_vp_init(&hv, &vp, 3), 0);

	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_VP_INDEX, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_VP_INDEX, 1), -EINVAL); /* read-only */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TSC_FREQUENCY, &v), 0);
	assert_int_equal(v, 2100000000ull);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_APIC_FREQUENCY, &v), 0);
	assert_int_equal(v, 1000000000ull);
	/* SINTs start masked. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_SINT0 + 2, &v), 0);
	assert_int_equal(v, 1ull << 16);
	/* Unknown MSRs in the range are a #GP. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, 0x400001ff, &v), -EINVAL);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, 0x40000150, 0), -EINVAL);
	/* TIME_REF_COUNT counts up in 100 ns units. */
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TIME_REF_COUNT, &t1), 0);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_TIME_REF_COUNT, &t2), 0);
	assert_true(t2 >= t1);

	/* The hypercall page needs a guest OS id first (TLFS §3.13). */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, 0x5000 | 1), -EINVAL);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_GUEST_OS_ID, 0x8100ull << 48), 0);
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, 0x5000 | 1), 0);
	assert_int_equal(mem.host[0x5000], 0xe6); /* out imm8, al */
	assert_int_equal(mem.host[0x5001], HV_HYPERCALL_PORT);
	assert_int_equal(mem.host[0x5002], 0xc3); /* ret */
	assert_int_equal(mem.host[0x5003], 0xcc);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_HYPERCALL, &v), 0);
	assert_int_equal(v, 0x5001);
	/* A page outside guest RAM is refused. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_HYPERCALL, (64ull << 20) | 1), -EINVAL);
	/* Clearing the OS id disables the page. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_GUEST_OS_ID, 0), 0);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_HYPERCALL, &v), 0);
	assert_int_equal(v & 1, 0);
	/* The reference TSC page: sequence 1, scale = 10^7 * 2^64 / tsc_hz,
	 * so ((tsc * scale) >> 64) counts 100 ns units. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_REFERENCE_TSC, 0x6000 | 1), 0);
	{
		struct hv_tsc_page pg;
		uint64_t tsc = 2100000000ull * 3; /* 3 s */

		memcpy(&pg, mem.host + 0x6000, sizeof(pg));
		assert_int_equal(pg.tsc_sequence, 1);
		assert_int_equal(pg.tsc_offset, 0);
		assert_int_equal(pg.tsc_scale, 87841638446235960ull); /* floor(2^64 / 210) */
		assert_true((uint64_t)(((unsigned __int128)tsc * pg.tsc_scale) >> 64) >= 29999999);
		assert_true((uint64_t)(((unsigned __int128)tsc * pg.tsc_scale) >> 64) <= 30000000);
	}
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_REFERENCE_TSC, (64ull << 20) | 1), -EINVAL);
	assert_int_equal(hv_hyperv_rdmsr(&hv, &vp, HV_MSR_REFERENCE_TSC, &v), 0);
	assert_int_equal(v, 0x6001);
	/* VP assist is accepted though not advertised. */
	assert_int_equal(hv_hyperv_wrmsr(&hv, &vp, HV_MSR_VP_ASSIST_PAGE, 0x7001), 0);

	hv_hyperv_vp_finish(&vp);
	hv_hyperv_finish(&hv);
	fake_mem_free(&mem);
}

/* A fake host side: records interrupts and what the hypercalls hand on. */
struct rec {
	unsigned nirq;
	uint32_t irq_vp[64];
	uint8_t irq_vec[64];
	unsigned nposts, nsignals;
	uint32_t post_conn, post_type, post_len, post_vp;
	uint8_t post_payload[240];
	uint32_t signal_conn;
	uint16_t post_status;
};

static int rec_interrupt(void *data, uint32_t vp, uint8_t vector)
{
	struct rec *r = data;

	if (r->nirq < 64) {
		r->irq_vp[r->nirq] = vp;
		r->irq_vec[r->nirq] = vector;
	}
	r->nirq++;
	return 0;
}

static uint16_t rec_post(void *data, uint32_t vp, uint32_t conn, uint32_t type,
			 const void *payload, uint32_t len)
{
	struct rec *r = data;

	r->nposts++;
	r->post_vp = vp;
	r->post_conn = conn;
	r->post_type = type;
	r->post_len = len;
	memcpy(r->post_payload, payload, len);
	return r->post_status;
}

static uint16_t rec_signal(void *data, uint32_t vp, uint32_t conn)
{
	struct rec *r = data;

	(void)vp;
	r->nsignals++;
	r->signal_conn = conn;
	return HV_STATUS_SUCCESS;
}

static const struct hv_hyperv_ops rec_ops = {
	.interrupt = rec_interrupt,
	.post_message = rec_post,
	.signal_event = rec_signal,
};

struct synic_fixture {
	struct hv_guest_mem mem;
	struct hv_hyperv hv;
	struct hv_hyperv_vp vp[2];
	struct rec rec;
};

#define SIMP0 0x10000ull
#define SIEFP0 0x11000ull
#define SIMP1 0x12000ull

static struct synic_fixture *synic_setup(void)
{
	struct synic_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fake_mem_new(&f->mem, 16 << 20), 0);
	hv_hyperv_init(&f->hv, &f->mem, 1000000000ull);
	assert_int_equal(hv_hyperv_vp_init(&f->hv, &f->vp[0], 0), 0);
	assert_int_equal(hv_hyperv_vp_init(&f->hv, &f->vp[1], 1), 0);
	hv_hyperv_set_ops(&f->hv, &rec_ops, &f->rec);
	return f;
}

static void synic_teardown(struct synic_fixture *f)
{
	hv_hyperv_vp_finish(&f->vp[0]);
	hv_hyperv_vp_finish(&f->vp[1]);
	hv_hyperv_finish(&f->hv);
	fake_mem_free(&f->mem);
	free(f);
}

/* Enable the SynIC on a VP as Linux's hv_synic_enable_regs() does. */
static void synic_enable(struct synic_fixture *f, unsigned vp, uint64_t simp, uint64_t siefp)
{
	struct hv_hyperv_vp *p = &f->vp[vp];

	assert_int_equal(hv_hyperv_wrmsr(&f->hv, p, HV_MSR_SIMP, simp | 1), 0);
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, p, HV_MSR_SIEFP, siefp | 1), 0);
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, p, HV_MSR_SINT0 + 2, 0xf3), 0);
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, p, HV_MSR_SCONTROL, 1), 0);
}

static struct hv_message *slot(struct synic_fixture *f, uint64_t simp, unsigned sint)
{
	return (struct hv_message *)(f->mem.host + simp + sint * 256);
}

static void test_synic_messages(void **state)
{
	struct synic_fixture *f = synic_setup();
	struct hv_message *m;
	uint8_t payload[240];

	(void)state;
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	/* Before the guest enables its SynIC, messages wait. */
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 16), 0);
	assert_int_equal(f->rec.nirq, 0);
	synic_enable(f, 0, SIMP0, SIEFP0);
	m = slot(f, SIMP0, 2);
	assert_int_equal(m->message_type, 1);
	assert_int_equal(m->payload_size, 16);
	assert_memory_equal(m->payload, payload, 16);
	assert_int_equal(m->message_flags, 0);
	assert_int_equal(f->rec.nirq, 1);
	assert_int_equal(f->rec.irq_vp[0], 0);
	assert_int_equal(f->rec.irq_vec[0], 0xf3);

	/* Slot busy: the next message waits and msg_pending asks for EOM. */
	payload[0] = 0xaa;
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 240), 0);
	assert_int_equal(m->payload_size, 16);
	assert_int_equal(m->message_flags & HV_MESSAGE_FLAG_PENDING, 1);
	assert_int_equal(f->rec.nirq, 1);
	/* The guest frees the slot (vmbus_signal_eom) and writes EOM. */
	m->message_type = 0;
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_EOM, 0), 0);
	assert_int_equal(m->message_type, 1);
	assert_int_equal(m->payload_size, 240);
	assert_int_equal(m->payload[0], 0xaa);
	assert_int_equal(f->rec.nirq, 2);

	/* Two queued behind a busy slot: the first delivered keeps
	 * msg_pending set, so the guest EOMs again; FIFO order. */
	payload[0] = 1;
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 8), 0);
	payload[0] = 2;
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 8), 0);
	m->message_type = 0;
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_EOM, 0), 0);
	assert_int_equal(m->payload[0], 1);
	assert_int_equal(m->message_flags & HV_MESSAGE_FLAG_PENDING, 1);
	m->message_type = 0;
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_EOM, 0), 0);
	assert_int_equal(m->payload[0], 2);
	assert_int_equal(m->message_flags & HV_MESSAGE_FLAG_PENDING, 0);
	assert_int_equal(f->vp[0].nqueued, 0);

	/* A slot freed without EOM (msg_pending was clear) is found free at
	 * the next post. */
	m->message_type = 0;
	payload[0] = 3;
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 8), 0);
	assert_int_equal(m->payload[0], 3);

	/* Messages for another VP land in that VP's page. */
	synic_enable(f, 1, SIMP1, SIEFP0 + 0x2000);
	assert_int_equal(hv_hyperv_post(&f->hv, 1, 2, 1, payload, 8), 0);
	assert_int_equal(slot(f, SIMP1, 2)->message_type, 1);
	assert_int_equal(f->rec.irq_vp[f->rec.nirq - 1], 1);

	/* Bad requests. */
	assert_int_equal(hv_hyperv_post(&f->hv, 2, 2, 1, payload, 8), -EINVAL);
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 16, 1, payload, 8), -EINVAL);
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, payload, 241), -EINVAL);
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 0, payload, 8), -EINVAL);
	synic_teardown(f);
}

static void test_synic_masked_and_full(void **state)
{
	struct synic_fixture *f = synic_setup();
	uint8_t p[8] = { 0 };
	unsigned n;

	(void)state;
	synic_enable(f, 0, SIMP0, SIEFP0);
	/* A masked SINT holds its messages until unmasked; others flow. */
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_SINT0 + 2, 0xf3 | (1 << 16)), 0);
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 2, 1, p, 8), 0);
	assert_int_equal(slot(f, SIMP0, 2)->message_type, 0);
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_SINT0 + 3, 0xf4), 0);
	assert_int_equal(hv_hyperv_post(&f->hv, 0, 3, 1, p, 8), 0);
	assert_int_equal(slot(f, SIMP0, 3)->message_type, 1);
	assert_int_equal(f->rec.irq_vec[f->rec.nirq - 1], 0xf4);
	assert_int_equal(hv_hyperv_wrmsr(&f->hv, &f->vp[0], HV_MSR_SINT0 + 2, 0xf3), 0);
	assert_int_equal(slot(f, SIMP0, 2)->message_type, 1);

	/* A guest that never frees its slot: the queue is bounded. */
	for (n = 0; n < 1000; n++)
		if (hv_hyperv_post(&f->hv, 0, 2, 1, p, 8) == -ENOBUFS)
			break;
	assert_int_equal(n, HV_SYNIC_QUEUE_MAX);
	assert_true(f->vp[0].dropped >= 1);
	synic_teardown(f);
}

static void test_synic_events(void **state)
{
	struct synic_fixture *f = synic_setup();
	uint32_t *flags;

	(void)state;
	/* Not enabled yet: the event is refused. */
	assert_int_equal(hv_hyperv_signal(&f->hv, 0, 2, 5), -EAGAIN);
	synic_enable(f, 0, SIMP0, SIEFP0);
	assert_int_equal(hv_hyperv_signal(&f->hv, 0, 2, 5), 0);
	assert_int_equal(hv_hyperv_signal(&f->hv, 0, 2, 2047), 0);
	flags = (uint32_t *)(f->mem.host + SIEFP0 + 2 * 256);
	assert_int_equal(flags[0], 1u << 5);
	assert_int_equal(flags[63], 1u << 31);
	assert_int_equal(f->rec.nirq, 2);
	assert_int_equal(f->rec.irq_vec[1], 0xf3);
	assert_int_equal(hv_hyperv_signal(&f->hv, 0, 2, 2048), -EINVAL);
	assert_int_equal(hv_hyperv_signal(&f->hv, 5, 2, 1), -EINVAL);
	synic_teardown(f);
}

static void test_hypercalls(void **state)
{
	struct synic_fixture *f = synic_setup();
	struct hv_post_message_input *in = (void *)(f->mem.host + 0x20000);
	uint64_t *sig = (void *)(f->mem.host + 0x21000);

	(void)state;
	in->connection_id = 4;
	in->message_type = 1;
	in->payload_size = 24;
	memset(in->payload, 0x5a, 24);
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[1], HVCALL_POST_MESSAGE, 0x20000, 0), 0);
	assert_int_equal(f->rec.nposts, 1);
	assert_int_equal(f->rec.post_vp, 1);
	assert_int_equal(f->rec.post_conn, 4);
	assert_int_equal(f->rec.post_len, 24);
	assert_int_equal(f->rec.post_payload[23], 0x5a);
	/* The host's back-pressure status goes back to the guest. */
	f->rec.post_status = HV_STATUS_INSUFFICIENT_BUFFERS;
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_POST_MESSAGE, 0x20000, 0),
			 HV_STATUS_INSUFFICIENT_BUFFERS);
	/* Input checks: alignment, RAM, size, type, fast form, reps. */
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_POST_MESSAGE, 0x20004, 0),
			 HV_STATUS_INVALID_ALIGNMENT);
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_POST_MESSAGE,
					     (16 << 20) - 8, 0),
			 HV_STATUS_INVALID_PARAMETER);
	in->payload_size = 241;
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_POST_MESSAGE, 0x20000, 0),
			 HV_STATUS_INVALID_PARAMETER);
	in->payload_size = 8;
	in->message_type = 0;
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_POST_MESSAGE, 0x20000, 0),
			 HV_STATUS_INVALID_PARAMETER);
	in->message_type = 1;
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0],
					     HVCALL_POST_MESSAGE | HV_HYPERCALL_FAST_BIT, 0x20000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0],
					     HVCALL_POST_MESSAGE | (1ull << 32), 0x20000, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(f->rec.nposts, 2);

	/* HvSignalEvent, fast (as Linux calls it) and slow. */
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0],
					     HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT, 0x10005, 0),
			 0);
	assert_int_equal(f->rec.signal_conn, 0x10005);
	*sig = 0x10006;
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], HVCALL_SIGNAL_EVENT, 0x21000, 0), 0);
	assert_int_equal(f->rec.signal_conn, 0x10006);
	/* A flag number other than 0, reserved id bits. */
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0],
					     HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT,
					     0x10005 | (1ull << 32), 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0],
					     HVCALL_SIGNAL_EVENT | HV_HYPERCALL_FAST_BIT, 1u << 24, 0),
			 HV_STATUS_INVALID_HYPERCALL_INPUT);
	assert_int_equal(f->rec.nsignals, 2);
	/* Anything else. */
	assert_int_equal(hv_hyperv_hypercall(&f->hv, &f->vp[0], 0x0002, 0, 0),
			 HV_STATUS_INVALID_HYPERCALL_CODE);
	assert_true(f->hv.bad_hypercalls >= 7);
	synic_teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_leaves),
		cmocka_unit_test(test_msrs),
		cmocka_unit_test(test_synic_messages),
		cmocka_unit_test(test_synic_masked_and_full),
		cmocka_unit_test(test_synic_events),
		cmocka_unit_test(test_hypercalls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

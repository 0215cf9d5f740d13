/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <stdint.h>

struct hv_vm;
struct hv_vcpu;

/* Create vCPU index (its APIC id is index) and set its boot state. */
int hv_vcpu_init(struct hv_vm *vm, struct hv_vcpu *vcpu, unsigned index);
int hv_vcpu_start_thread(struct hv_vcpu *vcpu);
/* Make KVM_RUN return soon so the thread looks at the VM state. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
/* Join the thread (the VM must be stopping); accepts a vCPU never started. */
void hv_vcpu_stop_thread(struct hv_vcpu *vcpu);
/* Join the thread (the VM must be stopping) and release the vCPU. */
void hv_vcpu_finish(struct hv_vcpu *vcpu);
/* Called by the mailbox with vm->lock held: start AP apic_id at rip.
 * -ENOENT for no such AP, -EBUSY if it is already online. */
int hv_vcpu_wake_locked(struct hv_vm *vm, uint32_t apic_id, uint64_t rip);

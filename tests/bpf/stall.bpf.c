// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler that parks every task named "stallme*" in a DSQ
// nobody consumes, so the kernel's watchdog ejects it (after timeout_ms)
// while every other task keeps running.

#include <scx/common.bpf.h>

#include "comm_prefix.bpf.h"

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

#define PARK_DSQ 1

/* No direct dispatch from here: every task must pass through enqueue. */
s32 BPF_STRUCT_OPS(stall_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	return prev_cpu;
}

void BPF_STRUCT_OPS(stall_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (comm_has_prefix(p, "stallme"))
		scx_bpf_dsq_insert(p, PARK_DSQ, SCX_SLICE_DFL, enq_flags);
	else
		scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(stall_init)
{
	return scx_bpf_create_dsq(PARK_DSQ, -1);
}

void BPF_STRUCT_OPS(stall_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(stall_ops,
	       .select_cpu	= (void *)stall_select_cpu,
	       .enqueue		= (void *)stall_enqueue,
	       .init		= (void *)stall_init,
	       .exit		= (void *)stall_exit,
	       .timeout_ms	= 3000,
	       .name		= "scxtop_stall");

// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler that records its exit (UEI) and calls
// scx_bpf_error() the first time a task named "failme*" is enqueued, so the
// kernel ejects it with ERROR_BPF and that message. Every other task runs
// from the global queue.

#include <scx/common.bpf.h>

#include "comm_prefix.bpf.h"

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

void BPF_STRUCT_OPS(error_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (comm_has_prefix(p, "failme"))
		scx_bpf_error("told to fail by %s[%d]", p->comm, p->pid);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

void BPF_STRUCT_OPS(error_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(error_ops,
	       .enqueue		= (void *)error_enqueue,
	       .exit		= (void *)error_exit,
	       .name		= "scxtop_error");

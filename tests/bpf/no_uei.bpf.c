// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler that records no exit info (no UEI, no ops.exit),
// as many hand-written ones do; scxtop learns why it ended from the kernel
// log only. It calls scx_bpf_error() the first time a task named "failme*"
// is enqueued; every other task runs from the global queue.

#include <scx/common.bpf.h>

#include "comm_prefix.bpf.h"

char _license[] SEC("license") = "GPL";

void BPF_STRUCT_OPS(no_uei_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (comm_has_prefix(p, "failme"))
		scx_bpf_error("no exit info, failing for %s[%d]", p->comm, p->pid);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SCX_OPS_DEFINE(no_uei_ops,
	       .enqueue		= (void *)no_uei_enqueue,
	       .name		= "scxtop_no_uei");

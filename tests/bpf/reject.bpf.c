// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler the verifier must reject (an array index it
// cannot bound).

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

u64 hits[4];

void BPF_STRUCT_OPS(reject_enqueue, struct task_struct *p, u64 enq_flags)
{
	u32 i = p->pid;

	hits[i]++;
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SCX_OPS_DEFINE(reject_ops,
	       .enqueue		= (void *)reject_enqueue,
	       .name		= "scxtop_reject");

// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler the verifier must reject because ops.dispatch
// reads through `prev` without checking it: the kernel passes NULL there
// when the CPU was idle (the kernel's own selftest maybe_null_fail_dsp).

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

u64 last_vtime;

void BPF_STRUCT_OPS(maybe_null_dispatch, s32 cpu, struct task_struct *prev)
{
	last_vtime = prev->scx.dsq_vtime;
}

SCX_OPS_DEFINE(maybe_null_ops,
	       .dispatch	= (void *)maybe_null_dispatch,
	       .name		= "scxtop_maybe_null");

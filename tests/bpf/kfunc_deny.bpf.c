// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler the verifier must reject because a sched_ext op
// calls a kfunc that is not allowed there (bpf_sock_destroy belongs to socket
// iterators). The kernel's selftest non_scx_kfunc_deny fails the same way
// from the other side: a TCP congestion control calling a sched_ext kfunc.

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

int destroyed;

void BPF_STRUCT_OPS(kfunc_deny_enqueue, struct task_struct *p, u64 enq_flags)
{
	destroyed = bpf_sock_destroy(NULL);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SCX_OPS_DEFINE(kfunc_deny_ops,
	       .enqueue		= (void *)kfunc_deny_enqueue,
	       .name		= "scxtop_kfunc_deny");

// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a valid BPF object that is not a scheduler (no struct_ops).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

u64 switches;

SEC("tp_btf/sched_switch")
int BPF_PROG(count, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__sync_fetch_and_add(&switches, 1);
	return 0;
}

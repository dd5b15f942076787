// SPDX-License-Identifier: GPL-2.0
//
// Benchmark fixture: a tp_btf/sched_switch program that does nothing. What
// it costs is the floor any switch probe pays on this machine (the
// tracepoint call and the program's entry), which benches/probes.rs sets
// beside the real probes' cost.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(nothing, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

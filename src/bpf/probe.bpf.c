// SPDX-License-Identifier: GPL-2.0
//
// Tracepoint probes. For now: a per-CPU context-switch counter on the
// BTF-enabled sched_switch raw tracepoint, which is the cheapest way to see
// every switch (no classic tracepoint argument copying).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} switch_count SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	u32 zero = 0;
	u64 *count = bpf_map_lookup_elem(&switch_count, &zero);

	if (count)
		(*count)++;
	return 0;
}

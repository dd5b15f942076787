/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layouts shared by probe.bpf.c and the Rust reader (src/probe/). The Rust
 * side mirrors these constants; it rejects a task walk that is not whole
 * task_rec records.
 */
#ifndef __SCXTOP_PROBE_H
#define __SCXTOP_PROBE_H

#define PROBE_MAX_CPUS	256	/* a power of two: indexes are masked with it */

/* Log-linear latency histogram: [0, 2^10 ns), then 16 sub-buckets for each
 * power of two from 2^10 ns (~1 us) up to 2^34 ns (~17 s), then overflow. */
#define HIST_MIN_SHIFT	10
#define HIST_MAX_SHIFT	34
#define HIST_SUB_BITS	4
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_BUCKETS	((HIST_MAX_SHIFT - HIST_MIN_SHIFT) * HIST_SUB + 2)

/* Nice -20..19, then one class for real-time and deadline tasks. */
#define PRIO_RT		40
#define PRIO_CLASSES	41

/* What a task got since the probes attached; kept in task storage and
 * copied out as is by the task iterator. */
struct task_totals {
	__u64 runtime_ns;
	__u64 wait_total_ns;
	__u64 wait_max_ns;
	__u64 waits;
	__u64 voluntary;
	__u64 involuntary;
};

struct task_stat {
	__u64 wake_ns;		/* runnable since; 0 when not waiting */
	__u64 on_cpu_ns;	/* running since; 0 when not running */
	struct task_totals t;
	__u32 last_cpu;
	__u32 pad;
};

struct task_rec {
	__s32 tgid;
	__s32 pid;
	__s32 prio;
	__s32 static_prio;
	__u32 policy;
	__u32 last_cpu;
	struct task_totals t;
	char comm[16];
};

#endif /* __SCXTOP_PROBE_H */

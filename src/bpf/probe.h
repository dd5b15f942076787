/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layouts shared by probe.bpf.c and the Rust reader (src/probe/). build.rs
 * runs bindgen on this file, so Rust reads these structs and constants from
 * here: declare a shared layout only in this header.
 */
#ifndef __SCXTOP_PROBE_H
#define __SCXTOP_PROBE_H

#ifndef __VMLINUX_H__
/* bindgen reads this header without vmlinux.h. */
typedef int __s32;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif

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

/* The dirty ring: 16 bytes a push (header and tid), so 16,384 tasks a
 * refresh before it overflows into a full walk. */
#define DIRTY_RING_BYTES	(256 * 1024)
/* Tasks one run of refresh_tasks reads. */
#define REFRESH_MAX	4096

struct hist {
	__u64 b[HIST_BUCKETS];
};

/* One CPU's counters: a per-CPU map value, so no two CPUs share a line.
 * Switches and migrations are counted where perf's software counters count
 * them (the switch, and set_task_cpu on the CPU that moves the task), so
 * perf's per-CPU counters need not be opened: they cost more per switch. */
struct cpu_stat {
	__u64 switches;
	__u64 voluntary;	/* prev went to sleep (the kernel's nvcsw) */
	__u64 lat_max_ns;
	__u64 migrations;	/* tasks this CPU moved to another CPU */
	__s32 curr_tid;		/* switched in last: running now (0: idle) */
	__u32 pad;
	struct hist lat;
};

/* Kept per task in task storage. Runtime and switch counts are the
 * kernel's own (se.sum_exec_runtime, nvcsw, nivcsw): only their values when
 * the probes first saw the task are stored, to report "since attach". */
struct task_stat {
	__u64 run_delay_seen;	/* sched_info.run_delay once its last wait ended */
	__u32 seen;		/* the base_* fields are set */
	__u32 last_cpu;
	__u32 dirty;		/* changed since a refresh read it; tid pushed */
	__u32 pad;
	__u64 base_runtime_ns;
	__u64 base_nvcsw;
	__u64 base_nivcsw;
	__u64 waits;
	__u64 wait_total_ns;
	__u64 wait_max_ns;
};

/* What a task got since the probes first saw it switch in. */
struct task_totals {
	__u64 runtime_ns;
	__u64 wait_total_ns;
	__u64 wait_max_ns;
	__u64 waits;
	__u64 voluntary;
	__u64 involuntary;
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

/* BPF_PROG_TEST_RUN's context for refresh_tasks. */
struct refresh_args {
	__u32 n;
};

#endif /* __SCXTOP_PROBE_H */

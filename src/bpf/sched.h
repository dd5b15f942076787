/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layouts shared by sched.bpf.c (the built-in scheduler) and the Rust reader
 * (src/sched/loader.rs). build.rs runs bindgen on this file, so Rust reads
 * these map values and constants from here: declare a shared layout only in
 * this header. Per-task state that userspace does not read stays in
 * sched.bpf.c.
 */
#ifndef __SCXTOP_SCHED_H
#define __SCXTOP_SCHED_H

#ifndef __VMLINUX_H__
/* bindgen reads this header without vmlinux.h. */
typedef unsigned int u32;
typedef unsigned long long u64;
#endif

#define NR_BANDS	3
#define MAX_CPUS	1024
#define NO_BAND		NR_BANDS

/* Highest first; the band_stats map's keys and src/snapshot/band.rs's order. */
enum band { BAND_HIGH, BAND_NORMAL, BAND_LOW };

/* Run-time switches userspace flips without reloading. */
struct ctl {
	u32 printk_on;
};

struct cpu_ctx {
	u64 depth_max_live;	/* updated on enqueue */
	u64 depth;		/* snapshot written by read_depths */
	u64 depth_max;		/* max since the previous read_depths */
	u64 running_vtime;	/* of the task running there */
	u32 running_band;	/* NO_BAND when idle */
	u32 pad;
};

struct band_stats {
	u64 enqueued;
	u64 dispatched;
	u64 wait_ns;
	u64 rescued;
	u64 preempt_kicks;
};

#endif /* __SCXTOP_SCHED_H */

// SPDX-License-Identifier: GPL-2.0
//
// Scheduling probes that work under any scheduler (fair, ours, a user's).
//
// Run-queue latency as runqlat and perf sched define it: the clock starts
// when a task wakes (sched_wakeup, sched_wakeup_new) or is preempted while
// still runnable (prev of sched_switch in TASK_RUNNING), and stops when it is
// switched in. pid 0 is skipped and a start stamp already set is kept.
//
// Everything is aggregated in the kernel: log-linear histograms in .bss
// (userspace reads them through the mmapped skeleton each refresh), per-task
// totals in task storage (dumped by a task iterator), per-CPU switch counts.
// Nothing goes through a ring buffer, so nothing can be dropped.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "probe.h"

char LICENSE[] SEC("license") = "GPL";

/* Timestamps come from the run queue's clock, the one the kernel's own
 * schedstat (run_delay, /proc/PID/schedstat) uses at the same three points:
 * it is updated at enqueue and at the start of schedule(), so the probes and
 * the kernel agree to the nanosecond instead of differing by the length of
 * the scheduler's own path. */
extern const struct rq runqueues __ksym;

/*
 * Kernels without CONFIG_KALLSYMS_ALL cannot resolve runqueues, and the
 * verifier rejects any program that names it, even in dead code. So every
 * program comes twice: *_rq reads the run queue's clock, the plain one the
 * monotonic clock at the tracepoint (a few microseconds later than the rq
 * clock at switch-in). The loader keeps one set (see sched_probes.rs).
 */
static __always_inline u64 clock_of(u32 cpu, bool use_rq)
{
	struct rq *rq;

	if (!use_rq)
		return bpf_ktime_get_ns();
	rq = bpf_per_cpu_ptr(&runqueues, cpu);
	return rq ? rq->clock : bpf_ktime_get_ns();
}

/* Which task the "selected task" histogram follows (0: none). Userspace
 * writes it through the mmapped .bss. */
u32 target_tid;

u64 cpu_hist[PROBE_MAX_CPUS][HIST_BUCKETS];
u64 prio_hist[PRIO_CLASSES][HIST_BUCKETS];
u64 task_hist[HIST_BUCKETS];
u64 cpu_lat_max[PROBE_MAX_CPUS];
u64 cpu_switches[PROBE_MAX_CPUS];
u64 cpu_voluntary[PROBE_MAX_CPUS];

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_stat);
} task_stats SEC(".maps");

static __always_inline u32 log2_u64(u64 v)
{
	u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* Bucket 0 holds [0, 2^HIST_MIN_SHIFT) ns, the last one everything from
 * 2^HIST_MAX_SHIFT ns on; in between, each power of two is split into
 * HIST_SUB sub-buckets. Mirrored by src/probe/histogram.rs. */
static __always_inline u32 bucket_of(u64 ns)
{
	u32 e, sub;

	if (ns < (1ULL << HIST_MIN_SHIFT))
		return 0;
	e = log2_u64(ns);
	if (e >= HIST_MAX_SHIFT)
		return HIST_BUCKETS - 1;
	sub = (ns >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return 1 + (e - HIST_MIN_SHIFT) * HIST_SUB + sub;
}

/* Nice -20..19 map to 0..39; real-time and deadline tasks share PRIO_RT. */
static __always_inline u32 prio_class(struct task_struct *p)
{
	int nice = p->static_prio - 120;

	if (p->prio < 100)
		return PRIO_RT;
	if (nice < -20 || nice > 19)
		return PRIO_RT;
	return nice + 20;
}

static __always_inline struct task_stat *stat_of(struct task_struct *p)
{
	return bpf_task_storage_get(&task_stats, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline void stamp_runnable(struct task_struct *p, u64 now)
{
	struct task_stat *st;

	if (!p->pid)
		return;
	st = stat_of(p);
	/* A wakeup of a task still on its CPU (it had not gone to sleep yet)
	 * starts no wait: the task is running. */
	if (st && !st->wake_ns && !st->on_cpu_ns)
		st->wake_ns = now;
}

#define WAKEUP_PROGS(suffix, use_rq)						\
SEC("tp_btf/sched_wakeup")							\
int BPF_PROG(on_wakeup##suffix, struct task_struct *p)				\
{										\
	stamp_runnable(p, clock_of(p->thread_info.cpu, use_rq));		\
	return 0;								\
}										\
SEC("tp_btf/sched_wakeup_new")							\
int BPF_PROG(on_wakeup_new##suffix, struct task_struct *p)			\
{										\
	stamp_runnable(p, clock_of(p->thread_info.cpu, use_rq));		\
	return 0;								\
}

WAKEUP_PROGS(, false)
WAKEUP_PROGS(_rq, true)

/* A CPU number already checked against PROBE_MAX_CPUS, masked so the
 * verifier sees the bound too (the barrier stops clang from dropping the mask
 * as redundant, and clang's re-extended register loses the checked bound). */
static __always_inline u32 cpu_index(u32 cpu)
{
	barrier_var(cpu);
	return cpu & (PROBE_MAX_CPUS - 1);
}

/* Each index is checked right before its use, behind a compiler barrier:
 * clang otherwise reuses an unchecked copy and the verifier rejects it. */
static __always_inline void record(u64 delta, u32 cpu, struct task_struct *p)
{
	u32 b = bucket_of(delta), pc = prio_class(p), i;

	/* Only this CPU writes its row: no atomics needed. */
	i = b;
	barrier_var(i);
	if (cpu < PROBE_MAX_CPUS && i < HIST_BUCKETS) {
		cpu = cpu_index(cpu);
		cpu_hist[cpu][i]++;
		if (delta > cpu_lat_max[cpu])
			cpu_lat_max[cpu] = delta;
	}
	i = b;
	barrier_var(i);
	if (pc < PRIO_CLASSES && i < HIST_BUCKETS)
		__sync_fetch_and_add(&prio_hist[pc][i], 1);
	i = b;
	barrier_var(i);
	if (target_tid && p->pid == target_tid && i < HIST_BUCKETS)
		__sync_fetch_and_add(&task_hist[i], 1);
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state, bool use_rq)
{
	u32 cpu = bpf_get_smp_processor_id();
	u64 now = clock_of(cpu, use_rq);
	struct task_stat *st;

	if (cpu < PROBE_MAX_CPUS)
		cpu_switches[cpu_index(cpu)]++;

	if (prev->pid) {
		st = stat_of(prev);
		if (st) {
			if (st->on_cpu_ns) {
				st->t.runtime_ns += now - st->on_cpu_ns;
				st->on_cpu_ns = 0;
			}
			/* Still runnable: preempted, so it waits from now on. */
			if (prev_state == 0) {
				st->t.involuntary++;
				if (!st->wake_ns)
					st->wake_ns = now;
			} else {
				/* Going to sleep: not waiting for a CPU, whatever
				 * was stamped while it ran. */
				st->wake_ns = 0;
				st->t.voluntary++;
				if (cpu < PROBE_MAX_CPUS)
					cpu_voluntary[cpu_index(cpu)]++;
			}
		}
	}

	if (next->pid) {
		st = stat_of(next);
		if (st) {
			st->on_cpu_ns = now;
			st->last_cpu = cpu;
			if (st->wake_ns) {
				u64 delta = now - st->wake_ns;

				st->wake_ns = 0;
				st->t.waits++;
				st->t.wait_total_ns += delta;
				if (delta > st->t.wait_max_ns)
					st->t.wait_max_ns = delta;
				record(delta, cpu, next);
			}
		}
	}
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	return on_switch(prev, next, prev_state, false);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch_rq, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	return on_switch(prev, next, prev_state, true);
}

/* One fixed-size record per task that has stats; read by userspace each
 * refresh. Exited tasks are gone from the walk (and their storage freed). */
static __always_inline int dump_task(struct bpf_iter__task *ctx, bool use_rq)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_stat *st;
	struct task_rec rec = {};

	if (!task)
		return 0;
	st = bpf_task_storage_get(&task_stats, task, 0, 0);
	if (!st)
		return 0;
	rec.tgid = task->tgid;
	rec.pid = task->pid;
	rec.prio = task->prio;
	rec.static_prio = task->static_prio;
	rec.policy = task->policy;
	rec.last_cpu = st->last_cpu;
	rec.t = st->t;
	/* Include the slice running right now, so a hog that never switches
	 * out still shows its CPU time. */
	if (st->on_cpu_ns) {
		u64 now = clock_of(st->last_cpu, use_rq);

		if (now > st->on_cpu_ns)
			rec.t.runtime_ns += now - st->on_cpu_ns;
	}
	__builtin_memcpy(rec.comm, task->comm, sizeof(rec.comm));
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	return dump_task(ctx, false);
}

SEC("iter/task")
int dump_tasks_rq(struct bpf_iter__task *ctx)
{
	return dump_task(ctx, true);
}

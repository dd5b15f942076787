// SPDX-License-Identifier: GPL-2.0
//
// Scheduling probes that work under any scheduler (fair, ours, a user's).
//
// Run-queue latency as runqlat and perf sched define it: from becoming
// runnable (woken, or preempted while still runnable) to being switched in.
// The kernel already stamps exactly those moments for its own schedstat
// (sched_info.last_queued, set at enqueue and when a preempted task is put
// back), on the run queue's clock. So one program on sched_switch does all
// the work: when `next` is switched in it reads that stamp and the run
// queue's clock, before the kernel consumes them a few instructions later
// (sched_info_arrive). No wakeup probes, and one task-storage lookup per
// switch. The numbers are the kernel's own /proc/PID/schedstat run_delay.
//
// The same sched_switch program counts switches (voluntary and not) per
// CPU, and a sched_migrate_task program counts migrations: perf's per-CPU
// software counters would count the same, but cost more on every switch
// (benches/probes.rs measures it), so they are opened only as a cross-check.
//
// Everything is aggregated in the kernel: histograms and counters in per-CPU
// maps (no two CPUs write one cache line, no atomics), per-task totals in
// task storage. Only tids go through a ring buffer: a task is pushed when it
// switches in for the first time since userspace last read it, and a
// refresh reads just those tasks (refresh_tasks) instead of every task in
// the system (dump_tasks, the full walk). A lost push costs a full walk,
// never a number.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "probe.h"

#define PF_EXITING 0x00000004

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

char LICENSE[] SEC("license") = "GPL";

/* Which task the "selected task" histogram follows (0: none). Userspace
 * writes it through the mmapped .bss. */
u32 target_tid;
/* CLOCK_MONOTONIC ns from when the program was attached (userspace writes
 * it right after the attach): a task started later was watched its whole
 * life. */
u64 watching_since_ns;
/* Set when this kernel lacks what latency needs (CONFIG_SCHED_INFO for the
 * enqueue stamp, CONFIG_FAIR_GROUP_SCHED for the task's run queue). */
u32 latency_unsupported;
/* The selected task runs on one CPU at a time; atomics keep it exact when
 * the selection moves. */
struct hist task_hist;
/* Never used: struct task_rec only travels through the task walk, and a type
 * reaches the object's BTF only through a global, a map or a function. The
 * Rust side's layout test compares it with this BTF. */
struct task_rec *task_rec_btf;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_stat);
} cpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PRIO_CLASSES);
	__type(key, u32);
	__type(value, struct hist);
} prio_hists SEC(".maps");

/* Tids whose record changed since the last refresh: each task is pushed
 * once, when its dirty mark goes up at a switch-in. The refresh then reads
 * only those tasks (refresh_tasks), and the ones running on a CPU, instead
 * of walking every task in the system. An exit needs no push of its own:
 * the task runs do_exit itself, so it was switched in or running. A push
 * the ring cannot take is counted, and the next refresh walks every task
 * instead. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DIRTY_RING_BYTES);
} dirty_tids SEC(".maps");
u64 dirty_lost;

/* The refresh's input and output, in the mmapped .bss: userspace writes
 * tids, runs refresh_tasks, reads records at the same indexes. */
s32 refresh_tids[REFRESH_MAX];
struct task_rec refresh_out[REFRESH_MAX];

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
 * HIST_SUB sub-buckets. src/snapshot/histogram.rs is the same function; the
 * Rust side checks at build time that its constants are these. */
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

/* The bucket index is checked right before each use, behind a compiler
 * barrier: clang otherwise reuses an unchecked copy and the verifier
 * rejects it. */
static __always_inline void record(u64 delta, struct cpu_stat *cs, struct task_struct *p)
{
	u32 b = bucket_of(delta), pc = prio_class(p), i;
	struct hist *h;

	i = b;
	barrier_var(i);
	if (i < HIST_BUCKETS)
		cs->lat.b[i]++;
	if (delta > cs->lat_max_ns)
		cs->lat_max_ns = delta;
	h = bpf_map_lookup_elem(&prio_hists, &pc);
	i = b;
	barrier_var(i);
	if (h && i < HIST_BUCKETS)
		h->b[i]++;
	i = b;
	barrier_var(i);
	if (target_tid && p->pid == target_tid && i < HIST_BUCKETS)
		__sync_fetch_and_add(&task_hist.b[i], 1);
}

static __always_inline void push_tid(s32 tid)
{
	if (bpf_ringbuf_output(&dirty_tids, &tid, sizeof(tid), BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&dirty_lost, 1);
}

/* After the task's fields are written: a refresh that cleared the mark
 * before this test sees it up again, one that clears it after reads what
 * was written. */
static __always_inline void mark_dirty(struct task_stat *st, s32 tid)
{
	if (st->dirty)
		return;
	st->dirty = 1;
	push_tid(tid);
}

/* `p` is being switched in on this CPU: end its wait, if it had one. */
static __always_inline void arrive(struct task_struct *p, struct cpu_stat *cs)
{
	u64 now, queued, run_delay, earlier = 0, current = 0, delta;
	struct task_stat *st;

	if (!bpf_core_field_exists(struct task_struct, sched_info) ||
	    !bpf_core_field_exists(struct sched_entity, cfs_rq) ||
	    !bpf_core_field_exists(struct cfs_rq, rq)) {
		latency_unsupported = 1;
		return;
	}
	/* Every task's se.cfs_rq is its group's queue on the CPU it is on
	 * (set_task_rq, for any scheduling class), and that queue's rq is the
	 * CPU's run queue: the clock sched_info_arrive() is about to read. */
	now = p->se.cfs_rq->rq->clock;
	queued = p->sched_info.last_queued;
	run_delay = p->sched_info.run_delay;

	st = bpf_task_storage_get(&task_stats, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	if (!st->seen) {
		st->seen = 1;
		st->base_runtime_ns = p->se.sum_exec_runtime;
		st->base_nvcsw = p->nvcsw;
		st->base_nivcsw = p->nivcsw;
		/* A task born while we watch has waited only under our eyes: what
		 * run_delay holds at its first arrival is part of this first wait,
		 * folded in at a move between run queues before it ever ran. */
		if (watching_since_ns && p->start_time >= watching_since_ns)
			earlier = run_delay;
	} else if (run_delay > st->run_delay_seen) {
		/* A task moved between run queues while it waited (load
		 * balancing, a sched_ext dispatch to another CPU) had that part
		 * of its wait folded into run_delay at the move. */
		earlier = run_delay - st->run_delay_seen;
	}
	st->last_cpu = bpf_get_smp_processor_id();
	if (queued && now > queued)
		current = now - queued;
	st->run_delay_seen = run_delay + current;
	if (!queued) {
		mark_dirty(st, p->pid);
		return;
	}

	delta = earlier + current;
	st->waits++;
	st->wait_total_ns += delta;
	if (delta > st->wait_max_ns)
		st->wait_max_ns = delta;
	record(delta, cs, p);
	mark_dirty(st, p->pid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	u32 zero = 0;
	struct cpu_stat *cs = bpf_map_lookup_elem(&cpu_stats, &zero);

	if (!cs)
		return 0;
	cs->switches++;
	/* The task on this CPU now: its runtime grows without a switch, so a
	 * refresh reads it whether or not it is marked. */
	cs->curr_tid = next->pid;
	/* The kernel's own split (__schedule): a switch is voluntary when prev
	 * blocks, involuntary when it is preempted. */
	if (!preempt && prev_state)
		cs->voluntary++;
	if (next->pid)
		arrive(next, cs);
	return 0;
}

/* perf's cpu-migrations event counts in set_task_cpu, on the CPU running
 * it, when the task really changes CPU; the tracepoint fires just before
 * that test, so it is made here too. */
SEC("tp_btf/sched_migrate_task")
int BPF_PROG(on_sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	u32 zero = 0;
	struct cpu_stat *cs;

	if (p->thread_info.cpu == (u32)dest_cpu)
		return 0;
	cs = bpf_map_lookup_elem(&cpu_stats, &zero);
	if (cs)
		cs->migrations++;
	return 0;
}

/* Fills `rec` from a task the probes have seen switch in; false when they
 * have not, or it is exiting (its row goes). Runtime and switch counts are
 * the kernel's, less their values when the task was first seen. The dirty
 * mark is cleared before the fields are read (see mark_dirty). */
static __always_inline bool fill_rec(struct task_struct *task, struct task_rec *rec)
{
	struct task_stat *st;

	if (task->flags & PF_EXITING)
		return false;
	st = bpf_task_storage_get(&task_stats, task, 0, 0);
	if (!st)
		return false;
	__sync_lock_test_and_set(&st->dirty, 0);
	rec->tgid = task->tgid;
	rec->pid = task->pid;
	rec->prio = task->prio;
	rec->static_prio = task->static_prio;
	rec->policy = task->policy;
	rec->last_cpu = st->last_cpu;
	rec->t.runtime_ns = task->se.sum_exec_runtime - st->base_runtime_ns;
	rec->t.voluntary = task->nvcsw - st->base_nvcsw;
	rec->t.involuntary = task->nivcsw - st->base_nivcsw;
	rec->t.waits = st->waits;
	rec->t.wait_total_ns = st->wait_total_ns;
	rec->t.wait_max_ns = st->wait_max_ns;
	__builtin_memcpy(rec->comm, task->comm, sizeof(rec->comm));
	return true;
}

/* One fixed-size record per task the probes have seen switch in: the full
 * walk, at start, now and then, and when a dirty push was lost. Exited
 * tasks are gone from the walk (and their storage freed). */
SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_rec rec = {};

	if (!task || !fill_rec(task, &rec))
		return 0;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

static long refresh_one(u64 i, void *unused)
{
	struct task_struct *task;
	struct task_rec *rec;
	s32 tid;

	if (i >= REFRESH_MAX)
		return 1;
	tid = refresh_tids[i];
	rec = &refresh_out[i];
	task = bpf_task_from_pid(tid);
	if (task) {
		bool alive = fill_rec(task, rec);

		bpf_task_release(task);
		if (alive)
			return 0;
	}
	/* Gone: no task has tgid 0 but the idle tasks, which are never read. */
	rec->tgid = 0;
	rec->pid = tid;
	return 0;
}

/* The incremental refresh: the records of the tasks in refresh_tids[0..n),
 * into refresh_out, in the same order. Run by userspace (BPF_PROG_TEST_RUN)
 * with the tids the dirty ring gave it. */
SEC("syscall")
int refresh_tasks(struct refresh_args *args)
{
	u32 n = args->n;

	if (n > REFRESH_MAX)
		n = REFRESH_MAX;
	bpf_loop(n, refresh_one, NULL, 0);
	return 0;
}

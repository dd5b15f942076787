// SPDX-License-Identifier: GPL-2.0
//
// scxtop's built-in priority scheduler.
//
// Tasks fall into bands by weight (nice): HIGH (nice <= -5), NORMAL, LOW
// (nice >= 5). Every CPU has one vtime-ordered DSQ per band. A CPU serves the
// highest non-empty band anywhere (its own DSQ first, then stealing) before a
// lower one, so a runnable higher-band task always runs before a lower-band
// task; within a band, weighted virtual time keeps things fair.
//
// A waking higher-band task preempts a CPU running a lower band when no CPU is
// idle. A starvation guard serves a lower band's head task once it has waited
// longer than starve_ns, so high-priority hogs never trip the watchdog.
//
// Userspace reads: per-CPU queue depth (current, and max since the last read,
// via the read_depths syscall program), per-band counters and the exit info
// (UEI). Per task it keeps only what scheduling needs: per-task figures come
// from scxtop's probes, which work the same under any scheduler. The map
// values userspace reads are declared in sched.h, which build.rs also turns
// into Rust.

#include <scx/common.bpf.h>

#include "sched.h"

char _license[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile u32 nr_cpus = 1;
const volatile u64 starve_ns = 100ULL * 1000 * 1000;
/* sched_ext weights: nice 0 = 100, nice -5 ~ 305, nice 5 ~ 33. */
const volatile u32 high_weight_min = 300;
const volatile u32 low_weight_max = 35;
const volatile u32 printk_per_sec = 10;
/* A rescued task runs this long, enough to make progress without taking much
 * from the higher band it was rescued from. */
const volatile u64 rescue_slice_ns = 2ULL * 1000 * 1000;

UEI_DEFINE(uei);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ctl);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, u32);
	__type(value, struct cpu_ctx);
} cpu_ctx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_BANDS);
	__type(key, u32);
	__type(value, struct band_stats);
} band_stats SEC(".maps");

struct task_ctx {
	u64 enq_ns;		/* 0 while not waiting */
	u64 run_start_ns;
	u32 band;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctx SEC(".maps");

static u64 vtime_now[NR_BANDS];
static u64 printk_window_start;
static u32 printk_in_window;

static __always_inline u64 band_dsq(s32 cpu, u32 band)
{
	return (u64)cpu * NR_BANDS + band;
}

static __always_inline u32 weight_band(u32 weight)
{
	if (weight >= high_weight_min)
		return BAND_HIGH;
	if (weight <= low_weight_max)
		return BAND_LOW;
	return BAND_NORMAL;
}

static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

static struct band_stats *stats_of(u32 band)
{
	return bpf_map_lookup_elem(&band_stats, &band);
}

static struct cpu_ctx *cpu_ctx_of(s32 cpu)
{
	u32 key = cpu;

	return bpf_map_lookup_elem(&cpu_ctx, &key);
}

/* bpf_printk costs hundreds of ns: only when asked, and at most
 * printk_per_sec lines a second. Races between CPUs only blur the limit. */
static bool printk_allowed(u64 now)
{
	u32 key = 0;
	struct ctl *c = bpf_map_lookup_elem(&ctl, &key);

	if (!c || !c->printk_on)
		return false;
	if (now - printk_window_start >= 1000ULL * 1000 * 1000) {
		printk_window_start = now;
		printk_in_window = 0;
	}
	if (printk_in_window >= printk_per_sec)
		return false;
	printk_in_window++;
	return true;
}

static s32 queued_on(s32 cpu)
{
	s32 n = scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | cpu);
	u32 b;

	for (b = 0; b < NR_BANDS; b++)
		n += scx_bpf_dsq_nr_queued(band_dsq(cpu, b));
	return n;
}

static struct task_ctx *task_ctx_of(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctx, p, 0, 0);
}

/* Band of @p, noting (and announcing) a change since it last queued. */
static u32 task_band(struct task_struct *p, struct task_ctx *tctx, u64 now)
{
	u32 band = weight_band(p->scx.weight);

	if (tctx->band != band) {
		if (band >= NR_BANDS)
			return BAND_NORMAL;
		if (tctx->band < NR_BANDS && printk_allowed(now))
			bpf_printk("scxtop: band pid=%d %s %u->%u", p->pid, p->comm,
				   tctx->band, band);
		/* Another band's clock means nothing here: start at this one's. */
		p->scx.dsq_vtime = vtime_now[band];
		tctx->band = band;
	}
	return band;
}

static void stamp_enqueue(struct task_ctx *tctx, u64 now)
{
	if (!tctx->enq_ns)
		tctx->enq_ns = now;
}

s32 BPF_STRUCT_OPS(prio_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

	if (is_idle) {
		struct task_ctx *tctx = task_ctx_of(p);
		u64 now = scx_bpf_now();

		if (tctx) {
			struct band_stats *st = stats_of(task_band(p, tctx, now));

			stamp_enqueue(tctx, now);
			if (st)
				st->enqueued++;
		}
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, 0);
	}
	return cpu;
}

/* Whether waking @p (band @band, vtime @vtime) should preempt what @cpu runs:
 * a lower band, or the same band with @p behind the running task by more than
 * half a slice of its own run time (a sleeper that ran little, as the fair
 * class would favour it). */
static bool should_preempt(struct task_struct *p, u32 band, u64 vtime, s32 cpu)
{
	struct cpu_ctx *cctx;

	if (cpu < 0 || cpu >= MAX_CPUS || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
		return false;
	cctx = cpu_ctx_of(cpu);
	if (!cctx || cctx->running_band >= NO_BAND)
		return false;
	if (cctx->running_band > band)
		return true;
	/* Half a slice of @p's own run time, in vtime units (which run at
	 * 100/weight of real time: a nice -20 task's vtime barely moves). */
	return cctx->running_band == band &&
	       vtime_before(vtime + SCX_SLICE_DFL / 2 * 100 / p->scx.weight,
			    cctx->running_vtime);
}

/* The CPU @p should preempt, or -1. The waking CPU first: no IPI, and in
 * practice it is where @p slept. Else the CPU running the lowest band. */
static s32 preempt_victim(struct task_struct *p, u32 band, u64 vtime)
{
	s32 here = bpf_get_smp_processor_id();
	s32 victim = -1;
	u32 worst = band;
	u32 cpu;

	if (should_preempt(p, band, vtime, here))
		return here;
	bpf_for(cpu, 0, nr_cpus) {
		struct cpu_ctx *cctx;

		if (cpu >= MAX_CPUS)
			break;
		if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		cctx = cpu_ctx_of(cpu);
		if (cctx && cctx->running_band < NO_BAND && cctx->running_band > worst) {
			worst = cctx->running_band;
			victim = cpu;
		}
	}
	if (victim < 0 && should_preempt(p, band, vtime, scx_bpf_task_cpu(p)))
		victim = scx_bpf_task_cpu(p);
	return victim;
}

void BPF_STRUCT_OPS(prio_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = task_ctx_of(p);
	struct band_stats *st;
	struct cpu_ctx *cctx;
	u64 now = scx_bpf_now();
	u64 vtime, credit, kick = 0;
	u32 band = BAND_NORMAL;
	s32 cpu, idle;
	s32 depth;

	if (tctx) {
		band = task_band(p, tctx, now);
		stamp_enqueue(tctx, now);
	}

	vtime = p->scx.dsq_vtime;
	/* A sleeper banks at most one slice of its own run time as credit (in
	 * vtime units, which scale with 100/weight). */
	credit = SCX_SLICE_DFL * 100 / p->scx.weight;
	if (vtime_before(vtime, vtime_now[band] - credit))
		vtime = vtime_now[band] - credit;

	/*
	 * Queue on an idle CPU and wake it if there is one: idle CPUs do not
	 * dispatch (and so do not steal) until kicked. Otherwise a waking task
	 * preempts a CPU running a lower band; a task whose slice ran out stays
	 * on its CPU, which is about to dispatch anyway.
	 */
	cpu = scx_bpf_task_cpu(p);
	idle = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (idle >= 0) {
		cpu = idle;
		kick = SCX_KICK_IDLE;
	} else if (enq_flags & SCX_ENQ_WAKEUP) {
		s32 victim = preempt_victim(p, band, vtime);

		if (victim >= 0) {
			cpu = victim;
			kick = SCX_KICK_PREEMPT;
		}
	}
	if (cpu < 0 || cpu >= nr_cpus)
		cpu = 0;

	depth = queued_on(cpu) + 1;
	scx_bpf_dsq_insert_vtime(p, band_dsq(cpu, band), SCX_SLICE_DFL, vtime, enq_flags);

	cctx = cpu_ctx_of(cpu);
	if (cctx && depth > cctx->depth_max_live)
		cctx->depth_max_live = depth;
	st = stats_of(band);
	if (st) {
		st->enqueued++;
		if (kick == SCX_KICK_PREEMPT)
			st->preempt_kicks++;
	}
	if (kick)
		scx_bpf_kick_cpu(cpu, kick);
}

/* The first task of @dsq (the lowest vtime), or NULL. */
static struct task_struct *dsq_head(u64 dsq)
{
	struct task_struct *p, *head = NULL;

	bpf_for_each(scx_dsq, p, dsq, 0) {
		head = p;
		break;
	}
	return head;
}

/*
 * Serve the first task of @dsq that may run on @cpu if it has waited longer
 * than starve_ns, with a short slice; *waited is how long it waited.
 *
 * The short slice travels with the move (scx_bpf_dsq_move_set_slice) instead
 * of as a mark on the task for running() to act on. A mark set before the
 * move was wrong whenever the move took another task or none:
 * scx_bpf_dsq_move_to_local() takes whichever queued task it finds first
 * that may run here, and another CPU can take the marked one meanwhile, so
 * the mark stayed on a task nobody rescued and cut a later ordinary slice
 * short. scx_bpf_dsq_move() moves exactly @p, and only while @p is still
 * queued where this iteration found it, so the slice and the caller's
 * rescued count belong to the task moved.
 */
static bool rescue_from(u64 dsq, s32 cpu, u64 now, u64 *waited)
{
	struct task_struct *p;

	bpf_for_each(scx_dsq, p, dsq, 0) {
		struct task_ctx *tctx;

		/* The kernel ejects a scheduler that moves a task to a local
		 * DSQ its affinity excludes. An affinity change dequeues the
		 * task, which makes the move below fail rather than err. */
		if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		tctx = task_ctx_of(p);
		if (!tctx || !tctx->enq_ns || now <= tctx->enq_ns ||
		    now - tctx->enq_ns <= starve_ns)
			return false;
		*waited = now - tctx->enq_ns;
		scx_bpf_dsq_move_set_slice(BPF_FOR_EACH_ITER, rescue_slice_ns);
		return scx_bpf_dsq_move(BPF_FOR_EACH_ITER, p, SCX_DSQ_LOCAL, 0);
	}
	return false;
}

static bool rescue_starved(s32 cpu, u64 now)
{
	u32 band;

	for (band = NR_BANDS - 1; band > BAND_HIGH; band--) {
		struct band_stats *st;
		u64 waited = 0;

		if (!rescue_from(band_dsq(cpu, band), cpu, now, &waited))
			continue;
		st = stats_of(band);
		if (st)
			st->rescued++;
		if (printk_allowed(now))
			bpf_printk("scxtop: rescue cpu=%d band=%u waited=%llums", cpu, band,
				   waited / 1000000);
		return true;
	}
	return false;
}

/*
 * Serve @band: the CPU whose queue head has the lowest vtime first (all of a
 * band's queues share one vtime clock, so this is fair across CPUs), then any
 * queue with a task that may run here.
 */
static bool serve_band(s32 cpu, u32 band)
{
	s32 best = -1;
	u64 best_vtime = 0;
	u32 i;

	bpf_for(i, 0, nr_cpus) {
		u32 other = (cpu + i) % nr_cpus;
		struct task_struct *p = dsq_head(band_dsq(other, band));

		if (p && (best < 0 || vtime_before(p->scx.dsq_vtime, best_vtime))) {
			best = other;
			best_vtime = p->scx.dsq_vtime;
		}
	}
	if (best < 0)
		return false;
	if (scx_bpf_dsq_move_to_local(band_dsq(best, band), 0))
		return true;
	/* The best head may not run here (affinity): try every queue. */
	bpf_for(i, 0, nr_cpus) {
		u32 other = (cpu + i) % nr_cpus;

		if (scx_bpf_dsq_move_to_local(band_dsq(other, band), 0))
			return true;
	}
	return false;
}

/*
 * The kernel calls this when @prev's slice ran out, before @prev is queued
 * again: @prev is in no DSQ yet, so it must be weighed here. A runnable @prev
 * keeps the CPU (with a new slice) unless a task of its band or a higher one
 * is queued, or the starvation guard has a rescue.
 */
void BPF_STRUCT_OPS(prio_dispatch, s32 cpu, struct task_struct *prev)
{
	u32 prev_band = NO_BAND;
	u32 band;

	if (rescue_starved(cpu, scx_bpf_now()))
		return;
	if (prev && (prev->scx.flags & SCX_TASK_QUEUED))
		prev_band = weight_band(prev->scx.weight);
	for (band = 0; band < NR_BANDS && band <= prev_band; band++)
		if (serve_band(cpu, band))
			return;
	/* Not charged here: it is charged in full when it stops. (Charging a
	 * kept prev here too made same-band wakeup preemption of hogs rarer:
	 * the waker's p99 under the mixed load went from 0.6x to 1.0x of
	 * fair's.) */
	if (prev_band < NO_BAND)
		prev->scx.slice = SCX_SLICE_DFL;
}

void BPF_STRUCT_OPS(prio_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx_of(p);
	struct cpu_ctx *cctx = cpu_ctx_of(scx_bpf_task_cpu(p));
	u32 band = weight_band(p->scx.weight);
	struct band_stats *st;
	u64 now = scx_bpf_now();
	u64 wait = 0;

	if (tctx) {
		band = tctx->band < NR_BANDS ? tctx->band : band;
		if (tctx->enq_ns) {
			wait = now > tctx->enq_ns ? now - tctx->enq_ns : 0;
			tctx->enq_ns = 0;
		}
		tctx->run_start_ns = now;
	}
	if (cctx) {
		cctx->running_band = band;
		cctx->running_vtime = p->scx.dsq_vtime;
	}
	st = stats_of(band);
	if (st) {
		st->dispatched++;
		st->wait_ns += wait;
	}
	/* Racy across CPUs; an error only lasts until the next update. */
	if (band < NR_BANDS && vtime_before(vtime_now[band], p->scx.dsq_vtime))
		vtime_now[band] = p->scx.dsq_vtime;
}

/*
 * Charge what @p ran since it started, scaled by weight, and move its band's
 * clock along: rescued tasks run short slices and yielding ones give theirs
 * up early, so the actual run time counts, not the slice. The band's clock
 * follows the furthest task, so tasks that wake after another ran alone for a
 * long time start level with it instead of far behind.
 */
void BPF_STRUCT_OPS(prio_stopping, struct task_struct *p, bool runnable)
{
	struct cpu_ctx *cctx = cpu_ctx_of(scx_bpf_task_cpu(p));
	struct task_ctx *tctx = task_ctx_of(p);
	u64 now = scx_bpf_now(), start;
	u32 band;
	u64 ran;

	if (cctx)
		cctx->running_band = NO_BAND;
	if (!tctx)
		return;
	start = tctx->run_start_ns;
	tctx->run_start_ns = 0;
	if (!start || now <= start)
		return;
	ran = now - start;
	p->scx.dsq_vtime += ran * 100 / p->scx.weight;
	band = tctx->band;
	if (band < NR_BANDS && vtime_before(vtime_now[band], p->scx.dsq_vtime))
		vtime_now[band] = p->scx.dsq_vtime;
}

void BPF_STRUCT_OPS(prio_enable, struct task_struct *p)
{
	p->scx.dsq_vtime = vtime_now[weight_band(p->scx.weight)];
}

s32 BPF_STRUCT_OPS(prio_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctx, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	tctx->band = weight_band(p->scx.weight);
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(prio_init)
{
	u32 cpu, band;
	s32 ret;

	if (nr_cpus > MAX_CPUS) {
		scx_bpf_error("%u CPUs, scxtop's scheduler handles %d", nr_cpus, MAX_CPUS);
		return -E2BIG;
	}
	bpf_for(cpu, 0, nr_cpus) {
		struct cpu_ctx *cctx = cpu_ctx_of(cpu);

		if (cctx)
			cctx->running_band = NO_BAND;
		for (band = 0; band < NR_BANDS; band++) {
			ret = scx_bpf_create_dsq(band_dsq(cpu, band), -1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void BPF_STRUCT_OPS(prio_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

/* Userspace runs this (BPF_PROG_RUN) once a refresh: it snapshots each CPU's
 * queue depth and the maximum seen since the previous run. */
SEC("syscall")
int read_depths(void *ctx)
{
	u32 cpu;

	bpf_for(cpu, 0, nr_cpus) {
		struct cpu_ctx *cctx = cpu_ctx_of(cpu);
		s32 depth = queued_on(cpu);
		u64 max;

		if (!cctx)
			continue;
		if (depth < 0)
			depth = 0;
		max = __sync_lock_test_and_set(&cctx->depth_max_live, depth);
		cctx->depth = depth;
		cctx->depth_max = max > depth ? max : depth;
	}
	return 0;
}

SCX_OPS_DEFINE(scxtop_prio_ops,
	       .select_cpu	= (void *)prio_select_cpu,
	       .enqueue		= (void *)prio_enqueue,
	       .dispatch	= (void *)prio_dispatch,
	       .running		= (void *)prio_running,
	       .stopping	= (void *)prio_stopping,
	       .enable		= (void *)prio_enable,
	       .init_task	= (void *)prio_init_task,
	       .init		= (void *)prio_init,
	       .exit		= (void *)prio_exit,
	       .name		= "scxtop_prio");

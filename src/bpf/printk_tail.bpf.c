// SPDX-License-Identifier: GPL-2.0
//
// The bpf_printk tail: every bpf_printk (and bpf_trace_vprintk) line, from
// any BPF program, into a ring buffer userspace drains once per refresh.
//
// The kernel formats the line before it fires the bpf_trace_printk
// tracepoint with it, so a raw tracepoint program sees the finished text.
// That needs no tracefs instance (whose removal waits for an RCU tasks-trace
// grace period, up to a second under load) and consumes nothing from
// tracefs: a user's own `cat trace_pipe` keeps every line.
//
// This program must never call bpf_printk itself: it would fire its own
// tracepoint (the kernel's recursion guard would drop that line, but a
// tail that prints about what it tails is noise anyway).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "printk_tail.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PRINTK_RING_BYTES);
} lines SEC(".maps");

/* A record is assembled here first, so only the header and the message's
 * real length go to the ring (bpf_ringbuf_reserve wants a constant size, and
 * 1 KiB per line would fit a tenth as many lines). A program does not
 * re-enter itself on one CPU, so one slot per CPU suffices. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct printk_rec);
} scratch SEC(".maps");

/* Lines the full ring had no room for, per CPU (no shared cache line, no
 * atomics). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

SEC("raw_tp/bpf_trace_printk")
int BPF_PROG(tail_printk, const char *bpf_string)
{
	struct printk_rec *r;
	u32 zero = 0;
	u64 id, *nlost;
	long n;

	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	r->h.ts_ns = bpf_ktime_get_ns();
	n = bpf_probe_read_kernel_str(r->msg, sizeof(r->msg), bpf_string);
	if (n <= 0)
		goto drop;
	/* Already true (n counts the NUL); said again for the verifier. */
	if (n > PRINTK_MSG_MAX)
		n = PRINTK_MSG_MAX;
	id = bpf_get_current_pid_tgid();
	r->h.pid = (u32)id;
	r->h.tgid = id >> 32;
	r->h.cpu = bpf_get_smp_processor_id();
	r->h.len = n - 1;
	bpf_get_current_comm(r->h.comm, sizeof(r->h.comm));
	/* No wakeup: userspace polls once per refresh, and a wakeup per line
	 * would cost a context switch per line. */
	if (!bpf_ringbuf_output(&lines, r, sizeof(r->h) + n, BPF_RB_NO_WAKEUP))
		return 0;
drop:
	nlost = bpf_map_lookup_elem(&lost, &zero);
	if (nlost)
		(*nlost)++;
	return 0;
}

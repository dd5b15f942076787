/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record printk_tail.bpf.c writes to its ring buffer for every
 * bpf_printk line. build.rs runs bindgen on this file, so Rust reads the
 * layout from here: declare it only in this header.
 */
#ifndef __SCXTOP_PRINTK_TAIL_H
#define __SCXTOP_PRINTK_TAIL_H

#ifndef __VMLINUX_H__
/* bindgen reads this header without vmlinux.h. */
typedef int __s32;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#endif

/* The kernel formats a bpf_printk line into a buffer of MAX_BPRINTF_BUF
 * (1024) bytes, NUL included, before it fires the tracepoint. */
#define PRINTK_MSG_MAX		1024
#define PRINTK_COMM_LEN		16
/* The ring's size unless userspace sets another before load. */
#define PRINTK_RING_BYTES	(1 << 20)

/* A ring record is this header, then `len` message bytes and a NUL; only
 * that much is copied, so a short line takes little of the ring. */
struct printk_hdr {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__s32 pid;		/* the printing thread */
	__s32 tgid;
	__u32 cpu;
	__u32 len;		/* message bytes, without the NUL */
	char comm[PRINTK_COMM_LEN];
};

/* The per-CPU scratch a record is assembled in. */
struct printk_rec {
	struct printk_hdr h;
	char msg[PRINTK_MSG_MAX];
};

#endif /* __SCXTOP_PRINTK_TAIL_H */

// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: syscall programs that call bpf_printk when run with
// BPF_PROG_RUN (ctx: struct args). `print_lines` prints `count` numbered
// lines; `print_edges` prints one line through bpf_trace_vprintk and one
// longer than the kernel formats.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct args {
	u32 count;
	u32 tag;
};

#define TEN "0123456789"
#define HUNDRED TEN TEN TEN TEN TEN TEN TEN TEN TEN TEN
/* 1100 characters: past the 1023 (and a NUL) a line is formatted into. */
#define LONG HUNDRED HUNDRED HUNDRED HUNDRED HUNDRED HUNDRED HUNDRED HUNDRED \
	HUNDRED HUNDRED HUNDRED

SEC("syscall")
int print_lines(struct args *ctx)
{
	u32 i, n = ctx->count, tag = ctx->tag;

	bpf_for(i, 0, n)
		bpf_printk("scxtop-test tag=%u line=%u", tag, i);
	return 0;
}

SEC("syscall")
int print_edges(struct args *ctx)
{
	u32 tag = ctx->tag;

	/* More than three arguments: bpf_printk calls bpf_trace_vprintk. */
	bpf_printk("scxtop-test tag=%u vprintk %u %u %u %u", tag, 1, 2, 3, 4);
	bpf_printk("scxtop-test tag=%u long=" LONG, tag);
	return 0;
}

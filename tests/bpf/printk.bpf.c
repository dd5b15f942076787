// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a syscall program that calls bpf_printk `count` times, each
// line numbered, when run with BPF_PROG_RUN (ctx: struct args).

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

struct args {
	u32 count;
	u32 tag;
};

SEC("syscall")
int print_lines(struct args *ctx)
{
	u32 i, n = ctx->count, tag = ctx->tag;

	bpf_for(i, 0, n)
		bpf_printk("scxtop-test tag=%u line=%u", tag, i);
	return 0;
}

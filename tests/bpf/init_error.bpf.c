// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler whose ops.init calls scx_bpf_error(). The attach
// succeeds, yet on 7.2 and 7.3 the kernel has already ejected it (ERROR_BPF,
// recorded in its UEI; no "enabled" line) when the attach returns.

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS_SLEEPABLE(init_error_init)
{
	scx_bpf_error("init_error refuses to run");
	return 0;
}

void BPF_STRUCT_OPS(init_error_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(init_error_ops,
	       .init		= (void *)init_error_init,
	       .exit		= (void *)init_error_exit,
	       .name		= "scxtop_init_error");

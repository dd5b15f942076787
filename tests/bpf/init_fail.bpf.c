// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler whose ops.init returns -EINVAL. The kernel does
// not fail the attach for that: on 7.2 and 7.3 it succeeds with the
// scheduler already ejected (ERROR, "ops.init() failed (-22)").

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS_SLEEPABLE(init_fail_init)
{
	return -22;
}

void BPF_STRUCT_OPS(init_fail_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(init_fail_ops,
	       .init		= (void *)init_fail_init,
	       .exit		= (void *)init_fail_exit,
	       .name		= "scxtop_init_fail");

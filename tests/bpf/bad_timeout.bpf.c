// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a scheduler asking for a watchdog timeout above the kernel's
// maximum (30 s). The kernel checks ops fields when the struct_ops map gets
// its value, which libbpf does at attach: the attach fails (E2BIG) and
// nothing runs.

#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

void BPF_STRUCT_OPS(bad_timeout_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(bad_timeout_ops,
	       .exit		= (void *)bad_timeout_exit,
	       .timeout_ms	= 600000,
	       .name		= "scxtop_bad_timeout");

// SPDX-License-Identifier: GPL-2.0
//
// Test fixture: a valid struct_ops object of the wrong kind, a TCP
// congestion control. It loads and attaches as is (the kernel would list
// "scxtop_cc" in net.ipv4.tcp_available_congestion_control), so only the
// loader's check of the struct_ops type keeps it from being registered.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

SEC("struct_ops")
__u32 BPF_PROG(scxtop_cc_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops")
void BPF_PROG(scxtop_cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(scxtop_cc_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops scxtop_cc = {
	.ssthresh	= (void *)scxtop_cc_ssthresh,
	.cong_avoid	= (void *)scxtop_cc_cong_avoid,
	.undo_cwnd	= (void *)scxtop_cc_undo_cwnd,
	.name		= "scxtop_cc",
};

// SPDX-License-Identifier: GPL-2.0
//
// Shared by the test fixtures: pick tasks out by the start of their name
// (`scxtop workload --name` sets it on every thread of a load).
#pragma once

static __always_inline bool comm_has_prefix(struct task_struct *p, const char *want)
{
	int i;

	for (i = 0; i < 15 && want[i]; i++)
		if (p->comm[i] != want[i])
			return false;
	return true;
}

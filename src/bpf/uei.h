/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindgen input only: scx's struct user_exit_info, which any scheduler built
 * with the scx headers records its exit in (UEI_DEFINE). Rust reads it with
 * the layout of the headers scx_cargo ships, the ones our objects build with.
 */
#ifndef __SCXTOP_UEI_H
#define __SCXTOP_UEI_H

/* The scx header takes these from vmlinux.h. */
typedef int s32;
typedef long long s64;

#include <scx/user_exit_info_common.h>

#endif /* __SCXTOP_UEI_H */

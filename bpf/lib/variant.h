/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test builds only. STEER_BUILD_VARIANT=1 (the steer_bpf_variant object,
 * embedded by ipsec-steer-variant) adds one stack store per program: the
 * behaviour is the same, the program tags are not, so `up` of the other
 * build must replace the running programs as a real upgrade would
 * (tests/netns/upgrade). The production build emits nothing here.
 */
#ifndef STEER_LIB_VARIANT_H
#define STEER_LIB_VARIANT_H

#include <linux/types.h>

#ifndef STEER_BUILD_VARIANT
#define STEER_BUILD_VARIANT 0
#endif

static __always_inline void steer_variant_mark(void)
{
#if STEER_BUILD_VARIANT
	/* volatile: the store must survive -O2 to change the code. */
	volatile __u32 variant = STEER_BUILD_VARIANT;

	(void)variant;
#endif
}

#endif

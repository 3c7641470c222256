// SPDX-License-Identifier: GPL-2.0

#include <asm/barrier.h>

void rust_helper_smp_mb(void)
{
	/* Pairs with whatever the Rust caller documents at its smp_mb(). */
	smp_mb();
}

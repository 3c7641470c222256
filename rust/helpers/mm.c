// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>

void rust_helper_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

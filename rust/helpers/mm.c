// SPDX-License-Identifier: GPL-2.0

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

void rust_helper_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

struct mm_struct *rust_helper_current_mm_grab(void)
{
	struct mm_struct *mm = current->mm;

	if (mm)
		mmgrab(mm);
	return mm;
}

void rust_helper_mmdrop(struct mm_struct *mm)
{
	mmdrop(mm);
}

s64 rust_helper_mm_pinned_vm_add(struct mm_struct *mm, s64 npages)
{
	return atomic64_add_return(npages, &mm->pinned_vm);
}

unsigned long rust_helper_rlimit(unsigned int limit)
{
	return rlimit(limit);
}

pgprot_t rust_helper_pgprot_noncached(pgprot_t prot)
{
	return pgprot_noncached(prot);
}

pgprot_t rust_helper_pgprot_decrypted(pgprot_t prot)
{
	return pgprot_decrypted(prot);
}

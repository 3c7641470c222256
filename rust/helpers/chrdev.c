// SPDX-License-Identifier: GPL-2.0

#include <linux/fs.h>
#include <linux/sysfs.h>

struct cdev *rust_helper_inode_cdev(struct inode *inode)
{
	return inode->i_cdev;
}

void rust_helper_sysfs_attr_init(struct attribute *attr)
{
	sysfs_attr_init(attr);
}

// SPDX-License-Identifier: GPL-2.0

#include <linux/device.h>

void *rust_helper_dev_get_drvdata(const struct device *dev)
{
	return dev_get_drvdata(dev);
}

// SPDX-License-Identifier: GPL-2.0

#include <linux/skbuff.h>
#include <net/page_pool/helpers.h>

/* A pool that maps its pages for the device to write (receive), for one queue of netdev. */
struct page_pool *rust_helper_page_pool_create_rx(struct device *dev, struct net_device *netdev,
						  struct napi_struct *napi, u32 queue, u32 order,
						  u32 pool_size, bool sync_for_device, u32 offset,
						  u32 max_len)
{
	struct page_pool_params pp = {
		.order = order,
		.pool_size = pool_size,
		.nid = dev_to_node(dev),
		.dev = dev,
		.napi = napi,
		.dma_dir = DMA_FROM_DEVICE,
		.offset = offset,
		.max_len = max_len,
		.netdev = netdev,
		.queue_idx = queue,
		.flags = PP_FLAG_DMA_MAP | (sync_for_device ? PP_FLAG_DMA_SYNC_DEV : 0),
	};

	return page_pool_create(&pp);
}

void rust_helper_page_pool_put_full_page(struct page_pool *pool, struct page *page,
					 bool allow_direct)
{
	page_pool_put_full_page(pool, page, allow_direct);
}

dma_addr_t rust_helper_page_pool_get_dma_addr(const struct page *page)
{
	return page_pool_get_dma_addr(page);
}

void rust_helper_page_pool_dma_sync_for_cpu(const struct page_pool *pool,
					    const struct page *page, u32 offset, u32 len)
{
	page_pool_dma_sync_for_cpu(pool, page, offset, len);
}

unsigned int rust_helper_skb_rx_headroom(void)
{
	return NET_SKB_PAD + NET_IP_ALIGN;
}

unsigned int rust_helper_skb_head_align(unsigned int size)
{
	return SKB_HEAD_ALIGN(size);
}

struct sk_buff *rust_helper_page_pool_build_skb(struct page *page, unsigned int truesize,
						unsigned int headroom, unsigned int len)
{
	void *data = page_address(page);
	struct sk_buff *skb;

	/* The NAPI variant takes its heads from a per-CPU cache that only softirq context, or
	 * code with bottom halves disabled, may touch.
	 */
	skb = in_softirq() ? napi_build_skb(data, truesize) : build_skb(data, truesize);
	if (!skb)
		return NULL;
	skb_reserve(skb, headroom);
	__skb_put(skb, len);
	skb_mark_for_recycle(skb);
	return skb;
}

/* A socket buffer of its own, no larger than the frame needs, holding a copy of the len bytes at
 * offset in page, for netdev; in atomic context.
 */
struct sk_buff *rust_helper_page_pool_copy_skb(struct net_device *netdev, struct page *page,
					       unsigned int offset, unsigned int len)
{
	struct sk_buff *skb = netdev_alloc_skb_ip_align(netdev, len);

	if (!skb)
		return NULL;
	skb_put_data(skb, page_address(page) + offset, len);
	return skb;
}

// SPDX-License-Identifier: GPL-2.0

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/netdev_queues.h>

void rust_helper_eth_hw_addr_random(struct net_device *dev)
{
	eth_hw_addr_random(dev);
}

void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

void rust_helper_netdev_write_mtu(struct net_device *dev, unsigned int mtu)
{
	WRITE_ONCE(dev->mtu, mtu);
}

bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

void rust_helper_netif_stop_queue(struct net_device *dev)
{
	netif_stop_queue(dev);
}

void rust_helper_netif_wake_queue(struct net_device *dev)
{
	netif_wake_queue(dev);
}

bool rust_helper_netif_queue_stopped(const struct net_device *dev)
{
	return netif_queue_stopped(dev);
}

struct netdev_queue *rust_helper_netdev_get_tx_queue(const struct net_device *dev,
						     unsigned int index)
{
	return netdev_get_tx_queue(dev, index);
}

void rust_helper_netdev_tx_sent_queue(struct netdev_queue *q, unsigned int bytes)
{
	netdev_tx_sent_queue(q, bytes);
}

void rust_helper_netdev_tx_completed_queue(struct netdev_queue *q, unsigned int pkts,
					   unsigned int bytes)
{
	netdev_tx_completed_queue(q, pkts, bytes);
}

void rust_helper_netdev_tx_reset_queue(struct netdev_queue *q)
{
	netdev_tx_reset_queue(q);
}

void rust_helper_dev_sw_netstats_rx_add(struct net_device *dev, unsigned int len)
{
	dev_sw_netstats_rx_add(dev, len);
}

void rust_helper_dev_sw_netstats_tx_add(struct net_device *dev, unsigned int packets,
					unsigned int len)
{
	dev_sw_netstats_tx_add(dev, packets, len);
}

void rust_helper_netdev_fetch_tstats(struct rtnl_link_stats64 *s, struct net_device *dev)
{
	dev_fetch_sw_netstats(s, dev->tstats);
}

void rust_helper_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

void rust_helper_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
				int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

bool rust_helper_napi_schedule(struct napi_struct *n)
{
	return napi_schedule(n);
}

unsigned long rust_helper_msecs_to_jiffies(const unsigned int m)
{
	return msecs_to_jiffies(m);
}

unsigned int rust_helper_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

void rust_helper_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

bool rust_helper_netdev_xmit_more(void)
{
	return netdev_xmit_more();
}

void rust_helper_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

u32 rust_helper_skb_priority(const struct sk_buff *skb)
{
	return skb->priority;
}

void rust_helper_skb_eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}

void rust_helper_local_bh_disable(void)
{
	local_bh_disable();
}

void rust_helper_local_bh_enable(void)
{
	local_bh_enable();
}

bool rust_helper_skb_csum_partial(const struct sk_buff *skb, u32 *start, u32 *offset)
{
	if (skb->ip_summed != CHECKSUM_PARTIAL)
		return false;
	*start = skb_checksum_start_offset(skb);
	*offset = skb->csum_offset;
	return true;
}

void rust_helper_skb_set_csum_unnecessary(struct sk_buff *skb)
{
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}

bool rust_helper_skb_is_gso(const struct sk_buff *skb)
{
	return skb_is_gso(skb);
}

unsigned int rust_helper_skb_gso_tcp_size(const struct sk_buff *skb)
{
	if (!(skb_shinfo(skb)->gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)))
		return 0;
	return skb_shinfo(skb)->gso_size;
}

unsigned int rust_helper_skb_nr_frags(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

unsigned int rust_helper_skb_frag_len(const struct sk_buff *skb, unsigned int i)
{
	return skb_frag_size(&skb_shinfo(skb)->frags[i]);
}

dma_addr_t rust_helper_skb_frag_dma_map_to_device(struct device *dev, const struct sk_buff *skb,
						  unsigned int i)
{
	const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

	return skb_frag_dma_map(dev, frag, 0, skb_frag_size(frag), DMA_TO_DEVICE);
}

netdev_features_t rust_helper_netdev_features(const struct net_device *dev)
{
	return READ_ONCE(dev->features);
}

u16 rust_helper_skb_get_queue_mapping(const struct sk_buff *skb)
{
	return skb_get_queue_mapping(skb);
}

void rust_helper_netif_tx_wake_all_queues(struct net_device *dev)
{
	netif_tx_wake_all_queues(dev);
}

void rust_helper_netif_tx_stop_queue(struct netdev_queue *q)
{
	netif_tx_stop_queue(q);
}

void rust_helper_netif_tx_wake_queue(struct netdev_queue *q)
{
	netif_tx_wake_queue(q);
}

bool rust_helper_netif_tx_queue_stopped(const struct netdev_queue *q)
{
	return netif_tx_queue_stopped(q);
}

int rust_helper_netdev_set_prio_tc_map(struct net_device *dev, u8 prio, u8 tc)
{
	return netdev_set_prio_tc_map(dev, prio, tc);
}

bool rust_helper_netif_is_rxfh_configured(const struct net_device *dev)
{
	return netif_is_rxfh_configured(dev);
}

unsigned int rust_helper_netdev_real_num_rx_queues(const struct net_device *dev)
{
	return READ_ONCE(dev->real_num_rx_queues);
}

unsigned int rust_helper_netdev_real_num_tx_queues(const struct net_device *dev)
{
	return READ_ONCE(dev->real_num_tx_queues);
}

void rust_helper_netdev_set_stat_ops(struct net_device *dev, const struct netdev_stat_ops *ops)
{
	dev->stat_ops = ops;
}

bool rust_helper___netdev_tx_sent_queue(struct netdev_queue *q, unsigned int bytes,
					bool xmit_more)
{
	return __netdev_tx_sent_queue(q, bytes, xmit_more);
}

struct net *rust_helper_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

void rust_helper_netif_addr_lock_bh(struct net_device *dev)
{
	netif_addr_lock_bh(dev);
}

void rust_helper_netif_addr_unlock_bh(struct net_device *dev)
{
	netif_addr_unlock_bh(dev);
}

void rust_helper_netdev_set_unicast_filter(struct net_device *dev)
{
	dev->priv_flags |= IFF_UNICAST_FLT;
}

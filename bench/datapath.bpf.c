// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bench-only TC programs for bench/datapath_bench:
 * ist_floor  the redirect floor: every frame to one veth's peer with
 *            bpf_redirect_peer, nothing parsed, nothing counted. What
 *            steer_ingress costs above it is the price of classifying.
 * ist_sink   the end of every measured path: counts the frames the
 *            generator makes (IPv4/IPv6 carrying TCP, UDP or ESP, so ARP,
 *            ND and MLD never inflate "delivered") and drops them, so every
 *            variant pays the same for the last hop.
 * ist_gen    the generator (XDP, run by BPF_PROG_RUN in live-frames mode):
 *            puts back the first GEN_HEAD bytes of the frame and passes it
 *            to the stack of the injection interface. Live frames recycle
 *            their pages within one run, and the stack edits headers in
 *            place (TTL and checksum when forwarding, MACs when a neighbour
 *            fills them in): without the restore a page would come back
 *            with TTL 0 or another host's MAC after enough reuses.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Router end of the gateway veth; set between open and load. */
const volatile __u32 floor_target = 0;

/* Frames the sink counted; read by user space through the skeleton. */
__u64 delivered = 0;

/* Bytes of the frame ist_gen restores: Ethernet + IPv6 header + 10
 * (every header the stack may rewrite); every bench frame is longer. */
#define GEN_HEAD 64

/* The frame's first GEN_HEAD bytes; written by user space before a run. */
__u8 gen_head[GEN_HEAD] = {};

SEC("xdp")
int ist_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + GEN_HEAD > end)
		return XDP_DROP;
	__builtin_memcpy(data, gen_head, GEN_HEAD);
	return XDP_PASS;
}

SEC("tc")
int ist_floor(struct __sk_buff *skb)
{
	return bpf_redirect_peer(floor_target, 0);
}

/* The IP protocol (or IPv6 next header) of an untagged frame, or -1. */
static __always_inline int l4_proto(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) + 40 > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return *((__u8 *)(eth + 1) + 9);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return *((__u8 *)(eth + 1) + 6);
	return -1;
}

SEC("tc")
int ist_sink(struct __sk_buff *skb)
{
	int proto = l4_proto(skb);

	if (proto == 6 || proto == 17 || proto == 50)
		__sync_fetch_and_add(&delivered, 1);
	return TC_ACT_SHOT;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Link and network layer parsing for steer_ingress (docs/classifier.md
 * sections 1-3). Every read goes through steer_ptr(), which checks both the
 * parse window and the packet end, so the verifier sees bounded offsets.
 */
#ifndef STEER_LIB_PARSE_H
#define STEER_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "steer_abi.h"

#define ETH_P_8021AD_ 0x88A8

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP = 1,
	PARSE_MALFORMED = 2,
};

enum frag_state {
	FRAG_NONE = 0,
	FRAG_FIRST = 1,
	FRAG_LATER = 2,
	FRAG_ATOMIC = 3, /* IPv6 fragment header with offset 0 and no M */
};

/* What the network layer told us. Offsets are from the Ethernet header. */
struct pkt {
	void *data;
	void *data_end;
	__u32 len;     /* skb->len, the whole frame */
	__u32 l4;      /* offset of the transport header */
	__u32 l4_len;  /* transport bytes the IP header declares */
	__u32 frag_id;
	__u8 family;   /* STEER_FAMILY_* */
	__u8 proto;
	__u8 frag;     /* enum frag_state */
	__u8 frag_proto; /* IPv4 protocol, or IPv6 fragment header's next */
	struct steer_addr src;
	struct steer_addr dst;
};

/* A pointer to n bytes at off, or NULL when they lie past the parse
 * window or the linear data. n must be a constant. */
static __always_inline void *steer_ptr(const struct pkt *p, __u32 off, __u32 n)
{
	void *ptr;

	if (off > STEER_PARSE_WINDOW - n)
		return NULL;
	ptr = p->data + off;
	if (ptr + n > p->data_end)
		return NULL;
	return ptr;
}

/* Ethernet plus at most one 802.1Q/802.1ad tag; returns the L3 offset,
 * 0 for "not IP", -1 for malformed. */
static __always_inline int parse_l2(const struct pkt *p, __u16 *ethertype)
{
	struct ethhdr *eth = steer_ptr(p, 0, sizeof(*eth));
	__be16 *inner;

	if (p->len < ETH_HLEN || !eth)
		return -1;
	*ethertype = bpf_ntohs(eth->h_proto);
	if (*ethertype != ETH_P_8021Q && *ethertype != ETH_P_8021AD_)
		return ETH_HLEN;
	inner = steer_ptr(p, ETH_HLEN + 2, sizeof(*inner));
	if (p->len < ETH_HLEN + 4 || !inner)
		return -1;
	*ethertype = bpf_ntohs(*inner);
	return ETH_HLEN + 4;
}

static __always_inline int parse_ipv4(struct pkt *p, __u32 l3)
{
	struct iphdr *iph = steer_ptr(p, l3, sizeof(*iph));
	__u32 avail = p->len - l3, ihl, tot_len;
	__u16 frag_off;

	if (avail < sizeof(*iph) || !iph || iph->version != 4)
		return PARSE_MALFORMED;
	ihl = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (ihl < sizeof(*iph) || ihl > avail || tot_len < ihl ||
	    tot_len > avail)
		return PARSE_MALFORMED;
	p->family = STEER_FAMILY_IPV4;
	p->proto = iph->protocol;
	p->frag_proto = iph->protocol;
	p->src.addr[0] = iph->saddr;
	p->dst.addr[0] = iph->daddr;
	p->l4 = l3 + ihl;
	p->l4_len = tot_len - ihl;
	frag_off = bpf_ntohs(iph->frag_off);
	p->frag_id = bpf_ntohs(iph->id);
	if (frag_off & 0x1fff)
		p->frag = FRAG_LATER;
	else if (frag_off & 0x2000)
		p->frag = FRAG_FIRST;
	return PARSE_OK;
}

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* One step of the extension header walk: 1 = go on, 0 = done, -1 = bad. */
static __always_inline int ipv6_ext_step(struct pkt *p, __u32 l3, __u32 end,
					 __u32 *off, __u8 *nh)
{
	struct ipv6_frag_hdr *fh;
	__u8 *opt;

	switch (*nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		opt = steer_ptr(p, l3 + *off, 2);
		if (*off + 2 > end || !opt)
			return -1;
		if (*off + (opt[1] + 1) * 8 > end)
			return -1;
		*nh = opt[0];
		*off += (opt[1] + 1) * 8;
		return 1;
	case IPPROTO_FRAGMENT:
		fh = steer_ptr(p, l3 + *off, sizeof(*fh));
		if (p->frag != FRAG_NONE || *off + 8 > end || !fh)
			return -1;
		*nh = fh->nexthdr;
		p->frag_proto = fh->nexthdr;
		*off += 8;
		p->frag_id = bpf_ntohl(fh->identification);
		if (bpf_ntohs(fh->frag_off) >> 3) {
			p->frag = FRAG_LATER;
			return 0;
		}
		/* offset 0 without M is an atomic fragment: not a fragment,
		 * but still the one fragment header this packet may carry. */
		p->frag = (bpf_ntohs(fh->frag_off) & 1) ? FRAG_FIRST : FRAG_ATOMIC;
		return 1;
	default:
		return 0;
	}
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT;
}

static __always_inline int parse_ipv6(struct pkt *p, __u32 l3)
{
	struct ipv6hdr *ip6 = steer_ptr(p, l3, sizeof(*ip6));
	__u32 avail = p->len - l3, end, off = sizeof(*ip6);
	__u8 nh;
	int i, step = 1;

	if (avail < sizeof(*ip6) || !ip6 || ip6->version != 6)
		return PARSE_MALFORMED;
	end = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (end > avail)
		return PARSE_MALFORMED;
	p->family = STEER_FAMILY_IPV6;
	__builtin_memcpy(&p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(&p->dst, &ip6->daddr, sizeof(p->dst));
	nh = ip6->nexthdr;
	for (i = 0; i < STEER_MAX_EXTHDRS && step == 1; i++) {
		step = ipv6_ext_step(p, l3, end, &off, &nh);
		if (step < 0)
			return PARSE_MALFORMED;
	}
	if (step == 1 && ipv6_is_ext(nh))
		return PARSE_MALFORMED;
	if (p->frag == FRAG_ATOMIC)
		p->frag = FRAG_NONE;
	p->proto = nh;
	p->l4 = l3 + off;
	p->l4_len = end - off;
	return PARSE_OK;
}

/* parse_frame()'s answer for the bulk of a public link's traffic:
 * untagged IPv4 without options, its Ethernet and IP headers linear.
 * The same checks and the same fields as parse_l2() + parse_ipv4(), with
 * constant offsets (l3 = ETH_HLEN, l4 = ETH_HLEN + 20), so the classifier
 * inlined after it works on constants. PARSE_NOT_FAST: another shape,
 * for parse_frame(). */
#define PARSE_NOT_FAST 3
static __always_inline int parse_ipv4_fast(struct pkt *p)
{
	struct ethhdr *eth = p->data;
	struct iphdr *iph = p->data + ETH_HLEN;
	__u32 tot_len;
	__u16 frag_off;

	if ((void *)(iph + 1) > p->data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)iph != 0x45)
		return PARSE_NOT_FAST;
	/* ihl 20 <= avail follows from 20 <= tot_len <= avail. */
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < sizeof(*iph) || tot_len > p->len - ETH_HLEN)
		return PARSE_MALFORMED;
	p->family = STEER_FAMILY_IPV4;
	p->proto = iph->protocol;
	p->frag_proto = iph->protocol;
	p->src.addr[0] = iph->saddr;
	p->dst.addr[0] = iph->daddr;
	p->l4 = ETH_HLEN + sizeof(*iph);
	p->l4_len = tot_len - sizeof(*iph);
	frag_off = bpf_ntohs(iph->frag_off);
	p->frag_id = bpf_ntohs(iph->id);
	if (frag_off & 0x1fff)
		p->frag = FRAG_LATER;
	else if (frag_off & 0x2000)
		p->frag = FRAG_FIRST;
	return PARSE_OK;
}

/* The same for untagged IPv6 without extension headers (l4 = ETH_HLEN +
 * 40), as parse_l2() + parse_ipv6() would fill it. */
static __always_inline int parse_ipv6_fast(struct pkt *p)
{
	struct ethhdr *eth = p->data;
	struct ipv6hdr *ip6 = p->data + ETH_HLEN;
	__u32 end;

	if ((void *)(ip6 + 1) > p->data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->version != 6 ||
	    ipv6_is_ext(ip6->nexthdr))
		return PARSE_NOT_FAST;
	end = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (end > p->len - ETH_HLEN)
		return PARSE_MALFORMED;
	p->family = STEER_FAMILY_IPV6;
	__builtin_memcpy(&p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(&p->dst, &ip6->daddr, sizeof(p->dst));
	p->proto = ip6->nexthdr;
	p->l4 = ETH_HLEN + sizeof(*ip6);
	p->l4_len = end - sizeof(*ip6);
	return PARSE_OK;
}

/* Sections 1-3: fills p and returns a parse_result. */
static __always_inline int parse_frame(struct pkt *p)
{
	__u16 ethertype = 0;
	int l3 = parse_l2(p, &ethertype);

	if (l3 < 0)
		return PARSE_MALFORMED;
	if (ethertype == ETH_P_IP)
		return parse_ipv4(p, l3);
	if (ethertype == ETH_P_IPV6)
		return parse_ipv6(p, l3);
	return PARSE_NOT_IP;
}

/* parse_frame(), the common shapes first (steer_return; ist_ingress
 * dispatches itself, to keep one classifier copy per shape). */
static __always_inline int parse_frame_fast(struct pkt *p)
{
	int res = parse_ipv4_fast(p);

	if (res == PARSE_NOT_FAST)
		res = parse_ipv6_fast(p);
	if (res == PARSE_NOT_FAST)
		res = parse_frame(p);
	return res;
}

#endif

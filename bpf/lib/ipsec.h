/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * All IPsec knowledge of steer_ingress (docs/classifier.md sections 4-6):
 * which frames may be IPsec of a gateway, and which class each one is.
 * ESP (RFC 4303), NAT-T (RFC 3948: non-ESP marker, SPI > 255, keepalive
 * 0xff), IKE (RFC 7296), ICMP errors quoting our own flows (RFC 792/4443).
 */
#ifndef STEER_LIB_IPSEC_H
#define STEER_LIB_IPSEC_H

#include <linux/udp.h>
#include "parse.h"
#include "maps.h"

/* ICMP error types we steer (linux/icmp.h drags in libc headers). */
#define STEER_ICMP_DEST_UNREACH 3
#define STEER_ICMPV6_DEST_UNREACH 1
#define STEER_ICMPV6_PKT_TOOBIG 2

/* Not a class: the frame is none of our business and is not counted. */
#define STEER_CLASS_NONE STEER_CLASS_MAX

static __always_inline int steer_class_is_steered(__u32 class_id)
{
	return class_id < STEER_CLASS_PASSED;
}

static __always_inline int icmp_is_error(__u8 family, __u8 type)
{
	if (family == STEER_FAMILY_IPV4)
		return type == STEER_ICMP_DEST_UNREACH;
	return type == STEER_ICMPV6_DEST_UNREACH ||
	       type == STEER_ICMPV6_PKT_TOOBIG;
}

static __always_inline int icmp_proto_matches(const struct pkt *p)
{
	return (p->family == STEER_FAMILY_IPV4 && p->proto == IPPROTO_ICMP) ||
	       (p->family == STEER_FAMILY_IPV6 && p->proto == IPPROTO_ICMPV6);
}

/* Section 4: may this frame be a gateway's IPsec? Decided without the
 * gateways hash so that TCP and ordinary UDP cost only the parse. */
static __always_inline int steer_candidate(const struct pkt *p)
{
	struct udphdr *udp;
	__u8 *icmp;

	if (p->frag == FRAG_LATER || p->proto == IPPROTO_ESP ||
	    p->proto == IPPROTO_AH)
		return 1;
	if (p->proto == IPPROTO_UDP) {
		udp = steer_ptr(p, p->l4, sizeof(*udp));
		if (p->l4_len < sizeof(*udp) || !udp)
			return 1;
		return steer_port_configured(bpf_ntohs(udp->dest));
	}
	if (!icmp_proto_matches(p))
		return 0;
	icmp = steer_ptr(p, p->l4, 8);
	if (p->l4_len < 8 || !icmp)
		return 1;
	return icmp_is_error(p->family, icmp[0]);
}

/* What steer_candidate_early_v4() read from the frame. */
enum steer_early {
	STEER_EARLY_UNKNOWN = 0,   /* decide the long way */
	STEER_EARLY_NEVER = 1,     /* not a candidate */
	STEER_EARLY_CANDIDATE = 2, /* a candidate, if parse_ipv4_fast() takes it */
};

/* Section 4 ahead of the parse, for untagged IPv4 without options: the
 * bulk of a public link's traffic, whose protocol is never a gateway's
 * (TCP, GRE, ...) or UDP to a port no gateway uses, is NEVER when
 * well-formed and not a later fragment; ESP, AH and UDP to a configured
 * port are CANDIDATE (rules of section 4 that need no more than this).
 * The same answer as parse_ipv4_fast() + steer_candidate() (tests/bpf:
 * differential), read straight from the frame before a struct pkt is
 * zeroed and filled (BPF_PROG_RUN, ratio to an empty program: TCP 1.48x
 * -> 1.21x, udp/53 1.52x -> 1.25x; CANDIDATE spares IKE and NAT-T the
 * second bitmap read of steer_candidate(), 32 -> 29 ns). */
static __always_inline int steer_candidate_early_v4(void *data, void *data_end,
						    __u32 len)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = data + ETH_HLEN;
	struct udphdr *udp = (void *)(iph + 1);
	__u32 tot_len;

	if ((void *)(udp + 1) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)iph != 0x45)
		return STEER_EARLY_UNKNOWN;
	/* ESP, AH and ICMP first: the steered path leaves after one more
	 * load, before the length checks parse_ipv4_fast() makes anyway. */
	if (iph->protocol == IPPROTO_ESP || iph->protocol == IPPROTO_AH)
		return STEER_EARLY_CANDIDATE;
	if (iph->protocol == IPPROTO_ICMP)
		return STEER_EARLY_UNKNOWN;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < sizeof(*iph) || tot_len > len - ETH_HLEN ||
	    (iph->frag_off & bpf_htons(0x1fff)))
		return STEER_EARLY_UNKNOWN;
	if (iph->protocol != IPPROTO_UDP)
		return STEER_EARLY_NEVER;
	/* A UDP header too short to read is a candidate too (section 4). */
	if (tot_len < sizeof(*iph) + sizeof(*udp) ||
	    steer_port_configured(bpf_ntohs(udp->dest)))
		return STEER_EARLY_CANDIDATE;
	return STEER_EARLY_NEVER;
}

static __always_inline __u32 natt_class(const struct pkt *p, __u32 ulen)
{
	__u32 plen = ulen - sizeof(struct udphdr), spi;
	__u32 off = p->l4 + sizeof(struct udphdr);
	__u8 *b;

	if (plen == 1) {
		b = steer_ptr(p, off, 1);
		if (b && *b == 0xff)
			return STEER_CLASS_NATT_KEEPALIVE;
		return STEER_CLASS_MALFORMED;
	}
	b = steer_ptr(p, off, 4);
	if (plen < 4 || !b)
		return STEER_CLASS_MALFORMED;
	__builtin_memcpy(&spi, b, 4);
	spi = bpf_ntohl(spi);
	if (spi == 0)
		return STEER_CLASS_NATT_IKE;
	if (plen >= 8 && spi > 255)
		return STEER_CLASS_NATT_ESP;
	return STEER_CLASS_MALFORMED;
}

static __always_inline __u32 udp_class(const struct pkt *p,
				       const struct steer_gw_value *g)
{
	struct udphdr *udp = steer_ptr(p, p->l4, sizeof(*udp));
	__u16 dport;
	__u32 ulen;
	int ike, natt;

	if (p->l4_len < sizeof(*udp) || !udp)
		return STEER_CLASS_MALFORMED;
	dport = bpf_ntohs(udp->dest);
	ike = dport == g->ike_port && (g->flags & STEER_F_IKE);
	natt = dport == g->natt_port && (g->flags & STEER_F_NATT);
	if (!ike && !natt)
		return STEER_CLASS_PASSED;
	if (p->frag == FRAG_FIRST)
		return STEER_CLASS_FRAGMENT; /* payload may not be here */
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > p->l4_len)
		return STEER_CLASS_MALFORMED;
	return ike ? STEER_CLASS_IKE : natt_class(p, ulen);
}

/* The flow an ICMP error quotes: its source, protocol and source port. */
struct quoted_flow {
	struct steer_addr src;
	__u8 proto;
	__u16 sport;
};

static __always_inline int quoted_ipv4(const struct pkt *p, struct quoted_flow *q)
{
	__u32 off = p->l4 + 8, ihl;
	struct iphdr *iph = steer_ptr(p, off, sizeof(*iph));
	__be16 *ports;

	if (p->l4_len < 8 + sizeof(*iph) || !iph || iph->version != 4 ||
	    iph->ihl < 5)
		return -1;
	ihl = iph->ihl * 4;
	ports = steer_ptr(p, off + ihl, 8);
	if (p->l4_len < 8 + ihl + 8 || !ports)
		return -1;
	q->src.addr[0] = iph->saddr;
	q->proto = iph->protocol;
	q->sport = bpf_ntohs(ports[0]);
	return 0;
}

static __always_inline int quoted_ipv6(const struct pkt *p, struct quoted_flow *q)
{
	__u32 off = p->l4 + 8;
	struct ipv6hdr *ip6 = steer_ptr(p, off, sizeof(*ip6));
	__be16 *ports = steer_ptr(p, off + sizeof(*ip6), 8);

	if (p->l4_len < 8 + sizeof(*ip6) + 8 || !ip6 || !ports ||
	    ip6->version != 6)
		return -1;
	__builtin_memcpy(&q->src, &ip6->saddr, sizeof(q->src));
	q->proto = ip6->nexthdr;
	q->sport = bpf_ntohs(ports[0]);
	return 0;
}

static __always_inline int addr_equal(const struct steer_addr *a,
				      const struct steer_addr *b)
{
	return a->addr[0] == b->addr[0] && a->addr[1] == b->addr[1] &&
	       a->addr[2] == b->addr[2] && a->addr[3] == b->addr[3];
}

static __always_inline __u32 icmp_error_class(const struct pkt *p,
					      const struct steer_gw_key *k,
					      const struct steer_gw_value *g)
{
	struct quoted_flow q = {};
	__u32 f = g->flags;
	int bad;

	if (p->l4_len < 8 || !steer_ptr(p, p->l4, 8))
		return STEER_CLASS_MALFORMED;
	if (!(f & STEER_F_ICMP))
		return STEER_CLASS_PASSED;
	bad = p->family == STEER_FAMILY_IPV4 ? quoted_ipv4(p, &q) :
					       quoted_ipv6(p, &q);
	if (bad)
		return STEER_CLASS_MALFORMED;
	if (!addr_equal(&q.src, &k->address))
		return STEER_CLASS_PASSED;
	if ((q.proto == IPPROTO_ESP && (f & STEER_F_ESP)) ||
	    (q.proto == IPPROTO_AH && (f & STEER_F_AH)) ||
	    (q.proto == IPPROTO_UDP && q.sport == g->ike_port &&
	     (f & STEER_F_IKE)) ||
	    (q.proto == IPPROTO_UDP && q.sport == g->natt_port &&
	     (f & STEER_F_NATT)))
		return STEER_CLASS_ICMP_ERROR;
	return STEER_CLASS_PASSED;
}

static __always_inline void frag_key_of(const struct pkt *p,
					struct steer_frag_key *fk)
{
	fk->family = p->family;
	fk->proto = p->frag_proto;
	fk->id = p->frag_id;
	fk->src = p->src;
	fk->dst = p->dst;
}

/* A later fragment follows its first fragment, if that one was steered. */
static __always_inline __u32 later_fragment_class(const struct pkt *p,
						  const struct steer_gw_value *g)
{
	struct steer_frag_key fk = {};

	if (!(g->flags & STEER_F_FRAGMENTS))
		return STEER_CLASS_PASSED;
	/* ESP and AH need no first fragment: every fragment says so. */
	if ((p->proto == IPPROTO_ESP && (g->flags & STEER_F_ESP)) ||
	    (p->proto == IPPROTO_AH && (g->flags & STEER_F_AH)))
		return STEER_CLASS_FRAGMENT;
	frag_key_of(p, &fk);
	if (!bpf_map_lookup_elem(&frags, &fk))
		return STEER_CLASS_PASSED;
	return STEER_CLASS_FRAGMENT;
}

/* Section 6, for everything but later fragments. */
static __always_inline __u32 l4_class(const struct pkt *p,
				      const struct steer_gw_key *k,
				      const struct steer_gw_value *g)
{
	switch (p->proto) {
	case IPPROTO_ESP:
		if (!(g->flags & STEER_F_ESP))
			return STEER_CLASS_PASSED;
		return p->l4_len < 8 ? STEER_CLASS_MALFORMED : STEER_CLASS_ESP;
	case IPPROTO_AH:
		if (!(g->flags & STEER_F_AH))
			return STEER_CLASS_PASSED;
		return p->l4_len < 12 ? STEER_CLASS_MALFORMED : STEER_CLASS_AH;
	case IPPROTO_UDP:
		return udp_class(p, g);
	}
	if (icmp_proto_matches(p))
		return icmp_error_class(p, k, g);
	return STEER_CLASS_PASSED;
}

/* The first fragment of a steered datagram leaves its key for the rest. */
static __always_inline __u32 first_fragment_class(const struct pkt *p,
						  const struct steer_gw_value *g)
{
	struct steer_frag_key fk = {};
	struct steer_frag_value fv = {};

	if (!(g->flags & STEER_F_FRAGMENTS))
		return STEER_CLASS_PASSED;
	if (g->target_ifindex) {
		frag_key_of(p, &fk);
		fv.target_ifindex = g->target_ifindex;
		fv.gateway_id = g->gateway_id;
		fv.flags = g->flags;
		bpf_map_update_elem(&frags, &fk, &fv, BPF_ANY);
	}
	return STEER_CLASS_FRAGMENT;
}

static __always_inline __u32 steer_classify(const struct pkt *p,
					    const struct steer_gw_key *k,
					    const struct steer_gw_value *g)
{
	__u32 class_id;

	if (p->frag == FRAG_LATER)
		return later_fragment_class(p, g);
	class_id = l4_class(p, k, g);
	if (p->frag == FRAG_FIRST && steer_class_is_steered(class_id))
		return first_fragment_class(p, g);
	return class_id;
}

/* steer_return: the class of what the gateway namespace sends from its
 * public address; anything else (decrypted cleartext) is not ours. */
static __always_inline __u32 outbound_class(const struct pkt *p,
					    const struct steer_return_value *r)
{
	struct udphdr *udp;
	__u16 sport;

	if (p->family != r->family || !addr_equal(&p->src, &r->address))
		return STEER_CLASS_NONE;
	if (p->frag == FRAG_LATER || p->frag == FRAG_FIRST)
		return STEER_CLASS_FRAGMENT;
	switch (p->proto) {
	case IPPROTO_ESP:
		return STEER_CLASS_ESP;
	case IPPROTO_AH:
		return STEER_CLASS_AH;
	case IPPROTO_UDP:
		udp = steer_ptr(p, p->l4, sizeof(*udp));
		if (p->l4_len < sizeof(*udp) || !udp)
			return STEER_CLASS_MALFORMED;
		sport = bpf_ntohs(udp->source);
		if (sport == r->ike_port)
			return STEER_CLASS_IKE;
		if (sport == r->natt_port && bpf_ntohs(udp->len) >= sizeof(*udp) &&
		    bpf_ntohs(udp->len) <= p->l4_len)
			return natt_class(p, bpf_ntohs(udp->len));
		return STEER_CLASS_PASSED;
	}
	if (icmp_proto_matches(p))
		return STEER_CLASS_ICMP_ERROR;
	return STEER_CLASS_PASSED;
}

#endif

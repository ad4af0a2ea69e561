// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * steer_ingress (program ist_ingress): TC ingress of a public interface.
 * Sends the IPsec traffic (ESP, AH, IKE, NAT-T, ICMP errors about it, its
 * fragments) of configured
 * public addresses into the gateway namespaces; everything else leaves with
 * TC_ACT_UNSPEC so later filters and the router see it untouched.
 * steer_return (program ist_return): TC ingress of the router end of a
 * gateway veth. Sends what the gateway namespace sends from the public address (its IKE, ESP, NAT-T,
 * ICMP) straight out of the public interface, before
 * the router's stack would drop it as a martian (source = its own address):
 * bpf_fib_lookup + bpf_redirect when the neighbour is known, else
 * bpf_redirect_neigh.
 * The rules are in docs/classifier.md; the logic in lib/.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "steer_abi.h"
#include "lib/parse.h"
#include "lib/maps.h"
#include "lib/ipsec.h"
#include "lib/gateway_cache.h"
#include "lib/variant.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Record each decision in the `decision` map (tests only; when 0 the
 * verifier removes the code, so production pays nothing). */
const volatile __u32 record_decisions = 0;

/* 0 when the kernel has no bpf_redirect_peer (before 5.10; the loader
 * probes it): the verifier then removes the call, so the object still
 * loads, and every frame uses bpf_redirect. */
const volatile __u32 redirect_peer_ok = 1;

static __always_inline int finish(int verdict, __u32 class_id, __u32 gw,
				  __u32 target, __u32 peer)
{
	__u32 zero = 0;
	struct steer_decision *d;

	if (!record_decisions)
		return verdict;
	d = bpf_map_lookup_elem(&decision, &zero);
	if (d) {
		d->verdict = verdict;
		d->class_id = class_id;
		d->gateway_id = gw;
		d->target_ifindex = target;
		d->redirect_peer = peer;
		d->seq++;
	}
	return verdict;
}

/* Make the first STEER_PARSE_WINDOW bytes linear (rarely needed: most
 * drivers put the headers in the head already). */
static __always_inline void pull_window(struct __sk_buff *skb)
{
	__u32 want = skb->len < STEER_PARSE_WINDOW ? skb->len :
						       STEER_PARSE_WINDOW;

	if ((long)skb->data_end - (long)skb->data < (long)want)
		bpf_skb_pull_data(skb, want);
}

static __always_inline int redirect(struct __sk_buff *skb, __u32 class_id,
				    const struct steer_gw_value *g)
{
	__u32 gw = g->gateway_id, target = g->target_ifindex;

	if (!target) {
		steer_count(gw, STEER_CLASS_TARGET_MISSING, skb->len);
		return finish(TC_ACT_SHOT, STEER_CLASS_TARGET_MISSING, gw, 0, 0);
	}
	steer_count(gw, class_id, skb->len);
	/* Router-side marks mean nothing in the gateway namespace. */
	skb->mark = 0;
	if (!redirect_peer_ok || (g->flags & STEER_F_REDIRECT_PLAIN))
		return finish(bpf_redirect(target, 0), class_id, gw, target, 0);
	return finish(bpf_redirect_peer(target, 0), class_id, gw, target, 1);
}

/* Sections 4-6 of a parsed frame: candidate (unless `candidate` says so
 * already), gateway, class, verdict. */
static __always_inline int steer_parsed(struct __sk_buff *skb,
					const struct pkt *p, int candidate)
{
	struct steer_gw_key key __attribute__((aligned(8))) = {};
	const struct steer_gw_value *g;
	__u32 class_id;

	if (!candidate && !steer_candidate(p))
		return finish(TC_ACT_UNSPEC, STEER_CLASS_NONE, 0, 0, 0);
	key.ifindex = skb->ifindex;
	key.family = p->family;
	key.address = p->dst;
	g = gateway_lookup(&key);
	if (!g)
		return finish(TC_ACT_UNSPEC, STEER_CLASS_NONE, 0, 0, 0);
	class_id = steer_classify(p, &key, g);
	if (steer_class_is_steered(class_id))
		return redirect(skb, class_id, g);
	steer_count(g->gateway_id, class_id, p->len);
	return finish(TC_ACT_UNSPEC, class_id, g->gateway_id, 0, 0);
}

SEC("tc")
int ist_ingress(struct __sk_buff *skb)
{
	struct pkt p = {};
	int res, early;

	steer_variant_mark();
	early = steer_candidate_early_v4((void *)(long)skb->data,
					 (void *)(long)skb->data_end, skb->len);
	if (early == STEER_EARLY_NEVER)
		return finish(TC_ACT_UNSPEC, STEER_CLASS_NONE, 0, 0, 0);
	pull_window(skb);
	p.data = (void *)(long)skb->data;
	p.data_end = (void *)(long)skb->data_end;
	p.len = skb->len;
	/* Three inlined copies of steer_parsed(): after the fast parses of
	 * untagged IPv4 without options and IPv6 without extension headers
	 * every header offset is a constant. BPF_PROG_RUN: TCP, UDP and
	 * NAT-T 3-5 ns cheaper than one copy after parse_frame() alone. */
	res = parse_ipv4_fast(&p);
	if (res == PARSE_OK)
		return steer_parsed(skb, &p, early == STEER_EARLY_CANDIDATE);
	if (res == PARSE_NOT_FAST) {
		res = parse_ipv6_fast(&p);
		if (res == PARSE_OK)
			return steer_parsed(skb, &p, 0);
		if (res == PARSE_NOT_FAST)
			res = parse_frame(&p);
	}
	if (res == PARSE_NOT_IP)
		return finish(TC_ACT_UNSPEC, STEER_CLASS_NONE, 0, 0, 0);
	if (res == PARSE_MALFORMED) {
		steer_count(STEER_GATEWAY_NONE, STEER_CLASS_MALFORMED, p.len);
		return finish(TC_ACT_UNSPEC, STEER_CLASS_MALFORMED, 0, 0, 0);
	}
	return steer_parsed(skb, &p, 0);
}

/* Address families of bpf_fib_lookup (linux/socket.h drags in libc). */
#define STEER_AF_INET 2
#define STEER_AF_INET6 10

/* The one FIB lookup of the return path, as an output lookup on the public
 * interface; fills both MACs when the route and its neighbour are known. */
static __always_inline int fib_out(struct __sk_buff *skb, const struct pkt *p,
				   __u32 out, struct bpf_fib_lookup *f)
{
	f->ifindex = out;
	f->l4_protocol = p->proto;
	f->tot_len = p->len - ETH_HLEN; /* the MTU check */
	if (p->family == STEER_FAMILY_IPV4) {
		f->family = STEER_AF_INET;
		f->ipv4_src = p->src.addr[0];
		f->ipv4_dst = p->dst.addr[0];
	} else {
		f->family = STEER_AF_INET6;
		__builtin_memcpy(f->ipv6_src, &p->src, sizeof(f->ipv6_src));
		__builtin_memcpy(f->ipv6_dst, &p->dst, sizeof(f->ipv6_dst));
	}
	return bpf_fib_lookup(skb, f, sizeof(*f), BPF_FIB_LOOKUP_OUTPUT);
}

/* Out of the public interface `out`. When the FIB names `out` and a valid
 * neighbour, write the MACs and bpf_redirect to its egress: one FIB lookup.
 * Otherwise (no neighbour yet, another interface, MTU, a VLAN-tagged
 * frame) bpf_redirect_neigh, which resolves what is missing but takes an
 * output route (dst hold/release, source address check) for every frame:
 * measured here as the difference between steer_return and routing. */
static __always_inline int send_out(struct __sk_buff *skb, const struct pkt *p,
				    __u32 out)
{
	struct bpf_fib_lookup f = {};
	struct ethhdr *eth = steer_ptr(p, 0, sizeof(*eth));

	if (!eth || (eth->h_proto != bpf_htons(ETH_P_IP) &&
		     eth->h_proto != bpf_htons(ETH_P_IPV6)))
		return bpf_redirect_neigh(out, NULL, 0, 0);
	if (fib_out(skb, p, out, &f) != BPF_FIB_LKUP_RET_SUCCESS ||
	    f.ifindex != out)
		return bpf_redirect_neigh(out, NULL, 0, 0);
	__builtin_memcpy(eth->h_dest, f.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, f.smac, ETH_ALEN);
	return bpf_redirect(out, 0);
}

SEC("tc")
int ist_return(struct __sk_buff *skb)
{
	struct steer_return_value *r;
	__u32 ifindex = skb->ifindex, class_id;
	struct pkt p = {};

	steer_variant_mark();
	r = bpf_map_lookup_elem(&returns, &ifindex);
	if (!r)
		return TC_ACT_UNSPEC;
	pull_window(skb);
	p.data = (void *)(long)skb->data;
	p.data_end = (void *)(long)skb->data_end;
	p.len = skb->len;
	if (parse_frame_fast(&p) != PARSE_OK)
		return TC_ACT_UNSPEC;
	class_id = outbound_class(&p, r);
	if (class_id == STEER_CLASS_NONE)
		return TC_ACT_UNSPEC;
	if (!steer_class_is_steered(class_id)) {
		steer_count_out(r->gateway_id, class_id, p.len);
		return TC_ACT_UNSPEC;
	}
	if (!r->out_ifindex) {
		steer_count_out(r->gateway_id, STEER_CLASS_TARGET_MISSING, p.len);
		return TC_ACT_SHOT;
	}
	steer_count_out(r->gateway_id, class_id, p.len);
	/* Namespace marks mean nothing to the router's egress. */
	skb->mark = 0;
	return send_out(skb, &p, r->out_ifindex);
}

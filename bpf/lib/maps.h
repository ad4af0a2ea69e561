/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of steer_ingress, pinned by the loader under <bpffs>/<router ns>/. */
#ifndef STEER_LIB_MAPS_H
#define STEER_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "steer_abi.h"

/* {ifindex, family, address} -> where that public address's IPsec goes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_GATEWAYS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_gw_key);
	__type(value, struct steer_gw_value);
} gateways SEC(".maps");

/* Bitmap of every configured IKE and NAT-T port: lets UDP to any other
 * port leave without a hash lookup (the common case on a public link).
 * Its last word is the gateways map's generation (steer_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_PORTS_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

/* Per-CPU counters, index gateway_id * STEER_CLASS_MAX + class. The
 * loader sizes it to the configured gateways before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64 * STEER_CLASS_MAX);
	__type(key, __u32);
	__type(value, struct steer_counter);
} stats SEC(".maps");

/* Router end of a gateway veth -> how that gateway's own IPsec leaves. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_GATEWAYS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct steer_return_value);
} returns SEC(".maps");

/* Counters of steer_return, laid out like stats. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64 * STEER_CLASS_MAX);
	__type(key, __u32);
	__type(value, struct steer_counter);
} stats_out SEC(".maps");

/* First fragment of a steered datagram -> where its later fragments go. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_MAX_FRAGS);
	__type(key, struct steer_frag_key);
	__type(value, struct steer_frag_value);
} frags SEC(".maps");

/* The last decision, written only when record_decisions is set (tests). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_decision);
} decision SEC(".maps");

/* Adds one frame to a counter of stats or stats_out. */
static __always_inline void count_in(void *stats_map, __u32 gateway_id,
				     __u32 class_id, __u32 bytes)
{
	__u32 idx = gateway_id * STEER_CLASS_MAX + class_id;
	struct steer_counter *c = bpf_map_lookup_elem(stats_map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#define steer_count(gw, cls, bytes) count_in(&stats, gw, cls, bytes)
#define steer_count_out(gw, cls, bytes) count_in(&stats_out, gw, cls, bytes)

static __always_inline int steer_port_configured(__u16 port)
{
	__u32 word = port >> 5;
	__u32 *bits = bpf_map_lookup_elem(&ports, &word);

	return bits && (*bits & (1u << (port & 31)));
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A per-CPU, direct-mapped cache in front of the gateways hash. The hash
 * lookup (jhash of the 24-byte key, bucket walk, key compare) was 16 of
 * the 23 ns steer_ingress spent on an ESP frame above an empty program
 * (BPF_PROG_RUN); a hit here costs two inlined array lookups and a key
 * compare. A public interface carries the IPsec of few gateways, so
 * nearly every steered frame hits.
 *
 * Coherence: every writer of the gateways map increments the generation
 * word of the ports map after its change (loader/gateway_map.cpp), and an
 * entry is used only at the generation it was filled at. The generation
 * is read before the hash, so an entry filled from the hash at generation
 * G reflects every change whose increment gave G. A lost increment of two
 * racing writers is harmless: each writer reads the generation after its
 * own change. This needs the generation load ordered before the hash's
 * loads: x86 (TSO) gives that; elsewhere the loader turns the cache off
 * (gateway_cache_ok): clang 14 has no load-acquire for BPF.
 * The entries are per CPU and TC ingress does not nest on one CPU, so
 * there is no writer but the CPU's own program.
 */
#ifndef STEER_LIB_GATEWAY_CACHE_H
#define STEER_LIB_GATEWAY_CACHE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "steer_abi.h"
#include "maps.h"

/* Slots per CPU: a power of two; the index is a multiplicative hash. */
#define STEER_GW_CACHE_BITS 6
#define STEER_GW_CACHE_SLOTS (1u << STEER_GW_CACHE_BITS)

/* The key first: 8-byte aligned, compared as three words. */
struct gw_cache_entry {
	struct steer_gw_key key; /* family 0: empty (no real key has it) */
	__u32 generation; /* of the gateways map when filled */
	struct steer_gw_value value;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_GW_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_cache_entry);
} gw_cache SEC(".maps");

/* 0 where loads may pass each other (see above): every frame reads the
 * hash, and the verifier removes the cache code. */
const volatile __u32 gateway_cache_ok = 1;

static __always_inline __u32 gw_cache_slot(const struct steer_gw_key *k)
{
	__u32 h = k->ifindex ^ k->address.addr[0] ^ k->address.addr[3];

	return (h * 0x9e3779b1u) >> (32 - STEER_GW_CACHE_BITS);
}

static __always_inline int gw_key_equal(const struct steer_gw_key *a,
					const struct steer_gw_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2];
}

/* The gateways map's value for k (NULL: no such gateway), through the
 * cache. k's padding must be zero, as in the map. */
static __always_inline const struct steer_gw_value *
gateway_lookup(const struct steer_gw_key *k)
{
	_Static_assert(sizeof(*k) == 24, "gw_key_equal() compares 3 words");
	__u32 gen_idx = STEER_PORTS_GENERATION, slot, gen;
	struct gw_cache_entry *c;
	struct steer_gw_value *g;
	__u32 *genp;

	if (!gateway_cache_ok)
		return bpf_map_lookup_elem(&gateways, k);
	slot = gw_cache_slot(k);
	genp = bpf_map_lookup_elem(&ports, &gen_idx);
	c = bpf_map_lookup_elem(&gw_cache, &slot);
	if (!genp || !c)
		return bpf_map_lookup_elem(&gateways, k);
	gen = *(volatile __u32 *)genp;
	if (c->generation == gen && gw_key_equal(&c->key, k))
		return &c->value;
	g = bpf_map_lookup_elem(&gateways, k);
	if (g) {
		c->generation = gen;
		c->key = *k;
		c->value = *g;
	}
	return g;
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything shared between the BPF programs and
 * user space: map keys and values, class numbers, flags and limits.
 * Plain C, fixed-width fields, explicit padding, no bool or bitfields.
 * C++ checks the layout with static_asserts in common/abi_check.hpp.
 */
#ifndef IPSEC_STEER_ABI_H
#define IPSEC_STEER_ABI_H

#include <linux/types.h>

/* Classes counted per gateway. Numbers are stable: never reuse one. */
enum steer_class {
	STEER_CLASS_ESP = 0,            /* IP protocol 50 */
	STEER_CLASS_AH = 1,             /* IP protocol 51 ("ah" in steer) */
	STEER_CLASS_IKE = 2,            /* UDP to the IKE port */
	STEER_CLASS_NATT_IKE = 3,       /* UDP to NAT-T port, non-ESP marker */
	STEER_CLASS_NATT_ESP = 4,       /* UDP to NAT-T port, SPI > 255 */
	STEER_CLASS_NATT_KEEPALIVE = 5, /* UDP to NAT-T port, one 0xff byte */
	STEER_CLASS_ICMP_ERROR = 6,     /* ICMP error quoting a steered flow */
	STEER_CLASS_FRAGMENT = 7,       /* any steered IP fragment */
	STEER_CLASS_PASSED = 8,         /* to a gateway address, not steered */
	STEER_CLASS_TARGET_MISSING = 9, /* would be steered, no target: drop */
	STEER_CLASS_MALFORMED = 10,     /* truncated or inconsistent headers */
	STEER_CLASS_MAX = 11,
};

/* What a gateway steers (steer = [...] in the config). */
enum steer_flag {
	STEER_F_ESP = 1u << 0,
	STEER_F_AH = 1u << 1,
	STEER_F_IKE = 1u << 2,
	STEER_F_NATT = 1u << 3,
	STEER_F_ICMP = 1u << 4,
	STEER_F_FRAGMENTS = 1u << 5,
	/* Redirect with bpf_redirect (egress of the target) instead of
	 * bpf_redirect_peer (ingress of the target's peer). */
	STEER_F_REDIRECT_PLAIN = 1u << 8,
};

enum steer_family {
	STEER_FAMILY_IPV4 = 4,
	STEER_FAMILY_IPV6 = 6,
};

/* Gateway id 0 collects what no gateway owns (frames too broken to read
 * a destination address). Configured gateways use 1..STEER_MAX_GATEWAYS. */
#define STEER_GATEWAY_NONE 0
#define STEER_MAX_GATEWAYS 65536
#define STEER_MAX_FRAGS 16384
/* Bytes of a frame that must be linear for parsing; the program pulls
 * this much (or the whole frame when shorter) into the head. */
#define STEER_PARSE_WINDOW 256
/* Most IPv6 extension headers walked before giving up (malformed). */
#define STEER_MAX_EXTHDRS 6
/* The ports map is a bitmap of every gateway's IKE and NAT-T port, words
 * 0..STEER_PORT_WORDS-1, followed by one more word: the generation of the
 * gateways map, which every writer of it increments after its change (the
 * per-CPU gateway cache of steer_ingress is valid only at the generation
 * it was filled at; bpf/lib/gateway_cache.h). */
#define STEER_PORT_WORDS (65536 / 32)
#define STEER_PORTS_GENERATION STEER_PORT_WORDS
#define STEER_PORTS_ENTRIES (STEER_PORT_WORDS + 1)

/* Addresses are stored in network byte order; IPv4 uses addr[0]. */
struct steer_addr {
	__u32 addr[4];
};

/* gateways map key: one public address on one interface. */
struct steer_gw_key {
	__u32 ifindex;    /* public interface, in the router namespace */
	__u8 family;      /* enum steer_family */
	__u8 pad[3];
	struct steer_addr address;
};

struct steer_gw_value {
	__u32 target_ifindex; /* router end of the gateway veth; 0 = missing */
	__u32 flags;          /* enum steer_flag */
	__u16 ike_port;       /* host byte order */
	__u16 natt_port;      /* host byte order */
	__u32 gateway_id;     /* 1..STEER_MAX_GATEWAYS, index into stats */
};

/* returns map key: the router end of a gateway veth (ist-<name>), whose
 * TC ingress sees what the gateway namespace sends. */
struct steer_return_value {
	__u32 out_ifindex;    /* public interface; 0 = missing */
	__u32 flags;          /* enum steer_flag of the gateway */
	__u16 ike_port;
	__u16 natt_port;
	__u32 gateway_id;
	__u8 family;          /* enum steer_family of address */
	__u8 pad[3];
	struct steer_addr address; /* the public address P */
};

/* stats (steered in) and stats_out (sent out by steer_return) maps,
 * per-CPU arrays: index gateway_id * STEER_CLASS_MAX + class. */
struct steer_counter {
	__u64 packets;
	__u64 bytes;
};

/* frags map (LRU hash): the first fragment of a steered datagram leaves
 * its key so the later fragments, which carry no ports, follow it. */
struct steer_frag_key {
	__u8 family;
	__u8 proto;
	__u8 pad[2];
	__u32 id;             /* IPv4: 16-bit id; IPv6: fragment header id */
	struct steer_addr src;
	struct steer_addr dst;
};

struct steer_frag_value {
	__u32 target_ifindex;
	__u32 gateway_id;
	__u32 flags;          /* the gateway's flags when the first arrived */
	__u32 pad;
};

/* decision map (test builds of the rodata only): the last verdict. */
struct steer_decision {
	__u32 verdict;        /* TC_ACT_* returned */
	__u32 class_id;       /* enum steer_class, or STEER_CLASS_MAX if none */
	__u32 gateway_id;
	__u32 target_ifindex; /* 0 unless redirected */
	__u32 redirect_peer;  /* 1 = bpf_redirect_peer, 0 = bpf_redirect */
	__u32 seq;            /* increments per run, so a stale read shows */
};

#endif /* IPSEC_STEER_ABI_H */

// The configuration file (DESIGN.md §3): typed model, parser and validator.
// Pure: parse() touches nothing outside its arguments, load() only reads the
// file. Every error is one Error whose `what` is "FILE:LINE:COL: message"
// (err = 0), positioned at the offending key or value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

extern "C" {
#include "steer_abi.h"
}

namespace steer::config {

struct SourcePos {
	uint32_t line = 0, column = 0;  // 1-based; 0 = unknown / defaulted
	bool operator==(const SourcePos &) const = default;
};

struct IpAddress {
	int family = 0;                  // AF_INET or AF_INET6; 0 = unset
	std::array<uint8_t, 16> bytes{}; // network byte order; IPv4 uses bytes[0..3]
	std::string text;                // canonical text (inet_ntop)

	// Equality ignores `text`.
	bool operator==(const IpAddress &o) const { return family == o.family && bytes == o.bytes; }
};

struct Cidr {
	IpAddress address;  // the network address (host bits are always zero)
	int prefix = 0;
	std::string text;   // canonical "address/prefix"

	bool contains(const IpAddress &a) const;
	bool overlaps(const Cidr &o) const;
	bool operator==(const Cidr &o) const { return address == o.address && prefix == o.prefix; }
};

struct RoutePair {
	Cidr local, remote;
	SourcePos pos;      // the routes entry
};

struct Service {
	uint8_t proto = 0;  // IPPROTO_UDP or IPPROTO_TCP
	uint16_t port = 0;
	std::string text;   // "udp/8472"
	bool operator==(const Service &o) const { return proto == o.proto && port == o.port; }
};

struct GatewayFirewall {
	std::vector<Service> ipsec_only;
	SourcePos pos;
};

enum class Egress { bpf, route };

// steer = [...] default: esp, ike, nat-t, icmp, fragments.
constexpr uint32_t default_steer_flags =
	STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS;
// [firewall] allow default: ike, nat-t, esp, ah.
constexpr uint32_t default_allow_flags = STEER_F_IKE | STEER_F_NATT | STEER_F_ESP | STEER_F_AH;

struct Gateway {
	std::string name, public_interface;
	IpAddress public_address;
	std::string router_netns;               // "" = root namespace
	std::optional<Cidr> link;               // absent: allocate one
	uint32_t steer_flags = default_steer_flags;  // STEER_F_*, incl. REDIRECT_PLAIN
	uint16_t ike_port = 500, natt_port = 4500;
	Egress egress = Egress::bpf;
	std::vector<RoutePair> routes;
	std::optional<GatewayFirewall> firewall;
	SourcePos pos;                          // the [[gateway]] header
	SourcePos interface_pos, address_pos;   // values of public_interface, public_address
	SourcePos netns_pos, link_pos;          // values of router_netns, link; `pos` if absent
};

struct Masquerade {
	Cidr source;
	std::string not_out_interface, out_interface;  // "" = not set
	SourcePos pos;
};

struct HostFirewall {
	std::vector<Service> ipsec_only;
	uint32_t allow = default_allow_flags;   // STEER_F_IKE | ESP | AH | NATT bits
	std::vector<Masquerade> masquerade;
	SourcePos pos;
};

struct MeshAuth {
	std::string psk_file, cert, key, ca;    // either psk_file, or cert + key + ca
	bool uses_psk() const { return !psk_file.empty(); }
};

struct Mesh {
	std::vector<std::string> etcd;
	std::string prefix = "/coreos.com/network/subnets";
	IpAddress public_address;
	std::string daemon = "strongswan";      // or "libreswan"
	MeshAuth auth;
	std::string swanctl_uri = "unix:///var/run/charon.vici";
	std::string conf_dir;                   // default: /etc/swanctl/conf.d or /etc/ipsec.d
	SourcePos pos;
};

struct Config {
	std::string path;
	std::string bpffs = "/sys/fs/bpf/ipsec-steer";
	std::vector<Gateway> gateways;
	std::optional<HostFirewall> firewall;
	std::optional<Mesh> mesh;
};

constexpr const char *default_path = "/etc/ipsec-steer/ipsec-steer.toml";

// Parse and validate a whole config. error().what == "PATH:LINE:COL: message".
Result<Config> parse(std::string_view text, std::string_view path);
// Read PATH and parse it; an unreadable file gives "PATH: cannot read: <strerror>".
Result<Config> load(const std::string &path);

// An error at a position of a parsed config, for checks done later (such as
// "public_address is not an address of public_interface"): "PATH:L:C: msg".
Error error_at(const Config &config, SourcePos pos, const std::string &message);

// Building blocks, also used by the validator.
std::optional<IpAddress> parse_ip(std::string_view text);
// Error().what is a sentence starting with the quoted text, e.g.
// "\"10.1.0.1/24\" has host bits set; use 10.1.0.0/24".
Result<Cidr> parse_cidr(std::string_view text);
std::optional<Service> parse_service(std::string_view text);  // "udp/N" or "tcp/N"
std::string to_string(Egress egress);
// "esp, ike, nat-t, icmp, fragments" (the config names of the STEER_F_* bits set).
std::string steer_names(uint32_t flags);

} // namespace steer::config

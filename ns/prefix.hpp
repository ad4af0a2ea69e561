// An IP address with a prefix length: the one address type of ns/. Pure
// value code, no kernel calls.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "result.hpp"

namespace steer::ns {

struct Prefix {
	int family = AF_INET;             // AF_INET / AF_INET6
	std::array<uint8_t, 16> bytes{};  // network order; IPv4 in bytes[0..3], rest zero
	int len = 32;                     // prefix length in bits

	bool operator==(const Prefix &) const = default;
};

// 4 or 16 (0 for an unknown family).
int address_size(int family);

// 32 or 128 (0 for an unknown family).
int address_bits(int family);

// "10.0.0.1/24", "fd00::1/64"; without "/len" the prefix is a host (/32, /128).
Result<Prefix> parse_prefix(std::string_view text);

// A host prefix (/32, /128) of one address.
Result<Prefix> parse_address(std::string_view text);

// A host prefix from raw network-order bytes (4 or 16 of them).
Prefix host_prefix(int family, const void *bytes);

// "10.0.0.1/24"
std::string format_prefix(const Prefix &p);

// "10.0.0.1" (the length is left out)
std::string format_address(const Prefix &p);

// The same prefix with its host bits cleared: 10.0.0.1/24 -> 10.0.0.0/24.
Prefix network_of(const Prefix &p);

// p with its length set to the full address length (for gateways, neighbours).
Prefix as_host(Prefix p);

} // namespace steer::ns

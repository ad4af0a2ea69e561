// Interfaces and their addresses, read in the current network namespace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "result.hpp"

namespace steer::ns {

struct InterfaceAddress {
	int family = 0;                   // AF_INET / AF_INET6
	std::array<uint8_t, 16> bytes{};  // network order; IPv4 in bytes[0..3]
};

// The interface's index, or an error naming the interface.
Result<int> interface_index(const std::string &name);

// Every address configured on the interface.
Result<std::vector<InterfaceAddress>> interface_addresses(const std::string &name);

} // namespace steer::ns

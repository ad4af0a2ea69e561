// Namespace labs for tests and the demo: uniquely named namespaces that are
// removed (processes included) whatever happens, shell steps for building
// topologies (the tool itself never runs `ip`), and raw packet sockets
// opened inside a namespace.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "fd.hpp"
#include "result.hpp"

namespace steer::lab {

// Runs a shell command; the error carries the command and its exit status.
Status sh(const std::string &cmd);

// Namespaces named <prefix><pid>-<role>; all deleted by the destructor,
// after killing any process still inside them.
class Namespaces {
public:
	explicit Namespaces(std::string prefix);
	Namespaces(const Namespaces &) = delete;
	Namespaces &operator=(const Namespaces &) = delete;
	~Namespaces();

	Status add(const std::string &role);
	std::string name(const std::string &role) const;
	// `ip -n <ns> ...` of a role's namespace.
	Status ip(const std::string &role, const std::string &args) const;

private:
	std::string prefix_;
	std::vector<std::string> created_;
};

// Kills every process in the namespace, then deletes it. Quiet if absent.
void delete_netns(const std::string &name);

// A raw AF_PACKET socket bound to one interface of one namespace.
class PacketSocket {
public:
	static Result<PacketSocket> open(const std::string &netns, const std::string &ifname);
	Status send(const std::vector<uint8_t> &frame) const;
	// Every frame received (incoming only) until `quiet` passes without one.
	std::vector<std::vector<uint8_t>> drain(std::chrono::milliseconds quiet) const;

private:
	Fd fd_;
	int ifindex_ = 0;
};

// MAC address of an interface in a namespace.
Result<std::vector<uint8_t>> mac_of(const std::string &netns, const std::string &ifname);

} // namespace steer::lab

// A route-netlink socket in the calling thread's current network namespace,
// and the conversions between libnl's types and ours. Internal to ns/.
//
// libnl folds the kernel's errno into a coarser NLE_* code (ENOENT, ESRCH
// and ENODEV all become "not found"); deletes must tell "absent" from a
// real failure, so the session installs an error callback that keeps the
// kernel's own errno and its extended-ack message for the Error.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "nl_ptr.hpp"
#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

// libnl's NLE_* (positive or negative) to the closest errno; EIO if unknown.
int nle_to_errno(int nle);

class NlSession {
public:
	// Opens a NETLINK_ROUTE socket in the calling thread's namespace.
	static Result<NlSession> open();

	nl_sock *get() const { return sock_.get(); }

	// Runs one libnl call; a negative NLE_* result becomes an Error
	// "<what> (<on>; libnl: ...; kernel: ...)" carrying the kernel's errno.
	template <typename F>
	Status run(const std::string &what, const std::string &on, F &&call)
	{
		ack_->err = 0;
		ack_->message.clear();
		int rc = call(sock_.get());
		if (rc >= 0)
			return {};
		return error(rc, what, on);
	}

	Error error(int nle, const std::string &what, const std::string &on) const;

	struct KernelAck {
		int err = 0;            // errno of the last NLMSG_ERROR, 0 if none
		std::string message;    // its NLMSGERR_ATTR_MSG, if the kernel sent one
	};

private:
	NlSession(NlSockPtr sock, std::unique_ptr<KernelAck> ack)
		: sock_(std::move(sock)), ack_(std::move(ack)) {}

	NlSockPtr sock_;
	std::unique_ptr<KernelAck> ack_;  // on the heap: libnl keeps its address
};

// nl_addr of p (prefix length included); null only when out of memory.
NlAddrPtr to_nl_addr(const Prefix &p);

// Prefix of an nl_addr; an empty address (a default route's dst) is all
// zeros of `family` with the address's prefix length.
Prefix from_nl_addr(const nl_addr *a, int family);

NlAddrPtr mac_to_nl_addr(const std::array<uint8_t, 6> &mac);

// True and fills mac when a is a 6-byte link-layer address.
bool mac_from_nl_addr(const nl_addr *a, std::array<uint8_t, 6> &mac);

std::string format_mac(const std::array<uint8_t, 6> &mac);

} // namespace steer::ns

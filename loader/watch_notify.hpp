// The service manager's readiness protocol (sd_notify(3)): one datagram of
// "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET. Written
// here rather than linking libsystemd: the protocol is a documented,
// stable interface meant to be reimplemented, it is one sendmsg(), and the
// tool also runs where there is no systemd (containers, tests), so a new
// build and runtime dependency would buy nothing.
#pragma once

#include <string>

#include "fd.hpp"
#include "result.hpp"

namespace steer {

class ServiceNotifier {
public:
	// From $NOTIFY_SOCKET ("/path" or "@abstract"); without it every
	// send() is a no-op, as sd_notify() is.
	static Result<ServiceNotifier> from_environment();

	bool enabled() const { return fd_.valid(); }
	// state: newline-separated assignments, e.g. "READY=1\nSTATUS=...".
	Status send(const std::string &state) const;

private:
	ServiceNotifier() = default;
	Fd fd_;
	std::string address_;
};

} // namespace steer

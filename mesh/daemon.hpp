// Driving the IKE daemon (DESIGN.md §4, `mesh`): strongSwan through
// swanctl over its VICI socket, libreswan through `ipsec whack` and
// `ipsec addconn` on pluto's control socket. Only
// connections of ours (a file with file_prefix in conf_dir) are ever
// loaded, replaced or removed; the daemon's other config is not touched.
#pragma once

#include <string>
#include <vector>

#include "loaded.hpp"
#include "plan.hpp"
#include "result.hpp"

namespace steer::mesh {

struct DaemonSetup {
	Daemon kind = Daemon::strongswan;
	std::string conf_dir;       // where our files go
	std::string swanctl_uri;    // strongswan: the VICI socket
	// strongswan: the swanctl.conf that includes conf_dir (swanctl loads
	// whole files): <conf_dir>/../swanctl.conf.
	std::string swanctl_file;
	// libreswan: pluto's control socket, $IPSEC_RUNDIR/pluto.ctl
	// (default /run/pluto/pluto.ctl), as the `ipsec` command finds it.
	std::string pluto_ctl;
};

// The defaults DESIGN.md §3 gives: conf_dir by daemon, swanctl_file next to it.
DaemonSetup daemon_setup(const std::string &daemon, const std::string &conf_dir, const std::string &uri);

class DaemonCtl {
public:
	explicit DaemonCtl(DaemonSetup s) : s_(std::move(s)) {}

	// What the daemon has loaded (strongswan: swanctl --list-conns; libreswan:
	// our files, as pluto has no parsable listing).
	[[nodiscard]] Result<Loaded> loaded() const;
	// True when the daemon cannot carry host-to-host children (strongSwan
	// with kernel-libipsec; see peers.hpp).
	[[nodiscard]] Result<bool> lacks_host_to_host() const;
	// Makes the daemon load what conf_dir holds for `changed` peers
	// (written already) and forget `removed` peers (files gone already),
	// deleting their SAs.
	[[nodiscard]] Status apply(const std::vector<std::string> &changed,
		const std::vector<std::string> &removed) const;
	const DaemonSetup &setup() const { return s_; }

private:
	Status swanctl(std::vector<std::string> args, std::string *out = nullptr) const;
	// `ipsec TOOL --ctlsocket <pluto_ctl> ARGS` (TOOL: whack, addconn).
	Status ipsec(const char *tool, std::vector<std::string> args) const;
	DaemonSetup s_;
};

} // namespace steer::mesh

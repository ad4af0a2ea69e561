// Two IPsec sites joined by real IKEv2 (strongSwan, kernel-libipsec, NAT-T)
// through the steering, every gateway made by the tool itself: each site is
// a router namespace with a public interface and a LAN namespace with one
// host (built here with `ip`), and a gateway made by `ipsec-steer up -c
// <lab>/site-X.toml` (router_netns = the router namespace), charon started
// in it with `ipsec-steer exec`.
//
//  LAN A (IPv4 10.1.0.0/24, IPv6 fd00:1::/64)                  LAN B (10.2.0.0/24, fd00:2::/64)
//  [la] eth0 .2 / ::2                                           [lb] eth0 .2 / ::2
//    |                                                               |
//  [ra] lan .1 / ::1                                            [rb] lan .1 / ::1
//       pub 198.51.100.1/24 ========== internet ============== pub 198.51.100.2/24
//           2001:db8:1::1/64                                       2001:db8:1::2/64
//       tc ingress: ist_ingress (up)                            tc ingress: ist_ingress (up)
//       ist-ik<pid>-a 169.254.1.1/30 (fd00:ff:1::/127)          ist-ik<pid>-b 169.254.2.1/30 (fd00:ff:2::/127)
//       rule from LAN A to LAN B -> table of gateway a          rule from LAN B to LAN A -> table of gateway b
//    |                                                               |
//  [ik<pid>-a] eth0 (MAC of ra's pub), P/32 (/128),             [ik<pid>-b] same shape, site B
//       169.254.1.2/30 (fd00:ff:1::1/127); lo .254 / ::fe;
//       charon (kernel-libipsec: ipsec0 TUN, ESP in UDP 4500)
//
// Egress::bpf: ist-* runs steer_return at TC ingress; Egress::route: the
// router forwards the gateway's packets (accept_local, rp_filter 2).
// Namespaces are ik<pid>-{ra,rb,la,lb} (ours) and ik<pid>-{a,b} (the
// tool's gateways; 11 characters at most). The bpffs is private: a bpf
// mount on <lab>/bpffs, `bpffs = "<lab>/bpffs/ipsec-steer"`.
// teardown() stops charon, runs `ipsec-steer down` and reports anything of
// the tool's left behind; the destructor removes everything regardless.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "lab.hpp"

namespace steer::ike {

enum class Side { a = 0, b = 1 };

inline Side other(Side s) { return s == Side::a ? Side::b : Side::a; }

// Address family of the whole lab: the public addresses (IKE and ESP in
// UDP), the LANs and the gateway links. The tool's link follows the public
// address's family, and its cleartext routes into the gateway only exist
// in that family, so an IPv6 lab has IPv6 LANs too.
enum class Family { ipv4, ipv6 };

// The addresses of one site; see the diagram.
struct SiteAddresses {
	std::string public_address; // P, on the router's pub
	int public_len;             // prefix length of the internet link
	std::string subnet;         // the LAN
	std::string router_lan;     // the router on the LAN (default route of the host)
	std::string host;           // the LAN host
	// An address of the LAN on the gateway's lo (charon 5.9.8 with
	// kernel-libipsec wants one to source its route into ipsec0).
	std::string gateway_lan;
	std::string link;           // `link` of the gateway in the tool's config
	int lan_len() const { return std::stoi(subnet.substr(subnet.find('/') + 1)); }
};

std::array<SiteAddresses, 2> lab_addresses(Family f);

// How the gateway's own packets (source P) leave through the router:
// route = the router forwards them (accept_local=1, rp_filter=2 on ist-*);
// bpf = steer_return at TC ingress of ist-* redirects them out of pub.
enum class Egress { route, bpf };

// How a site's IKE daemon does ESP: in user space over TUN (strongSwan's
// kernel-libipsec: this machine's kernel has no ESP), or in the kernel
// (XFRM: Debian's kernel in the VM tier).
enum class Esp { libipsec, kernel };

// Which IKE daemon a site runs: strongSwan's charon (swanctl over its vici
// socket) or libreswan's pluto (whack over its control socket; kernel ESP).
enum class Daemon { strongswan, libreswan };

// The ipsec-steer binary: $IPSEC_STEER, else the one CMake built.
std::string default_ipsec_steer();

struct TwoSiteOptions {
	std::string prefix = "ik";
	std::string ipsec_steer = default_ipsec_steer();
	Egress egress = Egress::bpf;
	Family family = Family::ipv4;
	std::string psk = "ipsec-steer-lab-psk";
	uint16_t ike_port = 500;
	uint16_t natt_port = 4500;
	Esp esp = Esp::libipsec;
	// ESP in UDP even without a NAT; false: raw ESP (needs Esp::kernel).
	bool encap = true;
	std::array<Daemon, 2> daemons{Daemon::strongswan, Daemon::strongswan};
	// Lines of each gateway's [gateway.firewall] table (empty: none).
	std::string gateway_firewall;
};

// Where the scripts of tools/ike live (site.sh, charon-in-netns.sh).
std::string tools_dir();

// Empty when charon, swanctl, the kernel-libipsec plugin, /dev/net/tun and
// the ipsec-steer binary are all there; else what is missing.
std::string strongswan_missing(const std::string &ipsec_steer = default_ipsec_steer());

// Packets per class of one gateway, as `ipsec-steer stats --json` reports
// them: `in` what steer_ingress steered, `out` what steer_return sent out.
struct Counters {
	std::map<std::string, uint64_t> in, out;
};

// The router's UDP input counters (/proc/net/snmp, snmp6): datagrams
// delivered to a socket, refused for want of one, and dropped as bad.
struct UdpInput {
	uint64_t delivered = 0, no_port = 0, errors = 0;
	uint64_t total() const { return delivered + no_port + errors; }
	std::string text() const;
};

class TwoSiteLab {
public:
	explicit TwoSiteLab(TwoSiteOptions opts = {});
	TwoSiteLab(const TwoSiteLab &) = delete;
	TwoSiteLab &operator=(const TwoSiteLab &) = delete;
	~TwoSiteLab();

	// Namespaces, the internet link, the LANs, the private bpffs, both
	// sites' configs, and `ipsec-steer up` for each.
	Status build();
	// Renders both sites' strongSwan configs (site.sh) and starts both
	// charons (charon-in-netns.sh, through `ipsec-steer exec`);
	// connections loaded, none initiated.
	Status start_ike();
	// swanctl --initiate of the child from `side`; returns when both ends
	// have the CHILD_SA installed.
	Status initiate(Side side);
	// swanctl --terminate of the IKE_SA from `side`; returns when neither
	// end has an IKE_SA left.
	Status terminate(Side side);
	// Number of IKE_SAs the daemon of `side` lists.
	Result<int> ike_sa_count(Side side) const;
	// Rekeys the CHILD_SA from `side` (strongSwan: swanctl --rekey;
	// libreswan: whack --rekey-ipsec) and returns once a new one is
	// installed there.
	Status rekey_child(Side side);
	// The ESP SPIs the kernel holds in `side`'s gateway (ip xfrm state);
	// empty with kernel-libipsec.
	Result<std::vector<std::string>> kernel_spis(Side side) const;
	// Stops both charons, `ipsec-steer down -c` each site's config, then
	// checks that nothing of the tool's is left: no gateway namespace, no
	// ist-* link, no rule or route of protocol 87 in the router namespaces,
	// no ist_ingress filter on pub, no pinned object in the bpffs.
	Status teardown();

	// `ipsec-steer ARGS -c <site's config>`: its stdout, or an error with
	// its stderr.
	Result<std::string> steer(Side s, const std::string &args) const;
	// The same command line, for a demo to run and show.
	std::string steer_command(Side s, const std::string &args) const;
	Result<Counters> counters(Side s) const;
	// `status --json`: empty when the gateway is healthy, else its problems.
	Result<std::string> status_problems(Side s) const;
	Result<UdpInput> router_udp_input(Side s) const;
	// `ss -uan` in the router namespace: its UDP sockets (none expected).
	Result<std::string> router_udp_sockets(Side s) const;

	const TwoSiteOptions &options() const { return opts_; }
	const SiteAddresses &site(Side s) const { return sites_[idx(s)]; }
	std::string router_ns(Side s) const { return ns_.name(s == Side::a ? "ra" : "rb"); }
	// Each site is its own machine: its own pin tree, which `up` owns whole.
	std::string pin_root(Side s) const { return bpffs_mount_ + (s == Side::a ? "/site-a" : "/site-b") + "/ipsec-steer"; }
	std::string lan_ns(Side s) const { return ns_.name(s == Side::a ? "la" : "lb"); }
	std::string gateway_ns(Side s) const { return ns_.name(s == Side::a ? "a" : "b"); }
	std::string conf_dir(Side s) const { return dir_ + (s == Side::a ? "/a" : "/b"); }
	std::string config_file(Side s) const { return dir_ + (s == Side::a ? "/site-a.toml" : "/site-b.toml"); }
	// /tmp/ik<pid>-lab: configs, charon dirs a/ and b/, the bpffs, captures.
	const std::string &lab_dir() const { return dir_; }
	// Connection (and child) name on `s`: the remote public address, dashed.
	std::string connection(Side s) const;
	std::string vici_uri(Side s) const { return "unix://" + conf_dir(s) + "/charon.vici"; }
	// The ipsec-steer config of a site's gateway (written to config_file()).
	std::string gateway_config(Side s) const;
	// How long the last `up` (both sites) and `down` (both sites) took.
	std::chrono::duration<double> up_time() const { return up_time_; }
	std::chrono::duration<double> down_time() const { return down_time_; }

private:
	static size_t idx(Side s) { return static_cast<size_t>(s); }
	Status build_router_and_lan(Side s);
	Status swanctl(Side s, const std::string &args) const;
	Status whack(Side s, const std::string &args) const;
	Status start_daemon(Side s);
	Result<bool> child_installed(Side s) const;
	Daemon daemon(Side s) const { return opts_.daemons[idx(s)]; }
	Status stop_daemons();
	std::string leftovers() const;

	TwoSiteOptions opts_;
	std::array<SiteAddresses, 2> sites_;
	lab::Namespaces ns_;
	std::string dir_, bpffs_mount_;
	bool bpffs_mounted_ = false, down_needed_ = false, torn_down_ = false;
	std::array<pid_t, 2> daemon_pid_{0, 0};
	std::chrono::duration<double> up_time_{0}, down_time_{0};
};

// Runs a command line through the shell; its stdout, or an error that
// carries the status and what it printed.
Result<std::string> capture(const std::string &cmd);

// `s` in single quotes for the shell.
std::string quote(const std::string &s);

// A child process (argv[0] looked up in PATH) with stdout and stderr to
// `log`; SIGKILLed and reaped by the destructor if still running.
class Child {
public:
	static Result<std::unique_ptr<Child>> spawn(const std::vector<std::string> &argv,
						    const std::string &log);
	~Child();
	pid_t pid() const { return pid_; }
	// Sends `sig` and waits up to `timeout_ms`; returns the wait status,
	// or -1 when it had to be killed.
	int stop(int sig, int timeout_ms);

private:
	explicit Child(pid_t pid) : pid_(pid) {}
	pid_t pid_;
};

} // namespace steer::ike

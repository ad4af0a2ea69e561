// Two IPsec sites joined by real IKEv2 (strongSwan, kernel-libipsec, NAT-T)
// through the steering. Each site is a router namespace whose public
// interface has steer_ingress attached, a gateway namespace running charon,
// and a LAN namespace with one host.
//
//  LAN A 10.1.0.0/24                                             LAN B 10.2.0.0/24
//  [la] eth0 10.1.0.2                                            [lb] eth0 10.2.0.2
//    |                                                                 |
//  [ra] lan 10.1.0.1                                             [rb] lan 10.2.0.1
//       pub 198.51.100.1/24 ============ internet ============== pub 198.51.100.2/24
//       tc ingress: steer_ingress                                tc ingress: steer_ingress
//       ist-<gw a> 169.254.1.1/30                                ist-<gw b> 169.254.2.1/30
//       rule from 10.1/24 to 10.2/24 -> table 101                rule from 10.2/24 to 10.1/24 -> table 102
//    |                                                                 |
//  [a]  eth0 (MAC of ra pub) 198.51.100.1/32 169.254.1.2/30      [b]  same shape, site B
//       lo 10.1.0.254/32, charon (kernel-libipsec: ipsec0 TUN, ESP in UDP 4500)
//
// Namespaces are ik<pid>-{ra,rb,la,lb,a,b}; the gateways' names ("ik<pid>-a")
// fit ipsec-steer's 11-character gateway names, so `ipsec-steer up` can
// build them from gateway_config() instead of build_gateway_by_hand() and
// attach_steering(). With Egress::bpf, ist-* has steer_return at TC ingress
// instead of accept_local/rp_filter.
// Everything (processes, namespaces, bpffs, config directories) is removed
// by the destructor.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "bpf_steer.hpp"
#include "lab.hpp"

namespace steer::ike {

enum class Side { a = 0, b = 1 };

inline Side other(Side s) { return s == Side::a ? Side::b : Side::a; }

// The addresses of one site; see the diagram.
struct SiteAddresses {
	std::string public_address; // P, on the router's pub
	std::string lan_prefix;     // "10.1.0": .0/24 the subnet, .1 router, .2 host, .254 gateway
	std::string link_prefix;    // "169.254.1": .0/30, .1 router end, .2 gateway end
	uint32_t table;             // router table with the remote subnet via the gateway

	std::string subnet() const { return lan_prefix + ".0/24"; }
	std::string host() const { return lan_prefix + ".2"; }
	std::string router_lan() const { return lan_prefix + ".1"; }
	// An address of the local subnet inside the gateway (charon 5.9.8 with
	// kernel-libipsec wants one to source its route into ipsec0).
	std::string gateway_lan() const { return lan_prefix + ".254"; }
	std::string router_link() const { return link_prefix + ".1"; }
	std::string gateway_link() const { return link_prefix + ".2"; }
};

// How the gateway's own packets (source P) leave through the router:
// route = the router forwards them (accept_local=1, rp_filter=2 on ist-*);
// bpf = steer_return at TC ingress of ist-* redirects them out of pub.
enum class Egress { route, bpf };

struct TwoSiteOptions {
	std::string prefix = "ik";
	Egress egress = Egress::route;
	std::string psk = "ipsec-steer-lab-psk";
	uint16_t ike_port = 500;
	uint16_t natt_port = 4500;
	std::array<SiteAddresses, 2> sites = {
		SiteAddresses{"198.51.100.1", "10.1.0", "169.254.1", 101},
		SiteAddresses{"198.51.100.2", "10.2.0", "169.254.2", 102},
	};
};

// Where the scripts of tools/ike live (site.sh, charon-in-netns.sh).
std::string tools_dir();

// Empty when charon, swanctl, the kernel-libipsec plugin and /dev/net/tun
// are all there; else what is missing.
std::string strongswan_missing();

class TwoSiteLab {
public:
	explicit TwoSiteLab(TwoSiteOptions opts = {});
	TwoSiteLab(const TwoSiteLab &) = delete;
	TwoSiteLab &operator=(const TwoSiteLab &) = delete;
	~TwoSiteLab();

	// Namespaces, the internet link, the LANs, and both gateways (by hand,
	// as `ipsec-steer up` will) with steering attached.
	Status build();
	// Renders both sites' configs (site.sh) and starts both charons
	// (charon-in-netns.sh); connections loaded, none initiated.
	Status start_ike();
	// swanctl --initiate of the child from `side`; returns when both ends
	// have the CHILD_SA installed.
	Status initiate(Side side);
	// swanctl --terminate of the IKE_SA from `side`; returns when neither
	// end has an IKE_SA left.
	Status terminate(Side side);
	// Number of IKE_SAs charon of `side` lists (swanctl --list-sas).
	Result<int> ike_sa_count(Side side) const;

	const SiteAddresses &site(Side s) const { return opts_.sites[idx(s)]; }
	std::string router_ns(Side s) const { return ns_.name(s == Side::a ? "ra" : "rb"); }
	std::string lan_ns(Side s) const { return ns_.name(s == Side::a ? "la" : "lb"); }
	std::string gateway_ns(Side s) const { return ns_.name(s == Side::a ? "a" : "b"); }
	std::string gateway_link(Side s) const { return "ist-" + gateway_ns(s); }
	std::string conf_dir(Side s) const { return conf_dirs_[idx(s)]; }
	// /tmp/ik<pid>-lab: conf dirs a/ and b/, the bpffs, room for captures.
	const std::string &lab_dir() const { return dir_; }
	// Connection (and child) name on `s`: the remote public address, dashed.
	std::string connection(Side s) const;
	std::string vici_uri(Side s) const { return "unix://" + conf_dir(s) + "/charon.vici"; }
	// steer_ingress counters of the site's gateway (id 1 in its router's maps).
	Result<ClassCounters> counters(Side s) const;
	// steer_return counters (egress = bpf): what it sent out of pub.
	Result<ClassCounters> counters_out(Side s) const;
	// The ipsec-steer config that makes `up` build this site's gateway
	// (router_netns = the router namespace, egress as in the options).
	std::string gateway_config(Side s) const;
	// Runs `ip netns exec <ns> <cmd>` through the shell.
	Status in_ns(const std::string &netns, const std::string &cmd) const;

	static constexpr uint32_t gateway_id = 1;

private:
	static size_t idx(Side s) { return static_cast<size_t>(s); }
	Status build_router_and_lan(Side s);
	Status build_gateway_by_hand(Side s);
	Status attach_steering(Side s);
	Status swanctl(Side s, const std::string &args) const;

	TwoSiteOptions opts_;
	lab::Namespaces ns_;
	std::string dir_, bpffs_;
	std::array<std::string, 2> conf_dirs_;
	std::array<std::unique_ptr<SteerObject>, 2> steer_;
	std::array<pid_t, 2> charon_{0, 0};
};

// Runs a command line through the shell; its stdout, or an error that
// carries the status and what it printed.
Result<std::string> capture(const std::string &cmd);

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

#include "steer_lab.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include "netns.hpp"
#include "pins.hpp"
#include "tc_attach.hpp"

namespace steer::lab {

namespace {

std::string mac_text(const std::vector<uint8_t> &mac)
{
	char buf[18];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		      mac[3], mac[4], mac[5]);
	return buf;
}

Result<int> ifindex_in(const std::string &netns, const std::string &ifname)
{
	int idx = 0;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		idx = static_cast<int>(::if_nametoindex(ifname.c_str()));
		return idx ? Status{} : sys_error(errno, "no such interface", ifname);
	});
	if (!st)
		return st.error();
	return idx;
}

} // namespace

Status SteerLab::build()
{
	for (const char *role : {"peer", "router", "gw"})
		if (Status st = ns_.add(role); !st)
			return st;
	if (Status st = build_links(); !st)
		return st;
	if (Status st = mount_bpffs(); !st)
		return st;
	return load_and_attach();
}

Status SteerLab::build_links()
{
	const std::string router = ns_.name("router"), gw = ns_.name("gw");
	const std::vector<std::pair<std::string, std::string>> steps = {
		{"peer", "link add wan0 type veth peer name pub netns " + router},
		{"peer", "addr add 203.0.113.2/24 dev wan0"},
		{"router", "addr add 203.0.113.1/24 dev pub"},
		{"router", "link add ist-lab type veth peer name eth0 netns " + gw},
		{"router", "addr add 169.254.1.1/30 dev ist-lab"},
		{"gw", "addr add 169.254.1.2/30 dev eth0"},
		{"gw", "addr add 203.0.113.1/32 dev eth0"},
	};
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	auto pub = mac_of(router, "pub");
	auto peer = mac_of(ns_.name("peer"), "wan0");
	if (!pub || !peer)
		return pub ? peer.error() : pub.error();
	pub_mac_ = *pub;
	peer_mac_ = *peer;
	for (const auto &[role, args] : std::vector<std::pair<std::string, std::string>>{
		     {"gw", "link set eth0 address " + mac_text(pub_mac_) + " up"},
		     {"router", "link set ist-lab up"},
		     {"router", "link set pub up"},
		     {"peer", "link set wan0 up"}})
		if (Status st = ns_.ip(role, args); !st)
			return st;
	return {};
}

Status SteerLab::mount_bpffs()
{
	bpffs_ = "/tmp/" + ns_.name("bpffs");
	std::filesystem::create_directories(bpffs_);
	if (::mount("bpf", bpffs_.c_str(), "bpf", 0, nullptr) != 0)
		return sys_error(errno, "mount bpffs", bpffs_);
	pin_dir_ = steer::pin_dir(bpffs_ + "/ipsec-steer", ns_.name("router"));
	return ensure_pin_dir(pin_dir_);
}

steer_gw_key SteerLab::gateway_key() const
{
	steer_gw_key key{};
	key.ifindex = pub_ifindex_;
	key.family = STEER_FAMILY_IPV4;
	inet_pton(AF_INET, public_address, &key.address.addr[0]);
	return key;
}

Status SteerLab::load_and_attach()
{
	auto pub = ifindex_in(ns_.name("router"), "pub");
	auto target = ifindex_in(ns_.name("router"), "ist-lab");
	if (!pub || !target)
		return pub ? target.error() : pub.error();
	pub_ifindex_ = *pub;
	target_ifindex_ = *target;
	auto obj = SteerObject::load({pin_dir_, 64, false});
	if (!obj)
		return obj.error();
	obj_ = std::move(*obj);
	if (Status st = obj_->pin_programs(pin_dir_); !st)
		return st;
	steer_gw_value value{static_cast<uint32_t>(target_ifindex_), opts_.flags, opts_.ike_port,
			     opts_.natt_port, gateway_id};
	if (Status st = put_gateway(obj_->gateways_fd(), obj_->ports_fd(), gateway_key(), value); !st)
		return st;
	return ns::run_in_netns(ns_.name("router"), [&] {
		return tc_attach(pub_ifindex_, TcDirection::ingress, obj_->ingress_fd());
	});
}

SteerLab::~SteerLab()
{
	obj_.reset();
	if (!bpffs_.empty()) {
		::umount2(bpffs_.c_str(), MNT_DETACH);
		::rmdir(bpffs_.c_str());
	}
}

} // namespace steer::lab

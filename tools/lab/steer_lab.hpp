// The classifier lab: a peer, a router with public interface `pub` and
// steer_ingress attached, and a gateway namespace behind a veth.
//
//   peer ns                 router ns                      gateway ns
//   wan0 203.0.113.2/24 --- pub 203.0.113.1/24 (P)
//                           [tc ingress: steer_ingress]
//                           ist-lab 169.254.1.1/30 ------- eth0 (MAC of pub)
//                                                          203.0.113.1/32, 169.254.1.2/30
//
// Maps are pinned under a private bpffs mounted for the lab alone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bpf_steer.hpp"
#include "lab.hpp"

namespace steer::lab {

struct SteerLabOptions {
	std::string prefix = "istlab";
	uint32_t flags = STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS;
	uint16_t ike_port = 500;
	uint16_t natt_port = 4500;
};

class SteerLab {
public:
	explicit SteerLab(SteerLabOptions opts = {}) : opts_(std::move(opts)), ns_(opts_.prefix) {}
	SteerLab(const SteerLab &) = delete;
	SteerLab &operator=(const SteerLab &) = delete;
	~SteerLab();

	Status build();

	const Namespaces &namespaces() const { return ns_; }
	SteerObject &object() { return *obj_; }
	const std::string &pin_dir() const { return pin_dir_; }
	const std::vector<uint8_t> &pub_mac() const { return pub_mac_; }
	const std::vector<uint8_t> &peer_mac() const { return peer_mac_; }
	int pub_ifindex() const { return pub_ifindex_; }
	int target_ifindex() const { return target_ifindex_; }
	steer_gw_key gateway_key() const;
	static constexpr uint32_t gateway_id = 1;
	static constexpr const char *public_address = "203.0.113.1";
	static constexpr const char *peer_address = "203.0.113.2";

private:
	Status build_links();
	Status mount_bpffs();
	Status load_and_attach();

	SteerLabOptions opts_;
	Namespaces ns_;
	std::string bpffs_;
	std::string pin_dir_;
	std::unique_ptr<SteerObject> obj_;
	std::vector<uint8_t> pub_mac_, peer_mac_;
	int pub_ifindex_ = 0, target_ifindex_ = 0;
};

} // namespace steer::lab

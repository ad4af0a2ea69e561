// The loaded steering object: one owner of the libbpf skeleton, with its
// maps pinned (or reused) under one router namespace's pin directory.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "result.hpp"
#include "abi_check.hpp"

struct steer_bpf;

namespace steer {

struct LoadOptions {
	std::string pin_dir;          // <bpffs>/<router ns>; empty = no pins
	uint32_t stats_gateways = 64; // counters are sized for ids below this;
	                              // a smaller pinned stats map is replaced
	bool record_decisions = false; // tests: fill the `decision` map
	bool gateway_cache = true;     // false: every frame reads the hash
	                               // (bench, tests of the cache itself)
};

using ClassCounters = std::array<steer_counter, STEER_CLASS_MAX>;

class SteerObject {
public:
	static Result<std::unique_ptr<SteerObject>> load(const LoadOptions &opts);
	SteerObject(const SteerObject &) = delete;
	SteerObject &operator=(const SteerObject &) = delete;
	~SteerObject();

	int ingress_fd() const;
	int return_fd() const;
	int gateways_fd() const;
	int ports_fd() const;
	int stats_fd() const;
	int stats_out_fd() const;
	int returns_fd() const;
	int frags_fd() const;
	int decision_fd() const;
	// Ids of the maps shared through pins (sorted): a pinned program that
	// does not use these is stale even when its code is the same.
	std::vector<uint32_t> shared_map_ids() const;

	// Pins both programs under dir (prog_ingress, prog_return), replacing
	// older pins by rename so a pin never goes missing.
	Status pin_programs(const std::string &dir);

private:
	explicit SteerObject(struct ::steer_bpf *skel) : skel_(skel) {}
	struct ::steer_bpf *skel_;
};

// Gateways map edits keep the ports bitmap equal to the union of the ports
// of every entry, so UDP to other ports is never looked up.
Status put_gateway(int gateways_fd, int ports_fd, const steer_gw_key &key,
		   const steer_gw_value &value);
Status delete_gateways(int gateways_fd, int ports_fd, const std::vector<steer_gw_key> &keys);
Status sync_ports(int gateways_fd, int ports_fd);
// Every other writer of the gateways map calls this after its change.
Status bump_generation(int ports_fd);

struct GatewayEntry {
	steer_gw_key key;
	steer_gw_value value;
};
Result<std::vector<GatewayEntry>> dump_gateways(int gateways_fd);

// Counters of one gateway id, summed over CPUs.
Result<ClassCounters> read_counters(int stats_fd, uint32_t gateway_id);

const char *class_name(uint32_t class_id);

// Routes libbpf's messages through our logger, one level down.
void route_libbpf_logs();

} // namespace steer

// The upgrade tests' topology: `up` of the two builds (ipsec-steer and the
// test-only ipsec-steer-variant, whose programs differ harmlessly) run as
// processes from the root namespace, pins under a private bpffs.
//
//   peer ns                    router ns (router_netns)                 gateway ns g<pid>
//   wan0 203.0.113.2/24 ------ pub 203.0.113.1/24 (P)
//   [EspStream: AF_PACKET      [tc ingress: ist_ingress, replaced by
//    sendmmsg, ESP -> P]        every `up` of the other build]
//                              [nft netdev ingress after tc: ESP to P
//                               counted = not steered]
//                              ist-g<pid> 169.254.x.1/30 -------------- eth0 MAC of pub, P/32
//                              [tc ingress: ist_return]                 [EspTap: AF_PACKET count]
//                                                                       [nft netdev ingress:
//                                                                        ESP to P counted, dropped]
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "bpf_steer.hpp"
#include "esp_stream.hpp"
#include "fd.hpp"
#include "lab.hpp"
#include "packet_builder.hpp"
#include "shell.hpp"

namespace steer::test {

inline constexpr const char *public_address = "203.0.113.1"; // P
inline constexpr const char *peer_address = "203.0.113.2";

struct UpRun {
	int exit_code = -1;
	std::string output; // stdout and stderr
};

// The programs in our two tc filters.
struct Attached {
	uint32_t ingress_id = 0; // on pub
	uint32_t return_id = 0;  // on ist-<gw>
};

// The stream's path, once the gateway exists: probes, tap, generator.
struct StreamRig {
	std::unique_ptr<EspStream> stream;
	EspTap tap;
	size_t frame_size = 0;
};

// What became of the stream's frames, read after it stopped.
struct StreamOutcome {
	uint64_t sent = 0;        // accepted by the kernel at the peer
	uint64_t tapped = 0;      // seen on the gateway's eth0 (AF_PACKET)
	uint64_t arrived = 0;     // counted there by nft
	uint64_t not_steered = 0; // left to the router (nft on pub)
};

// Every frame sent reached the gateway namespace, none the router.
void expect_every_frame_steered(const StreamOutcome &o);

class UpgradeLab : public ::testing::Test {
protected:
	void SetUp() override;
	void TearDown() override;

	void write_config() const;
	UpRun run_up(const char *binary) const;

	std::string pin_path(const std::string &name) const;
	Fd pinned(const std::string &name) const;
	// Map name -> map id of every map pin.
	std::map<std::string, uint32_t> pinned_map_ids() const;
	Attached attached() const;
	uint32_t gateway_id() const;
	ClassCounters counters(const std::string &map = "stats") const;
	// An ESP frame from the peer to P; seq_offset: where its sequence is.
	Bytes esp_frame(uint32_t seq, size_t *seq_offset = nullptr) const;
	// nft counters of ESP to P after tc ingress (netdev family, table
	// istup_probe): `esp_not_steered` on pub, what the steering left to
	// the router; `esp_in` on the gateway's eth0, what arrived (dropped
	// there: the gateway has no ESP, its stack need not work for it).
	Status install_probes() const;
	// install_probes(), the tap on the gateway's eth0, a stream from wan0.
	Result<StreamRig> rig_stream() const;
	Result<StreamOutcome> stop_stream(StreamRig &rig) const;

	lab::Namespaces ns{"istup"};
	std::string peer, router, gw, bpffs, path;
};

bool wait_for(const std::function<bool()> &done, std::chrono::seconds timeout);
double seconds_since(std::chrono::steady_clock::time_point t);
// The tag (8 bytes, hex) of a program id, "" when it is gone.
std::string prog_tag(uint32_t prog_id);
// Loads an nft ruleset into a namespace.
Status nft_in(const std::string &netns, const std::string &ruleset);
// Packets of a named nft counter.
Result<uint64_t> nft_counter(const std::string &netns, const std::string &family, const std::string &table,
			     const std::string &name);
// Frames dropped for a full backlog (netdev_max_backlog), all CPUs: the
// second column of /proc/net/softnet_stat.
uint64_t softnet_dropped();
// rx + tx dropped of an interface.
uint64_t link_dropped(const std::string &netns, const std::string &ifname);

} // namespace steer::test

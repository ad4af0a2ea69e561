// Pinned maps of another layout (as an older or newer build would leave
// them) are never silently reused and never make `up` fail: each one is
// replaced, with a warning naming the difference; counters are carried
// over by field name; the gateway's entries are rebuilt; steering works.
//
//   peer ns                    router ns (router_netns)                 gateway ns g<pid>
//   wan0 203.0.113.2/24 ------ pub 203.0.113.1/24 (P)
//   [PacketSocket: ESP -> P]   [tc ingress: ist_ingress]
//                              pins: stats, gateways, frags, returns
//                              swapped for maps of other layouts
//                              ist-g<pid> 169.254.x.1/30 -------------- eth0 MAC of pub, P/32
//                                                                       [PacketSocket: receives]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <filesystem>

#include "map_layout.hpp"
#include "netns.hpp"
#include "pin_migration.hpp"
#include "upgrade_lab.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;

struct BtfFree {
	void operator()(struct btf *b) const { btf__free(b); }
};

// An older counter value: other order, one more field, so 24 bytes.
struct OldCounter {
	uint64_t drops;
	uint64_t bytes;
	uint64_t packets;
};

// A per-CPU counter map with BTF for OldCounter, as a build with that
// layout would have pinned it.
Fd old_stats_map(uint32_t entries)
{
	std::unique_ptr<struct btf, BtfFree> btf(btf__new_empty());
	int u32 = btf__add_int(btf.get(), "unsigned int", 4, 0);
	int u64 = btf__add_int(btf.get(), "unsigned long long", 8, 0);
	int value = btf__add_struct(btf.get(), "steer_counter", sizeof(OldCounter));
	btf__add_field(btf.get(), "drops", u64, 0, 0);
	btf__add_field(btf.get(), "bytes", u64, 64, 0);
	btf__add_field(btf.get(), "packets", u64, 128, 0);
	if (btf__load_into_kernel(btf.get()) != 0)
		return Fd();
	LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = static_cast<__u32>(btf__fd(btf.get())),
		    .btf_key_type_id = static_cast<__u32>(u32), .btf_value_type_id = static_cast<__u32>(value));
	return Fd(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "stats", 4, sizeof(OldCounter), entries, &opts));
}

Fd plain_map(bpf_map_type type, const char *name, uint32_t key, uint32_t value, uint32_t entries, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	return Fd(bpf_map_create(type, name, key, value, entries, &opts));
}

class MapMigration : public UpgradeLab {
protected:
	// Puts `map` at the pin of `name`, as if an older build had left it.
	void swap_pin(const std::string &name, const Fd &map)
	{
		ASSERT_TRUE(map.valid()) << name << ": " << std::strerror(errno);
		ASSERT_EQ(::unlink(pin_path(name).c_str()), 0) << name;
		ASSERT_EQ(bpf_obj_pin(map.get(), pin_path(name).c_str()), 0) << name;
	}
	MapLayout layout(const std::string &name) const
	{
		Fd fd = pinned(name);
		auto l = map_layout_of(fd.get());
		EXPECT_TRUE(l.ok()) << name;
		return l ? *l : MapLayout{};
	}
	// The old stats map of gateway 1's esp counter: 10 + 20 packets.
	void pin_old_stats(uint32_t entries)
	{
		Fd stats = old_stats_map(entries);
		int ncpu = libbpf_num_possible_cpus();
		std::vector<OldCounter> v(ncpu);
		v[0] = {99, 1000, 10};
		v[ncpu - 1].bytes += 2000, v[ncpu - 1].packets += 20;
		uint32_t idx = 1 * STEER_CLASS_MAX + STEER_CLASS_ESP;
		ASSERT_EQ(bpf_map_update_elem(stats.get(), &idx, v.data(), BPF_ANY), 0) << std::strerror(errno);
		swap_pin("stats", stats);
	}
	// gateways with a 12-byte value (no gateway id where ours has it) and
	// an entry for P whose id would read as 0 if the layout were trusted.
	void pin_old_gateways()
	{
		Fd gateways = plain_map(BPF_MAP_TYPE_HASH, "gateways", sizeof(steer_gw_key), 12, STEER_MAX_GATEWAYS,
					BPF_F_NO_PREALLOC);
		steer_gw_key key{};
		key.ifindex = pub_ifindex();
		key.family = STEER_FAMILY_IPV4;
		key.address.addr[0] = inet_addr(public_address);
		uint32_t value[3] = {0, 0, 0};
		ASSERT_EQ(bpf_map_update_elem(gateways.get(), &key, value, BPF_ANY), 0) << std::strerror(errno);
		swap_pin("gateways", gateways);
	}
	uint32_t pub_ifindex() const
	{
		uint32_t ifindex = 0;
		(void)ns::run_in_netns(router, [&]() -> Status {
			ifindex = ::if_nametoindex("pub");
			return {};
		});
		return ifindex;
	}
	bool esp_steered(uint32_t seq) const
	{
		auto from = lab::PacketSocket::open(peer, "wan0");
		auto inside = lab::PacketSocket::open(gw, "eth0");
		Bytes esp = esp_frame(seq);
		if (!from || !inside || !from->send(esp))
			return false;
		auto got = inside->drain(300ms);
		return std::find(got.begin(), got.end(), esp) != got.end();
	}
};

TEST_F(MapMigration, PinsOfAnotherLayoutAreReplacedCountersCarriedSteeringWorks)
{
	write_config();
	UpRun first = run_up(STEER_BINARY);
	ASSERT_EQ(first.exit_code, 0) << first.output;
	const uint32_t stats_entries = layout("stats").max_entries;
	pin_old_stats(stats_entries);
	pin_old_gateways();
	// frags as a plain hash; returns of the right sizes but without BTF.
	swap_pin("frags", plain_map(BPF_MAP_TYPE_HASH, "frags", sizeof(steer_frag_key), sizeof(steer_frag_value),
				    STEER_MAX_FRAGS, 0));
	swap_pin("returns", plain_map(BPF_MAP_TYPE_HASH, "returns", 4, sizeof(steer_return_value),
				      STEER_MAX_GATEWAYS, BPF_F_NO_PREALLOC));
	if (HasFatalFailure())
		return;
	auto old_ids = pinned_map_ids();
	Attached old_progs = attached();

	UpRun r = run_up(STEER_BINARY);
	ASSERT_EQ(r.exit_code, 0) << r.output;
	// Same build, same code: only the replaced maps force new programs.
	Attached progs = attached();
	EXPECT_NE(progs.ingress_id, old_progs.ingress_id) << "ist_ingress still writes to the old maps";
	EXPECT_NE(progs.return_id, old_progs.return_id) << "ist_return still reads the old returns map";
	const std::string dir = bpffs + "/ipsec-steer/" + router + "/";
	for (const std::string &line : {
		     dir + "stats does not match this build (value size 24 -> 16, value BTF differs): replacing it, "
			   "counters carried over",
		     dir + "gateways does not match this build (value size 12 -> 16, no key BTF, no value BTF): "
			   "replacing it, its entries are rebuilt from the config",
		     dir + "frags does not match this build (type hash -> lru_hash, no key BTF, no value BTF): "
			   "replacing it, its entries are dropped (refilled by traffic)",
		     dir + "returns does not match this build (no key BTF, no value BTF): replacing it, "
			   "its entries are rebuilt from the config"})
		EXPECT_NE(r.output.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << r.output;

	auto ids = pinned_map_ids();
	for (const char *name : {"stats", "gateways", "frags", "returns"})
		EXPECT_NE(ids[name], old_ids[name]) << name << " must be a new map";
	for (const char *name : {"ports", "stats_out"})
		EXPECT_EQ(ids[name], old_ids[name]) << name << " fitted and must be kept";
	EXPECT_EQ(layout("stats").value_btf, "s16{packets@0=u8;bytes@64=u8;}");
	EXPECT_EQ(layout("stats").max_entries, stats_entries);
	EXPECT_EQ(layout("gateways").value_size, sizeof(steer_gw_value));
	EXPECT_NE(layout("gateways").value_btf.find("gateway_id@96=u4"), std::string::npos) << layout("gateways").value_btf;
	EXPECT_EQ(layout("frags").type, BPF_MAP_TYPE_LRU_HASH);
	EXPECT_EQ(layout("returns").key_btf, "u4");
	EXPECT_FALSE(std::filesystem::exists(pin_path("stats_old"))) << "the old counters' pin is removed";

	EXPECT_EQ(gateway_id(), 1u) << "ids are never read from a gateways map of another layout";
	ClassCounters carried = counters();
	EXPECT_EQ(carried[STEER_CLASS_ESP].packets, 30u);
	EXPECT_EQ(carried[STEER_CLASS_ESP].bytes, 3000u);
	EXPECT_TRUE(esp_steered(1));
	EXPECT_EQ(counters()[STEER_CLASS_ESP].packets, 31u);

	UpRun again = run_up(STEER_BINARY);
	ASSERT_EQ(again.exit_code, 0) << again.output;
	EXPECT_EQ(again.output.find("replacing"), std::string::npos) << again.output;
	EXPECT_EQ(pinned_map_ids(), ids) << "maps of this build's layout are reused";
	EXPECT_EQ(attached().ingress_id, progs.ingress_id) << "nothing changed: the programs stay";
	EXPECT_EQ(attached().return_id, progs.return_id);
}

// A replacement of the counters interrupted between moving the old map
// aside and copying it: the next `up` finishes it.
TEST_F(MapMigration, InterruptedCounterReplacementIsFinishedByTheNextUp)
{
	write_config();
	UpRun first = run_up(STEER_BINARY);
	ASSERT_EQ(first.exit_code, 0) << first.output;
	pin_old_stats(layout("stats").max_entries);
	ASSERT_EQ(::rename(pin_path("stats").c_str(), pin_path("stats_old").c_str()), 0);
	UpRun r = run_up(STEER_BINARY);
	ASSERT_EQ(r.exit_code, 0) << r.output;
	EXPECT_NE(r.output.find("stats: finishing an interrupted replacement, counters carried over"),
		  std::string::npos) << r.output;
	EXPECT_FALSE(std::filesystem::exists(pin_path("stats_old")));
	EXPECT_EQ(counters()[STEER_CLASS_ESP].packets, 30u);
	EXPECT_TRUE(esp_steered(1));
	EXPECT_EQ(counters()[STEER_CLASS_ESP].packets, 31u);
}

// The replacing `up` fills the new gateways map before the new programs
// take over, so frames keep flowing throughout; stats fits and is kept,
// so its counters stay exact.
TEST_F(MapMigration, ReplacingMapsUnderAnEspStreamLosesNoFrame)
{
	write_config();
	UpRun first = run_up(STEER_BINARY);
	ASSERT_EQ(first.exit_code, 0) << first.output;
	auto rig = rig_stream();
	ASSERT_TRUE(rig.ok()) << rig.error().message();
	EspStream &stream = *rig->stream;
	uint64_t esp0 = counters()[STEER_CLASS_ESP].packets;
	Attached old_progs = attached();
	stream.start();
	ASSERT_TRUE(wait_for([&] { return stream.sent() >= 100'000; }, 10s)) << stream.failure();
	pin_old_gateways();
	swap_pin("frags", plain_map(BPF_MAP_TYPE_HASH, "frags", sizeof(steer_frag_key), sizeof(steer_frag_value),
				    STEER_MAX_FRAGS, 0));
	ASSERT_FALSE(HasFatalFailure());
	UpRun r = run_up(STEER_BINARY);
	ASSERT_EQ(r.exit_code, 0) << r.output;
	EXPECT_NE(r.output.find("gateways does not match this build"), std::string::npos) << r.output;
	EXPECT_NE(attached().ingress_id, old_progs.ingress_id);
	uint64_t after_up = stream.sent();
	ASSERT_TRUE(wait_for([&] { return stream.sent() >= after_up + 100'000; }, 10s)) << stream.failure();
	auto outcome = stop_stream(*rig);
	ASSERT_TRUE(outcome.ok()) << outcome.error().message();

	EXPECT_EQ(stream.failure(), "");
	expect_every_frame_steered(*outcome);
	EXPECT_EQ(counters()[STEER_CLASS_ESP].packets - esp0, outcome->sent) << "stats fitted: kept, exact";
	EXPECT_EQ(gateway_id(), 1u);
}

} // namespace
} // namespace steer::test

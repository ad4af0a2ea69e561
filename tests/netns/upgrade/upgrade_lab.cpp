#include "upgrade_lab.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "netns.hpp"
#include "tc_attach.hpp"
#include "shell.hpp"

namespace steer::test {

namespace {

const char *const map_pins[] = {"gateways", "ports", "stats", "stats_out", "returns", "frags"};

uint32_t map_id(int fd)
{
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// A netdev ingress chain runs after tc ingress: it sees only what the
// programs there did not redirect.
std::string probe_ruleset(const std::string &dev, const std::string &counter, bool drop)
{
	return "table netdev istup_probe {\n\tcounter " + counter +
	       " {}\n\tchain ingress {\n\t\ttype filter hook ingress device \"" + dev +
	       "\" priority 0;\n\t\tip protocol esp ip daddr " + public_address + " counter name \"" +
	       counter + "\"" + (drop ? " drop" : "") + "\n\t}\n}\n";
}

uint32_t filter_prog(const std::string &router, const std::string &ifname)
{
	uint32_t id = 0;
	(void)ns::run_in_netns(router, [&]() -> Status {
		auto q = tc_query(static_cast<int>(::if_nametoindex(ifname.c_str())), TcDirection::ingress);
		id = q && *q ? **q : 0;
		return {};
	});
	return id;
}

} // namespace


bool wait_for(const std::function<bool()> &done, std::chrono::seconds timeout)
{
	auto end = std::chrono::steady_clock::now() + timeout;
	while (!done() && std::chrono::steady_clock::now() < end)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	return done();
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void UpgradeLab::SetUp()
{
	STEER_REQUIRE_ROOT();
	ASSERT_TRUE(ns.add("peer").ok());
	ASSERT_TRUE(ns.add("rtr").ok());
	peer = ns.name("peer");
	router = ns.name("rtr");
	gw = "g" + std::to_string(::getpid() % 100000);
	for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
		     {"peer", "link add wan0 type veth peer name pub netns " + router},
		     {"peer", "addr add " + std::string(peer_address) + "/24 dev wan0"},
		     {"peer", "link set wan0 up"},
		     {"rtr", "addr add " + std::string(public_address) + "/24 dev pub"},
		     {"rtr", "link set pub up"}})
		ASSERT_TRUE(ns.ip(role, args).ok()) << args;
	bpffs = "/tmp/" + router + "-bpffs";
	std::filesystem::create_directories(bpffs);
	ASSERT_EQ(::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr), 0) << std::strerror(errno);
	path = "/tmp/" + router + ".toml";
}

void UpgradeLab::TearDown()
{
	if (!path.empty() && std::filesystem::exists(path))
		(void)capture(std::string(STEER_BINARY) + " down -c " + path);
	if (!gw.empty())
		lab::delete_netns(gw);
	if (!bpffs.empty()) {
		::umount2(bpffs.c_str(), MNT_DETACH);
		::rmdir(bpffs.c_str());
	}
	if (!path.empty())
		std::filesystem::remove(path);
}

void UpgradeLab::write_config() const
{
	std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[[gateway]]\nname = \"" << gw
			    << "\"\npublic_interface = \"pub\"\npublic_address = \"" << public_address
			    << "\"\nrouter_netns = \"" << router << "\"\n";
}

UpRun UpgradeLab::run_up(const char *binary) const
{
	UpRun r;
	FILE *p = ::popen((std::string(binary) + " up -c " + path + " 2>&1").c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	while (std::fgets(buf, sizeof(buf), p))
		r.output += buf;
	int status = ::pclose(p);
	r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return r;
}

std::string UpgradeLab::pin_path(const std::string &name) const
{
	return bpffs + "/ipsec-steer/" + router + "/" + name;
}

Fd UpgradeLab::pinned(const std::string &name) const
{
	return Fd(bpf_obj_get(pin_path(name).c_str()));
}

std::map<std::string, uint32_t> UpgradeLab::pinned_map_ids() const
{
	std::map<std::string, uint32_t> ids;
	for (const char *name : map_pins)
		ids[name] = map_id(pinned(name).get());
	return ids;
}

Attached UpgradeLab::attached() const
{
	return {filter_prog(router, "pub"), filter_prog(router, "ist-" + gw)};
}

uint32_t UpgradeLab::gateway_id() const
{
	Fd fd = pinned("gateways");
	auto entries = dump_gateways(fd.get());
	return entries && entries->size() == 1 ? entries->front().value.gateway_id : 0;
}

ClassCounters UpgradeLab::counters(const std::string &map) const
{
	Fd fd = pinned(map);
	auto c = read_counters(fd.get(), gateway_id());
	EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message());
	return c ? *c : ClassCounters{};
}

Bytes UpgradeLab::esp_frame(uint32_t seq, size_t *seq_offset) const
{
	auto pub_mac = lab::mac_of(router, "pub");
	auto peer_mac = lab::mac_of(peer, "wan0");
	EthOptions e;
	if (pub_mac && peer_mac) {
		std::copy_n(pub_mac->begin(), 6, e.dst.begin());
		std::copy_n(peer_mac->begin(), 6, e.src.begin());
	}
	BuiltFrame f = PacketBuilder().eth(e).ipv4(peer_address, public_address).esp(0x1000, seq, 64).build_layers();
	if (seq_offset)
		*seq_offset = f.find(LayerKind::esp)->offset + 4;
	return f.bytes;
}

Status UpgradeLab::install_probes() const
{
	if (Status st = nft_in(router, probe_ruleset("pub", "esp_not_steered", false)); !st)
		return st;
	return nft_in(gw, probe_ruleset("eth0", "esp_in", true));
}

Result<StreamRig> UpgradeLab::rig_stream() const
{
	if (Status st = install_probes(); !st)
		return st.error();
	StreamRig rig;
	auto tap = EspTap::open(gw, "eth0", inet_addr(public_address), 50);
	if (!tap)
		return tap.error();
	rig.tap = std::move(*tap);
	size_t seq_offset = 0;
	Bytes frame = esp_frame(1, &seq_offset);
	rig.frame_size = frame.size();
	auto stream = EspStream::open(peer, "wan0", std::move(frame), seq_offset);
	if (!stream)
		return stream.error();
	rig.stream = std::move(*stream);
	return rig;
}

Result<StreamOutcome> UpgradeLab::stop_stream(StreamRig &rig) const
{
	rig.stream->stop();
	// The path is synchronous (veth -> softirq -> redirect); this is slack.
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	StreamOutcome o;
	o.sent = rig.stream->sent();
	auto tapped = rig.tap.take_count();
	auto arrived = nft_counter(gw, "netdev", "istup_probe", "esp_in");
	auto not_steered = nft_counter(router, "netdev", "istup_probe", "esp_not_steered");
	if (!tapped || !arrived || !not_steered)
		return !tapped ? tapped.error() : !arrived ? arrived.error() : not_steered.error();
	o.tapped = *tapped;
	o.arrived = *arrived;
	o.not_steered = *not_steered;
	return o;
}

void expect_every_frame_steered(const StreamOutcome &o)
{
	EXPECT_EQ(o.tapped, o.sent) << "frames that reached the gateway namespace (AF_PACKET)";
	EXPECT_EQ(o.arrived, o.sent) << "frames that reached the gateway namespace (nft)";
	EXPECT_EQ(o.not_steered, 0u) << "frames left to the router";
}

std::string prog_tag(uint32_t prog_id)
{
	Fd fd(bpf_prog_get_fd_by_id(prog_id));
	bpf_prog_info info{};
	uint32_t len = sizeof(info);
	if (!fd.valid() || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
		return "";
	char hex[2 * sizeof(info.tag) + 1];
	for (size_t i = 0; i < sizeof(info.tag); i++)
		std::snprintf(hex + 2 * i, 3, "%02x", info.tag[i]);
	return hex;
}

Status nft_in(const std::string &netns, const std::string &ruleset)
{
	std::string file = "/tmp/" + netns + "-probe.nft";
	std::ofstream(file) << ruleset;
	Status st = lab::sh("ip netns exec " + netns + " nft -f " + file);
	std::filesystem::remove(file);
	return st;
}

Result<uint64_t> nft_counter(const std::string &netns, const std::string &family, const std::string &table,
			     const std::string &name)
{
	std::string out = capture("ip netns exec " + netns + " nft -j list counter " + family + " " + table + " " + name);
	auto doc = nlohmann::json::parse(out, nullptr, false);
	if (doc.is_discarded() || !doc.contains("nftables"))
		return plain_error("nft counter " + name + ": " + out);
	for (const auto &item : doc["nftables"])
		if (item.contains("counter"))
			return item["counter"]["packets"].get<uint64_t>();
	return plain_error("nft counter " + name + " missing: " + out);
}

uint64_t softnet_dropped()
{
	std::ifstream in("/proc/net/softnet_stat");
	std::string line;
	uint64_t sum = 0;
	while (std::getline(in, line)) {
		std::istringstream cols(line);
		std::string processed, dropped;
		cols >> processed >> dropped;
		sum += std::stoull(dropped, nullptr, 16);
	}
	return sum;
}

uint64_t link_dropped(const std::string &netns, const std::string &ifname)
{
	auto doc = nlohmann::json::parse(capture("ip -n " + netns + " -s -j link show dev " + ifname), nullptr, false);
	if (doc.is_discarded() || doc.empty() || !doc[0].contains("stats64"))
		return UINT64_MAX; // unreadable: never equal to the 0 a test expects
	const auto &s = doc[0]["stats64"];
	return s["rx"]["dropped"].get<uint64_t>() + s["tx"]["dropped"].get<uint64_t>();
}

} // namespace steer::test

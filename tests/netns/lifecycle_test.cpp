// `up`, `up` again, `status`, `down`, `down --all` against the kernel.
//
//   peer ns                 router ns (router_netns)            gateway ns <gw>
//   wan0 203.0.113.2/24 --- pub 203.0.113.1/24 (P)
//                           [tc ingress: ist_ingress]
//                           ist-<gw> 169.254.x.1/30 ---------- eth0 MAC of pub
//                           [tc ingress: ist_return]           P/32, 169.254.x.2/30
//                           rule from 10.1.0.0/24 to 10.2.0.0/24 lookup <table>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "lab.hpp"
#include "packet_builder.hpp"
#include "plan.hpp"
#include "reconcile.hpp"
#include "tc_attach.hpp"
#include "shell.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;


class Lifecycle : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		ASSERT_TRUE(ns.add("peer").ok());
		ASSERT_TRUE(ns.add("rtr").ok());
		router = ns.name("rtr");
		gw = "g" + std::to_string(::getpid() % 100000);
		for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
			     {"peer", "link add wan0 type veth peer name pub netns " + router},
			     {"peer", "addr add 203.0.113.2/24 dev wan0"},
			     {"peer", "link set wan0 up"},
			     {"rtr", "addr add 203.0.113.1/24 dev pub"},
			     {"rtr", "link set pub up"}})
			ASSERT_TRUE(ns.ip(role, args).ok()) << args;
		bpffs = "/tmp/" + router + "-bpffs";
		std::filesystem::create_directories(bpffs);
		ASSERT_EQ(::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr), 0);
		path = "/tmp/" + router + ".toml";
	}
	void TearDown() override
	{
		if (!cfg.path.empty())
			(void)down(cfg, false);
		lab::delete_netns(gw);
		if (!bpffs.empty()) {
			::umount2(bpffs.c_str(), MNT_DETACH);
			::rmdir(bpffs.c_str());
		}
		std::filesystem::remove(path);
	}
	config::Config write_config(const std::string &extra = "")
	{
		std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[[gateway]]\nname = \"" << gw
				    << "\"\npublic_interface = \"pub\"\npublic_address = \"203.0.113.1\"\n"
				    << "router_netns = \"" << router << "\"\n"
				    << "routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n"
				    << extra;
		auto c = config::load(path);
		EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message());
		cfg = c ? *c : config::Config{};
		return cfg;
	}
	// Everything of ours the kernel can show, as text.
	std::string state() const
	{
		std::string s;
		for (const std::string &n : {router, gw})
			for (const char *cmd : {"-d link", "addr", "route show table all", "rule", "neigh"})
				s += capture("ip -n " + n + " " + cmd);
		s += capture("tc -n " + router + " filter show dev pub ingress");
		s += capture("tc -n " + router + " filter show dev ist-" + gw + " ingress");
		s += capture("ls " + bpffs + "/ipsec-steer/" + router);
		s += capture("bpftool map dump pinned " + bpffs + "/ipsec-steer/" + router + "/gateways");
		return s;
	}

	lab::Namespaces ns{"istlc"};
	std::string router, gw, bpffs, path;
	config::Config cfg;
};

TEST_F(Lifecycle, UpBuildsEveryObject)
{
	write_config();
	Status st = up(cfg);
	ASSERT_TRUE(st.ok()) << st.error().message();
	std::string link = capture("ip -n " + gw + " -d link show eth0");
	std::string pub = capture("ip -n " + router + " link show pub");
	std::string pub_mac = pub.substr(pub.find("link/ether ") + 11, 17);
	EXPECT_NE(link.find(pub_mac), std::string::npos) << link;
	EXPECT_NE(link.find("alias ipsec-steer:" + gw), std::string::npos) << link;
	std::string addrs = capture("ip -n " + gw + " addr show eth0");
	EXPECT_NE(addrs.find("203.0.113.1/32"), std::string::npos) << addrs;
	EXPECT_NE(capture("ip -n " + gw + " neigh").find("PERMANENT"), std::string::npos);
	std::string routes = capture("ip -n " + gw + " route");
	EXPECT_NE(routes.find("default via 169.254."), std::string::npos) << routes;
	EXPECT_NE(routes.find("10.1.0.0/24 via 169.254."), std::string::npos) << routes;
	EXPECT_NE(routes.find(" src 169.254."), std::string::npos) << routes;
	std::string rules = capture("ip -n " + router + " rule");
	EXPECT_NE(rules.find("from 10.1.0.0/24 to 10.2.0.0/24 lookup"), std::string::npos) << rules;
	EXPECT_NE(capture("tc -n " + router + " filter show dev pub ingress").find("ist_ingress"),
		  std::string::npos);
	EXPECT_NE(capture("tc -n " + router + " filter show dev ist-" + gw + " ingress").find("ist_return"),
		  std::string::npos);
	std::string dump = capture("bpftool map dump pinned " + bpffs + "/ipsec-steer/" + router + "/gateways");
	EXPECT_NE(dump.find("\"gateway_id\": 1"), std::string::npos) << dump;
}

TEST_F(Lifecycle, UpTwiceChangesNothing)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	std::string first = state();
	ASSERT_TRUE(up(cfg).ok());
	EXPECT_EQ(state(), first);
}

TEST_F(Lifecycle, SteeredFramesReachTheGatewayNamespace)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	auto peer = lab::PacketSocket::open(ns.name("peer"), "wan0");
	auto inside = lab::PacketSocket::open(gw, "eth0");
	auto mac = lab::mac_of(router, "pub");
	ASSERT_TRUE(peer && inside && mac);
	EthOptions e;
	std::copy_n(mac->begin(), 6, e.dst.begin());
	Bytes esp = PacketBuilder().eth(e).ipv4("203.0.113.2", "203.0.113.1").esp(0x1234, 1).build();
	Bytes tcp = PacketBuilder().eth(e).ipv4("203.0.113.2", "203.0.113.1").tcp({1000, 22}).build();
	ASSERT_TRUE(peer->send(esp).ok());
	ASSERT_TRUE(peer->send(tcp).ok());
	auto got = inside->drain(300ms);
	EXPECT_NE(std::find(got.begin(), got.end(), esp), got.end());
	EXPECT_EQ(std::find(got.begin(), got.end(), tcp), got.end());
	// The counters, as each output format of `stats` reports them.
	std::string json = capture(std::string(STEER_BINARY) + " stats --json -c " + path);
	auto doc = nlohmann::json::parse(json, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << json;
	EXPECT_EQ(doc["gateways"][0]["in"]["esp"]["packets"], 1) << json;
	EXPECT_EQ(doc["gateways"][0]["in"]["esp"]["bytes"], esp.size()) << json;
	EXPECT_EQ(doc["gateways"][0]["in"]["passed"]["packets"], 0) << "tcp is not even a candidate";
	std::string prom = capture(std::string(STEER_BINARY) + " stats --prometheus -c " + path);
	EXPECT_NE(prom.find("ipsec_steer_packets_total{gateway=\"" + gw +
			    "\",class=\"esp\",direction=\"in\"} 1"), std::string::npos) << prom;
	std::string table = capture(std::string(STEER_BINARY) + " stats -c " + path);
	EXPECT_NE(table.find("esp"), std::string::npos) << table;
}

TEST_F(Lifecycle, TwoUpsAtOnceSerializeAndBothSucceed)
{
	write_config();
	const std::string up_cmd = std::string(STEER_BINARY) + " up -c " + path;
	FILE *a = ::popen(up_cmd.c_str(), "r");
	FILE *b = ::popen(up_cmd.c_str(), "r");
	ASSERT_TRUE(a && b);
	EXPECT_EQ(WEXITSTATUS(::pclose(a)), 0);
	EXPECT_EQ(WEXITSTATUS(::pclose(b)), 0);
	std::string status = capture(std::string(STEER_BINARY) + " status -c " + path);
	EXPECT_NE(status.find("healthy"), std::string::npos) << status;
	EXPECT_EQ(status.find("UNHEALTHY"), std::string::npos) << status;
}

TEST_F(Lifecycle, DownLeavesNothing)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	ASSERT_TRUE(down(cfg, false).ok());
	EXPECT_FALSE(std::filesystem::exists("/run/netns/" + gw));
	EXPECT_EQ(capture("ip -n " + router + " link show ist-" + gw).find("ist-" + gw + "@"), std::string::npos);
	EXPECT_EQ(capture("ip -n " + router + " rule").find(std::to_string(rule_priority) + ":"), std::string::npos);
	EXPECT_EQ(capture("ip -n " + router + " route show table all proto 87"), "");
	EXPECT_EQ(capture("tc -n " + router + " filter show dev pub ingress").find("ist_ingress"),
		  std::string::npos);
	EXPECT_FALSE(std::filesystem::exists(bpffs + "/ipsec-steer/" + router));
	EXPECT_EQ(capture("tc -n " + router + " qdisc show dev pub").find("clsact"), std::string::npos);
	EXPECT_TRUE(down(cfg, false).ok()) << "down of nothing succeeds";
}

TEST_F(Lifecycle, OtherToolsFiltersSurviveUpAndDown)
{
	ASSERT_TRUE(lab::sh("tc -n " + router + " qdisc add dev pub clsact").ok());
	ASSERT_TRUE(lab::sh("tc -n " + router + " filter add dev pub ingress pref 7 protocol ip u32 "
			    "match ip dst 192.0.2.99/32").ok());
	const std::string theirs = capture("tc -n " + router + " filter show dev pub ingress pref 7");
	ASSERT_NE(theirs, "");
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	std::string both = capture("tc -n " + router + " filter show dev pub ingress");
	EXPECT_NE(both.find("ist_ingress"), std::string::npos) << both;
	EXPECT_NE(both.find("pref 7 u32"), std::string::npos) << both;
	ASSERT_TRUE(down(cfg, false).ok());
	EXPECT_EQ(capture("tc -n " + router + " filter show dev pub ingress pref 7"), theirs);
	EXPECT_NE(capture("tc -n " + router + " qdisc show dev pub").find("clsact"), std::string::npos);
}

TEST_F(Lifecycle, DownAllFindsOwnedObjectsWithoutTheConfig)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	config::Config empty;
	empty.bpffs = cfg.bpffs;
	ASSERT_TRUE(down(empty, true).ok());
	EXPECT_FALSE(std::filesystem::exists("/run/netns/" + gw));
	EXPECT_EQ(capture("ip -n " + router + " route show table all proto 87"), "");
	EXPECT_FALSE(std::filesystem::exists(bpffs + "/ipsec-steer/" + router));
}

TEST_F(Lifecycle, UpRemovesGatewaysTheConfigNoLongerNames)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	std::string other = gw;
	gw = gw + "b";
	write_config(); // the same public address under a new name
	ASSERT_TRUE(up(cfg).ok());
	EXPECT_FALSE(std::filesystem::exists("/run/netns/" + other));
	EXPECT_TRUE(std::filesystem::exists("/run/netns/" + gw));
	lab::delete_netns(other);
}

TEST_F(Lifecycle, UpWithNoGatewaysLeftRemovesTheRouterNamespacesObjects)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	config::Config none;
	none.bpffs = cfg.bpffs;
	ASSERT_TRUE(up(none).ok());
	EXPECT_FALSE(std::filesystem::exists("/run/netns/" + gw));
	EXPECT_EQ(capture("ip -n " + router + " route show table all proto 87"), "");
	EXPECT_EQ(capture("tc -n " + router + " filter show dev pub ingress"), "");
	EXPECT_FALSE(std::filesystem::exists(bpffs + "/ipsec-steer/" + router));
}

TEST_F(Lifecycle, ChangedMacAndLostNeighbourAreRepaired)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	ASSERT_TRUE(lab::sh("ip -n " + gw + " link set eth0 address 02:11:22:33:44:55").ok());
	ASSERT_TRUE(lab::sh("ip -n " + gw + " neigh flush all nud permanent").ok());
	ASSERT_TRUE(up(cfg).ok());
	std::string pub = capture("ip -n " + router + " link show pub");
	EXPECT_NE(capture("ip -n " + gw + " link show eth0").find(pub.substr(pub.find("link/ether ") + 11, 17)),
		  std::string::npos);
	EXPECT_NE(capture("ip -n " + gw + " neigh").find("PERMANENT"), std::string::npos);
}

TEST_F(Lifecycle, UpRebuildsANamespaceDeletedUnderneath)
{
	write_config();
	ASSERT_TRUE(up(cfg).ok());
	ASSERT_TRUE(lab::sh("ip netns del " + gw).ok());
	ASSERT_TRUE(up(cfg).ok());
	std::string status = capture(std::string(STEER_BINARY) + " status --json -c " + path);
	auto doc = nlohmann::json::parse(status, nullptr, false);
	ASSERT_FALSE(doc.is_discarded()) << status;
	EXPECT_EQ(doc["gateways"][0]["healthy"], true) << status;
	EXPECT_EQ(doc["gateways"][0]["target_ok"], true) << status;
}

TEST_F(Lifecycle, GatewayFirewallLivesInsideTheGatewayNamespace)
{
	write_config("[gateway.firewall]\nipsec_only = [\"udp/8472\"]\n");
	ASSERT_TRUE(up(cfg).ok());
	std::string table = capture("ip netns exec " + gw + " nft list table inet ipsec_steer");
	EXPECT_NE(table.find("udp dport 8472 meta ipsec exists counter packets 0 bytes 0 accept"), std::string::npos) << table;
	EXPECT_NE(table.find("udp dport 8472"), std::string::npos) << table;
	EXPECT_EQ(capture("ip netns exec " + router + " nft list tables"), "");
	std::string status = capture(std::string(STEER_BINARY) + " status -c " + path);
	EXPECT_NE(status.find("healthy"), std::string::npos) << status;
	ASSERT_TRUE(lab::sh("ip netns exec " + gw + " nft delete table inet ipsec_steer").ok());
	status = capture(std::string(STEER_BINARY) + " status -c " + path);
	EXPECT_NE(status.find("nft table inet ipsec_steer missing"), std::string::npos) << status;
	ASSERT_TRUE(up(cfg).ok());
	EXPECT_NE(capture("ip netns exec " + gw + " nft list tables").find("ipsec_steer"), std::string::npos);
}

// [firewall] belongs to the namespace the tool runs in: run the binary in
// the router namespace so the test never touches the root namespace's nft.
TEST_F(Lifecycle, HostFirewallIsAppliedAndRemovedByTheBinary)
{
	std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[firewall]\n"
			    << "ipsec_only = [\"udp/8472\"]\n"
			    << "masquerade = [ { source = \"172.16.1.0/24\", not_out_interface = \"docker0\" } ]\n";
	const std::string in_router = "ip netns exec " + router + " " + STEER_BINARY;
	ASSERT_TRUE(lab::sh(in_router + " up -c " + path).ok());
	std::string table = capture("ip netns exec " + router + " nft list table inet ipsec_steer");
	EXPECT_NE(table.find("rt ipsec missing"), std::string::npos) << table;
	EXPECT_NE(table.find("masquerade"), std::string::npos) << table;
	EXPECT_NE(table.find("comment \"ipsec-steer\""), std::string::npos) << table;
	ASSERT_TRUE(lab::sh(in_router + " up -c " + path).ok());
	EXPECT_EQ(capture("ip netns exec " + router + " nft list table inet ipsec_steer"), table);
	ASSERT_TRUE(lab::sh(in_router + " down -c " + path).ok());
	EXPECT_EQ(capture("ip netns exec " + router + " nft list tables"), "");
}

// A valid config the machine does not match: an environment fault (exit 1,
// still FILE:LINE:COL at the value), as netns_envfault checks in full.
TEST_F(Lifecycle, AddressNotOnTheInterfaceIsRefusedAndTouchesNothing)
{
	std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[[gateway]]\nname = \"" << gw
			    << "\"\npublic_interface = \"pub\"\npublic_address = \"203.0.113.77\"\n"
			    << "router_netns = \"" << router << "\"\n";
	FILE *p = ::popen((std::string(STEER_BINARY) + " up -c " + path + " 2>&1").c_str(), "r");
	std::string out;
	char buf[512];
	while (std::fgets(buf, sizeof(buf), p))
		out += buf;
	int rc = ::pclose(p);
	EXPECT_EQ(WEXITSTATUS(rc), 1) << out;
	EXPECT_NE(out.find(path + ":5:18: public_address 203.0.113.77 is not an address of pub"), std::string::npos) << out;
	EXPECT_FALSE(std::filesystem::exists("/run/netns/" + gw));
	EXPECT_EQ(capture("ip -n " + router + " route show table all proto 87"), "");
	EXPECT_EQ(capture("ip -n " + router + " rule").find(std::to_string(rule_priority) + ":"), std::string::npos);
	EXPECT_EQ(capture("tc -n " + router + " filter show dev pub ingress"), "");
	EXPECT_FALSE(std::filesystem::exists(bpffs + "/ipsec-steer"));
}

} // namespace
} // namespace steer::test

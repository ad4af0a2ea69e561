// The ruleset reader and `ipsec-steer check` against real rulesets.
//
//   root namespace        never touched: every nft/iptables command and every
//                         `check` runs inside the namespaces below
//   istchk<pid>           lo + veth `pub` (203.0.113.1/24); rules loaded with
//                         `nft -f` and `iptables-nft`; `check` runs here
//   ichk<pid>             a gateway namespace of the config (its name)
//
// check finds the seed's docker rule installed with iptables-nft and an
// unprotected VXLAN accept inside a gateway namespace (exit 1, the rule and
// the fix shown), and stays quiet once the exemption is added or on a
// clean namespace. The feature probe commits nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "fd.hpp"
#include "netns_util.hpp"
#include "inspect.hpp"
#include "transport.hpp"

namespace steer::nft {
namespace {

using namespace test_util;





#define SKIP_OR_FAIL(why)                                                          \
	do {                                                                       \
		if (ci_mode())                                                     \
			FAIL() << why << " (CI=true forbids skipping)";            \
		GTEST_SKIP() << why;                                               \
	} while (0)

class InspectNetns : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0)
			SKIP_OR_FAIL("needs root: network namespaces and nf_tables");
		if (sh("nft --version").rc != 0)
			SKIP_OR_FAIL("needs the nft binary (tests only) to load rules");
		const std::string id = std::to_string(::getpid());
		ns = "istchk" + id;
		gw = "ichk" + std::to_string(::getpid() % 100000);
		sh("ip netns del " + ns);  // leftovers of a killed run
		sh("ip netns del " + gw);
		Cmd add = sh("ip netns add " + ns);
		ASSERT_EQ(add.rc, 0) << add.out;
		created = true;
		// A veth pair: this kernel may lack the dummy driver.
		ASSERT_EQ(in(ns, "ip link add pub type veth peer name pubpeer").rc, 0);
		ASSERT_EQ(in(ns, "ip addr add 203.0.113.1/24 dev pub").rc, 0);
		ASSERT_EQ(in(ns, "ip link set pub up").rc, 0);
		dir = "/tmp/" + ns;
		std::filesystem::create_directories(dir + "/bpffs");
		ASSERT_EQ(::mount("bpf", (dir + "/bpffs").c_str(), "bpf", 0, nullptr), 0);
		mounted = true;
	}
	void TearDown() override
	{
		if (created) {
			EXPECT_EQ(sh("ip netns del " + ns).rc, 0);
			sh("ip netns del " + gw);
		}
		if (mounted)
			::umount2((dir + "/bpffs").c_str(), MNT_DETACH);
		if (!dir.empty())
			std::filesystem::remove_all(dir);
	}

	static Cmd in(const std::string &netns, const std::string &cmd)
	{
		return sh("ip netns exec " + netns + " " + cmd);
	}
	void need_iptables_nft()
	{
		if (sh("iptables-nft --version").rc != 0)
			SKIP_OR_FAIL("needs iptables-nft (Debian package iptables) to write the seed's rules");
	}
	// A config file; its bpffs is the private mount.
	std::string config(const std::string &body) const
	{
		const std::string path = dir + "/ipsec-steer.toml";
		std::ofstream(path) << "bpffs = \"" << dir << "/bpffs/ipsec-steer\"\n" << body;
		return path;
	}
	Cmd check(const std::string &cfg) const { return in(ns, std::string(STEER_BINARY) + " check -c " + cfg); }

	std::string ns, gw, dir;
	bool created = false, mounted = false;
};

const char *const docker_rule = "-s 172.16.1.0/24 ! -o docker0 -j MASQUERADE";
const char *const docker_fixed = "-m policy --dir out --pol none -s 172.16.1.0/24 ! -o docker0 -j MASQUERADE";

TEST_F(InspectNetns, ReadsTheRulesNftLoaded)
{
	const std::string file = dir + "/rules.nft";
	std::ofstream(file) << "table inet t {\n"
			       "\tchain post { type nat hook postrouting priority srcnat; policy accept;\n"
			       "\t\tip saddr 10.0.0.0/8 rt ipsec missing masquerade\n"
			       "\t\tip6 saddr fd00::/8 oifname != \"wg0\" masquerade\n\t}\n"
			       "\tchain in { type filter hook input priority filter; policy accept;\n"
			       "\t\tudp dport { 500, 4500, 8472 } accept\n"
			       "\t\tmeta ipsec exists udp dport 8472 counter accept\n\t}\n}\n";
	Cmd load = in(ns, "nft -f " + file);
	ASSERT_EQ(load.rc, 0) << load.out;
	LiveRuleset rs;
	Status st = in_ns(ns, [&]() -> Status {
		auto got = read_ruleset();
		if (!got)
			return got.error();
		rs = *got;
		return {};
	});
	ASSERT_TRUE(st.ok()) << st.error().message();
	std::vector<std::string> texts;
	for (const auto &r : rs.rules)
		texts.push_back(r.text);
	EXPECT_EQ(texts, (std::vector<std::string>{"ip saddr 10.0.0.0/8 rt ipsec missing masquerade",
				 "ip6 saddr fd00::/8 oifname != \"wg0\" masquerade",
				 "udp dport { 500, 4500, 8472 } accept", "meta ipsec exists udp dport 8472 counter accept"}));
	EXPECT_EQ(rs.chains.size(), 2u);
	auto nat = audit_nat(rs);
	ASSERT_EQ(nat.size(), 1u);
	EXPECT_NE(nat[0].rule.find("table inet t chain post handle "), std::string::npos) << nat[0].rule;
	auto accepts = audit_ipsec_only(rs, {*config::parse_service("udp/8472")});
	ASSERT_EQ(accepts.size(), 1u);
	EXPECT_NE(accepts[0].rule.find("udp dport { 500, 4500, 8472 } accept"), std::string::npos);
}

// The probe answers what nft itself can load, and leaves the ruleset and
// its generation exactly as they were: the batch aborts, nothing commits.
TEST_F(InspectNetns, TheFeatureProbeCommitsNothing)
{
	ASSERT_EQ(in(ns, "nft add table inet keep").rc, 0);
	const std::string before = in(ns, "nft list ruleset").out;
	// What nft itself can load (one command per `in`: a shell `&&` would
	// run the second one in the root namespace).
	ASSERT_EQ(in(ns, "nft 'add chain inet keep i { type filter hook input priority 0; }'").rc, 0);
	ASSERT_EQ(in(ns, "nft 'add chain inet keep o { type filter hook output priority 0; }'").rc, 0);
	const bool nft_meta = in(ns, "nft add rule inet keep i meta ipsec exists accept").rc == 0;
	const bool nft_rt = in(ns, "nft add rule inet keep o rt ipsec missing accept").rc == 0;
	ASSERT_EQ(in(ns, "nft flush chain inet keep i").rc, 0);
	ASSERT_EQ(in(ns, "nft flush chain inet keep o").rc, 0);
	ASSERT_EQ(in(ns, "nft delete chain inet keep i").rc, 0);
	ASSERT_EQ(in(ns, "nft delete chain inet keep o").rc, 0);
	ASSERT_EQ(in(ns, "nft list ruleset").out, before);
	uint32_t gen_before = 0, gen_after = 0;
	Features f;
	Status st = in_ns(ns, [&]() -> Status {
		auto t = Transport::open();
		if (!t)
			return t.error();
		auto g = t->generation();
		if (!g)
			return g.error();
		gen_before = *g;
		auto got = probe_features();
		if (!got)
			return got.error();
		f = *got;
		g = t->generation();
		if (!g)
			return g.error();
		gen_after = *g;
		return {};
	});
	ASSERT_TRUE(st.ok()) << st.error().message();
	EXPECT_EQ(f.meta_ipsec, nft_meta);
	EXPECT_EQ(f.rt_ipsec, nft_rt);
	EXPECT_EQ(gen_after, gen_before);
	EXPECT_EQ(in(ns, "nft list ruleset").out, before);
}

TEST_F(InspectNetns, CheckIsQuietOnACleanNamespace)
{
	Cmd c = check(config("[firewall]\nipsec_only = [\"udp/8472\"]\n"));
	EXPECT_EQ(c.rc, 0) << c.out;
	EXPECT_NE(c.out.find(": ok"), std::string::npos) << c.out;
}

TEST_F(InspectNetns, CheckFindsTheSeedsDockerRuleWrittenByIptablesNft)
{
	need_iptables_nft();
	const std::string cfg = config("[firewall]\nipsec_only = [\"udp/8472\"]\n");
	Cmd add = in(ns, std::string("iptables-nft -t nat -A POSTROUTING ") + docker_rule);
	ASSERT_EQ(add.rc, 0) << add.out;
	Cmd c = check(cfg);
	EXPECT_EQ(c.rc, 1) << c.out;
	EXPECT_NE(c.out.find("problem: masquerade rule would rewrite IPsec-bound traffic"), std::string::npos) << c.out;
	EXPECT_NE(c.out.find("  rule: table ip nat chain POSTROUTING handle "), std::string::npos) << c.out;
	EXPECT_NE(c.out.find("oifname != \"docker0\" ip saddr 172.16.1.0/24 counter masquerade"), std::string::npos)
		<< c.out;
	EXPECT_NE(c.out.find("  fix: add \"rt ipsec missing\" (nft) or \"-m policy --dir out --pol none\" (iptables)"),
		std::string::npos) << c.out;

	// The seed's fix: the same rule behind `-m policy --dir out --pol none`.
	ASSERT_EQ(in(ns, std::string("iptables-nft -t nat -D POSTROUTING ") + docker_rule).rc, 0);
	ASSERT_EQ(in(ns, std::string("iptables-nft -t nat -I POSTROUTING ") + docker_fixed).rc, 0);
	c = check(cfg);
	EXPECT_EQ(c.rc, 0) << c.out;
	EXPECT_EQ(c.out.find("problem:"), std::string::npos) << c.out;
}

TEST_F(InspectNetns, CheckFindsAnUnprotectedAcceptInAGatewayNamespace)
{
	need_iptables_nft();
	ASSERT_EQ(sh("ip netns add " + gw).rc, 0);
	ASSERT_EQ(in(gw, "iptables-nft -A INPUT -p udp --dport 8472 -j ACCEPT").rc, 0);
	const std::string cfg = config("[[gateway]]\nname = \"" + gw +
		"\"\npublic_interface = \"pub\"\npublic_address = \"203.0.113.1\"\n"
		"routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n"
		"[gateway.firewall]\nipsec_only = [\"udp/8472\"]\n");
	Cmd c = check(cfg);
	EXPECT_EQ(c.rc, 1) << c.out;
	EXPECT_NE(c.out.find("problem: rule accepts udp/8472 (ipsec_only) without requiring IPsec"),
		std::string::npos) << c.out;
	EXPECT_NE(c.out.find("(in namespace " + gw + ")"), std::string::npos) << c.out;
	EXPECT_NE(c.out.find("  rule: table ip filter chain INPUT handle "), std::string::npos) << c.out;
	EXPECT_NE(c.out.find("udp dport 8472 counter accept"), std::string::npos) << c.out;

	ASSERT_EQ(in(gw, "iptables-nft -D INPUT -p udp --dport 8472 -j ACCEPT").rc, 0);
	ASSERT_EQ(in(gw, "iptables-nft -A INPUT -p udp --dport 8472 -m policy --pol ipsec --dir in -j ACCEPT").rc, 0);
	c = check(cfg);
	EXPECT_EQ(c.rc, 0) << c.out;
}

} // namespace
} // namespace steer::nft

// Crash safety: the binary SIGKILLed at each step of `up` (and of `down`)
// through IPSEC_STEER_CRASH_AT; the next `up` must reach exactly the state
// a clean `up` reaches, and the next `down` must leave nothing.
//
//   peer ns (istcr<pid>-peer)    router ns (istcr<pid>-rtr)             gateway ns c<pid>a
//   wan0 203.0.113.2/24 -------- pub 203.0.113.1/24 (P4)
//        2001:db8:1::2/64             2001:db8:1::1/64 (P6)
//                                [tc ingress: ist_ingress]
//                                ist-c<pid>a 169.254.x.1/30 ----------- eth0 MAC of pub, P4/32
//                                [tc ingress: ist_return]               [nft table ipsec_steer]
//                                rule 10.1.0.0/24 -> 10.2.0.0/24
//                                ist-c<pid>b fdxx::/127 --------------- eth0 MAC of pub, P6/128
//                                [tc ingress: ist_return]               gateway ns c<pid>b
//                                rule 2001:db8:10::/64 -> 2001:db8:20::/64
//
//   pins: a private bpffs mounted at /tmp/istcr<pid>-rtr-bpffs.
//   [firewall] case only: the binary run inside the router namespace.
//
// The topology is built once per suite; every case starts from nothing
// (checked), and a reference snapshot of a clean `up` is taken once. A snapshot is
// the kernel's own listing of everything `up` touches, with only what
// legitimately differs between two runs replaced by names: ifindexes of
// re-created veths, random veth MACs and what derives from them, object
// ids.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crash_run.hpp"
#include "harness.hpp"
#include "lab.hpp"
#include "plan.hpp"

namespace steer::test {
namespace {

// Every crash_point() of `up`, in the order `up` reaches them (the first
// gateway reaches each per-gateway point first). host_nft_batch has its
// own case below.
const std::vector<std::string> up_points = {
	"pin_dir_created", "maps_pinned", "program_pinned_unrenamed", "programs_pinned",
	"netns_created", "veth_created", "gateway_sysctls", "mac_set", "gateway_addresses",
	"neighbour_added", "gateway_default_route", "gateway_nft_batch", "router_address",
	"router_routes", "router_rules", "map_entry_synced", "return_filter_attached",
	"filters_attached", "conntrack_flushed",
};

// Every crash_point() of `down`, in order.
const std::vector<std::string> down_points = {
	"down_unsteered", "down_filters_detached", "gateway_rules_removed",
	"gateway_link_removed", "down_before_pins",
};

// The topology, shared by every case of the suite.
struct Lab {
	lab::Namespaces ns{"istcr"};
	std::string router, gw_a, gw_b, bpffs, config;
	std::string reference;  // snapshot after a clean `up`
	std::string setup_error;
};

std::unique_ptr<Lab> lab_;

std::string tool_path()
{
	return STEER_BINARY;
}

std::string ip_n(const std::string &netns, const std::string &args)
{
	return capture("ip -n " + netns + " " + args);
}

std::string in_ns(const std::string &netns, const std::string &cmd)
{
	return capture("ip netns exec " + netns + " " + cmd);
}

// Text after a line-start ifindex, "@ifN" and netnsid, which differ
// whenever a veth is re-created, replaced by placeholders.
std::string normalise_links(std::string s)
{
	s = std::regex_replace(s, std::regex(R"((^|\n)\d+: )"), "$1N: ");
	s = std::regex_replace(s, std::regex(R"(@if\d+)"), "@ifN");
	s = std::regex_replace(s, std::regex(R"(link-netnsid \d+)"), "link-netnsid N");
	// EUI-64 link-local addresses follow the (random) veth MAC.
	s = std::regex_replace(s, std::regex(R"(fe80::[0-9a-f:]+)"), "fe80::LL");
	// Duplicate address detection of those runs on its own clock: its
	// flag and the local route it adds when done are not ours.
	s = std::regex_replace(s, std::regex(R"(tentative )"), "");
	s = std::regex_replace(s, std::regex(R"((^|\n)(local|anycast) fe80::[^\n]*)"), "");
	return s;
}

// Program and map ids change with every load; tags (the code) do not.
std::string normalise_ids(std::string s)
{
	s = std::regex_replace(s, std::regex(R"(:\[\d+\])"), ":[ID]");
	s = std::regex_replace(s, std::regex(R"(\bid \d+)"), "id ID");
	s = std::regex_replace(s, std::regex(R"re("(program_id|id)": ?\d+)re"), "\"$1\": ID");
	return s;
}

struct Symbols {
	std::map<std::string, std::string> text; // exact text -> its name
	std::map<long, std::string> ifindex;     // ifindex -> its name
};

// The router ends' ifindexes and MACs, which a re-created veth changes.
Symbols router_end_symbols(const Lab &l)
{
	Symbols sym;
	for (const auto &[gw, tag] : {std::pair{l.gw_a, "A"}, std::pair{l.gw_b, "B"}}) {
		std::string link = ip_n(l.router, "-o link show ist-" + gw);
		std::smatch m;
		if (std::regex_search(link, m, std::regex(R"(^(\d+): )")))
			sym.ifindex[std::stol(m[1])] = std::string("IST-") + tag;
		if (std::regex_search(link, m, std::regex(R"(link/ether ([0-9a-f:]{17}))")))
			sym.text[m[1]] = std::string("ISTMAC-") + tag;
	}
	return sym;
}

std::string replace_text(std::string s, const Symbols &sym)
{
	for (const auto &[from, to] : sym.text)
		for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
			s.replace(at, from.size(), to);
	return s;
}

// In bpftool's JSON, ifindex fields that name a router end become its
// symbol; any other number stays, so a stale ifindex shows as a difference.
std::string symbolise_ifindexes(const std::string &s, const Symbols &sym)
{
	static const std::regex field(R"re(("(?:key|target_ifindex|out_ifindex|ifindex)": ?)(\d+))re");
	std::string out;
	auto last = s.cbegin();
	for (std::sregex_iterator it(s.begin(), s.end(), field), end; it != end; ++it) {
		const auto &m = *it;
		out.append(last, m[0].first);
		auto hit = sym.ifindex.find(std::stol(m[2]));
		out += m[1].str() + (hit == sym.ifindex.end() ? m[2].str() : "\"" + hit->second + "\"");
		last = m[0].second;
	}
	out.append(last, s.cend());
	return out;
}

// Listings are sets: their order follows ifindexes (a re-created veth
// comes last), so interfaces' blocks, or lines, are sorted.
std::string sorted_blocks(const std::string &text, bool by_interface)
{
	static const std::regex block_start(R"(^N: )");
	std::vector<std::string> blocks;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);) {
		if (blocks.empty() || !by_interface || std::regex_search(line, block_start))
			blocks.emplace_back();
		blocks.back() += line + "\n";
	}
	std::sort(blocks.begin(), blocks.end());
	std::string out;
	for (const auto &b : blocks)
		out += b;
	return out;
}

std::string ip_listing(const std::string &netns, const Symbols &sym)
{
	std::string s;
	for (const char *cmd : {"-d link", "addr", "route show table all", "-6 route show table all", "rule",
				"-6 rule", "neigh"}) {
		bool per_interface = std::string(cmd) == "-d link" || std::string(cmd) == "addr";
		s += "-- ip " + std::string(cmd) + "\n" +
		     sorted_blocks(normalise_links(replace_text(ip_n(netns, cmd), sym)), per_interface);
	}
	return s;
}

std::string kernel_listing(const Lab &l, const Symbols &sym)
{
	std::string s;
	for (const std::string &n : {l.router, l.gw_a, l.gw_b})
		s += "== " + n + "\n" + ip_listing(n, sym) + "-- nft\n" + in_ns(n, "nft list ruleset");
	for (const std::string &gw : {l.gw_a, l.gw_b})
		s += "-- sysctl " + gw + "\n" +
		     in_ns(gw, "sysctl net.ipv4.ip_forward net.ipv4.conf.all.rp_filter "
			       "net.ipv4.conf.eth0.rp_filter net.ipv6.conf.all.forwarding");
	s += "-- tc\n";
	for (const std::string &dev : {std::string("pub"), "ist-" + l.gw_a, "ist-" + l.gw_b})
		s += capture("tc -n " + l.router + " qdisc show dev " + dev) +
		     capture("tc -n " + l.router + " filter show dev " + dev + " ingress") +
		     capture("tc -n " + l.router + " filter show dev " + dev + " egress");
	return s;
}

// A pinned map's entries (bpftool's BTF-formatted view), one compact JSON
// line each, sorted; callers sort again after naming ifindexes: a hash
// map's iteration order is its seed's and its keys', not ours.
std::vector<std::string> map_entries(const std::string &path)
{
	auto doc = nlohmann::json::parse(capture("bpftool -j map dump pinned " + path), nullptr, false);
	if (doc.is_discarded() || !doc.is_array())
		return {"unreadable: " + path};
	std::vector<std::string> out;
	for (const auto &e : doc)
		if (e.contains("formatted"))
			out.push_back(e["formatted"].dump());
	std::sort(out.begin(), out.end());
	return out;
}

std::string pin_listing(const Lab &l, const Symbols &sym)
{
	const std::string dir = l.bpffs + "/ipsec-steer/" + l.router + "/";
	std::string s = "-- pins\n" + capture("cd " + l.bpffs + " && find . -printf '%M %p\\n' | sort");
	for (const char *map : {"gateways", "returns"}) {
		s += std::string("-- map ") + map + "\n";
		std::vector<std::string> lines;
		for (const auto &e : map_entries(dir + map))
			lines.push_back(symbolise_ifindexes(e, sym));
		std::sort(lines.begin(), lines.end());
		for (const auto &line : lines)
			s += line + "\n";
	}
	// The ports bitmap as its non-zero words: 2048 zeros say nothing. The
	// generation word counts the writes of a history, not the state.
	s += "-- map ports\n";
	const std::string generation = "{\"key\":" + std::to_string(STEER_PORTS_GENERATION) + ",";
	for (const auto &e : map_entries(dir + "ports"))
		if (e.find("\"value\":0}") == std::string::npos && e.rfind(generation, 0) != 0)
			s += e + "\n";
	return s;
}

std::string snapshot(const Lab &l)
{
	Symbols sym = router_end_symbols(l);
	std::string s = kernel_listing(l, sym) + pin_listing(l, sym);
	ToolRun st = run_tool(tool_path(), {"status", "--json", "-c", l.config});
	s += "-- status\n" + symbolise_ifindexes(st.output, sym);
	return normalise_ids(s);
}

// What "down leaves nothing" means (as in lifecycle_test): empty if so.
std::string leftovers(const Lab &l)
{
	std::string left;
	auto expect_none = [&](const std::string &what, const std::string &text) {
		if (!text.empty())
			left += what + ":\n" + text;
	};
	for (const std::string &gw : {l.gw_a, l.gw_b})
		if (std::filesystem::exists("/run/netns/" + gw))
			left += "namespace " + gw + "\n";
	expect_none("links", capture("ip -n " + l.router + " -o link show | grep -e ist- -e ipsec-steer"));
	const std::string prio = std::to_string(rule_priority) + ":";
	expect_none("rules", capture("ip -n " + l.router + " rule | grep " + prio) +
				     capture("ip -n " + l.router + " -6 rule | grep " + prio));
	const std::string proto = " proto " + std::to_string(route_protocol);
	expect_none("routes", ip_n(l.router, "route show table all" + proto) +
				      ip_n(l.router, "-6 route show table all" + proto));
	expect_none("tc", capture("tc -n " + l.router + " filter show dev pub ingress") +
				  capture("tc -n " + l.router + " qdisc show dev pub | grep clsact"));
	expect_none("nft", in_ns(l.router, "nft list ruleset"));
	if (std::filesystem::exists(l.bpffs + "/ipsec-steer"))
		left += "pins:\n" + capture("cd " + l.bpffs + " && find .");
	return left;
}

// Whatever a failed case left, removed without the tool, so one failure
// does not make every later case fail too.
void scrub(const Lab &l)
{
	if (leftovers(l).empty())
		return;
	const std::string ip = "ip -n " + l.router + " ";
	for (const std::string &gw : {l.gw_a, l.gw_b}) {
		lab::delete_netns(gw);
		(void)lab::sh(ip + "link del ist-" + gw + " 2>/dev/null");
	}
	for (const char *family : {"-4", "-6"}) {
		(void)lab::sh(ip + family + " rule flush pref " + std::to_string(rule_priority) + " 2>/dev/null");
		(void)lab::sh(ip + family + " route flush table all proto " + std::to_string(route_protocol) +
			      " 2>/dev/null");
	}
	(void)lab::sh("tc -n " + l.router + " qdisc del dev pub clsact 2>/dev/null");
	(void)lab::sh("ip netns exec " + l.router + " nft flush ruleset");
	std::filesystem::remove_all(l.bpffs + "/ipsec-steer");
}

void write_config(const Lab &l)
{
	std::ofstream(l.config)
		<< "bpffs = \"" << l.bpffs << "/ipsec-steer\"\n"
		<< "[[gateway]]\nname = \"" << l.gw_a << "\"\npublic_interface = \"pub\"\n"
		<< "public_address = \"203.0.113.1\"\nrouter_netns = \"" << l.router << "\"\n"
		<< "routes = [ { local = \"10.1.0.0/24\", remote = \"10.2.0.0/24\" } ]\n"
		<< "[gateway.firewall]\nipsec_only = [\"udp/8472\"]\n"
		<< "[[gateway]]\nname = \"" << l.gw_b << "\"\npublic_interface = \"pub\"\n"
		<< "public_address = \"2001:db8:1::1\"\nrouter_netns = \"" << l.router << "\"\n"
		<< "steer = [\"esp\", \"ah\", \"ike\", \"nat-t\", \"icmp\", \"fragments\"]\n"
		<< "routes = [ { local = \"2001:db8:10::/64\", remote = \"2001:db8:20::/64\" } ]\n";
}

Status build_topology(Lab &l)
{
	for (const char *role : {"peer", "rtr"})
		if (Status st = l.ns.add(role); !st)
			return st;
	l.router = l.ns.name("rtr");
	const std::string pid = std::to_string(::getpid() % 10000000);
	l.gw_a = "c" + pid + "a";
	l.gw_b = "c" + pid + "b";
	for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
		     {"peer", "link add wan0 type veth peer name pub netns " + l.router},
		     {"peer", "addr add 203.0.113.2/24 dev wan0"},
		     {"peer", "addr add 2001:db8:1::2/64 dev wan0 nodad"},
		     {"peer", "link set wan0 up"},
		     {"rtr", "addr add 203.0.113.1/24 dev pub"},
		     {"rtr", "addr add 2001:db8:1::1/64 dev pub nodad"},
		     {"rtr", "link set pub up"}})
		if (Status st = l.ns.ip(role, args); !st)
			return st;
	l.bpffs = "/tmp/" + l.router + "-bpffs";
	std::filesystem::create_directories(l.bpffs);
	if (::mount("bpf", l.bpffs.c_str(), "bpf", 0, nullptr) != 0)
		return sys_error(errno, "mount bpffs", l.bpffs);
	l.config = "/tmp/" + l.router + ".toml";
	write_config(l);
	return {};
}

class Crash : public ::testing::TestWithParam<std::string> {
protected:
	static void SetUpTestSuite();
	static void TearDownTestSuite();
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		ASSERT_TRUE(lab_ && lab_->setup_error.empty()) << (lab_ ? lab_->setup_error : "");
		ASSERT_EQ(leftovers(*lab_), "") << "a case must start from nothing";
	}
	void TearDown() override
	{
		if (!lab_ || !lab_->setup_error.empty())
			return;
		ToolRun r = run_tool(tool_path(), {"down", "-c", lab_->config});
		EXPECT_TRUE(r.exited(0)) << r.describe();
		scrub(*lab_);
	}
	// Runs `verb` with IPSEC_STEER_CRASH_AT=point; it must die by SIGKILL,
	// or the point was never reached.
	void crash_at(const std::string &verb, const std::string &point)
	{
		ToolRun r = run_tool(tool_path(), {verb, "-c", lab_->config}, {point});
		ASSERT_TRUE(r.killed_by(SIGKILL)) << verb << " never reached " << point << ": " << r.describe();
	}
	void run_ok(const std::string &verb)
	{
		ToolRun r = run_tool(tool_path(), {verb, "-c", lab_->config});
		ASSERT_TRUE(r.exited(0)) << verb << ": " << r.describe();
	}
	// `diff -u` of two snapshots, for a failure message a person can read.
	static std::string diff(const std::string &want, const std::string &got);
};

void Crash::SetUpTestSuite()
{
	if (::geteuid() != 0)
		return;
	lab_ = std::make_unique<Lab>();
	if (Status st = build_topology(*lab_); !st) {
		lab_->setup_error = st.error().message();
		return;
	}
	ToolRun up = run_tool(tool_path(), {"up", "-c", lab_->config});
	if (!up.exited(0)) {
		lab_->setup_error = "reference up: " + up.describe();
		return;
	}
	lab_->reference = snapshot(*lab_);
	ToolRun down = run_tool(tool_path(), {"down", "-c", lab_->config});
	if (!down.exited(0))
		lab_->setup_error = "reference down: " + down.describe();
}

void Crash::TearDownTestSuite()
{
	if (!lab_)
		return;
	for (const std::string &gw : {lab_->gw_a, lab_->gw_b})
		if (!gw.empty())
			lab::delete_netns(gw);
	if (!lab_->bpffs.empty()) {
		remove_lock_file(lab_->bpffs + "/ipsec-steer");
		::umount2(lab_->bpffs.c_str(), MNT_DETACH);
		::rmdir(lab_->bpffs.c_str());
	}
	if (!lab_->config.empty())
		std::filesystem::remove(lab_->config);
	lab_.reset();
}

std::string Crash::diff(const std::string &want, const std::string &got)
{
	const std::string base = "/tmp/istcr" + std::to_string(::getpid());
	std::ofstream(base + ".want") << want;
	std::ofstream(base + ".got") << got;
	std::string out = capture("diff -u " + base + ".want " + base + ".got");
	std::filesystem::remove(base + ".want");
	std::filesystem::remove(base + ".got");
	return out;
}

class CrashDuringUp : public Crash {};
class CrashDuringDown : public Crash {};

// A crash point added to the loader without a case here would be a step
// nobody checks: the lists above must name every crash_point("...").
TEST(CrashPoints, EveryOneInTheLoaderHasACase)
{
	std::set<std::string> in_code, listed(up_points.begin(), up_points.end());
	listed.insert(down_points.begin(), down_points.end());
	listed.insert("host_nft_batch");
	static const std::regex call(R"re(crash_point\("([a-z_]+)"\))re");
	for (const auto &e : std::filesystem::directory_iterator(STEER_LOADER_DIR)) {
		std::ifstream in(e.path());
		std::stringstream text;
		text << in.rdbuf();
		const std::string src = text.str();
		for (std::sregex_iterator it(src.begin(), src.end(), call), end; it != end; ++it)
			in_code.insert((*it)[1]);
	}
	EXPECT_EQ(in_code, listed);
	EXPECT_GE(in_code.size(), 12u);
}

// The reference itself must show what `up` builds, or comparing with it
// proves nothing.
TEST_F(Crash, ReferenceShowsEveryObject)
{
	const std::string &ref = lab_->reference;
	for (const std::string &want :
	     {"alias ipsec-steer:" + lab_->gw_a, "alias ipsec-steer:" + lab_->gw_b, std::string("PERMANENT"),
	      std::string("ist_ingress"), std::string("ist_return"), std::string("table inet ipsec_steer"),
	      std::string("from 10.1.0.0/24 to 10.2.0.0/24 lookup"), std::string("prog_ingress"),
	      std::string("\"target_ifindex\": \"IST-A\""), std::string("\"target_ifindex\": \"IST-B\""),
	      std::string("\"healthy\": true")})
		EXPECT_NE(ref.find(want), std::string::npos) << want << " missing from\n" << ref;
	EXPECT_EQ(ref.find("\"healthy\": false"), std::string::npos) << ref;
}

// [firewall] lives in the namespace the tool runs in: the binary runs in
// the router namespace (`ip netns exec` execs it, so its death is the
// status), never touching the root namespace's ruleset.
TEST_F(Crash, HostFirewallBatch)
{
	const std::string fw_config = lab_->config + ".fw.toml";
	std::ofstream(fw_config) << "bpffs = \"" << lab_->bpffs << "/ipsec-steer\"\n[firewall]\n"
				 << "ipsec_only = [\"udp/8472\"]\n";
	auto in_router = [&](const std::string &verb, const std::string &point) {
		return run_tool("/usr/bin/env", {"ip", "netns", "exec", lab_->router, tool_path(), verb, "-c", fw_config},
				{point});
	};
	const std::string ruleset = "nft list ruleset";
	ASSERT_TRUE(in_router("up", "").exited(0));
	const std::string clean = in_ns(lab_->router, ruleset);
	ASSERT_NE(clean.find("table inet ipsec_steer"), std::string::npos) << clean;
	ASSERT_TRUE(in_router("down", "").exited(0));
	ASSERT_EQ(in_ns(lab_->router, ruleset), "");
	ToolRun crashed = in_router("up", "host_nft_batch");
	ASSERT_TRUE(crashed.killed_by(SIGKILL)) << crashed.describe();
	EXPECT_EQ(in_ns(lab_->router, ruleset), "") << "the batch is all or nothing";
	ASSERT_TRUE(in_router("up", "").exited(0));
	EXPECT_EQ(in_ns(lab_->router, ruleset), clean);
	ASSERT_TRUE(in_router("down", "").exited(0));
	EXPECT_EQ(in_ns(lab_->router, ruleset), "");
	std::filesystem::remove(fw_config);
}

TEST_P(CrashDuringUp, NextUpConvergesAndDownLeavesNothing)
{
	const std::string &point = GetParam();
	ASSERT_NO_FATAL_FAILURE(crash_at("up", point));
	ASSERT_NO_FATAL_FAILURE(run_ok("up"));
	std::string now = snapshot(*lab_);
	EXPECT_TRUE(now == lab_->reference) << "after a crash at " << point << ":\n"
					    << diff(lab_->reference, now);
	ASSERT_NO_FATAL_FAILURE(run_ok("down"));
	EXPECT_EQ(leftovers(*lab_), "") << "down after up after a crash at " << point;
}

TEST_P(CrashDuringUp, DownRightAfterTheCrashLeavesNothing)
{
	const std::string &point = GetParam();
	ASSERT_NO_FATAL_FAILURE(crash_at("up", point));
	ASSERT_NO_FATAL_FAILURE(run_ok("down"));
	EXPECT_EQ(leftovers(*lab_), "") << "down after a crash at " << point;
}

// `down --all` with a config that names no gateway (the operator removed
// them, or lost the file): what the crash left is found by its marks alone
// (ist-* aliases, the gateway namespace's lo alias, our routing protocol,
// the pin directories), never by the config.
TEST_P(CrashDuringUp, DownAllWithoutTheGatewaysInTheConfigLeavesNothing)
{
	const std::string &point = GetParam();
	ASSERT_NO_FATAL_FAILURE(crash_at("up", point));
	const std::string bare = lab_->config + ".bare.toml";
	std::ofstream(bare) << "bpffs = \"" << lab_->bpffs << "/ipsec-steer\"\n";
	ToolRun r = run_tool(tool_path(), {"down", "--all", "-c", bare});
	std::filesystem::remove(bare);
	ASSERT_TRUE(r.exited(0)) << r.describe();
	EXPECT_EQ(leftovers(*lab_), "") << "down --all after a crash at " << point;
}

TEST_P(CrashDuringDown, NextDownLeavesNothing)
{
	const std::string &point = GetParam();
	ASSERT_NO_FATAL_FAILURE(run_ok("up"));
	ASSERT_NO_FATAL_FAILURE(crash_at("down", point));
	ASSERT_NO_FATAL_FAILURE(run_ok("down"));
	EXPECT_EQ(leftovers(*lab_), "") << "down after a crash of down at " << point;
}

TEST_P(CrashDuringDown, UpAfterTheCrashConverges)
{
	const std::string &point = GetParam();
	ASSERT_NO_FATAL_FAILURE(run_ok("up"));
	ASSERT_NO_FATAL_FAILURE(crash_at("down", point));
	ASSERT_NO_FATAL_FAILURE(run_ok("up"));
	std::string now = snapshot(*lab_);
	EXPECT_TRUE(now == lab_->reference) << "after a crash of down at " << point << ":\n"
					    << diff(lab_->reference, now);
}

std::string point_name(const ::testing::TestParamInfo<std::string> &info)
{
	return info.param;
}

INSTANTIATE_TEST_SUITE_P(Points, CrashDuringUp, ::testing::ValuesIn(up_points), point_name);
INSTANTIATE_TEST_SUITE_P(Points, CrashDuringDown, ::testing::ValuesIn(down_points), point_name);

} // namespace
} // namespace steer::test

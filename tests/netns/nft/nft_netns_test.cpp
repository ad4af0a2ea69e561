// The nft transport against the kernel and against nft itself.
//
//   root namespace          never touched: no netfilter socket is opened there
//   istnft<pid>             lo only; table inet ipsec_steer (and "other"), loaded
//                           - by our transport, on a thread that did setns() into it
//                           - by `ip netns exec istnft<pid> nft -f golden/NAME.nft`
//   istnftp<pid> --veth-- istnft<pid>   (packet test only)
//     10.77.0.1/24            10.77.0.2/24 + the seed's table
//
// Each case's table as our transport loads it must list (`nft list table`)
// exactly as the table nft loads from the golden text; a batch with one bad
// element or rule fails whole and leaves the previous table byte for byte;
// 100,000 peers load in one batch.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <regex>
#include <thread>

#include "fd.hpp"
#include "netns_util.hpp"
#include "nft_cases.hpp"
#include "set_elements.hpp"
#include "transport.hpp"

namespace steer::nft {
namespace {

using namespace test_util;

using namespace steer::nft::test;
using Clock = std::chrono::steady_clock;

const std::string golden_dir = STEER_NFT_GOLDEN;





class NftNetns : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0) {
			if (ci_mode()) {
				FAIL() << "needs root, and CI=true forbids skipping";
			}
			GTEST_SKIP() << "needs root: network namespaces and nf_tables";
		}
		if (sh("nft --version").rc != 0) {
			if (ci_mode()) {
				FAIL() << "the nft binary (tests only) is missing";
			}
			GTEST_SKIP() << "needs the nft binary to load the golden files";
		}
		ns = "istnft" + std::to_string(::getpid());
		sh("ip netns del " + ns);  // a leftover of a killed run
		Cmd add = sh("ip netns add " + ns);
		ASSERT_EQ(add.rc, 0) << add.out;
		created = true;
	}
	void TearDown() override
	{
		if (created) {
			EXPECT_EQ(sh("ip netns del " + ns).rc, 0);
		}
	}

	Cmd nft(const std::string &args) const { return sh("ip netns exec " + ns + " nft " + args); }

	// The listing, any handles taken out (counters stay: no traffic moves them
	// except in the packet test, which wants to see them).
	std::string listing(const std::string &table = table_name) const
	{
		Cmd c = nft("list table inet " + table);
		EXPECT_EQ(c.rc, 0) << c.out;
		c.out = std::regex_replace(c.out, std::regex(" # handle [0-9]+"), "");
		return c.out;
	}

	Status apply(const Ruleset &rs) const
	{
		return in_ns(ns, [&]() -> Status {
			auto b = build_replace(rs);
			if (!b)
				return b.error();
			auto t = Transport::open();
			if (!t)
				return t.error();
			return t->apply(std::move(*b));
		});
	}

	// Applies and hands back every ACK error.
	Status apply(const Ruleset &rs, std::vector<AckError> &errors) const
	{
		return in_ns(ns, [&]() -> Status {
			auto b = build_replace(rs);
			if (!b)
				return b.error();
			auto t = Transport::open();
			if (!t)
				return t.error();
			return t->send(*b, &errors);
		});
	}

	std::string ns;
	bool created = false;
};

void expect_ok(const Status &st)
{
	EXPECT_TRUE(st.ok()) << st.error().message();
}

TEST_F(NftNetns, EveryCaseListsExactlyAsItsGoldenFileLoadedByNft)
{
	for (const auto &c : golden_cases()) {
		SCOPED_TRACE(c.name + ": " + c.about);
		Status st = apply(c.ruleset);
		ASSERT_TRUE(st.ok()) << st.error().message();
		std::string ours = listing();
		st = in_ns(ns, [] {
			auto t = Transport::open();
			return t ? t->delete_table(table_name) : Status(t.error());
		});
		ASSERT_TRUE(st.ok()) << st.error().message();
		Cmd load = nft("-f " + golden_dir + "/" + c.name + ".nft");
		ASSERT_EQ(load.rc, 0) << load.out;
		std::string theirs = listing();
		EXPECT_EQ(ours, theirs);
		EXPECT_NE(ours.find("comment \"ipsec-steer\""), std::string::npos) << ours;
		ASSERT_EQ(nft("delete table inet ipsec_steer").rc, 0);
	}
}

TEST_F(NftNetns, ReplaceIsIdempotentAndLeavesOtherTablesAlone)
{
	ASSERT_EQ(nft("add table inet other").rc, 0);
	ASSERT_EQ(nft("'add chain inet other c { type filter hook input priority 0; policy accept; }'").rc, 0);
	ASSERT_EQ(nft("add rule inet other c udp dport 8472 accept").rc, 0);
	const std::string other = listing("other");
	auto cases = golden_cases();
	expect_ok(apply(cases.at(1).ruleset));
	const std::string first = listing();
	expect_ok(apply(cases.at(1).ruleset));
	EXPECT_EQ(listing(), first);
	expect_ok(apply(cases.at(4).ruleset));  // a different table replaces it whole
	EXPECT_NE(listing(), first);
	EXPECT_NE(listing().find("@peer_subnets_v4"), std::string::npos);
	EXPECT_EQ(listing("other"), other);
}

// Two ranges that overlap are legal to the builder and refused by the
// kernel, which names the element; the batch is aborted as a whole. (Only
// an interval set, of the former design, can hold overlapping elements.)
TEST_F(NftNetns, OneBadElementFailsTheWholeBatchAndKeepsTheOldTable)
{
	auto cases = golden_cases();
	expect_ok(apply(cases.at(4).ruleset));  // kitchen_sink
	const std::string before = listing();
	Ruleset bad = cases.at(1).ruleset;  // host_full: other chains and rules
	bad.sets = mesh_sets();
	for (auto &s : bad.sets)
		s.interval = true;
	for (int i = 0; i < 2000; i++) {
		config::IpAddress a = *config::parse_ip("10.1.0.0");
		a.bytes[2] = static_cast<uint8_t>(i / 250);
		a.bytes[3] = static_cast<uint8_t>(i % 250);
		ASSERT_TRUE(add_peer(bad, a).ok());
	}
	Set &subnets = *bad.find_set("subnets_v4");
	ASSERT_TRUE(add_element(subnets, {*config::parse_cidr("10.0.0.0/24")}).ok());
	ASSERT_TRUE(add_element(subnets, {*config::parse_cidr("10.0.0.5/32")}).ok());  // inside the /24
	std::vector<AckError> errors;
	Status st = apply(bad, errors);
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(st.error().err, EEXIST) << st.error().message();
	EXPECT_NE(st.error().what.find("add elements to set subnets_v4"), std::string::npos) << st.error().what;
	EXPECT_NE(st.error().what.find(": element 10.0.0."), std::string::npos) << st.error().what;
	ASSERT_EQ(errors.size(), 1u);
	EXPECT_NE(errors[0].offset, 0u) << "the kernel's extended ACK names the element";
	std::cout << "[          ] refused as: " << st.error().message() << "\n";
	EXPECT_EQ(listing(), before);
}

TEST_F(NftNetns, OneBadRuleFailsTheWholeBatchNamingTheRule)
{
	auto cases = golden_cases();
	expect_ok(apply(cases.at(0).ruleset));
	const std::string before = listing();
	Ruleset bad = cases.at(1).ruleset;
	// masquerade belongs in a nat chain; the kernel says EOPNOTSUPP.
	bad.rules.push_back({"output", {expr::Oifname{"eth0"}, expr::Masquerade{}}});
	std::vector<AckError> errors;
	Status st = apply(bad, errors);
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(st.error().err, EOPNOTSUPP) << st.error().message();
	EXPECT_NE(st.error().what.find("add rule to chain output: oifname \"eth0\" masquerade"), std::string::npos)
		<< st.error().what;
	EXPECT_EQ(errors.size(), 1u);
	EXPECT_EQ(listing(), before);
}

// The kernel refuses a batch planned against an older generation; apply()
// reads the generation afresh and succeeds.
TEST_F(NftNetns, GenerationRaceIsRefusedThenRetried)
{
	auto cases = golden_cases();
	Status st = in_ns(ns, [&]() -> Status {
		auto t = Transport::open();
		if (!t)
			return t.error();
		auto gen = t->generation();
		if (!gen)
			return gen.error();
		auto b = build_replace(cases.at(0).ruleset);
		if (!b)
			return b.error();
		set_generation(*b, *gen);
		if (sh("ip netns exec " + ns + " nft add table inet racer").rc != 0)
			return plain_error("nft add table failed");
		Status stale = t->send(*b);
		if (stale.ok() || stale.error().err != ERESTART)
			return plain_error("a stale generation was not refused with ERESTART: " +
				(stale.ok() ? std::string("ok") : stale.error().message()));
		auto exists = t->table_exists(table_name);
		if (!exists || *exists)
			return plain_error("the refused batch left a table behind");
		return t->apply(std::move(*b));
	});
	expect_ok(st);
	EXPECT_NE(listing().find("udp dport 8472 meta ipsec exists counter packets 0 bytes 0 accept"), std::string::npos);
}

// The mesh's element batches against the kernel: a new prefix length makes
// its set (and one that exists is left as it is), removals leave the set,
// and a full refill (flush of the group) leaves only the lengths it adds.
TEST_F(NftNetns, MeshBatchesMakeTheSetOfEachLengthAndARefillDropsTheRest)
{
	auto cases = golden_cases();
	expect_ok(apply(cases.at(0).ruleset));  // host_flannel_seed: peers_v4/_v6 only
	auto c = [](const char *t) { return *config::parse_cidr(t); };
	auto send = [&](const std::vector<SetChange> &changes) {
		auto b = build_set_update(table_name, changes);
		if (!b)
			return Status(b.error());
		return in_ns(ns, [&]() -> Status {
			auto t = Transport::open();
			return t ? t->apply(*b) : Status(t.error());
		});
	};
	const std::vector<KeyType> v4{KeyType::ipv4_addr}, v4v4{KeyType::ipv4_addr, KeyType::ipv4_addr};
	expect_ok(send({{"peers_v4", v4, false, {}, {{{c("192.0.2.2/32")}}}},
		{"subnets_v4", v4, false, {}, {{{c("10.5.2.0/24")}}}},
		{"peer_subnets_v4", v4v4, false, {}, {{{c("192.0.2.2/32"), c("10.5.2.0/24")}}}}}));
	expect_ok(send({{"peer_subnets_v4", v4v4, false, {}, {{{c("192.0.2.3/32"), c("10.5.3.0/24")}}}}}));
	std::string l = listing();
	EXPECT_NE(l.find("set peer_subnets_v4_24 {\n\t\ttype ipv4_addr . ipv4_addr\n\t\telements = { 192.0.2.2 . 10.5.2.0,"),
		std::string::npos) << l;
	EXPECT_NE(l.find("192.0.2.3 . 10.5.3.0 }"), std::string::npos) << l;
	EXPECT_NE(l.find("set subnets_v4_24 {"), std::string::npos) << l;
	expect_ok(send({{"peer_subnets_v4", v4v4, false, {{{c("192.0.2.2/32"), c("10.5.2.0/24")}}}, {}}}));
	EXPECT_EQ(nft("list set inet ipsec_steer peer_subnets_v4_24").out.find("192.0.2.2 "), std::string::npos);
	// A refill: every group flushed, one /25 added.
	std::vector<SetChange> full;
	for (const auto &set : mesh_sets())
		full.push_back({set.name, set.key, true, {}, {}});
	full[4].add.push_back({{c("192.0.2.4/32"), c("10.5.4.128/25")}});
	expect_ok(send(full));
	l = listing();
	EXPECT_EQ(l.find("_24"), std::string::npos) << l;
	EXPECT_EQ(l.find("set subnets_v4"), std::string::npos) << l;
	EXPECT_NE(l.find("set peer_subnets_v4_25 {\n\t\ttype ipv4_addr . ipv4_addr\n\t\telements = { 192.0.2.4 . 10.5.4.128 }"),
		std::string::npos) << l;
	EXPECT_EQ(nft("list set inet ipsec_steer peers_v4").out.find("192.0.2.2"), std::string::npos);
	// A removal from a set that is not there fails the batch (the mesh then
	// refills).
	EXPECT_FALSE(send({{"subnets_v6", {KeyType::ipv6_addr}, false, {{{c("fd00::/64")}}}, {}}}).ok());
}

TEST_F(NftNetns, OwnershipLookupAndDelete)
{
	auto cases = golden_cases();
	auto run = [&](const std::function<Status(Transport &)> &fn) {
		return in_ns(ns, [&]() -> Status {
			auto t = Transport::open();
			return t ? fn(*t) : Status(t.error());
		});
	};
	expect_ok(run([](Transport &t) -> Status {
		auto c = t.table_comment(table_name);
		if (!c || c->has_value())
			return plain_error("expected no table");
		return t.delete_table(table_name);  // absent: success
	}));
	expect_ok(apply(cases.at(3).ruleset));
	expect_ok(run([](Transport &t) -> Status {
		auto c = t.table_comment(table_name);
		if (!c || !c->has_value() || **c != table_comment)
			return plain_error("expected our comment");
		if (Status st = t.delete_table(table_name); !st)
			return st;
		auto e = t.table_exists(table_name);
		return e && !*e ? Status() : plain_error("table still there");
	}));
	// A table of the same name that someone else made: no comment.
	ASSERT_EQ(nft("add table inet ipsec_steer").rc, 0);
	expect_ok(run([](Transport &t) -> Status {
		auto c = t.table_comment(table_name);
		return c && c->has_value() && (*c)->empty() ? Status() : plain_error("expected a foreign table");
	}));
}

size_t count(const std::string &text, const std::string &what)
{
	size_t n = 0;
	for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
		n++;
	return n;
}

// 100,000 peers, and 100,000 (peer, subnet) pairs, each in one batch.
TEST_F(NftNetns, HundredThousandElementsLoadInOneBatch)
{
	constexpr uint32_t n = 100000;
	Ruleset peers = plan_host_firewall(config::HostFirewall{}, 500, 4500);
	Ruleset pairs = peers;
	for (uint32_t i = 0; i < n; i++) {
		config::IpAddress a = *config::parse_ip("10.0.0.0");
		uint32_t v = htonl(0x0a000000u + 2 * i);
		std::memcpy(a.bytes.data(), &v, 4);
		ASSERT_TRUE(add_peer(peers, a).ok());
		config::Cidr subnet = *config::parse_cidr("172.16.0.0/24");
		subnet.address.bytes[1] = static_cast<uint8_t>(16 + i / 256);
		subnet.address.bytes[2] = static_cast<uint8_t>(i % 256);
		ASSERT_TRUE(add_peer_subnet(pairs, a, subnet).ok());
	}
	for (auto *rs : {&peers, &pairs}) {
		const char *set = rs == &peers ? "peers_v4" : "peer_subnets_v4_24";
		auto t0 = Clock::now();
		auto b = build_replace(*rs);
		ASSERT_TRUE(b.ok());
		auto t1 = Clock::now();
		Status st = in_ns(ns, [&]() -> Status {
			auto t = Transport::open();
			return t ? t->apply(*b) : Status(t.error());
		});
		auto t2 = Clock::now();
		ASSERT_TRUE(st.ok()) << st.error().message();
		auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
		std::cout << "[          ] " << n << " elements in " << set << ": build " << ms(t1 - t0)
			  << " ms, send + commit + ACKs " << ms(t2 - t1) << " ms, " << b->bytes.size()
			  << " bytes, " << b->acked_messages() << " messages in one batch\n";
		RecordProperty(std::string(set) + "_apply_ms", std::to_string(ms(t2 - t1)));
		Cmd list = nft(std::string("list set inet ipsec_steer ") + set);
		ASSERT_EQ(list.rc, 0);
		// "elements = { a, b, ... }": the listing's only commas.
		EXPECT_EQ(count(list.out, ",") + 1, n) << set;
	}
}

// Packets through the seed's table: VXLAN in clear is dropped and counted,
// IKE is let through.
TEST_F(NftNetns, ClearVxlanIsDroppedAndCountedIkePasses)
{
	const std::string peer = "istnftp" + std::to_string(::getpid());
	sh("ip netns del " + peer);
	struct Cleanup {
		std::string ns;
		~Cleanup() { sh("ip netns del " + ns); }
	} cleanup{peer};
	for (const std::string &c : {
		     "ip netns add " + peer,
		     "ip link add istnftv0 netns " + peer + " type veth peer name istnftv1 netns " + ns,
		     "ip -n " + peer + " addr add 10.77.0.1/24 dev istnftv0",
		     "ip -n " + ns + " addr add 10.77.0.2/24 dev istnftv1",
		     "ip -n " + peer + " link set istnftv0 up",
		     "ip -n " + ns + " link set istnftv1 up",
	     }) {
		Cmd r = sh(c);
		ASSERT_EQ(r.rc, 0) << c << ": " << r.out;
	}
	expect_ok(apply(golden_cases().at(0).ruleset));
	// Receivers in the host namespace, bound before anything is sent.
	Fd vxlan, ike;
	expect_ok(in_ns(ns, [&]() -> Status {
		for (auto [fd, port] : {std::pair{&vxlan, 8472}, std::pair{&ike, 500}}) {
			fd->reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
			sockaddr_in a{};
			a.sin_family = AF_INET;
			a.sin_port = htons(static_cast<uint16_t>(port));
			timeval tv{0, 300000};
			::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (::bind(fd->get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
				return sys_error(errno, "bind", std::to_string(port));
		}
		return {};
	}));
	expect_ok(in_ns(peer, [&]() -> Status {
		Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		sockaddr_in to{};
		to.sin_family = AF_INET;
		inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
		for (uint16_t port : {8472, 500}) {
			to.sin_port = htons(port);
			if (::sendto(s.get(), "x", 1, 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) != 1)
				return sys_error(errno, "sendto", std::to_string(port));
		}
		return {};
	}));
	char buf[16];
	EXPECT_EQ(::recv(ike.get(), buf, sizeof(buf), 0), 1) << "IKE must pass";
	EXPECT_EQ(::recv(vxlan.get(), buf, sizeof(buf), 0), -1) << "clear VXLAN must be dropped";
	EXPECT_NE(listing().find("udp dport 8472 counter packets 1 bytes 29 drop"), std::string::npos) << listing();
}

// Through the seed's table: raw ESP reaches the host, and the masquerade
// rule rewrites a pod's ordinary flow leaving on a non-docker0 interface.
//
//   pod ns 172.16.1.2 --- 172.16.1.1 [host ns: table, forwarding] 10.77.0.2 --- 10.77.0.1 peer ns
TEST_F(NftNetns, EspIsAcceptedAndAPodFlowIsMasqueraded)
{
	const std::string peer = "istnftq" + std::to_string(::getpid());
	const std::string pod = "istnftd" + std::to_string(::getpid());
	struct Cleanup {
		std::vector<std::string> names;
		~Cleanup()
		{
			for (const auto &n : names)
				sh("ip netns del " + n);
		}
	} cleanup{{peer, pod}};
	for (const std::string &c : {
		     "ip netns add " + peer, "ip netns add " + pod,
		     "ip link add istnftw0 netns " + peer + " type veth peer name istnftw1 netns " + ns,
		     "ip link add istnftp0 netns " + pod + " type veth peer name istnftp1 netns " + ns,
		     "ip -n " + peer + " addr add 10.77.0.1/24 dev istnftw0",
		     "ip -n " + ns + " addr add 10.77.0.2/24 dev istnftw1",
		     "ip -n " + pod + " addr add 172.16.1.2/24 dev istnftp0",
		     "ip -n " + ns + " addr add 172.16.1.1/24 dev istnftp1",
		     "ip -n " + peer + " link set istnftw0 up", "ip -n " + ns + " link set istnftw1 up",
		     "ip -n " + pod + " link set istnftp0 up", "ip -n " + ns + " link set istnftp1 up",
		     "ip -n " + pod + " route add default via 172.16.1.1",
		     "ip netns exec " + ns + " sysctl -qw net.ipv4.ip_forward=1",
	     }) {
		Cmd r = sh(c);
		ASSERT_EQ(r.rc, 0) << c << ": " << r.out;
	}
	expect_ok(apply(golden_cases().at(0).ruleset));
	Fd esp_rx, udp_rx;
	expect_ok(in_ns(ns, [&]() -> Status {
		esp_rx.reset(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP));
		timeval tv{0, 300000};
		::setsockopt(esp_rx.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		return esp_rx.valid() ? Status{} : sys_error(errno, "raw ESP socket");
	}));
	expect_ok(in_ns(peer, [&]() -> Status {
		udp_rx.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(9999);
		timeval tv{0, 500000};
		::setsockopt(udp_rx.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (::bind(udp_rx.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
			return sys_error(errno, "bind 9999");
		Fd s(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP));
		sockaddr_in to{};
		to.sin_family = AF_INET;
		inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
		const unsigned char esp[16] = {0, 0, 0x12, 0x34, 0, 0, 0, 1};
		if (::sendto(s.get(), esp, sizeof(esp), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) < 0)
			return sys_error(errno, "send ESP");
		return {};
	}));
	expect_ok(in_ns(pod, [&]() -> Status {
		Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		sockaddr_in to{};
		to.sin_family = AF_INET;
		to.sin_port = htons(9999);
		inet_pton(AF_INET, "10.77.0.1", &to.sin_addr);
		if (::sendto(s.get(), "pod", 3, 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) != 3)
			return sys_error(errno, "send from pod");
		return {};
	}));
	char buf[64];
	EXPECT_GT(::recv(esp_rx.get(), buf, sizeof(buf), 0), 0) << "ESP must be accepted";
	sockaddr_in from{};
	socklen_t len = sizeof(from);
	ASSERT_EQ(::recvfrom(udp_rx.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&from), &len), 3);
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
	EXPECT_STREQ(text, "10.77.0.2") << "the pod's flow leaves masqueraded";
}

} // namespace
} // namespace steer::nft

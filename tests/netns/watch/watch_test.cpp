// `ipsec-steer watch` as a child process: readiness over NOTIFY_SOCKET,
// then one fault at a time, each restored within a second, and steered
// ESP reaching the gateway namespace again; SIGHUP and SIGTERM.
//
//   peer ns (istw<pid>-peer)      router ns (istw<pid>-rtr)            gateway ns w<pid>
//   wan0 203.0.113.2/24 --------- pub 203.0.113.1/24 (P), .3 (P2)
//                                 [tc ingress: ist_ingress]
//                                 ist-w<pid> 169.254.x.1/30 ---------- eth0 MAC of pub,
//                                 [tc ingress: ist_return]             P/32, 169.254.x.2/30
//   wan1 (rename test only) ----- pubnew -> renamed to pub
//                                 ist-w<pid>b ------------------------ w<pid>b (after SIGHUP: P2)
//
//   test process: ESP frames sent on wan0 with pub's MAC, captured on
//   the gateway's eth0; `status --json` polled every 20 ms; the watch
//   child's NOTIFY_SOCKET is a datagram socket under /tmp it listens on.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "bpf_steer.hpp"
#include "fd.hpp"
#include "harness.hpp"
#include "inspect.hpp"
#include "lab.hpp"
#include "plan.hpp"
#include "link.hpp"
#include "netns.hpp"
#include "packet_builder.hpp"
#include "programs.hpp"
#include "tc_attach.hpp"
#include "watch_sources.hpp"
#include "shell.hpp"

namespace steer::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto restore_limit = 1000ms;
constexpr auto poll_every = 20ms;
constexpr uint32_t test_spi = 0x5157;


// The service manager's end of NOTIFY_SOCKET.
class NotifyListener {
public:
	bool open(const std::string &path)
	{
		path_ = path;
		::unlink(path.c_str());
		fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		sockaddr_un sun{};
		sun.sun_family = AF_UNIX;
		std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
		return fd_.valid() && ::bind(fd_.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0;
	}
	~NotifyListener()
	{
		if (!path_.empty())
			::unlink(path_.c_str());
	}
	// Waits for a message containing `needle`; every message is kept.
	bool wait_for(const std::string &needle, std::chrono::milliseconds timeout)
	{
		auto end = Clock::now() + timeout;
		for (;;) {
			for (const auto &m : messages)
				if (m.find(needle) != std::string::npos)
					return true;
			auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
			pollfd pfd{fd_.get(), POLLIN, 0};
			if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
				return false;
			char buf[4096];
			ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
			if (n > 0)
				messages.emplace_back(buf, static_cast<size_t>(n));
		}
	}
	std::vector<std::string> messages;

private:
	Fd fd_;
	std::string path_;
};

// An AF_PACKET socket of a whole namespace (no interface bound): it keeps
// receiving when the gateway's eth0 is deleted and re-created.
Fd namespace_capture(const std::string &netns)
{
	Fd fd;
	(void)ns::run_in_netns(netns, [&]() -> Status {
		fd.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
		// Read only after the stream: room for all of it, or the count lies.
		int bytes = 32 << 20;
		(void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes));
		return {};
	});
	return fd;
}

// ESP sequence numbers of our SPI seen on the socket until it is quiet.
std::vector<uint32_t> esp_sequences(int fd, std::chrono::milliseconds quiet)
{
	std::vector<uint32_t> seqs;
	std::vector<uint8_t> buf(2048);
	pollfd pfd{fd, POLLIN, 0};
	while (::poll(&pfd, 1, static_cast<int>(quiet.count())) > 0) {
		sockaddr_ll from{};
		socklen_t len = sizeof(from);
		ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr *>(&from), &len);
		if (n < 14 + 20 + 8 || from.sll_pkttype == PACKET_OUTGOING || buf[12] != 0x08 || buf[13] != 0 ||
		    buf[14 + 9] != IPPROTO_ESP)
			continue;
		const uint8_t *esp = buf.data() + 14 + (buf[14] & 0x0f) * 4;
		// The ESP header sits 2 bytes off a 4-byte boundary (after 14
		// bytes of Ethernet): copy, never cast.
		uint32_t spi, seq;
		std::memcpy(&spi, esp, 4);
		std::memcpy(&seq, esp + 4, 4);
		if (ntohl(spi) == test_spi)
			seqs.push_back(ntohl(seq));
	}
	return seqs;
}

class Watch : public ::testing::Test {
protected:
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		// tc queries of links without clsact make libbpf print the kernel's refusal.
		libbpf_set_print(nullptr);
		ASSERT_TRUE(ns.add("peer").ok());
		ASSERT_TRUE(ns.add("rtr").ok());
		router = ns.name("rtr");
		gw = "w" + std::to_string(::getpid() % 100000);
		gw2 = gw + "b";
		for (const std::string &n : {gw, gw2})
			lab::delete_netns(n);
		for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
			     {"peer", "link add wan0 type veth peer name pub netns " + router},
			     {"peer", "link set wan0 up"},
			     {"rtr", "addr add 203.0.113.1/24 dev pub"},
			     {"rtr", "addr add 203.0.113.3/24 dev pub"},
			     {"rtr", "link set pub up"}})
			ASSERT_TRUE(ns.ip(role, args).ok()) << args;
		bpffs = "/tmp/" + router + "-bpffs";
		std::filesystem::create_directories(bpffs);
		ASSERT_EQ(::mount("bpf", bpffs.c_str(), "bpf", 0, nullptr), 0);
		path = "/tmp/" + router + ".toml";
		log_path = "/tmp/" + router + ".log";
		ASSERT_TRUE(notify.open("/tmp/" + router + ".notify"));
	}

	void TearDown() override
	{
		stop_watch(SIGKILL);
		if (!good_config.empty())
			(void)lab::sh(std::string(STEER_BINARY) + " down -c " + good_config + " >/dev/null 2>&1");
		for (const std::string &n : {gw, gw2})
			if (!n.empty())
				lab::delete_netns(n);
		if (!bpffs.empty()) {
			::umount2(bpffs.c_str(), MNT_DETACH);
			::rmdir(bpffs.c_str());
		}
		if (HasFailure() && !log_path.empty())
			std::printf("--- watch log ---\n%s", capture("cat " + log_path).c_str());
		for (const std::string &f : {path, good_config, log_path})
			if (!f.empty())
				std::filesystem::remove(f);
	}

	// Gateways of one router namespace need disjoint routes: `subnet`
	// picks 10.<subnet>.0.0/24 -> 10.<subnet + 1>.0.0/24.
	std::string gateway_toml(const std::string &name, const std::string &address, bool firewall,
				 int subnet = 1) const
	{
		std::string local = "10." + std::to_string(subnet) + ".0.0/24";
		std::string remote = "10." + std::to_string(subnet + 1) + ".0.0/24";
		return "[[gateway]]\nname = \"" + name + "\"\npublic_interface = \"pub\"\npublic_address = \"" +
		       address + "\"\nrouter_netns = \"" + router + "\"\n" +
		       "routes = [ { local = \"" + local + "\", remote = \"" + remote + "\" } ]\n" +
		       (firewall ? "[gateway.firewall]\nipsec_only = [\"udp/8472\"]\n" : "");
	}

	// The config at `path`, and a copy for status/down that a broken
	// config written later does not spoil.
	void write_config(const std::string &gateways)
	{
		std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n" << gateways;
		good_config = path + ".good";
		std::filesystem::copy_file(path, good_config, std::filesystem::copy_options::overwrite_existing);
	}

	// More arguments for `watch` (e.g. --metrics), set before start_watch().
	std::vector<std::string> extra_args;

	void start_watch()
	{
		pid_t pid = ::fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			// Dies with the test process, whatever ends it.
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			::setenv("NOTIFY_SOCKET", ("/tmp/" + router + ".notify").c_str(), 1);
			FILE *out = std::freopen(log_path.c_str(), "w", stderr);
			if (out)
				::dup2(::fileno(out), STDOUT_FILENO);
			std::vector<const char *> argv = {"ipsec-steer", "watch", "-c", path.c_str()};
			for (const auto &a : extra_args)
				argv.push_back(a.c_str());
			argv.push_back(nullptr);
			::execv(STEER_BINARY, const_cast<char *const *>(argv.data()));
			::_exit(127);
		}
		watch_pid = pid;
		ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << capture("cat " + log_path);
	}

	// Kills the child by its pid (never by name) and reaps it.
	std::optional<int> stop_watch(int sig, std::chrono::milliseconds wait = 3000ms)
	{
		if (watch_pid <= 0)
			return std::nullopt;
		::kill(watch_pid, sig);
		auto end = Clock::now() + wait;
		int status = 0;
		while (::waitpid(watch_pid, &status, WNOHANG) == 0) {
			if (Clock::now() > end) {
				::kill(watch_pid, SIGKILL);
				::waitpid(watch_pid, &status, 0);
				watch_pid = -1;
				return std::nullopt;
			}
			std::this_thread::sleep_for(10ms);
		}
		watch_pid = -1;
		return status;
	}

	// Our own `up` leaves notifications that come late: IPv6 duplicate
	// address detection of the new links' link-local addresses ends up
	// to 2 s later. The checks they wake would repair a fault too, hiding
	// whether the fault's own events were noticed: wait them out.
	void let_startup_settle() const
	{
		auto end = Clock::now() + 4s;
		while (Clock::now() < end && (capture("ip -n " + router + " -6 addr show tentative") != "" ||
					      capture("ip -n " + gw + " -6 addr show tentative") != ""))
			std::this_thread::sleep_for(50ms);
		std::this_thread::sleep_for(300ms);
	}

	bool watch_running() const { return watch_pid > 0 && ::waitpid(watch_pid, nullptr, WNOHANG) == 0; }

	nlohmann::json status_json() const
	{
		std::string out = capture(std::string(STEER_BINARY) + " status --json -c " + good_config + " 2>/dev/null");
		return nlohmann::json::parse(out, nullptr, false);
	}

	// Every gateway healthy by `status`, and each one's return filter on.
	bool healthy(size_t gateways = 1) const
	{
		auto doc = status_json();
		if (doc.is_discarded() || doc["gateways"].size() != gateways)
			return false;
		for (const auto &g : doc["gateways"])
			if (g["healthy"] != true || !return_filter_on(g["name"]))
				return false;
		return true;
	}

	bool return_filter_on(const std::string &name) const
	{
		Fd pinned(bpf_obj_get((bpffs + "/ipsec-steer/" + router + "/prog_return").c_str()));
		bool on = false;
		(void)ns::run_in_netns(router, [&]() -> Status {
			auto ist = ns::find_link("ist-" + name);
			if (!ist || !*ist || !pinned.valid())
				return {};
			auto q = tc_query((*ist)->ifindex, TcDirection::ingress);
			on = q && *q && **q == prog_id(pinned.get());
			return {};
		});
		return on;
	}

	// Milliseconds until `restored` holds, polled every 20 ms; nullopt
	// after 5 s. The time is printed for the record.
	std::optional<long> time_to(const std::function<bool()> &restored, const char *fault)
	{
		auto start = Clock::now();
		while (Clock::now() - start < 5s) {
			if (restored()) {
				long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
				std::printf("[ restore ] %s: %ld ms\n", fault, ms);
				RecordProperty(std::string("restore_ms_") + fault, static_cast<int>(ms));
				return ms;
			}
			std::this_thread::sleep_for(poll_every);
		}
		return std::nullopt;
	}

	void expect_restored_within_limit(const std::function<bool()> &restored, const char *fault)
	{
		auto ms = time_to(restored, fault);
		ASSERT_TRUE(ms.has_value()) << fault << ": not restored within 5 s";
		EXPECT_LT(*ms, restore_limit.count()) << fault;
	}

	Bytes esp_frame(const std::string &dst, uint32_t seq, const std::string &pub_if = "pub") const
	{
		auto mac = lab::mac_of(router, pub_if);
		EthOptions e;
		if (mac)
			std::copy_n(mac->begin(), 6, e.dst.begin());
		return PacketBuilder().eth(e).ipv4("203.0.113.2", dst).esp(test_spi, seq).build();
	}

	// One ESP frame from the peer reaches gateway `name`'s eth0.
	void expect_steered(const std::string &name, const std::string &dst = "203.0.113.1",
			    const std::string &wan = "wan0")
	{
		auto peer = lab::PacketSocket::open(ns.name("peer"), wan);
		auto inside = lab::PacketSocket::open(name, "eth0");
		ASSERT_TRUE(peer && inside);
		Bytes esp = esp_frame(dst, 7);
		ASSERT_TRUE(peer->send(esp).ok());
		auto got = inside->drain(300ms);
		EXPECT_NE(std::find(got.begin(), got.end(), esp), got.end()) << "ESP did not reach " << name;
	}

	void sh_ok(const std::string &cmd) { ASSERT_TRUE(lab::sh(cmd).ok()) << cmd; }

	static int ifindex_in(const std::string &netns, const std::string &ifname)
	{
		int ifindex = 0;
		(void)ns::run_in_netns(netns, [&]() -> Status {
			auto l = ns::find_link(ifname);
			ifindex = l && *l ? (*l)->ifindex : 0;
			return {};
		});
		return ifindex;
	}

	bool map_has_key_on(int ifindex) const
	{
		Fd gateways(bpf_obj_get((bpffs + "/ipsec-steer/" + router + "/gateways").c_str()));
		auto entries = gateways.valid() ? dump_gateways(gateways.get()) : Result<std::vector<GatewayEntry>>(std::vector<GatewayEntry>{});
		return !entries || std::any_of(entries->begin(), entries->end(), [&](const GatewayEntry &e) {
			return static_cast<int>(e.key.ifindex) == ifindex;
		});
	}

	// Rules of our table in a namespace (0 when it is missing).
	static size_t firewall_rules(const std::string &netns)
	{
		size_t n = 0;
		(void)ns::run_in_netns(netns, [&]() -> Status {
			auto live = nft::read_ruleset();
			for (const auto &r : live ? live->rules : std::vector<nft::RuleInfo>{})
				n += r.table == "ipsec_steer";
			return {};
		});
		return n;
	}

	// The first gateway's inbound packet counters by class, from `stats`.
	std::map<std::string, unsigned long long> counters() const
	{
		std::string out = capture(std::string(STEER_BINARY) + " stats --json -c " + good_config);
		auto doc = nlohmann::json::parse(out, nullptr, false);
		std::map<std::string, unsigned long long> c;
		if (doc.is_discarded())
			return c;
		for (const auto &[cls, v] : doc["gateways"][0]["in"].items())
			c[cls] = v["packets"].get<unsigned long long>();
		return c;
	}

	lab::Namespaces ns{"istw"};
	std::string router, gw, gw2, bpffs, path, good_config, log_path;
	NotifyListener notify;
	pid_t watch_pid = -1;
};

// Which router-namespace notifications wake a check: ours by name or
// ifindex, routes and rules of our protocol or tables; not a busy
// router's neighbour churn or its other links. No root needed.
TEST(WatchRelevance, OnlyOurObjectsOfARouterNamespaceWakeTheWatch)
{
	GroupFacts facts{{"pub", "ist-a"}, {2, 7}, {table_base + 5}};
	auto link = [](int ifindex, const std::string &name) {
		return ns::RtEvent{ns::RtKind::link, false, ifindex, name, 0, 0, 0};
	};
	EXPECT_TRUE(concerns_router(link(2, "pub"), facts));
	EXPECT_TRUE(concerns_router(link(9, "pub"), facts)) << "re-created or renamed into place";
	EXPECT_TRUE(concerns_router(link(7, "renamed-away"), facts));
	EXPECT_FALSE(concerns_router(link(9, "docker0"), facts));
	ns::RtEvent neigh{ns::RtKind::neighbour, true, 2, "", 0, 0, 0};
	EXPECT_FALSE(concerns_router(neigh, facts));
	ns::RtEvent route{ns::RtKind::route, true, 0, "", 0, RTPROT_BOOT, RT_TABLE_MAIN};
	EXPECT_FALSE(concerns_router(route, facts));
	route.protocol = route_protocol;
	EXPECT_TRUE(concerns_router(route, facts));
	ns::RtEvent rule{ns::RtKind::rule, true, 0, "", 0, 0, table_base + 5};
	EXPECT_TRUE(concerns_router(rule, facts));
	ns::RtEvent tc{ns::RtKind::tc, true, 7, "", 0, 0, 0};
	EXPECT_TRUE(concerns_router(tc, facts));
	tc.ifindex = 3;
	EXPECT_FALSE(concerns_router(tc, facts));
	tc.ifindex = 0;
	EXPECT_TRUE(concerns_router(tc, facts)) << "undecoded: assume it is ours";
}

TEST_F(Watch, NotifiesReadyAfterUp)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	EXPECT_TRUE(healthy()) << "READY=1 only once the state is in place";
	EXPECT_TRUE(notify.wait_for("STATUS=watching 1 gateway", 1s));
	expect_steered(gw);
}

TEST_F(Watch, PublicInterfaceDeletedAndRecreated)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	int old_ifindex = ifindex_in(router, "pub");
	sh_ok("ip -n " + router + " link del pub");
	// The moment it is gone, no entry may still name its ifindex.
	auto fenced = time_to([&] { return !map_has_key_on(old_ifindex); }, "public_interface_gone_fenced");
	ASSERT_TRUE(fenced.has_value());
	EXPECT_LT(*fenced, restore_limit.count());
	for (const std::string &step : {"link add wan0 type veth peer name pub netns " + router, std::string("link set wan0 up")})
		ASSERT_TRUE(ns.ip("peer", step).ok()) << step;
	sh_ok("ip -n " + router + " link set pub up");
	expect_restored_within_limit([&] { return healthy(); }, "public_interface_recreated");
	EXPECT_NE(ifindex_in(router, "pub"), old_ifindex);
	expect_steered(gw);
}

// An interface renamed into the configured name is the public interface
// from then on; the one renamed away keeps nothing of ours in the maps.
TEST_F(Watch, PublicInterfaceReplacedByRename)
{
	ASSERT_TRUE(ns.ip("peer", "link add wan1 type veth peer name pubnew netns " + router).ok());
	ASSERT_TRUE(ns.ip("peer", "link set wan1 up").ok());
	sh_ok("ip -n " + router + " link set pubnew up");
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	int old_ifindex = ifindex_in(router, "pub");
	sh_ok("ip -n " + router + " link set pub name pubold");
	std::this_thread::sleep_for(200ms);
	EXPECT_TRUE(watch_running());
	sh_ok("ip -n " + router + " link set pubnew name pub");
	expect_restored_within_limit([&] { return healthy() && !map_has_key_on(old_ifindex); },
				     "public_interface_renamed");
	expect_steered(gw, "203.0.113.1", "wan1");
}

TEST_F(Watch, PublicInterfaceDownAndUp)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	sh_ok("ip -n " + router + " link set pub down");
	std::this_thread::sleep_for(200ms);
	sh_ok("ip -n " + router + " link set pub up");
	expect_restored_within_limit([&] { return healthy(); }, "public_interface_down_up");
	expect_steered(gw);
}

TEST_F(Watch, GatewayNamespaceDeletedUnderneath)
{
	write_config(gateway_toml(gw, "203.0.113.1", true));
	start_watch();
	// A mark that only the old namespace carries.
	sh_ok("ip -n " + gw + " addr add 192.0.2.99/32 dev lo");
	sh_ok("ip netns del " + gw);
	expect_restored_within_limit([&] { return healthy(); }, "namespace_deleted");
	EXPECT_EQ(capture("ip -n " + gw + " addr show dev lo").find("192.0.2.99"), std::string::npos)
		<< "a new namespace";
	expect_steered(gw);
	// The watch follows the new namespace, not the one that is gone.
	sh_ok("ip -n " + gw + " neigh flush all nud permanent");
	expect_restored_within_limit([&] { return healthy(); }, "neighbour_removed_in_new_namespace");
}

TEST_F(Watch, PermanentNeighbourRemoved)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	let_startup_settle();
	sh_ok("ip -n " + gw + " neigh flush all nud permanent");
	expect_restored_within_limit([&] { return healthy(); }, "neighbour_removed");
	// Checking status between the flush and the repair races the watch
	// (it repairs in ~200 ms); its log proves it saw the fault.
	std::string log = capture("cat " + log_path);
	EXPECT_NE(log.find("PERMANENT neighbour"), std::string::npos) << log;
	expect_steered(gw);
}

TEST_F(Watch, NftTableFlushedOrDeletedByAnotherTool)
{
	write_config(gateway_toml(gw, "203.0.113.1", true));
	start_watch();
	let_startup_settle();
	const size_t rules = firewall_rules(gw);
	ASSERT_GT(rules, 0u);
	sh_ok("ip netns exec " + gw + " nft flush table inet ipsec_steer");
	expect_restored_within_limit([&] { return firewall_rules(gw) == rules; }, "nft_table_flushed");
	sh_ok("ip netns exec " + gw + " nft delete table inet ipsec_steer");
	expect_restored_within_limit([&] { return firewall_rules(gw) == rules && healthy(); }, "nft_table_deleted");
	expect_steered(gw);
}

TEST_F(Watch, OurTcFiltersDeletedByAnotherTool)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	let_startup_settle();
	sh_ok("tc -n " + router + " filter del dev pub ingress pref 1");
	expect_restored_within_limit([&] { return healthy(); }, "tc_filter_deleted_public");
	sh_ok("tc -n " + router + " filter del dev ist-" + gw + " ingress pref 1");
	expect_restored_within_limit([&] { return healthy(); }, "tc_filter_deleted_return");
	sh_ok("tc -n " + router + " qdisc del dev pub clsact");
	expect_restored_within_limit([&] { return healthy(); }, "clsact_deleted_public");
	expect_steered(gw);
}

// ESP streams while the gateway's veth is deleted: until it is back, the
// frames are dropped and counted target_missing; none is left to the
// router, and none is redirected to the deleted interface's ifindex
// (counted as steered yet never arriving) beyond the instant between the
// deletion and the watch's fence.
TEST_F(Watch, GatewayVethDeletedWhilePacketsStream)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	Fd inside = namespace_capture(gw);
	auto peer = lab::PacketSocket::open(ns.name("peer"), "wan0");
	ASSERT_TRUE(inside.valid() && peer);
	std::atomic<bool> stop{false};
	std::atomic<uint32_t> sent{0};
	std::thread streamer([&] {
		while (!stop) {
			(void)peer->send(esp_frame("203.0.113.1", sent + 1));
			sent++;
			std::this_thread::sleep_for(500us);
		}
	});
	std::this_thread::sleep_for(100ms);
	Status del = lab::sh("ip -n " + router + " link del ist-" + gw);
	auto ms = del ? time_to([&] { return healthy(); }, "gateway_veth_deleted") : std::nullopt;
	std::this_thread::sleep_for(200ms);
	stop = true;
	streamer.join();
	ASSERT_TRUE(del.ok());
	ASSERT_TRUE(ms.has_value());
	EXPECT_LT(*ms, restore_limit.count());
	auto seqs = esp_sequences(inside.get(), 300ms);
	auto stats = counters();
	std::set<uint32_t> unique(seqs.begin(), seqs.end());
	std::printf("[ stream  ] sent %u, received %zu, esp %llu, target_missing %llu, passed %llu\n",
		    sent.load(), seqs.size(), stats["esp"], stats["target_missing"], stats["passed"]);
	EXPECT_GT(stats["target_missing"], 0u);
	EXPECT_EQ(stats["passed"], 0u) << "nothing left to the router's own stack";
	EXPECT_EQ(stats["esp"] + stats["target_missing"], sent.load()) << "every frame steered or counted missing";
	EXPECT_EQ(unique.size(), seqs.size()) << "no frame delivered twice";
	EXPECT_LE(seqs.size(), stats["esp"]);
	EXPECT_LE(stats["esp"] - seqs.size(), 10u) << "frames redirected to a deleted ifindex";
	expect_steered(gw);
}

TEST_F(Watch, SighupAppliesAChangedConfig)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	write_config(gateway_toml(gw, "203.0.113.1", false) + gateway_toml(gw2, "203.0.113.3", false, 3));
	ASSERT_EQ(::kill(watch_pid, SIGHUP), 0);
	expect_restored_within_limit([&] { return healthy(2); }, "sighup_second_gateway");
	EXPECT_TRUE(notify.wait_for("RELOADING=1", 1s));
	expect_steered(gw2, "203.0.113.3");
	expect_steered(gw);
}

TEST_F(Watch, SighupWithABrokenConfigKeepsTheRunningOne)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	std::ofstream(path) << "bpffs = \"" << bpffs << "/ipsec-steer\"\n[[gateway]]\nname = \"" << gw
			    << "\"\nno_such_key = 1\n";
	ASSERT_EQ(::kill(watch_pid, SIGHUP), 0);
	ASSERT_TRUE(notify.wait_for("reload failed", 2s));
	EXPECT_TRUE(watch_running());
	std::string log = capture("cat " + log_path);
	EXPECT_NE(log.find(path + ":4:1:"), std::string::npos) << log;
	// Still watching, with the config it had.
	sh_ok("tc -n " + router + " filter del dev pub ingress pref 1");
	expect_restored_within_limit([&] { return healthy(); }, "after_broken_reload");
	EXPECT_TRUE(watch_running());
}

TEST_F(Watch, SigtermExitsZeroAndLeavesTheState)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	start_watch();
	auto status = stop_watch(SIGTERM);
	ASSERT_TRUE(status.has_value()) << "did not exit within 3 s";
	EXPECT_TRUE(WIFEXITED(*status));
	EXPECT_EQ(WEXITSTATUS(*status), 0);
	EXPECT_TRUE(notify.wait_for("STOPPING=1", 1s));
	EXPECT_TRUE(healthy()) << "down is a separate command";
}

// One scrape: the HTTP response to GET `path` from `address` ("IP:PORT").
std::string scrape(const std::string &address, const std::string &path = "/metrics")
{
	size_t colon = address.rfind(':');
	sockaddr_in to{};
	to.sin_family = AF_INET;
	to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
	inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr);
	Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) != 0)
		return "connect: " + std::string(std::strerror(errno));
	const std::string req = "GET " + path + " HTTP/1.0\r\nHost: test\r\n\r\n";
	if (::send(fd.get(), req.data(), req.size(), 0) < 0)
		return "send failed";
	std::string out;
	char buf[4096];
	for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof(buf), 0)) > 0;)
		out.append(buf, static_cast<size_t>(n));
	return out;
}

// `watch --metrics 127.0.0.1:0`: the kernel picks the port, the log says
// which; a scrape shows the steered ESP in the gateway's counters and the
// gateway namespace's XFRM error counters.
TEST_F(Watch, MetricsAreServedWhileWatching)
{
	write_config(gateway_toml(gw, "203.0.113.1", false));
	extra_args = {"--metrics", "127.0.0.1:0"};
	start_watch();
	expect_steered(gw);
	std::string log = capture("cat " + log_path);
	const std::string mark = "metrics on http://";
	size_t at = log.find(mark);
	ASSERT_NE(at, std::string::npos) << log;
	std::string address = log.substr(at + mark.size(), log.find("/metrics", at) - at - mark.size());
	std::string reply = scrape(address);
	ASSERT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << reply;
	EXPECT_NE(reply.find("# TYPE ipsec_steer_packets_total counter"), std::string::npos);
	EXPECT_NE(reply.find("# TYPE ipsec_steer_bytes_total counter"), std::string::npos);
	const std::string esp_in = "ipsec_steer_packets_total{gateway=\"" + gw + "\",class=\"esp\",direction=\"in\"} ";
	size_t line = reply.find(esp_in);
	ASSERT_NE(line, std::string::npos) << reply;
	EXPECT_GE(std::stoull(reply.substr(line + esp_in.size())), 1u) << "the steered ESP is counted";
	EXPECT_NE(reply.find("ipsec_steer_xfrm_errors_total{gateway=\"" + gw + "\",reason=\"XfrmInNoStates\"} "),
		  std::string::npos)
		<< reply;
	// Anything but /metrics is not found; the watch keeps serving.
	EXPECT_EQ(scrape(address, "/").rfind("HTTP/1.0 404 ", 0), 0u);
	EXPECT_EQ(scrape(address).rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
	EXPECT_TRUE(healthy());
}

} // namespace
} // namespace steer::test

// Environment faults (issue 6 item 5): `up` (and `down`, `check`) on a
// machine that lacks something exits 1 with the cause and the fix and
// changes nothing: a kernel-state enumeration before and after is equal,
// and gateway A, up before the fault, is untouched. What `up` can mend it
// mends: a missing bpffs is mounted, a missing bpf_redirect_peer becomes
// bpf_redirect, missing kernel BTF is not needed.
//
//   peer ns (isten<pid>-peer)    router ns (isten<pid>-rtr)          gateway ns e<pid>a
//   wan0 203.0.113.2/24 -------- pub 203.0.113.1/24 (A)
//                                    203.0.113.9/32 (B)
//                                [tc ingress: ist_ingress]
//                                ist-e<pid>a 169.254.x.1/30 -------- eth0 MAC of pub, 203.0.113.1/32
//                                ist-e<pid>b 169.254.y.1/30 -------- eth0 ... 203.0.113.9/32
//                                                                    gateway ns e<pid>b (when it may exist)
//   wan2 198.51.100.2/24 ------- pub2 198.51.100.1/24 (C)  router ns isten<pid>-rtr2
//                                ist-e<pid>c ----------------------- gateway ns e<pid>c (bpffs cases)
//
//   pins: a private bpffs at /tmp/isten<pid>-rtr-bpffs; the bpffs cases use
//   /sys/fs/bpf/ipsec-steer-e<pid>c inside a private mount namespace
//   (`unshare -m`, /run/netns left shared so the gateway namespaces made
//   there are real on the host; /sys made private before anything is
//   mounted or unmounted under it). Capabilities dropped with setpriv.
//   No redirect_peer: this kernel has it, so the documented seam
//   IPSEC_STEER_ASSUME_NO_REDIRECT_PEER=1; the test proves the frames then
//   cross ist-<gw>'s egress (bpf_redirect), which they never do with peer.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crash_run.hpp"
#include "fd.hpp"
#include "harness.hpp"
#include "lab.hpp"
#include "netns.hpp"
#include "packet_builder.hpp"
#include "plan.hpp"
#include "preflight.hpp"
#include "steer_abi.h"

namespace steer::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Lab {
	lab::Namespaces ns{"isten"};
	std::string router, router2, peer, gw_a, gw_b, gw_c, bpffs, sys_root;
	std::string cfg_a, cfg_ab, cfg_sys;
	std::string setup_error;
};

std::unique_ptr<Lab> lab_;

std::string tool()
{
	return STEER_BINARY;
}

std::string gateway_block(const std::string &name, const std::string &ifname, const std::string &address,
			  const std::string &router)
{
	return "[[gateway]]\nname = \"" + name + "\"\npublic_interface = \"" + ifname +
	       "\"\npublic_address = \"" + address + "\"\nrouter_netns = \"" + router + "\"\n";
}

// A config of gateway A plus `extra` gateway blocks, on the lab's bpffs.
std::string write_config(const std::string &path, const std::string &bpffs, const std::string &blocks)
{
	std::ofstream(path) << "bpffs = \"" << bpffs << "\"\n" << blocks;
	return path;
}

std::string ip_n(const std::string &netns, const std::string &args)
{
	return capture("ip -n " + netns + " " + args);
}

// IPv6 link-local addressing runs on its own clock after `up` (DAD ends,
// `tentative` goes, local routes appear): not ours, so left out.
std::string without_link_local(const std::string &text)
{
	std::istringstream in(text);
	std::string out;
	for (std::string line; std::getline(in, line);) {
		if (line.find("fe80::") != std::string::npos || line.find("ff00::") != std::string::npos)
			continue;
		if (size_t at = line.find("tentative "); at != std::string::npos)
			line.erase(at, 10);
		out += line + "\n";
	}
	return out;
}

// Everything `up` could have touched, as the kernel lists it. No run in
// between re-creates anything, so ids and ifindexes need no normalising.
std::string kernel_state(const Lab &l)
{
	std::string s = "== netns\n" + capture("ls /run/netns | grep -e " + l.gw_a + " -e " + l.gw_b);
	for (const std::string &n : {l.router, l.gw_a, l.gw_b}) {
		if (!fs::exists("/run/netns/" + n))
			continue;
		s += "== " + n + "\n";
		for (const char *cmd : {"-d link", "addr", "route show table all", "-6 route show table all",
					"rule", "-6 rule", "neigh show nud permanent"})
			s += std::string("-- ip ") + cmd + "\n" + without_link_local(ip_n(n, cmd));
		s += "-- nft\n" + capture("ip netns exec " + n + " nft list ruleset");
	}
	for (const std::string &dev : {std::string("pub"), "ist-" + l.gw_a, "ist-" + l.gw_b})
		s += "-- tc " + dev + "\n" + capture("tc -n " + l.router + " qdisc show dev " + dev) +
		     capture("tc -n " + l.router + " filter show dev " + dev + " ingress");
	s += "-- pins\n" + capture("cd " + l.bpffs + " && find . -printf '%M %p\\n' | sort");
	s += capture("bpftool map show pinned " + l.bpffs + "/ipsec-steer/" + l.router + "/gateways");
	s += "-- host bpffs mounts\n" + capture("grep ' /sys/fs/bpf' /proc/self/mountinfo");
	return s;
}

bool gone(const Lab &l, const std::string &gw)
{
	return !fs::exists("/run/netns/" + gw) &&
	       capture("ip -n " + l.router + " -o link show | grep ist-" + gw).empty() &&
	       capture("ip -n " + l.router2 + " -o link show | grep ist-" + gw).empty() &&
	       capture("tc -n " + l.router2 + " filter show dev pub2 ingress").empty();
}

void scrub(const Lab &l)
{
	for (const std::string &cfg : {l.cfg_ab, l.cfg_sys})
		(void)run_tool(tool(), {"down", "-c", cfg});
	for (const std::string &gw : {l.gw_a, l.gw_b, l.gw_c}) {
		lab::delete_netns(gw);
		for (const std::string &r : {l.router, l.router2})
			(void)lab::sh("ip -n " + r + " link del ist-" + gw + " 2>/dev/null");
	}
	(void)lab::sh("tc -n " + l.router2 + " qdisc del dev pub2 clsact 2>/dev/null");
	(void)lab::sh("tc -n " + l.router + " qdisc del dev pub clsact 2>/dev/null");
	fs::remove_all(l.bpffs + "/ipsec-steer");
}

Status build_topology(Lab &l)
{
	for (const char *role : {"peer", "rtr", "rtr2"})
		if (Status st = l.ns.add(role); !st)
			return st;
	l.router = l.ns.name("rtr");
	l.router2 = l.ns.name("rtr2");
	l.peer = l.ns.name("peer");
	const std::string pid = std::to_string(::getpid() % 10000000);
	l.gw_a = "e" + pid + "a";
	l.gw_b = "e" + pid + "b";
	l.gw_c = "e" + pid + "c";
	for (auto [role, args] : std::vector<std::pair<std::string, std::string>>{
		     {"peer", "link add wan0 type veth peer name pub netns " + l.router},
		     {"peer", "addr add 203.0.113.2/24 dev wan0"},
		     {"peer", "link set wan0 up"},
		     {"rtr", "addr add 203.0.113.1/24 dev pub"},
		     {"rtr", "addr add 203.0.113.9/32 dev pub"},
		     {"rtr", "link set pub up"},
		     {"peer", "link add wan2 type veth peer name pub2 netns " + l.router2},
		     {"peer", "addr add 198.51.100.2/24 dev wan2"},
		     {"peer", "link set wan2 up"},
		     {"rtr2", "addr add 198.51.100.1/24 dev pub2"},
		     {"rtr2", "link set pub2 up"}})
		if (Status st = l.ns.ip(role, args); !st)
			return st;
	l.bpffs = "/tmp/" + l.router + "-bpffs";
	fs::create_directories(l.bpffs);
	if (::mount("bpf", l.bpffs.c_str(), "bpf", 0, nullptr) != 0)
		return sys_error(errno, "mount bpffs", l.bpffs);
	const std::string pins = l.bpffs + "/ipsec-steer";
	const std::string a = gateway_block(l.gw_a, "pub", "203.0.113.1", l.router);
	const std::string b = gateway_block(l.gw_b, "pub", "203.0.113.9", l.router);
	l.cfg_a = write_config("/tmp/" + l.router + "-a.toml", pins, a);
	l.cfg_ab = write_config("/tmp/" + l.router + "-ab.toml", pins, a + b);
	// The bpffs cases use a router namespace of their own: a pin root
	// belongs to one config, and `up` sweeps the gateways of its router
	// namespaces that the config does not name.
	l.sys_root = "/sys/fs/bpf/ipsec-steer-" + l.gw_c;
	l.cfg_sys = write_config("/tmp/" + l.router + "-sys.toml", l.sys_root,
				 gateway_block(l.gw_c, "pub2", "198.51.100.1", l.router2));
	return {};
}

class EnvFault : public ::testing::Test {
protected:
	static void SetUpTestSuite()
	{
		if (::geteuid() != 0)
			return;
		lab_ = std::make_unique<Lab>();
		if (Status st = build_topology(*lab_); !st)
			lab_->setup_error = st.error().message();
	}
	static void TearDownTestSuite();
	// The earlier good state: gateway A up; `before` its enumeration.
	void SetUp() override
	{
		STEER_REQUIRE_ROOT();
		ASSERT_TRUE(lab_ && lab_->setup_error.empty()) << (lab_ ? lab_->setup_error : "");
		scrub(*lab_);
		ToolRun r = run_tool(tool(), {"up", "-c", lab_->cfg_a});
		ASSERT_TRUE(r.exited(0)) << r.describe();
		before = kernel_state(*lab_);
	}
	void TearDown() override
	{
		if (lab_ && lab_->setup_error.empty())
			scrub(*lab_);
	}
	// A run that must fail: exit 1, every `needles` in its output, and
	// the kernel exactly as before it.
	void expect_refused(const ToolRun &r, const std::vector<std::string> &needles)
	{
		EXPECT_TRUE(r.exited(1)) << r.describe();
		for (const auto &n : needles)
			EXPECT_NE(r.output.find(n), std::string::npos) << "missing \"" << n << "\" in\n" << r.output;
		EXPECT_EQ(kernel_state(*lab_), before) << "the failed run changed the kernel";
		EXPECT_TRUE(gone(*lab_, lab_->gw_b)) << "gateway B half-made";
	}
	std::string before;
};

void EnvFault::TearDownTestSuite()
{
	if (!lab_)
		return;
	scrub(*lab_);
	for (const std::string &gw : {lab_->gw_a, lab_->gw_b, lab_->gw_c})
		if (!gw.empty())
			lab::delete_netns(gw);
	if (!lab_->bpffs.empty()) {
		remove_lock_file(lab_->bpffs + "/ipsec-steer");
		remove_lock_file(lab_->sys_root);
		::umount2(lab_->bpffs.c_str(), MNT_DETACH);
		::rmdir(lab_->bpffs.c_str());
	}
	for (const std::string &f : {lab_->cfg_a, lab_->cfg_ab, lab_->cfg_sys})
		if (!f.empty())
			fs::remove(f);
	lab_.reset();
}

ToolRun setpriv(const std::vector<std::string> &opts, const std::vector<std::string> &args)
{
	std::vector<std::string> all = opts;
	all.push_back(tool());
	all.insert(all.end(), args.begin(), args.end());
	return run_tool("/usr/bin/setpriv", all);
}

// A shell script in a private mount namespace whose /run/netns stays the
// host's (so gateway namespaces made there are real), with /sys private
// before it changes anything under it.
ToolRun in_private_mounts(const std::string &script)
{
	return run_tool("/usr/bin/unshare", {"-m", "--propagation", "unchanged", "/bin/sh", "-c",
					     "mount --make-rprivate /sys || exit 99\n" + script});
}

// No /sys/fs/bpf mount is left in the private namespace (the host here
// has none; a host with one keeps it: only the copy is unmounted).
const char *unmount_bpffs = "while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf || exit 98; done\n";

TEST_F(EnvFault, MissingNetAdminIsRefusedAndChangesNothing)
{
	expect_refused(setpriv({"--inh-caps=-all", "--bounding-set=-net_admin"}, {"up", "-c", lab_->cfg_ab}),
		       {"ipsec-steer: missing CAP_NET_ADMIN", "fix: run as root, or grant CAP_NET_ADMIN"});
	expect_refused(setpriv({"--inh-caps=-all", "--bounding-set=-net_admin"}, {"down", "-c", lab_->cfg_a}),
		       {"ipsec-steer: missing CAP_NET_ADMIN"});
	expect_refused(setpriv({"--inh-caps=-all", "--bounding-set=-net_admin"}, {"check", "-c", lab_->cfg_a}),
		       {"problem: missing CAP_NET_ADMIN", "fix: run as root"});
	// `watch` refuses to start, as `up` does (a run that started would
	// be killed at the limit and fail here).
	expect_refused(setpriv({"--inh-caps=-all", "--bounding-set=-net_admin"}, {"watch", "-c", lab_->cfg_ab}),
		       {"ipsec-steer: missing CAP_NET_ADMIN", "fix: run as root, or grant CAP_NET_ADMIN"});
}

TEST_F(EnvFault, MissingBpfCapabilityIsRefusedAndChangesNothing)
{
	// CAP_SYS_ADMIN stands in for CAP_BPF, so both go.
	expect_refused(setpriv({"--inh-caps=-all", "--bounding-set=-bpf,-sys_admin"}, {"up", "-c", lab_->cfg_ab}),
		       {"missing CAP_BPF (loading and pinning", "missing CAP_SYS_ADMIN", "fix: run as root"});
}

TEST_F(EnvFault, NotRootIsRefusedAndChangesNothing)
{
	expect_refused(setpriv({"--reuid=65534", "--regid=65534", "--clear-groups"}, {"up", "-c", lab_->cfg_ab}),
		       {"ipsec-steer: not root: missing CAP_NET_ADMIN", "fix: run as root"});
}

TEST_F(EnvFault, InterfaceMissingIsRefusedAndChangesNothing)
{
	const std::string cfg = write_config("/tmp/" + lab_->router + "-if.toml", lab_->bpffs + "/ipsec-steer",
		gateway_block(lab_->gw_a, "pub", "203.0.113.1", lab_->router) +
			gateway_block(lab_->gw_b, "nosuch0", "203.0.113.9", lab_->router));
	const std::string why = cfg + ":9:20: public_interface \"nosuch0\" does not exist in namespace " +
				lab_->router + "; name an existing interface";
	expect_refused(run_tool(tool(), {"up", "-c", cfg}), {why});
	expect_refused(run_tool(tool(), {"watch", "-c", cfg}), {why});
	fs::remove(cfg);
}

TEST_F(EnvFault, AddressNotOnTheInterfaceIsRefusedAndChangesNothing)
{
	const std::string cfg = write_config("/tmp/" + lab_->router + "-ad.toml", lab_->bpffs + "/ipsec-steer",
		gateway_block(lab_->gw_a, "pub", "203.0.113.1", lab_->router) +
			gateway_block(lab_->gw_b, "pub", "203.0.113.77", lab_->router));
	expect_refused(run_tool(tool(), {"up", "-c", cfg}),
		       {"public_address 203.0.113.77 is not an address of pub in namespace " + lab_->router,
			"add it (ip addr add 203.0.113.77/<len> dev pub)"});
	expect_refused(run_tool(tool(), {"check", "-c", cfg}), {"problem: ", "is not an address of pub"});
	fs::remove(cfg);
}

// The pinned gateways map filled to its max_entries by someone else: `up`
// adds before it sweeps, so adding B would fail half-way; it is refused.
TEST_F(EnvFault, PinnedMapAtCapacityIsRefusedAndChangesNothing)
{
	const std::string pin = lab_->bpffs + "/ipsec-steer/" + lab_->router + "/gateways";
	Fd fd(bpf_obj_get(pin.c_str()));
	ASSERT_TRUE(fd.valid()) << pin;
	steer_gw_value v{};
	v.gateway_id = 4000;
	for (uint32_t i = 1; i < STEER_MAX_GATEWAYS; ++i) {
		steer_gw_key k{};
		k.ifindex = 0x7ffff000;
		k.family = STEER_FAMILY_IPV4;
		std::memcpy(&k.address, &i, sizeof(i));
		ASSERT_EQ(bpf_map_update_elem(fd.get(), &k, &v, BPF_NOEXIST), 0) << i << ": " << std::strerror(errno);
	}
	before = kernel_state(*lab_);
	expect_refused(run_tool(tool(), {"up", "-c", lab_->cfg_ab}),
		       {"ipsec-steer: map full: " + pin + " holds 65535 entries the config does not name",
			"65537 > 65536", "fix: `ipsec-steer down --all -c " + lab_->cfg_ab + "` then `up`"});
	expect_refused(run_tool(tool(), {"check", "-c", lab_->cfg_ab}), {"problem: map full"});
	// What the message says mends it.
	ToolRun down = run_tool(tool(), {"down", "--all", "-c", lab_->cfg_ab});
	ASSERT_TRUE(down.exited(0)) << down.describe();
	ToolRun up = run_tool(tool(), {"up", "-c", lab_->cfg_ab});
	EXPECT_TRUE(up.exited(0)) << up.describe();
}

TEST_F(EnvFault, BpffsNotMountedIsMountedByUp)
{
	const std::string b = STEER_BINARY, cfg = lab_->cfg_sys;
	ToolRun r = in_private_mounts(std::string(unmount_bpffs) + "mountpoint -q /sys/fs/bpf && exit 97\n" + b +
				      " up -c " + cfg + "; echo up=$?\nmountpoint /sys/fs/bpf\n" + b + " status -c " +
				      cfg + "; echo status=$?\n" + b + " down -c " + cfg + "; echo down=$?\n");
	EXPECT_TRUE(r.exited(0)) << r.describe();
	for (const char *n : {"no bpf filesystem was mounted at /sys/fs/bpf: mounted one", "up=0",
			      "/sys/fs/bpf is a mountpoint", "healthy", "status=0", "down=0"})
		EXPECT_NE(r.output.find(n), std::string::npos) << n << " in\n" << r.output;
	EXPECT_EQ(kernel_state(*lab_), before) << "A was touched, or a bpffs mount reached the host";
	EXPECT_TRUE(gone(*lab_, lab_->gw_c));
}

TEST_F(EnvFault, BpffsThatCannotBeMountedIsRefusedAndChangesNothing)
{
	// A read-only, empty /sys/fs: no /sys/fs/bpf to mount on, none makeable.
	const std::string b = STEER_BINARY;
	ToolRun r = in_private_mounts(std::string(unmount_bpffs) + "mount -t tmpfs -o ro,size=64k none /sys/fs || exit 96\n" +
				      b + " up -c " + lab_->cfg_sys + "; echo up=$?\n");
	EXPECT_TRUE(r.exited(0)) << r.describe();
	for (const char *n : {"ipsec-steer: no bpf filesystem at /sys/fs/bpf, and mounting one there failed: "
			      "No such file or directory; fix: mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf",
			      "up=1"})
		EXPECT_NE(r.output.find(n), std::string::npos) << n << " in\n" << r.output;
	EXPECT_EQ(kernel_state(*lab_), before);
	EXPECT_TRUE(gone(*lab_, lab_->gw_c));
}

// An AF_PACKET socket on a router-side interface that keeps only what the
// interface sends (PACKET_OUTGOING): bpf_redirect to ist-<gw> goes out of
// it, bpf_redirect_peer skips it.
struct OutgoingTap {
	Fd fd;
	static OutgoingTap open(const std::string &netns, const std::string &ifname)
	{
		OutgoingTap t;
		(void)ns::run_in_netns(netns, [&]() -> Status {
			t.fd.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
			sockaddr_ll sll{};
			sll.sll_family = AF_PACKET;
			sll.sll_protocol = htons(ETH_P_ALL);
			sll.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
			if (::bind(t.fd.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) != 0)
				t.fd.reset(-1);
			return {};
		});
		return t;
	}
	// Outgoing ESP frames seen until 300 ms pass without any frame.
	int esp_out()
	{
		int n = 0;
		uint8_t buf[2048];
		for (pollfd p{fd.get(), POLLIN, 0}; ::poll(&p, 1, 300) == 1;) {
			sockaddr_ll from{};
			socklen_t len = sizeof(from);
			ssize_t got = ::recvfrom(fd.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&from), &len);
			n += got > 23 && from.sll_pkttype == PACKET_OUTGOING && buf[12] == 0x08 && buf[13] == 0 &&
			     buf[23] == ipproto::esp;
		}
		return n;
	}
};

// Sends `count` ESP frames from the peer to `dst`; how many reached the
// gateway's eth0, and how many left ist-<gw> on the way.
std::pair<int, int> send_esp(const Lab &l, const std::string &gw, const std::string &dst, int count)
{
	auto peer = lab::PacketSocket::open(l.peer, "wan0");
	auto inside = lab::PacketSocket::open(gw, "eth0");
	OutgoingTap tap = OutgoingTap::open(l.router, "ist-" + gw);
	auto pub_mac = lab::mac_of(l.router, "pub"), peer_mac = lab::mac_of(l.peer, "wan0");
	if (!peer || !inside || !tap.fd.valid() || !pub_mac || !peer_mac)
		return {-1, -1};
	std::vector<Bytes> sent;
	for (int i = 0; i < count; ++i) {
		EthOptions e;
		std::copy_n(pub_mac->begin(), 6, e.dst.begin());
		std::copy_n(peer_mac->begin(), 6, e.src.begin());
		PacketBuilder b;
		sent.push_back(b.eth(e).ipv4("203.0.113.2", dst).esp(0x5000 + i, 1).build());
		(void)peer->send(sent.back());
	}
	int arrived = 0;
	for (const auto &f : inside->drain(300ms))
		arrived += std::find(sent.begin(), sent.end(), f) != sent.end();
	return {arrived, tap.esp_out()};
}

std::string redirect_of(const std::string &cfg, const std::string &gw)
{
	auto doc = nlohmann::json::parse(run_tool(STEER_BINARY, {"status", "--json", "-c", cfg}).output, nullptr, false);
	if (doc.is_discarded())
		return "unreadable";
	for (const auto &g : doc["gateways"])
		if (g["name"] == gw)
			return g.value("redirect", "absent");
	return "no such gateway";
}

TEST_F(EnvFault, NoRedirectPeerFallsBackToPlainRedirectAndSteers)
{
	ToolRun up = run_tool(tool(), {"up", "-c", lab_->cfg_ab}, {"", {"IPSEC_STEER_ASSUME_NO_REDIRECT_PEER=1"}});
	ASSERT_TRUE(up.exited(0)) << up.describe();
	EXPECT_NE(up.output.find("the kernel has no bpf_redirect_peer (Linux >= 5.10): gateways " + lab_->gw_a +
				 ", " + lab_->gw_b + " use bpf_redirect instead"),
		  std::string::npos) << up.output;
	EXPECT_EQ(redirect_of(lab_->cfg_ab, lab_->gw_a), "plain");
	EXPECT_EQ(redirect_of(lab_->cfg_ab, lab_->gw_b), "plain");
	ToolRun status = run_tool(tool(), {"status", "-c", lab_->cfg_ab});
	EXPECT_TRUE(status.exited(0)) << status.describe();
	EXPECT_NE(status.output.find("redirect plain: kernel lacks bpf_redirect_peer"), std::string::npos) << status.output;
	// The verifier dropped the call (redirect_peer_ok = 0 in rodata), so a
	// kernel without the helper loads this program.
	const std::string prog = lab_->bpffs + "/ipsec-steer/" + lab_->router + "/prog_ingress";
	std::string xlated = capture("bpftool prog dump xlated pinned " + prog);
	EXPECT_NE(xlated.find("bpf_redirect#"), std::string::npos) << xlated.substr(0, 2000);
	EXPECT_EQ(xlated.find("bpf_redirect_peer#"), std::string::npos)
		<< "the helper call is still in the program:\n" << capture("bpftool prog dump xlated pinned " + prog + " | grep -n -B3 bpf_redirect_peer#");
	auto [arrived, out] = send_esp(*lab_, lab_->gw_b, "203.0.113.9", 20);
	EXPECT_EQ(arrived, 20) << "plain redirect must steer";
	EXPECT_EQ(out, 20) << "bpf_redirect sends through ist-'s egress";
	// Control: with the helper (no seam) the same frames skip that egress.
	ToolRun again = run_tool(tool(), {"up", "-c", lab_->cfg_ab});
	ASSERT_TRUE(again.exited(0)) << again.describe();
	EXPECT_EQ(redirect_of(lab_->cfg_ab, lab_->gw_b), "peer");
	EXPECT_NE(capture("bpftool prog dump xlated pinned " + prog).find("bpf_redirect_peer#"), std::string::npos);
	auto [arrived_peer, out_peer] = send_esp(*lab_, lab_->gw_b, "203.0.113.9", 20);
	EXPECT_EQ(arrived_peer, 20);
	EXPECT_EQ(out_peer, 0);
}

TEST_F(EnvFault, NoKernelBtfIsNotNeeded)
{
	const std::string b = STEER_BINARY;
	// libbpf's fallbacks for vmlinux BTF hidden too, where they exist.
	ToolRun r = in_private_mounts("mount -t tmpfs -o ro,size=64k none /sys/kernel/btf || exit 95\n"
				      "for d in /boot /lib/modules /usr/lib/modules /usr/lib/debug/boot; do\n"
				      "  [ -d $d ] && { mount -t tmpfs -o ro,size=64k none $d || exit 93; }\ndone\n"
				      "test -e /sys/kernel/btf/vmlinux && exit 94\n" + b + " check -c " + lab_->cfg_ab +
				      "; echo check=$?\n" + b + " up -c " + lab_->cfg_ab + "; echo up=$?\n");
	EXPECT_TRUE(r.exited(0)) << r.describe();
	for (const char *n : {"note: no kernel BTF (/sys/kernel/btf/vmlinux): not needed", "up=0"})
		EXPECT_NE(r.output.find(n), std::string::npos) << n << " in\n" << r.output;
	EXPECT_EQ(r.output.find("problem:"), std::string::npos) << r.output;
	ToolRun status = run_tool(tool(), {"status", "-c", lab_->cfg_ab});
	EXPECT_TRUE(status.exited(0)) << status.describe();
	auto [arrived, out] = send_esp(*lab_, lab_->gw_b, "203.0.113.9", 10);
	EXPECT_EQ(arrived, 10);
}

// The arithmetic of the capacity check, which needs no root: `up` adds
// every wanted key before it sweeps the stale ones, so both count.
TEST(EnvFaultCapacity, WantedAndStaleEntriesMustFitTogether)
{
	EXPECT_TRUE(fits(0, STEER_MAX_GATEWAYS, STEER_MAX_GATEWAYS));
	EXPECT_FALSE(fits(0, STEER_MAX_GATEWAYS + 1, STEER_MAX_GATEWAYS));
	EXPECT_TRUE(fits(STEER_MAX_GATEWAYS - 2, 2, STEER_MAX_GATEWAYS));
	EXPECT_FALSE(fits(STEER_MAX_GATEWAYS - 1, 2, STEER_MAX_GATEWAYS));
}

} // namespace
} // namespace steer::test

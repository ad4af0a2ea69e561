#include "ike_lab.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <bpf/bpf.h>

#include "netns.hpp"
#include "pins.hpp"
#include "tc_attach.hpp"

#ifndef IKE_TOOLS_DIR
#error "IKE_TOOLS_DIR must name tools/ike"
#endif

namespace steer::ike {

namespace {

using namespace std::chrono_literals;

std::string mac_text(const std::vector<uint8_t> &mac)
{
	char buf[18];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		      mac[3], mac[4], mac[5]);
	return buf;
}

// Writes /proc/sys/<key> inside `netns` (keys as sysctl(8) spells them).
Status sysctl(const std::string &netns, const std::string &key, const std::string &value)
{
	std::string path = "/proc/sys/" + key;
	for (auto &c : path)
		if (c == '.')
			c = '/';
	return ns::run_in_netns(netns, [&]() -> Status {
		std::ofstream f(path);
		f << value << '\n';
		f.close();
		return f ? Status{} : plain_error("write sysctl " + key + "=" + value, netns);
	});
}

Result<int> ifindex_in(const std::string &netns, const std::string &ifname)
{
	int idx = 0;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		idx = static_cast<int>(::if_nametoindex(ifname.c_str()));
		return idx ? Status{} : sys_error(errno, "no such interface", netns + "/" + ifname);
	});
	if (!st)
		return st.error();
	return idx;
}

std::string quote(const std::string &s)
{
	std::string out = "'";
	for (char c : s)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

} // namespace

std::string tools_dir()
{
	if (const char *d = std::getenv("IKE_TOOLS_DIR"))
		return d;
	return IKE_TOOLS_DIR;
}

std::string strongswan_missing()
{
	std::string missing;
	const char *charon = std::getenv("CHARON");
	std::string charon_path = charon ? charon : "/usr/lib/ipsec/charon";
	if (::access(charon_path.c_str(), X_OK) != 0)
		missing += " " + charon_path + " (strongswan-charon)";
	if (std::system("command -v swanctl >/dev/null 2>&1") != 0)
		missing += " swanctl (strongswan-swanctl)";
	if (::access("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so", R_OK) != 0)
		missing += " kernel-libipsec plugin (libcharon-extra-plugins)";
	if (::access("/dev/net/tun", R_OK | W_OK) != 0)
		missing += " /dev/net/tun";
	return missing.empty() ? "" : missing.substr(1);
}

Result<std::string> capture(const std::string &cmd)
{
	FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return sys_error(errno, "popen", cmd);
	std::string out;
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	int rc = ::pclose(p);
	if (rc != 0)
		return plain_error("command failed (status " + std::to_string(rc) + "): " + out, cmd);
	return out;
}

// ---- Child -----------------------------------------------------------------

Result<std::unique_ptr<Child>> Child::spawn(const std::vector<std::string> &argv,
					    const std::string &log)
{
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	std::fflush(nullptr);
	pid_t pid = ::fork();
	if (pid < 0)
		return sys_error(errno, "fork", argv[0]);
	if (pid == 0) {
		int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (out < 0 || in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)
			::_exit(126);
		::execvp(args[0], args.data());
		::_exit(127);
	}
	return std::unique_ptr<Child>(new Child(pid));
}

int Child::stop(int sig, int timeout_ms)
{
	if (pid_ <= 0)
		return -1;
	::kill(pid_, sig);
	int status = 0;
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = ::waitpid(pid_, &status, WNOHANG);
		if (r == pid_ || (r < 0 && errno == ECHILD)) {
			pid_ = 0;
			return status;
		}
		std::this_thread::sleep_for(10ms);
	}
	::kill(pid_, SIGKILL);
	::waitpid(pid_, &status, 0);
	pid_ = 0;
	return -1;
}

Child::~Child()
{
	if (pid_ > 0) {
		::kill(pid_, SIGKILL);
		::waitpid(pid_, nullptr, 0);
	}
}

// ---- TwoSiteLab ------------------------------------------------------------

TwoSiteLab::TwoSiteLab(TwoSiteOptions opts) : opts_(std::move(opts)), ns_(opts_.prefix)
{
	dir_ = "/tmp/" + ns_.name("lab");
	conf_dirs_ = {dir_ + "/a", dir_ + "/b"};
	bpffs_ = dir_ + "/bpffs";
}

TwoSiteLab::~TwoSiteLab()
{
	// charon runs inside its gateway namespace: ns_ kills it (by pid) when
	// it deletes the namespaces, after this body.
	for (auto &s : steer_)
		s.reset();
	std::error_code ec;
	if (std::filesystem::exists(bpffs_, ec))
		::umount2(bpffs_.c_str(), MNT_DETACH);
	std::filesystem::remove_all(dir_, ec);
}

Status TwoSiteLab::in_ns(const std::string &netns, const std::string &cmd) const
{
	return lab::sh("ip netns exec " + netns + " " + cmd);
}

std::string TwoSiteLab::connection(Side s) const
{
	std::string name = site(other(s)).public_address;
	for (auto &c : name)
		if (c == '.' || c == ':')
			c = '-';
	return name;
}

// A lab whose process was SIGKILLed (a ctest timeout) ran no destructor:
// remove the namespaces and directory of labs of this prefix whose pid is
// gone. Only our own role names are touched; a live pid is never touched.
static void sweep_dead_labs(const std::string &prefix)
{
	namespace fs = std::filesystem;
	const std::set<std::string> roles = {"ra", "rb", "la", "lb", "a", "b", "lab"};
	auto dead_lab = [&](const std::string &name) {
		if (name.rfind(prefix, 0) != 0)
			return false;
		size_t dash = name.find('-', prefix.size());
		std::string pid = name.substr(prefix.size(), dash - prefix.size());
		if (dash == std::string::npos || pid.empty() ||
		    pid.find_first_not_of("0123456789") != std::string::npos ||
		    !roles.count(name.substr(dash + 1)))
			return false;
		return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
	};
	std::error_code ec;
	for (const auto &e : fs::directory_iterator("/run/netns", ec))
		if (dead_lab(e.path().filename().string()))
			lab::delete_netns(e.path().filename().string());
	for (const auto &e : fs::directory_iterator("/tmp", ec))
		if (dead_lab(e.path().filename().string())) {
			::umount2((e.path() / "bpffs").c_str(), MNT_DETACH);
			fs::remove_all(e.path(), ec);
		}
}

Status TwoSiteLab::build()
{
	sweep_dead_labs(opts_.prefix);
	std::error_code ec;
	if (!std::filesystem::create_directories(dir_, ec) && ec)
		return sys_error(ec.value(), "create lab directory", dir_);
	for (const char *role : {"ra", "rb", "la", "lb", "a", "b"})
		if (Status st = ns_.add(role); !st)
			return st;
	// The lab's own namespaces speak IPv4 only, so the internet capture
	// holds nothing but what the sites exchange (no router solicitations,
	// MLD or DAD). The gateways keep IPv6 as `up` leaves it.
	for (const char *role : {"ra", "rb", "la", "lb"})
		for (const char *key : {"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"})
			if (Status st = sysctl(ns_.name(role), key, "1"); !st)
				return st;
	// The internet: one veth pair, `pub` on both routers.
	if (Status st = ns_.ip("ra", "link add pub type veth peer name pub netns " + router_ns(Side::b)); !st)
		return st;
	for (Side s : {Side::a, Side::b}) {
		if (Status st = build_router_and_lan(s); !st)
			return st;
		if (Status st = build_gateway_by_hand(s); !st)
			return st;
		if (Status st = attach_steering(s); !st)
			return st;
	}
	return {};
}

Status TwoSiteLab::build_router_and_lan(Side s)
{
	const SiteAddresses &a = site(s);
	const std::string r = s == Side::a ? "ra" : "rb", l = s == Side::a ? "la" : "lb";
	const std::vector<std::pair<std::string, std::string>> steps = {
		{r, "addr add " + a.public_address + "/24 dev pub"},
		{r, "link set pub up"},
		{r, "link add lan type veth peer name eth0 netns " + lan_ns(s)},
		{r, "addr add " + a.router_lan() + "/24 dev lan"},
		{r, "link set lan up"},
		{l, "addr add " + a.host() + "/24 dev eth0"},
		{l, "link set eth0 up"},
		{l, "route add default via " + a.router_lan()},
	};
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	return sysctl(router_ns(s), "net.ipv4.ip_forward", "1");
}

// What `ipsec-steer up` does for gateway_config(s), with attach_steering();
// the two functions to replace when `up` lands.
Status TwoSiteLab::build_gateway_by_hand(Side s)
{
	const SiteAddresses &a = site(s);
	const SiteAddresses &remote = site(other(s));
	const std::string r = s == Side::a ? "ra" : "rb", g = s == Side::a ? "a" : "b";
	const std::string ist = gateway_link(s), gw = gateway_ns(s), router = router_ns(s);
	if (Status st = ns_.ip(r, "link add " + ist + " type veth peer name eth0 netns " + gw); !st)
		return st;
	auto pub_mac = lab::mac_of(router, "pub");
	auto ist_mac = lab::mac_of(router, ist);
	if (!pub_mac || !ist_mac)
		return pub_mac ? ist_mac.error() : pub_mac.error();
	// Inside: forward, no reverse-path filter (decrypted packets come in
	// on ipsec0), no DAD on eth0 (it shares pub's MAC).
	for (const char *key : {"net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter",
				"net.ipv4.conf.default.rp_filter", "net.ipv4.conf.eth0.rp_filter",
				"net.ipv6.conf.eth0.accept_dad"})
		if (Status st = sysctl(gw, key, std::string(key).find("forward") != std::string::npos ? "1" : "0"); !st)
			return st;
	const std::vector<std::pair<std::string, std::string>> steps = {
		// MAC before the permanent neighbour: a MAC change flushes it.
		{g, "link set eth0 address " + mac_text(*pub_mac)},
		{g, "addr add " + a.public_address + "/32 dev eth0"},
		{g, "addr add " + a.gateway_link() + "/30 dev eth0"},
		{g, "link set eth0 up"},
		// The router ignores ARP whose sender is its own address P.
		{g, "neigh replace " + a.router_link() + " lladdr " + mac_text(*ist_mac) +
			    " dev eth0 nud permanent"},
		{g, "route add default via " + a.router_link() + " dev eth0"},
		// ICMP errors about cleartext leave with the link address, not P.
		{g, "route add " + a.subnet() + " via " + a.router_link() + " dev eth0 src " +
			    a.gateway_link()},
		{r, "addr add " + a.router_link() + "/30 dev " + ist},
		{r, "link set " + ist + " up"},
		{r, "rule add from " + a.subnet() + " to " + remote.subnet() + " lookup " +
			    std::to_string(a.table) + " pref 5491"},
		{r, "route add " + remote.subnet() + " via " + a.gateway_link() + " dev " + ist +
			    " table " + std::to_string(a.table)},
	};
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	if (opts_.egress == Egress::bpf)
		return {}; // steer_return sends them out before the router's stack sees them
	// egress = "route": the gateway's packets carry P, the router's own
	// address, as source: accept it on this link, and check the reverse
	// path loosely (strict fails: P's reverse path is local; 0 is not
	// enough when the router's conf.all.rp_filter is 1, the max wins).
	if (Status st = sysctl(router, "net.ipv4.conf." + ist + ".accept_local", "1"); !st)
		return st;
	return sysctl(router, "net.ipv4.conf." + ist + ".rp_filter", "2");
}

Status TwoSiteLab::attach_steering(Side s)
{
	if (!std::filesystem::exists(bpffs_ + "/ipsec-steer")) {
		std::error_code ec;
		std::filesystem::create_directories(bpffs_, ec);
		if (::mount("bpf", bpffs_.c_str(), "bpf", 0, nullptr) != 0)
			return sys_error(errno, "mount bpffs", bpffs_);
		std::filesystem::create_directories(bpffs_ + "/ipsec-steer", ec);
	}
	const std::string router = router_ns(s);
	std::string pins = pin_dir(bpffs_ + "/ipsec-steer", router);
	if (Status st = ensure_pin_dir(pins); !st)
		return st;
	auto pub = ifindex_in(router, "pub");
	auto target = ifindex_in(router, gateway_link(s));
	if (!pub || !target)
		return pub ? target.error() : pub.error();
	auto obj = SteerObject::load({pins, 64, false});
	if (!obj)
		return obj.error();
	steer_[idx(s)] = std::move(*obj);
	steer_gw_key key{};
	key.ifindex = static_cast<uint32_t>(*pub);
	key.family = STEER_FAMILY_IPV4;
	inet_pton(AF_INET, site(s).public_address.c_str(), &key.address.addr[0]);
	steer_gw_value value{static_cast<uint32_t>(*target),
			     STEER_F_ESP | STEER_F_IKE | STEER_F_NATT | STEER_F_ICMP | STEER_F_FRAGMENTS,
			     opts_.ike_port, opts_.natt_port, gateway_id};
	SteerObject &o = *steer_[idx(s)];
	if (Status st = put_gateway(o.gateways_fd(), o.ports_fd(), key, value); !st)
		return st;
	if (opts_.egress == Egress::bpf) {
		steer_return_value ret{};
		ret.out_ifindex = static_cast<uint32_t>(*pub);
		ret.flags = value.flags;
		ret.ike_port = opts_.ike_port;
		ret.natt_port = opts_.natt_port;
		ret.gateway_id = gateway_id;
		ret.family = STEER_FAMILY_IPV4;
		ret.address = key.address;
		uint32_t ist = static_cast<uint32_t>(*target);
		if (bpf_map_update_elem(o.returns_fd(), &ist, &ret, BPF_ANY) != 0)
			return sys_error(errno, "update returns map", gateway_link(s));
	}
	return ns::run_in_netns(router, [&]() -> Status {
		if (opts_.egress == Egress::bpf)
			if (Status st = tc_attach(*target, TcDirection::ingress, o.return_fd()); !st)
				return st;
		return tc_attach(*pub, TcDirection::ingress, o.ingress_fd());
	});
}

Result<ClassCounters> TwoSiteLab::counters_out(Side s) const
{
	if (!steer_[idx(s)])
		return plain_error("steering not loaded", router_ns(s));
	return read_counters(steer_[idx(s)]->stats_out_fd(), gateway_id);
}

Result<ClassCounters> TwoSiteLab::counters(Side s) const
{
	if (!steer_[idx(s)])
		return plain_error("steering not loaded", router_ns(s));
	return read_counters(steer_[idx(s)]->stats_fd(), gateway_id);
}

std::string TwoSiteLab::gateway_config(Side s) const
{
	const SiteAddresses &a = site(s);
	std::ostringstream o;
	o << "bpffs = \"" << bpffs_ << "/ipsec-steer\"\n\n"
	  << "[[gateway]]\n"
	  << "name = \"" << gateway_ns(s) << "\"\n"
	  << "router_netns = \"" << router_ns(s) << "\"\n"
	  << "public_interface = \"pub\"\n"
	  << "public_address = \"" << a.public_address << "\"\n"
	  << "link = \"" << a.link_prefix << ".0/30\"\n"
	  << "ike_ports = [" << opts_.ike_port << ", " << opts_.natt_port << "]\n"
	  << "egress = \"" << (opts_.egress == Egress::bpf ? "bpf" : "route") << "\"\n"
	  << "routes = [ { local = \"" << a.subnet() << "\", remote = \""
	  << site(other(s)).subnet() << "\" } ]\n";
	return o.str();
}

// ---- IKE -------------------------------------------------------------------

Status TwoSiteLab::start_ike()
{
	const std::string tools = tools_dir();
	for (Side s : {Side::a, Side::b}) {
		const SiteAddresses &a = site(s);
		const SiteAddresses &remote = site(other(s));
		std::string site_cmd = quote(tools + "/site.sh") + " -d " + quote(conf_dir(s)) + " -l " +
				       a.public_address + " -r " + remote.public_address + " -L " +
				       a.subnet() + " -R " + remote.subnet() + " -k " + quote(opts_.psk) + " -a " + a.gateway_lan() +
				       " -p " + std::to_string(opts_.ike_port) + "," +
				       std::to_string(opts_.natt_port) + " >/dev/null";
		if (Status st = lab::sh(site_cmd); !st)
			return st;
		auto pid = capture(quote(tools + "/charon-in-netns.sh") + " " + gateway_ns(s) + " " +
				   quote(conf_dir(s)));
		if (!pid)
			return pid.error();
		charon_[idx(s)] = static_cast<pid_t>(std::stol(*pid));
	}
	return {};
}

Status TwoSiteLab::swanctl(Side s, const std::string &args) const
{
	auto out = capture("swanctl " + args + " --uri " + vici_uri(s));
	if (!out)
		return plain_error(out.error().message() + "\n--- charon.log:\n" +
				   capture("tail -n 30 " + quote(conf_dir(s) + "/charon.log")).value());
	return {};
}

Result<int> TwoSiteLab::ike_sa_count(Side s) const
{
	// --raw prints one line per vici event: one list-sa event per IKE_SA.
	auto out = capture("swanctl --list-sas --raw --uri " + vici_uri(s));
	if (!out)
		return out.error();
	int n = 0;
	std::istringstream in(*out);
	for (std::string line; std::getline(in, line);)
		if (line.rfind("list-sa event", 0) == 0)
			n++;
	return n;
}

Status TwoSiteLab::initiate(Side s)
{
	if (Status st = swanctl(s, "--initiate --child " + connection(s) + " --timeout 20"); !st)
		return st;
	// The responder installs its CHILD_SA before it answers IKE_AUTH.
	for (Side x : {s, other(s)}) {
		auto out = capture("swanctl --list-sas --raw --uri " + vici_uri(x));
		if (!out)
			return out.error();
		if (out->find("state=INSTALLED") == std::string::npos)
			return plain_error("no installed CHILD_SA after initiate: " + *out, gateway_ns(x));
	}
	return {};
}

Status TwoSiteLab::terminate(Side s)
{
	if (Status st = swanctl(s, "--terminate --ike " + connection(s) + " --timeout 10"); !st)
		return st;
	for (int i = 0; i < 100; i++) {
		auto mine = ike_sa_count(s), theirs = ike_sa_count(other(s));
		if (!mine || !theirs)
			return mine ? theirs.error() : mine.error();
		if (*mine == 0 && *theirs == 0)
			return {};
		std::this_thread::sleep_for(50ms);
	}
	return plain_error("IKE_SA still listed 5 s after terminate", gateway_ns(s));
}

} // namespace steer::ike

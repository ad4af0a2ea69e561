#include "ike_lab.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "netns.hpp"

#ifndef IKE_TOOLS_DIR
#error "IKE_TOOLS_DIR must name tools/ike"
#endif
#ifndef IPSEC_STEER_BIN
#error "IPSEC_STEER_BIN must name the ipsec-steer binary"
#endif

namespace steer::ike {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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

std::string read_text(const std::string &path)
{
	std::ifstream f(path);
	return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// What one run of the tool printed, and how it ended.
struct ToolRun {
	int status = 0; // as pclose() returns it
	std::string out, err;
	std::string why(const std::string &cmd) const
	{
		return "`" + cmd + "` exited with status " + std::to_string(status) + ": " + err;
	}
};

ToolRun run_tool(const std::string &cmd, const std::string &err_file)
{
	ToolRun r;
	std::fflush(nullptr);
	FILE *p = ::popen((cmd + " 2>" + quote(err_file)).c_str(), "r");
	if (!p) {
		r.status = -1;
		r.err = std::strerror(errno);
		return r;
	}
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	r.status = ::pclose(p);
	r.err = read_text(err_file);
	return r;
}

} // namespace

std::string quote(const std::string &s)
{
	std::string out = "'";
	for (char c : s)
		out += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return out + "'";
}

std::array<SiteAddresses, 2> lab_addresses(Family f)
{
	if (f == Family::ipv4)
		return {SiteAddresses{"198.51.100.1", 24, "10.1.0.0/24", "10.1.0.1", "10.1.0.2", "10.1.0.254",
				      "169.254.1.0/30"},
			SiteAddresses{"198.51.100.2", 24, "10.2.0.0/24", "10.2.0.1", "10.2.0.2", "10.2.0.254",
				      "169.254.2.0/30"}};
	return {SiteAddresses{"2001:db8:1::1", 64, "fd00:1::/64", "fd00:1::1", "fd00:1::2", "fd00:1::fe",
			      "fd00:ff:1::/127"},
		SiteAddresses{"2001:db8:1::2", 64, "fd00:2::/64", "fd00:2::1", "fd00:2::2", "fd00:2::fe",
			      "fd00:ff:2::/127"}};
}

std::string default_ipsec_steer()
{
	if (const char *p = std::getenv("IPSEC_STEER"))
		return p;
	return IPSEC_STEER_BIN;
}

std::string tools_dir()
{
	if (const char *d = std::getenv("IKE_TOOLS_DIR"))
		return d;
	return IKE_TOOLS_DIR;
}

std::string strongswan_missing(const std::string &ipsec_steer)
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
	if (::access(ipsec_steer.c_str(), X_OK) != 0)
		missing += " " + ipsec_steer + " (build it)";
	return missing.empty() ? "" : missing.substr(1);
}

std::string UdpInput::text() const
{
	return "delivered " + std::to_string(delivered) + ", no port " + std::to_string(no_port) +
	       ", errors " + std::to_string(errors);
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

TwoSiteLab::TwoSiteLab(TwoSiteOptions opts)
	: opts_(std::move(opts)), sites_(lab_addresses(opts_.family)), ns_(opts_.prefix)
{
	dir_ = "/tmp/" + ns_.name("lab");
	bpffs_mount_ = dir_ + "/bpffs";
}

TwoSiteLab::~TwoSiteLab()
{
	(void)teardown();
	// Whatever teardown() could not remove: the gateways' namespaces
	// (with any process left in them); ns_ then deletes the routers' and
	// LANs' (and with them every ist-* link) after this body.
	for (Side s : {Side::a, Side::b})
		lab::delete_netns(gateway_ns(s));
	std::error_code ec;
	if (bpffs_mounted_)
		::umount2(bpffs_mount_.c_str(), MNT_DETACH);
	std::filesystem::remove_all(dir_, ec);
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
	if (!std::filesystem::create_directories(bpffs_mount_, ec) && ec)
		return sys_error(ec.value(), "create lab directory", bpffs_mount_);
	// A private bpffs: the lab's pins never meet /sys/fs/bpf's.
	if (::mount("bpf", bpffs_mount_.c_str(), "bpf", 0, "mode=0700") != 0)
		return sys_error(errno, "mount bpffs", bpffs_mount_);
	bpffs_mounted_ = true;
	for (const char *role : {"ra", "rb", "la", "lb"})
		if (Status st = ns_.add(role); !st)
			return st;
	const bool v6 = opts_.family == Family::ipv6;
	for (const char *role : {"ra", "rb", "la", "lb"}) {
		// IPv4 lab: the namespaces speak IPv4 only, so the internet
		// capture holds nothing but what the sites exchange (no router
		// solicitations, MLD or DAD). IPv6 lab: no DAD (no 1 s wait
		// for addresses to become usable), routers forward.
		std::vector<std::pair<std::string, std::string>> keys;
		if (v6)
			keys = {{"net.ipv6.conf.all.accept_dad", "0"}, {"net.ipv6.conf.default.accept_dad", "0"}};
		else
			keys = {{"net.ipv6.conf.all.disable_ipv6", "1"}, {"net.ipv6.conf.default.disable_ipv6", "1"}};
		if (role[0] == 'r')
			keys.push_back({v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward", "1"});
		for (const auto &[key, value] : keys)
			if (Status st = sysctl(ns_.name(role), key, value); !st)
				return st;
	}
	// The internet: one veth pair, `pub` on both routers.
	if (Status st = ns_.ip("ra", "link add pub type veth peer name pub netns " + router_ns(Side::b)); !st)
		return st;
	for (Side s : {Side::a, Side::b})
		if (Status st = build_router_and_lan(s); !st)
			return st;
	// The gateways: the tool's job from here on.
	for (Side s : {Side::a, Side::b}) {
		std::ofstream f(config_file(s));
		f << gateway_config(s);
		f.close();
		if (!f)
			return plain_error("cannot write", config_file(s));
	}
	down_needed_ = true; // from here on, teardown() runs `down`
	const auto start = Clock::now();
	for (Side s : {Side::a, Side::b})
		if (auto r = steer(s, "up"); !r)
			return r.error();
	up_time_ = Clock::now() - start;
	return {};
}

Status TwoSiteLab::build_router_and_lan(Side s)
{
	const SiteAddresses &a = site(s);
	const std::string r = s == Side::a ? "ra" : "rb", l = s == Side::a ? "la" : "lb";
	const std::string nodad = opts_.family == Family::ipv6 ? " nodad" : "";
	const std::string lan = "/" + std::to_string(a.lan_len()) + " dev ";
	const std::vector<std::pair<std::string, std::string>> steps = {
		{r, "addr add " + a.public_address + "/" + std::to_string(a.public_len) + " dev pub" + nodad},
		{r, "link set pub up"},
		{r, "link add lan type veth peer name eth0 netns " + lan_ns(s)},
		{r, "addr add " + a.router_lan + lan + "lan" + nodad},
		{r, "link set lan up"},
		{l, "addr add " + a.host + lan + "eth0" + nodad},
		{l, "link set eth0 up"},
		{l, "route add default via " + a.router_lan},
	};
	for (const auto &[role, args] : steps)
		if (Status st = ns_.ip(role, args); !st)
			return st;
	return {};
}

std::string TwoSiteLab::gateway_config(Side s) const
{
	const SiteAddresses &a = site(s);
	std::ostringstream o;
	o << "# Site " << (s == Side::a ? "A" : "B") << " of the two-site IKE lab (tools/ike/ike_lab.hpp).\n"
	  << "bpffs = \"" << pin_root(s) << "\"\n\n"
	  << "[[gateway]]\n"
	  << "name = \"" << gateway_ns(s) << "\"\n"
	  << "router_netns = \"" << router_ns(s) << "\"\n"
	  << "public_interface = \"pub\"\n"
	  << "public_address = \"" << a.public_address << "\"\n"
	  << "link = \"" << a.link << "\"\n"
	  << "ike_ports = [" << opts_.ike_port << ", " << opts_.natt_port << "]\n"
	  << "egress = \"" << (opts_.egress == Egress::bpf ? "bpf" : "route") << "\"\n"
	  << "routes = [ { local = \"" << a.subnet << "\", remote = \"" << site(other(s)).subnet
	  << "\" } ]\n";
	if (!opts_.gateway_firewall.empty())
		o << "\n[gateway.firewall]\n" << opts_.gateway_firewall << "\n";
	return o.str();
}

// ---- the tool --------------------------------------------------------------

std::string TwoSiteLab::steer_command(Side s, const std::string &args) const
{
	return quote(opts_.ipsec_steer) + " " + args + " -c " + quote(config_file(s));
}

Result<std::string> TwoSiteLab::steer(Side s, const std::string &args) const
{
	const std::string cmd = steer_command(s, args);
	ToolRun r = run_tool(cmd, dir_ + "/ipsec-steer.err");
	if (r.status != 0)
		return plain_error(r.why(cmd));
	return r.out;
}

Result<Counters> TwoSiteLab::counters(Side s) const
{
	auto out = steer(s, "stats --json");
	if (!out)
		return out.error();
	try {
		auto doc = nlohmann::json::parse(*out);
		for (const auto &g : doc.at("gateways")) {
			if (g.at("name").get<std::string>() != gateway_ns(s))
				continue;
			Counters c;
			for (const auto &[cls, v] : g.at("in").items())
				c.in[cls] = v.at("packets").get<uint64_t>();
			for (const auto &[cls, v] : g.at("out").items())
				c.out[cls] = v.at("packets").get<uint64_t>();
			return c;
		}
		return plain_error("gateway " + gateway_ns(s) + " not in `stats --json`: " + *out);
	} catch (const nlohmann::json::exception &e) {
		return plain_error(std::string("`stats --json` output: ") + e.what() + ": " + *out);
	}
}

Result<std::string> TwoSiteLab::status_problems(Side s) const
{
	const std::string cmd = steer_command(s, "status --json");
	ToolRun r = run_tool(cmd, dir_ + "/ipsec-steer.err");
	try {
		auto doc = nlohmann::json::parse(r.out);
		std::string problems;
		for (const auto &g : doc.at("gateways"))
			for (const auto &p : g.at("problems"))
				problems += (problems.empty() ? "" : "; ") + p.get<std::string>();
		if (problems.empty() && r.status != 0)
			return plain_error(r.why(cmd));
		return problems;
	} catch (const nlohmann::json::exception &e) {
		return plain_error(r.why(cmd) + " (stdout: " + r.out + ")");
	}
}

Result<UdpInput> TwoSiteLab::router_udp_input(Side s) const
{
	auto text = capture("ip netns exec " + router_ns(s) + " cat /proc/net/snmp /proc/net/snmp6");
	if (!text)
		return text.error();
	UdpInput u;
	std::istringstream in(*text);
	std::vector<std::string> udp_names;
	for (std::string line; std::getline(in, line);) {
		std::istringstream words(line);
		std::string first;
		words >> first;
		if (first == "Udp:") {
			// /proc/net/snmp: a line of names, then a line of values.
			std::vector<std::string> row;
			for (std::string w; words >> w;)
				row.push_back(w);
			if (udp_names.empty()) {
				udp_names = row;
				continue;
			}
			for (size_t i = 0; i < row.size() && i < udp_names.size(); i++) {
				uint64_t v = std::stoull(row[i]);
				if (udp_names[i] == "InDatagrams")
					u.delivered += v;
				else if (udp_names[i] == "NoPorts" || udp_names[i] == "IgnoredMulti")
					u.no_port += v;
				else if (udp_names[i] == "InErrors")
					u.errors += v;
			}
		} else if (first.rfind("Udp6", 0) == 0) {
			// /proc/net/snmp6: one "name value" pair a line.
			uint64_t v = 0;
			words >> v;
			if (first == "Udp6InDatagrams")
				u.delivered += v;
			else if (first == "Udp6NoPorts" || first == "Udp6IgnoredMulti")
				u.no_port += v;
			else if (first == "Udp6InErrors")
				u.errors += v;
		}
	}
	if (udp_names.empty())
		return plain_error("no Udp: lines in /proc/net/snmp", router_ns(s));
	return u;
}

Result<std::string> TwoSiteLab::router_udp_sockets(Side s) const
{
	return capture("ip netns exec " + router_ns(s) + " ss -uanH");
}

// ---- teardown --------------------------------------------------------------

std::string TwoSiteLab::leftovers() const
{
	std::string left;
	auto note = [&](const std::string &what) { left += "\n  " + what; };
	for (Side s : {Side::a, Side::b}) {
		if (ns::netns_exists(gateway_ns(s)))
			note("gateway namespace " + gateway_ns(s));
		const std::string r = router_ns(s), ip = "ip -n " + r + " ";
		if (!ns::netns_exists(r))
			continue;
		auto check = [&](const std::string &cmd, const std::string &needle, const std::string &what) {
			auto out = capture(cmd);
			if (!out)
				note("cannot check " + what + ": " + out.error().message());
			else if (needle.empty() ? !out->empty() : out->find(needle) != std::string::npos)
				note(what + " in " + r + ":\n" + *out);
		};
		check(ip + "-o link show", "ist-", "ist-* link");
		for (const std::string fam : {"-4", "-6"}) {
			check(ip + fam + " -d rule show", " proto 87", "rule of protocol 87 (" + fam + ")");
			check(ip + fam + " route show table all proto 87", "", "route of protocol 87 (" + fam + ")");
		}
		check("tc -n " + r + " filter show dev pub ingress", "ist_ingress", "tc filter ist_ingress on pub");
		if (std::filesystem::exists(pin_root(s) + "/" + r))
			note("pin directory " + pin_root(s) + "/" + r);
	}
	// Every bpffs mount has the kernel's own maps.debug and progs.debug
	// (bpf_preload) at its root; anything else pinned is the tool's.
	const std::set<std::string> kernels = {bpffs_mount_ + "/maps.debug", bpffs_mount_ + "/progs.debug"};
	std::error_code ec;
	for (auto it = std::filesystem::recursive_directory_iterator(bpffs_mount_, ec);
	     !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
		if (!it->is_directory() && !kernels.count(it->path().string()))
			note("pinned object " + it->path().string());
	return left;
}

Status TwoSiteLab::teardown()
{
	if (torn_down_)
		return {};
	torn_down_ = true;
	std::string problems;
	if (Status st = stop_daemons(); !st)
		problems += "\n" + st.error().message();
	if (down_needed_) {
		const auto start = Clock::now();
		for (Side s : {Side::a, Side::b})
			if (auto r = steer(s, "down"); !r)
				problems += "\n" + r.error().message();
		down_time_ = Clock::now() - start;
	}
	if (bpffs_mounted_)
		if (std::string left = leftovers(); !left.empty())
			problems += "\nleft after `ipsec-steer down`:" + left;
	return problems.empty() ? Status{} : plain_error("stopping the lab:" + problems);
}

// ---- IKE -------------------------------------------------------------------

} // namespace steer::ike

#include "daemon.hpp"

#include <cstdlib>
#include <cstring>

#include "files.hpp"
#include "log.hpp"
#include "process.hpp"

namespace steer::mesh {

namespace {

// The most an `ipsec whack --asynchronous --initiate` may run (pluto
// gives up a negotiation after 60 s of retransmits).
constexpr unsigned up_max_seconds = 120;

// What a failed swanctl said, without its plugin chatter and usage text.
std::string summary(const std::string &text)
{
	std::string out, line;
	size_t start = 0;
	while (start < text.size()) {
		size_t nl = text.find('\n', start);
		line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
		start = nl == std::string::npos ? text.size() : nl + 1;
		if (line.rfind("plugin '", 0) == 0 || line.rfind("strongSwan ", 0) == 0)
			continue;
		if (line.rfind("usage:", 0) == 0)
			break;
		if (!line.empty())
			out += (out.empty() ? "" : "; ") + line;
	}
	return out.size() > 400 ? out.substr(0, 400) + "..." : out;
}

// Whether this end brings up the conns of a libreswan file of ours: its
// host conn's left (us) and right (the peer) decide (initiates_pair). A
// file that does not say: yes.
bool initiates(const std::string &text)
{
	auto value = [&text](const char *key) {
		size_t at = text.find(std::string("\n\t") + key + "=");
		if (at == std::string::npos)
			return std::string();
		at += 3 + std::strlen(key);
		return text.substr(at, text.find('\n', at) - at);
	};
	auto left = config::parse_ip(value("left")), right = config::parse_ip(value("right"));
	return !left || !right || initiates_pair(*left, *right);
}

} // namespace

DaemonSetup daemon_setup(const std::string &daemon, const std::string &conf_dir, const std::string &uri)
{
	DaemonSetup s;
	s.kind = daemon == "libreswan" ? Daemon::libreswan : Daemon::strongswan;
	s.conf_dir = !conf_dir.empty() ? conf_dir
		: s.kind == Daemon::strongswan ? "/etc/swanctl/conf.d" : "/etc/ipsec.d";
	while (s.conf_dir.size() > 1 && s.conf_dir.back() == '/')
		s.conf_dir.pop_back();
	s.swanctl_uri = uri;
	// Where the `ipsec` command itself looks (libreswan's IPSEC_RUNDIR).
	const char *rundir = std::getenv("IPSEC_RUNDIR");
	s.pluto_ctl = std::string(rundir && *rundir ? rundir : "/run/pluto") + "/pluto.ctl";
	size_t slash = s.conf_dir.rfind('/');
	s.swanctl_file = (slash == std::string::npos ? std::string(".") : s.conf_dir.substr(0, slash)) +
		"/swanctl.conf";
	return s;
}

Status DaemonCtl::swanctl(std::vector<std::string> args, std::string *out) const
{
	args.insert(args.begin(), "swanctl");
	args.insert(args.end(), {"--uri", s_.swanctl_uri});
	auto r = run(args);
	if (!r)
		return r.error();
	if (out)
		*out = r->text;
	if (r->exit_code != 0)
		return plain_error(command_line(args) + " exited " + std::to_string(r->exit_code) + ": " + summary(r->text));
	return {};
}

Status DaemonCtl::ipsec(const char *tool, std::vector<std::string> args) const
{
	args.insert(args.begin(), {"ipsec", tool, "--ctlsocket", s_.pluto_ctl});
	auto r = run(args);
	if (!r)
		return r.error();
	if (r->exit_code != 0)
		return plain_error(command_line(args) + " exited " + std::to_string(r->exit_code) + ": " + summary(r->text));
	return {};
}

Result<Loaded> DaemonCtl::loaded() const
{
	if (s_.kind == Daemon::libreswan) {
		auto files = read_our_files(s_.conf_dir);
		if (!files)
			return files.error();
		std::string all;
		for (const auto &[name, text] : *files)
			if (name.size() > 5 && name.compare(name.size() - 5, 5, ".conf") == 0)
				all += text + "\n";
		return parse_libreswan_conf(all);
	}
	std::string text;
	if (auto s = swanctl({"--list-conns", "--raw"}, &text); !s)
		return s.error();
	return parse_swanctl_raw(text);
}

Result<bool> DaemonCtl::lacks_host_to_host() const
{
	if (s_.kind == Daemon::libreswan)
		return false;
	std::string text;
	if (auto s = swanctl({"--stats", "--raw"}, &text); !s)
		return s.error();
	return text.find("kernel-libipsec") != std::string::npos;
}

Status DaemonCtl::apply(const std::vector<std::string> &changed, const std::vector<std::string> &removed) const
{
	if (s_.kind == Daemon::strongswan) {
		// swanctl loads whole files: credentials first (the PSKs of new
		// peers), then connections; a connection no longer in the files is
		// unloaded by --load-conns, its SAs terminated after.
		if (auto s = swanctl({"--load-creds", "--noprompt", "--file", s_.swanctl_file}); !s)
			return s;
		if (auto s = swanctl({"--load-conns", "--file", s_.swanctl_file}); !s)
			return s;
		for (const auto &peer : removed)
			if (auto s = swanctl({"--terminate", "--ike", peer, "--force", "--timeout", "3"}); !s)
				LOG_DEBUG("mesh: %s (no SA to delete)", s.error().message().c_str());
		return {};
	}
	// Secrets first (the PSKs of new peers); then each changed peer's conns
	// deleted (a vanished "-subnet" conn goes with them; a missing conn is
	// fine) and the conns its file holds added by one addconn run (from
	// /etc/ipsec.conf, which includes conf_dir). addconn honours auto=start
	// for --autoall alone (a restarted pluto), so they are brought up here,
	// by the pair's lower address only (initiates_pair). Every tool run
	// costs a few processes (the `ipsec` wrapper is a shell): nothing runs
	// twice.
	auto files = read_our_files(s_.conf_dir);
	if (!files)
		return files.error();
	std::vector<std::string> add, start;
	static const std::string no_file;
	for (const auto &peer : changed) {
		auto file = files->find(file_prefix + peer + ".conf");
		const std::string &text = file != files->end() ? file->second : no_file;
		bool subnet = text.find("\nconn " + peer + "-subnet\n") != std::string::npos;
		add.push_back(peer);
		if (subnet)
			add.push_back(peer + "-subnet");
		if (initiates(text))
			start.insert(start.end(), add.end() - (subnet ? 2 : 1), add.end());
	}
	if (!changed.empty())
		if (auto s = ipsec("whack", {"--rereadsecrets"}); !s)
			return s;
	for (const auto &peer : changed)
		for (const auto &conn : {peer + "-subnet", peer})
			if (auto s = ipsec("whack", {"--name", conn, "--delete"}); !s)
				LOG_DEBUG("mesh: %s (not loaded)", s.error().message().c_str());
	if (!add.empty())
		if (auto s = ipsec("addconn", add); !s)
			return s;
	for (const auto &peer : removed)
		for (const auto &conn : {peer + "-subnet", peer})
			if (auto s = ipsec("whack", {"--name", conn, "--delete"}); !s)
				LOG_DEBUG("mesh: %s (not loaded)", s.error().message().c_str());
	// Not waited for: whack stays attached to report a Child SA started
	// over an existing IKE SA even with --asynchronous (libreswan 4.10),
	// and one killed before a busy pluto read its request loses it.
	for (const auto &conn : start) {
		std::vector<std::string> up{"ipsec", "whack", "--ctlsocket", s_.pluto_ctl, "--asynchronous",
			"--name", conn, "--initiate"};
		if (auto s = start_detached(up, up_max_seconds); !s)
			LOG_WARN("mesh: %s: %s", command_line(up).c_str(), s.error().message().c_str());
		else
			LOG_DEBUG("mesh: started %s", command_line(up).c_str());
	}
	return {};
}

} // namespace steer::mesh

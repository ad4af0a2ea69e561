#include "daemon.hpp"

#include "files.hpp"
#include "log.hpp"
#include "process.hpp"

namespace steer::mesh {

namespace {

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

Status DaemonCtl::ipsec_auto(std::vector<std::string> args) const
{
	args.insert(args.begin(), {"ipsec", "auto"});
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
	if (!changed.empty())
		if (auto s = ipsec_auto({"--rereadsecrets"}); !s)
			return s;
	for (const auto &peer : changed) {
		for (const auto &conn : {peer, peer + "-subnet"})
			if (auto s = ipsec_auto({"--replace", conn}); !s)
				LOG_DEBUG("mesh: %s", s.error().message().c_str());
		if (auto s = ipsec_auto({"--asynchronous", "--up", peer}); !s)
			LOG_WARN("mesh: %s", s.error().message().c_str());
	}
	for (const auto &peer : removed)
		for (const auto &conn : {peer + "-subnet", peer})
			if (auto s = ipsec_auto({"--delete", conn}); !s)
				LOG_DEBUG("mesh: %s (not loaded)", s.error().message().c_str());
	return {};
}

} // namespace steer::mesh

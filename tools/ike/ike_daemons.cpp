// The IKE daemons of the two-site lab: rendering each site's config
// (site.sh), starting and stopping the daemon in its gateway (through
// `ipsec-steer exec`), and driving its SAs. strongSwan is spoken to over
// its vici socket (swanctl), libreswan over pluto's control socket (whack).
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

#include "ike_lab.hpp"

namespace steer::ike {

namespace {

using namespace std::chrono_literals;

const char *daemon_name(Daemon d) { return d == Daemon::strongswan ? "charon" : "pluto"; }

bool runs_as(pid_t pid, Daemon d)
{
	std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
	std::string comm;
	std::getline(f, comm);
	return comm == daemon_name(d);
}

std::string launcher(Daemon d)
{
	return quote(tools_dir() + (d == Daemon::strongswan ? "/charon-in-netns.sh" : "/pluto-in-netns.sh"));
}

const std::string whack_bin = "/usr/libexec/ipsec/whack";

} // namespace

Status TwoSiteLab::start_daemon(Side s)
{
	const SiteAddresses &a = site(s);
	const SiteAddresses &remote = site(other(s));
	const bool libreswan = daemon(s) == Daemon::libreswan;
	std::string site_cmd = quote(tools_dir() + "/site.sh") + " -d " + quote(conf_dir(s)) + " -l " +
			       a.public_address + " -r " + remote.public_address + " -L " + a.subnet + " -R " +
			       remote.subnet + " -k " + quote(opts_.psk) + " -a " + a.gateway_lan + " -p " +
			       std::to_string(opts_.ike_port) + "," + std::to_string(opts_.natt_port) + " -D " +
			       (libreswan ? "libreswan" : "strongswan") + " -e " +
			       (opts_.esp == Esp::kernel ? "kernel" : "libipsec") + " -u " +
			       (opts_.encap ? "yes" : "no") + " >/dev/null";
	if (Status st = lab::sh(site_cmd); !st)
		return st;
	auto pid = capture("IPSEC_STEER=" + quote(opts_.ipsec_steer) + " " + launcher(daemon(s)) + " " +
			   gateway_ns(s) + " " + quote(conf_dir(s)));
	if (!pid)
		return pid.error();
	daemon_pid_[idx(s)] = static_cast<pid_t>(std::stol(*pid));
	return {};
}

Status TwoSiteLab::start_ike()
{
	for (Side s : {Side::a, Side::b})
		if (Status st = start_daemon(s); !st)
			return st;
	return {};
}

Status TwoSiteLab::stop_daemons()
{
	// Both at once: a daemon takes 1-2 s to shut down (it sends its
	// DELETEs first).
	std::string cmd;
	for (Side s : {Side::a, Side::b})
		if (daemon_pid_[idx(s)])
			cmd += "(" + launcher(daemon(s)) + " -k " + gateway_ns(s) + " " + quote(conf_dir(s)) +
			       " || echo FAILED " + gateway_ns(s) + ") & ";
	if (cmd.empty())
		return {};
	auto r = capture(cmd + "wait");
	std::string problems;
	if (!r || r->find("FAILED") != std::string::npos)
		problems += " " + (r ? *r : r.error().message());
	for (Side s : {Side::a, Side::b}) {
		pid_t pid = std::exchange(daemon_pid_[idx(s)], 0);
		if (pid && runs_as(pid, daemon(s)))
			problems += " " + std::string(daemon_name(daemon(s))) + " " + std::to_string(pid) +
				    " of " + gateway_ns(s) + " still runs";
	}
	return problems.empty() ? Status{} : plain_error("stop IKE daemons:" + problems);
}

Status TwoSiteLab::swanctl(Side s, const std::string &args) const
{
	auto out = capture("swanctl " + args + " --uri " + vici_uri(s));
	if (!out)
		return plain_error(out.error().message() + "\n--- charon.log:\n" +
				   capture("tail -n 30 " + quote(conf_dir(s) + "/charon.log")).value());
	return {};
}

Status TwoSiteLab::whack(Side s, const std::string &args) const
{
	// whack waits for the outcome it asked for: never longer than 30 s.
	auto out = capture("timeout 30 " + whack_bin + " --ctlsocket " + quote(conf_dir(s) + "/pluto.ctl") + " " +
			   args);
	if (!out)
		return plain_error(out.error().message() + "\n--- pluto.log:\n" +
				   capture("tail -n 30 " + quote(conf_dir(s) + "/pluto.log")).value());
	return {};
}

Result<int> TwoSiteLab::ike_sa_count(Side s) const
{
	if (daemon(s) == Daemon::libreswan) {
		// "000 IKE SAs: total(1), half-open(0), open(0), authenticated(1), ..."
		auto out = capture(whack_bin + " --ctlsocket " + quote(conf_dir(s) + "/pluto.ctl") + " --status");
		if (!out)
			return out.error();
		size_t at = out->find("IKE SAs: total(");
		if (at == std::string::npos)
			return plain_error("no IKE SA count in whack --status: " + *out);
		return std::stoi(out->substr(at + 15));
	}
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

Result<bool> TwoSiteLab::child_installed(Side s) const
{
	if (daemon(s) == Daemon::libreswan) {
		auto out = capture(whack_bin + " --ctlsocket " + quote(conf_dir(s) + "/pluto.ctl") +
				   " --trafficstatus");
		if (!out)
			return out.error();
		return out->find("\"" + connection(s) + "\"") != std::string::npos;
	}
	auto out = capture("swanctl --list-sas --raw --uri " + vici_uri(s));
	if (!out)
		return out.error();
	return out->find("state=INSTALLED") != std::string::npos;
}

Status TwoSiteLab::initiate(Side s)
{
	Status st = daemon(s) == Daemon::libreswan
			    ? whack(s, "--name " + connection(s) + " --initiate")
			    : swanctl(s, "--initiate --child " + connection(s) + " --timeout 20");
	if (!st)
		return st;
	// The responder installs its CHILD_SA before it answers IKE_AUTH.
	for (Side x : {s, other(s)}) {
		auto ok = child_installed(x);
		if (!ok)
			return ok.error();
		if (!*ok)
			return plain_error("no installed CHILD_SA after initiate", gateway_ns(x));
	}
	return {};
}

Status TwoSiteLab::terminate(Side s)
{
	Status st = daemon(s) == Daemon::libreswan
			    ? whack(s, "--name " + connection(s) + " --terminate")
			    : swanctl(s, "--terminate --ike " + connection(s) + " --timeout 10");
	if (!st)
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

Result<std::vector<std::string>> TwoSiteLab::kernel_spis(Side s) const
{
	auto out = capture("ip -n " + gateway_ns(s) + " xfrm state");
	if (!out)
		return out.error();
	std::vector<std::string> spis;
	std::istringstream in(*out);
	for (std::string word; in >> word;)
		if (word == "spi" && in >> word)
			spis.push_back(word);
	return spis;
}

Status TwoSiteLab::rekey_child(Side s)
{
	auto before = kernel_spis(s);
	if (!before)
		return before.error();
	Status st = daemon(s) == Daemon::libreswan
			    ? whack(s, "--name " + connection(s) + " --rekey-ipsec --asynchronous")
						   : swanctl(s, "--rekey --child " + connection(s));
	if (!st)
		return st;
	// A rekey installs a new pair of SAs before it deletes the old pair.
	for (int i = 0; i < 300; i++) {
		auto now = kernel_spis(s);
		if (!now)
			return now.error();
		for (const auto &spi : *now)
			if (std::find(before->begin(), before->end(), spi) == before->end())
				return {};
		std::this_thread::sleep_for(50ms);
	}
	std::string log = daemon(s) == Daemon::libreswan ? "/pluto.log" : "/charon.log";
	return plain_error("no new SA 15 s after the rekey; " + log.substr(1) + ":\n" +
			   capture("tail -n 30 " + quote(conf_dir(s) + log)).value());
}

} // namespace steer::ike

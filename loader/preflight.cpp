#include "preflight.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "bpf_steer.hpp"
#include "environment.hpp"
#include "fd.hpp"
#include "ifaddr.hpp"
#include "log.hpp"
#include "maps_sync.hpp"
#include "netns.hpp"
#include "pin_migration.hpp"
#include "pins.hpp"

namespace steer {

namespace {

constexpr const char *bpffs_default_mount = "/sys/fs/bpf";

bool has_cap(uint64_t caps, int cap)
{
	return (caps >> cap) & 1;
}

std::string missing_cap_fix(const std::string &caps)
{
	return "run as root, or grant " + caps +
	       " (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_BPF; "
	       "check with `grep Cap /proc/self/status`)";
}

bool under(const std::string &path, const std::string &dir)
{
	return path == dir || path.rfind(dir + "/", 0) == 0;
}

// Keys `up` would put into one router namespace's gateways map; a public
// interface that is missing was already reported by the environment.
std::set<std::vector<uint8_t>> wanted_keys(const std::vector<const config::Gateway *> &gws)
{
	std::set<std::vector<uint8_t>> keys;
	for (const config::Gateway *gw : gws) {
		auto ifindex = ns::interface_index(gw->public_interface);
		steer_gw_key k = gateway_key(ifindex ? *ifindex : 0, gw->public_address);
		auto *b = reinterpret_cast<const uint8_t *>(&k);
		keys.emplace(b, b + sizeof(k));
	}
	return keys;
}

// Pinned entries of a map `up` will keep (same layout and size), that the
// config does not name; none when the map is absent or will be replaced.
uint64_t pinned_not_wanted(const std::string &path, const std::set<std::vector<uint8_t>> &wanted,
			   uint32_t &capacity)
{
	Fd fd(bpf_obj_get(path.c_str()));
	if (!fd.valid() || !map_sizes_are(fd.get(), sizeof(steer_gw_key), sizeof(steer_gw_value)))
		return 0;
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.max_entries != capacity)
		return 0;
	auto entries = dump_gateways(fd.get());
	uint64_t n = 0;
	for (const auto &e : entries ? *entries : std::vector<GatewayEntry>{}) {
		auto *b = reinterpret_cast<const uint8_t *>(&e.key);
		n += !wanted.count(std::vector<uint8_t>(b, b + sizeof(e.key)));
	}
	return n;
}

Finding capacity_finding(const config::Config &cfg, const std::string &router, uint64_t stale,
			 uint64_t wanted, uint32_t capacity)
{
	std::string where = router.empty() ? "this namespace" : "router namespace " + router;
	std::string dir = pin_dir(cfg.bpffs, router);
	if (stale == 0)
		return {"map full: the config names " + std::to_string(wanted) + " gateways in " + where +
				"; the gateways map holds " + std::to_string(capacity),
			"put some of them in another router namespace or another config (pin root)"};
	return {"map full: " + dir + "/gateways holds " + std::to_string(stale) +
			" entries the config does not name, and `up` adds before it sweeps: " +
			std::to_string(stale + wanted) + " > " + std::to_string(capacity),
		"`ipsec-steer down --all -c " + cfg.path + "` then `up` rebuilds the maps (steering stops "
		"in between), or delete the entries no gateway names (bpftool map delete pinned " + dir +
			"/gateways key ...)"};
}

// Every finding, one per line, each with the prefix the first one gets
// from the command.
Error joined(const std::vector<Finding> &found)
{
	Error e = to_error(found[0]);
	for (size_t i = 1; i < found.size(); ++i)
		e.what += "\nipsec-steer: " + to_error(found[i]).what;
	return e;
}

} // namespace

Error to_error(const Finding &f)
{
	std::string m = f.what;
	if (f.err != 0)
		m += std::string(": ") + std::strerror(f.err);
	if (!f.fix.empty())
		m += "; fix: " + f.fix;
	return Error{0, m, {}};
}

uint64_t effective_capabilities()
{
	__user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
	if (::syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	return static_cast<uint64_t>(data[0].effective) | static_cast<uint64_t>(data[1].effective) << 32;
}

std::vector<Finding> missing_capabilities()
{
	uint64_t caps = effective_capabilities();
	std::vector<Finding> out;
	std::string who = ::geteuid() == 0 ? "" : "not root: ";
	if (!has_cap(caps, CAP_NET_ADMIN))
		out.push_back({who + "missing CAP_NET_ADMIN (links, addresses, routes, tc filters, nftables)",
			       missing_cap_fix("CAP_NET_ADMIN")});
	if (!has_cap(caps, CAP_SYS_ADMIN))
		out.push_back({who + "missing CAP_SYS_ADMIN (creating and entering network namespaces, mounts)",
			       missing_cap_fix("CAP_SYS_ADMIN")});
	if (!has_cap(caps, CAP_BPF) && !has_cap(caps, CAP_SYS_ADMIN))
		out.push_back({who + "missing CAP_BPF (loading and pinning the steering programs and maps)",
			       missing_cap_fix("CAP_BPF")});
	return out;
}

std::vector<Finding> environment_findings(const config::Config &cfg)
{
	// validate_environment's messages already end with their fix.
	if (Status st = validate_environment(cfg); !st)
		return {{st.error().message(), ""}};
	return {};
}

std::string bpffs_mount_point(const std::string &pin_root)
{
	return under(pin_root, bpffs_default_mount) ? bpffs_default_mount : "";
}

bool on_bpffs(const std::string &path)
{
	return check_bpffs(path).ok();
}

std::vector<Finding> bpffs_findings(const std::string &pin_root)
{
	if (on_bpffs(pin_root) || !bpffs_mount_point(pin_root).empty())
		return {};
	return {{"no bpf filesystem holds the pin root " + pin_root +
			 " (`up` mounts one only at /sys/fs/bpf, for a pin root under it)",
		 "mount -t bpf bpf <a directory above " + pin_root + ">, or set `bpffs` under /sys/fs/bpf"}};
}

Status ensure_bpffs(const std::string &pin_root)
{
	if (on_bpffs(pin_root))
		return {};
	if (auto found = bpffs_findings(pin_root); !found.empty())
		return to_error(found[0]);
	std::string point = bpffs_mount_point(pin_root);
	// What bpftool does for a pin path outside any bpffs; the mount is the
	// machine's, shared by every BPF tool, so a later failure keeps it.
	if (::mount("bpf", point.c_str(), "bpf", 0, "mode=0700") != 0)
		return to_error({"no bpf filesystem at " + point + ", and mounting one there failed",
				 "mkdir -p " + point + " && mount -t bpf bpf " + point +
					 " (as root, in the host's mount namespace), or set `bpffs` to a "
					 "directory on a mounted bpffs",
				 {}, errno});
	LOG_WARN("no bpf filesystem was mounted at %s: mounted one (as `mount -t bpf bpf %s`)", point.c_str(),
		 point.c_str());
	return {};
}

bool fits(uint64_t present_not_wanted, uint64_t wanted, uint64_t capacity)
{
	return present_not_wanted + wanted <= capacity;
}

std::vector<Finding> map_capacity_findings(const config::Config &cfg)
{
	std::map<std::string, std::vector<const config::Gateway *>> by_router;
	for (const auto &gw : cfg.gateways)
		by_router[gw.router_netns].push_back(&gw);
	std::vector<Finding> out;
	for (const auto &[router, gws] : by_router) {
		(void)ns::run_in_netns(router, [&]() -> Status {
			auto wanted = wanted_keys(gws);
			uint32_t capacity = STEER_MAX_GATEWAYS;
			uint64_t stale = pinned_not_wanted(pin_dir(cfg.bpffs, router) + "/gateways", wanted, capacity);
			if (!fits(stale, wanted.size(), capacity))
				out.push_back(capacity_finding(cfg, router, stale, wanted.size(), capacity));
			return {};
		});
	}
	return out;
}

bool redirect_peer_available()
{
	static const bool available = [] {
		const char *assume = std::getenv("IPSEC_STEER_ASSUME_NO_REDIRECT_PEER");
		if (assume && std::string(assume) == "1")
			return false;
		int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_peer, nullptr);
		// An error (no privilege to probe) is no answer: the load will say.
		if (r < 0)
			LOG_DEBUG("probe of bpf_redirect_peer failed: %s", std::strerror(-r));
		return r != 0;
	}();
	return available;
}

config::Config with_redirect_fallback(const config::Config &cfg)
{
	config::Config out = cfg;
	if (redirect_peer_available())
		return out;
	std::string names;
	for (auto &gw : out.gateways) {
		if (!(gw.steer_flags & STEER_F_REDIRECT_PLAIN))
			names += (names.empty() ? "" : ", ") + gw.name;
		gw.steer_flags |= STEER_F_REDIRECT_PLAIN;
	}
	static bool warned = false;
	if (!names.empty() && !warned) {
		warned = true;
		LOG_WARN("the kernel has no bpf_redirect_peer (Linux >= 5.10): gateways %s use bpf_redirect "
			 "instead (slower: the frame crosses the veth's egress); set redirect = \"plain\" to "
			 "silence this, or upgrade the kernel", names.c_str());
	}
	return out;
}

std::string kernel_btf_note()
{
	if (::access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return "";
	return "no kernel BTF (/sys/kernel/btf/vmlinux): not needed, the steering object has no CO-RE "
	       "relocations and its maps carry their own BTF";
}

Status preflight_up(const config::Config &cfg)
{
	std::vector<Finding> found = missing_capabilities();
	if (found.empty())
		found = environment_findings(cfg);
	if (found.empty())
		found = map_capacity_findings(cfg);
	if (!found.empty())
		return joined(found);
	return cfg.gateways.empty() ? Status{} : ensure_bpffs(cfg.bpffs);
}

Status preflight_capabilities()
{
	std::vector<Finding> found = missing_capabilities();
	return found.empty() ? Status{} : Status{joined(found)};
}

} // namespace steer

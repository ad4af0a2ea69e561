#include "pins.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <filesystem>

namespace steer {

namespace {

constexpr long bpf_fs_magic = 0xcafe4a11;

} // namespace

std::string pin_dir(const std::string &bpffs_root, const std::string &router_netns)
{
	return bpffs_root + "/" + (router_netns.empty() ? "host" : router_netns);
}

Status check_bpffs(const std::string &path)
{
	std::filesystem::path p(path);
	std::error_code ec;
	while (!p.empty() && !std::filesystem::exists(p, ec))
		p = p.parent_path();
	struct statfs st{};
	if (p.empty() || ::statfs(p.c_str(), &st) != 0)
		return sys_error(errno, "stat bpffs", path);
	if (static_cast<long>(st.f_type) != bpf_fs_magic)
		return plain_error("no bpf filesystem at " + p.string() +
				   ": mount one with `mount -t bpf bpf /sys/fs/bpf` or set `bpffs` in the config",
				   path);
	return {};
}

Status ensure_pin_dir(const std::string &dir)
{
	if (Status st = check_bpffs(dir); !st)
		return st;
	std::error_code ec;
	const std::filesystem::path root = std::filesystem::path(dir).parent_path();
	bool root_existed = std::filesystem::exists(root, ec);
	std::filesystem::create_directories(dir, ec);
	if (ec)
		return sys_error(ec.value(), "create pin directory", dir);
	// mkdir's mode passes through the umask; pins are for root alone. A
	// root that existed (maybe the bpffs mount itself) keeps its mode.
	if (!root_existed)
		::chmod(root.c_str(), 0700);
	::chmod(dir.c_str(), 0700);
	return {};
}

} // namespace steer

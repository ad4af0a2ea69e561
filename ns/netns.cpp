#include "netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "fd.hpp"

namespace steer::ns {

namespace {

constexpr const char *run_dir = "/run/netns";

bool valid_name(const std::string &name)
{
	return !name.empty() && name != "." && name != ".." &&
	       name.find('/') == std::string::npos && name.size() < NAME_MAX;
}

// A live named namespace is an nsfs bind mount; a plain file is a dead one.
bool is_netns_mount(const std::string &path)
{
	struct statfs st{};
	return ::statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

// What iproute2 does: make /run/netns a shared mount point, first turning
// it into a mount point (bind onto itself) when it is not one yet.
Status share_run_dir()
{
	if (::mkdir(run_dir, 0755) != 0 && errno != EEXIST)
		return sys_error(errno, "create directory", run_dir);
	bool made_mount = false;
	while (::mount("", run_dir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
		if (errno != EINVAL || made_mount)
			return sys_error(errno, "make mount point shared", run_dir);
		if (::mount(run_dir, run_dir, "none", MS_BIND | MS_REC, nullptr) != 0)
			return sys_error(errno, "bind mount onto itself", run_dir);
		made_mount = true;
	}
	return {};
}

// unshare() on a throwaway thread: only that thread enters the new
// namespace, and the bind mount keeps the namespace alive after it ends.
Status bind_new_netns(const std::string &path, const std::function<Status()> &inside)
{
	Status result;
	std::thread worker([&] {
		if (::unshare(CLONE_NEWNET) != 0) {
			result = sys_error(errno, "create network namespace", path);
			return;
		}
		if (inside && !(result = inside()))
			return;
		if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
			result = sys_error(errno, "bind mount network namespace", path);
	});
	worker.join();
	return result;
}

} // namespace

std::string netns_path(const std::string &name)
{
	return std::string(run_dir) + "/" + name;
}

bool netns_exists(const std::string &name)
{
	struct stat st{};
	return ::stat(netns_path(name).c_str(), &st) == 0;
}

Status run_in_netns(const std::string &name, const std::function<Status()> &fn)
{
	if (name.empty())
		return fn();
	Fd fd(::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "open network namespace (create it, or fix router_netns)", name);
	Status result;
	std::thread worker([&] {
		if (::setns(fd.get(), CLONE_NEWNET) != 0) {
			result = sys_error(errno, "enter network namespace", name);
			return;
		}
		result = fn();
	});
	worker.join();
	return result;
}

Status create_netns(const std::string &name, const std::function<Status()> &inside)
{
	if (!valid_name(name))
		return sys_error(EINVAL, "invalid network namespace name", name);
	const std::string path = netns_path(name);
	if (is_netns_mount(path))
		return {};
	if (Status st = share_run_dir(); !st)
		return st;
	Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
	bool created = file.valid();
	if (!created && errno != EEXIST)
		return sys_error(errno, "create network namespace file", path);
	file.reset();
	// Lost a race with another creator that has mounted it meanwhile.
	if (!created && is_netns_mount(path))
		return {};
	Status st = bind_new_netns(path, inside);
	if (!st && created)
		::unlink(path.c_str());
	return st;
}

Status delete_netns(const std::string &name)
{
	if (!valid_name(name))
		return sys_error(EINVAL, "invalid network namespace name", name);
	const std::string path = netns_path(name);
	// EINVAL: a dead file that is no mount point; ENOENT: already gone.
	if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
		return sys_error(errno, "unmount network namespace", path);
	if (::unlink(path.c_str()) != 0 && errno != ENOENT)
		return sys_error(errno, "remove network namespace file", path);
	return {};
}

std::vector<std::string> list_netns()
{
	std::vector<std::string> names;
	DIR *dir = ::opendir(run_dir);
	if (!dir)
		return names;
	while (const dirent *e = ::readdir(dir)) {
		std::string n = e->d_name;
		if (n != "." && n != "..")
			names.push_back(n);
	}
	::closedir(dir);
	std::sort(names.begin(), names.end());
	return names;
}

} // namespace steer::ns

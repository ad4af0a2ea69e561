#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <thread>

#include "fd.hpp"

namespace steer::ns {

std::string netns_path(const std::string &name)
{
	return "/run/netns/" + name;
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

} // namespace steer::ns

#include "lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

namespace steer {

Result<PinTreeLock> PinTreeLock::acquire(const std::string &bpffs_root)
{
	std::string name = bpffs_root;
	for (char &c : name)
		if (c == '/')
			c = '_';
	::mkdir("/run/ipsec-steer", 0700);
	std::string path = "/run/ipsec-steer/" + name + ".lock";
	Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!fd.valid())
		return sys_error(errno, "open lock file", path);
	while (::flock(fd.get(), LOCK_EX) != 0)
		if (errno != EINTR)
			return sys_error(errno, "lock", path);
	return PinTreeLock(std::move(fd));
}

} // namespace steer

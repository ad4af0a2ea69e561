#include "sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <sstream>

#include "fd.hpp"

namespace steer::ns {

namespace {

// "a \t b\n" -> "a b": how two spellings of one value compare equal.
std::string fold_spaces(const std::string &s)
{
	std::istringstream in(s);
	std::string word, out;
	while (in >> word)
		out += (out.empty() ? "" : " ") + word;
	return out;
}

} // namespace

Result<std::string> sysctl_path(const std::string &key)
{
	std::string rel = key;
	size_t first = key.find_first_of("./");
	if (first != std::string::npos && key[first] == '.')
		for (char &c : rel)
			c = c == '.' ? '/' : c == '/' ? '.' : c;
	// Every component must be a plain name: no escape from /proc/sys.
	std::istringstream parts(rel);
	std::string part;
	size_t count = 0;
	while (std::getline(parts, part, '/')) {
		if (part.empty() || part == "." || part == "..")
			return sys_error(EINVAL, "invalid sysctl key", key);
		count++;
	}
	if (count == 0 || rel.back() == '/')
		return sys_error(EINVAL, "invalid sysctl key", key);
	return "/proc/sys/" + rel;
}

Result<std::string> get_sysctl(const std::string &key)
{
	auto path = sysctl_path(key);
	if (!path)
		return path.error();
	Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "open sysctl", key);
	std::string value;
	char buf[4096];
	for (;;) {
		ssize_t n = ::read(fd.get(), buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_error(errno, "read sysctl", key);
		if (n == 0)
			break;
		value.append(buf, static_cast<size_t>(n));
	}
	while (!value.empty() && value.back() == '\n')
		value.pop_back();
	return value;
}

Status set_sysctl(const std::string &key, const std::string &value)
{
	auto path = sysctl_path(key);
	if (!path)
		return path.error();
	// Write-only keys (route/flush: mode 0200, even root cannot read them)
	// are always written; any other read failure is the answer.
	auto current = get_sysctl(key);
	if (!current && current.error().err != EACCES)
		return current.error();
	if (current && fold_spaces(*current) == fold_spaces(value))
		return {};
	Fd fd(::open(path->c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "open sysctl for writing", key);
	// One write: /proc/sys parses a value per write() call.
	ssize_t n = ::write(fd.get(), value.data(), value.size());
	if (n < 0)
		return sys_error(errno, "write sysctl " + key, value);
	if (static_cast<size_t>(n) != value.size())
		return sys_error(EIO, "short write to sysctl " + key, value);
	return {};
}

} // namespace steer::ns

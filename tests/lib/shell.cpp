#include "shell.hpp"

#include <cstdio>

namespace steer::test {

std::string capture(const std::string &cmd)
{
	std::string out;
	FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
	if (!p)
		return out;
	char buf[4096];
	while (std::fgets(buf, sizeof(buf), p))
		out += buf;
	::pclose(p);
	return out;
}

} // namespace steer::test

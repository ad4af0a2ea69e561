#include "prefix.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace steer::ns {

int address_size(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int address_bits(int family)
{
	return address_size(family) * 8;
}

Result<Prefix> parse_address(std::string_view text)
{
	std::string s(text);
	Prefix p;
	if (::inet_pton(AF_INET, s.c_str(), p.bytes.data()) == 1)
		p.family = AF_INET;
	else if (::inet_pton(AF_INET6, s.c_str(), p.bytes.data()) == 1)
		p.family = AF_INET6;
	else
		return sys_error(EINVAL, "parse IP address", s);
	p.len = address_bits(p.family);
	return p;
}

Result<Prefix> parse_prefix(std::string_view text)
{
	size_t slash = text.find('/');
	auto addr = parse_address(text.substr(0, slash));
	if (!addr || slash == std::string_view::npos)
		return addr;
	std::string_view digits = text.substr(slash + 1);
	int len = -1;
	auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
	if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
	    len < 0 || len > address_bits(addr->family))
		return sys_error(EINVAL, "parse prefix length", std::string(text));
	addr->len = len;
	return addr;
}

Prefix host_prefix(int family, const void *bytes)
{
	Prefix p;
	p.family = family;
	std::memcpy(p.bytes.data(), bytes, address_size(family));
	p.len = address_bits(family);
	return p;
}

std::string format_address(const Prefix &p)
{
	char buf[INET6_ADDRSTRLEN] = "";
	if (!::inet_ntop(p.family, p.bytes.data(), buf, sizeof(buf)))
		return "?";
	return buf;
}

std::string format_prefix(const Prefix &p)
{
	return format_address(p) + "/" + std::to_string(p.len);
}

Prefix network_of(const Prefix &p)
{
	Prefix n = p;
	for (int i = 0; i < 16; i++) {
		int keep = p.len - i * 8;  // bits of this byte inside the prefix
		if (keep >= 8)
			continue;
		n.bytes[i] = keep <= 0 ? 0 : n.bytes[i] & static_cast<uint8_t>(0xff << (8 - keep));
	}
	return n;
}

Prefix as_host(Prefix p)
{
	p.len = address_bits(p.family);
	return p;
}

} // namespace steer::ns

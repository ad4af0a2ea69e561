// Logging to stderr with a global verbosity; libbpf's messages come here too.
#pragma once

#include <cstdarg>
#include <cstdio>

namespace steer::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

inline Level &threshold()
{
	static Level level = Level::warn;
	return level;
}

__attribute__((format(printf, 2, 3))) inline void out(Level level, const char *fmt, ...)
{
	if (level > threshold())
		return;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	std::fprintf(stderr, "ipsec-steer: %s: ", names[static_cast<int>(level)]);
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fputc('\n', stderr);
}

} // namespace steer::log

#define LOG_ERROR(...) ::steer::log::out(::steer::log::Level::error, __VA_ARGS__)
#define LOG_WARN(...) ::steer::log::out(::steer::log::Level::warn, __VA_ARGS__)
#define LOG_INFO(...) ::steer::log::out(::steer::log::Level::info, __VA_ARGS__)
#define LOG_DEBUG(...) ::steer::log::out(::steer::log::Level::debug, __VA_ARGS__)

// libFuzzer target: config::parse on arbitrary bytes (issue 6, item 6).
// parse() must never crash, hang, leak or throw; it returns a config or an
// error whose text is "PATH:LINE:COL: message" (or at least names PATH).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config.hpp"

namespace {
constexpr std::string_view kPath = "fuzz.toml";

[[noreturn]] void fail(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "fuzz_config invariant violated: %s: %s\n", what, detail.c_str());
	std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto r = steer::config::parse(text, kPath);
	if (r.ok()) {
		if (r->path != kPath)
			fail("parsed config has another path", r->path);
	} else {
		const std::string &what = r.error().what;
		if (what.empty())
			fail("error without a message", what);
		if (what.rfind(kPath, 0) != 0)
			fail("error message does not start with the path", what);
	}
	return 0;
}

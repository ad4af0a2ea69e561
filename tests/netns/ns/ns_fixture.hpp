// Shared fixture of netns_ns_test: every kernel test runs inside two fresh
// namespaces named after the test process, removed again whatever happens.
//
//   istns<pid>-a                            istns<pid>-b
//   +-----------------------------+         +-----------------------------+
//   | lo, and what the test makes |  veth   | lo, and what the test makes |
//   | (va, x1/x2, ...)        va -+---------+- vb                         |
//   +-----------------------------+         +-----------------------------+
//
// The root namespace is only read (sysctl comparison), never changed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "link.hpp"
#include "netns.hpp"

// ASSERT that a Status / Result is ok, printing its error otherwise.
#define NS_ASSERT_OK(expr)                                                                 \
	do {                                                                               \
		const auto &ns_r_ = (expr);                                                \
		ASSERT_TRUE(ns_r_.ok()) << #expr << ": " << ns_r_.error().message();       \
	} while (0)

#define NS_EXPECT_OK(expr)                                                                 \
	do {                                                                               \
		const auto &ns_r_ = (expr);                                                \
		EXPECT_TRUE(ns_r_.ok()) << #expr << ": " << ns_r_.error().message();       \
	} while (0)

namespace steer::ns::test {

inline std::string test_netns_prefix()
{
	return "istns" + std::to_string(::getpid()) + "-";
}

// ifindex of a link in the calling thread's namespace, 0 if missing.
inline int ifindex_of(const std::string &name)
{
	auto l = find_link(name);
	return l.ok() && l.value() ? l.value()->ifindex : 0;
}

// A veth pair inside the current namespace, both ends up.
inline void make_pair_up(const std::string &x1, const std::string &x2)
{
	NS_ASSERT_OK(create_veth(x1, x2, ""));
	NS_ASSERT_OK(set_link_up(ifindex_of(x1), true));
	NS_ASSERT_OK(set_link_up(ifindex_of(x2), true));
}

class NsTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0) {
			const char *ci = std::getenv("CI");
			if (ci && std::strcmp(ci, "true") == 0)
				FAIL() << "needs root (network namespaces), and CI=true forbids skipping";
			GTEST_SKIP() << "needs root: creates network namespaces";
		}
		remove_ours();  // leftovers of an earlier test that crashed mid-way
		a = test_netns_prefix() + "a";
		b = test_netns_prefix() + "b";
		NS_ASSERT_OK(create_netns(a));
		NS_ASSERT_OK(create_netns(b));
	}

	void TearDown() override { remove_ours(); }

	// Every namespace with this process's prefix, the test's extra ones too.
	static void remove_ours()
	{
		for (const std::string &n : list_netns())
			if (n.rfind(test_netns_prefix(), 0) == 0) {
				EXPECT_TRUE(delete_netns(n).ok()) << n;
			}
	}

	// Runs body on a thread inside namespace ns; gtest assertions work there
	// (an ASSERT ends the body only).
	void in(const std::string &ns, const std::function<void()> &body)
	{
		Status st = run_in_netns(ns, [&]() -> Status {
			body();
			return {};
		});
		ASSERT_TRUE(st.ok()) << st.error().message();
	}

	std::string a, b;
};

} // namespace steer::ns::test

// Named namespaces: create/delete are idempotent, a dead file is revived,
// and a new namespace is really separate from the root one.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "ns_fixture.hpp"

namespace steer::ns::test {
namespace {

bool listed(const std::string &name)
{
	auto all = list_netns();
	return std::find(all.begin(), all.end(), name) != all.end();
}

ino_t current_netns_inode()
{
	struct stat st{};
	::stat("/proc/thread-self/ns/net", &st);
	return st.st_ino;
}

TEST_F(NsTest, CreateAndDeleteTwice)
{
	const std::string n = test_netns_prefix() + "c";
	NS_ASSERT_OK(create_netns(n));
	NS_ASSERT_OK(create_netns(n));
	EXPECT_TRUE(netns_exists(n));
	EXPECT_TRUE(listed(n));
	NS_ASSERT_OK(delete_netns(n));
	NS_ASSERT_OK(delete_netns(n));
	EXPECT_FALSE(netns_exists(n));
	EXPECT_FALSE(listed(n));
}

TEST_F(NsTest, NamespaceIsSeparateAndEmpty)
{
	ino_t root = current_netns_inode();
	ino_t inside = 0;
	in(a, [&] {
		inside = current_netns_inode();
		auto links = list_links();
		NS_ASSERT_OK(links);
		ASSERT_EQ(links->size(), 1u);
		EXPECT_EQ((*links)[0].name, "lo");
	});
	EXPECT_NE(inside, 0u);
	EXPECT_NE(inside, root);
}

TEST_F(NsTest, DeadFileIsRevived)
{
	// What `ip netns add` inside a private mount namespace leaves behind.
	const std::string n = test_netns_prefix() + "dead";
	int fd = ::open(netns_path(n).c_str(), O_RDONLY | O_CREAT | O_EXCL, 0);
	ASSERT_GE(fd, 0);
	::close(fd);
	EXPECT_FALSE(run_in_netns(n, [] { return Status{}; }).ok());
	NS_ASSERT_OK(create_netns(n));
	NS_EXPECT_OK(run_in_netns(n, [] { return Status{}; }));
	NS_ASSERT_OK(delete_netns(n));
	EXPECT_FALSE(netns_exists(n));
}

TEST_F(NsTest, InvalidNamesAreRefused)
{
	for (const char *bad : {"", ".", "..", "../etc", "a/b"}) {
		Status st = create_netns(bad);
		ASSERT_FALSE(st.ok()) << bad;
		EXPECT_EQ(st.error().err, EINVAL) << bad;
		EXPECT_FALSE(delete_netns(bad).ok()) << bad;
	}
}

} // namespace
} // namespace steer::ns::test

// The command line: every subcommand answers --help with 0, usage errors
// exit 2, config errors exit 2 with FILE:LINE:COL, nothing else touched.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace steer {
namespace {

int run(std::vector<std::string> args)
{
	args.insert(args.begin(), "ipsec-steer");
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	return run_cli(static_cast<int>(argv.size()), argv.data());
}

TEST(Cli, EverySubcommandHasHelp)
{
	EXPECT_EQ(run({"--help"}), exit_ok);
	for (const char *cmd : {"up", "down", "status", "stats", "check", "watch", "mesh", "exec"})
		EXPECT_EQ(run({cmd, "--help"}), exit_ok) << cmd;
}

TEST(Cli, UsageErrorsExitTwo)
{
	EXPECT_EQ(run({}), exit_usage);
	EXPECT_EQ(run({"frobnicate"}), exit_usage);
	EXPECT_EQ(run({"status", "--no-such-flag"}), exit_usage);
	EXPECT_EQ(run({"stats", "--watch", "-1"}), exit_usage);
	EXPECT_EQ(run({"exec"}), exit_usage);
}

TEST(Cli, CheckRejectsABadConfigWithExitTwo)
{
	std::string path = ::testing::TempDir() + "bad.toml";
	std::ofstream(path) << "[[gateway]]\nname = \"UPPER\"\n";
	testing::internal::CaptureStderr();
	int rc = run({"check", "-c", path});
	std::string err = testing::internal::GetCapturedStderr();
	EXPECT_EQ(rc, exit_usage);
	EXPECT_NE(err.find(path + ":2:"), std::string::npos) << err;
}

TEST(Cli, MissingConfigFileIsAUsageError)
{
	testing::internal::CaptureStderr();
	EXPECT_EQ(run({"check", "-c", "/nonexistent/ipsec-steer.toml"}), exit_usage);
	std::string err = testing::internal::GetCapturedStderr();
	EXPECT_NE(err.find("/nonexistent/ipsec-steer.toml"), std::string::npos) << err;
}

TEST(Cli, MeshWithoutItsConfigIsAUsageError)
{
	testing::internal::CaptureStderr();
	EXPECT_EQ(run({"mesh", "--once", "-c", "/nonexistent/mesh.toml"}), exit_usage);
	std::string err = testing::internal::GetCapturedStderr();
	EXPECT_NE(err.find("/nonexistent/mesh.toml"), std::string::npos) << err;
}

} // namespace
} // namespace steer

// The sweep of namespaces left by killed test processes (support/interop.h): it deletes
// usnet-it-<pid>-<n> of a dead pid, and nothing else.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "support/interop.h"

namespace {

using usnet::interop::namespace_pid;
using usnet::interop::NetnsFixture;
using usnet::interop::run;
using usnet::interop::sweep_dead_namespaces;

TEST(NetnsSweep, NamesOfThePatternOnly) {
  EXPECT_EQ(namespace_pid("usnet-it-1234-0", "usnet-it-"), 1234);
  EXPECT_EQ(namespace_pid("usnet-it-1234", "usnet-it-"), 1234);
  EXPECT_EQ(namespace_pid("usnet-it-1234-x-y", "usnet-it-"), 1234);
  EXPECT_EQ(namespace_pid("usnet-it-1234x-0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("usnet-it--0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("usnet-it-0-0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("usnet-it-01234-0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("usnet-it-12345678901-0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("usnet-demo-1234", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("other-1234-0", "usnet-it-"), -1);
  EXPECT_EQ(namespace_pid("other-1234-0", "other-"), -1);  // only usnet-* prefixes
}

bool namespace_exists(const std::string& name) {
  const std::vector<std::string> names = usnet::interop::namespace_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A pid that is certainly no process: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) _exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(NetnsSweep, DeletesOnlyNamespacesOfDeadProcesses) {
  USNET_REQUIRE_INTEROP();
  const std::string prefix = NetnsFixture::kNamespacePrefix;
  const pid_t dead = dead_pid();
  ASSERT_EQ(::kill(dead, 0), -1);
  ASSERT_EQ(errno, ESRCH);
  const std::string stale = prefix + std::to_string(dead) + "-7";
  const std::string live = prefix + std::to_string(::getpid()) + "-sweep";
  const std::string unlike = prefix + std::to_string(dead) + "x-7";  // not the pattern
  const std::vector<std::string> made = {stale, live, unlike};
  for (const auto& ns : made)
    ASSERT_EQ(run({"ip", "netns", "add", ns}), 0) << "cannot create namespace " << ns;

  const std::vector<std::string> swept = sweep_dead_namespaces(prefix);

  EXPECT_EQ(std::count(swept.begin(), swept.end(), stale), 1);
  EXPECT_FALSE(namespace_exists(stale)) << stale << " should have been swept";
  EXPECT_TRUE(namespace_exists(live)) << live << " belongs to a live process";
  EXPECT_TRUE(namespace_exists(unlike)) << unlike << " is not named by the pattern";
  EXPECT_EQ(std::count(swept.begin(), swept.end(), live), 0);
  EXPECT_EQ(std::count(swept.begin(), swept.end(), unlike), 0);
  for (const auto& ns : made) {
    if (namespace_exists(ns)) run({"ip", "netns", "del", ns});
  }
}

}  // namespace

// The sysctl table (stack/sysctl.h) on its own: the rules of the kernel's proc handlers
// for each kind of value, the printing of vectors, the errors, sysctl.conf parsing, and the
// C API. tests/interop/sysctl_interop_test.cpp holds the same rules to the kernel's own in a
// namespace; this runs anywhere.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "stack/sysctl.h"
#include "usnet/usnet.h"

namespace usnet {
namespace {

std::string get(const Sysctl& s, const char* name) {
  auto v = sysctl_get(s, name);
  EXPECT_TRUE(v) << name;
  return v ? *v : "";
}

struct Case {
  const char* name;
  const char* value;
  bool ok;
  const char* after;  // the value read back
};

class Handlers : public ::testing::TestWithParam<Case> {};

// Each case starts from the defaults. The expectations are what Linux 6.18 answered for
// the same writes (the interop test checks them against the running kernel).
TEST_P(Handlers, ParseAndCheckAsTheKernel) {
  Sysctl s;
  const Case& c = GetParam();
  EXPECT_EQ(static_cast<bool>(sysctl_set(s, c.name, c.value)), c.ok) << c.name << "=" << c.value;
  EXPECT_EQ(get(s, c.name), c.after) << c.name << "=" << c.value;
}

INSTANTIATE_TEST_SUITE_P(
    Linux, Handlers,
    ::testing::Values(
        // proc_dou8vec_minmax: 0..255 (or narrower), C syntax, what follows ignored.
        Case{"net.ipv4.tcp_timestamps", "0", true, "0"},
        Case{"net.ipv4.tcp_timestamps", "0x2", true, "2"},
        Case{"net.ipv4.tcp_timestamps", "010", true, "8"},
        Case{"net.ipv4.tcp_timestamps", "08", false, "1"},
        Case{"net.ipv4.tcp_timestamps", " 2 ", true, "2"},
        Case{"net.ipv4.tcp_timestamps", "2 3", true, "2"},
        Case{"net.ipv4.tcp_timestamps", "2x", false, "1"},
        Case{"net.ipv4.tcp_timestamps", "256", false, "1"},
        Case{"net.ipv4.tcp_timestamps", "-1", false, "1"},
        Case{"net.ipv4.tcp_timestamps", " ", false, "1"},
        Case{"net.ipv4.tcp_timestamps", "", true, "1"},  // no bytes written: no change
        Case{"net.ipv4.tcp_ecn", "3", false, "2"},
        Case{"net.ipv4.ip_default_ttl", "0", false, "64"},
        Case{"net.ipv4.ip_default_ttl", "255", true, "255"},
        Case{"net.ipv4.tcp_syn_retries", "0", false, "6"},
        Case{"net.ipv4.tcp_syn_retries", "127", true, "127"},
        Case{"net.ipv4.tcp_syn_retries", "128", false, "6"},
        // proc_dointvec(_minmax): an int, negative allowed unless bounded.
        Case{"net.ipv4.tcp_fastopen", "-1", true, "-1"},
        Case{"net.ipv4.tcp_fastopen", "2147483648", false, "1"},
        Case{"net.ipv4.tcp_fastopen", "-2147483648", true, "-2147483648"},
        Case{"net.core.somaxconn", "-1", false, "4096"},
        Case{"net.ipv4.tcp_min_snd_mss", "47", false, "48"},
        Case{"net.ipv4.tcp_adv_win_scale", "-31", true, "-31"},
        Case{"net.ipv4.tcp_adv_win_scale", "32", false, "1"},
        // Vectors: tabs on output, elements written one by one.
        Case{"net.ipv4.tcp_rmem", "4096 131072 15728640", true, "4096\t131072\t15728640"},
        Case{"net.ipv4.tcp_rmem", "8192", true, "8192\t131072\t33554432"},
        Case{"net.ipv4.tcp_rmem", "8192 x", false, "8192\t131072\t33554432"},
        Case{"net.ipv4.tcp_rmem", "1 2 3 4", true, "1\t2\t3"},
        Case{"net.ipv4.tcp_wmem", "0 1 2", false, "4096\t16384\t4194304"},
        // ipv4_local_port_range: ordered, above ip_unprivileged_port_start, all or nothing.
        Case{"net.ipv4.ip_local_port_range", "40000 50000", true, "40000\t50000"},
        Case{"net.ipv4.ip_local_port_range", "50000 40000", false, "32768\t60999"},
        Case{"net.ipv4.ip_local_port_range", "1000 2000", false, "32768\t60999"},
        Case{"net.ipv4.ip_local_port_range", "1024 1024", true, "1024\t1024"},
        Case{"net.ipv4.ip_local_port_range", "40000", true, "40000\t60999"},
        Case{"net.ipv4.ip_local_port_range", "1 65536", false, "32768\t60999"},
        Case{"net.ipv4.ip_unprivileged_port_start", "40000", false, "1024"},
        Case{"net.ipv4.ip_unprivileged_port_start", "0", true, "0"},
        // Jiffies: seconds at most INT_MAX / HZ; ms rounded up to a jiffy (HZ 250).
        Case{"net.ipv4.tcp_fin_timeout", "8589934", true, "8589934"},
        Case{"net.ipv4.tcp_fin_timeout", "8589935", false, "60"},
        Case{"net.ipv4.tcp_keepalive_time", "-5", true, "-5"},
        Case{"net.ipv4.icmp_ratelimit", "1", true, "4"},
        Case{"net.ipv4.icmp_ratelimit", "1001", true, "1004"},
        Case{"net.ipv4.icmp_ratelimit", "-1", false, "1000"},
        // proc_douintvec.
        Case{"net.ipv4.tcp_notsent_lowat", "4294967295", true, "4294967295"},
        Case{"net.ipv4.tcp_notsent_lowat", "4294967296", false, "4294967295"},
        Case{"net.ipv4.tcp_notsent_lowat", "-1", false, "4294967295"},
        // Congestion control: names usnet has; a newline ends the name.
        Case{"net.ipv4.tcp_congestion_control", "reno", true, "reno"},
        Case{"net.ipv4.tcp_congestion_control", "reno\n", true, "reno"},
        Case{"net.ipv4.tcp_congestion_control", "bbr", false, "cubic"},
        // Slashes name the same setting.
        Case{"net/ipv4/tcp_sack", "0", true, "0"}));

TEST(Sysctl, ErrorsAreTheKernels) {
  Sysctl s;
  EXPECT_EQ(sysctl_get(s, "net.ipv4.tcp_nonesuch").error(), Error::kNoEntry);
  EXPECT_EQ(sysctl_set(s, "net.ipv4.tcp_nonesuch", "1").error(), Error::kNoEntry);
  EXPECT_EQ(sysctl_set(s, "net.ipv4.tcp_rmem", "x").error(), Error::kInvalidArgument);
  EXPECT_EQ(sysctl_set(s, "net.ipv4.tcp_congestion_control", "bbr").error(), Error::kNoEntry);
  EXPECT_EQ(sysctl_set(s, "net.ipv4.tcp_available_congestion_control", "reno").error(),
            Error::kPermissionDenied);
  EXPECT_EQ(get(s, "net.ipv4.tcp_available_congestion_control"), "reno cubic");
}

TEST(Sysctl, EveryNameReadsBackWhatItPrints) {
  const auto& names = sysctl_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GE(names.size(), 50U);
  for (const std::string& n : names) {
    Sysctl s;
    const std::string v = get(s, n.c_str());
    if (n == "net.ipv4.tcp_available_congestion_control") continue;
    EXPECT_TRUE(sysctl_set(s, n, v)) << n << "=" << v;
    EXPECT_EQ(get(s, n.c_str()), v) << n;
  }
}

TEST(Sysctl, ConfListsAndFiles) {
  auto a = sysctl_parse_list(
      "# comment\n; also\n\n net.ipv4.tcp_sack = 0 \n-net.ipv4.nope=1\nbroken\n=5\n", '\n');
  ASSERT_EQ(a.size(), 4U);
  EXPECT_EQ(a[0].line, 4);
  EXPECT_EQ(a[0].name, "net.ipv4.tcp_sack");
  EXPECT_EQ(a[0].value, "0");
  EXPECT_TRUE(a[1].ignore_errors);
  EXPECT_FALSE(a[2].valid);
  EXPECT_FALSE(a[3].valid);

  Sysctl s;
  std::vector<std::string> failed;
  const Status st = sysctl_apply(
      s, "net.ipv4.tcp_sack=0;net.ipv4.tcp_ecn=9;-net.ipv4.nope=1;net.ipv4.tcp_rmem=4096 1 2", ';',
      [&](const SysctlAssignment& x, Error) { failed.push_back(x.name); });
  EXPECT_EQ(st.error(), Error::kInvalidArgument);  // the first failure
  EXPECT_EQ(failed, std::vector<std::string>{"net.ipv4.tcp_ecn"});
  EXPECT_EQ(s.tcp_sack, 0);                                 // before the failure
  EXPECT_EQ(s.tcp_rmem, (std::array<int, 3>{4096, 1, 2}));  // and after it
}

TEST(SysctlApi, GetSetApplyAndLoadOnAStack) {
  usnet_runtime* rt = usnet_runtime_new();
  ASSERT_NE(rt, nullptr);
  usnet_stack* st = usnet_stack_new(rt, "sysctl", 7);
  ASSERT_NE(st, nullptr);
  char buf[64];
  ASSERT_EQ(usnet_sysctl_get(st, "net.ipv4.tcp_rmem", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "4096\t131072\t33554432");
  EXPECT_EQ(usnet_sysctl_get(st, "net.ipv4.tcp_rmem", buf, 5), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(usnet_sysctl_set(st, "net.ipv4.tcp_rmem", "4096 131072 15728640"), 0);
  EXPECT_EQ(usnet_sysctl_set(st, "net.ipv4.nope", "1"), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(usnet_sysctl_set(st, "net.ipv4.ip_default_ttl", "0"), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(usnet_sysctl_set(st, "net.ipv4.tcp_available_congestion_control", "x"), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(usnet_sysctl_apply(st, "net.ipv4.tcp_sack=0;net.core.somaxconn=7"), 0);
  ASSERT_EQ(usnet_sysctl_get(st, "net/core/somaxconn", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "7");
  const std::string path = ::testing::TempDir() + "usnet-sysctl-test.conf";
  {
    std::ofstream f(path);
    f << "# test\nnet.ipv4.ip_default_ttl = 42\n-net.ipv4.nope = 1\n";
  }
  EXPECT_EQ(usnet_sysctl_load_file(st, path.c_str()), 0);
  ASSERT_EQ(usnet_sysctl_get(st, "net.ipv4.ip_default_ttl", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "42");
  std::remove(path.c_str());
  EXPECT_EQ(usnet_sysctl_load_file(st, "/nonexistent/usnet.conf"), -1);
  EXPECT_EQ(errno, ENOENT);
  usnet_runtime_free(rt);
}

}  // namespace
}  // namespace usnet

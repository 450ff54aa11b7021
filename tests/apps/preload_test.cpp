// The preload library (issue 8 items 3-5) with the Linux kernel as the peer: a small C
// program (helpers/preload_probe.c) runs under LD_PRELOAD=libusnet_preload.so inside a
// namespace the test creates, on a persistent TAP whose kernel side has 198.18.3.1/24
// (usnet is 198.18.3.2/24); the same program without the preload is the kernel's peer.
// Every check is made by the probe on what an ordinary program sees (where a descriptor
// lives is read from /proc/self/fd), and every byte it moves is compared.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "interop/support/interop.h"
#include "support/thread_wait.h"

namespace {

constexpr const char* kTap = "pt0";
constexpr const char* kKernel = "198.18.3.1";
constexpr const char* kUsnet = "198.18.3.2";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Preload : public usnet::interop::NetnsFixture {
 protected:
  void SetUp() override {
    NetnsFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // A persistent TAP: the preloaded program attaches to it (USNET_TAP) when its stack
    // starts, and leaves it when it exits.
    ASSERT_EQ(in_ns({"ip", "tuntap", "add", "mode", "tap", "name", kTap}), 0);
    ASSERT_EQ(in_ns({"ip", "addr", "add", std::string(kKernel) + "/24", "dev", kTap}), 0);
    ASSERT_EQ(in_ns({"ip", "link", "set", kTap, "up"}), 0);
  }

  void TearDown() override {
    NetnsFixture::TearDown();
    for (const auto& f : files_)
      std::remove(f.c_str());
  }

  // The probe under the preload, configured for this namespace's TAP, plus `env`.
  static std::vector<std::string> preloaded(const std::vector<std::string>& args,
                                            const std::vector<std::string>& env = {}) {
    std::vector<std::string> v = {"env", std::string("LD_PRELOAD=") + USNET_PRELOAD_LIB,
                                  std::string("USNET_TAP=") + kTap,
                                  std::string("USNET_ADDR=") + kUsnet + "/24"};
    v.insert(v.end(), env.begin(), env.end());
    v.emplace_back(USNET_PROBE_PATH);
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }

  static std::vector<std::string> kernel(const std::vector<std::string>& args) {
    std::vector<std::string> v = {USNET_PROBE_PATH};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }

  // Runs argv in the namespace to completion; its stdout and stderr in *out.
  int run_both(const std::vector<std::string>& argv, std::string* out, int timeout_s = 60) {
    std::vector<std::string> v = {"sh", "-c", "exec \"$@\" 2>&1", "sh"};
    v.insert(v.end(), argv.begin(), argv.end());
    return in_ns(v, out, timeout_s);
  }

  // Starts argv in the namespace in the background, its stdout in a file, and waits until
  // it prints LISTENING.
  pid_t start_server(const std::vector<std::string>& argv, std::string* out_path) {
    *out_path = "/tmp/usnet-preload-" + std::to_string(::getpid()) + "-" +
                std::to_string(files_.size()) + ".out";
    files_.push_back(*out_path);
    const pid_t pid = spawn_in(ns_, argv, *out_path);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (slurp(*out_path).find("LISTENING") == std::string::npos) {
      int status = 0;
      if (std::chrono::steady_clock::now() > deadline || ::waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "server not listening: " << slurp(*out_path);
        return -1;
      }
      ::usleep(10'000);  // between two looks at its output
    }
    return pid;
  }

  // A kernel echo server on kKernel:port, waited for with `ss`.
  void kernel_echo(int port, const char* ip = kKernel) {
    const pid_t pid = spawn_in_ns(kernel({"echo-server", ip, std::to_string(port), "kernel"}));
    ASSERT_TRUE(wait_kernel_listening(port, pid));
  }

  std::vector<std::string> files_;
};

TEST_F(Preload, TcpUsnetClientToKernelServer) {
  kernel_echo(7001);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"echo-client", kKernel, "7001", "2000000", "usnet"}), &out), 0)
      << out;
  EXPECT_NE(out.find("OK echo 2000000"), std::string::npos) << out;
}

TEST_F(Preload, TcpKernelClientToUsnetServer) {
  std::string path;
  const pid_t server = start_server(preloaded({"echo-server", "0.0.0.0", "7002", "usnet"}), &path);
  ASSERT_GT(server, 0);
  std::string out;
  EXPECT_EQ(run_both(kernel({"echo-client", kUsnet, "7002", "2000000", "kernel"}), &out), 0) << out;
  EXPECT_EQ(wait_bg(server, 10), 0) << slurp(path);
  EXPECT_NE(slurp(path).find("OK echoed"), std::string::npos) << slurp(path);
}

TEST_F(Preload, UdpBothWays) {
  std::string path;
  pid_t server = start_server(kernel({"udp-echo-server", kKernel, "7003", "kernel"}), &path);
  ASSERT_GT(server, 0);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"udp-client", kKernel, "7003", "usnet"}), &out), 0) << out;
  EXPECT_EQ(wait_bg(server, 10), 0) << slurp(path);

  server = start_server(preloaded({"udp-echo-server", "0.0.0.0", "7004", "usnet"}), &path);
  ASSERT_GT(server, 0);
  EXPECT_EQ(run_both(kernel({"udp-client", kUsnet, "7004", "kernel"}), &out), 0) << out;
  EXPECT_EQ(wait_bg(server, 10), 0) << slurp(path);
}

// A dual-stack listener on [::] (nginx's `listen [::]:80 ipv6only=off`, node's default) is a
// usnet AF_INET6 socket that serves IPv4, the peers shown v4-mapped; an AF_INET6 client of a
// v4-mapped address is usnet's.
TEST_F(Preload, DualStackSocketsServeIpv4OnUsnet) {
  std::string path;
  const pid_t server = start_server(preloaded({"v6-echo-server", "7018", kKernel}), &path);
  ASSERT_GT(server, 0);
  std::string out;
  EXPECT_EQ(run_both(kernel({"echo-client", kUsnet, "7018", "300000", "kernel"}), &out), 0) << out;
  EXPECT_EQ(wait_bg(server, 10), 0) << slurp(path);
  EXPECT_NE(slurp(path).find("OK v6 echoed"), std::string::npos) << slurp(path);

  kernel_echo(7019);
  const pid_t udp = start_server(kernel({"udp-echo-server", kKernel, "7020", "kernel"}), &path);
  ASSERT_GT(udp, 0);
  EXPECT_EQ(run_both(preloaded({"v6-client", kKernel, "7019"}), &out), 0) << out;
  EXPECT_NE(out.find("OK v6 client"), std::string::npos) << out;
  EXPECT_EQ(wait_bg(udp, 10), 0) << slurp(path);
}

// Issue 11: the decision for IPv6. With an IPv6 address of usnet's (USNET_ADDR lists both
// families), its on-link prefix and its addresses are usnet's, as is its link-local address
// named with its interface's scope id; ::1 (unless USNET_LOOPBACK=usnet), an address beyond the
// prefix and a link-local one without a scope id are the kernel's. Without one, an IPv6-only
// wildcard is the kernel's and a dual-stack one still usnet's.
TEST_F(Preload, Ipv6DestinationsAndBindsGoWhereTheirAddressIs) {
  std::string out;
  EXPECT_EQ(run_both(preloaded({"v6-where", kTap, "2001:db8:3::2", "2001:db8:3::1",
                                "2001:db8:99::1", "has6"},
                               {std::string("USNET_ADDR=") + kUsnet + "/24,2001:db8:3::2/64"}),
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("OK v6-where"), std::string::npos) << out;
  // ::1 stays in usnet when loopback is usnet's.
  EXPECT_EQ(run_both(preloaded({"v6-where", kTap, "2001:db8:3::2", "2001:db8:3::1",
                                "2001:db8:99::1", "has6"},
                               {std::string("USNET_ADDR=") + kUsnet + "/24,2001:db8:3::2/64",
                                "USNET_LOOPBACK=usnet"}),
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("OK v6-where"), std::string::npos) << out;
  EXPECT_EQ(run_both(preloaded({"v6-where", kTap, "2001:db8:3::2", "2001:db8:3::1",
                                "2001:db8:99::1", "no6"}),
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("OK v6-where"), std::string::npos) << out;
}

TEST_F(Preload, SendmmsgAndRecvmmsg) {
  std::string path;
  const pid_t server = start_server(kernel({"udp-echo-many", kKernel, "7021", "3"}), &path);
  ASSERT_GT(server, 0);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"mmsg", kKernel, "7021"}), &out), 0) << out;
  EXPECT_NE(out.find("OK mmsg"), std::string::npos) << out;
  EXPECT_EQ(wait_bg(server, 10), 0) << slurp(path);
}

TEST_F(Preload, SpliceBetweenAPipeAndAUsnetSocket) {
  kernel_echo(7022);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"splice", kKernel, "7022"}), &out), 0) << out;
  EXPECT_NE(out.find("OK splice"), std::string::npos) << out;
}

TEST_F(Preload, CloseRangeClosesUsnetSockets) {
  kernel_echo(7023);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"closerange", kKernel, "7023"}), &out), 0) << out;
  EXPECT_NE(out.find("OK close_range"), std::string::npos) << out;
}

// USNET_COUNTERS and USNET_PCAP, read when the stack starts.
TEST_F(Preload, CountersAndCaptureFromTheEnvironment) {
  kernel_echo(7024);
  const std::string pcap = "/tmp/usnet-preload-" + std::to_string(::getpid()) + ".pcap";
  files_.push_back(pcap);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"echo-client", kKernel, "7024", "10000", "usnet"},
                               {"USNET_COUNTERS=-", "USNET_PCAP=" + pcap}),
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("TcpActiveOpens                  1"), std::string::npos) << out;
  const std::string cap = slurp(pcap);
  ASSERT_GT(cap.size(), 24U + 16U * 8) << "no frames captured";
  EXPECT_EQ(cap.substr(0, 4), std::string("\x4d\x3c\xb2\xa1", 4))
      << "not a pcap file (nanosecond magic)";
}

// A destination beyond usnet's subnet is usnet's only with a route to it (USNET_GATEWAY);
// without one it is the kernel's, which reaches it here (an address of the namespace's own,
// on its loopback interface).
TEST_F(Preload, TheGatewayDecidesForDestinationsOffTheSubnet) {
  ASSERT_EQ(in_ns({"ip", "addr", "add", "198.19.5.1/32", "dev", "lo"}), 0);
  kernel_echo(7029, "198.19.5.1");
  kernel_echo(7030, "198.19.5.1");
  std::string out;
  EXPECT_EQ(run_both(preloaded({"echo-client", "198.19.5.1", "7029", "50000", "usnet"},
                               {std::string("USNET_GATEWAY=") + kKernel}),
                     &out),
            0)
      << out;
  EXPECT_EQ(run_both(preloaded({"echo-client", "198.19.5.1", "7030", "50000", "kernel"}), &out), 0)
      << out;
}

TEST_F(Preload, LoopbackGoesToTheKernel) {
  kernel_echo(7005, "127.0.0.1");
  std::string out;
  EXPECT_EQ(run_both(preloaded({"loopback-kernel", "7005"}), &out), 0) << out;
  EXPECT_NE(out.find("OK loopback kernel"), std::string::npos) << out;
}

TEST_F(Preload, ABindToTheWildcardPortZeroWaitsForTheDestination) {
  kernel_echo(7026);
  std::string path;
  const pid_t udp = start_server(kernel({"udp-echo-server", "127.0.0.1", "7027", "kernel"}), &path);
  ASSERT_GT(udp, 0);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"bind-any", kKernel, "7026", "7027"}), &out), 0) << out;
  EXPECT_NE(out.find("OK bind-any"), std::string::npos) << out;
  EXPECT_EQ(wait_bg(udp, 10), 0) << slurp(path);
}

TEST_F(Preload, LoopbackStaysInUsnetWhenAsked) {
  std::string out;
  EXPECT_EQ(run_both(preloaded({"loopback-usnet", "7006"}, {"USNET_LOOPBACK=usnet"}), &out), 0)
      << out;
  EXPECT_NE(out.find("OK loopback usnet"), std::string::npos) << out;
}

TEST_F(Preload, UnixSocketsAndSocketpairStayInTheKernel) {
  std::string out;
  EXPECT_EQ(run_both(preloaded({"unix"}), &out), 0) << out;
  EXPECT_NE(out.find("OK unix"), std::string::npos) << out;
}

TEST_F(Preload, DupAndFcntlShareTheOpenFile) {
  kernel_echo(7007);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"dupfcntl", kKernel, "7007"}), &out), 0) << out;
  EXPECT_NE(out.find("OK dupfcntl"), std::string::npos) << out;
}

TEST_F(Preload, PollSelectEpollMixAPipeAndAUsnetSocket) {
  kernel_echo(7008);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"readiness", kKernel, "7008"}), &out), 0) << out;
  EXPECT_NE(out.find("OK readiness"), std::string::npos) << out;
}

TEST_F(Preload, PpollAndEpollPwaitSetTheirMaskWithTheWait) {
  kernel_echo(7025);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"pmask", kKernel, "7025"}), &out), 0) << out;
  EXPECT_NE(out.find("OK pmask"), std::string::npos) << out;
}

TEST_F(Preload, ASocketInEpollBeforeItsConnectIsWatchedOnUsnet) {
  kernel_echo(7028);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"epoll-first", kKernel, "7028"}), &out), 0) << out;
  EXPECT_NE(out.find("OK epoll-first"), std::string::npos) << out;
}

TEST_F(Preload, ReadvAndWritev) {
  kernel_echo(7009);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"iov", kKernel, "7009"}), &out), 0) << out;
  EXPECT_NE(out.find("OK iov"), std::string::npos) << out;
}

TEST_F(Preload, InterfacesShowUsnetsAddress) {
  kernel_echo(7010);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"ifinfo", kTap, kUsnet, kKernel, "7010"}), &out), 0) << out;
  EXPECT_NE(out.find("OK ifinfo"), std::string::npos) << out;
}

TEST_F(Preload, SendfileFromAFileToAUsnetSocket) {
  // 3 MiB and a few bytes of random data: an odd size, so no chunk boundary lines up.
  const std::string file = "/tmp/usnet-preload-" + std::to_string(::getpid()) + ".data";
  files_.push_back(file);
  {
    std::mt19937_64 rng(8);
    std::ofstream f(file, std::ios::binary);
    for (int i = 0; i < (3 << 20) / 8 + 3; ++i) {
      const std::uint64_t v = rng();
      f.write(reinterpret_cast<const char*>(&v), sizeof(v));
    }
    f.write("xyz", 3);
  }
  std::string path;
  const pid_t sink = start_server(kernel({"sink", kKernel, "7011"}), &path);
  ASSERT_GT(sink, 0);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"sendfile", kKernel, "7011", file}), &out), 0) << out;
  EXPECT_EQ(wait_bg(sink, 20), 0) << slurp(path);
  std::string want;
  ASSERT_EQ(usnet::interop::run({USNET_PROBE_PATH, "digest", file}, &want), 0) << want;
  ASSERT_NE(want.find("BYTES "), std::string::npos) << want;
  EXPECT_NE(slurp(path).find(want), std::string::npos)
      << "sink saw: " << slurp(path) << "file is: " << want;
}

TEST_F(Preload, ForkedChildSeesInheritedSocketsClosedAndUsesTheKernel) {
  kernel_echo(7012);
  kernel_echo(7013);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"fork", kKernel, "7012"}), &out), 0) << out;
  EXPECT_NE(out.find("OK child"), std::string::npos) << out;
  EXPECT_NE(out.find("OK fork"), std::string::npos) << out;
  // The one-line notice, once, from the child.
  const std::string notice = "after fork() it acts as closed here (EBADF)";
  const auto first = out.find(notice);
  EXPECT_NE(first, std::string::npos) << out;
  EXPECT_EQ(out.find(notice, first + 1), std::string::npos) << "notice twice: " << out;
}

TEST_F(Preload, AChildForkedBeforeAnyStackMayStartItsOwn) {
  kernel_echo(7017);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"fork-first", kKernel, "7017"}), &out), 0) << out;
  EXPECT_NE(out.find("OK fork-first child"), std::string::npos) << out;
  EXPECT_NE(out.find("OK fork-first"), std::string::npos) << out;
}

TEST_F(Preload, ExecKeepsThePreloadAndClosesUsnetSockets) {
  kernel_echo(7014);
  kernel_echo(7015);
  std::string out;
  EXPECT_EQ(run_both(preloaded({"exec", kKernel, "7014", USNET_PROBE_PATH}), &out), 0) << out;
  EXPECT_NE(out.find("OK exec"), std::string::npos) << out;
}

TEST_F(Preload, SigintEndsAProgramBlockedInAccept) {
  std::string path;
  const pid_t pid = start_server(preloaded({"block-accept", "7016"}), &path);
  ASSERT_GT(pid, 0);
  // Blocked in accept (asleep in the kernel) before the signal; the bound is measured from it.
  ASSERT_TRUE(usnet::test::wait_until_asleep_pid(pid)) << "never blocked in accept";
  // ip netns exec and env exec the probe, so pid is the probe itself.
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  pid_t got = 0;
  while ((got = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - sent < std::chrono::seconds(1)) {
    ::usleep(5'000);
  }
  ASSERT_EQ(got, pid) << "still blocked 1 s after SIGINT: " << slurp(path);
  std::erase(bg_, pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "status " << status;
}

TEST_F(Preload, WithoutATapEverythingIsTheKernels) {
  std::string out;
  EXPECT_EQ(run_both({"env", std::string("LD_PRELOAD=") + USNET_PRELOAD_LIB,
                      "USNET_PRELOAD_DEBUG=1", USNET_PROBE_PATH, "passthrough"},
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("OK passthrough"), std::string::npos) << out;
  EXPECT_NE(out.find("USNET_TAP is not set: every call goes to the kernel"), std::string::npos)
      << out;
}

}  // namespace

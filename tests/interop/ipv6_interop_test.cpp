// IPv6 against the Linux kernel over a TAP in the test's namespace (2001:db8:3::/64 and the
// link-local addresses only): the kernel resolves usnet by neighbour discovery and pings
// its global and link-local (%iface) addresses, 4,000-byte pings included; kernel TCP clients over
// IPv6 and IPv4 both reach one dual-stack usnet listener on [::]; usnet connects to a kernel IPv6
// listener.
#include <cstdio>
#include <fstream>
#include <string>

#include "support/interop.h"

namespace usnet::interop {
namespace {

constexpr const char* kUsnet6 = "2001:db8:3::2";
constexpr const char* kKernel6 = "2001:db8:3::1";
// --mac 02:00:00:00:03:02 gives usnet the EUI-64 link-local fe80::ff:fe00:302 (RFC 4291
// 2.5.1: the universal/local bit inverted, ff:fe in the middle).
constexpr const char* kUsnetMac = "02:00:00:00:03:02";
constexpr const char* kUsnetLinkLocal = "fe80::ff:fe00:302";

class Ipv6Kernel : public NetnsFixture {
 protected:
  // The kernel's side of the TAP gets its global address without DAD (the link is ours
  // alone), as `ip -6 addr add ... nodad` says.
  void kernel_address() {
    ASSERT_EQ(
        in_ns({"ip", "-6", "addr", "add", std::string(kKernel6) + "/64", "dev", "ut0", "nodad"}),
        0);
  }
};

TEST_F(Ipv6Kernel, KernelPingsGlobalAndLinkLocalAddresses) {
  start_tool({"udp-echo", "--mac", kUsnetMac, "--addr", std::string(kUsnet6) + "/64"}, "listening");
  kernel_address();
  std::string out;
  ASSERT_EQ(in_ns({"ping", "-6", "-c", "5", "-i", "0.2", "-w", "15", kUsnet6}, &out), 0) << out;
  EXPECT_NE(out.find("5 received"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("bytes from ") + kUsnet6), std::string::npos) << out;
  // Link-local with the interface named (the kernel's own link-local address may still be
  // tentative for a second: -w keeps trying).
  const std::string ll = std::string(kUsnetLinkLocal) + "%ut0";
  ASSERT_EQ(in_ns({"ping", "-6", "-c", "3", "-i", "0.2", "-w", "15", ll}, &out), 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  // 4,000-byte pings: the kernel fragments each request, usnet reassembles it (RFC 8200
  // 4.5) and fragments its reply, which the kernel reassembles.
  ASSERT_EQ(in_ns({"ping", "-6", "-c", "3", "-i", "0.2", "-w", "15", "-s", "4000", kUsnet6}, &out),
            0)
      << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  EXPECT_NE(out.find("4008 bytes from"), std::string::npos) << out;
  // The kernel learned usnet's MAC by neighbour discovery.
  ASSERT_EQ(in_ns({"ip", "-6", "neigh", "show", "dev", "ut0"}, &out), 0);
  EXPECT_NE(out.find(kUsnetMac), std::string::npos) << out;
}

TEST_F(Ipv6Kernel, DualStackListenerServesKernelClientsOfBothFamilies) {
  start_tool({"tcp-echo", "--bind", "::", "--port", "7", "--addr", std::string(kUsnet6) + "/64"},
             "listening");
  kernel_address();
  const std::string script = R"(
import socket, sys
ok = True
for fam, host in ((socket.AF_INET6, '2001:db8:3::2'), (socket.AF_INET, '198.18.3.2')):
    data = bytes((i * 31 + fam) % 256 for i in range(300000))
    for attempt in range(30):
        try:
            s = socket.create_connection((host, 7), timeout=5)
            break
        except OSError:
            import time; time.sleep(0.2)
    else:
        print(fam, 'connect failed'); ok = False; continue
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    print(fam, len(got), 'ok' if got == data else 'MISMATCH', flush=True)
    ok = ok and got == data
sys.exit(0 if ok else 1)
)";
  std::string out;
  EXPECT_EQ(in_ns({"python3", "-c", script}, &out, 90), 0) << out;
  EXPECT_NE(out.find("10 300000 ok"), std::string::npos) << out;  // AF_INET6
  EXPECT_NE(out.find("2 300000 ok"), std::string::npos) << out;   // AF_INET
}

TEST_F(Ipv6Kernel, UsnetConnectsToKernelIpv6Listener) {
  const std::string script = R"(
import socket
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('::', 45061))
l.listen(1)
c, peer = l.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.close()
print('peer', peer[0], 'bytes', n, flush=True)
)";
  const std::string out_file = ::testing::TempDir() + "usnet-ipv6-" + ns_ + ".out";
  // The TAP (ut0) appears only when the tool starts, so the kernel's address is added by a
  // loop that waits for it; usnet's neighbour solicitations repeat each second until the
  // kernel holds the address and answers (RFC 4861 7.2.2).
  const pid_t adder = spawn_in(ns_, {"sh", "-c",
                                     std::string("until ip -6 addr add ") + kKernel6 +
                                         "/64 dev ut0 nodad 2>/dev/null; do sleep 0.02; done"});
  ASSERT_GT(adder, 0);
  const pid_t server = spawn_in(ns_, {"python3", "-c", script}, out_file);
  ASSERT_GT(server, 0);
  ASSERT_TRUE(wait_kernel_listening(45061, server));
  std::string out;
  EXPECT_EQ(run_tool({"tcp-send", kKernel6, "45061", "--bytes", "500000", "--mac", kUsnetMac,
                      "--addr", std::string(kUsnet6) + "/64"},
                     &out, 60),
            0)
      << out;
  EXPECT_EQ(wait_bg(server, 30), 0);
  EXPECT_EQ(wait_bg(adder, 5), 0);
  std::ifstream in(out_file);
  std::string w1, peer, w2;
  long bytes = -1;
  in >> w1 >> peer >> w2 >> bytes;
  std::remove(out_file.c_str());
  EXPECT_EQ(peer, kUsnet6);
  EXPECT_EQ(bytes, 500000);
}

TEST_F(Ipv6Kernel, UsnetPingsKernelGlobalAndLinkLocal) {
  // Each run of the tool makes its own TAP: the kernel gets its global address and a
  // link-local one of our choosing (fe80::1) as soon as it appears. usnet's echo requests
  // go out of an ICMPv6 ping socket.
  const std::string add_addresses =
      std::string("until ip -6 addr add ") + kKernel6 +
      "/64 dev ut0 nodad 2>/dev/null; do sleep 0.02; done; ip -6 addr add fe80::1/64 dev ut0 nodad";
  const struct {
    const char* dst;
    const char* shown;
  } kRuns[] = {{kKernel6, kKernel6}, {"fe80::1%ut0", "fe80::1%ut0"}};
  for (const auto& r : kRuns) {
    const pid_t adder = spawn_in(ns_, {"sh", "-c", add_addresses});
    ASSERT_GT(adder, 0);
    std::string out;
    // The host first: --addr takes every value that follows it.
    EXPECT_EQ(run_tool({"ping", r.dst, "-c", "3", "-i", "0.3", "-W", "3", "--mac", kUsnetMac,
                        "--addr", std::string(kUsnet6) + "/64"},
                       &out, 60),
              0)
        << out;
    EXPECT_NE(out.find(std::string("PING ") + r.dst + " (" + r.shown + ") 56 data bytes"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(std::string("64 bytes from ") + r.shown + ": icmp_seq="), std::string::npos)
        << out;
    EXPECT_NE(out.find("3 packets transmitted, 3 received, 0% packet loss"), std::string::npos)
        << out;
    EXPECT_EQ(wait_bg(adder, 5), 0);
  }
}

}  // namespace
}  // namespace usnet::interop

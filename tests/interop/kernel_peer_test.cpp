// The Linux kernel as the peer of a usnet host on a TAP: ICMP echo, UDP of every size that
// crosses the fragmentation boundary, both ways, and a pcap of it that tshark accepts.
#include <cstdio>
#include <string>

#include "support/interop.h"

namespace usnet::interop {
namespace {

class KernelPeer : public NetnsFixture {};

TEST_F(KernelPeer, ThousandKernelPingsNoLoss) {
  start_tool({"udp-echo"}, "listening");
  std::string out;
  ASSERT_EQ(in_ns({"ping", "-c", "1000", "-i", "0.002", "-W", "2", "-q", kUsnetAddr}, &out), 0)
      << out;
  EXPECT_NE(out.find("1000 packets transmitted, 1000 received, 0% packet loss"), std::string::npos)
      << out;
}

TEST_F(KernelPeer, KernelPingOf4000BytesIsReassembledAndAnswered) {
  start_tool({"udp-echo"}, "listening");
  std::string out;
  ASSERT_EQ(in_ns({"ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "4000", kUsnetAddr}, &out), 0)
      << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  EXPECT_NE(out.find("4008 bytes from 198.18.3.2"), std::string::npos) << out;
}

// Kernel UDP to `usnet udp-echo` and back, byte for byte, for sizes on both sides of the
// fragmentation boundary up to the largest datagram.
TEST_F(KernelPeer, KernelUdpEchoedByteForByte) {
  start_tool({"udp-echo", "--port", "7"}, "listening");
  const std::string script = R"(
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
ok = True
for n in (0, 1, 1472, 1473, 8000, 65507):
    d = bytes((i * 131 + n) % 256 for i in range(n))
    s.sendto(d, ('198.18.3.2', 7))
    try:
        r, a = s.recvfrom(70000)
    except socket.timeout:
        print(n, 'timeout'); ok = False; continue
    good = r == d and a == ('198.18.3.2', 7)
    print(n, len(r), 'ok' if good else 'MISMATCH')
    ok = ok and good
sys.exit(0 if ok else 1)
)";
  std::string out;
  EXPECT_EQ(in_ns({"python3", "-c", script}, &out), 0) << out;
  for (const char* n :
       {"0 0 ok", "1 1 ok", "1472 1472 ok", "1473 1473 ok", "8000 8000 ok", "65507 65507 ok"}) {
    EXPECT_NE(out.find(n), std::string::npos) << "missing '" << n << "' in:\n" << out;
  }
}

TEST_F(KernelPeer, UsnetPingsTheKernel) {
  std::string out;
  const std::vector<std::string> args = {USNET_TOOL_PATH,
                                         "ping",
                                         "-c",
                                         "3",
                                         "-i",
                                         "0.1",
                                         "--netns",
                                         ns_,
                                         "--tap",
                                         "up0",
                                         "--addr",
                                         "198.18.3.2/24",
                                         "--peer-addr",
                                         "198.18.3.1/24",
                                         kKernelAddr};
  ASSERT_EQ(run(args, &out, 30), 0) << out;
  EXPECT_NE(out.find("3 packets transmitted, 3 received, 0% packet loss"), std::string::npos)
      << out;
}

TEST_F(KernelPeer, ClosedUsnetPortAnswersPortUnreachable) {
  start_tool({"udp-echo", "--port", "7"}, "listening");
  const std::string script = R"(
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('198.18.3.2', 9))
s.send(b'x')
try:
    s.recv(10)
    sys.exit(2)
except ConnectionRefusedError:
    print('refused'); sys.exit(0)
except socket.timeout:
    print('timeout'); sys.exit(1)
)";
  std::string out;
  EXPECT_EQ(in_ns({"python3", "-c", script}, &out), 0) << out;
}

TEST_F(KernelPeer, PcapOfInteropRunPassesTshark) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "\n*** SKIPPED: tshark is not installed ***\n\n");
    GTEST_SKIP() << "tshark missing";
  }
  const std::string pcap = ::testing::TempDir() + "usnet-interop-" + ns_ + ".pcap";
  start_tool({"udp-echo", "--port", "7", "--pcap", pcap}, "listening");
  in_ns({"ping", "-c", "2", "-i", "0.2", "-s", "3000", kUsnetAddr});
  const std::string script =
      "import socket\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(3)\n"
      "for n in (10,5000):\n"
      "  s.sendto(b'u'*n,('198.18.3.2',7)); s.recvfrom(9000)\n";
  ASSERT_EQ(in_ns({"python3", "-c", script}), 0);
  stop_tool();  // flushes and closes the pcap
  // The frames, with every checksum verified, then Wireshark's expert analysis.
  std::string listing;
  ASSERT_EQ(
      run({"tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"},
          &listing),
      0);
  EXPECT_NE(listing.find("Echo (ping) reply"), std::string::npos) << listing;
  EXPECT_NE(listing.find("UDP"), std::string::npos) << listing;
  std::string expert;
  ASSERT_EQ(run({"tshark", "-r", pcap, "-q", "-o", "ip.check_checksum:TRUE", "-o",
                 "udp.check_checksum:TRUE", "-z", "expert,note"},
                &expert),
            0);
  for (const char* bad : {"Malformed", "Bad checksum", "incorrect", "Errors ("}) {
    EXPECT_EQ(listing.find(bad), std::string::npos) << bad << " in:\n" << listing;
    EXPECT_EQ(expert.find(bad), std::string::npos) << bad << " in:\n" << expert;
  }
  std::remove(pcap.c_str());
}

}  // namespace
}  // namespace usnet::interop

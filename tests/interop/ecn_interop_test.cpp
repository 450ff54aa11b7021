// ECN (RFC 3168) between usnet and the Linux kernel, in a namespace the test creates: a
// kernel client asking for ECN (net.ipv4.tcp_ecn=1, written only inside that namespace)
// gets it from usnet (tcp_ecn=2, the default, accepts), and the kernel's TCP_INFO says it
// saw ECT on usnet's data (TCPI_OPT_ECN_SEEN); a kernel client that does not ask gets none.
#include <string>

#include "support/interop.h"

namespace usnet::interop {
namespace {

class EcnKernel : public NetnsFixture {
 protected:
  // A kernel client in the namespace: connects to usnet's echo, sends and reads back 200 KB,
  // prints tcpi_options (struct tcp_info byte 5).
  std::string kernel_client_options(const char* tcp_ecn) {
    EXPECT_EQ(in_ns({"sysctl", "-qw", std::string("net.ipv4.tcp_ecn=") + tcp_ecn}), 0);
    const std::string script = R"(
import socket, struct, sys
s = socket.create_connection(('198.18.3.2', 7), timeout=10)
data = bytes(i % 251 for i in range(200000))
s.sendall(data)
got = b''
while len(got) < len(data):
    b = s.recv(65536)
    if not b: break
    got += b
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print('options', info[5], 'echo', 'ok' if got == data else 'MISMATCH')
)";
    std::string out;
    EXPECT_EQ(in_ns({"python3", "-c", script}, &out), 0) << out;
    return out;
  }
};

TEST_F(EcnKernel, KernelAskingGetsEcnAndSeesEct) {
  start_tool({"tcp-echo", "-p", "7"}, "listening");
  const std::string out = kernel_client_options("1");
  int options = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "options %d", &options), 1) << out;
  EXPECT_NE(out.find("echo ok"), std::string::npos) << out;
  EXPECT_NE(options & 8, 0) << "TCPI_OPT_ECN: " << out;
  EXPECT_NE(options & 16, 0) << "TCPI_OPT_ECN_SEEN (ECT on usnet's data): " << out;
}

TEST_F(EcnKernel, KernelNotAskingGetsNone) {
  start_tool({"tcp-echo", "-p", "7"}, "listening");
  const std::string out = kernel_client_options("2");
  int options = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "options %d", &options), 1) << out;
  EXPECT_NE(out.find("echo ok"), std::string::npos) << out;
  EXPECT_EQ(options & (8 | 16), 0) << out;
}

}  // namespace
}  // namespace usnet::interop

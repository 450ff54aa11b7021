// ECN (RFC 3168) between usnet and the Linux kernel, in a namespace the test creates: a
// kernel client asking for ECN (net.ipv4.tcp_ecn=1, written only inside that namespace)
// gets it from usnet (tcp_ecn=2, the default, accepts), and the kernel's TCP_INFO says it
// saw ECT on usnet's data (TCPI_OPT_ECN_SEEN); a kernel client that does not ask gets none.
// And usnet asking (its tcp_ecn=1) gets ECN from the kernel unless the kernel's tcp_ecn is 0.
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

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

// The other way: usnet asks (tcp_ecn=1 on its stack), the kernel accepts (its default 2)
// and its TCP_INFO sees ECT on usnet's data; a kernel with tcp_ecn=0 answers without ECE
// and usnet sends Not-ECT.
TEST_F(EcnKernel, UsnetAskingGetsEcnFromTheKernel) {
  start_tool({"tcp-echo", "-p", "7"}, "listening");  // creates the TAP and addresses
  stop_tool();
  const std::string script = R"(
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 45001)); l.listen(1)
c, _ = l.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
print('options', info[5], 'bytes', n, flush=True)
)";
  for (const char* kernel_ecn : {"2", "0"}) {
    SCOPED_TRACE(kernel_ecn);
    ASSERT_EQ(in_ns({"sysctl", "-qw", std::string("net.ipv4.tcp_ecn=") + kernel_ecn}), 0);
    const std::string out_file =
        ::testing::TempDir() + "usnet-ecn-" + ns_ + "-" + kernel_ecn + ".out";
    const pid_t server = spawn_in(ns_, {"python3", "-c", script}, out_file);
    ASSERT_GT(server, 0);
    ASSERT_TRUE(wait_kernel_listening(45001, server));
    std::string out;
    ASSERT_EQ(run_tool({"tcp-send", "198.18.3.1", "45001", "--bytes", "300000", "--sysctl",
                        "net.ipv4.tcp_ecn=1"},
                       &out, 60),
              0)
        << out;
    EXPECT_EQ(wait_bg(server, 30), 0);
    std::ifstream in(out_file);
    std::string word;
    int options = -1;
    long bytes = -1;
    std::string bytes_word;
    in >> word >> options >> bytes_word >> bytes;
    std::remove(out_file.c_str());
    EXPECT_EQ(bytes, 300000);
    const bool on = std::string_view(kernel_ecn) != "0";
    EXPECT_EQ((options & 8) != 0, on) << "TCPI_OPT_ECN, options " << options;
    EXPECT_EQ((options & 16) != 0, on) << "TCPI_OPT_ECN_SEEN, options " << options;
  }
}

}  // namespace
}  // namespace usnet::interop

// TCP Fast Open (RFC 7413) against the Linux kernel, both ways. The kernel's client (curl
// --tcp-fastopen, net.ipv4.tcp_fastopen=3 in the test's namespace, which is per-namespace)
// fetches twice from `usnet httpd`: the first SYN asks for a cookie, the second carries the
// request, and usnet counts TCPFastOpenPassive. usnet's client (python3 under `usnet run`,
// so one stack and one cookie cache for all its connections) talks to a kernel listener
// with TCP_FASTOPEN, by MSG_FASTOPEN and by TCP_FASTOPEN_CONNECT through the preload
// library: the kernel's TCPFastOpenPassive rises with each connection after the first.
#include <regex>
#include <string>

#include "support/body.h"
#include "support/interop.h"

namespace usnet::interop {
namespace {

// A counter in a dump of "Name   value" lines (the tool's --counters, nstat); -1 if absent.
long counter_in(const std::string& dump, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(dump, m, std::regex("(^|\\n)" + name + " +([0-9]+)"))) return -1;
  return std::stol(m[2]);
}

class FastopenInterop : public NetnsFixture {
 protected:
  // A counter of the namespace's kernel (`nstat -asz`: absolute, zeros too, history left
  // alone); -1 if it cannot be read.
  long kernel_counter(const std::string& name) {
    std::string out;
    if (in_ns({"nstat", "-asz", name}, &out) != 0) return -1;
    return counter_in(out, name);
  }
};

TEST_F(FastopenInterop, KernelClientSendsRequestOnSynToUsnetHttpd) {
  ASSERT_EQ(in_ns({"sysctl", "-qw", "net.ipv4.tcp_fastopen=3"}), 0);
  // 0x403: client, server, and Fast Open on every listener without TCP_FASTOPEN.
  start_tool({"httpd", "-p", "80", "--counters", "--sysctl", "net.ipv4.tcp_fastopen=1027"},
             "listening");
  for (int i = 0; i < 2; ++i) {
    std::string out;
    ASSERT_EQ(in_ns({"curl", "--tcp-fastopen", "-sS", "--fail", "-o", "/dev/null", "-w",
                     "%{http_code}", "http://198.18.3.2/bytes/5000"},
                    &out, 30),
              0)
        << out;
    EXPECT_EQ(out, "200");
  }
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenActive"), 1);
  const std::string counters = stop_tool_and_read();
  EXPECT_EQ(counter_in(counters, "TcpExtTCPFastOpenCookieReqd"), 1) << counters;
  EXPECT_EQ(counter_in(counters, "TcpExtTCPFastOpenPassive"), 1) << counters;
  EXPECT_EQ(counter_in(counters, "TcpExtTCPFastOpenPassiveFail"), 0) << counters;
  EXPECT_EQ(counter_in(counters, "TcpPassiveOpens"), 2) << counters;
}

TEST_F(FastopenInterop, UsnetClientSendsDataOnSynToKernelListener) {
#ifdef USNET_SANITIZED
  GTEST_SKIP() << "SKIPPED under sanitizers: this test preloads libusnet_preload.so into "
                  "uninstrumented programs (python3, curl), which cannot load a sanitizer "
                  "runtime after start; the gcc run of scripts/test runs it";
#endif
  ASSERT_EQ(in_ns({"sysctl", "-qw", "net.ipv4.tcp_fastopen=3"}), 0);
  const pid_t server = spawn_in_ns({"python3", "-c", R"(
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
s.bind(('0.0.0.0', 8100))
s.listen(16)
for i in range(3):
    c, _ = s.accept()
    c.sendall(b'ok:' + c.recv(100))
    c.close()
)"});
  ASSERT_GT(server, 0);
  ASSERT_TRUE(wait_kernel_listening(8100, server));
  // Three connections from one program: MSG_FASTOPEN without a cookie (the SYN asks for
  // one; a blocking call waits for the handshake and sends the data after it), then with
  // the cookie (data on the SYN), then TCP_FASTOPEN_CONNECT (connect() returns at once, the
  // first send carries the SYN).
  // (The tool prints its counters on stderr: `sh` joins it to stdout.)
  const std::vector<std::string> argv = {"sh",
                                         "-c",
                                         "exec \"$@\" 2>&1",
                                         "sh",
                                         USNET_TOOL_PATH,
                                         "run",
                                         "--netns",
                                         ns_,
                                         "--tap",
                                         "ut0",
                                         "--addr",
                                         "198.18.3.2/24",
                                         "--peer-addr",
                                         "198.18.3.1/24",
                                         "--counters",
                                         "--",
                                         "python3",
                                         "-c",
                                         R"(
import socket
addr = ('198.18.3.1', 8100)
for i in range(2):
    s = socket.socket()
    n = s.sendto(b'hello%d' % i, socket.MSG_FASTOPEN, addr)
    print(n, s.recv(100).decode())
    s.close()
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT
s.connect(addr)
print(s.send(b'hello2'), s.recv(100).decode())
s.close()
)"};
  std::string out;
  ASSERT_EQ(run(argv, &out, 60), 0) << out;
  EXPECT_NE(out.find("6 ok:hello0\n6 ok:hello1\n6 ok:hello2\n"), std::string::npos) << out;
  EXPECT_EQ(counter_in(out, "TcpExtTCPFastOpenActive"), 2) << out;
  EXPECT_EQ(wait_bg(server, 10), 0);
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenCookieReqd"), 1);
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenPassive"), 2);
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenPassiveFail"), 0);
}

// curl --tcp-fastopen under `usnet run` (curl uses TCP_FASTOPEN_CONNECT) fetches two URLs
// from a kernel HTTP/1.0 server, which closes each connection, so the second fetch is a new
// connection with the cookie the first got: the request rides on its SYN. The kernel's
// tcp_fastopen 0x400 gives python's listener Fast Open without the socket option.
TEST_F(FastopenInterop, CurlUnderUsnetRunSendsSecondRequestOnSyn) {
#ifdef USNET_SANITIZED
  GTEST_SKIP() << "SKIPPED under sanitizers: this test preloads libusnet_preload.so into "
                  "uninstrumented programs (python3, curl), which cannot load a sanitizer "
                  "runtime after start; the gcc run of scripts/test runs it";
#endif
  ASSERT_EQ(in_ns({"sysctl", "-qw", "net.ipv4.tcp_fastopen=1027"}), 0);
  const pid_t server =
      spawn_in_ns({"python3", "-m", "http.server", "8200", "--bind", "0.0.0.0", "-d", "/"});
  ASSERT_GT(server, 0);
  ASSERT_TRUE(wait_kernel_listening(8200, server));
  const std::vector<std::string> argv = {"sh",
                                         "-c",
                                         "exec \"$@\" 2>&1",
                                         "sh",
                                         USNET_TOOL_PATH,
                                         "run",
                                         "--netns",
                                         ns_,
                                         "--tap",
                                         "ut0",
                                         "--addr",
                                         "198.18.3.2/24",
                                         "--peer-addr",
                                         "198.18.3.1/24",
                                         "--counters",
                                         "--",
                                         "curl",
                                         "--tcp-fastopen",
                                         "-sS",
                                         "--fail",
                                         "-o",
                                         "/dev/null",
                                         "-o",
                                         "/dev/null",
                                         "-w",
                                         "%{http_code}\\n",
                                         "http://198.18.3.1:8200/",
                                         "http://198.18.3.1:8200/"};
  std::string out;
  ASSERT_EQ(run(argv, &out, 60), 0) << out;
  EXPECT_NE(out.find("200\n200\n"), std::string::npos) << out;
  EXPECT_EQ(counter_in(out, "TcpActiveOpens"), 2) << out;
  EXPECT_EQ(counter_in(out, "TcpExtTCPFastOpenActive"), 1) << out;
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenCookieReqd"), 1);
  EXPECT_EQ(kernel_counter("TcpExtTCPFastOpenPassive"), 1);
}

}  // namespace
}  // namespace usnet::interop

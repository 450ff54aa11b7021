// TCP through the C API on the default stack's loopback interface, as a program would use
// it: blocking and non-blocking connect, accept4 flags, partial and whole reads and writes,
// MSG_PEEK, MSG_WAITALL, shutdown, SO_LINGER, SO_ERROR, the queue ioctls.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "support/loopback.h"
#include "usnet/usnet.h"

namespace {

using usnet::test::loop;
using usnet::test::sa;

class TcpApi : public ::testing::Test {
 protected:
  void SetUp() override { usnet_stack_use(nullptr); }
  void TearDown() override {
    for (int fd : fds_)
      usnet_close(fd);
  }
  int keep(int fd) {
    EXPECT_GE(fd, 0) << std::strerror(errno);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int tcp() { return keep(usnet_socket(AF_INET, SOCK_STREAM, 0)); }
  // A listener on 127.0.0.1 and its port.
  int listener(std::uint16_t* port) {
    const int l = tcp();
    const auto a = loop(0);
    EXPECT_EQ(usnet_bind(l, sa(a), sizeof(a)), 0);
    EXPECT_EQ(usnet_listen(l, 16), 0);
    sockaddr_in got{};
    socklen_t len = sizeof(got);
    usnet_getsockname(l, reinterpret_cast<sockaddr*>(&got), &len);
    *port = ntohs(got.sin_port);
    return l;
  }
  // A connected pair: client and the accepted server socket.
  void pair(int* client, int* server) {
    std::uint16_t port = 0;
    const int l = listener(&port);
    *client = tcp();
    const auto a = loop(port);
    ASSERT_EQ(usnet_connect(*client, sa(a), sizeof(a)), 0) << std::strerror(errno);
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    *server = keep(usnet_accept(l, reinterpret_cast<sockaddr*>(&peer), &len));
    ASSERT_EQ(len, sizeof(peer));
    sockaddr_in mine{};
    len = sizeof(mine);
    usnet_getsockname(*client, reinterpret_cast<sockaddr*>(&mine), &len);
    EXPECT_EQ(peer.sin_port, mine.sin_port);  // accept reports the client's address
  }
  std::vector<int> fds_;
};

TEST_F(TcpApi, BlockingSendAndReadBackEverything) {
  int c = -1;
  int s = -1;
  pair(&c, &s);
  // 1 MiB in one blocking send: it returns when all of it is queued.
  std::vector<char> out(1 << 20);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(i * 31 + i / 1024);
  std::vector<char> in(out.size());
  std::size_t got = 0;
  ASSERT_EQ(usnet_send(c, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  // MSG_WAITALL returns only with the buffer full.
  const ssize_t n = usnet_recv(s, in.data(), in.size(), MSG_WAITALL);
  ASSERT_EQ(n, static_cast<ssize_t>(in.size()));
  got = static_cast<std::size_t>(n);
  EXPECT_EQ(got, out.size());
  EXPECT_EQ(std::memcmp(in.data(), out.data(), out.size()), 0);
}

TEST_F(TcpApi, PeekShutdownAndEndOfStream) {
  int c = -1;
  int s = -1;
  pair(&c, &s);
  ASSERT_EQ(usnet_send(c, "hello", 5, 0), 5);
  char b[16] = {};
  EXPECT_EQ(usnet_recv(s, b, sizeof(b), MSG_PEEK | MSG_WAITALL), 5);
  int queued = -1;
  ASSERT_EQ(usnet_ioctl(s, FIONREAD, &queued), 0);
  EXPECT_EQ(queued, 5);
  EXPECT_EQ(usnet_recv(s, b, 3, 0), 3);
  EXPECT_EQ(std::string(b, 3), "hel");
  ASSERT_EQ(usnet_shutdown(c, SHUT_WR), 0);
  EXPECT_EQ(usnet_recv(s, b, sizeof(b), 0), 2);
  EXPECT_EQ(usnet_recv(s, b, sizeof(b), 0), 0);  // the FIN
  // Half-closed: the other direction still works, and sending on the shut side is EPIPE.
  EXPECT_EQ(usnet_send(s, "back", 4, 0), 4);
  EXPECT_EQ(usnet_recv(c, b, sizeof(b), 0), 4);
  EXPECT_EQ(usnet_send(c, "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST_F(TcpApi, NonBlockingConnectReportsThroughSoError) {
  std::uint16_t port = 0;
  const int l = listener(&port);
  const int c = keep(usnet_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  const auto a = loop(port);
  ASSERT_EQ(usnet_connect(c, sa(a), sizeof(a)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  // Over loopback the handshake is done by the time connect() returns: as on Linux, the
  // second connect() reports the success, a third says EISCONN.
  EXPECT_EQ(usnet_connect(c, sa(a), sizeof(a)), 0);
  // accept4 with SOCK_NONBLOCK: the listener waits (blocking), the new socket does not.
  const int s = keep(usnet_accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  EXPECT_NE(usnet_fcntl(s, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(usnet_fcntl(s, F_GETFD) & FD_CLOEXEC, 0);
  char b[4];
  EXPECT_EQ(usnet_recv(s, b, sizeof(b), 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_EQ(usnet_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(usnet_connect(c, sa(a), sizeof(a)), -1);
  EXPECT_EQ(errno, EISCONN);

  // To a closed port: the refusal arrives later, through SO_ERROR.
  const int r = keep(usnet_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  const auto closed = loop(1);
  ASSERT_EQ(usnet_connect(r, sa(closed), sizeof(closed)), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  usnet_runtime_poll(usnet_stack_runtime(usnet_stack_current()), 10);
  len = sizeof(err);
  ASSERT_EQ(usnet_getsockopt(r, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNREFUSED);
  // The attempt is over; reading SO_ERROR consumed the error: connect() now says so.
  EXPECT_EQ(usnet_connect(r, sa(closed), sizeof(closed)), -1);
  EXPECT_EQ(errno, ECONNABORTED);
}

TEST_F(TcpApi, LingerWaitsForTheDataThenZeroLingerResets) {
  int c = -1;
  int s = -1;
  pair(&c, &s);
  const linger lg{1, 5};
  ASSERT_EQ(usnet_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
  // Less than the reader's initial window (64240: half of tcp_rmem[1], in segments): a
  // reader that reads nothing takes no more than that, as on Linux.
  std::vector<char> data(60000, 'L');
  ASSERT_EQ(usnet_send(c, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  // The reader has read nothing yet: close() waits until the peer has it all.
  std::erase(fds_, c);
  ASSERT_EQ(usnet_close(c), 0);
  int queued = -1;
  ASSERT_EQ(usnet_ioctl(s, FIONREAD, &queued), 0);
  EXPECT_EQ(queued, static_cast<int>(data.size()));

  int c2 = -1;
  int s2 = -1;
  pair(&c2, &s2);
  const linger zero{1, 0};
  ASSERT_EQ(usnet_setsockopt(c2, SOL_SOCKET, SO_LINGER, &zero, sizeof(zero)), 0);
  std::erase(fds_, c2);
  ASSERT_EQ(usnet_close(c2), 0);
  char b[4];
  EXPECT_EQ(usnet_recv(s2, b, sizeof(b), 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(usnet_recv(s2, b, sizeof(b), 0), 0);  // after the error: end of stream
}

TEST_F(TcpApi, AcceptTimesOutWithRcvtimeo) {
  std::uint16_t port = 0;
  const int l = listener(&port);
  timeval tv{0, 50'000};
  ASSERT_EQ(usnet_setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(usnet_accept(l, nullptr, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));
}

}  // namespace

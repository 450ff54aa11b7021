// UDP through the C API on the default stack's loopback interface: the socket calls,
// their flags and options, as a program would use them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "support/loopback.h"
#include "usnet/usnet.h"

namespace {

using usnet::test::loop;
using usnet::test::sa;

class UdpApi : public ::testing::Test {
 protected:
  void SetUp() override { usnet_stack_use(nullptr); }
  void TearDown() override {
    for (int fd : fds_)
      usnet_close(fd);
  }
  int udp() {
    const int fd = usnet_socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    fds_.push_back(fd);
    return fd;
  }
  // A socket bound to 127.0.0.1 on an ephemeral port; returns its address.
  int bound(sockaddr_in* out) {
    const int fd = udp();
    sockaddr_in a = loop(0);
    EXPECT_EQ(usnet_bind(fd, sa(a), sizeof(a)), 0) << std::strerror(errno);
    socklen_t len = sizeof(*out);
    EXPECT_EQ(usnet_getsockname(fd, reinterpret_cast<sockaddr*>(out), &len), 0);
    EXPECT_EQ(len, sizeof(sockaddr_in));
    return fd;
  }
  std::vector<int> fds_;
};

TEST_F(UdpApi, SendtoRecvfromAcrossLoopback) {
  sockaddr_in a_addr{}, b_addr{};
  const int a = bound(&a_addr);
  const int b = bound(&b_addr);
  EXPECT_NE(a_addr.sin_port, b_addr.sin_port);
  const char msg[] = "hello, usnet";
  ASSERT_EQ(usnet_sendto(a, msg, sizeof(msg), 0, sa(b_addr), sizeof(b_addr)),
            static_cast<ssize_t>(sizeof(msg)));
  char buf[64] = {};
  sockaddr_in from{};
  socklen_t flen = sizeof(from);
  ASSERT_EQ(usnet_recvfrom(b, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen),
            static_cast<ssize_t>(sizeof(msg)));
  EXPECT_STREQ(buf, msg);
  EXPECT_EQ(flen, sizeof(sockaddr_in));
  EXPECT_EQ(from.sin_port, a_addr.sin_port);
  EXPECT_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

TEST_F(UdpApi, EphemeralPortIsInLinuxRange) {
  const int fd = udp();
  sockaddr_in dst{};
  bound(&dst);
  ASSERT_EQ(usnet_sendto(fd, "x", 1, 0, sa(dst), sizeof(dst)), 1);
  sockaddr_in me{};
  socklen_t len = sizeof(me);
  ASSERT_EQ(usnet_getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len), 0);
  EXPECT_GE(ntohs(me.sin_port), 32768);
  EXPECT_LE(ntohs(me.sin_port), 60999);
  EXPECT_EQ(me.sin_addr.s_addr, 0u);  // autobind takes the wildcard address
}

TEST_F(UdpApi, PeekAndTruncate) {
  sockaddr_in b_addr{};
  const int a = udp();
  const int b = bound(&b_addr);
  std::vector<char> big(1000, 'z');
  ASSERT_EQ(usnet_sendto(a, big.data(), big.size(), 0, sa(b_addr), sizeof(b_addr)), 1000);
  char small[10];
  // MSG_PEEK leaves it queued; MSG_TRUNC reports the real length.
  EXPECT_EQ(usnet_recv(b, small, sizeof(small), MSG_PEEK | MSG_TRUNC), 1000);
  iovec v{small, sizeof(small)};
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  EXPECT_EQ(usnet_recvmsg(b, &m, 0), 10);
  EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
  // The rest of a truncated datagram is gone.
  EXPECT_EQ(usnet_recv(b, small, sizeof(small), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(UdpApi, LargestDatagramAndOneMore) {
  sockaddr_in b_addr{};
  const int a = udp();
  const int b = bound(&b_addr);
  std::vector<unsigned char> big(65508);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<unsigned char>(i * 31);
  EXPECT_EQ(usnet_sendto(a, big.data(), 65508, 0, sa(b_addr), sizeof(b_addr)), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  ASSERT_EQ(usnet_sendto(a, big.data(), 65507, 0, sa(b_addr), sizeof(b_addr)), 65507);
  std::vector<unsigned char> got(70000);
  ASSERT_EQ(usnet_recv(b, got.data(), got.size(), 0), 65507);
  EXPECT_TRUE(std::equal(big.begin(), big.begin() + 65507, got.begin()));
}

TEST_F(UdpApi, ConnectedSocketGetsConnRefusedFromPortUnreachable) {
  const int a = udp();
  sockaddr_in closed{};
  {
    // Find a port nobody holds: bind, read it back, close.
    const int tmp = usnet_socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in any = loop(0);
    ASSERT_EQ(usnet_bind(tmp, sa(any), sizeof(any)), 0);
    socklen_t len = sizeof(closed);
    ASSERT_EQ(usnet_getsockname(tmp, reinterpret_cast<sockaddr*>(&closed), &len), 0);
    usnet_close(tmp);
  }
  ASSERT_EQ(usnet_connect(a, sa(closed), sizeof(closed)), 0);
  ASSERT_EQ(usnet_send(a, "ping", 4, 0), 4);
  char buf[8];
  EXPECT_EQ(usnet_recv(a, buf, sizeof(buf), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  // Reported once: the next call sees an empty queue.
  EXPECT_EQ(usnet_recv(a, buf, sizeof(buf), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(UdpApi, RcvtimeoExpiresWithEagain) {
  sockaddr_in addr{};
  const int b = bound(&addr);
  timeval tv{0, 50'000};
  ASSERT_EQ(usnet_setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  char buf[4];
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(usnet_recv(b, buf, sizeof(buf), 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(50));
  EXPECT_LT(waited, std::chrono::seconds(2));
  timeval back{};
  socklen_t len = sizeof(back);
  ASSERT_EQ(usnet_getsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &back, &len), 0);
  EXPECT_EQ(back.tv_sec, 0);
  EXPECT_EQ(back.tv_usec, 50'000);
}

TEST_F(UdpApi, NonblockingViaFcntl) {
  sockaddr_in addr{};
  const int b = bound(&addr);
  const int fl = usnet_fcntl(b, F_GETFL);
  ASSERT_GE(fl, 0);
  EXPECT_FALSE(fl & O_NONBLOCK);
  ASSERT_EQ(usnet_fcntl(b, F_SETFL, fl | O_NONBLOCK), 0);
  EXPECT_TRUE(usnet_fcntl(b, F_GETFL) & O_NONBLOCK);
  char buf[4];
  EXPECT_EQ(usnet_recv(b, buf, sizeof(buf), 0), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(UdpApi, BindConflictsAndReuse) {
  const int a = udp();
  const int b = udp();
  sockaddr_in addr = loop(0);
  ASSERT_EQ(usnet_bind(a, sa(addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(usnet_getsockname(a, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  EXPECT_EQ(usnet_bind(b, sa(addr), sizeof(addr)), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  // The wildcard overlaps the specific address too.
  sockaddr_in any = addr;
  any.sin_addr.s_addr = 0;
  EXPECT_EQ(usnet_bind(b, sa(any), sizeof(any)), -1);
  EXPECT_EQ(errno, EADDRINUSE);
  // Binding twice is EINVAL.
  EXPECT_EQ(usnet_bind(a, sa(addr), sizeof(addr)), -1);
  EXPECT_EQ(errno, EINVAL);
  // Both with SO_REUSEADDR may share.
  const int c = udp();
  const int d = udp();
  const int one = 1;
  ASSERT_EQ(usnet_setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
  ASSERT_EQ(usnet_setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
  sockaddr_in shared = loop(0);
  ASSERT_EQ(usnet_bind(c, sa(shared), sizeof(shared)), 0);
  len = sizeof(shared);
  ASSERT_EQ(usnet_getsockname(c, reinterpret_cast<sockaddr*>(&shared), &len), 0);
  EXPECT_EQ(usnet_bind(d, sa(shared), sizeof(shared)), 0);
}

TEST_F(UdpApi, BufferSizesAreDoubledAndClamped) {
  const int fd = udp();
  auto set_get = [&](int name, int v) {
    EXPECT_EQ(usnet_setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)), 0);
    int out = 0;
    socklen_t len = sizeof(out);
    EXPECT_EQ(usnet_getsockopt(fd, SOL_SOCKET, name, &out, &len), 0);
    return out;
  };
  int def = 0;
  socklen_t len = sizeof(def);
  ASSERT_EQ(usnet_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &def, &len), 0);
  EXPECT_EQ(def, 212992);
  EXPECT_EQ(set_get(SO_RCVBUF, 1000), 2304);
  EXPECT_EQ(set_get(SO_RCVBUF, 100000), 200000);
  // Capped at net.core.rmem_max (Linux 6.18's 4 MiB), then doubled.
  EXPECT_EQ(set_get(SO_RCVBUF, 1 << 30), 8388608);
  EXPECT_EQ(set_get(SO_SNDBUF, 1000), 4608);
}

TEST_F(UdpApi, ReadOnlyOptionsAndTtl) {
  const int fd = udp();
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_EQ(usnet_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  ASSERT_EQ(usnet_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len), 0);
  EXPECT_EQ(v, 0);
  ASSERT_EQ(usnet_getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
  EXPECT_EQ(v, 64);
  const int ttl = 7;
  ASSERT_EQ(usnet_setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
  ASSERT_EQ(usnet_getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
  EXPECT_EQ(v, 7);
  const int bad = 256;
  EXPECT_EQ(usnet_setsockopt(fd, IPPROTO_IP, IP_TTL, &bad, sizeof(bad)), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(UdpApi, DescriptorsNeverCollideWithKernelFiles) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const int fd = udp();
  EXPECT_NE(fd, p[0]);
  EXPECT_NE(fd, p[1]);
  char c;
  EXPECT_EQ(usnet_recv(p[0], &c, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ENOTSOCK);
  ::close(p[0]);
  ::close(p[1]);
  EXPECT_EQ(usnet_recv(p[0], &c, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(usnet_is_socket(fd), 1);
  EXPECT_EQ(usnet_is_socket(p[0]), 0);
}

}  // namespace

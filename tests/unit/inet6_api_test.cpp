// AF_INET6 sockets through the C API on the default stack's loopback interface (::1):
// UDP and TCP over IPv6, names as sockaddr_in6, dual-stack sockets reaching IPv4 peers
// in their v4-mapped form, IPV6_V6ONLY, and the errno Linux gives for family mistakes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "support/loopback.h"
#include "usnet/usnet.h"

namespace {

using usnet::test::loop;
using usnet::test::sa;

sockaddr_in6 loop6(std::uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_loopback;
  return a;
}

sockaddr_in6 mapped(std::uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr), 1);
  return a;
}

const sockaddr* sa6(const sockaddr_in6& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

std::string text(const sockaddr_in6& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof(buf));
  return buf;
}

class Inet6Api : public ::testing::Test {
 protected:
  void SetUp() override { usnet_stack_use(nullptr); }
  void TearDown() override {
    for (int fd : fds_)
      usnet_close(fd);
  }
  int sock(int family, int type) {
    const int fd = usnet_socket(family, type, 0);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    fds_.push_back(fd);
    return fd;
  }
  sockaddr_in6 name6(int fd, bool peer = false) {
    sockaddr_in6 a{};
    socklen_t len = sizeof(a);
    const int r = peer ? usnet_getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                       : usnet_getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    EXPECT_EQ(r, 0) << std::strerror(errno);
    EXPECT_EQ(len, sizeof(sockaddr_in6));
    EXPECT_EQ(a.sin6_family, AF_INET6);
    return a;
  }
  // A TCP listener of `family` on its loopback, ephemeral port; returns the port.
  std::uint16_t listen_on(int fd, const sockaddr* addr, socklen_t len) {
    EXPECT_EQ(usnet_bind(fd, addr, len), 0) << std::strerror(errno);
    EXPECT_EQ(usnet_listen(fd, 8), 0) << std::strerror(errno);
    sockaddr_storage s{};
    socklen_t sl = sizeof(s);
    EXPECT_EQ(usnet_getsockname(fd, reinterpret_cast<sockaddr*>(&s), &sl), 0);
    return ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port);  // same offset in both
  }
  int accept_one(int lfd) {
    for (int i = 0; i < 200; ++i) {
      const int c = usnet_accept(lfd, nullptr, nullptr);
      if (c >= 0) {
        fds_.push_back(c);
        return c;
      }
      if (errno != EAGAIN) break;
      usleep(1000);
    }
    ADD_FAILURE() << "no connection accepted: " << std::strerror(errno);
    return -1;
  }
  std::vector<int> fds_;
};

TEST_F(Inet6Api, UdpOverIpv6Loopback) {
  const int a = sock(AF_INET6, SOCK_DGRAM);
  const int b = sock(AF_INET6, SOCK_DGRAM);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  ASSERT_EQ(usnet_bind(b, sa6(any), sizeof(any)), 0) << std::strerror(errno);
  const sockaddr_in6 bname = name6(b);
  EXPECT_EQ(text(bname), "::");
  ASSERT_NE(bname.sin6_port, 0);
  const sockaddr_in6 to = loop6(ntohs(bname.sin6_port));
  const char msg[] = "over ipv6";
  ASSERT_EQ(usnet_sendto(a, msg, sizeof(msg), 0, sa6(to), sizeof(to)),
            static_cast<ssize_t>(sizeof(msg)))
      << std::strerror(errno);
  char buf[64] = {};
  sockaddr_in6 from{};
  socklen_t flen = sizeof(from);
  ASSERT_EQ(usnet_recvfrom(b, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen),
            static_cast<ssize_t>(sizeof(msg)))
      << std::strerror(errno);
  EXPECT_STREQ(buf, msg);
  EXPECT_EQ(flen, sizeof(sockaddr_in6));
  EXPECT_EQ(from.sin6_family, AF_INET6);
  EXPECT_EQ(text(from), "::1");
  EXPECT_EQ(from.sin6_port, name6(a).sin6_port);  // a was bound on its first send
}

TEST_F(Inet6Api, DualStackUdpSocketHearsIpv4AsMapped) {
  const int b = sock(AF_INET6, SOCK_DGRAM);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  ASSERT_EQ(usnet_bind(b, sa6(any), sizeof(any)), 0);
  const std::uint16_t port = ntohs(name6(b).sin6_port);
  const int a = sock(AF_INET, SOCK_DGRAM);
  const sockaddr_in to = loop(port);
  ASSERT_EQ(usnet_sendto(a, "v4", 2, 0, sa(to), sizeof(to)), 2) << std::strerror(errno);
  char buf[8] = {};
  sockaddr_in6 from{};
  socklen_t flen = sizeof(from);
  ASSERT_EQ(usnet_recvfrom(b, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen), 2)
      << std::strerror(errno);
  EXPECT_EQ(text(from), "::ffff:127.0.0.1");
  // And it answers the mapped address over IPv4.
  ASSERT_EQ(usnet_sendto(b, "ok", 2, 0, reinterpret_cast<sockaddr*>(&from), flen), 2)
      << std::strerror(errno);
  sockaddr_in back{};
  socklen_t blen = sizeof(back);
  ASSERT_EQ(usnet_recvfrom(a, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&back), &blen), 2);
  EXPECT_EQ(back.sin_family, AF_INET);
  EXPECT_EQ(ntohs(back.sin_port), port);
}

TEST_F(Inet6Api, V6OnlySocketRefusesMappedAndLetsIpv4BindTheSamePort) {
  const int b = sock(AF_INET6, SOCK_DGRAM);
  int one = 1;
  ASSERT_EQ(usnet_setsockopt(b, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
  int v = 0;
  socklen_t vl = sizeof(v);
  ASSERT_EQ(usnet_getsockopt(b, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl), 0);
  EXPECT_EQ(v, 1);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  ASSERT_EQ(usnet_bind(b, sa6(any), sizeof(any)), 0);
  const std::uint16_t port = ntohs(name6(b).sin6_port);
  // Bound: too late to change (Linux: EINVAL).
  EXPECT_EQ(usnet_setsockopt(b, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -1);
  EXPECT_EQ(errno, EINVAL);
  // IPv4's wildcard on the same port does not collide with a v6-only ::.
  const int a = sock(AF_INET, SOCK_DGRAM);
  sockaddr_in a4 = loop(port);
  a4.sin_addr.s_addr = htonl(INADDR_ANY);
  EXPECT_EQ(usnet_bind(a, sa(a4), sizeof(a4)), 0) << std::strerror(errno);
  // A v6-only socket cannot send to a v4-mapped address (Linux: ENETUNREACH).
  const sockaddr_in6 m = mapped(9);
  EXPECT_EQ(usnet_sendto(b, "x", 1, 0, sa6(m), sizeof(m)), -1);
  EXPECT_EQ(errno, ENETUNREACH);
}

TEST_F(Inet6Api, DualStackWildcardCollidesWithIpv4Wildcard) {
  const int b = sock(AF_INET6, SOCK_STREAM);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  ASSERT_EQ(usnet_bind(b, sa6(any), sizeof(any)), 0);
  const std::uint16_t port = ntohs(name6(b).sin6_port);
  const int a = sock(AF_INET, SOCK_STREAM);
  sockaddr_in a4 = loop(port);
  a4.sin_addr.s_addr = htonl(INADDR_ANY);
  EXPECT_EQ(usnet_bind(a, sa(a4), sizeof(a4)), -1);
  EXPECT_EQ(errno, EADDRINUSE);
}

TEST_F(Inet6Api, TcpOverIpv6LoopbackCarriesDataAndNames) {
  const int l = sock(AF_INET6, SOCK_STREAM);
  const sockaddr_in6 bind_to = loop6(0);
  const std::uint16_t port = listen_on(l, sa6(bind_to), sizeof(bind_to));
  const int c = sock(AF_INET6, SOCK_STREAM);
  const sockaddr_in6 to = loop6(port);
  ASSERT_EQ(usnet_connect(c, sa6(to), sizeof(to)), 0) << std::strerror(errno);
  const int s = accept_one(l);
  ASSERT_GE(s, 0);
  EXPECT_EQ(text(name6(s, true)), "::1");
  EXPECT_EQ(name6(s, true).sin6_port, name6(c).sin6_port);
  EXPECT_EQ(text(name6(c, true)), "::1");
  EXPECT_EQ(ntohs(name6(c, true).sin6_port), port);
  // 100 KiB each way: more than one window, every byte checked.
  std::vector<char> out(100 * 1024);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(i * 7 + 3);
  std::size_t sent = 0;
  std::vector<char> in(out.size());
  std::size_t got = 0;
  for (int i = 0; i < 20000 && got < in.size(); ++i) {
    if (sent < out.size()) {
      const ssize_t n = usnet_send(c, out.data() + sent, out.size() - sent, MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    const ssize_t r = usnet_recv(s, in.data() + got, in.size() - got, MSG_DONTWAIT);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  ASSERT_EQ(got, out.size());
  EXPECT_EQ(in, out);
  // The MSS follows IPv6's 40-byte header: the loopback's 65536 MTU less 40 and 20.
  int mss = 0;
  socklen_t ml = sizeof(mss);
  ASSERT_EQ(usnet_getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml), 0);
  EXPECT_LE(mss, 65536 - 60);
  EXPECT_GT(mss, 65536 - 60 - 40);  // less timestamps at most
}

TEST_F(Inet6Api, DualStackListenerAcceptsIpv4ClientAsMapped) {
  const int l = sock(AF_INET6, SOCK_STREAM);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  const std::uint16_t port = listen_on(l, sa6(any), sizeof(any));
  const int c = sock(AF_INET, SOCK_STREAM);
  const sockaddr_in to = loop(port);
  ASSERT_EQ(usnet_connect(c, sa(to), sizeof(to)), 0) << std::strerror(errno);
  const int s = accept_one(l);
  ASSERT_GE(s, 0);
  EXPECT_EQ(text(name6(s, true)), "::ffff:127.0.0.1");
  EXPECT_EQ(text(name6(s)), "::ffff:127.0.0.1");
  ASSERT_EQ(usnet_send(c, "ping", 4, 0), 4);
  char buf[8] = {};
  ssize_t r = -1;
  for (int i = 0; i < 200 && r <= 0; ++i) {
    r = usnet_recv(s, buf, sizeof(buf), MSG_DONTWAIT);
    if (r <= 0) usleep(1000);
  }
  ASSERT_EQ(r, 4);
  EXPECT_STREQ(buf, "ping");
}

TEST_F(Inet6Api, FamilyMistakesAsLinux) {
  const int u6 = sock(AF_INET6, SOCK_DGRAM);
  // A sockaddr_in to an AF_INET6 socket's bind: shorter than sockaddr_in6 (EINVAL).
  const sockaddr_in a4 = loop(0);
  EXPECT_EQ(usnet_bind(u6, sa(a4), sizeof(a4)), -1);
  EXPECT_EQ(errno, EINVAL);
  // An AF_INET6 name to an AF_INET socket: the family is wrong (EAFNOSUPPORT).
  const int u4 = sock(AF_INET, SOCK_DGRAM);
  const sockaddr_in6 a6 = loop6(0);
  EXPECT_EQ(usnet_bind(u4, sa6(a6), sizeof(a6)), -1);
  EXPECT_EQ(errno, EAFNOSUPPORT);
  // A link-local address without its scope id names no interface (EINVAL).
  sockaddr_in6 ll = loop6(0);
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &ll.sin6_addr), 1);
  EXPECT_EQ(usnet_bind(u6, sa6(ll), sizeof(ll)), -1);
  EXPECT_EQ(errno, EINVAL);
  // IPV6_* options are not an AF_INET socket's.
  int one = 1;
  EXPECT_EQ(usnet_setsockopt(u4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -1);
  EXPECT_EQ(errno, ENOPROTOOPT);
  // An unbound AF_INET6 socket is named [::]:0.
  const sockaddr_in6 n = name6(u6);
  EXPECT_EQ(text(n), "::");
  EXPECT_EQ(n.sin6_port, 0);
  // Hop limit: the default reads 64; out of range is EINVAL.
  int hops = 0;
  socklen_t hl = sizeof(hops);
  ASSERT_EQ(usnet_getsockopt(u6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, &hl), 0);
  EXPECT_EQ(hops, 64);
  int bad = 256;
  EXPECT_EQ(usnet_setsockopt(u6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &bad, sizeof(bad)), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace

// Three stacks on one simulated switch, in virtual time: every host reaches every other
// with UDP, and a broadcast reaches all of them.
#include <netinet/in.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "dev/memory_switch.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"

namespace usnet::sim {
namespace {

struct SwitchedLan {
  explicit SwitchedLan(Impairments imp = {}) : sw(99) {
    for (std::uint8_t i = 0; i < 3; ++i) {
      StackConfig cfg;
      cfg.name = "h" + std::to_string(i + 1);
      cfg.seed = 100 + i;
      hosts[i] = std::make_unique<Stack>(cfg);
      Device& port = sw.add_port(imp);
      auto idx = hosts[i]->add_interface("eth0", port, MacAddress{{0x02, 0, 0, 0, 1, i}});
      EXPECT_TRUE(idx);
      EXPECT_TRUE(hosts[i]->add_address(*idx, Ipv4Cidr{addr(i), 24}));
    }
  }
  static Ipv4Address addr(int i) {
    return Ipv4Address::from_octets(198, 18, 4, static_cast<std::uint8_t>(i + 1));
  }
  void run_for(Duration d) {
    const Instant end = now + d;
    for (;;) {
      for (auto& h : hosts)
        h->poll(now);
      Instant next = kNever;
      for (auto& h : hosts)
        next = earliest(next, h->next_deadline());
      if (next <= now) continue;
      if (next > end) break;
      now = next;
    }
    now = end;
  }
  MemorySwitch sw;
  std::array<std::unique_ptr<Stack>, 3> hosts;
  Instant now = kEpoch + std::chrono::seconds(1);
};

Socket* bound_udp(Stack& s, std::uint16_t port) {
  auto r = sock_create(s, AF_INET, SOCK_DGRAM, 0);
  EXPECT_TRUE(r);
  EXPECT_TRUE(sock_bind(**r, SockAddr::inet({}, port)));
  return *r;
}

TEST(SwitchSim, EveryHostReachesEveryOther) {
  SwitchedLan lan;
  std::array<Socket*, 3> socks{};
  for (int i = 0; i < 3; ++i)
    socks[i] = bound_udp(*lan.hosts[i], 7);
  for (int from = 0; from < 3; ++from) {
    for (int to = 0; to < 3; ++to) {
      if (from == to) continue;
      const std::byte msg[2] = {static_cast<std::byte>(from), static_cast<std::byte>(to)};
      const ByteSpan iov[] = {msg};
      const SockAddr dst = SockAddr::inet(SwitchedLan::addr(to), 7);
      ASSERT_TRUE(sock_sendmsg(*socks[from], SendMsg{iov, &dst}, 0));
    }
  }
  lan.run_for(std::chrono::milliseconds(50));
  for (int to = 0; to < 3; ++to) {
    int got = 0;
    std::byte buf[8];
    const MutableByteSpan iov[] = {buf};
    while (auto r = sock_recvmsg(*socks[to], RecvMsg{iov}, 0)) {
      ASSERT_EQ(r->copied, 2u);
      EXPECT_EQ(static_cast<int>(buf[1]), to);
      EXPECT_EQ(r->from->addr, SwitchedLan::addr(static_cast<int>(buf[0])));
      ++got;
    }
    EXPECT_EQ(got, 2) << "host " << to;
  }
  // After learning, unicast is forwarded rather than flooded.
  EXPECT_GT(lan.sw.stats().forwarded, 0u);
  EXPECT_EQ(lan.sw.learned(), 3u);
}

TEST(SwitchSim, BroadcastReachesAllOthersWithSoBroadcast) {
  SwitchedLan lan;
  std::array<Socket*, 3> socks{};
  for (int i = 0; i < 3; ++i)
    socks[i] = bound_udp(*lan.hosts[i], 9);
  const std::byte msg[1] = {std::byte{42}};
  const ByteSpan iov[] = {msg};
  const SockAddr bcast = SockAddr::inet(Ipv4Address::from_octets(198, 18, 4, 255), 9);
  auto denied = sock_sendmsg(*socks[0], SendMsg{iov, &bcast}, 0);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error(), Error::kPermissionDenied);  // EACCES without SO_BROADCAST
  socks[0]->opt.broadcast = true;
  ASSERT_TRUE(sock_sendmsg(*socks[0], SendMsg{iov, &bcast}, 0));
  lan.run_for(std::chrono::milliseconds(10));
  for (int i = 1; i < 3; ++i) {
    std::byte buf[4];
    const MutableByteSpan riov[] = {buf};
    auto r = sock_recvmsg(*socks[i], RecvMsg{riov}, 0);
    ASSERT_TRUE(r) << "host " << i;
    EXPECT_EQ(buf[0], std::byte{42});
  }
  EXPECT_EQ(lan.hosts[1]->mib().IpExtInBcastPkts, 1u);
}

}  // namespace
}  // namespace usnet::sim

// Two stacks over a memory wire in virtual time: ARP, UDP, fragmentation both ways, ICMP
// errors, and UDP under every impairment of the wire.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "base/rng.h"
#include "net/arp.h"
#include "support/sim_net.h"
#include "transport/udp.h"

namespace usnet::sim {
namespace {

std::vector<std::byte> random_bytes(Rng& rng, std::size_t n) {
  std::vector<std::byte> v(n);
  for (auto& b : v)
    b = static_cast<std::byte>(rng.next());
  return v;
}

bool readable(Socket& s) {
  return (sock_poll(s) & POLLIN) != 0;
}

TEST(UdpSim, ArpResolvesThenDatagramArrives) {
  SimNet net;
  Socket* rx = udp_socket(*net.b, 7);
  Socket* tx = udp_socket(*net.a);
  const auto payload = std::vector<std::byte>(100, std::byte{0x42});
  ASSERT_TRUE(send_to(*tx, payload, SockAddr::inet(kAddrB, 7)));
  ASSERT_TRUE(net.run_until([&] { return readable(*rx); }));
  std::vector<std::byte> buf(2000);
  auto r = recv_from(*rx, buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->copied, 100u);
  EXPECT_EQ(r->from->addr, kAddrA);
  EXPECT_EQ(r->from->port, tx->local.port);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), buf.begin()));
  // Both learned each other: a from b's reply, b from a's request.
  const auto* na = net.a->arp().find(2, kAddrB);
  ASSERT_NE(na, nullptr);
  EXPECT_EQ(na->state, NeighState::kReachable);
  EXPECT_EQ(na->mac, mac(2));
  EXPECT_NE(net.b->arp().find(2, kAddrA), nullptr);
  EXPECT_EQ(net.a->mib().UdpOutDatagrams, 1u);
  EXPECT_EQ(net.b->mib().UdpInDatagrams, 1u);
}

// Sizes that cross the fragmentation boundary both ways (MTU 1500: 1472 fits, 1473 does
// not), up to the largest UDP datagram.
TEST(UdpSim, FragmentedDatagramsCrossBothWaysIntact) {
  SimNet net;
  Socket* echo = udp_socket(*net.b, 7);
  Socket* client = udp_socket(*net.a, 40000);
  Rng rng(5);
  std::vector<std::byte> buf(70000);
  for (std::size_t size : {0u, 1u, 1472u, 1473u, 8000u, 65507u}) {
    const auto payload = random_bytes(rng, size);
    ASSERT_TRUE(send_to(*client, payload, SockAddr::inet(kAddrB, 7)));
    ASSERT_TRUE(net.run_until([&] { return readable(*echo); })) << size;
    auto r = recv_from(*echo, buf);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->copied, size);
    ASSERT_TRUE(std::equal(payload.begin(), payload.end(), buf.begin()));
    ASSERT_TRUE(send_to(*echo, ByteSpan(buf).first(size), *r->from));
    ASSERT_TRUE(net.run_until([&] { return readable(*client); })) << size;
    auto back = recv_from(*client, buf);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->copied, size);
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), buf.begin())) << size;
  }
  // 1473 -> 2 fragments, 8000 -> 6, 65507 -> 45, each way.
  EXPECT_EQ(net.a->mib().IpFragOKs, 3u);
  EXPECT_EQ(net.a->mib().IpFragCreates, 2u + 6u + 45u);
  EXPECT_EQ(net.b->mib().IpReasmOKs, 3u);
  EXPECT_EQ(net.a->mib().IpReasmOKs, 3u);
  EXPECT_EQ(net.b->mib().IpReasmFails, 0u);
}

TEST(UdpSim, PingSocketGetsEchoReply) {
  SimNet net;
  auto s = sock_create(*net.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  ASSERT_TRUE(s);
  std::vector<std::byte> req(8 + 32, std::byte{0x61});
  req[0] = std::byte{8};  // echo request
  req[1] = std::byte{0};
  req[6] = std::byte{0};
  req[7] = std::byte{1};
  ASSERT_TRUE(send_to(**s, req, SockAddr::inet(kAddrB, 0)));
  ASSERT_TRUE(net.run_until([&] { return readable(**s); }));
  std::vector<std::byte> rep(100);
  auto r = recv_from(**s, rep);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->copied, req.size());
  EXPECT_EQ(rep[0], std::byte{0});                              // echo reply
  EXPECT_EQ(load_be<std::uint16_t>(rep, 4), (*s)->local.port);  // identifier = our "port"
  EXPECT_EQ(rep[7], std::byte{1});
  EXPECT_TRUE(std::equal(req.begin() + 8, req.end(), rep.begin() + 8));
  EXPECT_EQ(net.b->mib().IcmpInEchos, 1u);
  EXPECT_EQ(net.b->mib().IcmpOutEchoReps, 1u);
}

TEST(UdpSim, PortUnreachableReachesConnectedSocketOnly) {
  SimNet net;
  Socket* connected = udp_socket(*net.a);
  Socket* unconnected = udp_socket(*net.a);
  ASSERT_TRUE(sock_connect(*connected, SockAddr::inet(kAddrB, 9999), 0));
  const std::byte x[1] = {std::byte{1}};
  ASSERT_TRUE(send_to(*unconnected, x, SockAddr::inet(kAddrB, 9999)));
  const ByteSpan iov[] = {x};
  ASSERT_TRUE(sock_sendmsg(*connected, SendMsg{iov, nullptr}, 0));
  net.run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(net.b->mib().UdpNoPorts, 2u);
  EXPECT_EQ(net.b->mib().IcmpOutDestUnreachs, 2u);
  EXPECT_EQ(net.a->mib().IcmpInDestUnreachs, 2u);
  std::byte buf[8];
  auto r = recv_from(*connected, buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kConnectionRefused);
  auto r2 = recv_from(*unconnected, buf);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error(), Error::kWouldBlock);
}

TEST(UdpSim, IcmpErrorsAreRateLimitedPerDestination) {
  SimNet net;
  Socket* s = udp_socket(*net.a);
  const std::byte x[1] = {std::byte{1}};
  // Resolve ARP first with a datagram to an open port, so nothing waits in a queue.
  udp_socket(*net.b, 7);
  ASSERT_TRUE(send_to(*s, x, SockAddr::inet(kAddrB, 7)));
  net.run_for(std::chrono::milliseconds(10));
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(send_to(*s, x, SockAddr::inet(kAddrB, 9999)));
  net.run_for(std::chrono::milliseconds(10));
  // Linux's per-host limit: a burst of 6, then one per second.
  EXPECT_EQ(net.b->mib().UdpNoPorts, 50u);
  EXPECT_EQ(net.b->mib().IcmpOutDestUnreachs, 6u);
  EXPECT_EQ(net.b->mib().IcmpOutRateLimitHost, 44u);
}

TEST(UdpSim, UnresolvableNeighbourDropsQueueAfterRetries) {
  SimNet net;
  Socket* s = udp_socket(*net.a);
  const std::byte x[1] = {std::byte{1}};
  const auto ghost = Ipv4Address::from_octets(198, 18, 0, 77);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(send_to(*s, x, SockAddr::inet(ghost, 9)));
  net.run_for(std::chrono::seconds(5));
  // 3 broadcast requests 1 s apart (+1 gratuitous at start), then the entry goes and the
  // 20 queued datagrams with it.
  EXPECT_EQ(net.a->mib().UsnetArpOutRequests, 1u + 3u);
  EXPECT_EQ(net.a->mib().UsnetArpResolveFails, 1u);
  EXPECT_EQ(net.a->mib().UsnetArpQueueDrops, 20u);
  EXPECT_EQ(net.a->arp().find(2, ghost), nullptr);
}

TEST(UdpSim, NeighbourQueueIsBounded) {
  SimNet net;
  Socket* s = udp_socket(*net.a);
  const auto ghost = Ipv4Address::from_octets(198, 18, 0, 78);
  const std::vector<std::byte> big(1400, std::byte{7});
  const ArpConfig& cfg = net.a->arp().config();
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(send_to(*s, big, SockAddr::inet(ghost, 9)));
  const Neighbour* n = net.a->arp().find(2, ghost);
  ASSERT_NE(n, nullptr);
  EXPECT_LE(n->queue.size(), cfg.queue_len);
  std::size_t bytes = 0;
  for (const auto& p : n->queue)
    bytes += p.size();
  EXPECT_LE(bytes, cfg.queue_bytes);
  EXPECT_EQ(net.a->mib().UsnetArpQueueDrops, 500u - n->queue.size());
}

}  // namespace
}  // namespace usnet::sim

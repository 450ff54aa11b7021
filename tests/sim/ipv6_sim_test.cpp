// IPv6 between two stacks over the memory wire, in virtual time: they find each other by
// neighbour discovery alone (no address is configured on the other side beforehand), then
// carry UDP and TCP over AF_INET6 sockets, on global and link-local addresses, clean and
// impaired, every byte checked.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "net/ipv6.h"
#include "net/ndp.h"
#include "net/neighbour.h"
#include "support/sim_net.h"
#include "support/tcp_helpers.h"
#include "wire/ipv6_ext.h"
#include "wire/udp.h"

namespace usnet::sim {
namespace {

Ipv6Address v6(const char* text) {
  auto a = Ipv6Address::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(Ipv6Address{});
}

const Ipv6Address kGlobalA = v6("2001:db8:1::1");
const Ipv6Address kGlobalB = v6("2001:db8:1::2");

// Gives both stacks of `net` a global address on the wire's prefix.
void add_globals(SimNet& net) {
  ASSERT_TRUE(net.a->add_address6(2, {kGlobalA, 64}));
  ASSERT_TRUE(net.b->add_address6(2, {kGlobalB, 64}));
}

Socket* socket6(Stack& s, int type) {
  auto r = sock_create(s, AF_INET6, type, 0);
  EXPECT_TRUE(r);
  return r ? *r : nullptr;
}

TEST(Ipv6Sim, UdpFindsThePeerByNeighbourDiscovery) {
  SimNet net(Impairments{}, 1, "ipv6_udp.pcap");
  add_globals(net);
  Socket* rx = socket6(*net.b, SOCK_DGRAM);
  ASSERT_TRUE(sock_bind(*rx, SockAddr::inet6(Ipv6Address::any(), 7000)));
  Socket* tx = socket6(*net.a, SOCK_DGRAM);
  const char msg[] = "first datagram, after a neighbour solicitation";
  ASSERT_TRUE(send_to(*tx, as_bytes(std::span(msg)), SockAddr::inet6(kGlobalB, 7000)));
  std::array<std::byte, 128> buf{};
  Result<RecvResult> r = Error::kWouldBlock;
  ASSERT_TRUE(net.run_until([&] {
    r = recv_from(*rx, buf, MSG_DONTWAIT);
    return static_cast<bool>(r);
  }));
  ASSERT_EQ(r->copied, sizeof(msg));
  EXPECT_EQ(std::memcmp(buf.data(), msg, sizeof(msg)), 0);
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->family, AF_INET6);
  EXPECT_EQ(r->from->addr, IpAddress(kGlobalA));
  // One solicitation from a, answered by b; b learned a from it (RFC 4861 7.2.3) and
  // needs none of its own to answer.
  EXPECT_EQ(net.a->mib().Icmp6OutNeighborSolicits, 1u);
  EXPECT_EQ(net.b->mib().Icmp6InNeighborSolicits, 1u);
  EXPECT_EQ(net.b->mib().Icmp6OutNeighborAdvertisements, 1u);
  const Neighbour* n = net.a->ndp().find(2, kGlobalB);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->state, NeighState::kReachable);
  EXPECT_EQ(n->mac, mac(2));
  EXPECT_EQ(net.b->mib().Udp6InDatagrams, 1u);  // counted as IPv6 (Linux snmp6)
  EXPECT_EQ(net.b->mib().UdpInDatagrams, 0u);
  EXPECT_EQ(net.a->mib().Udp6OutDatagrams, 1u);
  EXPECT_GE(net.b->mib().Ip6InReceives, 2u);  // the solicitation and the datagram
}

TEST(Ipv6Sim, LinkLocalNeedsAScopeAndWorksWithOne) {
  SimNet net;
  const Ipv6Address ll_b = eui64_address(v6("fe80::"), mac(2));
  EXPECT_TRUE(net.b->interface(2)->has_address(ll_b));
  Socket* rx = socket6(*net.b, SOCK_DGRAM);
  ASSERT_TRUE(sock_bind(*rx, SockAddr::inet6(Ipv6Address::any(), 7001)));
  Socket* tx = socket6(*net.a, SOCK_DGRAM);
  const char msg[] = "link-local";
  ASSERT_TRUE(send_to(*tx, as_bytes(std::span(msg)), SockAddr::inet6(ll_b, 7001, 2)));
  std::array<std::byte, 64> buf{};
  Result<RecvResult> r = Error::kWouldBlock;
  ASSERT_TRUE(net.run_until([&] {
    r = recv_from(*rx, buf, MSG_DONTWAIT);
    return static_cast<bool>(r);
  }));
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->addr, IpAddress(eui64_address(v6("fe80::"), mac(1))));
}

TEST(Ipv6Sim, TcpOverIpv6CarriesEveryByte) {
  SimNet net(Impairments{}, 2, "ipv6_tcp.pcap");
  add_globals(net);
  Socket* l = socket6(*net.b, SOCK_STREAM);
  ASSERT_TRUE(sock_bind(*l, SockAddr::inet6(Ipv6Address::any(), 80)));
  ASSERT_TRUE(sock_listen(*l, 8));
  Socket* c = socket6(*net.a, SOCK_STREAM);
  EXPECT_EQ(sock_connect(*c, SockAddr::inet6(kGlobalB, 80), 0).error(), Error::kInProgress);
  Socket* s = nullptr;
  ASSERT_TRUE(net.run_until([&] {
    auto r = sock_accept(*l, 0);
    if (r) s = *r;
    return s != nullptr;
  }));
  EXPECT_EQ(state_of(*c), TcpState::kEstablished);
  EXPECT_EQ(s->remote.addr, IpAddress(kGlobalA));
  // MSS from IPv6's header: 1500 - 40 - 20 (RFC 8200 8.3).
  EXPECT_EQ(static_cast<TcpSock&>(*c).advmss, 1440);
  Transfer t;
  t.tx = c;
  t.rx = s;
  t.total = 4 << 20;
  t.seed = 11;
  ASSERT_TRUE(net.run_until([&] { return t.step(); }, std::chrono::seconds(120)));
  EXPECT_EQ(t.received, t.total);
  EXPECT_FALSE(t.mismatch);
  EXPECT_EQ(t.rx_digest.h, t.tx_digest.h);
  EXPECT_EQ(net.a->mib().TcpRetransSegs, 0u);
}

TEST(Ipv6Sim, TcpOverIpv6UnderLossReorderingAndDuplicates) {
  Impairments imp;
  imp.loss = 0.03;
  imp.reorder = 0.03;
  imp.duplicate = 0.02;
  imp.delay = std::chrono::milliseconds(2);
  for (std::uint64_t seed : {3u, 4u, 5u}) {
    SimNet net(imp, seed);
    add_globals(net);
    Socket* l = socket6(*net.b, SOCK_STREAM);
    ASSERT_TRUE(sock_bind(*l, SockAddr::inet6(Ipv6Address::any(), 80)));
    ASSERT_TRUE(sock_listen(*l, 8));
    Socket* c = socket6(*net.a, SOCK_STREAM);
    (void)sock_connect(*c, SockAddr::inet6(kGlobalB, 80), 0);
    Socket* s = nullptr;
    ASSERT_TRUE(net.run_until(
        [&] {
          auto r = sock_accept(*l, 0);
          if (r) s = *r;
          return s != nullptr;
        },
        std::chrono::seconds(300)))
        << "seed " << seed;
    Transfer t;
    t.tx = c;
    t.rx = s;
    t.total = 2 << 20;
    t.seed = seed;
    ASSERT_TRUE(net.run_until([&] { return t.step(); }, std::chrono::seconds(600)))
        << "seed " << seed << ": " << t.received << " of " << t.total;
    EXPECT_FALSE(t.mismatch) << "seed " << seed;
    EXPECT_EQ(t.rx_digest.h, t.tx_digest.h) << "seed " << seed;
    EXPECT_GT(net.a->mib().TcpRetransSegs, 0u) << "seed " << seed << ": the loss was exercised";
  }
}

TEST(Ipv6Sim, LargeUdpDatagramIsFragmentedAndUnreachablePortAnswered) {
  SimNet net;
  add_globals(net);
  Socket* tx = socket6(*net.a, SOCK_DGRAM);
  // Nobody listens on b: ICMPv6 port unreachable comes back (RFC 4443 3.1 code 4).
  ASSERT_TRUE(sock_connect(*tx, SockAddr::inet6(kGlobalB, 9), 0));
  const char msg[] = "anyone?";
  ASSERT_TRUE(send_to(*tx, as_bytes(std::span(msg)), SockAddr::inet6(kGlobalB, 9)));
  net.run_for(std::chrono::seconds(1));
  EXPECT_EQ(net.b->mib().Icmp6OutDestUnreachs, 1u);
  EXPECT_EQ(net.a->mib().Icmp6InDestUnreachs, 1u);
  // A connected socket hears of it as ECONNREFUSED (a hard error, Linux icmpv6_err_convert).
  ASSERT_TRUE(tx->pending_error);
  EXPECT_EQ(*tx->pending_error, Error::kConnectionRefused);
  // A 4000-byte datagram leaves in fragments that fit the 1500-byte link (RFC 8200 4.5);
  // b reassembles it and, again, no socket wants it.
  std::vector<std::byte> big(4000, std::byte{0x5a});
  const std::uint64_t before = net.a->mib().Ip6FragCreates;
  tx->pending_error.reset();
  ASSERT_TRUE(send_to(*tx, big, SockAddr::inet6(kGlobalB, 9)));
  net.run_for(std::chrono::seconds(1));
  EXPECT_EQ(net.a->mib().Ip6FragCreates - before, 3u);
  EXPECT_EQ(net.a->mib().Ip6FragOKs, 1u);
  EXPECT_EQ(net.b->mib().Ip6ReasmReqds, 3u);
  EXPECT_EQ(net.b->mib().Ip6ReasmOKs, 1u);
  EXPECT_EQ(net.b->mib().Icmp6OutDestUnreachs, 2u);
}

// Datagrams of 2,000 to 12,000 bytes over a link that reorders and duplicates frames:
// every one that arrives is whole and exact, reassembled from fragments in any order,
// duplicates ignored; incomplete ones time out and their memory is returned.
TEST(Ipv6Sim, FragmentsReassembleInAnyOrder) {
  Impairments imp;
  imp.reorder = 0.3;
  imp.duplicate = 0.1;
  imp.loss = 0.02;
  imp.delay = std::chrono::milliseconds(1);
  SimNet net(imp, 21);
  add_globals(net);
  Socket* rx = socket6(*net.b, SOCK_DGRAM);
  ASSERT_TRUE(sock_bind(*rx, SockAddr::inet6(Ipv6Address::any(), 7002)));
  rx->opt.rcvbuf = 8 << 20;
  Socket* tx = socket6(*net.a, SOCK_DGRAM);
  constexpr int kCount = 100;
  for (int i = 0; i < kCount; ++i) {
    std::vector<std::byte> d(2000 + 100 * static_cast<std::size_t>(i));
    for (std::size_t j = 0; j < d.size(); ++j)
      d[j] = static_cast<std::byte>((j * 7 + static_cast<std::size_t>(i)) & 0xff);
    ASSERT_TRUE(send_to(*tx, d, SockAddr::inet6(kGlobalB, 7002)));
    net.run_for(std::chrono::milliseconds(2));
  }
  net.run_for(std::chrono::seconds(2));
  int whole = 0;
  std::vector<std::byte> buf(20000);
  for (;;) {
    auto r = recv_from(*rx, buf, MSG_DONTWAIT);
    if (!r) break;
    const std::size_t i = (r->copied - 2000) / 100;
    ASSERT_EQ(r->copied, 2000 + 100 * i);
    for (std::size_t j = 0; j < r->copied; ++j) {
      ASSERT_EQ(buf[j], static_cast<std::byte>((j * 7 + i) & 0xff)) << "datagram " << i;
    }
    ++whole;
  }
  EXPECT_GT(whole, kCount / 2);
  EXPECT_EQ(net.b->mib().Ip6ReasmOKs, static_cast<std::uint64_t>(whole));
  EXPECT_GT(net.b->mib().Ip6ReasmReqds, 3u * kCount);
  // ip6frag_time (60 s): what could not be completed is dropped and its memory returned.
  net.run_for(std::chrono::seconds(61));
  EXPECT_EQ(net.b->ipv6().reassembly().memory(), 0u);
  EXPECT_EQ(net.b->ipv6().reassembly().queues(), 0u);
}

// Fragments of one UDP datagram from a to b (offset, length of each slice of the UDP
// datagram), built by hand so that they can overlap.
std::vector<Packet> udp6_fragments(std::uint32_t id, std::uint16_t dport,
                                   const std::vector<std::pair<std::size_t, std::size_t>>& cuts,
                                   std::vector<std::byte>& udp) {
  udp.assign(8 + 2000, std::byte{0});
  for (std::size_t j = 8; j < udp.size(); ++j)
    udp[j] = static_cast<std::byte>(j & 0xff);
  wire::UdpHeader uh;
  uh.src_port = 5555;
  uh.dst_port = dport;
  uh.length = static_cast<std::uint16_t>(udp.size());
  uh.emit(udp);
  wire::UdpHeader::finish_checksum(udp, IpAddress(kGlobalA), IpAddress(kGlobalB));
  std::vector<Packet> out;
  for (auto [off, len] : cuts) {
    Packet p(len);
    p.append(ByteSpan(udp).subspan(off, len));
    wire::Ipv6FragmentHeader fh;
    fh.next_header = 17;
    fh.offset = static_cast<std::uint16_t>(off);
    fh.more_fragments = off + len < udp.size();
    fh.identification = id;
    fh.emit(p.push(wire::Ipv6FragmentHeader::kSize));
    wire::Ipv6Header h;
    h.next_header = 44;
    h.payload_length = static_cast<std::uint16_t>(p.size());
    h.src = kGlobalA;
    h.dst = kGlobalB;
    h.emit(p.push(wire::Ipv6Header::kSize));
    out.push_back(std::move(p));
  }
  return out;
}

TEST(Ipv6Sim, OverlappingFragmentsDropThePacket) {
  SimNet net;
  add_globals(net);
  Socket* rx = socket6(*net.b, SOCK_DGRAM);
  ASSERT_TRUE(sock_bind(*rx, SockAddr::inet6(Ipv6Address::any(), 7003)));
  Interface& ifc = *net.b->interface(2);
  std::vector<std::byte> udp;
  std::array<std::byte, 4096> buf{};
  // RFC 5722: the second fragment starts 8 bytes inside the first.
  for (Packet& p : udp6_fragments(1, 7003, {{0, 1232}, {1224, 784}}, udp))
    net.b->ipv6().ip6_rcv(ifc, std::move(p));
  EXPECT_FALSE(recv_from(*rx, buf, MSG_DONTWAIT));
  EXPECT_EQ(net.b->mib().Ip6ReasmFails, 1u);
  EXPECT_EQ(net.b->ipv6().reassembly().queues(), 0u);
  // The same datagram cut cleanly, last piece first, arrives whole.
  for (Packet& p : udp6_fragments(2, 7003, {{1232, 776}, {0, 1232}}, udp))
    net.b->ipv6().ip6_rcv(ifc, std::move(p));
  auto r = recv_from(*rx, buf, MSG_DONTWAIT);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->copied, udp.size() - 8);
  EXPECT_EQ(std::memcmp(buf.data(), udp.data() + 8, r->copied), 0);
  EXPECT_EQ(net.b->mib().Ip6ReasmOKs, 1u);
  // A middle fragment whose length is not a multiple of 8: parameter problem at the
  // payload length field (RFC 8200 4.5).
  for (Packet& p : udp6_fragments(3, 7003, {{0, 1230}}, udp))
    net.b->ipv6().ip6_rcv(ifc, std::move(p));
  net.run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(net.b->mib().Icmp6OutParmProblems, 1u);
  EXPECT_EQ(net.a->mib().Icmp6InParmProblems, 1u);
}

}  // namespace
}  // namespace usnet::sim

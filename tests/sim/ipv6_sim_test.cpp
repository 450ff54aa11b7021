// IPv6 between two stacks over the memory wire, in virtual time: they find each other by
// neighbour discovery alone (no address is configured on the other side beforehand), then
// carry UDP and TCP over AF_INET6 sockets, on global and link-local addresses, clean and
// impaired, every byte checked.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "net/ipv6.h"
#include "net/ndp.h"
#include "net/neighbour.h"
#include "support/sim_net.h"
#include "support/tcp_helpers.h"
#include "wire/icmpv6.h"
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

// An ICMPv6 echo request of `data_len` bytes of data, sequence `seq` (the stack fills in
// the identifier and checksum).
std::vector<std::byte> echo6_request(std::uint16_t seq, std::size_t data_len) {
  std::vector<std::byte> req(8 + data_len, std::byte{0x5a});
  req[0] = std::byte{128};
  req[1] = std::byte{0};
  store_be<std::uint16_t>(req, 6, seq);
  return req;
}

bool readable(Socket& s) {
  return (sock_poll(s) & POLLIN) != 0;
}

Socket* ping6_socket(Stack& s) {
  auto r = sock_create(s, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
  EXPECT_TRUE(r);
  return r ? *r : nullptr;
}

TEST(Ipv6Sim, PingSocketGetsEchoReply) {
  SimNet net;
  add_globals(net);
  Socket* s = ping6_socket(*net.a);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->protocol, IPPROTO_ICMPV6);
  const auto req = echo6_request(7, 56);
  ASSERT_TRUE(send_to(*s, req, SockAddr::inet6(kGlobalB, 0)));
  EXPECT_NE(s->local.port, 0);  // the identifier, chosen on first send (ping_autobind)
  ASSERT_TRUE(net.run_until([&] { return readable(*s); }));
  std::vector<std::byte> rep(200);
  auto r = recv_from(*s, rep);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->copied, req.size());
  EXPECT_EQ(rep[0], std::byte{129});  // echo reply
  EXPECT_EQ(rep[1], std::byte{0});
  EXPECT_EQ(load_be<std::uint16_t>(rep, 4), s->local.port);
  EXPECT_EQ(load_be<std::uint16_t>(rep, 6), 7);
  EXPECT_TRUE(std::equal(req.begin() + 8, req.end(), rep.begin() + 8));
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->family, AF_INET6);
  EXPECT_EQ(r->from->addr, IpAddress(kGlobalB));
  EXPECT_EQ(r->from->scope_id, 0u);
  // b's checksum check passed (the stack computed ours over the pseudo-header).
  EXPECT_EQ(net.b->mib().Icmp6InEchos, 1u);
  EXPECT_EQ(net.b->mib().Icmp6InCsumErrors, 0u);
  EXPECT_EQ(net.b->mib().Icmp6OutEchoReplies, 1u);
  EXPECT_EQ(net.a->mib().Icmp6OutEchos, 1u);
  EXPECT_EQ(net.a->mib().Icmp6InEchoReplies, 1u);
  EXPECT_EQ(net.a->mib().IcmpOutEchos, 0u);  // counted as ICMPv6 only
}

TEST(Ipv6Sim, PingSocketToLinkLocalNeedsAScope) {
  SimNet net;
  const Ipv6Address ll_b = eui64_address(v6("fe80::"), mac(2));
  Socket* s = ping6_socket(*net.a);
  const auto req = echo6_request(1, 16);
  auto no_scope = send_to(*s, req, SockAddr::inet6(ll_b, 0));
  ASSERT_FALSE(no_scope);
  EXPECT_EQ(no_scope.error(), Error::kInvalidArgument);  // ping_v6_sendmsg: no oif
  ASSERT_TRUE(send_to(*s, req, SockAddr::inet6(ll_b, 0, 2)));
  ASSERT_TRUE(net.run_until([&] { return readable(*s); }));
  std::vector<std::byte> rep(64);
  auto r = recv_from(*s, rep);
  ASSERT_TRUE(r);
  EXPECT_EQ(rep[0], std::byte{129});
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->addr, IpAddress(ll_b));
  EXPECT_EQ(r->from->scope_id, 2u);  // named with the interface it came in on
}

TEST(Ipv6Sim, PingSocketRefusesWhatLinuxRefuses) {
  SimNet net;
  add_globals(net);
  Socket* s = ping6_socket(*net.a);
  auto fails = [&](std::vector<std::byte> msg, const SockAddr& to) {
    auto r = send_to(*s, msg, to);
    return r ? std::optional<Error>() : std::optional<Error>(r.error());
  };
  const SockAddr b = SockAddr::inet6(kGlobalB, 0);
  auto v4_echo = echo6_request(1, 8);
  v4_echo[0] = std::byte{8};  // ICMPv4's echo request type
  EXPECT_EQ(fails(v4_echo, b), Error::kInvalidArgument);
  auto coded = echo6_request(1, 8);
  coded[1] = std::byte{1};
  EXPECT_EQ(fails(coded, b), Error::kInvalidArgument);
  EXPECT_EQ(fails(std::vector<std::byte>(4, std::byte{128}), b), Error::kInvalidArgument);
  EXPECT_EQ(fails(echo6_request(1, 0xffff), b), Error::kMessageTooLong);
  EXPECT_EQ(fails(echo6_request(1, 8), SockAddr::inet(Ipv4Address::from_octets(198, 18, 0, 2), 0)),
            Error::kAddressFamilyNotSupported);
  const SockAddr mapped = SockAddr::inet6(v6("::ffff:198.18.0.2"), 0);
  EXPECT_EQ(fails(echo6_request(1, 8), mapped), Error::kInvalidArgument);
  EXPECT_EQ(sock_connect(*s, mapped, 0).error(), Error::kNetworkUnreachable);
  EXPECT_EQ(sock_bind(*s, SockAddr::inet6(v6("ff02::1"), 0)).error(), Error::kInvalidArgument);
  // The other family's ICMP is a protocol SOCK_DGRAM does not have there.
  EXPECT_EQ(sock_create(*net.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMPV6).error(),
            Error::kProtocolNotSupported);
  EXPECT_EQ(sock_create(*net.a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMP).error(),
            Error::kProtocolNotSupported);
}

// An ICMPv6 error from `from` to kGlobalA quoting an echo request kGlobalA sent to `dst`
// with identifier `ident`, as a router on the path would send it.
Packet icmpv6_error_about_echo(const Ipv6Address& from, const Ipv6Address& dst, std::uint16_t ident,
                               std::uint8_t type, std::uint8_t code, std::uint32_t word) {
  std::vector<std::byte> quote(40 + 8 + 16, std::byte{0});
  wire::Ipv6Header q;
  q.next_header = 58;
  q.payload_length = 24;
  q.hop_limit = 64;
  q.src = kGlobalA;
  q.dst = dst;
  q.emit(quote);
  quote[40] = std::byte{128};
  store_be<std::uint16_t>(quote, 44, ident);
  Packet p(8 + quote.size());
  wire::Icmpv6Header h{type, code, 0, word};
  h.emit(p.append(wire::Icmpv6Header::kSize));
  p.append(quote);
  wire::Icmpv6Header::finish_checksum(p.data(), from, kGlobalA);
  wire::Ipv6Header ip;
  ip.next_header = 58;
  ip.payload_length = static_cast<std::uint16_t>(p.size());
  ip.hop_limit = 64;
  ip.src = from;
  ip.dst = kGlobalA;
  ip.emit(p.push(wire::Ipv6Header::kSize));
  return p;
}

TEST(Ipv6Sim, PingSocketGetsIcmpv6ErrorsAsLinux) {
  SimNet net;
  add_globals(net);
  const Ipv6Address far = v6("2001:db8:1::99");  // on the link, never answering
  const Ipv6Address router = v6("2001:db8:1::fe");
  Socket* connected = ping6_socket(*net.a);
  ASSERT_TRUE(sock_connect(*connected, SockAddr::inet6(kGlobalB, 0), 0));
  Socket* unconnected = ping6_socket(*net.a);
  ASSERT_TRUE(send_to(*unconnected, echo6_request(1, 8), SockAddr::inet6(far, 0)));
  Interface& ifc = *net.a->interface(2);
  std::byte buf[64];
  auto pending = [&](Socket& s) {
    auto r = recv_from(s, buf, MSG_DONTWAIT);
    return r ? std::optional<Error>() : std::optional<Error>(r.error());
  };
  // Address unreachable (code 3) is soft (icmpv6_err_convert): not reported without
  // IPV6_RECVERR, connected or not.
  net.a->ipv6().ip6_rcv(ifc,
                        icmpv6_error_about_echo(router, kGlobalB, connected->local.port, 1, 3, 0));
  EXPECT_EQ(pending(*connected), Error::kWouldBlock);
  // Administratively prohibited (code 1) is hard: a connected socket hears EACCES.
  net.a->ipv6().ip6_rcv(ifc,
                        icmpv6_error_about_echo(router, kGlobalB, connected->local.port, 1, 1, 0));
  EXPECT_EQ(pending(*connected), Error::kPermissionDenied);
  EXPECT_EQ(pending(*connected), Error::kWouldBlock);  // reported once
  // An unconnected socket only with IPV6_RECVERR, then even a soft error.
  net.a->ipv6().ip6_rcv(ifc,
                        icmpv6_error_about_echo(router, far, unconnected->local.port, 1, 1, 0));
  EXPECT_EQ(pending(*unconnected), Error::kWouldBlock);
  const int one = 1;
  ASSERT_TRUE(
      sock_setsockopt(*unconnected, IPPROTO_IPV6, IPV6_RECVERR, as_bytes(std::span(&one, 1))));
  net.a->ipv6().ip6_rcv(ifc,
                        icmpv6_error_about_echo(router, far, unconnected->local.port, 3, 0, 0));
  EXPECT_EQ(pending(*unconnected), Error::kHostUnreachable);  // time exceeded
  // IP_RECVERR is IPv4's: it does not stand in for IPV6_RECVERR (Linux RECVERR6).
  ASSERT_TRUE(sock_setsockopt(*connected, IPPROTO_IP, IP_RECVERR, as_bytes(std::span(&one, 1))));
  net.a->ipv6().ip6_rcv(ifc,
                        icmpv6_error_about_echo(router, kGlobalB, connected->local.port, 1, 3, 0));
  EXPECT_EQ(pending(*connected), Error::kWouldBlock);
  // An error quoting another identifier reaches no one.
  net.a->ipv6().ip6_rcv(ifc, icmpv6_error_about_echo(router, far, 1, 3, 0, 0));
  EXPECT_EQ(pending(*unconnected), Error::kWouldBlock);
  EXPECT_EQ(net.a->mib().Icmp6InDestUnreachs, 4u);
  EXPECT_EQ(net.a->mib().Icmp6InTimeExcds, 2u);
}

// RFC 8201 4 / Linux tcp_v6_mtu_reduced: a Packet Too Big quoting a segment in flight
// lowers the connection's MSS to fit the reported MTU, what was in flight is resent in
// the new size, and the stream still arrives whole.
TEST(Ipv6Sim, TcpLowersItsMssAfterPacketTooBig) {
  SimNet net;
  add_globals(net);
  Socket* l = socket6(*net.b, SOCK_STREAM);
  ASSERT_TRUE(sock_bind(*l, SockAddr::inet6(Ipv6Address::any(), 80)));
  ASSERT_TRUE(sock_listen(*l, 8));
  Socket* c = socket6(*net.a, SOCK_STREAM);
  (void)sock_connect(*c, SockAddr::inet6(kGlobalB, 80), 0);
  Socket* s = nullptr;
  ASSERT_TRUE(net.run_until([&] {
    auto r = sock_accept(*l, 0);
    if (r) s = *r;
    return s != nullptr;
  }));
  auto& tc = static_cast<TcpSock&>(*c);
  EXPECT_EQ(tc.mss, 1428);  // 1500 - 40 - 20 - 12 (timestamps)
  Transfer t;
  t.tx = c;
  t.rx = s;
  t.total = 1 << 20;
  t.seed = 9;
  ASSERT_TRUE(net.run_until([&] {
    (void)t.step();
    return t.received >= (256u << 10);
  }));
  // A router's Packet Too Big (MTU 1280) quoting a full-sized segment at SND.UNA.
  std::vector<std::byte> quote(40 + 20, std::byte{0});
  wire::Ipv6Header q;
  q.payload_length = 1448;
  q.next_header = 6;
  q.hop_limit = 64;
  q.src = kGlobalA;
  q.dst = kGlobalB;
  q.emit(quote);
  store_be<std::uint16_t>(quote, 40, c->local.port);
  store_be<std::uint16_t>(quote, 42, 80);
  store_be<std::uint32_t>(quote, 44, tc.snd_una.raw());
  const Ipv6Address router = v6("2001:db8:1::fe");
  Packet p(8 + quote.size());
  wire::Icmpv6Header h{2, 0, 0, 1280};
  h.emit(p.append(wire::Icmpv6Header::kSize));
  p.append(quote);
  wire::Icmpv6Header::finish_checksum(p.data(), router, kGlobalA);
  wire::Ipv6Header ip;
  ip.payload_length = static_cast<std::uint16_t>(p.size());
  ip.next_header = 58;
  ip.hop_limit = 64;
  ip.src = router;
  ip.dst = kGlobalA;
  ip.emit(p.push(wire::Ipv6Header::kSize));
  net.a->ipv6().ip6_rcv(*net.a->interface(2), std::move(p));
  EXPECT_EQ(net.a->mib().Icmp6InPktTooBigs, 1u);
  EXPECT_EQ(tc.pmtu, 1280u);
  EXPECT_EQ(tc.mss, 1280 - 40 - 20 - 12);
  ASSERT_TRUE(net.run_until([&] { return t.step(); }, std::chrono::seconds(120)));
  EXPECT_EQ(t.received, t.total);
  EXPECT_FALSE(t.mismatch);
  EXPECT_EQ(t.rx_digest.h, t.tx_digest.h);
  EXPECT_EQ(tc.mss, 1280 - 40 - 20 - 12);  // kept: nothing raised it again
}

}  // namespace
}  // namespace usnet::sim

// Path MTU discovery for UDP (RFC 1191, RFC 8201) as Linux does it: a stack receives a
// hand-built ICMP Fragmentation Needed / ICMPv6 Packet Too Big quoting a datagram it sent;
// the path MTU is recorded for the destination (IP_MTU / IPV6_MTU report it), a connected
// socket gets EMSGSIZE as its pending error (__udp4_lib_err, __udp6_lib_err), and later
// sends either fail with EMSGSIZE (IP_PMTUDISC_DO, IPV6_DONTFRAG) or are fragmented to fit.
#include <gtest/gtest.h>

#include <netinet/in.h>

#include <optional>
#include <vector>

#include "base/errno_map.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "support/sim_net.h"
#include "wire/icmpv4.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/udp.h"

namespace usnet::sim {
namespace {

const Ipv6Address kGlobalA = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kGlobalB = *Ipv6Address::parse("2001:db8:1::2");
const Ipv4Address kRouter4 = Ipv4Address::from_octets(198, 18, 0, 254);
const Ipv6Address kRouter6 = *Ipv6Address::parse("2001:db8:1::fe");

int get_int(Socket& s, int level, int name) {
  auto v = sock_getsockopt(s, level, name, sizeof(int));
  if (!v) return -static_cast<int>(to_errno(v.error()));
  int out = 0;
  std::memcpy(&out, v->bytes.data(), sizeof(out));
  return out;
}

void set_int(Socket& s, int level, int name, int v) {
  ASSERT_TRUE(sock_setsockopt(s, level, name, as_bytes(std::span(&v, 1))));
}

std::optional<Error> send_error(Socket& s, std::size_t len, const SockAddr* to = nullptr) {
  const std::vector<std::byte> data(len, std::byte{0x33});
  const ByteSpan iov[] = {data};
  auto r = sock_sendmsg(s, SendMsg{iov, to}, 0);
  if (r) return std::nullopt;
  return r.error();
}

std::optional<Error> pending(Socket& s) {
  std::byte buf[16];
  auto r = recv_from(s, buf, MSG_DONTWAIT);
  return r ? std::nullopt : std::optional<Error>(r.error());
}

// The quoted UDP header of a datagram from (src, sport) to (dst, dport).
std::vector<std::byte> udp_quote(std::uint16_t sport, std::uint16_t dport) {
  std::vector<std::byte> q(8 + 8, std::byte{0});
  wire::UdpHeader h;
  h.src_port = sport;
  h.dst_port = dport;
  h.length = 1400;
  h.emit(q);
  return q;
}

// A router's Fragmentation Needed (RFC 1191 4) to kAddrA about kAddrA:sport -> kAddrB:dport.
Packet frag_needed(std::uint16_t sport, std::uint16_t dport, std::uint16_t mtu) {
  const auto udp = udp_quote(sport, dport);
  wire::Ipv4Header q;
  q.total_length = 1428;
  q.dont_fragment = true;
  q.ttl = 64;
  q.protocol = 17;
  q.src = kAddrA;
  q.dst = kAddrB;
  Packet p(8 + 20 + udp.size());
  wire::IcmpHeader h;
  h.type = 3;
  h.code = 4;
  h.sequence = mtu;
  h.emit(p.append(wire::IcmpHeader::kSize));
  q.emit(p.append(wire::Ipv4Header::kMinSize));
  p.append(udp);
  wire::IcmpHeader::finish_checksum(p.data());
  wire::Ipv4Header ip;
  ip.total_length = static_cast<std::uint16_t>(p.size() + 20);
  ip.ttl = 64;
  ip.protocol = 1;
  ip.src = kRouter4;
  ip.dst = kAddrA;
  ip.emit(p.push(wire::Ipv4Header::kMinSize));
  return p;
}

// A router's Packet Too Big (RFC 4443 3.2) to kGlobalA about a datagram to kGlobalB.
Packet packet_too_big(std::uint16_t sport, std::uint16_t dport, std::uint32_t mtu) {
  const auto udp = udp_quote(sport, dport);
  wire::Ipv6Header q;
  q.payload_length = 1400;
  q.next_header = 17;
  q.hop_limit = 64;
  q.src = kGlobalA;
  q.dst = kGlobalB;
  Packet p(8 + 40 + udp.size());
  wire::Icmpv6Header h{2, 0, 0, mtu};
  h.emit(p.append(wire::Icmpv6Header::kSize));
  q.emit(p.append(wire::Ipv6Header::kSize));
  p.append(udp);
  wire::Icmpv6Header::finish_checksum(p.data(), kRouter6, kGlobalA);
  wire::Ipv6Header ip;
  ip.payload_length = static_cast<std::uint16_t>(p.size());
  ip.next_header = 58;
  ip.hop_limit = 64;
  ip.src = kRouter6;
  ip.dst = kGlobalA;
  ip.emit(p.push(wire::Ipv6Header::kSize));
  return p;
}

TEST(PmtuSim, FragmentationNeededLowersThePathForUdpOverIpv4) {
  SimNet net;
  Interface& ifc = *net.a->interface(2);
  Socket* c = udp_socket(*net.a);
  ASSERT_TRUE(sock_connect(*c, SockAddr::inet(kAddrB, 9), 0));
  Socket* dont = udp_socket(*net.a);
  set_int(*dont, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
  ASSERT_TRUE(sock_connect(*dont, SockAddr::inet(kAddrB, 10), 0));
  EXPECT_EQ(get_int(*c, IPPROTO_IP, IP_MTU), 1500);
  Socket* unconnected = udp_socket(*net.a);
  EXPECT_EQ(get_int(*unconnected, IPPROTO_IP, IP_MTU), -ENOTCONN);

  net.a->ipv4().ip_rcv(ifc, frag_needed(c->local.port, 9, 1000));
  EXPECT_EQ(net.a->mib().IcmpInDestUnreachs, 1u);
  EXPECT_EQ(get_int(*c, IPPROTO_IP, IP_MTU), 1000);
  // The default (IP_PMTUDISC_WANT) sets DF, so the report is a hard error: EMSGSIZE, once.
  EXPECT_EQ(pending(*c), Error::kMessageTooLong);
  EXPECT_EQ(pending(*c), Error::kWouldBlock);
  // WANT: a datagram larger than the path is fragmented to fit it.
  const auto frags = net.a->mib().IpFragCreates;
  EXPECT_EQ(send_error(*c, 1200), std::nullopt);
  EXPECT_EQ(net.a->mib().IpFragCreates, frags + 2);
  // DO: it fails with EMSGSIZE; one that fits goes.
  set_int(*c, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
  EXPECT_EQ(send_error(*c, 1200), Error::kMessageTooLong);
  EXPECT_EQ(send_error(*c, 1000 - 28), std::nullopt);
  EXPECT_EQ(send_error(*c, 1000 - 27), Error::kMessageTooLong);

  // IP_PMTUDISC_DONT never set DF: the report is ignored (no error), though the path
  // is recorded for the destination.
  net.a->ipv4().ip_rcv(ifc, frag_needed(dont->local.port, 10, 900));
  EXPECT_EQ(pending(*dont), Error::kWouldBlock);
  EXPECT_EQ(get_int(*dont, IPPROTO_IP, IP_MTU), 900);
  // Below net.ipv4.route.min_pmtu (552) the path is taken as 552 (__ip_rt_update_pmtu).
  net.a->ipv4().ip_rcv(ifc, frag_needed(c->local.port, 9, 300));
  EXPECT_EQ(get_int(*c, IPPROTO_IP, IP_MTU), 552);
  // Never raised by a report (RFC 1191 6.3), and forgotten after 10 minutes.
  net.a->ipv4().ip_rcv(ifc, frag_needed(c->local.port, 9, 1400));
  EXPECT_EQ(get_int(*c, IPPROTO_IP, IP_MTU), 552);
  net.run_for(std::chrono::minutes(11));
  EXPECT_EQ(get_int(*c, IPPROTO_IP, IP_MTU), 1500);
}

TEST(PmtuSim, PacketTooBigLowersThePathForUdpOverIpv6) {
  SimNet net;
  ASSERT_TRUE(net.a->add_address6(2, {kGlobalA, 64}));
  ASSERT_TRUE(net.b->add_address6(2, {kGlobalB, 64}));
  Interface& ifc = *net.a->interface(2);
  auto made = sock_create(*net.a, AF_INET6, SOCK_DGRAM, 0);
  ASSERT_TRUE(made);
  Socket* c = *made;
  ASSERT_TRUE(sock_connect(*c, SockAddr::inet6(kGlobalB, 9), 0));
  auto made2 = sock_create(*net.a, AF_INET6, SOCK_DGRAM, 0);
  ASSERT_TRUE(made2);
  Socket* unconnected = *made2;
  ASSERT_TRUE(sock_bind(*unconnected, SockAddr::inet6(Ipv6Address::any(), 7777)));
  EXPECT_EQ(get_int(*c, IPPROTO_IPV6, IPV6_MTU), 1500);
  EXPECT_EQ(get_int(*unconnected, IPPROTO_IPV6, IPV6_MTU), -ENOTCONN);

  net.a->ipv6().ip6_rcv(ifc, packet_too_big(c->local.port, 9, 1300));
  EXPECT_EQ(net.a->mib().Icmp6InPktTooBigs, 1u);
  EXPECT_EQ(get_int(*c, IPPROTO_IPV6, IPV6_MTU), 1300);
  EXPECT_EQ(pending(*c), Error::kMessageTooLong);  // hard unless IPV6_PMTUDISC_DONT
  EXPECT_EQ(pending(*c), Error::kWouldBlock);
  // An unconnected socket hears nothing without IPV6_RECVERR.
  net.a->ipv6().ip6_rcv(ifc, packet_too_big(7777, 9, 1300));
  EXPECT_EQ(pending(*unconnected), Error::kWouldBlock);

  // The default fragments to the path MTU; IPV6_DONTFRAG and IPV6_PMTUDISC_DO refuse.
  const auto frags = net.a->mib().Ip6FragCreates;
  EXPECT_EQ(send_error(*c, 1400), std::nullopt);
  EXPECT_EQ(net.a->mib().Ip6FragCreates, frags + 2);
  set_int(*c, IPPROTO_IPV6, IPV6_DONTFRAG, 1);
  EXPECT_EQ(send_error(*c, 1400), Error::kMessageTooLong);
  EXPECT_EQ(send_error(*c, 1300 - 48), std::nullopt);
  EXPECT_EQ(send_error(*c, 1300 - 47), Error::kMessageTooLong);
  set_int(*c, IPPROTO_IPV6, IPV6_DONTFRAG, 0);
  set_int(*c, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
  EXPECT_EQ(get_int(*c, IPPROTO_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_DO);
  EXPECT_EQ(send_error(*c, 1400), Error::kMessageTooLong);
  // RFC 8201 4: never below 1280.
  net.a->ipv6().ip6_rcv(ifc, packet_too_big(c->local.port, 9, 600));
  EXPECT_EQ(get_int(*c, IPPROTO_IPV6, IPV6_MTU), 1280);
  // IPV6_PMTUDISC_DONT: the report is no error for the socket (soft, unconnected-style).
  set_int(*c, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT);
  (void)pending(*c);
  net.a->ipv6().ip6_rcv(ifc, packet_too_big(c->local.port, 9, 1280));
  EXPECT_EQ(pending(*c), Error::kWouldBlock);
}

}  // namespace
}  // namespace usnet::sim

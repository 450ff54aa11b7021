// The family-generic address (IpAddress), the sockaddr conversions of both families, and
// the transport checksums over either pseudo-header, the last against a UDP datagram the
// Linux kernel sent over IPv6 (tests/fixtures/capture_ipv6.sh, udp6_port_unreachable).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <unordered_set>

#include "api/sockaddr.h"
#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/addresses.h"
#include "wire/checksum.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace usnet {
namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

TEST(IpAddress, KeepsTheFamilyApart) {
  const Ipv4Address v4 = Ipv4Address::from_octets(198, 18, 0, 1);
  const IpAddress a = v4;
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.v4(), v4);
  EXPECT_EQ(a, ip("198.18.0.1"));
  // The same 32 bits as an IPv6 socket names them are a different address until unmapped.
  const IpAddress mapped = ip("::ffff:198.18.0.1");
  EXPECT_TRUE(mapped.is_v6());
  EXPECT_NE(mapped, a);
  EXPECT_EQ(mapped.unmapped(), a);
  EXPECT_EQ(ip("2001:db8::1").unmapped(), ip("2001:db8::1"));
  EXPECT_EQ(a.v6(), mapped.v6());  // the v6 view of an IPv4 address is its mapped form
  // A default address is IPv4's wildcard, as a default SockAddr always had.
  EXPECT_EQ(IpAddress{}, IpAddress(Ipv4Address::any()));
  EXPECT_NE(IpAddress::any(AF_INET), IpAddress::any(AF_INET6));
  EXPECT_TRUE(IpAddress::any(AF_INET6).is_any());
  EXPECT_TRUE(IpAddress::any(AF_INET6).is_v6());
}

TEST(IpAddress, ClassifiesByFamily) {
  EXPECT_TRUE(ip("127.0.0.5").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("::ffff:127.0.0.1").is_loopback());  // mapped: not IPv6's loopback
  EXPECT_TRUE(ip("224.0.0.1").is_multicast());
  EXPECT_TRUE(ip("ff02::1").is_multicast());
  EXPECT_TRUE(ip("255.255.255.255").is_broadcast());
  EXPECT_FALSE(ip("ff02::1").is_broadcast());  // IPv6 has none (RFC 4291 2)
  EXPECT_TRUE(ip("fe80::1").is_link_local());
  EXPECT_FALSE(ip("169.254.0.1").is_link_local());
  EXPECT_FALSE(IpAddress::parse("198.18.0"));
  EXPECT_FALSE(IpAddress::parse("2001:db8::1::2"));
  EXPECT_FALSE(IpAddress::parse(""));
}

TEST(IpAddress, PrintsAndHashesAsOnTheWire) {
  EXPECT_EQ(ip("198.18.0.1").to_string(), "198.18.0.1");
  EXPECT_EQ(ip("2001:db8:0:0:1::1").to_string(), "2001:db8::1:0:0:1");
  const IpAddress a4 = ip("198.18.0.1");
  const auto w4 = a4.wire_bytes();
  ASSERT_EQ(w4.size(), 4u);
  EXPECT_EQ(w4[0], 198);
  EXPECT_EQ(w4[3], 1);
  const IpAddress a6 = ip("2001:db8::7");
  const auto w6 = a6.wire_bytes();
  ASSERT_EQ(w6.size(), 16u);
  EXPECT_EQ(w6[0], 0x20);
  EXPECT_EQ(w6[15], 7);
  // Distinct addresses (the two families' forms of one IPv4 address among them) stay
  // distinct in an unordered set.
  std::unordered_set<IpAddress, IpAddressHash> set;
  for (const char* t : {"198.18.0.1", "::ffff:198.18.0.1", "198.18.0.2", "2001:db8::1", "::"})
    set.insert(ip(t));
  set.insert(ip("198.18.0.1"));
  EXPECT_EQ(set.size(), 5u);
}

TEST(SockaddrConversion, Inet6RoundTripsWithScopeAndFlowinfo) {
  sockaddr_in6 in{};
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(8080);
  in.sin6_flowinfo = htonl(0x12345);
  in.sin6_scope_id = 3;
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &in.sin6_addr), 1);
  auto a = api::sockaddr_in_from_user(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET6);
  EXPECT_EQ(a->addr, ip("fe80::1"));
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->scope_id, 3u);
  EXPECT_EQ(a->flowinfo, 0x12345u);

  sockaddr_in6 out{};
  socklen_t len = sizeof(out);
  ASSERT_TRUE(api::sockaddr_to_user(*a, reinterpret_cast<sockaddr*>(&out), &len));
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(std::memcmp(&out, &in, sizeof(in)), 0);
}

TEST(SockaddrConversion, Inet6NameOfAnIpv4PeerIsMapped) {
  // A dual-stack socket's IPv4 peer: the address is IPv4, the sockaddr AF_INET6.
  SockAddr a{AF_INET6, IpAddress(Ipv4Address::from_octets(198, 18, 0, 9)), 443};
  sockaddr_in6 out{};
  socklen_t len = sizeof(out);
  ASSERT_TRUE(api::sockaddr_to_user(a, reinterpret_cast<sockaddr*>(&out), &len));
  char text[INET6_ADDRSTRLEN] = {};
  ASSERT_NE(inet_ntop(AF_INET6, &out.sin6_addr, text, sizeof(text)), nullptr);
  EXPECT_STREQ(text, "::ffff:198.18.0.9");
  EXPECT_EQ(ntohs(out.sin6_port), 443);
  // A short buffer gets what fits and the length it would need (move_addr_to_user).
  sockaddr_in6 small{};
  len = 8;
  ASSERT_TRUE(api::sockaddr_to_user(a, reinterpret_cast<sockaddr*>(&small), &len));
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(small.sin6_family, AF_INET6);
  EXPECT_EQ(small.sin6_flowinfo, 0u);  // beyond the 8 bytes asked for: untouched
}

TEST(SockaddrConversion, InetStillSixteenBytes) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(53);
  in.sin_addr.s_addr = htonl(0xc6120001);
  auto a = api::sockaddr_in_from_user(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addr, ip("198.18.0.1"));
  sockaddr_storage out{};
  socklen_t len = sizeof(out);
  ASSERT_TRUE(api::sockaddr_to_user(*a, reinterpret_cast<sockaddr*>(&out), &len));
  EXPECT_EQ(len, sizeof(sockaddr_in));
  EXPECT_EQ(std::memcmp(&out, &in, sizeof(in)), 0);
}

TEST(TransportChecksum, LinuxUdpOverIpv6VerifiesAndIsReproduced) {
  const auto frames = test::fixture("udp6_port_unreachable");
  const auto& frame = test::ipv6_frame(frames, 17);
  const ByteSpan ipv6 = ByteSpan(frame).subspan(14);
  const auto plen = load_be<std::uint16_t>(ipv6, 4);
  const IpAddress src(Ipv6Address::from_bytes(ipv6.subspan(8)));
  const IpAddress dst(Ipv6Address::from_bytes(ipv6.subspan(24)));
  const ByteSpan udp = ipv6.subspan(40, plen);
  auto h = wire::UdpHeader::parse(udp, src, dst);
  ASSERT_TRUE(h) << "the kernel's checksum over the IPv6 pseudo-header must verify";
  EXPECT_EQ(h->dst_port, 9);
  // Checked against another source address, the same datagram fails.
  EXPECT_FALSE(wire::UdpHeader::parse(udp, ip("2001:db8:9::3"), dst));
  // finish_checksum writes the kernel's value back.
  std::vector<std::byte> copy(udp.begin(), udp.end());
  wire::UdpHeader::finish_checksum(copy, src, dst);
  EXPECT_EQ(load_be<std::uint16_t>(copy, 6), h->checksum);
  // RFC 8200 8.1: over IPv6 a zero checksum is not "none" but an error.
  store_be<std::uint16_t>(copy, 6, 0);
  auto zero = wire::UdpHeader::parse(copy, src, dst);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error(), wire::ParseError::kBadChecksum);
  EXPECT_TRUE(wire::UdpHeader::parse(copy, ip("198.18.0.1"), ip("198.18.0.2")));  // IPv4: none
}

TEST(TransportChecksum, TcpOverIpv6UsesTheLongPseudoHeader) {
  wire::TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = 1;
  h.flags = wire::kTcpSyn;
  h.window = 64800;
  std::vector<std::byte> seg(h.size());
  h.emit(seg);
  const IpAddress a = ip("2001:db8::1");
  const IpAddress b = ip("2001:db8::2");
  wire::TcpHeader::finish_checksum(seg, a, b);
  // The sum computed by hand: the segment plus source, destination, length, next header.
  std::uint32_t ph = 6 + static_cast<std::uint32_t>(seg.size());
  for (const IpAddress* x : {&a, &b})
    for (int i = 0; i < 8; ++i)
      ph += x->v6().group(i);
  EXPECT_EQ(wire::checksum_finish(wire::checksum_partial(seg, ph)), 0);
  EXPECT_TRUE(wire::TcpHeader::parse(seg, a, b));
  EXPECT_FALSE(wire::TcpHeader::parse(seg, b, ip("2001:db8::3")));
  // The IPv4 sum of the same segment differs: the family picks the pseudo-header.
  EXPECT_FALSE(wire::TcpHeader::parse(seg, ip("198.18.0.1"), ip("198.18.0.2")));
}

}  // namespace
}  // namespace usnet

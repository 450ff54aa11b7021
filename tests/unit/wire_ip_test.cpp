// IPv4, ICMPv4 and UDP against datagrams the Linux kernel sent (tests/fixtures): fields,
// options, fragments, checksums, round trips, truncation and impossible lengths.
#include <gtest/gtest.h>

#include "support/pcap_reader.h"
#include "wire/checksum.h"
#include "wire/icmpv4.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace usnet::wire {
namespace {

const Ipv4Address kIpA = Ipv4Address::from_octets(198, 18, 9, 1);
const Ipv4Address kIpB = Ipv4Address::from_octets(198, 18, 9, 2);

ByteSpan ip_of(const std::vector<std::byte>& frame) {
  return ByteSpan(frame).subspan(14);
}

TEST(WireIpv4, ParsesLinuxEchoRequest) {
  const auto frames = test::fixture("arp_ping");
  auto h = Ipv4Header::parse(ip_of(frames[2]));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_length, 20);
  EXPECT_EQ(h->total_length, 52);  // 20 + 8 + 24 bytes of ping data
  EXPECT_EQ(h->ttl, 64);
  EXPECT_EQ(h->protocol, 1);
  EXPECT_TRUE(h->dont_fragment);
  EXPECT_FALSE(h->is_fragment());
  EXPECT_EQ(h->src, kIpA);
  EXPECT_EQ(h->dst, kIpB);
  // Round trip: the emitted header is Linux's, checksum included.
  auto buf = test::pattern_buffer(32);
  h->emit(buf);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 20, ip_of(frames[2]).begin()));
  EXPECT_EQ(buf[20], std::byte{0xa5});
}

TEST(WireIpv4, OptionsAreSkipped) {
  const auto frames = test::fixture("ping_record_route");
  ASSERT_EQ(frames.size(), 2u);
  auto h = Ipv4Header::parse(ip_of(frames[0]));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_length, 60);  // ping -R: 40 bytes of record-route option
  EXPECT_EQ(h->protocol, 1);
  // The ICMP message starts after the options.
  auto icmp = IcmpHeader::parse(ip_of(frames[0]).subspan(h->header_length, h->payload_length()));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type, 8);
}

TEST(WireIpv4, ParsesLinuxFragments) {
  const auto frames = test::fixture("ping_fragments");
  ASSERT_EQ(frames.size(), 6u);
  const std::uint16_t offsets[] = {0, 1480, 2960};
  std::uint16_t id = 0;
  for (int i = 0; i < 3; ++i) {
    auto h = Ipv4Header::parse(ip_of(frames[i]));
    ASSERT_TRUE(h) << i;
    EXPECT_EQ(h->fragment_offset, offsets[i]);
    EXPECT_EQ(h->more_fragments, i < 2);
    EXPECT_TRUE(h->is_fragment());
    if (i == 0) id = h->id;
    EXPECT_EQ(h->id, id);
    auto buf = test::pattern_buffer(20);
    h->emit(buf);
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), ip_of(frames[i]).begin())) << i;
  }
}

TEST(WireIpv4, RefusesImpossibleHeaders) {
  const auto frame = test::fixture("arp_ping")[2];
  const std::vector<std::byte> good(ip_of(frame).begin(), ip_of(frame).end());
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = Ipv4Header::parse(ByteSpan(good).first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), ParseError::kTruncated) << n;
  }
  auto with = [&](std::size_t off, std::uint8_t v) {
    auto b = good;
    b[off] = static_cast<std::byte>(v);
    return b;
  };
  EXPECT_EQ(Ipv4Header::parse(with(0, 0x65)).error(), ParseError::kBadVersion);
  EXPECT_EQ(Ipv4Header::parse(with(0, 0x44)).error(), ParseError::kBadHeaderLength);  // IHL 4
  EXPECT_EQ(Ipv4Header::parse(with(0, 0x4f)).error(), ParseError::kTruncated);        // IHL 60 > 52
  EXPECT_EQ(Ipv4Header::parse(with(3, 19)).error(), ParseError::kBadLength);          // total < IHL
  EXPECT_EQ(Ipv4Header::parse(with(3, 200)).error(), ParseError::kTruncated);   // total > bytes
  EXPECT_EQ(Ipv4Header::parse(with(8, 63)).error(), ParseError::kBadChecksum);  // TTL changed
  EXPECT_TRUE(Ipv4Header::parse(with(8, 63), /*verify_checksum=*/false));
}

TEST(WireIcmp, ParsesEchoAndPortUnreachable) {
  const auto ping = test::fixture("arp_ping");
  auto ip = Ipv4Header::parse(ip_of(ping[2]));
  const ByteSpan msg = ip_of(ping[2]).subspan(20, ip->payload_length());
  auto echo = IcmpHeader::parse(msg);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->type, static_cast<std::uint8_t>(IcmpType::kEchoRequest));
  EXPECT_EQ(echo->sequence, 1);
  // Rebuilding the message reproduces Linux's checksum.
  std::vector<std::byte> copy(msg.begin(), msg.end());
  echo->emit(copy);
  IcmpHeader::finish_checksum(copy);
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), msg.begin()));
  auto reply = IcmpHeader::parse(ip_of(ping[3]).subspan(20, 32));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, static_cast<std::uint8_t>(IcmpType::kEchoReply));
  EXPECT_EQ(reply->ident, echo->ident);

  const auto unreach = test::fixture("udp_port_unreachable");
  auto uip = Ipv4Header::parse(ip_of(unreach[1]));
  ASSERT_TRUE(uip);
  const ByteSpan umsg = ip_of(unreach[1]).subspan(20, uip->payload_length());
  auto u = IcmpHeader::parse(umsg);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->type, static_cast<std::uint8_t>(IcmpType::kDestUnreachable));
  EXPECT_EQ(u->code, static_cast<std::uint8_t>(UnreachCode::kPort));
  // The quoted datagram is the one we sent: UDP from A to B port 9.
  auto quoted = Ipv4Header::parse(umsg.subspan(8), /*verify_checksum=*/true);
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->src, kIpA);
  EXPECT_EQ(quoted->dst, kIpB);
  EXPECT_EQ(quoted->protocol, 17);
  EXPECT_EQ(load_be<std::uint16_t>(umsg, 8 + 20 + 2), 9);

  auto bad = std::vector<std::byte>(msg.begin(), msg.end());
  bad[10] ^= std::byte{1};
  EXPECT_EQ(IcmpHeader::parse(bad).error(), ParseError::kBadChecksum);
  for (std::size_t n = 0; n < IcmpHeader::kSize; ++n) {
    EXPECT_EQ(IcmpHeader::parse(msg.first(n)).error(), ParseError::kTruncated);
  }
}

TEST(WireUdp, ParsesLinuxDatagramAndRebuildsItsChecksum) {
  const auto frames = test::fixture("udp_echo");
  ASSERT_EQ(frames.size(), 2u);
  auto ip = Ipv4Header::parse(ip_of(frames[0]));
  ASSERT_TRUE(ip);
  const ByteSpan dgram = ip_of(frames[0]).subspan(20, ip->payload_length());
  auto h = UdpHeader::parse(dgram, ip->src, ip->dst);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->src_port, 40000);
  EXPECT_EQ(h->dst_port, 7);
  EXPECT_EQ(h->length, 8 + 21);
  const std::string payload(reinterpret_cast<const char*>(dgram.data()) + 8, 21);
  EXPECT_EQ(payload, "hello from the kernel");
  std::vector<std::byte> copy(dgram.begin(), dgram.end());
  auto buf = test::pattern_buffer(copy.size());
  h->emit(buf);
  EXPECT_EQ(buf[8], std::byte{0xa5});
  std::copy(copy.begin() + 8, copy.end(), buf.begin() + 8);
  UdpHeader::finish_checksum(buf, ip->src, ip->dst);
  EXPECT_EQ(buf, copy);
}

TEST(WireUdp, RefusesImpossibleLengthsAndBadChecksums) {
  const auto f = test::fixture("udp_echo")[0];
  const ByteSpan dgram = ip_of(f).subspan(20, 29);
  std::vector<std::byte> good(dgram.begin(), dgram.end());
  for (std::size_t n = 0; n < UdpHeader::kSize; ++n) {
    EXPECT_EQ(UdpHeader::parse(ByteSpan(good).first(n), kIpA, kIpB).error(),
              ParseError::kTruncated);
  }
  auto b = good;
  store_be<std::uint16_t>(b, 4, 7);  // length below the header
  EXPECT_EQ(UdpHeader::parse(b, kIpA, kIpB).error(), ParseError::kBadLength);
  b = good;
  store_be<std::uint16_t>(b, 4, 200);  // length past the bytes
  EXPECT_EQ(UdpHeader::parse(b, kIpA, kIpB).error(), ParseError::kTruncated);
  b = good;
  b[12] ^= std::byte{0x10};
  EXPECT_EQ(UdpHeader::parse(b, kIpA, kIpB).error(), ParseError::kBadChecksum);
  // The pseudo-header counts: the same bytes from another source fail.
  EXPECT_EQ(UdpHeader::parse(good, kIpB, kIpB).error(), ParseError::kBadChecksum);
  // A zero checksum means "none" over IPv4 (RFC 768).
  b = good;
  store_be<std::uint16_t>(b, 6, 0);
  b[12] ^= std::byte{0x10};
  EXPECT_TRUE(UdpHeader::parse(b, kIpA, kIpB));
}

}  // namespace
}  // namespace usnet::wire

// ICMPv6 against messages the Linux kernel sent (tests/fixtures/capture_ipv6.sh): echo,
// destination unreachable, packet too big, time exceeded and parameter problem; checksums
// over the pseudo-header, round trips byte for byte, truncation.
#include <gtest/gtest.h>

#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

namespace usnet::wire {
namespace {

const Ipv6Address kA = *Ipv6Address::parse("2001:db8:9::1");
const Ipv6Address kB = *Ipv6Address::parse("2001:db8:9::2");

struct Message {
  Ipv6Header ip;
  std::vector<std::byte> icmp;  // a copy, to corrupt
};

Message message_of(const std::vector<std::byte>& frame) {
  auto ip = Ipv6Header::parse(ByteSpan(frame).subspan(14));
  EXPECT_TRUE(ip);
  EXPECT_EQ(ip->next_header, 58);
  const auto body = ByteSpan(frame).subspan(14 + 40, ip->payload_length);
  return {*ip, {body.begin(), body.end()}};
}

// Emits h and the original data after it, computes the checksum, and compares with Linux.
void expect_round_trip(const Icmpv6Header& h, const Message& m) {
  auto buf = test::pattern_buffer(m.icmp.size() + 1);
  h.emit(buf);
  std::copy(m.icmp.begin() + 8, m.icmp.end(), buf.begin() + 8);
  Icmpv6Header::finish_checksum(MutableByteSpan(buf).first(m.icmp.size()), m.ip.src, m.ip.dst);
  EXPECT_TRUE(std::equal(m.icmp.begin(), m.icmp.end(), buf.begin()));
  EXPECT_EQ(buf.back(), std::byte{0xa5});
}

TEST(WireIcmpv6, LinuxEcho) {
  const auto frames = test::fixture("ping6");
  const Message req = message_of(test::icmpv6_frame(frames, 128));
  auto h = Icmpv6Header::parse(req.icmp, req.ip.src, req.ip.dst);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, 128);
  EXPECT_EQ(h->code, 0);
  EXPECT_EQ(h->ident(), 19400);  // ping's, as tcpdump shows the capture
  EXPECT_EQ(h->sequence(), 1);
  EXPECT_EQ(req.icmp.size(), 32u);
  expect_round_trip(*h, req);
  expect_round_trip(Icmpv6Header::echo(Icmpv6Type::kEchoRequest, h->ident(), 1), req);
  const Message rep = message_of(test::icmpv6_frame(frames, 129));
  auto r = Icmpv6Header::parse(rep.icmp, rep.ip.src, rep.ip.dst);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ident(), h->ident());
  EXPECT_EQ(r->sequence(), 1);
  EXPECT_FALSE(is_icmpv6_error(r->type));
  expect_round_trip(Icmpv6Header::echo(Icmpv6Type::kEchoReply, h->ident(), 1), rep);
}

TEST(WireIcmpv6, LinuxPortUnreachableQuotesTheDatagram) {
  const auto frames = test::fixture("udp6_port_unreachable");
  const Message m = message_of(test::icmpv6_frame(frames, 1));
  auto h = Icmpv6Header::parse(m.icmp, m.ip.src, m.ip.dst);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->code, static_cast<std::uint8_t>(Icmpv6UnreachCode::kPortUnreachable));
  EXPECT_EQ(h->word, 0u);
  EXPECT_TRUE(is_icmpv6_error(h->type));
  // The whole invoking packet follows: its IPv6 header, then UDP to port 9.
  auto quoted = Ipv6Header::parse(ByteSpan(m.icmp).subspan(8));
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->src, kA);
  EXPECT_EQ(quoted->dst, kB);
  EXPECT_EQ(quoted->next_header, 17);
  EXPECT_EQ(m.icmp.size(), 8u + 40u + quoted->payload_length);
  EXPECT_EQ(load_be<std::uint16_t>(m.icmp, 8 + 40 + 2), 9);
  expect_round_trip(Icmpv6Header::error(Icmpv6Type::kDestUnreachable, 4), m);
}

TEST(WireIcmpv6, LinuxPacketTooBig) {
  const auto frames = test::fixture("ping6_packet_too_big");
  const Message m = message_of(test::icmpv6_frame(frames, 2));
  auto h = Icmpv6Header::parse(m.icmp, m.ip.src, m.ip.dst);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->code, 0);
  EXPECT_EQ(h->mtu(), 1280u);
  // Quoted up to the minimum MTU (RFC 4443 2.4 (c)): a 1280-byte packet in all.
  EXPECT_EQ(m.icmp.size(), Icmpv6Header::kMaxErrorMessage);
  auto quoted = Ipv6Header::parse(ByteSpan(m.icmp).subspan(8));
  EXPECT_FALSE(quoted);  // the quoted packet is cut: its payload length is more than is there
  expect_round_trip(Icmpv6Header::error(Icmpv6Type::kPacketTooBig, 0, 1280), m);
}

TEST(WireIcmpv6, LinuxTimeExceeded) {
  const auto frames = test::fixture("ping6_time_exceeded");
  const Message m = message_of(test::icmpv6_frame(frames, 3));
  auto h = Icmpv6Header::parse(m.icmp, m.ip.src, m.ip.dst);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->code, static_cast<std::uint8_t>(Icmpv6TimeExceededCode::kHopLimit));
  EXPECT_EQ(m.ip.src, kB);  // the router, not the destination
  EXPECT_EQ(Ipv6Address::from_bytes(ByteSpan(m.icmp).subspan(8 + 24)),
            *Ipv6Address::parse("2001:db8:10::5"));
  expect_round_trip(Icmpv6Header::error(Icmpv6Type::kTimeExceeded, 0), m);
}

TEST(WireIcmpv6, LinuxParameterProblems) {
  const auto frames = test::fixture("ipv6_ext_errors");
  // Unknown option (code 2) and routing type 0 (code 0) at 42, unknown next header (1) at 6.
  const std::pair<std::uint8_t, std::uint32_t> want[] = {{2, 42}, {0, 42}, {1, 6}};
  for (int i = 0; i < 3; ++i) {
    const Message m = message_of(test::icmpv6_frame(frames, 4, i));
    auto h = Icmpv6Header::parse(m.icmp, m.ip.src, m.ip.dst);
    ASSERT_TRUE(h) << i;
    EXPECT_EQ(h->code, want[i].first) << i;
    EXPECT_EQ(h->pointer(), want[i].second) << i;
    expect_round_trip(
        Icmpv6Header::error(Icmpv6Type::kParameterProblem, want[i].first, want[i].second), m);
  }
}

TEST(WireIcmpv6, RefusesBadChecksumsAndTruncation) {
  const Message m = message_of(test::icmpv6_frame(test::fixture("ping6"), 128));
  ASSERT_TRUE(Icmpv6Header::parse(m.icmp, m.ip.src, m.ip.dst));
  for (std::size_t n = 0; n < Icmpv6Header::kSize; ++n) {
    auto r = Icmpv6Header::parse(ByteSpan(m.icmp).first(n), m.ip.src, m.ip.dst);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), ParseError::kTruncated) << n;
  }
  // Cut anywhere after the header, the checksum no longer matches (the length is in the
  // pseudo-header, so even cutting zero bytes off would be caught).
  for (std::size_t n = Icmpv6Header::kSize; n < m.icmp.size(); ++n) {
    auto r = Icmpv6Header::parse(ByteSpan(m.icmp).first(n), m.ip.src, m.ip.dst);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), ParseError::kBadChecksum) << n;
  }
  // Every single-bit flip is caught, and so are the wrong addresses.
  for (std::size_t i = 0; i < m.icmp.size() * 8; ++i) {
    auto bad = m.icmp;
    bad[i / 8] ^= std::byte{static_cast<std::uint8_t>(1U << (i % 8))};
    EXPECT_FALSE(Icmpv6Header::parse(bad, m.ip.src, m.ip.dst)) << i;
  }
  EXPECT_FALSE(Icmpv6Header::parse(m.icmp, m.ip.dst, kB));
  // Swapping source and destination keeps the sum (addition commutes), as on the wire.
  EXPECT_TRUE(Icmpv6Header::parse(m.icmp, m.ip.dst, m.ip.src));
}

}  // namespace
}  // namespace usnet::wire

// The TCP header and options against a Linux session (tests/fixtures/tcp_session.pcap):
// the SYN's options, their exact re-emission, checksums, and malformed options.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "support/pcap_reader.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::wire {
namespace {

const Ipv4Address kIpA = Ipv4Address::from_octets(198, 18, 9, 1);
const Ipv4Address kIpB = Ipv4Address::from_octets(198, 18, 9, 2);

ByteSpan segment_of(const std::vector<std::byte>& frame) {
  auto ip = Ipv4Header::parse(ByteSpan(frame).subspan(14));
  return ByteSpan(frame).subspan(14 + ip->header_length, ip->payload_length());
}

TEST(WireTcp, ParsesLinuxSynOptions) {
  const auto frames = test::fixture("tcp_session");
  ASSERT_GE(frames.size(), 10u);
  auto syn = TcpHeader::parse(segment_of(frames[0]), kIpA, kIpB);
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->dst_port, 8080);
  EXPECT_EQ(syn->flags, kTcpSyn);
  EXPECT_EQ(syn->header_length, 40);
  EXPECT_EQ(syn->ack, 0u);
  EXPECT_EQ(syn->options.mss, 1460);
  EXPECT_TRUE(syn->options.sack_permitted);
  ASSERT_TRUE(syn->options.ts_val);
  EXPECT_EQ(syn->options.ts_ecr, 0u);
  EXPECT_EQ(syn->options.window_scale, 10);
  EXPECT_EQ(syn->options.sack_count, 0);
  auto synack = TcpHeader::parse(segment_of(frames[1]), kIpB, kIpA);
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(synack->ack, syn->seq + 1);
  EXPECT_EQ(synack->options.ts_ecr, syn->options.ts_val);
}

// Every segment of the session, re-emitted from its parsed form with the checksum
// recomputed, is byte for byte what Linux sent: same option layout, same padding.
TEST(WireTcp, ReEmitsLinuxSegmentsExactly) {
  const auto frames = test::fixture("tcp_session");
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const ByteSpan seg = segment_of(frames[i]);
    auto ip = Ipv4Header::parse(ByteSpan(frames[i]).subspan(14));
    auto h = TcpHeader::parse(seg, ip->src, ip->dst);
    ASSERT_TRUE(h) << i;
    ASSERT_EQ(h->size(), h->header_length) << i;
    auto out = test::pattern_buffer(seg.size() + 4);
    h->emit(out);
    EXPECT_EQ(out[h->size()], std::byte{0xa5}) << i;
    std::copy(seg.begin() + h->size(), seg.end(), out.begin() + h->size());
    out.resize(seg.size());
    TcpHeader::finish_checksum(out, ip->src, ip->dst);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), seg.begin())) << "segment " << i;
  }
}

TEST(WireTcp, SackBlocksRoundTrip) {
  TcpHeader h;
  h.src_port = 1;
  h.dst_port = 2;
  h.flags = kTcpAck;
  h.options.ts_val = 7;
  h.options.ts_ecr = 9;
  h.options.sack[0] = {1000, 2000};
  h.options.sack[1] = {3000, 4000};
  h.options.sack[2] = {5000, 6000};
  h.options.sack_count = 3;
  EXPECT_EQ(h.size(), 20u + 12u + 4u + 24u);
  std::vector<std::byte> seg(h.size());
  h.emit(seg);
  TcpHeader::finish_checksum(seg, kIpA, kIpB);
  auto p = TcpHeader::parse(seg, kIpA, kIpB);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->options, h.options);
}

std::vector<std::byte> with_options(std::initializer_list<int> opts) {
  std::vector<std::byte> seg(20);
  for (int o : opts)
    seg.push_back(static_cast<std::byte>(o));
  while (seg.size() % 4 != 0)
    seg.push_back(std::byte{0});
  store_u8(seg, 12, static_cast<std::uint8_t>((seg.size() / 4) << 4));
  TcpHeader::finish_checksum(seg, kIpA, kIpB);
  return seg;
}

TEST(WireTcp, MalformedOptionsStopParsingButKeepTheSegment) {
  // MSS, then an option of length 0: parsing stops after the MSS.
  auto zero = TcpHeader::parse(with_options({2, 4, 0x05, 0xb4, 30, 0, 3, 3, 7}), kIpA, kIpB);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->options.mss, 1460);
  EXPECT_FALSE(zero->options.window_scale);
  // Length 1 is as silly as 0.
  auto one = TcpHeader::parse(with_options({30, 1, 2, 4, 0x05, 0xb4}), kIpA, kIpB);
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->options.mss);
  // An option that runs past the header.
  auto over = TcpHeader::parse(with_options({1, 1, 8, 30, 1, 2, 3, 4}), kIpA, kIpB);
  ASSERT_TRUE(over);
  EXPECT_FALSE(over->options.ts_val);
  // Unknown options are skipped by their length; known ones after them still count.
  auto unknown = TcpHeader::parse(with_options({30, 4, 9, 9, 3, 3, 20}), kIpA, kIpB);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->options.window_scale, 14);  // RFC 7323 2.3: clamped to 14
  // A known option with the wrong length is ignored.
  auto wrong = TcpHeader::parse(with_options({2, 3, 5, 1, 1, 1}), kIpA, kIpB);
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->options.mss);
}

TEST(WireTcp, RefusesImpossibleDataOffsetsAndBadChecksums) {
  const auto frames = test::fixture("tcp_session");
  const ByteSpan seg = segment_of(frames[3]);  // data segment "usnet"
  std::vector<std::byte> good(seg.begin(), seg.end());
  for (std::size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(TcpHeader::parse(ByteSpan(good).first(n), kIpA, kIpB).error(),
              ParseError::kTruncated);
  }
  auto b = good;
  store_u8(b, 12, 4 << 4);  // data offset 4 words
  EXPECT_EQ(TcpHeader::parse(b, kIpA, kIpB, false).error(), ParseError::kBadHeaderLength);
  b = good;
  store_u8(b, 12, 15 << 4);  // 60 bytes, more than the segment
  EXPECT_EQ(TcpHeader::parse(b, kIpA, kIpB, false).error(), ParseError::kTruncated);
  b = good;
  b.back() ^= std::byte{0x20};
  EXPECT_EQ(TcpHeader::parse(b, kIpA, kIpB).error(), ParseError::kBadChecksum);
  EXPECT_TRUE(TcpHeader::parse(b, kIpA, kIpB, /*verify_checksum=*/false));
}

// The options of a Linux SYN asking for a Fast Open cookie, as tcpdump shows them ("mss
// 1460,sackOK,TS val 1 ecr 0,nop,wscale 7,tfo cookiereq,nop,nop"): the request last,
// padded with two NOPs (tcp_options_write).
TEST(WireTcpFastOpen, CookieRequestInLinuxLayout) {
  const auto seg = with_options(
      {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 34, 2, 1, 1});
  auto h = TcpHeader::parse(seg, kIpA, kIpB);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->options.fastopen);
  EXPECT_EQ(h->options.fastopen->len, 0);
  EXPECT_FALSE(h->options.fastopen->exp);
  EXPECT_EQ(h->options.mss, 1460);
  EXPECT_EQ(h->options.window_scale, 7);
  // Re-emitted byte for byte.
  ASSERT_EQ(h->size(), seg.size());
  std::vector<std::byte> out(seg.size());
  h->emit(out);
  TcpHeader::finish_checksum(out, kIpA, kIpB);
  EXPECT_EQ(out, seg);
}

// Bytes from hex digits, spaces ignored (as tcpdump -x prints them).
std::vector<std::byte> hex(std::string_view h) {
  std::string digits;
  for (char ch : h) {
    if (ch != ' ') digits += ch;
  }
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::byte>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// Segments of a Linux 6.x Fast Open exchange over its loopback (tcpdump -x, IP header
// cut off; loopback leaves checksums partial, so they are not checked): the SYN,ACK that
// answers a cookie request, and the next SYN with the cookie and 5 bytes of data. usnet
// reads them and writes the same options byte for byte.
TEST(WireTcpFastOpen, LinuxSynAckCookieAndSynWithData) {
  const auto synack =
      hex("1fa5 c338 9a2e 0f57 0bfd e476 d012 ffcb fe3c 0000 0204 ffd7 0402 080a"
          "cf28 a05c 66c4 0d7c 0103 030a 220a 12c3 d3d6 6081 fc12 0101");
  auto h = TcpHeader::parse(synack, kIpA, kIpB, false);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flags, kTcpSyn | kTcpAck);
  ASSERT_TRUE(h->options.fastopen);
  const FastOpenCookie& c = *h->options.fastopen;
  EXPECT_EQ(c.len, 8);
  EXPECT_FALSE(c.exp);
  const std::array<std::uint8_t, 8> want = {0x12, 0xc3, 0xd3, 0xd6, 0x60, 0x81, 0xfc, 0x12};
  EXPECT_TRUE(std::equal(want.begin(), want.end(), c.val.begin()));
  ASSERT_EQ(h->size(), synack.size());
  std::vector<std::byte> out(synack.size());
  h->emit(out);
  EXPECT_TRUE(std::equal(out.begin() + 20, out.end(), synack.begin() + 20));

  const auto syn =
      hex("c342 1fa5 9082 25ae 0000 0000 d002 ffd7 fe41 0000 0204 ffd7 0402 080a"
          "2c7c 2dc0 0000 0000 0103 030a 220a 12c3 d3d6 6081 fc12 0101 6865 6c6c 6f");
  auto s = TcpHeader::parse(syn, kIpA, kIpB, false);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->flags, kTcpSyn);
  EXPECT_EQ(s->header_length, 52);
  ASSERT_TRUE(s->options.fastopen);
  EXPECT_EQ(*s->options.fastopen, c);
  EXPECT_EQ(syn.size() - s->header_length, 5U);  // "hello"
}

TEST(WireTcpFastOpen, CookiesRoundTripInBothKinds) {
  for (bool exp : {false, true}) {
    for (std::int8_t len : {4, 6, 8, 16}) {
      TcpHeader h;
      h.flags = kTcpSyn;
      h.options.mss = 1460;
      h.options.sack_permitted = true;
      h.options.ts_val = 1;
      h.options.ts_ecr = 0;
      h.options.window_scale = 7;
      FastOpenCookie c;
      c.exp = exp;
      c.len = len;
      for (int i = 0; i < len; ++i)
        c.val[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(0xc0 + i);
      h.options.fastopen = c;
      const std::size_t opt = (static_cast<std::size_t>(len) + (exp ? 4 : 2) + 3) & ~std::size_t{3};
      EXPECT_EQ(h.size(), 20u + 20u + opt) << int(len) << exp;
      ASSERT_LE(h.size(), TcpHeader::kMaxSize);
      std::vector<std::byte> seg(h.size());
      h.emit(seg);
      // Kind 34 or 254 + magic right after the 20 bytes of the other options.
      EXPECT_EQ(load_u8(seg, 40), exp ? 254 : 34);
      if (exp) {
        EXPECT_EQ(load_be<std::uint16_t>(seg, 42), 0xF989);
      }
      TcpHeader::finish_checksum(seg, kIpA, kIpB);
      auto p = TcpHeader::parse(seg, kIpA, kIpB);
      ASSERT_TRUE(p);
      EXPECT_EQ(p->options, h.options) << int(len) << exp;
    }
  }
}

TEST(WireTcpFastOpen, MalformedLengthsAsLinux) {
  // Odd cookie length: no option at all (tcp_parse_fastopen_option returns early).
  auto odd = TcpHeader::parse(with_options({34, 7, 1, 2, 3, 4, 5}), kIpA, kIpB);
  ASSERT_TRUE(odd);
  EXPECT_FALSE(odd->options.fastopen);
  // Even but too short (2) or too long (18): an invalid cookie, len -1.
  auto short2 = TcpHeader::parse(with_options({34, 4, 1, 2}), kIpA, kIpB);
  ASSERT_TRUE(short2 && short2->options.fastopen);
  EXPECT_EQ(short2->options.fastopen->len, -1);
  auto long18 = TcpHeader::parse(
      with_options({34, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}), kIpA,
      kIpB);
  ASSERT_TRUE(long18 && long18->options.fastopen);
  EXPECT_EQ(long18->options.fastopen->len, -1);
  // Experimental kind 254 with another magic is someone else's experiment: skipped.
  auto other =
      TcpHeader::parse(with_options({254, 6, 0x12, 0x34, 1, 2, 2, 4, 0x05, 0xb4}), kIpA, kIpB);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->options.fastopen);
  EXPECT_EQ(other->options.mss, 1460);
  // Kind 254 with the magic and an empty cookie: a request in the experimental form.
  auto req = TcpHeader::parse(with_options({254, 4, 0xF9, 0x89}), kIpA, kIpB);
  ASSERT_TRUE(req && req->options.fastopen);
  EXPECT_EQ(req->options.fastopen->len, 0);
  EXPECT_TRUE(req->options.fastopen->exp);
}

}  // namespace
}  // namespace usnet::wire

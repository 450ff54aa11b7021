// IPv6 addresses and the fixed header against Linux: text forms compared with glibc's
// inet_pton/inet_ntop, headers from frames the kernel sent (tests/fixtures/
// capture_ipv6.sh), round trips byte for byte, truncation and impossible lengths.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/checksum.h"
#include "wire/ipv6.h"

namespace usnet::wire {
namespace {

ByteSpan ip_of(const std::vector<std::byte>& frame) {
  return ByteSpan(frame).subspan(14);
}

Ipv6Address addr(const char* text) {
  auto a = Ipv6Address::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(Ipv6Address{});
}

TEST(Ipv6Address, FormatsAsRfc5952AndGlibc) {
  // RFC 5952 section 4 examples and the edges of the zero-run rule.
  const std::pair<const char*, const char*> cases[] = {
      {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
      {"2001:db8:0:0:0:0:2:1", "2001:db8::2:1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // 4.2.2: one zero group stays
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // 4.2.3: the longest run
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // 4.2.3: the first of equal runs
      {"2001:DB8::ABCD", "2001:db8::abcd"},              // 4.3: lowercase
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"fe80::ff:fe00:a", "fe80::ff:fe00:a"},
      {"ff02::1:ff00:2", "ff02::1:ff00:2"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"::ffff:198.18.0.1", "::ffff:198.18.0.1"},  // section 5
      {"::ffff:c612:1", "::ffff:198.18.0.1"},
      {"2001:db8::198.18.0.1", "2001:db8::c612:1"},
  };
  for (const auto& [in, want] : cases) {
    auto a = Ipv6Address::parse(in);
    ASSERT_TRUE(a) << in;
    EXPECT_EQ(a->to_string(), want) << in;
    // glibc agrees on the bytes and on the text.
    std::array<std::uint8_t, 16> ref{};
    ASSERT_EQ(inet_pton(AF_INET6, in, ref.data()), 1) << in;
    EXPECT_EQ(a->bytes, ref) << in;
    char text[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, ref.data(), text, sizeof text), nullptr);
    EXPECT_EQ(a->to_string(), text) << in;
  }
}

TEST(Ipv6Address, RefusesWhatGlibcRefuses) {
  const char* bad[] = {
      "",
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      ":1::",
      "1::2:",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "12345::",
      "g::",
      "::1.2.3",
      "::1.2.3.4.5",
      "::256.0.0.1",
      "1.2.3.4",
      "::1.2.3.4:5",
      "1:2:3:4:5:6:7:1.2.3.4",
      "fe80::1%eth0",
      "[::1]",
      " ::1",
      "::1 ",
      "::-1",
      "::+1",
      "::ffff:099.18.0.1",  // leading zeros in the quad (found by fuzz_ipv6_address)
      "::ffff:198.18.00.1"};
  for (const char* text : bad) {
    std::array<std::uint8_t, 16> ref{};
    EXPECT_EQ(inet_pton(AF_INET6, text, ref.data()), 0) << "glibc takes " << text;
    EXPECT_FALSE(Ipv6Address::parse(text)) << text;
  }
}

TEST(Ipv6Address, Classifies) {
  EXPECT_TRUE(addr("::").is_any());
  EXPECT_TRUE(addr("::1").is_loopback());
  EXPECT_TRUE(addr("fe80::1").is_link_local());
  EXPECT_TRUE(addr("febf::1").is_link_local());
  EXPECT_FALSE(addr("fec0::1").is_link_local());
  EXPECT_TRUE(addr("ff02::1").is_multicast());
  EXPECT_FALSE(addr("2001:db8::1").is_multicast());
  const auto mapped = Ipv6Address::v4_mapped(Ipv4Address::from_octets(198, 18, 0, 1));
  EXPECT_EQ(mapped, addr("::ffff:198.18.0.1"));
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_EQ(mapped.v4(), Ipv4Address::from_octets(198, 18, 0, 1));
  EXPECT_FALSE(addr("::198.18.0.1").is_v4_mapped());
  EXPECT_LT(addr("2001:db8::1"), addr("2001:db8::2"));
}

TEST(WireIpv6, ParsesLinuxEchoRequest) {
  const auto frames = test::fixture("ping6");
  const ByteSpan ip = ip_of(test::icmpv6_frame(frames, 128));
  auto h = Ipv6Header::parse(ip);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->traffic_class, 0);
  // Linux labels each flow (RFC 6437, auto_flowlabels) with a hash of the flow; this is
  // the capture's value (tcpdump -v shows it).
  EXPECT_EQ(h->flow_label, 0xf8aabU);
  EXPECT_EQ(h->payload_length, 32);  // 8 + 24 bytes of ping data
  EXPECT_EQ(h->next_header, 58);
  EXPECT_EQ(h->hop_limit, 64);
  EXPECT_EQ(h->src, addr("2001:db8:9::1"));
  EXPECT_EQ(h->dst, addr("2001:db8:9::2"));
  auto buf = test::pattern_buffer(Ipv6Header::kSize + 1);
  h->emit(buf);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 40, ip.begin()));
  EXPECT_EQ(buf[40], std::byte{0xa5});
  // The ICMPv6 checksum covers the pseudo-header (RFC 8200 8.1): Linux's sums to zero.
  const ByteSpan icmp = ip.subspan(40, h->payload_length);
  EXPECT_EQ(checksum_finish(checksum_partial(
                icmp, pseudo_header_sum_v6(h->src, h->dst, 58, h->payload_length))),
            0);
  // And a wrong length or protocol in it does not.
  EXPECT_NE(checksum_finish(checksum_partial(
                icmp, pseudo_header_sum_v6(h->src, h->dst, 17, h->payload_length))),
            0);
}

TEST(WireIpv6, TrafficClassAndFlowLabelRoundTrip) {
  Ipv6Header h;
  h.traffic_class = 0xb8;  // DSCP EF
  h.flow_label = 0xfffff;
  h.payload_length = 0;
  h.next_header = 59;
  h.src = addr("2001:db8::1");
  h.dst = addr("2001:db8::2");
  auto buf = test::pattern_buffer(40);
  h.emit(buf);
  EXPECT_EQ(buf[0], std::byte{0x6b});
  EXPECT_EQ(buf[1], std::byte{0x8f});
  auto again = Ipv6Header::parse(buf);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->traffic_class, 0xb8);
  EXPECT_EQ(again->flow_label, 0xfffffU);
  EXPECT_EQ(again->src, h.src);
}

TEST(WireIpv6, RefusesImpossibleHeaders) {
  const auto frame = test::icmpv6_frame(test::fixture("ping6"), 128);
  const std::vector<std::byte> good(ip_of(frame).begin(), ip_of(frame).end());
  ASSERT_TRUE(Ipv6Header::parse(good));
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = Ipv6Header::parse(ByteSpan(good).first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), ParseError::kTruncated) << n;
  }
  for (std::uint8_t v : {0x40, 0x00, 0x70, 0xf0}) {
    auto bad = good;
    bad[0] = static_cast<std::byte>(v | (std::to_integer<std::uint8_t>(good[0]) & 0x0f));
    auto r = Ipv6Header::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ParseError::kBadVersion);
  }
  auto longer = good;
  store_be<std::uint16_t>(longer, 4, 33);  // one byte more than is there
  EXPECT_EQ(Ipv6Header::parse(longer).error(), ParseError::kTruncated);
  // Trailing bytes (Ethernet padding) are accepted and left to the caller.
  auto padded = good;
  padded.resize(good.size() + 6);
  auto p = Ipv6Header::parse(padded);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->payload_length, 32);
}

TEST(WireIpv6, SolicitedNodeGroupAndMacAsLinuxSends) {
  // Linux's NS for 2001:db8:9::2 goes to its solicited-node group at 33:33:ff:00:00:02.
  // (The first NS in the capture may be A's own DAD for its SLAAC address.)
  const auto frames = test::fixture("ping6");
  const Ipv6Address target = addr("2001:db8:9::2");
  const std::vector<std::byte>* found = nullptr;
  for (int i = 0; !found; ++i) {
    const auto& f = test::icmpv6_frame(frames, 135, i);
    if (std::memcmp(f.data() + 14 + 40 + 8, target.bytes.data(), 16) == 0) found = &f;
  }
  const auto& ns = *found;
  auto h = Ipv6Header::parse(ip_of(ns));
  ASSERT_TRUE(h);
  EXPECT_EQ(solicited_node(target), h->dst);
  EXPECT_EQ(solicited_node(target), addr("ff02::1:ff00:2"));
  EXPECT_EQ(solicited_node(addr("fe80::1234:5678:9abc:def0")), addr("ff02::1:ffbc:def0"));
  const MacAddress mac = multicast_mac(h->dst);
  EXPECT_TRUE(std::equal(mac.octets.begin(), mac.octets.end(),
                         reinterpret_cast<const std::uint8_t*>(ns.data())));
  EXPECT_EQ(mac.to_string(), "33:33:ff:00:00:02");
  EXPECT_EQ(multicast_mac(addr("ff02::16")).to_string(), "33:33:00:00:00:16");
}

}  // namespace
}  // namespace usnet::wire

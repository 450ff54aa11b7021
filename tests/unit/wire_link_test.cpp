// Ethernet II (with 802.1Q) and ARP against frames the Linux kernel sent (tests/fixtures).
#include <gtest/gtest.h>

#include "support/pcap_reader.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace usnet::wire {
namespace {

const MacAddress kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB{{0x02, 0, 0, 0, 0, 0x0b}};
const Ipv4Address kIpA = Ipv4Address::from_octets(198, 18, 9, 1);
const Ipv4Address kIpB = Ipv4Address::from_octets(198, 18, 9, 2);

TEST(WireEthernet, ParsesLinuxFramesAndRoundTrips) {
  const auto frames = test::fixture("arp_ping");
  ASSERT_EQ(frames.size(), 4u);
  auto req = EthernetHeader::parse(frames[0]);
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->dst.is_broadcast());
  EXPECT_EQ(req->src, kMacA);
  EXPECT_EQ(req->ethertype, 0x0806);
  EXPECT_FALSE(req->vlan_tci);
  auto echo = EthernetHeader::parse(frames[2]);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->dst, kMacB);
  EXPECT_EQ(echo->ethertype, 0x0800);
  for (const auto& f : frames) {
    auto h = EthernetHeader::parse(f);
    ASSERT_TRUE(h);
    auto buf = test::pattern_buffer(32);
    h->emit(buf);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 14, f.begin()));
    EXPECT_EQ(buf[14], std::byte{0xa5});  // nothing written past the header
  }
}

TEST(WireEthernet, VlanTagIsRecognised) {
  const auto frames = test::fixture("vlan_tagged");
  ASSERT_EQ(frames.size(), 1u);
  auto h = EthernetHeader::parse(frames[0]);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->vlan_tci);
  EXPECT_EQ(*h->vlan_tci & 0x0fff, 5);
  EXPECT_EQ(h->ethertype, 0x0800);
  EXPECT_EQ(h->size(), 18u);
  auto buf = test::pattern_buffer(24);
  h->emit(buf);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 18, frames[0].begin()));
  EXPECT_EQ(buf[18], std::byte{0xa5});
  // A tag announced but cut short.
  for (std::size_t n = 14; n < 18; ++n) {
    auto r = EthernetHeader::parse(ByteSpan(frames[0]).first(n));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ParseError::kTruncated);
  }
}

TEST(WireEthernet, TruncatedAndLengthFieldFramesAreRefused) {
  const auto f = test::fixture("arp_ping")[0];
  for (std::size_t n = 0; n < EthernetHeader::kSize; ++n) {
    auto r = EthernetHeader::parse(ByteSpan(f).first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), ParseError::kTruncated);
  }
  auto len_field = f;
  len_field[12] = std::byte{0x00};  // 802.3 length, not an EtherType
  len_field[13] = std::byte{0x40};
  auto r = EthernetHeader::parse(len_field);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ParseError::kUnsupported);
}

TEST(WireArp, ParsesLinuxRequestAndReply) {
  const auto frames = test::fixture("arp_ping");
  auto req = ArpPacket::parse(ByteSpan(frames[0]).subspan(14));
  ASSERT_TRUE(req);
  EXPECT_EQ(req->op, ArpOp::kRequest);
  EXPECT_EQ(req->sender_mac, kMacA);
  EXPECT_EQ(req->sender_ip, kIpA);
  EXPECT_EQ(req->target_ip, kIpB);
  auto rep = ArpPacket::parse(ByteSpan(frames[1]).subspan(14));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->op, ArpOp::kReply);
  EXPECT_EQ(rep->sender_mac, kMacB);
  EXPECT_EQ(rep->sender_ip, kIpB);
  EXPECT_EQ(rep->target_mac, kMacA);
  EXPECT_EQ(rep->target_ip, kIpA);
  for (int i : {0, 1}) {
    auto p = ArpPacket::parse(ByteSpan(frames[i]).subspan(14));
    auto buf = test::pattern_buffer(40);
    p->emit(buf);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 28, frames[i].begin() + 14));
    EXPECT_EQ(buf[28], std::byte{0xa5});
  }
}

TEST(WireArp, RefusesTruncatedAndForeignArp) {
  const auto f = test::fixture("arp_ping")[0];
  const ByteSpan arp = ByteSpan(f).subspan(14);
  for (std::size_t n = 0; n < ArpPacket::kSize; ++n) {
    auto r = ArpPacket::parse(arp.first(n));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ParseError::kTruncated);
  }
  auto bad = std::vector<std::byte>(arp.begin(), arp.end());
  bad[1] = std::byte{6};  // hardware type 6 (IEEE 802), not Ethernet
  EXPECT_EQ(ArpPacket::parse(bad).error(), ParseError::kUnsupported);
  bad = std::vector<std::byte>(arp.begin(), arp.end());
  bad[4] = std::byte{8};  // hardware address length 8
  EXPECT_EQ(ArpPacket::parse(bad).error(), ParseError::kUnsupported);
  bad = std::vector<std::byte>(arp.begin(), arp.end());
  bad[7] = std::byte{9};  // opcode 9
  EXPECT_EQ(ArpPacket::parse(bad).error(), ParseError::kUnsupported);
}

}  // namespace
}  // namespace usnet::wire

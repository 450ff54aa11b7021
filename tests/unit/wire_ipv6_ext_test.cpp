// The IPv6 extension-header chain against Linux: fragments and the MLD hop-by-hop header
// the kernel sent, and the headers the kernel refused (tests/fixtures/ipv6_ext_errors.pcap):
// the parameter problem pointer Linux answered with is the offset the walker reports.
#include <gtest/gtest.h>

#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/ipv6.h"
#include "wire/ipv6_ext.h"

namespace usnet::wire {
namespace {

ByteSpan ip_of(const std::vector<std::byte>& frame) {
  return ByteSpan(frame).subspan(14);
}

// The pointer of the parameter problem that answers `frame` (RFC 4443 3.4: bytes 4..7).
std::uint32_t linux_pointer(const std::vector<std::byte>& reply) {
  return load_be<std::uint32_t>(ip_of(reply), 40 + 4);
}

TEST(WireIpv6Ext, WalksLinuxFragments) {
  const auto frames = test::fixture("ping6_fragments");
  const std::uint16_t offsets[] = {0, 1352, 2704};
  std::uint32_t id = 0;
  std::size_t carried = 0;
  for (int i = 0; i < 3; ++i) {
    const auto& f = test::ipv6_frame(frames, 44, i);
    carried += ip_of(f).size() - 48;
    Ipv6ExtWalker w(ip_of(f));
    ASSERT_TRUE(w.at_extension());
    Ipv6ExtError err;
    auto ext = w.next(err);
    ASSERT_TRUE(ext) << i;
    EXPECT_EQ(ext->type, 44);
    EXPECT_EQ(ext->offset, 40u);
    EXPECT_EQ(ext->bytes.size(), 8u);
    EXPECT_FALSE(w.at_extension());
    EXPECT_EQ(w.next_header(), 58);
    EXPECT_EQ(w.offset(), 48u);
    EXPECT_EQ(w.next_header_offset(), 40u);
    auto frag = Ipv6FragmentHeader::parse(ext->bytes);
    ASSERT_TRUE(frag);
    EXPECT_EQ(frag->next_header, 58);
    EXPECT_EQ(frag->offset, offsets[i]);
    EXPECT_EQ(frag->more_fragments, i < 2);
    EXPECT_FALSE(frag->is_atomic());
    if (i == 0) id = frag->identification;
    EXPECT_EQ(frag->identification, id);
    auto buf = test::pattern_buffer(9);
    frag->emit(buf);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 8, ext->bytes.begin())) << i;
    EXPECT_EQ(buf[8], std::byte{0xa5});
  }
  // The echo request's 4,008 bytes (8 header + 4,000 data) are all there.
  EXPECT_EQ(carried, 4008u);
}

TEST(WireIpv6Ext, AtomicFragmentLinuxAnswered) {
  const auto frames = test::fixture("ipv6_ext_errors");
  const auto& f = test::ipv6_frame(frames, 44);
  Ipv6ExtWalker w(ip_of(f));
  Ipv6ExtError err;
  auto ext = w.next(err);
  ASSERT_TRUE(ext);
  auto frag = Ipv6FragmentHeader::parse(ext->bytes);
  ASSERT_TRUE(frag);
  EXPECT_TRUE(frag->is_atomic());
  EXPECT_EQ(frag->identification, 0x75736e74U);
  // RFC 6946: the kernel processed it at once and answered the echo request inside.
  EXPECT_EQ(test::icmpv6_type_of(frames.back()), 129);
}

TEST(WireIpv6Ext, MldHopByHopFromLinux) {
  const auto frames = test::fixture("ndp_link_up");
  const auto& f = test::ipv6_frame(frames, 0);
  Ipv6ExtWalker w(ip_of(f));
  Ipv6ExtError err;
  auto hbh = w.next(err);
  ASSERT_TRUE(hbh);
  EXPECT_EQ(hbh->type, 0);
  EXPECT_EQ(hbh->next_header, 58);
  EXPECT_EQ(w.offset(), 48u);
  Ipv6OptionIter it(*hbh);
  auto ra = it.next(err);
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->type, Ipv6Option::kRouterAlert);
  EXPECT_EQ(ra->offset, 42u);
  ASSERT_EQ(ra->data.size(), 2u);
  EXPECT_EQ(load_be<std::uint16_t>(ra->data, 0), 0);  // MLD (RFC 2711)
  EXPECT_EQ(option_action(ra->type), Ipv6OptionAction::kSkip);
  auto pad = it.next(err);
  ASSERT_TRUE(pad);
  EXPECT_EQ(pad->type, Ipv6Option::kPadN);
  EXPECT_TRUE(pad->data.empty());
  EXPECT_FALSE(it.next(err));
  // What usnet emits for its own reports is Linux's header byte for byte.
  auto buf = test::pattern_buffer(kRouterAlertHopByHopSize + 1);
  emit_router_alert_hop_by_hop(buf, 58);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 8, hbh->bytes.begin()));
  EXPECT_EQ(buf[8], std::byte{0xa5});
}

TEST(WireIpv6Ext, UnknownDestinationOptionAtLinuxPointer) {
  const auto frames = test::fixture("ipv6_ext_errors");
  const auto& sent = test::ipv6_frame(frames, 60);
  Ipv6ExtWalker w(ip_of(sent));
  Ipv6ExtError err;
  auto dst = w.next(err);
  ASSERT_TRUE(dst);
  EXPECT_EQ(dst->type, 60);
  EXPECT_EQ(w.next_header(), 17);
  Ipv6OptionIter it(*dst);
  auto opt = it.next(err);
  ASSERT_TRUE(opt);
  EXPECT_EQ(opt->type, 0xde);
  EXPECT_EQ(opt->data.size(), 4u);
  EXPECT_EQ(option_action(opt->type), Ipv6OptionAction::kDiscardIcmpUnicast);
  EXPECT_FALSE(option_may_change(opt->type));
  // Linux answered parameter problem code 2 pointing at the option's type byte.
  const auto& reply = test::icmpv6_frame(frames, 4, 0);
  EXPECT_EQ(std::to_integer<int>(ip_of(reply)[41]), 2);
  EXPECT_EQ(linux_pointer(reply), opt->offset);
  EXPECT_EQ(option_action(0x00), Ipv6OptionAction::kSkip);
  EXPECT_EQ(option_action(0x5e), Ipv6OptionAction::kDiscard);
  EXPECT_EQ(option_action(0x9e), Ipv6OptionAction::kDiscardIcmp);
  EXPECT_TRUE(option_may_change(0x3e));
}

TEST(WireIpv6Ext, RoutingType0AtLinuxPointer) {
  const auto frames = test::fixture("ipv6_ext_errors");
  const auto& sent = test::ipv6_frame(frames, 43);
  Ipv6ExtWalker w(ip_of(sent));
  Ipv6ExtError err;
  auto ext = w.next(err);
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->bytes.size(), 24u);
  const auto rt = Ipv6RoutingHeader::from(*ext);
  EXPECT_EQ(rt.routing_type, 0);
  EXPECT_EQ(rt.segments_left, 1);
  EXPECT_EQ(rt.type_data.size(), 20u);  // reserved word + one address
  EXPECT_EQ(Ipv6Address::from_bytes(rt.type_data.subspan(4)), *Ipv6Address::parse("2001:db8:9::2"));
  // RFC 5095: Linux refused it with code 0 at the routing type byte.
  const auto& reply = test::icmpv6_frame(frames, 4, 1);
  EXPECT_EQ(std::to_integer<int>(ip_of(reply)[41]), 0);
  EXPECT_EQ(linux_pointer(reply), ext->offset + Ipv6RoutingHeader::kTypeOffset);
}

TEST(WireIpv6Ext, UnknownNextHeaderAtLinuxPointer) {
  const auto frames = test::fixture("ipv6_ext_errors");
  const auto& sent = test::ipv6_frame(frames, 253);
  Ipv6ExtWalker w(ip_of(sent));
  EXPECT_FALSE(w.at_extension());
  EXPECT_EQ(w.next_header(), 253);
  Ipv6ExtError err;
  EXPECT_FALSE(w.next(err));
  EXPECT_EQ(err.error, ParseError::kUnsupported);
  const auto& reply = test::icmpv6_frame(frames, 4, 2);
  EXPECT_EQ(std::to_integer<int>(ip_of(reply)[41]), 1);
  EXPECT_EQ(linux_pointer(reply), w.next_header_offset());
  EXPECT_EQ(err.pointer, w.next_header_offset());
}

// An IPv6 packet from the given extension bytes (first next header `nh`) and no upper layer.
std::vector<std::byte> packet(std::uint8_t nh, std::vector<std::uint8_t> ext) {
  Ipv6Header h;
  h.payload_length = static_cast<std::uint16_t>(ext.size());
  h.next_header = nh;
  std::vector<std::byte> p(40 + ext.size());
  h.emit(p);
  for (std::size_t i = 0; i < ext.size(); ++i)
    p[40 + i] = std::byte{ext[i]};
  return p;
}

TEST(WireIpv6Ext, RefusesTruncatedChains) {
  const auto frames = test::fixture("ipv6_ext_errors");
  const std::vector<std::byte> rt(ip_of(test::ipv6_frame(frames, 43)).begin(),
                                  ip_of(test::ipv6_frame(frames, 43)).end());
  for (std::size_t n = 40; n < 40 + 24; ++n) {
    Ipv6ExtWalker w(ByteSpan(rt).first(n));
    Ipv6ExtError err;
    ASSERT_FALSE(w.next(err)) << n;
    EXPECT_EQ(err.error, ParseError::kTruncated) << n;
  }
  Ipv6ExtWalker whole(rt);
  Ipv6ExtError err;
  EXPECT_TRUE(whole.next(err));
}

TEST(WireIpv6Ext, HopByHopOnlyFirst) {
  // Destination options (next header 0), then a hop-by-hop header: RFC 8200 4.3.
  auto p = packet(60, {0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0});
  Ipv6ExtWalker w(p);
  Ipv6ExtError err;
  ASSERT_TRUE(w.next(err));
  ASSERT_TRUE(w.at_extension());
  EXPECT_FALSE(w.next(err));
  EXPECT_EQ(err.error, ParseError::kMalformed);
  EXPECT_EQ(err.pointer, 40u);  // the next-header byte naming it
  // First it is fine, and "no next header" ends the walk (RFC 8200 4.7).
  auto q = packet(0, {59, 0, 1, 4, 0, 0, 0, 0});
  Ipv6ExtWalker w2(q);
  ASSERT_TRUE(w2.next(err));
  EXPECT_FALSE(w2.at_extension());
  EXPECT_EQ(w2.next_header(), static_cast<std::uint8_t>(Ipv6Ext::kNoNextHeader));
}

TEST(WireIpv6Ext, OptionsPadAndBounds) {
  // Pad1, PadN of 1 byte, Pad1, then an option whose length runs past the header.
  auto p = packet(60, {59, 0, 0, 1, 1, 0, 0, 0x1e, 5, 0});
  p.resize(48);  // the header is 8 bytes: (0 + 1) * 8
  store_be<std::uint16_t>(p, 4, 8);
  Ipv6ExtWalker w(p);
  Ipv6ExtError err;
  auto ext = w.next(err);
  ASSERT_TRUE(ext);
  Ipv6OptionIter it(*ext);
  const std::uint8_t want[] = {0, 1, 0};
  const std::size_t at[] = {42, 43, 46};
  for (int i = 0; i < 3; ++i) {
    auto o = it.next(err);
    ASSERT_TRUE(o) << i;
    EXPECT_EQ(o->type, want[i]);
    EXPECT_EQ(o->offset, at[i]);
  }
  err = {};
  EXPECT_FALSE(it.next(err));
  EXPECT_EQ(err.error, ParseError::kMalformed);
  EXPECT_EQ(err.pointer, 48u);  // its length byte
  EXPECT_FALSE(it.next(err));   // and the walk ends there
}

TEST(WireIpv6Ext, FragmentFieldsRoundTrip) {
  Ipv6FragmentHeader f;
  f.next_header = 17;
  f.offset = 65528;  // the largest: 8191 units
  f.more_fragments = true;
  f.identification = 0xdeadbeef;
  auto buf = test::pattern_buffer(8);
  f.emit(buf);
  auto g = Ipv6FragmentHeader::parse(buf);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->offset, 65528);
  EXPECT_TRUE(g->more_fragments);
  EXPECT_EQ(g->identification, 0xdeadbeefU);
  EXPECT_EQ(Ipv6FragmentHeader::parse(ByteSpan(buf).first(7)).error(), ParseError::kTruncated);
  // The two reserved bits between offset and M are ignored on receipt (RFC 8200 4.5).
  buf[3] = std::byte{static_cast<std::uint8_t>(std::to_integer<std::uint8_t>(buf[3]) | 0x06)};
  EXPECT_EQ(Ipv6FragmentHeader::parse(buf)->offset, 65528);
}

}  // namespace
}  // namespace usnet::wire

// Neighbour discovery and MLDv2 against messages the Linux kernel sent
// (tests/fixtures/capture_ipv6.sh: DAD, MLD joins, RS and radvd's RA at link up; NS/NA
// around a ping; a router's redirect): fields, options, round trips byte for byte with
// the checksum, and option lengths and truncations refused.
#include <gtest/gtest.h>

#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/ipv6_ext.h"
#include "wire/ndp.h"

namespace usnet::wire {
namespace {

const MacAddress kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB{{0x02, 0, 0, 0, 0, 0x0b}};

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

struct Message {
  Ipv6Header ip;
  std::vector<std::byte> icmp;
};

// The ICMPv6 message of a frame (after a hop-by-hop header if there is one), checksum
// verified.
Message message_of(const std::vector<std::byte>& frame) {
  const ByteSpan ip = ByteSpan(frame).subspan(14);
  auto h = Ipv6Header::parse(ip);
  EXPECT_TRUE(h);
  Ipv6ExtWalker w(ip.first(40 + h->payload_length));
  Ipv6ExtError err;
  while (w.at_extension())
    EXPECT_TRUE(w.next(err));
  EXPECT_EQ(w.next_header(), 58);
  const auto body = ip.subspan(w.offset(), 40 + h->payload_length - w.offset());
  EXPECT_TRUE(Icmpv6Header::parse(body, h->src, h->dst));
  return {*h, {body.begin(), body.end()}};
}

bool from(const std::vector<std::byte>& f, const Ipv6Address& src) {
  return f.size() >= 14 + 40 && std::memcmp(f.data() + 14 + 8, src.bytes.data(), 16) == 0;
}

void expect_same(const std::vector<std::byte>& built, const Message& m) {
  auto buf = built;
  Icmpv6Header::finish_checksum(buf, m.ip.src, m.ip.dst);
  EXPECT_EQ(buf, m.icmp);
}

TEST(WireNdp, LinuxNeighborSolicitation) {
  const auto frames = test::fixture("ping6");
  const Message m = message_of(test::frame_where(frames, [](const auto& f) {
    return test::icmpv6_type_of(f) == 135 && from(f, addr("2001:db8:9::1"));
  }));
  auto ns = NdpNeighborSolicitation::parse(m.icmp);
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->target, addr("2001:db8:9::2"));
  EXPECT_EQ(m.ip.hop_limit, 255);  // RFC 4861 7.1.1, the caller's check
  NdpOptionIter it(ns->options, NdpNeighborSolicitation::kSize);
  std::optional<ParseError> err;
  auto o = it.next(err);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, static_cast<std::uint8_t>(NdpOptionType::kSourceLinkAddr));
  EXPECT_EQ(o->offset, 24u);
  EXPECT_EQ(link_layer_address(*o), kMacA);
  EXPECT_FALSE(it.next(err));
  EXPECT_FALSE(err);
  std::vector<std::byte> built(32);
  NdpNeighborSolicitation{ns->target, {}}.emit(built);
  emit_link_layer_option(MutableByteSpan(built).subspan(24), NdpOptionType::kSourceLinkAddr, kMacA);
  expect_same(built, m);
}

TEST(WireNdp, LinuxDadSolicitationWithNonce) {
  const auto frames = test::fixture("ndp_link_up");
  const Message m = message_of(test::frame_where(
      frames, [](const auto& f) { return test::icmpv6_type_of(f) == 135 && from(f, {}); }));
  auto ns = NdpNeighborSolicitation::parse(m.icmp);
  ASSERT_TRUE(ns);
  EXPECT_TRUE(ns->target.is_link_local());
  EXPECT_EQ(m.ip.dst, solicited_node(ns->target));
  // No source link-layer option from the unspecified address (RFC 4861 4.3); Linux adds an
  // RFC 7527 nonce, which a parser must skip like any option.
  NdpOptionIter it(ns->options, NdpNeighborSolicitation::kSize);
  std::optional<ParseError> err;
  auto o = it.next(err);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, static_cast<std::uint8_t>(NdpOptionType::kNonce));
  EXPECT_EQ(o->bytes.size(), 8u);
  EXPECT_FALSE(it.next(err));
  EXPECT_FALSE(err);
}

TEST(WireNdp, LinuxNeighborAdvertisements) {
  // Solicited answer to a multicast NS: R (B forwards), S, O and the target's address.
  const Message m = message_of(test::icmpv6_frame(test::fixture("ping6"), 136));
  auto na = NdpNeighborAdvertisement::parse(m.icmp);
  ASSERT_TRUE(na);
  EXPECT_TRUE(na->router);
  EXPECT_TRUE(na->solicited);
  EXPECT_TRUE(na->override);
  EXPECT_EQ(na->target, addr("2001:db8:9::2"));
  NdpOptionIter it(na->options, NdpNeighborAdvertisement::kSize);
  std::optional<ParseError> err;
  auto o = it.next(err);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, static_cast<std::uint8_t>(NdpOptionType::kTargetLinkAddr));
  EXPECT_EQ(link_layer_address(*o), kMacB);
  std::vector<std::byte> built(32);
  na->emit(built);
  emit_link_layer_option(MutableByteSpan(built).subspan(24), NdpOptionType::kTargetLinkAddr, kMacB);
  expect_same(built, m);
  // Answer to a unicast probe from A (not a router): S only, no option (RFC 4861 7.2.4).
  const Message u =
      message_of(test::frame_where(test::fixture("ping6_redirect"), [](const auto& f) {
        return test::icmpv6_type_of(f) == 136 && from(f, addr("fe80::ff:fe00:a"));
      }));
  auto una = NdpNeighborAdvertisement::parse(u.icmp);
  ASSERT_TRUE(una);
  EXPECT_FALSE(una->router);
  EXPECT_TRUE(una->solicited);
  EXPECT_FALSE(una->override);
  EXPECT_TRUE(una->options.empty());
  std::vector<std::byte> b(24);
  una->emit(b);
  expect_same(b, u);
}

TEST(WireNdp, LinuxRouterSolicitation) {
  const Message m = message_of(test::icmpv6_frame(test::fixture("ndp_link_up"), 133));
  auto rs = NdpRouterSolicitation::parse(m.icmp);
  ASSERT_TRUE(rs);
  EXPECT_EQ(m.ip.dst, addr("ff02::2"));
  NdpOptionIter it(rs->options, NdpRouterSolicitation::kSize);
  std::optional<ParseError> err;
  auto o = it.next(err);
  ASSERT_TRUE(o);
  EXPECT_EQ(link_layer_address(*o), kMacA);
  std::vector<std::byte> built(16);
  NdpRouterSolicitation{}.emit(built);
  emit_link_layer_option(MutableByteSpan(built).subspan(8), NdpOptionType::kSourceLinkAddr, kMacA);
  expect_same(built, m);
}

TEST(WireNdp, RadvdRouterAdvertisement) {
  const Message m = message_of(test::icmpv6_frame(test::fixture("ndp_link_up"), 134));
  EXPECT_TRUE(m.ip.src.is_link_local());  // RFC 4861 6.1.2, the caller's check
  auto ra = NdpRouterAdvertisement::parse(m.icmp);
  ASSERT_TRUE(ra);
  // As radvd.conf in capture_ipv6.sh says.
  EXPECT_EQ(ra->cur_hop_limit, 64);
  EXPECT_FALSE(ra->managed);
  EXPECT_FALSE(ra->other);
  EXPECT_EQ(ra->preference, 0);
  EXPECT_EQ(ra->router_lifetime, 1800);
  EXPECT_EQ(ra->reachable_time, 30000u);
  EXPECT_EQ(ra->retrans_timer, 1000u);
  NdpOptionIter it(ra->options, NdpRouterAdvertisement::kSize);
  std::optional<ParseError> err;
  auto pi_opt = it.next(err);
  ASSERT_TRUE(pi_opt);
  auto pi = NdpPrefixInfo::parse(*pi_opt);
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->prefix_length, 64);
  EXPECT_TRUE(pi->on_link);
  EXPECT_TRUE(pi->autonomous);
  EXPECT_EQ(pi->valid_lifetime, 86400u);
  EXPECT_EQ(pi->preferred_lifetime, 14400u);
  EXPECT_EQ(pi->prefix, addr("2001:db8:9::"));
  auto mtu_opt = it.next(err);
  ASSERT_TRUE(mtu_opt);
  auto mtu = NdpMtu::parse(*mtu_opt);
  ASSERT_TRUE(mtu);
  EXPECT_EQ(mtu->mtu, 1400u);
  auto sll = it.next(err);
  ASSERT_TRUE(sll);
  EXPECT_EQ(link_layer_address(*sll), kMacB);
  EXPECT_FALSE(it.next(err));
  EXPECT_FALSE(err);
  // Rebuilt in the same order, it is radvd's message.
  std::vector<std::byte> built(64);
  ra->emit(built);
  pi->emit(MutableByteSpan(built).subspan(16));
  mtu->emit(MutableByteSpan(built).subspan(48));
  emit_link_layer_option(MutableByteSpan(built).subspan(56), NdpOptionType::kSourceLinkAddr, kMacB);
  expect_same(built, m);
}

TEST(WireNdp, RouterAdvertisementFlags) {
  NdpRouterAdvertisement ra;
  ra.managed = true;
  ra.other = true;
  ra.preference = 1;
  ra.router_lifetime = 0xffff;
  std::vector<std::byte> buf(16);
  ra.emit(buf);
  EXPECT_EQ(buf[5], std::byte{0xc8});
  auto again = NdpRouterAdvertisement::parse(buf);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->managed);
  EXPECT_TRUE(again->other);
  EXPECT_EQ(again->preference, 1);
  EXPECT_EQ(again->router_lifetime, 0xffff);
}

TEST(WireNdp, LinuxRedirect) {
  const Message m = message_of(test::icmpv6_frame(test::fixture("ping6_redirect"), 137));
  auto r = NdpRedirect::parse(m.icmp);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->target, addr("fe80::3"));
  EXPECT_EQ(r->destination, addr("2001:db8:20::5"));
  NdpOptionIter it(r->options, NdpRedirect::kSize);
  std::optional<ParseError> err;
  auto tll = it.next(err);
  ASSERT_TRUE(tll);
  EXPECT_EQ(link_layer_address(*tll), (MacAddress{{0x02, 0, 0, 0, 0, 0x0c}}));
  auto rh = it.next(err);
  ASSERT_TRUE(rh);
  EXPECT_EQ(rh->type, static_cast<std::uint8_t>(NdpOptionType::kRedirectedHeader));
  // 8 bytes of option header, then the redirected packet (RFC 4861 4.6.3): here the whole
  // echo request, which fits.
  auto quoted = Ipv6Header::parse(rh->bytes.subspan(8));
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->dst, r->destination);
  EXPECT_EQ(quoted->next_header, 58);
  EXPECT_EQ(rh->bytes.size(), 8u + 40u + quoted->payload_length);
  EXPECT_FALSE(it.next(err));
  EXPECT_FALSE(err);
}

TEST(WireNdp, LinuxMldv2JoinRoundTrips) {
  const auto frames = test::fixture("ndp_link_up");
  // B's report from its link-local address: four groups, each CHANGE_TO_EXCLUDE {}.
  const auto& frame = test::frame_where(frames, [](const auto& f) {
    return test::icmpv6_type_of(f) == 143 && from(f, addr("fe80::ff:fe00:b"));
  });
  const Message m = message_of(frame);
  EXPECT_EQ(m.ip.hop_limit, 1);
  EXPECT_EQ(m.ip.dst, addr("ff02::16"));
  const std::size_t n = load_be<std::uint16_t>(m.icmp, 6);
  ASSERT_EQ(m.icmp.size(), mldv2_report_size(n));
  std::vector<MldRecord> records;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t off = 8 + i * kMldv2RecordSize;
    records.push_back({static_cast<MldRecordType>(load_u8(m.icmp, off)),
                       Ipv6Address::from_bytes(ByteSpan(m.icmp).subspan(off + 4))});
    EXPECT_EQ(records.back().type, MldRecordType::kChangeToExclude);
  }
  // The solicited-node groups of its link-local address, of the subnet-router anycast
  // address a router holds (RFC 4291 2.6.1) and of its global address, then all-routers.
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].group, solicited_node(addr("fe80::ff:fe00:b")));
  EXPECT_EQ(records[1].group, solicited_node(addr("2001:db8:9::")));
  EXPECT_EQ(records[2].group, solicited_node(addr("2001:db8:9::2")));
  EXPECT_EQ(records[3].group, addr("ff02::2"));
  // The whole packet rebuilt: IPv6 header, router-alert hop-by-hop, report.
  const std::size_t len = kRouterAlertHopByHopSize + mldv2_report_size(n);
  auto pkt = test::pattern_buffer(40 + len);
  Ipv6Header ip;
  ip.payload_length = static_cast<std::uint16_t>(len);
  ip.next_header = 0;
  ip.hop_limit = 1;
  ip.src = m.ip.src;
  ip.dst = m.ip.dst;
  ip.emit(pkt);
  emit_router_alert_hop_by_hop(MutableByteSpan(pkt).subspan(40), 58);
  const auto report = MutableByteSpan(pkt).subspan(48);
  emit_mldv2_report(report, records);
  Icmpv6Header::finish_checksum(report, ip.src, ip.dst);
  EXPECT_TRUE(std::equal(pkt.begin(), pkt.end(), frame.begin() + 14, frame.end()));
  EXPECT_EQ(multicast_mac(ip.dst).to_string(), "33:33:00:00:00:16");
}

TEST(WireNdp, RefusesBadOptionsAndTruncation) {
  const Message m = message_of(test::icmpv6_frame(test::fixture("ndp_link_up"), 134));
  ASSERT_TRUE(NdpRouterAdvertisement::parse(m.icmp));
  // Cut anywhere: the fixed part is truncated, an option is cut (invalid), or the cut is
  // exactly between options and the shorter message is valid.
  const std::size_t boundaries[] = {16, 48, 56, 64};
  for (std::size_t n = 0; n < m.icmp.size(); ++n) {
    auto r = NdpRouterAdvertisement::parse(ByteSpan(m.icmp).first(n));
    const bool boundary =
        std::find(std::begin(boundaries), std::end(boundaries), n) != std::end(boundaries);
    EXPECT_EQ(bool(r), boundary) << n;
    if (!r) {
      EXPECT_EQ(r.error(), n < 16 ? ParseError::kTruncated : ParseError::kMalformed) << n;
    }
  }
  // A length of 0 anywhere invalidates the message (RFC 4861 4.6).
  for (std::size_t opt : {16u, 48u, 56u}) {
    auto bad = m.icmp;
    bad[opt + 1] = std::byte{0};
    EXPECT_EQ(NdpRouterAdvertisement::parse(bad).error(), ParseError::kMalformed) << opt;
  }
  // A length running past the message.
  auto longer = m.icmp;
  longer[56 + 1] = std::byte{2};
  EXPECT_EQ(NdpRouterAdvertisement::parse(longer).error(), ParseError::kMalformed);
  NdpOptionIter it(ByteSpan(longer).subspan(56), 56);
  std::optional<ParseError> err;
  EXPECT_FALSE(it.next(err));
  EXPECT_EQ(err, ParseError::kTruncated);
  // Code other than 0, another type.
  auto code = m.icmp;
  code[1] = std::byte{1};
  EXPECT_EQ(NdpRouterAdvertisement::parse(code).error(), ParseError::kMalformed);
  EXPECT_EQ(NdpNeighborSolicitation::parse(m.icmp).error(), ParseError::kUnsupported);
  // Prefix information of the wrong size or with an impossible prefix length.
  NdpOption pi{3, ByteSpan(m.icmp).subspan(16, 32), 16};
  ASSERT_TRUE(NdpPrefixInfo::parse(pi));
  pi.bytes = ByteSpan(m.icmp).subspan(16, 24);
  EXPECT_EQ(NdpPrefixInfo::parse(pi).error(), ParseError::kMalformed);
  auto plen = m.icmp;
  plen[16 + 2] = std::byte{129};
  EXPECT_EQ(NdpPrefixInfo::parse({3, ByteSpan(plen).subspan(16, 32), 16}).error(),
            ParseError::kMalformed);
  EXPECT_EQ(NdpMtu::parse({5, ByteSpan(m.icmp).subspan(16, 32), 16}).error(),
            ParseError::kMalformed);
  EXPECT_FALSE(link_layer_address({1, ByteSpan(m.icmp).subspan(16, 16), 16}));
}

TEST(WireNdp, RefusesMulticastTargets) {
  std::vector<std::byte> ns(24);
  NdpNeighborSolicitation{addr("ff02::1"), {}}.emit(ns);
  EXPECT_EQ(NdpNeighborSolicitation::parse(ns).error(), ParseError::kMalformed);
  NdpNeighborAdvertisement na;
  na.target = addr("ff02::1");
  na.emit(ns);
  EXPECT_EQ(NdpNeighborAdvertisement::parse(ns).error(), ParseError::kMalformed);
  for (std::size_t n = 0; n < 24; ++n)
    EXPECT_EQ(NdpNeighborAdvertisement::parse(ByteSpan(ns).first(n)).error(),
              ParseError::kTruncated)
        << n;
  // A redirect's target must be link-local unless it is the destination (RFC 4861 8.1).
  const Message m = message_of(test::icmpv6_frame(test::fixture("ping6_redirect"), 137));
  auto bad = m.icmp;
  addr("2001:db8:9::3").store(MutableByteSpan(bad).subspan(8));
  EXPECT_EQ(NdpRedirect::parse(bad).error(), ParseError::kMalformed);
  addr("2001:db8:20::5").store(MutableByteSpan(bad).subspan(8));
  EXPECT_TRUE(NdpRedirect::parse(bad));
}

}  // namespace
}  // namespace usnet::wire

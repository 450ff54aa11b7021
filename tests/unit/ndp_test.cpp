// Neighbour discovery (RFC 4861 7.1-7.3) on a stack whose only wire is the test: Linux's
// own solicitations and advertisements (tests/fixtures/ping6.pcap) go in, and what the
// stack answers is held against the frames Linux sent in its place, byte for byte.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dev/device.h"
#include "net/ndp.h"
#include "stack/stack.h"
#include "support/ipv6_frames.h"
#include "support/pcap_reader.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/ndp.h"

namespace usnet {
namespace {

using Frame = std::vector<std::byte>;

// The capture's hosts: A (2001:db8:9::1, ...:0a) solicits B (2001:db8:9::2, ...:0b).
const MacAddress kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
const MacAddress kMacB{{0x02, 0, 0, 0, 0, 0x0b}};
const MacAddress kMacC{{0x02, 0, 0, 0, 0, 0x0c}};

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

// A device whose other end is the test: it keeps every frame sent.
class CaptureDevice final : public Device {
 public:
  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return 1514; }
  std::size_t receive(Instant /*now*/, std::vector<Packet>& /*out*/, std::size_t /*max*/) override {
    return 0;
  }
  void transmit(Instant /*now*/, Packet frame) override {
    sent.emplace_back(frame.data().begin(), frame.data().end());
  }
  std::vector<Frame> sent;

 private:
  std::string name_ = "capture0";
};

// A UDP-ish datagram from `src` to `dst`: only the IPv6 header matters to the cache.
Packet datagram(const Ipv6Address& src, const Ipv6Address& dst, std::uint8_t fill = 0x42) {
  Packet p(48);
  auto b = p.append(48);
  wire::Ipv6Header h;
  h.payload_length = 8;
  h.next_header = 17;
  h.src = src;
  h.dst = dst;
  h.emit(b.first(40));
  for (std::size_t i = 40; i < 48; ++i)
    b[i] = std::byte{fill};
  return p;
}

StackConfig config() {
  StackConfig c;
  c.name = "ndp";
  c.seed = 1;
  return c;
}

// One host on the capture's link, as A or B, with its global and link-local addresses.
struct Host {
  explicit Host(const MacAddress& mac, const char* global) {
    ifindex = *stack.add_interface("eth0", dev, mac);
    Interface& ifc = *stack.interface(ifindex);
    // The stack gives every Ethernet interface its EUI-64 link-local address itself.
    EXPECT_EQ(ifc.addrs6.size(), 1u);
    EXPECT_EQ(ifc.addrs6.at(0), (Ipv6Cidr{eui64_address(addr("fe80::"), mac), 64}));
    EXPECT_TRUE(stack.add_address6(ifindex, {addr(global), 64}));
    stack.poll(now);
  }
  Interface& ifc() { return *stack.interface(ifindex); }
  // Feeds the ICMPv6 message of an Ethernet frame to ndisc_rcv, as ip6_rcv would.
  void rcv(const Frame& frame) {
    const ByteSpan ip = ByteSpan(frame).subspan(14);
    auto h = wire::Ipv6Header::parse(ip);
    ASSERT_TRUE(h);
    stack.ndp().ndisc_rcv(ifc(), Packet::copy_of(ip.subspan(40, h->payload_length)), *h);
  }
  // A datagram from our global address to `dst`, handed to neigh_output with dst as the
  // next hop.
  void send(const Ipv6Address& dst, std::uint8_t fill = 0x42) {
    stack.ndp().neigh_output(ifc(), dst, datagram(ifc().addrs6[1].address, dst, fill));
  }
  void advance(Duration d) {
    now += d;
    stack.poll(now);
  }

  CaptureDevice dev;
  Stack stack{config()};
  std::uint32_t ifindex = 0;
  Instant now = kEpoch + std::chrono::seconds(1);
};

const std::vector<Frame>& ping6() {
  static const auto frames = test::fixture("ping6");
  return frames;
}

bool from(const Frame& f, const Ipv6Address& src) {
  return f.size() >= 14 + 40 && std::memcmp(f.data() + 14 + 8, src.bytes.data(), 16) == 0;
}

const Frame& linux_frame(int type, const char* src) {
  return test::frame_where(ping6(), [&](const Frame& f) {
    return test::icmpv6_type_of(f) == type && from(f, addr(src));
  });
}

struct Decoded {
  wire::Ipv6Header ip;
  ByteSpan icmp;
};

// The IPv6 header and ICMPv6 message of a sent frame, the checksum verified.
Decoded decode(const Frame& f) {
  EXPECT_GE(f.size(), 14u + 40u);
  EXPECT_EQ(std::to_integer<int>(f[12]), 0x86);
  EXPECT_EQ(std::to_integer<int>(f[13]), 0xdd);
  const ByteSpan ip = ByteSpan(f).subspan(14);
  auto h = wire::Ipv6Header::parse(ip);
  EXPECT_TRUE(h);
  const ByteSpan icmp = ip.subspan(40, h->payload_length);
  EXPECT_TRUE(wire::Icmpv6Header::parse(icmp, h->src, h->dst)) << "bad ICMPv6 checksum";
  return {*h, icmp};
}

MacAddress eth_dst(const Frame& f) {
  MacAddress m;
  std::memcpy(m.octets.data(), f.data(), 6);
  return m;
}

// An NA from `src` about `target` in an Ethernet frame to `dst`, built with the wire
// emitters; `tlla` null for none.
Frame make_na(const Ipv6Address& src, const Ipv6Address& dst, const Ipv6Address& target,
              bool router, bool solicited, bool override, const MacAddress* tlla,
              std::uint8_t hop_limit = 255) {
  const std::size_t len = 24 + (tlla != nullptr ? 8 : 0);
  Frame f(14 + 40 + len);
  f[12] = std::byte{0x86};
  f[13] = std::byte{0xdd};
  const MutableByteSpan icmp = MutableByteSpan(f).subspan(54);
  wire::NdpNeighborAdvertisement na;
  na.router = router;
  na.solicited = solicited;
  na.override = override;
  na.target = target;
  na.emit(icmp);
  if (tlla != nullptr)
    wire::emit_link_layer_option(icmp.subspan(24), wire::NdpOptionType::kTargetLinkAddr, *tlla);
  wire::Icmpv6Header::finish_checksum(icmp, src, dst);
  wire::Ipv6Header h;
  h.payload_length = static_cast<std::uint16_t>(len);
  h.next_header = 58;
  h.hop_limit = hop_limit;
  h.src = src;
  h.dst = dst;
  h.emit(MutableByteSpan(f).subspan(14, 40));
  return f;
}

TEST(Ndp, AnswersLinuxSolicitationAsLinuxDid) {
  Host b(kMacB, "2001:db8:9::2");
  b.rcv(linux_frame(135, "2001:db8:9::1"));
  ASSERT_EQ(b.dev.sent.size(), 1u);
  const Frame& na = b.dev.sent[0];
  // Linux's B was a router (radvd ran there) and set R; usnet is a host (7.2.4: R
  // clear). Everything else is the same, checksum aside.
  Frame expected = linux_frame(136, "2001:db8:9::2");
  expected[14 + 40 + 4] &= std::byte{0x7f};
  wire::Icmpv6Header::finish_checksum(MutableByteSpan(expected).subspan(54), addr("2001:db8:9::2"),
                                      addr("2001:db8:9::1"));
  EXPECT_EQ(na, expected);

  const Decoded d = decode(na);
  EXPECT_EQ(eth_dst(na), kMacA);
  EXPECT_EQ(d.ip.hop_limit, 255);
  EXPECT_EQ(d.ip.src, addr("2001:db8:9::2"));
  EXPECT_EQ(d.ip.dst, addr("2001:db8:9::1"));
  auto parsed = wire::NdpNeighborAdvertisement::parse(d.icmp);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->router);
  EXPECT_TRUE(parsed->solicited);
  EXPECT_TRUE(parsed->override);
  EXPECT_EQ(parsed->target, addr("2001:db8:9::2"));
  wire::NdpOptionIter it(parsed->options, 24);
  std::optional<wire::ParseError> err;
  auto o = it.next(err);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, static_cast<std::uint8_t>(wire::NdpOptionType::kTargetLinkAddr));
  EXPECT_EQ(wire::link_layer_address(*o), kMacB);

  // 7.2.3: the solicitor is learned, STALE.
  const Neighbour* n = b.stack.ndp().find(b.ifindex, addr("2001:db8:9::1"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->state, NeighState::kStale);
  EXPECT_EQ(n->mac, kMacA);
  const auto& mib = b.stack.mib();
  EXPECT_EQ(mib.Icmp6InNeighborSolicits, 1u);
  EXPECT_EQ(mib.Icmp6OutNeighborAdvertisements, 1u);
  EXPECT_EQ(mib.Icmp6OutMsgs, 1u);
  EXPECT_EQ(mib.Ip6OutRequests, 1u);
  EXPECT_EQ(mib.Icmp6InErrors, 0u);
}

TEST(Ndp, AnswersDuplicateAddressProbeToAllNodes) {
  // Linux's DAD probe for its EUI-64 address (unspecified source, nonce option): if we
  // hold the address we defend it, to ff02::1 with S clear (RFC 4861 7.2.4).
  const Frame& dad = test::frame_where(ping6(), [](const Frame& f) {
    return test::icmpv6_type_of(f) == 135 && from(f, Ipv6Address::any());
  });
  Host h(kMacC, "2001:db8:9::ff:fe00:a");
  h.rcv(dad);
  ASSERT_EQ(h.dev.sent.size(), 1u);
  const Decoded d = decode(h.dev.sent[0]);
  EXPECT_EQ(eth_dst(h.dev.sent[0]), (MacAddress{{0x33, 0x33, 0, 0, 0, 1}}));
  EXPECT_EQ(d.ip.dst, addr("ff02::1"));
  EXPECT_EQ(d.ip.src, addr("2001:db8:9::ff:fe00:a"));
  EXPECT_EQ(d.ip.hop_limit, 255);
  auto na = wire::NdpNeighborAdvertisement::parse(d.icmp);
  ASSERT_TRUE(na);
  EXPECT_FALSE(na->solicited);
  EXPECT_TRUE(na->override);
  EXPECT_TRUE(h.stack.ndp().entries().empty());  // nothing learned from ::
}

TEST(Ndp, DropsInvalidSolicitations) {
  Host b(kMacB, "2001:db8:9::2");
  // 7.1.1: a hop limit below 255 means it was forwarded.
  Frame forwarded = linux_frame(135, "2001:db8:9::1");
  forwarded[14 + 7] = std::byte{254};
  b.rcv(forwarded);
  EXPECT_EQ(b.stack.mib().Icmp6InErrors, 1u);
  // A valid one for someone else's address: ignored, not an error, nothing learned.
  Host c(kMacC, "2001:db8:9::3");
  c.rcv(linux_frame(135, "2001:db8:9::1"));
  EXPECT_TRUE(c.dev.sent.empty());
  EXPECT_TRUE(c.stack.ndp().entries().empty());
  EXPECT_EQ(c.stack.mib().Icmp6InErrors, 0u);
  EXPECT_TRUE(b.dev.sent.empty());
  EXPECT_EQ(b.stack.mib().Icmp6InNeighborSolicits, 1u);
}

TEST(Ndp, ResolvesAsLinuxDoesAndReleasesTheQueue) {
  Host a(kMacA, "2001:db8:9::1");
  a.send(addr("2001:db8:9::2"));
  ASSERT_EQ(a.dev.sent.size(), 1u);
  // The same solicitation Linux's A sent: to the solicited-node group, from the queued
  // packet's source, with our link address.
  EXPECT_EQ(a.dev.sent[0], linux_frame(135, "2001:db8:9::1"));
  EXPECT_EQ(eth_dst(a.dev.sent[0]), (MacAddress{{0x33, 0x33, 0xff, 0, 0, 2}}));
  const Neighbour* n = a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->state, NeighState::kIncomplete);
  EXPECT_EQ(n->queue.size(), 1u);
  EXPECT_EQ(a.stack.mib().Icmp6OutNeighborSolicits, 1u);

  // Linux's B answers (R, S, O): REACHABLE, and the datagram goes to B's MAC.
  a.rcv(linux_frame(136, "2001:db8:9::2"));
  ASSERT_EQ(a.dev.sent.size(), 2u);
  const Frame& out = a.dev.sent[1];
  EXPECT_EQ(eth_dst(out), kMacB);
  const Packet want = datagram(addr("2001:db8:9::1"), addr("2001:db8:9::2"));
  ASSERT_EQ(out.size(), 14 + want.size());
  EXPECT_EQ(std::memcmp(out.data() + 14, want.data().data(), want.size()), 0);
  n = a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->state, NeighState::kReachable);
  EXPECT_EQ(n->mac, kMacB);
  EXPECT_TRUE(n->is_router);
  EXPECT_TRUE(n->queue.empty());
  EXPECT_EQ(a.stack.mib().Icmp6InNeighborAdvertisements, 1u);
}

TEST(Ndp, LinkLocalTargetIsSolicitedFromTheLinkLocalAddress) {
  Host a(kMacA, "2001:db8:9::1");
  const Ipv6Address b_ll = eui64_address(addr("fe80::"), kMacB);
  // The packet's source is not ours (a forwarded one, say): pick by scope.
  a.stack.ndp().neigh_output(a.ifc(), b_ll, datagram(addr("2001:db8:77::1"), b_ll));
  ASSERT_EQ(a.dev.sent.size(), 1u);
  const Decoded d = decode(a.dev.sent[0]);
  EXPECT_EQ(d.ip.src, eui64_address(addr("fe80::"), kMacA));
  EXPECT_EQ(d.ip.dst, wire::solicited_node(b_ll));
}

TEST(Ndp, QueueIsBounded) {
  Host a(kMacA, "2001:db8:9::1");
  NeighConfig cfg;
  cfg.queue_len = 3;
  Ndp ndp(a.stack, cfg);
  for (int i = 0; i < 5; ++i)
    ndp.neigh_output(
        a.ifc(), addr("2001:db8:9::2"),
        datagram(addr("2001:db8:9::1"), addr("2001:db8:9::2"), static_cast<std::uint8_t>(i)));
  const Neighbour* n = ndp.find(a.ifindex, addr("2001:db8:9::2"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->queue.size(), 3u);
  EXPECT_EQ(a.stack.mib().UsnetNdpQueueDrops, 2u);
  EXPECT_EQ(a.dev.sent.size(), 1u);  // one solicitation, not one per packet
  // Drop-oldest: the three newest are released, in order.
  const MacAddress tlla = kMacB;
  a.dev.sent.clear();
  const Frame na = make_na(addr("2001:db8:9::2"), addr("2001:db8:9::1"), addr("2001:db8:9::2"),
                           false, true, true, &tlla);
  const ByteSpan ip = ByteSpan(na).subspan(14);
  ndp.ndisc_rcv(a.ifc(), Packet::copy_of(ip.subspan(40)), *wire::Ipv6Header::parse(ip));
  ASSERT_EQ(a.dev.sent.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(std::to_integer<int>(a.dev.sent[static_cast<std::size_t>(i)].back()), i + 2);
}

TEST(Ndp, ThreeUnansweredSolicitationsThenTheQueueIsDropped) {
  Host a(kMacA, "2001:db8:9::1");
  a.send(addr("2001:db8:9::2"));
  for (int i = 0; i < 4; ++i)
    a.advance(std::chrono::seconds(1));
  // RFC 4861 10: MAX_MULTICAST_SOLICIT 3, RETRANS_TIMER 1 s.
  ASSERT_EQ(a.dev.sent.size(), 3u);
  for (const Frame& f : a.dev.sent)
    EXPECT_EQ(eth_dst(f), (MacAddress{{0x33, 0x33, 0xff, 0, 0, 2}}));
  EXPECT_EQ(a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2")), nullptr);
  EXPECT_EQ(a.stack.mib().UsnetNdpResolveFails, 1u);
  EXPECT_EQ(a.stack.mib().UsnetNdpQueueDrops, 1u);
  EXPECT_EQ(a.stack.mib().Icmp6OutNeighborSolicits, 3u);
  EXPECT_EQ(a.stack.next_deadline(), kNever);
}

// Gets a.ifc a REACHABLE entry for B at kMacB.
void make_reachable(Host& a) {
  a.send(addr("2001:db8:9::2"));
  a.rcv(make_na(addr("2001:db8:9::2"), addr("2001:db8:9::1"), addr("2001:db8:9::2"), false, true,
                true, &kMacB));
  ASSERT_EQ(a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2"))->state, NeighState::kReachable);
  a.dev.sent.clear();
}

TEST(Ndp, AdvertisementRulesOfSection7_2_5) {
  Host a(kMacA, "2001:db8:9::1");
  make_reachable(a);
  const Ipv6Address b = addr("2001:db8:9::2");
  const Ipv6Address all = addr("ff02::1");
  const auto* n = a.stack.ndp().find(a.ifindex, b);
  // O clear with another address: the entry keeps its address but goes STALE.
  a.rcv(make_na(b, all, b, false, false, false, &kMacC));
  EXPECT_EQ(n->state, NeighState::kStale);
  EXPECT_EQ(n->mac, kMacB);
  // O set, S clear, another address: the address changes, STALE.
  a.rcv(make_na(b, all, b, false, false, true, &kMacC));
  EXPECT_EQ(n->state, NeighState::kStale);
  EXPECT_EQ(n->mac, kMacC);
  // S set (unicast), no option: confirmed.
  a.rcv(make_na(b, addr("2001:db8:9::1"), b, false, true, false, nullptr));
  EXPECT_EQ(n->state, NeighState::kReachable);
  EXPECT_EQ(n->mac, kMacC);
  // Invalid: solicited to a multicast group, or forwarded.
  a.rcv(make_na(b, all, b, false, true, true, &kMacB));
  a.rcv(make_na(b, addr("2001:db8:9::1"), b, false, true, true, &kMacB, 64));
  EXPECT_EQ(n->mac, kMacC);
  EXPECT_EQ(a.stack.mib().Icmp6InErrors, 2u);
  // Unsolicited, for an address we have no entry for: nothing is created.
  a.rcv(make_na(addr("2001:db8:9::5"), all, addr("2001:db8:9::5"), false, false, true, &kMacB));
  EXPECT_EQ(a.stack.ndp().find(a.ifindex, addr("2001:db8:9::5")), nullptr);
  EXPECT_TRUE(a.dev.sent.empty());
}

TEST(Ndp, StaleEntryInUseIsProbedByUnicast) {
  Host a(kMacA, "2001:db8:9::1");
  make_reachable(a);
  a.advance(std::chrono::seconds(31));  // past reachable_time
  const auto* n = a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2"));
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->state, NeighState::kStale);
  a.send(addr("2001:db8:9::2"));
  // The datagram goes to the cached address at once, then a unicast probe (7.3.3).
  ASSERT_EQ(a.dev.sent.size(), 2u);
  EXPECT_EQ(eth_dst(a.dev.sent[0]), kMacB);
  EXPECT_EQ(eth_dst(a.dev.sent[1]), kMacB);
  const Decoded d = decode(a.dev.sent[1]);
  EXPECT_EQ(d.ip.dst, addr("2001:db8:9::2"));
  EXPECT_EQ(d.ip.hop_limit, 255);
  ASSERT_TRUE(wire::NdpNeighborSolicitation::parse(d.icmp));
  EXPECT_EQ(n->state, NeighState::kProbe);
  // No answer: two more unicast probes, then the entry goes.
  for (int i = 0; i < 3; ++i)
    a.advance(std::chrono::seconds(1));
  EXPECT_EQ(a.dev.sent.size(), 4u);
  EXPECT_EQ(eth_dst(a.dev.sent[3]), kMacB);
  EXPECT_EQ(a.stack.ndp().find(a.ifindex, addr("2001:db8:9::2")), nullptr);
  EXPECT_EQ(a.stack.mib().UsnetNdpResolveFails, 1u);
}

TEST(Ndp, MulticastNextHopNeedsNoResolution) {
  Host a(kMacA, "2001:db8:9::1");
  a.send(addr("ff02::1"));
  ASSERT_EQ(a.dev.sent.size(), 1u);
  EXPECT_EQ(eth_dst(a.dev.sent[0]), (MacAddress{{0x33, 0x33, 0, 0, 0, 1}}));
  EXPECT_TRUE(a.stack.ndp().entries().empty());
}

}  // namespace
}  // namespace usnet

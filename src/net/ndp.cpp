#include "net/ndp.h"

#include <fmt/format.h>

#include "link/ethernet.h"
#include "stack/stack.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"
#include "wire/ndp.h"

namespace usnet {
namespace {

constexpr std::uint8_t kIcmpv6NextHeader = 58;
// RFC 4861 7.1: a hop limit of 255 proves the message was not forwarded by a router, so
// it came from the link itself.
constexpr std::uint8_t kNdpHopLimit = 255;
constexpr auto kEtherTypeIpv6 = static_cast<std::uint16_t>(wire::EtherType::kIpv6);

// ff02::1 (RFC 4291 2.7.1).
constexpr Ipv6Address all_nodes() {
  Ipv6Address a;
  a.bytes[0] = 0xff;
  a.bytes[1] = 0x02;
  a.bytes[15] = 1;
  return a;
}

// ff02::1:ffXX:XXXX: the group keeps the low 24 bits, so an address is a solicited-node
// group exactly when it is its own.
bool is_solicited_node(const Ipv6Address& a) {
  return wire::solicited_node(a) == a;
}

// A source or target link-layer address option (RFC 4861 4.6.1) of a message whose
// options wire::Ndp*::parse has already walked.
struct LinkAddrOption {
  bool present = false;
  bool valid = true;  // false: a length other than Ethernet's (RFC 2464 8)
  MacAddress mac;
};

LinkAddrOption find_link_addr(ByteSpan options, std::size_t base, wire::NdpOptionType type) {
  LinkAddrOption out;
  wire::NdpOptionIter it(options, base);
  std::optional<wire::ParseError> err;
  while (auto o = it.next(err)) {
    if (o->type != static_cast<std::uint8_t>(type)) continue;
    // Like Linux's ndisc_parse_options, the first of repeated options counts.
    const auto mac = wire::link_layer_address(*o);
    out.present = true;
    out.valid = mac.has_value();
    if (mac) out.mac = *mac;
    break;
  }
  return out;
}

}  // namespace

Ndp::Ndp(Stack& stack, NeighConfig config)
    : stack_(stack),
      table_(stack, *this,
             NeighTableParams{"ndisc", kEtherTypeIpv6, &MibCounters::UsnetNdpResolveFails,
                              &MibCounters::UsnetNdpQueueDrops},
             config) {}

void Ndp::neigh_output(Interface& ifc, const Ipv6Address& next_hop, Packet pkt) {
  if (next_hop.is_multicast()) {
    // RFC 4861 7.2.1: multicast addresses are never resolved; RFC 2464 7 maps them.
    eth_output(stack_.link(), ifc, wire::multicast_mac(next_hop), kEtherTypeIpv6, std::move(pkt));
    return;
  }
  table_.output(ifc, IpAddress(next_hop), std::move(pkt));
}

void Ndp::drop(const char* why) {
  // Linux only logs invalid ND messages (ND_PRINTK); usnet counts them as ICMPv6 input
  // errors so that every drop shows in a counter.
  stack_.mib().Icmp6InErrors++;
  stack_.tracer().step(fmt::format("drop: {}", why));
}

void Ndp::ndisc_rcv(Interface& ifc, Packet pkt, const wire::Ipv6Header& ip) {
  stack_.tracer().step("ndisc_rcv");
  const ByteSpan msg = pkt.data();
  if (msg.empty()) return drop("empty ND message");
  switch (static_cast<wire::Icmpv6Type>(msg[0])) {
    case wire::Icmpv6Type::kNeighborSolicitation:
      recv_ns(ifc, msg, ip);
      return;
    case wire::Icmpv6Type::kNeighborAdvertisement:
      recv_na(ifc, msg, ip);
      return;
    default:
      stack_.tracer().step("ignore: not NS/NA");
      return;
  }
}

void Ndp::recv_ns(Interface& ifc, ByteSpan msg, const wire::Ipv6Header& ip) {
  // Counted before validation, as Linux's per-type ICMPv6 input counters are.
  stack_.mib().Icmp6InNeighborSolicits++;
  // 7.1.1 validation. parse checks the code, the length (>= 24), the option lengths and
  // that the target is not multicast.
  if (ip.hop_limit != kNdpHopLimit) return drop("NS hop limit not 255");
  auto ns = wire::NdpNeighborSolicitation::parse(msg);
  if (!ns) return drop("malformed NS");
  if (ip.src.is_multicast()) return drop("NS from a multicast source");
  const auto slla = find_link_addr(ns->options, wire::NdpNeighborSolicitation::kSize,
                                   wire::NdpOptionType::kSourceLinkAddr);
  if (!slla.valid) return drop("NS source link-layer address of a bad length");
  // An unspecified source is duplicate address detection (RFC 4862 5.4.2): it must go to
  // a solicited-node group and cannot carry a link-layer address to answer to.
  const bool dad = ip.src.is_any();
  if (dad && (!is_solicited_node(ip.dst) || slla.present)) return drop("malformed DAD NS");

  // 7.2.3: a solicitation for an address not ours is silently discarded.
  if (!ifc.has_address(ns->target)) {
    stack_.tracer().step("ignore: NS target not ours");
    return;
  }

  // 7.2.3: learn the solicitor's address, STALE until something confirms it. An entry it
  // creates counts as used now, so it lives gc_stale_time even if we never send to it.
  Neighbour* n = nullptr;
  if (!dad) {
    const IpAddress key(ip.src);
    n = table_.lookup(ifc.index, key);
    if (slla.present) {
      if (n == nullptr) {
        n = table_.create(ifc, key);
        if (n != nullptr) n->used = stack_.now();
      }
      if (n != nullptr && (n->state == NeighState::kIncomplete || n->mac != slla.mac)) {
        n->mac = slla.mac;
        table_.set_stale(*n);
        table_.flush_queue(*n);
        stack_.tracer().step("neigh_update");
      }
    }
  }

  // 7.2.4: answer from the target address. To a DAD probe, to all nodes with S clear;
  // otherwise to the solicitor, at the address its option gave or, without one (a
  // unicast NUD probe), at the one we know, resolving it if we know none.
  stack_.tracer().step("ndisc_send_na");
  if (dad) {
    const Ipv6Address dst = all_nodes();
    const MacAddress eth = wire::multicast_mac(dst);
    send_na(ifc, ns->target, dst, &eth, false);
    return;
  }
  const bool known = n != nullptr && n->state != NeighState::kIncomplete;
  send_na(ifc, ns->target, ip.src, known ? &n->mac : nullptr, true);
}

void Ndp::recv_na(Interface& ifc, ByteSpan msg, const wire::Ipv6Header& ip) {
  stack_.mib().Icmp6InNeighborAdvertisements++;
  // 7.1.2 validation; parse checks the code, the length, the options and the target.
  if (ip.hop_limit != kNdpHopLimit) return drop("NA hop limit not 255");
  auto na = wire::NdpNeighborAdvertisement::parse(msg);
  if (!na) return drop("malformed NA");
  if (ip.dst.is_multicast() && na->solicited) return drop("solicited NA to a multicast group");
  const auto tlla = find_link_addr(na->options, wire::NdpNeighborAdvertisement::kSize,
                                   wire::NdpOptionType::kTargetLinkAddr);
  if (!tlla.valid) return drop("NA target link-layer address of a bad length");

  if (ifc.has_address(na->target)) {
    // RFC 4862 5.4.4: another node claims one of our addresses. usnet has no DAD yet, so
    // it keeps the address and says so.
    stack_.tracer().note(fmt::format("ndisc: NA for our address {} from {}", na->target.to_string(),
                                     tlla.present ? tlla.mac.to_string() : "?"));
    return;
  }

  // 7.2.5: no entry, nothing to do (an unsolicited NA creates none).
  Neighbour* n = table_.lookup(ifc.index, IpAddress(na->target));
  if (n == nullptr) {
    stack_.tracer().step("ignore: NA for no entry");
    return;
  }
  stack_.tracer().step("neigh_update");
  if (n->state == NeighState::kIncomplete) {
    if (!tlla.present) return;  // nothing to resolve it with
    n->mac = tlla.mac;
    n->is_router = na->router;
    if (na->solicited) {
      table_.set_reachable(*n);
    } else {
      table_.set_stale(*n);
    }
    table_.flush_queue(*n);
    return;
  }
  const bool differs = tlla.present && tlla.mac != n->mac;
  if (!na->override && differs) {
    // A different address without Override: keep ours, but no longer trust it.
    if (n->state == NeighState::kReachable) table_.set_stale(*n);
    return;
  }
  if (tlla.present) n->mac = tlla.mac;
  if (na->solicited) {
    table_.set_reachable(*n);
  } else if (differs) {
    table_.set_stale(*n);
  }
  // A router that turns host would also leave the default router list (7.2.5); a host
  // without router discovery keeps none.
  n->is_router = na->router;
}

std::optional<Ipv6Address> Ndp::solicit_source(const Interface& ifc, const Ipv6Address& target,
                                               const Neighbour& n) const {
  // 7.2.2: the source of the packet that prompted the solicitation, when it is ours (Linux
  // takes the newest queued one).
  if (!n.queue.empty() && n.queue.back().size() >= wire::Ipv6Header::kSize) {
    const auto src = Ipv6Address::from_bytes(n.queue.back().data().subspan(8));
    if (ifc.has_address(src)) return src;
  }
  // Otherwise an address of the target's scope, one on its prefix first: the target must
  // be able to answer it on this link.
  const Ipv6Address* same_scope = nullptr;
  for (const auto& c : ifc.addrs6) {
    if (c.address.is_link_local() != target.is_link_local()) continue;
    if (c.contains(target)) return c.address;
    if (same_scope == nullptr) same_scope = &c.address;
  }
  if (same_scope != nullptr) return *same_scope;
  if (ifc.addrs6.empty()) return std::nullopt;
  return ifc.addrs6.front().address;
}

void Ndp::solicit(Interface& ifc, const Neighbour& n, const MacAddress* unicast) {
  const Ipv6Address target = n.ip.v6();
  const auto src = solicit_source(ifc, target, n);
  if (!src) {
    stack_.tracer().step("ndisc: no IPv6 address to solicit from");
    return;
  }
  stack_.tracer().step("ndisc_send_ns");
  // 7.2.2: multicast to the target's solicited-node group while resolving (INCOMPLETE),
  // unicast to the cached address when probing reachability (PROBE, 7.3.3).
  const Ipv6Address dst = unicast != nullptr ? target : wire::solicited_node(target);
  const MacAddress eth = unicast != nullptr ? *unicast : wire::multicast_mac(dst);
  // 4.3: the source link-layer address is included, as it must be in multicast
  // solicitations and should be in unicast ones.
  constexpr std::size_t size = wire::NdpNeighborSolicitation::kSize + wire::kLinkAddrOptionSize;
  Packet body(size);
  const MutableByteSpan b = body.append(size);
  wire::NdpNeighborSolicitation{target, {}}.emit(b);
  wire::emit_link_layer_option(b.subspan(wire::NdpNeighborSolicitation::kSize),
                               wire::NdpOptionType::kSourceLinkAddr, ifc.mac);
  stack_.mib().Icmp6OutNeighborSolicits++;
  send_ndisc(ifc, &eth, *src, dst, std::move(body));
}

void Ndp::send_na(Interface& ifc, const Ipv6Address& target, const Ipv6Address& dst,
                  const MacAddress* eth_dst, bool solicited) {
  // 7.2.4: R clear (a host), S when answering a solicitor, O set since the target is our
  // own unicast address (neither anycast nor proxied); the target link-layer address is
  // included, as it must be for a multicast solicitation and may be for a unicast one.
  constexpr std::size_t size = wire::NdpNeighborAdvertisement::kSize + wire::kLinkAddrOptionSize;
  Packet body(size);
  const MutableByteSpan b = body.append(size);
  wire::NdpNeighborAdvertisement na;
  na.solicited = solicited;
  na.override = true;
  na.target = target;
  na.emit(b);
  wire::emit_link_layer_option(b.subspan(wire::NdpNeighborAdvertisement::kSize),
                               wire::NdpOptionType::kTargetLinkAddr, ifc.mac);
  stack_.mib().Icmp6OutNeighborAdvertisements++;
  send_ndisc(ifc, eth_dst, target, dst, std::move(body));
}

void Ndp::send_ndisc(Interface& ifc, const MacAddress* eth_dst, const Ipv6Address& src,
                     const Ipv6Address& dst, Packet body) {
  wire::Icmpv6Header::finish_checksum(body.data(), src, dst);
  wire::Ipv6Header h;
  h.payload_length = static_cast<std::uint16_t>(body.size());
  h.next_header = kIcmpv6NextHeader;
  h.hop_limit = kNdpHopLimit;
  h.src = src;
  h.dst = dst;
  h.emit(body.push(wire::Ipv6Header::kSize));
  // The counters Linux's ndisc_send_skb and ip6_finish_output2 update.
  auto& mib = stack_.mib();
  mib.Icmp6OutMsgs++;
  mib.Ip6OutRequests++;
  mib.Ip6OutOctets += body.size();
  if (dst.is_multicast()) mib.Ip6OutMcastPkts++;
  if (eth_dst != nullptr) {
    eth_output(stack_.link(), ifc, *eth_dst, kEtherTypeIpv6, std::move(body));
  } else {
    neigh_output(ifc, dst, std::move(body));
  }
}

void Ndp::error_report(std::vector<Packet> /*dropped*/) {
  // RFC 4861 7.2.2: each packet that waited for a neighbour that never answered should
  // bring its sender an ICMPv6 destination unreachable, code 3 (address unreachable), as
  // Linux's ndisc_error_report does. That message is the ICMPv6 layer's (net/icmpv6.h),
  // which is not wired in yet: until it is, the packets are only dropped (the table has
  // counted them in UsnetNdpQueueDrops and the failure in UsnetNdpResolveFails).
  // HOOK(issue 11): call the ICMPv6 error sender here for each dropped packet.
}

}  // namespace usnet

#include "net/ipv4.h"

#include <algorithm>

#include <fmt/format.h>

#include "link/ethernet.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/ip_options.h"
#include "net/route.h"
#include "stack/stack.h"

namespace usnet {
namespace {

// Linux ip_route_input_slow and fib_validate_source: a source address no other host can
// send from. Multicast and the limited broadcast never; 0.0.0.0/8 only to the limited
// broadcast (a DHCP client has no address yet); 127/8 only on the loopback device
// (route_localnet is off); nor an address of ours or a broadcast address of one of our
// subnets (their routes are RTN_LOCAL and RTN_BROADCAST, not unicast). What our own
// loopback device delivers comes from us and is exempt.
bool martian_source(const Stack& stack, const Interface& ifc, const wire::Ipv4Header& ip) {
  const Ipv4Address src = ip.src;
  if (src.is_multicast() || src.is_broadcast()) return true;
  if (ifc.index == Stack::kLoopbackIndex) return false;
  if ((src.value >> 24) == 0) return !ip.dst.is_broadcast();
  return src.is_loopback() || stack.is_local_address(src) || stack.is_broadcast_address(src);
}

}  // namespace

Ipv4::Ipv4(Stack& stack) : stack_(stack), id_(static_cast<std::uint16_t>(stack.rng().next())) {}

void Ipv4::ip_rcv(Interface& ifc, Packet pkt) {
  MibCounters& mib = stack_.mib();
  Tracer& tr = stack_.tracer();
  tr.step("ip_rcv");
  mib.IpInReceives++;

  // RFC 1122 3.2.1.1-3.2.1.2: version, header length, total length and checksum.
  auto parsed = wire::Ipv4Header::parse(pkt.data());
  if (!parsed) {
    switch (parsed.error()) {
      case wire::ParseError::kTruncated:
        mib.IpExtInTruncatedPkts++;
        break;
      case wire::ParseError::kBadChecksum:
        mib.IpExtInCsumErrors++;
        mib.IpInHdrErrors++;
        break;
      default:
        mib.IpInHdrErrors++;
        break;
    }
    tr.step("drop: bad header");
    return;
  }
  const wire::Ipv4Header& ip = *parsed;
  pkt.truncate(ip.total_length);  // Ethernet pads short frames (RFC 894)
  mib.IpExtInOctets += ip.total_length;
  // Linux ip_rcv_core: IpExtIn{NoECT,ECT1,ECT0,CE}Pkts by the ECN field (RFC 3168 5).
  switch (ip.tos & 0x03) {
    case 0:
      mib.IpExtInNoECTPkts++;
      break;
    case 1:
      mib.IpExtInECT1Pkts++;
      break;
    case 2:
      mib.IpExtInECT0Pkts++;
      break;
    default:
      mib.IpExtInCEPkts++;
      break;
  }

  // RFC 1122 3.2.1.3: a host silently discards a datagram whose source is not a single
  // other host (a martian); no protocol sees it, so no SYN from one is ever answered.
  if (martian_source(stack_, ifc, ip)) {
    mib.IpInAddrErrors++;
    mib.UsnetIpInMartianSrc++;
    tr.step("drop: martian source");
    return;
  }
  // 127/8 is only ever valid on the loopback interface (RFC 1122 3.2.1.3(g)).
  if (ifc.index != Stack::kLoopbackIndex && ip.dst.is_loopback()) {
    mib.IpInAddrErrors++;
    tr.step("drop: martian destination");
    return;
  }
  const bool to_us = stack_.is_local_address(ip.dst);
  const bool bcast =
      !to_us && (ifc.is_broadcast_for(ip.dst) || stack_.is_broadcast_address(ip.dst));
  if (!to_us && !bcast) {
    // Not ours and we do not forward (RFC 1122 3.3.4.2 silently discard). Multicast groups
    // are not joined yet, so multicast lands here too.
    mib.IpInAddrErrors++;
    tr.step("drop: not for us");
    return;
  }
  if (bcast) mib.IpExtInBcastPkts++;

  // Linux ip_rcv_options: options are judged once the datagram is known to be ours.
  if (ip.header_length > wire::Ipv4Header::kMinSize) {
    const IpOptionsVerdict v = ip_options_check(pkt.data().first(ip.header_length));
    if (v.kind == IpOptionsVerdict::Kind::kMalformed) {
      mib.IpInHdrErrors++;
      tr.step("drop: bad ip options");
      stack_.icmp().icmp_send(pkt.data(), ip,
                              static_cast<std::uint8_t>(wire::IcmpType::kParameterProblem), 0,
                              v.pointer);
      return;
    }
    if (v.kind == IpOptionsVerdict::Kind::kSourceRoute) {
      mib.UsnetIpInSourceRoutes++;
      tr.step("drop: source route");
      return;
    }
  }

  if (ip.is_fragment()) {
    mib.IpReasmReqds++;
    tr.step("ip_defrag");
    auto r = reasm_.ip_defrag(std::move(pkt), ip, stack_.now());
    mib.IpReasmFails += r.failed_datagrams;
    mib.UsnetIpReasmOverlaps += r.overlaps;
    mib.UsnetIpReasmMemoryDrops += r.memory_evictions;
    if (r.outcome != DefragOutcome::kComplete) {
      if (r.outcome == DefragOutcome::kDropped) tr.step("drop");
      return;
    }
    mib.IpReasmOKs++;
    const wire::Ipv4Header whole = r.datagram->header;
    ip_local_deliver(ifc, whole, std::move(r.datagram->payload));
    return;
  }
  pkt.pull(ip.header_length);
  ip_local_deliver(ifc, ip, std::move(pkt));
}

void Ipv4::ip_local_deliver(Interface& ifc, const wire::Ipv4Header& ip, Packet payload) {
  stack_.tracer().step("ip_local_deliver");
  if (ip.protocol == static_cast<std::uint8_t>(wire::IpProtocol::kIcmp)) {
    stack_.mib().IpInDelivers++;
    stack_.icmp().icmp_rcv(ifc, std::move(payload), ip);
    return;
  }
  if (TransportProtocol* t = protocol(ip.protocol)) {
    stack_.mib().IpInDelivers++;
    NetRcvInfo info;
    info.net = this;
    info.src = ip.src;
    info.dst = ip.dst;
    info.protocol = ip.protocol;
    info.tos = ip.tos;
    info.ttl = ip.ttl;
    info.header_length = ip.header_length;
    info.ifindex = ifc.index;
    t->rcv(std::move(payload), info);
    return;
  }
  stack_.mib().IpInUnknownProtos++;
  stack_.tracer().step("drop: unknown protocol");
  // RFC 1122 3.2.2.1: protocol unreachable (icmp_send refuses it for broadcasts).
  payload.unpull(ip.header_length);
  stack_.icmp().icmp_send(payload.data(), ip,
                          static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable),
                          static_cast<std::uint8_t>(wire::UnreachCode::kProtocol), 0);
}

bool Ipv4::is_local_address(const IpAddress& a) const noexcept {
  return a.is_v4() && stack_.is_local_address(a.v4());
}

void Ipv4::port_unreachable(ByteSpan datagram, const NetRcvInfo& info) {
  // The header as delivered: reassembled, so never a fragment (icmp_send's checks).
  wire::Ipv4Header ip;
  ip.src = info.src.v4();
  ip.dst = info.dst.v4();
  ip.protocol = info.protocol;
  ip.tos = info.tos;
  ip.ttl = info.ttl;
  ip.header_length = static_cast<std::uint8_t>(info.header_length);
  stack_.icmp().icmp_send(datagram, ip, static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable),
                          static_cast<std::uint8_t>(wire::UnreachCode::kPort), 0);
}

Result<OutputRoute> Ipv4::route_output(const IpAddress& dst_addr, const IpAddress& src_addr,
                                       std::uint32_t oif) {
  if (!dst_addr.is_v4() || !src_addr.is_v4()) return Error::kAddressFamilyNotSupported;
  const Ipv4Address dst = dst_addr.v4();
  const Ipv4Address src = src_addr.v4();
  OutputRoute rt;
  if (!src.is_any() && !stack_.is_local_address(src)) return Error::kAddressNotAvailable;
  if (stack_.is_local_address(dst) || dst.is_loopback()) {
    rt.ifc = stack_.interface(1);  // lo
    rt.local = true;
    rt.next_hop = dst;
    rt.src = src.is_any() ? dst : src;
    if (dst.is_loopback() && src.is_any()) rt.src = Ipv4Address::from_octets(127, 0, 0, 1);
    return rt;
  }
  if (dst.is_broadcast()) {
    // 255.255.255.255 leaves through the bound/chosen interface, else the first with an
    // address (Linux uses the route to the source's subnet).
    Interface* chosen = oif != 0 ? stack_.interface(oif) : nullptr;
    if (chosen == nullptr) {
      for (const auto& ifc : stack_.interfaces()) {
        if (ifc->index == 1 || ifc->addrs.empty()) continue;
        if (src.is_any() || ifc->has_address(src)) {
          chosen = ifc.get();
          break;
        }
      }
    }
    if (chosen == nullptr || chosen->addrs.empty()) return Error::kNetworkUnreachable;
    rt.ifc = chosen;
    rt.broadcast = true;
    rt.next_hop = dst;
    rt.src = src.is_any() ? chosen->addrs.front().address : src;
    return rt;
  }
  auto r = stack_.routes().lookup(dst);
  if (!r || (oif != 0 && r->ifindex != oif)) {
    stack_.mib().IpOutNoRoutes++;
    return Error::kNetworkUnreachable;
  }
  rt.ifc = stack_.interface(r->ifindex);
  if (rt.ifc == nullptr) return Error::kNetworkUnreachable;
  rt.next_hop = r->next_hop;
  rt.broadcast = rt.ifc->is_broadcast_for(dst);
  if (!src.is_any()) {
    rt.src = src;
  } else if (r->prefsrc) {
    rt.src = *r->prefsrc;
  } else {
    auto s = rt.ifc->source_for(r->next_hop);
    if (!s) return Error::kAddressNotAvailable;
    rt.src = *s;
  }
  return rt;
}

void Ipv4::ip_finish_output(const OutputRoute& rt, Ipv4Address dst, Packet pkt) {
  stack_.mib().IpExtOutOctets += pkt.size();
  if (rt.local) {
    stack_.tracer().step("loopback_xmit");
    stack_.loopback_xmit(std::move(pkt));
    return;
  }
  const auto ipv4_type = static_cast<std::uint16_t>(wire::EtherType::kIpv4);
  if (rt.broadcast) {
    stack_.mib().IpExtOutBcastPkts++;
    eth_output(stack_.link(), *rt.ifc, MacAddress::broadcast(), ipv4_type, std::move(pkt));
  } else if (dst.is_multicast()) {
    eth_output(stack_.link(), *rt.ifc, ipv4_multicast_mac(dst), ipv4_type, std::move(pkt));
  } else {
    stack_.arp().neigh_output(*rt.ifc, rt.next_hop.v4(), std::move(pkt));
  }
}

Status Ipv4::ip_output(Packet pkt, const NetOutParams& p) {
  MibCounters& mib = stack_.mib();
  stack_.tracer().step("ip_output");
  auto rt = route_output(p.dst, p.src, p.oif);
  if (!rt) {
    mib.IpOutRequests++;
    return rt.error();
  }
  const std::size_t total = pkt.size() + wire::Ipv4Header::kMinSize;
  if (total > 65535) return Error::kMessageTooLong;
  mib.IpOutRequests++;

  wire::Ipv4Header h;
  h.tos = p.tos;
  h.ttl = p.ttl;
  h.protocol = p.protocol;
  h.src = rt->src.v4();
  h.dst = p.dst.v4();
  h.id = next_id();
  const std::size_t mtu = path_mtu(*rt, p.dst, stack_.now());
  if (total <= mtu) {
    h.total_length = static_cast<std::uint16_t>(total);
    h.dont_fragment = p.pmtu != PmtuMode::kDont;
    h.emit(pkt.push(wire::Ipv4Header::kMinSize));
    ip_finish_output(*rt, h.dst, std::move(pkt));
    return {};
  }
  if (p.pmtu == PmtuMode::kDo) {
    mib.IpFragFails++;
    return Error::kMessageTooLong;
  }
  return ip_fragment(*rt, h, std::move(pkt), mtu);
}

Status Ipv4::ip_fragment(const OutputRoute& rt, const wire::Ipv4Header& base, Packet payload,
                         std::size_t mtu) {
  // RFC 791 3.2 "An Example Fragmentation Procedure": each fragment but the last carries a
  // multiple of 8 bytes, the most that fits in the MTU.
  stack_.tracer().step("ip_fragment");
  const std::size_t max_data = (mtu - wire::Ipv4Header::kMinSize) & ~std::size_t{7};
  if (max_data == 0) {
    stack_.mib().IpFragFails++;
    return Error::kMessageTooLong;
  }
  const ByteSpan all = payload.data();
  for (std::size_t off = 0; off < all.size(); off += max_data) {
    const std::size_t n = std::min(max_data, all.size() - off);
    Packet frag(n);
    frag.append(all.subspan(off, n));
    wire::Ipv4Header h = base;
    h.dont_fragment = false;
    h.fragment_offset = static_cast<std::uint16_t>(off);
    h.more_fragments = off + n < all.size();
    h.total_length = static_cast<std::uint16_t>(n + wire::Ipv4Header::kMinSize);
    h.emit(frag.push(wire::Ipv4Header::kMinSize));
    stack_.mib().IpFragCreates++;
    ip_finish_output(rt, base.dst, std::move(frag));
  }
  stack_.mib().IpFragOKs++;
  return {};
}

}  // namespace usnet

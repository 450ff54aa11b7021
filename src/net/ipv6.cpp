#include "net/ipv6.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "link/ethernet.h"
#include "net/icmpv6.h"
#include "net/ndp.h"
#include "stack/stack.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"

namespace usnet {
namespace {

constexpr auto kNhIcmpv6 = static_cast<std::uint8_t>(58);
constexpr auto kNhFragment = static_cast<std::uint8_t>(wire::Ipv6Ext::kFragment);
constexpr auto kNhNone = static_cast<std::uint8_t>(wire::Ipv6Ext::kNoNextHeader);

// The leading bits two addresses share (RFC 6724 2.2 CommonPrefixLen).
int common_prefix_len(const Ipv6Address& a, const Ipv6Address& b) {
  int n = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const auto x = static_cast<std::uint8_t>(a.bytes[i] ^ b.bytes[i]);
    if (x != 0) return n + std::countl_zero(x);
    n += 8;
  }
  return n;
}

}  // namespace

Ipv6::Ipv6(Stack& stack)
    : stack_(stack),
      frag_id_(static_cast<std::uint32_t>(stack.rng().next())),
      // net.ipv6.ip6frag_high_thresh (4 MiB) and ip6frag_time (60 s), Linux's defaults.
      reasm_(ReassemblyConfig{4 * 1024 * 1024, std::chrono::seconds(60), 256}) {}

bool Ipv6::is_local_address(const IpAddress& a) const noexcept {
  if (!a.is_v6()) return false;
  if (a.v6().is_loopback()) return true;
  for (const auto& ifc : stack_.interfaces()) {
    if (ifc->has_address(a.v6())) return true;
  }
  return false;
}

bool Ipv6::in_multicast_group(const Interface& ifc, const Ipv6Address& group) const noexcept {
  static constexpr Ipv6Address kAllNodes = {
      {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};
  if (group == kAllNodes) return true;
  for (const auto& c : ifc.addrs6) {
    if (wire::solicited_node(c.address) == group) return true;
  }
  return false;
}

void Ipv6::ip6_rcv(Interface& ifc, Packet pkt) {
  MibCounters& mib = stack_.mib();
  Tracer& tr = stack_.tracer();
  tr.step("ipv6_rcv");
  mib.Ip6InReceives++;
  auto parsed = wire::Ipv6Header::parse(pkt.data());
  if (!parsed) {
    if (parsed.error() == wire::ParseError::kTruncated) {
      mib.Ip6InTruncatedPkts++;
    } else {
      mib.Ip6InHdrErrors++;
    }
    tr.step("drop: bad header");
    return;
  }
  const wire::Ipv6Header& ip = *parsed;
  pkt.truncate(wire::Ipv6Header::kSize + ip.payload_length);  // Ethernet padding
  mib.Ip6InOctets += pkt.size();
  // RFC 4291 2.7: a multicast address is never a source; 2.5.3: ::1 never leaves or
  // enters a host through a real link (Linux ipv6_rcv drops both).
  const bool on_lo = ifc.index == Stack::kLoopbackIndex;
  if (ip.src.is_multicast() || (!on_lo && (ip.src.is_loopback() || ip.dst.is_loopback()))) {
    mib.Ip6InAddrErrors++;
    tr.step("drop: martian address");
    return;
  }
  if (ip.dst.is_multicast()) {
    if (!in_multicast_group(ifc, ip.dst)) {
      mib.Ip6InAddrErrors++;
      tr.step("drop: group not joined");
      return;
    }
    mib.Ip6InMcastPkts++;
  } else if (!is_local_address(IpAddress(ip.dst))) {
    mib.Ip6InAddrErrors++;  // not ours, and a host does not forward (RFC 8200 intro)
    tr.step("drop: not for us");
    return;
  }
  std::size_t upper = 0;
  std::uint8_t nh = 0;
  if (!ip6_parse_exthdrs(ifc, ip, pkt, upper, nh)) return;
  ip6_input_finish(ifc, ip, std::move(pkt), upper, nh);
}

bool Ipv6::ip6_parse_exthdrs(Interface& ifc, const wire::Ipv6Header& ip, Packet& pkt,
                             std::size_t& upper, std::uint8_t& nh) {
  MibCounters& mib = stack_.mib();
  Tracer& tr = stack_.tracer();
  const ByteSpan bytes = pkt.data();
  const bool mcast = ip.dst.is_multicast();
  // RFC 8200 4: parameter problem, pointing at the byte at fault (RFC 4443 3.4).
  auto refuse = [&](wire::Icmpv6ParamProblemCode code, std::size_t pointer, bool to_multicast,
                    std::uint64_t& counter) {
    counter++;
    tr.step("drop: extension header refused");
    stack_.icmpv6().icmpv6_send(
        bytes, ip, static_cast<std::uint8_t>(wire::Icmpv6Type::kParameterProblem),
        static_cast<std::uint8_t>(code), static_cast<std::uint32_t>(pointer), to_multicast);
  };
  wire::Ipv6ExtWalker walker(bytes);
  while (walker.at_extension()) {
    wire::Ipv6ExtError err;
    const std::size_t nh_offset = walker.next_header_offset();
    auto h = walker.next(err);
    if (!h) {
      if (err.error == wire::ParseError::kTruncated) {
        mib.Ip6InTruncatedPkts++;
        tr.step("drop: truncated extension header");
        return false;
      }
      // A hop-by-hop header not first: as an unknown next header (RFC 8200 4.1).
      refuse(wire::Icmpv6ParamProblemCode::kUnknownNextHeader, nh_offset, false,
             mib.Ip6InHdrErrors);
      return false;
    }
    switch (static_cast<wire::Ipv6Ext>(h->type)) {
      case wire::Ipv6Ext::kHopByHop:
      case wire::Ipv6Ext::kDestOptions: {
        wire::Ipv6OptionIter it(*h);
        while (auto opt = it.next(err)) {
          if (opt->type == wire::Ipv6Option::kPad1 || opt->type == wire::Ipv6Option::kPadN ||
              (opt->type == wire::Ipv6Option::kRouterAlert &&
               h->type == static_cast<std::uint8_t>(wire::Ipv6Ext::kHopByHop))) {
            continue;
          }
          // RFC 8200 4.2: an unrecognised option is treated as its two high bits say.
          switch (wire::option_action(opt->type)) {
            case wire::Ipv6OptionAction::kSkip:
              continue;
            case wire::Ipv6OptionAction::kDiscard:
              mib.Ip6InHdrErrors++;
              tr.step("drop: unknown option");
              return false;
            case wire::Ipv6OptionAction::kDiscardIcmp:
              refuse(wire::Icmpv6ParamProblemCode::kUnknownOption, opt->offset, true,
                     mib.Ip6InHdrErrors);
              return false;
            case wire::Ipv6OptionAction::kDiscardIcmpUnicast:
              if (mcast) {
                mib.Ip6InHdrErrors++;
                return false;
              }
              refuse(wire::Icmpv6ParamProblemCode::kUnknownOption, opt->offset, false,
                     mib.Ip6InHdrErrors);
              return false;
          }
        }
        if (err.pointer != 0) {  // an option running past its header: Linux drops it
          mib.Ip6InHdrErrors++;
          tr.step("drop: bad option length");
          return false;
        }
        break;
      }
      case wire::Ipv6Ext::kRouting: {
        // RFC 8200 4.4: with segments left, a host that is not the final destination
        // would forward; type 0 is refused outright (RFC 5095 3) and usnet knows no other
        // type, so any routing header with segments left is answered at its type byte.
        const auto rh = wire::Ipv6RoutingHeader::from(*h);
        if (rh.segments_left != 0) {
          refuse(wire::Icmpv6ParamProblemCode::kErroneousField,
                 h->offset + wire::Ipv6RoutingHeader::kTypeOffset, false, mib.Ip6InHdrErrors);
          return false;
        }
        break;
      }
      case wire::Ipv6Ext::kFragment: {
        auto fh = wire::Ipv6FragmentHeader::parse(h->bytes);
        if (!fh) {
          mib.Ip6InHdrErrors++;
          return false;
        }
        if (!fh->is_atomic()) {
          ip6_frag_rcv(ifc, ip, std::move(pkt), *h, *fh);
          return false;  // this fragment's part of the walk ends here
        }
        // RFC 6946 4: an atomic fragment is processed at once, as if unfragmented.
        break;
      }
      default:
        break;
    }
  }
  upper = walker.offset();
  nh = walker.next_header();
  if (nh != kNhNone && protocol(nh) == nullptr && nh != kNhIcmpv6) {
    refuse(wire::Icmpv6ParamProblemCode::kUnknownNextHeader, walker.next_header_offset(), false,
           mib.Ip6InUnknownProtos);
    return false;
  }
  return true;
}

void Ipv6::ip6_frag_rcv(Interface& ifc, const wire::Ipv6Header& ip, Packet pkt,
                        const wire::Ipv6ExtHeader& h, const wire::Ipv6FragmentHeader& fh) {
  MibCounters& mib = stack_.mib();
  Tracer& tr = stack_.tracer();
  tr.step("ipv6_frag_rcv");
  mib.Ip6ReasmReqds++;
  const std::size_t payload_at = h.offset + wire::Ipv6FragmentHeader::kSize;
  FragPiece piece;
  piece.offset = fh.offset;
  piece.len = static_cast<std::uint32_t>(pkt.size() - payload_at);
  piece.more = fh.more_fragments;
  // The whole packet's payload length counts the unfragmentable headers too (4.5).
  piece.max_end = static_cast<std::uint32_t>(65535 - (h.offset - wire::Ipv6Header::kSize));
  piece.header_len = payload_at;
  piece.quote_len = wire::Icmpv6Header::kMaxErrorMessage - wire::Icmpv6Header::kSize;
  // RFC 8200 4.5: a fragment that is not the last and not a multiple of 8 bytes long is
  // answered at the payload length field; one reaching past 65,535 bytes at its offset.
  const auto problem = [&](std::uint32_t pointer) {
    mib.Ip6InHdrErrors++;
    tr.step("drop: bad fragment");
    stack_.icmpv6().icmpv6_send(
        pkt.data(), ip, static_cast<std::uint8_t>(wire::Icmpv6Type::kParameterProblem),
        static_cast<std::uint8_t>(wire::Icmpv6ParamProblemCode::kErroneousField), pointer, false);
  };
  if (piece.more && (piece.len & 7) != 0) return problem(4);
  if (piece.offset + piece.len > piece.max_end) {
    return problem(static_cast<std::uint32_t>(h.offset + 2));
  }
  auto r = reasm_.add({IpAddress(ip.src), IpAddress(ip.dst), fh.identification, 0}, std::move(pkt),
                      Ipv6FragFirst{ip, fh.next_header}, piece, stack_.now());
  mib.Ip6ReasmFails += r.failed_datagrams;
  if (r.overlaps != 0) tr.step("drop: overlapping fragment (RFC 5722)");
  if (r.outcome != DefragOutcome::kComplete) return;
  mib.Ip6ReasmOKs++;
  // The whole packet: the first fragment's fixed header, naming what followed its fragment
  // header, then the reassembled payload. Its unfragmentable extension headers were
  // processed with each fragment and are not carried again.
  wire::Ipv6Header whole = r.first_header.fixed;
  whole.next_header = r.first_header.next_header;
  whole.payload_length = static_cast<std::uint16_t>(r.payload->size());
  Packet p = std::move(*r.payload);
  whole.emit(p.push(wire::Ipv6Header::kSize));
  std::size_t upper = 0;
  std::uint8_t nh = 0;
  if (!ip6_parse_exthdrs(ifc, whole, p, upper, nh)) return;
  ip6_input_finish(ifc, whole, std::move(p), upper, nh);
}

void Ipv6::tick(Instant now) {
  for (auto& expired : reasm_.tick(now)) {
    stack_.mib().Ip6ReasmTimeout++;
    stack_.mib().Ip6ReasmFails++;
    if (!expired.first_fragment || expired.first_fragment->size() < wire::Ipv6Header::kSize) {
      continue;
    }
    // The quote may be cut short, so the header is read without its length check.
    const ByteSpan b = expired.first_fragment->data();
    wire::Ipv6Header h;
    h.src = Ipv6Address::from_bytes(b.subspan(8));
    h.dst = Ipv6Address::from_bytes(b.subspan(24));
    h.next_header = load_u8(b, 6);
    stack_.tracer().begin("ip6_frag_expire");
    stack_.icmpv6().icmpv6_send(
        b, h, static_cast<std::uint8_t>(wire::Icmpv6Type::kTimeExceeded),
        static_cast<std::uint8_t>(wire::Icmpv6TimeExceededCode::kReassembly), 0, false);
    stack_.tracer().end();
  }
}

void Ipv6::ip6_input_finish(Interface& ifc, const wire::Ipv6Header& ip, Packet pkt,
                            std::size_t upper, std::uint8_t nh) {
  stack_.tracer().step("ip6_input_finish");
  if (nh == kNhNone) return;  // RFC 8200 4.7: nothing follows
  stack_.mib().Ip6InDelivers++;
  pkt.pull(upper);
  if (nh == kNhIcmpv6) {
    stack_.icmpv6().icmpv6_rcv(ifc, std::move(pkt), ip, upper);
    return;
  }
  NetRcvInfo info;
  info.net = this;
  info.src = IpAddress(ip.src);
  info.dst = IpAddress(ip.dst);
  info.protocol = nh;
  info.tos = ip.traffic_class;
  info.ttl = ip.hop_limit;
  info.header_length = static_cast<std::uint16_t>(upper);
  info.ifindex = ifc.index;
  protocol(nh)->rcv(std::move(pkt), info);
}

void Ipv6::port_unreachable(ByteSpan datagram, const NetRcvInfo& info) {
  auto ip = wire::Ipv6Header::parse(datagram);
  if (!ip) return;
  (void)info;
  stack_.icmpv6().icmpv6_send(
      datagram, *ip, static_cast<std::uint8_t>(wire::Icmpv6Type::kDestUnreachable),
      static_cast<std::uint8_t>(wire::Icmpv6UnreachCode::kPortUnreachable), 0, false);
}

const Ipv6Address* Ipv6::select_source(const Interface& ifc,
                                       const Ipv6Address& dst) const noexcept {
  // RFC 6724 5 rules 2 (appropriate scope) and 8 (longest matching prefix); the rest
  // (deprecated, home, temporary addresses) need address states usnet does not keep yet.
  const bool want_link_local = dst.is_link_local() || dst.is_multicast();
  const Ipv6Address* best = nullptr;
  int best_score = -1;
  for (const auto& c : ifc.addrs6) {
    const bool same_scope = c.address.is_link_local() == want_link_local;
    const int score = (same_scope ? 256 : 0) + common_prefix_len(c.address, dst);
    if (score > best_score) {
      best = &c.address;
      best_score = score;
    }
  }
  return best;
}

Result<OutputRoute> Ipv6::route_output(const IpAddress& dst_addr, const IpAddress& src_addr,
                                       std::uint32_t oif) {
  if (!dst_addr.is_v6() || !src_addr.is_v6()) return Error::kAddressFamilyNotSupported;
  const Ipv6Address& dst = dst_addr.v6();
  const Ipv6Address& src = src_addr.v6();
  if (!src.is_any() && !is_local_address(src_addr)) return Error::kAddressNotAvailable;
  OutputRoute rt;
  if (dst.is_loopback() || is_local_address(dst_addr)) {
    rt.ifc = stack_.interface(Stack::kLoopbackIndex);
    rt.local = true;
    rt.next_hop = dst_addr;
    rt.src = src.is_any() ? dst_addr : src_addr;
    return rt;
  }
  // On-link: the interface asked for, else the first whose prefixes hold the destination;
  // link-local and multicast destinations are on every link, so they take the bound
  // interface or the first with IPv6 addresses (Linux wants a scope id from the caller).
  Interface* chosen = nullptr;
  for (const auto& ifc : stack_.interfaces()) {
    if (ifc->index == Stack::kLoopbackIndex || ifc->addrs6.empty()) continue;
    if (oif != 0 && ifc->index != oif) continue;
    const bool on_link = dst.is_link_local() || dst.is_multicast() ||
                         std::any_of(ifc->addrs6.begin(), ifc->addrs6.end(),
                                     [&](const Ipv6Cidr& c) { return c.contains(dst); });
    if (on_link) {
      chosen = ifc.get();
      break;
    }
  }
  if (chosen == nullptr) {
    stack_.mib().Ip6OutNoRoutes++;
    return Error::kNetworkUnreachable;
  }
  rt.ifc = chosen;
  rt.next_hop = dst_addr;
  if (!src.is_any()) {
    rt.src = src_addr;
  } else if (const Ipv6Address* s = select_source(*chosen, dst)) {
    rt.src = IpAddress(*s);
  } else {
    return Error::kAddressNotAvailable;
  }
  return rt;
}

Status Ipv6::ip6_output(Packet pkt, const NetOutParams& p) {
  MibCounters& mib = stack_.mib();
  stack_.tracer().step("ip6_output");
  auto rt = route_output(p.dst, p.src, p.oif);
  mib.Ip6OutRequests++;
  if (!rt) return rt.error();
  // RFC 8200 3: the payload length field counts 16 bits (no jumbograms, RFC 2675).
  if (pkt.size() > 65535) return Error::kMessageTooLong;
  wire::Ipv6Header h;
  h.traffic_class = p.tos;
  h.hop_limit = p.ttl;
  h.next_header = p.protocol;
  h.src = rt->src.v6();
  h.dst = p.dst.v6();
  // RFC 8201 4: the path MTU a packet too big taught, never below the minimum link MTU.
  const std::size_t mtu = std::max<std::size_t>(path_mtu(*rt, p.dst, stack_.now()), kIpv6MinMtu);
  if (pkt.size() + wire::Ipv6Header::kSize <= mtu) {
    h.payload_length = static_cast<std::uint16_t>(pkt.size());
    h.emit(pkt.push(wire::Ipv6Header::kSize));
    ip6_finish_output(*rt, h.dst, std::move(pkt));
    return {};
  }
  if (p.pmtu == PmtuMode::kDo) {
    mib.Ip6FragFails++;
    return Error::kMessageTooLong;
  }
  return ip6_fragment(*rt, h, std::move(pkt), mtu);
}

Status Ipv6::ip6_fragment(const OutputRoute& rt, const wire::Ipv6Header& base, Packet payload,
                          std::size_t mtu) {
  // RFC 8200 4.5: the fixed header is the unfragmentable part; each fragment carries a
  // fragment header and a multiple of 8 bytes of the rest, the last whatever remains.
  stack_.tracer().step("ip6_fragment");
  const std::size_t max_data =
      (mtu - wire::Ipv6Header::kSize - wire::Ipv6FragmentHeader::kSize) & ~std::size_t{7};
  const std::uint32_t id = frag_id_++;
  const ByteSpan all = payload.data();
  for (std::size_t off = 0; off < all.size(); off += max_data) {
    const std::size_t n = std::min(max_data, all.size() - off);
    Packet frag(n);
    frag.append(all.subspan(off, n));
    wire::Ipv6FragmentHeader fh;
    fh.next_header = base.next_header;
    fh.offset = static_cast<std::uint16_t>(off);
    fh.more_fragments = off + n < all.size();
    fh.identification = id;
    fh.emit(frag.push(wire::Ipv6FragmentHeader::kSize));
    wire::Ipv6Header h = base;
    h.next_header = kNhFragment;
    h.payload_length = static_cast<std::uint16_t>(n + wire::Ipv6FragmentHeader::kSize);
    h.emit(frag.push(wire::Ipv6Header::kSize));
    stack_.mib().Ip6FragCreates++;
    ip6_finish_output(rt, base.dst, std::move(frag));
  }
  stack_.mib().Ip6FragOKs++;
  return {};
}

void Ipv6::ip6_finish_output(const OutputRoute& rt, const Ipv6Address& dst, Packet pkt) {
  stack_.mib().Ip6OutOctets += pkt.size();
  if (rt.local) {
    stack_.tracer().step("loopback_xmit");
    stack_.loopback_xmit(std::move(pkt));
    return;
  }
  if (dst.is_multicast()) {
    stack_.mib().Ip6OutMcastPkts++;
    eth_output(stack_.link(), *rt.ifc, wire::multicast_mac(dst),
               static_cast<std::uint16_t>(wire::EtherType::kIpv6), std::move(pkt));
    return;
  }
  stack_.ndp().neigh_output(*rt.ifc, rt.next_hop.v6(), std::move(pkt));
}

}  // namespace usnet

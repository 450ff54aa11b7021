#include "net/icmpv6.h"

#include <algorithm>
#include <array>

#include "net/icmp.h"
#include "net/ipv6.h"
#include "net/ndp.h"
#include "stack/stack.h"
#include "wire/icmpv6.h"
#include "wire/ipv6_ext.h"

namespace usnet {
namespace {

constexpr std::uint8_t kNhIcmpv6 = 58;

using wire::Icmpv6Type;

constexpr std::uint8_t type_of(Icmpv6Type t) {
  return static_cast<std::uint8_t>(t);
}

}  // namespace

IcmpError icmpv6_error_for(std::uint8_t type, std::uint8_t code) {
  IcmpError e;
  e.type = type;
  e.code = code;
  switch (static_cast<Icmpv6Type>(type)) {
    case Icmpv6Type::kDestUnreachable: {
      // Linux net/ipv6/icmp.c tab_unreach[], indexed by code.
      struct Entry {
        Error err;
        bool fatal;
      };
      static constexpr std::array<Entry, 7> kTable{{
          {Error::kNetworkUnreachable, false},  // 0 no route
          {Error::kPermissionDenied, true},     // 1 administratively prohibited
          {Error::kHostUnreachable, false},     // 2 beyond scope
          {Error::kHostUnreachable, false},     // 3 address unreachable
          {Error::kConnectionRefused, true},    // 4 port unreachable
          {Error::kPermissionDenied, true},     // 5 source address failed policy
          {Error::kConnectionRefused, true},    // 6 reject route
      }};
      const Entry entry =
          code < kTable.size() ? kTable[code] : Entry{Error::kNetworkUnreachable, false};
      e.error = entry.err;
      e.fatal = entry.fatal;
      break;
    }
    case Icmpv6Type::kPacketTooBig:
      e.error = Error::kMessageTooLong;
      break;
    case Icmpv6Type::kParameterProblem:
      e.error = Error::kProtocolError;
      e.fatal = true;
      break;
    default:  // time exceeded and anything else
      e.error = Error::kHostUnreachable;
      break;
  }
  return e;
}

void Icmpv6::icmpv6_rcv(Interface& ifc, Packet pkt, const wire::Ipv6Header& ip,
                        std::size_t header_length) {
  MibCounters& mib = stack_.mib();
  Tracer& tr = stack_.tracer();
  tr.step("icmpv6_rcv");
  mib.Icmp6InMsgs++;
  auto parsed = wire::Icmpv6Header::parse(pkt.data(), ip.src, ip.dst);
  if (!parsed) {
    if (parsed.error() == wire::ParseError::kBadChecksum) mib.Icmp6InCsumErrors++;
    mib.Icmp6InErrors++;
    tr.step("drop: bad icmpv6");
    return;
  }
  const wire::Icmpv6Header& h = *parsed;
  const ByteSpan body = ByteSpan(pkt.data()).subspan(wire::Icmpv6Header::kSize);
  switch (static_cast<Icmpv6Type>(h.type)) {
    case Icmpv6Type::kEchoRequest:
      mib.Icmp6InEchos++;
      icmpv6_echo_reply(std::move(pkt), ip);
      return;
    case Icmpv6Type::kEchoReply:
      mib.Icmp6InEchoReplies++;
      // The ping sockets registered for next header 58 (Linux icmpv6_rcv -> ping_rcv).
      if (TransportProtocol* t = stack_.ipv6().protocol(kNhIcmpv6)) {
        NetRcvInfo info;
        info.net = &stack_.ipv6();
        info.src = IpAddress(ip.src);
        info.dst = IpAddress(ip.dst);
        info.protocol = kNhIcmpv6;
        info.tos = ip.traffic_class;
        info.ttl = ip.hop_limit;
        info.header_length = static_cast<std::uint16_t>(header_length);
        info.ifindex = ifc.index;
        t->rcv(std::move(pkt), info);
      }
      return;
    case Icmpv6Type::kDestUnreachable:
      mib.Icmp6InDestUnreachs++;
      deliver_error(body, h.type, h.code, h.word);
      return;
    case Icmpv6Type::kPacketTooBig:
      mib.Icmp6InPktTooBigs++;
      deliver_error(body, h.type, h.code, h.word);
      return;
    case Icmpv6Type::kTimeExceeded:
      mib.Icmp6InTimeExcds++;
      deliver_error(body, h.type, h.code, h.word);
      return;
    case Icmpv6Type::kParameterProblem:
      mib.Icmp6InParmProblems++;
      deliver_error(body, h.type, h.code, h.word);
      return;
    case Icmpv6Type::kNeighborSolicitation:
    case Icmpv6Type::kNeighborAdvertisement:
      stack_.ndp().ndisc_rcv(ifc, std::move(pkt), ip);  // Ndp counts them by type
      return;
    case Icmpv6Type::kRouterSolicitation:
      mib.Icmp6InRouterSolicits++;  // a host ignores them (RFC 4861 6.2.6)
      return;
    case Icmpv6Type::kRouterAdvertisement:
      mib.Icmp6InRouterAdvertisements++;  // SLAAC and default routers are not in yet
      return;
    case Icmpv6Type::kRedirect:
      mib.Icmp6InRedirects++;
      return;
    case Icmpv6Type::kMldv2Report:
      mib.Icmp6InMLDv2Reports++;
      return;
    default:
      // RFC 4443 2.4 (b): an unknown informational message is silently discarded.
      return;
  }
}

void Icmpv6::icmpv6_echo_reply(Packet pkt, const wire::Ipv6Header& ip) {
  // RFC 4443 4.2: the reply carries the request's identifier, sequence and data, from the
  // address the request went to (a chosen unicast one if that was a multicast group).
  const ByteSpan msg = pkt.data();
  const std::uint32_t word = load_be<std::uint32_t>(msg, 4);
  const Ipv6Address src = ip.dst.is_multicast() ? Ipv6Address::any() : ip.dst;
  if (send_message(src, ip.src, type_of(Icmpv6Type::kEchoReply), 0, word,
                   msg.subspan(wire::Icmpv6Header::kSize), ip.traffic_class)) {
    stack_.mib().Icmp6OutEchoReplies++;
  }
}

void Icmpv6::deliver_error(ByteSpan quote, std::uint8_t type, std::uint8_t code,
                           std::uint32_t word) {
  // The quoted packet is cut short by design: only its fixed header and the first bytes of
  // the transport header (ports, sequence) matter. Extension headers in front of the
  // upper layer are walked as far as the quote goes.
  if (quote.size() < wire::Ipv6Header::kSize || (load_u8(quote, 0) >> 4) != 6) {
    stack_.mib().Icmp6InErrors++;
    return;
  }
  const Ipv6Address src = Ipv6Address::from_bytes(quote.subspan(8));
  const Ipv6Address dst = Ipv6Address::from_bytes(quote.subspan(24));
  // RFC 4443 2.4: only errors about packets we sent are ours to act on.
  if (!stack_.ipv6().is_local_address(IpAddress(src))) return;
  wire::Ipv6ExtWalker walker(quote);
  while (walker.at_extension()) {
    wire::Ipv6ExtError err;
    if (!walker.next(err)) return;
  }
  if (quote.size() < walker.offset() + 8) return;  // RFC 4443 2.4 (c) quotes far more
  IcmpError e = icmpv6_error_for(type, code);
  if (type == type_of(Icmpv6Type::kPacketTooBig)) {
    e.mtu = static_cast<std::uint16_t>(std::min<std::uint32_t>(word, 65535));
    // RFC 8201 4: the path MTU to the quoted destination, for every socket sending there
    // (Linux ip6_update_pmtu / ip6_sk_update_pmtu), never below 1280 (RFC 8200 5).
    stack_.ipv6().pmtu_cache().update(
        IpAddress(dst), std::max<std::uint32_t>(e.mtu, Ipv6::kIpv6MinMtu), stack_.now());
  }
  e.quoted = {IpAddress(src), IpAddress(dst), walker.next_header()};
  if (TransportProtocol* t = stack_.ipv6().protocol(walker.next_header())) {
    stack_.tracer().step("err_handler");
    t->err(e, quote.subspan(walker.offset()));
  }
}

void Icmpv6::icmpv6_send(ByteSpan offending, const wire::Ipv6Header& ip, std::uint8_t type,
                         std::uint8_t code, std::uint32_t info, bool to_multicast) {
  // RFC 4443 2.4 (e): never about an ICMPv6 error (the upper layer found by walking the
  // chain), never to a packet whose source does not name one host, and to a multicast
  // destination only for packet too big and the unknown-option case that asks for it.
  if (ip.src.is_any() || ip.src.is_multicast()) return;
  if (ip.dst.is_multicast() && type != type_of(Icmpv6Type::kPacketTooBig) && !to_multicast) {
    return;
  }
  wire::Ipv6ExtWalker walker(offending);
  wire::Ipv6ExtError err;
  while (walker.at_extension() && walker.next(err)) {
  }
  if (walker.next_header() == kNhIcmpv6 && offending.size() > walker.offset() &&
      wire::is_icmpv6_error(load_u8(offending, walker.offset()))) {
    return;
  }
  if (!stack_.icmp().rate_allow(IpAddress(ip.src))) {
    stack_.mib().Icmp6OutRateLimitHost++;
    stack_.tracer().step("icmpv6 rate limited");
    return;
  }
  stack_.tracer().step("icmpv6_send");
  // 2.4 (c): as much of the offending packet as fits in the minimum MTU.
  const std::size_t quote =
      std::min(offending.size(), wire::Icmpv6Header::kMaxErrorMessage - wire::Icmpv6Header::kSize);
  const Ipv6Address src = ip.dst.is_multicast() ? Ipv6Address::any() : ip.dst;
  if (!send_message(src, ip.src, type, code, info, offending.first(quote), 0)) return;
  MibCounters& mib = stack_.mib();
  switch (static_cast<Icmpv6Type>(type)) {
    case Icmpv6Type::kDestUnreachable:
      mib.Icmp6OutDestUnreachs++;
      break;
    case Icmpv6Type::kPacketTooBig:
      mib.Icmp6OutPktTooBigs++;
      break;
    case Icmpv6Type::kTimeExceeded:
      mib.Icmp6OutTimeExcds++;
      break;
    case Icmpv6Type::kParameterProblem:
      mib.Icmp6OutParmProblems++;
      break;
    default:
      break;
  }
}

bool Icmpv6::send_message(const Ipv6Address& src, const Ipv6Address& dst, std::uint8_t type,
                          std::uint8_t code, std::uint32_t word, ByteSpan body,
                          std::uint8_t tclass) {
  MibCounters& mib = stack_.mib();
  Ipv6& ipv6 = stack_.ipv6();
  // The checksum covers the source address, so the route picks it before the message is
  // finished (Linux icmpv6_push_pending_frames after the route lookup).
  auto rt = ipv6.route_output(IpAddress(dst), IpAddress(src), 0);
  if (!rt) {
    mib.Icmp6OutErrors++;
    return false;
  }
  Packet p(wire::Icmpv6Header::kSize + body.size());
  wire::Icmpv6Header h{type, code, 0, word};
  h.emit(p.append(wire::Icmpv6Header::kSize));
  p.append(body);
  wire::Icmpv6Header::finish_checksum(p.data(), rt->src.v6(), dst);
  NetOutParams out;
  out.src = rt->src;
  out.dst = IpAddress(dst);
  out.protocol = kNhIcmpv6;
  out.ttl = static_cast<std::uint8_t>(stack_.sysctl().ip_default_ttl);
  out.tos = tclass;
  mib.Icmp6OutMsgs++;
  if (!ipv6.ip6_output(std::move(p), out)) {
    mib.Icmp6OutErrors++;
    return false;
  }
  return true;
}

}  // namespace usnet

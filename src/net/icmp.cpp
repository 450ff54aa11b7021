#include "net/icmp.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "net/ipv4.h"
#include "stack/stack.h"

namespace usnet {
namespace {

// RFC 1812 4.3.2.3: an error quotes as much of the offending datagram as fits in 576 bytes.
constexpr std::size_t kMaxIcmpErrorDatagram = 576;

}  // namespace

IcmpError icmp_error_for(std::uint8_t type, std::uint8_t code) {
  IcmpError e;
  e.type = type;
  e.code = code;
  switch (static_cast<wire::IcmpType>(type)) {
    case wire::IcmpType::kDestUnreachable: {
      // Linux net/ipv4/icmp.c icmp_err_convert[], indexed by code.
      struct Entry {
        Error err;
        bool fatal;
      };
      static constexpr std::array<Entry, 16> kTable{{
          {Error::kNetworkUnreachable, false},     // 0 net unreachable
          {Error::kHostUnreachable, false},        // 1 host unreachable
          {Error::kNoProtocolOption, true},        // 2 protocol unreachable
          {Error::kConnectionRefused, true},       // 3 port unreachable
          {Error::kMessageTooLong, false},         // 4 fragmentation needed
          {Error::kOperationNotSupported, false},  // 5 source route failed
          {Error::kNetworkUnreachable, true},      // 6 net unknown
          {Error::kHostUnreachable, true},         // 7 host unknown (EHOSTDOWN in Linux)
          {Error::kNetworkDown, true},             // 8 host isolated (ENONET in Linux)
          {Error::kNetworkUnreachable, true},      // 9 net prohibited
          {Error::kHostUnreachable, true},         // 10 host prohibited
          {Error::kNetworkUnreachable, false},     // 11 net unreachable for TOS
          {Error::kHostUnreachable, false},        // 12 host unreachable for TOS
          {Error::kHostUnreachable, true},         // 13 administratively prohibited
          {Error::kHostUnreachable, true},         // 14 precedence violation
          {Error::kHostUnreachable, true},         // 15 precedence cutoff
      }};
      if (code < kTable.size()) {
        e.error = kTable[code].err;
        e.fatal = kTable[code].fatal;
      }
      break;
    }
    case wire::IcmpType::kTimeExceeded:
      e.error = Error::kHostUnreachable;
      e.fatal = false;
      break;
    case wire::IcmpType::kParameterProblem:
      e.error = Error::kProtocolError;
      e.fatal = true;
      break;
    default:
      break;
  }
  return e;
}

Icmp::Icmp(Stack& stack, IcmpConfig config)
    : stack_(stack),
      config_(config),
      global_{static_cast<double>(stack.sysctl().icmp_msgs_burst), kEpoch} {}

void Icmp::icmp_rcv(Interface& ifc, Packet pkt, const wire::Ipv4Header& ip) {
  MibCounters& mib = stack_.mib();
  stack_.tracer().step("icmp_rcv");
  mib.IcmpInMsgs++;
  auto parsed = wire::IcmpHeader::parse(pkt.data());
  if (!parsed) {
    if (parsed.error() == wire::ParseError::kBadChecksum) mib.IcmpInCsumErrors++;
    mib.IcmpInErrors++;
    stack_.tracer().step("drop: bad icmp");
    return;
  }
  const wire::IcmpHeader& h = *parsed;
  switch (static_cast<wire::IcmpType>(h.type)) {
    case wire::IcmpType::kEchoRequest:
      mib.IcmpInEchos++;
      icmp_echo(ifc, std::move(pkt), ip, h);
      return;
    case wire::IcmpType::kEchoReply:
      mib.IcmpInEchoReps++;
      // The ping sockets registered for protocol 1 (Linux icmp_rcv -> ping_rcv).
      if (TransportProtocol* t = stack_.ipv4().protocol(ip.protocol)) {
        NetRcvInfo info;
        info.net = &stack_.ipv4();
        info.src = ip.src;
        info.dst = ip.dst;
        info.protocol = ip.protocol;
        info.tos = ip.tos;
        info.ttl = ip.ttl;
        info.header_length = ip.header_length;
        info.ifindex = ifc.index;
        t->rcv(std::move(pkt), info);
      }
      return;
    case wire::IcmpType::kDestUnreachable:
      mib.IcmpInDestUnreachs++;
      icmp_unreach(std::move(pkt), h);
      return;
    case wire::IcmpType::kTimeExceeded:
      mib.IcmpInTimeExcds++;
      icmp_unreach(std::move(pkt), h);
      return;
    case wire::IcmpType::kParameterProblem:
      mib.IcmpInParmProbs++;
      icmp_unreach(std::move(pkt), h);
      return;
  }
  stack_.tracer().step("ignored type");
}

void Icmp::icmp_echo(Interface& /*ifc*/, Packet pkt, const wire::Ipv4Header& ip,
                     const wire::IcmpHeader& h) {
  stack_.tracer().step("icmp_echo");
  if (stack_.sysctl().icmp_echo_ignore_all != 0) {
    stack_.tracer().step("ignored: icmp_echo_ignore_all");
    return;
  }
  const bool to_broadcast = !stack_.is_local_address(ip.dst);
  if (to_broadcast && stack_.sysctl().icmp_echo_ignore_broadcasts != 0) {
    stack_.tracer().step("ignored broadcast");
    return;
  }
  // RFC 792: the reply carries the request's identifier, sequence and data unchanged; only
  // the type and checksum change.
  wire::IcmpHeader reply = h;
  reply.type = static_cast<std::uint8_t>(wire::IcmpType::kEchoReply);
  reply.code = 0;
  reply.emit(pkt.data());
  wire::IcmpHeader::finish_checksum(pkt.data());
  NetOutParams p;
  p.src = to_broadcast ? Ipv4Address{} : ip.dst;
  p.dst = ip.src;
  p.protocol = static_cast<std::uint8_t>(wire::IpProtocol::kIcmp);
  p.ttl = static_cast<std::uint8_t>(stack_.sysctl().ip_default_ttl);
  p.tos = ip.tos;
  stack_.mib().IcmpOutMsgs++;
  stack_.mib().IcmpOutEchoReps++;
  if (!stack_.ipv4().ip_output(std::move(pkt), p)) stack_.mib().IcmpOutErrors++;
}

void Icmp::icmp_unreach(Packet pkt, const wire::IcmpHeader& h) {
  // The quoted datagram: its IP header and at least 8 bytes of its transport header.
  pkt.pull(wire::IcmpHeader::kSize);
  deliver_error(pkt.data(), h.type, h.code, h.next_hop_mtu());
}

void Icmp::icmp_local_error(ByteSpan datagram, std::uint8_t type, std::uint8_t code) {
  stack_.tracer().begin("icmp_local_error");
  deliver_error(datagram, type, code, 0);
  stack_.tracer().end();
}

void Icmp::deliver_error(ByteSpan quote, std::uint8_t type, std::uint8_t code, std::uint16_t mtu) {
  // Read the quoted header leniently: it is truncated by design (its total length describes
  // the original) and its checksum may have been rewritten on the way; only the fixed
  // fields that identify the flow matter.
  wire::Ipv4Header q;
  const std::size_t hl = quote.empty() ? 0 : static_cast<std::size_t>(load_u8(quote, 0) & 0x0f) * 4;
  if (quote.empty() || (load_u8(quote, 0) >> 4) != 4 || hl < 20 || quote.size() < hl + 8) {
    stack_.mib().IcmpInErrors++;
    stack_.tracer().step("drop: short quote");
    return;
  }
  q.header_length = static_cast<std::uint8_t>(hl);
  q.protocol = load_u8(quote, 9);
  q.src.value = load_be<std::uint32_t>(quote, 12);
  q.dst.value = load_be<std::uint32_t>(quote, 16);
  q.total_length = load_be<std::uint16_t>(quote, 2);
  IcmpError err = icmp_error_for(type, code);
  err.mtu = mtu;
  err.quoted = {q.src, q.dst, q.protocol};
  // RFC 1122 3.2.2.1: only errors about datagrams we sent are ours to act on.
  if (!stack_.is_local_address(q.src)) return;
  if (type == static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable) &&
      code == static_cast<std::uint8_t>(wire::UnreachCode::kFragNeeded) && mtu != 0) {
    // RFC 1191 6.3: the path to the quoted destination is recorded for every socket that
    // sends there (Linux ipv4_sk_update_pmtu, called by udp_err, ping_err, tcp_v4_err),
    // no lower than net.ipv4.route.min_pmtu (__ip_rt_update_pmtu).
    Ipv4& ip = stack_.ipv4();
    ip.pmtu_cache().update(IpAddress(q.dst), std::max<std::uint32_t>(mtu, ip.min_pmtu()),
                           stack_.now());
  }
  if (TransportProtocol* t = stack_.ipv4().protocol(q.protocol)) {
    stack_.tracer().step("err_handler");
    t->err(err, quote.subspan(hl));
  }
}

bool Icmp::rate_allow(const IpAddress& dst) {
  const Instant now = stack_.now();
  auto refill = [now](Bucket& b, double per_sec, double burst) {
    const double secs = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + secs * per_sec);
    b.last = now;
  };
  const Sysctl& sc = stack_.sysctl();
  refill(global_, sc.icmp_msgs_per_sec, sc.icmp_msgs_burst);
  if (global_.tokens < 1.0) {
    stack_.mib().IcmpOutRateLimitGlobal++;
    return false;
  }
  if (sc.icmp_ratelimit_jiffies <= 0) {  // Linux: a timeout of 0 lets every message through
    global_.tokens -= 1.0;
    return true;
  }
  auto it = hosts_.find(dst);
  if (it == hosts_.end()) {
    if (hosts_.size() >= config_.max_hosts) hosts_.erase(hosts_.begin());
    it = hosts_.emplace(dst, Bucket{static_cast<double>(config_.host_burst), now}).first;
  }
  const double per_sec = 1000.0 / static_cast<double>(sc.icmp_ratelimit_ms());
  refill(it->second, per_sec, config_.host_burst);
  if (it->second.tokens < 1.0) {
    stack_.mib().IcmpOutRateLimitHost++;
    return false;
  }
  it->second.tokens -= 1.0;
  global_.tokens -= 1.0;
  return true;
}

void Icmp::icmp_send(ByteSpan offending, const wire::Ipv4Header& ip, std::uint8_t type,
                     std::uint8_t code, std::uint16_t info) {
  // RFC 1122 3.2.2: never an error about an ICMP error, a broadcast or multicast, a
  // non-first fragment, or a datagram from a source that does not name one host.
  if (ip.protocol == static_cast<std::uint8_t>(wire::IpProtocol::kIcmp) &&
      offending.size() > ip.header_length) {
    const auto inner_type = load_u8(offending, ip.header_length);
    if (inner_type != static_cast<std::uint8_t>(wire::IcmpType::kEchoRequest) &&
        inner_type != static_cast<std::uint8_t>(wire::IcmpType::kEchoReply)) {
      return;
    }
  }
  if (!stack_.is_local_address(ip.dst) || ip.fragment_offset != 0 || ip.src.is_any() ||
      ip.src.is_broadcast() || ip.src.is_multicast() || stack_.is_broadcast_address(ip.src)) {
    return;
  }
  if (!rate_allow(ip.src)) {
    stack_.tracer().step("icmp rate limited");
    return;
  }
  stack_.tracer().step("icmp_send");
  const std::size_t quote =
      std::min(offending.size(),
               kMaxIcmpErrorDatagram - wire::Ipv4Header::kMinSize - wire::IcmpHeader::kSize);
  Packet p(wire::IcmpHeader::kSize + quote);
  wire::IcmpHeader h;
  h.type = type;
  h.code = code;
  if (type == static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable) &&
      code == static_cast<std::uint8_t>(wire::UnreachCode::kFragNeeded)) {
    h.sequence = info;  // RFC 1191: next-hop MTU in the low 16 bits
  } else if (type == static_cast<std::uint8_t>(wire::IcmpType::kParameterProblem)) {
    h.ident = static_cast<std::uint16_t>(info << 8);  // RFC 792: the pointer is byte 4
  }
  h.emit(p.append(wire::IcmpHeader::kSize));
  p.append(offending.first(quote));
  wire::IcmpHeader::finish_checksum(p.data());

  MibCounters& mib = stack_.mib();
  mib.IcmpOutMsgs++;
  if (type == static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable)) {
    mib.IcmpOutDestUnreachs++;
  } else if (type == static_cast<std::uint8_t>(wire::IcmpType::kTimeExceeded)) {
    mib.IcmpOutTimeExcds++;
  } else if (type == static_cast<std::uint8_t>(wire::IcmpType::kParameterProblem)) {
    mib.IcmpOutParmProbs++;
  }
  NetOutParams out;
  out.src = ip.dst;
  out.dst = ip.src;
  out.protocol = static_cast<std::uint8_t>(wire::IpProtocol::kIcmp);
  out.ttl = static_cast<std::uint8_t>(stack_.sysctl().ip_default_ttl);
  // RFC 1812 4.3.2.5: the TOS of the offending datagram, precedence 6 (0xc0) for errors.
  out.tos = static_cast<std::uint8_t>((ip.tos & 0x1c) | 0xc0);
  if (!stack_.ipv4().ip_output(std::move(p), out)) mib.IcmpOutErrors++;
}

}  // namespace usnet

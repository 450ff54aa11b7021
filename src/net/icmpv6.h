// ICMPv6 for a host (RFC 4443): echo reply, error generation with the exclusions of
// section 2.4 (e) and the rate limit of 2.4 (f), delivery of received errors to the
// transport that sent the offending packet, and the hand-off of neighbour discovery
// messages (RFC 4861) to Ndp.
#pragma once

#include <cstdint>

#include "base/packet.h"
#include "link/interface.h"
#include "stack/registration.h"
#include "wire/ipv6.h"

namespace usnet {

class Stack;

// Linux icmpv6_err_convert: what a socket reports for an ICMPv6 error, and whether it is
// a hard error (reported to connected sockets without IPV6_RECVERR).
IcmpError icmpv6_error_for(std::uint8_t type, std::uint8_t code);

class Icmpv6 {
 public:
  explicit Icmpv6(Stack& stack) : stack_(stack) {}

  // An ICMPv6 message addressed to us: pkt.data() starts at the ICMPv6 header and
  // pkt.unpull(header_length) restores the IPv6 header (and extensions) in front.
  void icmpv6_rcv(Interface& ifc, Packet pkt, const wire::Ipv6Header& ip,
                  std::size_t header_length);

  // Sends an ICMPv6 error about `offending` (bytes from its IPv6 header on, as received)
  // whose fixed header is `ip`; `info` is the MTU of a packet too big or the pointer of a
  // parameter problem. Not about an ICMPv6 error, nor to a multicast destination (unless
  // a packet too big, or `to_multicast` for an unknown option whose type says so), nor
  // from an unspecified or multicast source (RFC 4443 2.4 (e)); rate-limited (2.4 (f)).
  void icmpv6_send(ByteSpan offending, const wire::Ipv6Header& ip, std::uint8_t type,
                   std::uint8_t code, std::uint32_t info, bool to_multicast);

 private:
  void icmpv6_echo_reply(Packet pkt, const wire::Ipv6Header& ip);
  // Hands an error quoting `quote` (the IPv6 packet we sent, from its header) to the
  // transport that sent it.
  void deliver_error(ByteSpan quote, std::uint8_t type, std::uint8_t code, std::uint32_t word);
  // Builds the message (header `type`/`code`/`word`, then `body`) from `src` (unspecified:
  // chosen by the route) to `dst` and sends it.
  bool send_message(const Ipv6Address& src, const Ipv6Address& dst, std::uint8_t type,
                    std::uint8_t code, std::uint32_t word, ByteSpan body, std::uint8_t tclass);

  Stack& stack_;
};

}  // namespace usnet

// ICMPv4 for a host (RFC 792, RFC 1122 3.2.2): echo reply, error generation with the
// RFC 1122 3.2.2 exclusions and Linux's rate limits, and delivery of received errors to the
// transport that sent the offending datagram.
#pragma once

#include <cstdint>
#include <map>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "stack/registration.h"
#include "wire/icmpv4.h"
#include "wire/ipv4.h"

namespace usnet {

class Stack;

// The limits come from the stack's sysctls: icmp_msgs_per_sec and icmp_msgs_burst (a
// stack-wide token bucket for errors), icmp_ratelimit (a per-destination bucket refilled
// once per that many ms; 0: none), icmp_echo_ignore_all and icmp_echo_ignore_broadcasts.
struct IcmpConfig {
  unsigned host_burst = 6;       // XRLIM_BURST_FACTOR: the per-destination bucket's depth
  std::size_t max_hosts = 1024;  // destinations tracked for the per-host limit
};

// Linux's icmp_err_convert: what a socket reports for a destination-unreachable code, and
// whether it is a hard error (RFC 1122 4.1.3.3).
IcmpError icmp_error_for(std::uint8_t type, std::uint8_t code);

class Icmp {
 public:
  explicit Icmp(Stack& stack, IcmpConfig config = {});

  // An ICMP message addressed to us; pkt.data() starts at the ICMP header.
  void icmp_rcv(Interface& ifc, Packet pkt, const wire::Ipv4Header& ip);

  // Sends an ICMP error about `offending` (bytes from its IP header on, as received) whose
  // parsed header is `ip`. Applies the RFC 1122 3.2.2 exclusions and the rate limits.
  // `info`: the next-hop MTU of a Fragmentation Needed, the pointer of a Parameter Problem.
  void icmp_send(ByteSpan offending, const wire::Ipv4Header& ip, std::uint8_t type,
                 std::uint8_t code, std::uint16_t info);

  // A datagram this host sent could not leave (its next hop did not answer ARP): the
  // transport hears of it as of an ICMP error coming back (Linux arp_error_report).
  // `datagram` starts at its IP header.
  void icmp_local_error(ByteSpan datagram, std::uint8_t type, std::uint8_t code);

  // Whether an error to `dst` may go now (Linux icmp_global_allow then the per-peer
  // bucket of icmpv4_xrlim_allow / icmpv6_xrlim_allow): one stack-wide bucket for ICMP
  // and ICMPv6 alike, as Linux shares icmp_global, and one bucket per destination.
  bool rate_allow(const IpAddress& dst);

 private:
  void icmp_echo(Interface& ifc, Packet pkt, const wire::Ipv4Header& ip, const wire::IcmpHeader& h);
  void icmp_unreach(Packet pkt, const wire::IcmpHeader& h);
  // Hands the error about a quoted datagram (IP header on) to its transport.
  void deliver_error(ByteSpan quote, std::uint8_t type, std::uint8_t code, std::uint16_t mtu);

  struct Bucket {
    double tokens;
    Instant last;
  };

  Stack& stack_;
  IcmpConfig config_;
  Bucket global_;
  std::map<IpAddress, Bucket> hosts_;
};

}  // namespace usnet

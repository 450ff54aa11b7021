// Neighbour discovery for a host (RFC 4861): address resolution and neighbour
// unreachability detection (sections 7.1-7.3) over the shared neighbour cache of
// net/neighbour.h (Linux nd_tbl, net/ipv6/ndisc.c). What is NDP's own is here: the
// neighbour solicitation and advertisement messages, their validation (7.1), the
// answers to solicitations for our addresses (7.2.4), and the rules by which an
// advertisement changes an entry (7.2.5).
//
// Not here yet: router and prefix discovery (6.3), redirects (8), duplicate address
// detection (RFC 4862 5.4), and the ICMPv6 address-unreachable report to senders whose
// packets could not be delivered (7.2.2; see error_report).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "net/neighbour.h"
#include "wire/addresses.h"
#include "wire/ipv6.h"

namespace usnet {

class Stack;

class Ndp : private NeighProtocol {
 public:
  // RFC 4861 10's constants are Linux nd_tbl's defaults, the same as arp_tbl's.
  explicit Ndp(Stack& stack, NeighConfig config = {});

  // Sends an IPv6 datagram (pkt.data() starts at the IPv6 header, complete) to `next_hop`
  // on `ifc`, resolving its link address first if needed (Linux neigh_resolve_output over
  // nd_tbl). A multicast next hop needs no resolution (RFC 4861 7.2.1, RFC 2464 7).
  void neigh_output(Interface& ifc, const Ipv6Address& next_hop, Packet pkt);

  // A Neighbour Solicitation or Advertisement (ICMPv6 type 135/136) received on ifc:
  // pkt.data() starts at the ICMPv6 header whose checksum is already verified; `ip` is the
  // IPv6 header it came in. Icmp6InMsgs is the ICMPv6 layer's to count.
  void ndisc_rcv(Interface& ifc, Packet pkt, const wire::Ipv6Header& ip);

  void tick(Instant now) { table_.tick(now); }
  Instant next_deadline() const noexcept { return table_.next_deadline(); }

  const Neighbour* find(std::uint32_t ifindex, const Ipv6Address& a) const {
    return table_.find(ifindex, IpAddress(a));
  }
  std::vector<const Neighbour*> entries() const { return table_.entries(); }
  const NeighConfig& config() const noexcept { return table_.config(); }

 private:
  void recv_ns(Interface& ifc, ByteSpan msg, const wire::Ipv6Header& ip);
  void recv_na(Interface& ifc, ByteSpan msg, const wire::Ipv6Header& ip);
  // RFC 4861 7.2.2 / 4.3: a solicitation for n.ip.
  void solicit(Interface& ifc, const Neighbour& n, const MacAddress* unicast) override;
  void error_report(std::vector<Packet> dropped) override;
  // The source of a solicitation for `target`: the source of the packet that prompted it
  // when that is ours (7.2.2), else one of ifc's addresses of the target's scope.
  std::optional<Ipv6Address> solicit_source(const Interface& ifc, const Ipv6Address& target,
                                            const Neighbour& n) const;
  // An advertisement of `target` (one of ifc's addresses) to `dst` (7.2.4).
  void send_na(Interface& ifc, const Ipv6Address& target, const Ipv6Address& dst,
               const MacAddress* eth_dst, bool solicited);
  // Frames and sends an NDP message `body` (ICMPv6 header first, 0 checksum) from `src`
  // to `dst` with hop limit 255 (RFC 4861 7.1), straight to the link without routing as
  // Linux's ndisc_send_skb does: to `eth_dst`, or when that is null to dst's cached
  // address (resolved first if need be).
  void send_ndisc(Interface& ifc, const MacAddress* eth_dst, const Ipv6Address& src,
                  const Ipv6Address& dst, Packet body);
  // Counts an invalid message and says why in the trace.
  void drop(const char* why);

  Stack& stack_;
  NeighTable table_;
};

}  // namespace usnet

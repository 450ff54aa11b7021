// ARP (RFC 826): IPv4 address resolution over the shared neighbour cache of
// net/neighbour.h (Linux arp_tbl). What is ARP's own is here: the packets, the RFC 826
// merge rule deciding which entries a received packet creates or updates, gratuitous ARP,
// and the ICMP report to senders whose packets could not be delivered.
#pragma once

#include <cstdint>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "net/neighbour.h"
#include "stack/registration.h"
#include "wire/addresses.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace usnet {

class Stack;

using ArpConfig = NeighConfig;

class Arp : public PacketHandler, private NeighProtocol {
 public:
  explicit Arp(Stack& stack, ArpConfig config = {});

  // An ARP packet received on `ifc` (pkt.data() starts at the ARP header).
  void arp_rcv(Interface& ifc, Packet pkt);
  // The link layer's way in, registered for EtherType 0x0806.
  void rcv(Interface& ifc, Packet pkt) override { arp_rcv(ifc, std::move(pkt)); }

  // Sends an IP datagram (pkt.data() starts at the IP header) to `next_hop` on `ifc`,
  // resolving its link address first if needed (Linux neigh_resolve_output).
  void neigh_output(Interface& ifc, Ipv4Address next_hop, Packet pkt);

  // A gratuitous ARP request announcing `ip` (RFC 5227 section 2.3), sent when an address
  // is added so neighbours update stale caches.
  void announce(Interface& ifc, Ipv4Address ip);

  void tick(Instant now) { table_.tick(now); }
  Instant next_deadline() const noexcept { return table_.next_deadline(); }

  const Neighbour* find(std::uint32_t ifindex, Ipv4Address ip) const {
    return table_.find(ifindex, ip);
  }
  std::vector<const Neighbour*> entries() const { return table_.entries(); }
  const ArpConfig& config() const noexcept { return table_.config(); }

 private:
  // Updates the entry for a sender we heard from; `confirmed` when it answered us.
  void update(Neighbour& n, MacAddress mac, bool confirmed);
  void solicit(Interface& ifc, const Neighbour& n, const MacAddress* unicast) override;
  void error_report(std::vector<Packet> dropped) override;
  void send_arp(Interface& ifc, wire::ArpOp op, MacAddress eth_dst, MacAddress target_mac,
                Ipv4Address sender_ip, Ipv4Address target_ip);

  Stack& stack_;
  NeighTable table_;
};

}  // namespace usnet

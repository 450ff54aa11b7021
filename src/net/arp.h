// ARP (RFC 826) and the IPv4 neighbour cache, with the reachability states of RFC 1122
// 2.3.2.1 as Linux implements them (neighbour.c), reduced to what a host needs:
//
//   INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE --used--> PROBE
//        |                    ^                                          |
//        +--max_probes--> (removed, queued packets dropped)   <-max_probes+
//                             +----------------reply----------------------+
//
// Packets waiting for resolution are held in a bounded per-neighbour queue (drop-oldest,
// counted), and the cache itself is bounded (stale entries are evicted first), so no peer
// can grow memory without bound by making us resolve addresses.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "stack/registration.h"
#include "wire/addresses.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace usnet {

class Stack;

struct ArpConfig {
  Duration retrans_time = std::chrono::seconds(1);     // between probes (Linux retrans_time_ms)
  unsigned max_probes = 3;                             // mcast_solicit / ucast_solicit
  Duration reachable_time = std::chrono::seconds(30);  // base_reachable_time
  Duration gc_stale_time = std::chrono::seconds(60);   // unused STALE entries go after this
  std::size_t queue_len = 101;       // packets held per unresolved neighbour (unres_qlen)
  std::size_t queue_bytes = 212992;  // and their bytes (unres_qlen_bytes)
  std::size_t max_entries = 1024;    // gc_thresh3
};

enum class NeighState : std::uint8_t { kIncomplete, kReachable, kStale, kProbe };

struct Neighbour {
  std::uint32_t ifindex = 0;
  Ipv4Address ip;
  MacAddress mac;  // valid unless kIncomplete
  NeighState state = NeighState::kIncomplete;
  unsigned probes = 0;          // requests sent in the current INCOMPLETE/PROBE episode
  Instant timer = kNever;       // next probe, or when REACHABLE turns STALE
  Instant used = kEpoch;        // last time a packet went out through it
  std::deque<Packet> queue;     // IP datagrams awaiting resolution (INCOMPLETE only)
  std::size_t queue_bytes = 0;  // the sum of their sizes
};

class Arp : public PacketHandler {
 public:
  explicit Arp(Stack& stack, ArpConfig config = {}) : stack_(stack), config_(config) {}

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

  void tick(Instant now);
  Instant next_deadline() const noexcept;

  const Neighbour* find(std::uint32_t ifindex, Ipv4Address ip) const;
  std::vector<const Neighbour*> entries() const;
  const ArpConfig& config() const noexcept { return config_; }

 private:
  static std::uint64_t key(std::uint32_t ifindex, Ipv4Address ip) noexcept {
    return (std::uint64_t{ifindex} << 32) | ip.value;
  }
  Neighbour* lookup(std::uint32_t ifindex, Ipv4Address ip);
  Neighbour* create(Interface& ifc, Ipv4Address ip);
  // Updates the entry for a sender we heard from; `confirmed` when it answered us.
  void update(Neighbour& n, MacAddress mac, bool confirmed);
  void send_request(Interface& ifc, Ipv4Address target, const MacAddress* unicast);
  void send_arp(Interface& ifc, wire::ArpOp op, MacAddress eth_dst, MacAddress target_mac,
                Ipv4Address sender_ip, Ipv4Address target_ip);
  void xmit(Interface& ifc, const Neighbour& n, Packet pkt);
  bool evict_one();

  Stack& stack_;
  ArpConfig config_;
  std::unordered_map<std::uint64_t, Neighbour> table_;
};

}  // namespace usnet

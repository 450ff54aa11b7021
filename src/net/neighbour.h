// The protocol-independent neighbour cache (Linux net/core/neighbour.c): one NeighTable
// type serves ARP for IPv4 and neighbour discovery for IPv6, as Linux's struct neigh_table
// serves arp_tbl and nd_tbl. It owns the entries, their reachability states (RFC 1122
// 2.3.2.1, RFC 4861 7.3.2), the probe timers, the bounded queue of packets awaiting
// resolution and the bounded table; the protocol supplies how to solicit an address and
// what to tell the senders of packets that could not be delivered (Linux neigh_ops), and
// decides from its own messages which state an entry moves to.
//
//   INCOMPLETE --confirmed--> REACHABLE --reachable_time--> STALE --used--> PROBE
//        |                        ^                                          |
//        +--max_probes--> (removed, queued packets dropped)   <-max_probes---+
//                                 +---------------confirmed------------------+
//
// RFC 4861 7.3.2 puts a DELAY state between STALE and PROBE (wait 5 s for an upper-layer
// confirmation before probing). usnet has no upper-layer confirmations yet, so a STALE
// entry that is used goes straight to PROBE, keeping the old address while it probes.
//
// Packets waiting for resolution are held in a bounded per-neighbour queue (drop-oldest,
// counted), and the cache itself is bounded (stale entries are evicted first), so no peer
// can grow memory without bound by making us resolve addresses.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "stack/mib.h"
#include "wire/addresses.h"

namespace usnet {

class Stack;

// Linux's neigh_parms defaults, the same for arp_tbl and nd_tbl (RFC 4861 10 gives the
// same numbers: RETRANS_TIMER 1 s, MAX_MULTICAST_SOLICIT 3, REACHABLE_TIME 30 s).
struct NeighConfig {
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
  IpAddress ip;
  MacAddress mac;  // valid unless kIncomplete
  NeighState state = NeighState::kIncomplete;
  bool is_router = false;       // RFC 4861 5.1 IsRouter, from the last NA's R flag (NDP only)
  unsigned probes = 0;          // solicitations sent in the current INCOMPLETE/PROBE episode
  Instant timer = kNever;       // next probe, or when REACHABLE turns STALE
  Instant used = kEpoch;        // last time a packet went out through it
  std::deque<Packet> queue;     // datagrams awaiting resolution (INCOMPLETE only)
  std::size_t queue_bytes = 0;  // the sum of their sizes
};

// What a protocol gives its table (Linux struct neigh_ops).
class NeighProtocol {
 public:
  virtual ~NeighProtocol() = default;
  // Sends one solicitation for n.ip: broadcast/multicast when `unicast` is null
  // (INCOMPLETE), else to that address (PROBE). n.queue holds what waits, if anything.
  virtual void solicit(Interface& ifc, const Neighbour& n, const MacAddress* unicast) = 0;
  // The datagrams dropped because resolution failed, after the table's walk, so the
  // senders can hear of it (Linux arp_error_report / ndisc_error_report).
  virtual void error_report(std::vector<Packet> dropped) = 0;
};

// What tells one table from the other: trace names, the EtherType of the datagrams it
// carries, and the counters its drops go to.
struct NeighTableParams {
  std::string_view name;  // "arp", "ndisc"
  std::uint16_t ethertype = 0;
  std::uint64_t MibCounters::*resolve_fails = nullptr;
  std::uint64_t MibCounters::*queue_drops = nullptr;
};

class NeighTable {
 public:
  NeighTable(Stack& stack, NeighProtocol& proto, NeighTableParams params, NeighConfig config)
      : stack_(stack), proto_(proto), params_(params), config_(config) {}

  Neighbour* lookup(std::uint32_t ifindex, const IpAddress& ip);
  const Neighbour* find(std::uint32_t ifindex, const IpAddress& ip) const;
  std::vector<const Neighbour*> entries() const;
  // A new INCOMPLETE entry, evicting a STALE one when the table is full; null when none
  // can go.
  Neighbour* create(Interface& ifc, const IpAddress& ip);

  // Sends a datagram to `next_hop`, resolving it first if needed (Linux
  // neigh_resolve_output): queued while INCOMPLETE, probed when a STALE entry is used.
  void output(Interface& ifc, const IpAddress& next_hop, Packet pkt);
  // Sends a datagram to an entry's current address, whatever its state.
  void xmit(Interface& ifc, const Neighbour& n, Packet pkt);

  // The transitions a protocol's received messages cause (Linux neigh_update): the
  // neighbour answered us, so the address is known to work...
  void set_reachable(Neighbour& n);
  // ...or the address is known but unconfirmed.
  void set_stale(Neighbour& n);
  // Sends what waited for resolution, oldest first; the entry must have an address.
  void flush_queue(Neighbour& n);

  void tick(Instant now);
  Instant next_deadline() const noexcept;
  const NeighConfig& config() const noexcept { return config_; }

 private:
  struct Key {
    std::uint32_t ifindex;
    IpAddress ip;
    friend bool operator==(const Key&, const Key&) = default;
  };
  // Unkeyed, like the hash it replaces: the table is bounded (max_entries) and entries
  // are made only for neighbours that talk to us or that we send to.
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
      if (k.ip.is_v4())
        return static_cast<std::size_t>((std::uint64_t{k.ifindex} << 32) | k.ip.v4().value);
      return static_cast<std::size_t>(k.ip.fold() ^ k.ifindex);
    }
  };

  bool evict_one();
  void count_queue_drops(std::uint64_t n);

  Stack& stack_;
  NeighProtocol& proto_;
  NeighTableParams params_;
  NeighConfig config_;
  std::unordered_map<Key, Neighbour, KeyHash> table_;
};

}  // namespace usnet

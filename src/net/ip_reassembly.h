// IPv4 reassembly (RFC 791 section 3.2, with the hole bookkeeping of RFC 815 done as a
// sorted map of fragments).
//
// Defences (DESIGN.md invariant 4):
//   - Memory is bounded for the whole stack (high_thresh, like net.ipv4.ipfrag_high_thresh);
//     each fragment is charged its payload plus a fixed overhead, so floods of tiny
//     fragments are bounded too. When full, the oldest datagrams are evicted.
//   - Every datagram is abandoned after `timeout` (ipfrag_time, 30 s); the sender gets an
//     ICMP "fragment reassembly time exceeded" if we had its first fragment (RFC 1122
//     3.3.2).
//   - Overlapping fragments drop the whole datagram, as Linux does since 2018 (the same
//     rule RFC 5722 sets for IPv6): overlap is only ever an attack or a broken sender.
//     An exact duplicate of a fragment already held is ignored.
//   - A datagram may not exceed 65,535 bytes; fragments past a known end are refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "wire/ipv4.h"

namespace usnet {

struct ReassemblyConfig {
  std::size_t high_thresh = 4 * 1024 * 1024;  // bytes charged to all queues together
  Duration timeout = std::chrono::seconds(30);
  std::size_t overhead_per_fragment = 256;  // charge for bookkeeping, so tiny frags cost too
};

struct Reassembled {
  wire::Ipv4Header header;  // of the first fragment, with total_length of the whole
  Packet payload;           // the transport header and data, contiguous; unpull(20) gives
                            // a 20-byte IP header for the whole datagram
};

// What ip_defrag did with a fragment, for the counters.
enum class DefragOutcome : std::uint8_t { kHeld, kComplete, kDuplicate, kDropped };

class Ipv4Reassembly {
 public:
  explicit Ipv4Reassembly(ReassemblyConfig config = {}) : config_(config) {}

  struct Result {
    DefragOutcome outcome = DefragOutcome::kHeld;
    std::optional<Reassembled> datagram;  // set when kComplete
    unsigned failed_datagrams = 0;        // datagrams abandoned by this call (overlap, evict)
    unsigned overlaps = 0;
    unsigned memory_evictions = 0;
  };

  // `pkt.data()` starts at the IP header of a fragment; `hdr` is its parsed header.
  Result ip_defrag(Packet pkt, const wire::Ipv4Header& hdr, Instant now);

  // Datagrams that timed out. For each, the first fragment's IP header and first 8 payload
  // bytes (to quote in ICMP time exceeded) if the first fragment had arrived.
  struct Expired {
    std::optional<Packet> first_fragment;  // pkt.data() at the IP header
  };
  std::vector<Expired> tick(Instant now);
  Instant next_deadline() const noexcept;

  std::size_t memory() const noexcept { return mem_; }
  std::size_t queues() const noexcept { return queues_.size(); }

 private:
  struct Key {
    std::uint32_t src, dst;
    std::uint16_t id;
    std::uint8_t protocol;
    friend auto operator<=>(const Key&, const Key&) = default;  // NOLINT(modernize-use-nullptr)
  };
  struct Fragment {
    std::uint32_t end;  // offset past the last byte
    Packet data;        // payload only
  };
  struct Queue {
    Instant expires;
    std::uint64_t seq;                        // arrival order, for eviction
    std::map<std::uint32_t, Fragment> frags;  // by offset
    std::optional<std::uint32_t> total;       // payload length, once the last fragment came
    std::optional<Packet> first;              // IP header + payload of offset 0 (for ICMP)
    wire::Ipv4Header first_header;
    bool have_first = false;
    std::size_t charged = 0;
  };

  void drop(std::map<Key, Queue>::iterator it);
  bool complete(const Queue& q) const;
  Reassembled assemble(Queue& q);

  ReassemblyConfig config_;
  std::map<Key, Queue> queues_;
  std::size_t mem_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace usnet

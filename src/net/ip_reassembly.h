// Reassembly of IPv4 (RFC 791 section 3.2) and IPv6 (RFC 8200 section 4.5) datagrams,
// with the hole bookkeeping of RFC 815 done as a sorted map of fragments. The queues are
// one family-independent piece (Linux inet_frag_queue); Ipv4Reassembly and IPv6's caller
// say what a fragment's offset, length and end are and what header the whole gets.
//
// Defences (DESIGN.md invariant 4):
//   - Memory is bounded per family table (high_thresh, like net.ipv4.ipfrag_high_thresh
//     and net.ipv6.ip6frag_high_thresh); each fragment is charged its payload plus a fixed
//     overhead, so floods of tiny fragments are bounded too. When full, the oldest
//     datagrams are evicted.
//   - Every datagram is abandoned after `timeout` (ipfrag_time 30 s, ip6frag_time 60 s);
//     the sender gets an ICMP "fragment reassembly time exceeded" if we had its first
//     fragment (RFC 1122 3.3.2, RFC 8200 4.5).
//   - Overlapping fragments drop the whole datagram (RFC 5722 for IPv6; Linux does the
//     same for IPv4 since 2018): overlap is only ever an attack or a broken sender. An
//     exact duplicate of a fragment already held is ignored.
//   - A datagram may not exceed 65,535 bytes; fragments past a known end are refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/packet.h"
#include "base/time.h"
#include "wire/addresses.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace usnet {

struct ReassemblyConfig {
  std::size_t high_thresh = 4 * 1024 * 1024;  // bytes charged to all queues together
  Duration timeout = std::chrono::seconds(30);
  std::size_t overhead_per_fragment = 256;  // charge for bookkeeping, so tiny frags cost too
};

// What ip_defrag did with a fragment, for the counters.
enum class DefragOutcome : std::uint8_t { kHeld, kComplete, kDuplicate, kDropped };

// One fragment as the queues see it, whatever its family.
struct FragPiece {
  std::uint32_t offset = 0;    // of its payload in the datagram's fragmentable part
  std::uint32_t len = 0;       // payload bytes
  bool more = false;           // more fragments follow
  std::uint32_t max_end = 0;   // the largest end the family allows
  std::size_t header_len = 0;  // bytes in front of the payload in the packet
  std::size_t quote_len = 0;   // bytes of an offset-0 fragment kept to quote in ICMP
};

// The reassembly queues of one family. `Hdr` is what the family keeps of the first
// fragment (offset 0) to rebuild the whole datagram's header.
template <typename Hdr>
class FragQueues {
 public:
  explicit FragQueues(ReassemblyConfig config) : config_(config) {}

  struct Key {
    IpAddress src, dst;
    std::uint32_t id = 0;
    std::uint8_t protocol = 0;  // IPv4's protocol (part of its key); 0 for IPv6
    friend auto operator<=>(const Key&, const Key&) = default;  // NOLINT(modernize-use-nullptr)
  };
  struct Result {
    DefragOutcome outcome = DefragOutcome::kHeld;
    std::optional<Packet> payload;  // when kComplete: the whole payload, contiguous
    Hdr first_header{};             // when kComplete: the offset-0 fragment's
    unsigned failed_datagrams = 0;  // datagrams abandoned by this call (overlap, evict)
    unsigned overlaps = 0;
    unsigned memory_evictions = 0;
  };
  // `pkt.data()` starts at the fragment's headers; piece.header_len bytes precede its
  // payload.
  Result add(const Key& key, Packet pkt, const Hdr& hdr, const FragPiece& piece, Instant now);

  struct Expired {
    std::optional<Packet> first_fragment;  // the quote_len bytes kept of offset 0
  };
  std::vector<Expired> tick(Instant now);
  Instant next_deadline() const noexcept;
  std::size_t memory() const noexcept { return mem_; }
  std::size_t queues() const noexcept { return queues_.size(); }

 private:
  struct Fragment {
    std::uint32_t end;  // offset past the last byte
    Packet data;        // payload only
  };
  struct Queue {
    Instant expires;
    std::uint64_t seq;                        // arrival order, for eviction
    std::map<std::uint32_t, Fragment> frags;  // by offset
    std::optional<std::uint32_t> total;       // payload length, once the last fragment came
    std::optional<Packet> first;              // what is quoted of offset 0 (for ICMP)
    Hdr first_header{};
    bool have_first = false;
    std::size_t charged = 0;
  };
  using Map = std::map<Key, Queue>;

  void drop(typename Map::iterator it);
  static bool complete(const Queue& q);
  static Packet assemble(Queue& q);

  ReassemblyConfig config_;
  Map queues_;
  std::size_t mem_ = 0;
  std::uint64_t seq_ = 0;
};

struct Reassembled {
  wire::Ipv4Header header;  // of the first fragment, with total_length of the whole
  Packet payload;           // the transport header and data, contiguous; unpull(20) gives
                            // a 20-byte IP header for the whole datagram
};

class Ipv4Reassembly {
 public:
  explicit Ipv4Reassembly(ReassemblyConfig config = {}) : q_(config) {}

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
  using Expired = FragQueues<wire::Ipv4Header>::Expired;
  std::vector<Expired> tick(Instant now) { return q_.tick(now); }
  Instant next_deadline() const noexcept { return q_.next_deadline(); }

  std::size_t memory() const noexcept { return q_.memory(); }
  std::size_t queues() const noexcept { return q_.queues(); }

 private:
  FragQueues<wire::Ipv4Header> q_;
};

// What IPv6 keeps of a first fragment (RFC 8200 4.5): the fixed header and the next
// header the fragment header names, from which the whole packet's header is rebuilt.
struct Ipv6FragFirst {
  wire::Ipv6Header fixed;
  std::uint8_t next_header = 0;
};

}  // namespace usnet

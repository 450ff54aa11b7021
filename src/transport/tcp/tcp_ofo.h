// The out-of-order queue (RFC 9293 3.10.7.4 "seventh": data beyond RCV.NXT kept until the
// hole before it is filled), bounded by memory as Linux bounds its own (tcp_data_queue_ofo,
// tcp_prune_ofo_queue) rather than by a count of segments.
//
// Bytes are stored where they belong in the sequence space, in fixed-size chunks, and
// described by a set of byte ranges. Ranges that touch or overlap are merged as each
// segment arrives (what Linux's tcp_ooo_try_coalesce and tcp_collapse_ofo_queue achieve), so
// a flood of 1-byte segments after a hole costs one range, not one entry per segment, and
// is handed over whole once the hole is filled.
//
// Invariants:
//   ranges_ are disjoint, non-adjacent, sorted, non-empty, and all start above the offset
//   last passed to pull() (RCV.NXT).
//   bytes_ == the sum of the ranges' lengths.
//   Every byte inside a range is stored in chunks_; a chunk exists only while it may hold a
//   byte of a range (it is freed once RCV.NXT passes it, or the ranges in it are pruned).
//   fin_, when set, is at or after the end of the last range.
// Memory: insert() keeps memory() (chunks and ranges) within the caller's limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "base/byte_queue.h"
#include "base/bytes.h"

namespace usnet {

class OfoQueue {
 public:
  static constexpr std::size_t kChunk = 4096;
  // What one range costs in memory (a node of the map), for memory().
  static constexpr std::size_t kRangeCost = 64;

  struct Range {
    std::uint64_t start = 0;
    std::uint64_t end = 0;  // one past the last byte
  };

  // What insert() did with a segment, for the counters (Linux's nstat names).
  struct Insert {
    bool queued = false;        // the segment's bytes are held (TcpExtTCPOFOQueue)
    bool dropped = false;       // not held: no range left for it (TcpExtTCPOFODrop)
    bool duplicate = false;     // every byte was already held (TcpExtTCPOFOMerge)
    std::uint32_t covered = 0;  // ranges it covered whole and replaced (TcpExtTCPOFOMerge)
    bool coalesced = false;     // it extended a range it touched (TcpExtTCPRcvCoalesce)
    std::uint32_t pruned = 0;   // ranges dropped from the far end to make room (OfoPruned)
  };

  struct Limits {
    std::size_t max_ranges = 0;
    std::size_t max_memory = 0;  // as memory() counts it
  };

  // Holds `data` at offset `off` (offsets count from IRS + 1 and never wrap), with a FIN
  // after it if `fin`. A segment that would take the queue past a limit first takes the
  // place of the highest ranges that lie above it (tcp_prune_ofo_queue, which never drops
  // below the segment being queued); if that is not enough it is dropped. Data after a
  // FIN already held is cut off; a FIN elsewhere than the one held is ignored.
  Insert insert(std::uint64_t off, ByteSpan data, bool fin, const Limits& limits);

  // RCV.NXT has reached `off`: appends to `out` every held byte from `off` on that is now
  // in order, forgets what lies below, and returns the number of bytes appended.
  std::size_t pull(std::uint64_t off, ByteQueue& out);

  bool empty() const noexcept { return ranges_.empty() && !fin_; }
  std::size_t bytes() const noexcept { return bytes_; }
  std::size_t ranges() const noexcept { return ranges_.size(); }
  // Bytes of memory held: chunks and ranges.
  std::size_t memory() const noexcept {
    return chunks_.size() * kChunk + ranges_.size() * kRangeCost;
  }
  // The offset of a FIN held after the data, if any.
  std::optional<std::uint64_t> fin() const noexcept { return fin_; }
  // The range holding `off`, if any.
  std::optional<Range> range_at(std::uint64_t off) const;
  // Calls fn(Range) for each range, the highest first.
  template <typename Fn>
  void for_each_descending(Fn&& fn) const {
    for (auto it = ranges_.rbegin(); it != ranges_.rend(); ++it)
      fn(Range{it->first, it->second});
  }
  void clear() noexcept;

 private:
  void store(std::uint64_t off, ByteSpan data);
  // Chunks [off, end) touches that do not exist yet.
  std::size_t missing_chunks(std::uint64_t off, std::uint64_t end) const;
  void free_chunks_from(std::uint64_t chunk);

  std::map<std::uint64_t, std::uint64_t> ranges_;                 // start -> end
  std::map<std::uint64_t, std::unique_ptr<std::byte[]>> chunks_;  // offset / kChunk -> bytes
  std::size_t bytes_ = 0;
  std::optional<std::uint64_t> fin_;
};

}  // namespace usnet

#include "transport/tcp/tcp_ofo.h"

#include <algorithm>
#include <cstring>

namespace usnet {

std::size_t OfoQueue::missing_chunks(std::uint64_t off, std::uint64_t end) const {
  std::size_t n = 0;
  for (std::uint64_t c = off / kChunk; c * kChunk < end; ++c) {
    if (!chunks_.contains(c)) ++n;
  }
  return n;
}

OfoQueue::Insert OfoQueue::insert(std::uint64_t off, ByteSpan data, bool fin,
                                  const Limits& limits) {
  Insert r;
  // Nothing exists past a FIN: cut the data there; a FIN elsewhere than the one held is
  // a peer contradicting itself and is ignored.
  if (fin_) {
    if (off + data.size() > *fin_) {
      data = data.first(off < *fin_ ? static_cast<std::size_t>(*fin_ - off) : 0);
      fin = false;
    }
    if (fin && off + data.size() != *fin_) fin = false;
  }
  const std::uint64_t end = off + data.size();
  if (data.empty()) {
    const bool fin_fits = ranges_.empty() || std::prev(ranges_.end())->second <= off;
    if (fin && !fin_ && fin_fits) {
      fin_ = off;
      r.queued = true;
    } else if (fin && fin_ == off) {
      r.duplicate = true;  // the same FIN again
    } else {
      r.dropped = true;
    }
    return r;
  }

  // The first range that touches or overlaps [off, end], if any: ranges are non-adjacent,
  // so only the one starting at or before `off` can reach it from below.
  auto first_touching = [&] {
    auto it = ranges_.upper_bound(off);
    if (it != ranges_.begin()) {
      auto p = std::prev(it);
      if (p->second >= off) it = p;
    }
    return it;
  };
  auto it = first_touching();
  if (it != ranges_.end() && it->first <= off && it->second >= end) {
    r.duplicate = true;  // every byte already held (Linux: "All the bits are present")
    if (fin && !fin_ && it->second == end && std::next(it) == ranges_.end()) fin_ = end;
    return r;
  }

  // Make room: a new range past max_ranges, or memory past max_memory, first costs the
  // highest range if that lies above this segment (tcp_prune_ofo_queue), else this segment.
  for (;;) {
    it = first_touching();
    const bool new_range = it == ranges_.end() || it->first > end;
    const std::size_t after =
        memory() + missing_chunks(off, end) * kChunk + (new_range ? kRangeCost : 0);
    if (after <= limits.max_memory && (!new_range || ranges_.size() < limits.max_ranges)) break;
    if (ranges_.empty() || std::prev(ranges_.end())->first <= off) {
      r.dropped = true;
      return r;
    }
    const auto top = std::prev(ranges_.end());
    bytes_ -= static_cast<std::size_t>(top->second - top->first);
    ranges_.erase(top);
    fin_.reset();
    ++r.pruned;
    const std::uint64_t keep_to = ranges_.empty() ? end : std::max(end, ranges_.rbegin()->second);
    free_chunks_from((keep_to + kChunk - 1) / kChunk);
  }

  store(off, data);
  std::uint64_t lo = off;
  std::uint64_t hi = end;
  while (it != ranges_.end() && it->first <= end) {
    if (it->first >= off && it->second <= end) {
      ++r.covered;
    } else {
      r.coalesced = true;
    }
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    bytes_ -= static_cast<std::size_t>(it->second - it->first);
    it = ranges_.erase(it);
  }
  ranges_.emplace(lo, hi);
  bytes_ += static_cast<std::size_t>(hi - lo);
  // A FIN is taken only where it ends everything held.
  if (fin && !fin_ && hi == end && std::prev(ranges_.end())->second == end) fin_ = end;
  r.queued = true;
  return r;
}

std::size_t OfoQueue::pull(std::uint64_t off, ByteQueue& out) {
  std::size_t n = 0;
  while (!ranges_.empty() && ranges_.begin()->first <= off) {
    const auto [start, stop] = *ranges_.begin();
    for (std::uint64_t pos = off; pos < stop;) {
      const std::uint64_t c = pos / kChunk;
      const auto within = static_cast<std::size_t>(pos % kChunk);
      const auto len =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk - within, stop - pos));
      out.append(ByteSpan(chunks_.at(c).get() + within, len));
      pos += len;
      n += len;
    }
    off = std::max(off, stop);
    bytes_ -= static_cast<std::size_t>(stop - start);
    ranges_.erase(ranges_.begin());
  }
  // Chunks wholly below `off` hold nothing that can still be wanted.
  chunks_.erase(chunks_.begin(), chunks_.lower_bound(off / kChunk));
  if (ranges_.empty() && !fin_) chunks_.clear();
  return n;
}

std::optional<OfoQueue::Range> OfoQueue::range_at(std::uint64_t off) const {
  auto it = ranges_.upper_bound(off);
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (off >= it->second) return std::nullopt;
  return Range{it->first, it->second};
}

void OfoQueue::clear() noexcept {
  ranges_.clear();
  chunks_.clear();
  bytes_ = 0;
  fin_.reset();
}

void OfoQueue::store(std::uint64_t off, ByteSpan data) {
  while (!data.empty()) {
    const std::uint64_t c = off / kChunk;
    const auto within = static_cast<std::size_t>(off % kChunk);
    const std::size_t len = std::min(kChunk - within, data.size());
    auto& chunk = chunks_[c];
    if (!chunk) chunk = std::make_unique_for_overwrite<std::byte[]>(kChunk);
    std::memcpy(chunk.get() + within, data.data(), len);
    data = data.subspan(len);
    off += len;
  }
}

void OfoQueue::free_chunks_from(std::uint64_t chunk) {
  chunks_.erase(chunks_.lower_bound(chunk), chunks_.end());
}

}  // namespace usnet

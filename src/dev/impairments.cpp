#include "dev/impairments.h"

#include <algorithm>

namespace usnet {

void Channel::send(Instant now, Packet frame) {
  stats_.sent++;
  if (heap_.size() >= imp_.queue_limit) {
    stats_.queue_dropped++;
    return;
  }
  if (rng_.chance(imp_.loss)) {
    stats_.lost++;
    return;
  }
  if (rng_.chance(imp_.duplicate)) {
    stats_.duplicated++;
    schedule(now, frame.clone());
  }
  schedule(now, std::move(frame));
}

void Channel::schedule(Instant now, Packet frame) {
  if (!frame.empty() && rng_.chance(imp_.corrupt)) {
    const std::uint64_t bit = rng_.below(frame.size() * 8);
    frame.data()[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    stats_.corrupted++;
  }
  Instant at = now;
  if (imp_.rate_bps != 0) {
    // A frame is at most 64 KiB, so size * 8e9 fits easily in 64 bits.
    const auto tx_ns = static_cast<std::int64_t>(static_cast<std::uint64_t>(frame.size()) * 8 *
                                                 1'000'000'000ULL / imp_.rate_bps);
    const Instant start = std::max(now, link_free_);
    link_free_ = start + Duration{tx_ns};
    at = link_free_;
  }
  at += imp_.delay;
  if (imp_.jitter.count() > 0) {
    at += Duration{
        static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(imp_.jitter.count()) + 1))};
  }
  if (rng_.chance(imp_.reorder)) {
    const Duration hold = std::max<Duration>(imp_.delay, std::chrono::milliseconds(1));
    at += hold * static_cast<std::int64_t>(1 + rng_.below(3));
    stats_.reordered++;
  } else {
    at = std::max(at, last_fifo_);
    last_fifo_ = at;
  }
  heap_.push_back(Entry{at, seq_++, std::move(frame)});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

std::size_t Channel::receive(Instant now, std::vector<Packet>& out, std::size_t max) {
  std::size_t n = 0;
  while (n < max && !heap_.empty() && heap_.front().at <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    out.push_back(std::move(heap_.back().frame));
    heap_.pop_back();
    stats_.delivered++;
    ++n;
  }
  return n;
}

}  // namespace usnet

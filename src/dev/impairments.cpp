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
  if (!frame.empty() && rng_.chance(imp_.corrupt)) damage(frame);
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

void Channel::damage(Packet& frame) {
  std::uint8_t kinds[4];
  std::size_t nkinds = 0;
  for (std::uint8_t k = kCorruptBurst; k <= kCorruptWordSwap;
       k = static_cast<std::uint8_t>(k << 1)) {
    if ((imp_.corrupt_kinds & k) != 0) kinds[nkinds++] = k;
  }
  if (nkinds == 0) return;
  const std::uint8_t kind = kinds[rng_.below(nkinds)];
  MutableByteSpan b = frame.data();
  // The words that may be damaged: [first_word, first_word + words) x 2 bytes.
  const std::size_t first_word = (imp_.corrupt_from + 1) / 2;
  const std::size_t words = b.size() / 2 > first_word ? b.size() / 2 - first_word : 0;
  auto word_at = [&](std::size_t i) { return b.subspan((first_word + i) * 2, 2); };
  constexpr int kTries = 8;  // looks for something different to swap before giving up
  switch (kind) {
    case kCorruptBurst: {
      if (words == 0) return;
      const std::size_t flips = 2 + rng_.below(14);  // 2..15
      std::uint16_t mask = 0;
      while (static_cast<std::size_t>(__builtin_popcount(mask)) < flips)
        mask = static_cast<std::uint16_t>(mask | (1u << rng_.below(16)));
      auto w = word_at(rng_.below(words));
      w[0] ^= static_cast<std::byte>(mask >> 8);
      w[1] ^= static_cast<std::byte>(mask & 0xff);
      stats_.corrupted_burst++;
      break;
    }
    case kCorruptScatter: {
      if (b.size() <= imp_.corrupt_from) return;
      const std::uint64_t bits = (b.size() - imp_.corrupt_from) * 8;
      const std::size_t flips =
          static_cast<std::size_t>(std::min<std::uint64_t>(2 + rng_.below(7), bits));
      if (flips < 2) return;
      std::uint64_t chosen[8];
      for (std::size_t i = 0; i < flips; ++i) {
        std::uint64_t bit = 0;
        do {
          bit = rng_.below(bits);
        } while (std::find(chosen, chosen + i, bit) != chosen + i);
        chosen[i] = bit;
        b[imp_.corrupt_from + bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
      }
      stats_.corrupted_scatter++;
      break;
    }
    case kCorruptByteSwap: {
      if (words == 0) return;
      for (int t = 0;; ++t) {
        if (t == kTries) return;
        auto w = word_at(rng_.below(words));
        if (w[0] == w[1]) continue;
        std::swap(w[0], w[1]);
        break;
      }
      stats_.corrupted_byte_swap++;
      break;
    }
    default: {  // kCorruptWordSwap
      if (words < 2) return;
      for (int t = 0;; ++t) {
        if (t == kTries) return;
        const std::size_t i = rng_.below(words);
        const std::size_t j = rng_.below(words);
        auto wi = word_at(i);
        auto wj = word_at(j);
        if (wi[0] == wj[0] && wi[1] == wj[1]) continue;  // also i == j
        std::swap_ranges(wi.begin(), wi.end(), wj.begin());
        break;
      }
      stats_.corrupted_word_swap++;
      break;
    }
  }
  stats_.corrupted++;
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

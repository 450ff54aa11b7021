// Seeded impairments of one direction of a simulated link, and the Channel that applies
// them: the scheduling both the memory wire and the switch use.
//
// A frame handed to a Channel at `now` is (in this order) dropped if the channel already
// holds queue_limit frames, lost with probability `loss`, duplicated with probability
// `duplicate`; each copy may get one random bit flipped (`corrupt`), is serialised at
// `rate_bps` after the frames before it (a frame cannot start before the previous one has
// finished), then delayed by `delay` plus a uniform 0..`jitter`. Frames keep FIFO order
// despite jitter (a later frame is never delivered before an earlier one) unless chosen
// for reordering (`reorder`): such a frame is held back by a further 1..3 x max(delay, 1 ms)
// so that later frames overtake it. Everything random comes from the channel's own seeded
// Rng: the same seed and the same calls give the same frames at the same times.
#pragma once

#include <cstdint>
#include <vector>

#include "base/packet.h"
#include "base/rng.h"
#include "base/time.h"

namespace usnet {

struct Impairments {
  double loss = 0.0;
  double duplicate = 0.0;
  double reorder = 0.0;
  double corrupt = 0.0;
  Duration delay{0};
  Duration jitter{0};
  std::uint64_t rate_bps = 0;      // 0: unlimited
  std::size_t queue_limit = 4096;  // frames in flight in this direction
};

struct ChannelStats {
  std::uint64_t sent = 0;  // frames handed to the channel
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t delivered = 0;  // frames taken out by receive()
  std::uint64_t queue_dropped = 0;
};

class Channel {
 public:
  Channel(Impairments imp, std::uint64_t seed) : imp_(imp), rng_(seed) {}

  void send(Instant now, Packet frame);
  // Moves up to `max` frames due by `now` to `out`, in delivery order.
  std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max);
  Instant next_deadline() const noexcept { return heap_.empty() ? kNever : heap_.front().at; }
  std::size_t in_flight() const noexcept { return heap_.size(); }
  const ChannelStats& stats() const noexcept { return stats_; }
  const Impairments& impairments() const noexcept { return imp_; }

 private:
  struct Entry {
    Instant at;
    std::uint64_t seq;  // ties in `at` go in send order
    Packet frame;
  };
  static bool later(const Entry& a, const Entry& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
  void schedule(Instant now, Packet frame);

  Impairments imp_;
  Rng rng_;
  std::vector<Entry> heap_;  // min-heap on (at, seq)
  std::uint64_t seq_ = 0;
  Instant link_free_ = kEpoch;  // when the serialiser finishes its current frame
  Instant last_fifo_ = kEpoch;  // delivery time of the latest in-order frame
  ChannelStats stats_;
};

}  // namespace usnet

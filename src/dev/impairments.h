// Seeded impairments of one direction of a simulated link, and the Channel that applies
// them: the scheduling both the memory wire and the switch use.
//
// A frame handed to a Channel at `now` is (in this order) dropped if the channel already
// holds queue_limit frames, lost with probability `loss`, duplicated with probability
// `duplicate`; each copy may be damaged (`corrupt`, see CorruptKind), is serialised at
// `rate_bps` after the frames before it (a frame cannot start before the previous one has
// finished), then delayed by `delay` plus a uniform 0..`jitter`. Frames keep FIFO order
// despite jitter (a later frame is never delivered before an earlier one) unless chosen
// for reordering (`reorder`): such a frame is held back by a further 1..3 x max(delay, 1 ms)
// so that later frames overtake it. Everything random comes from the channel's own seeded
// Rng: the same seed and the same calls give the same frames at the same times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/packet.h"
#include "base/rng.h"
#include "base/time.h"

namespace usnet {

// How a damaged frame is damaged. A frame chosen for damage gets one kind, drawn uniformly
// from Impairments::corrupt_kinds. "Word" means an aligned 16-bit word: offsets are even
// from the start of the frame, and an IPv4 header starts at an even offset (14, or 18 with
// a VLAN tag), so these are the words the Internet checksum adds (RFC 1071).
enum CorruptKind : std::uint8_t {
  // 2..15 bits flipped inside one word. Always caught by a checksum that covers the word:
  // a word changed into any other value changes the ones' complement sum, except 0x0000 <->
  // 0xffff, which takes all 16 bits.
  kCorruptBurst = 1,
  // 2..8 distinct bits flipped anywhere. Caught unless the flips cancel in the sum (a bit
  // set in one word and the same bit cleared in another: about 1 in 32 for two flips).
  kCorruptScatter = 2,
  // The two bytes of one word swapped (chosen where they differ). Always caught: the sum
  // changes by 255 x (difference of the bytes), never a multiple of 0xffff.
  kCorruptByteSwap = 4,
  // Two different words swapped. Never caught by the Internet checksum: addition does not
  // see the order of its terms.
  kCorruptWordSwap = 8,
};
inline constexpr std::uint8_t kCorruptCaught = kCorruptBurst | kCorruptByteSwap;
inline constexpr std::uint8_t kCorruptAll =
    kCorruptBurst | kCorruptScatter | kCorruptByteSwap | kCorruptWordSwap;

struct Impairments {
  double loss = 0.0;
  double duplicate = 0.0;
  double reorder = 0.0;
  double corrupt = 0.0;  // probability a frame copy is damaged
  std::uint8_t corrupt_kinds = kCorruptAll;
  // Bytes before this offset are never damaged (e.g. 34: only what follows the Ethernet
  // and a 20-byte IPv4 header). A frame the drawn kind does not fit into (too short after
  // the offset, or nothing different to swap) passes intact and is not counted.
  std::size_t corrupt_from = 0;
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
  std::uint64_t corrupted = 0;  // frames damaged, of every kind
  std::uint64_t corrupted_burst = 0;
  std::uint64_t corrupted_scatter = 0;
  std::uint64_t corrupted_byte_swap = 0;
  std::uint64_t corrupted_word_swap = 0;
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
  void damage(Packet& frame);

  Impairments imp_;
  Rng rng_;
  std::vector<Entry> heap_;  // min-heap on (at, seq)
  std::uint64_t seq_ = 0;
  Instant link_free_ = kEpoch;  // when the serialiser finishes its current frame
  Instant last_fifo_ = kEpoch;  // delivery time of the latest in-order frame
  ChannelStats stats_;
};

}  // namespace usnet

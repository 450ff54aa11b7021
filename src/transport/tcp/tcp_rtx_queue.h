// The sender's record of each segment in flight: its sequence range, when it last went out,
// and what the ACKs have said about it. Linux keeps this as the skbs of its retransmission
// queue (their skb_mstamp_ns and TCP_SKB_CB(skb)->sacked bits); usnet cuts segments out of
// one byte queue at send time, so it keeps the cuts here instead. RACK (RFC 8985) needs the
// send times, DSACK undo (RFC 2883, Linux undo_retrans) the retransmitted bits.
//
// Invariants:
//   the records are sorted by sequence number, disjoint and adjacent: each one's end is the
//   next one's seq, the first one's seq is SND.UNA (after acked()), the last one's end is
//   SND.MAX; a record is never empty (a FIN counts as one sequence number).
//   Memory: one record per segment in flight, in a ring that only grows (no allocation per
//   segment once the window has been reached).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/timer_wheel.h"
#include "transport/tcp/seq.h"

namespace usnet {

struct TcpSentSeg {
  // Linux TCPCB_SACKED_ACKED, TCPCB_LOST, TCPCB_SACKED_RETRANS (the retransmission is in
  // flight), TCPCB_EVER_RETRANS.
  static constexpr std::uint8_t kSacked = 1;
  static constexpr std::uint8_t kLost = 2;
  static constexpr std::uint8_t kRetrans = 4;
  static constexpr std::uint8_t kEverRetrans = 8;

  SeqNum seq;
  SeqNum end;
  Instant xmit = kEpoch;  // the last (re)transmission
  std::uint8_t flags = 0;

  std::uint32_t len() const noexcept { return static_cast<std::uint32_t>(end - seq); }
  bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
};

class TcpRtxQueue {
 public:
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  TcpSentSeg& operator[](std::size_t i) noexcept { return ring_[(head_ + i) & (cap() - 1)]; }
  const TcpSentSeg& operator[](std::size_t i) const noexcept {
    return ring_[(head_ + i) & (cap() - 1)];
  }
  TcpSentSeg& back() noexcept { return (*this)[count_ - 1]; }

  // New data [seq, end) went out for the first time at `now` (seq is the last end).
  void sent(SeqNum seq, SeqNum end, Instant now);
  // [seq, end) went out again at `now`: the records it covers are split where its edges
  // fall inside one, and marked retransmitted. Returns how many records it covered.
  std::size_t retransmitted(SeqNum seq, SeqNum end, Instant now);
  // The cumulative ACK reached `una`: the records below it go, a record it cuts is trimmed.
  void acked(SeqNum una);
  // The index of the record holding `seq`, or size() if none does.
  std::size_t find(SeqNum seq) const noexcept;
  void clear() noexcept {
    head_ = 0;
    count_ = 0;
  }

 private:
  std::size_t cap() const noexcept { return ring_.size(); }
  void grow();
  // Splits record i at `at` (inside it): the second part becomes record i + 1.
  void split(std::size_t i, SeqNum at);

  std::vector<TcpSentSeg> ring_;  // power-of-two size
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace usnet

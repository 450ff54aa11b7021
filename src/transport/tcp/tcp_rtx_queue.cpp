#include "transport/tcp/tcp_rtx_queue.h"

#include <utility>

namespace usnet {

void TcpRtxQueue::grow() {
  std::vector<TcpSentSeg> bigger(cap() == 0 ? 16 : cap() * 2);
  for (std::size_t i = 0; i < count_; ++i)
    bigger[i] = (*this)[i];
  ring_ = std::move(bigger);
  head_ = 0;
}

void TcpRtxQueue::sent(SeqNum seq, SeqNum end, Instant now) {
  if (!(seq < end)) return;
  if (count_ == cap()) grow();
  ring_[(head_ + count_) & (cap() - 1)] = TcpSentSeg{seq, end, now, 0};
  ++count_;
}

void TcpRtxQueue::split(std::size_t i, SeqNum at) {
  if (count_ == cap()) grow();
  // Shift the records after i up by one (splits are rare: a retransmission cut at other
  // edges than the original, after the MSS fell or the ACK cut a segment).
  for (std::size_t j = count_; j > i + 1; --j)
    (*this)[j] = (*this)[j - 1];
  ++count_;
  TcpSentSeg& first = (*this)[i];
  TcpSentSeg second = first;
  second.seq = at;
  first.end = at;
  (*this)[i + 1] = second;
}

std::size_t TcpRtxQueue::find(SeqNum seq) const noexcept {
  // Binary search: records are sorted and adjacent.
  std::size_t lo = 0;
  std::size_t hi = count_;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    const TcpSentSeg& r = (*this)[mid];
    if (r.end <= seq) {
      lo = mid + 1;
    } else if (seq < r.seq) {
      hi = mid;
    } else {
      return mid;
    }
  }
  return count_;
}

std::size_t TcpRtxQueue::retransmitted(SeqNum seq, SeqNum end, Instant now) {
  std::size_t i = find(seq);
  if (i == count_) return 0;
  if ((*this)[i].seq < seq) {
    split(i, seq);
    ++i;
  }
  std::size_t covered = 0;
  for (; i < count_ && (*this)[i].seq < end; ++i) {
    if (end < (*this)[i].end) split(i, end);
    TcpSentSeg& r = (*this)[i];
    r.xmit = now;
    // A lost record stays lost (Linux keeps TCPCB_LOST): in flight again only through its
    // retransmitted bit, which RACK clears if the retransmission is lost too.
    r.flags |= TcpSentSeg::kRetrans | TcpSentSeg::kEverRetrans;
    ++covered;
  }
  return covered;
}

void TcpRtxQueue::acked(SeqNum una) {
  while (count_ != 0) {
    TcpSentSeg& r = ring_[head_];
    if (una < r.end) {
      if (r.seq < una) r.seq = una;
      return;
    }
    head_ = (head_ + 1) & (cap() - 1);
    --count_;
  }
}

}  // namespace usnet

#include "net/ip_reassembly.h"

#include <algorithm>
#include <cstring>

namespace usnet {

void Ipv4Reassembly::drop(std::map<Key, Queue>::iterator it) {
  mem_ -= it->second.charged;
  queues_.erase(it);
}

Ipv4Reassembly::Result Ipv4Reassembly::ip_defrag(Packet pkt, const wire::Ipv4Header& hdr,
                                                 Instant now) {
  Result r;
  const Key key{hdr.src.value, hdr.dst.value, hdr.id, hdr.protocol};
  const std::uint32_t offset = hdr.fragment_offset;
  const std::uint32_t len = static_cast<std::uint32_t>(hdr.payload_length());
  const std::uint32_t end = offset + len;

  // RFC 791: every fragment but the last carries a multiple of 8 bytes; nothing may reach
  // past 65,535 - 20 bytes of payload; a non-last fragment must carry data.
  const bool bad = end > 65535u - wire::Ipv4Header::kMinSize ||
                   (hdr.more_fragments && (len == 0 || (len & 7) != 0));

  auto it = queues_.find(key);
  if (bad) {
    if (it != queues_.end()) {
      drop(it);
      r.failed_datagrams++;
    }
    r.outcome = DefragOutcome::kDropped;
    return r;
  }

  const std::size_t charge = len + config_.overhead_per_fragment;
  // Make room by abandoning the oldest datagrams (never the one this fragment belongs to).
  while (mem_ + charge > config_.high_thresh) {
    auto oldest = queues_.end();
    for (auto q = queues_.begin(); q != queues_.end(); ++q) {
      if (q == it) continue;
      if (oldest == queues_.end() || q->second.seq < oldest->second.seq) oldest = q;
    }
    if (oldest == queues_.end()) {
      r.memory_evictions++;
      r.outcome = DefragOutcome::kDropped;
      return r;
    }
    drop(oldest);
    r.failed_datagrams++;
    r.memory_evictions++;
  }

  if (it == queues_.end()) {
    Queue q;
    q.expires = now + config_.timeout;
    q.seq = seq_++;
    it = queues_.emplace(key, std::move(q)).first;
  }
  Queue& q = it->second;

  // The end of the datagram: fixed by the last fragment; nothing may contradict it.
  if (!hdr.more_fragments) {
    if ((q.total && *q.total != end) ||
        (!q.frags.empty() && std::prev(q.frags.end())->second.end > end)) {
      drop(it);
      r.failed_datagrams++;
      r.outcome = DefragOutcome::kDropped;
      return r;
    }
    q.total = end;
  } else if (q.total && end > *q.total) {
    drop(it);
    r.failed_datagrams++;
    r.outcome = DefragOutcome::kDropped;
    return r;
  }

  // Overlap check against the neighbours in offset order.
  auto next = q.frags.lower_bound(offset);
  if (next != q.frags.end() && next->first == offset && next->second.end == end) {
    r.outcome = DefragOutcome::kDuplicate;
    return r;
  }
  const bool overlaps_next = next != q.frags.end() && next->first < end;
  const bool overlaps_prev = next != q.frags.begin() && std::prev(next)->second.end > offset;
  if (overlaps_next || overlaps_prev) {
    drop(it);
    r.failed_datagrams++;
    r.overlaps++;
    r.outcome = DefragOutcome::kDropped;
    return r;
  }

  if (offset == 0) {
    q.first_header = hdr;
    q.have_first = true;
    // Keep the IP header and 8 payload bytes to quote if this datagram times out.
    const std::size_t keep = std::min<std::size_t>(pkt.size(), hdr.header_length + 8u);
    q.first = Packet::copy_of(pkt.data().first(keep));
  }
  pkt.pull(hdr.header_length);
  pkt.truncate(len);
  q.frags.emplace(offset, Fragment{end, std::move(pkt)});
  q.charged += charge;
  mem_ += charge;

  if (!complete(q)) {
    r.outcome = DefragOutcome::kHeld;
    return r;
  }
  r.datagram = assemble(q);
  drop(it);
  r.outcome = DefragOutcome::kComplete;
  return r;
}

bool Ipv4Reassembly::complete(const Queue& q) const {
  if (!q.total || !q.have_first) return false;
  std::uint32_t covered = 0;
  for (const auto& [off, f] : q.frags) {
    if (off != covered) return false;  // a hole (no overlaps exist by construction)
    covered = f.end;
  }
  return covered == *q.total;
}

Reassembled Ipv4Reassembly::assemble(Queue& q) {
  Reassembled out;
  out.header = q.first_header;
  out.header.more_fragments = false;
  out.header.fragment_offset = 0;
  // The whole datagram is handed up with a plain 20-byte header in front of the payload
  // (options of the first fragment are not kept), so that, like any other datagram, the
  // transport can unpull() it to quote in an ICMP error.
  out.header.header_length = wire::Ipv4Header::kMinSize;
  out.header.total_length = static_cast<std::uint16_t>(wire::Ipv4Header::kMinSize + *q.total);
  out.payload = Packet(*q.total);
  for (auto& [off, f] : q.frags)
    out.payload.append(f.data.data());
  out.header.emit(out.payload.push(wire::Ipv4Header::kMinSize));
  out.payload.pull(wire::Ipv4Header::kMinSize);
  return out;
}

std::vector<Ipv4Reassembly::Expired> Ipv4Reassembly::tick(Instant now) {
  std::vector<Expired> out;
  for (auto it = queues_.begin(); it != queues_.end();) {
    if (now < it->second.expires) {
      ++it;
      continue;
    }
    Expired e;
    if (it->second.have_first) e.first_fragment = std::move(it->second.first);
    out.push_back(std::move(e));
    auto victim = it++;
    drop(victim);
  }
  return out;
}

Instant Ipv4Reassembly::next_deadline() const noexcept {
  Instant t = kNever;
  for (const auto& [k, q] : queues_)
    t = earliest(t, q.expires);
  return t;
}

}  // namespace usnet

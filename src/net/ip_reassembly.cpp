#include "net/ip_reassembly.h"

#include <algorithm>
#include <cstring>

namespace usnet {

template <typename Hdr>
void FragQueues<Hdr>::drop(typename Map::iterator it) {
  mem_ -= it->second.charged;
  queues_.erase(it);
}

template <typename Hdr>
typename FragQueues<Hdr>::Result FragQueues<Hdr>::add(const Key& key, Packet pkt, const Hdr& hdr,
                                                      const FragPiece& piece, Instant now) {
  Result r;
  const std::uint32_t offset = piece.offset;
  const std::uint32_t len = piece.len;
  const std::uint32_t end = offset + len;

  // Every fragment but the last carries a multiple of 8 bytes (RFC 791 3.2, RFC 8200 4.5);
  // nothing may reach past the family's largest datagram; a non-last fragment has data.
  const bool bad = end > piece.max_end || (piece.more && (len == 0 || (len & 7) != 0));

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
  if (!piece.more) {
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
    const std::size_t keep = std::min(pkt.size(), piece.quote_len);
    q.first = Packet::copy_of(pkt.data().first(keep));
  }
  pkt.pull(piece.header_len);
  pkt.truncate(len);
  q.frags.emplace(offset, Fragment{end, std::move(pkt)});
  q.charged += charge;
  mem_ += charge;

  if (!complete(q)) {
    r.outcome = DefragOutcome::kHeld;
    return r;
  }
  r.first_header = q.first_header;
  r.payload = assemble(q);
  drop(it);
  r.outcome = DefragOutcome::kComplete;
  return r;
}

template <typename Hdr>
bool FragQueues<Hdr>::complete(const Queue& q) {
  if (!q.total || !q.have_first) return false;
  std::uint32_t covered = 0;
  for (const auto& [off, f] : q.frags) {
    if (off != covered) return false;  // a hole (no overlaps exist by construction)
    covered = f.end;
  }
  return covered == *q.total;
}

template <typename Hdr>
Packet FragQueues<Hdr>::assemble(Queue& q) {
  Packet out(*q.total);  // default headroom: room for the header the family puts back
  for (auto& [off, f] : q.frags)
    out.append(f.data.data());
  return out;
}

template <typename Hdr>
std::vector<typename FragQueues<Hdr>::Expired> FragQueues<Hdr>::tick(Instant now) {
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

template <typename Hdr>
Instant FragQueues<Hdr>::next_deadline() const noexcept {
  Instant t = kNever;
  for (const auto& [k, q] : queues_)
    t = earliest(t, q.expires);
  return t;
}

template class FragQueues<wire::Ipv4Header>;
template class FragQueues<Ipv6FragFirst>;

Ipv4Reassembly::Result Ipv4Reassembly::ip_defrag(Packet pkt, const wire::Ipv4Header& hdr,
                                                 Instant now) {
  FragPiece piece;
  piece.offset = hdr.fragment_offset;
  piece.len = static_cast<std::uint32_t>(hdr.payload_length());
  piece.more = hdr.more_fragments;
  piece.max_end = 65535u - wire::Ipv4Header::kMinSize;
  piece.header_len = hdr.header_length;
  piece.quote_len = hdr.header_length + 8u;  // the IP header and 8 bytes (RFC 792)
  auto q = q_.add({IpAddress(hdr.src), IpAddress(hdr.dst), hdr.id, hdr.protocol}, std::move(pkt),
                  hdr, piece, now);
  Result r;
  r.outcome = q.outcome;
  r.failed_datagrams = q.failed_datagrams;
  r.overlaps = q.overlaps;
  r.memory_evictions = q.memory_evictions;
  if (q.outcome != DefragOutcome::kComplete) return r;
  // The whole datagram goes up with a plain 20-byte header in front of the payload
  // (options of the first fragment are not kept), so that, like any other datagram, the
  // transport can unpull() it to quote in an ICMP error.
  Reassembled out;
  out.header = q.first_header;
  out.header.more_fragments = false;
  out.header.fragment_offset = 0;
  out.header.header_length = wire::Ipv4Header::kMinSize;
  out.header.total_length =
      static_cast<std::uint16_t>(wire::Ipv4Header::kMinSize + q.payload->size());
  out.payload = std::move(*q.payload);
  out.header.emit(out.payload.push(wire::Ipv4Header::kMinSize));
  out.payload.pull(wire::Ipv4Header::kMinSize);
  r.datagram = std::move(out);
  return r;
}

}  // namespace usnet

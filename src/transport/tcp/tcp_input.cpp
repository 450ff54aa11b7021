// Segment arrival, transcribed from RFC 9293 3.10.7 (SYN-SENT: 3.10.7.3; other states:
// 3.10.7.4, "first check sequence number" ... "eighth, check the FIN bit"), with RFC 5961's
// defences, RFC 7323's PAWS, SACK (RFC 2018/6675) and NewReno recovery (RFC 6582).
#include <algorithm>

#include <fmt/format.h>

#include "stack/stack.h"
#include "transport/tcp/tcp_ecn.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpRst;
using wire::kTcpSyn;

std::uint32_t rcv_wnd(const TcpSock& sk) {
  const std::int32_t w = sk.rcv_adv - sk.rcv_nxt;
  return w > 0 ? static_cast<std::uint32_t>(w) : 0;
}

// RFC 7323 5.3: PAWS rejects a segment whose timestamp is older than TS.Recent, unless
// TS.Recent is over 24 days old (5.5) or the segment is a RST.
bool paws_reject(const TcpSock& sk, const TcpSegment& seg) {
  if (!sk.ts_ok || !seg.h.options.ts_val || seg.h.has(kTcpRst)) return false;
  if (static_cast<std::int32_t>(*seg.h.options.ts_val - sk.ts_recent) >= 0) return false;
  if (sk.stack.now() - sk.ts_recent_stamp > std::chrono::hours(24 * 24)) return false;
  return true;
}

// RFC 9293 3.10.7.4, first: the four acceptability cases. A segment starting exactly at
// RCV.NXT is taken even into a zero window so that its ACK and FIN are processed (Linux
// does the same; its data is trimmed away).
bool seq_acceptable(const TcpSock& sk, const TcpSegment& seg) {
  const std::uint32_t len = seg.len();
  const std::uint32_t wnd = rcv_wnd(sk);
  const SeqNum lo = sk.rcv_nxt;
  const SeqNum hi = sk.rcv_nxt + wnd;
  if (seg.seq == lo) return true;
  if (len == 0) return wnd != 0 && seg.seq.in_window(lo, hi);
  if (wnd == 0) return false;
  return seg.seq.in_window(lo, hi) || (seg.seq + len - 1).in_window(lo, hi);
}

// RFC 9293 says to answer an unacceptable segment; Linux (tcp_oow_rate_limited) allows one
// such answer per tcp_invalid_ratelimit (500 ms) per socket so that a blind injector cannot
// start an ACK storm. Data segments (without SYN) are exempt, as in Linux: they are not part
// of an ACK loop, and their sender needs the duplicate ACK (and DSACK) to stop
// retransmitting.
bool oow_rate_limited(TcpSock& sk, const TcpSegment& seg, std::uint64_t& skipped) {
  if (!seg.payload.empty() && !seg.h.has(kTcpSyn)) return false;
  return tcp_oow_rate_limited(sk, skipped);
}

void ack_out_of_window(TcpSock& sk, const TcpSegment& seg) {
  if (!oow_rate_limited(sk, seg, sk.stack.mib().TcpExtTCPACKSkippedSeq)) tcp_send_ack(sk);
}

// Linux tcp_send_dupack: a data segment wholly or partly below RCV.NXT is a retransmission
// we did not need: ACK at once (quick-ACK mode, so the sender's next ones are not delayed
// either) and report it as a duplicate (RFC 2883).
void tcp_send_dupack(TcpSock& sk, const TcpSegment& seg, std::uint64_t& skipped) {
  const SeqNum end = seg.seq + static_cast<std::uint32_t>(seg.payload.size());
  if (!seg.payload.empty() && seg.seq < sk.rcv_nxt) {
    sk.stack.mib().TcpExtDelayedACKLost++;
    tcp_incr_quickack(sk, kTcpMaxQuickacks);
    tcp_dsack_set(sk, seg.seq, seq_min(end, sk.rcv_nxt));
  }
  if (!oow_rate_limited(sk, seg, skipped)) tcp_send_ack(sk);
}

// A SYN repeated in SYN-RECEIVED: the peer never got our SYN,ACK (a passive open, Linux
// tcp_check_req; or a simultaneous open, RFC 9293 figure 8). It lies before RCV.NXT, so
// the sequence check would answer it with a bare ACK, which a peer still in SYN-SENT
// drops; it gets the SYN,ACK again, rate-limited as any answer to an old segment. The
// handshake's round trip can then no longer be timed from our SYN,ACK (Karn).
bool tcp_synrecv_repeated_syn(TcpSock& sk, const TcpSegment& seg) {
  if (sk.state != TcpState::kSynReceived || !seg.h.has(kTcpSyn) || seg.h.has(kTcpAck) ||
      seg.h.has(kTcpRst) || seg.seq != sk.irs) {
    return false;
  }
  if (oow_rate_limited(sk, seg, sk.stack.mib().TcpExtTCPACKSkippedSynRecv)) return true;
  sk.stack.mib().TcpRetransSegs++;
  sk.total_retrans++;
  tcp_send_synack(sk);
  sk.rtt_time = kEpoch;
  return true;
}

// RFC 9293 figure 8, line 6 (simultaneous open): in SYN-RECEIVED the peer's SYN,ACK, whose
// SYN is the one we have (just before RCV.NXT) and whose ACK covers our SYN, completes the
// handshake. The sequence and SYN checks would refuse it; Linux lets exactly this segment
// through (tcp_validate_incoming) and acknowledges it. Never for a passive open, whose
// peer opened with a SYN and sends no SYN,ACK.
bool is_crossed_synack(const TcpSock& sk, const TcpSegment& seg) {
  return sk.state == TcpState::kSynReceived && sk.owner != TcpSock::Owner::kListener &&
         seg.h.has(kTcpSyn) && seg.h.has(kTcpAck) && !seg.h.has(kTcpRst) && !seg.h.has(kTcpFin) &&
         seg.payload.empty() && seg.seq + 1 == sk.rcv_nxt && seg.ack == sk.snd_nxt;
}

// The FIN has arrived in order (eighth step).
void tcp_fin(TcpSock& sk) {
  sk.rcv_fin = true;
  switch (sk.state) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      tcp_set_state(sk, TcpState::kCloseWait);
      break;
    case TcpState::kFinWait1:
      // Our FIN not yet acknowledged: both ends closed at once (CLOSING).
      if (sk.snd_una == sk.fin_seq() + 1) {
        tcp_time_wait(sk);
      } else {
        tcp_set_state(sk, TcpState::kClosing);
      }
      break;
    case TcpState::kFinWait2:
      tcp_time_wait(sk);
      break;
    default:
      break;
  }
  tcp_send_ack(sk);
}

void tcp_rcv_nxt_advance(TcpSock& sk, std::size_t n) {
  sk.rcv_nxt += static_cast<std::uint32_t>(n);
  sk.rcv_nxt_off += n;
  sk.bytes_received += n;
  if (n > 0) sk.last_rx_stamp = sk.stack.now();
}

// The out-of-order queue's bounds, by memory as Linux's (sk_rcvbuf, tcp_prune_ofo_queue):
// what the receive space leaves free, plus the two chunks a window's edges may straddle;
// and one range per KiB of receive space (at least 16), far more than the holes of a
// window of full-sized segments, far fewer than a flood of 1-byte segments could ask.
OfoQueue::Limits tcp_ofo_limits(const TcpSock& sk) {
  const std::size_t space = sk.rcv_space_max();
  const std::size_t free = space > sk.rcvq.size() ? space - sk.rcvq.size() : 0;
  OfoQueue::Limits l;
  l.max_ranges = std::max<std::size_t>(16, space / 1024);
  l.max_memory = free + 2 * OfoQueue::kChunk + l.max_ranges * OfoQueue::kRangeCost;
  return l;
}

// Seventh and eighth steps: queue data in order, keep out-of-order data (bounded), take the
// FIN when everything before it has arrived.
void tcp_data_queue(TcpSock& sk, const TcpSegment& seg) {
  MibCounters& mib = sk.stack.mib();
  SeqNum seq = seg.seq;
  ByteSpan data = seg.payload;
  bool fin = seg.h.has(kTcpFin);
  if (seg.h.has(kTcpSyn)) seq += 1;  // data on a SYN starts after it
  // RFC 3168 6.1.3: the sender's CWR ends our ECE (Linux tcp_ecn_accept_cwr, ICSK_ACK_NOW).
  if (tcp_ecn_accept_cwr(sk, seg)) sk.quickacks = std::max(sk.quickacks, 1);

  // Trim what we already have.
  if (seq < sk.rcv_nxt) {
    const auto dup = static_cast<std::uint32_t>(sk.rcv_nxt - seq);
    // RFC 2883: the part we had is reported (Linux tcp_data_queue, "partial packet").
    if (!data.empty()) {
      tcp_dsack_set(sk, seq,
                    seq + std::min<std::uint32_t>(dup, static_cast<std::uint32_t>(data.size())));
    }
    if (dup >= data.size()) {
      if (dup > data.size()) fin = false;  // the FIN is old too
      data = {};
    } else {
      data = data.subspan(dup);
    }
    seq = sk.rcv_nxt;
    if (data.empty() && !fin) {
      // A pure duplicate: ACK at once so the sender learns what arrived (RFC 5681 4.2).
      tcp_schedule_ack(sk, true);
      return;
    }
  }
  // Trim to the window we offered: a peer cannot make us buffer more than that.
  const SeqNum wnd_end = sk.rcv_adv;
  if (seq + static_cast<std::uint32_t>(data.size()) > wnd_end) {
    const std::int32_t room = wnd_end - seq;
    data = data.first(room > 0 ? static_cast<std::size_t>(room) : 0);
    fin = false;
    mib.UsnetTcpBeyondWindow++;
  }
  if (data.empty() && !fin) {
    tcp_schedule_ack(sk, true);
    return;
  }

  if (seq == sk.rcv_nxt) {
    const bool filled_hole = !sk.ooo.empty();
    if (const auto held_fin = sk.ooo.fin(); held_fin && sk.rcv_nxt_off + data.size() > *held_fin) {
      data = data.first(static_cast<std::size_t>(*held_fin - sk.rcv_nxt_off));  // past a FIN
    }
    sk.rcvq.append(data);
    tcp_rcv_nxt_advance(sk, data.size());
    if (!data.empty()) tcp_event_data_recv(sk, seg, data.size());
    // Pull in what was waiting for this hole.
    if (!fin) tcp_rcv_nxt_advance(sk, sk.ooo.pull(sk.rcv_nxt_off, sk.rcvq));
    const bool fin_now = fin || sk.ooo.fin() == sk.rcv_nxt_off;
    if (!sk.rcvq.empty()) sk_data_ready(sk);  // before the FIN's state change, as Linux
    if (fin_now) {
      sk.ooo.clear();
      sk.rcv_nxt += 1;
      tcp_fin(sk);
      return;
    }
    if (filled_hole) {
      tcp_schedule_ack(sk, true);  // RFC 5681 4.2: ACK at once when a hole is filled
      return;
    }
    // RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3: an ACK for at least every second full-sized
    // segment; otherwise within the delayed-ACK time.
    // Linux __tcp_ack_snd_check: at once when more than one segment's worth (rcv_mss,
    // the peer's segment size as seen) has arrived since the last ACK. (Linux also
    // wants the window to advance, which depends on its skb memory accounting; not kept.)
    // A segment a coalescing device made of several (Device::max_receive_frame_size) is
    // more than rcv_mss (clamped to advmss) by itself: acknowledged at once, as a GRO one.
    if (data.size() >= sk.advmss / 2U) sk.segs_unacked++;
    tcp_schedule_ack(sk, sk.segs_unacked >= 2 || static_cast<std::uint32_t>(
                                                     sk.rcv_nxt - sk.last_ack_sent) > sk.rcv_mss);
    return;
  }

  // Out of order: keep it, within memory, and ACK at once (with SACK blocks) so the
  // sender's fast retransmit can start (RFC 5681 4.2).
  const std::uint64_t off = sk.rcv_nxt_off + static_cast<std::uint32_t>(seq - sk.rcv_nxt);
  tcp_ecn_check_ce(sk, seg);  // Linux tcp_data_queue_ofo
  const OfoQueue::Insert r = sk.ooo.insert(off, data, fin, tcp_ofo_limits(sk));
  if (r.queued || r.duplicate) mib.TcpExtTCPOFOQueue++;
  // RFC 2883 4: out-of-order data we already held is reported as a duplicate.
  if (r.duplicate) tcp_dsack_set(sk, seq, seq + static_cast<std::uint32_t>(data.size()));
  if (r.dropped) mib.TcpExtTCPOFODrop++;
  if (r.pruned != 0 || r.dropped) mib.TcpExtPruneCalled++;
  if (r.pruned != 0) mib.TcpExtOfoPruned++;
  mib.TcpExtTCPOFOMerge += r.covered + (r.duplicate ? 1 : 0);
  if (r.coalesced) mib.TcpExtTCPRcvCoalesce++;
  if (r.queued || r.duplicate) {
    sk.last_rcvd_seg = seq;
    sk.last_rcvd_seg_end = seq + static_cast<std::uint32_t>(data.size());
  }
  tcp_schedule_ack(sk, true);
}

// RFC 2018 / RFC 6675: record the peer's SACK blocks in the scoreboard.
void tcp_sacktag(TcpSock& sk, const TcpSegment& seg) {
  const auto& o = seg.h.options;
  for (std::size_t i = 0; i < o.sack_count; ++i) {
    SeqNum l(o.sack[i].left);
    SeqNum r(o.sack[i].right);
    // Only blocks inside what we sent and above SND.UNA count (D-SACKs and forged blocks
    // are ignored).
    if (r <= l || l < sk.snd_una || r > sk.snd_max) continue;
    auto& sb = sk.scoreboard;
    auto it = std::lower_bound(sb.begin(), sb.end(), l,
                               [](const SackRange& a, SeqNum v) { return a.right < v; });
    // Merge every range overlapping or touching [l, r).
    while (it != sb.end() && it->left <= r) {
      l = seq_min(l, it->left);
      r = seq_max(r, it->right);
      it = sb.erase(it);
    }
    if (sb.size() >= kMaxScoreboard) continue;
    sb.insert(it, SackRange{l, r});
  }
  std::uint32_t total = 0;
  for (const auto& rg : sk.scoreboard)
    total += static_cast<std::uint32_t>(rg.right - rg.left);
  sk.sacked_bytes = total;
}

void prune_scoreboard(TcpSock& sk) {
  auto& sb = sk.scoreboard;
  std::uint32_t total = 0;
  std::erase_if(sb, [&](const SackRange& r) { return r.right <= sk.snd_una; });
  for (auto& r : sb) {
    if (r.left < sk.snd_una) r.left = sk.snd_una;
    total += static_cast<std::uint32_t>(r.right - r.left);
  }
  sk.sacked_bytes = total;
}

void enter_recovery(TcpSock& sk) {
  MibCounters& mib = sk.stack.mib();
  if (sk.sack_ok) {
    mib.TcpExtTCPSackRecovery++;
  } else {
    mib.TcpExtTCPRenoRecovery++;
  }
  mib.TcpExtTCPFastRetrans++;
  // Linux tcp_enter_recovery: a window already being reduced for ECN is not cut again.
  if (!sk.in_cwr) sk.ssthresh = sk.cc->ssthresh(sk, sk.stack.now());
  sk.in_cwr = false;
  sk.recover = sk.snd_max;
  sk.in_recovery = true;
  sk.high_rxt = sk.snd_una;
  sk.rtt_seq_valid = false;
  // RFC 6582 3.2 step 2 / RFC 6675 5 step 4.2: retransmit the first unacknowledged segment.
  const std::uint32_t sent = tcp_retransmit(sk, sk.snd_una, sk.mss);
  sk.high_rxt = sk.snd_una + sent;
  sk.cwnd = sk.sack_ok ? sk.ssthresh : sk.ssthresh + 3 * sk.mss;
}

}  // namespace

void tcp_enter_recovery_rack(TcpSock& sk) {
  MibCounters& mib = sk.stack.mib();
  mib.TcpExtTCPSackRecovery++;
  mib.TcpExtTCPFastRetrans++;
  // Linux tcp_enter_recovery: undo bookkeeping first, then the reduction (not again for a
  // window already reduced by ECN).
  tcp_undo_start(sk);
  if (!sk.in_cwr) sk.ssthresh = sk.cc->ssthresh(sk, sk.stack.now());
  sk.in_cwr = false;
  sk.recover = sk.snd_max;
  sk.in_recovery = true;
  sk.tlp_active = false;
  sk.rtt_seq_valid = false;
  sk.high_rxt = sk.snd_una;
  tcp_rack_timer_cancel(sk, TcpSock::RackTimer::kLossProbe);
  // RFC 6937 (Linux tcp_init_cwnd_reduction): cwnd goes from here towards ssthresh as the
  // ACKs report deliveries (tcp_prr_reduce); the first lost segment goes at once.
  sk.prior_cwnd = sk.cwnd;
  sk.prr_delivered = 0;
  sk.prr_out = 0;
}

void tcp_prr_reduce(TcpSock& sk, std::uint32_t newly_delivered, bool newly_lost,
                    bool una_advanced) {
  // Linux tcp_cwnd_reduction, in segments: below ssthresh the pipe grows back by what is
  // delivered (plus one on an ACK that moved SND.UNA without finding a loss: slow start,
  // PRR-SSRB); above it, sending goes at ssthresh/prior_cwnd of the delivery rate (PRR's
  // proportional part).
  if (newly_delivered == 0 || sk.prior_cwnd == 0) return;
  const auto mss = std::max<std::uint32_t>(sk.mss, 1);
  const std::int64_t pipe = (std::int64_t{tcp_rack_pipe(sk)} + mss - 1) / mss;
  const std::int64_t ssthresh = sk.ssthresh / mss;
  const std::int64_t prior_cwnd = std::max<std::uint32_t>(sk.prior_cwnd / mss, 1);
  sk.prr_delivered += newly_delivered;
  const std::int64_t delta = ssthresh - pipe;
  std::int64_t sndcnt = 0;
  if (delta < 0) {
    sndcnt = (ssthresh * sk.prr_delivered + prior_cwnd - 1) / prior_cwnd - sk.prr_out;
  } else {
    sndcnt = std::max<std::int64_t>(std::int64_t{sk.prr_delivered} - sk.prr_out, newly_delivered);
    if (una_advanced && !newly_lost) sndcnt++;
    sndcnt = std::min(delta, sndcnt);
  }
  // The fast retransmission goes whatever the count.
  sndcnt = std::max<std::int64_t>(sndcnt, sk.prr_out != 0 ? 0 : 1);
  sk.cwnd = static_cast<std::uint32_t>(std::max<std::int64_t>(pipe + sndcnt, 1) * mss);
}

namespace {

// RFC 9293 3.10.7.4 takes the window from a segment no older than the one that last set
// it: SND.WL1 < SEG.SEQ, or the same SEG.SEQ. As Linux's tcp_may_update_window, a segment
// that acknowledges new data updates it too whatever its sequence number, and one at the
// same SND.WL1 only opens the window or closes it to zero (an older duplicate cannot shrink
// it). A segment forged ahead of RCV.NXT thus holds SND.WL1 only until the next ACK of new
// data resets it to the peer's real sequence number.
// RFC 6675 5 / RFC 5681 3.2 with net.ipv4.tcp_reordering as DupThresh: that many duplicate
// ACKs, or with SACK more than DupThresh - 1 segments SACKed above SND.UNA.
bool tcp_dupthresh_reached(const TcpSock& sk) {
  const auto thresh = static_cast<std::uint32_t>(std::max(sk.stack.sysctl().tcp_reordering, 1));
  return sk.dupacks >= thresh || (sk.sack_ok && sk.sacked_bytes > (thresh - 1) * sk.mss);
}

bool may_update_window(const TcpSock& sk, const TcpSegment& seg, std::uint32_t wnd) {
  return seg.ack > sk.snd_una || seg.seq > sk.snd_wl1 ||
         (seg.seq == sk.snd_wl1 && (wnd > sk.snd_wnd || wnd == 0));
}

// RFC 7323 4.1: a round trip from the timestamp the peer echoed, valid even for the ACK of
// a retransmission (it echoes the copy that arrived). True if it gave a sample.
bool tcp_ts_rtt(TcpSock& sk, const TcpSegment& seg) {
  if (!sk.ts_ok || !seg.h.options.ts_ecr || *seg.h.options.ts_ecr == 0) return false;
  const auto ms = static_cast<std::int32_t>(tcp_now_ts(sk) - *seg.h.options.ts_ecr);
  if (ms < 0 || ms >= 600000) return false;
  tcp_rtt_sample(sk, std::chrono::milliseconds(std::max(ms, 1)));
  return true;
}

// The handshake's round trip (Linux: the SYN-SENT tcp_ack, tcp_synack_rtt_meas): from the
// echoed timestamp, else from our SYN's send time if it went once (Karn). Without a sample
// the RTO is 3 s once data starts (RFC 6298 5.7; Linux tcp_init_metrics,
// TCP_TIMEOUT_FALLBACK), whatever the SYN's backoff.
void tcp_handshake_rtt(TcpSock& sk, const TcpSegment& seg) {
  if (!tcp_ts_rtt(sk, seg) && sk.syn_retries == 0 && sk.rtt_time != kEpoch) {
    tcp_rtt_sample(sk, sk.stack.now() - sk.rtt_time);
  }
  if (sk.srtt.count() == 0) sk.rto = kTcpTimeoutFallback;
  sk.backoff = 0;
}

// The ACK field of an acceptable segment (fifth step, "ESTABLISHED STATE" rules).
void tcp_ack(TcpSock& sk, const TcpSegment& seg) {
  const SeqNum ack = seg.ack;
  const SeqNum prior_una = sk.snd_una;
  const Instant now = sk.stack.now();
  const bool rack = tcp_is_rack(sk);
  bool window_changed = false;
  // RFC 7323 2.2: the window of a segment with SYN set is never scaled.
  const std::uint32_t wnd =
      seg.h.has(kTcpSyn) ? seg.h.window : static_cast<std::uint32_t>(seg.h.window) << sk.snd_wscale;
  // RFC 9293 3.10.7.4: only a segment with SND.UNA =< SEG.ACK =< SND.NXT may update the
  // send window (an ACK beyond SND.NXT never gets here).
  if (ack >= sk.snd_una && may_update_window(sk, seg, wnd)) {
    window_changed = wnd != sk.snd_wnd;
    sk.snd_wnd = wnd;
    sk.snd_wl1 = seg.seq;
    sk.snd_wl2 = ack;
    sk.max_snd_wnd = std::max(sk.max_snd_wnd, wnd);
  }
  // Any acceptable ACK answers the zero-window probes sent so far (Linux tcp_ack).
  if (ack >= sk.snd_una) sk.probes = 0;
  const std::uint32_t sacked_before = sk.sacked_bytes;
  // Linux tcp_is_cwnd_limited: grow cwnd only while the flight actually uses it, so an
  // application-limited sender does not build up a window it never tested (RFC 7661).
  const bool cwnd_limited = 2U * sk.flight() >= sk.cwnd;
  const bool dsack = sk.sack_ok && tcp_check_dsack(sk, seg, prior_una);
  if (sk.sack_ok && seg.h.options.sack_count != 0) tcp_sacktag(sk, seg);
  const bool new_sack = sk.sacked_bytes > sacked_before;
  tcp_ecn_ack(sk, seg);

  const bool una_advanced = ack > sk.snd_una;
  const std::uint32_t prior_delivered = sk.delivered;
  std::uint32_t acked = 0;
  if (una_advanced) {
    acked = static_cast<std::uint32_t>(ack - sk.snd_una);
    // Bytes of the send queue now acknowledged (the FIN's sequence number carries none).
    const auto data_acked =
        std::min<std::uint32_t>(acked, static_cast<std::uint32_t>(sk.sndq.size()));
    sk.sndq.pop(data_acked);
    if (data_acked > 0 && sk.sndq.size() < sk.snd_space_max()) sk_write_space(sk);
    sk.bytes_acked += data_acked;
    sk.snd_una = ack;
    if (sk.snd_nxt < sk.snd_una) sk.snd_nxt = sk.snd_una;
    if (!sk.tx_notes.empty()) tcp_tx_report_acked(sk);
    // RFC 6582's "recover" matters only during a loss episode; in between it follows
    // SND.UNA. Left behind, after 2^31 bytes without loss the modulo-2^32 comparison of
    // step 1 would see it ahead of SND.UNA and refuse every fast retransmit.
    if (!sk.in_recovery && sk.snd_una >= sk.recover) sk.recover = sk.snd_una;
    prune_scoreboard(sk);
  }
  // The send records follow every ACK (whatever the recovery algorithm); RACK (RFC 8985
  // 6.2) then looks for segments sent before a delivered one and not delivered in time.
  const bool rack_advanced = tcp_rack_on_ack(sk, prior_una, new_sack);
  bool rack_lost = false;
  if (rack) {
    // Linux tcp_fastretrans_alert: an episode whose retransmissions all came back as
    // duplicates was spurious (RFC 2883 / RFC 3708): undo it.
    if (dsack) (void)tcp_try_undo_dsack(sk);
    tcp_process_tlp_ack(sk, seg, dsack, una_advanced, new_sack);
    // Only a segment sent before one delivered can be late: with nothing SACKed, no
    // episode and no retransmission in flight, a cumulative ACK delivers in send order and
    // the check (a walk of what is in flight) has nothing to find (Linux runs it only for
    // a "dubious" ACK, tcp_ack_is_dubious).
    // A partial ACK in recovery that answers an original (Linux tcp_try_undo_partial)
    // shows reordering, and holds back further loss marks while retransmissions fly.
    const bool hold_marks =
        sk.in_recovery && una_advanced && ack < sk.recover && tcp_try_undo_partial(sk, seg);
    if (rack_advanced && !hold_marks &&
        (sk.sacked_out != 0 || sk.lost_out != 0 || sk.tlp_active || tcp_in_loss_episode(sk) ||
         sk.rack_timer_kind == TcpSock::RackTimer::kReorder)) {
      rack_lost = tcp_rack_detect_loss(sk);
    }
  }

  if (una_advanced) {
    // RTT (RFC 6298 with RFC 7323 4.1 timestamps; Karn's rule without them). Only a valid
    // sample ends the backoff: the ACK of a retransmission says nothing about the path
    // (RFC 6298 5.7 note; Linux resets icsk_backoff only in tcp_ack_update_rtt).
    bool sampled = tcp_ts_rtt(sk, seg);
    if (!sampled && sk.rtt_seq_valid && ack > sk.rtt_seq) {
      tcp_rtt_sample(sk, now - sk.rtt_time);
      sampled = true;
    }
    if (sampled) {
      sk.rtt_seq_valid = false;
      sk.backoff = 0;
    }
    sk.retrans_out = 0;
    sk.retransmits = 0;

    if (sk.in_recovery) {
      if (ack >= sk.recover) {
        // RFC 6582 3.2 step 3 (full acknowledgment): deflate to ssthresh, unless the
        // timestamps show the episode was spurious (Linux tcp_try_undo_recovery).
        if (!(rack && tcp_try_undo_recovery(sk, seg, false))) {
          sk.in_recovery = false;
          sk.dupacks = 0;
          if (rack) {
            // Linux tcp_end_cwnd_reduction: the reduction ends at ssthresh.
            sk.cwnd = std::max<std::uint32_t>(sk.ssthresh, sk.mss);
          } else {
            sk.cwnd = std::min(sk.ssthresh,
                               std::max(sk.flight(), static_cast<std::uint32_t>(sk.mss)) + sk.mss);
          }
          if (sk.rack_reo_persist > 0) sk.rack_reo_persist--;  // RFC 8985 6.2 step 4
        }
      } else {
        // Partial acknowledgment (step 4): the next hole is lost too.
        sk.high_rxt = seq_max(sk.high_rxt, sk.snd_una);
        if (!sk.sack_ok) {
          (void)tcp_retransmit(sk, sk.snd_una, sk.mss);
          sk.cwnd = sk.cwnd > acked ? sk.cwnd - acked : sk.mss;
          if (acked >= sk.mss) sk.cwnd += sk.mss;
        }
      }
    } else {
      sk.dupacks = 0;
      // The loss episode after an RTO: an ACK for an original transmission (its echoed
      // timestamp is older than the first retransmission) shows the timeout was spurious
      // (Linux tcp_try_undo_loss; RFC 3522).
      if (rack && sk.undo_active && prior_una < sk.recover &&
          !tcp_try_undo_recovery(sk, seg, true) && sk.snd_una >= sk.recover &&
          sk.rack_reo_persist > 0) {
        sk.rack_reo_persist--;  // the episode ended without an undo
      }
      if (cwnd_limited && !sk.in_cwr) sk.cc->on_ack(sk, acked, now);
    }
    // RFC 6298 5.2/5.3: stop the timer when all is acknowledged, else restart it.
    if (sk.snd_una == sk.snd_max) {
      if (!sk.persist) sk.stack.timers().cancel(sk.rto_timer);
      tcp_rack_timer_cancel(sk);
    } else {
      tcp_arm_rto(sk);
      sk.retrans_stamp = now;
      if (rack && !sk.rtx.empty() && sk.rtx[0].has(TcpSentSeg::kSacked)) {
        // The ACK stopped at data the receiver had SACKed: it reneged (RFC 2018 8), and
        // what it dropped is resent at a timeout soon (Linux tcp_check_sack_reneging:
        // max(SRTT/16, 10 ms)), whose RTO then forgets the SACKs.
        const Duration soon = std::max<Duration>(std::chrono::microseconds(sk.srtt_us >> 7),
                                                 std::chrono::milliseconds(10));
        sk.stack.timers().arm(sk.rto_timer, now + soon);
      } else if (rack && sk.rack_timer_kind != TcpSock::RackTimer::kReorder) {
        // RFC 8985 7.2 / Linux tcp_set_xmit_timer: the probe timeout restarts with each
        // ACK of new data.
        (void)tcp_schedule_loss_probe(sk, true);
      }
    }
  } else if (ack == sk.snd_una && sk.snd_max != sk.snd_una) {
    // RFC 5681 2 (duplicate ACK): no data, no window change, data outstanding. With SACK a
    // segment that reports new SACKed data counts too (RFC 6675 5).
    if (seg.payload.empty() && !seg.h.has(kTcpFin) && (!window_changed || new_sack)) {
      sk.dupacks++;
      if (sk.in_recovery) {
        if (!sk.sack_ok) sk.cwnd += sk.mss;  // RFC 6582 3.2 step 3: inflate
      } else if (!rack && tcp_dupthresh_reached(sk) && sk.snd_una >= sk.recover) {
        // RFC 6582 3.2 step 1: only if the ACK covers more than "recover", the highest
        // sequence number sent at the last loss (we keep recover one past it, SND.MAX then),
        // so not for duplicates of data sent before that loss.
        enter_recovery(sk);
      }
    }
  }
  // RFC 8985 6.3: with RACK a loss is declared by time, not by a count of duplicates; the
  // first one starts fast recovery (a loss found in an episode is resent within it).
  if (rack_lost && !tcp_in_loss_episode(sk)) tcp_enter_recovery_rack(sk);
  if (rack && sk.in_recovery) {
    tcp_prr_reduce(sk, sk.delivered - prior_delivered, rack_lost, una_advanced);
  }
}

}  // namespace

void tcp_rtt_sample(TcpSock& sk, Duration r) {
  // Linux tcp_rtt_estimator in its fixed point (srtt_us = 8 SRTT, mdev_us = 4 mdev), which
  // refines RFC 6298 2.2-2.3: the first sample gives RTTVAR max(2 R, tcp_rto_min), so RTO =
  // R + max(2 R, 200 ms); later the deviation that RTO adds is the largest mdev seen in
  // the last window of data, never below tcp_rto_min, decaying by a quarter per window; a
  // sample below SRTT moves mdev by only 1/32 (the Eifel-like damping).
  constexpr std::int64_t kRtoMinUs = 200000;
  const std::int64_t sample =
      std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(r).count(), 1);
  std::int64_t m = sample;
  std::int64_t srtt = sk.srtt_us;
  std::int64_t mdev = sk.mdev_us;
  if (srtt != 0) {
    m -= srtt >> 3;
    srtt += m;
    if (m < 0) {
      m = -m;
      m -= mdev >> 2;
      if (m > 0) m >>= 3;
    } else {
      m -= mdev >> 2;
    }
    mdev += m;
    if (mdev > sk.mdev_max_us) {
      sk.mdev_max_us = static_cast<std::uint32_t>(mdev);
      sk.rttvar_us = std::max(sk.rttvar_us, sk.mdev_max_us);
    }
    if (sk.snd_una > sk.rtt_win_seq) {
      if (sk.mdev_max_us < sk.rttvar_us) sk.rttvar_us -= (sk.rttvar_us - sk.mdev_max_us) >> 2;
      sk.rtt_win_seq = sk.snd_nxt;
      sk.mdev_max_us = kRtoMinUs;
    }
  } else {
    srtt = m << 3;
    mdev = m << 1;
    sk.rttvar_us = static_cast<std::uint32_t>(std::max(mdev, kRtoMinUs));
    sk.mdev_max_us = sk.rttvar_us;
    sk.rtt_win_seq = sk.snd_nxt;
  }
  sk.srtt_us = static_cast<std::uint32_t>(std::clamp<std::int64_t>(srtt, 1, 0xffffffff));
  sk.mdev_us = static_cast<std::uint32_t>(std::max<std::int64_t>(mdev, 0));
  sk.srtt = std::chrono::microseconds(sk.srtt_us >> 3);
  sk.rttvar = std::chrono::microseconds(sk.mdev_us >> 2);  // tcp_info's tcpi_rttvar
  if (sk.min_rtt.count() == 0 || r < sk.min_rtt) sk.min_rtt = std::max<Duration>(r, 1us);
  // __tcp_set_rto and tcp_bound_rto: SRTT + RTTVAR, at most TCP_RTO_MAX. Linux turns it
  // into jiffies rounding up (4 ms steps at HZ 250: 204 ms for a LAN's 200.05); usnet keeps
  // whole milliseconds rounding down, so a LAN's RTO is the familiar 200 ms.
  const std::int64_t rto_us = (sk.srtt_us >> 3) + std::int64_t{sk.rttvar_us};
  sk.rto = std::min<Duration>(std::chrono::milliseconds(rto_us / 1000), kTcpRtoMax);
}

void tcp_rcv_synsent(TcpSock& sk, const TcpSegment& seg) {
  // RFC 9293 3.10.7.3. First, the ACK bit.
  const bool has_ack = seg.h.has(kTcpAck);
  if (has_ack && (seg.ack <= sk.iss || seg.ack > sk.snd_max)) {
    sk.stack.tracer().step("unacceptable ack");
    if (!seg.h.has(kTcpRst)) tcp_send_reset(sk.stack, seg);
    return;
  }
  // Second, the RST bit: with an acceptable ACK the peer refused the connection.
  if (seg.h.has(kTcpRst)) {
    if (has_ack) {
      sk.stack.mib().TcpAttemptFails++;
      tcp_abort(sk, Error::kConnectionRefused);
    }
    return;
  }
  // Fourth, the SYN bit.
  if (!seg.h.has(kTcpSyn)) return;
  sk.irs = seg.seq;
  sk.rcv_nxt = seg.seq + 1;
  sk.rcv_nxt_off = 0;
  sk.rcv_adv = sk.rcv_nxt;
  sk.last_recv = sk.stack.now();
  if (has_ack) {
    sk.snd_una = seg.ack;
    if (sk.snd_nxt < sk.snd_una) sk.snd_nxt = sk.snd_una;
    tcp_ecn_rcv_synack(sk, seg);
    tcp_finish_connect(sk, seg);
    tcp_handshake_rtt(sk, seg);  // after tcp_finish_connect: timestamps are agreed on
    sk.stack.timers().cancel(sk.rto_timer);
    const bool resend = tcp_fastopen_synack(sk, seg);  // SYN data not acked goes again
    if (!seg.payload.empty() || seg.h.has(kTcpFin)) {
      tcp_data_queue(sk, seg);
    } else if (!resend) {
      tcp_send_ack(sk);
    }
    tcp_write_xmit(sk);
    return;
  }
  // Simultaneous open (RFC 9293 figure 8): SYN_RECEIVED, answer with SYN,ACK.
  tcp_ecn_rcv_syn(sk, seg);
  tcp_negotiate(sk, seg.h.options);
  sk.snd_wnd = seg.h.window;
  sk.snd_wl1 = seg.seq;
  tcp_set_state(sk, TcpState::kSynReceived);
  sk.stack.timers().cancel(sk.rto_timer);
  tcp_send_synack(sk);
  tcp_arm_rto(sk);
}

namespace {

// Second, check the RST bit (RFC 5961 3.2: only an exact match resets).
void tcp_rcv_reset(TcpSock& sk, const TcpSegment& seg) {
  Stack& stack = sk.stack;
  if (seg.seq != sk.rcv_nxt) {
    stack.tracer().step("rst in window: challenge ack");
    tcp_send_challenge_ack(sk);
    return;
  }
  stack.tracer().step("tcp_reset");
  switch (sk.state) {
    case TcpState::kSynReceived:
      stack.mib().TcpAttemptFails++;
      if (tcp_fastopen_passive(sk)) {
        // A Fast Open child belongs to accept() already: it reports the reset (tcp_reset).
        tcp_abort(sk, Error::kConnectionReset);
      } else if (sk.owner == TcpSock::Owner::kListener) {
        tcp_done(sk);  // a passive open goes back to the listener's care
      } else {
        tcp_abort(sk, Error::kConnectionRefused);
      }
      return;
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      tcp_abort(sk, Error::kConnectionReset);
      return;
    case TcpState::kCloseWait:
      tcp_abort(sk, Error::kBrokenPipe);  // Linux reports EPIPE once the peer had closed
      return;
    default:
      sk.done_flag = true;
      tcp_done(sk);
      return;
  }
}

// Fifth, the ACK field in SYN-RECEIVED: an ACK of our SYN completes the handshake. False if
// the segment goes no further.
bool tcp_synrecv_ack(TcpSock& sk, const TcpSegment& seg, bool crossed_synack) {
  Stack& stack = sk.stack;
  if (!(seg.ack > sk.snd_una && seg.ack <= sk.snd_max)) {
    tcp_send_reset(stack, seg);
    return false;
  }
  if (!tcp_fastopen_passive(sk) && tcp_defer_accept_drop(sk, seg)) return false;
  // (A Fast Open child is on the accept queue already.)
  if (sk.parent != nullptr && !tcp_fastopen_passive(sk) &&
      sk.parent->accept_queue.size() > static_cast<std::size_t>(sk.parent->backlog)) {
    // The accept queue is full: ignore the ACK; the peer retransmits (Linux
    // ListenOverflows; tcp_abort_on_overflow is off by default).
    stack.mib().TcpExtListenOverflows++;
    stack.mib().TcpExtListenDrops++;
    return false;
  }
  sk.snd_una = sk.iss + 1;
  sk.snd_wnd = crossed_synack ? seg.h.window  // a SYN's window is never scaled
                              : static_cast<std::uint32_t>(seg.h.window) << sk.snd_wscale;
  sk.max_snd_wnd = std::max(sk.max_snd_wnd, sk.snd_wnd);
  sk.snd_wl1 = seg.seq;
  sk.snd_wl2 = seg.ack;
  tcp_handshake_rtt(sk, seg);
  sk.syn_retries = 0;
  stack.timers().cancel(sk.rto_timer);
  sk.established_at = stack.now();
  tcp_set_state(sk, TcpState::kEstablished);
  tcp_arm_keepalive(sk);
  if (sk.owner == TcpSock::Owner::kListener) tcp_child_established(sk);
  if (crossed_synack) tcp_send_ack(sk);  // the peer's SYN, acknowledged again
  return true;
}

// Fifth, the ACK field in a synchronized state: whether it may be processed at all.
bool tcp_ack_acceptable(TcpSock& sk, const TcpSegment& seg) {
  if (seg.ack > sk.snd_max) {
    // RFC 9293: an ACK for something not yet sent: ACK and drop.
    sk.stack.tracer().step("ack of unsent data");
    ack_out_of_window(sk, seg);
    return false;
  }
  // RFC 5961 5.2: acceptable only if (SND.UNA - MAX.SND.WND) =< SEG.ACK; an older ACK is
  // not from this connection's peer. Linux (tcp_ack) bounds MAX.SND.WND by the bytes
  // acknowledged so far, so an ACK cannot point before the connection's first byte.
  const auto max_wnd =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(sk.max_snd_wnd, sk.bytes_acked));
  if (seg.ack < sk.snd_una - max_wnd) {
    tcp_send_challenge_ack(sk);
    return false;
  }
  return true;
}

// The fifth step's rules for the closing states, once the ACK is processed. False if the
// segment goes no further.
bool tcp_closing_states(TcpSock& sk, const TcpSegment& seg) {
  Stack& stack = sk.stack;
  const bool fin_acked = sk.fin_queued && sk.snd_una == sk.fin_seq() + 1;
  switch (sk.state) {
    case TcpState::kFinWait1:
      if (fin_acked) {
        tcp_set_state(sk, TcpState::kFinWait2);
        // An orphan does not wait forever for the peer's FIN (Linux tcp_fin_timeout).
        if (sk.owner == TcpSock::Owner::kOrphan) {
          stack.timers().arm(sk.keep_timer, stack.now() + tcp_fin_time(sk));
        }
      }
      return true;
    case TcpState::kClosing:
      if (fin_acked) {
        tcp_time_wait(sk);
      } else {
        tcp_write_xmit(sk);  // data queued before the FIN still goes out as ACKs come
      }
      return false;
    case TcpState::kLastAck:
      if (fin_acked) {
        sk.done_flag = true;
        tcp_done(sk);
      } else {
        tcp_write_xmit(sk);
      }
      return false;
    case TcpState::kTimeWait:
      // A FIN inside the window (the exact retransmission, below RCV.NXT, was answered
      // before the sequence check): ACK it and restart the 2*MSL timer.
      if (seg.h.has(kTcpFin)) {
        tcp_send_ack(sk);
        tcp_time_wait(sk);
      }
      return false;
    default:
      return true;
  }
}

// Sixth, the URG bit: urgent data is delivered in line with the rest (RFC 6093 advises
// against relying on it); the pointer is ignored. Seventh and eighth: text and FIN.
void tcp_rcv_text(TcpSock& sk, const TcpSegment& seg) {
  if (seg.payload.empty() && !seg.h.has(kTcpFin)) return;
  switch (sk.state) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      if (sk.owner == TcpSock::Owner::kOrphan && !seg.payload.empty() &&
          seg.seq + static_cast<std::uint32_t>(seg.payload.size()) > sk.rcv_nxt) {
        // Data for a socket the user has closed cannot be read: reset (Linux
        // TCPAbortOnData).
        sk.stack.mib().TcpExtTCPAbortOnData++;
        tcp_send_active_reset(sk);
        tcp_done(sk);
        return;
      }
      tcp_data_queue(sk, seg);
      return;
    default:
      // CLOSE_WAIT, CLOSING, LAST_ACK: the peer's FIN has come; nothing more should.
      return;
  }
}

}  // namespace

void tcp_rcv_state_process(TcpSock& sk, const TcpSegment& seg) {
  Stack& stack = sk.stack;
  MibCounters& mib = stack.mib();
  sk.last_recv = stack.now();
  sk.ka_probes = 0;

  // RFC 7323 5.3: PAWS, before the sequence check.
  if (paws_reject(sk, seg)) {
    mib.TcpExtPAWSEstab++;
    stack.tracer().step("drop: PAWS");
    if (!seg.h.has(kTcpRst)) tcp_send_dupack(sk, seg, mib.TcpExtTCPACKSkippedPAWS);
    return;
  }
  // TIME_WAIT (RFC 9293 3.10.7.4): the only thing that can arrive is a retransmission of
  // the peer's FIN (below RCV.NXT, so it fails the window test): ACK it, restart 2*MSL.
  if (sk.state == TcpState::kTimeWait && seg.h.has(kTcpFin) && !seg.h.has(kTcpRst) &&
      seg.seq + seg.len() == sk.rcv_nxt) {
    tcp_send_ack(sk);
    tcp_time_wait(sk);
    return;
  }
  if (tcp_synrecv_repeated_syn(sk, seg)) return;
  const bool crossed_synack = is_crossed_synack(sk, seg);
  // First, check the sequence number.
  if (!crossed_synack && !seq_acceptable(sk, seg)) {
    mib.UsnetTcpOutOfWindow++;
    stack.tracer().step("drop: out of window");
    if (!seg.h.has(kTcpRst)) tcp_send_dupack(sk, seg, mib.TcpExtTCPACKSkippedSeq);
    return;
  }
  // RFC 7323 4.3: remember the peer's timestamp from a segment covering Last.ACK.sent.
  if (sk.ts_ok && seg.h.options.ts_val && seg.seq <= sk.last_ack_sent &&
      static_cast<std::int32_t>(*seg.h.options.ts_val - sk.ts_recent) >= 0) {
    sk.ts_recent = *seg.h.options.ts_val;
    sk.ts_recent_stamp = stack.now();
  }
  // Second, the RST bit.
  if (seg.h.has(kTcpRst)) {
    tcp_rcv_reset(sk, seg);
    return;
  }
  // Fourth, check the SYN bit (RFC 5961 4.2: a SYN in a synchronized state draws a
  // challenge ACK, never a reset).
  if (seg.h.has(kTcpSyn) && !crossed_synack) {
    mib.TcpExtTCPSYNChallenge++;
    tcp_send_challenge_ack(sk);
    return;
  }
  // Fifth, check the ACK field.
  if (!seg.h.has(kTcpAck)) return;
  if (sk.state == TcpState::kSynReceived) {
    if (!tcp_synrecv_ack(sk, seg, crossed_synack)) return;
  } else if (!tcp_ack_acceptable(sk, seg)) {
    return;
  }
  tcp_ack(sk, seg);
  if (!tcp_closing_states(sk, seg)) return;
  // Sixth to eighth.
  tcp_rcv_text(sk, seg);
  if (sk.state != TcpState::kClosed) tcp_write_xmit(sk);
}

}  // namespace usnet

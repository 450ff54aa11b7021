// Loss detection by time, as Linux's default (net.ipv4.tcp_recovery bit 1): RACK-TLP
// (RFC 8985), with DSACK (RFC 2883) both ways and the undo of a loss episode that was
// none (Linux tcp_try_undo_*; RFC 3522's timestamps, RFC 2883's duplicate reports).
//
// RACK marks a segment lost once a segment sent after it has been delivered and a
// reordering window has passed since it was sent; unlike the count of duplicate ACKs
// (RFC 5681/6675) this finds a lost retransmission too, and needs no more data after a
// tail loss. The tail loss probe (TLP) gets one ACK out of a receiver whose last segments
// were all lost, two round trips after the last send, instead of waiting for the RTO.
//
// usnet applies RACK to connections that agreed on SACK, as Linux does (a connection
// without SACK keeps NewReno's duplicate-ACK counting, tcp_input.cpp).
#include <algorithm>

#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

using std::chrono::milliseconds;

constexpr std::uint8_t kRackRecoveryThresh = 16;  // Linux TCP_RACK_RECOVERY_THRESH
constexpr int kRackStaticReoWnd = 0x2;            // tcp_recovery bits (Linux TCP_RACK_*)
constexpr int kRackNoDupthresh = 0x4;
constexpr Duration kTcpTimeoutMin = milliseconds(2);  // Linux TCP_TIMEOUT_MIN

// RFC 8985 6.2 step 2 (RACK_sent_after): whether (t1, seq1) was sent after (t2, seq2); the
// sequence number breaks ties between segments sent at the same instant.
bool sent_after(Instant t1, SeqNum seq1, Instant t2, SeqNum seq2) {
  return t1 > t2 || (t1 == t2 && seq1 > seq2);
}

// A record leaves the count of what is lost and not in flight again.
std::uint32_t lost_not_in_flight(const TcpSentSeg& r) {
  return r.has(TcpSentSeg::kLost) && !r.has(TcpSentSeg::kRetrans) && !r.has(TcpSentSeg::kSacked)
             ? r.len()
             : 0;
}

// RFC 8985 6.2 step 2 (RACK_update): the most recently sent of the segments just delivered
// sets RACK's time, end and round trip. A retransmitted segment delivered within min_RTT of
// its retransmission may be the original arriving: its round trip would be a lie (Linux
// tcp_rack_advance).
void rack_advance(TcpSock& sk, const TcpSentSeg& r, Instant now, bool& advanced) {
  const Duration rtt = now - r.xmit;
  if (r.has(TcpSentSeg::kEverRetrans) && rtt < sk.min_rtt) return;
  advanced = true;
  sk.rack_rtt = rtt;
  if (sent_after(r.xmit, r.end, sk.rack_xmit, sk.rack_end)) {
    sk.rack_xmit = r.xmit;
    sk.rack_end = r.end;
  }
}

// RFC 8985 6.2 step 3: a segment delivered below one delivered before it, never
// retransmitted, was reordered (Linux tcp_check_sack_reordering).
void check_reordering(TcpSock& sk, const TcpSentSeg& r, SeqNum prior_fack) {
  if (!r.has(TcpSentSeg::kEverRetrans) && r.end < prior_fack) {
    sk.stack.mib().TcpExtTCPSACKReorder++;
    sk.reord_seen++;
  }
}

// One record newly delivered, by the cumulative ACK or by SACK.
void deliver(TcpSock& sk, TcpSentSeg& r, Instant now, SeqNum prior_fack, bool& advanced) {
  sk.rack_lost_bytes -= std::min(sk.rack_lost_bytes, lost_not_in_flight(r));
  if (r.has(TcpSentSeg::kLost) && sk.lost_out > 0) sk.lost_out--;
  sk.delivered++;
  check_reordering(sk, r, prior_fack);
  rack_advance(sk, r, now, advanced);
  sk.fack = seq_max(sk.fack, r.end);
}

// RFC 8985 6.2 step 4 (RACK_update_reo_wnd): a DSACK means the window was too small; it
// grows by min_RTT/4 per DSACK round, and stays for 16 loss recoveries.
void rack_update_reo_wnd(TcpSock& sk, std::uint32_t prior_delivered) {
  if ((sk.stack.sysctl().tcp_recovery & kRackStaticReoWnd) != 0) return;
  // Disregard a DSACK within a round trip of the last adjustment.
  if (prior_delivered < sk.rack_last_delivered) sk.rack_dsack_seen = false;
  if (sk.rack_dsack_seen) {
    sk.rack_reo_steps = static_cast<std::uint8_t>(std::min(0xff, sk.rack_reo_steps + 1));
    sk.rack_dsack_seen = false;
    sk.rack_last_delivered = sk.delivered;
    sk.rack_reo_persist = kRackRecoveryThresh;
  } else if (sk.rack_reo_persist == 0) {
    sk.rack_reo_steps = 1;
  }
}

// RFC 8985 6.2 step 4 / Linux tcp_rack_reo_wnd: no settling time while no reordering was
// seen and the episode is under way (or three segments are SACKed, the duplicate threshold);
// else min_RTT/4 per step, at most SRTT.
Duration rack_reo_wnd(const TcpSock& sk) {
  if (sk.reord_seen == 0) {
    if (tcp_in_loss_episode(sk)) return Duration{0};
    if (sk.sacked_out >= static_cast<std::uint32_t>(sk.stack.sysctl().tcp_reordering) &&
        (sk.stack.sysctl().tcp_recovery & kRackNoDupthresh) == 0) {
      return Duration{0};
    }
  }
  return std::min<Duration>(sk.min_rtt / 4 * sk.rack_reo_steps, sk.srtt);
}

void arm_rack_timer(TcpSock& sk, TcpSock::RackTimer kind, Duration after) {
  sk.rack_timer_kind = kind;
  sk.stack.timers().arm(sk.rack_timer, sk.stack.now() + after);
}

void mark_lost(TcpSock& sk, TcpSentSeg& r) {
  if (r.has(TcpSentSeg::kRetrans)) {
    // RFC 8985 6.2: the retransmission itself is lost (what duplicate ACKs cannot see).
    r.flags = static_cast<std::uint8_t>(r.flags & ~TcpSentSeg::kRetrans);
    sk.stack.mib().TcpExtTCPLostRetransmit++;
  }
  if (!r.has(TcpSentSeg::kLost)) {
    r.flags |= TcpSentSeg::kLost;
    sk.lost_out++;
  }
  sk.rack_lost_bytes += r.len();
}

// The start of a loss episode's undo bookkeeping (Linux tcp_init_undo).
void init_undo(TcpSock& sk) {
  sk.undo_active = true;
  sk.undo_marker = sk.snd_una;
  sk.undo_retrans = 0;
  sk.undo_tsval = 0;
  sk.prior_cwnd = sk.cwnd;
}

// Linux tcp_current_ssthresh: what undo may restore.
std::uint32_t current_ssthresh(const TcpSock& sk) {
  if (sk.in_cwr || sk.in_recovery) return sk.ssthresh;
  return std::max(sk.ssthresh, sk.cwnd / 4 * 3);
}

// Linux tcp_packet_delayed: the ACK echoes a timestamp from before our first
// retransmission, so it answers an original (RFC 3522); or nothing was retransmitted.
bool packet_delayed(const TcpSock& sk, const TcpSegment& seg) {
  if (sk.undo_tsval == 0) return true;
  if (!sk.ts_ok || !seg.h.options.ts_ecr || *seg.h.options.ts_ecr == 0) return false;
  return static_cast<std::int32_t>(*seg.h.options.ts_ecr - sk.undo_tsval) < 0;
}

// Linux tcp_undo_cwnd_reduction: the window and threshold from before the episode, and no
// segment lost any more.
void undo_cwnd_reduction(TcpSock& sk) {
  if (sk.prior_ssthresh != 0) {
    sk.cwnd = std::max(sk.cwnd, sk.prior_cwnd);
    sk.ssthresh = std::max(sk.ssthresh, sk.prior_ssthresh);
  }
  for (std::size_t i = 0; i < sk.rtx.size(); ++i)
    sk.rtx[i].flags = static_cast<std::uint8_t>(sk.rtx[i].flags & ~TcpSentSeg::kLost);
  sk.lost_out = 0;
  sk.rack_lost_bytes = 0;
  sk.undo_active = false;
  sk.in_recovery = false;
  sk.in_cwr = false;
  sk.dupacks = 0;
  sk.recover = sk.snd_una;
}

}  // namespace

bool tcp_is_rack(const TcpSock& sk) {
  return sk.sack_ok && (sk.stack.sysctl().tcp_recovery & 1) != 0;
}

bool tcp_in_loss_episode(const TcpSock& sk) {
  return sk.in_recovery || sk.snd_una < sk.recover;
}

void tcp_rtx_record(TcpSock& sk, SeqNum seq, SeqNum end, bool retrans) {
  const Instant now = sk.stack.now();
  const SeqNum tail = sk.rtx.empty() ? seq : sk.rtx.back().end;
  if (retrans && seq < tail) {
    const SeqNum rend = seq_min(end, tail);
    // What was lost and is now in flight again leaves the lost count.
    for (std::size_t i = sk.rtx.find(seq); i < sk.rtx.size() && sk.rtx[i].seq < rend; ++i) {
      const TcpSentSeg& r = sk.rtx[i];
      const SeqNum lo = seq_max(r.seq, seq);
      const SeqNum hi = seq_min(r.end, rend);
      if (lost_not_in_flight(r) != 0) {
        sk.rack_lost_bytes -= std::min(sk.rack_lost_bytes, static_cast<std::uint32_t>(hi - lo));
      }
    }
    const std::size_t n = sk.rtx.retransmitted(seq, rend, now);
    if (sk.undo_active) {
      sk.undo_retrans += static_cast<int>(n);
      if (sk.undo_tsval == 0) sk.undo_tsval = tcp_now_ts(sk) | 1;  // 0 means none
    }
  }
  if (tail < end) sk.rtx.sent(seq_max(seq, tail), end, now);
  if (sk.in_recovery) sk.prr_out++;  // RFC 6937 prr_out (Linux counts in tcp_write_xmit)
}

std::uint32_t tcp_rack_pipe(const TcpSock& sk) {
  const std::uint32_t gone = sk.sacked_bytes + sk.rack_lost_bytes;
  return sk.flight() > gone ? sk.flight() - gone : 0;
}

bool tcp_rack_next_lost(const TcpSock& sk, SeqNum& seq, std::uint32_t& len) {
  if (sk.rack_lost_bytes == 0) return false;
  for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
    const TcpSentSeg& r = sk.rtx[i];
    if (lost_not_in_flight(r) != 0) {
      seq = r.seq;
      len = r.len();
      return true;
    }
  }
  return false;
}

bool tcp_check_dsack(TcpSock& sk, const TcpSegment& seg, SeqNum prior_una) {
  const auto& o = seg.h.options;
  if (o.sack_count == 0) return false;
  const SeqNum l0(o.sack[0].left);
  const SeqNum r0(o.sack[0].right);
  MibCounters& mib = sk.stack.mib();
  // RFC 2883 4: the first block is a duplicate report if it lies below the cumulative ACK,
  // or inside the second block.
  bool dsack = false;
  if (l0 < seg.ack) {
    dsack = true;
    mib.TcpExtTCPDSACKRecv++;
  } else if (o.sack_count > 1 && SeqNum(o.sack[1].left) <= l0 && r0 <= SeqNum(o.sack[1].right)) {
    dsack = true;
    mib.TcpExtTCPDSACKOfoRecv++;
  }
  if (!dsack || !(l0 < r0)) return false;
  sk.dsack_dups++;
  sk.rack_dsack_seen = true;  // RFC 8985 6.2 step 4
  // Linux tcp_check_dsack / tcp_sacktag_one: a duplicate of a retransmission of this
  // episode means that retransmission was not needed. Below the ACK the segment is gone
  // and counts once; above it, each retransmitted record the block covers counts.
  if (sk.undo_active && sk.undo_retrans > 0) {
    if (r0 <= prior_una) {
      if (r0 > sk.undo_marker) {
        const std::uint32_t mss = std::max<std::uint32_t>(sk.mss, 1);
        const auto dup_segs =
            static_cast<int>((static_cast<std::uint32_t>(r0 - l0) + mss - 1) / mss);
        sk.undo_retrans = std::max(0, sk.undo_retrans - dup_segs);
      }
    } else {
      for (std::size_t i = sk.rtx.find(seq_max(l0, prior_una));
           i < sk.rtx.size() && sk.rtx[i].seq < r0 && sk.undo_retrans > 0; ++i) {
        if (sk.rtx[i].has(TcpSentSeg::kEverRetrans)) sk.undo_retrans--;
      }
    }
  }
  return true;
}

bool tcp_rack_on_ack(TcpSock& sk, SeqNum prior_una, bool sack_changed) {
  const Instant now = sk.stack.now();
  // FACK is meaningful only inside [SND.UNA, SND.MAX]: outside it (a new connection's zero,
  // or left behind by 2^31 bytes) a modulo-2^32 comparison could put it ahead of every
  // segment, and every delivery would look reordered.
  if (!sk.fack.in_window(prior_una, sk.snd_max + 1)) sk.fack = prior_una;
  const SeqNum prior_fack = sk.fack;
  const std::uint32_t prior_delivered = sk.delivered;
  bool advanced = false;
  // Cumulatively acknowledged records.
  std::size_t i = 0;
  for (; i < sk.rtx.size() && sk.rtx[i].end <= sk.snd_una; ++i) {
    TcpSentSeg& r = sk.rtx[i];
    if (r.has(TcpSentSeg::kSacked)) {
      if (sk.sacked_out > 0) sk.sacked_out--;
      continue;  // delivered when SACKed
    }
    deliver(sk, r, now, prior_fack, advanced);
  }
  if (i < sk.rtx.size() && sk.rtx[i].seq < sk.snd_una) {
    // A record the ACK cuts: its acknowledged part leaves the lost count.
    TcpSentSeg& r = sk.rtx[i];
    if (lost_not_in_flight(r) != 0) {
      sk.rack_lost_bytes -=
          std::min(sk.rack_lost_bytes, static_cast<std::uint32_t>(sk.snd_una - r.seq));
    }
  }
  sk.rtx.acked(sk.snd_una);
  if (sk.fack < sk.snd_una) sk.fack = sk.snd_una;
  // Records the scoreboard now covers whole (a merge walk: both are sorted).
  if (sack_changed && !sk.scoreboard.empty()) {
    std::size_t k = 0;
    for (std::size_t j = 0; j < sk.rtx.size(); ++j) {
      TcpSentSeg& r = sk.rtx[j];
      while (k < sk.scoreboard.size() && sk.scoreboard[k].right <= r.seq)
        ++k;
      if (k == sk.scoreboard.size()) break;
      const SackRange& g = sk.scoreboard[k];
      if (r.has(TcpSentSeg::kSacked) || !(g.left <= r.seq && r.end <= g.right)) continue;
      deliver(sk, r, now, prior_fack, advanced);
      r.flags |= TcpSentSeg::kSacked;
      sk.sacked_out++;
    }
  }
  if (sk.rack_dsack_seen || sk.delivered != prior_delivered)
    rack_update_reo_wnd(sk, prior_delivered);
  return advanced;
}

bool tcp_rack_detect_loss(TcpSock& sk) {
  if (sk.rack_xmit == kEpoch) return false;
  const Instant now = sk.stack.now();
  const Duration reo_wnd = rack_reo_wnd(sk);
  Duration timeout{0};
  bool marked = false;
  for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
    TcpSentSeg& r = sk.rtx[i];
    if (r.has(TcpSentSeg::kSacked)) continue;
    if (r.has(TcpSentSeg::kLost) && !r.has(TcpSentSeg::kRetrans)) continue;  // known lost
    if (!sent_after(sk.rack_xmit, sk.rack_end, r.xmit, r.end)) continue;
    // RFC 8985 6.2 step 5: lost once RACK.rtt + reo_wnd has passed since it went.
    const Duration remaining = sk.rack_rtt + reo_wnd - (now - r.xmit);
    if (remaining <= Duration{0}) {
      mark_lost(sk, r);
      marked = true;
    } else {
      timeout = std::max(timeout, remaining);
    }
  }
  if (timeout > Duration{0}) {
    arm_rack_timer(sk, TcpSock::RackTimer::kReorder, timeout + kTcpTimeoutMin);
  } else {
    tcp_rack_timer_cancel(sk, TcpSock::RackTimer::kReorder);
  }
  return marked;
}

void tcp_rack_mark_all_lost(TcpSock& sk) {
  sk.lost_out = 0;
  sk.rack_lost_bytes = 0;
  for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
    TcpSentSeg& r = sk.rtx[i];
    r.flags = static_cast<std::uint8_t>(r.flags & ~(TcpSentSeg::kRetrans | TcpSentSeg::kLost));
    if (!r.has(TcpSentSeg::kSacked)) mark_lost(sk, r);
  }
}

void tcp_rack_clear_sacked(TcpSock& sk) {
  for (std::size_t i = 0; i < sk.rtx.size(); ++i)
    sk.rtx[i].flags = static_cast<std::uint8_t>(sk.rtx[i].flags & ~TcpSentSeg::kSacked);
  sk.sacked_out = 0;
}

// --- undo ---

void tcp_undo_start(TcpSock& sk) {
  init_undo(sk);
  sk.prior_ssthresh = current_ssthresh(sk);
}

bool tcp_try_undo_dsack(TcpSock& sk) {
  // Linux tcp_try_undo_dsack: in recovery, or after it while the episode's marker stands
  // (a failed undo at the episode's end keeps it; only an undo or the next episode clears
  // it), so a duplicate report that comes after the full ACK still undoes.
  if (!sk.undo_active || sk.undo_retrans != 0) return false;
  undo_cwnd_reduction(sk);
  sk.stack.mib().TcpExtTCPDSACKUndo++;
  return true;
}

bool tcp_try_undo_recovery(TcpSock& sk, const TcpSegment& seg, bool loss) {
  if (!sk.undo_active || !(sk.undo_retrans == 0 || packet_delayed(sk, seg))) return false;
  undo_cwnd_reduction(sk);
  if (loss) {
    sk.stack.mib().TcpExtTCPLossUndo++;
  } else {
    sk.stack.mib().TcpExtTCPFullUndo++;
  }
  return true;
}

bool tcp_try_undo_partial(TcpSock& sk, const TcpSegment& seg) {
  if (!sk.undo_active || sk.undo_tsval == 0 || !packet_delayed(sk, seg)) return false;
  sk.reord_seen++;
  sk.stack.mib().TcpExtTCPTSReorder++;
  for (std::size_t i = 0; i < sk.rtx.size(); ++i) {
    if (sk.rtx[i].has(TcpSentSeg::kRetrans)) return true;
  }
  undo_cwnd_reduction(sk);
  sk.stack.mib().TcpExtTCPPartialUndo++;
  return false;
}

// --- tail loss probe (RFC 8985 7) ---

bool tcp_schedule_loss_probe(TcpSock& sk, bool advancing_rto) {
  const int early = sk.stack.sysctl().tcp_early_retrans;
  if ((early != 3 && early != 4) || !sk.sack_ok || sk.flight() == 0 || tcp_in_loss_episode(sk) ||
      sk.persist || !sk.syn_acked()) {
    return false;
  }
  // Linux allows a probe only in the Open and CWR states: not while SACKed segments wait
  // for the reordering window (Disorder), whose timer the probe's would replace.
  if (sk.sacked_out != 0 || sk.rack_timer_kind == TcpSock::RackTimer::kReorder) return false;
  // RFC 8985 7.2 / Linux tcp_schedule_loss_probe: PTO = 2 SRTT, plus the receiver's
  // delayed-ACK time when one segment is in flight (it may wait for a second one), else
  // plus 2 ms; 1 s without an RTT sample; never later than the RTO would fire.
  Duration pto = kTcpTimeoutInit;
  if (sk.srtt_us != 0) {
    pto = std::chrono::microseconds(sk.srtt_us >> 2);
    pto += (sk.rtx.size() == 1) ? kTcpRtoMin : kTcpTimeoutMin;
  }
  const Instant now = sk.stack.now();
  const Duration rto_left = advancing_rto || !sk.rto_timer.armed()
                                ? tcp_current_rto(sk)
                                : std::max<Duration>(sk.rto_timer.when() - now, Duration{0});
  // Linux arms the probe in the RTO's place, at the RTO's time if that comes first: the
  // probe then goes instead of the timeout, and the RTO counts from it. usnet keeps two
  // timers, so the RTO moves to where the probe would rearm it.
  if (pto >= rto_left) {
    pto = rto_left;
    sk.stack.timers().arm(sk.rto_timer, now + pto + tcp_current_rto(sk));
  }
  arm_rack_timer(sk, TcpSock::RackTimer::kLossProbe, pto);
  return true;
}

void tcp_process_tlp_ack(TcpSock& sk, const TcpSegment& seg, bool dsack, bool una_advanced,
                         bool new_sack) {
  if (!sk.tlp_active || seg.ack < sk.tlp_high_seq) return;
  const auto& o = seg.h.options;
  const bool dsack_tlp = dsack && SeqNum(o.sack[0].right) == sk.tlp_high_seq;
  if (!sk.tlp_retrans || dsack_tlp) {
    sk.tlp_active = false;  // new data probed, or the probe and the original both arrived
  } else if (seg.ack > sk.tlp_high_seq) {
    // The probe repaired a loss: reduce the window as for one (Linux: CWR, then open).
    sk.tlp_active = false;
    sk.ssthresh = sk.cc->ssthresh(sk, sk.stack.now());
    sk.cwnd = std::max<std::uint32_t>(sk.ssthresh, sk.mss);
    sk.stack.mib().TcpExtTCPLossProbeRecovery++;
  } else if (!una_advanced && !new_sack && seg.payload.empty()) {
    sk.tlp_active = false;  // a pure duplicate ACK: both copies arrived
  }
}

void tcp_send_loss_probe(TcpSock& sk) {
  if (sk.flight() == 0) return;
  // Linux tcp_send_loss_probe ends with tcp_rearm_rto: the RTO counts from the probe.
  struct RearmRto {
    TcpSock& sk;
    ~RearmRto() { tcp_arm_rto(sk); }
  } rearm{sk};
  if (sk.tlp_active || tcp_in_loss_episode(sk)) return;  // one probe per tail
  // RFC 8985 7.3: new data if the windows allow a segment of it, else the last segment
  // again.
  bool retrans = false;
  if (!tcp_xmit_probe_new_data(sk)) {
    if (sk.rtx.empty()) return;
    const TcpSentSeg& last = sk.rtx.back();
    if (tcp_retransmit(sk, last.seq, last.len()) == 0) return;
    retrans = true;
  }
  sk.tlp_active = true;
  sk.tlp_retrans = retrans;
  sk.tlp_high_seq = sk.snd_nxt;
  sk.stack.mib().TcpExtTCPLossProbes++;
}

void tcp_rack_timer_cancel(TcpSock& sk, TcpSock::RackTimer kind) {
  if (sk.rack_timer_kind == TcpSock::RackTimer::kNone) return;
  if (kind != TcpSock::RackTimer::kNone && sk.rack_timer_kind != kind) return;
  sk.stack.timers().cancel(sk.rack_timer);
  sk.rack_timer_kind = TcpSock::RackTimer::kNone;
}

void tcp_rack_timer(TcpSock& sk) {
  const TcpSock::RackTimer kind = sk.rack_timer_kind;
  sk.rack_timer_kind = TcpSock::RackTimer::kNone;
  if (sk.state == TcpState::kClosed || sk.flight() == 0) return;
  if (kind == TcpSock::RackTimer::kLossProbe) {
    tcp_send_loss_probe(sk);
    return;
  }
  if (kind != TcpSock::RackTimer::kReorder) return;
  // Linux tcp_rack_reo_timeout: the reordering window has passed for some segment.
  if (tcp_rack_detect_loss(sk)) {
    if (!tcp_in_loss_episode(sk)) {
      tcp_enter_recovery_rack(sk);
      tcp_prr_reduce(sk, 1, false, false);  // Linux tcp_rack_reo_timeout
    }
    tcp_write_xmit(sk);
  }
}

// --- the receiver's DSACK (RFC 2883) ---

void tcp_dsack_set(TcpSock& sk, SeqNum left, SeqNum right) {
  if (!sk.sack_ok || sk.stack.sysctl().tcp_dsack == 0 || !(left < right)) return;
  if (left < sk.rcv_nxt) {
    sk.stack.mib().TcpExtTCPDSACKOldSent++;
  } else {
    sk.stack.mib().TcpExtTCPDSACKOfoSent++;
  }
  sk.dsack_pending = true;
  sk.dsack_left = left;
  sk.dsack_right = right;
}

}  // namespace usnet

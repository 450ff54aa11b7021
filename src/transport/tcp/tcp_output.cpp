// Segment output: building a segment with its options, the send loop with its window,
// congestion, Nagle and silly-window rules, ACKs and resets.
#include <algorithm>

#include "net/ipv4.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_ecn.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

constexpr std::uint8_t kProtoTcp = static_cast<std::uint8_t>(wire::IpProtocol::kTcp);

bool can_send_data(const TcpSock& sk) {
  const TcpState s = sk.state;
  return s == TcpState::kEstablished || s == TcpState::kCloseWait || s == TcpState::kFinWait1 ||
         s == TcpState::kClosing || s == TcpState::kLastAck || tcp_fastopen_passive(sk);
}

// SACK blocks for an outgoing segment (RFC 2018 4): the block holding the most recently
// received segment first, then the others from the highest down, as many as fit. The
// out-of-order queue's ranges are the blocks (it merges what touches).
// RFC 2883 4: a duplicate segment's range goes first, once, ahead of the others.
void fill_sack_blocks(const TcpSock& sk, wire::TcpOptions& o, std::size_t max_blocks) {
  if (!sk.sack_ok) return;
  if (sk.dsack_pending) o.sack[o.sack_count++] = {sk.dsack_left.raw(), sk.dsack_right.raw()};
  if (sk.ooo.ranges() == 0) return;
  const auto block = [&](const OfoQueue::Range& r) {
    const SeqNum left = sk.rcv_nxt + static_cast<std::uint32_t>(r.start - sk.rcv_nxt_off);
    const bool fin = sk.ooo.fin() == r.end;
    const SeqNum right = left + static_cast<std::uint32_t>(r.end - r.start + (fin ? 1 : 0));
    return wire::SackBlock{left.raw(), right.raw()};
  };
  std::optional<OfoQueue::Range> first;
  if (sk.last_rcvd_seg > sk.rcv_nxt) {
    first =
        sk.ooo.range_at(sk.rcv_nxt_off + static_cast<std::uint32_t>(sk.last_rcvd_seg - sk.rcv_nxt));
  }
  if (first) o.sack[o.sack_count++] = block(*first);
  sk.ooo.for_each_descending([&](const OfoQueue::Range& r) {
    if (o.sack_count >= max_blocks || (first && r.start == first->start)) return;
    o.sack[o.sack_count++] = block(r);
  });
}

// Builds and sends one segment of `len` bytes from the send queue at `seq`.
void tcp_transmit(TcpSock& sk, SeqNum seq, std::uint8_t flags, std::uint32_t len) {
  Stack& stack = sk.stack;
  Packet p(len + wire::TcpHeader::kMaxSize);
  if (len > 0) {
    auto d = p.append(len);
    // Data on a SYN (Fast Open) is the front of the send queue.
    const auto off =
        (flags & wire::kTcpSyn) != 0 ? 0 : static_cast<std::size_t>(seq - sk.data_start());
    sk.sndq.copy_out(off, d);
  }
  wire::TcpHeader h;
  h.src_port = sk.local.port;
  h.dst_port = sk.remote.port;
  h.seq = seq.raw();
  const bool syn = (flags & wire::kTcpSyn) != 0;
  // Linux tcp_ecn_send: SYNs carry their ECN flags already and always go Not-ECT.
  const std::uint8_t ecn = syn ? kIpEcnNotEct : tcp_ecn_send(sk, seq, len, flags);
  h.flags = flags;
  if ((flags & wire::kTcpAck) != 0) h.ack = sk.rcv_nxt.raw();
  if (syn) {
    // RFC 7323 2.2: the window of a SYN is never scaled. Linux offers the initial window
    // (tcp_select_initial_window), at most 65535.
    const auto wnd = static_cast<std::uint16_t>(std::min<std::uint32_t>(sk.rcv_wnd_init, 65535));
    h.window = wnd;
    sk.rcv_adv = sk.rcv_nxt + wnd;
    h.options.mss = sk.advmss;
    // An active open offers what the sysctls allow (tcp_syn_options); a SYN,ACK answers
    // what both ends agreed on.
    const bool active = (flags & wire::kTcpAck) == 0;
    const Sysctl& sc = stack.sysctl();
    if (active ? sc.tcp_window_scaling != 0 : sk.wscale_ok) h.options.window_scale = sk.rcv_wscale;
    h.options.sack_permitted = active ? sc.tcp_sack != 0 : sk.sack_ok;
    if (active ? sc.tcp_timestamps != 0 : sk.ts_ok) {
      h.options.ts_val = tcp_now_ts(sk);
      h.options.ts_ecr = active ? 0 : sk.ts_recent;
    }
    h.options.fastopen = sk.tfo.option;  // RFC 7413 2, last as Linux tcp_options_write
  } else {
    const std::uint32_t wnd = (flags & wire::kTcpRst) != 0 ? 0 : tcp_select_window(sk);
    h.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(wnd >> sk.rcv_wscale, 65535));
    if (sk.ts_ok && (flags & wire::kTcpRst) == 0) {
      h.options.ts_val = tcp_now_ts(sk);
      h.options.ts_ecr = sk.ts_recent;
    }
    if ((flags & wire::kTcpRst) == 0) fill_sack_blocks(sk, h.options, sk.ts_ok ? 3 : 4);
  }
  h.emit(p.push(h.size()));
  wire::TcpHeader::finish_checksum(p.data(), sk.local.addr, sk.remote.addr);
  NetOutParams ip = sk.ip_out_params(sk.local.addr, sk.remote.addr, kProtoTcp);
  ip.tos = static_cast<std::uint8_t>((ip.tos & ~kIpEcnMask) | ecn);
  // Linux ip_dont_fragment: IP_PMTUDISC_WANT sets DF unless the path MTU is locked.
  if (sk.pmtu_locked && ip.pmtu == PmtuMode::kWant) ip.pmtu = PmtuMode::kDont;
  (void)sk.net->output(std::move(p), ip);
  stack.mib().TcpOutSegs++;
  sk.segs_out++;
  const bool fin = (flags & wire::kTcpFin) != 0;
  if (!syn && (flags & wire::kTcpRst) == 0 && (len > 0 || fin)) {
    tcp_rtx_record(sk, seq, seq + len + (fin ? 1 : 0), seq < sk.snd_max);
  }
  if (len > 0) {
    // Data below SND.MAX was sent before: a retransmission (tcpi_bytes_retrans).
    sk.data_segs_out++;
    sk.bytes_sent += len;
    if (seq < sk.snd_max) sk.bytes_retrans += len;
  }
  sk.last_send = stack.now();
  if ((flags & wire::kTcpAck) != 0) {
    sk.last_ack_sent = sk.rcv_nxt;
    sk.dsack_pending = false;
    sk.ack_pending = false;
    sk.ack_pushed = false;
    sk.segs_unacked = 0;
    stack.timers().cancel(sk.delack_timer);
  }
}

// Bytes SACKed above `seq`.
std::uint32_t sacked_above(const TcpSock& sk, SeqNum seq) {
  std::uint32_t n = 0;
  for (const auto& r : sk.scoreboard) {
    if (r.right <= seq) continue;
    n += static_cast<std::uint32_t>(r.right - seq_max(r.left, seq));
  }
  return n;
}

// RFC 6675 IsLost(): a hole is presumed lost once more than (DupThresh - 1) * SMSS bytes
// above it have been SACKed; a hole with less above it may only be reordered.
bool is_lost(const TcpSock& sk, SeqNum seq) {
  return sacked_above(sk, seq) > 2U * sk.mss;
}

// RFC 6675 "pipe": bytes believed in the network: outstanding bytes that are neither
// SACKed nor presumed lost (unless retransmitted since, below HighRxt).
std::uint32_t tcp_pipe(const TcpSock& sk) {
  const std::uint32_t outstanding = sk.flight();
  if (sk.scoreboard.empty()) return outstanding;
  SeqNum pos = seq_max(sk.high_rxt, sk.snd_una);
  std::uint32_t lost = 0;
  for (const auto& r : sk.scoreboard) {
    if (r.right <= pos) continue;
    if (r.left > pos && is_lost(sk, pos)) lost += static_cast<std::uint32_t>(r.left - pos);
    pos = seq_max(pos, r.right);
  }
  const std::uint32_t gone = sk.sacked_bytes + lost;
  return outstanding > gone ? outstanding - gone : 0;
}

// RFC 6675 NextSeg() rule 1: the first unSACKed byte at or after HighRxt that IsLost()
// says is lost. Sets len to the length of that hole.
bool next_hole(const TcpSock& sk, SeqNum& seq, std::uint32_t& len) {
  SeqNum pos = seq_max(sk.high_rxt, sk.snd_una);
  for (const auto& r : sk.scoreboard) {
    if (r.right <= pos) continue;
    if (r.left > pos) {
      // Holes further up have less SACKed above them: if this one is not lost, none is.
      if (!is_lost(sk, pos)) return false;
      seq = pos;
      len = static_cast<std::uint32_t>(r.left - pos);
      return true;
    }
    pos = r.right;
  }
  return false;
}

// When the send loop goes back over data already sent (after a timeout, which forgets the
// older SACKs, or a Fragmentation Needed), what the scoreboard holds is skipped.
SeqNum skip_sacked(const TcpSock& sk, SeqNum seq) {
  for (const auto& r : sk.scoreboard) {
    if (seq.in_window(r.left, r.right)) seq = r.right;
  }
  return seq;
}

}  // namespace

std::uint32_t tcp_now_ts(const TcpSock& sk) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sk.stack.now().time_since_epoch());
  return static_cast<std::uint32_t>(ms.count()) + sk.ts_offset;
}

std::uint32_t tcp_select_window(TcpSock& sk) {
  const std::size_t space = sk.rcv_space_max();
  const std::size_t used = sk.rcvq.size() + sk.ooo.bytes();
  // Linux __tcp_select_window: the free space, no more than rcv_ssthresh, which grows as
  // data arrives (tcp_grow_window, tcp_autotune.cpp).
  const std::uint32_t free = std::min<std::uint32_t>(
      used >= space ? 0
                    : static_cast<std::uint32_t>(std::min<std::size_t>(space - used, 0x3fffffff)),
      tcp_rcv_ssthresh(sk));
  const std::int32_t adv = sk.rcv_adv - sk.rcv_nxt;
  const std::uint32_t cur = adv > 0 ? static_cast<std::uint32_t>(adv) : 0;
  const std::uint32_t max_wnd = 65535U << sk.rcv_wscale;
  const std::uint32_t unit = 1U << sk.rcv_wscale;
  // RFC 9293 3.8.6.2.2 (receiver SWS avoidance): move the right edge only by at least
  // min(half the buffer, one MSS); never shrink the window already offered (3.8.6).
  if (free <= cur ||
      free - cur < std::min<std::uint32_t>(static_cast<std::uint32_t>(space / 2), sk.advmss)) {
    // The edge stays where it was offered (RCV.ADV: data up to it is still taken). The
    // field can only say it in scale units: rounded up as Linux does, unless that passes
    // the free space rounded up; then down, as rounding the same edge up on every ACK
    // would move it right by up to a unit each time, past the buffer (RFC 7323 2.4 lets
    // the window look a fraction of a unit smaller).
    const std::uint32_t up = std::min(max_wnd, (std::min(cur, max_wnd) + unit - 1) & ~(unit - 1));
    const std::uint32_t free_up = std::min(max_wnd, (free + unit - 1) & ~(unit - 1));
    if (up <= free_up) {
      sk.rcv_adv = sk.rcv_nxt + up;
      return up;
    }
    return std::min(cur, max_wnd) & ~(unit - 1);
  }
  // A new edge: the free space, rounded up to the scale unit so that the advertised edge
  // is not below what we accept (at most a unit past the buffer, not compounding: the
  // edge is measured from the buffer's, not from the last edge).
  std::uint32_t wnd = std::min(free, max_wnd);
  wnd = std::min(max_wnd, (wnd + unit - 1) & ~(unit - 1));
  sk.rcv_adv = sk.rcv_nxt + wnd;
  return wnd;
}

void tcp_send_syn(TcpSock& sk) {
  if (sk.syn_retries == 0) sk.rtt_time = sk.stack.now();
  // Fast Open: only the first SYN carries the option and data; retries go without
  // (Linux tcp_send_syn_data keeps a plain SYN for them).
  const std::uint32_t data = sk.tfo.syn_len;
  tcp_transmit(sk, sk.iss, wire::kTcpSyn | tcp_ecn_syn_flags(sk), data);
  sk.tfo.syn_len = 0;
  sk.tfo.option.reset();
  sk.snd_nxt = sk.iss + 1 + data;
  sk.snd_max = seq_max(sk.snd_max, sk.snd_nxt);
}

void tcp_send_synack(TcpSock& sk) {
  if (sk.syn_retries == 0) sk.rtt_time = sk.stack.now();
  tcp_transmit(sk, sk.iss, wire::kTcpSyn | wire::kTcpAck | tcp_ecn_synack_flags(sk), 0);
  sk.tfo.option.reset();  // a retransmitted SYN,ACK carries no cookie (inet_rtx_syn_ack)
  sk.snd_nxt = sk.iss + 1;
  sk.snd_max = seq_max(sk.snd_max, sk.snd_nxt);
}

void tcp_send_ack(TcpSock& sk) {
  if (sk.state == TcpState::kClosed || sk.state == TcpState::kListen) return;
  tcp_transmit(sk, sk.snd_nxt, wire::kTcpAck, 0);
}

void tcp_schedule_ack(TcpSock& sk, bool now) {
  // Linux __tcp_ack_snd_check: quickack mode holds only outside interactive (pingpong)
  // mode; tcp_send_delayed_ack: the timeout from ato, and an ACK at once when a timer
  // already running is within a quarter of ato of expiring.
  if (now || (sk.quickacks > 0 && sk.pingpong == 0)) {
    if (sk.quickacks > 0) --sk.quickacks;
    tcp_send_ack(sk);
    return;
  }
  sk.ack_pending = true;
  const Instant t = sk.stack.now();
  const Duration ato = tcp_delack_timeout(sk);
  Instant when = t + ato;
  if (sk.delack_timer.armed()) {
    if (sk.delack_timer.when() <= t + ato / 4) {
      tcp_send_ack(sk);
      return;
    }
    when = std::min(when, sk.delack_timer.when());
  }
  sk.stack.timers().arm(sk.delack_timer, when);
}

bool tcp_oow_rate_limited(TcpSock& sk, std::uint64_t& skipped) {
  const Instant now = sk.stack.now();
  const auto limit = std::chrono::milliseconds(sk.stack.sysctl().tcp_invalid_ratelimit_ms());
  if (sk.last_oow_ack != kEpoch && now - sk.last_oow_ack < limit) {
    skipped++;
    return true;
  }
  sk.last_oow_ack = now;
  return false;
}

// RFC 5961 7 leaves the limit to the implementation: Linux first applies the socket's
// out-of-window rate limit, then tcp_challenge_ack_limit per second per stack.
void tcp_send_challenge_ack(TcpSock& sk) {
  if (tcp_oow_rate_limited(sk, sk.stack.mib().TcpExtTCPACKSkippedChallenge)) return;
  if (!sk.tcp().challenge_ack_allowed()) return;
  sk.stack.mib().TcpExtTCPChallengeACK++;
  tcp_send_ack(sk);
}

void tcp_send_active_reset(TcpSock& sk) {
  sk.stack.mib().TcpOutRsts++;
  tcp_transmit(sk, sk.snd_nxt, wire::kTcpRst | wire::kTcpAck, 0);
}

void tcp_send_reset(Stack& stack, const TcpSegment& seg) {
  // RFC 9293 3.10.7.1: never answer a reset with a reset.
  if (seg.h.has(wire::kTcpRst)) return;
  wire::TcpHeader h;
  h.src_port = seg.h.dst_port;
  h.dst_port = seg.h.src_port;
  if (seg.h.has(wire::kTcpAck)) {
    h.seq = seg.ack.raw();
    h.flags = wire::kTcpRst;
  } else {
    h.seq = 0;
    h.ack = (seg.seq + seg.len()).raw();
    h.flags = wire::kTcpRst | wire::kTcpAck;
  }
  Packet p(wire::TcpHeader::kMaxSize);
  h.emit(p.push(h.size()));
  wire::TcpHeader::finish_checksum(p.data(), seg.dst, seg.src);
  NetOutParams ip;
  ip.src = seg.dst;
  ip.dst = seg.src;
  ip.protocol = kProtoTcp;
  ip.ttl = static_cast<std::uint8_t>(stack.sysctl().ip_default_ttl);
  stack.tracer().step("tcp_v4_send_reset");
  (void)seg.net->output(std::move(p), ip);
  stack.mib().TcpOutSegs++;
  stack.mib().TcpOutRsts++;
}

std::uint32_t tcp_retransmit(TcpSock& sk, SeqNum seq, std::uint32_t max_len) {
  const SeqNum end = sk.write_seq();
  std::uint32_t len = 0;
  if (seq < end)
    len = std::min<std::uint32_t>({max_len, sk.mss, static_cast<std::uint32_t>(end - seq)});
  const bool fin = sk.fin_queued && seq + len == sk.fin_seq() && sk.snd_max > sk.fin_seq();
  if (len == 0 && !fin) return 0;
  std::uint8_t flags = wire::kTcpAck;
  if (fin) flags |= wire::kTcpFin;
  if (len > 0 && tcp_push_covered(sk, seq, len)) flags |= wire::kTcpPsh;
  tcp_transmit(sk, seq, flags, len);
  sk.total_retrans++;
  sk.retrans_out++;
  sk.stack.mib().TcpRetransSegs++;
  // Karn's rule (RFC 6298 3): a retransmitted segment is never timed.
  if (sk.rtt_seq_valid && sk.rtt_seq.in_window(seq, seq + len + (fin ? 1 : 0)))
    sk.rtt_seq_valid = false;
  if (!sk.rto_timer.armed()) tcp_arm_rto(sk);
  return len + (fin ? 1 : 0);
}

void tcp_send_probe(TcpSock& sk, bool keepalive) {
  // An ACK with a sequence number the peer has already seen: it answers with an ACK that
  // carries its current window (RFC 9293 3.8.6.1, RFC 1122 4.2.3.6).
  if (keepalive) sk.stack.mib().UsnetTcpKeepaliveProbes++;
  tcp_transmit(sk, sk.snd_una - 1, wire::kTcpAck, 0);
}

namespace {

// Whether the send loop counts the pipe (RFC 6675) rather than all that is outstanding, and
// resends holes first: in a SACK recovery, and with RACK in the loss episode after an RTO
// too (Linux CA_Loss retransmits what tcp_timeout_mark_lost marked).
bool tcp_use_pipe(const TcpSock& sk) {
  return tcp_is_rack(sk) ? tcp_in_loss_episode(sk) : sk.in_recovery && sk.sack_ok;
}

std::uint32_t tcp_pipe_now(const TcpSock& sk) {
  return tcp_is_rack(sk) ? tcp_rack_pipe(sk) : tcp_pipe(sk);
}

// RFC 6675 5 (step 4): in SACK recovery, the holes first, while the pipe has room. With
// RACK the holes are the records it marked lost (RFC 8985 6.3).
void tcp_retransmit_holes(TcpSock& sk) {
  const bool rack = tcp_is_rack(sk);
  for (;;) {
    const std::uint32_t pipe = tcp_pipe_now(sk);
    if (pipe + sk.mss > sk.cwnd) return;
    SeqNum seq;
    std::uint32_t hole = 0;
    if (!(rack ? tcp_rack_next_lost(sk, seq, hole) : next_hole(sk, seq, hole))) return;
    const std::uint32_t sent = tcp_retransmit(sk, seq, hole);
    if (sent == 0) return;
    sk.high_rxt = seq + sent;
  }
}

// Whether a segment of `len` (of `unsent` bytes from `seq`) waits for more window or more
// data instead of going now. Arms the persist or cork timer where waiting needs one.
bool tcp_hold_segment(TcpSock& sk, SeqNum seq, std::uint32_t len, std::uint32_t unsent,
                      std::uint32_t wnd_room, bool fin_pending) {
  if (len < unsent) {
    // Window- or congestion-limited. RFC 9293 3.8.6.2.1 (sender SWS avoidance): send a
    // short segment only when it is at least half the largest window the peer offered.
    if (len == 0) {
      if (wnd_room == 0 && sk.flight() == 0 && !sk.rto_timer.armed()) tcp_arm_persist(sk);
      return true;
    }
    return len < sk.mss && len < sk.max_snd_wnd / 2 && sk.flight() != 0;
  }
  if (len < sk.mss && !fin_pending && seq >= sk.snd_max) {
    // The tail of the queue, shorter than a segment. TCP_CORK and MSG_MORE hold it for
    // more data, at most 200 ms (tcp(7)); Nagle (RFC 9293 3.7.4) holds it while data is
    // unacknowledged, unless TCP_NODELAY.
    if ((sk.cork || sk.more) && !sk.cork_expired) {
      if (!sk.cork_timer.armed()) {
        sk.stack.timers().arm(sk.cork_timer, sk.stack.now() + kTcpCorkMax);
      }
      return true;
    }
    return !sk.nodelay && sk.snd_max != sk.snd_una && sk.snd_sml && *sk.snd_sml > sk.snd_una &&
           *sk.snd_sml <= sk.snd_nxt;
  }
  return false;
}

// The bookkeeping of a segment of `len` bytes (and FIN) just sent from `seq`.
void tcp_segment_sent(TcpSock& sk, SeqNum seq, std::uint32_t len, bool fin, bool retrans) {
  if (retrans) {
    sk.total_retrans++;
    sk.retrans_out++;
    sk.stack.mib().TcpRetransSegs++;
  } else if (len > 0 && sk.lrcvtime != kEpoch && sk.stack.now() - sk.lrcvtime < sk.ato) {
    sk.pingpong = 1;  // Linux tcp_event_data_sent: a reply within ato of the last data
  }
  if (!retrans && !sk.ts_ok && !sk.rtt_seq_valid && len > 0) {
    sk.rtt_seq = seq;  // Karn: one segment timed at a time, never a retransmission
    sk.rtt_time = sk.stack.now();
    sk.rtt_seq_valid = true;
  }
  sk.snd_nxt = seq + len + (fin ? 1 : 0);
  sk.snd_max = seq_max(sk.snd_max, sk.snd_nxt);
  if (!retrans && len < sk.mss) sk.snd_sml = seq + len;  // tcp_minshall_update
  if (!retrans && len > 0 && !sk.tx_notes.empty()) tcp_tx_report_sent(sk, seq, len);
  if (sk.persist) {
    // The window opened: the probes and their backoff are over (Linux tcp_ack_probe).
    sk.persist = false;
    sk.probes = 0;
    sk.probes_stamp = kEpoch;
    sk.backoff = 0;
    tcp_arm_rto(sk);
  } else if (!sk.rto_timer.armed()) {
    tcp_arm_rto(sk);
  }
}

}  // namespace

void tcp_write_xmit(TcpSock& sk) {
  if (!can_send_data(sk)) return;
  const Instant now = sk.stack.now();
  // RFC 5681 4.1 / RFC 7661: after an idle period longer than the RTO, restart from at most
  // the initial window rather than bursting a stale cwnd (unless tcp_slow_start_after_idle
  // is 0, as in Linux tcp_cwnd_validate).
  if (sk.stack.sysctl().tcp_slow_start_after_idle != 0 && sk.flight() == 0 &&
      sk.last_send != kEpoch && now - sk.last_send > sk.rto) {
    sk.cwnd = std::min(sk.cwnd, kTcpInitCwndSegs * sk.mss);
  }
  const bool use_pipe = tcp_use_pipe(sk);
  if (use_pipe) tcp_retransmit_holes(sk);
  bool sent_new = false;

  for (;;) {
    SeqNum seq = sk.snd_nxt;
    if (seq < sk.snd_max) {
      seq = skip_sacked(sk, seq);
      sk.snd_nxt = seq_min(seq, sk.snd_max);
      seq = sk.snd_nxt;
    }
    const SeqNum end = sk.write_seq();
    const std::uint32_t unsent = seq < end ? static_cast<std::uint32_t>(end - seq) : 0;
    const bool fin_pending = sk.fin_queued && seq <= sk.fin_seq();
    if (unsent == 0 && !fin_pending) break;

    const SeqNum wnd_end = sk.snd_una + sk.snd_wnd;
    const std::uint32_t wnd_room = wnd_end > seq ? static_cast<std::uint32_t>(wnd_end - seq) : 0;
    const std::uint32_t in_flight =
        use_pipe ? tcp_pipe_now(sk) : static_cast<std::uint32_t>(seq - sk.snd_una);
    const std::uint32_t cwnd_room = sk.cwnd > in_flight ? sk.cwnd - in_flight : 0;
    const std::uint32_t len = std::min<std::uint32_t>({sk.mss, unsent, wnd_room, cwnd_room});
    if (tcp_hold_segment(sk, seq, len, unsent, wnd_room, fin_pending)) break;

    const bool fin = fin_pending && seq + len == sk.fin_seq();
    if (len == 0 && !fin) break;
    std::uint8_t flags = wire::kTcpAck;
    if (fin) flags |= wire::kTcpFin;
    if (len > 0 && tcp_push_covered(sk, seq, len)) flags |= wire::kTcpPsh;
    const bool retrans = seq < sk.snd_max;
    if (sk.flight() == 0) sk.retrans_stamp = now;
    tcp_transmit(sk, seq, flags, len);
    tcp_segment_sent(sk, seq, len, fin, retrans);
    sent_new = sent_new || !retrans;
    if (fin) break;
  }
  // Linux tcp_write_xmit: one loss probe per tail, timed from the last new segment.
  if (sent_new) (void)tcp_schedule_loss_probe(sk, false);
}

bool tcp_xmit_probe_new_data(TcpSock& sk) {
  if (!can_send_data(sk) || sk.snd_nxt < sk.snd_max) return false;
  const SeqNum seq = sk.snd_nxt;
  const SeqNum end = sk.write_seq();
  const std::uint32_t unsent = seq < end ? static_cast<std::uint32_t>(end - seq) : 0;
  const SeqNum wnd_end = sk.snd_una + sk.snd_wnd;
  const std::uint32_t wnd_room = wnd_end > seq ? static_cast<std::uint32_t>(wnd_end - seq) : 0;
  const std::uint32_t len = std::min<std::uint32_t>({sk.mss, unsent, wnd_room});
  const bool fin = sk.fin_queued && seq + len == sk.fin_seq() && len == unsent;
  if (len == 0 && !fin) return false;
  std::uint8_t flags = wire::kTcpAck;
  if (fin) flags |= wire::kTcpFin;
  if (len > 0 && tcp_push_covered(sk, seq, len)) flags |= wire::kTcpPsh;
  tcp_transmit(sk, seq, flags, len);
  tcp_segment_sent(sk, seq, len, fin, false);
  return true;
}

void tcp_rcv_space_update(TcpSock& sk) {
  if (sk.state != TcpState::kEstablished && sk.state != TcpState::kFinWait1 &&
      sk.state != TcpState::kFinWait2) {
    return;
  }
  const std::size_t space = sk.rcv_space_max();
  const std::size_t used = sk.rcvq.size() + sk.ooo.bytes();
  const std::size_t free =
      std::min<std::size_t>(used >= space ? 0 : space - used, tcp_rcv_ssthresh(sk));
  const std::int32_t adv = sk.rcv_adv - sk.rcv_nxt;
  const std::size_t cur = adv > 0 ? static_cast<std::size_t>(adv) : 0;
  if (free <= cur) return;
  const std::size_t gain = free - cur;
  // Tell the peer when the window grew by two segments, half the buffer, or reopened from
  // below one segment (RFC 1122 4.2.3.3).
  if (gain >= 2U * sk.advmss || gain >= space / 2 || (cur < sk.advmss && free >= sk.advmss)) {
    tcp_send_ack(sk);
  }
}

}  // namespace usnet

namespace usnet {

void tcp_mark_push(TcpSock& sk, SeqNum at) {
  sk.pushed_seq = at;
  constexpr std::size_t n = TcpSock::kPushMarks;
  if (sk.push_count > 0 && sk.push_marks[(sk.push_head + sk.push_count - 1U) % n] == at) return;
  if (sk.push_count == n) {
    sk.push_head = static_cast<std::uint8_t>((sk.push_head + 1U) % n);
    --sk.push_count;
  }
  sk.push_marks[(sk.push_head + sk.push_count) % n] = at;
  ++sk.push_count;
}

bool tcp_push_covered(TcpSock& sk, SeqNum seq, std::uint32_t len) {
  constexpr std::size_t n = TcpSock::kPushMarks;
  while (sk.push_count > 0 && sk.push_marks[sk.push_head] <= sk.snd_una) {
    sk.push_head = static_cast<std::uint8_t>((sk.push_head + 1U) % n);
    --sk.push_count;
  }
  for (std::size_t i = 0; i < sk.push_count; ++i) {
    const SeqNum m = sk.push_marks[(sk.push_head + i) % n];
    if (m > seq && m <= seq + len) return true;
  }
  return false;
}

void tcp_push_after_write(TcpSock& sk, SeqNum start, std::uint32_t n, bool more) {
  // Linux tcp_sendmsg_locked: each skb it fills is pushed when write_seq has passed
  // pushed_seq + max_window / 2 (forced_push); tcp_push then marks the last one unless
  // MSG_MORE (and even then when forced). usnet's segments are cut at MSS steps from
  // SND.NXT, so those steps stand for Linux's skb ends (a device without TSO).
  const std::uint32_t half = sk.max_snd_wnd / 2;
  const SeqNum end = start + n;
  const auto forced = [&](SeqNum at) { return at > sk.pushed_seq + half; };
  const std::uint32_t mss = std::max<std::uint32_t>(sk.mss, 1);
  const SeqNum base = seq_max(sk.snd_nxt, sk.data_start());
  if (half > 0) {
    // The first MSS step past `start`, and on while below `end`.
    const auto done = start > base ? static_cast<std::uint32_t>(start - base) : 0U;
    SeqNum b = base + (done / mss + 1) * mss;
    for (; b < end; b += mss) {
      if (forced(b)) tcp_mark_push(sk, b);
    }
  }
  if (!more || forced(end)) tcp_mark_push(sk, end);
}

}  // namespace usnet

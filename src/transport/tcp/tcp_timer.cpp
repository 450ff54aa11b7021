// TCP's timers, three per connection as in Linux: retransmission (also SYN retries and the
// persist timer of a zero window), delayed ACK, and keepalive (also FIN_WAIT_2 and
// TIME_WAIT). All live in the stack's timer wheel: O(1) to arm and cancel.
#include <bit>

#include <fmt/format.h>

#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

// Linux tcp_model_timeout: how long `boundary` retransmissions take when the RTO starts at
// TCP_RTO_MIN and doubles up to TCP_RTO_MAX. Linux counts its retry limits in this time,
// not in expiries, so a connection with a long RTO gives up after fewer of them.
Duration tcp_model_timeout(int boundary) {
  constexpr int kLinearBackoffThresh =
      std::bit_width(static_cast<unsigned>(kTcpRtoMax / kTcpRtoMin)) - 1;  // 9
  if (boundary <= kLinearBackoffThresh) return ((2 << boundary) - 1) * kTcpRtoMin;
  return ((2 << kLinearBackoffThresh) - 1) * kTcpRtoMin +
         (boundary - kLinearBackoffThresh) * kTcpRtoMax;
}

// Linux retransmits_timed_out: the oldest outstanding data, first sent at retrans_stamp,
// has been retransmitted and waited for TCP_USER_TIMEOUT if set, else for the model of
// `boundary` retries.
bool retransmits_timed_out(const TcpSock& sk, int boundary) {
  if (sk.retransmits == 0) return false;
  const Duration limit =
      sk.user_timeout.count() > 0 ? sk.user_timeout : tcp_model_timeout(boundary);
  return sk.stack.now() - sk.retrans_stamp >= limit;
}

// Linux tcp_orphan_retries: the retries of a connection the user has closed.
// net.ipv4.tcp_orphan_retries is 0 by default, which means 8 while the RTO is below
// TCP_RTO_MAX ("8 corresponds to >100 seconds with minimal RTO of 200msec"), and none once
// it is not and an ICMP error has been seen.
int tcp_orphan_retries(const TcpSock& sk, bool alive) {
  int retries = sk.stack.sysctl().tcp_orphan_retries;
  if (sk.soft_error && !alive) retries = 0;
  if (retries == 0 && alive) retries = 8;
  return retries;
}

// Linux tcp_write_timeout for a synchronized connection: ends it once its retries are spent
// (tcp_retries2, or tcp_orphan_retries for an orphan). True if it did.
bool tcp_write_timeout(TcpSock& sk) {
  int retry_until = sk.stack.sysctl().tcp_retries2;
  if (sk.owner == TcpSock::Owner::kOrphan) {
    retry_until = tcp_orphan_retries(sk, tcp_current_rto(sk) < kTcpRtoMax);
  }
  if (!retransmits_timed_out(sk, retry_until)) return false;
  sk.stack.mib().TcpExtTCPAbortOnTimeout++;
  tcp_abort(sk, sk.soft_error.value_or(Error::kTimedOut));
  return true;
}

// The persist timer of a zero window (Linux tcp_probe_timer). RFC 1122 4.2.2.17: the
// connection "MUST NOT" be closed "as long as the receiving TCP continues to send
// acknowledgments in response to the probe segments"; tcp_ack resets the count of
// unanswered probes on each acceptable ACK. Only an orphan (tcp_orphan_retries) and
// TCP_USER_TIMEOUT, counted from the first probe, bound a window held shut.
void tcp_probe_timer(TcpSock& sk) {
  const Instant now = sk.stack.now();
  if (sk.snd_wnd != 0 || sk.sndq.empty()) {
    sk.persist = false;
    sk.probes = 0;
    sk.probes_stamp = kEpoch;
    tcp_write_xmit(sk);
    return;
  }
  bool give_up = false;
  if (sk.probes_stamp == kEpoch) {
    sk.probes_stamp = now;
  } else if (sk.user_timeout.count() > 0 && now - sk.probes_stamp >= sk.user_timeout) {
    give_up = true;
  }
  const int retries2 = sk.stack.sysctl().tcp_retries2;
  int max_probes = retries2;
  if (sk.owner == TcpSock::Owner::kOrphan) {
    const bool alive = tcp_current_rto(sk) < kTcpRtoMax;
    max_probes = tcp_orphan_retries(sk, alive);
    if (!alive && sk.backoff >= max_probes) give_up = true;
  }
  if (give_up || sk.probes >= max_probes) {
    sk.stack.mib().TcpExtTCPAbortOnTimeout++;
    tcp_abort(sk, sk.soft_error.value_or(Error::kTimedOut));
    return;
  }
  sk.probes++;
  if (sk.backoff < retries2) sk.backoff++;  // as Linux tcp_send_probe0
  tcp_send_probe(sk, false);
  tcp_arm_persist(sk);
}

void tcp_retransmit_timer(TcpSock& sk) {
  Stack& stack = sk.stack;
  MibCounters& mib = stack.mib();
  const Instant now = stack.now();
  if (stack.tracer().enabled()) {
    stack.tracer().event(fmt::format("tcp_retransmit_timer {}:{} {}", sk.local.addr.to_string(),
                                     sk.local.port, tcp_state_name(sk.state)));
  }
  switch (sk.state) {
    case TcpState::kSynSent: {
      // Linux tcp_write_timeout and tcp_retransmit_timer: a SYN is retried
      // tcp_syn_retries (or TCP_SYNCNT) + tcp_syn_linear_timeouts times; the first
      // tcp_syn_linear_timeouts retries keep the initial RTO, later ones double it. With
      // Linux 6.18's 6 and 4: after 1, 1, 1, 1, 1, 2, 4, 8, 16, 32 s, then ETIMEDOUT 64 s later.
      const int linear = stack.sysctl().tcp_syn_linear_timeouts;
      if (sk.syn_retries >= tcp_syn_count(sk) + linear) {
        mib.TcpAttemptFails++;
        mib.TcpExtTCPAbortOnTimeout++;
        tcp_abort(sk, sk.soft_error.value_or(Error::kTimedOut));
        return;
      }
      sk.syn_retries++;
      if (sk.syn_retries > linear) sk.backoff++;
      mib.TcpRetransSegs++;
      sk.total_retrans++;
      tcp_send_syn(sk);
      tcp_arm_rto(sk);
      return;
    }
    case TcpState::kSynReceived: {
      // Linux reqsk_timer_handler: the listener's TCP_SYNCNT, else tcp_synack_retries; the
      // RTO doubles each time (no linear phase on the passive side). TCP_DEFER_ACCEPT may
      // hold the SYN,ACK back, and the attempt longer.
      const SynAckTimeout t = tcp_synack_timeout(
          sk, sk.syn_count != 0 ? sk.syn_count : stack.sysctl().tcp_synack_retries);
      if (t.expire) {
        mib.TcpAttemptFails++;
        // A Fast Open child is the user's already: it learns why (tcp_fastopen_synack_timer,
        // tcp_write_err).
        if (tcp_fastopen_passive(sk)) {
          tcp_abort(sk, Error::kTimedOut);
        } else {
          tcp_done(sk);
        }
        return;
      }
      sk.syn_retries++;
      sk.backoff++;
      if (t.resend) {
        mib.TcpRetransSegs++;
        sk.total_retrans++;
        tcp_send_synack(sk);
      }
      tcp_arm_rto(sk);
      return;
    }
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kTimeWait:
      return;
    default:
      break;
  }
  if (sk.persist) {
    tcp_probe_timer(sk);
    return;
  }
  if (sk.snd_una == sk.snd_max) return;
  // RFC 6298 5.4-5.7 and RFC 5681 3.1: a retransmission timeout.
  mib.TcpExtTCPTimeouts++;
  if (tcp_write_timeout(sk)) return;
  // RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS) once per loss; a segment that
  // times out again is the same loss, and ssthresh is held. Linux tcp_enter_loss reduces
  // it outside a loss episode (SND.UNA has reached "recover"), or in one when new data was
  // acknowledged since the last timeout; never again inside a fast recovery, which did.
  const bool rack = tcp_is_rack(sk);
  if (sk.snd_una >= sk.recover || (!sk.in_recovery && sk.retransmits == 0)) {
    if (rack) tcp_undo_start(sk);  // Linux tcp_enter_loss: tcp_init_undo with the threshold
    sk.ssthresh = sk.cc->ssthresh(sk, now);
  }
  sk.cc->on_rto(sk);
  sk.in_cwr = false;  // Linux tcp_enter_loss: the Loss state replaces CWR
  sk.cwnd = sk.mss;   // the loss window
  sk.in_recovery = false;
  sk.dupacks = 0;
  sk.recover = sk.snd_max;
  sk.high_rxt = sk.snd_una;
  sk.rtt_seq_valid = false;
  sk.backoff++;
  sk.retransmits++;
  sk.tlp_active = false;
  tcp_rack_timer_cancel(sk);
  if (rack && !sk.rtx.empty()) {
    // Linux tcp_timeout_mark_lost: the SACKed bits stay unless the receiver shows it
    // reneged (RFC 2018 8: what it SACKed at SND.UNA it would have acknowledged); every
    // other record is lost, and the send loop resends them in order within the loss
    // window, with RACK watching the retransmissions.
    if (!sk.scoreboard.empty() && sk.scoreboard.front().left == sk.snd_una) {
      mib.TcpExtTCPSACKReneging++;
      sk.scoreboard.clear();
      sk.sacked_bytes = 0;
      tcp_rack_clear_sacked(sk);
    }
    tcp_rack_mark_all_lost(sk);
  } else {
    // RFC 2018 section 8: "after a retransmit timeout the data sender SHOULD turn off all
    // of the SACKed bits", since the receiver may have reneged (dropped what it had
    // SACKed); kept, they would make every resend skip bytes the receiver no longer has.
    sk.scoreboard.clear();
    sk.sacked_bytes = 0;
    tcp_rack_clear_sacked(sk);
    // Go back to SND.UNA; the send loop resends everything from there.
    sk.snd_nxt = sk.snd_una;
  }
  tcp_write_xmit(sk);
  // Linux tcp_clamp_rto_to_user_timeout: with TCP_USER_TIMEOUT the next expiry comes no
  // later than the moment it runs out.
  Duration next = tcp_current_rto(sk);
  if (sk.user_timeout.count() > 0) {
    next = std::min(next, std::max<Duration>(sk.user_timeout - (now - sk.retrans_stamp),
                                             std::chrono::milliseconds(1)));
  }
  if (!sk.persist) stack.timers().arm(sk.rto_timer, now + next);
}

void tcp_delack_timer(TcpSock& sk) {
  if (!sk.ack_pending || sk.state == TcpState::kClosed) return;
  // Linux tcp_delack_timer_handler: a delayed ACK that had to wait for the timer inflates
  // ato (up to the RTO); in interactive mode it ends that mode instead.
  if (sk.pingpong == 0) {
    sk.ato = std::min(std::max(sk.ato, kTcpAtoMin) * 2, sk.rto);
  } else {
    sk.pingpong = 0;
    sk.ato = kTcpAtoMin;
  }
  sk.stack.mib().TcpExtDelayedACKs++;
  tcp_send_ack(sk);
}

void tcp_keepalive_timer(TcpSock& sk) {
  Stack& stack = sk.stack;
  const Instant now = stack.now();
  switch (sk.state) {
    case TcpState::kTimeWait:
      sk.done_flag = true;
      tcp_done(sk);
      return;
    case TcpState::kFinWait2:
      if (sk.owner == TcpSock::Owner::kOrphan) {
        sk.done_flag = true;
        tcp_done(sk);
        return;
      }
      break;
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
      break;
    default:
      return;
  }
  if (!sk.opt.keepalive) return;
  const Duration keepidle = tcp_keepalive_time(sk);
  // Linux tcp_keepalive_timer: no keepalive while data is outstanding or queued (the
  // retransmission timer watches the peer then); look again a whole keepalive time later.
  if (sk.flight() != 0 || !sk.sndq.empty()) {
    stack.timers().arm(sk.keep_timer, now + keepidle);
    return;
  }
  const Duration idle = now - sk.last_recv;
  if (idle < keepidle && sk.ka_probes == 0) {
    stack.timers().arm(sk.keep_timer, sk.last_recv + keepidle);
    return;
  }
  // RFC 1122 4.2.3.6; Linux: TCP_KEEPCNT unanswered probes (or TCP_USER_TIMEOUT) end it.
  // With TCP_USER_TIMEOUT the time decides, once a probe has gone; else the count.
  const bool user_timed_out =
      sk.user_timeout.count() > 0 && idle >= sk.user_timeout && sk.ka_probes > 0;
  if ((sk.user_timeout.count() == 0 && sk.ka_probes >= tcp_keepalive_probes(sk)) ||
      user_timed_out) {
    stack.mib().TcpExtTCPAbortOnTimeout++;
    tcp_abort(sk, sk.soft_error.value_or(Error::kTimedOut));
    return;
  }
  sk.ka_probes++;
  tcp_send_probe(sk, true);
  stack.timers().arm(sk.keep_timer, now + tcp_keepalive_intvl(sk));
}

}  // namespace

void tcp_init_timers(TcpSock& sk) {
  sk.rto_timer.set_callback([&sk] { tcp_retransmit_timer(sk); });
  sk.rack_timer.set_callback([&sk] { tcp_rack_timer(sk); });
  sk.delack_timer.set_callback([&sk] { tcp_delack_timer(sk); });
  sk.keep_timer.set_callback([&sk] { tcp_keepalive_timer(sk); });
  sk.cork_timer.set_callback([&sk] {
    sk.cork_expired = true;
    tcp_write_xmit(sk);
    sk.cork_expired = false;
  });
}

void tcp_cancel_timers(TcpSock& sk) {
  TimerWheel& w = sk.stack.timers();
  w.cancel(sk.rto_timer);
  tcp_rack_timer_cancel(sk);
  w.cancel(sk.delack_timer);
  w.cancel(sk.keep_timer);
  w.cancel(sk.cork_timer);
  sk.persist = false;
  sk.probes_stamp = kEpoch;
}

Duration tcp_current_rto(const TcpSock& sk) {
  Duration rto = sk.rto;
  for (int i = 0; i < sk.backoff && rto < kTcpRtoMax; ++i)
    rto *= 2;
  return std::min(rto, kTcpRtoMax);
}

void tcp_arm_rto(TcpSock& sk) {
  sk.persist = false;
  sk.stack.timers().arm(sk.rto_timer, sk.stack.now() + tcp_current_rto(sk));
}

void tcp_arm_persist(TcpSock& sk) {
  sk.persist = true;
  const Instant now = sk.stack.now();
  Duration d = std::max(tcp_current_rto(sk), kTcpRtoMin);
  // Linux tcp_clamp_probe0_to_user_timeout: the probe that would come after the user
  // timeout comes when it runs out instead (at least 2 ms later, TCP_TIMEOUT_MIN).
  if (sk.user_timeout.count() > 0 && sk.probes_stamp != kEpoch) {
    d = std::min(d, std::max<Duration>(sk.user_timeout - (now - sk.probes_stamp),
                                       std::chrono::milliseconds(2)));
  }
  sk.stack.timers().arm(sk.rto_timer, now + d);
}

void tcp_arm_keepalive(TcpSock& sk) {
  if (!sk.opt.keepalive) {
    if (sk.state != TcpState::kTimeWait && sk.state != TcpState::kFinWait2) {
      sk.stack.timers().cancel(sk.keep_timer);
    }
    return;
  }
  switch (sk.state) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      sk.stack.timers().arm(sk.keep_timer, sk.stack.now() + tcp_keepalive_time(sk));
      break;
    default:
      break;
  }
}

}  // namespace usnet

// The receiver's side of a connection's pace, as Linux tunes it (net/ipv4/tcp_input.c):
// receive-buffer autotuning (dynamic right-sizing: tcp_rcv_space_adjust, tcp_grow_window,
// tcp_rcv_rtt_measure) and the delayed-ACK engine (tcp_event_data_recv's ato, quickack
// mode, tcp_send_delayed_ack's bounds).
//
// Invariants: rcv_space_max() (half of opt.rcvbuf) only grows while the connection lives,
// never past tcp_rmem[2] / 2, and not at all under SO_RCVBUF or tcp_moderate_rcvbuf=0;
// rcv_ssthresh <= rcv_space_max() once set; the window never exceeds rcv_ssthresh except
// that an edge already offered is never taken back (tcp_select_window).
#include <algorithm>

#include "stack/stack.h"
#include "transport/tcp/tcp_ecn.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

std::uint32_t us_of(Duration d) {
  const auto v = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(v, 0, 0x7fffffff));
}

// Linux tcp_rcv_rtt_update: an 8-times-scaled estimate; a per-window sample (win_dep) only
// lowers it, since a window's worth can take longer than a round trip to arrive.
void tcp_rcv_rtt_update(TcpSock& sk, std::uint32_t sample_us, bool win_dep) {
  std::int64_t m = sample_us;
  std::int64_t est = sk.rcv_rtt_us;
  if (est != 0) {
    if (!win_dep) {
      m -= est >> 3;
      est += m;
    } else {
      m <<= 3;
      if (m < est) est = m;
    }
  } else {
    est = m << 3;
  }
  sk.rcv_rtt_us = static_cast<std::uint32_t>(std::clamp<std::int64_t>(est, 1, 0x7fffffff));
}

// Linux tcp_rcv_rtt_measure_ts and tcp_rcv_rtt_measure: the receiver's RTT from the
// timestamp the sender echoes on a full-sized segment, else from how long a window of data
// takes to arrive.
void tcp_rcv_rtt_measure(TcpSock& sk, const TcpSegment& seg, std::size_t len) {
  const Instant now = sk.stack.now();
  if (sk.ts_ok) {
    const std::uint32_t tsecr = seg.h.options.ts_ecr.value_or(0);
    if (tsecr == 0 || tsecr == sk.rcv_rtt_last_tsecr) return;
    sk.rcv_rtt_last_tsecr = tsecr;
    if (len < sk.rcv_mss) return;
    const auto delta = static_cast<std::int32_t>(tcp_now_ts(sk) - tsecr);
    if (delta < 0) return;
    tcp_rcv_rtt_update(sk, static_cast<std::uint32_t>(std::max(delta, 1)) * 1000U, false);
    return;
  }
  if (sk.rcv_rtt_time != kEpoch) {
    if (sk.rcv_nxt < sk.rcv_rtt_seq) return;
    tcp_rcv_rtt_update(sk, std::max<std::uint32_t>(us_of(now - sk.rcv_rtt_time), 1), true);
  }
  const std::int32_t wnd = sk.rcv_adv - sk.rcv_nxt;
  sk.rcv_rtt_seq = sk.rcv_nxt + static_cast<std::uint32_t>(std::max(wnd, 0));
  sk.rcv_rtt_time = now;
}

// Linux tcp_grow_window: each data segment of at least 128 bytes lets the window grow by
// two segments, up to the clamp (the buffer's payload space) and the space still free.
void tcp_grow_window(TcpSock& sk, std::size_t len) {
  const std::uint32_t clamp = static_cast<std::uint32_t>(sk.rcv_space_max());
  const std::size_t used = sk.rcvq.size() + sk.ooo.bytes();
  const std::uint32_t free = used >= clamp ? 0 : clamp - static_cast<std::uint32_t>(used);
  const std::uint32_t ssthresh = tcp_rcv_ssthresh(sk);
  const std::uint32_t limit = std::min(clamp, free);
  if (ssthresh >= limit) return;
  const auto incr = std::max<std::uint32_t>(2U * sk.advmss, static_cast<std::uint32_t>(2 * len));
  sk.rcv_ssthresh = ssthresh + std::min(limit - ssthresh, incr);
}

}  // namespace

std::uint32_t tcp_rcv_ssthresh(TcpSock& sk) {
  if (sk.rcv_ssthresh == 0) {
    // tcp_select_initial_window's rcv_wnd, under the clamp (tcp_init_buffer_space).
    sk.rcv_ssthresh = std::min<std::uint32_t>(std::max<std::uint32_t>(sk.rcv_wnd_init, sk.advmss),
                                              static_cast<std::uint32_t>(sk.rcv_space_max()));
  }
  return sk.rcv_ssthresh;
}

void tcp_incr_quickack(TcpSock& sk, int max) {
  // Linux tcp_incr_quickack: as many quick ACKs as the advertised window holds pairs of
  // segments, at least 2, at most `max`.
  const std::int32_t adv = sk.rcv_adv - sk.last_ack_sent;
  const std::uint32_t wnd = adv > 0 ? static_cast<std::uint32_t>(adv) : 0;
  int q = static_cast<int>(wnd / (2U * std::max<std::uint32_t>(sk.rcv_mss, 1)));
  if (q == 0) q = 2;
  q = std::min(q, max);
  sk.quickacks = std::max(sk.quickacks, q);
}

void tcp_event_data_recv(TcpSock& sk, const TcpSegment& seg, std::size_t len) {
  const Instant now = sk.stack.now();
  if (sk.rcvq_space_time == kEpoch) {
    // tcp_init_buffer_space: the first measurement starts when the connection does.
    sk.rcvq_space_time = sk.established_at != kEpoch ? sk.established_at : now;
    sk.rcvq_space = std::min(
        {tcp_rcv_ssthresh(sk), std::max(sk.rcv_wnd_init, 1U), kTcpInitCwndSegs * sk.advmss});
    sk.rcvq_space_copied = sk.copied_total;
  }
  // tcp_measure_rcv_mss: the largest segment seen, at most our MSS; a shorter one marks
  // the ACK as "pushed" (the sender had no more), which bounds its delay by 200 ms.
  if (len >= sk.rcv_mss) {
    sk.rcv_mss = static_cast<std::uint16_t>(std::min<std::size_t>(len, sk.advmss));
  } else {
    sk.ack_pushed = true;
  }
  tcp_rcv_rtt_measure(sk, seg, len);
  // tcp_event_data_recv: the delayed-ACK timeout follows the gaps between segments.
  if (sk.ato.count() == 0) {
    tcp_incr_quickack(sk, kTcpMaxQuickacks);  // the first data: ACK the slow start quickly
    sk.ato = kTcpAtoMin;
  } else {
    const Duration m = now - sk.lrcvtime;
    if (m <= kTcpAtoMin / 2) {
      sk.ato = sk.ato / 2 + kTcpAtoMin / 2;
    } else if (m < sk.ato) {
      sk.ato = std::min(sk.ato / 2 + m, sk.rto);
    } else if (m > sk.rto) {
      // A long gap: the sender is restarting from a small window; ACK it quickly.
      tcp_incr_quickack(sk, kTcpMaxQuickacks);
    }
  }
  sk.lrcvtime = now;
  tcp_ecn_check_ce(sk, seg);
  if (len >= 128) tcp_grow_window(sk, len);
}

void tcp_rcv_space_adjust(TcpSock& sk, std::size_t n) {
  sk.copied_total += n;
  if (sk.rcvq_space_time == kEpoch) return;  // no data has arrived in order yet
  const Instant now = sk.stack.now();
  // One measurement per receiver RTT (none before the first RTT estimate).
  if (sk.rcv_rtt_us == 0 ||
      now - sk.rcvq_space_time < std::chrono::microseconds(sk.rcv_rtt_us >> 3)) {
    return;
  }
  const std::uint64_t copied = sk.copied_total - sk.rcvq_space_copied;
  if (copied > sk.rcvq_space) {
    const Sysctl& sc = sk.stack.sysctl();
    if (sc.tcp_moderate_rcvbuf != 0 && !sk.opt.rcvbuf_locked) {
      // Linux's reasoning: twice what was read in an RTT covers a loss, plus a cushion;
      // growth in proportion covers a sender still doubling its rate (slow start).
      std::uint64_t rcvwin = (copied << 1) + 16U * sk.advmss;
      const std::uint64_t grow = rcvwin * (copied - sk.rcvq_space) / std::max(sk.rcvq_space, 1U);
      rcvwin += grow << 1;
      // tcp_space_from_win at the default scaling ratio: the buffer is twice the window.
      const std::uint64_t rcvbuf =
          std::min<std::uint64_t>(rcvwin * 2, static_cast<std::uint64_t>(sc.tcp_rmem[2]));
      if (rcvbuf > static_cast<std::uint64_t>(sk.opt.rcvbuf)) {
        sk.opt.rcvbuf = static_cast<int>(rcvbuf);
      }
    }
    sk.rcvq_space = static_cast<std::uint32_t>(std::min<std::uint64_t>(copied, 0xffffffffU));
  }
  sk.rcvq_space_copied = sk.copied_total;
  sk.rcvq_space_time = now;
}

Duration tcp_delack_timeout(const TcpSock& sk) {
  // Linux tcp_send_delayed_ack.
  Duration ato = sk.ato.count() != 0 ? sk.ato : kTcpAtoMin;
  if (ato > kTcpDelackMin) {
    Duration max_ato = sk.pingpong != 0 || sk.ack_pushed ? kTcpDelackMaxLinux : kTcpAtoMax;
    if (sk.srtt.count() != 0) max_ato = std::min(max_ato, std::max(sk.srtt, kTcpDelackMin));
    ato = std::min(ato, max_ato);
  }
  return ato;
}

}  // namespace usnet

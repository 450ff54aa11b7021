// The passive side: a listener's SYN queue (children in SYN_RECEIVED) and accept queue
// (children ESTABLISHED, waiting for accept()), both bounded by listen()'s backlog as in
// Linux, and SYN cookies (RFC 4987 3.6) once the SYN queue is full, so that a SYN flood
// costs no memory.
#include <array>

#include "stack/stack.h"
#include "transport/tcp/tcp_ecn.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

using wire::kTcpAck;
using wire::kTcpRst;
using wire::kTcpSyn;

// MSS values a cookie can carry (2 bits), the common ones as in Linux's msstab.
constexpr std::array<std::uint16_t, 4> kCookieMss = {536, 1300, 1440, 1460};
constexpr Duration kCookiePeriod = std::chrono::seconds(64);

std::uint32_t cookie_count(Instant now) {
  return static_cast<std::uint32_t>(now.time_since_epoch() / kCookiePeriod);
}

FourTuple tuple_of(const TcpSegment& seg) {
  return FourTuple{seg.dst, seg.h.dst_port, seg.src, seg.h.src_port};
}

// Cookie layout: 6 bits of the 64-second counter, 2 bits of MSS index, 24 bits of a keyed
// hash over the 4-tuple, the counter, the MSS index and the peer's ISN.
std::uint32_t make_cookie(const Tcp& tcp, const TcpSegment& syn, std::uint32_t count,
                          std::uint32_t mss_idx) {
  const std::uint32_t h =
      tcp.keyed_hash(tuple_of(syn), count * 4 + mss_idx, syn.seq.raw()) & 0x00ffffffU;
  return ((count & 0x3fU) << 26) | (mss_idx << 24) | h;
}

// The MSS index a valid cookie (the ACK's ack - 1) carries, or -1.
int check_cookie(const Tcp& tcp, const TcpSegment& ack, Instant now) {
  const std::uint32_t cookie = (ack.ack - 1).raw();
  const std::uint32_t mss_idx = (cookie >> 24) & 3U;
  TcpSegment syn = ack;
  syn.seq = ack.seq - 1;  // the peer's ISN
  const std::uint32_t count = cookie_count(now);
  for (std::uint32_t c : {count, count - 1}) {
    if ((c & 0x3fU) != cookie >> 26) continue;
    if (make_cookie(tcp, syn, c, mss_idx) == cookie) return static_cast<int>(mss_idx);
  }
  return -1;
}

// Linux cookie_init_timestamp: a cookie SYN,ACK's TSval keeps the options the SYN asked
// for in its low 6 bits (the peer echoes them in the ACK's TSecr): the peer's window scale
// (4 bits, 0xf: none), SACK-permitted (bit 4) and ECN (bit 5). The clock part is rounded
// down so that the value is never ahead of the real clock.
constexpr std::uint32_t kTsBits = 6;
constexpr std::uint32_t kTsOptWscaleMask = 0xf;
constexpr std::uint32_t kTsOptSack = 1U << 4;
constexpr std::uint32_t kTsOptEcn = 1U << 5;

std::uint32_t cookie_timestamp(const TcpSock& tmp, std::uint32_t ts_now) {
  std::uint32_t options = tmp.wscale_ok ? tmp.snd_wscale : kTsOptWscaleMask;
  if (tmp.sack_ok) options |= kTsOptSack;
  if ((tmp.ecn_flags & kTcpEcnOk) != 0) options |= kTsOptEcn;
  std::uint32_t ts = ((ts_now >> kTsBits) << kTsBits) | options;
  if (ts > ts_now) ts -= 1U << kTsBits;
  return ts;
}

void send_cookie_synack(TcpSock& listener, const TcpSegment& syn) {
  Stack& stack = listener.stack;
  auto tmp = tcp_create_child(listener, syn);
  if (!tmp) return;
  const std::uint16_t peer_mss = syn.h.options.mss.value_or(536);
  std::uint32_t idx = 0;
  for (std::uint32_t i = 0; i < kCookieMss.size(); ++i) {
    if (kCookieMss[i] <= peer_mss) idx = i;
  }
  tmp->iss = SeqNum(make_cookie(listener.tcp(), syn, cookie_count(stack.now()), idx));
  tmp->ecn_flags = tcp_ecn_syn_acceptable(listener, syn) ? kTcpEcnOk : 0;
  if (tmp->ts_ok) {
    // The options travel in the timestamp (cookie_init_timestamp). tcp_now_ts adds the
    // connection's offset; the cookie value replaces the clock under it (tmp is thrown
    // away after this SYN,ACK).
    const std::uint32_t raw = tcp_now_ts(*tmp) - tmp->ts_offset;
    tmp->ts_offset += cookie_timestamp(*tmp, raw) - raw;
  } else {
    // Without timestamps nothing is remembered, so no option that needs remembering is
    // offered (Linux tcp_conn_request: tcp_clear_options, ecn_ok = 0).
    tmp->wscale_ok = false;
    tmp->sack_ok = false;
    tmp->ecn_flags = 0;
    tmp->rcv_wscale = 0;
    tmp->rcv_wnd_init = tcp_initial_rcv_wnd(*tmp, tmp->advmss);
  }
  // The cookie encodes the peer's MSS; the SYN,ACK still announces our own (Linux
  // tcp_make_synack: tcp_mss_clamp of the route's advmss, lowered only by TCP_MAXSEG).
  tmp->rcv_adv = tmp->rcv_nxt;
  tcp_send_synack(*tmp);
  stack.mib().TcpExtSyncookiesSent++;
  tmp->owner = TcpSock::Owner::kDead;
}

void cookie_ack(TcpSock& listener, const TcpSegment& seg) {
  Stack& stack = listener.stack;
  const int idx = check_cookie(listener.tcp(), seg, stack.now());
  if (idx < 0) {
    stack.mib().TcpExtSyncookiesFailed++;
    tcp_send_reset(stack, seg);  // RFC 9293 3.10.7.2: an ACK to a listener draws a reset
    return;
  }
  if (listener.accept_queue.size() > static_cast<std::size_t>(listener.backlog)) {
    stack.mib().TcpExtListenOverflows++;
    stack.mib().TcpExtListenDrops++;
    return;
  }
  TcpSegment syn = seg;
  syn.seq = seg.seq - 1;
  syn.h.options = {};
  syn.h.options.mss = kCookieMss[static_cast<std::size_t>(idx)];
  bool ecn = false;
  if (seg.h.options.ts_val && seg.h.options.ts_ecr) {
    // Linux cookie_timestamp_decode: the options the SYN,ACK's TSval carried, under the
    // connection's offset (the keyed hash of the two addresses gives it again). An option
    // whose sysctl was turned off since refuses the cookie.
    const Sysctl& sc = stack.sysctl();
    const std::uint32_t offset =
        sc.tcp_timestamps == 1 ? tcp_ts_offset(listener.tcp(), seg.dst, seg.src) : 0;
    const std::uint32_t options = *seg.h.options.ts_ecr - offset;
    const bool sack = (options & kTsOptSack) != 0;
    const bool wscale = (options & kTsOptWscaleMask) != kTsOptWscaleMask;
    if (sc.tcp_timestamps == 0 || (sack && sc.tcp_sack == 0) ||
        (wscale && sc.tcp_window_scaling == 0)) {
      stack.mib().TcpExtSyncookiesFailed++;
      return;
    }
    syn.h.options.ts_val = seg.h.options.ts_val;
    syn.h.options.ts_ecr = 0;
    syn.h.options.sack_permitted = sack;
    if (wscale) syn.h.options.window_scale = static_cast<std::uint8_t>(options & kTsOptWscaleMask);
    ecn = (options & kTsOptEcn) != 0 && sc.tcp_ecn != 0;  // cookie_ecn_ok
  }
  stack.mib().TcpExtSyncookiesRecv++;
  auto child = tcp_create_child(listener, syn);
  if (!child) return;
  TcpSock& c = *child;
  c.ecn_flags = ecn ? kTcpEcnOk : 0;
  c.iss = seg.ack - 1;
  c.recover = c.iss;
  c.snd_una = seg.ack;
  c.snd_nxt = seg.ack;
  c.snd_max = seg.ack;
  // The window our SYN,ACK offered was not remembered; it is the initial window of a fresh
  // child for the options the cookie restored (the same computation send_cookie_synack
  // made). Without it
  // RCV.ADV would equal RCV.NXT and the client's first data would be cut as beyond a zero
  // window (Linux cookie_v4_check recomputes it with tcp_select_initial_window).
  c.rcv_adv = c.rcv_nxt + std::min<std::uint32_t>(c.rcv_wnd_init, 65535);
  c.snd_wnd = static_cast<std::uint32_t>(seg.h.window) << c.snd_wscale;
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = seg.seq;
  c.snd_wl2 = seg.ack;
  c.established_at = stack.now();
  c.rto = kTcpTimeoutFallback;  // nothing was timed: RFC 6298 5.7, as after a lost SYN
  listener.tcp().hash(c);
  tcp_set_state(c, TcpState::kEstablished);
  stack.mib().TcpPassiveOpens++;
  listener.accept_queue.push_back(std::move(child));
  // The ACK may carry data already.
  if (!seg.payload.empty()) tcp_rcv_state_process(*listener.accept_queue.back(), seg);
  sk_data_ready(listener);
}

}  // namespace

void tcp_listen_rcv(TcpSock& listener, const TcpSegment& seg) {
  Stack& stack = listener.stack;
  MibCounters& mib = stack.mib();
  // RFC 9293 3.10.7.2: first check for a RST (ignore), then an ACK (reset, unless it
  // completes a SYN cookie), then a SYN.
  if (seg.h.has(kTcpRst)) return;
  if (seg.h.has(kTcpAck)) {
    if (seg.h.has(kTcpSyn)) {
      tcp_send_reset(stack, seg);
      return;
    }
    cookie_ack(listener, seg);
    return;
  }
  if (!seg.h.has(kTcpSyn)) return;
  const auto backlog = static_cast<std::size_t>(listener.backlog);
  if (listener.accept_queue.size() > backlog) {
    // Linux drops SYNs while the accept queue is full (the peer retries).
    mib.TcpExtListenOverflows++;
    mib.TcpExtListenDrops++;
    stack.tracer().step("drop: accept queue full");
    return;
  }
  // Linux tcp_conn_request: with tcp_syncookies=2 every SYN is answered with a cookie;
  // with 1, once the SYN queue is full; with 0 a full queue drops the SYN, and so does one
  // three-quarters full of tcp_max_syn_backlog (the peer retries).
  const int syncookies = stack.sysctl().tcp_syncookies;
  const bool queue_full = listener.syn_queue.size() >= std::max<std::size_t>(backlog, 1);
  if (syncookies == 2 || (queue_full && syncookies != 0)) {
    stack.tracer().step("tcp_syn_flood: syn cookie");
    send_cookie_synack(listener, seg);
    return;
  }
  const auto max_syn_backlog = static_cast<std::int64_t>(stack.sysctl().tcp_max_syn_backlog);
  if (queue_full ||
      (syncookies == 0 && max_syn_backlog - static_cast<std::int64_t>(listener.syn_queue.size()) <
                              (max_syn_backlog >> 2))) {
    mib.TcpExtListenDrops++;
    stack.tracer().step("drop: syn queue full");
    return;
  }
  // RFC 7413: a SYN with a valid cookie (or a cookie request) is Fast Open's to decide.
  std::optional<wire::FastOpenCookie> synack_cookie;
  const bool fastopen = tcp_fastopen_check_syn(listener, seg, synack_cookie);
  auto child = tcp_create_child(listener, seg);
  if (!child) {
    mib.TcpExtListenDrops++;
    return;
  }
  TcpSock& c = *child;
  c.rcv_adv = c.rcv_nxt;
  c.ecn_flags = tcp_ecn_syn_acceptable(listener, seg) ? kTcpEcnOk : 0;
  c.tfo.option = synack_cookie;
  tcp_save_syn(c, seg);
  listener.tcp().hash(c);
  tcp_set_state(c, TcpState::kSynReceived);
  if (fastopen) {
    tcp_fastopen_child(listener, std::move(child), seg);
  } else {
    listener.syn_queue.push_back(std::move(child));
  }
  tcp_send_synack(c);
  tcp_arm_rto(c);
}

void tcp_child_established(TcpSock& child) {
  TcpSock* parent = child.parent;
  if (parent == nullptr) return;
  // (A Fast Open child is on the accept queue already, counted when it was made.)
  for (auto it = parent->syn_queue.begin(); it != parent->syn_queue.end(); ++it) {
    if (it->get() == &child) {
      child.stack.mib().TcpPassiveOpens++;
      parent->accept_queue.push_back(std::move(*it));
      parent->syn_queue.erase(it);
      sk_data_ready(*parent);
      return;
    }
  }
}

}  // namespace usnet

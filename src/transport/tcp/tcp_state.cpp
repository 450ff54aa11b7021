// Connection state: set_state(), the start and the end of a connection.
#include <netinet/in.h>

#include <array>
#include <bit>

#include <fmt/format.h>

#include "net/ipv4.h"
#include "net/route.h"
#include "socket/af_inet.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {

std::string_view tcp_state_name(TcpState s) noexcept {
  switch (s) {
    case TcpState::kClosed:
      return "CLOSED";
    case TcpState::kListen:
      return "LISTEN";
    case TcpState::kSynSent:
      return "SYN_SENT";
    case TcpState::kSynReceived:
      return "SYN_RECEIVED";
    case TcpState::kEstablished:
      return "ESTABLISHED";
    case TcpState::kFinWait1:
      return "FIN_WAIT_1";
    case TcpState::kFinWait2:
      return "FIN_WAIT_2";
    case TcpState::kCloseWait:
      return "CLOSE_WAIT";
    case TcpState::kClosing:
      return "CLOSING";
    case TcpState::kLastAck:
      return "LAST_ACK";
    case TcpState::kTimeWait:
      return "TIME_WAIT";
  }
  return "?";
}

std::uint8_t tcp_state_linux(TcpState s) noexcept {
  switch (s) {
    case TcpState::kEstablished:
      return 1;
    case TcpState::kSynSent:
      return 2;
    case TcpState::kSynReceived:
      return 3;
    case TcpState::kFinWait1:
      return 4;
    case TcpState::kFinWait2:
      return 5;
    case TcpState::kTimeWait:
      return 6;
    case TcpState::kClosed:
      return 7;
    case TcpState::kCloseWait:
      return 8;
    case TcpState::kLastAck:
      return 9;
    case TcpState::kListen:
      return 10;
    case TcpState::kClosing:
      return 11;
  }
  return 7;
}

TcpSock::TcpSock(Stack& s, int fam, const ProtoOps& o)
    : Socket(s, fam, SOCK_STREAM, IPPROTO_TCP, o), tcp_(&s.tcp()) {
  // tcp_init_sock: the buffers start at tcp_rmem[1] and tcp_wmem[1]; the congestion
  // control is net.ipv4.tcp_congestion_control (always one usnet has: sysctl_set checks).
  const Sysctl& sc = s.sysctl();
  opt.rcvbuf = sc.tcp_rmem[1];
  opt.sndbuf = sc.tcp_wmem[1];
  cc = make_congestion_control(sc.tcp_congestion_control);
  if (!cc) cc = make_congestion_control("cubic");
}

TcpSock::~TcpSock() {
  // Every path out of the tables goes through tcp_done(); this is the backstop for a
  // stack torn down with connections open.
  tcp().unhash(*this);
  if (state == TcpState::kListen) tcp().listener_changed(*this, false);
  if (local.port != 0) tcp().ports().unbind(*this);
}

std::size_t TcpSock::rcv_space_max() const noexcept {
  // Linux tcp_full_space: the payload the receive buffer holds, half of it (6.6+'s default
  // scaling ratio). The buffer is SO_RCVBUF's, or starts at tcp_rmem[1] and grows with
  // what the application reads (tcp_rcv_space_adjust) up to tcp_rmem[2].
  return static_cast<std::size_t>(std::max(opt.rcvbuf, 2)) / 2;
}

std::uint32_t TcpSock::notsent_limit() const noexcept {
  // Linux tcp_notsent_lowat: the socket's TCP_NOTSENT_LOWAT, else the sysctl.
  return notsent_lowat != 0 ? notsent_lowat : stack.sysctl().tcp_notsent_lowat;
}

std::size_t TcpSock::snd_space_max() const noexcept {
  const int max = opt.sndbuf_locked ? opt.sndbuf : stack.sysctl().tcp_wmem[2];
  return static_cast<std::size_t>(std::max(max, 1));
}

Duration tcp_keepalive_time(const TcpSock& sk) {
  return std::chrono::seconds(sk.keepidle_s != 0 ? sk.keepidle_s
                                                 : sk.stack.sysctl().tcp_keepalive_time);
}

Duration tcp_keepalive_intvl(const TcpSock& sk) {
  return std::chrono::seconds(sk.keepintvl_s != 0 ? sk.keepintvl_s
                                                  : sk.stack.sysctl().tcp_keepalive_intvl);
}

int tcp_keepalive_probes(const TcpSock& sk) {
  return sk.keepcnt != 0 ? sk.keepcnt : sk.stack.sysctl().tcp_keepalive_probes;
}

int tcp_syn_count(const TcpSock& sk) {
  return sk.syn_count != 0 ? sk.syn_count : sk.stack.sysctl().tcp_syn_retries;
}

Duration tcp_fin_time(const TcpSock& sk) {
  Duration t = std::chrono::seconds(sk.stack.sysctl().tcp_fin_timeout);
  const Duration floor = sk.rto * 4 - sk.rto / 2;
  return std::max(t, floor);
}

namespace {

// Linux tcp_full_space / tcp_win_from_space: the window a receive buffer of `rcvbuf` bytes
// may offer. Since Linux 6.6 a fresh socket counts half of it (TCP_DEFAULT_SCALING_RATIO,
// 128/256) as payload; tcp_adv_win_scale no longer matters.
std::uint32_t win_from_space(int rcvbuf) {
  return static_cast<std::uint32_t>((static_cast<std::int64_t>(std::max(rcvbuf, 0)) * 128) >> 8);
}

// The window clamp tcp_select_initial_window works under: the full space when SO_RCVBUF
// fixed the buffer (tcp_connect_init, tcp_openreq_init_rwin), else the largest window a
// scale of 14 can express.
std::uint32_t initial_window_clamp(const TcpSock& sk) {
  if (sk.opt.rcvbuf_locked) return win_from_space(sk.opt.rcvbuf);
  return 65535U << wire::TcpHeader::kMaxWindowScale;
}

}  // namespace

std::uint32_t tcp_initial_rcv_wnd(const TcpSock& sk, std::uint32_t mss) {
  // Linux tcp_select_initial_window: the space, in whole segments; 32767 at most with
  // tcp_workaround_signed_windows.
  std::uint32_t space = std::min(initial_window_clamp(sk), win_from_space(sk.opt.rcvbuf));
  if (mss != 0 && space > mss) space = space / mss * mss;
  if (sk.stack.sysctl().tcp_workaround_signed_windows != 0)
    space = std::min<std::uint32_t>(space, 32767);
  return space;
}

std::uint8_t tcp_initial_wscale(const TcpSock& sk) {
  // Linux tcp_select_initial_window: the scale is chosen for the largest window the socket
  // could ever offer, max(its space, tcp_rmem[2], rmem_max) under the clamp: the smallest
  // shift that brings it within 16 bits, ilog2(space) - 15, at most 14 (RFC 7323 2.3).
  // tcp_window_scaling=0 offers none.
  const Sysctl& sc = sk.stack.sysctl();
  if (sc.tcp_window_scaling == 0) return 0;
  const std::uint32_t clamp = initial_window_clamp(sk);
  std::uint32_t space = std::min(clamp, win_from_space(sk.opt.rcvbuf));
  space = std::max(space, static_cast<std::uint32_t>(std::max(sc.tcp_rmem[2], 0)));
  space = std::max(space, static_cast<std::uint32_t>(std::max(sc.rmem_max, 0)));
  space = std::min(space, clamp);
  const int log = space == 0 ? 0 : std::bit_width(space) - 1;
  return static_cast<std::uint8_t>(std::clamp(log - 15, 0, int{wire::TcpHeader::kMaxWindowScale}));
}

void tcp_set_state(TcpSock& sk, TcpState st) {
  const TcpState old = sk.state;
  if (old == st) return;
  MibCounters& mib = sk.stack.mib();
  const auto counted = [](TcpState s) {
    return s == TcpState::kEstablished || s == TcpState::kCloseWait;
  };
  if (counted(old) && !counted(st)) {
    mib.TcpCurrEstab--;
    if (st == TcpState::kClosed) mib.TcpEstabResets++;
  }
  if (!counted(old) && counted(st)) mib.TcpCurrEstab++;
  if (old == TcpState::kListen) sk.tcp().listener_changed(sk, false);
  if (st == TcpState::kListen) sk.tcp().listener_changed(sk, true);
  if (old == TcpState::kTimeWait) sk.tcp().time_wait_changed(false);
  if (old == TcpState::kSynReceived) tcp_fastopen_child_done(sk);
  if (st == TcpState::kTimeWait) sk.tcp().time_wait_changed(true);
  sk.state = st;
  // Linux tcp_connect_init / tcp_create_openreq_child: pushed_seq starts at write_seq.
  if (st == TcpState::kEstablished && old != TcpState::kEstablished) sk.pushed_seq = sk.write_seq();
  sk_state_change(sk);
  if (sk.stack.tracer().enabled()) {
    sk.stack.tracer().event(fmt::format("tcp_set_state {}:{} {} -> {}", sk.local.addr.to_string(),
                                        sk.local.port, tcp_state_name(old), tcp_state_name(st)));
  }
}

void tcp_done(TcpSock& sk) {
  // Linux SOCK_DONE: a connection that was synchronized has ended; reads now return 0.
  if (sk.state != TcpState::kSynSent && sk.state != TcpState::kListen &&
      sk.state != TcpState::kClosed) {
    sk.done_flag = true;
  }
  tcp_set_state(sk, TcpState::kClosed);
  tcp_cancel_timers(sk);
  Tcp& tcp = sk.tcp();
  tcp.unhash(sk);
  sk.ooo.clear();
  sk.scoreboard.clear();
  if (sk.owner == TcpSock::Owner::kUser && !sk.tx_notes.empty()) tcp_tx_report_flush(sk);
  if (sk.owner == TcpSock::Owner::kUser) {
    // inet_put_port: a port the connection picked for itself is given back at CLOSE; an
    // explicitly bound one stays until close().
    if (!sk.bound_explicitly && sk.local.port != 0) tcp.ports().unbind(sk);
    return;
  }
  if (sk.owner == TcpSock::Owner::kOrphan && sk.local.port != 0) tcp.ports().unbind(sk);
  tcp.bury(sk);
}

void tcp_abort(TcpSock& sk, Error err) {
  sk.pending_error = err;
  sk_error_report(sk);
  sk.shut_rd = true;
  sk.shut_wr = true;
  sk.sndq.clear();
  tcp_done(sk);
}

Status tcp_init_connection(TcpSock& sk) {
  NetProtocol* net = sk.stack.net_for(sk.remote.addr.family());
  if (net == nullptr) return Error::kAddressFamilyNotSupported;
  auto rt =
      net->route_output(sk.remote.addr, inet_saddr_for(sk, sk.remote.addr), sk.remote.scope_id);
  if (!rt) return rt.error();
  sk.net = net;
  if (sk.local.addr.is_any()) sk.local.addr = rt->src;
  // RFC 9293 3.7.1 / RFC 6691: MSS is the interface MTU less fixed IP and TCP headers.
  const std::size_t mtu = rt->ifc != nullptr ? rt->ifc->mtu : 65536;
  sk.pmtu = static_cast<std::uint32_t>(std::min<std::size_t>(mtu, 65535));
  const std::size_t headers = net->header_size() + wire::TcpHeader::kMinSize;
  auto mss = static_cast<std::uint32_t>(std::min<std::size_t>(mtu - headers, 65535 - headers));
  if (sk.user_mss != 0) mss = std::min<std::uint32_t>(mss, sk.user_mss);
  sk.advmss = static_cast<std::uint16_t>(mss);
  sk.rcv_wscale = tcp_initial_wscale(sk);
  sk.rcv_wnd_init = tcp_initial_rcv_wnd(sk, mss);
  sk.rto = kTcpTimeoutInit;
  // tcp_timestamps=2: timestamps without the per-connection random offset.
  sk.ts_offset = sk.stack.sysctl().tcp_timestamps == 1
                     ? tcp_ts_offset(sk.tcp(), sk.local.addr, sk.remote.addr)
                     : 0;
  return {};
}

void tcp_sync_mss(TcpSock& sk) {
  // Linux __tcp_mtu_to_mss and tcp_mtu_to_mss: the path MTU less the fixed network and TCP
  // headers, clamped to the peer's MSS, at least tcp_min_snd_mss (48: room for a full 40
  // bytes of options and 8 of data), then less the options every segment carries. So no
  // MSS a peer announces (0 is ignored, 1, less than our options) can make a segment
  // carry nothing or wrap the size around.
  std::uint32_t m =
      sk.pmtu - static_cast<std::uint32_t>(sk.net->header_size()) - wire::TcpHeader::kMinSize;
  m = std::min<std::uint32_t>(m, sk.mss_clamp);
  m = std::max<std::uint32_t>(m, static_cast<std::uint32_t>(sk.stack.sysctl().tcp_min_snd_mss));
  if (sk.ts_ok) m -= kTcpTimestampBytes;
  sk.mss = static_cast<std::uint16_t>(m);
}

// Options both ends agreed on in the SYN exchange (RFC 7323 2.2 and 3.2, RFC 2018 2). As
// Linux's tcp_parse_options, an option whose sysctl (tcp_window_scaling, tcp_sack,
// tcp_timestamps) is off is not seen in the peer's SYN or SYN,ACK.
void tcp_negotiate(TcpSock& sk, const wire::TcpOptions& o) {
  const Sysctl& sc = sk.stack.sysctl();
  sk.wscale_ok = o.window_scale.has_value() && sc.tcp_window_scaling != 0;
  sk.snd_wscale = sk.wscale_ok ? *o.window_scale : 0;
  if (!sk.wscale_ok) sk.rcv_wscale = 0;
  sk.sack_ok = o.sack_permitted && sc.tcp_sack != 0;
  sk.ts_ok = o.ts_val.has_value() && sc.tcp_timestamps != 0;
  if (sk.ts_ok) {
    sk.ts_recent = *o.ts_val;
    sk.ts_recent_stamp = sk.stack.now();
  }
  // RFC 9293 3.7.1: 536 when the peer sent no MSS; Linux ignores an MSS of 0 as well.
  sk.mss_clamp = o.mss.value_or(0) != 0 ? *o.mss : kTcpDefaultMss;
  if (sk.user_mss != 0) sk.mss_clamp = std::min(sk.mss_clamp, sk.user_mss);
  tcp_sync_mss(sk);
  sk.cwnd = kTcpInitCwndSegs * sk.mss;
}

std::unique_ptr<TcpSock> tcp_create_child(TcpSock& listener, const TcpSegment& syn) {
  Tcp& tcp = listener.tcp();
  auto base = tcp.tcp_init_sock(listener.family);
  std::unique_ptr<TcpSock> child(static_cast<TcpSock*>(base.release()));
  TcpSock& c = *child;
  c.opt = listener.opt;
  c.nodelay = listener.nodelay;
  c.cork = listener.cork;
  c.user_mss = listener.user_mss;
  c.keepidle_s = listener.keepidle_s;
  c.keepintvl_s = listener.keepintvl_s;
  c.keepcnt = listener.keepcnt;
  c.syn_count = listener.syn_count;
  c.user_timeout = listener.user_timeout;
  // sk_clone_lock copies the listener's tcp_sock: TCP_INQ and TCP_NOTSENT_LOWAT are
  // inherited; the MSG_ZEROCOPY counter starts again.
  c.recvmsg_inq = listener.recvmsg_inq;
  c.notsent_lowat = listener.notsent_lowat;
  c.save_syn = listener.save_syn;
  c.opt.zckey = 0;
  c.cc = make_congestion_control(listener.cc->name());
  c.local = SockAddr{listener.family, syn.dst, syn.h.dst_port};
  c.remote = SockAddr{listener.family, syn.src, syn.h.src_port};
  c.owner = TcpSock::Owner::kListener;
  c.parent = &listener;
  if (!tcp_init_connection(c)) return nullptr;
  tcp.ports().attach(c);
  c.irs = syn.seq;
  c.rcv_nxt = syn.seq + 1;
  c.rcv_nxt_off = 0;
  c.iss = tcp.isn(FourTuple{c.local.addr, c.local.port, c.remote.addr, c.remote.port});
  c.recover = c.iss;
  c.snd_una = c.iss;
  c.snd_nxt = c.iss;
  c.snd_max = c.iss;
  // RFC 9293 3.10.7.2: SND.WND from the SYN, never scaled (RFC 7323 2.2).
  c.snd_wnd = syn.h.window;
  c.max_snd_wnd = c.snd_wnd;
  c.snd_wl1 = syn.seq;
  tcp_negotiate(c, syn.h.options);
  // tcp_openreq_init_rwin: the SYN,ACK's window counts segments without the timestamps.
  c.rcv_wnd_init = tcp_initial_rcv_wnd(c, c.advmss - (c.ts_ok ? kTcpTimestampBytes : 0));
  c.last_recv = c.stack.now();
  return child;
}

void tcp_save_syn(TcpSock& child, const TcpSegment& syn) {
  if (child.save_syn == 0 || syn.headers.empty()) return;
  // 1: from the IP header on; 2: the link-layer header too.
  if (child.save_syn == 1) {
    const ByteSpan h = syn.headers.subspan(syn.mac_len);
    child.saved_syn.assign(h.begin(), h.end());
    return;
  }
  child.saved_syn.clear();
  if (syn.mac_len == 0) {
    // usnet's loopback has no link layer; Linux's frames there carry an Ethernet header
    // of zero addresses (the loopback device's), which TCP_SAVE_SYN 2 returns.
    constexpr std::array<std::byte, 14> kLoopbackEth{
        std::byte{0}, std::byte{0}, std::byte{0},    std::byte{0},   std::byte{0},
        std::byte{0}, std::byte{0}, std::byte{0},    std::byte{0},   std::byte{0},
        std::byte{0}, std::byte{0}, std::byte{0x08}, std::byte{0x00}};
    child.saved_syn.assign(kLoopbackEth.begin(), kLoopbackEth.end());
  }
  child.saved_syn.insert(child.saved_syn.end(), syn.headers.begin(), syn.headers.end());
}

void tcp_finish_connect(TcpSock& sk, const TcpSegment& seg) {
  tcp_negotiate(sk, seg.h.options);
  sk.snd_wnd = seg.h.window;  // a SYN's window is never scaled
  sk.max_snd_wnd = sk.snd_wnd;
  sk.snd_wl1 = seg.seq;
  sk.snd_wl2 = seg.ack;
  sk.established_at = sk.stack.now();
  sk.quickacks = 16;
  tcp_set_state(sk, TcpState::kEstablished);
  tcp_arm_keepalive(sk);
}

void tcp_time_wait(TcpSock& sk) {
  if (sk.state != TcpState::kTimeWait &&
      sk.tcp().time_waits() >=
          static_cast<std::size_t>(std::max(sk.stack.sysctl().tcp_max_tw_buckets, 0))) {
    // Linux tcp_max_tw_buckets: past the limit the connection ends without TIME_WAIT
    // ("time wait bucket table overflow"), so closed connections cannot exhaust memory.
    sk.stack.mib().TcpExtTCPTimeWaitOverflow++;
    sk.done_flag = true;
    tcp_done(sk);
    return;
  }
  tcp_set_state(sk, TcpState::kTimeWait);
  sk.stack.timers().cancel(sk.rto_timer);
  sk.stack.timers().cancel(sk.delack_timer);
  sk.stack.mib().TcpExtTW++;
  // RFC 9293 3.10.7.4: TIME_WAIT lasts 2*MSL (Linux: 60 s) and restarts on a repeated FIN.
  sk.stack.timers().arm(sk.keep_timer, sk.stack.now() + kTcpMsl2);
}

}  // namespace usnet

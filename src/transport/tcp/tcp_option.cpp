// IPPROTO_TCP socket options (tcp(7)) with Linux's value rules, TCP_INFO in Linux's layout,
// and the `ss -tni`-like view of a stack's sockets.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "socket/wait_queue.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_ecn.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

constexpr int kTcpMinMss = 88;          // TCP_MIN_MSS
constexpr int kMaxTcpWindow = 32767;    // MAX_TCP_WINDOW: TCP_MAXSEG's upper bound
constexpr int kMaxTcpKeepidle = 32767;  // MAX_TCP_KEEPIDLE / KEEPINTVL
constexpr int kMaxTcpKeepcnt = 127;
constexpr int kMaxTcpSyncnt = 127;
constexpr std::size_t kTcpCaNameMax = 16;

std::uint32_t to_us(Duration d) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

std::uint32_t ms_since(Instant now, Instant then) {
  if (then == kEpoch) return 0;
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count());
}

// Linux 6.18's struct tcp_info (include/uapi/linux/tcp.h): glibc's <netinet/tcp.h> has
// only the fields up to tcpi_total_retrans, so the rest follow here in the kernel's order.
// getsockopt returns min(optlen, sizeof), so a program built against an older header
// gets its prefix.
struct TcpInfo {
  tcp_info base;
  std::uint64_t tcpi_pacing_rate;
  std::uint64_t tcpi_max_pacing_rate;
  std::uint64_t tcpi_bytes_acked;
  std::uint64_t tcpi_bytes_received;
  std::uint32_t tcpi_segs_out;
  std::uint32_t tcpi_segs_in;
  std::uint32_t tcpi_notsent_bytes;
  std::uint32_t tcpi_min_rtt;
  std::uint32_t tcpi_data_segs_in;
  std::uint32_t tcpi_data_segs_out;
  std::uint64_t tcpi_delivery_rate;
  std::uint64_t tcpi_busy_time;
  std::uint64_t tcpi_rwnd_limited;
  std::uint64_t tcpi_sndbuf_limited;
  std::uint32_t tcpi_delivered;
  std::uint32_t tcpi_delivered_ce;
  std::uint64_t tcpi_bytes_sent;
  std::uint64_t tcpi_bytes_retrans;
  std::uint32_t tcpi_dsack_dups;
  std::uint32_t tcpi_reord_seen;
  std::uint32_t tcpi_rcv_ooopack;
  std::uint32_t tcpi_snd_wnd;
  std::uint32_t tcpi_rcv_wnd;
  std::uint32_t tcpi_rehash;
  std::uint16_t tcpi_total_rto;
  std::uint16_t tcpi_total_rto_recoveries;
  std::uint32_t tcpi_total_rto_time;
  // AccECN (Linux 6.18); zero here.
  std::uint32_t tcpi_received_ce;
  std::uint32_t tcpi_delivered_e1_bytes;
  std::uint32_t tcpi_delivered_e0_bytes;
  std::uint32_t tcpi_delivered_ce_bytes;
  std::uint32_t tcpi_received_e1_bytes;
  std::uint32_t tcpi_received_e0_bytes;
  std::uint32_t tcpi_received_ce_bytes;
  std::uint16_t tcpi_accecn_fail_mode;
  std::uint16_t tcpi_accecn_opt_seen;
};
static_assert(sizeof(tcp_info) == 104, "glibc's tcp_info ends at tcpi_total_retrans");
static_assert(offsetof(TcpInfo, tcpi_snd_wnd) == 228, "Linux uapi tcp_info layout");
static_assert(sizeof(TcpInfo) == 280, "Linux 6.18 returns 280 bytes of tcp_info");

// Linux tcp_update_pacing_rate: cwnd * mss / srtt, times 200% in slow start (cwnd below
// half of ssthresh) and 120% after; 0 until there is an RTT sample. In bytes per second.
std::uint64_t pacing_rate(const TcpSock& sk) {
  const auto srtt_us = std::chrono::duration_cast<std::chrono::microseconds>(sk.srtt).count();
  if (srtt_us <= 0) return 0;
  const std::uint64_t ratio = sk.cwnd < sk.ssthresh / 2 ? 200 : 120;
  return static_cast<std::uint64_t>(sk.cwnd) * ratio * 1000000 / 100 /
         static_cast<std::uint64_t>(srtt_us);
}

TcpInfo fill_tcp_info(const TcpSock& sk) {
  TcpInfo full{};
  tcp_info& ti = full.base;
  const Instant now = sk.stack.now();
  ti.tcpi_state = tcp_state_linux(sk.state);
  // TCP_CA_Recovery (3) in fast recovery, TCP_CA_Loss (4) from a timeout until SND.UNA has
  // passed what was outstanding then, TCP_CA_CWR (2) while ECN reduces the window,
  // TCP_CA_Disorder (1) while segments are SACKed or marked lost (Linux tcp_try_keep_open).
  const bool loss = !sk.in_recovery && sk.snd_una < sk.recover;
  if (sk.in_recovery) {
    ti.tcpi_ca_state = TCP_CA_Recovery;
  } else if (loss) {
    ti.tcpi_ca_state = TCP_CA_Loss;
  } else if (sk.in_cwr) {
    ti.tcpi_ca_state = TCP_CA_CWR;
  } else if (sk.sacked_out + sk.lost_out != 0) {
    ti.tcpi_ca_state = TCP_CA_Disorder;
  } else {
    ti.tcpi_ca_state = TCP_CA_Open;
  }
  ti.tcpi_retransmits = static_cast<std::uint8_t>(sk.retransmits);
  ti.tcpi_probes = static_cast<std::uint8_t>(sk.probes + sk.ka_probes);
  ti.tcpi_backoff = static_cast<std::uint8_t>(sk.backoff);
  if (sk.ts_ok) ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
  if (sk.sack_ok) ti.tcpi_options |= TCPI_OPT_SACK;
  if (sk.tfo.syn_data_acked) ti.tcpi_options |= TCPI_OPT_SYN_DATA;  // RFC 7413 data on the SYN
  if ((sk.ecn_flags & kTcpEcnOk) != 0) ti.tcpi_options |= TCPI_OPT_ECN;
  if ((sk.ecn_flags & kTcpEcnSeen) != 0) ti.tcpi_options |= TCPI_OPT_ECN_SEEN;
  if (sk.wscale_ok) {
    ti.tcpi_options |= TCPI_OPT_WSCALE;
    ti.tcpi_snd_wscale = sk.snd_wscale & 0xf;
    ti.tcpi_rcv_wscale = sk.rcv_wscale & 0xf;
  }
  // The kernel's byte after the window scales: tcpi_delivery_rate_app_limited:1, then
  // tcpi_fastopen_client_fail:2 (glibc's struct leaves it as padding).
  auto* raw = reinterpret_cast<std::uint8_t*>(&ti);
  raw[offsetof(tcp_info, tcpi_options) + 2] =
      static_cast<std::uint8_t>((sk.tfo.client_fail & 3U) << 1);
  ti.tcpi_rto = to_us(tcp_current_rto(sk));
  ti.tcpi_ato = to_us(sk.ato);
  ti.tcpi_snd_mss = sk.mss;
  ti.tcpi_rcv_mss = sk.rcv_mss;  // Linux icsk_ack.rcv_mss: the peer's segments as seen
  const std::uint32_t mss = std::max<std::uint32_t>(sk.mss, 1);
  ti.tcpi_unacked = (sk.flight() + mss - 1) / mss;
  ti.tcpi_sacked = sk.sacked_bytes / mss;
  ti.tcpi_retrans = sk.retrans_out;
  ti.tcpi_lost = sk.lost_out;
  ti.tcpi_last_data_sent = ms_since(now, sk.last_send);
  ti.tcpi_last_data_recv = ms_since(now, sk.last_recv);
  ti.tcpi_last_ack_recv = ms_since(now, sk.last_recv);
  ti.tcpi_pmtu = sk.pmtu;
  ti.tcpi_rcv_ssthresh = sk.rcv_ssthresh != 0 ? sk.rcv_ssthresh : sk.rcv_wnd_init;
  ti.tcpi_rtt = to_us(sk.srtt);
  ti.tcpi_rttvar = to_us(sk.rttvar);
  ti.tcpi_snd_ssthresh = sk.ssthresh >= 0x7fffffff ? 0x7fffffff : sk.ssthresh / mss;
  ti.tcpi_snd_cwnd = sk.cwnd / mss;
  ti.tcpi_advmss = sk.advmss;
  ti.tcpi_reordering = static_cast<std::uint32_t>(sk.stack.sysctl().tcp_reordering);
  ti.tcpi_rcv_space = sk.rcvq_space;
  ti.tcpi_rcv_rtt = sk.rcv_rtt_us >> 3;
  ti.tcpi_total_retrans = sk.total_retrans;
  full.tcpi_pacing_rate = pacing_rate(sk);
  full.tcpi_max_pacing_rate = ~std::uint64_t{0};  // sk_max_pacing_rate: no SO_MAX_PACING_RATE
  full.tcpi_bytes_acked = sk.bytes_acked;
  full.tcpi_bytes_received = sk.bytes_received;
  full.tcpi_segs_out = sk.segs_out;
  full.tcpi_segs_in = sk.segs_in;
  full.tcpi_notsent_bytes = sk.state == TcpState::kListen ? 0 : sk.notsent_bytes();
  // tcp_min_rtt: ~0U until a sample.
  full.tcpi_min_rtt = sk.min_rtt.count() > 0 ? to_us(sk.min_rtt) : ~std::uint32_t{0};
  full.tcpi_data_segs_in = sk.data_segs_in;
  full.tcpi_data_segs_out = sk.data_segs_out;
  full.tcpi_bytes_sent = sk.bytes_sent;
  full.tcpi_bytes_retrans = sk.bytes_retrans;
  full.tcpi_delivered = sk.delivered;
  full.tcpi_dsack_dups = sk.dsack_dups;
  full.tcpi_reord_seen = sk.reord_seen;
  full.tcpi_snd_wnd = sk.snd_wnd;
  // tp->rcv_wnd: the window last advertised.
  full.tcpi_rcv_wnd =
      sk.rcv_nxt < sk.rcv_adv ? static_cast<std::uint32_t>(sk.rcv_adv - sk.rcv_nxt) : 0;
  return full;
}

// Linux secs_to_retrans / retrans_to_secs with TCP_TIMEOUT_INIT (1 s) doubling up to
// TCP_RTO_MAX (120 s): TCP_DEFER_ACCEPT is kept as the number of SYN,ACK retransmissions
// whose timeouts add up to at least the seconds asked, and read back as that sum.
constexpr int kDeferTimeoutInit = 1;
constexpr int kDeferRtoMax = 120;

std::uint8_t secs_to_retrans(int seconds) {
  int res = 0;
  if (seconds > 0) {
    int timeout = kDeferTimeoutInit;
    int period = timeout;
    res = 1;
    while (seconds > period && res < 255) {
      ++res;
      timeout = std::min(timeout * 2, kDeferRtoMax);
      period += timeout;
    }
  }
  return static_cast<std::uint8_t>(res);
}

int retrans_to_secs(int retrans) {
  int period = 0;
  if (retrans > 0) {
    int timeout = kDeferTimeoutInit;
    period = timeout;
    while (--retrans > 0) {
      timeout = std::min(timeout * 2, kDeferRtoMax);
      period += timeout;
    }
  }
  return period;
}

bool synchronized_or_syn(const TcpSock& sk) {
  return sk.state != TcpState::kClosed && sk.state != TcpState::kListen;
}

Result<int> read_int(ByteSpan v) {
  if (v.size() < sizeof(int)) return Error::kInvalidArgument;
  int x;
  std::memcpy(&x, v.data(), sizeof(x));
  return x;
}

}  // namespace

Status tcp_setsockopt(Socket& sock, int level, int name, ByteSpan value) {
  TcpSock& sk = tcp_sk(sock);
  if (level != IPPROTO_TCP) return Error::kNoProtocolOption;
  sock.stack.tracer().step("do_tcp_setsockopt");
  if (name == TCP_CONGESTION) {
    if (value.empty()) return Error::kInvalidArgument;  // do_tcp_setsockopt: optlen < 1
    std::string n(reinterpret_cast<const char*>(value.data()),
                  std::min(value.size(), kTcpCaNameMax - 1));
    n = n.substr(0, n.find('\0'));
    auto cc = make_congestion_control(n);
    if (!cc) return Error::kNoEntry;
    sk.cc = std::move(cc);
    return {};
  }
  if (name == TCP_FASTOPEN_KEY) {
    // do_tcp_setsockopt: a key, or a key and a backup (rotation), for this socket.
    if (value.size() != kTfoKeyLength && value.size() != 2 * kTfoKeyLength) {
      return Error::kInvalidArgument;
    }
    sk.tfo.keys.clear();
    for (std::size_t off = 0; off < value.size(); off += kTfoKeyLength)
      sk.tfo.keys.push_back(tcp_fastopen_key_from_bytes(value.subspan(off, kTfoKeyLength)));
    return {};
  }
  auto iv = read_int(value);
  if (!iv) return iv.error();
  const int v = *iv;
  const bool closed_or_listen = sk.state == TcpState::kClosed || sk.state == TcpState::kListen;
  switch (name) {
    case TCP_FASTOPEN:
      // fastopen_queue_tune: the queue of pending Fast Open children, at most somaxconn.
      if (v < 0 || !closed_or_listen) return Error::kInvalidArgument;
      sk.tfo.set_max_qlen(std::min(v, sock.stack.sysctl().somaxconn));
      sk.tcp().fastopen().init_key_once();
      return {};
    case TCP_FASTOPEN_CONNECT:
      if (v < 0 || v > 1) return Error::kInvalidArgument;
      if ((sock.stack.sysctl().tcp_fastopen & kTfoClientEnable) == 0) {
        return Error::kOperationNotSupported;
      }
      if (sk.state != TcpState::kClosed) return Error::kInvalidArgument;
      sk.tfo.connect = v != 0;
      return {};
    case TCP_FASTOPEN_NO_COOKIE:
      if (v < 0 || v > 1 || !closed_or_listen) return Error::kInvalidArgument;
      sk.tfo.no_cookie = v != 0;
      return {};
    case TCP_NODELAY:
      sk.nodelay = v != 0;
      if (sk.nodelay) tcp_write_xmit(sk);  // Linux pushes what Nagle held
      return {};
    case TCP_CORK:
      sk.cork = v != 0;
      if (!sk.cork) {
        // Uncorking sends what was held at once (tcp(7)).
        sk.stack.timers().cancel(sk.cork_timer);
        tcp_write_xmit(sk);
      }
      return {};
    case TCP_MAXSEG:
      if (v != 0 && (v < kTcpMinMss || v > kMaxTcpWindow)) return Error::kInvalidArgument;
      sk.user_mss = static_cast<std::uint16_t>(v);
      return {};
    case TCP_KEEPIDLE:
      if (v < 1 || v > kMaxTcpKeepidle) return Error::kInvalidArgument;
      sk.keepidle_s = v;
      // tcp_sock_set_keepidle_locked: the new time counts from the last segment received
      // (keepalive_time_elapsed), so a probe may be due at once.
      if (sk.opt.keepalive && sk.state != TcpState::kClosed && sk.state != TcpState::kListen) {
        const Instant due = sk.last_recv + tcp_keepalive_time(sk);
        sk.stack.timers().arm(sk.keep_timer, std::max(due, sk.stack.now()));
      }
      return {};
    case TCP_KEEPINTVL:
      if (v < 1 || v > kMaxTcpKeepidle) return Error::kInvalidArgument;
      sk.keepintvl_s = v;
      return {};
    case TCP_KEEPCNT:
      if (v < 1 || v > kMaxTcpKeepcnt) return Error::kInvalidArgument;
      sk.keepcnt = v;
      return {};
    case TCP_SYNCNT:
      if (v < 1 || v > kMaxTcpSyncnt) return Error::kInvalidArgument;
      sk.syn_count = v;
      return {};
    case TCP_USER_TIMEOUT:
      if (v < 0) return Error::kInvalidArgument;
      sk.user_timeout = std::chrono::milliseconds(v);
      return {};
    case TCP_INQ:
      if (v < 0 || v > 1) return Error::kInvalidArgument;
      sk.recvmsg_inq = v != 0;
      return {};
    case TCP_NOTSENT_LOWAT:
      // Any value (a negative one is a huge u32); 0 goes back to the sysctl. A higher mark
      // may make the socket writable now (sk_write_space).
      sk.notsent_lowat = static_cast<std::uint32_t>(v);
      sk_write_space(sk);
      return {};
    case TCP_DEFER_ACCEPT:
      sk.defer_accept = secs_to_retrans(v);
      return {};
    case TCP_SAVE_SYN:
      // 1 saves the IP and TCP headers, 2 the link-layer header too.
      if (v < 0 || v > 2) return Error::kInvalidArgument;
      sk.save_syn = static_cast<std::uint8_t>(v);
      return {};
    case TCP_QUICKACK:
      // Linux __tcp_sock_set_quickack: 0 enters interactive (pingpong) mode, where ACKs
      // are delayed. Other values leave it (the quick-ACK count is not renewed), and an
      // ACK that was waiting goes now if tcp_cleanup_rbuf would send it: everything read,
      // or more than a segment received since the last ACK. An even value enters
      // pingpong mode again after that.
      if (v == 0) {
        sk.pingpong = 1;
        return {};
      }
      sk.pingpong = 0;
      if ((sk.state == TcpState::kEstablished || sk.state == TcpState::kCloseWait) &&
          sk.ack_pending) {
        const bool drained = sk.rcvq.empty() && sk.ooo.bytes() == 0;  // !sk_rmem_alloc
        if (drained || sk.rcv_nxt - sk.last_ack_sent > sk.rcv_mss) tcp_send_ack(sk);
        if ((v & 1) == 0) sk.pingpong = 1;
      }
      return {};
    default:
      return Error::kNoProtocolOption;
  }
}

Result<OptValue> tcp_getsockopt(Socket& sock, int level, int name, std::size_t optlen) {
  TcpSock& sk = tcp_sk(sock);
  if (level != IPPROTO_TCP) return Error::kOperationNotSupported;
  switch (name) {
    case TCP_NODELAY:
      return OptValue::of_int(sk.nodelay ? 1 : 0);
    case TCP_CORK:
      return OptValue::of_int(sk.cork ? 1 : 0);
    case TCP_MAXSEG:
      // Linux: the current MSS once connected, else the user's value or 536.
      if (synchronized_or_syn(sk)) return OptValue::of_int(sk.mss);
      return OptValue::of_int(sk.user_mss != 0 ? sk.user_mss : 536);
    case TCP_KEEPIDLE:
      return OptValue::of_int(static_cast<int>(
          std::chrono::duration_cast<std::chrono::seconds>(tcp_keepalive_time(sk)).count()));
    case TCP_KEEPINTVL:
      return OptValue::of_int(static_cast<int>(
          std::chrono::duration_cast<std::chrono::seconds>(tcp_keepalive_intvl(sk)).count()));
    case TCP_KEEPCNT:
      return OptValue::of_int(tcp_keepalive_probes(sk));
    case TCP_SYNCNT:
      return OptValue::of_int(tcp_syn_count(sk));
    case TCP_USER_TIMEOUT:
      return OptValue::of_int(static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(sk.user_timeout).count()));
    case TCP_QUICKACK:
      // Linux: !inet_csk_in_pingpong_mode(sk).
      return OptValue::of_int(sk.pingpong == 0 ? 1 : 0);
    case TCP_CONGESTION: {
      std::array<char, kTcpCaNameMax> n{};
      const auto name_sv = sk.cc->name();
      std::memcpy(n.data(), name_sv.data(), std::min(name_sv.size(), n.size() - 1));
      return OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(n.data()), n.size()));
    }
    case TCP_INFO: {
      const TcpInfo ti = fill_tcp_info(sk);
      return OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(&ti), sizeof(ti)));
    }
    case TCP_CC_INFO:
      // What the congestion control's get_info gives: reno and cubic have none, so Linux
      // succeeds with optlen 0.
      return OptValue{};
    case TCP_INQ:
      return OptValue::of_int(sk.recvmsg_inq ? 1 : 0);
    case TCP_NOTSENT_LOWAT:
      return OptValue::of_int(static_cast<int>(sk.notsent_lowat));  // 0 unless set
    case TCP_DEFER_ACCEPT:
      return OptValue::of_int(retrans_to_secs(sk.defer_accept));
    case TCP_SAVE_SYN:
      return OptValue::of_int(sk.save_syn);
    case TCP_FASTOPEN:
      return OptValue::of_int(sk.tfo.max_qlen);
    case TCP_FASTOPEN_CONNECT:
      return OptValue::of_int(sk.tfo.connect ? 1 : 0);
    case TCP_FASTOPEN_NO_COOKIE:
      return OptValue::of_int(sk.tfo.no_cookie ? 1 : 0);
    case TCP_FASTOPEN_KEY: {
      // tcp_fastopen_get_cipher: the socket's keys, else the stack's, 16 bytes each; none
      // (optlen 0) before any key was made.
      const std::vector<SipKey>& keys =
          sk.tfo.keys.empty() ? sock.stack.sysctl().tcp_fastopen_key : sk.tfo.keys;
      std::array<std::byte, 2 * kTfoKeyLength> buf{};
      for (std::size_t i = 0; i < keys.size() && i < 2; ++i)
        tcp_fastopen_key_to_bytes(keys[i], buf.data() + i * kTfoKeyLength);
      return OptValue::of_bytes(
          ByteSpan(buf).first(std::min<std::size_t>(keys.size(), 2) * kTfoKeyLength));
    }
    case TCP_SAVED_SYN: {
      // Linux tcp_getsockopt: none saved (or already read) succeeds with optlen 0; a short
      // buffer is EINVAL with the length needed; otherwise the headers, once.
      if (sk.saved_syn.empty()) return OptValue{};
      OptValue o = OptValue::of_bytes(sk.saved_syn);
      if (optlen < sk.saved_syn.size()) {
        o.too_short = true;
        return o;
      }
      sk.saved_syn = {};  // tcp_saved_syn_free: the memory goes too
      return o;
    }
    default:
      return Error::kNoProtocolOption;
  }
}

std::string tcp_dump_sockets(Stack& stack) {
  std::string out = fmt::format("{:<13} {:>8} {:>8} {:<21} {:<21}\n", "State", "Recv-Q", "Send-Q",
                                "Local Address:Port", "Peer Address:Port");
  stack.tcp().for_each([&](const TcpSock& sk) {
    const bool listen = sk.state == TcpState::kListen;
    const std::size_t recvq = listen ? sk.accept_queue.size() : sk.rcvq.size();
    const std::size_t sendq = listen ? static_cast<std::size_t>(sk.backlog) : sk.sndq.size();
    const std::string peer = sk.connected() ? sk.remote.to_string() : "*:*";
    out += fmt::format("{:<13} {:>8} {:>8} {:<21} {:<21}\n", tcp_state_name(sk.state), recvq, sendq,
                       sk.local.to_string(), peer);
    if (listen || sk.state == TcpState::kClosed) return;
    const auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    out += fmt::format(
        "\t {}{}{} wscale:{},{} rto:{:.0f} rtt:{:.3f}/{:.3f} mss:{} cwnd:{}{} "
        "bytes_acked:{} bytes_received:{} segs_out:{} segs_in:{} retrans:{}/{}\n",
        sk.cc->name(), sk.ts_ok ? " ts" : "", sk.sack_ok ? " sack" : "", sk.snd_wscale,
        sk.rcv_wscale, ms(tcp_current_rto(sk)), ms(sk.srtt), ms(sk.rttvar), sk.mss,
        sk.cwnd / std::max<std::uint32_t>(sk.mss, 1),
        sk.ssthresh >= 0x7fffffff
            ? std::string()
            : fmt::format(" ssthresh:{}", sk.ssthresh / std::max<std::uint32_t>(sk.mss, 1)),
        sk.bytes_acked, sk.bytes_received, sk.segs_out, sk.segs_in, sk.retrans_out,
        sk.total_retrans);
  });
  return out;
}

}  // namespace usnet

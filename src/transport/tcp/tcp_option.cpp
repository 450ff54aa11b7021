// IPPROTO_TCP socket options (tcp(7)) with Linux's value rules, TCP_INFO in Linux's layout,
// and the `ss -tni`-like view of a stack's sockets.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include <fmt/format.h>

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

tcp_info fill_tcp_info(const TcpSock& sk) {
  tcp_info ti{};
  const Instant now = sk.stack.now();
  ti.tcpi_state = tcp_state_linux(sk.state);
  // TCP_CA_Recovery (3) in fast recovery, TCP_CA_Loss (4) from a timeout until SND.UNA has
  // passed what was outstanding then.
  const bool loss = !sk.in_recovery && sk.snd_una < sk.recover;
  ti.tcpi_ca_state = sk.in_recovery ? 3 : (loss ? 4 : 0);
  ti.tcpi_retransmits = static_cast<std::uint8_t>(sk.retransmits);
  ti.tcpi_probes = static_cast<std::uint8_t>(sk.probes + sk.ka_probes);
  ti.tcpi_backoff = static_cast<std::uint8_t>(sk.backoff);
  if (sk.ts_ok) ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
  if (sk.sack_ok) ti.tcpi_options |= TCPI_OPT_SACK;
  if ((sk.ecn_flags & kTcpEcnOk) != 0) ti.tcpi_options |= TCPI_OPT_ECN;
  if ((sk.ecn_flags & kTcpEcnSeen) != 0) ti.tcpi_options |= TCPI_OPT_ECN_SEEN;
  if (sk.wscale_ok) {
    ti.tcpi_options |= TCPI_OPT_WSCALE;
    ti.tcpi_snd_wscale = sk.snd_wscale & 0xf;
    ti.tcpi_rcv_wscale = sk.rcv_wscale & 0xf;
  }
  ti.tcpi_rto = to_us(tcp_current_rto(sk));
  ti.tcpi_ato = to_us(sk.ato);
  ti.tcpi_snd_mss = sk.mss;
  ti.tcpi_rcv_mss = sk.rcv_mss;  // Linux icsk_ack.rcv_mss: the peer's segments as seen
  const std::uint32_t mss = std::max<std::uint32_t>(sk.mss, 1);
  ti.tcpi_unacked = (sk.flight() + mss - 1) / mss;
  ti.tcpi_sacked = sk.sacked_bytes / mss;
  ti.tcpi_retrans = sk.retrans_out;
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
  ti.tcpi_reordering = 3;
  ti.tcpi_rcv_space = sk.rcvq_space;
  ti.tcpi_rcv_rtt = sk.rcv_rtt_us >> 3;
  ti.tcpi_total_retrans = sk.total_retrans;
  return ti;
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
    std::string n(reinterpret_cast<const char*>(value.data()),
                  std::min(value.size(), kTcpCaNameMax - 1));
    n = n.substr(0, n.find('\0'));
    auto cc = make_congestion_control(n);
    if (!cc) return Error::kNoEntry;
    sk.cc = std::move(cc);
    return {};
  }
  auto iv = read_int(value);
  if (!iv) return iv.error();
  const int v = *iv;
  switch (name) {
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
      tcp_arm_keepalive(sk);
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
    case TCP_QUICKACK:
      // Linux __tcp_sock_set_quickack: 0 enters interactive (pingpong) mode, where ACKs
      // are delayed; 1 leaves it and sends an ACK that was waiting.
      sk.pingpong = v != 0 ? 0 : 1;
      if (v != 0) {
        sk.quickacks = 16;
        if (sk.ack_pending) tcp_send_ack(sk);
      }
      return {};
    default:
      return Error::kNoProtocolOption;
  }
}

Result<OptValue> tcp_getsockopt(Socket& sock, int level, int name) {
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
      return OptValue::of_int(sk.quickacks > 0 ? 1 : 0);
    case TCP_CONGESTION: {
      std::array<char, kTcpCaNameMax> n{};
      const auto name_sv = sk.cc->name();
      std::memcpy(n.data(), name_sv.data(), std::min(name_sv.size(), n.size() - 1));
      return OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(n.data()), n.size()));
    }
    case TCP_INFO: {
      const tcp_info ti = fill_tcp_info(sk);
      return OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(&ti), sizeof(ti)));
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

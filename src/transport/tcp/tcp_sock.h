// A TCP connection's state: the Transmission Control Block of RFC 9293 3.3.1 with Linux's
// additions (timestamps, SACK, congestion control, the listener's queues), held in TcpSock,
// the TCP part of a Socket (as tcp_sock embeds inet_connection_sock embeds sock).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/byte_queue.h"
#include "base/timer_wheel.h"
#include "socket/socket.h"
#include "transport/tcp/seq.h"
#include "transport/tcp/tcp_fastopen.h"
#include "transport/tcp/tcp_ofo.h"
#include "transport/tcp/tcp_rtx_queue.h"

namespace usnet {

class Tcp;
struct TcpSock;

// RFC 9293 figure 5.
enum class TcpState : std::uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};

std::string_view tcp_state_name(TcpState s) noexcept;
// Linux's numbering (TCP_ESTABLISHED = 1, ...), as tcp_info.tcpi_state and `ss` report it.
std::uint8_t tcp_state_linux(TcpState s) noexcept;

// A congestion controller (Linux struct tcp_congestion_ops), chosen per socket with
// TCP_CONGESTION. Windows are in bytes.
class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual std::string_view name() const noexcept = 0;
  // New data was cumulatively acknowledged outside loss recovery (RFC 5681 3.1).
  virtual void on_ack(TcpSock& sk, std::uint32_t acked, Instant now) = 0;
  // Loss was detected (fast retransmit or RTO): the new ssthresh.
  virtual std::uint32_t ssthresh(TcpSock& sk, Instant now) = 0;
  // The retransmission timer expired (after ssthresh()).
  virtual void on_rto(TcpSock& /*sk*/) {}
};

// "reno" (NewReno, RFC 5681/6582) and "cubic" (RFC 9438); nullptr for other names.
std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name);

// A SACKed range of the send sequence space, [left, right).
struct SackRange {
  SeqNum left;
  SeqNum right;
};

// A sendmsg call's last byte with what its sender is to hear about it (tcp_tx_report.cpp).
struct TcpTxNote {
  SeqNum last;
  std::optional<std::uint32_t> zc_id;  // MSG_ZEROCOPY completion, due when acknowledged
  bool sched = false;                  // SOF_TIMESTAMPING_TX_SCHED, TX_SOFTWARE, TX_ACK
  bool snd = false;
  bool ack = false;
  bool sent = false;  // the segment carrying it has gone (SCHED and SND stamped)
};

struct TcpSock : Socket {
  TcpSock(Stack& s, int fam, const ProtoOps& o);
  ~TcpSock() override;

  TcpState state = TcpState::kClosed;
  enum class Owner : std::uint8_t { kUser, kListener, kOrphan, kDead };
  Owner owner = Owner::kUser;

  // --- send sequence space (RFC 9293 3.3.1) ---
  SeqNum iss;
  SeqNum snd_una;
  SeqNum snd_nxt;
  SeqNum snd_max;                 // highest sequence number sent + 1 (snd_nxt can go back on RTO)
  std::uint32_t snd_wnd = 0;      // peer's window, scaled to bytes
  std::uint32_t max_snd_wnd = 0;  // largest window the peer offered (RFC 1122 SWS, RFC 5961)
  SeqNum snd_wl1;
  SeqNum snd_wl2;
  // Bytes from snd_una on: sent-but-unacknowledged, then unsent. SYN and FIN take no bytes.
  ByteQueue sndq;
  bool fin_queued = false;  // the user is done sending: FIN follows the last byte
  bool syn_acked() const noexcept {
    return state != TcpState::kSynSent && state != TcpState::kSynReceived;
  }
  // Sequence number of the first byte in sndq.
  SeqNum data_start() const noexcept { return syn_acked() ? snd_una : snd_una + 1; }
  SeqNum write_seq() const noexcept {
    return data_start() + static_cast<std::uint32_t>(sndq.size());
  }
  // Sequence number of our FIN (valid when fin_queued; fixed when queued, since nothing
  // can be written after it).
  SeqNum fin_seq() const noexcept { return fin_seq_; }
  void queue_fin() noexcept {
    if (fin_queued) return;
    fin_queued = true;
    fin_seq_ = write_seq();
  }

  // --- receive sequence space ---
  SeqNum irs;
  SeqNum rcv_nxt;
  SeqNum rcv_adv;                 // right edge of the window last advertised (rcv_nxt + window)
  ByteQueue rcvq;                 // in-order data not yet read
  bool rcv_fin = false;           // the peer's FIN has been received in order
  OfoQueue ooo;                   // out-of-order data, by offset from irs + 1 (no wrap)
  std::uint64_t rcv_nxt_off = 0;  // rcv_nxt as an offset from irs + 1
  SeqNum last_rcvd_seg;           // first SACK block: the most recently received segment
  SeqNum last_rcvd_seg_end;

  // --- options ---
  std::uint16_t mss = 536;        // effective send MSS: data bytes per segment (tcp_sync_mss)
  std::uint16_t advmss = 1460;    // what we advertise
  std::uint16_t user_mss = 0;     // TCP_MAXSEG
  std::uint16_t mss_clamp = 536;  // the peer's MSS option, or 536 (Linux rx_opt.mss_clamp)
  // The network protocol of the connection's addresses (Linux icsk_af_ops), chosen by
  // tcp_init_connection; null until then.
  NetProtocol* net = nullptr;
  std::uint32_t pmtu = 1500;    // path MTU the segments must fit (icsk_pmtu_cookie)
  bool pmtu_locked = false;     // raised to the floor: sent without DF (RTAX_MTU locked)
  std::uint8_t snd_wscale = 0;  // shift for windows the peer sends
  std::uint8_t rcv_wscale = 0;  // shift for windows we send
  // The window a SYN or SYN,ACK offers (Linux tcp_select_initial_window's rcv_wnd): half
  // the receive buffer, in whole segments.
  std::uint32_t rcv_wnd_init = 0;
  bool wscale_ok = false;
  bool sack_ok = false;
  bool ts_ok = false;
  std::uint32_t ts_recent = 0;  // RFC 7323 TS.Recent
  Instant ts_recent_stamp = kEpoch;
  std::uint32_t ts_offset = 0;  // per-connection random offset of our TSval
  SeqNum last_ack_sent;         // RFC 7323 Last.ACK.sent

  // --- retransmission (RFC 6298) and recovery ---
  Duration srtt{0};
  Duration rttvar{0};
  Duration rto = std::chrono::seconds(1);
  Duration min_rtt{0};
  bool rtt_seq_valid = false;  // Karn: one timed segment at a time, without timestamps
  SeqNum rtt_seq;
  Instant rtt_time = kEpoch;
  int backoff = 0;      // doublings of the RTO; ends on a valid RTT sample (icsk_backoff)
  int retransmits = 0;  // RTO expiries since SND.UNA last advanced (icsk_retransmits)
  int syn_retries = 0;
  int probes = 0;                 // zero-window probes without an answer
  Instant probes_stamp = kEpoch;  // when the first probe of this zero window went
  int ka_probes = 0;              // keepalive probes without an answer
  bool persist = false;           // rto_timer is the persist timer (zero window)
  bool done_flag = false;         // the connection existed and has ended (Linux SOCK_DONE)
  // connect() started and its outcome not yet reported by a connect() call (Linux's
  // SS_CONNECTING): the next connect() reports it (0, or the error) instead of starting over.
  bool ss_connecting = false;
  std::optional<Error> soft_error;  // the last ICMP error (Linux sk_err_soft)
  Instant last_oow_ack = kEpoch;    // rate limit for ACKs to out-of-window segments
  Instant retrans_stamp = kEpoch;   // when the oldest unacknowledged segment was first sent
  std::uint32_t cwnd = 0;
  std::uint32_t ssthresh = 0x7fffffff;
  std::uint32_t dupacks = 0;
  bool in_recovery = false;
  SeqNum recover;                     // RFC 6582 "recover"
  SeqNum high_rxt;                    // RFC 6675 HighRxt: retransmitted up to here in this recovery
  std::vector<SackRange> scoreboard;  // sorted, disjoint, within (snd_una, snd_max]
  std::uint32_t sacked_bytes = 0;
  std::unique_ptr<CongestionControl> cc;
  Instant last_send = kEpoch;  // for congestion window validation after idle (RFC 7661)
  Instant last_recv = kEpoch;  // keepalive idle time

  // --- ACK generation ---
  int segs_unacked = 0;  // full-sized segments received since the last ACK we sent
  bool ack_pending = false;
  int quickacks = 0;  // segments still to ACK at once (start of a connection)

  // --- user options ---
  bool nodelay = false;
  bool cork = false;
  bool more = false;  // MSG_MORE on the last send
  // The end of the last new segment shorter than the MSS (Linux snd_sml): Nagle holds a
  // short segment only while such a one is unacknowledged (Minshall's rule, as Linux
  // tcp_minshall_check), not behind full-sized ones. Unset until one is sent.
  std::optional<SeqNum> snd_sml;
  // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT; 0 until set: the stack's
  // tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes and tcp_syn_retries
  // apply, read when needed (Linux keepalive_time_when and friends).
  int keepidle_s = 0;
  int keepintvl_s = 0;
  int keepcnt = 0;
  Duration user_timeout{0};
  int syn_count = 0;
  // TCP_INQ, TCP_NOTSENT_LOWAT (0: net.ipv4.tcp_notsent_lowat), TCP_DEFER_ACCEPT (in
  // SYN,ACK retransmissions, as Linux rskq_defer_accept), TCP_SAVE_SYN.
  bool recvmsg_inq = false;
  std::uint32_t notsent_lowat = 0;
  std::uint8_t defer_accept = 0;
  bool defer_acked = false;        // a child's bare ACK was dropped for TCP_DEFER_ACCEPT
  std::deque<TcpTxNote> tx_notes;  // in send order; empty unless asked for
  std::uint8_t save_syn = 0;
  // TCP_SAVED_SYN: the SYN's headers (from the IP header on, or from the link header with
  // TCP_SAVE_SYN 2), kept only when the listener asked; read once (Linux tp->saved_syn).
  std::vector<std::byte> saved_syn;
  Instant last_rx_stamp = kEpoch;  // arrival of the last in-order data (SO_TIMESTAMP)
  std::uint32_t notsent_limit() const noexcept;
  std::uint32_t notsent_bytes() const noexcept {
    const SeqNum end = write_seq();
    return snd_nxt < end ? static_cast<std::uint32_t>(end - snd_nxt) : 0;
  }

  // --- statistics (tcp_info) ---
  std::uint32_t total_retrans = 0;
  std::uint32_t retrans_out = 0;  // segments retransmitted and not yet acknowledged
  std::uint64_t bytes_acked = 0;
  std::uint64_t bytes_received = 0;
  std::uint32_t segs_out = 0;
  std::uint32_t segs_in = 0;
  Instant established_at = kEpoch;
  // TCP_INFO's RFC 4898 counters (tcpi_bytes_sent, ..., tcpi_rcv_ooopack).
  std::uint64_t bytes_sent = 0;     // data bytes sent, retransmissions included
  std::uint64_t bytes_retrans = 0;  // data bytes retransmitted
  std::uint32_t data_segs_out = 0;
  std::uint32_t data_segs_in = 0;

  // --- timers ---
  Timer rto_timer;            // retransmission, SYN retries, zero-window probes
  Timer delack_timer;         // delayed ACK
  Timer keep_timer;           // keepalive, FIN_WAIT_2 and TIME_WAIT
  Timer cork_timer;           // the 200 ms ceiling of TCP_CORK / MSG_MORE
  bool cork_expired = false;  // set while the cork timer pushes what was held

  // --- listener (state LISTEN) ---
  int backlog = 0;
  std::list<std::unique_ptr<TcpSock>> syn_queue;      // children in SYN_RECEIVED
  std::deque<std::unique_ptr<TcpSock>> accept_queue;  // children ESTABLISHED, not accepted
  TcpSock* parent = nullptr;                          // for a child: its listener, until accepted

  // --- ECN (RFC 3168; Linux tp->ecn_flags and the TCP_CA_CWR state), tcp_ecn.cpp ---
  std::uint8_t ecn_flags = 0;  // kTcpEcnOk | kTcpEcnQueueCwr | kTcpEcnDemandCwr | kTcpEcnSeen
  bool in_cwr = false;         // reducing cwnd for an ECE until SND.UNA passes cwr_high
  SeqNum cwr_high;             // SND.NXT when the reduction began (Linux high_seq)

  // --- RTT estimator in Linux's fixed point (tcp_rtt_estimator), microseconds ---
  std::uint32_t srtt_us = 0;      // 8 * SRTT
  std::uint32_t mdev_us = 0;      // 4 * the mean deviation
  std::uint32_t mdev_max_us = 0;  // the largest mdev_us in this window of data
  std::uint32_t rttvar_us = 0;    // what the RTO adds to SRTT (at least tcp_rto_min)
  SeqNum rtt_win_seq;             // SND.NXT at the start of the window mdev_max_us covers

  // --- delayed ACK engine (Linux icsk_ack: ato, lrcvtime, pingpong, rcv_mss) ---
  Duration ato{0};              // 0 until the first data segment arrives
  Instant lrcvtime = kEpoch;    // when the last data segment arrived
  std::uint8_t pingpong = 0;    // interactive: replies follow data within ato
  std::uint16_t rcv_mss = 536;  // the peer's segment size as seen (tcp_measure_rcv_mss)
  SeqNum pushed_seq;            // write_seq when PSH was last set (tcp_mark_push)
  // Where PSH goes (Linux marks the skb that ends there; usnet cuts segments at send time,
  // so the ends are kept): a segment carrying the byte before a mark has PSH. Marks at or
  // below SND.UNA are dropped as they are met; when the ring is full the oldest goes.
  static constexpr std::size_t kPushMarks = 32;
  std::array<SeqNum, kPushMarks> push_marks{};
  std::uint8_t push_head = 0;
  std::uint8_t push_count = 0;

  // --- receive buffer autotuning (Linux tcp_rcv_space_adjust, rcvq_space, rcv_rtt_est) ---
  std::uint32_t rcv_ssthresh = 0;       // the window may grow up to this (tcp_grow_window)
  std::uint32_t rcvq_space = 0;         // bytes the application read in the last measured RTT
  std::uint64_t rcvq_space_copied = 0;  // copied_total when that measurement began
  Instant rcvq_space_time = kEpoch;
  std::uint64_t copied_total = 0;  // bytes the application has read (copied_seq offset)
  std::uint32_t rcv_rtt_us = 0;    // 8 * the receiver's RTT estimate (rcv_rtt_est.rtt_us)
  SeqNum rcv_rtt_seq;              // per-window measurement: rcv_nxt + rcv_wnd when begun
  Instant rcv_rtt_time = kEpoch;
  std::uint32_t rcv_rtt_last_tsecr = 0;
  bool ack_pushed = false;  // a short segment came since the last ACK (ICSK_ACK_PUSHED)

  // --- RACK-TLP (RFC 8985), DSACK (RFC 2883) and undo: tcp_recovery.cpp ---
  TcpRtxQueue rtx;  // the segments in flight, as sent
  // RACK.xmit_ts, RACK.end_seq, RACK.rtt of the most recently sent segment delivered;
  // reo_wnd_steps, reo_wnd_persist and the DSACK round (RFC 8985 6.2 step 4).
  Instant rack_xmit = kEpoch;
  SeqNum rack_end;
  Duration rack_rtt{0};
  std::uint8_t rack_reo_steps = 1;
  std::uint8_t rack_reo_persist = 0;
  bool rack_dsack_seen = false;
  std::uint32_t rack_last_delivered = 0;
  std::uint32_t reord_seen = 0;  // deliveries below a later one seen (tp->reord_seen)
  SeqNum fack;                   // the highest sequence number SACKed or acknowledged + 1
  std::uint32_t delivered = 0;   // segments delivered, cumulatively or by SACK (tcpi_delivered)
  std::uint32_t lost_out = 0;    // records marked lost
  std::uint32_t sacked_out = 0;  // records SACKed
  std::uint32_t rack_lost_bytes = 0;  // bytes of records lost and not retransmitted since
  std::uint32_t dsack_dups = 0;       // DSACK blocks received (tcpi_dsack_dups)
  // One timer for the reordering window and the tail loss probe (Linux
  // ICSK_TIME_REO_TIMEOUT and ICSK_TIME_LOSS_PROBE share its retransmit timer).
  enum class RackTimer : std::uint8_t { kNone, kReorder, kLossProbe };
  Timer rack_timer;
  RackTimer rack_timer_kind = RackTimer::kNone;
  SeqNum tlp_high_seq;       // SND.NXT when the probe went (RFC 8985 TLP.end_seq)
  bool tlp_active = false;   // a probe is outstanding
  bool tlp_retrans = false;  // it was a retransmission (RFC 8985 TLP.is_retrans)
  // Undo (Linux undo_marker, undo_retrans, prior_cwnd, prior_ssthresh): a loss episode
  // whose every retransmission the receiver reports as a duplicate (DSACK), or whose ACK
  // echoes a timestamp from before the first retransmission (RFC 3522 Eifel), was no loss:
  // the window it cut comes back.
  bool undo_active = false;
  SeqNum undo_marker;
  int undo_retrans = 0;             // retransmissions of the episode not yet reported duplicate
  std::uint32_t prior_cwnd = 0;     // also PRR's RecoverFS (Linux shares the field)
  std::uint32_t prr_delivered = 0;  // RFC 6937 prr_delivered, prr_out: segments
  std::uint32_t prr_out = 0;
  std::uint32_t prior_ssthresh = 0;
  std::uint32_t undo_tsval = 0;  // our TSval at the episode's first retransmission (0: none)
  // The receiver's side of DSACK: a duplicate range to report first in the next ACK.
  bool dsack_pending = false;
  SeqNum dsack_left;
  SeqNum dsack_right;

  // --- TCP Fast Open (RFC 7413), tcp_fastopen.cpp ---
  TcpFastOpenSock tfo;

  // Limits a peer cannot push past (SO_RCVBUF/SO_SNDBUF, or Linux's autotuning maxima).
  std::size_t rcv_space_max() const noexcept;
  std::size_t snd_space_max() const noexcept;
  // Flight size: bytes sent and not yet acknowledged (RFC 5681).
  std::uint32_t flight() const noexcept { return static_cast<std::uint32_t>(snd_max - snd_una); }
  Tcp& tcp() const noexcept { return *tcp_; }

 private:
  Tcp* tcp_;  // not stack.tcp(): valid while the stack tears its Tcp down
  SeqNum fin_seq_;
};

}  // namespace usnet

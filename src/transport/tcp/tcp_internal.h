// The functions the TCP files call across each other. Not part of any public interface:
// the socket layer reaches TCP only through kTcpOps.
#pragma once

#include "transport/tcp/tcp.h"

namespace usnet {

inline TcpSock& tcp_sk(Socket& s) {
  return static_cast<TcpSock&>(s);
}

// --- the stack's settings as a connection sees them (tcp_state.cpp) ---
// Linux keepalive_time_when, keepalive_intvl_when, keepalive_probes: the socket's option,
// else the stack's sysctl.
Duration tcp_keepalive_time(const TcpSock& sk);
Duration tcp_keepalive_intvl(const TcpSock& sk);
int tcp_keepalive_probes(const TcpSock& sk);
// TCP_SYNCNT, else net.ipv4.tcp_syn_retries.
int tcp_syn_count(const TcpSock& sk);
// Linux tcp_fin_time: how long an orphan waits in FIN_WAIT_2 (tcp_fin_timeout, at least
// 3.5 RTOs).
Duration tcp_fin_time(const TcpSock& sk);

// Linux secure_tcp_ts_off: the random offset of our TSval, a keyed hash of the two
// addresses only (per host pair since Linux 4.13, "secure_seq: downgrade to per-host
// timestamp offsets"), for net.ipv4.tcp_timestamps=1.
inline std::uint32_t tcp_ts_offset(const Tcp& tcp, IpAddress laddr, IpAddress raddr) {
  return tcp.keyed_hash(FourTuple{laddr, 0, raddr, 0}, 1, 0);
}

// --- tcp_state.cpp ---
// The one place a connection changes state (STYLE habit 8); traced.
void tcp_set_state(TcpSock& sk, TcpState st);
// Moves to CLOSED: cancels timers, leaves the tables, frees the socket if it is not the
// user's (tcp_done).
void tcp_done(TcpSock& sk);
// Ends the connection with `err` reported to the user (ECONNRESET, ETIMEDOUT, ...).
void tcp_abort(TcpSock& sk, Error err);
// Linux tcp_select_initial_window: the window a SYN or SYN,ACK offers (counted in segments
// of `mss`) and the window scale, from the receive buffer, tcp_rmem[2], rmem_max and the
// sysctls tcp_window_scaling and tcp_workaround_signed_windows.
std::uint32_t tcp_initial_rcv_wnd(const TcpSock& sk, std::uint32_t mss);
std::uint8_t tcp_initial_wscale(const TcpSock& sk);
// Fills in the parts of a new connection that depend on the route: MSS, window scale.
Status tcp_init_connection(TcpSock& sk);
// A child socket for a connection request arriving on `listener`.
std::unique_ptr<TcpSock> tcp_create_child(TcpSock& listener, const TcpSegment& syn);
// Linux tcp_reqsk_record_syn: keeps the SYN's headers for TCP_SAVED_SYN if the socket
// (inheriting its listener's TCP_SAVE_SYN) asks. Not for a SYN answered with a cookie.
void tcp_save_syn(TcpSock& child, const TcpSegment& syn);
// Enters TIME_WAIT (or restarts its 2*MSL timer).
void tcp_time_wait(TcpSock& sk);
void tcp_finish_connect(TcpSock& sk, const TcpSegment& seg);
// Applies the options both ends agreed on in the SYN exchange; sets the MSS and cwnd.
void tcp_negotiate(TcpSock& sk, const wire::TcpOptions& o);
// Recomputes the send MSS from the path MTU, the peer's MSS and the options in use.
void tcp_sync_mss(TcpSock& sk);

// --- tcp_output.cpp ---
std::uint32_t tcp_now_ts(const TcpSock& sk);
// Sends what the windows allow: new data, FIN, and (in recovery) retransmissions.
void tcp_write_xmit(TcpSock& sk);
void tcp_send_syn(TcpSock& sk);
void tcp_send_synack(TcpSock& sk);
void tcp_send_ack(TcpSock& sk);
// An ACK now, or within 40 ms (RFC 1122 4.2.3.2; RFC 9293 3.8.6.3).
void tcp_schedule_ack(TcpSock& sk, bool now);
void tcp_send_challenge_ack(TcpSock& sk);
// Linux __tcp_oow_rate_limited: one answer to an invalid segment per
// net.ipv4.tcp_invalid_ratelimit per socket; true (and `skipped` counted) if this one must
// not be answered.
bool tcp_oow_rate_limited(TcpSock& sk, std::uint64_t& skipped);
// A RST for the connection (abort, close with unread data, zero linger).
void tcp_send_active_reset(TcpSock& sk);
// RFC 9293 3.10.7.1: the reset answering a segment that has no connection.
void tcp_send_reset(Stack& stack, const TcpSegment& seg);
// Retransmits the segment starting at `seq` (at most one MSS). Returns bytes sent.
std::uint32_t tcp_retransmit(TcpSock& sk, SeqNum seq, std::uint32_t max_len);
// One zero-window probe or keepalive.
void tcp_send_probe(TcpSock& sk, bool keepalive);
// The window to advertise now (bytes, before scaling); updates rcv_adv.
std::uint32_t tcp_select_window(TcpSock& sk);
// Sends a window update if reading opened the window enough (tcp_cleanup_rbuf).
void tcp_rcv_space_update(TcpSock& sk);
// PSH placement (Linux tcp_mark_push, forced_push, tcp_push): marks after a sendmsg call
// of `n` bytes from `start`; whether a segment [seq, seq + len) carries a mark.
void tcp_mark_push(TcpSock& sk, SeqNum at);
bool tcp_push_covered(TcpSock& sk, SeqNum seq, std::uint32_t len);
void tcp_push_after_write(TcpSock& sk, SeqNum start, std::uint32_t n, bool more);

// --- tcp_autotune.cpp (receive-buffer autotuning, Linux dynamic right-sizing) ---
// The window may offer at most this much now (tp->rcv_ssthresh).
std::uint32_t tcp_rcv_ssthresh(TcpSock& sk);
// A data segment of `len` bytes arrived in order (tcp_event_data_recv's share: the
// delayed-ACK engine, rcv_mss, tcp_grow_window, the receiver's RTT).
void tcp_event_data_recv(TcpSock& sk, const TcpSegment& seg, std::size_t len);
// The application read `n` bytes (tcp_rcv_space_adjust).
void tcp_rcv_space_adjust(TcpSock& sk, std::size_t n);
// Linux tcp_incr_quickack: up to `max` ACKs without delay.
void tcp_incr_quickack(TcpSock& sk, int max);
// The delayed-ACK timeout now (tcp_send_delayed_ack's ato bounded by max_ato).
Duration tcp_delack_timeout(const TcpSock& sk);

// --- tcp_input.cpp ---
void tcp_rcv_state_process(TcpSock& sk, const TcpSegment& seg);
void tcp_rcv_synsent(TcpSock& sk, const TcpSegment& seg);
void tcp_rtt_sample(TcpSock& sk, Duration rtt);

// --- tcp_recovery.cpp (RACK-TLP, RFC 8985; DSACK, RFC 2883; undo) ---
// RACK applies: SACK agreed and net.ipv4.tcp_recovery bit 1 (Linux tcp_is_rack).
bool tcp_is_rack(const TcpSock& sk);
// A fast recovery, or the loss episode after an RTO, is under way.
bool tcp_in_loss_episode(const TcpSock& sk);
// [seq, end) (a FIN counted) went out now, again if `retrans`: the send record follows.
void tcp_rtx_record(TcpSock& sk, SeqNum seq, SeqNum end, bool retrans);
// An ACK moved SND.UNA from `prior_una` (or not) and may have SACKed more: the records
// delivered update RACK. True if RACK advanced (a loss check is due).
bool tcp_rack_on_ack(TcpSock& sk, SeqNum prior_una, bool sack_blocks);
// RFC 8985 6.2 step 5: marks what the reordering window says is lost; arms the reordering
// timer for the rest. True if something was newly marked.
bool tcp_rack_detect_loss(TcpSock& sk);
// An RTO: every record not SACKed is lost (Linux tcp_timeout_mark_lost).
void tcp_rack_mark_all_lost(TcpSock& sk);
// The receiver reneged: no record is SACKed any more.
void tcp_rack_clear_sacked(TcpSock& sk);
// RFC 6675 pipe from the records: in flight, neither SACKed nor lost (unless resent).
std::uint32_t tcp_rack_pipe(const TcpSock& sk);
// The first record lost and not retransmitted since.
bool tcp_rack_next_lost(const TcpSock& sk, SeqNum& seq, std::uint32_t& len);
// RFC 2883 4: whether the ACK's first SACK block reports a duplicate; counts it for undo.
bool tcp_check_dsack(TcpSock& sk, const TcpSegment& seg, SeqNum prior_una);
// Undo: the start of an episode; a DSACK-proven spurious one; the end of an episode (or an
// ACK in the loss episode) with RFC 3522's timestamp proof. True if undone.
void tcp_undo_start(TcpSock& sk);
bool tcp_try_undo_dsack(TcpSock& sk);
bool tcp_try_undo_recovery(TcpSock& sk, const TcpSegment& seg, bool loss);
// A partial ACK in fast recovery whose echoed timestamp predates the first retransmission:
// the hole was filled by a late original, so the path reorders (RFC 8985's reordering
// seen). Undoes if no retransmission is in flight; true if one is (then no more segments
// may be marked lost on this ACK).
bool tcp_try_undo_partial(TcpSock& sk, const TcpSegment& seg);
// RFC 8985 7: arms the probe timeout; false if no probe is due (then the RTO stands).
bool tcp_schedule_loss_probe(TcpSock& sk, bool advancing_rto);
void tcp_process_tlp_ack(TcpSock& sk, const TcpSegment& seg, bool dsack, bool una_advanced,
                         bool new_sack);
void tcp_rack_timer(TcpSock& sk);
// Stops the reordering / probe timer if it runs for `kind` (kNone: whatever it runs for).
void tcp_rack_timer_cancel(TcpSock& sk, TcpSock::RackTimer kind = TcpSock::RackTimer::kNone);
// The receiver saw [left, right) twice: its next ACK reports it first (RFC 2883).
void tcp_dsack_set(TcpSock& sk, SeqNum left, SeqNum right);
// tcp_input.cpp: fast recovery entered because RACK marked a loss.
void tcp_enter_recovery_rack(TcpSock& sk);
// RFC 6937 proportional rate reduction for one ACK (or reordering timeout) in recovery:
// the segments it reported delivered, whether it found a loss, whether SND.UNA moved.
void tcp_prr_reduce(TcpSock& sk, std::uint32_t newly_delivered, bool newly_lost, bool una_advanced);
// tcp_output.cpp: one segment of new data for a loss probe, past cwnd and Nagle but within
// the peer's window. False if none could go.
bool tcp_xmit_probe_new_data(TcpSock& sk);

// --- tcp_listen.cpp ---
void tcp_listen_rcv(TcpSock& listener, const TcpSegment& seg);
// A child finished its handshake: move it to the listener's accept queue.
void tcp_child_established(TcpSock& child);

// --- tcp_defer_accept.cpp (TCP_DEFER_ACCEPT) ---
// In SYN-RECEIVED, an acceptable ACK that carries nothing: true if the listener's
// TCP_DEFER_ACCEPT drops it (Linux tcp_check_req); the child stays in the SYN queue.
bool tcp_defer_accept_drop(TcpSock& child, const TcpSegment& seg);
// What a SYN,ACK timeout does (Linux syn_ack_recalc): end the attempt, or resend or not.
struct SynAckTimeout {
  bool expire;
  bool resend;
};
SynAckTimeout tcp_synack_timeout(const TcpSock& child, int max_retries);

// --- tcp_tx_report.cpp (MSG_ZEROCOPY completions, SO_TIMESTAMPING transmit stamps) ---
// ops->sendmsg_done: notes the call's last byte if anything is to be reported about it.
void tcp_sendmsg_done(Socket& sock, std::optional<std::uint32_t> zc_id);
// New data [seq, seq + len) was sent for the first time.
void tcp_tx_report_sent(TcpSock& sk, SeqNum seq, std::uint32_t len);
// SND.UNA advanced.
void tcp_tx_report_acked(TcpSock& sk);
// The connection ended: the completions still owed are given.
void tcp_tx_report_flush(TcpSock& sk);

// --- tcp_timer.cpp ---
void tcp_init_timers(TcpSock& sk);
void tcp_cancel_timers(TcpSock& sk);
// (Re)starts the retransmission timer for the current RTO and backoff.
void tcp_arm_rto(TcpSock& sk);
void tcp_arm_persist(TcpSock& sk);
void tcp_arm_keepalive(TcpSock& sk);
Duration tcp_current_rto(const TcpSock& sk);

}  // namespace usnet

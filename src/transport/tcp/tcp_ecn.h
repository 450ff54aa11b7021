// Explicit Congestion Notification for TCP (RFC 3168 6.1), as Linux does it
// (net/ipv4/tcp_input.c tcp_ecn_*, tcp_output.c tcp_ecn_send*): negotiated in the SYN
// exchange under net.ipv4.tcp_ecn, ECT(0) on new data, ECE echoed from a CE mark until the
// sender's CWR, and one congestion-window reduction per window of data for an ECE.
#pragma once

#include <cstdint>

#include "transport/tcp/tcp_sock.h"

namespace usnet {

struct TcpSegment;

// Linux's tp->ecn_flags bits.
inline constexpr std::uint8_t kTcpEcnOk = 1;         // both ends agreed on ECN
inline constexpr std::uint8_t kTcpEcnQueueCwr = 2;   // CWR goes on the next new data segment
inline constexpr std::uint8_t kTcpEcnDemandCwr = 4;  // ECE on every segment until CWR arrives
inline constexpr std::uint8_t kTcpEcnSeen = 8;       // an ECT or CE segment has arrived

// The two ECN bits of the IPv4 TOS field (RFC 3168 5).
inline constexpr std::uint8_t kIpEcnMask = 0x03;
inline constexpr std::uint8_t kIpEcnNotEct = 0x00;
inline constexpr std::uint8_t kIpEcnEct1 = 0x01;
inline constexpr std::uint8_t kIpEcnEct0 = 0x02;
inline constexpr std::uint8_t kIpEcnCe = 0x03;

// An active open: whether this SYN asks for ECN (ECE|CWR, tcp_ecn_send_syn). Only the
// first SYN does; retransmissions leave the flags off (tcp_ecn_clear_syn, the default
// tcp_ecn_fallback), in case a middlebox drops ECN-setup SYNs.
std::uint8_t tcp_ecn_syn_flags(TcpSock& sk);
// The ECE of a SYN,ACK (tcp_ecn_make_synack, tcp_ecn_send_synack).
std::uint8_t tcp_ecn_synack_flags(const TcpSock& sk);
// A passive open: the peer's SYN asked for ECN and net.ipv4.tcp_ecn accepts it
// (tcp_ecn_create_request). A SYN that itself arrives ECT-marked is refused ECN (RFC 3168
// 6.1.1 forbids ECT on a SYN: something on the path rewrites the field).
bool tcp_ecn_syn_acceptable(const TcpSock& listener, const TcpSegment& syn);
// The SYN,ACK of an active open (tcp_ecn_rcv_synack) or a crossing SYN (tcp_ecn_rcv_syn).
void tcp_ecn_rcv_synack(TcpSock& sk, const TcpSegment& seg);
void tcp_ecn_rcv_syn(TcpSock& sk, const TcpSegment& seg);
// The ECN part of a non-SYN segment about to go out (tcp_ecn_send): adds CWR and ECE to
// `flags` and returns the IP ECN codepoint: ECT(0) on new data, Not-ECT on pure ACKs,
// probes and retransmissions.
std::uint8_t tcp_ecn_send(TcpSock& sk, SeqNum seq, std::uint32_t len, std::uint8_t& flags);
// A segment carrying data arrived: CWR ends the echo (tcp_ecn_accept_cwr) and its IP ECN
// field is checked for CE (tcp_ecn_check_ce). True if an ACK must go at once.
bool tcp_ecn_accept_cwr(TcpSock& sk, const TcpSegment& seg);
void tcp_ecn_check_ce(TcpSock& sk, const TcpSegment& seg);
// The ACK processing of an ECE (tcp_ecn_rcv_ecn_echo, tcp_enter_cwr) and the end of the
// reduction once SND.UNA passes what was outstanding (tcp_end_cwnd_reduction). Called from
// tcp_ack with the SND.UNA already advanced.
void tcp_ecn_ack(TcpSock& sk, const TcpSegment& seg);
// Linux tcp_enter_quickack_mode / tcp_incr_quickack: up to `max` ACKs go without delay.
void tcp_enter_quickack_mode(TcpSock& sk, int max);

}  // namespace usnet

// ECN for TCP (RFC 3168 6.1) in Linux's shape; see tcp_ecn.h.
#include "transport/tcp/tcp_ecn.h"

#include <algorithm>

#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {

using wire::kTcpCwr;
using wire::kTcpEce;

std::uint8_t tcp_ecn_syn_flags(TcpSock& sk) {
  // net.ipv4.tcp_ecn: 1 asks on outgoing connections; 2 (the default) only answers.
  if (sk.syn_retries == 0) {
    sk.ecn_flags = sk.stack.sysctl().tcp_ecn == 1 ? kTcpEcnOk : 0;
    return (sk.ecn_flags & kTcpEcnOk) != 0 ? kTcpEce | kTcpCwr : 0;
  }
  return 0;
}

std::uint8_t tcp_ecn_synack_flags(const TcpSock& sk) {
  return (sk.ecn_flags & kTcpEcnOk) != 0 ? kTcpEce : 0;
}

bool tcp_ecn_syn_acceptable(const TcpSock& listener, const TcpSegment& syn) {
  if (!syn.h.has(kTcpEce) || !syn.h.has(kTcpCwr)) return false;
  if (listener.stack.sysctl().tcp_ecn == 0) return false;
  // An ECT-marked SYN is not ECN-capable... unless the reserved bits say the peer speaks
  // a later ECN (Linux: th->res1, AccECN); usnet parses no reserved bits, so: refuse.
  return (syn.tos & kIpEcnMask) == kIpEcnNotEct;
}

void tcp_ecn_rcv_synack(TcpSock& sk, const TcpSegment& seg) {
  // RFC 3168 6.1.1: an ECN-setup SYN,ACK has ECE and not CWR.
  if ((sk.ecn_flags & kTcpEcnOk) != 0 && (!seg.h.has(kTcpEce) || seg.h.has(kTcpCwr)))
    sk.ecn_flags &= static_cast<std::uint8_t>(~kTcpEcnOk);
}

void tcp_ecn_rcv_syn(TcpSock& sk, const TcpSegment& seg) {
  if ((sk.ecn_flags & kTcpEcnOk) != 0 && (!seg.h.has(kTcpEce) || !seg.h.has(kTcpCwr)))
    sk.ecn_flags &= static_cast<std::uint8_t>(~kTcpEcnOk);
}

std::uint8_t tcp_ecn_send(TcpSock& sk, SeqNum seq, std::uint32_t len, std::uint8_t& flags) {
  if ((sk.ecn_flags & kTcpEcnOk) == 0) return kIpEcnNotEct;
  std::uint8_t codepoint = kIpEcnNotEct;
  // RFC 3168 6.1.5: retransmissions, pure ACKs and window probes go Not-ECT (a router
  // could otherwise mark a packet whose loss the sender would not see as congestion).
  if (len > 0 && seq >= sk.snd_max) {
    codepoint = kIpEcnEct0;
    if ((sk.ecn_flags & kTcpEcnQueueCwr) != 0) {
      sk.ecn_flags &= static_cast<std::uint8_t>(~kTcpEcnQueueCwr);
      flags |= kTcpCwr;
    }
  }
  if ((sk.ecn_flags & kTcpEcnDemandCwr) != 0) flags |= kTcpEce;
  return codepoint;
}

bool tcp_ecn_accept_cwr(TcpSock& sk, const TcpSegment& seg) {
  if (!seg.h.has(kTcpCwr) || (sk.ecn_flags & kTcpEcnOk) == 0) return false;
  sk.ecn_flags &= static_cast<std::uint8_t>(~kTcpEcnDemandCwr);
  // The sender has just cut its window, perhaps to one segment: ACK at once (Linux
  // ICSK_ACK_NOW).
  return true;
}

void tcp_enter_quickack_mode(TcpSock& sk, int max) {
  tcp_incr_quickack(sk, max);
  sk.pingpong = 0;
  sk.ato = kTcpAtoMin;
}

void tcp_ecn_check_ce(TcpSock& sk, const TcpSegment& seg) {
  if ((sk.ecn_flags & kTcpEcnOk) == 0) return;
  switch (seg.tos & kIpEcnMask) {
    case kIpEcnNotEct:
      // Not-ECT after ECT was seen: most likely a retransmission; ACK it quickly.
      if ((sk.ecn_flags & kTcpEcnSeen) != 0) tcp_enter_quickack_mode(sk, 2);
      break;
    case kIpEcnCe:
      if ((sk.ecn_flags & kTcpEcnDemandCwr) == 0) {
        // The sender may have a very small window: no delayed ACKs for a while.
        tcp_enter_quickack_mode(sk, 2);
        sk.ecn_flags |= kTcpEcnDemandCwr;
      }
      sk.ecn_flags |= kTcpEcnSeen;
      break;
    default:
      sk.ecn_flags |= kTcpEcnSeen;
      break;
  }
}

void tcp_ecn_ack(TcpSock& sk, const TcpSegment& seg) {
  if ((sk.ecn_flags & kTcpEcnOk) == 0 || seg.ack < sk.snd_una) return;
  // Linux tcp_fastretrans_alert: the CWR state ends once something above high_seq is
  // acknowledged, so that the segment that carried CWR is known to have arrived.
  if (sk.in_cwr && seg.ack > sk.cwr_high) sk.in_cwr = false;
  // RFC 3168 6.1.2: at most one reduction per window of data; none inside a loss recovery
  // (Linux tcp_enter_cwr acts only in the Open and Disorder states).
  if (!seg.h.has(kTcpEce) || seg.h.has(wire::kTcpSyn)) return;
  if (sk.in_cwr || sk.in_recovery || seg.ack < sk.recover) return;
  sk.stack.mib().UsnetTcpEcnReductions++;
  sk.in_cwr = true;
  sk.cwr_high = sk.snd_max;
  // Linux reaches ssthresh gradually by proportional rate reduction (tcp_cwnd_reduction);
  // usnet takes cwnd there at once, as RFC 3168 6.1.2 describes.
  sk.ssthresh = sk.cc->ssthresh(sk, sk.stack.now());
  sk.cwnd = std::max<std::uint32_t>(sk.ssthresh, 2U * sk.mss);
  sk.ecn_flags |= kTcpEcnQueueCwr;
}

}  // namespace usnet

// Scripted tests of loss detection by time and its undo, as Linux's defaults
// (net.ipv4.tcp_recovery=1, tcp_early_retrans=3, tcp_dsack=1): RACK (RFC 8985 6) marks a
// segment lost once one sent after it is delivered and a reordering window has passed; the
// tail loss probe (RFC 8985 7) gets an ACK out of a silent tail two round trips after the
// last send; DSACK (RFC 2883) reports duplicates, and a loss episode whose retransmissions
// all come back as duplicates, or whose ACKs echo an original's timestamp (RFC 3522), is
// undone.
#include <cstring>
#include <string>

#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpSyn;

constexpr std::uint32_t kMss = 1460;

class Rack : public TcpScript {
 protected:
  // A passive open with SACK (and timestamps if asked) whose handshake takes `rtt`:
  // SRTT = min_RTT = rtt, RTO = rtt + 200 ms.
  Passive open_with_rtt(Duration rtt, bool ts = false) {
    Passive p;
    p.listener = listener();
    wire::TcpOptions o = syn_options(ts, 500);
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = o});
    p.iss = isn_for();
    auto synack = expect(kTcpSyn | kTcpAck, p.iss, kPeerIsn + 1);
    advance(rtt);
    wire::TcpOptions ack_opts;
    if (ts) {
      ack_opts.ts_val = 501;
      ack_opts.ts_ecr = synack.options.ts_val.value_or(0);
    }
    inject({.flags = kTcpAck,
            .seq = kPeerIsn + 1,
            .ack = p.iss + 1,
            .window = 512,
            .options = ack_opts});
    auto a = sock_accept(*p.listener, 0);
    EXPECT_TRUE(a);
    if (a) {
      p.sock = *a;
      tsk(p.sock).nodelay = true;
      EXPECT_TRUE(tsk(p.sock).sack_ok);
    }
    return p;
  }
  // Sends n full segments and expects them on the wire (PSH on the last).
  void send_segments(const Passive& p, std::uint32_t first, int n) {
    EXPECT_EQ(send(p.sock, std::string(static_cast<std::size_t>(n) * kMss, 'r')),
              static_cast<std::size_t>(n) * kMss);
    for (int i = 0; i < n; ++i) {
      expect(i + 1 == n ? kTcpAck | kTcpPsh : kTcpAck, first + static_cast<std::uint32_t>(i) * kMss,
             kPeerIsn + 1);
    }
  }
  // Five segments, of which the first is lost: a round trip later the peer SACKs the next
  // three, the duplicate threshold, and the first goes again at once.
  void fast_retransmit(const Passive& p) {
    send_segments(p, p.iss + 1, 5);
    advance(100ms);
    ack(p.iss + 1, {{p.iss + 1 + kMss, p.iss + 1 + 4 * kMss}});
    expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  }
  // An ACK from the peer with SACK blocks (and the given TSecr if non-zero).
  void ack(std::uint32_t a, std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks = {},
           std::uint32_t ts_ecr = 0) {
    wire::TcpOptions o;
    o.sack_count = blocks.size();
    for (std::size_t i = 0; i < blocks.size(); ++i)
      o.sack[i] = {blocks[i].first, blocks[i].second};
    if (ts_ecr != 0) {
      o.ts_val = ++peer_ts;
      o.ts_ecr = ts_ecr;
    }
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = a, .window = 512, .options = o});
  }
  // A field of Linux's struct tcp_info past glibc's (include/uapi/linux/tcp.h offsets).
  static constexpr std::size_t kTcpiDelivered = 192;
  static constexpr std::size_t kTcpiDsackDups = 216;
  std::uint32_t info_u32(Socket* s, std::size_t offset) {
    auto v = sock_getsockopt(*s, IPPROTO_TCP, TCP_INFO);
    EXPECT_TRUE(v);
    std::uint32_t x = 0;
    if (v && v->len >= offset + sizeof(x)) std::memcpy(&x, v->bytes.data() + offset, sizeof(x));
    return x;
  }
  std::uint32_t peer_ts = 600;
};

// RFC 8985 6.2 step 4-5: with no reordering seen and fewer SACKed segments than the
// duplicate threshold, a hole is lost only after min_RTT/4 beyond RACK.rtt: 25 ms here,
// plus Linux's 2 ms timer slack (TCP_TIMEOUT_MIN). Duplicate-ACK counting would wait for
// two more SACKs, or the RTO.
TEST_F(Rack, HoleIsLostAfterTheReorderingWindow) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  send_segments(p, p.iss + 1, 4);
  advance(100ms);
  ack(p.iss + 1, {{p.iss + 1 + kMss, p.iss + 1 + 2 * kMss}});
  expect_nothing();
  advance(26ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPSackRecovery, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastRetrans, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 0U);
  EXPECT_EQ(info(p.sock).tcpi_lost, 1U);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Recovery);
}

// RFC 8985 6.2 / Linux tcp_rack_reo_wnd: once the duplicate threshold's three segments are
// SACKed (and no reordering was seen) the window is zero: the hole is resent at once.
TEST_F(Rack, ThreeSackedSegmentsMarkTheHoleLostAtOnce) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  fast_retransmit(p);
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPSackRecovery, 1U);
  // The whole acknowledgment ends the recovery.
  advance(100ms);
  ack(p.iss + 1 + 5 * kMss);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Open);
  EXPECT_EQ(info_u32(p.sock, kTcpiDelivered), 5U);
}

// RFC 6937 (Linux tcp_cwnd_reduction): in recovery the flight comes down to ssthresh at
// ssthresh/RecoverFS of the delivery rate, rather than stopping until the pipe has drained
// below ssthresh. cwnd 20: ssthresh 14 (CUBIC's 0.7); three SACKed segments start the
// recovery with 16 in the pipe, and PRR lets ceil(14 * 3 / 20) = 3 go: the retransmission
// and two new segments. The next ACK (4 delivered: ceil(56 / 20) = 3 sent already) lets
// none go, the one after (5: 4) one.
TEST_F(Rack, FastRecoveryReducesTheWindowProportionally) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).cwnd = 20 * kMss;
  EXPECT_EQ(send(p.sock, std::string(30 * kMss, 'r')), 30U * kMss);
  for (std::uint32_t i = 0; i < 20; ++i) {
    auto h = next_sent();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->seq, p.iss + 1 + i * kMss);
  }
  expect_nothing();
  advance(100ms);
  const auto sacked_to = [&](std::uint32_t n) {
    ack(p.iss + 1, {{p.iss + 1 + kMss, p.iss + 1 + (n + 1) * kMss}});
  };
  const auto next_seq = [&]() {
    auto h = next_sent();
    EXPECT_TRUE(h);
    return h ? h->seq : 0;
  };
  sacked_to(3);
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, 14U);
  EXPECT_EQ(next_seq(), p.iss + 1);  // the fast retransmission
  EXPECT_EQ(next_seq(), p.iss + 1 + 20 * kMss);
  EXPECT_EQ(next_seq(), p.iss + 1 + 21 * kMss);
  expect_nothing();
  sacked_to(4);
  expect_nothing();
  sacked_to(5);
  EXPECT_EQ(next_seq(), p.iss + 1 + 22 * kMss);
  expect_nothing();
  // The whole acknowledgment ends the recovery at ssthresh (Linux tcp_end_cwnd_reduction).
  ack(p.iss + 1 + 23 * kMss);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Open);
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, 14U);
}

// RFC 8985 6.2: a retransmission that is lost too is found when a segment sent after it
// is delivered (duplicate ACKs never see it: only the RTO would). Linux counts it as
// TcpExtTCPLostRetransmit.
TEST_F(Rack, LostRetransmissionIsResentWithoutATimeout) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  fast_retransmit(p);  // the fast retransmission
  // New data goes after it, within the reduced window.
  EXPECT_EQ(send(p.sock, std::string(kMss, 'n')), kMss);
  expect(kTcpAck | kTcpPsh, p.iss + 1 + 5 * kMss, kPeerIsn + 1);
  // A round trip later the new segment is SACKed but the retransmission is not: it was lost.
  advance(100ms);
  ack(p.iss + 1,
      {{p.iss + 1 + 5 * kMss, p.iss + 1 + 6 * kMss}, {p.iss + 1 + kMss, p.iss + 1 + 5 * kMss}});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPLostRetransmit, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 0U);
  EXPECT_EQ(stack->mib().TcpExtTCPSackRecovery, 1U);  // still the same episode
}

// RFC 8985 7.2 / Linux tcp_schedule_loss_probe: with more than one segment in flight the
// probe timeout is 2 SRTT + 2 ms; nothing new to send, so the last segment goes again
// (RFC 8985 7.3). The RTO then counts from the probe.
TEST_F(Rack, TailLossProbeResendsTheLastSegmentAfterTwoRoundTrips) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  send_segments(p, p.iss + 1, 2);
  advance(201ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck | kTcpPsh, p.iss + 1 + kMss, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbes, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 0U);
  // RTO = 300 ms after the probe: the first segment, as a timeout resends it.
  advance(299ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbes, 1U);  // one probe per tail
}

// RFC 8985 7.3: new data goes as the probe when the peer's window allows it, past cwnd;
// acknowledged, the probe leaves the window as it was.
TEST_F(Rack, TailLossProbeSendsNewDataPastTheCongestionWindow) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  const std::uint32_t cwnd = info(p.sock).tcpi_snd_cwnd;
  ASSERT_EQ(cwnd, 10U);
  EXPECT_EQ(send(p.sock, std::string((cwnd + 1) * kMss, 'r')), (cwnd + 1) * kMss);
  for (std::uint32_t i = 0; i < cwnd; ++i) {
    auto h = next_sent();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->seq, p.iss + 1 + i * kMss);
  }
  expect_nothing();  // cwnd-limited
  advance(201ms);
  expect_nothing();
  advance(1ms);
  auto probe = next_sent();
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->seq, p.iss + 1 + cwnd * kMss);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbes, 1U);
  ack(p.iss + 1 + (cwnd + 1) * kMss);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbeRecovery, 0U);
  EXPECT_GE(info(p.sock).tcpi_snd_cwnd, cwnd);
}

// Linux tcp_process_tlp_ack: a retransmitted probe that was the only copy to arrive (the
// next ACK goes past it) repaired a loss: the window is reduced as for one
// (TcpExtTCPLossProbeRecovery). One segment in flight: the timeout is 2 SRTT + 200 ms
// (the receiver may delay its ACK), here past the RTO, so at the RTO's time.
TEST_F(Rack, ProbeThatRepairedALossReducesTheWindow) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  send_segments(p, p.iss + 1, 2);
  advance(100ms);
  ack(p.iss + 1 + kMss);  // the second segment is lost
  advance(299ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck | kTcpPsh, p.iss + 1 + kMss, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbes, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 0U);
  advance(100ms);
  ack(p.iss + 1 + 2 * kMss);  // the probe arrived, no DSACK: the original did not
  EXPECT_EQ(send(p.sock, "z"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 1 + 2 * kMss, kPeerIsn + 1);
  ack(p.iss + 2 + 2 * kMss);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbeRecovery, 1U);
  EXPECT_LT(info(p.sock).tcpi_snd_ssthresh, 0x7fffffffU);
}

// RFC 2883 / Linux tcp_try_undo_dsack: the fast retransmission was spurious (the
// original was only late) and the receiver reports the retransmission as a duplicate: the
// window comes back as it was (TcpExtTCPDSACKUndo).
TEST_F(Rack, DsackOfTheRetransmissionUndoesTheReduction) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  const tcp_info before = info(p.sock);
  fast_retransmit(p);
  EXPECT_LT(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
  // The late original and the fifth segment arrive; then the retransmission, a duplicate.
  ack(p.iss + 1 + 5 * kMss);
  ack(p.iss + 1 + 5 * kMss, {{p.iss + 1, p.iss + 1 + kMss}});
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKRecv, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKUndo, 1U);
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, before.tcpi_snd_ssthresh);
  EXPECT_EQ(info_u32(p.sock, kTcpiDsackDups), 1U);
}

// A DSACK that covers no retransmission of the episode proves nothing: no undo.
TEST_F(Rack, DsackOfAnotherSegmentDoesNotUndo) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  const tcp_info before = info(p.sock);
  fast_retransmit(p);
  ack(p.iss + 1 + 5 * kMss, {{p.iss + 1 + kMss, p.iss + 1 + 2 * kMss}});
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKRecv, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKUndo, 0U);
  EXPECT_LT(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
}

// RFC 3522 (Eifel) / Linux tcp_try_undo_recovery: the full ACK echoes the timestamp of an
// original transmission, from before the retransmission: the recovery was spurious.
TEST_F(Rack, TimestampOfTheOriginalUndoesTheRecovery) {
  Passive p = open_with_rtt(100ms, true);
  ASSERT_NE(p.sock, nullptr);
  const tcp_info before = info(p.sock);
  const std::uint32_t seg = before.tcpi_snd_mss;  // 1448: the timestamps take 12 bytes
  ASSERT_EQ(seg, kMss - 12);
  EXPECT_EQ(send(p.sock, std::string(5 * seg, 'r')), 5U * seg);
  std::uint32_t orig_ts = 0;
  for (std::uint32_t i = 0; i < 5; ++i) {
    auto h = next_sent();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->seq, p.iss + 1 + i * seg);
    orig_ts = h->options.ts_val.value_or(0);
  }
  ASSERT_NE(orig_ts, 0U);
  advance(100ms);
  ack(p.iss + 1, {{p.iss + 1 + seg, p.iss + 1 + 4 * seg}}, orig_ts);
  auto rtx = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_NE(rtx.options.ts_val.value_or(orig_ts), orig_ts);
  EXPECT_LT(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
  ack(p.iss + 1 + 5 * seg, {}, orig_ts);
  EXPECT_EQ(stack->mib().TcpExtTCPFullUndo, 1U);
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Open);
}

// Linux tcp_try_undo_partial: a partial ACK in recovery that echoes the timestamp of an
// original sent before the retransmission was a late original, not a repair: the path
// reorders (TcpExtTCPTSReorder; RACK's reordering window applies from now on) and, with no
// retransmission left in flight, the reduction is undone (TcpExtTCPPartialUndo).
TEST_F(Rack, PartialAckOfALateOriginalShowsReorderingAndUndoes) {
  Passive p = open_with_rtt(100ms, true);
  ASSERT_NE(p.sock, nullptr);
  const tcp_info before = info(p.sock);
  const std::uint32_t seg = before.tcpi_snd_mss;
  EXPECT_EQ(send(p.sock, std::string(6 * seg, 'r')), 6U * seg);
  std::uint32_t orig_ts = 0;
  for (std::uint32_t i = 0; i < 6; ++i) {
    auto h = next_sent();
    ASSERT_TRUE(h);
    orig_ts = h->options.ts_val.value_or(0);
  }
  advance(100ms);
  ack(p.iss + 1, {{p.iss + 1 + seg, p.iss + 1 + 4 * seg}}, orig_ts);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tsk(p.sock).reord_seen, 0U);
  ack(p.iss + 1 + 4 * seg, {}, orig_ts);  // below the recovery point (6 segments)
  EXPECT_EQ(stack->mib().TcpExtTCPTSReorder, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPPartialUndo, 1U);
  EXPECT_EQ(tsk(p.sock).reord_seen, 1U);
  EXPECT_EQ(info(p.sock).tcpi_ca_state, TCP_CA_Open);
  // The window is back (and the ACK's growth in slow start comes on top).
  EXPECT_GE(info(p.sock).tcpi_snd_cwnd, before.tcpi_snd_cwnd);
}

// RFC 2018 8 / Linux tcp_check_sack_reneging: the cumulative ACK stops at data the
// receiver had SACKed, so it dropped it: a timeout comes soon (max(SRTT/16, 10 ms)) and
// forgets the SACKs, and everything from SND.UNA goes again.
TEST_F(Rack, RenegingReceiverIsServedAfterAShortTimeout) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  send_segments(p, p.iss + 1, 3);
  advance(100ms);
  ack(p.iss + 1, {{p.iss + 1 + kMss, p.iss + 1 + 3 * kMss}});
  // Two SACKed (below the duplicate threshold): the hole is resent after the window.
  auto h = run_until_sent(100ms);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->seq, p.iss + 1);
  // The peer, short of memory, dropped what it had SACKed.
  ack(p.iss + 1 + kMss);
  expect_nothing();
  advance(9ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck, p.iss + 1 + kMss, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPSACKReneging, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 1U);
  ack(p.iss + 1 + 2 * kMss);
  expect(kTcpAck | kTcpPsh, p.iss + 1 + 2 * kMss, kPeerIsn + 1);
}

// With tcp_recovery=0 the count of duplicate ACKs decides (RFC 6675): two SACKed segments
// are not enough, and nothing goes before the timeout (no probe either with
// tcp_early_retrans=0).
TEST_F(Rack, RecoveryZeroFallsBackToDuplicateAcks) {
  stack->sysctl().tcp_recovery = 0;
  stack->sysctl().tcp_early_retrans = 0;
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  send_segments(p, p.iss + 1, 4);
  advance(100ms);
  ack(p.iss + 1, {{p.iss + 1 + kMss, p.iss + 1 + 2 * kMss}});
  advance(199ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPSackRecovery, 0U);
}

// --- the receiver's side: DSACK (RFC 2883) ---

class Dsack : public TcpScript {};

// RFC 2883 4.1.1: a segment received twice is reported in the first SACK block of the ACK
// that answers it, at once (Linux tcp_send_dupack: TcpExtTCPDSACKOldSent, DelayedACKLost).
TEST_F(Dsack, DuplicateSegmentIsReportedAtOnce) {
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  const Seg data{.seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes(std::string(100, 'd'))};
  inject(data);
  (void)run_until_sent(1s);  // the (delayed or quick) ACK of the first copy
  inject(data);
  auto h = expect(kTcpAck, p.iss + 1, kPeerIsn + 101);
  ASSERT_EQ(h.options.sack_count, 1U);
  EXPECT_EQ(h.options.sack[0].left, kPeerIsn + 1);
  EXPECT_EQ(h.options.sack[0].right, kPeerIsn + 101);
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKOldSent, 1U);
  EXPECT_EQ(stack->mib().TcpExtDelayedACKLost, 1U);
  // Reported once: the next ACK carries no block.
  inject({.seq = kPeerIsn + 101, .ack = p.iss + 1, .data = bytes("x")});
  h = *run_until_sent(1s);
  EXPECT_EQ(h.options.sack_count, 0U);
}

// RFC 2883 4.1.2: an out-of-order segment received twice: the duplicate block first, then
// the block holding it.
TEST_F(Dsack, DuplicateOutOfOrderSegmentIsReportedBeforeItsBlock) {
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  const Seg ofo{.seq = kPeerIsn + 101, .ack = p.iss + 1, .data = bytes(std::string(100, 'o'))};
  inject(ofo);
  auto h = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(h.options.sack_count, 1U);
  inject(ofo);
  h = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(h.options.sack_count, 2U);
  EXPECT_EQ(h.options.sack[0].left, kPeerIsn + 101);
  EXPECT_EQ(h.options.sack[0].right, kPeerIsn + 201);
  EXPECT_EQ(h.options.sack[1].left, kPeerIsn + 101);
  EXPECT_EQ(h.options.sack[1].right, kPeerIsn + 201);
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKOfoSent, 1U);
}

// net.ipv4.tcp_dsack=0: duplicates are acknowledged without a report.
TEST_F(Dsack, SysctlOffSendsNoReport) {
  stack->sysctl().tcp_dsack = 0;
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  const Seg data{.seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes(std::string(100, 'd'))};
  inject(data);
  (void)run_until_sent(1s);
  inject(data);
  auto h = expect(kTcpAck, p.iss + 1, kPeerIsn + 101);
  EXPECT_EQ(h.options.sack_count, 0U);
  EXPECT_EQ(stack->mib().TcpExtTCPDSACKOldSent, 0U);
}

}  // namespace
}  // namespace usnet::script

// Scripted tests of the retransmission timer (RFC 6298) and what a timeout does to the
// congestion state (RFC 5681 3.1), and how long connections retry before they give up
// (Linux tcp_write_timeout: tcp_retries2, tcp_orphan_retries).
#include <netinet/tcp.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpPsh;
using wire::kTcpRst;
using wire::kTcpSyn;

class Rto : public TcpScript {
 protected:
  // Expects the segment at `seq` to be retransmitted exactly `after` from now, not sooner.
  void expect_retransmission_after(Duration after, std::uint8_t flags, std::uint32_t seq,
                                   std::uint32_t ack) {
    advance(after - 1ms);
    expect_nothing();
    advance(1ms);
    expect(flags, seq, ack);
  }
};

// Karn's algorithm (RFC 6298 5.5 and 5.7 note): the backed-off RTO is kept until an ACK
// gives a valid RTT sample, that is one for a segment that was not retransmitted. Linux
// resets icsk_backoff only in tcp_ack_update_rtt.
TEST_F(Rto, BackoffIsKeptUntilAValidRttSample) {
  Passive p = open_passive();  // no timestamps: Karn's rule decides
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  ASSERT_EQ(tcp_current_rto(tsk(p.sock)), 200ms);
  EXPECT_EQ(send(p.sock, "a"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  expect_retransmission_after(200ms, kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  advance(50ms);
  // The ACK of a retransmitted segment says nothing about the RTT: the backoff stays.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2});
  EXPECT_EQ(tcp_current_rto(tsk(p.sock)), 400ms);
  EXPECT_EQ(send(p.sock, "b"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 2, kPeerIsn + 1);
  expect_retransmission_after(400ms, kTcpAck | kTcpPsh, p.iss + 2, kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 3});
  EXPECT_EQ(tcp_current_rto(tsk(p.sock)), 800ms);
  // New data, acknowledged without a retransmission: a valid sample ends the backoff.
  EXPECT_EQ(send(p.sock, "c"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 3, kPeerIsn + 1);
  advance(10ms);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 4});
  // Linux tcp_rtt_estimator: SRTT 1 us + (10 ms - 1 us) / 8 = 1.25 ms, RTTVAR still 200 ms.
  EXPECT_EQ(tcp_current_rto(tsk(p.sock)), 201ms);
  EXPECT_EQ(send(p.sock, "d"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 4, kPeerIsn + 1);
  expect_retransmission_after(201ms, kTcpAck | kTcpPsh, p.iss + 4, kPeerIsn + 1);
}

// RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
// implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
// seconds when data transmission begins". Linux tcp_init_metrics: no RTT sample from the
// handshake, RTO 3 s (TCP_TIMEOUT_FALLBACK).
TEST_F(Rto, ActiveOpenAfterALostSynStartsWithAThreeSecondRto) {
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  const std::uint32_t iss = isn_for(s->local.port);
  expect(kTcpSyn, iss, 0);
  expect_retransmission_after(1s, kTcpSyn, iss, 0);
  advance(50ms);
  inject({.flags = kTcpSyn | kTcpAck,
          .seq = kPeerIsn,
          .ack = iss + 1,
          .options = syn_options(false),
          .sport = kPeerPort,
          .dport = s->local.port});
  ASSERT_EQ(state(s), TcpState::kEstablished);
  expect(kTcpAck, iss + 1, kPeerIsn + 1);
  EXPECT_EQ(tcp_current_rto(tsk(s)), 3s);
  EXPECT_EQ(send(s, "x"), 1U);
  expect(kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  // RFC 8985 7.2 (Linux tcp_schedule_loss_probe): without an RTT sample the tail loss
  // probe comes after TCP_TIMEOUT_INIT, 1 s, and resends the segment; the RTO counts
  // from the probe.
  expect_retransmission_after(1s, kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPLossProbes, 1U);
  expect_retransmission_after(3s, kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 1U);
  expect_retransmission_after(6s, kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
}

TEST_F(Rto, PassiveOpenAfterALostSynAckStartsWithAThreeSecondRto) {
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  const std::uint32_t iss = isn_for();
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  expect_retransmission_after(1s, kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  advance(50ms);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  Socket* s = *a;
  EXPECT_EQ(tcp_current_rto(tsk(s)), 3s);
  EXPECT_EQ(send(s, "x"), 1U);
  expect(kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  expect_retransmission_after(1s, kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);  // the probe
  expect_retransmission_after(3s, kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
}

// With timestamps the SYN,ACK echoes the TSval of the SYN it answers, so the round trip is
// known even after a retransmitted SYN (RFC 7323 4.1; Linux takes the sample from TSecr):
// the RTO follows it instead of falling back to 3 s.
TEST_F(Rto, TimestampsGiveAnRttSampleAfterALostSyn) {
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  const std::uint32_t iss = isn_for(s->local.port);
  expect(kTcpSyn, iss, 0);
  advance(1s);
  auto syn2 = expect(kTcpSyn, iss, 0);
  ASSERT_TRUE(syn2.options.ts_val);
  advance(50ms);
  wire::TcpOptions o = syn_options(true, 9000);
  o.ts_ecr = *syn2.options.ts_val;
  inject({.flags = kTcpSyn | kTcpAck,
          .seq = kPeerIsn,
          .ack = iss + 1,
          .options = o,
          .sport = kPeerPort,
          .dport = s->local.port});
  ASSERT_EQ(state(s), TcpState::kEstablished);
  EXPECT_EQ(tsk(s).srtt, 50ms);
  // Linux tcp_rtt_estimator's first sample: RTTVAR max(2 * 50 ms, tcp_rto_min), so RTO =
  // 50 ms + 200 ms (RFC 6298's 50 + 4 * 25 = 150 would be raised to RTO.min, 200 ms).
  EXPECT_EQ(tcp_current_rto(tsk(s)), 250ms);
}

// RFC 5681 3.1, equation (4) on a timeout: "ssthresh = max (FlightSize / 2, 2*SMSS)" once
// for the loss; a segment that times out again is the same loss, and ssthresh is held
// ("the value of ssthresh is held constant"; Linux tcp_enter_loss reduces it only outside
// a loss episode, or after the ACK of new data reset icsk_retransmits).
TEST_F(Rto, RepeatedTimeoutsOfOneSegmentKeepSsthresh) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  ASSERT_EQ(tsk(p.sock).cc->name(), "cubic");
  EXPECT_EQ(send(p.sock, std::string(10 * 1460, 's')), 10U * 1460);
  drain();
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, 10U);
  expect_retransmission_after(200ms, kTcpAck, p.iss + 1, kPeerIsn + 1);
  // CUBIC: ssthresh = 0.7 * cwnd of 10 segments.
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, 7U);
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, 1U);
  expect_retransmission_after(400ms, kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, 7U);
  expect_retransmission_after(800ms, kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, 7U);
  EXPECT_EQ(stack->mib().TcpExtTCPTimeouts, 3U);
  // The first segment arrives at last: slow start to 2 segments, both sent.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1461});
  EXPECT_EQ(info(p.sock).tcpi_snd_cwnd, 2U);
  expect(kTcpAck, p.iss + 1461, kPeerIsn + 1);
  expect(kTcpAck, p.iss + 2921, kPeerIsn + 1);
  // A timeout after that progress starts a new reduction, from the cwnd of the moment.
  auto h = run_until_sent(5s);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->seq, p.iss + 1461);
  EXPECT_EQ(info(p.sock).tcpi_snd_ssthresh, 2U);
}

// Linux tcp_write_timeout / retransmits_timed_out: a connection gives up when the time since
// its first retransmitted segment was sent exceeds what tcp_retries2 (15) doublings of
// TCP_RTO_MIN (200 ms, capped at 120 s) add up to: 924.6 s. With a 3 s RTO that is the
// 13th expiry (1029 s), after 12 retransmissions, not 15.
TEST_F(Rto, RetransmissionsGiveUpAfterTheModelledTimeOfRetries2) {
  // Timeouts only: no tail loss probe before the first (net.ipv4.tcp_early_retrans=0).
  stack->sysctl().tcp_early_retrans = 0;
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  const std::uint32_t iss = isn_for();
  advance(1s);  // the SYN,ACK retransmitted: no RTT sample, so RTO 3 s
  drain();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  Socket* s = *a;
  EXPECT_EQ(send(s, "x"), 1U);
  expect(kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  const Instant start = now;
  int retransmissions = 0;
  while (auto h = run_until_sent(200s)) {
    EXPECT_EQ(h->seq, iss + 1);
    ++retransmissions;
  }
  EXPECT_EQ(retransmissions, 12);
  EXPECT_EQ(state(s), TcpState::kClosed);
  EXPECT_EQ(recv(s), "<timed out>");
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 1U);
  EXPECT_EQ(now - start, 909s + 200s);  // the 12th retransmission, then 200 s of silence
}

// Linux tcp_orphan_retries: a connection the user has closed retries its FIN for
// tcp_orphan_retries (0 by default, which means 8 while the RTO is below TCP_RTO_MAX),
// counted as time as above: 8 doublings of 200 ms, 102.2 s. It then ends without a reset.
TEST_F(Rto, OrphanGivesUpItsFinAfterOrphanRetries) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  ASSERT_EQ(tcp_current_rto(tsk(p.sock)), 200ms);
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  const Instant start = now;
  expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(stack->tcp().orphans(), 1U);
  std::vector<Duration> at;
  while (auto h = run_until_sent(200s)) {
    EXPECT_EQ(h->flags, kTcpFin | kTcpAck);
    EXPECT_EQ(h->seq, p.iss + 1);
    at.push_back(now - start);
  }
  const std::vector<Duration> linux_times = {200ms,  600ms,   1400ms,  3000ms,
                                             6200ms, 12600ms, 25400ms, 51000ms};
  EXPECT_EQ(at, linux_times);
  EXPECT_EQ(stack->tcp().orphans(), 0U);
  EXPECT_EQ(stack->tcp().connections(), 0U);
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 1U);
  EXPECT_EQ(stack->mib().TcpOutRsts, 0U);
}

// An orphan whose peer still acknowledges is alive: the ACK of new data starts the count
// again (icsk_retransmits and retrans_stamp), so it outlives the 102.2 s of a silent peer.
TEST_F(Rto, OrphanThatMakesProgressOutlivesASilentOne) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3000, 'o')), 3000U);
  const Instant start = now;
  drain();
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  advance(50s);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1461});
  drain();
  advance(start + 110s - now);
  EXPECT_EQ(stack->tcp().orphans(), 1U);
  advance(start + 230s - now);
  EXPECT_EQ(stack->tcp().orphans(), 0U);
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 1U);
}

}  // namespace
}  // namespace usnet::script

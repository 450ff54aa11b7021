// Scripted tests of Linux's timing: the RTO after given RTT samples (tcp_rtt_estimator,
// __tcp_set_rto), where PSH goes (tcp_push, forced_push, tcp_mark_push) and how long ACKs
// are delayed (tcp_event_data_recv's ato, quickack mode, tcp_send_delayed_ack, the
// delayed-ACK timer's inflation of ato).
#include <netinet/tcp.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpSyn;

class Timing : public TcpScript {
 protected:
  // A passive open (no timestamps: Karn's rule times one segment at a time) whose
  // handshake takes `rtt`.
  Passive open_with_rtt(Duration rtt) {
    Passive p;
    p.listener = listener();
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
    p.iss = isn_for();
    expect(kTcpSyn | kTcpAck, p.iss, kPeerIsn + 1);
    advance(rtt);
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 512});
    auto a = sock_accept(*p.listener, 0);
    EXPECT_TRUE(a);
    if (a) p.sock = *a;
    return p;
  }
  // How long until the stack sends its next segment (which must be an ACK of `ack`).
  Duration ack_delay(std::uint32_t iss, std::uint32_t ack) {
    const Instant t0 = now;
    auto h = run_until_sent(2s);
    EXPECT_TRUE(h);
    if (!h) return Duration::max();
    EXPECT_EQ(h->flags, kTcpAck);
    EXPECT_EQ(h->seq, iss + 1);
    EXPECT_EQ(h->ack, ack);
    return now - t0;
  }
};

// Hand-computed from Linux's tcp_rtt_estimator (srtt_us = 8 SRTT, mdev_us = 4 mdev,
// rttvar_us = the largest mdev of the last window, at least 200 ms, decaying by a quarter
// of the excess per window). Linux then rounds up to a jiffy (4 ms at HZ 250: 300, 300,
// 384, 368, 356 ms); usnet keeps whole milliseconds, rounded down.
TEST_F(Timing, RtoFollowsLinuxsEstimator) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  sk.nodelay = true;
  // First sample: SRTT 100 ms, mdev 50 ms, RTTVAR max(200 ms, 200 ms): RTO 300 ms.
  EXPECT_EQ(sk.srtt, 100ms);
  EXPECT_EQ(tcp_current_rto(sk), 300ms);
  struct Step {
    Duration rtt;
    Duration rto;
    std::uint32_t rttvar_us;  // tcpi_rttvar: mdev_us / 4
  };
  const Step steps[] = {
      {100ms, 300ms, 37500},  // error 0: mdev 150000 -> 4 * 37.5 ms; RTTVAR stays 200 ms
      {250ms, 381ms, 65625},  // error 150 ms: SRTT 118.75 ms, mdev 262500 sets RTTVAR
      {120ms, 365ms, 49531},  // mdev 198125; RTTVAR decays to 246875; SRTT 118.906 ms
      {120ms, 354ms, 37422},  // mdev 149688; RTTVAR decays to 235157; SRTT 119.043 ms
  };
  std::uint32_t seq = p.iss + 1;
  for (const Step& st : steps) {
    EXPECT_EQ(send(p.sock, "x"), 1U);
    expect(kTcpAck | kTcpPsh, seq, kPeerIsn + 1);
    advance(st.rtt);
    ++seq;
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = seq, .window = 512});
    EXPECT_EQ(tcp_current_rto(sk), st.rto) << "after " << st.rtt.count();
    EXPECT_EQ(info(p.sock).tcpi_rttvar, st.rttvar_us);
    EXPECT_EQ(info(p.sock).tcpi_rto,
              std::chrono::duration_cast<std::chrono::microseconds>(st.rto).count());
  }
}

// RFC 6298 2.1 / Linux TCP_TIMEOUT_INIT: 1 s before any sample; a LAN's first sample gives
// 200 ms (RTTVAR at tcp_rto_min), a 40 ms path 240 ms (Linux: "about 0.24 s").
TEST_F(Timing, FirstRtoIsSamplePlus200ms) {
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  EXPECT_EQ(tcp_current_rto(tsk(s)), 1s);
  drain();
  Passive p = open_with_rtt(40ms);
  ASSERT_NE(p.sock, nullptr);
  EXPECT_EQ(tcp_current_rto(tsk(p.sock)), 240ms);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, "r"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  advance(239ms);
  expect_nothing();
  advance(1ms);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
}

// Linux tcp_sendmsg: one large write gets PSH on its last segment, and on the segment where
// write_seq passes pushed_seq + max_window / 2 (forced_push: here the 23rd, 33580 bytes in,
// past half of the peer's 65536).
TEST_F(Timing, PshOnALargeWrite) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  sk.nodelay = true;
  ASSERT_EQ(sk.max_snd_wnd, 65536U);
  sk.cwnd = 100U * sk.mss;  // the window, not cwnd, limits this test
  const std::uint32_t mss = sk.mss;
  EXPECT_EQ(send(p.sock, std::string(40 * mss, 'L')), 40U * mss);
  std::vector<std::uint32_t> pushed;
  for (std::uint32_t i = 0; i < 40; ++i) {
    auto h = next_sent();
    ASSERT_TRUE(h) << i;
    EXPECT_EQ(h->seq, p.iss + 1 + i * mss);
    if (h->has(kTcpPsh)) pushed.push_back(i + 1);
  }
  expect_nothing();
  EXPECT_EQ(pushed, (std::vector<std::uint32_t>{23, 40}));
}

// Small writes: each one's last byte gets PSH; writes coalesced by Nagle into one segment
// give it PSH once; MSG_MORE leaves the mark off (tcp_push only without MSG_MORE).
TEST_F(Timing, PshOnSmallWritesAndNotUnderMsgMore) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  EXPECT_EQ(send(p.sock, "a"), 1U);
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(send(p.sock, "b"), 1U);  // Nagle holds these two
  EXPECT_EQ(send(p.sock, "c"), 1U);
  expect_nothing();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2, .window = 512});
  expect(kTcpAck | kTcpPsh, p.iss + 2, kPeerIsn + 1, &d);
  EXPECT_EQ(d, bytes("bc"));
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 4, .window = 512});
  // 3000 bytes with MSG_MORE: two full segments without PSH, the tail held (cork)...
  tsk(p.sock).nodelay = true;
  const std::string more(3000, 'm');
  const ByteSpan iov[] = {as_bytes(std::string_view(more))};
  auto r = sock_sendmsg(*p.sock, SendMsg{iov, nullptr}, MSG_DONTWAIT | MSG_MORE);
  ASSERT_TRUE(r);
  expect(kTcpAck, p.iss + 4, kPeerIsn + 1);
  expect(kTcpAck, p.iss + 4 + 1460, kPeerIsn + 1);
  expect_nothing();
  // ...until a write without MSG_MORE: its segment ends with PSH.
  EXPECT_EQ(send(p.sock, "z"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 4 + 2920, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 81U);
}

// Linux tcp_event_data_recv: the first data segments are acknowledged at once (quickack:
// min(window / (2 * rcv_mss), 16) of them); then ACKs wait ato, which starts at TCP_ATO_MIN
// (40 ms) and is doubled by each delayed ACK the timer had to send (up to the RTO), while
// tcp_send_delayed_ack bounds the wait by the SRTT (and 200 ms after a short segment).
TEST_F(Timing, DelayedAckStartsQuickThenFollowsAto) {
  Passive p = open_with_rtt(100ms);
  ASSERT_NE(p.sock, nullptr);
  ASSERT_EQ(tcp_current_rto(tsk(p.sock)), 300ms);
  std::uint32_t seq = kPeerIsn + 1;
  const auto data = [&] {
    inject({.flags = kTcpAck | kTcpPsh,
            .seq = seq,
            .ack = p.iss + 1,
            .window = 512,
            .data = std::vector<std::byte>(100, std::byte{'q'})});
    seq += 100;
  };
  // 64240 / (2 * 536) = 59, at most 16 quick ACKs.
  for (int i = 0; i < 16; ++i) {
    data();
    expect(kTcpAck, p.iss + 1, seq);
    advance(1ms);
  }
  EXPECT_EQ(info(p.sock).tcpi_ato, 40000U);
  data();
  EXPECT_EQ(ack_delay(p.iss, seq), 40ms);
  // The timer sent that one: ato 80 ms. Gaps longer than ato and shorter than the 300 ms
  // RTO leave ato alone.
  advance(200ms);
  data();
  EXPECT_EQ(ack_delay(p.iss, seq), 80ms);
  advance(200ms);
  data();
  EXPECT_EQ(ack_delay(p.iss, seq), 100ms);    // ato 160 ms, bounded by the 100 ms SRTT
  EXPECT_EQ(info(p.sock).tcpi_ato, 300000U);  // that timer doubled it again, up to the RTO
  EXPECT_EQ(stack->mib().TcpExtDelayedACKs, 3U);
}

// Linux __tcp_ack_snd_check: once more than rcv_mss (536 until larger segments are seen)
// has arrived since the last ACK, the ACK goes at once: the 6th of 100-byte segments.
TEST_F(Timing, AckAtOnceAfterMoreThanOneSegmentsWorth) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  std::uint32_t seq = kPeerIsn + 1;
  const auto data = [&] {
    inject({.flags = kTcpAck | kTcpPsh,
            .seq = seq,
            .ack = p.iss + 1,
            .window = 512,
            .data = std::vector<std::byte>(100, std::byte{'s'})});
    seq += 100;
  };
  data();
  expect(kTcpAck, p.iss + 1, seq);  // the first: quickack
  sk.quickacks = 0;                 // as if spent
  for (int i = 0; i < 5; ++i) {
    data();
    expect_nothing();
  }
  data();  // 600 bytes unacknowledged > 536
  expect(kTcpAck, p.iss + 1, seq);
  EXPECT_EQ(sk.rcv_mss, 536);
}

// A gap longer than the RTO restarts quickack mode (the sender restarts from a small
// window: tcp_event_data_recv's "m > rto").
TEST_F(Timing, QuickackAgainAfterIdle) {
  Passive p = open_with_rtt(10ms);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  std::uint32_t seq = kPeerIsn + 1;
  const auto data = [&] {
    inject({.flags = kTcpAck | kTcpPsh,
            .seq = seq,
            .ack = p.iss + 1,
            .window = 512,
            .data = bytes("i")});
    seq += 1;
  };
  data();
  expect(kTcpAck, p.iss + 1, seq);
  sk.quickacks = 0;  // as if spent
  advance(5ms);
  data();
  expect_nothing();
  EXPECT_EQ(ack_delay(p.iss, seq), 40ms);
  advance(1s);  // idle, past the RTO
  data();
  expect(kTcpAck, p.iss + 1, seq);
}

// Linux tcp_keepalive_timer: no keepalive probes while data is outstanding (the
// retransmission timer is the one watching the peer then).
TEST_F(Timing, NoKeepaliveWhileDataIsOutstanding) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_KEEPALIVE, 1));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 1));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPINTVL, 1));
  EXPECT_EQ(send(p.sock, "k"), 1U);
  int segments = 0;
  for (auto h = run_until_sent(20s); h; h = run_until_sent(20s)) {
    EXPECT_EQ(h->seq, p.iss + 1) << "only the data, retransmitted, never a probe";
    if (++segments == 6) break;  // 0.2 + 0.4 + ... s of backoff: past many keepalive times
  }
  EXPECT_EQ(segments, 6);
  EXPECT_EQ(stack->mib().UsnetTcpKeepaliveProbes, 0U);
}

// With TCP_USER_TIMEOUT the keepalive gives up on time, not on TCP_KEEPCNT, and only once a
// probe has gone unanswered (Linux tcp_keepalive_timer).
TEST_F(Timing, KeepaliveWithUserTimeout) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_KEEPALIVE, 1));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 10));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPINTVL, 2));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPCNT, 5));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000));
  // Idle 10 s, past the 5 s user timeout, but no probe has gone yet: one goes.
  advance(10s);
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  // TCP_KEEPCNT 5 would send four more probes; the user timeout ends it at the next one.
  advance(2s);
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
  EXPECT_EQ(stack->mib().UsnetTcpKeepaliveProbes, 1U);
}

}  // namespace
}  // namespace usnet::script

// Scripted tests of the peer's window: which segments may move SND.WND (RFC 9293
// 3.10.7.4, Linux tcp_may_update_window), which old ACKs draw a challenge ACK (RFC 5961
// 5.2) and the zero-window probes a live peer answers (RFC 1122 4.2.2.17).
#include <netinet/tcp.h>

#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpSyn;

class Window : public TcpScript {};

// RFC 9293 3.10.7.4: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
// updated": a segment whose ACK is older than SND.UNA moves nothing, even when its
// sequence number is newer than the one that last set the window.
TEST_F(Window, AnOldAckDoesNotMoveTheSendWindow) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3000, 'a')), 3000U);
  drain();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 3001, .window = 512});
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 3001,
          .window = 512,
          .data = bytes("0123456789")});
  // The peer's next data segment carries, by mistake or by forgery, an ACK from before
  // SND.UNA and a zero window.
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 11,
          .ack = p.iss + 1461,
          .window = 0,
          .data = bytes("abcdefghij")});
  // The first data of the connection is acknowledged at once (quickack, as Linux).
  expect(kTcpAck, p.iss + 3001, kPeerIsn + 11);
  expect(kTcpAck, p.iss + 3001, kPeerIsn + 21);
  EXPECT_EQ(tsk(p.sock).snd_wnd, 512U << 7);
  EXPECT_EQ(send(p.sock, "more"), 4U);
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 3001, kPeerIsn + 21, &d);
  EXPECT_EQ(d, bytes("more"));
}

// One pure ACK forged into the window, with a sequence number ahead of RCV.NXT and window
// 0, must not freeze the send window: an ACK that acknowledges new data updates it
// whatever its sequence number (Linux tcp_may_update_window: after(ack, snd_una)).
TEST_F(Window, AForgedZeroWindowIsRepairedByTheNextAckOfNewData) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(40000, 'd')), 40000U);
  for (std::uint32_t i = 0; i < 10; ++i) {
    std::vector<std::byte> d;
    expect(kTcpAck, p.iss + 1 + i * 1460, kPeerIsn + 1, &d);
    EXPECT_EQ(d.size(), 1460U);
  }
  expect_nothing();  // cwnd: the initial 10 segments
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1 + 1000, .ack = p.iss + 1, .window = 0});
  EXPECT_EQ(tsk(p.sock).snd_wnd, 0U);  // in the window and newer: it does count...
  expect_nothing();
  // ...until the real peer acknowledges the first segment with its real window.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1461, .window = 512});
  EXPECT_EQ(tsk(p.sock).snd_wnd, 512U << 7);
  // Slow start: one more segment of cwnd, and the one acknowledged: two new segments.
  expect(kTcpAck, p.iss + 1 + 14600, kPeerIsn + 1);
  expect(kTcpAck, p.iss + 1 + 16060, kPeerIsn + 1);
  expect_nothing();
  // The update also took the real sequence number back as SND.WL1: a later window update
  // from the peer that acknowledges nothing new is taken again.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1461, .window = 600});
  EXPECT_EQ(tsk(p.sock).snd_wnd, 600U << 7);
}

// RFC 5961 5.2: an ACK is acceptable only if (SND.UNA - MAX.SND.WND) =< SEG.ACK; older ones
// draw a challenge ACK and are dropped. Linux bounds MAX.SND.WND by the bytes acknowledged
// so far (tcp_ack: min(max_window, bytes_acked)).
TEST_F(Window, AckOlderThanMaxSndWndDrawsAChallengeAck) {
  Socket* l = listener();
  wire::TcpOptions o = syn_options(false);
  o.window_scale.reset();  // no scaling: the peer's window is the field itself
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .window = 1000, .options = o});
  const std::uint32_t iss = isn_for();
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1, .window = 1000});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  Socket* s = *a;
  tsk(s).nodelay = true;
  // 3000 bytes through a 1000-byte window: three rounds.
  EXPECT_EQ(send(s, std::string(3000, 'w')), 3000U);
  for (std::uint32_t i = 0; i < 3; ++i) {
    std::vector<std::byte> d;
    // PSH: the write's end, and (Linux forced_push) the MSS step at 1460, more than half
    // the peer's largest window past the last PSH.
    expect(i >= 1 ? kTcpAck | kTcpPsh : kTcpAck, iss + 1 + i * 1000, kPeerIsn + 1, &d);
    EXPECT_EQ(d.size(), 1000U);
    expect_nothing();
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1001 + i * 1000, .window = 1000});
  }
  EXPECT_EQ(tsk(s).max_snd_wnd, 1000U);
  // 1500 bytes behind SND.UNA: older than any window the peer ever offered.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1501, .window = 1000});
  expect(kTcpAck, iss + 3001, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPChallengeACK, 1U);
  // 600 behind: an old duplicate the peer may well have sent; ignored without a word.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 2401, .window = 1000});
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPChallengeACK, 1U);
  EXPECT_EQ(state(s), TcpState::kEstablished);
}

// RFC 1122 4.2.2.17: a sender probing a zero window "MUST NOT close the connection as long
// as the receiving TCP continues to send acknowledgments in response to the probe
// segments". Linux resets its probe count on every acceptable ACK (tcp_ack), backs the
// probes off to TCP_RTO_MAX (120 s) and keeps probing for as long as they are answered.
TEST_F(Window, AnsweredZeroWindowProbesKeepTheConnectionForever) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  EXPECT_EQ(send(p.sock, "data"), 4U);
  expect_nothing();
  const Instant start = now;
  Instant last = now;
  int probes = 0;
  Duration longest{0};
  while (now - start < std::chrono::minutes(30)) {
    auto h = run_until_sent(std::chrono::seconds(121));
    ASSERT_TRUE(h) << "no probe within 121 s after probe " << probes;
    EXPECT_EQ(h->flags, kTcpAck);
    EXPECT_EQ(h->seq, p.iss);  // SND.UNA - 1: the peer must answer with its window
    longest = std::max(longest, now - last);
    last = now;
    ++probes;
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  }
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  EXPECT_GT(probes, 20);
  EXPECT_EQ(longest, kTcpRtoMax);
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 0U);
  // The window opens: the data goes at once.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 10});
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d, bytes("data"));
}

// Unanswered probes do end it: after tcp_retries2 (15) probes, ETIMEDOUT.
TEST_F(Window, UnansweredZeroWindowProbesTimeOut) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  EXPECT_EQ(send(p.sock, "data"), 4U);
  int probes = 0;
  while (run_until_sent(std::chrono::seconds(121)))
    ++probes;
  EXPECT_EQ(probes, 15);
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 1U);
}

// TCP_USER_TIMEOUT bounds a zero window even while the probes are answered (Linux
// tcp_probe_timer), counted from the first probe, not from the last data sent; the probe
// timer is clamped so that the end comes on time (tcp_clamp_probe0_to_user_timeout).
TEST_F(Window, UserTimeoutEndsAZeroWindowCountedFromTheFirstProbe) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_USER_TIMEOUT, 10000));
  // An hour of quiet first: the timeout must not count it.
  advance(std::chrono::hours(1));
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  EXPECT_EQ(send(p.sock, "data"), 4U);
  const Instant start = now;
  // Probes after 0.2, 0.6, 1.4, 3.0 and 6.2 s, each answered.
  for (const int ms : {200, 600, 1400, 3000, 6200}) {
    auto h = run_until_sent(std::chrono::seconds(10));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->seq, p.iss);
    EXPECT_EQ(now - start, std::chrono::milliseconds(ms));
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  }
  // The first probe went at 0.2 s: the connection ends at 10.2 s, not at the next probe.
  advance(start + std::chrono::milliseconds(10199) - now);
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
  expect_nothing();
}

}  // namespace
}  // namespace usnet::script

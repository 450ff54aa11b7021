// Scripted segment tests: every transition of RFC 9293 figure 5, resets and challenge
// ACKs (RFC 5961), PAWS (RFC 7323), zero window and persist, window scaling, SACK
// generation, delayed ACKs, retransmission timing and backoff.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpPsh;
using wire::kTcpRst;
using wire::kTcpSyn;

class Tcp : public TcpScript {};

TEST_F(Tcp, PassiveOpenListenSynReceivedEstablished) {
  Socket* l = listener();
  EXPECT_EQ(state(l), TcpState::kListen);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options()});
  auto synack = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  // Our SYN,ACK answers each option the peer offered: MSS from the MTU, window scale 10
  // (Linux 6.18's tcp_rmem[2], 32 MiB), SACK-permitted, timestamps echoing the peer's.
  EXPECT_EQ(synack.options.mss, 1460);
  EXPECT_EQ(synack.options.window_scale, 10);
  EXPECT_TRUE(synack.options.sack_permitted);
  EXPECT_EQ(synack.options.ts_ecr, 500U);
  EXPECT_EQ(stack->tcp().connections(), 1U);
  EXPECT_FALSE(sock_accept(*l, 0));  // SYN_RECEIVED is not yet acceptable
  wire::TcpOptions o;
  o.ts_val = 501;
  o.ts_ecr = *synack.options.ts_val;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = synack.seq + 1, .options = o});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(state(*a), TcpState::kEstablished);
  EXPECT_EQ((*a)->remote, SockAddr::inet(kPeer, kPeerPort));
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpPassiveOpens, 1U);
}

TEST_F(Tcp, ActiveOpenSynSentEstablished) {
  Socket* s = tcp_socket();
  auto st = sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  ASSERT_EQ(st.error(), Error::kInProgress);
  EXPECT_EQ(state(s), TcpState::kSynSent);
  auto syn = expect(kTcpSyn, isn_for(s->local.port), 0);
  EXPECT_EQ(syn.options.mss, 1460);
  EXPECT_EQ(syn.options.window_scale, 10);
  EXPECT_TRUE(syn.options.sack_permitted);
  EXPECT_TRUE(syn.options.ts_val.has_value());
  inject({.flags = kTcpSyn | kTcpAck,
          .seq = kPeerIsn,
          .ack = syn.seq + 1,
          .options = syn_options(false),
          .sport = kPeerPort,
          .dport = s->local.port});
  EXPECT_EQ(state(s), TcpState::kEstablished);
  expect(kTcpAck, syn.seq + 1, kPeerIsn + 1);
  EXPECT_EQ(static_cast<TcpSock*>(s)->mss, 1460);  // no timestamps: the full MSS
}

TEST_F(Tcp, SynSentRstIsConnectionRefused) {
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  auto syn = expect(kTcpSyn, isn_for(s->local.port), 0);
  // A RST whose ACK does not acknowledge our SYN is ignored (RFC 9293 3.10.7.3).
  inject({.flags = kTcpRst | kTcpAck,
          .seq = 0,
          .ack = syn.seq + 7,
          .sport = kPeerPort,
          .dport = s->local.port});
  EXPECT_EQ(state(s), TcpState::kSynSent);
  inject({.flags = kTcpRst | kTcpAck,
          .seq = 0,
          .ack = syn.seq + 1,
          .sport = kPeerPort,
          .dport = s->local.port});
  EXPECT_EQ(state(s), TcpState::kClosed);
  EXPECT_EQ(s->take_error(), Error::kConnectionRefused);
}

TEST_F(Tcp, SynRetriesBackOffThenTimeOut) {
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  auto syn = expect(kTcpSyn, isn_for(s->local.port), 0);
  // Linux 6.18 (tcp_syn_retries 6, tcp_syn_linear_timeouts 4): ten retries, the first
  // five a second apart, then after 2, 4, 8, 16, 32 s; ETIMEDOUT 64 s after the last.
  for (int gap : {1, 1, 1, 1, 1, 2, 4, 8, 16, 32}) {
    advance(std::chrono::milliseconds(gap * 1000 - 1));
    expect_nothing();
    advance(std::chrono::milliseconds(1));
    expect(kTcpSyn, syn.seq, 0);
  }
  advance(std::chrono::milliseconds(64 * 1000 - 1));
  EXPECT_EQ(state(s), TcpState::kSynSent);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(state(s), TcpState::kClosed);
  EXPECT_EQ(s->take_error(), Error::kTimedOut);
}

TEST_F(Tcp, SimultaneousOpen) {
  Socket* s = tcp_socket();
  ASSERT_TRUE(sock_bind(*s, SockAddr::inet({}, kPort)));
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  auto syn = expect(kTcpSyn, isn_for(s->local.port), 0);
  // The peer's SYN crosses ours: SYN_SENT -> SYN_RECEIVED, answered by a SYN,ACK that
  // repeats our SYN (same ISN) and answers the options the peer offered.
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  EXPECT_EQ(state(s), TcpState::kSynReceived);
  auto synack = expect(kTcpSyn | kTcpAck, syn.seq, kPeerIsn + 1);
  EXPECT_EQ(synack.options.mss, 1460);
  EXPECT_EQ(synack.options.window_scale, 10);
  EXPECT_TRUE(synack.options.sack_permitted);
  EXPECT_FALSE(synack.options.ts_val);  // the peer offered no timestamps
  // The peer's ACK of our SYN completes the open; nothing more is due from us.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = syn.seq + 1});
  EXPECT_EQ(state(s), TcpState::kEstablished);
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpActiveOpens, 1U);
  EXPECT_EQ(stack->mib().TcpPassiveOpens, 0U);
}

TEST_F(Tcp, ActiveCloseFinWait1FinWait2TimeWaitClosed) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  ASSERT_TRUE(sock_shutdown(*p.sock, SHUT_WR));
  EXPECT_EQ(state(p.sock), TcpState::kFinWait1);
  expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2});
  EXPECT_EQ(state(p.sock), TcpState::kFinWait2);
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2});
  EXPECT_EQ(state(p.sock), TcpState::kTimeWait);
  expect(kTcpAck, p.iss + 2, kPeerIsn + 2);
  // A repeated FIN in TIME_WAIT is ACKed again and restarts 2*MSL.
  advance(std::chrono::seconds(30));
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2});
  expect(kTcpAck, p.iss + 2, kPeerIsn + 2);
  advance(std::chrono::seconds(59));
  EXPECT_EQ(state(p.sock), TcpState::kTimeWait);
  advance(std::chrono::seconds(2));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "");  // end of stream
}

TEST_F(Tcp, SimultaneousCloseThroughClosing) {
  Passive p = open_passive();
  ASSERT_TRUE(sock_shutdown(*p.sock, SHUT_WR));
  expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
  // The peer's FIN crosses ours without acknowledging it: CLOSING.
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1});
  EXPECT_EQ(state(p.sock), TcpState::kClosing);
  expect(kTcpAck, p.iss + 2, kPeerIsn + 2);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2, .ack = p.iss + 2});
  EXPECT_EQ(state(p.sock), TcpState::kTimeWait);
}

TEST_F(Tcp, FinWait1ToTimeWaitWhenFinAndAckArriveTogether) {
  Passive p = open_passive();
  ASSERT_TRUE(sock_shutdown(*p.sock, SHUT_WR));
  expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2});
  EXPECT_EQ(state(p.sock), TcpState::kTimeWait);
  expect(kTcpAck, p.iss + 2, kPeerIsn + 2);
}

TEST_F(Tcp, PassiveCloseCloseWaitLastAckClosed) {
  Passive p = open_passive();
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1});
  EXPECT_EQ(state(p.sock), TcpState::kCloseWait);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 2);
  EXPECT_EQ(recv(p.sock), "");
  // Half-close: we may still send after the peer's FIN.
  EXPECT_EQ(send(p.sock, "late"), 4U);
  std::vector<std::byte> data;
  expect(kTcpPsh | kTcpAck, p.iss + 1, kPeerIsn + 2, &data);
  EXPECT_EQ(data, bytes("late"));
  const int fd = p.sock->fd;
  ASSERT_TRUE(sock_close(*stack, fd));
  expect(kTcpFin | kTcpAck, p.iss + 5, kPeerIsn + 2);
  EXPECT_EQ(stack->tcp().orphans(), 1U);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2, .ack = p.iss + 6});
  stack->poll(now);
  EXPECT_EQ(stack->tcp().orphans(), 0U);
  EXPECT_EQ(stack->tcp().connections(), 0U);
}

TEST_F(Tcp, SynReceivedRstReturnsToListen) {
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0});
  auto synack = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  inject({.flags = kTcpRst, .seq = kPeerIsn + 1, .ack = 0});
  stack->poll(now);
  EXPECT_EQ(stack->tcp().connections(), 0U);
  EXPECT_EQ(state(l), TcpState::kListen);
  EXPECT_FALSE(sock_accept(*l, 0));
  (void)synack;
}

TEST_F(Tcp, ClosedPortAnswersWithRst) {
  // No listener: RFC 9293 3.10.7.1 resets.
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0});
  expect(kTcpRst | kTcpAck, 0, kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn, .ack = 777});
  expect(kTcpRst, 777, 0);
  inject({.flags = kTcpRst, .seq = kPeerIsn, .ack = 0});
  expect_nothing();  // never a reset for a reset
}

TEST_F(Tcp, RstMustMatchExactlyElseChallengeAck) {
  Passive p = open_passive();
  // RFC 5961 3.2: a RST inside the window but not at RCV.NXT draws a challenge ACK.
  inject({.flags = kTcpRst, .seq = kPeerIsn + 100, .ack = 0});
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPChallengeACK, 1U);
  // Outside the window it is dropped silently.
  inject({.flags = kTcpRst, .seq = kPeerIsn - 100000, .ack = 0});
  expect_nothing();
  // At RCV.NXT it resets the connection.
  inject({.flags = kTcpRst, .seq = kPeerIsn + 1, .ack = 0});
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<connection reset>");
  EXPECT_EQ(stack->mib().TcpEstabResets, 1U);
}

TEST_F(Tcp, SynInEstablishedDrawsChallengeAck) {
  Passive p = open_passive();
  inject({.flags = kTcpSyn, .seq = kPeerIsn + 50, .ack = 0});
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPSYNChallenge, 1U);
}

TEST_F(Tcp, AckOfUnsentDataIsAnsweredAndDropped) {
  Passive p = open_passive();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 5000});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
}

TEST_F(Tcp, PawsDropsOldTimestamps) {
  Passive p = open_passive(true);
  wire::TcpOptions o;
  o.ts_val = 600;
  o.ts_ecr = 0;
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 1,
          .data = bytes("new"),
          .options = o});
  advance(std::chrono::milliseconds(50));
  auto ack = next_sent();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->ack, kPeerIsn + 4);
  EXPECT_EQ(ack->options.ts_ecr, 600U);
  // A segment with an older timestamp (a wrapped-around duplicate) is dropped and ACKed.
  o.ts_val = 550;
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 4,
          .ack = p.iss + 1,
          .data = bytes("old"),
          .options = o});
  EXPECT_EQ(stack->mib().TcpExtPAWSEstab, 1U);
  auto dup = next_sent();
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->ack, kPeerIsn + 4);
  EXPECT_EQ(recv(p.sock), "new");
}

TEST_F(Tcp, DelayedAckAtMost40msAndEverySecondSegment) {
  Passive p = open_passive();
  auto* sk = static_cast<TcpSock*>(p.sock);
  // A connection past its first data, whose quick ACKs are spent (Linux quickacks the
  // first segments: DelayedAck.* in timing_test.cpp).
  sk->quickacks = 0;
  sk->ato = kTcpAtoMin;
  sk->lrcvtime = now;
  inject({.flags = kTcpAck | kTcpPsh, .seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes("a")});
  expect_nothing();
  advance(std::chrono::milliseconds(39));
  expect_nothing();
  advance(std::chrono::milliseconds(1));
  expect(kTcpAck, p.iss + 1, kPeerIsn + 2);
  // Two full-sized segments: the second is ACKed at once.
  std::vector<std::byte> full(1460, std::byte{'x'});
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2, .ack = p.iss + 1, .data = full});
  expect_nothing();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2 + 1460, .ack = p.iss + 1, .data = full});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 2 + 2920);
}

TEST_F(Tcp, OutOfOrderDataIsSackedAtOnce) {
  Passive p = open_passive(false, true);
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 101,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(100, std::byte{'b'})});
  auto dup = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(dup.options.sack_count, 1);
  EXPECT_EQ(dup.options.sack[0].left, kPeerIsn + 101);
  EXPECT_EQ(dup.options.sack[0].right, kPeerIsn + 201);
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 301,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(50, std::byte{'d'})});
  auto dup2 = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(dup2.options.sack_count, 2);
  EXPECT_EQ(dup2.options.sack[0].left, kPeerIsn + 301);  // the newest block first
  EXPECT_EQ(dup2.options.sack[1].left, kPeerIsn + 101);
  // Filling the hole is ACKed at once, through everything that was waiting.
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(100, std::byte{'a'})});
  auto full = expect(kTcpAck, p.iss + 1, kPeerIsn + 201);
  EXPECT_EQ(full.options.sack_count, 1);
  EXPECT_EQ(recv(p.sock).size(), 200U);
}

TEST_F(Tcp, WindowScaleAppliesToThePeersWindow) {
  // The peer offers scale 7 and a window field of 2: 256 bytes may be sent.
  Socket* l = listener();
  wire::TcpOptions o = syn_options(false);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = o});
  auto synack = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = synack.seq + 1, .window = 2});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(static_cast<TcpSock*>(*a)->snd_wnd, 256U);
  static_cast<TcpSock*>(*a)->nodelay = true;
  std::string big(1000, 'z');
  EXPECT_EQ(send(*a, big), 1000U);
  std::vector<std::byte> data;
  auto seg = expect(kTcpAck, synack.seq + 1, kPeerIsn + 1, &data);
  EXPECT_EQ(data.size(), 256U);
  expect_nothing();
  // Our own window is scaled (by 10): the SYN,ACK carries it unscaled (RFC 7323 2.2), as
  // Linux's initial window, half of tcp_rmem[1] in whole segments (65536 / 1460 * 1460);
  // later segments carry the window the receive buffer allows now, shifted right by 10:
  // the initial 64240 (rcv_ssthresh) rounded up to the scale unit, 64512 (Linux
  // __tcp_select_window: ALIGN(free_space, 1 << rcv_wscale)). Autotuning grows it.
  EXPECT_EQ(synack.window, 64240);
  EXPECT_EQ(seg.window, 64512 >> 10);
}

TEST_F(Tcp, ZeroWindowIsProbedWithBackoff) {
  Passive p = open_passive();
  auto* sk = static_cast<TcpSock*>(p.sock);
  sk->nodelay = true;
  // The peer closes its window.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 0});
  EXPECT_EQ(send(p.sock, "data"), 4U);
  expect_nothing();
  // Persist timer: probes (an ACK below SND.UNA) at the RTO, doubling.
  const Duration rto = tcp_current_rto(*sk);
  advance(rto);
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  advance(2 * rto - std::chrono::milliseconds(1));
  expect_nothing();
  advance(std::chrono::milliseconds(1));
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  // The window opens: the data goes.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 1000});
  std::vector<std::byte> data;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &data);
  EXPECT_EQ(data, bytes("data"));
}

TEST_F(Tcp, RetransmissionTimerBacksOffAndGivesUp) {
  Passive p = open_passive();
  auto* sk = static_cast<TcpSock*>(p.sock);
  EXPECT_EQ(send(p.sock, "hello"), 5U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  Duration rto = tcp_current_rto(*sk);
  EXPECT_GE(rto, kTcpRtoMin);
  // RFC 6298 5.5: each expiry doubles the RTO (to 120 s at most).
  Duration total{0};
  for (int i = 0; i < 15; ++i) {
    advance(rto - std::chrono::milliseconds(1));
    expect_nothing();
    advance(std::chrono::milliseconds(1));
    expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
    total += rto;
    rto = std::min<Duration>(rto * 2, kTcpRtoMax);
    EXPECT_EQ(tcp_current_rto(*sk), rto);
  }
  EXPECT_EQ(stack->mib().TcpRetransSegs, 15U);
  advance(rto);
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
}

TEST_F(Tcp, CloseWithUnreadDataSendsRst) {
  Passive p = open_passive();
  inject(
      {.flags = kTcpAck | kTcpPsh, .seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes("unread")});
  (void)next_sent();
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  expect(kTcpRst | kTcpAck, p.iss + 1, kPeerIsn + 7);
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnClose, 1U);
}

TEST_F(Tcp, SynFloodUsesCookiesAndCostsNoMemory) {
  Socket* l = listener(4);
  // Fill the SYN queue (backlog 4), then every further SYN gets a cookie.
  for (std::uint16_t i = 0; i < 100; ++i) {
    inject({.flags = kTcpSyn,
            .seq = kPeerIsn + i * 1000U,
            .ack = 0,
            .options = syn_options(false),
            .sport = static_cast<std::uint16_t>(20000 + i)});
  }
  EXPECT_EQ(static_cast<TcpSock*>(l)->syn_queue.size(), 4U);
  EXPECT_EQ(stack->mib().TcpExtSyncookiesSent, 96U);
  EXPECT_EQ(stack->tcp().connections(), 4U);
  // The ACK of a cookie SYN,ACK creates the connection.
  std::optional<wire::TcpHeader> last;
  while (auto h = next_sent())
    last = h;
  ASSERT_TRUE(last);
  EXPECT_EQ(last->dst_port, 20099);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 99000 + 1, .ack = last->seq + 1, .sport = 20099});
  EXPECT_EQ(stack->mib().TcpExtSyncookiesRecv, 1U);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)->remote.port, 20099);
  // A forged cookie is refused with a reset.
  inject({.flags = kTcpAck, .seq = 5, .ack = 12345, .sport = 30000});
  EXPECT_EQ(stack->mib().TcpExtSyncookiesFailed, 1U);
}

}  // namespace
}  // namespace usnet::script

namespace usnet::script {
namespace {

class TcpMore : public Tcp {};

TEST_F(TcpMore, KeepaliveProbesThenTimesOut) {
  Passive p = open_passive();
  const int one = 1;
  ASSERT_TRUE(sock_setsockopt(*p.sock, SOL_SOCKET, SO_KEEPALIVE,
                              ByteSpan(reinterpret_cast<const std::byte*>(&one), sizeof(one))));
  auto set = [&](int name, int v) {
    return sock_setsockopt(*p.sock, IPPROTO_TCP, name,
                           ByteSpan(reinterpret_cast<const std::byte*>(&v), sizeof(v)));
  };
  ASSERT_TRUE(set(TCP_KEEPIDLE, 10));
  ASSERT_TRUE(set(TCP_KEEPINTVL, 2));
  ASSERT_TRUE(set(TCP_KEEPCNT, 3));
  advance(std::chrono::milliseconds(9999));
  expect_nothing();
  advance(std::chrono::milliseconds(1));
  expect(kTcpAck, p.iss, kPeerIsn + 1);  // a keepalive: SND.UNA - 1, no data
  // An answer resets the count; silence after it ends the connection after 3 probes.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1});
  advance(std::chrono::seconds(10));
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  advance(std::chrono::seconds(2));
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  advance(std::chrono::seconds(2));
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  advance(std::chrono::seconds(2));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
}

TEST_F(TcpMore, UserTimeoutEndsRetransmissionEarly) {
  Passive p = open_passive();
  const int ms = 3000;
  ASSERT_TRUE(sock_setsockopt(*p.sock, IPPROTO_TCP, TCP_USER_TIMEOUT,
                              ByteSpan(reinterpret_cast<const std::byte*>(&ms), sizeof(ms))));
  EXPECT_EQ(send(p.sock, "x"), 1U);
  (void)next_sent();
  advance(std::chrono::seconds(2));
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  advance(std::chrono::seconds(5));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
}

TEST_F(TcpMore, NewerSynReopensTimeWait) {
  // The server closes first, so its end waits in TIME_WAIT...
  Passive p = open_passive(true);
  ASSERT_TRUE(sock_shutdown(*p.sock, SHUT_WR));
  auto fin = expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
  wire::TcpOptions o;
  o.ts_val = 600;
  o.ts_ecr = *fin.options.ts_val;
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 2, .options = o});
  ASSERT_EQ(state(p.sock), TcpState::kTimeWait);
  (void)next_sent();
  // ...and a new SYN on the same 4-tuple with a newer timestamp is a new connection
  // (RFC 6191), answered by a SYN,ACK from the listener.
  wire::TcpOptions syn = syn_options(true, 700);
  inject({.flags = kTcpSyn, .seq = kPeerIsn + 100000, .ack = 0, .options = syn});
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  auto synack = next_sent();
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(synack->ack, kPeerIsn + 100001);
  EXPECT_EQ(stack->mib().TcpExtTWRecycled, 1U);
}

TEST_F(TcpMore, TcpInfoAndQueueIoctls) {
  Passive p = open_passive(true, true);
  auto v = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_INFO);
  ASSERT_TRUE(v);
  tcp_info ti{};
  std::memcpy(&ti, v->bytes.data(), std::min(sizeof(ti), v->len));
  EXPECT_EQ(ti.tcpi_state, 1);  // TCP_ESTABLISHED
  EXPECT_EQ(ti.tcpi_snd_mss, 1448U);
  EXPECT_EQ(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
            TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10U);  // RFC 6928 initial window
  EXPECT_GE(ti.tcpi_rto, 200000U);
  inject(
      {.flags = kTcpAck | kTcpPsh, .seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes("12345")});
  EXPECT_EQ(sock_ioctl(*p.sock, FIONREAD).value(), 5);
  static_cast<TcpSock*>(p.sock)->nodelay = true;
  EXPECT_EQ(send(p.sock, "abc"), 3U);
  EXPECT_EQ(sock_ioctl(*p.sock, SIOCOUTQ).value(), 3);
  auto cc = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_CONGESTION);
  ASSERT_TRUE(cc);
  EXPECT_STREQ(reinterpret_cast<const char*>(cc->bytes.data()), "cubic");
  const char reno[] = "reno";
  EXPECT_TRUE(sock_setsockopt(*p.sock, IPPROTO_TCP, TCP_CONGESTION,
                              ByteSpan(reinterpret_cast<const std::byte*>(reno), sizeof(reno))));
  EXPECT_EQ(static_cast<TcpSock*>(p.sock)->cc->name(), "reno");
}

TEST_F(TcpMore, QueuedDataDrainsInLastAck) {
  // The peer's window is small from the start: a FIN at the same SEG.SEQ and SEG.ACK as the
  // handshake's ACK could only open it, never shrink it (Linux tcp_may_update_window).
  Passive p = open_passive(false, false, 2);
  inject({.flags = kTcpFin | kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 2});
  (void)next_sent();
  // The peer's window (2 << 7 = 256 bytes) holds back most of 1000 bytes; close anyway.
  EXPECT_EQ(send(p.sock, std::string(1000, 'q')), 1000U);
  std::vector<std::byte> d;
  expect(kTcpAck, p.iss + 1, kPeerIsn + 2, &d);
  EXPECT_EQ(d.size(), 256U);
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  expect_nothing();
  // Each window opening lets more out, and the FIN follows the last byte.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2, .ack = p.iss + 257, .window = 100});
  auto h = expect(kTcpAck | kTcpPsh | kTcpFin, p.iss + 257, kPeerIsn + 2, &d);
  EXPECT_EQ(d.size(), 744U);
  (void)h;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 2, .ack = p.iss + 1002});
  stack->poll(now);
  EXPECT_EQ(stack->tcp().connections(), 0U);
}

}  // namespace
}  // namespace usnet::script

namespace usnet::script {
namespace {

TEST_F(TcpMore, ConnectToSilentHostFailsWithHostUnreachable) {
  // 198.18.0.3 never answers ARP: after the ARP retries the attempt ends with EHOSTUNREACH
  // (Linux: arp_error_report, then tcp_v4_err in SYN_SENT), not after 127 s of SYNs.
  Socket* s = tcp_socket();
  const auto silent = Ipv4Address::from_octets(198, 18, 0, 3);
  ASSERT_EQ(sock_connect(*s, SockAddr::inet(silent, 80), 0).error(), Error::kInProgress);
  advance(std::chrono::seconds(2));
  EXPECT_EQ(state(s), TcpState::kSynSent);
  advance(std::chrono::seconds(3));
  EXPECT_EQ(state(s), TcpState::kClosed);
  EXPECT_EQ(s->take_error(), Error::kHostUnreachable);
}

}  // namespace
}  // namespace usnet::script

namespace usnet::script {
namespace {

TEST_F(TcpMore, CorkHoldsPartialSegmentsAtMost200ms) {
  Passive p = open_passive();
  const int one = 1;
  ASSERT_TRUE(sock_setsockopt(*p.sock, IPPROTO_TCP, TCP_CORK,
                              ByteSpan(reinterpret_cast<const std::byte*>(&one), sizeof(one))));
  EXPECT_EQ(send(p.sock, "head"), 4U);
  expect_nothing();  // corked, even with nothing in flight
  advance(std::chrono::milliseconds(199));
  expect_nothing();
  advance(std::chrono::milliseconds(1));
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d, bytes("head"));
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 5});
  // Uncorking sends at once.
  EXPECT_EQ(send(p.sock, "tail"), 4U);
  expect_nothing();
  const int zero = 0;
  ASSERT_TRUE(sock_setsockopt(*p.sock, IPPROTO_TCP, TCP_CORK,
                              ByteSpan(reinterpret_cast<const std::byte*>(&zero), sizeof(zero))));
  expect(kTcpAck | kTcpPsh, p.iss + 5, kPeerIsn + 1, &d);
  EXPECT_EQ(d, bytes("tail"));
}

}  // namespace
}  // namespace usnet::script

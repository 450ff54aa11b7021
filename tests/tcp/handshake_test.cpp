// Scripted tests of connection setup: the ISN (RFC 6528) and where its secret comes from,
// SYN cookies (RFC 4987), a SYN repeated in SYN-RECEIVED, simultaneous open (RFC 9293
// figure 8) and the peer's MSS option at its smallest.
#include <netinet/tcp.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpRst;
using wire::kTcpSyn;

class Handshake : public TcpScript {};

// RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a clock
// ticking every 4 microseconds. The SYN,ACK of one 4-tuple, refused and asked for again one
// second later, advances by exactly 250,000; another 4-tuple at the same moment lands
// elsewhere.
TEST_F(Handshake, IsnAdvancesWithTheClockAndDiffersPer4Tuple) {
  listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0});
  auto first = next_sent();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->flags, kTcpSyn | kTcpAck);
  inject({.flags = kTcpRst, .seq = kPeerIsn + 1, .ack = 0});
  ASSERT_EQ(stack->tcp().connections(), 0U);

  advance(std::chrono::seconds(1));
  inject({.flags = kTcpSyn, .seq = kPeerIsn + 5000, .ack = 0});
  auto again = next_sent();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->seq - first->seq, 250000U);

  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = kPeerPort + 1});
  auto other = next_sent();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->dst_port, kPeerPort + 1);
  const std::uint32_t d = other->seq - again->seq;
  EXPECT_NE(d, 0U);
  // Far from the clock's own step: the hash, not M, tells the two apart.
  EXPECT_GT(std::min(d, 0U - d), 1000000U);
}

// The secret behind F: two stacks given different seeds, or none (getrandom), choose
// different ISNs for the same 4-tuple at the same moment; the same seed gives the same ISN
// (a simulation is reproducible).
TEST(HandshakeSecrets, IsnSecretDependsOnTheSeedOrOnGetrandom) {
  const FourTuple t{kUs, kPort, kPeer, kPeerPort};
  auto isn_of = [&](std::optional<std::uint64_t> seed) {
    StackConfig cfg;
    if (seed) cfg.seed = *seed;
    Stack s(cfg);
    s.poll(kEpoch + std::chrono::seconds(100));
    return s.tcp().isn(t).raw();
  };
  EXPECT_EQ(isn_of(99), isn_of(99));
  EXPECT_NE(isn_of(99), isn_of(100));
  // Without a seed each stack draws its own secret from the kernel: two in a row differ,
  // and neither is the one a fixed default seed would give.
  const std::uint32_t a = isn_of(std::nullopt);
  const std::uint32_t b = isn_of(std::nullopt);
  EXPECT_NE(a, b);
  EXPECT_NE(a, isn_of(1));
  EXPECT_NE(b, isn_of(1));
}

TEST_F(Handshake, SynCookieChildTakesTheDataOfItsFirstSegments) {
  Socket* l = listener(1);
  // One SYN fills the SYN queue (backlog 1); the next is answered with a cookie.
  inject({.flags = kTcpSyn, .seq = 7, .ack = 0, .sport = 20000});
  drain();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  ASSERT_EQ(stack->mib().TcpExtSyncookiesSent, 1U);
  auto synack = next_sent();
  ASSERT_TRUE(synack);
  ASSERT_EQ(synack->flags, kTcpSyn | kTcpAck);
  // A cookie cannot remember window scaling: the window offered is the unscaled initial
  // window (half of tcp_rmem[1] in whole segments, as Linux's).
  EXPECT_EQ(synack->window, 64240);
  EXPECT_FALSE(synack->options.window_scale);
  const std::uint32_t iss = synack->seq;
  // The ACK completing the handshake carries data, and so does the next segment: both are
  // inside the window the SYN,ACK offered and must be taken.
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 1,
          .ack = iss + 1,
          .data = bytes("GET / HTTP/1.1\r\n")});
  EXPECT_EQ(stack->mib().TcpExtSyncookiesRecv, 1U);
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 17,
          .ack = iss + 1,
          .data = bytes("Host: x\r\n\r\n")});
  // The first data of a connection is acknowledged at once (Linux tcp_event_data_recv:
  // tcp_incr_quickack), each segment.
  expect(kTcpAck, iss + 1, kPeerIsn + 17);
  expect(kTcpAck, iss + 1, kPeerIsn + 28);
  EXPECT_EQ(stack->mib().UsnetTcpBeyondWindow, 0U);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(recv(*a), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

// The peer's SYN,ACK of ours was lost and it repeats its SYN: it is answered with the
// SYN,ACK again (Linux tcp_check_req), not with a bare ACK, which a peer in SYN-SENT drops.
TEST_F(Handshake, RepeatedSynInSynReceivedIsAnsweredWithSynAck) {
  listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  const std::uint32_t iss = isn_for();
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  advance(std::chrono::milliseconds(300));
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  auto again = expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  EXPECT_EQ(again.options.mss, 1460);
  expect_nothing();
  EXPECT_EQ(stack->tcp().connections(), 1U);
}

TEST_F(Handshake, RepeatedSynInSimultaneousOpenIsAnsweredWithSynAck) {
  Socket* s = crossing_syns();
  const std::uint32_t iss = isn_for();
  // The peer did not get our SYN,ACK and repeats its SYN.
  advance(std::chrono::milliseconds(600));
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(state(s), TcpState::kSynReceived);
}

// RFC 9293 figure 8, line 6: in SYN-RECEIVED the peer's SYN,ACK acknowledges our SYN and
// the connection is ESTABLISHED; we acknowledge the peer's SYN at once (Linux).
TEST_F(Handshake, SimultaneousOpenCompletesOnThePeersSynAck) {
  Socket* s = crossing_syns();
  const std::uint32_t iss = isn_for();
  inject({.flags = kTcpSyn | kTcpAck,
          .seq = kPeerIsn,
          .ack = iss + 1,
          .window = 100,
          .options = syn_options(false)});
  EXPECT_EQ(state(s), TcpState::kEstablished);
  expect(kTcpAck, iss + 1, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(tsk(s).snd_wnd, 100U);  // a SYN,ACK's window is never scaled (RFC 7323 2.2)
  // The connection works: data flows both ways.
  tsk(s).nodelay = true;
  EXPECT_EQ(send(s, "ping"), 4U);
  expect(kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
  inject({.flags = kTcpAck | kTcpPsh, .seq = kPeerIsn + 1, .ack = iss + 5, .data = bytes("pong")});
  EXPECT_EQ(recv(s), "pong");
}

// Linux __tcp_mtu_to_mss: an MSS option of 0 is ignored (the default 536 stands); any
// other value clamps the segment size, floored at tcp_min_snd_mss (48) before the bytes of
// the options every segment carries (12 with timestamps) are taken off. Never below one
// byte, never wrapping around.
struct MssCase {
  std::uint16_t peer_mss;
  bool ts;
  std::uint16_t expected;
};

class TinyMss : public Handshake, public ::testing::WithParamInterface<MssCase> {};

TEST_P(TinyMss, SegmentSizeIsClampedLikeLinux) {
  const MssCase c = GetParam();
  wire::TcpOptions o = syn_options(false);
  o.mss = c.peer_mss;
  Passive p = open_passive(c.ts, false, 512, o);
  ASSERT_NE(p.sock, nullptr);
  EXPECT_EQ(tsk(p.sock).mss, c.expected);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(1000, 'm')), 1000U);
  std::vector<std::byte> d;
  auto h = next_sent(&d);
  ASSERT_TRUE(h);
  EXPECT_EQ(d.size(), std::min<std::size_t>(c.expected, 1000));
  EXPECT_EQ(h->seq, p.iss + 1);
  auto v = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_MAXSEG);
  ASSERT_TRUE(v);
  int maxseg = 0;
  std::memcpy(&maxseg, v->bytes.data(), sizeof(maxseg));
  EXPECT_EQ(maxseg, c.expected);
}

INSTANTIATE_TEST_SUITE_P(PeerMss, TinyMss,
                         ::testing::Values(MssCase{0, true, 524}, MssCase{0, false, 536},
                                           MssCase{1, true, 36}, MssCase{1, false, 48},
                                           MssCase{12, true, 36}, MssCase{40, false, 48},
                                           MssCase{60, true, 48}, MssCase{88, true, 76},
                                           MssCase{1460, true, 1448}));

}  // namespace
}  // namespace usnet::script

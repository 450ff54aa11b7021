// The effect of each sysctl on the segments (stack/sysctl.h), as Linux's: the SYN's window
// scale from tcp_rmem (tcp_select_initial_window), the options tcp_timestamps, tcp_sack and
// tcp_window_scaling turn off, ip_default_ttl, ip_local_port_range, tcp_syn_retries with
// tcp_syn_linear_timeouts, tcp_synack_retries, somaxconn, tcp_syncookies, the keepalive
// and FIN_WAIT_2 times, and the default congestion control.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpSyn;

class Sysctls : public TcpScript {
 protected:
  void set(const char* name, const char* value) {
    ASSERT_TRUE(sysctl_set(stack->sysctl(), name, value)) << name << "=" << value;
  }
  // connect() from a fresh socket; returns the SYN.
  wire::TcpHeader connect_syn(Socket** out = nullptr) {
    Socket* s = tcp_socket();
    (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
    if (out != nullptr) *out = s;
    auto syn = next_sent();
    EXPECT_TRUE(syn && syn->flags == kTcpSyn);
    return syn.value_or(wire::TcpHeader{});
  }
  // The SYN,ACK a listener answers a Linux-like SYN (with timestamps) with.
  wire::TcpHeader synack_to(const wire::TcpOptions& o = syn_options()) {
    listener();
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = o});
    auto h = next_sent();
    EXPECT_TRUE(h && h->flags == (kTcpSyn | kTcpAck));
    return h.value_or(wire::TcpHeader{});
  }
};

struct WscaleCase {
  const char* tcp_rmem;
  const char* rmem_max;
  int wscale;
};

class WscaleFromRmem : public Sysctls, public ::testing::WithParamInterface<WscaleCase> {};

// Linux: ilog2(max(tcp_full_space, tcp_rmem[2], rmem_max)) - 15, within 0..14. The 15 MiB
// case is the one Linux TCP test suites set (tcp_rmem "4096 131072 15728640"), and 8 is what
// Linux announces for it.
TEST_P(WscaleFromRmem, SynAndSynAckAnnounceLinuxsScale) {
  set("net.ipv4.tcp_rmem", GetParam().tcp_rmem);
  set("net.core.rmem_max", GetParam().rmem_max);
  auto syn = connect_syn();
  EXPECT_EQ(syn.options.window_scale, GetParam().wscale);
  auto synack = synack_to();
  EXPECT_EQ(synack.options.window_scale, GetParam().wscale);
}

INSTANTIATE_TEST_SUITE_P(Linux, WscaleFromRmem,
                         ::testing::Values(WscaleCase{"4096 131072 15728640", "4194304", 8},
                                           WscaleCase{"4096 131072 33554432", "4194304", 10},
                                           WscaleCase{"4096 131072 6291456", "4194304", 7},
                                           WscaleCase{"4096 131072 6291456", "212992", 7},
                                           WscaleCase{"4096 87380 131072", "212992", 2},
                                           WscaleCase{"4096 87380 65536", "4194304", 7},
                                           WscaleCase{"4096 131072 2147483647", "4194304", 14}));

TEST_F(Sysctls, SynWindowIsHalfOfTcpRmem1InWholeSegments) {
  // tcp_select_initial_window: tcp_win_from_space(tcp_rmem[1]) rounded down to the MSS;
  // the SYN,ACK counts segments without the 12 bytes of timestamps.
  EXPECT_EQ(connect_syn().window, 64240);  // 65536 / 1460 * 1460
  EXPECT_EQ(synack_to().window, 65160);    // 65536 / 1448 * 1448
  set("net.ipv4.tcp_rmem", "4096 32768 6291456");
  EXPECT_EQ(connect_syn().window, 16060);  // 16384 / 1460 * 1460
}

TEST_F(Sysctls, SoRcvbufClampsTheScaleToTheBuffer) {
  // SO_RCVBUF locks the buffer: the window clamp is its full space, so the scale is the
  // one that space needs (65536 doubled to 131072, half of it 65536: scale 1).
  Socket* s = tcp_socket();
  const int v = 65536;
  ASSERT_TRUE(sock_setsockopt(*s, SOL_SOCKET, SO_RCVBUF, as_bytes(std::span(&v, 1))));
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  auto syn = next_sent();
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->options.window_scale, 1);
  EXPECT_EQ(syn->window, 64240);
}

TEST_F(Sysctls, TimestampsOffSendsNone) {
  set("net.ipv4.tcp_timestamps", "0");
  auto syn = connect_syn();
  EXPECT_FALSE(syn.options.ts_val);
  EXPECT_TRUE(syn.options.sack_permitted);
  EXPECT_TRUE(syn.options.window_scale);
  // Nor in answer to a peer that offers them (Linux ignores the option in its SYN).
  auto synack = synack_to();
  EXPECT_FALSE(synack.options.ts_val);
  EXPECT_EQ(synack.window, 64240);  // no timestamp bytes to leave out of the segments
}

TEST_F(Sysctls, TimestampsTwoHaveNoRandomOffset) {
  const auto clock_ms = [&] {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(stack->now().time_since_epoch())
            .count());
  };
  auto with_offset = connect_syn();
  ASSERT_TRUE(with_offset.options.ts_val);
  EXPECT_NE(*with_offset.options.ts_val, clock_ms());  // 1: a keyed per-connection offset
  set("net.ipv4.tcp_timestamps", "2");
  auto syn = connect_syn();
  ASSERT_TRUE(syn.options.ts_val);
  EXPECT_EQ(*syn.options.ts_val, clock_ms());  // the stack's clock in ms, offset 0
}

// Linux secure_tcp_ts_off (since 4.13): the offset is per pair of hosts, not per
// connection, so two connections between the same addresses send the same TSval at the
// same time; TSval counts milliseconds (tcp_time_stamp_ms).
TEST_F(Sysctls, TimestampOffsetIsPerHostPair) {
  auto a = connect_syn();
  auto b = connect_syn();
  ASSERT_TRUE(a.options.ts_val && b.options.ts_val);
  EXPECT_NE(a.src_port, b.src_port);
  EXPECT_EQ(*a.options.ts_val, *b.options.ts_val);
  advance(std::chrono::milliseconds(7));
  auto c = connect_syn();
  ASSERT_TRUE(c.options.ts_val);
  EXPECT_EQ(*c.options.ts_val - *a.options.ts_val, 7U);
}

TEST_F(Sysctls, SackOffSendsNoSackPermitted) {
  set("net.ipv4.tcp_sack", "0");
  auto syn = connect_syn();
  EXPECT_FALSE(syn.options.sack_permitted);
  EXPECT_TRUE(syn.options.ts_val);
  auto synack = synack_to();
  EXPECT_FALSE(synack.options.sack_permitted);
}

TEST_F(Sysctls, WindowScalingOffSendsNoScale) {
  set("net.ipv4.tcp_window_scaling", "0");
  auto syn = connect_syn();
  EXPECT_FALSE(syn.options.window_scale);
  EXPECT_EQ(syn.window, 64240);
  auto synack = synack_to();
  EXPECT_FALSE(synack.options.window_scale);
}

TEST_F(Sysctls, DefaultTtlIsTheIpTtl) {
  set("net.ipv4.ip_default_ttl", "33");
  (void)connect_syn();
  EXPECT_EQ(last_ip.ttl, 33);
}

TEST_F(Sysctls, LocalPortRangeBoundsEphemeralPorts) {
  set("net.ipv4.ip_local_port_range", "40000 40001");
  Socket* a = nullptr;
  Socket* b = nullptr;
  (void)connect_syn(&a);
  (void)connect_syn(&b);
  EXPECT_GE(a->local.port, 40000);
  EXPECT_LE(a->local.port, 40001);
  EXPECT_GE(b->local.port, 40000);
  EXPECT_LE(b->local.port, 40001);
  EXPECT_NE(a->local.port, b->local.port);
  Socket* c = tcp_socket();
  EXPECT_EQ(sock_connect(*c, SockAddr::inet(kPeer, kPeerPort), 0).error(),
            Error::kAddressNotAvailable);
}

TEST_F(Sysctls, SynRetriesCountAndTimes) {
  // Two retries, no linear phase: after 1 s and 2 s, then ETIMEDOUT 4 s later.
  set("net.ipv4.tcp_syn_retries", "2");
  set("net.ipv4.tcp_syn_linear_timeouts", "0");
  Socket* s = nullptr;
  auto syn = connect_syn(&s);
  for (int gap : {1, 2}) {
    advance(std::chrono::milliseconds(gap * 1000 - 1));
    expect_nothing();
    advance(std::chrono::milliseconds(1));
    expect(kTcpSyn, syn.seq, 0);
  }
  advance(std::chrono::milliseconds(3999));
  EXPECT_EQ(tcp_sk(*s).state, TcpState::kSynSent);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(tcp_sk(*s).state, TcpState::kClosed);
  EXPECT_EQ(s->take_error(), Error::kTimedOut);
  expect_nothing();
}

TEST_F(Sysctls, LinearTimeoutsAddRetriesAtTheInitialRto) {
  // One retry plus two linear ones: after 1, 1 and 1 s (the third is the first beyond the
  // linear phase: it doubles the RTO), then ETIMEDOUT 2 s later.
  set("net.ipv4.tcp_syn_retries", "1");
  set("net.ipv4.tcp_syn_linear_timeouts", "2");
  Socket* s = nullptr;
  auto syn = connect_syn(&s);
  for (int i = 0; i < 3; ++i) {
    advance(std::chrono::milliseconds(999));
    expect_nothing();
    advance(std::chrono::milliseconds(1));
    expect(kTcpSyn, syn.seq, 0);
  }
  advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(tcp_sk(*s).state, TcpState::kSynSent);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(tcp_sk(*s).state, TcpState::kClosed);
}

TEST_F(Sysctls, SynackRetriesBoundTheHandshake) {
  set("net.ipv4.tcp_synack_retries", "1");
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  auto synack = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  advance(std::chrono::seconds(1));
  expect(kTcpSyn | kTcpAck, synack.seq, kPeerIsn + 1);
  advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(tcp_sk(*l).syn_queue.size(), 1U);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(tcp_sk(*l).syn_queue.size(), 0U);
  expect_nothing();
}

TEST_F(Sysctls, SomaxconnCapsTheBacklog) {
  set("net.core.somaxconn", "2");
  Socket* l = listener(128);
  EXPECT_EQ(tcp_sk(*l).backlog, 2);
  // Linux admits while the accept queue is not above the backlog: three connections, then
  // a SYN is dropped.
  for (std::uint16_t i = 0; i < 3; ++i) {
    const auto port = static_cast<std::uint16_t>(20000 + i);
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = port});
    auto synack = expect(kTcpSyn | kTcpAck, isn_for(kPort, port), kPeerIsn + 1);
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = synack.seq + 1, .sport = port});
  }
  EXPECT_EQ(tcp_sk(*l).accept_queue.size(), 3U);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = 20010});
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtListenOverflows, 1U);
}

TEST_F(Sysctls, SyncookiesZeroDropsWhenTheQueueIsFull) {
  set("net.ipv4.tcp_syncookies", "0");
  listener(1);
  inject({.flags = kTcpSyn, .seq = 7, .ack = 0, .sport = 20000});
  expect(kTcpSyn | kTcpAck, isn_for(kPort, 20000), 8);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = 20001});
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtSyncookiesSent, 0U);
  EXPECT_EQ(stack->mib().TcpExtListenDrops, 1U);
}

TEST_F(Sysctls, SyncookiesTwoAnswersEverySynWithACookie) {
  set("net.ipv4.tcp_syncookies", "2");
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options()});
  auto synack = next_sent();
  ASSERT_TRUE(synack);
  EXPECT_EQ(stack->mib().TcpExtSyncookiesSent, 1U);
  EXPECT_EQ(tcp_sk(*l).syn_queue.size(), 0U);  // nothing remembered
  // Linux cookie_init_timestamp: the options travel in the low 6 bits of the timestamp
  // (the peer's window scale 7, SACK bit 4), under the connection's random offset.
  ASSERT_TRUE(synack->options.ts_val);
  const std::uint32_t offset = tcp_ts_offset(stack->tcp(), kUs, kPeer);
  EXPECT_EQ((*synack->options.ts_val - offset) & 0x3f, 7U | 0x10U);
  EXPECT_TRUE(synack->options.window_scale);
  EXPECT_TRUE(synack->options.sack_permitted);
}

TEST_F(Sysctls, KeepaliveTimesComeFromTheStack) {
  set("net.ipv4.tcp_keepalive_time", "30");
  set("net.ipv4.tcp_keepalive_intvl", "5");
  set("net.ipv4.tcp_keepalive_probes", "2");
  Passive p = open_passive();
  const int on = 1;
  ASSERT_TRUE(sock_setsockopt(*p.sock, SOL_SOCKET, SO_KEEPALIVE, as_bytes(std::span(&on, 1))));
  auto idle = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_KEEPIDLE);
  ASSERT_TRUE(idle);
  int v = 0;
  std::memcpy(&v, idle->bytes.data(), sizeof(v));
  EXPECT_EQ(v, 30);
  advance(std::chrono::milliseconds(29999));
  expect_nothing();
  advance(std::chrono::milliseconds(1));
  expect(kTcpAck, p.iss, kPeerIsn + 1);  // a probe: SND.UNA - 1
  advance(std::chrono::seconds(5));
  expect(kTcpAck, p.iss, kPeerIsn + 1);
  advance(std::chrono::seconds(5));
  EXPECT_EQ(tcp_sk(*p.sock).state, TcpState::kClosed);
  EXPECT_EQ(p.sock->take_error(), Error::kTimedOut);
}

TEST_F(Sysctls, FinTimeoutEndsAnOrphanInFinWait2) {
  set("net.ipv4.tcp_fin_timeout", "10");
  Passive p = open_passive();
  const std::uint32_t iss = p.iss;
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  expect(kTcpAck | kTcpFin, iss + 1, kPeerIsn + 1);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 2});
  EXPECT_EQ(stack->tcp().orphans(), 1U);
  advance(std::chrono::milliseconds(9999));
  EXPECT_EQ(stack->tcp().orphans(), 1U);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(stack->tcp().orphans(), 0U);
}

TEST_F(Sysctls, CongestionControlIsTheDefaultOfNewSockets) {
  EXPECT_EQ(tcp_sk(*tcp_socket()).cc->name(), "cubic");
  set("net.ipv4.tcp_congestion_control", "reno");
  EXPECT_EQ(tcp_sk(*tcp_socket()).cc->name(), "reno");
  EXPECT_EQ(sysctl_set(stack->sysctl(), "net.ipv4.tcp_congestion_control", "bbr").error(),
            Error::kNoEntry);
}

// net.ipv4.tcp_invalid_ratelimit (Linux tcp_oow_rate_limited): one answer per 500 ms per
// socket to segments outside the window; 0 answers every one.
TEST_F(Sysctls, InvalidRatelimitSpacesAnswersToOutOfWindowSegments) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  const Seg stray{.seq = kPeerIsn + 1 + 10'000'000, .ack = p.iss + 1};
  inject(stray);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  inject(stray);
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPACKSkippedSeq, 1U);
  advance(std::chrono::milliseconds(500));
  inject(stray);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  set("net.ipv4.tcp_invalid_ratelimit", "0");
  inject(stray);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPACKSkippedSeq, 1U);
}

// RFC 5961 7 / Linux tcp_send_challenge_ack: a socket's challenge ACKs are spaced by
// tcp_invalid_ratelimit, and tcp_challenge_ack_limit (INT_MAX by default: none) bounds
// them per second across the stack.
TEST_F(Sysctls, ChallengeAckLimitIsPerStackAndPerSocket) {
  EXPECT_EQ(*sysctl_get(stack->sysctl(), "net.ipv4.tcp_challenge_ack_limit"), "2147483647");
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  const Seg syn{.flags = kTcpSyn, .seq = kPeerIsn + 100, .ack = 0};
  inject(syn);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  inject(syn);  // the same socket within 500 ms
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPACKSkippedChallenge, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPChallengeACK, 1U);
  // A stack-wide limit of one per second: a second socket's challenge waits for the next.
  set("net.ipv4.tcp_challenge_ack_limit", "1");
  advance(std::chrono::seconds(1));
  inject(syn);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  inject({.flags = kTcpSyn, .seq = 5000, .ack = 0, .sport = kPeerPort + 1});
  const std::uint32_t iss2 = isn_for(kPort, kPeerPort + 1);
  expect(kTcpSyn | kTcpAck, iss2, 5001);
  inject({.flags = kTcpAck, .seq = 5001, .ack = iss2 + 1, .sport = kPeerPort + 1});
  inject({.flags = kTcpSyn, .seq = 5100, .ack = 0, .sport = kPeerPort + 1});
  expect_nothing();
  advance(std::chrono::seconds(1));
  inject({.flags = kTcpSyn, .seq = 5100, .ack = 0, .sport = kPeerPort + 1});
  expect(kTcpAck, iss2 + 1, 5001);
}

// net.ipv4.tcp_reordering is the duplicate threshold: with 2, two SACKed segments above a
// hole mark it lost at once (RACK's reordering window is zero past the threshold), where
// with the default 3 the hole waits for the window.
TEST_F(Sysctls, ReorderingIsTheDuplicateThreshold) {
  set("net.ipv4.tcp_reordering", "2");
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  EXPECT_EQ(info(p.sock).tcpi_reordering, 2U);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3 * 1460, 'r')), 3U * 1460);
  drain();
  wire::TcpOptions sack;
  sack.sack_count = 1;
  sack.sack[0] = {p.iss + 1461, p.iss + 4381};
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .options = sack});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPSackRecovery, 1U);
}

}  // namespace
}  // namespace usnet::script

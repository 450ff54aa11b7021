// Scripted tests of ECN (RFC 3168 6.1) as Linux does it: the negotiation under each value of
// net.ipv4.tcp_ecn on both sides (tcp_ecn_send_syn, tcp_ecn_create_request,
// tcp_ecn_rcv_synack), ECT(0) on new data only (tcp_ecn_send), ECE echoed from CE until
// CWR (tcp_ecn_check_ce, tcp_ecn_accept_cwr), one reduction per window for ECE
// (tcp_enter_cwr) with CWR on the next new segment, the IpExtIn*Pkts counters and IP_TOS
// keeping its hands off the ECN field of a TCP socket.
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>

#include "stack/sysctl.h"
#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpCwr;
using wire::kTcpEce;
using wire::kTcpPsh;
using wire::kTcpSyn;

constexpr std::uint8_t kEcnMask = 0x03;
constexpr std::uint8_t kNotEct = 0x00;
constexpr std::uint8_t kEct0 = 0x02;
constexpr std::uint8_t kCe = 0x03;

class Ecn : public TcpScript {
 protected:
  void set(const char* name, const char* value) {
    ASSERT_TRUE(sysctl_set(stack->sysctl(), name, value)) << name << "=" << value;
  }
  // A passive open whose SYN carries `syn_flags` (SYN|ECE|CWR asks for ECN); returns the
  // accepted socket and leaves the SYN,ACK in `synack`.
  // Each call comes from a new peer port, to the one listener.
  Passive open(std::uint8_t syn_flags, wire::TcpHeader* synack = nullptr, std::uint8_t tos = 0) {
    Passive p;
    if (l_ == nullptr) l_ = listener();
    p.listener = l_;
    sport_++;
    inject({.flags = syn_flags,
            .seq = kPeerIsn,
            .ack = 0,
            .options = syn_options(false),
            .sport = sport_,
            .tos = tos});
    p.iss = isn_for(kPort, sport_);
    auto sa = expect(kTcpSyn | kTcpAck | (synack_ece_ ? kTcpEce : 0), p.iss, kPeerIsn + 1);
    EXPECT_EQ(last_ip.tos & kEcnMask, kNotEct) << "a SYN,ACK is never ECT";
    if (synack != nullptr) *synack = sa;
    inject(
        {.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 512, .sport = sport_});
    auto a = sock_accept(*p.listener, 0);
    EXPECT_TRUE(a);
    if (a) p.sock = *a;
    return p;
  }
  Passive open_ecn() {
    synack_ece_ = true;
    Passive p = open(kTcpSyn | kTcpEce | kTcpCwr);
    EXPECT_NE(info(p.sock).tcpi_options & TCPI_OPT_ECN, 0);
    tsk(p.sock).nodelay = true;
    // Past the start of the connection: no quick ACKs left, the delayed-ACK engine running.
    tsk(p.sock).quickacks = 0;
    tsk(p.sock).ato = kTcpAtoMin;
    tsk(p.sock).lrcvtime = now;
    return p;
  }
  bool synack_ece_ = false;
  Socket* l_ = nullptr;
  std::uint16_t sport_ = kPeerPort - 1;
};

// net.ipv4.tcp_ecn=1 asks on an active open: SYN with ECE and CWR, never ECT.
TEST_F(Ecn, ActiveOpenAsksOnlyWithTcpEcnOne) {
  for (const char* v : {"0", "1", "2"}) {
    set("net.ipv4.tcp_ecn", v);
    Socket* s = tcp_socket();
    (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
    auto syn = next_sent();
    ASSERT_TRUE(syn);
    const std::uint8_t want = std::string_view(v) == "1" ? kTcpSyn | kTcpEce | kTcpCwr : kTcpSyn;
    EXPECT_EQ(syn->flags, want) << "tcp_ecn=" << v;
    EXPECT_EQ(last_ip.tos & kEcnMask, kNotEct);
    (void)sock_close(*stack, s->fd);
    drain();
  }
}

// An ECN-setup SYN,ACK has ECE without CWR (RFC 3168 6.1.1); with both, or without ECE,
// the connection goes without ECN (Linux tcp_ecn_rcv_synack).
TEST_F(Ecn, ActiveOpenAgreesOnlyOnAnEcnSetupSynAck) {
  set("net.ipv4.tcp_ecn", "1");
  for (std::uint8_t answer :
       {std::uint8_t{kTcpEce}, std::uint8_t{kTcpEce | kTcpCwr}, std::uint8_t{0}}) {
    Socket* s = tcp_socket();
    (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
    const std::uint32_t iss = isn_for(s->local.port);
    expect(kTcpSyn | kTcpEce | kTcpCwr, iss, 0);
    inject({.flags = static_cast<std::uint8_t>(kTcpSyn | kTcpAck | answer),
            .seq = kPeerIsn,
            .ack = iss + 1,
            .options = syn_options(false),
            .sport = kPeerPort,
            .dport = s->local.port});
    ASSERT_EQ(state(s), TcpState::kEstablished);
    expect(kTcpAck, iss + 1, kPeerIsn + 1);
    const bool ok = answer == kTcpEce;
    EXPECT_EQ((info(s).tcpi_options & TCPI_OPT_ECN) != 0, ok) << int(answer);
    tsk(s).nodelay = true;
    EXPECT_EQ(send(s, "x"), 1U);
    expect(kTcpAck | kTcpPsh, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(last_ip.tos & kEcnMask, ok ? kEct0 : kNotEct);
    (void)sock_close(*stack, s->fd);
    drain();
  }
}

// Linux tcp_ecn_clear_syn (tcp_ecn_fallback): a retransmitted SYN no longer asks, in case
// something on the path drops ECN-setup SYNs.
TEST_F(Ecn, RetransmittedSynDoesNotAsk) {
  set("net.ipv4.tcp_ecn", "1");
  Socket* s = tcp_socket();
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  const std::uint32_t iss = isn_for(s->local.port);
  expect(kTcpSyn | kTcpEce | kTcpCwr, iss, 0);
  advance(1s);
  expect(kTcpSyn, iss, 0);
}

// The passive side answers an ECN-setup SYN with ECE for tcp_ecn 1 and 2, not for 0.
TEST_F(Ecn, PassiveOpenAcceptsUnlessTcpEcnZero) {
  for (const char* v : {"0", "1", "2"}) {
    SCOPED_TRACE(v);
    set("net.ipv4.tcp_ecn", v);
    const bool on = std::string_view(v) != "0";
    synack_ece_ = on;
    Passive p = open(kTcpSyn | kTcpEce | kTcpCwr);
    ASSERT_NE(p.sock, nullptr);
    EXPECT_EQ((info(p.sock).tcpi_options & TCPI_OPT_ECN) != 0, on);
    drain();
  }
}

// A SYN without ECE|CWR, with only ECE, or itself ECT-marked (RFC 3168 6.1.1 forbids ECT on
// SYNs: the field is being rewritten on the path) gets a plain SYN,ACK.
TEST_F(Ecn, PassiveOpenRefusesAPartialOrMarkedRequest) {
  struct Case {
    std::uint8_t flags;
    std::uint8_t tos;
  };
  for (const Case c :
       {Case{kTcpSyn, 0}, Case{kTcpSyn | kTcpEce, 0}, Case{kTcpSyn | kTcpEce | kTcpCwr, kEct0}}) {
    synack_ece_ = false;
    Passive p = open(c.flags, nullptr, c.tos);
    ASSERT_NE(p.sock, nullptr);
    EXPECT_EQ(info(p.sock).tcpi_options & TCPI_OPT_ECN, 0) << int(c.flags) << " " << int(c.tos);
    drain();
  }
}

// RFC 3168 6.1.5, Linux tcp_ecn_send: new data goes ECT(0); pure ACKs and retransmissions
// go Not-ECT.
TEST_F(Ecn, EctOnNewDataOnly) {
  Passive p = open_ecn();
  EXPECT_EQ(send(p.sock, "hello"), 5U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(last_ip.tos & kEcnMask, kEct0);
  // The retransmission after the RTO: Not-ECT.
  advance(200ms);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(last_ip.tos & kEcnMask, kNotEct);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 6, .window = 512});
  // A pure ACK of the peer's data: Not-ECT.
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 6,
          .window = 512,
          .data = bytes("ab"),
          .tos = kEct0});
  advance(40ms);
  expect(kTcpAck, p.iss + 6, kPeerIsn + 3);
  EXPECT_EQ(last_ip.tos & kEcnMask, kNotEct);
  EXPECT_NE(info(p.sock).tcpi_options & TCPI_OPT_ECN_SEEN, 0);
  EXPECT_EQ(stack->mib().IpExtInECT0Pkts, 1U);
}

// RFC 3168 6.1.3: CE on arriving data sets ECE on every ACK (and the ACK goes at once,
// Linux quickack on CE) until a segment with CWR arrives, whose ACK again goes at once.
TEST_F(Ecn, CeIsEchoedUntilCwr) {
  Passive p = open_ecn();
  const std::uint64_t ce_before = stack->mib().IpExtInCEPkts;
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 1,
          .window = 512,
          .data = bytes("a"),
          .tos = kCe});
  EXPECT_EQ(stack->mib().IpExtInCEPkts, ce_before + 1);
  expect(kTcpAck | kTcpEce, p.iss + 1, kPeerIsn + 2);  // at once
  // Later ECT data: still ECE, on the ACK and on our own data.
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 2,
          .ack = p.iss + 1,
          .window = 512,
          .data = bytes("b"),
          .tos = kEct0});
  advance(500ms);
  expect(kTcpAck | kTcpEce, p.iss + 1, kPeerIsn + 3);
  EXPECT_EQ(send(p.sock, "r"), 1U);
  expect(kTcpAck | kTcpPsh | kTcpEce, p.iss + 1, kPeerIsn + 3);
  EXPECT_EQ(last_ip.tos & kEcnMask, kEct0);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 3, .ack = p.iss + 2, .window = 512});
  // CWR ends the echo; its segment is acknowledged at once.
  inject({.flags = kTcpAck | kTcpCwr,
          .seq = kPeerIsn + 3,
          .ack = p.iss + 2,
          .window = 512,
          .data = bytes("c"),
          .tos = kEct0});
  expect(kTcpAck, p.iss + 2, kPeerIsn + 4);
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 4,
          .ack = p.iss + 2,
          .window = 512,
          .data = bytes("d"),
          .tos = kEct0});
  advance(500ms);
  expect(kTcpAck, p.iss + 2, kPeerIsn + 5);
  expect_nothing();
}

// RFC 3168 6.1.2: an ECE reduces the congestion window once per window of data (Linux
// tcp_enter_cwr: ssthresh from the congestion control, CWR on the next new segment);
// further ECEs for data sent before the reduction change nothing.
TEST_F(Ecn, EceReducesOncePerWindowAndSendsCwr) {
  Passive p = open_ecn();
  TcpSock& sk = tsk(p.sock);
  const std::uint32_t mss = sk.mss;
  EXPECT_EQ(send(p.sock, std::string(10 * mss, 'e')), 10U * mss);
  for (std::uint32_t i = 0; i < 10; ++i)
    expect(i == 9 ? kTcpAck | kTcpPsh : kTcpAck, p.iss + 1 + i * mss, kPeerIsn + 1);
  const std::uint32_t cwnd0 = sk.cwnd;
  ASSERT_EQ(cwnd0, 10 * mss);
  // The ACK of the first segment echoes CE.
  inject({.flags = kTcpAck | kTcpEce, .seq = kPeerIsn + 1, .ack = p.iss + 1 + mss, .window = 512});
  // CUBIC (the default): beta 717/1024 of the window in segments (Linux bictcp_recalc_ssthresh).
  const std::uint32_t ssthresh =
      sk.cc->name() == "cubic" ? cwnd0 / mss * 717 / 1024 * mss : cwnd0 / 2;
  EXPECT_EQ(sk.ssthresh, ssthresh);
  EXPECT_EQ(sk.cwnd, ssthresh);
  EXPECT_EQ(stack->mib().UsnetTcpEcnReductions, 1U);
  // More ECEs from the same window: no further reduction, no growth either.
  for (std::uint32_t i = 2; i <= 9; ++i) {
    inject({.flags = kTcpAck | kTcpEce,
            .seq = kPeerIsn + 1,
            .ack = p.iss + 1 + i * mss,
            .window = 512});
  }
  EXPECT_EQ(sk.cwnd, ssthresh);
  EXPECT_EQ(stack->mib().UsnetTcpEcnReductions, 1U);
  drain();
  // The next new data segment carries CWR, and only that one.
  EXPECT_EQ(send(p.sock, std::string(2 * mss, 'f')), 2U * mss);
  auto first = next_sent();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->flags, kTcpAck | kTcpCwr);
  EXPECT_EQ(first->seq, p.iss + 1 + 10 * mss);
  auto second = next_sent();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->flags, kTcpAck | kTcpPsh);
  // Once everything outstanding at the reduction is acknowledged (and more), a new ECE is
  // a new congestion event.
  inject({.flags = kTcpAck | kTcpEce,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 1 + 11 * mss,
          .window = 512});
  EXPECT_EQ(stack->mib().UsnetTcpEcnReductions, 2U);
}

// Without ECN agreed an ECE means nothing.
TEST_F(Ecn, EceWithoutEcnIsIgnored) {
  Passive p = open(kTcpSyn);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(2920, 'g')), 2920U);
  drain();
  const std::uint32_t cwnd0 = tsk(p.sock).cwnd;
  inject({.flags = kTcpAck | kTcpEce, .seq = kPeerIsn + 1, .ack = p.iss + 1461, .window = 512});
  EXPECT_GE(tsk(p.sock).cwnd, cwnd0);
  EXPECT_EQ(stack->mib().UsnetTcpEcnReductions, 0U);
}

// Linux __ip_sock_set_tos: on a TCP socket IP_TOS sets the DSCP bits only; the ECN field is
// TCP's.
TEST_F(Ecn, IpTosCannotSetTheEcnFieldOfTcp) {
  Passive p = open_ecn();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_IP, IP_TOS, 0x13));
  auto v = sock_getsockopt(*p.sock, IPPROTO_IP, IP_TOS);
  ASSERT_TRUE(v);
  int tos = -1;
  std::memcpy(&tos, v->bytes.data(), sizeof(tos));
  EXPECT_EQ(tos, 0x10);
  EXPECT_EQ(send(p.sock, "t"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  EXPECT_EQ(last_ip.tos, 0x10 | kEct0);
}

}  // namespace
}  // namespace usnet::script

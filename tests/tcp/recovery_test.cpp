// Scripted tests of loss recovery: what a timeout does to the SACK scoreboard (RFC 2018
// section 8) and the recovery point of NewReno (RFC 6582 3.2) over a long connection.
#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpPsh;

class Recovery : public TcpScript {};

// RFC 2018 section 8: "after a retransmit timeout the data sender SHOULD turn off all of
// the SACKed bits in its scoreboard, since the timeout might indicate that the data
// receiver has reneged". A receiver that dropped what it had SACKed is then served from
// SND.UNA on, rather than left with a hole no timeout ever fills.
TEST_F(Recovery, TimeoutForgetsWhatWasSacked) {
  // RFC 6675's duplicate-ACK recovery and timeouts alone (net.ipv4.tcp_recovery=0, no
  // tail loss probe); rack_test.cpp has RACK's.
  stack->sysctl().tcp_recovery = 0;
  stack->sysctl().tcp_early_retrans = 0;
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  ASSERT_TRUE(tsk(p.sock).sack_ok);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3 * 1460, 'r')), 3U * 1460);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  expect(kTcpAck, p.iss + 1461, kPeerIsn + 1);
  expect(kTcpAck | kTcpPsh, p.iss + 2921, kPeerIsn + 1);
  // The first segment is lost; the peer SACKs the other two...
  wire::TcpOptions sack;
  sack.sack_count = 1;
  sack.sack[0] = {p.iss + 1461, p.iss + 4381};
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .options = sack});
  expect_nothing();
  // ...the timeout resends the first...
  advance(200ms);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  expect_nothing();
  // ...and the peer, short of memory, has dropped the two it had SACKed: it acknowledges
  // only the first. Both must be sent again now, in slow start (cwnd 2).
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1461});
  expect(kTcpAck, p.iss + 1461, kPeerIsn + 1);
  expect(kTcpAck | kTcpPsh, p.iss + 2921, kPeerIsn + 1);
  expect_nothing();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 4381});
  EXPECT_EQ(tsk(p.sock).snd_una.raw(), p.iss + 4381);
  EXPECT_TRUE(tsk(p.sock).scoreboard.empty());
}

// A link with a 64 KiB MTU, so that gigabytes take few segments.
class JumboRecovery : public TcpScript {
 protected:
  JumboRecovery() : TcpScript(ScriptConfig{.seed = 99, .mtu = 65535}) {}
};

// RFC 6582 3.2 step 1 enters fast retransmit only for duplicate ACKs that cover more than
// "recover", the highest sequence number sent at the last loss. Compared modulo 2^32 a
// recovery point left behind by more than 2^31 bytes looks ahead of SND.UNA: it must follow
// SND.UNA while no loss is being repaired, or a long loss-free connection never fast
// retransmits again.
TEST_F(JumboRecovery, FastRetransmitStillWorksAfterTwoGibibytesWithoutLoss) {
  wire::TcpOptions o = syn_options(false);
  o.mss = 65495;
  Passive p = open_passive(false, false, 65535, o);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  ASSERT_EQ(sk.mss, 65495);
  ASSERT_EQ(sk.cc->name(), "cubic");
  sk.nodelay = true;
  const std::string block(1U << 22, 'g');
  std::uint64_t total = 0;
  const std::uint64_t target = (1ULL << 31) + (64ULL << 20);
  while (total < target || sk.snd_una != sk.snd_max || !sk.sndq.empty()) {
    if (total < target) total += send(p.sock, block);
    dev.sent.clear();  // the peer receives everything...
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = sk.snd_max.raw(), .window = 65535});
  }
  dev.sent.clear();
  EXPECT_EQ(stack->mib().TcpRetransSegs, 0U);
  EXPECT_EQ(sk.bytes_acked, total);
  // ...until one segment is lost.
  EXPECT_EQ(send(p.sock, std::string(4 * 65495, 'h')), 4U * 65495);
  const std::uint32_t first = sk.snd_una.raw();
  for (std::uint32_t i = 0; i < 4; ++i) {
    std::vector<std::byte> d;
    expect(i == 3 ? kTcpAck | kTcpPsh : kTcpAck, first + i * 65495, kPeerIsn + 1, &d);
    EXPECT_EQ(d.size(), 65495U);
  }
  for (int i = 0; i < 3; ++i) {
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = first, .window = 65535});
  }
  std::vector<std::byte> d;
  expect(kTcpAck, first, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 65495U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastRetrans, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPRenoRecovery, 1U);
  // The repaired hole is acknowledged with all the rest: recovery ends.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = first + 4 * 65495, .window = 65535});
  EXPECT_FALSE(sk.in_recovery);
  EXPECT_EQ(sk.snd_una, sk.snd_max);
}

}  // namespace
}  // namespace usnet::script

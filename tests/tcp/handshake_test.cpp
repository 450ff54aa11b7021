// Scripted tests of connection setup: the ISN (RFC 6528) and where its secret comes from.
#include <netinet/tcp.h>

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

}  // namespace
}  // namespace usnet::script

// Congestion control against a bottleneck: a 100 Mbit/s link with a 1,000-frame drop-tail
// queue and 1% random loss, where a TCP that halves its window on loss never fills the
// queue. Found by the interop tests over impaired links (impaired_link_test.cpp): after a
// retransmission timeout, the cumulative ACK over the data the peer had SACKed made CUBIC
// grow cwnd from one segment to tens of thousands, and the next flight overran the queue.
#include <gtest/gtest.h>

#include <cstdio>

#include "support/sim_net.h"
#include "support/tcp_helpers.h"

namespace usnet::sim {
namespace {

// One ACK covering 2,000 segments, right after a timeout (cwnd one segment, ssthresh four):
// slow start takes cwnd to ssthresh, and congestion avoidance may add at most half of it
// (RFC 9438 4.4: the target is bounded by 1.5 cwnd; Linux bictcp_update: cnt >= 2).
TEST(TcpCongestion, CubicGrowsAtMostHalfAWindowOnOneStretchAck) {
  SimNet net;
  Conn c = connect_pair(net, 5001);
  ASSERT_NE(c.client, nullptr);
  auto& sk = static_cast<TcpSock&>(*c.client);
  ASSERT_EQ(sk.cc->name(), "cubic");
  const std::uint32_t mss = sk.mss;
  sk.cwnd = 40 * mss;
  sk.ssthresh = sk.cc->ssthresh(sk, net.now);  // a loss at 40 segments
  sk.cc->on_rto(sk);
  sk.cwnd = mss;
  sk.ssthresh = 4 * mss;
  sk.cc->on_ack(sk, 2000 * mss, net.now + std::chrono::milliseconds(5));
  EXPECT_GE(sk.cwnd, 4 * mss);
  EXPECT_LE(sk.cwnd, 6 * mss) << sk.cwnd / mss << " segments";
  // Acknowledgements of one segment each grow it no faster than the bound either.
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t before = sk.cwnd;
    sk.cc->on_ack(sk, mss, net.now + std::chrono::milliseconds(10 + i));
    EXPECT_LE(sk.cwnd, before + before / 2 + mss);
  }
}

// 32 MiB over the bottleneck: every retransmission answers a loss on the wire, and the
// queue is never overrun.
TEST(TcpCongestion, LossyBottleneckQueueIsNeverOverrun) {
  SimNetOptions o;
  o.a_to_b.loss = 0.01;
  o.a_to_b.rate_bps = 100'000'000;
  o.a_to_b.queue_limit = 1000;
  o.a_to_b.delay = std::chrono::microseconds(100);
  o.b_to_a = o.a_to_b;
  o.seed = 3;
  SimNet net(o);
  const TransferResult r = transfer_and_close(net, 3, 32 << 20, std::chrono::seconds(600));
  ASSERT_TRUE(r.ok);
  const auto& w = net.wire.a_to_b();
  std::printf(
      "32 MiB at 1%% loss into a 1000-frame queue: %.2f s virtual, %llu lost, %llu "
      "queue drops, %llu retransmissions, %llu timeouts\n",
      std::chrono::duration<double>(r.elapsed).count(), static_cast<unsigned long long>(w.lost),
      static_cast<unsigned long long>(w.queue_dropped), static_cast<unsigned long long>(r.retrans),
      static_cast<unsigned long long>(net.a->mib().TcpExtTCPTimeouts));
  EXPECT_EQ(w.queue_dropped, 0U);
  EXPECT_LE(r.retrans, w.lost + w.lost / 2 + 20);
}

}  // namespace
}  // namespace usnet::sim

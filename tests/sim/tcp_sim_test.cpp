// TCP between two stacks over the memory wire, in virtual time.
#include <gtest/gtest.h>

#include <map>

#include "support/sim_net.h"
#include "support/tcp_helpers.h"

namespace usnet::sim {
namespace {

TEST(TcpSim, HandshakeTransferAndClose) {
  SimNet net(Impairments{}, 1, "tcp_handshake.pcap");
  Conn c = connect_pair(net, 80);
  ASSERT_NE(c.server, nullptr);
  EXPECT_EQ(state_of(*c.server), TcpState::kEstablished);
  EXPECT_EQ(net.a->mib().TcpActiveOpens, 1U);
  EXPECT_EQ(net.b->mib().TcpPassiveOpens, 1U);

  Transfer t;
  t.tx = c.client;
  t.rx = c.server;
  t.total = 1 << 20;
  t.seed = 7;
  ASSERT_TRUE(net.run_until([&] { return t.step(); }, std::chrono::seconds(60)));
  EXPECT_EQ(t.received, t.total);
  EXPECT_FALSE(t.mismatch);
  EXPECT_EQ(t.rx_digest.h, t.tx_digest.h);
  // The server closes too; the client (first to close) ends in TIME_WAIT, the server CLOSED.
  EXPECT_TRUE(sock_shutdown(*c.server, SHUT_WR));
  ASSERT_TRUE(net.run_until([&] {
    return state_of(*c.client) == TcpState::kTimeWait && state_of(*c.server) == TcpState::kClosed;
  })) << tcp_state_name(state_of(*c.client))
      << " " << tcp_state_name(state_of(*c.server));
  net.run_for(std::chrono::seconds(61));
  EXPECT_EQ(state_of(*c.client), TcpState::kClosed);
  EXPECT_EQ(net.a->mib().TcpRetransSegs, 0U);
}

}  // namespace
}  // namespace usnet::sim

namespace usnet::sim {
namespace {

// One transfer of `bytes` from a to b over a wire with `imp`, then both ends close.
TransferResult run_transfer(const Impairments& imp, std::uint64_t seed, std::uint64_t bytes,
                            Duration limit, const std::string& pcap = {}) {
  SimNet net(imp, seed, pcap);
  return transfer_and_close(net, seed, bytes, limit);
}

TEST(TcpSim, LossyLinkOneSeed) {
  Impairments imp;
  imp.loss = 0.10;
  imp.delay = std::chrono::milliseconds(5);
  imp.rate_bps = 100'000'000;
  auto r = run_transfer(imp, 3, 4 << 20, std::chrono::seconds(3600), "tcp_lossy.pcap");
  EXPECT_TRUE(r.ok);
  std::printf("4 MiB at 10%% loss: %.3f s virtual, %llu retransmissions\n",
              std::chrono::duration<double>(r.elapsed).count(),
              static_cast<unsigned long long>(r.retrans));
}

}  // namespace
}  // namespace usnet::sim

namespace usnet::sim {
namespace {

// The impairment profile of a seed: each seed of the sweep gets one of these, with
// delay and jitter so that reordering happens on the wire as well. The sweep checks every
// byte, so its corruption is of the kinds the Internet checksum always catches (bursts
// inside a word, swapped bytes); corruption_sim_test.cpp shows what the others do.
Impairments profile(std::uint64_t seed) {
  Impairments imp;
  imp.corrupt_kinds = kCorruptCaught;
  imp.delay = std::chrono::milliseconds(1 + seed % 5);
  imp.jitter = std::chrono::microseconds(200);
  imp.rate_bps = 1'000'000'000;
  switch (seed % 6) {
    case 0:
      imp.loss = 0.01;
      break;
    case 1:
      imp.loss = 0.10;
      break;
    case 2:
      imp.reorder = 0.05;
      imp.jitter = std::chrono::milliseconds(2);
      break;
    case 3:
      imp.duplicate = 0.05;
      break;
    case 4:
      imp.corrupt = 0.01;
      break;
    default:
      imp.loss = 0.01;
      imp.reorder = 0.02;
      imp.duplicate = 0.02;
      imp.corrupt = 0.005;
      imp.rate_bps = 50'000'000;
      break;
  }
  return imp;
}

#ifdef USNET_SANITIZED
constexpr std::uint64_t kSeedsPerShard = 1;  // sanitizers run ~5x slower: a tenth of the seeds
#else
constexpr std::uint64_t kSeedsPerShard = 10;
#endif
constexpr std::uint64_t kShards = 20;  // 20 x 10 = 200 seeds

class TcpSeedSweep : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(TcpSeedSweep, SixteenMiBArriveOnceInOrder) {
  if (kSeedsPerShard < 10) {
    std::printf(
        "NOTE: sanitizer build: %llu of 10 seeds in this shard (all 200 run in the "
        "debug preset)\n",
        static_cast<unsigned long long>(kSeedsPerShard));
  }
  for (std::uint64_t i = 0; i < kSeedsPerShard; ++i) {
    const std::uint64_t seed = GetParam() * 10 + i + 1;
    auto r = run_transfer(profile(seed), seed, 16 << 20, std::chrono::seconds(7200));
    ASSERT_TRUE(r.ok) << "seed " << seed;
    std::printf("seed %3llu profile %llu: 16 MiB in %.2f s virtual, %llu retransmissions\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed % 6),
                std::chrono::duration<double>(r.elapsed).count(),
                static_cast<unsigned long long>(r.retrans));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, TcpSeedSweep, ::testing::Range<std::uint64_t>(0, kShards));

}  // namespace
}  // namespace usnet::sim

namespace usnet::sim {
namespace {

TEST(TcpSim, OneGibOverCleanLink) {
  Impairments imp;
  imp.delay = std::chrono::microseconds(500);
  imp.rate_bps = 10'000'000'000;
#ifdef USNET_SANITIZED
  const std::uint64_t bytes = 128ULL << 20;
  std::printf("NOTE: sanitizer build: 128 MiB instead of 1 GiB (the debug preset runs 1 GiB)\n");
#else
  const std::uint64_t bytes = 1ULL << 30;
#endif
  auto r = run_transfer(imp, 42, bytes, std::chrono::seconds(3600));
  EXPECT_TRUE(r.ok);
  const double secs = std::chrono::duration<double>(r.elapsed).count();
  std::printf("clean link, %llu MiB: %.3f s virtual, %.2f Gbit/s, %llu retransmissions\n",
              static_cast<unsigned long long>(bytes >> 20), secs,
              static_cast<double>(bytes) * 8 / secs / 1e9,
              static_cast<unsigned long long>(r.retrans));
  EXPECT_EQ(r.retrans, 0U);
}

TEST(TcpSim, TenThousandConcurrentConnections) {
  SimNet net;
  constexpr int kConns = 10000;
  Socket* l = tcp_listener(*net.b, 9000, 4096);
  ASSERT_NE(l, nullptr);
  std::vector<Socket*> clients;
  std::vector<Socket*> servers;
  clients.reserve(kConns);
  for (int i = 0; i < kConns; ++i) {
    Socket* c = tcp_socket(*net.a);
    ASSERT_NE(c, nullptr);
    auto st = sock_connect(*c, SockAddr::inet(kAddrB, 9000), 0);
    ASSERT_EQ(st.error(), Error::kInProgress);
    clients.push_back(c);
    if (i % 1000 == 999) {
      // Let the handshakes complete and drain the accept queue as a server would.
      net.run_until([&] {
        for (;;) {
          auto r = sock_accept(*l, 0);
          if (!r) break;
          servers.push_back(*r);
        }
        return servers.size() == clients.size();
      });
    }
  }
  ASSERT_EQ(servers.size(), static_cast<std::size_t>(kConns));
  EXPECT_EQ(net.a->mib().TcpCurrEstab, static_cast<std::uint64_t>(kConns));
  EXPECT_EQ(net.b->mib().TcpCurrEstab, static_cast<std::uint64_t>(kConns));
  // Every connection carries a few bytes each way, on its own 4-tuple.
  for (int i = 0; i < kConns; ++i) {
    const std::uint32_t v = static_cast<std::uint32_t>(i);
    const ByteSpan iov[] = {ByteSpan(reinterpret_cast<const std::byte*>(&v), sizeof(v))};
    ASSERT_TRUE(sock_sendmsg(*clients[static_cast<std::size_t>(i)], SendMsg{iov, nullptr}, 0));
  }
  std::size_t matched = 0;
  net.run_until([&] {
    matched = 0;
    for (Socket* s : servers) {
      std::uint32_t v = 0;
      const MutableByteSpan iov[] = {MutableByteSpan(reinterpret_cast<std::byte*>(&v), sizeof(v))};
      auto r = sock_recvmsg(*s, RecvMsg{iov}, MSG_PEEK);
      if (r && r->copied == sizeof(v)) ++matched;
    }
    return matched == servers.size();
  });
  EXPECT_EQ(matched, servers.size());
  // The peer of server socket k sent its own index: the tuples are not crossed.
  std::size_t right = 0;
  for (Socket* s : servers) {
    std::uint32_t v = 0;
    const MutableByteSpan iov[] = {MutableByteSpan(reinterpret_cast<std::byte*>(&v), sizeof(v))};
    auto r = sock_recvmsg(*s, RecvMsg{iov}, 0);
    if (!r || v >= kConns) continue;
    if (clients[v]->local.port == s->remote.port) ++right;
  }
  EXPECT_EQ(right, servers.size());
  for (Socket* c : clients)
    EXPECT_TRUE(sock_close(*net.a, c->fd));
  net.run_for(std::chrono::seconds(1));  // the FINs arrive: servers in CLOSE_WAIT
  EXPECT_EQ(net.b->mib().TcpCurrEstab, static_cast<std::uint64_t>(kConns));
  for (Socket* s : servers)
    EXPECT_TRUE(sock_close(*net.b, s->fd));
  net.run_until([&] { return net.b->tcp().connections() == 0; }, std::chrono::seconds(5));
  EXPECT_EQ(net.b->tcp().connections(), 0U);
  if (net.b->tcp().connections() != 0) {
    std::map<std::string_view, int> states;
    net.b->tcp().for_each([&](const TcpSock& sk) { states[tcp_state_name(sk.state)]++; });
    for (auto& [k, v] : states)
      ADD_FAILURE() << k << ": " << v;
  }
  EXPECT_EQ(net.b->mib().TcpCurrEstab, 0U);
  // The clients closed first: their ends wait in TIME_WAIT, then go.
  net.run_for(std::chrono::seconds(61));
  EXPECT_EQ(net.a->tcp().connections(), 0U);
  EXPECT_EQ(net.a->tcp().orphans(), 0U);
}

}  // namespace
}  // namespace usnet::sim

namespace usnet::sim {
namespace {

TEST(TcpSim, ClosedConnectionsAreBoundedByTheOrphanAndTimeWaitLimits) {
  StackConfig cfg;
  cfg.sysctl.tcp_max_tw_buckets = 5;
  cfg.sysctl.tcp_max_orphans = 8;
  SimNet net(Impairments{}, 3, {}, cfg);
  Socket* l = tcp_listener(*net.b, 7000, 64);
  std::vector<Socket*> clients;
  std::vector<Socket*> servers;
  for (int i = 0; i < 20; ++i) {
    Socket* c = tcp_socket(*net.a);
    ASSERT_EQ(sock_connect(*c, SockAddr::inet(kAddrB, 7000), 0).error(), Error::kInProgress);
    clients.push_back(c);
  }
  ASSERT_TRUE(net.run_until([&] {
    while (auto r = sock_accept(*l, 0))
      servers.push_back(*r);
    return servers.size() == clients.size();
  }));
  // The peers keep their ends open, so each closed end must live on (FIN_WAIT) as an
  // orphan: the first eight are kept, the other twelve are reset.
  for (Socket* c : clients)
    ASSERT_TRUE(sock_close(*net.a, c->fd));
  EXPECT_EQ(net.a->tcp().orphans(), 8U);
  EXPECT_EQ(net.a->mib().TcpExtTCPAbortOnMemory, 12U);
  net.run_for(std::chrono::seconds(1));
  // The peers close too: at most five of the orphans may wait in TIME_WAIT.
  for (Socket* s : servers)
    ASSERT_TRUE(sock_close(*net.b, s->fd));
  net.run_for(std::chrono::seconds(1));
  EXPECT_EQ(net.a->tcp().time_waits(), 5U);
  EXPECT_EQ(net.a->mib().TcpExtTCPTimeWaitOverflow, 3U);
  net.run_for(std::chrono::seconds(61));
  EXPECT_EQ(net.a->tcp().time_waits(), 0U);
  EXPECT_EQ(net.a->tcp().orphans(), 0U);
}

}  // namespace
}  // namespace usnet::sim

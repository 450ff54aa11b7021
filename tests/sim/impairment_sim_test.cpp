// UDP across a wire with each impairment: nothing corrupted is ever delivered, what is
// delivered is what was sent (each datagram carries its own digest), the counters add up,
// and the same seed gives the same pcap, byte for byte.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "base/rng.h"
#include "net/ipv4.h"
#include "support/checksum_audit.h"
#include "support/sim_net.h"

namespace usnet::sim {
namespace {

std::uint64_t fnv1a(ByteSpan b) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::byte x : b) {
    h ^= static_cast<std::uint8_t>(x);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// [seq:4][digest of the rest:8][random bytes]
std::vector<std::byte> make_datagram(Rng& rng, std::uint32_t seq, std::size_t size) {
  std::vector<std::byte> d(std::max<std::size_t>(size, 12));
  store_be<std::uint32_t>(d, 0, seq);
  for (std::size_t i = 12; i < d.size(); ++i)
    d[i] = static_cast<std::byte>(rng.next());
  store_be<std::uint64_t>(d, 4, fnv1a(ByteSpan(d).subspan(12)));
  return d;
}

bool intact(ByteSpan d) {
  return d.size() >= 12 && load_be<std::uint64_t>(d, 4) == fnv1a(d.subspan(12));
}

struct Outcome {
  std::size_t sent = 0;
  std::size_t delivered = 0;
  std::size_t distinct = 0;
  std::size_t corrupt_delivered = 0;
};

// a sends `n` datagrams (sizes up to `max_size`) to b, 1 ms apart, then waits 10 s.
Outcome exchange(SimNet& net, std::size_t n, std::size_t max_size, std::uint64_t seed) {
  Socket* rx = udp_socket(*net.b, 7);
  Socket* tx = udp_socket(*net.a);
  rx->opt.rcvbuf = 64 * 1024 * 1024;  // the test drains only at the end
  Rng rng(seed);
  Outcome o;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto d = make_datagram(rng, i, 12 + rng.below(max_size - 12));
    if (send_to(*tx, d, SockAddr::inet(kAddrB, 7))) o.sent++;
    net.run_for(std::chrono::milliseconds(1));
  }
  net.run_for(std::chrono::seconds(10));
  std::vector<std::byte> buf(70000);
  std::set<std::uint32_t> seen;
  for (;;) {
    auto r = recv_from(*rx, buf);
    if (!r) break;
    o.delivered++;
    const ByteSpan d = ByteSpan(buf).first(r->copied);
    if (!intact(d)) {
      o.corrupt_delivered++;
      continue;
    }
    seen.insert(load_be<std::uint32_t>(d, 0));
  }
  o.distinct = seen.size();
  return o;
}

TEST(ImpairedUdp, CleanLinkDeliversEverythingOnce) {
  SimNet net({}, 11);
  auto o = exchange(net, 300, 3000, 1);
  EXPECT_EQ(o.sent, 300u);
  EXPECT_EQ(o.delivered, 300u);
  EXPECT_EQ(o.distinct, 300u);
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(net.b->mib().UdpInDatagrams, 300u);
  EXPECT_EQ(net.a->mib().UdpOutDatagrams, 300u);
}

TEST(ImpairedUdp, LossLosesSomeAndCorruptsNone) {
  Impairments imp;
  imp.loss = 0.1;
  SimNet net(imp, 12);
  auto o = exchange(net, 500, 1400, 2);  // unfragmented: one frame per datagram
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(o.delivered, o.distinct);
  EXPECT_LT(o.delivered, 500u);
  EXPECT_GT(o.delivered, 350u);
  EXPECT_EQ(net.b->mib().UdpInDatagrams, o.delivered);
}

TEST(ImpairedUdp, FragmentLossNeverDeliversPartialDatagrams) {
  Impairments imp;
  imp.loss = 0.05;
  SimNet net(imp, 13);
  auto o = exchange(net, 200, 9000, 3);
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(o.delivered, o.distinct);
  EXPECT_LT(o.delivered, 200u);
  // Incomplete datagrams time out (30 s) and are counted; their memory is returned.
  net.run_for(std::chrono::seconds(31));
  EXPECT_GT(net.b->mib().IpReasmTimeout, 0u);
  EXPECT_EQ(net.b->ipv4().reassembly().memory(), 0u);
}

TEST(ImpairedUdp, DuplicatesArriveTwiceButIntact) {
  Impairments imp;
  imp.duplicate = 0.2;
  SimNet net(imp, 14);
  auto o = exchange(net, 300, 1400, 4);
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(o.distinct, 300u);
  EXPECT_GT(o.delivered, 300u);  // UDP does not deduplicate (RFC 768)
}

TEST(ImpairedUdp, ReorderingAndJitterLoseNothing) {
  Impairments imp;
  imp.reorder = 0.3;
  imp.delay = std::chrono::milliseconds(2);
  imp.jitter = std::chrono::milliseconds(3);
  SimNet net(imp, 15);
  auto o = exchange(net, 300, 5000, 5);
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(o.distinct, 300u);
  EXPECT_EQ(o.delivered, 300u);
}

// Damage the UDP checksum always catches (a burst inside a word, two bytes of a word
// swapped); corruption_sim_test.cpp covers the kinds it can miss.
TEST(ImpairedUdp, CorruptionIsAlwaysCaught) {
  Impairments imp;
  imp.corrupt = 0.2;
  imp.corrupt_kinds = kCorruptCaught;
  SimNet net(imp, 16);
  auto o = exchange(net, 500, 3000, 6);
  EXPECT_EQ(o.corrupt_delivered, 0u);  // the whole point: checksums catch this damage
  EXPECT_EQ(o.delivered, o.distinct);
  EXPECT_LT(o.delivered, 500u);
  const auto& m = net.b->mib();
  EXPECT_GT(m.IpInHdrErrors + m.UdpInCsumErrors + m.UsnetEthInOtherHost + m.UsnetEthInUnknownType +
                m.IpInAddrErrors + m.IpReasmTimeout,
            0u);
}

// Bit flips scattered over the UDP payload: the checksum catches nearly all, but a few
// cancel in the sum (a bit set in one word, the same bit cleared in another) and the
// datagram is delivered damaged, as Linux would deliver it; only the application's own
// digest sees it. Every datagram the audit (its own RFC 1071 check) rejects is counted in
// UdpInCsumErrors and not delivered; every other one is delivered.
TEST(ImpairedUdp, ScatteredFlipsThatCancelPassTheChecksum) {
  SimNetOptions o;
  o.a_to_b.corrupt = 1.0;
  o.a_to_b.corrupt_kinds = kCorruptScatter;
  o.a_to_b.corrupt_from = 14 + 20 + 8;  // ARP frames are damaged only in their padding
  o.seed = 18;
  ChecksumAudit* audit = nullptr;
  o.wrap_b = audit_into(&audit, mac(2), kAddrB);
  SimNet net(o);
  auto r = exchange(net, 4000, 1400, 8);
  const AuditCounts& c = audit->counts();
  const auto& m = net.b->mib();
  std::printf(
      "%zu datagrams, each with 2..8 bits flipped: %llu caught by the checksum, %zu "
      "delivered damaged\n",
      r.sent, static_cast<unsigned long long>(c.udp_checksum), r.corrupt_delivered);
  EXPECT_EQ(r.sent, 4000U);
  EXPECT_EQ(m.UdpInCsumErrors, c.udp_checksum);
  EXPECT_EQ(c.udp_checksum + r.delivered, r.sent);
  EXPECT_EQ(net.wire.a_to_b().corrupted, r.sent + c.arp);  // every frame was damaged
  EXPECT_GT(r.corrupt_delivered, 0U);
  EXPECT_LT(r.corrupt_delivered * 20, r.sent);
}

TEST(ImpairedUdp, RateLimitDelaysButDelivers) {
  Impairments imp;
  imp.rate_bps = 10'000'000;  // 10 Mbit/s: a 1500-byte frame takes 1.2 ms
  SimNet net(imp, 17);
  auto o = exchange(net, 200, 1400, 7);
  EXPECT_EQ(o.corrupt_delivered, 0u);
  EXPECT_EQ(o.distinct, o.delivered);
  EXPECT_GT(o.delivered, 0u);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST(ImpairedUdp, SameSeedSamePcap) {
  Impairments imp;
  imp.loss = 0.05;
  imp.reorder = 0.1;
  imp.corrupt = 0.05;
  imp.duplicate = 0.05;
  imp.delay = std::chrono::microseconds(300);
  imp.jitter = std::chrono::microseconds(200);
  const std::string dir = ::testing::TempDir();
  auto run = [&](std::uint64_t seed, const std::string& path) {
    {
      SimNet net(imp, seed, path);
      exchange(net, 100, 4000, seed);
    }
    return read_file(path);
  };
  const auto one = run(21, dir + "usnet-seed21-a.pcap");
  const auto two = run(21, dir + "usnet-seed21-b.pcap");
  const auto other = run(22, dir + "usnet-seed22.pcap");
  EXPECT_GT(one.size(), 24u + 100u * 16u);
  EXPECT_EQ(one, two);
  EXPECT_NE(one, other);
  std::remove((dir + "usnet-seed21-a.pcap").c_str());
  std::remove((dir + "usnet-seed21-b.pcap").c_str());
  std::remove((dir + "usnet-seed22.pcap").c_str());
}

}  // namespace
}  // namespace usnet::sim

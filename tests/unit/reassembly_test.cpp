#include "net/ip_reassembly.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/rng.h"

namespace usnet {
namespace {

constexpr Instant kT0 = kEpoch + std::chrono::seconds(1);

// Builds one fragment of a datagram whose payload is `whole`.
Packet fragment(const std::vector<std::byte>& whole, std::size_t off, std::size_t len, bool more,
                std::uint16_t id = 7, wire::Ipv4Header* out = nullptr) {
  wire::Ipv4Header h;
  h.src = Ipv4Address::from_octets(198, 18, 0, 1);
  h.dst = Ipv4Address::from_octets(198, 18, 0, 2);
  h.protocol = 17;
  h.id = id;
  h.fragment_offset = static_cast<std::uint16_t>(off);
  h.more_fragments = more;
  h.total_length = static_cast<std::uint16_t>(20 + len);
  Packet p(len);
  p.append(ByteSpan(whole).subspan(off, len));
  h.emit(p.push(20));
  if (out != nullptr) *out = h;
  return p;
}

std::vector<std::byte> pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>(i * 7 + 3);
  return v;
}

Ipv4Reassembly::Result feed(Ipv4Reassembly& r, const std::vector<std::byte>& whole, std::size_t off,
                            std::size_t len, bool more, std::uint16_t id = 7, Instant now = kT0) {
  wire::Ipv4Header h;
  Packet p = fragment(whole, off, len, more, id, &h);
  return r.ip_defrag(std::move(p), h, now);
}

TEST(Reassembly, InOrderAndShuffledGiveTheSameBytes) {
  const auto whole = pattern(4000);
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Ipv4Reassembly r;
    std::vector<std::size_t> offs;
    for (std::size_t o = 0; o < whole.size(); o += 1480)
      offs.push_back(o);
    Rng rng(seed);
    for (std::size_t i = offs.size(); i > 1; --i)
      std::swap(offs[i - 1], offs[rng.below(i)]);
    Ipv4Reassembly::Result last;
    for (std::size_t o : offs) {
      const std::size_t len = std::min<std::size_t>(1480, whole.size() - o);
      last = feed(r, whole, o, len, o + len < whole.size());
    }
    ASSERT_EQ(last.outcome, DefragOutcome::kComplete) << "seed " << seed;
    ASSERT_TRUE(last.datagram);
    const ByteSpan got = last.datagram->payload.data();
    ASSERT_EQ(got.size(), whole.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), whole.begin()));
    EXPECT_EQ(last.datagram->header.total_length, 20 + whole.size());
    EXPECT_FALSE(last.datagram->header.more_fragments);
    EXPECT_EQ(r.memory(), 0u);
    EXPECT_EQ(r.queues(), 0u);
  }
}

TEST(Reassembly, OverlapDropsTheWholeDatagram) {
  const auto whole = pattern(3000);
  Ipv4Reassembly r;
  EXPECT_EQ(feed(r, whole, 0, 1480, true).outcome, DefragOutcome::kHeld);
  auto res = feed(r, whole, 1472, 1480, true);  // overlaps the first by 8 bytes
  EXPECT_EQ(res.outcome, DefragOutcome::kDropped);
  EXPECT_EQ(res.overlaps, 1u);
  EXPECT_EQ(r.queues(), 0u);
  EXPECT_EQ(r.memory(), 0u);
  // The rest of the datagram cannot complete it any more.
  EXPECT_EQ(feed(r, whole, 2960, 40, false).outcome, DefragOutcome::kHeld);
}

TEST(Reassembly, ExactDuplicateIsIgnored) {
  const auto whole = pattern(2000);
  Ipv4Reassembly r;
  EXPECT_EQ(feed(r, whole, 0, 1480, true).outcome, DefragOutcome::kHeld);
  EXPECT_EQ(feed(r, whole, 0, 1480, true).outcome, DefragOutcome::kDuplicate);
  EXPECT_EQ(feed(r, whole, 1480, 520, false).outcome, DefragOutcome::kComplete);
}

TEST(Reassembly, ImpossibleFragmentsAreRefused) {
  const auto whole = pattern(70000);
  Ipv4Reassembly r;
  // Not a multiple of 8 with MF set.
  EXPECT_EQ(feed(r, whole, 0, 1001, true).outcome, DefragOutcome::kDropped);
  // Past 65,535 bytes in all.
  EXPECT_EQ(feed(r, whole, 65000, 600, false).outcome, DefragOutcome::kDropped);
  // Two different ends.
  EXPECT_EQ(feed(r, whole, 1480, 100, false, 9).outcome, DefragOutcome::kHeld);
  EXPECT_EQ(feed(r, whole, 1480, 200, false, 9).outcome, DefragOutcome::kDropped);
  // A middle fragment past a known end.
  EXPECT_EQ(feed(r, whole, 1480, 100, false, 10).outcome, DefragOutcome::kHeld);
  EXPECT_EQ(feed(r, whole, 2960, 1480, true, 10).outcome, DefragOutcome::kDropped);
  EXPECT_EQ(r.memory(), 0u);
}

TEST(Reassembly, TimeoutReportsFirstFragment) {
  const auto whole = pattern(3000);
  Ipv4Reassembly r;
  feed(r, whole, 0, 1480, true, 1);
  feed(r, whole, 1480, 1480, true, 2);  // datagram 2 has no first fragment
  EXPECT_EQ(r.next_deadline(), kT0 + std::chrono::seconds(30));
  EXPECT_TRUE(r.tick(kT0 + std::chrono::seconds(29)).empty());
  auto expired = r.tick(kT0 + std::chrono::seconds(30));
  ASSERT_EQ(expired.size(), 2u);
  int with_first = 0;
  for (auto& e : expired) {
    if (e.first_fragment) {
      ++with_first;
      EXPECT_EQ(e.first_fragment->size(), 28u);  // IP header + 8 bytes to quote
    }
  }
  EXPECT_EQ(with_first, 1);
  EXPECT_EQ(r.memory(), 0u);
  EXPECT_EQ(r.next_deadline(), kNever);
}

TEST(Reassembly, MemoryStaysBoundedUnderAFloodOfIncompleteDatagrams) {
  ReassemblyConfig cfg;
  cfg.high_thresh = 256 * 1024;
  Ipv4Reassembly r(cfg);
  const auto whole = pattern(2000);
  unsigned evictions = 0;
  for (std::uint16_t id = 0; id < 5000; ++id) {
    auto res = feed(r, whole, 0, 1480, true, id);
    evictions += res.memory_evictions;
    ASSERT_LE(r.memory(), cfg.high_thresh);
  }
  EXPECT_GT(evictions, 0u);
  // A datagram that arrives whole still gets through.
  feed(r, whole, 0, 1480, true, 60000);
  EXPECT_EQ(feed(r, whole, 1480, 520, false, 60000).outcome, DefragOutcome::kComplete);
}

}  // namespace
}  // namespace usnet

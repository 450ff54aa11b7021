#include "wire/checksum.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/rng.h"

namespace usnet::wire {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v)
    out.push_back(static_cast<std::byte>(b));
  return out;
}

// RFC 1071 section 3's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
TEST(Checksum, Rfc1071Example) {
  auto b = bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(checksum_finish(checksum_partial(b)), 0x220d);  // ~0xddf2
  EXPECT_EQ(checksum_finish(checksum_partial_naive(b)), 0x220d);
}

TEST(Checksum, WideMatchesNaiveOnRandomLengthsAndOffsets) {
  Rng rng(42);
  std::vector<std::byte> buf(4096);
  for (auto& b : buf)
    b = static_cast<std::byte>(rng.next());
  for (int i = 0; i < 2000; ++i) {
    const std::size_t off = rng.below(64);
    const std::size_t len = rng.below(buf.size() - off);
    ByteSpan s(buf.data() + off, len);
    ASSERT_EQ(checksum_finish(checksum_partial(s)), checksum_finish(checksum_partial_naive(s)))
        << "off=" << off << " len=" << len;
  }
}

// RFC 1624 section 4: incremental update must agree with recomputation.
TEST(Checksum, IncrementalUpdateMatchesRecompute) {
  Rng rng(7);
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::byte> hdr(20);
    for (auto& b : hdr)
      b = static_cast<std::byte>(rng.next());
    store_be<std::uint16_t>(hdr, 10, 0);
    const std::uint16_t c = checksum(hdr);
    const std::uint16_t old_word = load_be<std::uint16_t>(hdr, 8);
    const auto new_word = static_cast<std::uint16_t>(rng.next());
    store_be<std::uint16_t>(hdr, 8, new_word);
    const std::uint16_t fresh = checksum(hdr);
    const std::uint16_t updated = checksum_update16(c, old_word, new_word);
    // 0x0000 and 0xffff are the same value in one's complement (RFC 1624 section 3).
    if (fresh == 0xffff || fresh == 0) {
      EXPECT_TRUE(updated == 0xffff || updated == 0);
    } else {
      EXPECT_EQ(updated, fresh);
    }
  }
}

}  // namespace
}  // namespace usnet::wire

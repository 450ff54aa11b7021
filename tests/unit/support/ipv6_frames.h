// Picks IPv6 frames out of a fixture by what they carry rather than by position, so that a
// recapture (tests/fixtures/capture_ipv6.sh) where the kernel's timers order its own
// packets differently still finds them. Decodes the bytes by hand, independently of the
// wire views under test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace usnet::test {

// The ICMPv6 type of an Ethernet frame carrying ICMPv6 directly or after one hop-by-hop
// header (MLD), or -1.
inline int icmpv6_type_of(const std::vector<std::byte>& f) {
  auto u8 = [&](std::size_t i) { return i < f.size() ? std::to_integer<int>(f[i]) : -1; };
  if (u8(12) != 0x86 || u8(13) != 0xdd) return -1;
  std::size_t off = 14 + 40;
  int nh = u8(14 + 6);
  if (nh == 0) {
    nh = u8(off);
    off += static_cast<std::size_t>(u8(off + 1) + 1) * 8;
  }
  return nh == 58 ? u8(off) : -1;
}

// The nth frame of `frames` with ICMPv6 type `type`; throws when there is none, which
// gtest reports as a failure of the test.
inline const std::vector<std::byte>& icmpv6_frame(const std::vector<std::vector<std::byte>>& frames,
                                                  int type, int nth = 0) {
  for (const auto& f : frames)
    if (icmpv6_type_of(f) == type && nth-- == 0) return f;
  throw std::runtime_error("fixture has no such ICMPv6 frame");
}

// The nth IPv6 frame whose fixed header names next header `nh`.
inline const std::vector<std::byte>& ipv6_frame(const std::vector<std::vector<std::byte>>& frames,
                                                int nh, int nth = 0) {
  for (const auto& f : frames)
    if (f.size() > 20 && f[12] == std::byte{0x86} && f[13] == std::byte{0xdd} &&
        std::to_integer<int>(f[20]) == nh && nth-- == 0)
      return f;
  throw std::runtime_error("fixture has no such IPv6 frame");
}

// The first frame for which pred(frame) holds.
template <typename Pred>
const std::vector<std::byte>& frame_where(const std::vector<std::vector<std::byte>>& frames,
                                          Pred pred) {
  for (const auto& f : frames)
    if (pred(f)) return f;
  throw std::runtime_error("fixture has no such frame");
}

}  // namespace usnet::test

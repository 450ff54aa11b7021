// TCP sequence numbers (RFC 9293 3.4): 32-bit values compared modulo 2^32. a < b means
// b is ahead of a by less than 2^31. Raw uint32_t arithmetic on sequence numbers is not
// used anywhere in tcp/ (STYLE habit 2).
#pragma once

#include <cstdint>

namespace usnet {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(std::uint32_t v) : v_(v) {}
  constexpr std::uint32_t raw() const noexcept { return v_; }

  constexpr SeqNum operator+(std::uint32_t n) const noexcept { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(std::uint32_t n) const noexcept { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(std::uint32_t n) noexcept {
    v_ += n;
    return *this;
  }
  // The signed distance from b to a (a - b), valid while |a - b| < 2^31.
  friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) noexcept {
    return static_cast<std::int32_t>(a.v_ - b.v_);
  }
  friend constexpr bool operator==(SeqNum a, SeqNum b) noexcept { return a.v_ == b.v_; }
  friend constexpr bool operator<(SeqNum a, SeqNum b) noexcept { return (a - b) < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) noexcept { return (a - b) <= 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) noexcept { return (a - b) > 0; }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) noexcept { return (a - b) >= 0; }

  // lo <= *this < hi
  constexpr bool in_window(SeqNum lo, SeqNum hi) const noexcept {
    return lo <= *this && *this < hi;
  }

 private:
  std::uint32_t v_ = 0;
};

constexpr SeqNum seq_max(SeqNum a, SeqNum b) noexcept {
  return a < b ? b : a;
}
constexpr SeqNum seq_min(SeqNum a, SeqNum b) noexcept {
  return a < b ? a : b;
}

}  // namespace usnet

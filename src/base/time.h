// Time is injected (DESIGN.md invariant 2): the core never reads a clock. Callers pass an
// Instant into Stack::poll() and every call that needs "now"; simulations pass virtual time.
#pragma once

#include <chrono>
#include <cstdint>

namespace usnet {

using Duration = std::chrono::nanoseconds;

// A clock with no now(): it only names the time line the caller drives.
struct StackClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<StackClock, Duration>;
  static constexpr bool is_steady = true;
};

using Instant = StackClock::time_point;

inline constexpr Instant kNever = Instant::max();
inline constexpr Instant kEpoch = Instant{};

constexpr Instant earliest(Instant a, Instant b) noexcept {
  return a < b ? a : b;
}

using namespace std::chrono_literals;  // NOLINT(google-global-names-in-headers): 10ms etc.

}  // namespace usnet

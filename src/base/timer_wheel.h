// A hashed timing wheel (Varghese and Lauck, "Hashed and Hierarchical Timing Wheels"): the
// timers of one stack. Arming and cancelling cost O(1) (an intrusive list insert or unlink),
// which TCP needs with thousands of connections each re-arming its retransmission and
// delayed-ACK timers on every segment.
//
// Invariants:
//   - an armed Timer is linked into exactly one slot: slot (tick(when) mod kSlots);
//   - a slot's bit in occupied_ is set iff its list is non-empty;
//   - a timer fires once, at the first advance(now) with now >= when, and is unlinked before
//     its callback runs, so the callback may re-arm it or arm and cancel others.
// Timers further away than one turn of the wheel wait in their slot for later turns.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "base/time.h"

namespace usnet {

class TimerWheel;

class Timer {
 public:
  using Callback = std::function<void()>;
  Timer() = default;
  explicit Timer(Callback cb) : cb_(std::move(cb)) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void set_callback(Callback cb) { cb_ = std::move(cb); }
  bool armed() const noexcept { return wheel_ != nullptr; }
  Instant when() const noexcept { return when_; }

 private:
  friend class TimerWheel;
  Callback cb_;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  Instant when_ = kNever;
};

class TimerWheel {
 public:
  static constexpr Duration kTick = std::chrono::milliseconds(1);
  static constexpr std::size_t kSlots = 8192;  // one turn: 8.192 s

  TimerWheel() = default;
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) `t` to fire at `when`. A time in the past fires at the next advance().
  void arm(Timer& t, Instant when);
  void cancel(Timer& t) noexcept;
  // Fires every timer due by `now`. `now` must not go backwards.
  void advance(Instant now);
  // The earliest armed `when`, or kNever.
  Instant next_deadline() const noexcept;
  std::size_t size() const noexcept { return count_; }

 private:
  static std::int64_t tick_of(Instant t) noexcept { return t.time_since_epoch() / kTick; }
  void link(Timer& t, std::size_t slot) noexcept;
  void unlink(Timer& t) noexcept;
  std::size_t next_occupied(std::size_t from) const noexcept;  // kSlots if none at or after

  std::array<Timer*, kSlots> slots_{};
  std::array<std::uint64_t, kSlots / 64> occupied_{};
  std::int64_t cur_tick_ = 0;  // the tick of the last advance(); slots before it are done
  std::size_t count_ = 0;
  mutable Instant cached_next_ = kNever;  // valid when cache_valid_
  mutable bool cache_valid_ = true;
};

}  // namespace usnet

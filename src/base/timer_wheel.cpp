#include "base/timer_wheel.h"

#include <bit>
#include <vector>

namespace usnet {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::~TimerWheel() {
  // Timers may outlive the wheel's users in odd shutdown orders: leave none pointing here.
  for (auto*& head : slots_) {
    while (head != nullptr) {
      Timer* t = head;
      head = t->next_;
      t->wheel_ = nullptr;
      t->prev_ = t->next_ = nullptr;
    }
  }
}

void TimerWheel::link(Timer& t, std::size_t slot) noexcept {
  t.prev_ = nullptr;
  t.next_ = slots_[slot];
  if (t.next_ != nullptr) t.next_->prev_ = &t;
  slots_[slot] = &t;
  occupied_[slot / 64] |= std::uint64_t{1} << (slot % 64);
  t.wheel_ = this;
  ++count_;
}

void TimerWheel::unlink(Timer& t) noexcept {
  const auto slot = static_cast<std::size_t>(tick_of(t.when_)) % kSlots;
  if (t.prev_ != nullptr) {
    t.prev_->next_ = t.next_;
  } else {
    slots_[slot] = t.next_;
  }
  if (t.next_ != nullptr) t.next_->prev_ = t.prev_;
  if (slots_[slot] == nullptr) occupied_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  t.prev_ = t.next_ = nullptr;
  t.wheel_ = nullptr;
  --count_;
}

void TimerWheel::arm(Timer& t, Instant when) {
  if (t.wheel_ != nullptr) cancel(t);
  // A time before the current tick would land in a slot already passed this turn: keep it
  // in the current tick so the next advance() sees it.
  const std::int64_t cur_start = cur_tick_;
  if (tick_of(when) < cur_start) when = Instant{cur_start * kTick};
  t.when_ = when;
  link(t, static_cast<std::size_t>(tick_of(when)) % kSlots);
  if (cache_valid_ && when < cached_next_) cached_next_ = when;
}

void TimerWheel::cancel(Timer& t) noexcept {
  if (t.wheel_ != this) return;
  if (cache_valid_ && t.when_ == cached_next_) cache_valid_ = false;
  unlink(t);
}

std::size_t TimerWheel::next_occupied(std::size_t from) const noexcept {
  for (std::size_t w = from / 64; w < occupied_.size(); ++w) {
    std::uint64_t bits = occupied_[w];
    if (w == from / 64) bits &= ~std::uint64_t{0} << (from % 64);
    if (bits != 0) return w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
  }
  return kSlots;
}

void TimerWheel::advance(Instant now) {
  const std::int64_t now_tick = tick_of(now);
  if (now_tick < cur_tick_) return;
  // Collect first, fire after: a callback may arm timers into slots being walked.
  std::vector<Timer*> due;
  const std::int64_t span = now_tick - cur_tick_ + 1;
  const std::int64_t steps = span > static_cast<std::int64_t>(kSlots) ? kSlots : span;
  for (std::int64_t i = 0; i < steps; ++i) {
    const auto slot = static_cast<std::size_t>(cur_tick_ + i) % kSlots;
    for (Timer* t = slots_[slot]; t != nullptr; t = t->next_) {
      if (t->when_ <= now) due.push_back(t);
    }
  }
  cur_tick_ = now_tick;
  if (due.empty()) return;
  cache_valid_ = false;
  for (Timer* t : due)
    unlink(*t);
  // Fire in deadline order so that equal-time timers behave deterministically.
  std::stable_sort(due.begin(), due.end(),
                   [](const Timer* a, const Timer* b) { return a->when_ < b->when_; });
  // A callback may cancel or re-arm a timer that is still in `due`; each fires only if it
  // is still unarmed with the deadline it had when collected.
  std::vector<Instant> whens;
  whens.reserve(due.size());
  for (Timer* t : due)
    whens.push_back(t->when_);
  for (std::size_t i = 0; i < due.size(); ++i) {
    Timer* t = due[i];
    if (t->wheel_ != nullptr || t->when_ != whens[i]) continue;
    t->when_ = kNever;
    if (t->cb_) t->cb_();
  }
}

Instant TimerWheel::next_deadline() const noexcept {
  if (cache_valid_) return cached_next_;
  Instant best = kNever;
  if (count_ != 0) {
    // Walk one turn from the current tick; the first slot holding a timer of its own turn
    // holds the earliest one. Timers of later turns are the fallback.
    const auto start = static_cast<std::size_t>(cur_tick_) % kSlots;
    const std::int64_t turn_end = cur_tick_ + static_cast<std::int64_t>(kSlots);
    bool found = false;
    for (std::size_t pass = 0; pass < 2 && !found; ++pass) {
      std::size_t from = pass == 0 ? start : 0;
      const std::size_t limit = pass == 0 ? kSlots : start;
      for (std::size_t s = next_occupied(from); s < limit; s = next_occupied(s + 1)) {
        for (const Timer* t = slots_[s]; t != nullptr; t = t->next_) {
          if (tick_of(t->when_) < turn_end && t->when_ < best) best = t->when_;
        }
        if (best != kNever) {
          found = true;
          break;
        }
      }
    }
    if (!found) {
      for (const Timer* head : slots_) {
        for (const Timer* t = head; t != nullptr; t = t->next_) {
          if (t->when_ < best) best = t->when_;
        }
      }
    }
  }
  cached_next_ = best;
  cache_valid_ = true;
  return best;
}

}  // namespace usnet

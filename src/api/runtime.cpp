#include "api/runtime.h"

#include <poll.h>

#include <algorithm>

namespace usnet {

Runtime::Runtime()
    : start_(std::chrono::steady_clock::now()),
      wall_at_start_(std::chrono::duration_cast<Duration>(
          std::chrono::system_clock::now().time_since_epoch())) {}

Runtime::~Runtime() = default;

Stack& Runtime::add_stack(StackConfig config) {
  stacks_.push_back(std::make_unique<Stack>(std::move(config)));
  Stack& s = *stacks_.back();
  s.poll(now());
  return s;
}

Instant Runtime::now() const noexcept {
  return Instant{wall_at_start_ +
                 std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start_)};
}

void Runtime::run_once(Instant until) {
  // First take in whatever has arrived; if anything did, return so the caller can look.
  std::uint64_t before = 0;
  for (auto& s : stacks_)
    before += s->packets_in();
  const Instant t = now();
  for (auto& s : stacks_)
    s->poll(t);
  std::uint64_t after_poll = 0;
  Instant next = until;
  for (auto& s : stacks_) {
    after_poll += s->packets_in();
    // Read after every stack has polled: one may have just sent to another.
    next = earliest(next, s->next_deadline());
  }
  if (after_poll != before) return;
  const Instant after = now();
  if (next <= after) return;

  // Nothing arrived: sleep until a device has a frame, the next deadline, or `until`, then
  // handle what woke us.
  std::vector<pollfd> fds;
  for (auto& s : stacks_) {
    for (const auto& ifc : s->interfaces()) {
      if (ifc->dev != nullptr && ifc->dev->pollable_fd() >= 0) {
        fds.push_back(pollfd{ifc->dev->pollable_fd(), POLLIN, 0});
      }
    }
  }
  // Round the wait up to whole milliseconds so a timer is never polled early in a loop.
  int timeout_ms = -1;
  if (next != kNever) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - after).count();
    timeout_ms = static_cast<int>(std::min<long long>(wait, 60'000));
  }
  ::poll(fds.data(), fds.size(), timeout_ms);
  const Instant woke = now();
  for (auto& s : stacks_)
    s->poll(woke);
}

}  // namespace usnet

namespace usnet {

void Runtime::run_pending(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    const Instant t = now();
    bool busy = false;
    for (auto& s : stacks_) {
      s->poll(t);
      busy = busy || s->has_pending_work();
    }
    if (!busy) return;
  }
}

}  // namespace usnet

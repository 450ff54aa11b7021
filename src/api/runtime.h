// The single-threaded runtime: stacks driven by the real clock, their devices waited on with
// the kernel's poll(2). It is the only place in usnet that reads a clock or sleeps
// (DESIGN.md invariants 2 and 3); the stacks below it stay clock-free. A threaded runtime
// with a network thread replaces it in a later issue; simulations drive stacks directly.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "base/time.h"
#include "stack/stack.h"

namespace usnet {

class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  Stack& add_stack(StackConfig config);
  const std::vector<std::unique_ptr<Stack>>& stacks() const noexcept { return stacks_; }

  // Wall-clock time as an Instant (so pcap timestamps read as dates), advancing with the
  // monotonic clock (so a clock step never moves stack time backwards).
  Instant now() const noexcept;

  // Polls every stack once; then, unless one has work pending, sleeps in poll(2) on the
  // device descriptors until a frame arrives, the earliest stack deadline, or `until`.
  void run_once(Instant until);

  // Polls without sleeping until no stack has work pending (looped-back datagrams and the
  // ICMP errors they cause), at most `rounds` times: how a non-blocking call makes progress.
  void run_pending(int rounds = 16);

  // Keeps `obj` (a device, a wire, a pcap writer) alive as long as the runtime, after the
  // stacks that use it are gone.
  template <typename T>
  T& keep(std::unique_ptr<T> obj) {
    T& ref = *obj;
    kept_.push_back(std::shared_ptr<T>(std::move(obj)));
    return ref;
  }

 private:
  std::chrono::steady_clock::time_point start_;
  Duration wall_at_start_;
  std::vector<std::shared_ptr<void>> kept_;  // destroyed after stacks_ (declared first)
  std::vector<std::unique_ptr<Stack>> stacks_;
};

}  // namespace usnet

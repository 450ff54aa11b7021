// How an application thread sleeps in a blocking call: on an eventfd of its own, inside a
// kernel call chosen so that a signal ends the sleep exactly as it would end the Linux call
// being emulated (signal(7), "Interruption of system calls and library functions by signal
// handlers"):
//   - restartable sleeps (accept, connect, send, recv with no SO_RCVTIMEO/SO_SNDTIMEO) block
//     in read(2) of the eventfd, which the kernel restarts by itself after a handler
//     installed with SA_RESTART and fails with EINTR after any other handler;
//   - the others (a timeout is set, or the call is poll/select/epoll_wait or a ring wait,
//     which Linux never restarts) block in ppoll(2), which fails with EINTR after every
//     handler.
// A signal whose action is to end the process ends it in either sleep, as on the kernel.
//
// The wake-up itself is a flag; the eventfd is only its doorbell. A waker resets the flag
// before it registers with whatever will wake it (a wait queue, a ring), so a ring of the
// doorbell left over from an earlier sleep costs one extra read, never a false wake-up.
//
// Invariant: only the owning thread sleeps on a ThreadWaker; any thread may wake it.
#pragma once

#include <atomic>
#include <chrono>

namespace usnet {

class ThreadWaker {
 public:
  enum class Woke { kWoken, kTimedOut, kInterrupted };

  // The calling thread's waker, made on first use and closed when the thread exits. Null
  // if no eventfd could be had (EMFILE): callers then fail the call with that errno.
  static ThreadWaker* self() noexcept;
  // After fork(), in the child: the forking thread's waker shares its eventfd with the
  // parent's thread, so the child must not sleep on it; the next self() makes a new one.
  static void forget_after_fork() noexcept;

  ThreadWaker(const ThreadWaker&) = delete;
  ThreadWaker& operator=(const ThreadWaker&) = delete;
  ~ThreadWaker();

  // Before registering for a wake-up: forget any earlier one.
  void arm() noexcept { woken_.store(false, std::memory_order_relaxed); }
  // From any thread (under whatever lock the registration is guarded by).
  void wake() noexcept;
  // Sleeps until wake(), `deadline` (nullptr: none) or a signal handler, as the header
  // says. `restartable` is honoured only without a deadline.
  Woke sleep(const std::chrono::steady_clock::time_point* deadline, bool restartable) noexcept;

 private:
  explicit ThreadWaker(int fd) : fd_(fd) {}
  int fd_;
  std::atomic<bool> woken_{false};
};

}  // namespace usnet

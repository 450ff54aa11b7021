#include "runtime/thread_waker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace usnet {
namespace {

// The thread's waker. A unique_ptr so the eventfd is closed when the thread exits.
thread_local std::unique_ptr<ThreadWaker> t_waker;

}  // namespace

ThreadWaker* ThreadWaker::self() noexcept {
  if (!t_waker) {
    // Blocking on purpose: read(2) must sleep for the restartable case.
    const int fd = ::eventfd(0, EFD_CLOEXEC);
    if (fd < 0) return nullptr;
    t_waker.reset(new ThreadWaker(fd));  // NOLINT(cppcoreguidelines-owning-memory): private ctor
  }
  return t_waker.get();
}

void ThreadWaker::forget_after_fork() noexcept {
  t_waker.reset();
}

ThreadWaker::~ThreadWaker() {
  ::close(fd_);
}

void ThreadWaker::wake() noexcept {
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;  // the bell is already rung
  const std::uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof(one));
}

ThreadWaker::Woke ThreadWaker::sleep(const std::chrono::steady_clock::time_point* deadline,
                                     bool restartable) noexcept {
  for (;;) {
    if (woken_.exchange(false, std::memory_order_acq_rel)) return Woke::kWoken;
    std::uint64_t bell = 0;
    if (deadline == nullptr && restartable) {
      if (::read(fd_, &bell, sizeof(bell)) < 0 && errno == EINTR) return Woke::kInterrupted;
      continue;
    }
    timespec ts{};
    timespec* timeout = nullptr;
    if (deadline != nullptr) {
      const auto left = *deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return Woke::kTimedOut;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      timeout = &ts;
    }
    pollfd p{fd_, POLLIN, 0};
    const int n = ::ppoll(&p, 1, timeout, nullptr);
    if (n < 0 && errno == EINTR) return Woke::kInterrupted;
    if (n > 0) (void)!::read(fd_, &bell, sizeof(bell));  // readable: does not block
  }
}

}  // namespace usnet

#include "runtime/runtime.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>

#include "socket/sock_calls.h"
#include "socket/socket.h"

namespace usnet {
namespace {

constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};

bool notify_waiter(WaitEntry& e, Socket& /*sock*/, PollMask /*key*/) {
  static_cast<ThreadWaker*>(e.ctx)->wake();
  return true;
}

}  // namespace

Runtime::Runtime()
    : start_(std::chrono::steady_clock::now()),
      wall_at_start_(std::chrono::duration_cast<Duration>(
          std::chrono::system_clock::now().time_since_epoch())) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd_ >= 0 && wake_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeToken;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
  // The network thread blocks every signal it can (it inherits the mask it is started
  // with): a signal sent to the process must reach one of the program's own threads, where
  // it interrupts the call the program is blocked in (Ctrl-C of a program in recv(), a
  // handler that expects EINTR), not a thread the program does not know it has.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { network_loop(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Runtime::~Runtime() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    kick();
    activity_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& [raw, sock] : parked_) {
    sock->fd_closed = true;
    sock_release(std::move(sock));
  }
  parked_.clear();
  post_poll_.clear();
  stacks_.clear();
  kept_.clear();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epfd_ >= 0) ::close(epfd_);
}

Stack& Runtime::add_stack(StackConfig config) {
  stacks_.push_back(std::make_unique<Stack>(std::move(config)));
  Stack& s = *stacks_.back();
  s.poll(now());
  devices_changed();
  return s;
}

Instant Runtime::now() const noexcept {
  return Instant{wall_at_start_ +
                 std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start_)};
}

std::chrono::steady_clock::time_point Runtime::steady_of(Instant t) const noexcept {
  return start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      t.time_since_epoch() - wall_at_start_);
}

Instant Runtime::next_deadline() const noexcept {
  Instant next = kNever;
  // Read after every stack has polled: one may have just sent to another.
  for (const auto& s : stacks_)
    next = earliest(next, s->next_deadline());  // now, if a stack has work queued
  return next;
}

void Runtime::poll_stacks(int rounds) {
  for (int i = 0; i < rounds; ++i) {
    const Instant t = now();
    bool busy = false;
    for (auto& s : stacks_) {
      s->poll(t);
      busy = busy || s->has_pending_work();
    }
    if (!busy) break;
  }
  std::uint64_t seen = 0;
  for (auto& s : stacks_)
    seen += s->packets_in();
  if (seen != packets_seen_) {
    packets_seen_ = seen;
    activity_.notify_all();
  }
  if (!post_poll_.empty()) {
    // A hook may add or remove hooks; run the ones present now.
    auto hooks = post_poll_;
    for (auto& [id, fn] : hooks)
      fn();
  }
}

void Runtime::after_call() {
  poll_stacks(16);
  if (next_deadline() < planned_wake_) kick();
}

void Runtime::devices_changed() {
  devices_dirty_ = true;
  kick();
}

void Runtime::kick() {
  planned_wake_ = kEpoch;  // the thread is woken; it plans again before it sleeps
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
}

void Runtime::sync_device_fds() {
  if (!devices_dirty_) return;
  devices_dirty_ = false;
  std::vector<int> fds;
  for (const auto& s : stacks_) {
    for (const auto& ifc : s->interfaces()) {
      if (ifc->dev != nullptr && ifc->dev->pollable_fd() >= 0)
        fds.push_back(ifc->dev->pollable_fd());
    }
  }
  std::sort(fds.begin(), fds.end());
  fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
  for (int fd : device_fds_) {
    if (!std::binary_search(fds.begin(), fds.end(), fd))
      ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  }
  for (int fd : fds) {
    if (std::binary_search(device_fds_.begin(), device_fds_.end(), fd)) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  device_fds_ = std::move(fds);
}

void Runtime::network_loop() {
  std::unique_lock lock(mu_);
  std::array<epoll_event, 32> events{};
  while (!stopping_) {
    sync_device_fds();
    poll_stacks(64);
    const Instant next = next_deadline();
    planned_wake_ = next;
    const Instant t = now();
    lock.unlock();
    // Sleep until a device has a frame, the next deadline, or a kick (with nanosecond
    // resolution: a millisecond granularity would delay every short timer).
    timespec ts{};
    timespec* timeout = nullptr;
    if (next != kNever) {
      const auto wait = std::max(next - t, Duration{0});
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      timeout = &ts;
    }
    const int n = (timeout != nullptr && ts.tv_sec == 0 && ts.tv_nsec == 0)
                      ? 0
                      : ::epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()),
                                       timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      if (events[static_cast<std::size_t>(i)].data.u64 == kWakeToken) {
        std::uint64_t v = 0;
        (void)!::read(wake_fd_, &v, sizeof(v));
      }
    }
    lock.lock();
  }
}

ThreadWaker::Woke Runtime::wait_on(std::unique_lock<std::mutex>& lock, Socket& sock,
                                   Instant deadline, bool restartable) {
  using Woke = ThreadWaker::Woke;
  if (stopping_) return Woke::kTimedOut;
  ThreadWaker* waker = ThreadWaker::self();
  if (waker == nullptr) return Woke::kInterrupted;  // no eventfd to sleep on (EMFILE)
  waker->arm();
  WaitEntry e;
  e.func = notify_waiter;
  e.ctx = waker;
  sock.wq.add(e);
  lock.unlock();
  Woke woke;
  if (deadline == kNever) {
    woke = waker->sleep(nullptr, restartable);
  } else {
    const auto until = steady_of(deadline);
    woke = waker->sleep(&until, false);
  }
  lock.lock();
  sock.wq.remove(e);
  if (woke == Woke::kWoken && deadline != kNever && now() >= deadline) woke = Woke::kTimedOut;
  return woke;
}

void Runtime::wait_activity(std::unique_lock<std::mutex>& lock, Instant deadline) {
  activity_.wait_until(lock, steady_of(deadline));
}

void Runtime::park_closed(std::unique_ptr<Socket> sock) {
  Socket* raw = sock.get();
  parked_[raw] = std::move(sock);
}

void Runtime::pin(Socket& sock) noexcept {
  sock.users++;
}

void Runtime::unpin(Socket& sock) {
  if (--sock.users != 0 || !sock.fd_closed) return;
  auto it = parked_.find(&sock);
  if (it == parked_.end()) return;
  auto owned = std::move(it->second);
  parked_.erase(it);
  sock_release(std::move(owned));
  after_call();
}

int Runtime::add_post_poll(std::function<void()> fn) {
  const int id = next_post_poll_id_++;
  post_poll_.emplace_back(id, std::move(fn));
  return id;
}

void Runtime::remove_post_poll(int id) {
  std::erase_if(post_poll_, [id](const auto& p) { return p.first == id; });
}

}  // namespace usnet

// A socket call's hold on its socket: the runtime lock for the length of the call and a
// reference (Socket::users) that keeps the socket alive if another thread closes its
// descriptor meanwhile (runtime/runtime.h, locking rule 5).
#pragma once

#include <mutex>

#include "api/handles.h"
#include "socket/socket.h"

namespace usnet::api {

class SockRef {
 public:
  // The socket behind fd, locked and referenced; empty if fd is not a usnet socket.
  static SockRef get(int fd);
  SockRef() = default;
  ~SockRef();
  SockRef(SockRef&& o) noexcept;
  SockRef& operator=(SockRef&&) = delete;
  SockRef(const SockRef&) = delete;
  SockRef& operator=(const SockRef&) = delete;

  explicit operator bool() const noexcept { return sock != nullptr; }
  Stack& stack() const { return *handle->stack; }
  Runtime& rt() const { return handle->runtime->rt; }
  std::unique_lock<std::mutex>& lock() noexcept { return lock_; }

  // Sends what the call queued and takes in what that caused (Runtime::after_call), so a
  // non-blocking caller sees the effect at once rather than at the network thread's next pass.
  void pump() const { rt().after_call(); }
  // Sleeps until the socket is woken, `deadline` passes or a signal handler interrupts
  // (Runtime::wait_on).
  ThreadWaker::Woke wait(Instant deadline, bool restartable) {
    return rt().wait_on(lock_, *sock, deadline, restartable);
  }

  usnet_stack* handle = nullptr;
  Socket* sock = nullptr;
  std::shared_ptr<File> file;  // the open file fd referred to when the call began

 private:
  std::unique_lock<std::mutex> lock_;  // held from get() until after the reference is dropped
};

// Whether a signal handler installed with SA_RESTART may restart the call: only while it
// has transferred nothing (tcp_sendmsg and tcp_recvmsg return what they copied when a
// signal comes after some bytes, whatever SA_RESTART says).
enum class Restart { kYes, kNo };

// Retries `op` while it would block and the call may wait, sleeping on the socket's wait
// queue between tries, until `timeout` (0: forever). Linux reports an expired
// SO_RCVTIMEO/SO_SNDTIMEO as EAGAIN, and a sleep a signal handler ended as EINTR when the
// last try still would block (what arrived meanwhile is returned instead, as Linux copies
// data before it looks at pending signals).
template <typename Op>
auto run_blocking(SockRef& t, bool nonblock, Duration timeout, Op op,
                  Restart restart = Restart::kYes) -> decltype(op()) {
  const Instant deadline = timeout.count() > 0 ? t.rt().now() + timeout : kNever;
  bool pumped = false;
  for (;;) {
    auto r = op();
    if (r || r.error() != Error::kWouldBlock || nonblock) return r;
    if (!pumped) {
      // What the attempt queued (a window update) goes out, and what that brings back is
      // looked at, before we sleep: a wake-up raised while we pump finds nobody waiting.
      t.pump();
      pumped = true;
      continue;
    }
    pumped = false;
    const auto woke = t.wait(deadline, restart == Restart::kYes);
    if (woke == ThreadWaker::Woke::kWoken) continue;
    auto last = op();
    if (last || last.error() != Error::kWouldBlock) return last;
    if (woke == ThreadWaker::Woke::kInterrupted) return Error::kInterrupted;
    return last;
  }
}

}  // namespace usnet::api

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
  // Sleeps until the socket is woken or `deadline`; false once the deadline has passed.
  bool wait(Instant deadline) { return rt().wait_on(lock_, *sock, deadline); }

  usnet_stack* handle = nullptr;
  Socket* sock = nullptr;

 private:
  std::unique_lock<std::mutex> lock_;  // held from get() until after the reference is dropped
};

}  // namespace usnet::api

// The runtime: stacks driven by the real clock on a network thread, and the blocking,
// thread-safe socket calls on top of them. It is the only place in usnet that reads a
// clock, sleeps or starts a thread (DESIGN.md invariants 2 and 3); the stacks below it stay
// single-threaded and clock-free, and simulations drive them directly in virtual time.
//
// LOCKING MODEL (the one place it is written down)
//   1. The runtime lock, Runtime::mutex(), guards everything of the runtime: its stacks,
//      their sockets, timers and devices, and every socket's wait queue. The network thread
//      holds it while it polls the stacks; an application thread holds it for the length of
//      one socket call. Nothing below the runtime knows threads exist.
//   2. A blocking call sleeps on the socket's wait queue (socket/wait_queue.h) with the
//      runtime lock released (on its thread's ThreadWaker, so signals interrupt it as they
//      interrupt the Linux call: runtime/thread_waker.h), and is woken by the
//      protocols' sk_data_ready / sk_write_space / sk_state_change / sk_error_report, which
//      run under the lock on whichever thread drove the stack. No call spins.
//   3. An epoll instance or a completion ring has a lock of its own, always taken after a
//      runtime lock, never before: a wait-queue callback (runtime lock held) may take it;
//      code holding it never takes a runtime lock. epoll_wait() re-polls its ready sockets
//      one at a time under their runtime locks, with its own lock released.
//   4. The process-wide descriptor map (api/handles.h) has its own lock, taken alone.
//   5. A call in progress holds a reference on its socket (Socket::users). close() removes
//      the descriptor at once; the socket is released when the last call on it returns, so
//      a call blocked in another thread keeps waiting as on Linux, on a live socket.
//   Callers of the methods below hold the runtime lock unless a method says otherwise.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/time.h"
#include "runtime/thread_waker.h"
#include "stack/stack.h"

namespace usnet {

class Socket;

class Runtime {
 public:
  // Starts the network thread (it sleeps until there is work).
  Runtime();
  // Stops and joins the network thread, then destroys the stacks and devices. Takes the
  // lock itself; call without it.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  std::mutex& mutex() noexcept { return mu_; }

  Stack& add_stack(StackConfig config);
  const std::vector<std::unique_ptr<Stack>>& stacks() const noexcept { return stacks_; }

  // Wall-clock time as an Instant (so pcap timestamps read as dates), advancing with the
  // monotonic clock (so a clock step never moves stack time backwards). Lock not needed.
  Instant now() const noexcept;
  // The monotonic-clock time of an Instant, for condition-variable deadlines (now()'s inverse).
  std::chrono::steady_clock::time_point steady_of(Instant t) const noexcept;

  // After a call changed a stack: sends what it queued and takes in what that caused
  // (looped-back packets, frames between stacks of this runtime), then tells the network
  // thread if the stacks now need it sooner than it planned to wake.
  void after_call();

  // A device was attached or replaced: the network thread re-reads the descriptors it
  // waits on.
  void devices_changed();

  // Sleeps until `sock` is woken, `deadline` passes (kNever: no limit), a signal handler
  // interrupts the sleep, or the runtime stops (reported as kTimedOut). `lock` holds mutex()
  // and is released while asleep. A `restartable` sleep without a deadline is not ended by
  // a handler installed with SA_RESTART; with a deadline no sleep is, as signal(7) says of
  // socket calls with SO_RCVTIMEO/SO_SNDTIMEO set.
  ThreadWaker::Woke wait_on(std::unique_lock<std::mutex>& lock, Socket& sock, Instant deadline,
                            bool restartable);

  // Sleeps (lock held on entry, released while asleep) until the network thread has taken
  // in a packet or `deadline` passes: how usnet_runtime_poll() waits.
  void wait_activity(std::unique_lock<std::mutex>& lock, Instant deadline);

  // A reference on `sock` held by a call, a poll() or a ring operation in progress
  // (Socket::users, the locking model's rule 5). unpin() drops it; the last one dropped
  // after close() releases the socket, which runs after_call() and so the post-poll hooks.
  static void pin(Socket& sock) noexcept;
  void unpin(Socket& sock);
  // close() of a socket: kept here until its last reference goes (released at once if none
  // but the closing call's own is held).
  void park_closed(std::unique_ptr<Socket> sock);

  // Work to run after each pass over the stacks, with the lock held: on the network thread,
  // and on an application thread whose call just polled the stacks (after_call). Completion
  // rings retry their parked operations here. Returns an id for removal.
  int add_post_poll(std::function<void()> fn);
  void remove_post_poll(int id);

  // Keeps `obj` (a device, a wire, a pcap writer) alive as long as the runtime, after the
  // stacks that use it are gone.
  template <typename T>
  T& keep(std::unique_ptr<T> obj) {
    T& ref = *obj;
    kept_.push_back(std::shared_ptr<T>(std::move(obj)));
    return ref;
  }

 private:
  void network_loop();
  // Polls every stack at the current time, repeating while one has work queued that the
  // next poll handles (looped-back packets, a device's unread frames), at most `rounds`.
  void poll_stacks(int rounds);
  Instant next_deadline() const noexcept;
  void sync_device_fds();
  void kick();  // wakes the network thread

  std::chrono::steady_clock::time_point start_;
  Duration wall_at_start_;
  std::vector<std::shared_ptr<void>> kept_;  // destroyed after stacks_ (declared first)
  std::vector<std::unique_ptr<Stack>> stacks_;
  std::unordered_map<Socket*, std::unique_ptr<Socket>> parked_;
  std::vector<std::pair<int, std::function<void()>>> post_poll_;
  int next_post_poll_id_ = 1;

  std::mutex mu_;
  std::condition_variable activity_;  // a poll took in packets
  std::uint64_t packets_seen_ = 0;
  Instant planned_wake_ = kNever;  // when the network thread will next wake by itself
  bool devices_dirty_ = true;
  bool stopping_ = false;
  int epfd_ = -1;     // the network thread's kernel epoll: devices and wake_fd_
  int wake_fd_ = -1;  // eventfd: kick()
  std::vector<int> device_fds_;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace usnet

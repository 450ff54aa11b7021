// A completion ring (Linux io_uring, include/usnet/ring.h is its contract): the queues, the
// operations in flight, and how they wait, wake, complete, link and cancel.
//
// How an operation runs. usnet_ring_submit() consumes the SQEs on the calling thread and
// issues each chain's first operation there: one non-blocking try through the socket layer,
// under the socket's runtime lock, as the C API calls do. If it would block it is parked: a
// WaitEntry on the socket's wait queue, a reference on the socket (Socket::users, so close()
// cannot free it), and the ring's post-poll hook on the socket's runtime. A wake-up only puts
// the operation on the ready list (wait-queue callbacks must not re-enter the stack); the
// hook, which runs after each pass over the stacks with the runtime lock held, tries the
// ready operations again. An application thread entering the ring (submit, peek, wait) runs
// what is ready too, so a wake-up raised outside a pass is not left waiting for the next one.
// Timeouts are timers on the home stack's wheel, so the network thread wakes for them.
// Linked successors are started by application threads only: a successor's socket may live
// on another runtime, and no thread ever holds two runtime locks.
//
// Locking (runtime/runtime.h, rules 3 and 5): mu_, the ring lock, is taken after a runtime
// lock, never before, and nothing is called with it held that could take a runtime lock or
// run a post-poll hook (after_call, unpinning a socket, usnet_close). It guards the CQ's
// producer side, the overflow list, the operation table, the ready and startable lists, the
// chain links, buffer rings and the eventfd. A parked operation's state changes only with
// both its runtime lock and mu_ held.
//
// Lifetime: the ring outlives every callback into it. Each wait entry is removed (under its
// runtime lock) before its operation completes; each hook is removed (under its runtime
// lock, which a running hook holds) before the ring is freed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "runtime/ring_buf.h"
#include "runtime/ring_op.h"
#include "runtime/ring_queue.h"
#include "runtime/thread_waker.h"

namespace usnet {

class Runtime;
class Socket;
class Stack;

class Ring {
 public:
  // Makes the operation for an SQE the core does not implement itself (the socket
  // operations, from api/); null for an unknown opcode.
  using SocketOpFactory = std::shared_ptr<RingOp> (*)(const usnet_sqe& sqe);
  static constexpr unsigned kMaxSqEntries = 32768;
  static constexpr unsigned kMaxCqEntries = 65536;

  // Entries are powers of two within the limits above (the C edge checks). The home
  // runtime's clock and the home stack's timer wheel run the ring's timeouts.
  Ring(unsigned sq_entries, unsigned cq_entries, Runtime& home_rt, Stack& home_stack,
       SocketOpFactory factory);
  // Cancels every operation without posting CQEs, then leaves the runtimes. Call with no
  // lock held and no other call on the ring in progress.
  ~Ring();  // NOLINT(bugprone-exception-escape): see ring.cpp
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  RingMemory& memory() noexcept { return mem_; }
  Runtime& home_rt() const noexcept { return home_rt_; }
  Stack& home_stack() const noexcept { return home_stack_; }

  // --- application threads, no lock held ---
  // Consumes the published SQEs and issues them (io_uring_enter); returns how many.
  unsigned submit();
  // Until `nr` CQEs are ready (0) or `deadline` passes (-ETIME), running deferred work.
  int wait(unsigned nr, const std::chrono::steady_clock::time_point* deadline);
  // Retries ready operations, starts runnable successors, moves overflowed CQEs in.
  void run_deferred();
  int register_eventfd(int fd);
  int unregister_eventfd();
  // Provided buffers (io_uring_setup_buf_ring / io_uring_free_buf_ring); -errno on failure.
  usnet_buf_ring* setup_buf_ring(unsigned nentries, int bgid, int* err);
  int free_buf_ring(usnet_buf_ring* br, int bgid);

  // --- for operations ---
  // Completes an operation that is not parked. Any runtime lock may be held, not mu_.
  void complete(RingOp& op, int res, std::uint32_t cflags = 0);
  // Tries `op` on `sock` until it completes or would block, posting multishot results;
  // parks it the first time it would block. rt's lock held. Returns the last attempt.
  Attempt drive(RingOp& op, Runtime& rt, Socket& sock);
  // Parks a timeout (on the home runtime, whose lock is held); with count > 0 it also
  // fires once `count` more CQEs have been posted.
  void park_timer(RingOp& op, std::uint64_t count);
  // A parked operation's timer fired (kFiredTimer) or count was reached (kFiredCount):
  // it goes on the ready list. rt's lock held.
  void fire(RingOp& op, std::uint8_t what);
  std::uint8_t take_fired(RingOp& op);
  static constexpr std::uint8_t kFiredTimer = 1;
  static constexpr std::uint8_t kFiredCount = 2;
  // Ends a parked operation: off its wait queue (or timer), completed, its socket unpinned.
  // rt's lock held.
  void unpark_and_finish(RingOp& op, int res, std::uint32_t cflags, bool post = true);
  // Cancels live operations with this user_data (of `opcode` only, if >= 0), other than
  // `self`: the first one, or all. Returns how many, or -EALREADY if the only matches were
  // being issued. No lock held.
  int cancel(std::uint64_t user_data, bool all, int opcode, const RingOp* self);
  // A buffer of `group` for a recv, or none (the group is empty or does not exist); and
  // one taken but not used, back to the group.
  std::optional<BufSlot> take_buffer(std::uint16_t group);
  void give_back_buffer(std::uint16_t group, const BufSlot& slot);

 private:
  struct Attachment {
    Runtime* rt;
    int hook;
  };
  enum class CancelResult : std::uint8_t { kCancelled, kBusy, kGone };

  std::shared_ptr<RingOp> make_op(const usnet_sqe& sqe);
  void start_pending();
  void run_ready(Runtime& rt, bool pump);
  void park(RingOp& op, Runtime& rt, Socket& sock);
  bool post_more(RingOp& op, int res, std::uint32_t cflags);
  CancelResult cancel_one(const std::shared_ptr<RingOp>& op, bool post);
  static bool wake_cb(WaitEntry& e, Socket& sock, PollMask key);
  // With mu_ held:
  void finish_locked(RingOp& op, int res, std::uint32_t cflags, bool post);
  void fail_chain_locked(std::shared_ptr<RingOp> first, bool post);
  void post_locked(std::uint64_t user_data, int res, std::uint32_t cflags);
  void mark_ready_locked(RingOp& op);
  void attach_locked(Runtime& rt);
  void flush_overflow_locked();
  void note_work_locked();
  void wake_waiters_locked();
  void update_flags_locked();

  RingMemory mem_;
  Runtime& home_rt_;
  Stack& home_stack_;
  SocketOpFactory factory_;

  std::mutex mu_;
  std::deque<usnet_cqe> overflow_;
  std::unordered_map<const RingOp*, std::shared_ptr<RingOp>> live_;  // not yet kDone
  std::vector<std::shared_ptr<RingOp>> ready_;                       // woken parked operations
  std::deque<std::shared_ptr<RingOp>> startable_;  // successors whose turn has come
  std::vector<std::pair<std::uint64_t, std::shared_ptr<RingOp>>> count_watch_;
  std::vector<Attachment> attached_;
  std::map<int, std::unique_ptr<usnet_buf_ring>> buf_rings_;
  std::uint64_t posted_ = 0;  // CQEs posted, for timeouts with a count
  std::uint64_t next_seq_ = 0;
  int eventfd_ = -1;
  // Threads asleep in wait() for CQEs or deferred work; each wakes on its ThreadWaker.
  std::vector<ThreadWaker*> waiters_;
  bool exiting_ = false;
};

}  // namespace usnet

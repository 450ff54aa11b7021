// One operation of a completion ring: what the ring core needs of every operation, and the
// interface the operations implement (socket operations in api/ring_ops.cpp, timeouts and
// cancellation in runtime/ring_core_ops.cpp).
//
// Life of an operation (runtime/ring.h says which lock guards each field):
//   kLinked   waits for the operation before it in a chain; not started.
//   kIssuing  being started by an application thread (issue()).
//   kParked   tried, would block: a wait entry on its socket (or a timer) wakes it, and a
//             runtime's post-poll hook or an application thread retries it (retry()).
//   kDone     completed; its CQE is posted (or was dropped at exit).
// Only kParked operations have parked_rt set, and it never changes while they are parked, so the
// state of a parked operation is stable under its runtime lock.
#pragma once

#include <cstdint>
#include <memory>

#include "socket/wait_queue.h"
#include "usnet/ring.h"

namespace usnet {

class Ring;
class Runtime;
class Socket;

// What one non-blocking try of an operation came to.
struct Attempt {
  enum class Kind : std::uint8_t {
    kDone,     // completed with res
    kMore,     // a multishot result: post it and try again
    kBlocked,  // would block: wait for a wake-up whose key meets `wait`
  };
  Kind kind = Kind::kDone;
  int res = 0;
  std::uint32_t cflags = 0;
  PollMask wait = 0;

  static Attempt done(int res, std::uint32_t cflags = 0) { return {Kind::kDone, res, cflags, 0}; }
  static Attempt more(int res, std::uint32_t cflags = 0) { return {Kind::kMore, res, cflags, 0}; }
  static Attempt blocked(PollMask wait) { return {Kind::kBlocked, 0, 0, wait}; }
};

class RingOp : public std::enable_shared_from_this<RingOp> {
 public:
  enum class State : std::uint8_t { kLinked, kIssuing, kParked, kDone };

  explicit RingOp(const usnet_sqe& sqe)
      : user_data(sqe.user_data), opcode(sqe.opcode), sqe_flags(sqe.flags), fd(sqe.fd) {}
  virtual ~RingOp() = default;
  RingOp(const RingOp&) = delete;
  RingOp& operator=(const RingOp&) = delete;

  // Starts the operation: once, on an application thread, with no lock held. It ends by
  // completing the operation (Ring::complete) or parking it (Ring::drive / Ring::park_timer).
  virtual void issue(Ring& ring) = 0;
  // A parked operation was woken: called with parked_rt's lock held and the ring lock not held.
  // Socket operations try again (Ring::drive); timeouts look at what fired.
  virtual void retry(Ring& ring);
  // One non-blocking try, with the socket's runtime lock held (socket operations only).
  virtual Attempt attempt(Ring& ring, Socket& sock);
  // The operation leaves the parked state (completed or cancelled), parked_rt's lock held.
  virtual void on_unpark() {}
  // Whether a completion with `res` lets the next operation of a chain start.
  virtual bool link_ok(int res) const { return res >= 0; }

  const std::uint64_t user_data;
  const std::uint8_t opcode;
  const std::uint8_t sqe_flags;
  const int fd;

  // --- the ring's bookkeeping ---
  Ring* owner = nullptr;
  std::uint64_t seq = 0;          // submission order (cancel takes the oldest match)
  State state = State::kIssuing;  // ring lock; and parked_rt's lock while kParked
  std::shared_ptr<RingOp> next;   // the chain's next operation (ring lock)
  Runtime* parked_rt = nullptr;   // set when parked (both locks)
  Socket* parked_sock = nullptr;  // pinned (Socket::users) while parked
  WaitEntry wait;                 // on parked_sock's wait queue (parked_rt's lock)
  PollMask wait_mask = 0;         // wake-up keys that matter (parked_rt's lock)
  bool on_ready = false;          // on the ring's ready list (ring lock)
  std::uint8_t fired = 0;         // Ring::kFired* not yet seen by retry() (ring lock)
};

}  // namespace usnet

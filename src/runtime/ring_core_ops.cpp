// The operations that need no socket: NOP, TIMEOUT, and the ones that end other operations
// (ASYNC_CANCEL, TIMEOUT_REMOVE, POLL_REMOVE), plus the stand-in for an SQE that is refused.
#include <cerrno>
#include <ctime>

#include "base/time.h"
#include "base/timer_wheel.h"
#include "runtime/ring.h"
#include "runtime/runtime.h"
#include "stack/stack.h"

namespace usnet {
namespace {

// An SQE refused before it started (unknown opcode or flags): completes with `res`.
class FailedOp final : public RingOp {
 public:
  FailedOp(const usnet_sqe& sqe, int res) : RingOp(sqe), res_(res) {}
  void issue(Ring& ring) override { ring.complete(*this, res_); }

 private:
  int res_;
};

class NopOp final : public RingOp {
 public:
  using RingOp::RingOp;
  void issue(Ring& ring) override { ring.complete(*this, 0); }
};

// IORING_OP_TIMEOUT: -ETIME when the time passes, 0 when `count` CQEs were posted first.
// The timer is on the home stack's wheel, so the network thread wakes for it; the deadline
// is taken from the runtime's clock (the stack's own time is that of its last poll, which
// may be long past when the network thread is idle).
class TimeoutOp final : public RingOp {
 public:
  explicit TimeoutOp(const usnet_sqe& sqe)
      : RingOp(sqe),
        ts_(reinterpret_cast<const usnet_timespec*>(static_cast<std::uintptr_t>(sqe.addr))),
        len_(sqe.len),
        count_(sqe.off),
        flags_(sqe.op_flags) {}

  void issue(Ring& ring) override {
    constexpr std::uint32_t kKnown = USNET_TIMEOUT_ABS | USNET_TIMEOUT_ETIME_SUCCESS;
    if (len_ != 1 || (flags_ & ~kKnown) != 0 || (sqe_flags & USNET_SQE_BUFFER_SELECT) != 0) {
      ring.complete(*this, -EINVAL);
      return;
    }
    if (ts_ == nullptr) {
      ring.complete(*this, -EFAULT);
      return;
    }
    const usnet_timespec ts = *ts_;  // read once: the caller may reuse it after submit
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000) {
      ring.complete(*this, -EINVAL);
      return;
    }
    Duration delay = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    if ((flags_ & USNET_TIMEOUT_ABS) != 0) {
      timespec mono{};
      ::clock_gettime(CLOCK_MONOTONIC, &mono);
      delay -= std::chrono::seconds(mono.tv_sec) + std::chrono::nanoseconds(mono.tv_nsec);
    }
    Runtime& home_rt = ring.home_rt();
    std::lock_guard lock(home_rt.mutex());
    home_ = &ring.home_stack();
    timer_.set_callback([this, &ring] { ring.fire(*this, Ring::kFiredTimer); });
    home_->timers().arm(timer_, home_rt.now() + std::max(delay, Duration{0}));
    ring.park_timer(*this, count_);
    home_rt.after_call();  // the network thread plans its sleep with the new deadline
  }

  void retry(Ring& ring) override {
    const std::uint8_t what = ring.take_fired(*this);
    if ((what & Ring::kFiredCount) != 0) {
      ring.unpark_and_finish(*this, 0, 0);
    } else if ((what & Ring::kFiredTimer) != 0) {
      ring.unpark_and_finish(*this, -ETIME, 0);
    }
  }

  void on_unpark() override { home_->timers().cancel(timer_); }

  bool link_ok(int res) const override {
    return res >= 0 || (res == -ETIME && (flags_ & USNET_TIMEOUT_ETIME_SUCCESS) != 0);
  }

 private:
  const usnet_timespec* ts_;
  std::uint32_t len_;
  std::uint64_t count_;
  std::uint32_t flags_;
  Stack* home_ = nullptr;
  Timer timer_;  // on home_'s wheel while parked (home runtime lock)
};

// ASYNC_CANCEL (any operation), TIMEOUT_REMOVE (timeouts), POLL_REMOVE (poll requests): the
// target completes with -ECANCELED, this with 0 (or the count, with CANCEL_ALL) or -ENOENT.
class CancelOp final : public RingOp {
 public:
  explicit CancelOp(const usnet_sqe& sqe) : RingOp(sqe), target_(sqe.addr), flags_(sqe.op_flags) {}

  void issue(Ring& ring) override {
    int only = -1;
    std::uint32_t known = 0;
    if (opcode == USNET_OP_ASYNC_CANCEL) {
      known = USNET_ASYNC_CANCEL_ALL;
    } else if (opcode == USNET_OP_TIMEOUT_REMOVE) {
      only = USNET_OP_TIMEOUT;
    } else {
      only = USNET_OP_POLL_ADD;
    }
    if ((flags_ & ~known) != 0 || (sqe_flags & USNET_SQE_BUFFER_SELECT) != 0) {
      ring.complete(*this, -EINVAL);
      return;
    }
    const bool all = (flags_ & USNET_ASYNC_CANCEL_ALL) != 0;
    const int n = ring.cancel(target_, all, only, this);
    if (n < 0) {
      ring.complete(*this, n);
    } else if (n == 0) {
      ring.complete(*this, -ENOENT);
    } else {
      ring.complete(*this, all ? n : 0);
    }
  }

 private:
  std::uint64_t target_;
  std::uint32_t flags_;
};

}  // namespace

std::shared_ptr<RingOp> make_failed_op(const usnet_sqe& sqe, int res) {
  return std::make_shared<FailedOp>(sqe, res);
}

// The operations of the core; null for the socket operations.
std::shared_ptr<RingOp> make_core_op(const usnet_sqe& sqe) {
  switch (sqe.opcode) {
    case USNET_OP_NOP:
      return std::make_shared<NopOp>(sqe);
    case USNET_OP_TIMEOUT:
      return std::make_shared<TimeoutOp>(sqe);
    case USNET_OP_ASYNC_CANCEL:
    case USNET_OP_TIMEOUT_REMOVE:
    case USNET_OP_POLL_REMOVE:
      return std::make_shared<CancelOp>(sqe);
    default:
      return nullptr;
  }
}

}  // namespace usnet

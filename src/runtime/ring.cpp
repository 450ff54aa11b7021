// The ring core: submission, completion (CQ, overflow, eventfd, waiters), chains,
// cancellation and exit. Parking and waking are in ring_park.cpp; the operations the core
// implements itself in ring_core_ops.cpp.
#include "runtime/ring.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "runtime/runtime.h"

namespace usnet {

std::shared_ptr<RingOp> make_core_op(const usnet_sqe& sqe);  // ring_core_ops.cpp
std::shared_ptr<RingOp> make_failed_op(const usnet_sqe& sqe, int res);

namespace {

constexpr std::uint8_t kKnownSqeFlags =
    USNET_SQE_IO_LINK | USNET_SQE_IO_HARDLINK | USNET_SQE_BUFFER_SELECT;
constexpr std::uint8_t kLinkFlags = USNET_SQE_IO_LINK | USNET_SQE_IO_HARDLINK;

}  // namespace

Ring::Ring(unsigned sq_entries, unsigned cq_entries, Runtime& home_rt, Stack& home_stack,
           SocketOpFactory factory)
    : mem_(sq_entries, cq_entries), home_rt_(home_rt), home_stack_(home_stack), factory_(factory) {}

// Allocation failure while detaching from sockets cannot be recovered from (operations
// would stay queued on them); the implicit noexcept turns it into std::terminate, on purpose.
Ring::~Ring() {  // NOLINT(bugprone-exception-escape)
  std::vector<std::shared_ptr<RingOp>> all;
  {
    std::lock_guard lock(mu_);
    exiting_ = true;
    all.reserve(live_.size());
    for (auto& [raw, op] : live_)
      all.push_back(op);
    startable_.clear();
  }
  for (auto& op : all)
    (void)cancel_one(op, false);
  std::vector<Attachment> attached;
  {
    std::lock_guard lock(mu_);
    attached.swap(attached_);
    ready_.clear();
    count_watch_.clear();
    live_.clear();
  }
  // A hook runs with its runtime lock held: once removed under that lock, none is running.
  for (const Attachment& a : attached) {
    std::lock_guard lock(a.rt->mutex());
    a.rt->remove_post_poll(a.hook);
  }
  if (eventfd_ >= 0) ::close(eventfd_);
}

std::shared_ptr<RingOp> Ring::make_op(const usnet_sqe& sqe) {
  std::shared_ptr<RingOp> op;
  if ((sqe.flags & ~kKnownSqeFlags) != 0) {
    op = make_failed_op(sqe, -EINVAL);
  } else if (auto core = make_core_op(sqe)) {
    op = std::move(core);
  } else if (auto sock = factory_(sqe)) {
    op = std::move(sock);
  } else {
    op = make_failed_op(sqe, -EINVAL);
  }
  op->owner = this;
  return op;
}

unsigned Ring::submit() {
  std::vector<std::shared_ptr<RingOp>> ops;
  const unsigned n = mem_.sq_consume([&](const usnet_sqe& sqe) { ops.push_back(make_op(sqe)); });
  // One chain at a time becomes visible (to cancel) and is issued, in submission order, as
  // io_uring reads an SQE only after issuing the ones before it. A chain ends at an SQE
  // without a link flag, or at the end of the submission.
  for (std::size_t i = 0; i < ops.size();) {
    std::size_t last = i;
    while (last + 1 < ops.size() && (ops[last]->sqe_flags & kLinkFlags) != 0)
      ++last;
    {
      std::lock_guard lock(mu_);
      for (std::size_t k = i; k <= last; ++k) {
        ops[k]->seq = next_seq_++;
        live_.emplace(ops[k].get(), ops[k]);
        if (k > i) {
          ops[k]->state = RingOp::State::kLinked;
          ops[k - 1]->next = ops[k];
        }
      }
    }
    ops[i]->issue(*this);
    start_pending();
    i = last + 1;
  }
  return n;
}

void Ring::start_pending() {
  for (;;) {
    std::shared_ptr<RingOp> op;
    {
      std::lock_guard lock(mu_);
      if (startable_.empty()) return;
      op = std::move(startable_.front());
      startable_.pop_front();
      update_flags_locked();
      // Cancelled (or failed with its chain) since its predecessor completed.
      if (op->state != RingOp::State::kLinked || exiting_) continue;
      op->state = RingOp::State::kIssuing;
    }
    op->issue(*this);
  }
}

void Ring::run_deferred() {
  std::vector<Runtime*> rts;
  {
    std::lock_guard lock(mu_);
    for (const auto& op : ready_) {
      if (std::find(rts.begin(), rts.end(), op->parked_rt) == rts.end())
        rts.push_back(op->parked_rt);
    }
  }
  for (Runtime* rt : rts) {
    std::lock_guard lock(rt->mutex());
    run_ready(*rt, true);
  }
  start_pending();
  std::lock_guard lock(mu_);
  flush_overflow_locked();
}

int Ring::wait(unsigned nr, const std::chrono::steady_clock::time_point* deadline) {
  nr = std::min(nr, mem_.cq_entries());
  for (;;) {
    if (mem_.flags() != 0) run_deferred();
    std::unique_lock lock(mu_);
    flush_overflow_locked();
    if (mem_.cq_ready() >= nr) return 0;
    if (!ready_.empty() || !startable_.empty()) continue;
    // io_uring_enter's wait for completions is never restarted after a signal handler:
    // -EINTR, as liburing's wait calls return it.
    ThreadWaker* waker = ThreadWaker::self();
    if (waker == nullptr) return -errno;
    waker->arm();
    waiters_.push_back(waker);
    lock.unlock();
    const auto woke = waker->sleep(deadline, false);
    lock.lock();
    std::erase(waiters_, waker);
    if (woke == ThreadWaker::Woke::kInterrupted) {
      flush_overflow_locked();
      return mem_.cq_ready() >= nr ? 0 : -EINTR;
    }
    if (woke == ThreadWaker::Woke::kTimedOut) {
      flush_overflow_locked();
      return mem_.cq_ready() >= nr ? 0 : -ETIME;
    }
  }
}

void Ring::complete(RingOp& op, int res, std::uint32_t cflags) {
  std::lock_guard lock(mu_);
  finish_locked(op, res, cflags, true);
}

void Ring::finish_locked(RingOp& op, int res, std::uint32_t cflags, bool post) {
  const auto self = op.shared_from_this();  // live_ may hold the last reference
  op.state = RingOp::State::kDone;
  live_.erase(&op);
  if (!count_watch_.empty()) {
    std::erase_if(count_watch_, [&](const auto& w) { return w.second.get() == &op; });
  }
  if (post) post_locked(op.user_data, res, cflags);
  if (!op.next) return;
  auto next = std::move(op.next);
  const bool go_on = (op.sqe_flags & USNET_SQE_IO_HARDLINK) != 0 || op.link_ok(res);
  if (go_on && !exiting_) {
    startable_.push_back(std::move(next));
    note_work_locked();
  } else {
    fail_chain_locked(std::move(next), post);
  }
}

void Ring::fail_chain_locked(std::shared_ptr<RingOp> first, bool post) {
  for (auto op = std::move(first); op;) {
    auto next = std::move(op->next);
    if (op->state == RingOp::State::kLinked) {
      op->state = RingOp::State::kDone;
      live_.erase(op.get());
      if (post) post_locked(op->user_data, -ECANCELED, 0);
    }
    op = std::move(next);
  }
}

void Ring::post_locked(std::uint64_t user_data, int res, std::uint32_t cflags) {
  const usnet_cqe cqe{user_data, res, cflags};
  // Once one CQE waits in the overflow list, later ones queue behind it, so the
  // application sees them in the order they were posted.
  if (overflow_.empty() && !mem_.cq_full()) {
    mem_.cq_post(cqe);
  } else {
    overflow_.push_back(cqe);
    update_flags_locked();
  }
  ++posted_;
  for (auto it = count_watch_.begin(); it != count_watch_.end();) {
    if (it->first <= posted_) {
      it->second->fired |= kFiredCount;
      mark_ready_locked(*it->second);
      it = count_watch_.erase(it);
    } else {
      ++it;
    }
  }
  wake_waiters_locked();
  if (eventfd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(eventfd_, &one, sizeof(one));
  }
}

bool Ring::post_more(RingOp& op, int res, std::uint32_t cflags) {
  std::lock_guard lock(mu_);
  if (!overflow_.empty() || mem_.cq_full()) return false;
  post_locked(op.user_data, res, cflags | USNET_CQE_F_MORE);
  return true;
}

void Ring::flush_overflow_locked() {
  if (overflow_.empty()) return;
  while (!overflow_.empty() && !mem_.cq_full()) {
    mem_.cq_post(overflow_.front());
    overflow_.pop_front();
  }
  update_flags_locked();
}

void Ring::note_work_locked() {
  update_flags_locked();
  wake_waiters_locked();
  if (eventfd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(eventfd_, &one, sizeof(one));
  }
}

void Ring::wake_waiters_locked() {
  for (ThreadWaker* w : waiters_)
    w->wake();
}

void Ring::update_flags_locked() {
  unsigned f = 0;
  if (!ready_.empty() || !startable_.empty()) f |= USNET_SQ_TASKRUN;
  if (!overflow_.empty()) f |= USNET_SQ_CQ_OVERFLOW;
  mem_.set_flags(f);
}

int Ring::register_eventfd(int fd) {
  std::lock_guard lock(mu_);
  if (eventfd_ >= 0) return -EBUSY;
  // A descriptor of our own for the same eventfd, as io_uring holds a reference to the
  // file: the application may close its number (or reuse it) without the ring writing
  // into something else.
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return -errno;
  eventfd_ = own;
  return 0;
}

int Ring::unregister_eventfd() {
  std::lock_guard lock(mu_);
  if (eventfd_ < 0) return -ENXIO;
  ::close(eventfd_);
  eventfd_ = -1;
  return 0;
}

int Ring::cancel(std::uint64_t user_data, bool all, int opcode, const RingOp* self) {
  std::vector<std::shared_ptr<RingOp>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [raw, op] : live_) {
      if (op.get() == self || op->user_data != user_data) continue;
      if (opcode >= 0 && op->opcode != opcode) continue;
      targets.push_back(op);
    }
  }
  std::sort(targets.begin(), targets.end(),
            [](const auto& a, const auto& b) { return a->seq < b->seq; });
  int n = 0;
  bool busy = false;
  for (const auto& op : targets) {
    switch (cancel_one(op, true)) {
      case CancelResult::kCancelled:
        ++n;
        if (!all) return n;
        break;
      case CancelResult::kBusy:
        busy = true;
        break;
      case CancelResult::kGone:
        break;
    }
  }
  return n == 0 && busy ? -EALREADY : n;
}

Ring::CancelResult Ring::cancel_one(const std::shared_ptr<RingOp>& op, bool post) {
  Runtime* rt = nullptr;
  {
    std::lock_guard lock(mu_);
    switch (op->state) {
      case RingOp::State::kLinked:
        finish_locked(*op, -ECANCELED, 0, post);
        return CancelResult::kCancelled;
      case RingOp::State::kIssuing:
        return CancelResult::kBusy;
      case RingOp::State::kDone:
        return CancelResult::kGone;
      case RingOp::State::kParked:
        rt = op->parked_rt;
        break;
    }
  }
  // Runtime lock first (rule 3); a parked operation's rt does not change, and under it the
  // state is stable: completed meanwhile, or still ours to end.
  std::lock_guard rl(rt->mutex());
  {
    std::lock_guard lock(mu_);
    if (op->state != RingOp::State::kParked) return CancelResult::kGone;
  }
  unpark_and_finish(*op, -ECANCELED, 0, post);
  return CancelResult::kCancelled;
}

usnet_buf_ring* Ring::setup_buf_ring(unsigned nentries, int bgid, int* err) {
  auto fail = [&](int e) -> usnet_buf_ring* {
    if (err != nullptr) *err = e;
    return nullptr;
  };
  if (nentries == 0 || nentries > 32768 || (nentries & (nentries - 1)) != 0) return fail(-EINVAL);
  if (bgid < 0 || bgid > 0xffff) return fail(-EINVAL);
  std::lock_guard lock(mu_);
  if (buf_rings_.contains(bgid)) return fail(-EEXIST);
  auto br = std::make_unique<usnet_buf_ring>(nentries, static_cast<std::uint16_t>(bgid));
  usnet_buf_ring* raw = br.get();
  buf_rings_.emplace(bgid, std::move(br));
  if (err != nullptr) *err = 0;
  return raw;
}

int Ring::free_buf_ring(usnet_buf_ring* br, int bgid) {
  std::lock_guard lock(mu_);
  auto it = buf_rings_.find(bgid);
  if (it == buf_rings_.end() || it->second.get() != br) return -ENOENT;
  buf_rings_.erase(it);
  return 0;
}

std::optional<BufSlot> Ring::take_buffer(std::uint16_t group) {
  std::lock_guard lock(mu_);
  auto it = buf_rings_.find(group);
  if (it == buf_rings_.end()) return std::nullopt;
  usnet_buf_ring& br = *it->second;
  if (!br.stash.empty()) {
    const BufSlot s = br.stash.back();
    br.stash.pop_back();
    return s;
  }
  if (br.head == br.tail.load(std::memory_order_acquire)) return std::nullopt;
  return br.slots[br.head++ & br.mask];
}

void Ring::give_back_buffer(std::uint16_t group, const BufSlot& slot) {
  std::lock_guard lock(mu_);
  auto it = buf_rings_.find(group);
  if (it != buf_rings_.end()) it->second->stash.push_back(slot);
}

}  // namespace usnet

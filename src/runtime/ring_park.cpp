// How ring operations wait: parked on a socket's wait queue (or a timer), marked ready by a
// wake-up, and tried again by the runtime's post-poll hook or an application thread.
#include <algorithm>

#include "runtime/ring.h"
#include "runtime/runtime.h"
#include "socket/socket.h"

namespace usnet {

void RingOp::retry(Ring& ring) {
  (void)ring.drive(*this, *parked_rt, *parked_sock);
}

Attempt RingOp::attempt(Ring& /*ring*/, Socket& /*sock*/) {
  return Attempt::done(-EINVAL);
}

Attempt Ring::drive(RingOp& op, Runtime& rt, Socket& sock) {
  for (;;) {
    const Attempt a = op.attempt(*this, sock);
    if (a.kind == Attempt::Kind::kBlocked) {
      op.wait_mask = a.wait;
      if (op.state != RingOp::State::kParked) park(op, rt, sock);
      return a;
    }
    // A multishot result goes out with F_MORE and the operation tries again; with no room
    // in the CQ it is the operation's last (io_uring ends multishot requests on overflow).
    if (a.kind == Attempt::Kind::kMore && post_more(op, a.res, a.cflags)) continue;
    if (op.state == RingOp::State::kParked) {
      unpark_and_finish(op, a.res, a.cflags);
    } else {
      complete(op, a.res, a.cflags);
    }
    return a;
  }
}

void Ring::park(RingOp& op, Runtime& rt, Socket& sock) {
  Runtime::pin(sock);
  op.wait.func = wake_cb;
  op.wait.ctx = &op;
  sock.wq.add(op.wait);
  std::lock_guard lock(mu_);
  op.parked_rt = &rt;
  op.parked_sock = &sock;
  op.state = RingOp::State::kParked;
  attach_locked(rt);
}

void Ring::park_timer(RingOp& op, std::uint64_t count) {
  std::lock_guard lock(mu_);
  op.parked_rt = &home_rt_;
  op.state = RingOp::State::kParked;
  attach_locked(home_rt_);
  if (count > 0) count_watch_.emplace_back(posted_ + count, op.shared_from_this());
}

void Ring::attach_locked(Runtime& rt) {
  const bool known = std::any_of(attached_.begin(), attached_.end(),
                                 [&](const Attachment& a) { return a.rt == &rt; });
  if (known) return;
  // Registering needs rt's lock, which every caller holds; the hook itself runs with it.
  const int id = rt.add_post_poll([this, &rt] { run_ready(rt, false); });
  attached_.push_back({&rt, id});
}

bool Ring::wake_cb(WaitEntry& e, Socket& /*sock*/, PollMask key) {
  auto* op = static_cast<RingOp*>(e.ctx);
  // A wake-up that says what happened reaches only operations waiting for it; a state
  // change (key 0) reaches all.
  if (key != 0 && (key & op->wait_mask) == 0) return false;
  Ring& ring = *op->owner;
  std::lock_guard lock(ring.mu_);
  ring.mark_ready_locked(*op);
  return true;
}

void Ring::fire(RingOp& op, std::uint8_t what) {
  std::lock_guard lock(mu_);
  op.fired |= what;
  mark_ready_locked(op);
}

std::uint8_t Ring::take_fired(RingOp& op) {
  std::lock_guard lock(mu_);
  const std::uint8_t f = op.fired;
  op.fired = 0;
  return f;
}

void Ring::mark_ready_locked(RingOp& op) {
  if (op.on_ready || op.state != RingOp::State::kParked) return;
  op.on_ready = true;
  ready_.push_back(op.shared_from_this());
  note_work_locked();
}

void Ring::run_ready(Runtime& rt, bool pump) {
  std::vector<std::shared_ptr<RingOp>> batch;
  {
    std::lock_guard lock(mu_);
    if (ready_.empty()) return;
    auto mine = std::stable_partition(ready_.begin(), ready_.end(),
                                      [&](const auto& op) { return op->parked_rt != &rt; });
    for (auto it = mine; it != ready_.end(); ++it) {
      (*it)->on_ready = false;
      batch.push_back(std::move(*it));
    }
    ready_.erase(mine, ready_.end());
    update_flags_locked();
  }
  for (auto& op : batch) {
    // rt's lock is held: a parked operation's state cannot change under us.
    if (op->state == RingOp::State::kParked) op->retry(*this);
  }
  // On an application thread, send what the retries queued now (as a socket call does);
  // in a hook the runtime sees the pending work itself after the hooks have run.
  if (pump && !batch.empty()) rt.after_call();
}

void Ring::unpark_and_finish(RingOp& op, int res, std::uint32_t cflags, bool post) {
  op.on_unpark();
  Socket* sock = op.parked_sock;
  if (sock != nullptr) sock->wq.remove(op.wait);
  {
    std::lock_guard lock(mu_);
    op.parked_sock = nullptr;
    finish_locked(op, res, cflags, post);
  }
  // Last, with rt's lock held and mu_ not: unpinning may release a closed socket and so run
  // the post-poll hooks, which must find the operation done.
  if (sock != nullptr) op.parked_rt->unpin(*sock);
}

}  // namespace usnet

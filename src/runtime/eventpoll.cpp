#include "runtime/eventpoll.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "base/errno_map.h"
#include "runtime/runtime.h"
#include "socket/sock_calls.h"
#include "socket/socket.h"

namespace usnet {
namespace {

// EP_PRIVATE_BITS: flags of an item rather than events; an item with nothing else left
// (a fired EPOLLONESHOT) is disabled.
constexpr std::uint32_t kPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
constexpr std::uint64_t kTokenInner = 1;
constexpr std::uint64_t kTokenReady = 2;
constexpr int kMaxNests = 4;  // EP_MAX_NESTS

// The locks for walking a list of items: the item's runtime lock, then the instance's own
// (rule 3), both kept across a run of items of one runtime rather than taken per item, so a
// busy epoll_wait does not fight the network thread for the runtime lock once per socket.
class ItemLocks {
 public:
  explicit ItemLocks(std::mutex& ep_mu) : el_(ep_mu, std::defer_lock) {}
  void hold(Runtime& rt) {
    if (&rt != held_) {
      if (el_.owns_lock()) el_.unlock();
      rl_ = std::unique_lock<std::mutex>(rt.mutex());
      held_ = &rt;
    }
    if (!el_.owns_lock()) el_.lock();
  }
  void release() {
    if (el_.owns_lock()) el_.unlock();
    if (rl_.owns_lock()) rl_.unlock();
    held_ = nullptr;
  }

 private:
  std::unique_lock<std::mutex> rl_;
  std::unique_lock<std::mutex> el_;
  const Runtime* held_ = nullptr;
};

}  // namespace

std::shared_ptr<EventPoll> EventPoll::create(int flags) {
  std::shared_ptr<EventPoll> ep(new EventPoll());  // NOLINT: private constructor
  const int outer = ::epoll_create1(flags & EPOLL_CLOEXEC);
  if (outer < 0) return nullptr;
  ep->outer_ = outer;
  ep->inner_ = ::epoll_create1(EPOLL_CLOEXEC);
  ep->evfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ep->inner_ < 0 || ep->evfd_ < 0) return nullptr;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTokenInner;
  if (::epoll_ctl(outer, EPOLL_CTL_ADD, ep->inner_, &ev) != 0) return nullptr;
  ev.data.u64 = kTokenReady;
  if (::epoll_ctl(outer, EPOLL_CTL_ADD, ep->evfd_, &ev) != 0) return nullptr;
  return ep;
}

EventPoll::~EventPoll() {
  detach();
  for (int fd : {evfd_, inner_, outer_.load()}) {
    if (fd >= 0) ::close(fd);
  }
}

void EventPoll::signal_locked() {
  if (signalled_) return;
  signalled_ = true;
  const std::uint64_t one = 1;
  (void)!::write(evfd_, &one, sizeof(one));
}

void EventPoll::sync_signal_locked() {
  if (ready_.empty() && signalled_) {
    std::uint64_t v = 0;
    (void)!::read(evfd_, &v, sizeof(v));
    signalled_ = false;
  } else if (!ready_.empty()) {
    signal_locked();
  }
}

void EventPoll::queue_ready_locked(const std::shared_ptr<Item>& it) {
  if (it->on_ready || it->removed) return;
  it->on_ready = true;
  ready_.push_back(it);
  signal_locked();
}

bool EventPoll::wake_cb(WaitEntry& e, Socket& /*sock*/, PollMask key) {
  auto* it = static_cast<Item*>(e.ctx);
  EventPoll* ep = it->ep;
  std::lock_guard lock(ep->mu_);
  const std::uint32_t events = it->events;
  if ((events & ~kPrivateBits) == 0) return false;  // disabled until EPOLL_CTL_MOD
  // ep_poll_callback: a wake-up that says what happened reaches only items that want it.
  if (key != 0 && (key & events) == 0) return false;
  if (!it->on_ready && !it->removed) {
    auto found = ep->items_.find(it->fd);
    if (found != ep->items_.end() && found->second.get() == it) {
      ep->queue_ready_locked(found->second);
    }
  }
  if ((events & EPOLLEXCLUSIVE) == 0) return true;
  // ep_poll_callback: an exclusive wake-up counts as taken only where a thread waits in
  // epoll_wait and the item wants its direction; otherwise it goes on to the next exclusive
  // entry, so an instance nobody waits on cannot swallow it.
  if (ep->waiters_ == 0) return false;
  switch (key & (EPOLLIN | EPOLLOUT)) {
    case EPOLLIN:
      return (events & EPOLLIN) != 0;
    case EPOLLOUT:
      return (events & EPOLLOUT) != 0;
    case 0:
      return true;
    default:
      return false;
  }
}

void EventPoll::release_cb(WaitEntry& e, Socket& /*sock*/) {
  auto* it = static_cast<Item*>(e.ctx);
  EventPoll* ep = it->ep;
  std::lock_guard lock(ep->mu_);
  it->removed = true;
  auto found = ep->items_.find(it->fd);
  if (found != ep->items_.end() && found->second.get() == it) ep->items_.erase(found);
}

Status EventPoll::ctl_socket(int op, int fd, Runtime& rt, Socket& sock, const epoll_event* ev) {
  std::lock_guard lock(mu_);
  if (closed_) return Error::kBadDescriptor;
  auto found = items_.find(fd);
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (found != items_.end()) return Error::kAlreadyExists;
      auto it = std::make_shared<Item>();
      it->ep = this;
      it->fd = fd;
      it->rt = &rt;
      it->sock = &sock;
      it->events = ev->events | EPOLLERR | EPOLLHUP;
      it->data = ev->data;
      it->wait.func = wake_cb;
      it->wait.release = release_cb;
      it->wait.ctx = it.get();
      it->wait.exclusive = (ev->events & EPOLLEXCLUSIVE) != 0;
      items_.emplace(fd, it);
      sock.wq.add(it->wait);
      // ep_insert: an item that is ready already goes on the ready list at once.
      if ((sock_poll(sock) & it->events) != 0) queue_ready_locked(it);
      return {};
    }
    case EPOLL_CTL_MOD: {
      if (found == items_.end()) return Error::kNoEntry;
      auto& it = found->second;
      if ((it->events & EPOLLEXCLUSIVE) != 0) return Error::kInvalidArgument;
      it->events = ev->events | EPOLLERR | EPOLLHUP;
      it->data = ev->data;
      // ep_modify: re-armed and ready (EPOLLONESHOT's way back) means reported again.
      if ((sock_poll(sock) & it->events) != 0) queue_ready_locked(it);
      return {};
    }
    case EPOLL_CTL_DEL: {
      if (found == items_.end()) return Error::kNoEntry;
      auto it = found->second;
      sock.wq.remove(it->wait);
      it->removed = true;
      items_.erase(found);
      return {};
    }
    default:
      return Error::kInvalidArgument;
  }
}

int EventPoll::ctl_kernel(int op, int fd, epoll_event* ev,
                          const std::shared_ptr<EventPoll>& nested) {
  std::lock_guard lock(mu_);
  if (closed_) return EBADF;
  // Under mu_, so that nested_ follows the kernel's set; the kernel call takes no lock of ours.
  if (::epoll_ctl(inner_, op, fd, ev) != 0) return errno;
  if (op == EPOLL_CTL_ADD) kernel_items_ = true;
  if (op == EPOLL_CTL_ADD && nested) nested_[fd] = nested;
  if (op == EPOLL_CTL_DEL) nested_.erase(fd);
  return 0;
}

void EventPoll::refresh_nested(int depth) {
  std::vector<std::shared_ptr<EventPoll>> nested;
  {
    std::lock_guard lock(mu_);
    for (auto& [fd, weak] : nested_) {
      if (auto ep = weak.lock()) nested.push_back(std::move(ep));
    }
  }
  for (auto& ep : nested)
    ep->refresh(depth + 1);
}

void EventPoll::refresh(int depth) {
  if (depth > kMaxNests) return;
  std::deque<std::shared_ptr<Item>> tx;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    tx.swap(ready_);
  }
  std::vector<std::shared_ptr<Item>> keep;
  ItemLocks locks(mu_);
  for (auto& it : tx) {
    locks.hold(*it->rt);
    // A kept item stays marked on_ready, so no wake-up queues it twice meanwhile.
    if (!it->removed && (sock_poll(*it->sock) & it->events) != 0) {
      keep.push_back(it);
    } else {
      it->on_ready = false;
    }
  }
  locks.release();
  refresh_nested(depth);
  std::lock_guard lock(mu_);
  for (auto j = keep.rbegin(); j != keep.rend(); ++j)
    ready_.push_front(std::move(*j));
  sync_signal_locked();
}

int EventPoll::send_events(epoll_event* out, int max) {
  std::deque<std::shared_ptr<Item>> tx;
  {
    std::lock_guard lock(mu_);
    tx.swap(ready_);
  }
  int n = 0;
  std::vector<std::shared_ptr<Item>> again;  // level-triggered items stay ready
  std::size_t i = 0;
  // `removed` is final once set under both locks.
  ItemLocks locks(mu_);
  for (; i < tx.size() && n < max; ++i) {
    auto& it = tx[i];
    locks.hold(*it->rt);
    it->on_ready = false;
    if (it->removed) continue;
    const std::uint32_t revents = sock_poll(*it->sock) & it->events;
    if (revents == 0) continue;
    out[n].events = revents;
    out[n].data = it->data;
    ++n;
    if ((it->events & EPOLLONESHOT) != 0) {
      it->events &= kPrivateBits;
    } else if ((it->events & EPOLLET) == 0) {
      it->on_ready = true;
      again.push_back(it);
    }
  }
  locks.release();
  std::lock_guard lock(mu_);
  // Items not looked at (the caller's array was full) go back first, in order. Their
  // on_ready stayed set, so no wake-up queued them meanwhile: they are not on ready_.
  for (std::size_t j = tx.size(); j > i; --j) {
    auto& it = tx[j - 1];
    if (!it->removed) ready_.push_front(it);
  }
  for (auto& it : again)
    ready_.push_back(std::move(it));
  sync_signal_locked();
  return n;
}

Result<int> EventPoll::wait(epoll_event* out, int max, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    int n = send_events(out, max);
    if (n < max && has_kernel_items()) {
      // Nested usnet instances first, so that the kernel sees whether they really have events.
      refresh_nested(0);
      const int k = ::epoll_wait(inner_, out + n, max - n, 0);
      if (k > 0) n += k;
    }
    if (n > 0 || timeout_ms == 0) return n;
    int wait_ms = -1;
    if (timeout_ms > 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return 0;
      wait_ms = static_cast<int>(left.count());
    }
    // Counted as a waiter from here: a wake-up before this left its item on ready_ and
    // evfd_ readable, so the sleep below ends at once.
    {
      std::lock_guard lock(mu_);
      ++waiters_;
    }
    std::array<epoll_event, 2> woke{};
    const int r = ::epoll_wait(fd(), woke.data(), static_cast<int>(woke.size()), wait_ms);
    const int err = errno;
    {
      std::lock_guard lock(mu_);
      --waiters_;
    }
    if (r < 0 && err == EINTR) return Error::kInterrupted;
  }
}

void EventPoll::on_close() {
  // Linux frees an epoll instance (ep_eventpoll_release) at the last fput, not at close():
  // an epoll_wait in progress keeps it, with everything it watches, and still reports what
  // happens until it returns. The descriptor refuses new calls from now on; the items go
  // when the last call lets go (the destructor).
  std::lock_guard lock(mu_);
  closed_ = true;
}

void EventPoll::detach() {
  std::vector<std::shared_ptr<Item>> items;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto& [fd, it] : items_)
      items.push_back(it);
  }
  for (auto& it : items) {
    {
      // An item whose socket was closed is left alone: its runtime may be gone with it.
      std::lock_guard el(mu_);
      if (it->removed) continue;
    }
    std::lock_guard rl(it->rt->mutex());
    std::lock_guard el(mu_);
    if (it->removed) continue;
    it->sock->wq.remove(it->wait);
    it->removed = true;
  }
  std::lock_guard lock(mu_);
  items_.clear();
  ready_.clear();
  nested_.clear();
}

}  // namespace usnet

// poll(2) and select(2) over usnet sockets and kernel descriptors together.
//
// usnet sockets are asked for their mask (sock_poll), kernel descriptors are asked with a
// zero-timeout kernel poll. To sleep, the call queues an entry on each usnet socket's wait
// queue that signals an eventfd of its own, and sleeps in the kernel's poll on the kernel
// descriptors plus that eventfd (Linux's poll_wqueues in user space). The entries hold a
// reference on their sockets, so a close() meanwhile cannot free one under us.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <vector>

#include "api/errno_out.h"
#include "api/handles.h"
#include "api/process.h"
#include "api/sock_ref.h"
#include "runtime/eventpoll.h"
#include "socket/sock_calls.h"
#include "usnet/usnet.h"

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

namespace {

using Clock = std::chrono::steady_clock;

struct Watched {
  std::size_t index = 0;  // into the caller's pollfd array
  usnet_stack* handle = nullptr;
  Socket* sock = nullptr;  // pinned (users) while the entry is queued
  PollMask interest = 0;
  WaitEntry entry;
  int wake_fd = -1;
};

bool signal_poller(WaitEntry& e, Socket& /*sock*/, PollMask key) {
  auto* w = static_cast<Watched*>(e.ctx);
  if (key == 0 || (key & w->interest) != 0) {
    const std::uint64_t one = 1;
    (void)!::write(w->wake_fd, &one, sizeof(one));
  }
  return true;
}

// The revents of every usnet socket in `fds`; the count of entries with any.
int poll_sockets(pollfd* fds, std::vector<Watched>& ws) {
  int ready = 0;
  for (auto& w : ws) {
    std::lock_guard lock(w.handle->runtime->rt.mutex());
    pollfd& p = fds[w.index];
    p.revents = static_cast<short>(sock_poll(*w.sock) & w.interest);
    if (p.revents != 0) ++ready;
  }
  return ready;
}

void stop_watching(Watched& w) {
  std::unique_lock lock(w.handle->runtime->rt.mutex());
  w.sock->wq.remove(w.entry);
  w.handle->runtime->rt.unpin(*w.sock);
}

}  // namespace

extern "C" {

int usnet_poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (nfds > lim.rlim_cur) return fail(EINVAL);
  if (nfds > 0 && fds == nullptr) return fail(EFAULT);
  // Split: usnet sockets (pinned so they outlive the call), the rest for the kernel.
  std::vector<Watched> ws;
  ws.reserve(nfds);
  std::vector<pollfd> kfds;
  std::vector<std::size_t> kidx;
  std::vector<std::shared_ptr<EventPoll>> epolls;
  for (nfds_t i = 0; i < nfds; ++i) {
    fds[i].revents = 0;
    const FdKind kind = fd_map().kind(fds[i].fd);
    if (kind == FdKind::kInherited) {
      // A descriptor of the parent's, in a forked child: the kernel reports POLLNVAL for
      // it as for any closed one (INT_MAX is never an open descriptor).
      note_inherited(fds[i].fd);
      kfds.push_back(pollfd{INT_MAX, fds[i].events, 0});
      kidx.push_back(i);
      continue;
    }
    if (kind == FdKind::kSocket) {
      SockRef t = SockRef::get(fds[i].fd);
      if (t) {
        Watched& w = ws.emplace_back();
        w.index = i;
        w.handle = t.handle;
        w.sock = t.sock;
        Runtime::pin(*w.sock);
        w.interest =
            static_cast<PollMask>(static_cast<unsigned short>(fds[i].events)) | POLLERR | POLLHUP;
        continue;
      }
    }
    if (kind == FdKind::kObject) {
      auto file = fd_map().get(fds[i].fd);
      if (auto ep = file ? std::dynamic_pointer_cast<EventPoll>(file->object) : nullptr) {
        epolls.push_back(std::move(ep));
      }
    }
    kfds.push_back(pollfd{fds[i].fd, fds[i].events, 0});
    kidx.push_back(i);
  }
  // A usnet epoll instance is asked whether it really has events before the kernel polls
  // its descriptor (runtime/eventpoll.h, EventPoll::refresh).
  const auto refresh_epolls = [&] {
    for (auto& ep : epolls)
      ep->refresh();
  };
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0);
  int wake_fd = -1;
  int result = 0;
  for (;;) {
    int ready = poll_sockets(fds, ws);
    const bool sleep_now = ready == 0 && timeout_ms != 0 && wake_fd >= 0;
    int wait_ms = 0;
    if (sleep_now && timeout_ms > 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::max<long long>(left.count(), 0));
    } else if (sleep_now) {
      wait_ms = -1;
    }
    if (sleep_now) kfds.push_back(pollfd{wake_fd, POLLIN, 0});
    refresh_epolls();
    const int k = kfds.empty() ? 0 : ::poll(kfds.data(), kfds.size(), wait_ms);
    if (sleep_now) kfds.pop_back();
    if (k < 0) {
      result = -1;
      break;
    }
    if (sleep_now) {
      // Woken (or timed out): take the fresh state of everything, without sleeping.
      std::uint64_t v = 0;
      (void)!::read(wake_fd, &v, sizeof(v));
      ready = poll_sockets(fds, ws);
      refresh_epolls();
      if (!kfds.empty() && ::poll(kfds.data(), kfds.size(), 0) < 0) {
        result = -1;
        break;
      }
    }
    int kready = 0;
    for (std::size_t j = 0; j < kfds.size(); ++j) {
      fds[kidx[j]].revents = kfds[j].revents;
      if (kfds[j].revents != 0) ++kready;
    }
    if (ready + kready > 0 || timeout_ms == 0) {
      result = ready + kready;
      break;
    }
    if (timeout_ms > 0 && Clock::now() >= deadline) {
      result = 0;
      break;
    }
    if (wake_fd < 0) {
      // About to sleep for the first time: queue our entries, then look again before
      // sleeping (a wake-up from now on reaches the eventfd).
      wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake_fd < 0) {
        result = -1;
        break;
      }
      for (auto& w : ws) {
        w.wake_fd = wake_fd;
        w.entry.func = signal_poller;
        w.entry.ctx = &w;
        std::lock_guard lock(w.handle->runtime->rt.mutex());
        w.sock->wq.add(w.entry);
      }
    }
  }
  const int saved = errno;
  for (auto& w : ws)
    stop_watching(w);
  if (wake_fd >= 0) ::close(wake_fd);
  errno = saved;
  return result;
}

int usnet_select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) {
  if (nfds < 0) return fail(EINVAL);
  if (timeout != nullptr &&
      (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1'000'000)) {
    return fail(EINVAL);
  }
  nfds = std::min(nfds, FD_SETSIZE);
  // Linux POLLIN_SET, POLLOUT_SET and POLLEX_SET.
  constexpr short kIn = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR;
  constexpr short kOut = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR;
  constexpr short kEx = POLLPRI;
  std::vector<pollfd> pfds;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (readfds != nullptr && FD_ISSET(fd, readfds)) ev |= POLLIN | POLLRDNORM | POLLRDBAND;
    if (writefds != nullptr && FD_ISSET(fd, writefds)) ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
    if (exceptfds != nullptr && FD_ISSET(fd, exceptfds)) ev |= POLLPRI;
    if (ev == 0) continue;
    const FdKind kind = fd_map().kind(fd);
    if (kind == FdKind::kInherited) {
      note_inherited(fd);
      return fail(EBADF);
    }
    if (kind == FdKind::kNone && ::fcntl(fd, F_GETFD) == -1) return fail(EBADF);
    pfds.push_back(pollfd{fd, ev, 0});
  }
  int timeout_ms = -1;
  const auto start = Clock::now();
  if (timeout != nullptr) {
    const long long us = static_cast<long long>(timeout->tv_sec) * 1'000'000 + timeout->tv_usec;
    timeout_ms = static_cast<int>(std::min<long long>((us + 999) / 1000, INT_MAX));
  }
  const int n = usnet_poll(pfds.data(), pfds.size(), timeout_ms);
  if (n < 0) return -1;
  if (readfds != nullptr) FD_ZERO(readfds);
  if (writefds != nullptr) FD_ZERO(writefds);
  if (exceptfds != nullptr) FD_ZERO(exceptfds);
  int count = 0;
  for (const pollfd& p : pfds) {
    const short want = p.events;
    if (readfds != nullptr && (want & POLLIN) != 0 && (p.revents & kIn) != 0) {
      FD_SET(p.fd, readfds);
      ++count;
    }
    if (writefds != nullptr && (want & POLLOUT) != 0 && (p.revents & kOut) != 0) {
      FD_SET(p.fd, writefds);
      ++count;
    }
    if (exceptfds != nullptr && (want & POLLPRI) != 0 && (p.revents & kEx) != 0) {
      FD_SET(p.fd, exceptfds);
      ++count;
    }
  }
  if (timeout != nullptr) {
    // Linux writes back the time that was left.
    const auto spent = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    long long left =
        static_cast<long long>(timeout->tv_sec) * 1'000'000 + timeout->tv_usec - spent.count();
    if (left < 0 || count == 0) left = 0;
    timeout->tv_sec = static_cast<time_t>(left / 1'000'000);
    timeout->tv_usec = static_cast<suseconds_t>(left % 1'000'000);
  }
  return count;
}

}  // extern "C"

// epoll_create1(2), epoll_ctl(2), epoll_wait(2) over usnet sockets and kernel descriptors:
// the checks of Linux do_epoll_ctl / do_epoll_wait in their order, then runtime/eventpoll.
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <climits>

#include "api/errno_out.h"
#include "api/handles.h"
#include "api/process.h"
#include "api/sock_ref.h"
#include "runtime/eventpoll.h"
#include "usnet/usnet.h"

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

namespace {

// EPOLLEXCLUSIVE_OK_BITS: what may accompany EPOLLEXCLUSIVE.
constexpr std::uint32_t kExclusiveOk =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
constexpr int kMaxEvents = INT_MAX / static_cast<int>(sizeof(epoll_event));  // EP_MAX_EVENTS

bool kernel_fd_open(int fd) {
  return fd >= 0 && ::fcntl(fd, F_GETFD) != -1;
}

std::shared_ptr<EventPoll> epoll_of(int fd) {
  if (fd_map().kind(fd) != FdKind::kObject) return nullptr;
  auto file = fd_map().get(fd);
  return file ? std::dynamic_pointer_cast<EventPoll>(file->object) : nullptr;
}

// A descriptor of the parent's, in a forked child (api/process.h): as closed.
bool inherited(int fd) {
  if (fd_map().kind(fd) != FdKind::kInherited) return false;
  note_inherited(fd);
  return true;
}

}  // namespace

extern "C" {

int usnet_epoll_create1(int flags) {
  if ((flags & ~EPOLL_CLOEXEC) != 0) return fail(EINVAL);
  auto ep = EventPoll::create(flags);
  if (!ep) return -1;  // errno from the kernel (EMFILE, ENFILE, ENOMEM)
  const int fd = ep->fd();
  auto file = std::make_shared<File>();
  file->object = std::move(ep);
  fd_map().install(fd, file, (flags & EPOLL_CLOEXEC) != 0);
  return fd;
}

int usnet_epoll_create(int size) {
  if (size <= 0) return fail(EINVAL);
  return usnet_epoll_create1(0);
}

int usnet_epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  // do_epoll_ctl: the event is read first (every op but DEL has one).
  if (op != EPOLL_CTL_DEL && event == nullptr) return fail(EFAULT);
  if (inherited(epfd) || inherited(fd)) return fail(EBADF);
  auto ep = epoll_of(epfd);
  const bool target_is_socket = fd_map().kind(fd) == FdKind::kSocket;
  if (!ep) {
    // Not one of ours: a socket of ours or not, the kernel has the last word on epfd.
    if (fd_map().kind(epfd) == FdKind::kSocket) {
      return kernel_fd_open(fd) || target_is_socket ? fail(EINVAL) : fail(EBADF);
    }
    if (!kernel_fd_open(epfd)) return fail(EBADF);
    if (target_is_socket) {
      // A kernel epoll cannot watch a usnet socket (its descriptor is only a placeholder):
      // refused as the kernel refuses descriptors that cannot be polled.
      return fail(EPERM);
    }
    return ::epoll_ctl(epfd, op, fd, event);
  }
  if (!target_is_socket && !kernel_fd_open(fd)) return fail(EBADF);
  if (fd == epfd) return fail(EINVAL);
  if (op != EPOLL_CTL_DEL && (event->events & EPOLLEXCLUSIVE) != 0) {
    if (op == EPOLL_CTL_MOD) return fail(EINVAL);
    if (op == EPOLL_CTL_ADD && ((event->events & ~kExclusiveOk) != 0 || epoll_of(fd))) {
      return fail(EINVAL);
    }
  }
  if (!target_is_socket) {
    const int err = ep->ctl_kernel(op, fd, event, epoll_of(fd));
    return err == 0 ? 0 : fail(err);
  }
  SockRef t = SockRef::get(fd);
  if (!t) return fail(EBADF);  // closed by another thread just now
  epoll_event ev{};
  if (event != nullptr) ev = *event;
  if (auto st = ep->ctl_socket(op, fd, t.rt(), *t.sock, &ev); !st) return fail(st.error());
  return 0;
}

int usnet_epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  if (maxevents <= 0 || maxevents > kMaxEvents) return fail(EINVAL);
  if (inherited(epfd)) return fail(EBADF);
  auto ep = epoll_of(epfd);
  if (!ep) {
    if (fd_map().kind(epfd) == FdKind::kSocket) return fail(EINVAL);  // not an epoll
    if (!kernel_fd_open(epfd)) return fail(EBADF);
    return ::epoll_wait(epfd, events, maxevents, timeout_ms);
  }
  // Linux checks only the range of the array up front; a null one faults when an event
  // is to be copied into it.
  epoll_event spare{};
  epoll_event* out = events != nullptr ? events : &spare;
  auto n = ep->wait(out, events != nullptr ? maxevents : 1, timeout_ms);
  if (!n) return fail(n.error());
  if (events == nullptr && *n > 0) return fail(EFAULT);
  return *n;
}

}  // extern "C"

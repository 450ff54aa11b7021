// Readiness: poll/ppoll/select/pselect (and glibc's _FORTIFY_SOURCE __poll_chk and
// __ppoll_chk) and the epoll calls. A set with no usnet descriptor goes to the kernel as
// it is; one with any goes to usnet's poll/select/epoll, which mix usnet sockets and kernel
// descriptors. When usnet is configured every epoll instance is usnet's (a kernel epoll
// cannot watch a usnet socket); it watches kernel descriptors through a kernel epoll of its
// own. The signal mask of ppoll/pselect/epoll_pwait reaches the kernel call usnet sleeps in
// (preload.h, t_wait_mask), so it is set atomically with the sleep, as the kernel sets it.
// glibc declares poll's and ppoll's array write-only (__attr_access), though the kernel
// reads `fd` and `events` from it; reading it here is not a use of uninitialised memory.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <sys/epoll.h>
#include <sys/select.h>

#include <cerrno>
#include <climits>

#include "preload/dispatch.h"
#include "preload/pending.h"
#include "usnet/usnet.h"

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

extern "C" [[noreturn]] void __chk_fail(void);  // NOLINT(bugprone-reserved-identifier)

namespace {

bool has_usnet(const pollfd* fds, nfds_t n) {
  if (inside() || !usnet_in_use() || fds == nullptr) return false;
  for (nfds_t i = 0; i < n; ++i) {
    if (usnet::api::fd_kind(fds[i].fd) != FdKind::kNone) return true;
  }
  return false;
}

bool has_usnet(int nfds, const fd_set* r, const fd_set* w, const fd_set* e) {
  if (inside() || !usnet_in_use()) return false;
  const int n = nfds < FD_SETSIZE ? nfds : FD_SETSIZE;
  for (int fd = 0; fd < n; ++fd) {
    const bool in = (r != nullptr && FD_ISSET(fd, r)) || (w != nullptr && FD_ISSET(fd, w)) ||
                    (e != nullptr && FD_ISSET(fd, e));
    if (in && usnet::api::fd_kind(fd) != FdKind::kNone) return true;
  }
  return false;
}

// A timespec timeout in milliseconds, rounded up as the kernel rounds to its tick; null is
// forever (-1). false: not a valid timespec (EINVAL).
bool timeout_ms(const timespec* ts, int& ms) {
  if (ts == nullptr) {
    ms = -1;
    return true;
  }
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000) {
    errno = EINVAL;
    return false;
  }
  const long long total =
      static_cast<long long>(ts->tv_sec) * 1000 + (ts->tv_nsec + 999'999) / 1'000'000;
  ms = total > INT_MAX ? INT_MAX : static_cast<int>(total);
  return true;
}

// Runs f (a usnet wait) with `mask` as the mask of the kernel call it sleeps in.
template <typename F>
int with_mask(const sigset_t* mask, F f) {
  const sigset_t* prev = t_wait_mask;
  t_wait_mask = mask;
  const int r = f();
  t_wait_mask = prev;
  return r;
}

// usnet's own poll, inside a ppoll/pselect of the program's: the kernel's ppoll with the
// program's mask.
int masked_poll(pollfd* fds, nfds_t n, int timeout) {
  timespec ts{};
  if (timeout >= 0) {
    ts.tv_sec = timeout / 1000;
    ts.tv_nsec = static_cast<long>(timeout % 1000) * 1'000'000;
  }
  return real().ppoll(fds, n, timeout >= 0 ? &ts : nullptr, t_wait_mask);
}

int usnet_ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  int ms = 0;
  if (!timeout_ms(ts, ms)) return -1;
  Inside in;
  return with_mask(mask, [&] { return usnet_poll(fds, n, ms); });
}

}  // namespace

extern "C" {

int poll(pollfd* fds, nfds_t n, int timeout) {
  if (inside()) {
    if (t_wait_mask != nullptr) return masked_poll(fds, n, timeout);
    return real().poll(fds, n, timeout);
  }
  if (has_usnet(fds, n)) {
    Inside in;
    return usnet_poll(fds, n, timeout);
  }
  return real().poll(fds, n, timeout);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name
int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return poll(fds, n, timeout);
}

int ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  if (has_usnet(fds, n)) return usnet_ppoll(fds, n, ts, mask);
  return real().ppoll(fds, n, ts, mask);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name
int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* tv) {
  if (has_usnet(nfds, r, w, e)) {
    Inside in;
    return usnet_select(nfds, r, w, e, tv);
  }
  return real().select(nfds, r, w, e, tv);
}

int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const timespec* ts, const sigset_t* mask) {
  if (!has_usnet(nfds, r, w, e)) return real().pselect(nfds, r, w, e, ts, mask);
  if (ts != nullptr && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) {
    errno = EINVAL;
    return -1;
  }
  // pselect does not write the time left back (glibc keeps its timespec const).
  timeval tv{};
  if (ts != nullptr) {
    tv.tv_sec = ts->tv_sec;
    tv.tv_usec = static_cast<suseconds_t>((ts->tv_nsec + 999) / 1000);
    if (tv.tv_usec >= 1'000'000) {
      ++tv.tv_sec;
      tv.tv_usec -= 1'000'000;
    }
  }
  Inside in;
  return with_mask(mask,
                   [&] { return usnet_select(nfds, r, w, e, ts != nullptr ? &tv : nullptr); });
}

int epoll_create(int size) {
  if (inside() || !configured()) return real().epoll_create(size);
  Inside in;
  const int fd = usnet_epoll_create(size);
  if (fd >= 0) note_usnet_in_use();
  return fd;
}

int epoll_create1(int flags) {
  if (inside() || !configured()) return real().epoll_create1(flags);
  Inside in;
  const int fd = usnet_epoll_create1(flags);
  if (fd >= 0) note_usnet_in_use();
  return fd;
}

int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  if (!inside() && kind_of(epfd) == FdKind::kObject && pending().contains(fd)) {
    // An undecided socket: watched as the kernel socket it is for now, and noted, so the
    // usnet socket that may take its place is watched instead (preload/pending.h).
    Inside in;
    const int r = usnet_epoll_ctl(epfd, op, fd, ev);
    if (r == 0) pending().note_epoll(fd, epfd, op, ev);
    return r;
  }
  if (kind_of(epfd) != FdKind::kNone || kind_of(fd) != FdKind::kNone) {
    Inside in;
    return usnet_epoll_ctl(epfd, op, fd, ev);
  }
  return real().epoll_ctl(epfd, op, fd, ev);
}

int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  if (inside()) {
    if (t_wait_mask != nullptr) {
      return real().epoll_pwait(epfd, events, maxevents, timeout, t_wait_mask);
    }
    return real().epoll_wait(epfd, events, maxevents, timeout);
  }
  if (kind_of(epfd) != FdKind::kNone) {
    Inside in;
    return usnet_epoll_wait(epfd, events, maxevents, timeout);
  }
  return real().epoll_wait(epfd, events, maxevents, timeout);
}

int epoll_pwait(int epfd, epoll_event* events, int maxevents, int timeout, const sigset_t* mask) {
  if (kind_of(epfd) != FdKind::kNone) {
    Inside in;
    return with_mask(mask, [&] { return usnet_epoll_wait(epfd, events, maxevents, timeout); });
  }
  return real().epoll_pwait(epfd, events, maxevents, timeout, mask);
}

int epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* ts,
                 const sigset_t* mask) {
  if (kind_of(epfd) != FdKind::kNone) {
    int ms = 0;
    if (!timeout_ms(ts, ms)) return -1;
    Inside in;
    return with_mask(mask, [&] { return usnet_epoll_wait(epfd, events, maxevents, ms); });
  }
  if (real().epoll_pwait2 == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real().epoll_pwait2(epfd, events, maxevents, ts, mask);
}

}  // extern "C"

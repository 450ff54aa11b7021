// The descriptor calls: close, close_range, the dup family, fcntl/fcntl64 and ioctl. On a
// usnet descriptor they act on the open-file layer (api/fd_calls.cpp); an undecided socket
// that is duplicated stays in the kernel (both numbers must name one socket).
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>

#include "preload/dispatch.h"
#include "preload/ifaddr.h"
#include "preload/pending.h"
#include "usnet/usnet.h"

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

namespace {

int fcntl_any(int fd, int cmd, void* arg, bool is64) {
  switch (kind_of(fd)) {
    case FdKind::kNone:
      break;
    default: {
      Inside in;
      return usnet_fcntl(fd, cmd, arg);  // usnet's own answer for an inherited one too
    }
  }
  if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && !inside()) pending().forget(fd);
  if (is64 && real().fcntl64 != nullptr) return real().fcntl64(fd, cmd, arg);
  return real().fcntl(fd, cmd, arg);
}

// dup2/dup3 between kernel descriptors: an undecided oldfd stays in the kernel, an
// undecided newfd is replaced.
void forget_pending_pair(int oldfd, int newfd) {
  if (inside()) return;
  pending().forget(oldfd);
  if (newfd != oldfd) pending().forget(newfd);
}

}  // namespace

extern "C" {

int close(int fd) {
  if (kind_of(fd) != FdKind::kNone) {
    Inside in;
    return usnet_close(fd);
  }
  if (!inside()) pending().forget(fd);
  return real().close(fd);
}

int close_range(unsigned int first, unsigned int last, int flags) {
  if (!inside() && first <= last) {
    // The kernel would close the placeholders behind usnet's back (and a later kernel file
    // given the number would be taken for a socket): usnet's descriptors in the range are
    // closed, or marked close-on-exec, here first. Only up to the descriptor limit: no
    // descriptor lies beyond it.
    rlimit lim{};
    unsigned int hi = last;
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur > 0 &&
        lim.rlim_cur - 1 < static_cast<rlim_t>(hi)) {
      hi = static_cast<unsigned int>(lim.rlim_cur - 1);
    }
    const bool cloexec = (flags & CLOSE_RANGE_CLOEXEC) != 0;
    for (unsigned int u = first; u <= hi && u <= static_cast<unsigned int>(INT32_MAX); ++u) {
      const int fd = static_cast<int>(u);
      if (usnet::api::fd_kind(fd) != FdKind::kNone) {
        Inside in;
        if (cloexec) {
          (void)usnet_fcntl(fd, F_SETFD, FD_CLOEXEC);
        } else {
          (void)usnet_close(fd);
        }
      } else if (!cloexec) {
        pending().forget(fd);
      }
      if (u == hi) break;  // hi may be UINT_MAX
    }
  }
  if (real().close_range == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real().close_range(first, last, flags);
}

int dup(int oldfd) {
  if (kind_of(oldfd) != FdKind::kNone) {
    Inside in;
    return usnet_dup(oldfd);
  }
  if (!inside()) pending().forget(oldfd);
  return real().dup(oldfd);
}

int dup2(int oldfd, int newfd) {
  if (kind_of(oldfd) != FdKind::kNone || kind_of(newfd) != FdKind::kNone) {
    Inside in;
    return usnet_dup2(oldfd, newfd);
  }
  forget_pending_pair(oldfd, newfd);
  return real().dup2(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags) {
  if (kind_of(oldfd) != FdKind::kNone || kind_of(newfd) != FdKind::kNone) {
    Inside in;
    return usnet_dup3(oldfd, newfd, flags);
  }
  forget_pending_pair(oldfd, newfd);
  return real().dup3(oldfd, newfd, flags);
}

int fcntl(int fd, int cmd, ...) {
  // One word, an int or a pointer as the command says, as glibc's fcntl reads it.
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
  va_end(ap);
  return fcntl_any(fd, cmd, arg, false);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
  va_end(ap);
  return fcntl_any(fd, cmd, arg, true);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
  va_end(ap);
  const FdKind kind = kind_of(fd);
  if (kind == FdKind::kInherited) return inherited_fd(fd);
  if (!inside() && is_interface_request(request) && (kind == FdKind::kSocket || configured())) {
    // The interface requests answer for usnet's interfaces, whichever socket asks.
    int result = 0;
    if (answer_interface_request(fd, request, arg, result)) return result;
  }
  if (kind == FdKind::kSocket) {
    Inside in;
    return usnet_ioctl(fd, request, arg);
  }
  return real().ioctl(fd, request, arg);
}

}  // extern "C"

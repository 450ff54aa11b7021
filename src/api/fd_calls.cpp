// The descriptor calls on usnet descriptors: close(2), dup(2)/dup2/dup3, fcntl(2). They act
// on the open-file layer of api/handles.h, as Linux's fs/file.c and fs/fcntl.c act on
// struct file: a duplicate shares the open file (and so the socket and its O_NONBLOCK),
// FD_CLOEXEC belongs to each descriptor (the kernel keeps it on the reserved descriptor),
// and the socket is released when the open file's last descriptor is closed.
//
// On a descriptor that is not usnet's these calls do what the kernel does, except that a
// usnet descriptor about to be replaced (dup2/dup3's newfd) is released first: with them a
// program can move a kernel socket onto a usnet number (the preload library does).
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

#include <fmt/format.h>

#include "api/call_trace.h"
#include "api/errno_out.h"
#include "api/handles.h"
#include "api/process.h"
#include "api/sock_ref.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "usnet/usnet.h"

namespace usnet::api {
namespace {

// SO_LINGER with a timeout: a blocking close() sends the FIN after the data and waits until
// everything is acknowledged or the time is up (socket(7)). With unread data the close is a
// reset instead, which does not wait. A signal ends the wait; close() still succeeds.
void linger_wait(SockRef& t) {
  Socket* sock = t.sock;
  if (sock->type != SOCK_STREAM || !sock->opt.linger_on || sock->opt.linger_s <= 0 ||
      sock->nonblocking) {
    return;
  }
  auto unread = sock_ioctl(*sock, FIONREAD);
  if (!unread || *unread != 0 || !sock_shutdown(*sock, SHUT_WR)) return;
  (void)run_blocking(t, false, std::chrono::seconds(sock->opt.linger_s), [&]() -> Status {
    auto outq = sock_ioctl(*sock, SIOCOUTQ);
    if (!outq || *outq == 0) return {};
    sock->nospace = true;  // so the acknowledgement that frees the queue wakes us
    return Error::kWouldBlock;
  });
}

// Drops descriptor fd of a socket (the caller holds t, the socket's reference and lock):
// the socket is released if fd was its open file's last descriptor. `close_kernel` is false
// when dup2/dup3 is about to reuse the number (the kernel replaces it atomically).
int drop_socket_fd(SockRef& t, int fd, bool close_kernel) {
  bool last = false;
  int other = -1;
  auto file = fd_map().remove(fd, last, other);
  if (!file) return fail(EBADF);  // closed by another thread meanwhile
  Socket* sock = t.sock;
  Stack& stack = t.stack();
  if (!last) {
    if (sock->fd == fd) (void)stack.sockets().rekey(fd, other);
    if (close_kernel) ::close(fd);
    return 0;
  }
  // __fput: eventpoll_release first (the socket leaves every epoll instance watching
  // it), then the protocol's release.
  sock->wq.release_all(*sock);
  stack.tracer().step("sock_close");
  auto owned = stack.sockets().remove(sock->fd);
  file->sock = nullptr;
  sock->fd_closed = true;
  // Out of the table before the number is free, so a new socket given the same number
  // cannot meet this one there.
  t.rt().park_closed(std::move(owned));
  if (close_kernel) ::close(fd);
  linger_wait(t);
  // Released now, or by the last call still using it (runtime/runtime.h, locking rule 5),
  // when t lets go.
  return 0;
}

// Drops descriptor fd of an epoll instance.
int drop_object_fd(int fd, bool close_kernel) {
  bool last = false;
  int other = -1;
  auto file = fd_map().remove(fd, last, other);
  if (!file) return fail(EBADF);
  FileObject& obj = *file->object;
  if (!last) {
    if (obj.own_fd() == fd) obj.move_to(other);
    if (close_kernel) ::close(fd);
    return 0;
  }
  // The object closes its own descriptor when the last call using it lets go; a dup2
  // onto the number now would pull the kernel file from under it, so it is given a
  // private duplicate to keep working on.
  if (!close_kernel) {
    const int keep = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (keep >= 0) obj.move_to(keep);
  }
  obj.on_close();
  return 0;
}

// Releases the usnet descriptor fd, if it is one; 0 also when it is not.
int drop_fd(int fd, bool close_kernel) {
  switch (fd_map().kind(fd)) {
    case FdKind::kNone:
      return 0;
    case FdKind::kInherited: {
      bool last = false;
      int other = -1;
      (void)fd_map().remove(fd, last, other);
      if (close_kernel) ::close(fd);
      return 0;
    }
    case FdKind::kObject:
      return drop_object_fd(fd, close_kernel);
    case FdKind::kSocket:
      break;
  }
  SockRef t = SockRef::get(fd);
  if (!t) {
    // The file's socket is gone (its last other descriptor was closed by another thread
    // while this one was being made): the descriptor itself still goes.
    bool last = false;
    int other = -1;
    (void)fd_map().remove(fd, last, other);
    if (close_kernel) ::close(fd);
    return 0;
  }
  CallTrace trace(t.stack(), "close({})", fd);
  return static_cast<int>(trace.ret(drop_socket_fd(t, fd, close_kernel)));
}

// A descriptor of the parent's in a forked child: as closed (process.h).
int inherited(int fd) {
  note_inherited(fd);
  return fail(EBADF);
}

// A new descriptor for oldfd's file, numbered as F_DUPFD (the lowest free from `min`) or
// exactly `newfd` (dup2/dup3: newfd >= 0), with the program's FD_CLOEXEC `cloexec`. A
// socket's kernel duplicate is close-on-exec whatever the program asked (handles.h); an
// epoll instance's carries the program's flag in the kernel.
int duplicate(int oldfd, const std::shared_ptr<File>& file, int min, int newfd, bool cloexec) {
  const bool kernel_cloexec = file->stack != nullptr || cloexec;
  int nfd;
  if (newfd >= 0) {
    nfd = ::dup3(oldfd, newfd, kernel_cloexec ? O_CLOEXEC : 0);
  } else {
    nfd = ::fcntl(oldfd, kernel_cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min);
  }
  if (nfd < 0) return -1;
  fd_map().install(nfd, file, cloexec);
  return nfd;
}

// dup3 (and dup2: flags 0, and oldfd == newfd allowed).
int do_dup3(int oldfd, int newfd, int flags, bool is_dup2) {
  const FdKind old_kind = fd_map().kind(oldfd);
  if (old_kind == FdKind::kInherited) return inherited(oldfd);
  if (old_kind == FdKind::kNone) {
    // The kernel's dup2/dup3, once a usnet descriptor in the way has been closed.
    if (oldfd != newfd && fd_map().kind(newfd) != FdKind::kNone && ::fcntl(oldfd, F_GETFD) >= 0) {
      (void)drop_fd(newfd, false);
    }
    return is_dup2 ? ::dup2(oldfd, newfd) : ::dup3(oldfd, newfd, flags);
  }
  // ksys_dup3's checks, in its order.
  if ((flags & ~O_CLOEXEC) != 0) return fail(EINVAL);
  if (oldfd == newfd) return is_dup2 ? newfd : fail(EINVAL);
  rlimit lim{};
  if (newfd < 0 ||
      (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && static_cast<rlim_t>(newfd) >= lim.rlim_cur)) {
    return fail(EBADF);
  }
  auto file = fd_map().get(oldfd);
  if (!file) return fail(EBADF);
  if (fd_map().kind(newfd) != FdKind::kNone) (void)drop_fd(newfd, false);
  return duplicate(oldfd, file, 0, newfd, (flags & O_CLOEXEC) != 0);
}

}  // namespace
}  // namespace usnet::api

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

extern "C" {

int usnet_close(int fd) {
  switch (fd_map().kind(fd)) {
    case FdKind::kNone:
      return ::close(fd);  // not usnet's: close(2) as usual
    case FdKind::kInherited:
      (void)drop_fd(fd, true);
      return 0;
    default:
      return drop_fd(fd, true);
  }
}

int usnet_dup(int oldfd) {
  return usnet_fcntl(oldfd, F_DUPFD, 0);
}

int usnet_dup2(int oldfd, int newfd) {
  return do_dup3(oldfd, newfd, 0, true);
}

int usnet_dup3(int oldfd, int newfd, int flags) {
  return do_dup3(oldfd, newfd, flags, false);
}

int usnet_fcntl(int fd, int cmd, ...) {
  // Read as glibc's fcntl reads it: one word, an int or a pointer as the command says.
  va_list ap;
  va_start(ap, cmd);
  void* argp = va_arg(ap, void*);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
  va_end(ap);
  const auto arg = static_cast<int>(reinterpret_cast<std::intptr_t>(argp));
  const FdKind kind = fd_map().kind(fd);
  if (kind == FdKind::kInherited) return inherited(fd);
  if (kind == FdKind::kNone) return ::fcntl(fd, cmd, argp);
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      auto file = fd_map().get(fd);
      if (!file) return fail(EBADF);
      return duplicate(fd, file, arg, -1, cmd == F_DUPFD_CLOEXEC);
    }
    case F_GETFD:
    case F_SETFD:
      if (kind == FdKind::kObject) return ::fcntl(fd, cmd, arg);
      if (cmd == F_GETFD) {
        bool cloexec = false;
        if (!fd_map().get_cloexec(fd, cloexec)) return fail(EBADF);
        return cloexec ? FD_CLOEXEC : 0;
      }
      // do_fcntl: only FD_CLOEXEC is a descriptor flag; other bits are ignored.
      if (!fd_map().set_cloexec(fd, (arg & FD_CLOEXEC) != 0)) return fail(EBADF);
      return 0;
    default:
      break;
  }
  if (kind == FdKind::kObject) return ::fcntl(fd, cmd, argp);  // an epoll instance's own
  SockRef t = SockRef::get(fd);
  if (!t) return fail(EBADF);
  switch (cmd) {
    case F_GETFL:
      // sock_alloc_file: a socket's file is O_RDWR, plus O_NONBLOCK when set.
      return O_RDWR | (t.sock->nonblocking ? O_NONBLOCK : 0);
    case F_SETFL:
      // setfl(): the flags a socket can change; the rest are ignored, as Linux ignores
      // the access mode and creation flags. O_ASYNC (SIGIO) is not delivered by usnet.
      t.sock->nonblocking = (arg & O_NONBLOCK) != 0;
      return 0;
    case F_GETOWN:
    case F_SETOWN:
    case F_GETSIG:
    case F_SETSIG:
      return ::fcntl(fd, cmd, arg);  // recorded on the descriptor; usnet sends no SIGIO
    default:
      return fail(EINVAL);
  }
}

int usnet_is_socket(int fd) {
  return fd_map().kind(fd) == FdKind::kSocket ? 1 : 0;
}

}  // extern "C"

// The data calls: send/recv and their msg/mmsg forms, read/write/readv/writev, glibc's
// _FORTIFY_SOURCE variants (__read_chk, __recv_chk, __recvfrom_chk), sendfile and splice.
// A kernel descriptor costs one lock-free load (dispatch.h) and no allocation.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "preload/dispatch.h"
#include "preload/pending.h"
#include "usnet/usnet.h"

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

// glibc's "buffer overflow detected" abort.
extern "C" [[noreturn]] void __chk_fail(void);  // NOLINT(bugprone-reserved-identifier)

namespace {

// The most a sendfile or splice moves through user space per step.
constexpr std::size_t kChunk = 128 * 1024;

msghdr iov_msg(const iovec* iov, int iovcnt) {
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);  // NOLINT: msghdr is not const-correct
  m.msg_iovlen = iovcnt < 0 ? 0 : static_cast<std::size_t>(iovcnt);
  return m;
}

// readv/writev's own check: iovcnt outside 0..IOV_MAX is EINVAL (the usnet side, whose
// msghdr count cannot be negative, would say otherwise).
bool bad_iovcnt(int iovcnt) {
  if (iovcnt >= 0 && iovcnt <= IOV_MAX) return false;
  errno = EINVAL;
  return true;
}

// Sends all of buf on usnet socket fd, waiting for room if the socket is non-blocking
// (splice has already taken these bytes out of its pipe: they must not be lost).
ssize_t send_all(int fd, const char* buf, std::size_t n) {
  std::size_t off = 0;
  while (off < n) {
    const ssize_t s = usnet_send(fd, buf + off, n - off, 0);
    if (s < 0) {
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        (void)usnet_poll(&p, 1, -1);
        continue;
      }
      if (off > 0) return static_cast<ssize_t>(off);
      return -1;
    }
    off += static_cast<std::size_t>(s);
  }
  return static_cast<ssize_t>(off);
}

// sendfile(2) from a kernel file to a usnet socket: read (pread at *offset) into a buffer,
// send it. A short send gives back what was not sent (the file position, or *offset,
// reflects exactly the bytes sent), as the kernel's does. EPIPE raises SIGPIPE, as the
// kernel's sendfile does (no MSG_NOSIGNAL on its way to the socket).
ssize_t sendfile_to_usnet(int out, int in, off_t* offset, std::size_t count) {
  std::unique_ptr<char[]> buf(new char[std::min(count, kChunk) + 1]);
  off_t pos = offset != nullptr ? *offset : 0;
  std::size_t total = 0;
  int err = 0;
  while (total < count) {
    const std::size_t want = std::min(kChunk, count - total);
    const ssize_t n =
        offset != nullptr ? ::pread(in, buf.get(), want, pos) : real().read(in, buf.get(), want);
    if (n <= 0) {
      if (n < 0) err = errno;
      break;
    }
    const ssize_t s = usnet_send(out, buf.get(), static_cast<std::size_t>(n), 0);
    const std::size_t sent = s < 0 ? 0 : static_cast<std::size_t>(s);
    if (s < 0) err = errno;
    if (offset == nullptr && sent < static_cast<std::size_t>(n)) {
      (void)::lseek(in, -static_cast<off_t>(static_cast<std::size_t>(n) - sent), SEEK_CUR);
    }
    pos += static_cast<off_t>(sent);
    total += sent;
    if (sent < static_cast<std::size_t>(n)) break;
  }
  if (offset != nullptr) *offset = pos;
  if (total == 0 && err != 0) {
    errno = err;
    return -1;
  }
  return static_cast<ssize_t>(total);
}

ssize_t sendfile_any(int out, int in, off_t* offset, std::size_t count) {
  const FdKind ko = kind_of(out);
  const FdKind ki = kind_of(in);
  if (ko == FdKind::kInherited) return inherited_fd(out);
  if (ki == FdKind::kInherited) return inherited_fd(in);
  // Linux: in_fd must be a file that can be mapped (a socket cannot), else EINVAL.
  if (ki == FdKind::kSocket) {
    errno = EINVAL;
    return -1;
  }
  if (ko != FdKind::kSocket) return real().sendfile(out, in, offset, count);
  Inside g;
  return sendfile_to_usnet(out, in, offset, count);
}

}  // namespace

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_read(fd, buf, n);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().read(fd, buf, n);
  }
}

ssize_t write(int fd, const void* buf, size_t n) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_write(fd, buf, n);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().write(fd, buf, n);
  }
}

ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      if (bad_iovcnt(iovcnt)) return -1;
      Inside in;
      msghdr m = iov_msg(iov, iovcnt);
      return usnet_recvmsg(fd, &m, 0);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().readv(fd, iov, iovcnt);
  }
}

ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      if (bad_iovcnt(iovcnt)) return -1;
      Inside in;
      const msghdr m = iov_msg(iov, iovcnt);
      return usnet_sendmsg(fd, &m, 0);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().writev(fd, iov, iovcnt);
  }
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_send(fd, buf, n, flags);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().send(fd, buf, n, flags);
  }
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr, socklen_t len) {
  if (addr != nullptr && !inside()) decide_by_destination(fd, addr, len, "sendto");
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_sendto(fd, buf, n, flags, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().sendto(fd, buf, n, flags, addr, len);
  }
}

ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (msg != nullptr && msg->msg_name != nullptr && !inside()) {
    decide_by_destination(fd, static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen,
                          "sendmsg");
  }
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_sendmsg(fd, msg, flags);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().sendmsg(fd, msg, flags);
  }
}

int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
  if (vec != nullptr && vlen > 0 && vec[0].msg_hdr.msg_name != nullptr && !inside()) {
    decide_by_destination(fd, static_cast<const sockaddr*>(vec[0].msg_hdr.msg_name),
                          vec[0].msg_hdr.msg_namelen, "sendmmsg");
  }
  switch (kind_of(fd)) {
    case FdKind::kSocket:
      break;
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().sendmmsg(fd, vec, vlen, flags);
  }
  // __sys_sendmmsg: at most UIO_MAXIOV messages; an error after the first is not reported
  // (the count so far is), an error on the first is.
  Inside in;
  vlen = std::min(vlen, 1024U);
  unsigned int done = 0;
  for (; done < vlen; ++done) {
    const ssize_t n = usnet_sendmsg(fd, &vec[done].msg_hdr, flags);
    if (n < 0) {
      if (done == 0) return -1;
      break;
    }
    vec[done].msg_len = static_cast<unsigned int>(n);
  }
  return static_cast<int>(done);
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_recv(fd, buf, n, flags);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().recv(fd, buf, n, flags);
  }
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_recvfrom(fd, buf, n, flags, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().recvfrom(fd, buf, n, flags, addr, len);
  }
}

ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_recvmsg(fd, msg, flags);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().recvmsg(fd, msg, flags);
  }
}

int recvmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout) {
  switch (kind_of(fd)) {
    case FdKind::kSocket:
      break;
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().recvmmsg(fd, vec, vlen, flags, timeout);
  }
  // do_recvmmsg: MSG_WAITFORONE makes every receive after the first non-blocking; the
  // timeout is looked at after each datagram (so it does not end a blocked receive, as on
  // Linux); an error after the first datagram is not reported, the count is.
  Inside in;
  if (timeout != nullptr &&
      (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000)) {
    errno = EINVAL;
    return -1;
  }
  timespec end{};
  if (timeout != nullptr) {
    ::clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += timeout->tv_sec;
    end.tv_nsec += timeout->tv_nsec;
    if (end.tv_nsec >= 1'000'000'000) {
      end.tv_nsec -= 1'000'000'000;
      ++end.tv_sec;
    }
  }
  vlen = std::min(vlen, 1024U);
  unsigned int done = 0;
  while (done < vlen) {
    int f = flags & ~MSG_WAITFORONE;
    if (done > 0 && (flags & MSG_WAITFORONE) != 0) f |= MSG_DONTWAIT;
    const ssize_t n = usnet_recvmsg(fd, &vec[done].msg_hdr, f);
    if (n < 0) {
      if (done == 0) return -1;
      break;
    }
    vec[done].msg_len = static_cast<unsigned int>(n);
    ++done;
    if (timeout != nullptr) {
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) {
        break;
      }
    }
  }
  return static_cast<int>(done);
}

// _FORTIFY_SOURCE: the compiler knew the buffer's size; a longer read is a bug caught here.
// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name
ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name
ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name
ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, sockaddr* addr,
                       socklen_t* len) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, len);
}

ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  return sendfile_any(out, in, offset, count);
}

ssize_t sendfile64(int out, int in, off_t* offset, size_t count) {
  return sendfile_any(out, in, offset, count);
}

ssize_t splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
               unsigned int flags) {
  const FdKind ki = kind_of(fd_in);
  const FdKind ko = kind_of(fd_out);
  if (ki == FdKind::kInherited) return inherited_fd(fd_in);
  if (ko == FdKind::kInherited) return inherited_fd(fd_out);
  if (ki != FdKind::kSocket && ko != FdKind::kSocket) {
    return real().splice(fd_in, off_in, fd_out, off_out, len, flags);
  }
  // One end a usnet socket: the other must be a pipe (the kernel's rule for splice), and a
  // socket has no offset (ESPIPE).
  if ((ki == FdKind::kSocket && off_in != nullptr) ||
      (ko == FdKind::kSocket && off_out != nullptr)) {
    errno = ESPIPE;
    return -1;
  }
  if (ki == FdKind::kSocket && ko == FdKind::kSocket) {
    errno = EINVAL;
    return -1;
  }
  Inside in;
  std::size_t want = std::min(len, kChunk);
  const bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
  if (ki == FdKind::kSocket) {
    // Take no more than the pipe has room for, so that writing it all never waits for a
    // reader that may be this very thread (a proxy splicing socket -> pipe -> socket).
    const int cap = real().fcntl(fd_out, F_GETPIPE_SZ);
    int used = 0;
    if (cap < 0) return -1;  // not a pipe: EBADF or EINVAL, as splice says
    if (real().ioctl(fd_out, FIONREAD, &used) == 0 && used >= 0) {
      want = std::min(want, static_cast<std::size_t>(cap > used ? cap - used : 0));
    }
    if (want == 0) {
      errno = EAGAIN;
      return -1;
    }
  } else if (nonblock || (usnet_fcntl(fd_out, F_GETFL) & O_NONBLOCK) != 0) {
    pollfd p{fd_out, POLLOUT, 0};
    if (usnet_poll(&p, 1, 0) == 0) {
      errno = EAGAIN;
      return -1;
    }
  }
  std::unique_ptr<char[]> buf(new char[want + 1]);
  if (ki == FdKind::kSocket) {
    // usnet socket -> pipe: what is received is written to the pipe in full (blocking).
    const ssize_t n = usnet_recv(fd_in, buf.get(), want, nonblock ? MSG_DONTWAIT : 0);
    if (n <= 0) return n;
    std::size_t off = 0;
    while (off < static_cast<std::size_t>(n)) {
      const ssize_t w = real().write(fd_out, buf.get() + off, static_cast<std::size_t>(n) - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd p{fd_out, POLLOUT, 0};
          (void)real().poll(&p, 1, -1);
          continue;
        }
        return off > 0 ? static_cast<ssize_t>(off) : -1;
      }
      off += static_cast<std::size_t>(w);
    }
    return n;
  }
  // pipe -> usnet socket.
  const ssize_t n = real().read(fd_in, buf.get(), want);
  if (n <= 0) return n;
  return send_all(fd_out, buf.get(), static_cast<std::size_t>(n));
}

}  // extern "C"

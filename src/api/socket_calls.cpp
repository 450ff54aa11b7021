// The C socket calls: descriptor lookup, sockaddr and flag normalisation, blocking, errno
// (the front end of Linux net/socket.c), over the sock_* calls of socket/sock_calls.h.
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <csignal>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "api/call_trace.h"
#include "api/errno_out.h"
#include "api/handles.h"
#include "api/process.h"
#include "api/sock_ref.h"
#include "api/sockaddr.h"
#include "api/socket_common.h"
#include "base/errno_map.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "usnet/usnet.h"

namespace usnet::api {
namespace {

std::string family_name(int f) {
  switch (f) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    case AF_UNSPEC:
      return "AF_UNSPEC";
    default:
      return std::to_string(f);
  }
}

std::string type_name(int t) {
  std::string s;
  switch (t & 0xf) {
    case SOCK_STREAM:
      s = "SOCK_STREAM";
      break;
    case SOCK_DGRAM:
      s = "SOCK_DGRAM";
      break;
    case SOCK_RAW:
      s = "SOCK_RAW";
      break;
    default:
      s = std::to_string(t & 0xf);
      break;
  }
  if ((t & SOCK_NONBLOCK) != 0) s += "|SOCK_NONBLOCK";
  if ((t & SOCK_CLOEXEC) != 0) s += "|SOCK_CLOEXEC";
  return s;
}

// A descriptor that is not ours: ENOTSOCK if the process has it open, else EBADF.
int not_ours(int fd) {
  return fail(not_ours_errno(fd));
}

ssize_t do_sendmsg(int fd, const msghdr* msg, int flags, const char* call) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "{}({}, ...)", call, fd);
  if (msg == nullptr) return trace.ret(fail(EFAULT));
  std::vector<ByteSpan> iov;
  if (auto st = import_iovec(*msg, iov); !st) return trace.ret(fail(st.error()));
  // tcp_sendmsg_fastopen: MSG_FASTOPEN to an AF_UNSPEC name is EOPNOTSUPP (the name is
  // not read as AF_INET, as a datagram socket's would be).
  if ((flags & MSG_FASTOPEN) != 0 && t.sock->type == SOCK_STREAM && msg->msg_name != nullptr &&
      msg->msg_namelen >= sizeof(sa_family_t) &&
      static_cast<const sockaddr*>(msg->msg_name)->sa_family == AF_UNSPEC) {
    return trace.ret(fail(EOPNOTSUPP));
  }
  auto parsed = msg_dest_from_user(*msg);
  if (!parsed) return trace.ret(fail(parsed.error()));
  const std::optional<SockAddr> dest = *parsed;
  if ((flags & MSG_OOB) != 0 && t.sock->type == SOCK_DGRAM) return trace.ret(fail(EOPNOTSUPP));
  SendMsg m{iov, dest ? &*dest : nullptr};
  if (t.sock->nonblocking) flags |= MSG_DONTWAIT;  // O_NONBLOCK becomes a per-call flag
  const bool nonblock = (flags & MSG_DONTWAIT) != 0;
  Socket* sock = t.sock;
  if (sock->type != SOCK_STREAM) {
    const bool zerocopy = sock_zerocopy_wanted(*sock, flags, m.total());
    if (zerocopy && !sock_zerocopy_can_notify(*sock)) return trace.ret(fail(ENOBUFS));
    auto r = run_blocking(t, nonblock, sock->opt.sndtimeo,
                          [&] { return sock_sendmsg(*sock, m, flags); });
    if (r) sock_sendmsg_done(*sock, flags, *r);
    t.pump();  // hand the datagram to the device now, not at the next call
    if (!r) return trace.ret(fail(r.error()));
    return trace.ret(static_cast<ssize_t>(*r));
  }
  // A blocking stream send returns when all of it is queued (or on error or timeout, with
  // what was queued so far), as Linux's tcp_sendmsg waits for send-buffer space.
  const std::size_t total = m.total();
  // MSG_ZEROCOPY: one completion per call that queued data (Linux allocates one ubuf_info
  // per tcp_sendmsg); ENOBUFS when it could not be queued.
  const bool zerocopy = sock_zerocopy_wanted(*sock, flags, total);
  if (zerocopy && !sock_zerocopy_can_notify(*sock)) return trace.ret(fail(ENOBUFS));
  std::size_t sent = 0;
  Status last;
  std::vector<ByteSpan> rest;
  int part_flags = flags;
  do {
    iov_after(iov, sent, rest);
    // After a Fast Open start the rest goes as a plain send on the connection.
    SendMsg part{rest, part_flags != flags ? nullptr : m.dest};
    auto r = run_blocking(
        t, nonblock, sock->opt.sndtimeo, [&] { return sock_sendmsg(*sock, part, part_flags); },
        sent == 0 ? Restart::kYes : Restart::kNo);
    // TCP Fast Open (MSG_FASTOPEN, or the first write after a deferred connect) starts the
    // connection in the first call only. EINPROGRESS means nothing went on the SYN: a
    // non-blocking caller sees it; a blocking one waits for the handshake, as
    // __inet_stream_connect does, and then sends everything.
    part_flags &= ~MSG_FASTOPEN;
    if (!r && r.error() == Error::kInProgress && !nonblock) {
      t.pump();
      auto up = run_blocking(t, false, sock->opt.sndtimeo, [&]() -> Status {
        if ((sock_poll(*sock) & (POLLOUT | POLLERR | POLLHUP)) != 0) return {};
        return Error::kWouldBlock;
      });
      if (!up) {
        last = up.error();
        break;
      }
      continue;
    }
    if (!r) {
      last = r.error();
      break;
    }
    sent += *r;
  } while (!nonblock && sent < total);
  sock_sendmsg_done(*sock, flags, sent);
  if (sock->send_connecting) {
    // Data went on a SYN (MSG_FASTOPEN, or the first write after TCP_FASTOPEN_CONNECT): a
    // blocking call returns only once connected, and reports a connection that failed
    // instead (__inet_stream_connect's wait). Interrupted or timed out, what was queued is
    // reported, as Linux's out path.
    sock->send_connecting = false;
    if (!nonblock && sent > 0 && last) {
      t.pump();
      (void)run_blocking(t, false, sock->opt.sndtimeo, [&]() -> Status {
        if ((sock_poll(*sock) & (POLLOUT | POLLERR | POLLHUP)) != 0) return {};
        return Error::kWouldBlock;
      });
      if (auto e = sock->take_error()) return trace.ret(fail(*e));
    }
  }
  t.pump();
  if (sent > 0 || total == 0) return trace.ret(static_cast<ssize_t>(sent));
  // tcp_sendmsg: EPIPE raises SIGPIPE unless MSG_NOSIGNAL, as the kernel does.
  if (last.error() == Error::kBrokenPipe && (flags & MSG_NOSIGNAL) == 0) ::raise(SIGPIPE);
  return trace.ret(fail(last.error()));
}

ssize_t do_recvmsg(int fd, msghdr* msg, int flags, const char* call) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "{}({}, ...)", call, fd);
  if (msg == nullptr) return trace.ret(fail(EFAULT));
  std::vector<MutableByteSpan> iov;
  if (auto st = import_iovec(*msg, iov); !st) return trace.ret(fail(st.error()));
  if ((flags & MSG_ERRQUEUE) != 0) {
    // ip_recv_error never waits: an empty queue is EAGAIN whatever the blocking mode.
    t.pump();
    RecvMsg em{iov};
    auto r = sock_recv_errqueue(*t.sock, em);
    if (!r) return trace.ret(fail(r.error()));
    if (auto st = recv_results_to_user(*r, *msg); !st) return trace.ret(fail(st.error()));
    return trace.ret(static_cast<ssize_t>(r->copied));
  }
  RecvMsg m{iov};
  if (t.sock->nonblocking) flags |= MSG_DONTWAIT;  // O_NONBLOCK becomes a per-call flag
  const bool nonblock = (flags & MSG_DONTWAIT) != 0;
  Socket* sock = t.sock;
  t.pump();
  auto r =
      run_blocking(t, nonblock, sock->opt.rcvtimeo, [&] { return sock_recvmsg(*sock, m, flags); });
  if (!r) return trace.ret(fail(r.error()));
  if (sock->type == SOCK_STREAM && (flags & MSG_WAITALL) != 0 && (flags & MSG_PEEK) == 0 &&
      !nonblock) {
    // MSG_WAITALL: keep reading until the buffers are full, the stream ends, or an error
    // or timeout (then what was read is returned).
    const std::size_t cap = m.capacity();
    std::size_t got = r->copied;
    std::vector<MutableByteSpan> rest;
    while (got < cap && r->copied > 0) {
      iov_after(iov, got, rest);
      RecvMsg part{rest};
      auto more = run_blocking(
          t, false, sock->opt.rcvtimeo, [&] { return sock_recvmsg(*sock, part, flags); },
          Restart::kNo);
      if (!more || more->copied == 0) break;
      got += more->copied;
    }
    r->copied = got;
    r->full_len = got;
  }
  if (auto st = recv_results_to_user(*r, *msg); !st) return trace.ret(fail(st.error()));
  const std::size_t n = (flags & MSG_TRUNC) != 0 ? r->full_len : r->copied;
  return trace.ret(static_cast<ssize_t>(n));
}

}  // namespace
}  // namespace usnet::api

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

extern "C" {

int usnet_socket(int domain, int type, int protocol) {
  usnet_stack* h = current_stack();
  // A stack of the parent's, in a forked child: its runtime has no thread here.
  if (!stack_alive(h)) return fail(ENETDOWN);
  // The stack's socket table and tracer are the runtime's (locking rule 1).
  std::lock_guard lock(h->runtime->rt.mutex());
  CallTrace trace(*h->stack, "socket({}, {}, {})", family_name(domain), type_name(type), protocol);
  const int fd = FdMap::reserve();
  if (fd < 0) return static_cast<int>(trace.ret(fail(errno == ENFILE ? ENFILE : EMFILE)));
  auto r = sock_create(*h->stack, domain, type, protocol, fd);
  if (!r) {
    ::close(fd);
    return static_cast<int>(trace.ret(fail(r.error())));
  }
  auto file = std::make_shared<File>();
  file->stack = h;
  file->sock = *r;
  fd_map().install(fd, file, (type & SOCK_CLOEXEC) != 0);
  return static_cast<int>(trace.ret(fd));
}

int usnet_bind(int fd, const sockaddr* addr, socklen_t addrlen) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "bind({}, ...)", fd);
  auto a = sockaddr_in_from_user(addr, addrlen);
  if (!a) return static_cast<int>(trace.ret(fail(a.error())));
  // inet_bind / inet6_bind: a name shorter than the socket's family needs is EINVAL.
  if (addrlen < addr_min_len(t.sock->family)) return static_cast<int>(trace.ret(fail(EINVAL)));
  if (auto st = sock_bind(*t.sock, *a); !st) return static_cast<int>(trace.ret(fail(st.error())));
  return static_cast<int>(trace.ret(0));
}

int usnet_connect(int fd, const sockaddr* addr, socklen_t addrlen) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "connect({}, ...)", fd);
  auto a = connect_addr_from_user(addr, addrlen);
  if (!a) return static_cast<int>(trace.ret(fail(a.error())));
  // tcp_v6_connect / ip6_datagram_connect: an AF_INET6 socket needs RFC 2133's 24 bytes.
  if (a->family != AF_UNSPEC && addrlen < addr_min_len(t.sock->family)) {
    return static_cast<int>(trace.ret(fail(EINVAL)));
  }
  Socket* sock = t.sock;
  const bool nonblock = sock->nonblocking;
  auto st = sock_connect(*sock, *a, nonblock ? MSG_DONTWAIT : 0);
  t.pump();
  if (!st && st.error() == Error::kInProgress) {
    if (nonblock) return static_cast<int>(trace.ret(fail(EINPROGRESS)));
    // A blocking connect waits for the handshake; an expired SO_SNDTIMEO leaves it running
    // and reports EINPROGRESS, as Linux does.
    auto done = run_blocking(t, false, sock->opt.sndtimeo, [&]() -> Status {
      if ((sock_poll(*sock) & (POLLOUT | POLLERR | POLLHUP)) != 0) return {};
      return Error::kWouldBlock;
    });
    if (!done) {
      // Interrupted, the attempt goes on (a later connect() says EALREADY), as Linux's
      // inet_stream_connect leaves it.
      const int err = done.error() == Error::kInterrupted ? EINTR : EINPROGRESS;
      return static_cast<int>(trace.ret(fail(err)));
    }
    // The same call finishes the connect: its outcome is reported here, and only here.
    auto fin = sock_connect(*sock, *a, 0);
    if (!fin) return static_cast<int>(trace.ret(fail(fin.error())));
    return static_cast<int>(trace.ret(0));
  }
  if (!st) return static_cast<int>(trace.ret(fail(st.error())));
  return static_cast<int>(trace.ret(0));
}

int usnet_listen(int fd, int backlog) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "listen({}, {})", fd, backlog);
  if (auto st = sock_listen(*t.sock, backlog); !st) {
    return static_cast<int>(trace.ret(fail(st.error())));
  }
  return static_cast<int>(trace.ret(0));
}

int usnet_accept4(int fd, sockaddr* addr, socklen_t* addrlen, int flags) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "accept4({}, ..., {:#x})", fd, flags);
  if (auto st = accept_args_check(flags, addr, addrlen); !st) {
    return static_cast<int>(trace.ret(fail(st.error())));
  }
  Socket* sock = t.sock;
  const bool nonblock = sock->nonblocking;
  t.pump();
  // Wait for a connection first, so a descriptor is reserved only for one that exists.
  auto ready = run_blocking(t, nonblock, sock->opt.rcvtimeo, [&]() -> Status {
    if ((sock_poll(*sock) & POLLIN) != 0) return {};
    if (sock->ops->accept == nullptr) return Error::kOperationNotSupported;
    if (!sock->listening) return Error::kInvalidArgument;
    return Error::kWouldBlock;
  });
  if (!ready) return static_cast<int>(trace.ret(fail(ready.error())));
  const int nfd = accept_install(t.handle, *sock, flags, addr, addrlen);
  if (nfd < 0) return static_cast<int>(trace.ret(fail(-nfd)));
  return static_cast<int>(trace.ret(nfd));
}

int usnet_accept(int fd, sockaddr* addr, socklen_t* addrlen) {
  return usnet_accept4(fd, addr, addrlen, 0);
}

int usnet_ioctl(int fd, unsigned long request, ...) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  va_list ap;
  va_start(ap, request);
  int* arg = va_arg(ap, int*);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
  va_end(ap);
  CallTrace trace(t.stack(), "ioctl({}, {:#x}, ...)", fd, request);
  if (arg == nullptr) return static_cast<int>(trace.ret(fail(EFAULT)));
  if (request == FIONBIO) {
    t.sock->nonblocking = *arg != 0;
    return static_cast<int>(trace.ret(0));
  }
  t.pump();
  auto v = sock_ioctl(*t.sock, request);
  if (!v) return static_cast<int>(trace.ret(fail(v.error())));
  *arg = *v;
  return static_cast<int>(trace.ret(0));
}

ssize_t usnet_sendmsg(int fd, const msghdr* msg, int flags) {
  return do_sendmsg(fd, msg, flags, "sendmsg");
}

ssize_t usnet_sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* dest_addr,
                     socklen_t addrlen) {
  // send, sendto and write all funnel into sendmsg (STYLE habit 10).
  if (len > 0 && buf == nullptr && fd_map().kind(fd) == FdKind::kSocket) return fail(EFAULT);
  iovec v{const_cast<void*>(buf), len};  // NOLINT: iovec is not const-correct
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  if (dest_addr != nullptr) {
    m.msg_name = const_cast<sockaddr*>(dest_addr);  // NOLINT: msghdr is not const-correct
    m.msg_namelen = addrlen;
  }
  return do_sendmsg(fd, &m, flags, "sendto");
}

ssize_t usnet_send(int fd, const void* buf, size_t len, int flags) {
  return usnet_sendto(fd, buf, len, flags, nullptr, 0);
}

ssize_t usnet_write(int fd, const void* buf, size_t len) {
  return usnet_sendto(fd, buf, len, 0, nullptr, 0);
}

ssize_t usnet_recvmsg(int fd, msghdr* msg, int flags) {
  return do_recvmsg(fd, msg, flags, "recvmsg");
}

ssize_t usnet_recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* src_addr,
                       socklen_t* addrlen) {
  if (fd_map().kind(fd) != FdKind::kSocket) return not_ours(fd);
  if (len > 0 && buf == nullptr) return fail(EFAULT);
  if (src_addr != nullptr && addrlen == nullptr) return fail(EFAULT);
  if (src_addr != nullptr && static_cast<int>(*addrlen) < 0) return fail(EINVAL);
  iovec v{buf, len};
  msghdr m{};
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  if (src_addr != nullptr) {
    m.msg_name = src_addr;
    m.msg_namelen = *addrlen;
  }
  const ssize_t n = do_recvmsg(fd, &m, flags, "recvfrom");
  if (n >= 0 && src_addr != nullptr) *addrlen = m.msg_namelen;
  return n;
}

ssize_t usnet_recv(int fd, void* buf, size_t len, int flags) {
  return usnet_recvfrom(fd, buf, len, flags, nullptr, nullptr);
}

ssize_t usnet_read(int fd, void* buf, size_t len) {
  return usnet_recvfrom(fd, buf, len, 0, nullptr, nullptr);
}

static int getname(int fd, sockaddr* addr, socklen_t* addrlen, bool peer) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "{}({}, ...)", peer ? "getpeername" : "getsockname", fd);
  if (addrlen == nullptr) return static_cast<int>(trace.ret(fail(EFAULT)));
  if (static_cast<int>(*addrlen) < 0) return static_cast<int>(trace.ret(fail(EINVAL)));
  auto a = sock_getname(*t.sock, peer);
  if (!a) return static_cast<int>(trace.ret(fail(a.error())));
  if (auto st = sockaddr_to_user(*a, addr, addrlen); !st) {
    return static_cast<int>(trace.ret(fail(st.error())));
  }
  return static_cast<int>(trace.ret(0));
}

int usnet_getsockname(int fd, sockaddr* addr, socklen_t* addrlen) {
  return getname(fd, addr, addrlen, false);
}

int usnet_getpeername(int fd, sockaddr* addr, socklen_t* addrlen) {
  return getname(fd, addr, addrlen, true);
}

int usnet_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "setsockopt({}, {}, {}, ...)", fd, level, optname);
  if (static_cast<int>(optlen) < 0) return static_cast<int>(trace.ret(fail(EINVAL)));
  if (optlen > 0 && optval == nullptr) return static_cast<int>(trace.ret(fail(EFAULT)));
  ByteSpan v(static_cast<const std::byte*>(optval), optlen);
  if (auto st = sock_setsockopt(*t.sock, level, optname, v); !st) {
    return static_cast<int>(trace.ret(fail(st.error())));
  }
  return static_cast<int>(trace.ret(0));
}

int usnet_getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "getsockopt({}, {}, {}, ...)", fd, level, optname);
  if (optlen == nullptr) return static_cast<int>(trace.ret(fail(EFAULT)));
  const int len = static_cast<int>(*optlen);
  if (len < 0) return static_cast<int>(trace.ret(fail(EINVAL)));
  auto v = sock_getsockopt(*t.sock, level, optname, static_cast<std::size_t>(len));
  if (!v) return static_cast<int>(trace.ret(fail(v.error())));
  if (v->too_short) {
    *optlen = static_cast<socklen_t>(v->len);
    return static_cast<int>(trace.ret(fail(EINVAL)));
  }
  std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(len), v->len);
  // ip_getsockopt: a caller asking for less than an int gets one byte when the value fits.
  if (level == IPPROTO_IP && len > 0 && len < static_cast<int>(sizeof(int)) &&
      v->len == sizeof(int)) {
    int iv;
    std::memcpy(&iv, v->bytes.data(), sizeof(iv));
    if (iv >= 0 && iv <= 255) {
      n = 1;
      v->bytes[0] = static_cast<std::byte>(iv);
    }
  }
  if (n > 0) {
    if (optval == nullptr) return static_cast<int>(trace.ret(fail(EFAULT)));
    std::memcpy(optval, v->bytes.data(), n);
  }
  *optlen = static_cast<socklen_t>(n);
  return static_cast<int>(trace.ret(0));
}

int usnet_shutdown(int fd, int how) {
  SockRef t = SockRef::get(fd);
  if (t.sock == nullptr) return not_ours(fd);
  CallTrace trace(t.stack(), "shutdown({}, {})", fd, how);
  auto st = sock_shutdown(*t.sock, how);
  t.pump();  // the FIN it queued goes out now, not at the stack's next wake-up
  if (!st) return static_cast<int>(trace.ret(fail(st.error())));
  return static_cast<int>(trace.ret(0));
}

}  // extern "C"

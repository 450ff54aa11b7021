#include "socket/sock_calls.h"

#include <fmt/format.h>

#include "socket/af_inet.h"
#include "socket/fd_table.h"
#include "stack/stack.h"

namespace usnet {

Result<Socket*> sock_create(Stack& stack, int family, int type, int protocol, int fd) {
  stack.tracer().step("sock_create");
  // Linux __sys_socket / __sock_create: only SOCK_NONBLOCK and SOCK_CLOEXEC may ride on the
  // type; the type must be below SOCK_MAX (11); the family must be one we have.
  constexpr int kSockTypeMask = 0xf;
  constexpr int kSockMax = 11;
  const int flags = type & ~kSockTypeMask;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return Error::kInvalidArgument;
  type &= kSockTypeMask;
  if (family < 0 || family >= AF_MAX) return Error::kAddressFamilyNotSupported;
  if (type >= kSockMax) return Error::kInvalidArgument;
  if (family != AF_INET && family != AF_INET6) return Error::kAddressFamilyNotSupported;
  auto created = inet_create(stack, family, type, protocol);
  if (!created) return created.error();
  std::unique_ptr<Socket> sock = std::move(created.value());
  sock->nonblocking = (flags & SOCK_NONBLOCK) != 0;
  auto installed = stack.sockets().install(std::move(sock), fd);
  if (!installed) return installed.error();
  return stack.sockets().get(*installed);
}

Status sock_bind(Socket& sock, const SockAddr& addr) {
  sock.stack.tracer().step("sock_bind");
  return sock.ops->bind(sock, addr);
}

Status sock_connect(Socket& sock, const SockAddr& addr, int flags) {
  sock.stack.tracer().step("sock_connect");
  return sock.ops->connect(sock, addr, flags);
}

Result<std::size_t> sock_sendmsg(Socket& sock, const SendMsg& msg, int flags) {
  sock.stack.tracer().step("sock_sendmsg");
  auto r = sock.ops->sendmsg(sock, msg, flags);
  if (!r && r.error() == Error::kWouldBlock) {
    sock.nospace = true;  // SOCK_NOSPACE: wake this writer when space comes back
  } else if (r && sock.type != SOCK_STREAM) {
    sock_wfree(sock);  // the datagram has left the socket
  }
  return r;
}

Result<RecvResult> sock_recvmsg(Socket& sock, const RecvMsg& msg, int flags) {
  sock.stack.tracer().step("sock_recvmsg");
  return sock.ops->recvmsg(sock, msg, flags);
}

Result<SockAddr> sock_getname(Socket& sock, bool peer) {
  sock.stack.tracer().step(peer ? "sock_getname(peer)" : "sock_getname");
  if (peer) {
    if (!sock.connected()) return Error::kNotConnected;
    return sock.remote;
  }
  SockAddr a = sock.local;
  if (a.family == AF_UNSPEC) a.addr = IpAddress::any(sock.family);  // not bound yet
  a.family = sock.family;
  return a;
}

Status sock_shutdown(Socket& sock, int how) {
  sock.stack.tracer().step("sock_shutdown");
  auto st = sock.ops->shutdown(sock, how);
  // inet_shutdown wakes every waiter, so a call blocked in recv() sees the end at once.
  if (st) sk_state_change(sock);
  return st;
}

Status sock_close(Stack& stack, int fd) {
  stack.tracer().step("sock_close");
  auto sock = stack.sockets().remove(fd);
  if (!sock) return Error::kBadDescriptor;
  sock_release(std::move(sock));
  return {};
}

void sock_release(std::unique_ptr<Socket> sock) {
  const ProtoOps* ops = sock->ops;
  ops->release(std::move(sock));
}

Status sock_listen(Socket& sock, int backlog) {
  sock.stack.tracer().step("sock_listen");
  if (sock.ops->listen == nullptr) return Error::kOperationNotSupported;
  return sock.ops->listen(sock, backlog);
}

Result<Socket*> sock_accept(Socket& sock, int flags, int fd) {
  sock.stack.tracer().step("sock_accept");
  if (sock.ops->accept == nullptr) return Error::kOperationNotSupported;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return Error::kInvalidArgument;
  auto r = sock.ops->accept(sock);
  if (!r) return r.error();
  std::unique_ptr<Socket> child = std::move(r.value());
  child->nonblocking = (flags & SOCK_NONBLOCK) != 0;
  Stack& stack = sock.stack;
  Socket* raw = child.get();
  auto installed = stack.sockets().install(std::move(child), fd);
  if (!installed) {
    // The descriptor table is full: the connection is lost, as Linux loses it on EMFILE.
    return installed.error();
  }
  (void)raw;
  return stack.sockets().get(*installed);
}

Result<int> sock_ioctl(Socket& sock, unsigned long request) {
  sock.stack.tracer().step("sock_ioctl");
  if (sock.ops->ioctl == nullptr) return Error::kInvalidArgument;
  return sock.ops->ioctl(sock, request);
}

PollMask sock_poll(Socket& sock) {
  PollMask m = sock.ops->poll(sock);
  // tcp_poll / datagram_poll: a non-empty error queue is POLLERR.
  if (!sock.errq.empty()) m |= POLLERR;
  // tcp_poll: a poller that finds no room is a writer waiting for space (SOCK_NOSPACE).
  if ((m & POLLOUT) == 0) sock.nospace = true;
  return m;
}

}  // namespace usnet

// The socket calls: socket(2) and the calls that decide an undecided socket's
// side (preload/pending.h), then the rest of the per-socket calls.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "preload/dispatch.h"
#include "preload/pending.h"
#include "usnet/usnet.h"

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

namespace {

// The sockets usnet has: TCP, UDP and ICMP echo ("ping") sockets of AF_INET, and TCP and
// UDP sockets of AF_INET6 (dual-stack unless IPV6_V6ONLY, as Linux's).
bool usnet_kind_of_socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return false;  // AF_UNIX, ...: the kernel's
  switch (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    case SOCK_STREAM:
      return protocol == 0 || protocol == IPPROTO_TCP;
    case SOCK_DGRAM:
      return protocol == 0 || protocol == IPPROTO_UDP ||
             (domain == AF_INET && protocol == IPPROTO_ICMP);
    default:
      return false;
  }
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  const int fd = real().socket(domain, type, protocol);
  if (fd < 0 || inside() || !usnet_kind_of_socket(domain, type, protocol) || !configured()) {
    return fd;
  }
  PendingSocket p;
  p.domain = domain;
  p.type = type;
  p.protocol = protocol;
  pending().add(fd, p);
  return fd;
}

int bind(int fd, const sockaddr* addr, socklen_t len) {
  bool anywhere = false;
  if (!inside()) decide_by_local_address(fd, addr, len, anywhere);
  if (anywhere) {
    const int r = real().bind(fd, addr, len);
    if (r == 0) pending().note_bound_anywhere(fd);
    return r;
  }
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_bind(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().bind(fd, addr, len);
  }
}

int listen(int fd, int backlog) {
  if (!inside()) decide_for_listen(fd);
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_listen(fd, backlog);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().listen(fd, backlog);
  }
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (!inside()) decide_by_destination(fd, addr, len, "connect");
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_connect(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().connect(fd, addr, len);
  }
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_accept4(fd, addr, len, flags);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().accept4(fd, addr, len, flags);
  }
}

int accept(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_accept(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().accept(fd, addr, len);
  }
}

int shutdown(int fd, int how) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_shutdown(fd, how);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().shutdown(fd, how);
  }
}

int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_getsockname(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getsockname(fd, addr, len);
  }
}

int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_getpeername(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getpeername(fd, addr, len);
  }
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_getsockopt(fd, level, name, value, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getsockopt(fd, level, name, value, len);
  }
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_setsockopt(fd, level, name, value, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      break;
  }
  const int r = real().setsockopt(fd, level, name, value, len);
  // An undecided socket: the kernel socket checked and took it; usnet gets it too if the
  // socket moves there.
  if (r == 0 && !inside() && pending().contains(fd))
    pending().record_option(fd, level, name, value, len);
  return r;
}

}  // extern "C"
